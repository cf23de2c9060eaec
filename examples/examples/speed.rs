//! Decoding speed on the default model, constrained vs unconstrained, measured
//! side by side in one process: same prompt, same seed, median of the runs.
//!
//! `cargo run -p agentkit-examples --example speed [-- RUNS]`

use std::time::Duration;

use agentkit::prelude::*;
use agentkit::{Backend, Prompt, Request, Sampling};
use agentkit_backends::llama::{Llama, LlamaConfig};

#[derive(Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Summary {
    /// the thread's main question, in your own words
    question: String,
    /// what the poster has tried so far
    tried: Vec<String>,
    /// true when the thread is about running models locally
    relevant: bool,
}

/// Summarise the forum thread: its main question and what the poster tried.
#[agent(model = "smollm2-135m", temperature = 0.2, max_tokens = 96, input = Thread, output = Summary)]
struct Summarise;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn per_second(tokens: usize, t: Duration) -> f64 {
    tokens as f64 / t.as_secs_f64().max(1e-9)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let threads = std::env::var("AGENTKIT_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let llama = Llama::new(LlamaConfig::default().threads(threads))?;
    let runtime = Runtime::builder().backend(llama.clone()).build();
    let thread = Thread {
        title: "llama.cpp on an old ThinkPad: which quant and how many threads?".into(),
        body: "I have 8 GB of RAM and a 4-core i5 without a GPU. I tried Q8_0 of a 1B model and it \
               was slow, then Q4_K_M which was faster but sometimes rambles. I also set threads to 8 \
               and it got slower. What should I try next?"
            .into(),
    };
    let request = Request {
        agent: "Summarise",
        model: runtime.resolve("Summarise", "smollm2-135m")?.clone(),
        prompt: Prompt::render::<Summarise>(&thread)?,
        schema: agentkit::output_schema::<Summary>(),
        sampling: Sampling {
            max_tokens: 96,
            ..<Summarise as Agent>::SAMPLING
        },
    };
    // Warm-up: loads the model and builds the grammar engine's token index.
    llama.generate(request.clone()).await?;

    let (mut free, mut constrained, mut prompt_tokens, mut prompt_ms) =
        (Vec::new(), Vec::new(), 0, Vec::new());
    let (mut free_tokens, mut constrained_tokens) = (0, 0);
    for _ in 0..runs {
        let f = llama.generate_unconstrained(request.clone()).await?;
        let c = llama.generate(request.clone()).await?;
        free.push(per_second(f.generated_tokens, f.generate_time));
        constrained.push(per_second(c.generated_tokens, c.generate_time));
        prompt_ms.push(c.prompt_time.as_secs_f64() * 1e3);
        prompt_tokens = c.prompt_tokens;
        free_tokens = f.generated_tokens;
        constrained_tokens = c.generated_tokens;
    }
    let (free, constrained) = (median(free), median(constrained));
    println!("SmolLM2-135M-Instruct Q4_1, {threads} threads, {runs} runs each (median), prompt {prompt_tokens} tokens");
    println!(
        "prompt evaluation:            {:>7.1} ms",
        median(prompt_ms)
    );
    println!("unconstrained decode:         {free:>7.1} tok/s ({free_tokens} tokens)");
    println!(
        "constrained (llguidance):     {constrained:>7.1} tok/s ({constrained_tokens} tokens)"
    );
    println!("constrained / unconstrained:  {:>7.2}x", constrained / free);
    Ok(())
}
