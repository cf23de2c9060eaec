//! A `with_input` pipeline (the next agent takes a tuple holding the
//! previous step's input and output) scripted by input, eight items at a
//! time: every way of tying a reply to an input (`reply_when`, `reply_for`,
//! `always_when`, `always_for`) reaches the tuple it was written for, however
//! the concurrent calls arrive.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{runtime_for, thread_titled, Score, Summary, Thread, Verdict};
use serde_json::{json, Value};

/// Draft a reply to the thread, given the verdict on it.
#[agent(model = "smollm2-135m", input = (Thread, Verdict), output = Summary)]
struct Respond;

const ITEMS: usize = 8;

fn titles() -> Vec<String> {
    (0..ITEMS).map(|i| format!("t{i}")).collect()
}

fn verdict_on(title: &str) -> Verdict {
    Verdict {
        relevant: true,
        reason: format!("about {title}"),
    }
}

fn reply_to(title: &str) -> Value {
    json!({ "text": format!("reply to {title}") })
}

/// Per thread (`t0` held up longest, so the calls arrive last item first):
/// score it, then respond to `(thread, verdict)`; eight at a time.
fn pipeline() -> impl Step<Vec<Thread>, Output = Vec<Summary>> {
    let hold_up = tool("hold up", |thread: Thread| async move {
        let i: u64 = thread.title[1..].parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(10 * (ITEMS as u64 - i))).await;
        Ok::<_, Infallible>(thread)
    });
    each(hold_up.then(with_input(Score).then(Respond))).concurrency(ITEMS)
}

fn threads() -> Vec<Thread> {
    titles().iter().map(|t| thread_titled(t)).collect()
}

/// The titles of the threads `Respond` was called on, in call order.
fn responded_to(script: &ScriptedBackend) -> Vec<String> {
    script
        .calls_for::<Respond>()
        .iter()
        .map(|r| r.input[0]["title"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn texts(replies: &[Summary]) -> Vec<String> {
    replies.iter().map(|r| r.text.clone()).collect()
}

fn expected_texts() -> Vec<String> {
    titles().iter().map(|t| format!("reply to {t}")).collect()
}

fn reversed_titles() -> Vec<String> {
    titles().into_iter().rev().collect()
}

/// A script with replies for every item, each tied by `tie` (given the
/// item's index, title and the verdict `Score` gives it).
fn script_each(
    tie: impl Fn(ScriptedBackend, usize, String, Verdict) -> ScriptedBackend,
) -> ScriptedBackend {
    titles()
        .into_iter()
        .enumerate()
        .fold(ScriptedBackend::new(), |script, (i, title)| {
            tie(script, i, title.clone(), verdict_on(&title))
        })
}

#[tokio::test(start_paused = true)]
async fn once_replies_tied_to_tuples_reach_their_items_under_concurrency() {
    let script = script_each(|script, i, title, verdict| {
        let score = serde_json::to_value(&verdict).unwrap();
        let wanted = title.clone();
        let script = script.reply_when::<Score>(move |t| t.title == wanted, score);
        // Half by the exact tuple, half by a predicate on it.
        if i % 2 == 0 {
            script.reply_for::<Respond>(&(thread_titled(&title), verdict), reply_to(&title))
        } else {
            let wanted = title.clone();
            script.reply_when::<Respond>(
                move |(thread, verdict)| {
                    thread.title == wanted && verdict.reason == format!("about {wanted}")
                },
                reply_to(&title),
            )
        }
    });
    let runtime = runtime_for(&script);

    let replies = pipeline().run(&runtime, threads()).await.unwrap();

    assert_eq!(
        responded_to(&script),
        reversed_titles(),
        "calls arrived reversed"
    );
    assert_eq!(texts(&replies), expected_texts());
    assert_eq!(script.pending(), 0, "each tied reply was used once");
    assert_eq!(runtime.usage().calls, 2 * ITEMS as u64);
}

#[tokio::test(start_paused = true)]
async fn always_replies_tied_to_tuples_answer_every_run_under_concurrency() {
    let script = script_each(|script, i, title, verdict| {
        let score = serde_json::to_value(&verdict).unwrap();
        let script = script.always_for::<Score>(&thread_titled(&title), score);
        if i % 2 == 0 {
            script.always_for::<Respond>(&(thread_titled(&title), verdict), reply_to(&title))
        } else {
            let wanted = title.clone();
            script
                .always_when::<Respond>(move |(thread, _)| thread.title == wanted, reply_to(&title))
        }
    });
    let runtime = runtime_for(&script);

    for _ in 0..2 {
        let replies = pipeline().run(&runtime, threads()).await.unwrap();
        assert_eq!(texts(&replies), expected_texts());
    }
    let twice = [reversed_titles(), reversed_titles()].concat();
    assert_eq!(responded_to(&script), twice, "calls arrived reversed");
    assert_eq!(runtime.usage().calls, 4 * ITEMS as u64);
}

// Serialized without a field it needs to deserialize, so a tuple holding it
// does not decode back for a predicate.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Sealed {
    title: String,
    #[serde(skip_serializing)]
    key: String,
}

/// Draft a reply to the thread, given the sealed note on it.
#[agent(model = "smollm2-135m", input = (Thread, Sealed), output = Summary)]
struct RespondSealed;

fn sealed_input() -> (Thread, Sealed) {
    let sealed = Sealed {
        title: "t0".into(),
        key: "open".into(),
    };
    (thread_titled("t0"), sealed)
}

// The error names the method that was used and its counterpart that works,
// and that counterpart answers the same tuple.
#[tokio::test]
async fn a_tuple_a_predicate_cannot_decode_points_at_the_matching_for_method() {
    let script = ScriptedBackend::new()
        .always_when::<RespondSealed>(|(_, s)| s.key == "open", reply_to("t0"));
    let err = RespondSealed
        .run(&runtime_for(&script), sealed_input())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("`always_when` cannot read it back as `(")
            && message.contains("missing field `key`")
            && message.contains("`.always_for::<RespondSealed>(&input, json!(...))`"),
        "{message}"
    );

    let script =
        ScriptedBackend::new().always_for::<RespondSealed>(&sealed_input(), reply_to("t0"));
    let runtime = runtime_for(&script);
    for _ in 0..2 {
        let reply = RespondSealed.run(&runtime, sealed_input()).await.unwrap();
        assert_eq!(reply.text, "reply to t0");
    }
}
