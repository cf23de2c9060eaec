//! Tools from [MCP](https://modelcontextprotocol.io) servers for agentkit
//! agents, through the official Rust SDK [`rmcp`].
//!
//! An [`McpServer`] is a [`ToolSource`]: register it on the runtime under a
//! name and name that in an agent's `tool_sources`. At pre-flight the
//! runtime connects (starting a stdio server's process, or opening a
//! streamable HTTP session), lists the server's tools, and builds each turn's
//! grammar from their input schemas, so the model can only write calls with
//! arguments the server accepts. Each call is checked against the schema,
//! sent as `tools/call`, and its result (the structured content where the
//! server gives it, else the text) is fed back to the model; a result the
//! server marks `isError` comes back as the call's error, which the model
//! reads and can recover from.
//!
//! ```no_run
//! use agentkit::prelude::*;
//! use agentkit_mcp::McpServer;
//!
//! #[derive(Debug, Serialize, Deserialize, JsonSchema)]
//! struct Question {
//!     question: String,
//! }
//!
//! #[derive(Debug, Serialize, Deserialize, JsonSchema)]
//! struct Reply {
//!     text: String,
//! }
//!
//! /// Answer the question, reading files where that helps.
//! #[agent(model = "smollm2-135m", input = Question, output = Reply, tool_sources = ["files"])]
//! struct Reader;
//!
//! # async fn run(backend: impl agentkit::Backend) -> Result<(), agentkit::Error> {
//! let files = McpServer::stdio("mcp-server-filesystem", ["/srv/notes"])
//!     .timeout(std::time::Duration::from_secs(10));
//! let rt = Runtime::builder()
//!     .backend(backend)
//!     .tool_source("files", files)
//!     .build();
//! let reply = Reader
//!     .run(&rt, Question { question: "What is in todo.txt?".into() })
//!     .await?;
//! println!("{}", reply.text);
//! # Ok(())
//! # }
//! ```
//!
//! A server that cannot start, connect or list its tools fails pre-flight
//! with [`agentkit::Error::ToolSource`], naming the server and what to do,
//! before any model call. A stdio server's process is killed when the
//! runtime (and so the last of its tools) is dropped.

#![warn(missing_docs)]

mod connect;
mod schema;
mod tool;

use std::sync::Arc;
use std::time::Duration;

use agentkit::tools::{DynTool, ToolSource};
use tokio::sync::Mutex;

use connect::{Connection, Endpoint};
use tool::McpTool;

/// How long connecting, listing the tools, or one call may take unless
/// [`McpServer::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An MCP server whose tools agents may call: a [`ToolSource`] to register
/// with [`RuntimeBuilder::tool_source`](agentkit::RuntimeBuilder::tool_source).
///
/// Nothing happens until the runtime first asks for its tools (at
/// pre-flight); then it connects once, and the session is shared by every
/// agent that names the source.
pub struct McpServer {
    endpoint: Endpoint,
    timeout: Duration,
    connection: Mutex<Option<Arc<Connection>>>,
}

impl McpServer {
    /// A server started as the process `command args..`, speaking MCP over
    /// its stdin and stdout (its stderr goes to this process's stderr). The
    /// command is looked up on `PATH` unless it is a path.
    pub fn stdio<A: Into<String>>(
        command: impl Into<String>,
        args: impl IntoIterator<Item = A>,
    ) -> McpServer {
        McpServer::new(Endpoint::Stdio {
            command: command.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
        })
    }

    /// A server at `url` speaking MCP's streamable HTTP transport (the URL
    /// of its MCP endpoint, often ending in `/mcp`). `https` URLs are
    /// checked against the webpki root certificates.
    pub fn http(url: impl Into<String>) -> McpServer {
        McpServer::new(Endpoint::Http {
            url: url.into(),
            bearer: None,
        })
    }

    fn new(endpoint: Endpoint) -> McpServer {
        McpServer {
            endpoint,
            timeout: DEFAULT_TIMEOUT,
            connection: Mutex::new(None),
        }
    }

    /// How long connecting and listing the tools may take, and how long
    /// each of its tools may run per call (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> McpServer {
        self.timeout = timeout;
        self
    }

    /// Sets the environment variable `key` to `value` for a stdio server's
    /// process (added to this process's environment). An HTTP server has
    /// no process here, so this does nothing for one.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> McpServer {
        if let Endpoint::Stdio { env, .. } = &mut self.endpoint {
            env.push((key.into(), value.into()));
        }
        self
    }

    /// Sends `token` as `Authorization: Bearer <token>` with every request
    /// to an HTTP server. A stdio server has no requests of that kind, so
    /// this does nothing for one.
    pub fn bearer_token(mut self, token: impl Into<String>) -> McpServer {
        if let Endpoint::Http { bearer, .. } = &mut self.endpoint {
            *bearer = Some(token.into());
        }
        self
    }

    /// How errors name this server: `MCP server `cmd args` (stdio)` or
    /// `MCP server at URL (streamable HTTP)`.
    pub fn describe(&self) -> String {
        format!("MCP server {}", self.endpoint.describe())
    }

    /// The live session, connecting first if there is none.
    async fn connection(&self) -> Result<Arc<Connection>, McpError> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = Arc::new(self.endpoint.connect().await?);
        *slot = Some(c.clone());
        Ok(c)
    }

    async fn list(&self) -> Result<Vec<Arc<dyn DynTool>>, McpError> {
        let connection = self.connection().await?;
        let tools = match connection.list_tools().await {
            Ok(tools) => tools,
            Err(e) => {
                // The session may be broken: the next listing starts anew.
                *self.connection.lock().await = None;
                return Err(e);
            }
        };
        Ok(tools
            .into_iter()
            .map(|t| {
                Arc::new(McpTool::new(t, self.timeout, connection.clone())) as Arc<dyn DynTool>
            })
            .collect())
    }
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("server", &self.endpoint.describe())
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[async_trait::async_trait]
impl ToolSource for McpServer {
    /// Connects (once), lists every tool the server has, and gives one
    /// [`DynTool`] per tool. Fails with [`agentkit::Error::ToolSource`].
    async fn tools(&self) -> Result<Vec<Arc<dyn DynTool>>, agentkit::Error> {
        let problem = match tokio::time::timeout(self.timeout, self.list()).await {
            Ok(Ok(tools)) => return Ok(tools),
            Ok(Err(e)) => e.to_string(),
            Err(_) => {
                // A session that hangs is not kept: the next listing starts anew.
                *self.connection.lock().await = None;
                format!(
                "it did not connect and list its tools within {} ms; check that it starts and answers, or give it longer with `McpServer::timeout`",
                    self.timeout.as_millis()
                )
            }
        };
        Err(agentkit::Error::ToolSource {
            name: self.describe(),
            problem,
        })
    }
}

/// Why a server could not give its tools: the `problem` of
/// [`agentkit::Error::ToolSource`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum McpError {
    #[error("its command `{command}` could not be started: {reason}; check that it is installed and on PATH, or give its full path")]
    Spawn {
        command: String,
        reason: std::io::Error,
    },
    #[error("the HTTP client for it could not be built: {reason}")]
    Client { reason: String },
    #[error("it did not complete the MCP handshake: {reason}; check that {server} is an MCP server (a stdio server writes nothing but MCP messages on stdout; an HTTP server's URL is its MCP endpoint, often ending in `/mcp`)")]
    Handshake { server: String, reason: String },
    #[error("it connected but did not list its tools: {reason}; see the server's own log")]
    List { reason: String },
}
