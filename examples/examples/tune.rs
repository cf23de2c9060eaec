//! Tunes the flagship's scored agents on the dev split, in one call each:
//! `Screen` (on all dev threads; its subjects other than `local_ai_models`
//! are decoys), then `Judge` (worth answering?) and its decoy version `KindOf` (open question,
//! answered question, showcase, announcement, poll or rant), `Solved` (does
//! the poster's follow-up say the problem is fixed?), `Classify`
//! (topic) and its decoy version `ClassifyFine` (ten subtopics). Each of these
//! is tuned on the dev threads it may see in the flagship (the relevant ones and the
//! ones the screen passes by mistake) and reported on the same kind of test
//! threads, and each tuning is written to `examples/tuned/<Agent>.json`; the
//! flagship loads the tunings of the agents it runs.
//!
//! Balanced accuracy is the default metric: on a dev split of 17 threads,
//! fitting plain accuracy settles on the commoner label for every thread.
//!
//! `cargo run -p agentkit-examples --example tune [-- --metric accuracy]`

use agentkit::prelude::*;
use agentkit::tune::{tune, Metric, TuneReport};
use agentkit_examples::forum::{
    self, Classify, ClassifyFine, Judge, KindOf, Screen, Solved, Split,
};
use clap::Parser;

/// Tunes Screen, Judge, KindOf, Solved, Classify and ClassifyFine on the dev split and
/// writes their tunings to examples/tuned/.
#[derive(Parser)]
struct Args {
    /// What to maximise on the dev split.
    #[arg(long, value_enum, default_value_t = MetricArg::Balanced)]
    metric: MetricArg,

    /// Tune the screen only.
    #[arg(long)]
    screen: bool,

    /// Tune `Solved` only.
    #[arg(long, conflicts_with = "screen")]
    solved: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MetricArg {
    /// Share of threads right.
    Accuracy,
    /// Mean share right per label.
    Balanced,
}

/// Prints the curve and writes the tuning to `examples/tuned/<agent>.json`.
fn show(agent: &str, report: &TuneReport) -> Result<(), Error> {
    println!("\n{agent}:\n{report}");
    let path = forum::tuned_dir().join(format!("{agent}.json"));
    report.tuning.save(&path)?;
    println!(
        "chose `{}`; wrote {}",
        report.tuning.candidate,
        path.display()
    );
    Ok(())
}

/// The screen, tuned on all 30 dev threads: `local_ai_models` counts as
/// relevant, every other subject (a decoy) as not. What its author once did
/// by hand (a threshold of 0.82 on P(local_ai_models), 21/30 on test).
async fn screen(runtime: &Runtime, metric: Metric) -> Result<(), Error> {
    let (dev, test) = (
        forum::all_threads(Split::Dev)?,
        forum::all_threads(Split::Test)?,
    );
    let report = tune(Screen, runtime, &forum::screen_search(metric), &dev, &test).await?;
    show("Screen", &report)
}

/// `Solved`, tuned on the relevant dev threads whose poster wrote back (a
/// reply marked `(OP)`), on what the poster wrote: is the problem fixed?
async fn solved(runtime: &Runtime, metric: Metric) -> Result<(), Error> {
    let (dev, test) = (
        forum::follow_ups(Split::Dev)?,
        forum::follow_ups(Split::Test)?,
    );
    println!(
        "relevant threads whose poster wrote back: {} dev, {} test",
        dev.len(),
        test.len()
    );
    let report = tune(Solved, runtime, &forum::solved_search(metric), &dev, &test).await?;
    show("Solved", &report)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Args::parse();
    let metric = match args.metric {
        MetricArg::Accuracy => Metric::Accuracy,
        MetricArg::Balanced => Metric::BalancedAccuracy,
    };
    let runtime = forum::runtime()?;
    std::fs::create_dir_all(forum::tuned_dir()).map_err(|e| Error::Tuning {
        path: forum::tuned_dir(),
        reason: e.to_string(),
    })?;
    if args.solved {
        return solved(&runtime, metric).await;
    }
    screen(&runtime, metric).await?;
    if args.screen {
        return Ok(());
    }
    let dev = forum::screened(&runtime, Split::Dev).await?;
    let test = forum::screened(&runtime, Split::Test).await?;
    println!(
        "relevant threads and the ones the screen passes: {} dev, {} test; SmolLM2-135M-Instruct Q4_1; metric {metric:?}",
        dev.len(),
        test.len()
    );

    // Every search also tries contextual calibration on content-free threads.
    let worth = forum::thread_search("worth_answering", metric).shots("no examples", Vec::new());
    show("Judge", &tune(Judge, &runtime, &worth, &dev, &test).await?)?;

    // Decoy classes: every kind of post counts as worth answering or not.
    let kinds = forum::kind_search(metric);
    show(
        "KindOf",
        &tune(KindOf, &runtime, &kinds, &dev, &test).await?,
    )?;

    solved(&runtime, metric).await?;

    let topic = forum::thread_search("topic", metric);
    show(
        "Classify",
        &tune(Classify, &runtime, &topic, &dev, &test).await?,
    )?;

    // Decoy classes: every subtopic counts as its topic.
    let fine = forum::subtopic_search(metric);
    show(
        "ClassifyFine",
        &tune(ClassifyFine, &runtime, &fine, &dev, &test).await?,
    )?;
    Ok(())
}
