//! Models served over HTTP: the OpenAI-compatible chat completions API of
//! llama-server, Ollama, vLLM and others.
//!
//! [`Server`] implements [`agentkit::Backend`] for models whose
//! [`ModelSpec`] has endpoints (an `agentkit.toml` entry
//! `alias = { endpoints = [...] }`). Per request it
//!
//! - picks an endpoint (least busy, or round robin) and, on connection
//!   refused, a timeout, HTTP 429 or 5xx, or a body that is not a chat
//!   completion, moves the request to the next one: no request is lost while
//!   any endpoint is up. Each attempt is a `tracing` span `attempt` with the
//!   endpoint's URL;
//! - constrains the output: where the server takes a grammar (llama-server),
//!   the same compact grammar agentkit uses in-process, so answers stay as
//!   short as in-process; elsewhere `response_format` with the output type's
//!   JSON schema;
//! - validates the answer against the schema, because servers do not always
//!   enforce it; a violation says the server did not constrain its output,
//!   names the endpoint, and is retried where the agent allows retries;
//! - scores choices from token log-probabilities where the server gives them
//!   with a grammar (llama-server); elsewhere pre-flight says it cannot;
//! - streams ([`Backend::generate_streaming`]): the same request with
//!   `stream: true`, its server-sent events passed on as text deltas. An
//!   endpoint that fails after some text was passed on is followed by a
//!   [`Restart::Backend`](agentkit::backend::Restart::Backend) and the answer
//!   of the next endpoint.
//!
//! Mix served and in-process models in one runtime with [`Router`]:
//!
//! ```no_run
//! use agentkit::prelude::*;
//! use agentkit_backends::llama::{Llama, LlamaConfig};
//! use agentkit_backends::server::Router;
//!
//! # fn main() -> Result<(), agentkit::Error> {
//! // agentkit.toml:
//! //   [models]
//! //   screen = "smollm2-135m"
//! //   judge = { endpoints = [{ url = "http://127.0.0.1:8080", model = "smollm2" }] }
//! let runtime = Runtime::builder()
//!     .backend(Router::new(Llama::new(LlamaConfig::default())?))
//!     .manifest("agentkit.toml")?
//!     .build();
//! # Ok(()) }
//! ```

// One idea a file, below the `Backend` impl here: what is configured
// (`config`), known about endpoints (`endpoints`, `caps`), decided after an
// attempt (`failover`, a pure policy) apart from how requests are sent
// (`dispatch` runs the loop, `attempt` one HTTP exchange, `relay` a stream),
// and what each entry point does (`generate`, `scoring`, `preflight`).
mod attempt;
mod caps;
mod config;
mod count;
mod dispatch;
mod endpoints;
mod errors;
mod failover;
mod gbnf;
mod generate;
mod http;
mod preflight;
mod relay;
mod router;
mod scoring;
mod sse;
mod stats;
mod think;
mod validate;
mod wire;

use std::sync::Arc;

use agentkit::backend::{Backend, Choice, Completion, Deltas, ModelSpec, Request, TokenCount};
use agentkit::Error;

pub use config::{Constraint, Selection, ServerConfig};
pub use router::Router;
pub use stats::ServerStats;

/// The OpenAI-compatible HTTP backend. Cheap to clone; clones share the
/// connection pool, what is known about each endpoint, and the statistics.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

/// What clones of a [`Server`] share.
struct Inner {
    client: reqwest::Client,
    config: ServerConfig,
    endpoints: endpoints::Endpoints,
    validators: validate::Validators,
    stats: stats::Counters,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for Server {
    fn default() -> Self {
        Server::new(ServerConfig::default())
    }
}

impl Server {
    /// A backend with `config`.
    pub fn new(config: ServerConfig) -> Server {
        Server {
            inner: Arc::new(Inner {
                client: reqwest::Client::new(),
                config,
                endpoints: endpoints::Endpoints::default(),
                validators: validate::Validators::default(),
                stats: stats::Counters::default(),
            }),
        }
    }

    /// Attempts, moved attempts and schema violations so far.
    pub fn stats(&self) -> ServerStats {
        self.inner.stats.snapshot()
    }
}

#[async_trait::async_trait]
impl Backend for Server {
    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        self.complete(request, None).await
    }

    /// The same request with `stream: true`: the text of each server-sent
    /// event goes to `deltas` as it arrives; the answer is checked as
    /// [`generate`](Backend::generate) checks it. An endpoint that fails
    /// after some text was sent is followed by a
    /// [`Restart::Backend`](agentkit::backend::Restart::Backend) and the
    /// next endpoint's answer; one that fails before any is left silently.
    async fn generate_streaming(
        &self,
        request: Request,
        deltas: Deltas,
    ) -> Result<Completion, Error> {
        self.complete(request, Some(&deltas)).await
    }

    async fn choose(&self, request: Request, choices: Vec<Choice>) -> Result<Vec<Vec<f64>>, Error> {
        errors::no_reasoning(&request, "scored choices on the server backend")?;
        self.scores(request, choices).await
    }

    /// `openai`: the servers speak the OpenAI-compatible API.
    fn system(&self, _model: &ModelSpec) -> Option<&'static str> {
        Some("openai")
    }

    /// Exact on llama-server (its `/apply-template` and `/tokenize`, with
    /// its slots' context from `/props`); estimated on other servers, which
    /// have no tokenize endpoint, and then nothing is fitted.
    async fn count_tokens(&self, request: &Request) -> Result<TokenCount, Error> {
        self.count(request).await
    }

    async fn check(&self, request: &Request) -> Result<(), Error> {
        self.preflight(request).await
    }

    async fn check_scored(&self, request: &Request) -> Result<(), Error> {
        errors::no_reasoning(request, "scored choices on the server backend")?;
        self.preflight_scored(request).await
    }
}
