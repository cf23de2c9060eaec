//! Streaming on the llama.cpp backend: token by token on the fixture model
//! (deltas, cancellation) and typed events on SmolLM2.

mod common;

use std::time::{Duration, Instant};

use agentkit::prelude::*;
use agentkit::stream::{Delta, Deltas, Event, StreamExt};
use agentkit::{Backend, Sampling};
use agentkit_backends::llama::{Llama, LlamaConfig};
use common::fixture_request;
use futures_util::FutureExt;

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Essay {
    #[schemars(length(min = 300, max = 320))]
    text: String,
}

fn essay() -> agentkit::backend::Request {
    let mut r = fixture_request(
        agentkit::output_schema::<Essay>(),
        Sampling::DEFAULT.with_max_tokens(440),
    );
    r.agent = "Essay";
    r
}

fn texts(deltas: &[Delta]) -> String {
    deltas
        .iter()
        .map(|d| match d {
            Delta::Text(t) => t.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn tokens_stream_one_by_one_and_add_up_to_the_completion() {
    let llama = Llama::new(LlamaConfig::default().threads(1).parallel(1)).unwrap();
    let (deltas, rx) = Deltas::channel();
    let streamed = llama.generate_streaming(essay(), deltas).await.unwrap();
    let sent: Vec<Delta> = rx.collect().await;
    assert_eq!(texts(&sent), streamed.text);
    // Token by token: a delta per generated token, except tokens whose text
    // is empty or ends inside a UTF-8 character (the random fixture writes
    // many byte tokens), which wait for the next.
    assert!(
        sent.len() * 2 >= streamed.generated_tokens && sent.len() > 100,
        "{} deltas for {} tokens",
        sent.len(),
        streamed.generated_tokens
    );
    // The same text as without streaming (the same engine, one at a time).
    let plain = llama.generate(essay()).await.unwrap();
    assert_eq!(plain.text, streamed.text);
}

#[tokio::test]
async fn dropping_a_streaming_call_stops_generation_at_the_next_token() {
    let llama = Llama::new(LlamaConfig::default().threads(1).parallel(1)).unwrap();
    let (deltas, mut rx) = Deltas::channel();
    let mut call = Box::pin(llama.generate_streaming(essay(), deltas));
    let mut before = 0;
    while before < 5 {
        tokio::select! {
            done = &mut call => panic!("finished before 5 tokens: {done:?}"),
            Some(_) = rx.next() => before += 1,
        }
    }
    // Drop the call (what dropping an agent's stream does), then take what
    // the engine had written by then: it runs ahead of this task.
    drop(call);
    let mut written = before;
    while let Some(Some(_)) = rx.next().now_or_never() {
        written += 1;
    }
    let dropped = Instant::now();
    while llama.active_generations() > 0 {
        assert!(dropped.elapsed() < Duration::from_secs(5), "still running");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // What the engine wrote after the drop is in the channel, which closed
    // when the engine let the request go.
    let mut after = 0;
    while let Some(Some(_)) = rx.next().now_or_never() {
        after += 1;
    }
    eprintln!("deltas: {written} by the drop, {after} after it (the essay needs ~250)");
    assert!(written < 200, "the essay was nearly done before the drop");
    assert!(after <= 1, "{after} tokens were written after the drop");
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
}

/// Answer with JSON.
#[agent(model = "fixture", temperature = 0.0, max_tokens = 340, input = Question, output = Essay)]
struct Long;

#[tokio::test]
async fn dropping_an_agent_s_stream_frees_the_engine_within_a_token() {
    let llama = Llama::new(LlamaConfig::default().threads(1).parallel(1)).unwrap();
    let runtime = Runtime::builder()
        .backend(llama.clone())
        .model("fixture", common::fixture_model())
        .build();
    let mut events = Long.stream(
        &runtime,
        Question {
            question: "anything".into(),
        },
    );
    let mut deltas = 0;
    while deltas < 5 {
        if let Event::Delta(_) = events.next().await.unwrap().unwrap() {
            deltas += 1;
        }
    }
    drop(events);
    let dropped = Instant::now();
    while llama.active_generations() > 0 {
        assert!(dropped.elapsed() < Duration::from_secs(5), "still running");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // The essay needs ~250 more tokens (seconds); the engine let go at once.
    let freed = dropped.elapsed();
    eprintln!("engine free {freed:?} after the drop");
    assert!(freed < Duration::from_millis(500), "{freed:?}");
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Post {
    title: String,
    body: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
struct Reply {
    /// a short, friendly, helpful reply to the post
    #[schemars(length(max = 300))]
    reply: String,
}

/// Write a short, friendly reply to this forum post that helps the poster.
/// Be concrete.
#[agent(model = "smollm2-135m", temperature = 0.3, repeat_penalty = 1.1, max_tokens = 160, input = Post, output = Reply)]
struct Draft;

#[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
struct Checklist {
    /// two to four things to try, in order
    #[schemars(length(min = 2, max = 4))]
    steps: Vec<Item>,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
struct Item {
    /// one short step
    #[schemars(length(max = 60))]
    step: String,
}

/// List the things the poster should try, as a short checklist.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 160, input = Post, output = Checklist)]
struct Steps;

fn post() -> Post {
    Post {
        title: "llama.cpp runs out of memory".into(),
        body: "My 8 GB laptop crashes loading a 7B model in f16. What can I do?".into(),
    }
}

/// One engine with one context reused call after call. A warm call (its
/// prompt already in the cache) can round differently from a cold one, where
/// the prompt was evaluated in bigger batches; so the tests compare a
/// streamed and a plain call that are both warm.
fn sequential_runtime() -> Runtime {
    let llama = Llama::new(LlamaConfig::default().threads(2).batching(false)).unwrap();
    Runtime::builder().backend(llama).build()
}

#[tokio::test]
async fn a_draft_streams_typed_partials_and_ends_as_the_plain_run_does() {
    let runtime = sequential_runtime();
    Draft.run(&runtime, post()).await.unwrap();
    let started = Instant::now();
    let mut events = Draft.stream(&runtime, post());
    let (mut text, mut partials, mut first_partial) = (String::new(), 0, None);
    let mut done = None;
    while let Some(event) = events.next().await {
        match event.unwrap() {
            Event::Delta(d) => text.push_str(&d),
            Event::Partial(p) => {
                let typed = p
                    .output
                    .unwrap_or_else(|| panic!("{} does not parse", p.value));
                if let Some(so_far) = p.value.get("reply").and_then(|r| r.as_str()) {
                    assert_eq!(typed.reply, so_far);
                    if !so_far.is_empty() && first_partial.is_none() {
                        first_partial = Some(started.elapsed());
                    }
                }
                partials += 1;
            }
            Event::Done(reply) => done = Some(reply),
            _ => {}
        }
    }
    let total = started.elapsed();
    let done = done.expect("a final value");
    eprintln!(
        "first words after {:?}, whole draft after {total:?}, {partials} partials: {:?}",
        first_partial, done.reply
    );
    assert!(partials > 5, "{partials} partials");
    let from_deltas: Reply = serde_json::from_str(&text).unwrap();
    assert_eq!(from_deltas, done);
    let plain = Draft.run(&runtime, post()).await.unwrap();
    assert_eq!(plain, done);
}

#[tokio::test]
async fn a_checklist_yields_each_step_as_it_is_finished() {
    let runtime = sequential_runtime();
    let mut events = Steps.stream(&runtime, post());
    let mut written = String::new();
    let mut elements = Vec::new();
    let mut done = None;
    while let Some(event) = events.next().await {
        match event.unwrap() {
            Event::Delta(d) => written.push_str(&d),
            Event::Element(e) if e.path == "/steps" => {
                elements.push((e.parse::<Item>().unwrap(), written.contains(']')));
            }
            Event::Done(list) => done = Some(list),
            _ => {}
        }
    }
    let done = done.unwrap();
    assert_eq!(elements.len(), done.steps.len());
    for ((item, _), want) in elements.iter().zip(&done.steps) {
        assert_eq!(item, want);
    }
    // Every step but the last arrives while the list is still open.
    assert!(elements[..elements.len() - 1]
        .iter()
        .all(|(_, closed)| !closed));
}
