//! Scripted replies tied to inputs: `reply_when` (a predicate on the typed
//! input) and `reply_for` (the input itself) reach the call they were written
//! for in whatever order concurrent calls arrive, `always_` replies answer
//! every call that fits, and a call nothing fits fails with an error that
//! shows its input.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use agentkit::prelude::*;
use agentkit::ErrorKind;
use agentkit_test::ScriptedBackend;
use common::{runtime_for, sent_input, thread_titled, Score, Summary, Thread, Verdict};
use serde_json::{json, Value};

/// `Score` on every thread, two at a time, the thread titled "first" held up
/// before its call: the calls reach the backend as "second", then "first".
fn reversed_pipeline<S, O>(agent: S) -> impl Step<Vec<&'static str>, Output = Vec<O>>
where
    S: Step<Thread, Output = O> + 'static,
    O: Send + 'static,
{
    let threads = tool("threads", |titles: Vec<&'static str>| async move {
        Ok::<_, Infallible>(titles.into_iter().map(thread_titled).collect::<Vec<_>>())
    });
    let hold_up_first = tool("hold up first", |thread: Thread| async move {
        if thread.title == "first" {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok::<_, Infallible>(thread)
    });
    threads.each(hold_up_first.then(agent)).concurrency(2)
}

fn reason_about(title: &str) -> serde_json::Value {
    json!({ "relevant": true, "reason": format!("about {title}") })
}

fn reasons(verdicts: &[Verdict]) -> Vec<&str> {
    verdicts.iter().map(|v| v.reason.as_str()).collect()
}

/// What the scripted backend said: the message of the backend error it
/// fails a call with.
fn script_message(err: &Error) -> &str {
    match err {
        Error::Backend { error, .. } => error.message(),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

fn sent_titles(script: &ScriptedBackend) -> Vec<String> {
    script
        .calls()
        .iter()
        .map(|r| sent_input(r)["title"].as_str().unwrap().to_string())
        .collect()
}

// Why tied replies exist: queued replies go to calls in arrival order, so the
// held-up item gets the reply written for the other one.
#[tokio::test(start_paused = true)]
async fn queued_replies_follow_arrival_order_so_reordered_items_swap_them() {
    let script = ScriptedBackend::new()
        .reply::<Score>(reason_about("first"))
        .reply::<Score>(reason_about("second"));
    let verdicts = reversed_pipeline(Score)
        .run(&runtime_for(&script), vec!["first", "second"])
        .await
        .expect("runs");

    assert_eq!(
        sent_titles(&script),
        ["second", "first"],
        "calls arrived reversed"
    );
    assert_eq!(reasons(&verdicts), ["about second", "about first"]);
}

#[tokio::test(start_paused = true)]
async fn replies_tied_by_a_predicate_reach_their_items_when_calls_arrive_reversed() {
    let script = ScriptedBackend::new()
        .reply_when::<Score>(|t| t.title == "first", reason_about("first"))
        .reply_when::<Score>(|t| t.title == "second", reason_about("second"));
    let verdicts = reversed_pipeline(Score)
        .run(&runtime_for(&script), vec!["first", "second"])
        .await
        .expect("runs");

    assert_eq!(
        sent_titles(&script),
        ["second", "first"],
        "calls arrived reversed"
    );
    assert_eq!(reasons(&verdicts), ["about first", "about second"]);
    assert_eq!(script.pending(), 0, "each tied reply was used once");
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, input_format = "labelled")]
struct LabelledScore;

// `reply_for` compares the input the request carries, so the input format
// the prompt shows it in does not matter.
#[tokio::test(start_paused = true)]
async fn replies_tied_to_an_input_reach_it_in_any_order_and_any_format() {
    let script = ScriptedBackend::new()
        .reply_for::<LabelledScore>(&thread_titled("first"), reason_about("first"))
        .reply_for::<LabelledScore>(&thread_titled("second"), reason_about("second"));
    let verdicts = reversed_pipeline(LabelledScore)
        .run(&runtime_for(&script), vec!["first", "second"])
        .await
        .expect("runs");

    let order: Vec<bool> = script
        .calls()
        .iter()
        .map(|r| r.prompt.to_string().contains("Title: second"))
        .collect();
    assert_eq!(order, [true, false], "calls arrived reversed");
    assert_eq!(reasons(&verdicts), ["about first", "about second"]);
    assert_eq!(script.pending(), 0);
}

#[tokio::test]
async fn tied_replies_come_before_queued_ones_and_the_queue_takes_the_rest() {
    let script = ScriptedBackend::new()
        .reply::<Score>(reason_about("anything"))
        .reply_when::<Score>(|t| t.title == "special", reason_about("special"));
    let runtime = runtime_for(&script);

    let special = Score.run(&runtime, thread_titled("special")).await.unwrap();
    let other = Score.run(&runtime, thread_titled("other")).await.unwrap();

    assert_eq!(special.reason, "about special");
    assert_eq!(other.reason, "about anything");
    assert_eq!(script.pending(), 0);
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, samples = 3)]
struct Voted;

#[tokio::test]
async fn an_always_reply_answers_every_call_that_fits() {
    let script = ScriptedBackend::new()
        .always_when::<Voted>(|t| t.title == "first", reason_about("first"))
        .always_for::<Voted>(&thread_titled("second"), reason_about("second"));
    let runtime = runtime_for(&script);

    for _ in 0..2 {
        let first = Voted.run(&runtime, thread_titled("first")).await.unwrap();
        let second = Voted.run(&runtime, thread_titled("second")).await.unwrap();
        assert_eq!(first.reason, "about first");
        assert_eq!(second.reason, "about second");
    }
    assert_eq!(
        script.calls().len(),
        12,
        "two runs of two inputs, three samples each"
    );
    assert_eq!(script.pending(), 0, "an always reply is never pending");
}

/// Draft a reply to the thread, given the verdict on it.
#[agent(model = "smollm2-135m", input = (Thread, Verdict), output = Summary)]
struct Respond;

// A tuple input is shown in the prompt as an object keyed by type name, which
// does not decode back into the tuple: a predicate must see the input the
// agent was given (the request's JSON), not the prompt. This is the
// `with_input` pattern the book teaches.
#[tokio::test(start_paused = true)]
async fn replies_tied_by_a_predicate_reach_an_agent_whose_input_is_a_tuple() {
    let script = ScriptedBackend::new()
        .reply_when::<Score>(|t| t.title == "first", reason_about("first"))
        .reply_when::<Score>(|t| t.title == "second", reason_about("second"))
        .reply_when::<Respond>(
            |(thread, verdict)| thread.title == "first" && verdict.reason == "about first",
            json!({ "text": "reply to first" }),
        )
        .reply_when::<Respond>(
            |(thread, verdict)| thread.title == "second" && verdict.reason == "about second",
            json!({ "text": "reply to second" }),
        );
    let replies = reversed_pipeline(with_input(Score).then(Respond))
        .run(&runtime_for(&script), vec!["first", "second"])
        .await
        .expect("runs");

    let scored: Vec<Value> = script.calls_for::<Score>().iter().map(sent_input).collect();
    assert_eq!(
        [&scored[0]["title"], &scored[1]["title"]],
        ["second", "first"],
        "calls arrived reversed"
    );
    let texts: Vec<&str> = replies.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, ["reply to first", "reply to second"]);
    assert_eq!(script.pending(), 0, "each tied reply was used once");
}

fn full_sentence(v: &Verdict) -> Result<(), String> {
    if v.reason.split_whitespace().count() < 3 {
        return Err("the reason must be a full sentence".into());
    }
    Ok(())
}

fn shots() -> Vec<(Thread, Verdict)> {
    vec![(
        thread_titled("an example"),
        Verdict {
            relevant: false,
            reason: "an example answer".into(),
        },
    )]
}

/// Decide whether a forum thread is about running language models locally.
#[agent(
    model = "smollm2-135m",
    input = Thread,
    output = Verdict,
    examples = shots,
    validate = full_sentence,
    retries = 1
)]
struct Checked;

// The predicate sees the call's input, never a few-shot example's, and a retry
// (which appends the rejected answer and the feedback) keeps it.
#[tokio::test]
async fn a_once_reply_then_an_always_reply_script_a_retry_past_few_shot_examples() {
    let is_first = |t: &Thread| t.title == "first";
    let script = ScriptedBackend::new()
        .reply_when::<Checked>(is_first, json!({ "relevant": true, "reason": "GGUF" }))
        .always_when::<Checked>(is_first, reason_about("the first thread"))
        // Fits the few-shot example's input, which must not be taken for the call's.
        .always_when::<Checked>(|t| t.title == "an example", reason_about("the example"));
    let runtime = runtime_for(&script);

    let verdict = Checked.run(&runtime, thread_titled("first")).await.unwrap();

    assert_eq!(verdict.reason, "about the first thread");
    let calls = script.calls();
    assert_eq!(calls.len(), 2, "one rejected answer, one retry");
    assert_eq!(
        calls[1].prompt.messages.len(),
        6,
        "system, example pair, input, retry pair"
    );
    assert_eq!(script.pending(), 0);
}

#[tokio::test]
async fn a_call_no_reply_fits_fails_with_an_error_that_shows_its_input() {
    let script =
        ScriptedBackend::new().reply_when::<Score>(|t| t.title == "first", reason_about("first"));
    let runtime = runtime_for(&script);

    let err = Score
        .run(&runtime, thread_titled("third"))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert_eq!(err.agent(), Some("Score"));
    assert_eq!(
        script_message(&err),
        "the scripted backend has no reply for agent `Score` given the input \
         {\"title\":\"third\",\"body\":\"body of third\"}: no unused reply is tied to it and \
         none is queued; tie one to it with `.reply_when::<Score>(|input| ..., json!(...))` or \
         `.reply_for::<Score>(&input, json!(...))`, or queue one with \
         `.reply::<Score>(json!(...))`"
    );
    assert!(
        script.calls().is_empty(),
        "an unanswered call is not recorded"
    );
    assert_eq!(script.pending(), 1);
}

#[tokio::test]
async fn a_once_reply_is_used_up() {
    let script =
        ScriptedBackend::new().reply_for::<Score>(&thread_titled("first"), reason_about("first"));
    let runtime = runtime_for(&script);

    Score.run(&runtime, thread_titled("first")).await.unwrap();
    let err = Score
        .run(&runtime, thread_titled("first"))
        .await
        .unwrap_err();

    assert!(
        script_message(&err).contains(r#"given the input {"title":"first","#),
        "{err}"
    );
}

// The predicate reads the input the request carries, not the prompt, so the
// input format does not matter.
#[tokio::test]
async fn a_predicate_reads_labelled_input_too() {
    let script = ScriptedBackend::new()
        .reply_when::<LabelledScore>(|t| t.title == "first", reason_about("first"));

    let verdict = LabelledScore
        .run(&runtime_for(&script), thread_titled("first"))
        .await
        .unwrap();

    assert_eq!(verdict.reason, "about first");
}

// Serialized without a field it needs to deserialize, so a predicate cannot
// see it as `Sealed`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Sealed {
    title: String,
    #[serde(skip_serializing)]
    key: String,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Sealed, output = Verdict)]
struct SealedScore;

#[tokio::test]
async fn a_predicate_on_an_input_that_does_not_decode_points_at_reply_for() {
    let script = ScriptedBackend::new()
        .reply_when::<SealedScore>(|s| s.key == "open", reason_about("first"));
    let sealed = Sealed {
        title: "first".into(),
        key: "open".into(),
    };

    let err = SealedScore
        .run(&runtime_for(&script), sealed)
        .await
        .unwrap_err();

    let message = script_message(&err);
    assert!(
        message.starts_with(
            r#"the scripted backend has no reply for agent `SealedScore` given the input {"title":"first"}: `reply_when` cannot read it back as"#
        ),
        "{message}"
    );
    assert!(message.contains("missing field `key`"), "{message}");
    assert!(
        message.contains("`.reply_for::<SealedScore>(&input, json!(...))`"),
        "{message}"
    );
}

// The troubleshooting chapter quotes these messages; they must be the real ones.
#[tokio::test]
async fn the_book_quotes_the_real_script_errors() {
    let book = include_str!("../../book/src/troubleshooting.md");
    let runtime = runtime_for(&ScriptedBackend::new());
    let exhausted = Score
        .run(&runtime, thread_titled("first"))
        .await
        .unwrap_err();
    let script =
        ScriptedBackend::new().reply_when::<Score>(|t| t.title == "first", reason_about("first"));
    let unmatched = Score
        .run(&runtime_for(&script), thread_titled("third"))
        .await
        .unwrap_err();

    for err in [exhausted, unmatched] {
        let quoted = format!("```text\n{err}\n```");
        assert!(
            book.contains(&quoted),
            "book/src/troubleshooting.md should quote:\n{quoted}"
        );
    }
}
