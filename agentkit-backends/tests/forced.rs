//! Forced tokens (fast-forward) on the real default model (SmolLM2-135M):
//! what the grammar decides alone is written without a decode step each,
//! counted, streamed, bounded by `max_tokens`, and the answer stays valid.

mod common;

use agentkit::backend::{Backend, Request};
use agentkit::prelude::*;
use agentkit::stream::{Delta, Deltas, StreamExt};
use agentkit::Step;
use agentkit_backends::llama::{Llama, LlamaConfig};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Platform {
    Linux,
    Macos,
    Windows,
}

/// A software project: six fields whose keys the grammar writes.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Project {
    #[schemars(length(max = 20))]
    name: String,
    #[schemars(length(max = 12))]
    language: String,
    #[schemars(length(max = 20))]
    maintainer: String,
    stars: u32,
    archived: bool,
    platform: Platform,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Blurb {
    text: String,
}

/// Fill in the catalogue line of the project the blurb describes.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 96, input = Blurb, output = Project)]
struct Extract;

fn blurb() -> Blurb {
    Blurb {
        text:
            "quill 1.2.0 is a library written in Rust, maintained by Ana Ruiz; it runs on Linux, \
               has 340 stars and is actively developed."
                .into(),
    }
}

fn backend(fast_forward: bool) -> (Llama, Runtime) {
    let llama = Llama::new(
        LlamaConfig::default()
            .threads(2)
            .parallel(1)
            .fast_forward(fast_forward),
    )
    .unwrap();
    let runtime = Runtime::builder().backend(llama.clone()).build();
    (llama, runtime)
}

fn request(runtime: &Runtime) -> Request {
    Request::for_agent::<Extract>(runtime, &blurb()).unwrap()
}

#[tokio::test]
async fn forced_tokens_are_written_without_a_decode_step_each_and_the_answer_parses() {
    let (on, runtime) = backend(true);
    let c = on.generate(request(&runtime)).await.unwrap();
    let project: Project = serde_json::from_str(&c.text).unwrap();
    // Six keys, the braces, quotes, colons and commas, and the rest of an
    // enum value are the grammar's: a good share of the answer.
    assert!(
        c.forced_tokens * 4 >= c.generated_tokens,
        "{} of {} forced: {}",
        c.forced_tokens,
        c.generated_tokens,
        c.text
    );
    assert!(
        c.decode_steps + c.forced_tokens / 2 <= c.generated_tokens,
        "{} passes for {} tokens, {} forced",
        c.decode_steps,
        c.generated_tokens,
        c.forced_tokens
    );
    assert!(c.text.starts_with("{\"name\":\""), "{}", c.text);
    assert!(project.name.len() <= 20);

    let (off, runtime) = backend(false);
    let c = off.generate(request(&runtime)).await.unwrap();
    serde_json::from_str::<Project>(&c.text).unwrap();
    assert_eq!(c.forced_tokens, 0);
    // Off, every token but the last is fed in a pass of its own.
    assert!(
        c.decode_steps + 1 >= c.generated_tokens,
        "{} passes for {} tokens",
        c.decode_steps,
        c.generated_tokens
    );
}

#[tokio::test]
async fn forced_text_streams_and_adds_up_to_the_answer() {
    let (llama, runtime) = backend(true);
    let (deltas, rx) = Deltas::channel();
    let streamed = llama
        .generate_streaming(request(&runtime), deltas)
        .await
        .unwrap();
    let sent: Vec<Delta> = rx.collect().await;
    let text: String = sent
        .iter()
        .map(|d| match d {
            Delta::Text(t) => t.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(text, streamed.text);
    assert!(streamed.forced_tokens > 0);
    // The opening `{"name":"` is forced and sent as one piece.
    match sent.first() {
        Some(Delta::Text(first)) => assert!(first.starts_with("{\"name\""), "{first:?}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_forced_run_never_writes_past_max_tokens() {
    let (llama, runtime) = backend(true);
    let mut r = request(&runtime);
    r.sampling.max_tokens = 5;
    let err = llama.generate(r).await.unwrap_err();
    match err {
        Error::Truncated {
            max_tokens,
            partial,
            ..
        } => {
            assert_eq!(max_tokens, 5);
            assert!(partial.starts_with("{\"name\":\""), "{partial}");
        }
        other => panic!("expected Truncated, got {other}"),
    }
}

/// A report whose summary a small model wants to make long.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Report {
    #[schemars(length(max = 40))]
    title: String,
    /// the whole story, in detail
    #[schemars(length(max = 600))]
    summary: String,
    #[schemars(length(max = 3))]
    tags: Vec<String>,
    urgent: bool,
}

/// Write a detailed report on the blurb: a title, a long summary of every
/// detail, tags, and whether it is urgent.
#[agent(
    model = "smollm2-135m",
    temperature = 0.8,
    max_tokens = 24,
    close_at_budget = true,
    input = Blurb,
    output = Report
)]
struct Summarise;

#[tokio::test]
async fn answers_closed_at_their_budget_are_typed_valid_and_marked_cut_in_50_of_50_runs() {
    let llama = Llama::new(LlamaConfig::default().threads(2)).unwrap();
    let runtime = Runtime::builder().backend(llama.clone()).build();
    let requests = |close: bool| -> Vec<Request> {
        (0..50u32)
            .map(|seed| {
                let mut r = Request::for_agent::<Summarise>(&runtime, &blurb()).unwrap();
                r.sampling.seed = seed;
                r.sampling.close_at_budget = close;
                r
            })
            .collect()
    };
    let closed =
        futures_util::future::join_all(requests(true).into_iter().map(|r| llama.generate(r))).await;
    // Every run ends in a typed, schema-valid value: cut at the budget, or
    // finished by the model within it.
    let mut cut = 0;
    for (seed, c) in closed.iter().enumerate() {
        let c = c.as_ref().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(c.generated_tokens <= 24, "{}", c.generated_tokens);
        let report: Report = serde_json::from_str(&c.text)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}: {}", c.text));
        assert!(report.tags.len() <= 3);
        cut += usize::from(c.cut);
        if !c.cut {
            assert!(
                c.generated_tokens < 24,
                "seed {seed}: at the budget but not cut"
            );
        }
    }
    // Without it, the same requests run out.
    let open =
        futures_util::future::join_all(requests(false).into_iter().map(|r| llama.generate(r)))
            .await;
    let truncated = open
        .iter()
        .filter(|r| matches!(r, Err(Error::Truncated { .. })))
        .count();
    eprintln!("{cut} of 50 cut with close_at_budget, {truncated} of 50 truncated without");
    assert!(
        cut >= 45 && truncated >= 45,
        "{cut} of 50 cut with it, {truncated} of 50 truncated without"
    );
    // Through an agent, the runtime counts the cut answer.
    let report = Summarise.run(&runtime, blurb()).await.unwrap();
    assert!(report.title.len() <= 40);
    assert_eq!(runtime.usage().cut_answers, 1);
}

/// The same extraction with a budget below the shortest answer its type
/// allows (six keys alone take more than 8 tokens).
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 8, close_at_budget = true, input = Blurb, output = Project)]
struct Starved;

#[tokio::test]
async fn a_budget_below_the_shortest_answer_is_refused_at_pre_flight() {
    let (_, runtime) = backend(false);
    // Warnings (its unbounded input) aside: what stops it.
    let problems: Vec<_> = runtime
        .check_agent(&Starved)
        .await
        .into_iter()
        .filter(|p| !p.warning)
        .collect();
    let text = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(problems.len(), 1, "{text}");
    assert!(text.contains("max_tokens is 8"), "{text}");
    assert!(text.contains("raise max_tokens to at least"), "{text}");
    assert!(
        text.contains(r#"{"name":"""#),
        "the shortest answer is shown: {text}"
    );
    let before = runtime.usage().calls;
    let err = Starved.run(&runtime, blurb()).await.unwrap_err();
    assert!(err.to_string().contains("max_tokens is 8"), "{err}");
    assert_eq!(runtime.usage().calls, before, "no model call was made");
    // The agent it was cut from passes.
    assert!(runtime
        .check_agent(&Extract)
        .await
        .iter()
        .all(|p| p.warning));
}
