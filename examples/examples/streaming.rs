//! Time to the first words of a streamed draft, beside the time to the whole
//! draft: the flagship's `Draft` agent over the threads of a split labelled
//! worth answering, streamed and run plainly, side by side in one run.
//!
//! For each thread, one at a time: `Draft.stream(..)` (noting when the first
//! delta arrives, when the first partial value with words in its `reply`
//! arrives, and when the final value arrives), then `Draft.run(..)` on the
//! same thread, on a runtime of its own (so neither run finds the other's
//! prompt in its cache). With `--concurrency n` the streamed drafts run n at a time,
//! as the flagship's live view runs them, and the plain runs likewise.
//!
//! `cargo run -p agentkit-examples --example streaming [-- --split all --concurrency 8]`

use std::time::{Duration, Instant};

use agentkit::prelude::*;
use agentkit::stream::{Event, StreamExt};
use agentkit_examples::forum::{self, Draft, Split, Thread};
use clap::Parser;
use futures_util::stream;

/// Streams the flagship's drafts and prints time to the first words beside
/// the time to the whole draft.
#[derive(Parser)]
struct Args {
    /// Which labelled threads to draft replies for (those labelled worth answering).
    #[arg(long, value_enum, default_value_t = Split::Test)]
    split: Split,
    /// Drafts in flight at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
}

/// When the parts of one streamed draft arrived, from its start.
struct Timing {
    first_delta: Duration,
    first_words: Duration,
    whole: Duration,
    deltas: usize,
    partials: usize,
}

async fn streamed(runtime: &Runtime, thread: Thread) -> Result<Timing, Error> {
    let started = Instant::now();
    let mut events = Draft.stream(runtime, thread);
    let (mut first_delta, mut first_words) = (None, None);
    let (mut deltas, mut partials) = (0, 0);
    while let Some(event) = events.next().await {
        match event? {
            Event::Delta(_) => {
                deltas += 1;
                first_delta.get_or_insert(started.elapsed());
            }
            Event::Partial(p) => {
                partials += 1;
                if p.output.is_some_and(|r| !r.reply.trim().is_empty()) {
                    first_words.get_or_insert(started.elapsed());
                }
            }
            Event::Done(_) => {
                let whole = started.elapsed();
                return Ok(Timing {
                    first_delta: first_delta.unwrap_or(whole),
                    first_words: first_words.unwrap_or(whole),
                    whole,
                    deltas,
                    partials,
                });
            }
            _ => {}
        }
    }
    Err(Error::backend(
        "Draft",
        agentkit::backend::BackendError::new("the stream ended without a reply"),
    ))
}

async fn plain(runtime: &Runtime, thread: Thread) -> Result<Duration, Error> {
    let started = Instant::now();
    Draft.run(runtime, thread).await?;
    Ok(started.elapsed())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let threads: Vec<Thread> = forum::load(args.split)?
        .iter()
        .filter(|t| t.worth_answering)
        .map(|t| t.thread())
        .collect();
    // One runtime (and llama.cpp engine) for the streamed drafts and one for
    // the plain ones, so neither finds the other's prompts in its cache.
    let (runtime, plain_runtime) = (forum::runtime()?, forum::runtime()?);
    // Load the model and warm the agent's instructions before timing.
    if let Some(first) = threads.first() {
        Draft.run(&runtime, first.clone()).await?;
        Draft.run(&plain_runtime, first.clone()).await?;
    }
    let n = args.concurrency.max(1);
    println!(
        "Draft on {} threads labelled worth answering ({:?} split), {n} at a time",
        threads.len(),
        args.split
    );
    // Streamed and plain in turns, so a change in the machine's load falls
    // on both: per thread when one at a time, per round of n when n at once.
    let (mut timings, mut plains) = (Vec::new(), Vec::new());
    let (mut streamed_wall, mut plain_wall) = (Duration::ZERO, Duration::ZERO);
    for (round, batch) in threads.chunks(n).enumerate() {
        let stream_round = async {
            let started = Instant::now();
            let got: Vec<Timing> = stream::iter(batch.to_vec())
                .map(|t| streamed(&runtime, t))
                .buffered(n)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, Error>>()?;
            Ok::<_, Error>((got, started.elapsed()))
        };
        let plain_round = async {
            let started = Instant::now();
            let got: Vec<Duration> = stream::iter(batch.to_vec())
                .map(|t| plain(&plain_runtime, t))
                .buffered(n)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, Error>>()?;
            Ok::<_, Error>((got, started.elapsed()))
        };
        let ((t, ts), (p, ps)) = if round % 2 == 0 {
            let s = stream_round.await?;
            (s, plain_round.await?)
        } else {
            let p = plain_round.await?;
            (stream_round.await?, p)
        };
        timings.extend(t);
        plains.extend(p);
        streamed_wall += ts;
        plain_wall += ps;
    }

    println!(
        "{:>4} {:>12} {:>12} {:>12} {:>12} {:>7} {:>8}",
        "#", "1st delta s", "1st words s", "whole s", "plain s", "deltas", "partials"
    );
    for (i, (t, p)) in timings.iter().zip(&plains).enumerate() {
        println!(
            "{i:>4} {:>12.2} {:>12.2} {:>12.2} {:>12.2} {:>7} {:>8}",
            t.first_delta.as_secs_f64(),
            t.first_words.as_secs_f64(),
            t.whole.as_secs_f64(),
            p.as_secs_f64(),
            t.deltas,
            t.partials
        );
    }
    let first_words = median(
        timings
            .iter()
            .map(|t| t.first_words.as_secs_f64())
            .collect(),
    );
    let whole = median(timings.iter().map(|t| t.whole.as_secs_f64()).collect());
    let plain = median(plains.iter().map(Duration::as_secs_f64).collect());
    println!();
    println!(
        "median: first words {first_words:.2} s, whole draft {whole:.2} s ({:.2}× of the wait), plain run {plain:.2} s",
        first_words / whole
    );
    println!(
        "all drafts: streamed {:.1} s, plain {:.1} s (streamed/plain {:.2}×)",
        streamed_wall.as_secs_f64(),
        plain_wall.as_secs_f64(),
        streamed_wall.as_secs_f64() / plain_wall.as_secs_f64()
    );
    Ok(())
}
