//! Typed tool choice: an agent answers with an enum of actions and Rust code
//! dispatches on it, in a tool step or a `map`.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{runtime_for, sent_input};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
    /// What earlier searches found.
    found: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
enum Action {
    /// Look something up first.
    Search { query: String },
    /// Answer the question.
    Answer { text: String },
}

/// Answer the question if what was found is enough; otherwise search.
#[agent(model = "smollm2-135m", input = Question, output = Action)]
struct Decide;

/// What a dispatched action produced.
#[derive(Debug, PartialEq)]
enum Outcome {
    Found(String),
    Done(String),
}

#[tokio::test]
async fn a_typed_action_dispatches_to_rust_functions() {
    let script = ScriptedBackend::new()
        .reply::<Decide>(json!({ "Search": { "query": "smollm2 context length" } }))
        .reply::<Decide>(json!({ "Answer": { "text": "8192 tokens" } }));
    let runtime = runtime_for(&script);
    let log = Arc::new(Mutex::new(Vec::<String>::new()));

    // The dispatcher: a match over the typed action, in a tool step.
    let tool_log = Arc::clone(&log);
    let step = Decide.then(tool("dispatch", move |action: Action| {
        let log = Arc::clone(&tool_log);
        async move {
            match action {
                Action::Search { query } => {
                    log.lock().unwrap().push(format!("search({query})"));
                    Ok::<_, Infallible>(Outcome::Found(format!("{query}: 8192")))
                }
                Action::Answer { text } => {
                    log.lock().unwrap().push(format!("answer({text})"));
                    Ok(Outcome::Done(text))
                }
            }
        }
    }));

    let mut question = Question {
        question: "How long is SmolLM2's context?".into(),
        found: Vec::new(),
    };
    let mut rounds = 0;
    let answer = loop {
        rounds += 1;
        assert!(rounds <= 3, "the loop ends");
        log.lock().unwrap().push("decide".into());
        match step.run(&runtime, question.clone()).await.unwrap() {
            Outcome::Found(fact) => question.found.push(fact),
            Outcome::Done(text) => break text,
        }
    };

    assert_eq!(answer, "8192 tokens");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "decide",
            "search(smollm2 context length)",
            "decide",
            "answer(8192 tokens)"
        ]
    );
    // The second decision saw what the search found.
    let calls = script.calls_for::<Decide>();
    assert_eq!(
        sent_input(&calls[0]),
        json!({ "question": "How long is SmolLM2's context?", "found": [] })
    );
    assert_eq!(
        sent_input(&calls[1]),
        json!({ "question": "How long is SmolLM2's context?", "found": ["smollm2 context length: 8192"] })
    );
    // Both actions are in the schema the model is constrained by.
    let schema = calls[0].schema.full().to_string();
    assert!(
        schema.contains("Search") && schema.contains("Answer"),
        "{schema}"
    );
}

#[tokio::test]
async fn a_typed_action_can_be_routed_with_map() {
    let script =
        ScriptedBackend::new().reply::<Decide>(json!({ "Answer": { "text": "use Q4_1" } }));
    let route = Decide.map(|a: Action| match a {
        Action::Search { query } => Err(query),
        Action::Answer { text } => Ok(text),
    });
    let question = Question {
        question: "Which quantisation?".into(),
        found: vec!["Q4_1 is fast".into()],
    };
    assert_eq!(
        route.run(&runtime_for(&script), question).await.unwrap(),
        Ok("use Q4_1".to_string())
    );
}
