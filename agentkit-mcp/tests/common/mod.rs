//! What the stdio and HTTP tests share: a real MCP server written with
//! rmcp (`add`, `lookup`, `pid`), an agent that names it as the tool
//! source `calc`, and the checks both transports must pass.

use std::sync::Arc;

use agentkit::prelude::*;
use agentkit::tools::{run_with_transcript, DynTool, ToolOutcome, ToolSource};
use agentkit::Role;
use agentkit_mcp::McpServer;
use agentkit_test::ScriptedBackend;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_handler, tool_router, ServerHandler};
use serde_json::json;

// ---- The server ----

#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddArgs {
    /// The first number.
    pub a: i64,
    /// The second number.
    pub b: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Sum {
    pub sum: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct LookupArgs {
    /// A fruit.
    pub key: String,
}

/// A two-tool calculator, plus `pid` for the process tests. Its router is
/// the one `#[tool_router]` builds (`#[tool_handler]` asks for it).
#[derive(Clone, Default)]
pub struct Calc;

#[tool_router]
impl Calc {
    #[tool(description = "Add two whole numbers.")]
    async fn add(&self, Parameters(args): Parameters<AddArgs>) -> Json<Sum> {
        Json(Sum {
            sum: args.a + args.b,
        })
    }

    #[tool(description = "The colour of a fruit.")]
    async fn lookup(&self, Parameters(args): Parameters<LookupArgs>) -> Result<String, String> {
        match args.key.as_str() {
            "apple" => Ok("red".into()),
            "banana" => Ok("yellow".into()),
            other => Err(format!("no fruit called {other:?}; try apple or banana")),
        }
    }

    #[tool(description = "The server's process id.")]
    async fn pid(&self) -> String {
        std::process::id().to_string()
    }
}

#[tool_handler]
impl ServerHandler for Calc {}

// ---- The agent ----

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Question {
    pub question: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reply {
    pub text: String,
}

/// Answer the question, using the calculator's tools.
#[agent(model = "smollm2-135m", input = Question, output = Reply, tool_sources = ["calc"])]
pub struct Calculating;

pub fn question() -> Question {
    Question {
        question: "What is 2 + 3?".into(),
    }
}

// ---- The checks ----

fn find<'a>(tools: &'a [Arc<dyn DynTool>], name: &str) -> &'a Arc<dyn DynTool> {
    tools
        .iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("no tool {name}"))
}

/// The tools are listed with their descriptions and input schemas.
pub async fn tools_are_listed_with_their_schemas(server: &McpServer) {
    let tools = server.tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
    names.sort();
    assert_eq!(names, vec!["add", "lookup", "pid"]);
    let add = find(&tools, "add");
    assert_eq!(add.description(), "Add two whole numbers.");
    let schema = add.schema().full();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["a"]["type"], "integer");
    assert_eq!(
        schema["properties"]["b"]["description"],
        "The second number."
    );
    assert_eq!(schema["required"], json!(["a", "b"]));
    // rmcp writes `$schema`; agentkit takes a schema without it.
    assert!(schema.get("$schema").is_none(), "{schema}");
    assert_eq!(schema["additionalProperties"], false);
    // schemars writes `format: int64`, which a grammar engine would refuse;
    // it comes as the bounds it implies.
    assert!(
        schema["properties"]["a"].get("format").is_none(),
        "{schema}"
    );
    // The largest bound an f64 keeps exactly (see `agentkit::close_schema`).
    assert_eq!(schema["properties"]["a"]["maximum"], i64::MAX - 2047);
    let lookup = find(&tools, "lookup").schema().full();
    assert_eq!(lookup["properties"]["key"]["type"], "string");
}

/// A call runs on the server and returns its result as JSON; an error
/// result comes back as `Err` with the server's text.
pub async fn calls_return_results_and_errors(server: &McpServer) {
    let tools = server.tools().await.unwrap();
    let add = find(&tools, "add");
    assert_eq!(
        add.call(json!({"a": 2, "b": 40})).await,
        Ok(json!({"sum": 42}))
    );
    let lookup = find(&tools, "lookup");
    assert_eq!(lookup.call(json!({"key": "apple"})).await, Ok(json!("red")));
    let err = lookup.call(json!({"key": "kiwi"})).await.unwrap_err();
    assert!(err.contains("no fruit called \"kiwi\""), "{err}");
    let bad = add.call(json!([1, 2])).await.unwrap_err();
    assert!(bad.contains("JSON object"), "{bad}");
}

/// An agent on the scripted backend that names the source calls `add` and
/// `lookup` on the server and reads their results in its next turn.
pub async fn an_agent_uses_the_server_end_to_end(server: McpServer) {
    let script = ScriptedBackend::new()
        .reply::<Calculating>(json!({"calls": [
            {"tool": "add", "args": {"a": 2, "b": 3}},
            {"tool": "lookup", "args": {"key": "kiwi"}},
        ]}))
        .reply::<Calculating>(json!({"answer": {"text": "5"}}));
    let rt = Runtime::builder()
        .backend(script.clone())
        .tool_source("calc", server)
        .build();
    let (reply, transcript) = run_with_transcript(&Calculating, &rt, question())
        .await
        .unwrap();
    assert_eq!(reply.text, "5");
    let outcomes: Vec<&ToolOutcome> = transcript.calls().map(|(_, o)| o).collect();
    assert_eq!(outcomes[0], &ToolOutcome::Result(json!({"sum": 5})));
    assert!(matches!(outcomes[1], ToolOutcome::Error(e) if e.contains("kiwi")));
    let requests = script.calls_for::<Calculating>();
    assert_eq!(requests.len(), 2);
    let system = &requests[0].prompt.messages[0].content;
    assert!(system.contains("- add: Add two whole numbers."), "{system}");
    let second = &requests[1].prompt.messages;
    let fed_back: Vec<&str> = second
        .iter()
        .filter(|m| m.role == Role::Tool)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(fed_back[0], r#"{"tool":"add","result":{"sum":5}}"#);
    assert!(
        fed_back[1].contains(r#""error":"no fruit called"#),
        "{}",
        fed_back[1]
    );
    assert_eq!(rt.usage().tool_calls, 2);
}

/// The server's input schemas are the calls' grammar: pre-flight lists
/// them without a model call, and a turn whose arguments break one (a
/// string for an integer, a key the tool does not take) is not a turn the
/// grammar allows.
pub async fn the_servers_schemas_are_the_calls_grammar(server: McpServer) {
    let call = |args: serde_json::Value| json!({"calls": [{"tool": "add", "args": args}]});
    let script = ScriptedBackend::new()
        .reply::<Calculating>(call(json!({"a": "two", "b": 3})))
        .reply::<Calculating>(call(json!({"a": 2, "b": 3, "c": 4})))
        .reply::<Calculating>(call(json!({"a": 2, "b": 3})))
        .reply::<Calculating>(json!({"answer": {"text": "5"}}));
    let rt = Runtime::builder()
        .backend(script.clone())
        .tool_source("calc", server)
        .build();
    rt.preflight::<Calculating>().await.unwrap();
    assert!(script.calls().is_empty(), "pre-flight makes no model call");
    for bad in ["\"two\"", "\"c\":4"] {
        match Calculating.run(&rt, question()).await {
            Err(Error::SchemaMismatch { raw, .. }) => assert!(raw.contains(bad), "{raw}"),
            other => panic!("expected a schema mismatch, got {other:?}"),
        }
    }
    assert_eq!(rt.usage().tool_calls, 0);
    // The same call with the arguments the schema asks for is a turn.
    let reply = Calculating.run(&rt, question()).await.unwrap();
    assert_eq!(reply.text, "5");
    assert_eq!(rt.usage().tool_calls, 1);
}
