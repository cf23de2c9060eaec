//! Retries with feedback: an answer that fails the agent's `validate` check or
//! does not parse is sent back with what was wrong, up to `retries` times;
//! without retries the first failure is the error.

mod common;

use agentkit::prelude::*;
use agentkit::{Attempt, Prompt, Role};
use agentkit_test::ScriptedBackend;
use common::{roles, runtime_for, thread, Score, Thread, Verdict};
use serde_json::json;

const EMPTY_REASON: &str = "`reason` is empty; say in a few words why";

fn reason_given(v: &Verdict) -> Result<(), String> {
    if v.reason.trim().is_empty() {
        Err(EMPTY_REASON.into())
    } else {
        Ok(())
    }
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, retries = 2, validate = reason_given)]
struct Careful;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, validate = reason_given)]
struct Strict;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, retries = 1)]
struct Patient;

#[tokio::test]
async fn a_rejected_answer_is_retried_with_the_answer_and_the_problem() {
    let first = json!({ "relevant": true, "reason": "" });
    let second = json!({ "relevant": true, "reason": "asks about llama.cpp" });
    let script = ScriptedBackend::new()
        .reply::<Careful>(first.clone())
        .reply::<Careful>(second.clone());
    let runtime = runtime_for(&script);

    let verdict = Careful
        .run(&runtime, thread())
        .await
        .expect("the retry passes");

    assert_eq!(verdict.reason, "asks about llama.cpp");
    let calls = script.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(runtime.usage().calls, 2);
    // The first request is the plain prompt.
    assert_eq!(
        calls[0].prompt,
        Prompt::render::<Careful>(&thread()).unwrap()
    );
    // The second carries the first answer and what was wrong with it.
    let retry = &calls[1].prompt;
    assert_eq!(
        roles(retry),
        [Role::System, Role::User, Role::Assistant, Role::User]
    );
    assert_eq!(retry.messages[..2], calls[0].prompt.messages[..]);
    assert_eq!(retry.messages[2].content, first.to_string());
    assert!(
        retry.messages[3].content.contains(EMPTY_REASON),
        "{}",
        retry.messages[3].content
    );
    // Each attempt draws with a fresh seed.
    assert_eq!(calls[1].sampling.seed, calls[0].sampling.seed + 1);
}

#[tokio::test]
async fn when_every_attempt_fails_the_error_holds_each_attempt_in_order() {
    let replies = [
        r#"{"relevant":true,"reason":""}"#,
        r#"{"relevant":false,"reason":"  "}"#,
        r#"{"relevant":true,"reason":"   "}"#,
    ];
    let mut script = ScriptedBackend::new();
    for r in replies {
        script = script.reply_raw::<Careful>(r);
    }
    let runtime = runtime_for(&script);

    let err = Careful.run(&runtime, thread()).await.unwrap_err();

    let message = err.to_string();
    let Error::Rejected { agent, attempts } = err else {
        panic!("expected Rejected, got {err:?}");
    };
    assert_eq!(agent, "Careful");
    let expected: Vec<Attempt> = replies
        .iter()
        .map(|r| Attempt {
            raw: r.to_string(),
            problem: EMPTY_REASON.into(),
        })
        .collect();
    assert_eq!(attempts, expected, "1 try + 2 retries, in order");
    assert!(message.contains("3 attempts"), "{message}");
    assert!(message.contains(EMPTY_REASON), "{message}");
    // The last request carried both earlier answers.
    let calls = script.calls();
    assert_eq!(calls.len(), 3);
    let assistant: Vec<&str> = calls[2]
        .prompt
        .messages
        .iter()
        .filter(|m| m.role == Role::Assistant)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(assistant, replies[..2]);
}

#[tokio::test]
async fn output_that_does_not_parse_is_retried_the_same_way() {
    let script = ScriptedBackend::new()
        .reply_raw::<Patient>("relevant: yes")
        .reply::<Patient>(json!({ "relevant": true, "reason": "on topic" }));
    let runtime = runtime_for(&script);

    let verdict = Patient
        .run(&runtime, thread())
        .await
        .expect("the retry parses");

    assert_eq!(
        verdict,
        Verdict {
            relevant: true,
            reason: "on topic".into()
        }
    );
    let retry = &script.calls()[1].prompt;
    assert_eq!(
        roles(retry),
        [Role::System, Role::User, Role::Assistant, Role::User]
    );
    assert_eq!(retry.messages[2].content, "relevant: yes");
    assert!(
        retry.messages[3].content.contains("not valid JSON"),
        "the feedback says what was wrong: {}",
        retry.messages[3].content
    );

    // Two unparseable answers exhaust `retries = 1`.
    let script = ScriptedBackend::new()
        .reply_raw::<Patient>("yes")
        .reply_raw::<Patient>("still not JSON");
    let err = Patient
        .run(&runtime_for(&script), thread())
        .await
        .unwrap_err();
    match err {
        Error::Rejected { attempts, .. } => {
            let raws: Vec<&str> = attempts.iter().map(|a| a.raw.as_str()).collect();
            assert_eq!(raws, ["yes", "still not JSON"]);
            assert!(attempts
                .iter()
                .all(|a| a.problem.contains("not valid JSON")));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn without_retries_the_first_failure_is_returned_as_is() {
    // A failed check is `Invalid`, with the problem and the raw output.
    let raw = r#"{"relevant":true,"reason":""}"#;
    let script = ScriptedBackend::new()
        .reply_raw::<Strict>(raw)
        .reply::<Strict>(json!({ "relevant": true, "reason": "never asked for" }));
    let err = Strict
        .run(&runtime_for(&script), thread())
        .await
        .unwrap_err();
    match err {
        Error::Invalid {
            agent,
            problem,
            raw: kept,
        } => {
            assert_eq!(agent, "Strict");
            assert_eq!(problem, EMPTY_REASON);
            assert_eq!(kept, raw);
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(script.calls().len(), 1, "no second attempt");
    assert_eq!(script.pending(), 1);

    // Text that does not parse is `Parse`.
    let script = ScriptedBackend::new().reply_raw::<Score>("maybe");
    let err = Score
        .run(&runtime_for(&script), thread())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Parse { agent, raw, .. } if agent == "Score" && raw == "maybe"),
        "{err:?}"
    );
}
