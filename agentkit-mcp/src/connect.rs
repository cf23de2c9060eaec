//! Connecting to an MCP server: starting a stdio server's process, or
//! opening a streamable HTTP session, then the MCP handshake.

use std::sync::Arc;

use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};

use crate::McpError;

/// A live session with one server, shared by the source and its tools; the
/// session (and a stdio server's process) ends when the last is dropped.
pub(crate) struct Connection {
    /// The rmcp client running the session.
    pub(crate) service: RunningService<RoleClient, ()>,
    /// How errors name the server.
    pub(crate) server: String,
}

/// Where a server is and how to reach it.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    /// A command speaking MCP over its stdin and stdout.
    Stdio {
        command: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    /// A streamable HTTP endpoint.
    Http { url: String, bearer: Option<String> },
}

impl Endpoint {
    /// How errors name the server: its command line or its URL.
    pub(crate) fn describe(&self) -> String {
        match self {
            Endpoint::Stdio { command, args, .. } => {
                let mut line = command.clone();
                for a in args {
                    line.push(' ');
                    line.push_str(a);
                }
                format!("`{line}` (stdio)")
            }
            Endpoint::Http { url, .. } => format!("at {url} (streamable HTTP)"),
        }
    }

    /// Starts or opens the server and runs the MCP handshake.
    pub(crate) async fn connect(&self) -> Result<Connection, McpError> {
        let server = self.describe();
        let handshake = |e: rmcp::service::ClientInitializeError| McpError::Handshake {
            server: server.clone(),
            reason: e.to_string(),
        };
        let service = match self {
            Endpoint::Stdio { command, args, env } => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(args).kill_on_drop(true);
                for (k, v) in env {
                    cmd.env(k, v);
                }
                let transport = TokioChildProcess::new(cmd).map_err(|e| McpError::Spawn {
                    command: command.clone(),
                    reason: e,
                })?;
                ().serve(transport).await.map_err(handshake)?
            }
            Endpoint::Http { url, bearer } => {
                let client = http_client().map_err(|reason| McpError::Client { reason })?;
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                if let Some(token) = bearer {
                    config = config.auth_header(token.clone());
                }
                let transport = StreamableHttpClientTransport::with_client(client, config);
                ().serve(transport).await.map_err(handshake)?
            }
        };
        Ok(Connection { service, server })
    }
}

/// The HTTP client of the streamable HTTP transport: rustls on ring with
/// the webpki roots, no idle connections kept (a reused connection whose
/// last response was not read to the end stalls on delayed ACKs), and no
/// redirects followed (a redirected POST may lose its body or carry the
/// session to another host).
fn http_client() -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

impl Connection {
    /// Every tool the server lists, page by page.
    pub(crate) async fn list_tools(&self) -> Result<Vec<rmcp::model::Tool>, McpError> {
        self.service
            .peer()
            .list_all_tools()
            .await
            .map_err(|e| McpError::List {
                reason: e.to_string(),
            })
    }
}
