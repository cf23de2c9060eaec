//! Repetition control on the flagship's drafts: the `Draft` agent without
//! any penalty, with each kind of penalty, and with DRY on top of
//! `repeat_penalty = 1.1` (its own setting: both), over the same threads,
//! side by side in one run. Prints, per variant, the share of repeated word
//! trigrams in the drafts, how many drafts ran into the reply's length bound,
//! and the time taken.
//!
//! `cargo run -p agentkit-examples --example repetition [-- --split all] [--only DRY] [--seeds 3]`

use std::time::Instant;

use agentkit::prelude::*;
use agentkit::{Dry, Repetition, Sampling};
use agentkit_examples::forum::{self, Draft, Reply, Split, Thread};
use clap::Parser;

/// Drafts a reply to every thread of a split with `Draft` without and with
/// repetition penalties, and compares how much the drafts repeat themselves.
#[derive(Parser)]
struct Args {
    /// Which labelled threads to draft replies for.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    split: Split,

    /// Run only the settings whose name contains one of these texts,
    /// comma-separated (e.g. `DRY,repeat_penalty 1.1`).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,

    /// Draft each thread with this many seeds (42, 43, 44): one draw per
    /// thread is noisy.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=3))]
    seeds: u32,
}

/// `Draft` with other sampling settings: the same instructions, input
/// format, model and output, so only the sampler differs. `S` is added to
/// the seed.
struct DraftWith<const V: usize, const S: u32>;

/// `Draft`'s sampling without its repetition control and DRY.
const NO_PENALTY: Sampling = <Draft as Agent>::SAMPLING
    .without_repetition()
    .without_dry();

/// The repeat penalty the flagship's `Draft` sets.
const REPEAT_1_1: Repetition = Repetition::DEFAULT.with_repeat_penalty(1.1);

/// The variants compared, by index: name and sampling.
const VARIANTS: [(&str, Sampling); 9] = [
    ("no penalty", NO_PENALTY),
    (
        "repeat_penalty 1.3",
        NO_PENALTY.with_repetition(Repetition::DEFAULT.with_repeat_penalty(1.3)),
    ),
    (
        "repeat_penalty 1.1 alone",
        NO_PENALTY.with_repetition(REPEAT_1_1),
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
    (
        "repeat 1.1 + DRY 0.8, 2 tokens free",
        NO_PENALTY
            .with_repetition(REPEAT_1_1)
            .with_dry(Dry::DEFAULT),
    ),
    (
        "repeat 1.1 + DRY 0.8, 4 tokens free",
        NO_PENALTY
            .with_repetition(REPEAT_1_1)
            .with_dry(Dry::DEFAULT.with_allowed_length(4)),
    ),
];

impl<const V: usize, const S: u32> Agent for DraftWith<V, S> {
    type Input = Thread;
    type Output = Reply;
    const NAME: &'static str = <Draft as Agent>::NAME;
    const MODEL: &'static str = <Draft as Agent>::MODEL;
    const INSTRUCTIONS: &'static str = <Draft as Agent>::INSTRUCTIONS;
    const SAMPLING: Sampling = VARIANTS[V].1.with_seed(VARIANTS[V].1.seed + S);
    const INPUT_FORMAT: agentkit::InputFormat = <Draft as Agent>::INPUT_FORMAT;
}

impl<const V: usize, const S: u32> Yields for DraftWith<V, S> {
    type Output = Reply;
}

impl<const V: usize, const S: u32> Step<Thread> for DraftWith<V, S> {
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
    /// What the first failure said.
    first_failure: String,
    seconds: f64,
}

/// What variant `V` does over `threads` with `seeds` seeds, if it is `on`.
async fn variant<const V: usize>(
    on: bool,
    seeds: u32,
    runtime: &Runtime,
    threads: &[Thread],
) -> Option<Tally> {
    if !on {
        return None;
    }
    let mut t = Tally::default();
    tally(&mut t, &DraftWith::<V, 0>, runtime, threads).await;
    if seeds > 1 {
        tally(&mut t, &DraftWith::<V, 1>, runtime, threads).await;
    }
    if seeds > 2 {
        tally(&mut t, &DraftWith::<V, 2>, runtime, threads).await;
    }
    Some(t)
}

/// Adds what `step` does over `threads` to `t`.
async fn tally<S: Step<Thread> + Yields<Output = Reply>>(
    t: &mut Tally,
    step: &S,
    runtime: &Runtime,
    threads: &[Thread],
) {
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
            Err(e) => {
                if t.failed == 0 {
                    t.first_failure = e.to_string().chars().take(160).collect();
                }
                t.failed += 1;
            }
        }
    }
    t.seconds += started.elapsed().as_secs_f64();
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
        "Draft on {} threads x {} seeds, SmolLM2-135M-Instruct Q4_1, {} llama.cpp threads, one run:",
        threads.len(),
        args.seeds,
        agentkit_examples::threads().unwrap_or(2)
    );
    let on = |v: usize| {
        args.only.is_empty() || args.only.iter().any(|o| VARIANTS[v].0.contains(o.as_str()))
    };
    let tallies = [
        variant::<0>(on(0), args.seeds, &runtime, &threads).await,
        variant::<1>(on(1), args.seeds, &runtime, &threads).await,
        variant::<2>(on(2), args.seeds, &runtime, &threads).await,
        variant::<3>(on(3), args.seeds, &runtime, &threads).await,
        variant::<4>(on(4), args.seeds, &runtime, &threads).await,
        variant::<5>(on(5), args.seeds, &runtime, &threads).await,
        variant::<6>(on(6), args.seeds, &runtime, &threads).await,
        variant::<7>(on(7), args.seeds, &runtime, &threads).await,
        variant::<8>(on(8), args.seeds, &runtime, &threads).await,
    ];
    let tallies: Vec<(&str, Tally)> = VARIANTS
        .iter()
        .zip(tallies)
        .filter_map(|((name, _), t)| Some((*name, t?)))
        .collect();
    println!(
        "| sampling | repeated word trigrams | drafts at the {}-char bound | drafts under 20 chars | mean length | failed | time |",
        forum::REPLY_CHARS
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, t) in &tallies {
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
    for (name, t) in &tallies {
        println!("  {name}: {:?}", t.sample);
    }
    for (name, t) in tallies.iter().filter(|(_, t)| t.failed > 0) {
        println!(
            "  {name}: {} failed, the first with: {}",
            t.failed, t.first_failure
        );
    }
    println!();
    println!("The drafts at the bound, their first 90 characters:");
    for (name, t) in &tallies {
        for draft in &t.bounded {
            println!("  {name}: {draft:?}");
        }
    }
    Ok(())
}
