//! The flagship: forum research on a local model, in small typed agents.
//!
//! 1. find: `Screen` names each thread's subject by scored choices; a thread
//!    is relevant when the model gives "running AI models locally" at least
//!    `forum::SCREEN_THRESHOLD` probability;
//! 2. score: for the relevant ones, `Judge` decides whether the thread is
//!    worth answering and `Classify` names its topic, side by side;
//! 3. draft: `Draft` writes a short reply to each thread worth answering.
//!
//! Every output is decoded under its type's grammar, so each stage gets
//! well-formed, typed values. The corpus is labelled, so the report also says
//! how often the pipeline agreed with the labels.
//!
//! `cargo run -p agentkit-examples --example forum [-- --json] [--split dev|test|all] [--limit N]`

use std::time::Instant;

use agentkit::prelude::*;
use agentkit_examples::forum::{self, LabelledThread, Outcome, Topic};
use agentkit_examples::progress;

struct Options {
    json: bool,
    split: Option<String>,
    limit: Option<usize>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        json: false,
        split: Some("test".into()),
        limit: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => o.json = true,
            "--split" => {
                o.split = match args.next().as_deref() {
                    Some("all") => None,
                    Some(s @ ("dev" | "test")) => Some(s.to_string()),
                    other => return Err(format!("--split takes dev, test or all, not {other:?}")),
                }
            }
            "--limit" => {
                o.limit = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .ok_or("--limit takes a number")?,
                )
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; try --json, --split dev|test|all, --limit N"
                ))
            }
        }
    }
    Ok(o)
}

#[tokio::main]
async fn main() {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(opts).await {
        progress::finish();
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(opts: Options) -> Result<(), Error> {
    let runtime = forum::runtime()?;
    let mut corpus: Vec<LabelledThread> = forum::load(opts.split.as_deref())?;
    if let Some(n) = opts.limit {
        corpus.truncate(n);
    }
    eprintln!(
        "researching {} threads on the local model ...",
        corpus.len()
    );
    progress::install();
    let started = Instant::now();
    let outcomes = forum::research(
        &runtime,
        corpus.iter().map(LabelledThread::thread).collect(),
    )
    .await?;
    progress::finish();
    if opts.json {
        let rows: Vec<serde_json::Value> = corpus
            .iter()
            .zip(&outcomes)
            .map(|(label, o)| {
                serde_json::json!({ "id": label.id, "outcome": o, "labels": {
                    "relevant": label.relevant,
                    "worth_answering": label.worth_answering,
                    "topic": label.topic,
                }})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return Ok(());
    }
    report(
        &corpus,
        &outcomes,
        started.elapsed().as_secs_f64(),
        runtime.usage(),
    );
    Ok(())
}

fn report(corpus: &[LabelledThread], outcomes: &[Outcome], seconds: f64, usage: agentkit::Usage) {
    let n = outcomes.len();
    let relevant: Vec<&Outcome> = outcomes.iter().filter(|o| o.relevant).collect();
    println!();
    println!("Forum research: threads about running language models locally");
    println!("models: screen, judge, draft -> SmolLM2-135M-Instruct Q4_1 (examples/agentkit.toml)");
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
            println!("         {verdict} · topic {t:?} ({p:.2})");
        }
        if let Some(reply) = &o.reply {
            println!("         draft: {reply}");
        }
    }
    let count = |f: &dyn Fn(&LabelledThread, &Outcome) -> bool| {
        corpus.iter().zip(outcomes).filter(|(l, o)| f(l, o)).count()
    };
    println!();
    println!("Against the corpus labels:");
    println!(
        "  relevant:        {}/{n}",
        count(&|l, o| o.relevant == l.relevant)
    );
    println!(
        "  worth answering: {}/{n}",
        count(&|l, o| o.worth_answering.unwrap_or(false) == l.worth_answering)
    );
    println!(
        "  topic:           {}/{n}",
        count(&|l, o| o.topic.map_or(Topic::Other, |t| t.0) == l.topic)
    );
    println!();
    println!(
        "{seconds:.0} s, {} generating calls, {} prompt tokens, {} generated (scored choices generate none)",
        usage.calls, usage.prompt_tokens, usage.generated_tokens
    );
}
