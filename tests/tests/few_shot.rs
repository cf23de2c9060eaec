//! Few-shot examples and input formats: typed or JSONL examples become earlier
//! turns of the prompt, `input_format = "labelled"` writes one line per field,
//! and an examples file that does not fit is reported with its line.

mod common;

use agentkit::prelude::*;
use agentkit::{InputFormat, Prompt, Role, Shot};
use agentkit_test::ScriptedBackend;
use common::{roles, runtime_for, thread, thread_titled, Score, Summarise, Thread, Verdict};
use serde_json::{json, Value};

fn score_shots() -> Vec<(Thread, Verdict)> {
    vec![
        (
            thread_titled("Ollama or llama.cpp for a 1B model?"),
            Verdict {
                relevant: true,
                reason: "compares local runtimes".into(),
            },
        ),
        (
            thread_titled("Best hiking boots"),
            Verdict {
                relevant: false,
                reason: "about boots".into(),
            },
        ),
    ]
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, examples = score_shots)]
struct FewShot;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, input_format = "labelled")]
struct LabelledScore;

/// Decide whether a forum thread is about running language models locally.
#[agent(
    model = "smollm2-135m",
    input = Thread,
    output = Verdict,
    input_format = "labelled",
    examples = score_shots
)]
struct LabelledFewShot;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, examples = "data/score_examples.jsonl")]
struct FromFile;

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", input = Thread, output = Verdict, examples = "data/bad_examples.jsonl")]
struct BadFile;

#[test]
fn typed_examples_become_earlier_turns_before_the_input() {
    let prompt = Prompt::render::<FewShot>(&thread()).unwrap();
    assert_eq!(
        roles(&prompt),
        [
            Role::System,
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant,
            Role::User
        ]
    );
    let content: Vec<&str> = prompt.messages.iter().map(|m| m.content.as_str()).collect();
    // The system message is the same as without examples.
    assert_eq!(
        content[0],
        Prompt::render::<Score>(&thread()).unwrap().messages[0].content
    );
    for (i, (input, output)) in score_shots().iter().enumerate() {
        let user: Value = serde_json::from_str(content[1 + 2 * i]).unwrap();
        let assistant: Value = serde_json::from_str(content[2 + 2 * i]).unwrap();
        assert_eq!(user, serde_json::to_value(input).unwrap());
        assert_eq!(assistant, serde_json::to_value(output).unwrap());
    }
    // The real input comes last.
    let last: Value = serde_json::from_str(content[5]).unwrap();
    assert_eq!(last, serde_json::to_value(thread()).unwrap());
    assert_eq!(
        <FewShot as Agent>::examples().unwrap(),
        score_shots()
            .iter()
            .map(|(i, o)| Shot {
                input: serde_json::to_value(i).unwrap(),
                output: serde_json::to_value(o).unwrap(),
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn labelled_input_renders_one_line_per_field() {
    assert_eq!(
        <LabelledScore as Agent>::INPUT_FORMAT,
        InputFormat::Labelled
    );
    let prompt = Prompt::render::<LabelledScore>(&thread()).unwrap();
    assert_eq!(roles(&prompt), [Role::System, Role::User]);
    assert_eq!(
        prompt.message(Role::User).unwrap(),
        "Title: llama.cpp on a Pi 5\nBody: Which quantisation keeps a 135M model fast?"
    );

    // Examples are written the same way as the input; answers stay JSON.
    let prompt = Prompt::render::<LabelledFewShot>(&thread()).unwrap();
    assert_eq!(
        prompt.messages[1].content,
        "Title: Ollama or llama.cpp for a 1B model?\nBody: body of Ollama or llama.cpp for a 1B model?"
    );
    let answer: Value = serde_json::from_str(&prompt.messages[2].content).unwrap();
    assert_eq!(
        answer,
        json!({ "relevant": true, "reason": "compares local runtimes" })
    );
    assert!(prompt.messages[5]
        .content
        .starts_with("Title: llama.cpp on a Pi 5\n"));
}

#[tokio::test]
async fn examples_from_a_jsonl_file_load_and_reach_the_model() {
    let shots = <FromFile as Agent>::examples().expect("the file loads");
    let file = include_str!("../data/score_examples.jsonl");
    let expected: Vec<Shot> = file
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            Shot {
                input: v["input"].clone(),
                output: v["output"].clone(),
            }
        })
        .collect();
    assert_eq!(shots.len(), 2);
    assert_eq!(shots, expected);

    let script = ScriptedBackend::new()
        .reply::<FromFile>(json!({ "relevant": true, "reason": "asks about quantisation" }));
    FromFile.run(&runtime_for(&script), thread()).await.unwrap();
    let prompt = &script.calls()[0].prompt;
    assert_eq!(prompt.messages.len(), 6);
    assert!(prompt.messages[1]
        .content
        .contains("Running SmolLM2 on a laptop"));
    assert!(prompt.messages[4].content.contains("about baking"));
    assert!(prompt.messages[5].content.contains("llama.cpp on a Pi 5"));
}

#[tokio::test]
async fn a_few_shot_file_whose_output_does_not_fit_is_reported_with_its_line() {
    let err = <BadFile as Agent>::examples().unwrap_err();
    let message = err.to_string();
    match &err {
        Error::Dataset { path, line, reason } => {
            assert_eq!(path.to_str(), Some("data/bad_examples.jsonl"));
            assert_eq!(*line, 2);
            assert!(reason.contains("Verdict"), "{reason}");
        }
        other => panic!("expected Dataset, got {other:?}"),
    }
    // The format hint is the few-shot one, not the evaluation dataset's.
    assert!(message.contains("\"output\""), "{message}");
    assert!(!message.contains("\"expected\""), "{message}");

    // Pre-flight catches it before anything runs.
    let script = ScriptedBackend::new().reply::<Summarise>(json!({ "text": "never used" }));
    let runtime = runtime_for(&script);
    let pipeline = both(BadFile, Summarise);
    let err = runtime.check(&pipeline).await.unwrap_err();
    match &err {
        Error::Preflight { report } => {
            assert_eq!(report.problems.len(), 1, "{report}");
            assert_eq!(report.problems[0].step, "BadFile");
            assert!(report.problems[0].message.contains("line 2"), "{report}");
        }
        other => panic!("expected Preflight, got {other:?}"),
    }
    assert!(pipeline.run(&runtime, thread()).await.is_err());
    assert!(script.calls().is_empty());
}
