//! Forced tokens, measured: the tokens an output's grammar decides alone,
//! written without sampling (fast-forward, `LlamaConfig::fast_forward`)
//! against one decode step each, side by side in one run, on three jobs:
//!
//! - `summarise`: the batching benchmark's agent (`Gist`: a topic and the
//!   question in a few words) over 32 forum threads, all submitted at once;
//! - `draft`: the flagship's `Draft` over the test split's relevant threads,
//!   all at once, greedy (temperature 0) so outputs can be compared;
//! - `extract`: a struct of ten fields extracted from 32 short project
//!   blurbs, all at once: where decoding dominates.
//!
//! Each job runs with fast-forward off, then on, then off and on again, each
//! on a fresh backend (no cache kept between runs), after the model is
//! loaded. Prints per job and setting: decode steps per answer, the forced
//! share of the generated tokens, the whole-job time (the better of two
//! rounds), and how many outputs equal the run without fast-forward.
//! `--unified` adds fast-forward with one shared KV cache as a third setting;
//! `--passes` prints each setting's passes over the weights.
//!
//! `cargo run --release -p agentkit-examples --example forced [-- --jobs extract]`

use std::sync::LazyLock;
use std::time::Instant;

use agentkit::backend::{Backend, Completion, Request};
use agentkit::prelude::*;
use agentkit_backends::llama::{Llama, LlamaConfig};
use agentkit_examples::forum::{self, Draft, Split};
use agentkit_examples::gist::{Gist, Summarise};
use agentkit_examples::steps::{self, Steps};
use clap::Parser;
use futures_util::future::join_all;

/// Fast-forward of forced tokens against one decode step per token, on
/// SmolLM2-135M (AGENTKIT_THREADS threads, 2 when unset).
#[derive(Parser)]
struct Args {
    /// The jobs to measure.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "summarise,draft,extract"
    )]
    jobs: Vec<Job>,

    /// Send the requests one at a time instead of all at once.
    #[arg(long)]
    one_at_a_time: bool,

    /// Also measure fast-forward with one KV cache shared by all sequences
    /// (`LlamaConfig::unified_kv(true)`), where a forced run rides in the
    /// same pass as the other sequences' decode steps.
    #[arg(long)]
    unified: bool,

    /// Also print each row's passes over the weights: prompt and forced-run
    /// feeds against decode steps, with their time inside llama.cpp.
    #[arg(long)]
    passes: bool,
}

/// The engine's passes of the run in progress.
static STEPS: LazyLock<Steps> = LazyLock::new(Steps::install);

#[derive(Clone, Copy, PartialEq, Debug, clap::ValueEnum)]
enum Job {
    Summarise,
    Draft,
    Extract,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Platform {
    Linux,
    Macos,
    Windows,
    Web,
    Any,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Library,
    CommandLineTool,
    DesktopApp,
    Service,
}

/// A software project, as one line of a catalogue.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Project {
    #[schemars(length(max = 24))]
    name: String,
    #[schemars(length(max = 12))]
    version: String,
    #[schemars(length(max = 16))]
    license: String,
    #[schemars(length(max = 12))]
    language: String,
    #[schemars(length(max = 24))]
    maintainer: String,
    stars: u32,
    since_year: u16,
    archived: bool,
    platform: Platform,
    kind: Kind,
}

/// A short blurb about a software project.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Blurb {
    text: String,
}

/// Fill in the catalogue line of the project the blurb describes.
#[agent(
    model = "smollm2-135m",
    temperature = 0.0,
    max_tokens = 160,
    input = Blurb,
    output = Project
)]
struct Extract;

/// 32 blurbs, each naming all ten fields, with the fields they name.
fn blurbs() -> Vec<(Blurb, serde_json::Value)> {
    let names = [
        "quill", "tarn", "lumen", "brook", "sable", "fjord", "cobalt", "wren",
    ];
    let langs = ["Rust", "Go", "Python", "C++"];
    let licenses = ["MIT", "Apache-2.0", "GPL-3.0", "BSD-3-Clause"];
    let kinds = [
        ("library", "library"),
        ("command-line tool", "command_line_tool"),
        ("desktop app", "desktop_app"),
        ("web service", "service"),
    ];
    let platforms = [
        ("Linux", "linux"),
        ("macOS", "macos"),
        ("Windows", "windows"),
        ("any platform", "any"),
    ];
    let people = ["Ana Ruiz", "Tom Berg", "Li Wei", "Sam Okafor"];
    (0..32)
        .map(|i| {
            let (name, version) = (names[i % 8], format!("{}.{}.0", i % 4, i % 7));
            let (kind, kind_id) = kinds[i % 4];
            let (lang, license, who) = (langs[(i / 2) % 4], licenses[(i / 3) % 4], people[(i / 4) % 4]);
            let (year, stars, archived) = (2012 + i % 12, 40 + 37 * i, i % 5 == 0);
            let (platform, platform_id) = platforms[(i / 5) % 4];
            let state = if archived { "archived" } else { "actively developed" };
            let text = format!(
                "{name} {version} is a {kind} written in {lang} under the {license} license, \
                 maintained by {who} since {year}; it runs on {platform}, has {stars} stars and is {state}."
            );
            let truth = serde_json::json!({
                "name": name, "version": version, "license": license, "language": lang,
                "maintainer": who, "stars": stars, "since_year": year, "archived": archived,
                "platform": platform_id, "kind": kind_id,
            });
            (Blurb { text }, truth)
        })
        .collect()
}

/// How many fields of `text` equal the truth (strings compared without case).
fn fields_right(text: &str, truth: &serde_json::Value) -> usize {
    let Ok(got) = serde_json::from_str::<serde_json::Value>(text) else {
        return 0;
    };
    let norm = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => serde_json::Value::String(s.to_lowercase()),
        other => other.clone(),
    };
    truth.as_object().map_or(0, |t| {
        t.iter()
            .filter(|(k, v)| got.get(k.as_str()).map(norm) == Some(norm(v)))
            .count()
    })
}

/// What one run of a job measured.
struct Run {
    seconds: f64,
    texts: Vec<Option<String>>,
    steps: usize,
    forced: usize,
    generated: usize,
    valid: usize,
    /// The engine's passes during the job, summed up.
    passes: String,
}

/// The job's requests on `runtime`.
fn requests(job: Job, runtime: &Runtime) -> Result<Vec<Request>, Error> {
    match job {
        Job::Summarise => forum::load(Split::All)?
            .iter()
            .take(32)
            .map(|t| Request::for_agent::<Summarise>(runtime, &t.thread()))
            .collect(),
        Job::Draft => forum::load(Split::Test)?
            .iter()
            .filter(|t| t.relevant)
            .map(|t| {
                let mut r = Request::for_agent::<Draft>(runtime, &t.thread())?;
                r.sampling.temperature = 0.0;
                Ok(r)
            })
            .collect(),
        Job::Extract => blurbs()
            .iter()
            .map(|(b, _)| Request::for_agent::<Extract>(runtime, b))
            .collect(),
    }
}

/// Whether `text` parses as the job's output type.
fn valid(job: Job, text: &str) -> bool {
    match job {
        Job::Summarise => serde_json::from_str::<Gist>(text).is_ok(),
        Job::Draft => serde_json::from_str::<forum::Reply>(text).is_ok(),
        Job::Extract => serde_json::from_str::<Project>(text).is_ok(),
    }
}

/// One run of `job` on a fresh backend, all requests at once (or one at a
/// time).
async fn run(
    job: Job,
    (fast_forward, unified): (bool, bool),
    one_at_a_time: bool,
) -> Result<Run, Error> {
    let threads = agentkit_examples::threads().unwrap_or(2);
    let llama = Llama::new(
        LlamaConfig::default()
            .threads(threads)
            .fast_forward(fast_forward)
            .unified_kv(unified),
    )?;
    // `Draft` names the flagship's `draft` alias.
    let runtime = Runtime::builder()
        .backend(llama.clone())
        .alias("draft", "smollm2-135m")
        .build();
    let requests = requests(job, &runtime)?;
    if let Some(first) = requests.first() {
        llama.preload(&first.model).await?;
    }
    STEPS.take();
    let started = Instant::now();
    let results: Vec<Result<Completion, Error>> = if one_at_a_time {
        let mut out = Vec::new();
        for r in requests {
            out.push(llama.generate(r).await);
        }
        out
    } else {
        join_all(requests.into_iter().map(|r| llama.generate(r))).await
    };
    let seconds = started.elapsed().as_secs_f64();
    let mut out = Run {
        passes: steps::summarize(&STEPS.take()),
        seconds,
        texts: Vec::new(),
        steps: 0,
        forced: 0,
        generated: 0,
        valid: 0,
    };
    for r in results {
        match r {
            Ok(c) => {
                out.steps += c.decode_steps;
                out.forced += c.forced_tokens;
                out.generated += c.generated_tokens;
                out.valid += usize::from(valid(job, &c.text));
                out.texts.push(Some(c.text));
            }
            Err(e) => {
                eprintln!("{job:?}: {e}");
                out.texts.push(None);
            }
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    println!(
        "Forced tokens: SmolLM2-135M-Instruct Q4_1, {} llama.cpp threads, batching engine defaults \
         (8 sequences at once); whole-job time is the better of two rounds\n",
        agentkit_examples::threads().unwrap_or(2)
    );
    let how = if args.one_at_a_time {
        "one at a time"
    } else {
        "all at once"
    };
    println!("| job ({how}) | answers | fast-forward | decode steps / answer | forced share | tokens / answer | job time | speed-up | same output as off | valid | fields right |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for job in args.jobs {
        // (fast-forward, one shared KV cache) of each row.
        let mut ways = vec![("off", (false, false)), ("on", (true, false))];
        if args.unified {
            ways.push(("on, unified", (true, true)));
        }
        let mut best: Vec<Option<Run>> = ways.iter().map(|_| None).collect();
        for _round in 0..2 {
            for (i, (_, way)) in ways.iter().enumerate() {
                let r = run(job, *way, args.one_at_a_time).await?;
                if best[i].as_ref().is_none_or(|b| r.seconds < b.seconds) {
                    best[i] = Some(r);
                }
            }
        }
        let Some(Some(off)) = best.first() else {
            continue;
        };
        let Some(Some(on)) = best.get(1) else {
            continue;
        };
        for ((name, _), r) in ways.iter().zip(&best) {
            let Some(r) = r else {
                continue;
            };
            let n = r.texts.len().max(1) as f64;
            let same = r
                .texts
                .iter()
                .zip(&off.texts)
                .filter(|(a, b)| a.is_some() && a == b)
                .count();
            let right: String = if job == Job::Extract {
                let truth = blurbs();
                let n: usize = r
                    .texts
                    .iter()
                    .zip(&truth)
                    .map(|(t, (_, want))| t.as_deref().map_or(0, |t| fields_right(t, want)))
                    .sum();
                format!("{n}/{}", 10 * truth.len())
            } else {
                "—".into()
            };
            println!(
                "| {job:?} | {} | {name} | {:.1} | {:.0}% | {:.1} | {:.2} s | {:.2}x | {same}/{} | {}/{} | {right} |",
                r.texts.len(),
                r.steps as f64 / n,
                100.0 * r.forced as f64 / r.generated.max(1) as f64,
                r.generated as f64 / n,
                r.seconds,
                off.seconds / r.seconds,
                r.texts.len(),
                r.valid,
                r.texts.len()
            );
        }
        if args.passes {
            for ((name, _), r) in ways.iter().zip(&best) {
                if let Some(r) = r {
                    println!("  passes, fast-forward {name}: {}", r.passes);
                }
            }
        }
        let differing = off.texts.iter().zip(&on.texts).enumerate();
        for (i, (a, b)) in differing.filter(|(_, (a, b))| a != b).take(3) {
            {
                println!("  differs at {i}:\n    off: {a:?}\n    on:  {b:?}");
            }
        }
    }
    Ok(())
}
