//! MCP over stdio, against a real rmcp server: this test binary itself,
//! started as `stdio serve`. So it has its own `main` (no libtest, whose
//! output would share the server's stdout): `stdio serve` serves the
//! calculator of `common` on stdin/stdout; without `serve` it runs the
//! tests below in turn (an argument that is not a flag filters them by
//! name) and exits non-zero if any failed.

mod common;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;

use agentkit::prelude::*;
use agentkit::tools::{run_with_transcript, ToolOutcome, ToolSource};
use agentkit_mcp::McpServer;
use agentkit_test::ScriptedBackend;
use common::{question, Calculating};
use rmcp::ServiceExt;
use serde_json::{json, Value};

fn calc() -> McpServer {
    let exe = std::env::current_exe().expect("the test binary's path");
    McpServer::stdio(exe.to_string_lossy(), ["serve"])
}

async fn listing() {
    common::tools_are_listed_with_their_schemas(&calc()).await;
}

async fn calls() {
    common::calls_return_results_and_errors(&calc()).await;
}

async fn agent_end_to_end() {
    common::an_agent_uses_the_server_end_to_end(calc()).await;
}

async fn schemas_are_the_grammar() {
    common::the_servers_schemas_are_the_calls_grammar(calc()).await;
}

async fn a_server_that_cannot_start_fails_pre_flight_naming_it() {
    let script = ScriptedBackend::new();
    let rt = Runtime::builder()
        .backend(script.clone())
        .tool_source(
            "calc",
            McpServer::stdio("agentkit-mcp-no-such-server", ["--flag"]),
        )
        .build();
    let err = Calculating.run(&rt, question()).await.unwrap_err();
    let Error::Preflight { report } = &err else {
        panic!("expected a pre-flight error, got {err:?}");
    };
    let problem = &report.problems[0];
    assert_eq!(problem.step, "Calculating");
    match problem.error.as_deref() {
        Some(Error::ToolSource { name, problem }) => {
            assert_eq!(
                name,
                "MCP server `agentkit-mcp-no-such-server --flag` (stdio)"
            );
            assert!(problem.contains("could not be started"), "{problem}");
            assert!(problem.contains("on PATH"), "{problem}");
        }
        other => panic!("expected Error::ToolSource, got {other:?}"),
    }
    assert!(err.to_string().contains("agentkit-mcp-no-such-server"));
    assert!(script.calls().is_empty(), "no model call");
}

async fn a_command_that_is_not_an_mcp_server_fails_the_handshake() {
    // `true` starts and exits at once without a word of MCP.
    let err = match McpServer::stdio("true", Vec::<String>::new()).tools().await {
        Ok(_) => panic!("`true` is not an MCP server"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(matches!(err, Error::ToolSource { .. }), "{err:?}");
    assert!(text.contains("MCP handshake"), "{text}");
}

/// Whether process `pid` has ended (gone, or a zombie not yet reaped).
fn ended(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

async fn dropping_the_runtime_ends_the_server_process() {
    // The agent asks the server for its process id, through the runtime.
    let script = ScriptedBackend::new()
        .reply::<Calculating>(json!({"calls": [{"tool": "pid", "args": {}}]}))
        .reply::<Calculating>(json!({"answer": {"text": "done"}}));
    let rt = Runtime::builder()
        .backend(script)
        .tool_source("calc", calc())
        .build();
    let (_, transcript) = run_with_transcript(&Calculating, &rt, question())
        .await
        .unwrap();
    let pid = match transcript.calls().next() {
        Some((_, ToolOutcome::Result(Value::String(pid)))) => pid.clone(),
        other => panic!("expected the server's pid, got {other:?}"),
    };
    assert_ne!(pid, std::process::id().to_string());
    assert!(!ended(&pid), "the server runs while the runtime lives");
    drop(rt);
    // The session closes on a background task; wait for the process to go
    // (a bound, not a measurement: it goes at once on any working machine).
    for _ in 0..200 {
        if ended(&pid) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the server process {pid} still runs after the runtime was dropped");
}

type Test = fn() -> Pin<Box<dyn Future<Output = ()>>>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        serve();
        return;
    }
    let tests: Vec<(&str, Test)> = vec![
        ("listing", || Box::pin(listing())),
        ("calls", || Box::pin(calls())),
        ("agent_end_to_end", || Box::pin(agent_end_to_end())),
        ("schemas_are_the_grammar", || {
            Box::pin(schemas_are_the_grammar())
        }),
        (
            "a_server_that_cannot_start_fails_pre_flight_naming_it",
            || Box::pin(a_server_that_cannot_start_fails_pre_flight_naming_it()),
        ),
        (
            "a_command_that_is_not_an_mcp_server_fails_the_handshake",
            || Box::pin(a_command_that_is_not_an_mcp_server_fails_the_handshake()),
        ),
        ("dropping_the_runtime_ends_the_server_process", || {
            Box::pin(dropping_the_runtime_ends_the_server_process())
        }),
    ];
    let filter = args.iter().find(|a| !a.starts_with('-'));
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in tests {
        if filter.is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a Tokio runtime")
                .block_on(test())
        }));
        match outcome {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(name);
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        println!("failed: {}", failed.join(", "));
        std::process::exit(1);
    }
}

/// Serves the calculator over stdin and stdout until the client leaves.
fn serve() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    rt.block_on(async {
        let server = common::Calc
            .serve(rmcp::transport::stdio())
            .await
            .expect("the MCP handshake");
        let _ = server.waiting().await;
    });
}
