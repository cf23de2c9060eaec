//! Contextual calibration of scored choices, measured: the flagship's `Judge`
//! (worth answering?) and `Classify` (which topic?) by plain scored choices
//! and calibrated on content-free threads, against the labels, beside the
//! majority-class guess, in one run.
//!
//! `cargo run -p agentkit-examples --example calibration [-- --split all]`

use agentkit::prelude::*;
use agentkit::ScoredAgent;
use agentkit_examples::forum::{self, Classify, Judge, LabelledThread, Split, Thread, Topic};
use clap::Parser;

/// Scores `Judge` and `Classify` on every thread of a split, plain and
/// calibrated, and prints how many answers agree with the labels.
#[derive(Parser)]
struct Args {
    /// Which labelled threads to score.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    split: Split,
}

/// How many of `threads` a scored agent gets right, by `right`.
async fn agreement<A, F>(
    step: &ScoredAgent<A>,
    runtime: &Runtime,
    threads: &[LabelledThread],
    right: F,
) -> Result<usize, Error>
where
    A: Agent<Input = Thread>,
    F: Fn(&A::Output, &LabelledThread) -> bool,
{
    let mut n = 0;
    for t in threads {
        let s = step.run(runtime, t.thread()).await?;
        n += usize::from(right(&s.value, t));
    }
    Ok(n)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let threads = forum::load(args.split)?;
    let runtime = forum::runtime()?;
    let k = threads.len();
    let worth_yes = threads
        .iter()
        .filter(|t| t.labels().worth_answering)
        .count();
    let majority_worth = worth_yes.max(k - worth_yes);
    let topics = [
        Topic::Hardware,
        Topic::Performance,
        Topic::Models,
        Topic::Other,
    ];
    let majority_topic = topics
        .iter()
        .map(|topic| {
            threads
                .iter()
                .filter(|t| t.labels().topic == *topic)
                .count()
        })
        .max()
        .unwrap_or(0);

    let worth =
        |w: &forum::Worth, t: &LabelledThread| w.worth_answering == t.labels().worth_answering;
    let topic = |c: &forum::TopicChoice, t: &LabelledThread| c.topic == t.labels().topic;
    let judge_plain = agreement(&scored(Judge), &runtime, &threads, worth).await?;
    let judge_cal = agreement(
        &scored(Judge).calibrate(forum::content_free()),
        &runtime,
        &threads,
        worth,
    )
    .await?;
    let classify_plain = agreement(&scored(Classify), &runtime, &threads, topic).await?;
    let classify_cal = agreement(
        &scored(Classify).calibrate(forum::content_free()),
        &runtime,
        &threads,
        topic,
    )
    .await?;

    println!(
        "{k} threads ({:?} split), SmolLM2-135M-Instruct Q4_1, {} llama.cpp threads, one run; \
         calibration on 3 content-free threads (empty, \"N/A\", \"[MASK]\"):",
        args.split,
        agentkit_examples::threads().unwrap_or(2)
    );
    println!("| agent | majority guess | scored, argmax | scored, calibrated |");
    println!("|---|---|---|---|");
    println!(
        "| Judge: worth answering | {majority_worth}/{k} | {judge_plain}/{k} | {judge_cal}/{k} |"
    );
    println!(
        "| Classify: topic | {majority_topic}/{k} | {classify_plain}/{k} | {classify_cal}/{k} |"
    );
    Ok(())
}
