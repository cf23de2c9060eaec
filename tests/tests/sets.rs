//! Output types that hold sets (`BTreeSet`, `HashSet`), on the scripted
//! backend. Their schema says `uniqueItems`, which no decoding grammar can
//! enforce: the grammar lets the model repeat an item, and the set drops the
//! repeat when it is parsed. These tests pin that a repeat is never an error.

use std::collections::{BTreeSet, HashSet};

use agentkit::prelude::*;
use agentkit::{grammar_schema, output_schema, Prompt, Role};
use agentkit_test::ScriptedBackend;
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Thread {
    title: String,
    body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Labels {
    /// the topics the thread touches
    #[schemars(length(max = 4))]
    tags: BTreeSet<String>,
    #[schemars(length(max = 4))]
    ratings: HashSet<u8>,
}

/// Label the thread with its topics and rate it.
#[agent(model = "smollm2-135m", temperature = 0.0, input = Thread, output = Labels)]
struct Label;

fn thread() -> Thread {
    Thread {
        title: "llama.cpp on a Pi 5".into(),
        body: "Which quantisation keeps a 135M model fast?".into(),
    }
}

fn runtime(script: &ScriptedBackend) -> Runtime {
    Runtime::builder().backend(script.clone()).build()
}

#[tokio::test]
async fn an_agent_with_set_fields_yields_the_sets() {
    let script = ScriptedBackend::new().reply::<Label>(json!({
        "tags": ["quantisation", "hardware"],
        "ratings": [3, 5]
    }));
    let labels = Label.run(&runtime(&script), thread()).await.unwrap();
    assert_eq!(
        labels.tags,
        BTreeSet::from(["hardware".to_string(), "quantisation".to_string()])
    );
    assert_eq!(labels.ratings, HashSet::from([3, 5]));
    // The backend is handed the full schema, `uniqueItems` included.
    let sent = script.calls()[0].schema.full().clone();
    assert_eq!(sent, output_schema::<Labels>());
    assert_eq!(sent["properties"]["tags"]["uniqueItems"], true);
    assert_eq!(sent["properties"]["ratings"]["uniqueItems"], true);
}

#[tokio::test]
async fn a_repeated_item_the_grammar_allows_is_dropped_not_an_error() {
    // The grammar cannot forbid a repeat, so a real model may write one;
    // serde builds the set by inserting each item and keeps one of each.
    let script = ScriptedBackend::new().reply::<Label>(json!({
        "tags": ["hardware", "hardware", "speed"],
        "ratings": [4, 4, 4]
    }));
    let labels = Label.run(&runtime(&script), thread()).await.unwrap();
    assert_eq!(
        labels.tags,
        BTreeSet::from(["hardware".to_string(), "speed".to_string()])
    );
    assert_eq!(labels.ratings, HashSet::from([4]));
}

#[tokio::test]
async fn what_the_grammar_forbids_is_still_refused() {
    // Dropping `uniqueItems` loosens nothing else: a number out of `u8`'s
    // range or a fifth tag is no more acceptable than before.
    for reply in [
        json!({ "tags": ["a"], "ratings": [256] }),
        json!({ "tags": ["a", "b", "c", "d", "e"], "ratings": [] }),
        json!({ "tags": "a", "ratings": [] }),
    ] {
        let script = ScriptedBackend::new().reply::<Label>(reply.clone());
        let err = Label.run(&runtime(&script), thread()).await.unwrap_err();
        assert!(
            matches!(err, Error::SchemaMismatch { .. }),
            "{reply}: {err:?}"
        );
    }
}

#[test]
fn only_unique_items_is_left_out_of_the_grammar() {
    let full = output_schema::<Labels>();
    let grammar = grammar_schema(&full);
    for field in ["tags", "ratings"] {
        assert!(
            grammar["properties"][field].get("uniqueItems").is_none(),
            "{grammar}"
        );
        assert_eq!(grammar["properties"][field]["maxItems"], 4, "{grammar}");
    }
    assert_eq!(grammar["properties"]["ratings"]["items"]["maximum"], 255);
}

#[test]
fn the_prompt_asks_for_no_duplicates() {
    let prompt = Prompt::render::<Label>(&thread()).unwrap();
    let system = prompt.message(Role::System).unwrap();
    assert!(
        system.contains(
            r#""tags": string[] (at most 4 items), // the topics the thread touches (no duplicates)"#
        ),
        "{system}"
    );
    assert!(
        system.contains(r#""ratings": (integer 0..=255)[] (at most 4 items) // (no duplicates)"#),
        "{system}"
    );
}
