//! MCP over streamable HTTP, against a real rmcp server served in this
//! process on 127.0.0.1, on a port the OS picks.

mod common;

use std::sync::Arc;

use agentkit::prelude::*;
use agentkit::tools::ToolSource;
use agentkit_mcp::McpServer;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rmcp::model::{
    ErrorData, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleServer, ServerHandler};

/// Serves the calculator at `http://127.0.0.1:PORT/mcp` until the test's
/// runtime ends; returns that URL.
async fn serve() -> String {
    serve_this(common::Calc).await
}

/// Serves `server` (one copy a session) the same way.
async fn serve_this<S: ServerHandler + Clone + Send + Sync + 'static>(server: S) -> String {
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/mcp")
}

#[tokio::test]
async fn tools_are_listed_with_their_schemas() {
    common::tools_are_listed_with_their_schemas(&McpServer::http(serve().await)).await;
}

#[tokio::test]
async fn calls_return_results_and_errors() {
    common::calls_return_results_and_errors(&McpServer::http(serve().await)).await;
}

#[tokio::test]
async fn an_agent_uses_the_server_end_to_end() {
    common::an_agent_uses_the_server_end_to_end(McpServer::http(serve().await)).await;
}

#[tokio::test]
async fn the_servers_schemas_are_the_calls_grammar() {
    common::the_servers_schemas_are_the_calls_grammar(McpServer::http(serve().await)).await;
}

/// A server that lists its three tools one a page, as a big server may.
#[derive(Clone)]
struct Paged;

impl ServerHandler for Paged {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let page: usize = request
            .and_then(|r| r.cursor)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let schema = serde_json::json!({"type": "object", "properties": {}});
        let schema = schema.as_object().cloned().unwrap_or_default();
        let tool = Tool::new(format!("tool_{page}"), "One of three.", schema);
        let mut result = ListToolsResult::with_all_items(vec![tool]);
        if page < 2 {
            result.next_cursor = Some((page + 1).to_string());
        }
        Ok(result)
    }
}

#[tokio::test]
async fn every_page_of_tools_is_listed() {
    let tools = McpServer::http(serve_this(Paged).await)
        .tools()
        .await
        .unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
    assert_eq!(names, vec!["tool_0", "tool_1", "tool_2"]);
    // A tool without arguments takes exactly `{}`.
    assert_eq!(tools[0].schema().full()["additionalProperties"], false);
}

#[tokio::test]
async fn a_port_nobody_serves_fails_with_a_typed_error_naming_the_url() {
    // Bind a port, then free it: nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    drop(listener);
    let err = match McpServer::http(url.as_str()).tools().await {
        Ok(_) => panic!("nothing serves {url}"),
        Err(e) => e,
    };
    match &err {
        Error::ToolSource { name, problem } => {
            assert_eq!(name, &format!("MCP server at {url} (streamable HTTP)"));
            assert!(problem.contains("MCP handshake"), "{problem}");
        }
        other => panic!("expected Error::ToolSource, got {other:?}"),
    }
}

/// Add two numbers with the calculator, then answer.
#[agent(model = "smollm2-135m", temperature = 0.0, max_tokens = 64, input = common::Question,
        output = common::Reply, tool_sources = ["calc"], max_turns = 1, parallel = 1,
        require_call = true)]
struct SmolCalc;

// On the real default model: the server's input schemas compile into the
// llama.cpp backend's turn grammar, SmolLM2 writes a call under it, and the
// server runs it. One turn: the call is what is checked.
#[tokio::test]
async fn smollm2_calls_a_tool_of_the_server_under_its_schema() {
    let llama = agentkit_backends::llama::Llama::new(
        agentkit_backends::llama::LlamaConfig::default().threads(2),
    )
    .unwrap();
    let runtime = Runtime::builder()
        .backend(llama)
        .tool_source("calc", McpServer::http(serve().await))
        .build();
    let transcript =
        match agentkit::tools::run_with_transcript(&SmolCalc, &runtime, common::question()).await {
            Err(Error::ToolTurns { transcript, .. }) => transcript,
            other => panic!("one turn that must call: {other:?}"),
        };
    let (call, outcome) = transcript.calls().next().expect("a call");
    assert!(
        ["add", "lookup", "pid"].contains(&call.tool.as_str()),
        "{call:?}"
    );
    // The server ran it: a result, or the server's own error about the
    // arguments, never an argument the schema refused before the call.
    if let agentkit::tools::ToolOutcome::Error(e) = outcome {
        assert!(!e.contains("arguments are not valid"), "{e}");
    }
    assert_eq!(runtime.usage().tool_calls, 1);
}
