//! The tool loop through the server backend on a real llama-server with
//! SmolLM2: the turns go by the grammar route (the turn schema as the
//! request's constraint), the results come back as `tool` messages, which
//! the server's chat template renders, and every call is checked against its
//! tool's schema before it runs.

#[path = "common/servers.rs"]
mod servers;

use agentkit::backend::OutputSchema;
use agentkit::prelude::*;
use agentkit::tool;
use agentkit::tools::run_with_transcript;
use agentkit::Endpoint;
use agentkit_backends::server::Server;
use servers::{llama_server, runtime_on};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Question {
    question: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Reply {
    #[schemars(length(max = 60))]
    text: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct PriceOf {
    #[schemars(length(min = 1, max = 20))]
    product: String,
}

/// Look up the price in euros of one product.
#[tool]
async fn price_of(args: PriceOf) -> Result<u32, String> {
    match args.product.to_lowercase().as_str() {
        "keyboard" => Ok(45),
        other => Err(format!("no product called {other:?}")),
    }
}

/// Answer the question about prices; look prices up first.
#[agent(model = "served", temperature = 0.0, max_tokens = 64, input = Question, output = Reply,
        tools = [price_of], max_turns = 2, parallel = 1, require_call = true)]
struct Shop;

#[tokio::test]
async fn a_tool_agent_runs_its_turns_on_llama_server() {
    let Some(server) = llama_server(1).await else {
        return;
    };
    let runtime = runtime_on(
        Server::default(),
        vec![Endpoint::new(&server.url, &server.alias)],
    );
    let q = Question {
        question: "What does a keyboard cost?".into(),
    };
    let transcript = match run_with_transcript(&Shop, &runtime, q).await {
        Ok((_, t)) => t,
        Err(Error::ToolTurns { transcript, .. }) => transcript,
        Err(other) => panic!("{other}"),
    };
    // Two turns: the server took the conversation with its tool message.
    assert_eq!(transcript.turns.len(), 2, "{transcript}");
    let validator = jsonschema::validator_for(OutputSchema::of::<PriceOf>().full()).unwrap();
    let calls: Vec<_> = transcript.calls().collect();
    assert!(!calls.is_empty(), "{transcript}");
    for (call, _) in calls {
        assert_eq!(call.tool, "price_of");
        assert!(validator.is_valid(&call.args), "{}", call.args);
    }
    assert_eq!(runtime.usage().calls, 2);
}
