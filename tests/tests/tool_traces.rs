//! Tracing of the tool loop: a `turn` span per model turn and a `tool_call`
//! span per call, with its duration and outcome, under the agent's span.
//! Its own test binary, with one test (see `traces.rs` for why).

mod common;

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::capture::{self, field};
use serde_json::json;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Reply {
    text: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Word {
    word: String,
}

/// Spell a word backwards; fails on an empty word.
#[agentkit::tool]
async fn reverse(args: Word) -> Result<String, String> {
    if args.word.is_empty() {
        return Err("the word is empty".into());
    }
    Ok(args.word.chars().rev().collect())
}

/// Answer, reversing words with the tool.
#[agentkit::agent(model = "smollm2-135m", input = Question, output = Reply, tools = [reverse])]
struct Backwards;

#[test]
fn each_turn_and_each_tool_call_gets_a_span() {
    let script = ScriptedBackend::new()
        .reply::<Backwards>(json!({"calls": [
            {"tool": "reverse", "args": {"word": "abc"}},
            {"tool": "reverse", "args": {"word": ""}}]}))
        .reply::<Backwards>(json!({"answer": {"text": "cba"}}));
    let agents = Runtime::builder().backend(script).build();
    let q = Question {
        question: "abc backwards?".into(),
    };
    let (out, closed) = capture::run_captured(Backwards.run(&agents, q));
    assert_eq!(out.unwrap().text, "cba");

    let turns: Vec<_> = closed.iter().filter(|s| s.name == "turn").collect();
    assert_eq!(turns.len(), 2);
    assert_eq!(field(turns[0], "turn"), "1");
    assert_eq!(field(turns[0], "calls"), "2");
    let calls: Vec<_> = closed.iter().filter(|s| s.name == "tool_call").collect();
    let outcomes: Vec<(&str, &str)> = calls
        .iter()
        .map(|s| (field(s, "tool"), field(s, "outcome")))
        .collect();
    assert_eq!(outcomes, [("reverse", "ok"), ("reverse", "error")]);
    for c in &calls {
        field(c, "elapsed_ms").parse::<u64>().unwrap();
        // The GenAI semantic conventions' names for a tool call.
        assert_eq!(field(c, "gen_ai.operation.name"), "execute_tool");
        assert_eq!(field(c, "gen_ai.tool.name"), "reverse");
    }
    assert_eq!(field(calls[1], "error.type"), "ToolError");
    assert!(!calls[0].fields.contains_key("error.type"));
    let agent = closed.iter().find(|s| s.name == "agent").unwrap();
    assert_eq!(field(agent, "agent"), "Backwards");
    let generated: usize = field(agent, "generated_tokens").parse().unwrap();
    assert!(
        generated > 0,
        "both turns' tokens are counted on the agent's span"
    );
}
