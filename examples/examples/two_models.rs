//! Two models in one process, measured: a pipeline whose first step runs on
//! SmolLM2-135M and whose second runs on Qwen2.5-Coder-0.5B, over 8 forum
//! threads 4 at a time, so both models decode at the same time. Run with the
//! engines sharing one thread budget (`LlamaConfig::share_threads`) and each
//! with threads of its own (the default), alternated, each run in a child process of its own so that its
//! peak memory (VmHWM) is its own. Prints wall time, peak memory and the
//! ratio between the two.
//!
//! ```text
//! scripts/fetch-model.sh qwen2.5-coder-0.5b
//! cargo run --release -p agentkit-examples --example two_models -- [--rounds 2]
//! ```

use std::process::Command;
use std::time::Instant;

use agentkit::prelude::*;
use agentkit_backends::llama::{Llama, LlamaConfig};
use agentkit_examples::forum::{self, Split, Thread};
use clap::Parser;

/// Two models in one process, with and without a shared thread budget.
#[derive(Parser)]
struct Args {
    /// Run once, sharing threads (`shared`) or not (`own`), and print one
    /// line of numbers (used by the parent run).
    #[arg(long, hide = true)]
    child: Option<String>,
    /// Runs of each way, alternated.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Threads the pipeline works on.
    #[arg(long, default_value_t = 8)]
    n: usize,
}

/// What a thread is about, in a few words.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Gist {
    /// the thread's question in one short sentence
    #[schemars(length(max = 80))]
    question: String,
}

/// Say in one short sentence what this forum thread asks.
#[agent(model = "screen", temperature = 0.0, max_tokens = 60, input = Thread, output = Gist)]
struct Summarize;

/// A short reply.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Answer {
    /// a sentence that answers the question
    #[schemars(length(max = 120))]
    reply: String,
}

/// Answer this forum question in one short sentence.
#[agent(model = "draft", temperature = 0.0, max_tokens = 80, input = Gist, output = Answer)]
struct Respond;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let result = match &args.child {
        Some(way) => child(way == "shared", args.n).await,
        None => parent(&args),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// One run: the pipeline over `n` threads, then `wall_s peak_mib` on stdout.
async fn child(shared: bool, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let threads = agentkit_examples::threads().unwrap_or(2);
    let llama = Llama::new(
        LlamaConfig::default()
            .threads(threads)
            .share_threads(shared),
    )?;
    let runtime = Runtime::builder()
        .backend(llama.clone())
        .alias("screen", "smollm2-135m")
        .alias("draft", "qwen2.5-coder-0.5b")
        .build();
    // Loaded before the clock starts: load time is not what is measured.
    for alias in ["screen", "draft"] {
        if let Some(spec) = runtime.model(alias) {
            llama.preload(&spec).await?;
        }
    }
    let input: Vec<Thread> = forum::load(Split::Dev)?
        .iter()
        .take(n)
        .map(|t| t.thread())
        .collect();
    let pipeline = agentkit::each(Summarize.then(Respond)).concurrency(4);
    let started = Instant::now();
    let answers = pipeline.run(&runtime, input).await?;
    let wall = started.elapsed().as_secs_f64();
    let peak = agentkit_examples::peak_memory_kib() as f64 / 1024.0;
    println!("{wall:.2} {peak:.0} {}", answers.len());
    Ok(())
}

/// Runs the children alternated and prints the table.
fn parent(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let threads = agentkit_examples::threads().unwrap_or(2);
    println!(
        "two models in one process: `Summarize` on SmolLM2-135M then `Respond` on \
         Qwen2.5-Coder-0.5B, {} threads 4 at a time, {threads} llama.cpp threads per engine",
        args.n
    );
    let mut runs: Vec<(&str, f64, f64)> = Vec::new();
    for round in 0..args.rounds {
        for way in ["shared", "own"] {
            let out = Command::new(&exe)
                .args(["--child", way, "--n", &args.n.to_string()])
                .output()?;
            if !out.status.success() {
                return Err(format!(
                    "the `{way}` run failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )
                .into());
            }
            let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let numbers: Vec<f64> = line
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            let [wall, peak, _answers] = numbers[..] else {
                return Err(format!("the `{way}` run printed `{line}`").into());
            };
            println!(
                "  round {} {way:<6} wall {wall:>6.2} s  peak memory {peak:>5.0} MiB",
                round + 1
            );
            runs.push((way, wall, peak));
        }
    }
    let mean = |way: &str, pick: fn(&(&str, f64, f64)) -> f64| {
        let values: Vec<f64> = runs.iter().filter(|r| r.0 == way).map(pick).collect();
        values.iter().sum::<f64>() / values.len().max(1) as f64
    };
    let (shared, own) = (mean("shared", |r| r.1), mean("own", |r| r.1));
    let (shared_mem, own_mem) = (mean("shared", |r| r.2), mean("own", |r| r.2));
    println!(
        "mean wall: shared budget {shared:.2} s, own threads {own:.2} s: own/shared = {:.2}",
        own / shared
    );
    println!("mean peak memory: shared budget {shared_mem:.0} MiB, own threads {own_mem:.0} MiB");
    Ok(())
}
