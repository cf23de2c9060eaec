//! Tracing: every agent step gets an `agent` span with its name, model and
//! token counts, checked with a capturing subscriber.
//!
//! This is its own test binary, with a single test, on purpose. `tracing`
//! caches per call site whether any subscriber is interested in it; a test
//! on another thread that reaches a call site while this test is installing
//! its (thread-local) subscriber can cache "nobody is interested" for good,
//! and this test then sees no spans. With no other test in the process there
//! is no such race. (`common` adds no tests.)

mod common;

use std::convert::Infallible;

use agentkit::prelude::*;
use agentkit::tool;
use agentkit_test::ScriptedBackend;
use common::{thread, Headline, Summarise, Tag, Tags};
use serde_json::json;

// `Title` here retries once on an empty headline, unlike `common`'s, so that
// one span records a retry.

fn not_empty(h: &Headline) -> Result<(), String> {
    if h.headline.is_empty() {
        Err("the headline is empty".into())
    } else {
        Ok(())
    }
}

/// Write a headline from the tags.
#[agent(model = "smollm2-135m", input = Tags, output = Headline, retries = 1, validate = not_empty)]
struct Title;

use common::capture;

use capture::field;

#[test]
fn every_agent_step_gets_a_span_with_its_name_model_and_tokens() {
    let summary = json!({ "text": "Someone asks how to quantise SmolLM2 for a Pi." });
    let tags = json!({ "tags": ["quantisation", "raspberry pi"] });
    let empty = json!({ "headline": "" });
    let headline = json!({ "headline": "Quantising small models for the Pi" });
    let script = ScriptedBackend::new()
        .reply::<Summarise>(summary.clone())
        .reply::<Tag>(tags.clone())
        .reply::<Title>(empty.clone())
        .reply::<Title>(headline.clone());
    let agents = Runtime::builder().backend(script.clone()).build();
    let pipeline = Summarise
        .then(Tag)
        .then(Title)
        .then(tool("shout", |h: Headline| async move {
            Ok::<_, Infallible>(h.headline.to_uppercase())
        }));

    let (out, closed) = capture::run_captured(pipeline.run(&agents, thread()));
    assert_eq!(out.unwrap(), "QUANTISING SMALL MODELS FOR THE PI");

    let spans: Vec<&capture::ClosedSpan> = closed.iter().filter(|s| s.name == "agent").collect();
    let names: Vec<&str> = spans.iter().map(|s| field(s, "agent")).collect();
    assert_eq!(
        names,
        ["Summarise", "Tag", "Title"],
        "one span per agent step"
    );

    // The scripted backend counts the whitespace-separated words of a reply
    // as its generated tokens, and reports no prompt tokens.
    let words = |v: &serde_json::Value| v.to_string().split_whitespace().count();
    let expected_tokens = [
        words(&summary),
        words(&tags),
        words(&empty) + words(&headline),
    ];
    let expected_retries = ["0", "0", "1"];
    for ((span, tokens), retries) in spans.iter().zip(expected_tokens).zip(expected_retries) {
        let name = field(span, "agent");
        assert_eq!(field(span, "model"), "smollm2-135m", "{name}");
        assert_eq!(field(span, "prompt_tokens"), "0", "{name}");
        let generated: usize = field(span, "generated_tokens").parse().unwrap();
        assert!(generated > 0, "{name}: {span:?}");
        assert_eq!(generated, tokens, "{name}: every attempt's tokens count");
        assert_eq!(field(span, "retries"), retries, "{name}");
        field(span, "elapsed_ms").parse::<u64>().unwrap();
    }

    // The tool step has a span of its own.
    let tools: Vec<&str> = closed
        .iter()
        .filter(|s| s.name == "tool")
        .map(|s| field(s, "tool"))
        .collect();
    assert_eq!(tools, ["shout"]);
}
