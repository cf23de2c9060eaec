//! Input-aware validation: `#[agent(validate = f)]` takes `fn(&Input,
//! &Output)` as well as `fn(&Output)`, the compiler picks the form from the
//! function, and a rule that relates the answer to the input ("the quote must
//! appear in the thread") rejects an answer and retries with the problem, like
//! any other check.

mod common;

use agentkit::prelude::*;
use agentkit::{Prompt, Role};
use agentkit_test::ScriptedBackend;
use common::{roles, runtime_for, thread, thread_titled, Thread};
use serde_json::json;

// `Cite`'s answer: a sentence copied from the thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Evidence {
    quote: String,
}

/// The rule a schema cannot say: the quote is in the thread's body, word for word.
fn quote_in_body(thread: &Thread, evidence: &Evidence) -> Result<(), String> {
    let quote = evidence.quote.trim();
    if !quote.is_empty() && thread.body.contains(quote) {
        Ok(())
    } else {
        Err(format!(
            "the quote {:?} is not in the thread's body; copy a sentence from the body word for word",
            evidence.quote
        ))
    }
}

/// The output-only form, as before.
fn quote_given(evidence: &Evidence) -> Result<(), String> {
    if evidence.quote.trim().is_empty() {
        Err("`quote` is empty".into())
    } else {
        Ok(())
    }
}

/// Quote the sentence of the thread's body that says what it asks.
#[agent(model = "smollm2-135m", input = Thread, output = Evidence, validate = quote_in_body, retries = 1)]
struct Cite;

/// Quote the sentence of the thread's body that says what it asks.
#[agent(model = "smollm2-135m", input = Thread, output = Evidence, validate = quote_in_body)]
struct CiteOnce;

/// Quote the sentence of the thread's body that says what it asks.
#[agent(model = "smollm2-135m", input = Thread, output = Evidence, validate = quote_given, retries = 1)]
struct CiteAnything;

#[tokio::test]
async fn a_quote_that_is_not_in_the_input_is_retried_with_the_problem() {
    // `thread()`'s body is "Which quantisation keeps a 135M model fast?".
    let invented = json!({ "quote": "Which GPU should I buy?" });
    let copied = json!({ "quote": "Which quantisation keeps a 135M model fast?" });
    let script = ScriptedBackend::new()
        .reply::<Cite>(invented.clone())
        .reply::<Cite>(copied);
    let runtime = runtime_for(&script);

    let evidence = Cite
        .run(&runtime, thread())
        .await
        .expect("the second answer quotes the body");

    assert_eq!(
        evidence.quote,
        "Which quantisation keeps a 135M model fast?"
    );
    let calls = script.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].prompt, Prompt::render::<Cite>(&thread()).unwrap());
    // The retry carries the rejected answer and what the rule found wrong.
    let retry = &calls[1].prompt;
    assert_eq!(
        roles(retry),
        [Role::System, Role::User, Role::Assistant, Role::User]
    );
    assert_eq!(retry.messages[2].content, invented.to_string());
    assert_eq!(
        retry.messages[3].content,
        "That answer was rejected: the quote \"Which GPU should I buy?\" is not in the \
         thread's body; copy a sentence from the body word for word. Answer again, fixing that."
    );
}

#[tokio::test]
async fn the_same_answer_passes_or_fails_depending_on_the_input() {
    let answer = json!({ "quote": "body of first" });
    let script = ScriptedBackend::new()
        .reply::<CiteOnce>(answer.clone())
        .reply::<CiteOnce>(answer.clone());
    let runtime = runtime_for(&script);

    let kept = CiteOnce
        .run(&runtime, thread_titled("first"))
        .await
        .expect("the quote is in the first thread's body");
    assert_eq!(kept.quote, "body of first");

    let err = CiteOnce
        .run(&runtime, thread_titled("second"))
        .await
        .expect_err("the quote is not in the second thread's body");
    match err {
        Error::Invalid {
            agent,
            problem,
            raw,
        } => {
            assert_eq!(agent, "CiteOnce");
            assert!(
                problem.starts_with("the quote \"body of first\" is not in"),
                "{problem}"
            );
            assert_eq!(raw, answer.to_string());
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn the_output_only_form_still_works() {
    let script = ScriptedBackend::new()
        .reply::<CiteAnything>(json!({ "quote": "  " }))
        .reply::<CiteAnything>(json!({ "quote": "not in the thread, but not empty" }));
    let runtime = runtime_for(&script);

    let evidence = CiteAnything
        .run(&runtime, thread())
        .await
        .expect("the retry passes the output-only check");

    assert_eq!(evidence.quote, "not in the thread, but not empty");
    let retry = &script.calls()[1].prompt;
    assert!(
        retry.messages[3].content.contains("`quote` is empty"),
        "{}",
        retry.messages[3].content
    );
}

#[test]
fn the_trait_method_sees_the_input_whichever_form_the_attribute_named() {
    let quote = |q: &str| Evidence { quote: q.into() };
    let body = "Which quantisation keeps a 135M model fast?";
    // Input and output.
    assert_eq!(<Cite as Agent>::validate(&thread(), &quote(body)), Ok(()));
    assert!(<Cite as Agent>::validate(&thread(), &quote("elsewhere")).is_err());
    // Output only: the input is there but not looked at.
    assert_eq!(
        <CiteAnything as Agent>::validate(&thread(), &quote("elsewhere")),
        Ok(())
    );
    assert_eq!(
        <CiteAnything as Agent>::validate(&thread(), &quote("")),
        Err("`quote` is empty".to_string())
    );
    // No `validate` key: everything passes.
    assert_eq!(
        <common::Score as Agent>::validate(
            &thread(),
            &common::Verdict {
                relevant: true,
                reason: String::new()
            }
        ),
        Ok(())
    );
}

/// An agent written by hand overrides `Agent::validate` the same way.
struct HandCite;

impl Agent for HandCite {
    type Input = Thread;
    type Output = Evidence;
    const NAME: &'static str = "HandCite";
    const MODEL: &'static str = "smollm2-135m";
    const INSTRUCTIONS: &'static str =
        "Quote the sentence of the thread's body that says what it asks.";
    const RETRIES: u32 = 1;

    fn validate(input: &Thread, output: &Evidence) -> Result<(), String> {
        quote_in_body(input, output)
    }
}

impl Yields for HandCite {
    type Output = Evidence;
}

impl Step<Thread> for HandCite {
    fn run(
        &self,
        runtime: &Runtime,
        input: Thread,
    ) -> impl std::future::Future<Output = Result<Evidence, Error>> + Send {
        runtime.run_agent(self, input)
    }
}

#[tokio::test]
async fn a_hand_written_agent_validates_against_its_input_too() {
    let script = ScriptedBackend::new()
        .reply::<HandCite>(json!({ "quote": "invented" }))
        .reply::<HandCite>(json!({ "quote": "body of hand" }));
    let runtime = runtime_for(&script);

    let evidence = HandCite
        .run(&runtime, thread_titled("hand"))
        .await
        .expect("the retry quotes the body");

    assert_eq!(evidence.quote, "body of hand");
    assert_eq!(script.calls().len(), 2);
}
