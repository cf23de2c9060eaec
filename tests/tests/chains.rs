//! Chains on the scripted backend: `then` and `map` hand each step's output
//! to the next, every request carries its agent's prompt, schema, model and
//! sampling, and a reply that breaks the schema, does not parse or is missing
//! from the script is an error naming the agent.

mod common;

use agentkit::prelude::*;
use agentkit::{output_schema, ErrorKind, Prompt, Role};
use agentkit_test::ScriptedBackend;
use common::{runtime_for, sent_input, thread, Summarise, Summary, Tags, Thread, Verdict};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Report {
    headline: String,
}

// `Score` and `Tag` set sampling attributes here (the request test checks
// `Tag`'s), unlike the default ones in `common`, so they are this file's own.

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "smollm2-135m", temperature = 0.2, input = Thread, output = Verdict)]
struct Score;

/// Tag the summary with up to three topics.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 64, input = Summary, output = Tags)]
struct Tag;

/// Write a headline from the tags.
#[agent(model = "smollm2-135m", input = Tags, output = Report)]
struct Headline;

#[tokio::test]
async fn three_step_chain_passes_each_output_to_the_next_step() {
    let script = ScriptedBackend::new()
        .reply::<Summarise>(json!({ "text": "Someone asks how to quantise SmolLM2 for a Pi." }))
        .reply::<Tag>(json!({ "tags": ["quantisation", "raspberry-pi"] }))
        .reply::<Headline>(json!({ "headline": "Quantising small models for the Pi" }));
    let runtime = runtime_for(&script);

    let pipeline = Summarise.then(Tag).then(Headline);
    let report = pipeline
        .run(&runtime, thread())
        .await
        .expect("the chain runs");

    assert_eq!(
        report,
        Report {
            headline: "Quantising small models for the Pi".into()
        }
    );
    let calls = script.calls();
    let agents: Vec<&str> = calls.iter().map(|r| r.agent).collect();
    assert_eq!(agents, ["Summarise", "Tag", "Headline"]);

    // Each step was shown exactly what the step before it produced.
    assert_eq!(
        sent_input(&calls[0]),
        serde_json::to_value(thread()).unwrap()
    );
    assert_eq!(
        sent_input(&calls[1]),
        json!({ "text": "Someone asks how to quantise SmolLM2 for a Pi." })
    );
    assert_eq!(
        sent_input(&calls[2]),
        json!({ "tags": ["quantisation", "raspberry-pi"] })
    );
    assert_eq!(script.pending(), 0, "every canned reply was used");
}

#[tokio::test]
async fn each_request_carries_the_agents_prompt_schema_model_and_sampling() {
    let script = ScriptedBackend::new()
        .reply::<Summarise>(json!({ "text": "A question about quantisation." }))
        .reply::<Tag>(json!({ "tags": ["quantisation"] }));
    let runtime = runtime_for(&script);
    let summary = Summary {
        text: "A question about quantisation.".into(),
    };

    Summarise
        .then(Tag)
        .run(&runtime, thread())
        .await
        .expect("runs");

    let tag = &script.calls_for::<Tag>()[0];
    assert_eq!(tag.prompt, Prompt::render::<Tag>(&summary).unwrap());
    assert_eq!(tag.schema, output_schema::<Tags>());
    assert_eq!(tag.model.alias, "smollm2-135m");
    assert_eq!(tag.sampling.temperature, 0.0);
    assert_eq!(tag.sampling.max_tokens, 64);
    assert_eq!(
        tag.sampling,
        <Tag as Agent>::SAMPLING,
        "the attribute's sampling reaches the backend"
    );
    let system = tag.prompt.message(Role::System).unwrap();
    assert!(system.starts_with("Tag the summary with up to three topics."));
}

#[tokio::test]
async fn map_adapts_one_steps_output_for_the_next() {
    let script = ScriptedBackend::new()
        .reply::<Summarise>(json!({ "text": "asks about gguf files" }))
        .reply::<Tag>(json!({ "tags": ["gguf", "formats", "llama.cpp"] }));
    let runtime = runtime_for(&script);

    let pipeline = Summarise
        .map(|s: Summary| Summary {
            text: s.text.to_uppercase(),
        })
        .then(Tag)
        .map(|t: Tags| t.tags.len());
    let count: usize = pipeline.run(&runtime, thread()).await.expect("runs");

    assert_eq!(count, 3);
    let tag = &script.calls_for::<Tag>()[0];
    assert_eq!(sent_input(tag), json!({ "text": "ASKS ABOUT GGUF FILES" }));
}

#[tokio::test]
async fn a_map_can_join_two_agents_whose_types_differ() {
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": true, "reason": "asks about llama.cpp" }))
        .reply::<Tag>(json!({ "tags": ["local"] }));
    let runtime = runtime_for(&script);

    // `Score` yields a `Verdict`, `Tag` takes a `Summary`: `.map` bridges them.
    let pipeline = Score.map(|v: Verdict| Summary { text: v.reason }).then(Tag);
    let tags = pipeline.run(&runtime, thread()).await.expect("runs");

    assert_eq!(tags.tags, ["local"]);
    assert_eq!(
        sent_input(&script.calls_for::<Tag>()[0]),
        json!({ "text": "asks about llama.cpp" })
    );
}

#[tokio::test]
async fn a_reply_that_breaks_the_schema_is_rejected() {
    // `relevant` must be a boolean.
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": "yes", "reason": "mentions llama.cpp" }));
    let err = Score
        .run(&runtime_for(&script), thread())
        .await
        .expect_err("a string is not a boolean");
    match err {
        Error::SchemaMismatch { agent, reason, raw } => {
            assert_eq!(agent, "Score");
            assert!(reason.contains("relevant"), "names the field: {reason}");
            assert_eq!(
                serde_json::from_str::<Value>(&raw).unwrap(),
                json!({ "relevant": "yes", "reason": "mentions llama.cpp" })
            );
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reply_with_an_extra_field_is_rejected() {
    // The schema is closed, so a constrained model could never add a field.
    let script = ScriptedBackend::new().reply::<Score>(json!({
        "relevant": true,
        "reason": "on topic",
        "confidence": 0.9
    }));
    let err = Score
        .run(&runtime_for(&script), thread())
        .await
        .unwrap_err();
    match err {
        Error::SchemaMismatch { agent, reason, .. } => {
            assert_eq!(agent, "Score");
            assert!(reason.contains("confidence"), "names the field: {reason}");
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reply_missing_a_field_is_rejected() {
    let script = ScriptedBackend::new().reply::<Score>(json!({ "relevant": true }));
    let err = Score
        .run(&runtime_for(&script), thread())
        .await
        .unwrap_err();
    match err {
        Error::SchemaMismatch { reason, .. } => {
            assert!(reason.contains("reason"), "names the field: {reason}")
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn unparseable_text_is_a_parse_error_that_keeps_the_raw_text() {
    let raw = "Sure! Here is my answer: {\"relevant\": true";
    let script = ScriptedBackend::new().reply_raw::<Score>(raw);
    let err = Score
        .run(&runtime_for(&script), thread())
        .await
        .unwrap_err();
    let message = err.to_string();
    match err {
        Error::Parse {
            agent,
            output_type,
            raw: kept,
            ..
        } => {
            assert_eq!(agent, "Score");
            assert_eq!(kept, raw, "the model's text is kept unchanged");
            assert!(output_type.ends_with("Verdict"), "{output_type}");
        }
        other => panic!("expected Parse, got {other:?}"),
    }
    assert!(message.contains("Here is my answer"), "{message}");
}

#[tokio::test]
async fn an_exhausted_script_names_the_agent_that_asked() {
    let script = ScriptedBackend::new()
        .reply::<Summarise>(json!({ "text": "one summary" }))
        .reply::<Tag>(json!({ "tags": ["one"] }));
    let runtime = runtime_for(&script);
    let pipeline = Summarise.then(Tag);

    pipeline
        .run(&runtime, thread())
        .await
        .expect("the first run has replies");
    let err = pipeline.run(&runtime, thread()).await.unwrap_err();
    assert_eq!(err.agent(), Some("Summarise"), "{err:?}");
    assert!(err.to_string().contains("no reply left"), "{err}");

    // A chain whose later step has no reply fails at that step.
    let script = ScriptedBackend::new().reply::<Summarise>(json!({ "text": "s" }));
    let runtime = Runtime::builder().backend(script.clone()).build();
    let err = Summarise
        .then(Tag)
        .run(&runtime, thread())
        .await
        .unwrap_err();
    assert_eq!(err.agent(), Some("Tag"), "{err:?}");
    assert_eq!(
        err.kind(),
        ErrorKind::Configuration,
        "a script's gap is set-up"
    );
    assert!(err.to_string().contains(".reply::<Tag>("), "{err}");
}
