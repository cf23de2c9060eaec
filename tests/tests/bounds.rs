//! Bounds the grammar enforces are also shown to the model: a numeric range,
//! a string's length and a list's size appear in the prompt's picture of the
//! output, in words a small model can follow, and the scripted backend (like
//! a constrained one) refuses a reply outside them.

mod common;

use agentkit::prelude::*;
use agentkit::{describe_schema, output_schema, Prompt, Role};
use agentkit_test::ScriptedBackend;
use common::{runtime_for, thread, Thread};
use serde_json::json;

// A review of a thread, bounded everywhere a reviewer would bound it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Rating {
    /// 1 is off topic, 5 is exactly on topic
    #[schemars(range(min = 1, max = 5))]
    stars: u8,
    #[schemars(range(min = 0.0, max = 1.0))]
    confidence: f64,
    #[schemars(length(max = 80))]
    summary: String,
    #[schemars(length(min = 1, max = 3))]
    tags: Vec<String>,
    // Bounds that come from the Rust types alone.
    small: i8,
    words: u32,
    offset: i64,
    initial: char,
    second_opinion: Option<u8>,
    pair: (u8, String),
}

/// Rate how well the thread fits the forum.
#[agent(model = "smollm2-135m", input = Thread, output = Rating)]
struct Rate;

const SHAPE: &str = r#"{
  "stars": integer 1..=5, // 1 is off topic, 5 is exactly on topic
  "confidence": number 0.0..=1.0,
  "summary": string (at most 80 chars),
  "tags": string[] (1 to 3 items),
  "small": integer -128..=127,
  "words": integer >= 0,
  "offset": integer,
  "initial": string (exactly 1 char),
  "second_opinion"?: integer 0..=255 | null,
  "pair": [integer 0..=255, string]
}"#;

#[test]
fn the_prompt_shows_every_bound_of_the_output() {
    assert_eq!(describe_schema(&output_schema::<Rating>()), SHAPE);
    let prompt = Prompt::render::<Rate>(&thread()).expect("render");
    let system = prompt.message(Role::System).expect("a system message");
    assert!(system.ends_with(SHAPE), "{system}");
}

#[tokio::test]
async fn a_reply_outside_the_bounds_is_refused_as_a_constrained_model_could_not_write_it() {
    let reply = |stars: u8| {
        json!({
            "stars": stars, "confidence": 0.9, "summary": "on topic", "tags": ["local"],
            "small": 0, "words": 3, "offset": -2, "initial": "L", "pair": [1, "x"]
        })
    };
    let script = ScriptedBackend::new()
        .reply::<Rate>(reply(4))
        .reply::<Rate>(reply(6));
    let runtime = runtime_for(&script);

    let rating = Rate.run(&runtime, thread()).await.expect("4 is in 1..=5");
    assert_eq!(rating.stars, 4);
    let err = Rate.run(&runtime, thread()).await.unwrap_err();
    match err {
        Error::SchemaMismatch { reason, .. } => assert!(reason.contains("stars"), "{reason}"),
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
}
