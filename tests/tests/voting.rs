//! Voting: an agent with `samples = n` draws n answers, each with its own
//! seed, and returns the one given most often; a tie goes to the first.

mod common;

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{runtime_for, thread, Thread, Verdict};
use serde_json::json;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, samples = 3)]
struct Vote;

#[tokio::test]
async fn voting_returns_the_answer_given_most_often() {
    let a = json!({ "relevant": true, "reason": "about local models" });
    let b = json!({ "relevant": false, "reason": "about bread" });
    let script = ScriptedBackend::new()
        .reply::<Vote>(a.clone())
        .reply::<Vote>(b.clone())
        .reply::<Vote>(a.clone());
    let runtime = runtime_for(&script);

    let verdict = Vote.run(&runtime, thread()).await.unwrap();

    assert_eq!(serde_json::to_value(&verdict).unwrap(), a);
    let calls = script.calls();
    assert_eq!(calls.len(), 3, "three samples were drawn");
    let seeds: Vec<u32> = calls.iter().map(|c| c.sampling.seed).collect();
    assert_eq!(seeds, [42, 1042, 2042], "each sample has its own seed");
    assert!(calls.iter().all(|c| c.prompt == calls[0].prompt));

    // B, A, A: the majority wins even when it comes later.
    let script = ScriptedBackend::new()
        .reply::<Vote>(b.clone())
        .reply::<Vote>(a.clone())
        .reply::<Vote>(a.clone());
    let verdict = Vote.run(&runtime_for(&script), thread()).await.unwrap();
    assert_eq!(serde_json::to_value(&verdict).unwrap(), a);

    // Three different answers: a tie, which goes to the first one.
    let c = json!({ "relevant": true, "reason": "about GPUs" });
    let script = ScriptedBackend::new()
        .reply::<Vote>(b.clone())
        .reply::<Vote>(a.clone())
        .reply::<Vote>(c);
    let verdict = Vote.run(&runtime_for(&script), thread()).await.unwrap();
    assert_eq!(serde_json::to_value(&verdict).unwrap(), b);
}

#[tokio::test]
async fn voting_counts_answers_that_differ_only_in_layout_as_one() {
    // The same answer written three ways by a model that is free to choose
    // its whitespace and key order; the odd one out comes first.
    let script = ScriptedBackend::new()
        .reply_raw::<Vote>(r#"{"relevant": false, "reason": "about bread"}"#)
        .reply_raw::<Vote>(r#"{"relevant":true,"reason":"about local models"}"#)
        .reply_raw::<Vote>("{ \"reason\": \"about local models\",\n  \"relevant\": true }");
    let verdict = Vote.run(&runtime_for(&script), thread()).await.unwrap();
    assert_eq!(
        verdict,
        Verdict {
            relevant: true,
            reason: "about local models".into()
        }
    );
}
