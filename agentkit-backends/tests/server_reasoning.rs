//! Thinking on the server backend: the reasoning read from whichever field a
//! server puts it in (or from its tags in the content), a JSON answer a
//! server misplaced into the reasoning recovered, an answer that is only
//! reasoning a typed error naming the endpoint; and a real llama-server
//! decoding the think block and the answer under one grammar.

mod common;
#[path = "common/servers.rs"]
mod servers;

use agentkit::backend::Request;
use agentkit::prelude::*;
use agentkit::stream::{Event, StreamExt};
use agentkit::Endpoint;
use servers::{cut, llama_server, quick, runtime_on, stand_in, Reply};

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
struct Thread {
    title: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, PartialEq)]
struct Verdict {
    relevant: bool,
}

/// Decide whether a forum thread is about running language models locally.
#[agent(model = "served", temperature = 0.0, max_tokens = 32, think_budget = 32, input = Thread, output = Verdict)]
struct Pondered;

/// The same, answering at once.
#[agent(model = "served", temperature = 0.0, max_tokens = 32, input = Thread, output = Verdict)]
struct Direct;

fn thread() -> Thread {
    Thread {
        title: "Q4_K_M or Q5_K_M on 16 GB?".into(),
    }
}

/// A whole chat completion whose message is `message`.
fn body(message: serde_json::Value) -> Reply {
    let message = {
        let mut m = message;
        m["role"] = "assistant".into();
        m
    };
    Reply::Status(
        200,
        serde_json::json!({
            "choices": [{ "index": 0, "finish_reason": "stop", "message": message }],
            "usage": { "prompt_tokens": 12, "completion_tokens": 9,
                       "completion_tokens_details": { "reasoning_tokens": 5 } }
        })
        .to_string(),
    )
}

const ANSWER: &str = r#"{"relevant":true}"#;
const THOUGHT: &str = "It asks which quantization fits.";

#[tokio::test]
async fn the_reasoning_is_read_from_each_field_a_server_uses_and_from_tags() {
    let spellings = [
        serde_json::json!({ "content": ANSWER, "reasoning_content": THOUGHT }),
        serde_json::json!({ "content": ANSWER, "reasoning": THOUGHT }),
        serde_json::json!({ "content": ANSWER, "thinking": THOUGHT }),
        serde_json::json!({ "content": format!("<think>\n{THOUGHT}</think>\n{ANSWER}") }),
    ];
    for message in spellings {
        let server = stand_in(vec![body(message.clone())]).await;
        let runtime = runtime_on(quick(), vec![Endpoint::new(&server.url, "smollm2")]);
        let request = Request::for_agent::<Pondered>(&runtime, &thread()).unwrap();
        let completion = runtime.backend().unwrap().generate(request).await.unwrap();
        assert_eq!(completion.text, ANSWER, "{message}");
        assert_eq!(completion.reasoning.as_deref(), Some(THOUGHT), "{message}");
        assert_eq!(completion.reasoning_tokens, 5);
        let verdict = Pondered.run(&runtime, thread()).await.unwrap();
        assert_eq!(verdict, Verdict { relevant: true });
    }
}

#[tokio::test]
async fn a_json_answer_misplaced_into_the_reasoning_is_recovered() {
    // The vLLM/SGLang bug: the constrained answer lands in the reasoning
    // field and the content is empty. Even for an agent that did not ask
    // to think.
    let server = stand_in(vec![body(
        serde_json::json!({ "content": null, "reasoning_content": ANSWER }),
    )])
    .await;
    let runtime = runtime_on(quick(), vec![Endpoint::new(&server.url, "smollm2")]);
    let verdict = Direct.run(&runtime, thread()).await.unwrap();
    assert_eq!(verdict, Verdict { relevant: true });
}

#[tokio::test]
async fn only_reasoning_and_no_answer_is_a_typed_error_naming_the_endpoint() {
    let server = stand_in(vec![body(
        serde_json::json!({ "content": "", "reasoning_content": "Let me think about GGUF files and" }),
    )])
    .await;
    let runtime = runtime_on(quick(), vec![Endpoint::new(&server.url, "smollm2")]);
    let e = Pondered.run(&runtime, thread()).await.unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Backend { .. }), "{e:?}");
    assert!(
        text.contains(&server.url) && text.contains("gave no answer, only reasoning"),
        "{text}"
    );
}

#[tokio::test]
async fn a_streamed_think_block_comes_as_reasoning_events_however_it_is_cut() {
    let deltas = [
        "<thi",
        "nk>\nIt asks ",
        "which quantization fits.</th",
        "ink>\n",
        "{\"relevant\"",
        ":true}",
    ];
    let whole = servers::sse_body(&deltas);
    for at in [7, 60, 120, whole.len() / 2] {
        let server = stand_in(vec![Reply::Events {
            pieces: cut(&whole, &[at.min(whole.len() - 1)]),
            hang: false,
        }])
        .await;
        let runtime = runtime_on(quick(), vec![Endpoint::new(&server.url, "smollm2")]);
        let mut events = Pondered.stream(&runtime, thread());
        let (mut thought, mut answer) = (String::new(), String::new());
        while let Some(event) = events.next().await {
            match event.unwrap() {
                Event::Reasoning(r) => thought.push_str(&r),
                Event::Delta(d) => answer.push_str(&d),
                _ => {}
            }
        }
        assert_eq!(thought, THOUGHT, "cut at {at}");
        assert_eq!(answer, ANSWER, "cut at {at}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llama_server_thinks_and_answers_under_one_grammar() {
    let Some(server) = llama_server(1).await else {
        return;
    };
    let runtime = runtime_on(
        agentkit_backends::server::Server::default(),
        vec![Endpoint::new(&server.url, &server.alias)],
    );
    let request = Request::for_agent::<Pondered>(&runtime, &thread()).unwrap();
    let completion = runtime.backend().unwrap().generate(request).await.unwrap();
    println!(
        "thought: {:?}\nanswer: {}",
        completion.reasoning, completion.text
    );
    assert!(completion.violation.is_none(), "{completion:?}");
    let thought = completion.reasoning.clone().unwrap_or_default();
    assert!(!thought.contains("<think>") && !completion.text.contains("think>"));
    // At most four characters a token of the budget: the grammar's bound.
    assert!(thought.chars().count() <= 32 * 4, "{thought}");
    serde_json::from_str::<Verdict>(&completion.text).unwrap();
    Pondered.run(&runtime, thread()).await.unwrap();
}
