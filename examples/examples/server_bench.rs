//! The server backend measured against real llama-servers (SmolLM2, 2
//! threads each): what BENCHMARKS.md reports for it.
//!
//! - `tokens`: tokens per answer and complete, valid answers, the compact
//!   grammar vs `response_format` json_schema, at two `max_tokens`;
//! - `throughput`: `.each(Judge).concurrency(4)` over 30 threads on one
//!   server with `--parallel 1` vs `--parallel 4`;
//! - `failover`: the same over two servers, one killed part-way: items lost,
//!   attempts moved and the added wall time;
//! - `versus`: the batching benchmark's 32 requests (`Summarise`, greedy)
//!   through one llama-server with `--parallel 8`, with `response_format`
//!   json_schema and with the compact grammar, against agentkit in-process
//!   batched (fast-forward on and off): whole-job time, tokens per answer,
//!   valid answers.
//!
//! ```text
//! scripts/fetch-llama-server.sh   # prints the binary's path
//! AGENTKIT_LLAMA_SERVER=<that path> cargo run -p agentkit-examples --example server_bench -- [tokens|throughput|failover]
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentkit::backend::{Backend, Endpoint, Request};
use agentkit::prelude::*;
use agentkit_backends::llama::{Llama, LlamaConfig};
use agentkit_backends::server::{Constraint, Router, Server, ServerConfig};
use agentkit_examples::forum::{self, Split, Thread, Topic};
use agentkit_examples::gist::{Gist, Summarise};
use agentkit_test::llama_server::{self as servers, LlamaServer};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    Tokens,
    Throughput,
    Failover,
    Versus,
}

/// Measures the server backend against real llama-servers.
#[derive(Parser)]
struct Args {
    /// Which measurements to run (all by default).
    parts: Vec<Part>,

    /// Threads per measurement (32 for `tokens`, 30 for the others by default).
    #[arg(long, value_name = "N")]
    items: Option<usize>,
}

/// An endpoint of a benchmark server. The timeout is long: on a shared
/// machine a server may be paused for a while, and only a crash should move
/// a request here.
fn endpoint(url: &str) -> Endpoint {
    Endpoint::new(url, "smollm2").with_timeout(Duration::from_secs(3600))
}

/// A triage of one thread: three short fields.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Triage {
    /// about running language models locally
    relevant: bool,
    /// what it is mainly about
    topic: Topic,
    /// asks a concrete question not yet answered
    worth_answering: bool,
}

/// Triage this forum thread.
#[agent(
    model = "judge",
    temperature = 0.0,
    max_tokens = 160,
    input = Thread,
    output = Triage,
    input_format = "labelled"
)]
struct TriageIt;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let binary = servers::binary().ok_or_else(|| {
        format!(
            "set {} to a llama-server binary (scripts/fetch-llama-server.sh builds one)",
            servers::BINARY_VAR
        )
    })?;
    let model = agentkit_backends::llama::default_model_path();
    let threads: Vec<Thread> = forum::load(Split::All)?
        .iter()
        .map(|t| t.thread())
        .collect();
    let all = args.parts.is_empty();
    println!(
        "llama-server ({}), SmolLM2-135M-Instruct Q4_1, 2 threads per server",
        binary.display()
    );
    if all || args.parts.contains(&Part::Tokens) {
        let server = LlamaServer::start(&binary, &model, "smollm2", 4).await?;
        tokens(
            &server,
            &threads[..args.items.unwrap_or(32).min(threads.len())],
        )
        .await?;
    }
    if all || args.parts.contains(&Part::Throughput) {
        let items = &threads[..args.items.unwrap_or(30).min(threads.len())];
        let mut seconds = Vec::new();
        for parallel in [1, 4] {
            let server = LlamaServer::start(&binary, &model, "smollm2", parallel).await?;
            let (s, _) = each(&[&server], items, None).await?;
            println!(
                "throughput: .each(Judge).concurrency(4), {} threads, --parallel {parallel}: {s:.1} s",
                items.len()
            );
            seconds.push(s);
        }
        println!(
            "throughput: --parallel 4 is {:.2}x --parallel 1",
            seconds[0] / seconds[1]
        );
    }
    if all || args.parts.contains(&Part::Versus) {
        let items = &threads[..args.items.unwrap_or(32).min(threads.len())];
        versus(&binary, &model, items).await?;
    }
    if all || args.parts.contains(&Part::Failover) {
        let items = &threads[..args.items.unwrap_or(30).min(threads.len())];
        let a = LlamaServer::start(&binary, &model, "smollm2", 2).await?;
        let b = LlamaServer::start(&binary, &model, "smollm2", 2).await?;
        let (base, stats) = each(&[&a, &b], items, None).await?;
        println!(
            "failover: both up: {base:.1} s, {} attempts, {} moved",
            stats.attempts, stats.moved
        );
        let a = Arc::new(Mutex::new(a));
        let (killed, stats) = each(&[&b], items, Some(a.clone())).await?;
        let n = items.len();
        println!(
            "failover: one killed after 10 attempts: {n}/{n} items, {} attempts, {} moved, {killed:.1} s (+{:.1} s)",
            stats.attempts,
            stats.moved,
            killed - base
        );
    }
    Ok(())
}

/// `.each(Judge).concurrency(4)` over `items` on `servers` (plus `victim`,
/// killed after 10 attempts): wall seconds and the backend's statistics.
async fn each(
    servers: &[&LlamaServer],
    items: &[Thread],
    victim: Option<Arc<Mutex<LlamaServer>>>,
) -> Result<(f64, agentkit_backends::server::ServerStats), Error> {
    let mut endpoints: Vec<Endpoint> = Vec::new();
    if let Some(v) = &victim {
        let url = v.lock().map(|v| v.url.clone()).unwrap_or_default();
        endpoints.push(endpoint(&url));
    }
    endpoints.extend(servers.iter().map(|s| endpoint(&s.url)));
    let server = Server::default();
    let runtime = Runtime::builder()
        .backend(Router::served_only().with_server(server.clone()))
        .served("judge", endpoints)
        .build();
    runtime.check(&forum::Judge).await?;
    let killer = victim.map(|v| {
        let server = server.clone();
        tokio::spawn(async move {
            while server.stats().attempts < 10 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if let Ok(mut v) = v.lock() {
                v.kill();
            }
        })
    });
    let started = Instant::now();
    let out = agentkit::each(forum::Judge)
        .concurrency(4)
        .run(&runtime, items.to_vec())
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(k) = killer {
        let _ = k.await;
    }
    assert_eq!(out.len(), items.len(), "no item lost");
    Ok((seconds, server.stats()))
}

/// Tokens per answer and complete, valid answers, both constraints, two budgets.
async fn tokens(server: &LlamaServer, items: &[Thread]) -> Result<(), Error> {
    let endpoint = endpoint(&server.url);
    for (name, constraint) in [
        ("compact grammar", Constraint::Auto),
        ("response_format json_schema", Constraint::JsonSchema),
    ] {
        let backend = Server::new(ServerConfig::default().constraint(constraint));
        let runtime = Runtime::builder()
            .backend(Router::served_only().with_server(backend.clone()))
            .served("judge", vec![endpoint.clone()])
            .build();
        for max_tokens in [48, 160] {
            let mut complete = 0;
            let mut tokens = 0;
            for chunk in items.chunks(4) {
                let calls = chunk.iter().map(|t| {
                    let backend = backend.clone();
                    let request = Request::for_agent::<TriageIt>(&runtime, t);
                    async move {
                        let mut request = request?;
                        request.sampling.max_tokens = max_tokens;
                        backend.generate(request).await
                    }
                });
                for result in futures_util::future::join_all(calls).await {
                    match result {
                        Ok(c) if c.violation.is_none() => {
                            complete += 1;
                            tokens += c.generated_tokens;
                        }
                        Ok(_) | Err(Error::Truncated { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            println!(
                "tokens: {name}, max_tokens {max_tokens}: {complete}/{} complete and valid, {:.1} tokens per complete answer",
                items.len(),
                tokens as f64 / f64::from(complete.max(1))
            );
        }
    }
    Ok(())
}

/// What one way of running the 32 requests measured.
struct Job {
    seconds: f64,
    tokens: usize,
    valid: usize,
}

impl Job {
    fn print(&self, name: &str, n: usize, base: f64) {
        println!(
            "| {name} | {:.2} s | {:.2}x | {:.1} | {}/{n} |",
            self.seconds,
            base / self.seconds,
            self.tokens as f64 / self.valid.max(1) as f64,
            self.valid
        );
    }
}

/// All of `requests` at once on `backend`: wall time, tokens, valid answers.
async fn all_at_once(backend: &dyn Backend, requests: Vec<Request>) -> Job {
    let started = Instant::now();
    let results =
        futures_util::future::join_all(requests.into_iter().map(|r| backend.generate(r))).await;
    let mut job = Job {
        seconds: started.elapsed().as_secs_f64(),
        tokens: 0,
        valid: 0,
    };
    for c in results.into_iter().flatten() {
        if c.violation.is_none() && serde_json::from_str::<Gist>(&c.text).is_ok() {
            job.valid += 1;
            job.tokens += c.generated_tokens;
        }
    }
    job
}

/// The batching benchmark's requests through llama-server `--parallel 8`
/// (both constraints) and in-process batched (fast-forward on and off).
async fn versus(
    binary: &std::path::Path,
    model: &std::path::Path,
    items: &[Thread],
) -> Result<(), Box<dyn std::error::Error>> {
    let n = items.len();
    let mut rows = Vec::new();
    // A fresh server for each constraint: a server that has seen the
    // prompts serves them from its prompt cache (the second row once
    // evaluated 594 prompt tokens where the first evaluated 5336).
    {
        for (name, constraint) in [
            (
                "llama-server --parallel 8, response_format json_schema",
                Constraint::JsonSchema,
            ),
            (
                "llama-server --parallel 8, compact grammar",
                Constraint::Auto,
            ),
        ] {
            let server = LlamaServer::start(binary, model, "smollm2", 8).await?;
            let backend = Server::new(ServerConfig::default().constraint(constraint));
            let runtime = Runtime::builder()
                .backend(Router::served_only().with_server(backend.clone()))
                .served("smollm2-135m", vec![endpoint(&server.url)])
                .build();
            let requests = items
                .iter()
                .map(|t| Request::for_agent::<Summarise>(&runtime, t))
                .collect::<Result<Vec<_>, _>>()?;
            // One call first, so the server has loaded and warmed up.
            if let Some(first) = requests.first() {
                let _ = backend.generate(first.clone()).await;
            }
            rows.push((name, all_at_once(&backend, requests).await));
        }
    }
    for (name, ff, fa) in [
        ("agentkit in-process, batched, fast-forward on", true, false),
        (
            "agentkit in-process, batched, fast-forward off",
            false,
            false,
        ),
        (
            "agentkit in-process, batched, fast-forward on, flash attention on",
            true,
            true,
        ),
    ] {
        let config = LlamaConfig::default()
            .threads(2)
            .fast_forward(ff)
            .flash_attention(fa);
        let llama = Llama::new(config)?;
        let runtime = Runtime::builder().backend(llama.clone()).build();
        let requests = items
            .iter()
            .map(|t| Request::for_agent::<Summarise>(&runtime, t))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(first) = requests.first() {
            llama.preload(&first.model).await?;
        }
        rows.push((name, all_at_once(&llama, requests).await));
    }
    println!("\nversus: {n} Summarise requests at once, greedy, 2 threads each way");
    println!("| way | whole job | vs json_schema | tokens / valid answer | valid |");
    println!("|---|---|---|---|---|");
    let base = rows.first().map_or(1.0, |(_, j)| j.seconds);
    for (name, job) in &rows {
        job.print(name, n, base);
    }
    Ok(())
}
