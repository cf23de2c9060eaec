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
use agentkit::Step as _;
use agentkit_examples::forum::{
    self, check_draft, Classify, Draft, DraftCheck, DraftToJudge, JudgeDraft, KindOf, Reply,
    Screen, Solved, Split, Thread,
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

    /// Write every draft (model, thread title, reply, the judge's verdict
    /// and the rule's) to this JSON Lines file, for reading.
    #[arg(long, value_name = "FILE.jsonl")]
    drafts: Option<PathBuf>,

    /// The model that judges the drafts (`JudgeDraft`, scored): by default
    /// the last candidate of --models.
    #[arg(long, value_name = "ALIAS")]
    draft_judge: Option<String>,

    /// Check drafts with `JudgeDraft` (scored, calibrated) on the
    /// --draft-judge model instead of the stated rule (`forum::check_draft`).
    /// Neither agrees well with a reading (`--reading`): 52 and 54 of 96.
    #[arg(long)]
    judge_drafts: bool,

    /// Only measure how often the judge and the rule agree with a reading
    /// of drafts (JSON Lines of {model, title, reply, addresses}, e.g.
    /// examples/data/draft_reading.jsonl), then stop.
    #[arg(long, value_name = "FILE.jsonl")]
    reading: Option<PathBuf>,
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
    let judge_model = match &args.draft_judge {
        Some(alias) => alias.clone(),
        None => args.models.last().cloned().unwrap_or_default(),
    };
    let judge = runtime.with_model("draft_judge", &judge_model)?;
    if let Some(path) = &args.reading {
        return agreement(&judge, path).await;
    }
    let started = Instant::now();
    let mut reports: Vec<SizingReport> = Vec::new();
    let show = |report: &SizingReport| println!("\n{report}");
    println!(
        "score: balanced accuracy (the mean share right per label) for the scored steps, the share \
         of drafts that pass the rule for Draft; dev scores cross-validated over 5 folds where the \
         split allows; latencies per call on the held-out splits"
    );

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
        let check = args.judge_drafts.then_some(&judge);
        let report = size_drafts(&runtime, &models, rule, check, args.drafts.as_deref()).await?;
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
/// checked by `JudgeDraft` on `judge` (or by the rule, without one); the
/// rule's verdicts are kept beside the judge's, per model.
async fn size_drafts(
    runtime: &Runtime,
    models: &[&str],
    rule: Choose,
    judge: Option<&Runtime>,
    file: Option<&Path>,
) -> Result<SizingReport, Box<dyn std::error::Error>> {
    let (dev, test, h2) = splits(forum::to_draft)?;
    let seen: Mutex<Vec<(String, Reply, bool, DraftCheck)>> = Mutex::default();
    let report = sizing(models, &dev, &test, &h2, rule)
        .generated(&Draft, runtime, async |thread: &Thread, reply: &Reply| {
            let verdict = check_draft(thread, reply);
            let pass = match judge {
                Some(judge) => judges(judge, thread, &reply.reply).await,
                None => verdict == DraftCheck::Passes,
            };
            if let Ok(mut seen) = seen.lock() {
                seen.push((thread.title.clone(), reply.clone(), pass, verdict));
            }
            pass
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
        for (title, reply, pass, verdict) in mine {
            *counts.entry(format!("{verdict:?}")).or_insert(0) += 1;
            lines.push(serde_json::json!({
                "model": c.model, "title": title, "reply": reply.reply,
                "passes": pass, "rule": format!("{verdict:?}"),
            }));
        }
        let passed = mine.iter().filter(|d| d.2).count();
        println!(
            "drafts on {}: {passed} of {} pass the check; by the rule {counts:?}; {} failed",
            c.model,
            mine.len(),
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

/// Whether `JudgeDraft` on `judge` finds that `reply` addresses `thread`
/// (a failed call counts as no).
async fn judges(judge: &Runtime, thread: &Thread, reply: &str) -> bool {
    let blank = |text: &str| DraftToJudge {
        question: text.into(),
        post: text.into(),
        reply: text.into(),
    };
    scored(JudgeDraft)
        .calibrate(vec![blank(""), blank("N/A"), blank("[MASK]")])
        .run(judge, DraftToJudge::new(thread, reply))
        .await
        .is_ok_and(|s| s.value.addresses)
}

/// A reading of drafts: what a person decided each one does.
#[derive(serde::Deserialize)]
struct Read {
    model: String,
    title: String,
    reply: String,
    addresses: bool,
}

/// How often the judge (on `judge`) and the rule agree with the reading in
/// `path`, per model and overall.
async fn agreement(judge: &Runtime, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let threads: Vec<Thread> = [Split::All, Split::Holdout2]
        .into_iter()
        .map(forum::load)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .map(|t| t.thread())
        .collect();
    let text = std::fs::read_to_string(path)?;
    // (model) -> [read yes, judge agrees, rule agrees, total]
    let mut tally: std::collections::BTreeMap<String, [usize; 4]> = Default::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let read: Read = serde_json::from_str(line)?;
        let thread = threads
            .iter()
            .find(|t| t.title == read.title)
            .ok_or_else(|| format!("no thread titled {:?} in the corpus", read.title))?;
        let by_judge = judges(judge, thread, &read.reply).await;
        let reply = Reply {
            reply: read.reply.clone(),
        };
        let by_rule = check_draft(thread, &reply) == DraftCheck::Passes;
        for key in [read.model.clone(), "all".to_string()] {
            let t = tally.entry(key).or_default();
            t[0] += usize::from(read.addresses);
            t[1] += usize::from(by_judge == read.addresses);
            t[2] += usize::from(by_rule == read.addresses);
            t[3] += 1;
        }
    }
    println!("| drafts of | read as addressing | judge agrees | rule agrees |");
    println!("|---|---|---|---|");
    for (model, [yes, judge, rule, n]) in &tally {
        println!("| {model} | {yes}/{n} | {judge}/{n} | {rule}/{n} |");
    }
    Ok(())
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
