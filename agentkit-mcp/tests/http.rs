//! MCP over streamable HTTP, against a real rmcp server served in this
//! process on 127.0.0.1, on a port the OS picks.

mod common;

use std::sync::Arc;

use agentkit::prelude::*;
use agentkit::tools::ToolSource;
use agentkit_mcp::McpServer;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

/// Serves the calculator at `http://127.0.0.1:PORT/mcp` until the test's
/// runtime ends; returns that URL.
async fn serve() -> String {
    let service = StreamableHttpService::new(
        || Ok(common::Calc),
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
