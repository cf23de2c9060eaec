//! Servers for the server backend's tests: a real llama-server, and a
//! stand-in for what a real one cannot be made to do.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentkit::prelude::*;
use agentkit::Endpoint;
use agentkit_backends::server::{Router, Server, ServerConfig};
use agentkit_test::llama_server::{self as servers, LlamaServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---------------------------------------------------------------------------
// A real llama-server
// ---------------------------------------------------------------------------

/// The llama-server binary, or `None` (with a note) where none is built and
/// this is not CI. In CI a missing binary fails the test.
pub fn server_binary() -> Option<std::path::PathBuf> {
    if let Some(path) = servers::binary() {
        assert!(
            path.is_file(),
            "{} = {} is not a file; run scripts/fetch-llama-server.sh",
            servers::BINARY_VAR,
            path.display()
        );
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is not set; scripts/test.sh sets it after building llama-server with \
         scripts/fetch-llama-server.sh",
        servers::BINARY_VAR
    );
    eprintln!(
        "skipped: no llama-server ({} unset); run scripts/fetch-llama-server.sh and export it",
        servers::BINARY_VAR
    );
    None
}

/// One test's real servers at a time. llama.cpp's worker threads spin while
/// they wait, so two tests' servers (2 threads each) on a 2-core machine slow
/// each other by far more than 2x: in CI a 64-token answer once took over the
/// 120 s attempt timeout that way.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Real llama-servers a test holds, with its turn: the turn ends (and the
/// servers stop) when this is dropped.
pub struct Servers {
    /// The servers, in the order asked for.
    pub list: Vec<LlamaServer>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// A llama-server with SmolLM2 and `parallel` slots, or `None` (see
/// [`server_binary`]). Waits for this test's turn.
pub async fn llama_server(parallel: u32) -> Option<Servers> {
    llama_servers(&[parallel]).await
}

/// One llama-server with SmolLM2 per entry of `parallel` (its slots), or
/// `None` (see [`server_binary`]). Waits for this test's turn.
pub async fn llama_servers(parallel: &[u32]) -> Option<Servers> {
    let binary = server_binary()?;
    let turn = TURN.lock().await;
    let model = agentkit_backends::llama::default_model_path();
    let mut list = Vec::new();
    for &slots in parallel {
        match LlamaServer::start(&binary, &model, "smollm2", slots).await {
            Ok(s) => list.push(s),
            Err(e) => panic!("{e}"),
        }
    }
    Some(Servers { list, _turn: turn })
}

impl std::ops::Deref for Servers {
    type Target = LlamaServer;

    /// The first server.
    fn deref(&self) -> &LlamaServer {
        &self.list[0]
    }
}

/// A runtime that runs the alias `served` on `endpoints` with `server`.
pub fn runtime_on(server: Server, endpoints: Vec<Endpoint>) -> Runtime {
    Runtime::builder()
        .backend(Router::served_only().with_server(server))
        .served("served", endpoints)
        .build()
}

// ---------------------------------------------------------------------------
// A stand-in server, for what a real one cannot be made to do
// ---------------------------------------------------------------------------

/// What the stand-in does with one chat completion.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this message content, as one JSON body.
    Content(String),
    /// This status and body.
    Status(u16, String),
    /// Never answer.
    Hang,
    /// 200 `text/event-stream`: these bytes, each piece written on its own
    /// a moment after the last, then the connection closed (or, with
    /// `hang`, held open without another byte).
    Events { pieces: Vec<Vec<u8>>, hang: bool },
}

/// The events of a streamed chat completion whose message content comes in
/// `deltas`, as llama-server sends them: a role event, one event a delta,
/// the finish reason, the usage, `[DONE]`. One string, to be cut anywhere.
pub fn sse_body(deltas: &[&str]) -> String {
    let mut body = sse_deltas(deltas);
    body.push_str(&event(serde_json::json!({
        "choices": [{ "index": 0, "finish_reason": "stop", "delta": {} }]
    })));
    body.push_str(&event(serde_json::json!({
        "choices": [], "usage": { "prompt_tokens": 10, "completion_tokens": deltas.len() }
    })));
    body.push_str("data: [DONE]\n\n");
    body
}

/// The start of [`sse_body`]: the role and the deltas, no end (what a
/// server that dies mid-answer sends).
pub fn sse_deltas(deltas: &[&str]) -> String {
    let mut body = event(serde_json::json!({
        "choices": [{ "index": 0, "finish_reason": null, "delta": { "role": "assistant", "content": null } }]
    }));
    for d in deltas {
        body.push_str(&event(serde_json::json!({
            "choices": [{ "index": 0, "finish_reason": null, "delta": { "content": d } }]
        })));
    }
    body
}

fn event(v: serde_json::Value) -> String {
    format!("data: {v}\n\n")
}

/// `body` cut at the byte offsets `cuts`, for [`Reply::Events`].
pub fn cut(body: &str, cuts: &[usize]) -> Vec<Vec<u8>> {
    let bytes = body.as_bytes();
    let mut pieces = Vec::new();
    let mut from = 0;
    for &at in cuts {
        pieces.push(bytes[from..at].to_vec());
        from = at;
    }
    pieces.push(bytes[from..].to_vec());
    pieces
}

/// A stand-in OpenAI-compatible server on a free port that answers every
/// chat completion with the next reply of `script` (the last one repeats),
/// lists `smollm2` under `/v1/models` and has no `/props` (so it is not
/// llama.cpp). Keeps each request's `Authorization` header and body.
pub struct StandIn {
    pub url: String,
    pub seen: Arc<AtomicUsize>,
    pub auth: Arc<Mutex<Vec<String>>>,
    /// The body of each chat completion request, in order.
    pub bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn stand_in(script: Vec<Reply>) -> StandIn {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let auth = Arc::new(Mutex::new(Vec::new()));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let (seen2, auth2, bodies2) = (seen.clone(), auth.clone(), bodies.clone());
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (seen, auth, bodies, script) = (
                seen2.clone(),
                auth2.clone(),
                bodies2.clone(),
                script.clone(),
            );
            tokio::spawn(async move {
                let (head, body) = read_request(&mut socket).await;
                let reply = if head.starts_with("GET /v1/models") {
                    Reply::Status(200, r#"{"object":"list","data":[{"id":"smollm2"}]}"#.into())
                } else if head.starts_with("GET ") {
                    Reply::Status(404, "not found".into())
                } else {
                    if let Some(line) = head
                        .lines()
                        .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                    {
                        auth.lock().unwrap().push(line[14..].trim().to_string());
                    }
                    bodies
                        .lock()
                        .unwrap()
                        .push(serde_json::from_str(&body).unwrap_or_default());
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    script[n.min(script.len() - 1)].clone()
                };
                let (status, body) = match reply {
                    Reply::Hang => {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                        return;
                    }
                    Reply::Events { pieces, hang } => {
                        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                                    cache-control: no-cache\r\nconnection: close\r\n\r\n";
                        let _ = socket.write_all(head.as_bytes()).await;
                        for piece in pieces {
                            // Apart in time, so the client reads them apart.
                            tokio::time::sleep(Duration::from_millis(30)).await;
                            let _ = socket.write_all(&piece).await;
                            let _ = socket.flush().await;
                        }
                        if hang {
                            tokio::time::sleep(Duration::from_secs(600)).await;
                        }
                        let _ = socket.shutdown().await;
                        return;
                    }
                    Reply::Status(s, b) => (s, b),
                    Reply::Content(c) => (
                        200,
                        serde_json::json!({
                            "choices": [{ "finish_reason": "stop", "message": { "role": "assistant", "content": c } }],
                            "usage": { "prompt_tokens": 10, "completion_tokens": 5 }
                        })
                        .to_string(),
                    ),
                };
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    StandIn {
        url,
        seen,
        auth,
        bodies,
        task,
    }
}

/// Reads one HTTP request and returns its head and body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> (String, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let l = l.to_ascii_lowercase();
                    l.strip_prefix("content-length:")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                return (text[..end].to_string(), text[end + 4..].to_string());
            }
        }
    }
    (String::from_utf8_lossy(&data).to_string(), String::new())
}

/// A URL nothing listens on.
pub fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// A backend that tries each endpoint once.
pub fn quick() -> Server {
    Server::new(ServerConfig::default().rounds(1))
}
