//! Support-ticket triage: eight tickets classified by category and urgency
//! (scored choices, calibrated once), a reply drafted for the urgent ones
//! only, one chain per ticket run `--concurrency N` at a time (default 8), the
//! drafts streamed as they are written, then a table of every ticket.
//!
//! `cargo run -p agentkit-examples --example triage [-- --concurrency 1] [--passes]`

use std::io::Write;
use std::time::Instant;

use agentkit::stream::{Event, Progress, StreamExt};
use agentkit::Streams;
use agentkit_examples::steps::Steps;
use agentkit_examples::triage::{self, Triaged};
use clap::Parser;

/// Triages the example's eight support tickets and prints the drafts as they
/// are written, then a table.
#[derive(Parser)]
struct Args {
    /// How many tickets run at a time.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Also print the engine's passes over the weights: how many, and the
    /// time in prompt and scoring feeds against decode steps.
    #[arg(long)]
    passes: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let steps = args.passes.then(Steps::install);
    let runtime = agentkit_examples::forum::runtime()?;
    let tickets = triage::tickets();
    let pipeline = triage::triage(args.concurrency);

    let start = Instant::now();
    let mut events = pipeline.stream(&runtime, tickets);
    let mut out = std::io::stdout();
    // Deltas of several drafts interleave: a new line, tagged, whenever the
    // ticket writing changes.
    let mut writing: Option<usize> = None;
    let mut triaged: Vec<Triaged> = Vec::new();
    while let Some(event) = events.next().await {
        match event? {
            Event::Item {
                index,
                progress: Progress::Delta(text),
            } => {
                if writing != Some(index) {
                    write!(out, "\n[ticket {index}] ")?;
                    writing = Some(index);
                }
                write!(out, "{text}")?;
                out.flush()?;
            }
            Event::Done(all) => triaged = all,
            _ => {}
        }
    }
    let wall = start.elapsed();
    println!("\n");

    println!("| # | subject | category | urgency | draft |");
    println!("|---|---|---|---|---|");
    for (i, ((ticket, class), draft)) in triaged.iter().enumerate() {
        let draft = draft
            .as_ref()
            .map_or_else(|| "(none)".to_string(), |d| d.reply.replace('\n', " "));
        println!(
            "| {i} | {} | {:?} | {} | {draft} |",
            ticket.subject, class.category, class.urgency
        );
    }
    let usage = runtime.usage();
    println!(
        "\n{} tickets at concurrency {}: {:.2} s wall, {} model calls",
        triaged.len(),
        args.concurrency,
        wall.as_secs_f64(),
        usage.calls
    );
    if let Some(steps) = steps {
        println!("{}", steps.summary());
    }
    Ok(())
}
