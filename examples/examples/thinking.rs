//! Does thinking first help? The relevance question of the flagship (is this
//! thread about running language models locally?) asked of a generative
//! agent with no thinking, with a free think block of at most 32 and 128
//! tokens, and with a structured one (a subject, and whether it is about
//! local models, at most 96 tokens); and by scored choices (P(true) >= 0.5)
//! with no thinking and after a think block of 32 tokens; on the test split and the second held-out set, on SmolLM2-135M and
//! (when its file is there) Qwen2.5-Coder-0.5B. Prints accuracy, think and
//! answer tokens, and wall time per configuration.
//!
//! ```text
//! cargo run --release -p agentkit-examples --example thinking
//! ```

use agentkit::eval::{evaluate, EvalReport};
use agentkit::prelude::*;
use agentkit::{Scored, Yields};
use agentkit_examples::forum::{self, LabelledThread, Split, Thread};
use clap::Parser;

/// Relevance with and without a think block, on both held-out sets.
#[derive(Parser)]
struct Args {
    /// Only the first N threads of each set.
    #[arg(long)]
    limit: Option<usize>,
    /// Measure the flagship's `Draft` instead, on the test threads labelled
    /// worth answering: copying, loops, length, think tokens, time; the
    /// drafts go to standard error to be read.
    #[arg(long)]
    drafts: bool,
}

/// The flagship's `Draft` with a think block: off, free 32, free 128,
/// structured (a [`DraftPlan`], 128 tokens).
struct DraftThinking<const V: usize>;

/// The think block of a structured draft.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct DraftPlan {
    /// the poster's question, in a few words
    #[schemars(length(max = 80))]
    question: String,
    /// the one thing the reply must say
    #[schemars(length(max = 120))]
    answer: String,
}

const DRAFT_WAYS: [&str; 4] = ["off", "free, 32", "free, 128", "structured, 128"];

impl<const V: usize> Agent for DraftThinking<V> {
    type Input = Thread;
    type Output = forum::Reply;
    const NAME: &'static str = <forum::Draft as Agent>::NAME;
    const MODEL: &'static str = <forum::Draft as Agent>::MODEL;
    const INSTRUCTIONS: &'static str = <forum::Draft as Agent>::INSTRUCTIONS;
    const SAMPLING: agentkit::Sampling = match V {
        0 => <forum::Draft as Agent>::SAMPLING,
        1 => <forum::Draft as Agent>::SAMPLING.with_reasoning(agentkit::Reasoning::budget(32)),
        _ => <forum::Draft as Agent>::SAMPLING.with_reasoning(agentkit::Reasoning::budget(128)),
    };
    const INPUT_FORMAT: agentkit::InputFormat = <forum::Draft as Agent>::INPUT_FORMAT;

    fn thought() -> Option<agentkit::backend::OutputSchema> {
        (V == 3).then(agentkit::backend::OutputSchema::of::<DraftPlan>)
    }
}

impl<const V: usize> Yields for DraftThinking<V> {
    type Output = forum::Reply;
}

impl<const V: usize> Step<Thread> for DraftThinking<V> {
    async fn run(&self, runtime: &Runtime, input: Thread) -> Result<forum::Reply, Error> {
        runtime.run_agent(self, input).await
    }

    async fn check(&self, runtime: &Runtime) -> Vec<agentkit::Problem> {
        runtime.check_agent(self).await
    }
}

/// The longest run of words a draft shares with its thread.
fn copied_words(draft: &str, thread: &Thread) -> usize {
    let source: Vec<String> = format!("{} {}", thread.title, thread.body)
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let words: Vec<String> = draft.split_whitespace().map(str::to_lowercase).collect();
    let mut best = 0;
    for i in 0..words.len() {
        for j in 0..source.len() {
            let n = words[i..]
                .iter()
                .zip(&source[j..])
                .take_while(|(a, b)| a == b)
                .count();
            best = best.max(n);
        }
    }
    best
}

/// `Draft` the `V` way over `threads`: one table row.
async fn drafts<const V: usize>(model: &str, runtime: &Runtime, threads: &[Thread]) {
    let before = runtime.usage();
    let started = std::time::Instant::now();
    let (mut done, mut failed, mut copying, mut looped, mut bound, mut chars) = (0, 0, 0, 0, 0, 0);
    for thread in threads {
        match DraftThinking::<V>.run(runtime, thread.clone()).await {
            Ok(reply) => {
                done += 1;
                chars += reply.reply.chars().count();
                copying += usize::from(copied_words(&reply.reply, thread) >= 8);
                looped += usize::from(agentkit_examples::repeated_trigrams(&reply.reply).0 > 0);
                bound += usize::from(forum::at_bound(&reply.reply));
                eprintln!(
                    "[{model} | {}] {}\n  -> {}\n",
                    DRAFT_WAYS[V], thread.title, reply.reply
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("[{model} | {}] {}\n  !! {e}\n", DRAFT_WAYS[V], thread.title);
            }
        }
    }
    let used = runtime.usage();
    let n = threads.len().max(1) as f64;
    println!(
        "| {model} | {} | {done}/{} | {copying} | {looped} | {bound} | {:.0} | {:.1} | {:.1} s |",
        DRAFT_WAYS[V],
        threads.len(),
        chars as f64 / done.max(1) as f64,
        (used.reasoning_tokens - before.reasoning_tokens) as f64 / n,
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        println!("|  | ({failed} failed) | | | | | | | |");
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
struct Relevance {
    /// true when the thread is about running language models on one's own
    /// computer (llama.cpp, Ollama, GGUF, quantization, local speed or memory)
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Threads about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(model = "screen", temperature = 0.0, max_tokens = 16, input = Thread, output = Relevance, input_format = "labelled")]
struct Direct;

/// Decide whether a forum thread is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Threads about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
/// Think it over briefly first.
#[agent(model = "screen", temperature = 0.0, max_tokens = 16, think_budget = 32, input = Thread, output = Relevance, input_format = "labelled")]
struct Think32;

/// Decide whether a forum thread is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Threads about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
/// Think it over first.
#[agent(model = "screen", temperature = 0.0, max_tokens = 16, think_budget = 128, input = Thread, output = Relevance, input_format = "labelled")]
struct Think128;

/// A think block with a shape.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Plan {
    /// what the thread is about, in a few words
    #[schemars(length(max = 60))]
    subject: String,
    /// is that running language models on one's own computer, and why
    #[schemars(length(max = 80))]
    local_models: String,
}

/// Decide whether a forum thread is about running language models locally, on
/// one's own computer: llama.cpp, Ollama, GGUF files, quantization, local
/// speed or memory, choosing a model to run at home. Threads about cloud AI
/// services, ChatGPT, model training theory, or anything else are not.
#[agent(model = "screen", temperature = 0.0, max_tokens = 16, think = Plan, think_budget = 96, input = Thread, output = Relevance, input_format = "labelled")]
struct Planned;

fn row(model: &str, way: &str, set: &str, r: &EvalReport) {
    let f = r.fields.get("relevant").cloned().unwrap_or_default();
    let n = r.examples.max(1) as f64;
    println!(
        "| {model} | {way} | {set} | {}/{} | {:.1} | {:.1} | {:.1} s |",
        f.correct,
        f.total,
        r.reasoning_tokens as f64 / n,
        r.generated_tokens as f64 / n,
        r.elapsed.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut sets = vec![
        ("test", forum::load(Split::Test)?),
        ("holdout2", forum::load(Split::Holdout2)?),
    ];
    if let Some(n) = args.limit {
        for (_, threads) in &mut sets {
            threads.truncate(n);
        }
    }
    let llama = agentkit_examples::llama()?;
    if args.drafts {
        let mut threads: Vec<Thread> = forum::load(Split::Test)?
            .iter()
            .filter(|t| t.worth_answering)
            .map(LabelledThread::thread)
            .collect();
        if let Some(n) = args.limit {
            threads.truncate(n);
        }
        println!("| model | thinking | drafts | copying (≥ 8 words of the thread) | looping (a repeated word trigram) | at the 400-char bound | mean chars | think tokens / draft | wall |");
        println!("|---|---|---|---|---|---|---|---|---|");
        for model in ["smollm2-135m", "qwen2.5-coder-0.5b"] {
            let runtime = Runtime::builder()
                .backend(llama.clone())
                .alias("draft", model)
                .build();
            if !runtime
                .model("draft")
                .and_then(|s| s.path().map(|p| p.is_file()))
                .unwrap_or(false)
            {
                continue;
            }
            drafts::<0>(model, &runtime, &threads).await;
            drafts::<1>(model, &runtime, &threads).await;
            drafts::<2>(model, &runtime, &threads).await;
            drafts::<3>(model, &runtime, &threads).await;
        }
        return Ok(());
    }
    println!("| model | thinking | set | relevant right | think tokens / thread | answer tokens / thread | wall |");
    println!("|---|---|---|---|---|---|---|");
    for model in ["smollm2-135m", "qwen2.5-coder-0.5b"] {
        let runtime = Runtime::builder()
            .backend(llama.clone())
            .alias("screen", model)
            .build();
        let Some(spec) = runtime.model("screen") else {
            continue;
        };
        if !spec.path().is_some_and(|p| p.is_file()) {
            eprintln!("skipped {model}: its file is not there (scripts/fetch-model.sh {model})");
            continue;
        }
        for (set, threads) in &sets {
            row(
                model,
                "off",
                set,
                &evaluate(&Direct, &runtime, forum::relevance_examples(threads)).await,
            );
            row(
                model,
                "32",
                set,
                &evaluate(&Think32, &runtime, forum::relevance_examples(threads)).await,
            );
            row(
                model,
                "128",
                set,
                &evaluate(&Think128, &runtime, forum::relevance_examples(threads)).await,
            );
            row(
                model,
                "structured, 96",
                set,
                &evaluate(&Planned, &runtime, forum::relevance_examples(threads)).await,
            );
            let decided = |s: Scored<Relevance>| Relevance {
                relevant: s.probability("relevant", &true).unwrap_or(0.0) >= 0.5,
            };
            let scored = agentkit::scored(Direct).map(decided);
            row(
                model,
                "scored, off",
                set,
                &evaluate(&scored, &runtime, forum::relevance_examples(threads)).await,
            );
            let scored = agentkit::scored(Think32).map(decided);
            row(
                model,
                "scored, 32",
                set,
                &evaluate(&scored, &runtime, forum::relevance_examples(threads)).await,
            );
        }
    }
    Ok(())
}
