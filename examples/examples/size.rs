//! Sizes the flagship: each of `Screen`, `KindOf`, `Solved`, `Classify` and
//! `Draft` on every candidate model, to find the model each step needs.
//!
//! The scored steps are tuned per model on the dev split (a tuning belongs
//! to one model) and chosen by their cross-validated dev score; the test
//! split and the second held-out set (`holdout2`, written apart from the
//! corpus) are scored once and reported, never used to choose. `Draft`
//! is scored by a stated rule (`forum::check_draft`: at least 40
//! characters, names a word of the thread's title, copies no run of eight
//! words, no word trigram three times). Each step gets the most accurate
//! model, or a smaller one the measurements cannot tell from it (within one
//! standard error); `--target` picks the smallest that reaches a score
//! instead, `--p95` bounds the latency per call.
//!
//! `--write` puts the choices where the runtime reads them:
//! `examples/agentkit.sized.toml` (the aliases, copied from `agentkit.toml`
//! the first time) and `examples/tuned/sized/` (the tunings). Run the
//! flagship as sized with
//! `--example forum -- --manifest examples/agentkit.sized.toml --tuned examples/tuned/sized`.
//!
//! ```text
//! scripts/fetch-model.sh qwen2.5-coder-0.5b     # the second candidate, on request
//! cargo run --release -p agentkit-examples --example size -- [--steps screen,kind,solved,classify,draft] [--write] [--drafts FILE]
//! ```

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agentkit::prelude::*;
use agentkit::size::{Choose, Sizing, SizingReport};
use agentkit::tune::Metric;
use agentkit_examples::forum::{
    self, check_draft, Classify, Draft, DraftCheck, KindOf, Reply, Screen, Solved, Split, Thread,
};
use clap::Parser;

/// Runs each step of the flagship on every candidate model and chooses the
/// model each needs.
#[derive(Parser)]
struct Args {
    /// The candidate model aliases, smallest first.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "smollm2-135m,qwen2.5-coder-0.5b"
    )]
    models: Vec<String>,

    /// The steps to size.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "screen,kind,solved,classify,draft"
    )]
    steps: Vec<Step>,

    /// Choose the smallest model whose cross-validated dev score reaches this
    /// (instead of the most accurate).
    #[arg(long, value_name = "SCORE", conflicts_with = "p95")]
    target: Option<f64>,

    /// Choose the most accurate model whose p95 latency per call is within
    /// this many seconds.
    #[arg(long, value_name = "SECONDS")]
    p95: Option<f64>,

    /// Write the choices into examples/agentkit.sized.toml and the tunings
    /// into examples/tuned/sized/.
    #[arg(long)]
    write: bool,

    /// Write every draft (model, thread title, reply, verdict of the rule)
    /// to this JSON Lines file, for reading.
    #[arg(long, value_name = "FILE.jsonl")]
    drafts: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Step {
    Screen,
    Kind,
    Solved,
    Classify,
    Draft,
}

const METRIC: Metric = Metric::BalancedAccuracy;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = forum::runtime()?;
    let rule = match (args.target, args.p95) {
        (Some(target), _) => Choose::Smallest { target },
        (None, Some(secs)) => Choose::MostAccurate {
            p95: Duration::from_secs_f64(secs),
        },
        (None, None) => Choose::default(),
    };
    let models: Vec<&str> = args.models.iter().map(String::as_str).collect();
    let started = Instant::now();
    let mut reports: Vec<SizingReport> = Vec::new();
    let show = |report: &SizingReport| println!("\n{report}");

    if args.steps.contains(&Step::Screen) {
        let (dev, test, h2) = splits(forum::all_threads)?;
        let report = sizing(&models, &dev, &test, &h2, rule)
            .scored(Screen, &runtime, &forum::screen_search(METRIC))
            .await?;
        show(&report);
        reports.push(report);
    }
    if args
        .steps
        .iter()
        .any(|s| matches!(s, Step::Kind | Step::Classify))
    {
        let dev = forum::screened(&runtime, Split::Dev).await?;
        let test = forum::screened(&runtime, Split::Test).await?;
        let h2 = forum::screened(&runtime, Split::Holdout2).await?;
        println!(
            "\nthreads KindOf and Classify see (relevant, or passed by the screen): {} dev, {} test, {} holdout2",
            dev.len(),
            test.len(),
            h2.len()
        );
        if args.steps.contains(&Step::Kind) {
            let report = sizing(&models, &dev, &test, &h2, rule)
                .scored(KindOf, &runtime, &forum::kind_search(METRIC))
                .await?;
            show(&report);
            reports.push(report);
        }
        if args.steps.contains(&Step::Classify) {
            let report = sizing(&models, &dev, &test, &h2, rule)
                .scored(Classify, &runtime, &forum::thread_search("topic", METRIC))
                .await?;
            show(&report);
            reports.push(report);
        }
    }
    if args.steps.contains(&Step::Solved) {
        let (dev, test, h2) = splits(forum::follow_ups)?;
        println!(
            "\nfollow-ups Solved reads: {} dev, {} test, {} holdout2",
            dev.len(),
            test.len(),
            h2.len()
        );
        let report = sizing(&models, &dev, &test, &h2, rule)
            .scored(Solved, &runtime, &forum::solved_search(METRIC))
            .await?;
        show(&report);
        reports.push(report);
    }
    if args.steps.contains(&Step::Draft) {
        let report = size_drafts(&runtime, &models, rule, args.drafts.as_deref()).await?;
        show(&report);
        reports.push(report);
    }

    println!(
        "\nsized {} steps on {} models in {:.0} s; peak memory {} MiB",
        reports.len(),
        models.len(),
        started.elapsed().as_secs_f64(),
        agentkit_examples::peak_memory_kib() / 1024
    );
    for r in &reports {
        let choice = r.choice().map_or("none", |c| c.model.as_str());
        println!("- {} (alias `{}`): {choice}", r.agent, r.alias);
    }
    if args.write {
        write(&reports)?;
    }
    Ok(())
}

/// The dev, test and holdout2 splits as `load` gives them.
type Splits<I> = (
    Vec<agentkit::eval::Example<I>>,
    Vec<agentkit::eval::Example<I>>,
    Vec<agentkit::eval::Example<I>>,
);

fn splits<I>(
    load: impl Fn(Split) -> Result<Vec<agentkit::eval::Example<I>>, Error>,
) -> Result<Splits<I>, Error> {
    Ok((
        load(Split::Dev)?,
        load(Split::Test)?,
        load(Split::Holdout2)?,
    ))
}

fn sizing<'a, I>(
    models: &[&str],
    dev: &'a [agentkit::eval::Example<I>],
    test: &'a [agentkit::eval::Example<I>],
    h2: &'a [agentkit::eval::Example<I>],
    rule: Choose,
) -> Sizing<'a, I> {
    Sizing::new(models, dev)
        .held_out("test", test)
        .held_out("holdout2", h2)
        .choose(rule)
}

/// `Draft` on every candidate over the relevant threads of each split,
/// scored by the rule; what each draft failed on, per model.
async fn size_drafts(
    runtime: &Runtime,
    models: &[&str],
    rule: Choose,
    file: Option<&Path>,
) -> Result<SizingReport, Box<dyn std::error::Error>> {
    let (dev, test, h2) = splits(forum::to_draft)?;
    let seen: Mutex<Vec<(String, Reply, DraftCheck)>> = Mutex::default();
    let report = sizing(models, &dev, &test, &h2, rule)
        .generated(&Draft, runtime, |thread: &Thread, reply: &Reply| {
            let verdict = check_draft(thread, reply);
            if let Ok(mut seen) = seen.lock() {
                seen.push((thread.title.clone(), reply.clone(), verdict));
            }
            verdict == DraftCheck::Passes
        })
        .await?;
    // The candidates ran one after another: each checked as many drafts as
    // it ran, less the runs that failed.
    let seen = seen.into_inner().unwrap_or_default();
    let mut rest = seen.as_slice();
    let mut lines = Vec::new();
    for c in &report.candidates {
        let ran = c.dev.total + c.held_out.iter().map(|(_, s)| s.total).sum::<usize>();
        let (mine, after) = rest.split_at((ran - c.failures.len()).min(rest.len()));
        rest = after;
        let mut counts = std::collections::BTreeMap::new();
        for (title, reply, verdict) in mine {
            *counts.entry(format!("{verdict:?}")).or_insert(0) += 1;
            lines.push(serde_json::json!({
                "model": c.model, "title": title, "reply": reply.reply, "verdict": format!("{verdict:?}"),
            }));
        }
        println!(
            "drafts on {}: {counts:?}, {} failed",
            c.model,
            c.failures.len()
        );
    }
    if let Some(path) = file {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(path, text)?;
        println!("wrote {} drafts to {}", lines.len(), path.display());
    }
    Ok(report)
}

/// Writes every choice into `examples/agentkit.sized.toml` (a copy of
/// `agentkit.toml` the first time) and the tunings into `examples/tuned/sized/`.
fn write(reports: &[SizingReport]) -> Result<(), Box<dyn std::error::Error>> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = examples.join("agentkit.sized.toml");
    if !manifest.exists() {
        std::fs::copy(examples.join("agentkit.toml"), &manifest)?;
    }
    let tuned = forum::tuned_dir().join("sized");
    std::fs::create_dir_all(&tuned)?;
    for r in reports {
        let tuning = tuned.join(format!("{}.json", r.agent));
        r.write_choice(&manifest, Some(&tuning))?;
    }
    println!(
        "wrote the choices to {} and the tunings to {}",
        manifest.display(),
        tuned.display()
    );
    Ok(())
}
