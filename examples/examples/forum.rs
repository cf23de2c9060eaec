//! The flagship: forum research on a local model, in small typed agents.
//!
//! 1. find: `Screen` names each thread's subject by scored choices, with
//!    one offset per subject tuned on the dev split; a thread is relevant
//!    when that subject is "running AI models locally";
//! 2. score: for the relevant ones, `KindOf` says what kind of post it is
//!    (only an open question is worth answering) and `Classify` names its
//!    topic, side by side, both by scored choices tuned on the dev split
//!    (`examples/tuned/`, written by `--example tune`); where the poster of
//!    an open question wrote back (a reply marked `(OP)`), `Solved` reads
//!    what they wrote and a question it finds solved is not worth answering;
//! 3. draft: `Draft` writes a short reply to each thread worth answering.
//!
//! Every output is decoded under its type's grammar, so each stage gets
//! well-formed, typed values. By default it researches the labelled corpus
//! (`examples/data/forum.jsonl`) and says how often the pipeline agreed with
//! the labels. `--input FILE.jsonl` researches your own threads instead, one
//! JSON object per line with `title` and `body` (and optionally `community`
//! and `replies`, the poster's own marked `(OP)`); see
//! `examples/data/my_threads.jsonl`. Lines that carry the labels too
//! (`relevant`, `worth_answering`, `topic`) are scored against
//! them.
//!
//! ```text
//! cargo run -p agentkit-examples --example forum -- [--json] [--split dev|test|all] [--limit N] [--pad N]
//! cargo run -p agentkit-examples --example forum -- --input examples/data/my_threads.jsonl
//! cargo run -p agentkit-examples --example forum -- --manifest examples/agentkit.server.toml
//! cargo run -p agentkit-examples --example forum -- --manifest examples/agentkit.sized.toml --tuned examples/tuned/sized
//! cargo run -p agentkit-examples --example forum -- --help
//! ```

use std::path::PathBuf;
use std::time::Instant;

use agentkit::Usage;
use clap::Parser;

use agentkit_examples::forum::{
    self, Drafting, Entry, LabelledThread, Labels, Outcome, PostKind, Split, Topic,
};
use agentkit_examples::progress;

/// Forum research on a local model: find the threads about running language
/// models locally, judge which are worth answering, draft replies.
///
/// Without --input it researches the labelled corpus (examples/data/forum.jsonl)
/// and reports how often the pipeline agreed with its labels.
#[derive(Parser)]
struct Args {
    /// Research your own threads, from a JSON Lines file (`-` for standard input)
    ///
    /// One thread a line, e.g. {"community": "r/LocalLLaMA", "title": "...",
    /// "body": "...", "replies": ["..."]}; only title and body are required.
    /// Mark a reply by the thread's own poster with "(OP)": that is what
    /// tells whether a question was solved.
    /// Lines that also give the labels "relevant" (bool), "worth_answering"
    /// (bool) and "topic" (hardware, performance, models or other) are scored
    /// against them. examples/data/my_threads.jsonl is a sample.
    #[arg(long, value_name = "FILE.jsonl")]
    input: Option<PathBuf>,

    /// Which threads of the labelled corpus to research
    #[arg(long, value_enum, default_value_t = Split::Test, conflicts_with = "input")]
    split: Split,

    /// Research only the first N threads.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,

    /// Pad every thread to N times its length (body and replies repeated N
    /// times): a long-input run, where the fitting policies of `Thread`
    /// shorten each prompt to its agent's context.
    #[arg(long, value_name = "N")]
    pad: Option<usize>,

    /// Print every thread's outcome (and labels) as JSON instead of the report.
    #[arg(long)]
    json: bool,

    /// Run with the model aliases of this manifest instead of
    /// examples/agentkit.toml (or $AGENTKIT_MANIFEST): e.g.
    /// examples/agentkit.server.toml runs every step on a llama-server at
    /// 127.0.0.1:8080.
    #[arg(long, value_name = "FILE.toml")]
    manifest: Option<PathBuf>,

    /// Load the scored steps' tunings from this directory instead of
    /// examples/tuned/ (or $AGENTKIT_TUNED): a tuning belongs to the model it
    /// was fitted on, so a manifest that moves steps comes with its own, e.g.
    /// `--manifest examples/agentkit.sized.toml --tuned examples/tuned/sized`
    /// (both written by `--example size`).
    #[arg(long, value_name = "DIR")]
    tuned: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Read the threads before loading the model: a bad file fails at once.
    let mut entries: Vec<Entry> = match &args.input {
        Some(path) => forum::read_input(path)?,
        None => forum::load(args.split)?
            .iter()
            .map(LabelledThread::entry)
            .collect(),
    };
    if let Some(n) = args.limit {
        entries.truncate(n);
    }
    if let Some(times) = args.pad {
        for e in &mut entries {
            e.thread = e.thread.padded(times);
        }
    }
    if let Some(dir) = &args.tuned {
        forum::set_tuned_dir(dir.clone());
    }
    let manifest = args.manifest.clone().unwrap_or_else(forum::manifest_path);
    let runtime = forum::runtime_from(agentkit_examples::llama()?, &manifest)?;
    eprintln!(
        "researching {} threads with the models of {} and the tunings in {} ...",
        entries.len(),
        manifest.display(),
        forum::tuned_dir().display()
    );
    let bars = progress::install();
    let started = Instant::now();
    let threads = entries.iter().map(|e| e.thread.clone()).collect();
    // In a terminal each draft is shown as it is written.
    let outcomes = if bars.is_live() && !args.json {
        let live = bars.drafts();
        forum::research_live(&runtime, threads, &|drafting| match drafting {
            Drafting::Writing { thread, reply } => live.writing(&thread.title, reply),
            Drafting::Done { thread, reply } => live.done(&thread.title, reply),
        })
        .await?
    } else {
        forum::research(&runtime, threads).await?
    };
    if args.json {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .zip(&outcomes)
            .map(|(e, o)| serde_json::json!({ "id": e.id, "outcome": o, "labels": e.labels }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    report(
        &entries,
        &outcomes,
        started.elapsed().as_secs_f64(),
        runtime.usage(),
        &manifest,
    );
    Ok(())
}

fn report(
    entries: &[Entry],
    outcomes: &[Outcome],
    seconds: f64,
    usage: Usage,
    manifest: &std::path::Path,
) {
    let n = outcomes.len();
    let relevant: Vec<&Outcome> = outcomes.iter().filter(|o| o.relevant).collect();
    println!();
    println!("Forum research: threads about running language models locally");
    println!(
        "models: screen, judge, draft as {} declares them",
        manifest.display()
    );
    println!();
    println!("{} of {n} threads look relevant:", relevant.len());
    for o in &relevant {
        println!(
            "  [{:.2}] {:<16} {}",
            o.relevance, o.thread.community, o.thread.title
        );
        if let (Some(w), Some((t, p))) = (o.worth_answering, o.topic) {
            let verdict = if w {
                "worth answering"
            } else {
                "not worth answering"
            };
            let mut kind = o.kind.map(|k| format!("{k:?}")).unwrap_or_default();
            if o.solved == Some(true) {
                kind.push_str(", solved by a reply");
            }
            println!("         {kind}: {verdict} · topic {t:?} ({p:.2})");
        }
        if let Some(reply) = &o.reply {
            println!("         draft: {reply}");
        }
    }
    let labelled: Vec<(&Labels, &Outcome)> = entries
        .iter()
        .zip(outcomes)
        .filter_map(|(e, o)| e.labels.as_ref().map(|l| (l, o)))
        .collect();
    if !labelled.is_empty() {
        let k = labelled.len();
        let count = |f: &dyn Fn(&Labels, &Outcome) -> bool| {
            labelled.iter().filter(|(l, o)| f(l, o)).count()
        };
        println!();
        if k == n {
            println!("Against the labels:");
        } else {
            println!("Against the labels ({k} of the {n} threads have them):");
        }
        println!(
            "  relevant:        {}/{k}",
            count(&|l, o| o.relevant == l.relevant)
        );
        println!(
            "  worth answering: {}/{k}",
            count(&|l, o| o.worth_answering.unwrap_or(false) == l.worth_answering)
        );
        println!(
            "  topic:           {}/{k}",
            count(&|l, o| o.topic.map_or(Topic::Other, |t| t.0) == l.topic)
        );
    }
    let judged: Vec<&Outcome> = relevant
        .iter()
        .copied()
        .filter(|o| o.worth_answering.is_some())
        .collect();
    if !judged.is_empty() {
        let said = |f: &dyn Fn(&Outcome) -> bool| judged.iter().filter(|o| f(o)).count();
        println!();
        println!(
            "What KindOf, Solved and Classify said about the {} threads the screen passed:",
            judged.len()
        );
        let kinds: Vec<String> = PostKind::ALL
            .iter()
            .map(|k| format!("{k:?} {}", said(&|o| o.kind == Some(*k))))
            .collect();
        println!("  kind: {}", kinds.join(", "));
        println!(
            "  follow-ups of open questions: {} solved, {} not",
            said(&|o| o.solved == Some(true)),
            said(&|o| o.solved == Some(false))
        );
        println!(
            "  worth answering: {} yes, {} no",
            said(&|o| o.worth_answering == Some(true)),
            said(&|o| o.worth_answering == Some(false))
        );
        let topics: Vec<String> = [
            Topic::Hardware,
            Topic::Performance,
            Topic::Models,
            Topic::Other,
        ]
        .iter()
        .map(|t| format!("{t:?} {}", said(&|o| o.topic.map(|p| p.0) == Some(*t))))
        .collect();
        println!("  topic: {}", topics.join(", "));
    }
    let drafts: Vec<&str> = outcomes.iter().filter_map(|o| o.reply.as_deref()).collect();
    if !drafts.is_empty() {
        let (repeated, trigrams) = drafts
            .iter()
            .map(|d| agentkit_examples::repeated_trigrams(d))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        println!(
            "  drafts: {} of {} at the {}-character bound, {repeated} of {trigrams} word trigrams repeated",
            drafts.iter().filter(|d| forum::at_bound(d)).count(),
            drafts.len(),
            forum::REPLY_CHARS
        );
    }
    println!();
    println!(
        "{seconds:.0} s, {} model calls (scored ones included), {} prompt tokens and {} generated in the generating ones",
        usage.calls, usage.prompt_tokens, usage.generated_tokens
    );
}
