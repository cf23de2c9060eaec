//! Repetition control on the flagship's drafts: the `Draft` agent without
//! any penalty, and with each kind of penalty (its own setting,
//! `repeat_penalty = 1.1`, among them), over the same threads, side by side
//! in one run. Prints, per variant, the share of repeated word
//! trigrams in the drafts, how many drafts ran into the reply's length bound,
//! and the time taken.
//!
//! `cargo run -p agentkit-examples --example repetition [-- --split all]`

use std::time::Instant;

use agentkit::prelude::*;
use agentkit::{Repetition, Sampling};
use agentkit_examples::forum::{self, Draft, Reply, Split, Thread};
use clap::Parser;

/// Drafts a reply to every thread of a split with `Draft` without and with
/// repetition penalties, and compares how much the drafts repeat themselves.
#[derive(Parser)]
struct Args {
    /// Which labelled threads to draft replies for.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    split: Split,
}

/// `Draft` with other sampling settings: the same instructions, input
/// format, model and output, so only the sampler differs.
struct DraftWith<const V: usize>;

/// `Draft`'s sampling without its repetition control.
const NO_PENALTY: Sampling = <Draft as Agent>::SAMPLING.without_repetition();

/// The variants compared, by index: name and sampling.
const VARIANTS: [(&str, Sampling); 7] = [
    ("no penalty", NO_PENALTY),
    (
        "repeat_penalty 1.3",
        NO_PENALTY.with_repetition(Repetition::DEFAULT.with_repeat_penalty(1.3)),
    ),
    (
        "repeat_penalty 1.1",
        NO_PENALTY.with_repetition(Repetition::DEFAULT.with_repeat_penalty(1.1)),
    ),
    (
        "repeat_penalty 1.15",
        NO_PENALTY.with_repetition(Repetition::DEFAULT.with_repeat_penalty(1.15)),
    ),
    (
        "repeat_penalty 1.2",
        NO_PENALTY.with_repetition(Repetition::DEFAULT.with_repeat_penalty(1.2)),
    ),
    (
        "frequency_penalty 0.8",
        NO_PENALTY.with_repetition(Repetition::DEFAULT.with_frequency_penalty(0.8)),
    ),
    (
        "repeat 1.2 + presence 0.5",
        NO_PENALTY.with_repetition(
            Repetition::DEFAULT
                .with_repeat_penalty(1.2)
                .with_presence_penalty(0.5),
        ),
    ),
];

impl<const V: usize> Agent for DraftWith<V> {
    type Input = Thread;
    type Output = Reply;
    const NAME: &'static str = <Draft as Agent>::NAME;
    const MODEL: &'static str = <Draft as Agent>::MODEL;
    const INSTRUCTIONS: &'static str = <Draft as Agent>::INSTRUCTIONS;
    const SAMPLING: Sampling = VARIANTS[V].1;
    const INPUT_FORMAT: agentkit::InputFormat = <Draft as Agent>::INPUT_FORMAT;
}

impl<const V: usize> Yields for DraftWith<V> {
    type Output = Reply;
}

impl<const V: usize> Step<Thread> for DraftWith<V> {
    async fn run(&self, runtime: &Runtime, input: Thread) -> Result<Reply, Error> {
        runtime.run_agent(self, input).await
    }

    async fn check(&self, runtime: &Runtime) -> Vec<agentkit::Problem> {
        runtime.check_agent(self).await
    }
}

/// What one variant did over all threads.
#[derive(Default)]
struct Tally {
    repeated: usize,
    trigrams: usize,
    /// Drafts with fewer than 20 characters: a penalty can push a small
    /// model to close the string at once.
    short: usize,
    chars: usize,
    drafts: usize,
    /// The first draft, to read.
    sample: String,
    /// The beginnings of the drafts that ran into the bound (their count is
    /// the table's), to see whether they loop, copy the thread, or go on.
    bounded: Vec<String>,
    failed: usize,
    seconds: f64,
}

async fn tally<S: Step<Thread> + Yields<Output = Reply>>(
    step: &S,
    runtime: &Runtime,
    threads: &[Thread],
) -> Tally {
    let mut t = Tally::default();
    let started = Instant::now();
    for thread in threads {
        match step.run(runtime, thread.clone()).await {
            Ok(reply) => {
                let (r, n) = agentkit_examples::repeated_trigrams(&reply.reply);
                t.repeated += r;
                t.trigrams += n;
                let chars = reply.reply.chars().count();
                if forum::at_bound(&reply.reply) {
                    t.bounded.push(reply.reply.chars().take(90).collect());
                }
                t.short += usize::from(chars < 20);
                t.chars += chars;
                if t.drafts == 0 {
                    t.sample = reply.reply.clone();
                }
                t.drafts += 1;
            }
            Err(_) => t.failed += 1,
        }
    }
    t.seconds = started.elapsed().as_secs_f64();
    t
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let threads: Vec<Thread> = forum::load(args.split)?
        .iter()
        .map(|t| t.thread())
        .collect();
    let runtime = forum::runtime()?;
    println!(
        "Draft on {} threads, SmolLM2-135M-Instruct Q4_1, {} llama.cpp threads, one run:",
        threads.len(),
        agentkit_examples::threads().unwrap_or(2)
    );
    let tallies = [
        tally(&DraftWith::<0>, &runtime, &threads).await,
        tally(&DraftWith::<1>, &runtime, &threads).await,
        tally(&DraftWith::<2>, &runtime, &threads).await,
        tally(&DraftWith::<3>, &runtime, &threads).await,
        tally(&DraftWith::<4>, &runtime, &threads).await,
        tally(&DraftWith::<5>, &runtime, &threads).await,
        tally(&DraftWith::<6>, &runtime, &threads).await,
    ];
    println!(
        "| sampling | repeated word trigrams | drafts at the {}-char bound | drafts under 20 chars | mean length | failed | time |",
        forum::REPLY_CHARS
    );
    println!("|---|---|---|---|---|---|---|");
    for ((name, _), t) in VARIANTS.iter().zip(&tallies) {
        println!(
            "| {name} | {:.0}% ({}/{}) | {}/{} | {}/{} | {:.0} chars | {} | {:.0} s |",
            100.0 * t.repeated as f64 / t.trigrams.max(1) as f64,
            t.repeated,
            t.trigrams,
            t.bounded.len(),
            t.drafts,
            t.short,
            t.drafts,
            t.chars as f64 / t.drafts.max(1) as f64,
            t.failed,
            t.seconds
        );
    }
    println!();
    println!("The first thread's draft under each setting:");
    for ((name, _), t) in VARIANTS.iter().zip(&tallies) {
        println!("  {name}: {:?}", t.sample);
    }
    println!();
    println!("The drafts at the bound, their first 90 characters:");
    for ((name, _), t) in VARIANTS.iter().zip(&tallies) {
        for draft in &t.bounded {
            println!("  {name}: {draft:?}");
        }
    }
    Ok(())
}
