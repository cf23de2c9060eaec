//! Batched decoding, measured: one agent over N = 1, 8 and 32 forum threads,
//! three ways, side by side in one run:
//!
//! - sequential: one call at a time (batching off);
//! - separate contexts: all N at once, each call on a context of its own
//!   (batching off, as before batching existed);
//! - batched: all N at once on the model's batching engine, with the
//!   backend's defaults (up to 8 sequences decode together; the rest wait
//!   for a slot), once per KV cache layout given with `--kv`: `streams` (a
//!   stream per sequence, the default) and `unified` (one shared cache).
//!
//! `--flash-attention on|off` sets llama.cpp's flash attention for every way
//! (the backend's default: off).
//!
//! Each (way, N) runs in a child process of its own so that its peak memory
//! (VmHWM) is its own. Prints whole-job throughput, per-request latency
//! (p50/p95, from the moment all N are submitted), peak memory, how many
//! batched outputs equal the sequential ones, and the prompt time of a warm
//! call of the agent against a cold one.
//!
//! `cargo run --release -p agentkit-examples --example batching`

use std::process::Command;
use std::time::{Duration, Instant};

use agentkit::backend::{Backend, Completion, Request};
use agentkit::prelude::*;
use agentkit_backends::llama::{Llama, LlamaConfig};
use agentkit_examples::forum::{self, Split, Thread};
use agentkit_examples::gist::Summarise;
use agentkit_examples::steps::Steps;
use clap::Parser;
use futures_util::future::join_all;

/// Batched decoding against one call at a time and separate contexts in
/// parallel, on SmolLM2-135M (AGENTKIT_THREADS threads, 2 when unset).
#[derive(Parser)]
struct Args {
    /// Run one measurement and print it as JSON (used by the parent run).
    #[arg(long, hide = true)]
    way: Option<Way>,
    /// Inputs for `--way`.
    #[arg(long, hide = true, default_value_t = 1)]
    n: usize,
    /// The sizes to measure.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 32])]
    sizes: Vec<usize>,
    /// Sequences the batching engine decodes together (the backend's default: 8).
    #[arg(long)]
    parallel: Option<usize>,
    /// KV cache layouts of the batching engine to measure, each as a batched
    /// row of its own: `unified` (one cache shared by all sequences) and/or
    /// `streams` (a stream of kv_size / parallel cells per sequence).
    #[arg(long, value_delimiter = ',', default_values_t = [Kv::Unified, Kv::Streams])]
    kv: Vec<Kv>,
    /// llama.cpp's flash attention in every way measured: `on`, `off`, or
    /// the backend's default when not given.
    #[arg(long)]
    flash_attention: Option<Switch>,
    /// With `--way batched`: submit one request at a time (isolates the
    /// engine's cache sharing from multi-row batches).
    #[arg(long, hide = true)]
    one_by_one: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Switch {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Kv {
    Unified,
    Streams,
}

impl std::fmt::Display for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kv::Unified => "unified",
            Kv::Streams => "streams",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Way {
    Sequential,
    Separate,
    Batched,
}

impl Way {
    fn label(self) -> &'static str {
        match self {
            Way::Sequential => "sequential",
            Way::Separate => "separate contexts",
            Way::Batched => "batched",
        }
    }
}

/// What one child run reports.
#[derive(Debug, Serialize, Deserialize)]
struct Measured {
    seconds: f64,
    generated: usize,
    /// Prompt tokens of all calls, and how many of them came from the cache.
    prompt_tokens: usize,
    cached_tokens: usize,
    latencies_ms: Vec<f64>,
    peak_kib: u64,
    texts: Vec<String>,
    /// Prompt time of the first call and of the calls after it.
    cold_prompt_ms: f64,
    warm_prompt_ms: Vec<f64>,
    /// The flagship's `Judge` (instructions and few-shot examples before the
    /// input) on four threads in a row on a fresh backend: prompt time, prompt
    /// tokens and cached prompt tokens of each call (sequential only).
    judge: Vec<(f64, usize, usize)>,
    /// Every pass over the weights the engine made: (tokens, sequences, ms).
    steps: Vec<(usize, usize, f64)>,
}

/// A run's passes over the weights, split into prompt feeds (more tokens
/// than sequences) and decode steps (one token per sequence).
#[derive(Default)]
struct Passes {
    feed_seconds: f64,
    feed_tokens: usize,
    decode_seconds: f64,
    decode_tokens: usize,
    decode_steps: usize,
    /// Wall time outside `llama_decode`: sampling, grammar masks, scheduling.
    outside_seconds: f64,
}

impl Passes {
    fn of(m: &Measured) -> Passes {
        let mut split = Passes::default();
        for &(tokens, sequences, ms) in &m.steps {
            if tokens > sequences {
                split.feed_seconds += ms / 1e3;
                split.feed_tokens += tokens;
            } else {
                split.decode_seconds += ms / 1e3;
                split.decode_tokens += tokens;
                split.decode_steps += 1;
            }
        }
        split.outside_seconds = (m.seconds - split.feed_seconds - split.decode_seconds).max(0.0);
        split
    }
}

/// Where a run's time went: prompt feeds, decode steps, and what was left
/// outside `llama_decode` (sampling, grammar masks, scheduling).
fn profile(m: &Measured) -> String {
    let s = Passes::of(m);
    format!(
        "prompt feeds {:.1} s ({} tok, {:.0} tok/s); decode steps {:.1} s ({} steps, \
         {:.1} seq/step, {:.0} tok/s); outside llama_decode {:.1} s",
        s.feed_seconds,
        s.feed_tokens,
        s.feed_tokens as f64 / s.feed_seconds.max(1e-9),
        s.decode_seconds,
        s.decode_steps,
        s.decode_tokens as f64 / s.decode_steps.max(1) as f64,
        s.decode_tokens as f64 / s.decode_seconds.max(1e-9),
        s.outside_seconds,
    )
}

fn threads() -> usize {
    agentkit_examples::threads().unwrap_or(2)
}

async fn measure(
    way: Way,
    n: usize,
    one_by_one: bool,
    parallel: Option<usize>,
    kv: Kv,
    flash_attention: Option<Switch>,
) -> Result<Measured, Error> {
    let mut config = LlamaConfig::default()
        .threads(threads())
        .unified_kv(kv == Kv::Unified);
    if let Some(fa) = flash_attention {
        config = config.flash_attention(fa == Switch::On);
    }
    if let Some(p) = parallel {
        config = config.parallel(p);
    }
    // Batched: the backend's defaults (up to 8 sequences at once, the rest
    // wait for a slot; 16384 KV cells) but for the cache layout.
    let config = match way {
        Way::Sequential | Way::Separate => config.batching(false),
        Way::Batched => config,
    };
    let llama = Llama::new(config)?;
    let runtime = Runtime::builder().backend(llama.clone()).build();
    let model = runtime.resolve(Summarise::NAME, Summarise::MODEL)?;
    llama.preload(&model).await?;
    let threads: Vec<Thread> = forum::load(Split::All)?
        .iter()
        .take(n)
        .map(|t| t.thread())
        .collect();
    let requests: Vec<Request> = threads
        .iter()
        .map(|t| Request::for_agent::<Summarise>(&runtime, t))
        .collect::<Result<_, _>>()?;
    let steps = Steps::install();
    let started = Instant::now();
    let timed = |request: Request| {
        let llama = llama.clone();
        async move {
            let c = llama.generate(request).await;
            (c, started.elapsed())
        }
    };
    let results: Vec<(Result<Completion, Error>, Duration)> = match way {
        _ if one_by_one || way == Way::Sequential => {
            let mut out = Vec::new();
            for r in requests {
                out.push(timed(r).await);
            }
            out
        }
        _ => join_all(requests.into_iter().map(timed)).await,
    };
    let seconds = started.elapsed().as_secs_f64();
    let steps = steps.taken();
    let mut measured = Measured {
        seconds,
        generated: 0,
        prompt_tokens: 0,
        cached_tokens: 0,
        latencies_ms: Vec::new(),
        peak_kib: agentkit_examples::peak_memory_kib(),
        texts: Vec::new(),
        cold_prompt_ms: 0.0,
        warm_prompt_ms: Vec::new(),
        judge: Vec::new(),
        steps,
    };
    if way == Way::Sequential && n > 1 {
        measured.judge = judge_prompts(&threads).await?;
    }
    for (i, (completion, latency)) in results.into_iter().enumerate() {
        let c = completion?;
        measured.generated += c.generated_tokens;
        measured.prompt_tokens += c.prompt_tokens;
        measured.cached_tokens += c.cached_prompt_tokens;
        measured.latencies_ms.push(latency.as_secs_f64() * 1e3);
        let prompt_ms = c.prompt_time.as_secs_f64() * 1e3;
        if i == 0 {
            measured.cold_prompt_ms = prompt_ms;
        } else {
            measured.warm_prompt_ms.push(prompt_ms);
        }
        measured.texts.push(c.text);
    }
    Ok(measured)
}

/// Prompt time, prompt tokens and cached prompt tokens of `Judge` on up to
/// four threads, one after the other, starting cold.
async fn judge_prompts(threads: &[Thread]) -> Result<Vec<(f64, usize, usize)>, Error> {
    let llama = Llama::new(LlamaConfig::default().threads(self::threads()))?;
    let runtime = forum::runtime_with(llama.clone())?;
    llama
        .preload(&runtime.resolve(forum::Judge::NAME, forum::Judge::MODEL)?)
        .await?;
    let mut out = Vec::new();
    for thread in threads.iter().take(4) {
        let c = llama
            .generate(Request::for_agent::<forum::Judge>(&runtime, thread)?)
            .await?;
        out.push((
            c.prompt_time.as_secs_f64() * 1e3,
            c.prompt_tokens,
            c.cached_prompt_tokens,
        ));
    }
    Ok(out)
}

fn percentile(xs: &[f64], p: f64) -> f64 {
    let mut xs = xs.to_vec();
    xs.sort_by(f64::total_cmp);
    let rank = ((p * xs.len() as f64).ceil() as usize).clamp(1, xs.len().max(1));
    xs.get(rank - 1).copied().unwrap_or(0.0)
}

fn median(xs: &[f64]) -> f64 {
    percentile(xs, 0.5)
}

/// Runs one (way, n) in a child process and reads its report.
fn child(
    way: Way,
    n: usize,
    one_by_one: bool,
    parallel: Option<usize>,
    kv: Kv,
    flash_attention: Option<Switch>,
) -> Result<Measured, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let name = match way {
        Way::Sequential => "sequential",
        Way::Separate => "separate",
        Way::Batched => "batched",
    };
    let mut command = Command::new(exe);
    command.args(["--way", name, "--n", &n.to_string()]);
    if one_by_one {
        command.arg("--one-by-one");
    }
    if let Some(p) = parallel {
        command.args(["--parallel", &p.to_string()]);
    }
    command.args(["--kv", &kv.to_string()]);
    match flash_attention {
        Some(Switch::On) => command.args(["--flash-attention", "on"]),
        Some(Switch::Off) => command.args(["--flash-attention", "off"]),
        None => &mut command,
    };
    let out = command.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(way) = args.way {
        let kv = args.kv.first().copied().unwrap_or(Kv::Unified);
        let measured = measure(
            way,
            args.n,
            args.one_by_one,
            args.parallel,
            kv,
            args.flash_attention,
        )
        .await?;
        println!("{}", serde_json::to_string(&measured)?);
        return Ok(());
    }
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "Batched decoding: SmolLM2-135M-Instruct Q4_1, {} llama.cpp threads, {cpus} CPUs; agent Summarise \
         (greedy, repeat_penalty 1.1, up to 64 tokens) over the first N forum threads; \
         flash attention {}",
        threads(),
        match args.flash_attention {
            Some(Switch::On) => "on",
            Some(Switch::Off) => "off",
            None => "as the backend's default sets it (off)",
        }
    );
    println!(
        "{:>3}  {:<18} {:>8} {:>9} {:>8} {:>9} {:>9} {:>9}",
        "N", "way", "wall s", "req/s", "tok/s", "p50 ms", "p95 ms", "peak MiB"
    );
    for &n in &args.sizes {
        let mut ways = vec![(Way::Sequential, Kv::Unified), (Way::Separate, Kv::Unified)];
        ways.extend(args.kv.iter().map(|&kv| (Way::Batched, kv)));
        let mut runs = Vec::new();
        for &(way, kv) in &ways {
            let m = child(way, n, false, args.parallel, kv, args.flash_attention)?;
            let label = match way {
                Way::Batched => format!("batched, {kv}"),
                _ => way.label().to_string(),
            };
            println!(
                "{n:>3}  {:<18} {:>8.2} {:>9.2} {:>8.1} {:>9.0} {:>9.0} {:>9.0}",
                label,
                m.seconds,
                n as f64 / m.seconds,
                m.generated as f64 / m.seconds,
                median(&m.latencies_ms),
                percentile(&m.latencies_ms, 0.95),
                m.peak_kib as f64 / 1024.0,
            );
            // With separate contexts the passes overlap in time: their sum
            // says nothing about the wall time.
            if way != Way::Separate {
                println!("     {:<18} {}", "", profile(&m));
            }
            runs.push(m);
        }
        let (seq, sep) = (&runs[0], &runs[1]);
        for (&kv, bat) in args.kv.iter().zip(&runs[2..]) {
            let same = seq
                .texts
                .iter()
                .zip(&bat.texts)
                .filter(|(a, b)| a == b)
                .count();
            println!(
                "     batched ({kv}) vs sequential: throughput {:.2}x, identical outputs {same}/{n}; \
                 peak memory batched/separate {:.2}; prompt tokens from the cache {}/{} \
                 (sequential {}/{})",
                seq.seconds / bat.seconds,
                bat.peak_kib as f64 / sep.peak_kib.max(1) as f64,
                bat.cached_tokens,
                bat.prompt_tokens,
                seq.cached_tokens,
                seq.prompt_tokens,
            );
            // Prompt evaluation is compute-bound and costs the same batched or
            // not: had decoding cost nothing, the batched run would still take
            // its prompt feeds and the time outside llama_decode.
            let s = Passes::of(bat);
            let floor = s.feed_seconds + s.outside_seconds;
            println!(
                "     ceiling: with decoding free the batched run would take {floor:.1} s, {:.2}x sequential",
                seq.seconds / floor.max(1e-9)
            );
            for (a, b) in seq.texts.iter().zip(&bat.texts).filter(|(a, b)| a != b) {
                println!("       differs: {a}\n            vs: {b}");
            }
            if n > 1 {
                // The same engine fed one request at a time: how many outputs
                // change from the cache layout alone, with no batch of many rows.
                let alone = child(
                    Way::Batched,
                    n,
                    true,
                    args.parallel,
                    kv,
                    args.flash_attention,
                )?;
                let same = seq
                    .texts
                    .iter()
                    .zip(&alone.texts)
                    .filter(|(a, b)| a == b)
                    .count();
                println!(
                    "     batching engine ({kv}) fed one request at a time: identical outputs {same}/{n}"
                );
            }
        }
        if n > 1 {
            let warm = median(&seq.warm_prompt_ms);
            println!(
                "     Summarise prompt time, cold call {:.0} ms, warm calls (median) {warm:.0} ms: {:.2}x",
                seq.cold_prompt_ms,
                warm / seq.cold_prompt_ms.max(1e-9),
            );
        }
        if let Some((cold, rest)) = seq.judge.split_first() {
            let warm: Vec<f64> = rest.iter().map(|j| j.0).collect();
            let tokens: Vec<String> = seq
                .judge
                .iter()
                .map(|(_, p, c)| format!("{}/{p}", p - c))
                .collect();
            println!(
                "     Judge (few-shot) prompt time, cold {:.0} ms, warm (median) {:.0} ms: {:.2}x; \
                 tokens evaluated/prompt {}",
                cold.0,
                median(&warm),
                median(&warm) / cold.0.max(1e-9),
                tokens.join(", ")
            );
        }
    }
    Ok(())
}
