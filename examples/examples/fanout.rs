//! `.each` fan-out: a three-step chain over eight items, run with one item at
//! a time and with two at a time, on one model loaded once.
//!
//! `cargo run -p agentkit-examples --example fanout`

use std::time::Instant;

use agentkit::prelude::*;
use agentkit_backends::llama::{Llama, LlamaConfig};
use clap::Parser;

/// `.each` fan-out: a three-step chain over eight items, run with one item at
/// a time and with two at a time, with one and two llama.cpp threads per
/// call, on one model loaded once per backend. Takes no options.
#[derive(Parser)]
struct Args {}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Idea {
    #[schemars(length(max = 60))]
    title: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Ideas {
    #[schemars(length(min = 8, max = 8))]
    ideas: Vec<Idea>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Pitch {
    /// one sentence selling the idea
    #[schemars(length(max = 120))]
    pitch: String,
}

/// List eight short ideas for weekend projects about the given theme.
#[agent(model = "smollm2-135m", temperature = 0.7, max_tokens = 200, input = String, output = Ideas)]
struct Brainstorm;

/// Write a one-sentence pitch for the project idea.
#[agent(model = "smollm2-135m", temperature = 0.3, max_tokens = 48, input = Idea, output = Pitch)]
struct PitchIt;

async fn run(llama: &Llama, threads: usize, concurrency: usize) -> Result<(f64, usize), Error> {
    let runtime = Runtime::builder().backend(llama.clone()).build();
    let pipeline = Brainstorm
        .map(|i: Ideas| i.ideas)
        .each(PitchIt)
        .concurrency(concurrency);
    let started = Instant::now();
    let pitches = pipeline
        .run(&runtime, "running language models at home".to_string())
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    println!("  {threads} llama.cpp threads per call, concurrency {concurrency}: {} pitches in {seconds:.1} s", pitches.len());
    Ok((seconds, pitches.len()))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    Args::parse();
    println!("3-step chain (brainstorm -> split -> pitch each of 8), SmolLM2-135M, 2 cores:");
    let two = Llama::new(LlamaConfig::default().threads(2))?;
    let one = Llama::new(LlamaConfig::default().threads(1))?;
    let spec = agentkit_backends::llama::default_model();
    // Load before timing, so every run measures generation only.
    two.preload(&spec).await?;
    one.preload(&spec).await?;
    let (base, _) = run(&two, 2, 1).await?;
    let mut best = (base, 2, 1);
    for (llama, threads, concurrency) in [(&one, 1, 1), (&one, 1, 2), (&two, 2, 2)] {
        let (seconds, _) = run(llama, threads, concurrency).await?;
        if seconds < best.0 {
            best = (seconds, threads, concurrency);
        }
    }
    println!(
        "  fastest: {} threads x concurrency {}, {:.2}x the one-at-a-time run",
        best.1,
        best.2,
        base / best.0
    );
    println!(
        "  model loads: {} + {} (once per backend, however many calls)",
        two.load_count(),
        one.load_count()
    );
    Ok(())
}
