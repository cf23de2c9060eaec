//! Carrying context down a chain without glue structs: `with_input(step)`
//! yields `(input, output)`, an agent takes that tuple as its input
//! (`input = (Thread, Verdict)`), and the prompt shows the tuple's parts by
//! name, so the third agent of a chain reads the thread and both earlier
//! answers.

mod common;

use agentkit::prelude::*;
use agentkit::{Prompt, Role};
use agentkit_test::ScriptedBackend;
use common::{runtime_for, sent_input, thread, Score, Thread, Verdict};
use serde_json::json;

// `Prioritise`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Priority {
    urgent: bool,
}

// `Draft`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Reply {
    text: String,
}

/// Decide whether the thread needs an answer today, given the verdict on it.
#[agent(model = "smollm2-135m", input = (Thread, Verdict), output = Priority)]
struct Prioritise;

/// Draft a reply to the thread, in the tone its priority calls for.
#[agent(model = "smollm2-135m", input = ((Thread, Verdict), Priority), output = Reply)]
struct Draft;

/// The same, with its input written labelled.
#[agent(model = "smollm2-135m", input = (Thread, Verdict), output = Priority, input_format = "labelled")]
struct PrioritiseLabelled;

fn verdict() -> Verdict {
    Verdict {
        relevant: true,
        reason: "asks about quantisation".into(),
    }
}

#[tokio::test]
async fn three_agents_carry_the_thread_and_each_answer_to_the_last() {
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": true, "reason": "asks about quantisation" }))
        .reply::<Prioritise>(json!({ "urgent": false }))
        .reply::<Draft>(json!({ "text": "Q4_K_M keeps it fast." }));
    let runtime = runtime_for(&script);

    let pipeline = with_input(Score).then(with_input(Prioritise)).then(Draft);
    let reply = pipeline
        .run(&runtime, thread())
        .await
        .expect("the chain runs");

    assert_eq!(reply.text, "Q4_K_M keeps it fast.");
    let agents: Vec<&str> = script.calls().iter().map(|r| r.agent).collect();
    assert_eq!(agents, ["Score", "Prioritise", "Draft"]);
    // The second agent saw the thread and the first answer, by name.
    let prioritise = &script.calls_for::<Prioritise>()[0];
    assert_eq!(
        sent_input(prioritise),
        json!({
            "thread": serde_json::to_value(thread()).unwrap(),
            "verdict": { "relevant": true, "reason": "asks about quantisation" }
        })
    );
    // The third saw all three, flattened into one object.
    let draft = &script.calls_for::<Draft>()[0];
    assert_eq!(
        sent_input(draft),
        json!({
            "thread": {
                "title": "llama.cpp on a Pi 5",
                "body": "Which quantisation keeps a 135M model fast?"
            },
            "verdict": { "relevant": true, "reason": "asks about quantisation" },
            "priority": { "urgent": false }
        })
    );
    assert_eq!(
        draft.prompt,
        Prompt::render::<Draft>(&((thread(), verdict()), Priority { urgent: false })).unwrap()
    );
}

#[test]
fn a_tuple_input_is_shown_by_name_in_either_format() {
    let json = Prompt::render::<Prioritise>(&(thread(), verdict())).expect("render");
    assert_eq!(
        json.message(Role::User).expect("the input"),
        r#"{
  "thread": {
    "title": "llama.cpp on a Pi 5",
    "body": "Which quantisation keeps a 135M model fast?"
  },
  "verdict": {
    "relevant": true,
    "reason": "asks about quantisation"
  }
}"#
    );
    let labelled = Prompt::render::<PrioritiseLabelled>(&(thread(), verdict())).expect("render");
    assert_eq!(
        labelled.message(Role::User).expect("the input"),
        "Thread:
  Title: llama.cpp on a Pi 5
  Body: Which quantisation keeps a 135M model fast?
Verdict:
  Relevant: true
  Reason: asks about quantisation"
    );
}
