//! One runtime, models in two places: served aliases go to a [`Server`],
//! the others to an in-process backend.

use std::sync::Arc;

use agentkit::backend::{
    Backend, BackendError, Choice, Completion, Deltas, ModelReport, ModelSpec, Request, TokenCount,
};
use agentkit::Error;

use super::Server;

/// A backend that sends each request by where its model is: a model with
/// endpoints (`alias = { endpoints = [...] }` in `agentkit.toml`) to the
/// [`Server`] backend, any other to the local backend (llama.cpp in-process).
///
/// So moving an agent between the laptop and a server is an edit of
/// `agentkit.toml` alone.
#[derive(Clone)]
pub struct Router {
    local: Option<Arc<dyn Backend>>,
    server: Server,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("has_local", &self.local.is_some())
            .field("server", &self.server)
            .finish()
    }
}

impl Router {
    /// Local models on `local`, served ones on a [`Server`] with the default settings.
    pub fn new(local: impl Backend) -> Router {
        Router {
            local: Some(Arc::new(local)),
            server: Server::default(),
        }
    }

    /// Served models only: an agent whose model has no endpoints fails
    /// pre-flight saying so.
    pub fn served_only() -> Router {
        Router {
            local: None,
            server: Server::default(),
        }
    }

    /// With `server` (its settings) for the served models.
    pub fn with_server(mut self, server: Server) -> Router {
        self.server = server;
        self
    }

    /// The backend served models go to (its statistics, say).
    pub fn server(&self) -> &Server {
        &self.server
    }

    fn pick(&self, model: &ModelSpec, agent: &str) -> Result<&dyn Backend, Error> {
        if model.is_served() {
            return Ok(&self.server);
        }
        self.local.as_deref().ok_or_else(|| {
            Error::backend(
                agent,
                BackendError::configuration(format!(
                    "model `{}` is not served (it has no endpoints in agentkit.toml) and this \
                     router has no local backend; give it endpoints, or build the router with \
                     `Router::new(local_backend)`",
                    model.alias
                )),
            )
        })
    }
}

#[async_trait::async_trait]
impl Backend for Router {
    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        self.pick(&request.model, request.agent)?
            .generate(request)
            .await
    }

    /// Streams from the backend that runs the model: server-sent events from
    /// a server, the local backend's own streaming for an in-process model.
    async fn generate_streaming(
        &self,
        request: Request,
        deltas: Deltas,
    ) -> Result<Completion, Error> {
        self.pick(&request.model, request.agent)?
            .generate_streaming(request, deltas)
            .await
    }

    async fn choose(&self, request: Request, choices: Vec<Choice>) -> Result<Vec<Vec<f64>>, Error> {
        self.pick(&request.model, request.agent)?
            .choose(request, choices)
            .await
    }

    fn model(&self, alias: &str) -> Option<ModelSpec> {
        self.local.as_ref()?.model(alias)
    }

    fn system(&self, model: &ModelSpec) -> Option<&'static str> {
        self.pick(model, "").ok()?.system(model)
    }

    async fn check(&self, request: &Request) -> Result<(), Error> {
        self.pick(&request.model, request.agent)?
            .check(request)
            .await
    }

    async fn check_scored(&self, request: &Request) -> Result<(), Error> {
        self.pick(&request.model, request.agent)?
            .check_scored(request)
            .await
    }

    async fn count_tokens(&self, request: &Request) -> Result<TokenCount, Error> {
        self.pick(&request.model, request.agent)?
            .count_tokens(request)
            .await
    }

    async fn token_offsets(
        &self,
        model: &ModelSpec,
        text: &str,
    ) -> Result<Option<Vec<usize>>, Error> {
        self.pick(model, "")?.token_offsets(model, text).await
    }

    async fn report(&self, model: &ModelSpec) -> Result<Option<ModelReport>, Error> {
        self.pick(model, "")?.report(model).await
    }
}
