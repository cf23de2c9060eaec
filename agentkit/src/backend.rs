//! The `Backend` trait: what runs a rendered prompt on a model.

use std::path::PathBuf;
use std::time::Duration;

use crate::stream::Deltas;
use crate::{Error, Prompt, Sampling};

/// A model as the runtime knows it: the alias agents name, and where the
/// backend finds it (a weights file for an in-process backend, or the
/// servers that serve it).
///
/// Built with [`ModelSpec::new`] or [`ModelSpec::served`]; marked
/// `#[non_exhaustive]` so it can grow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelSpec {
    /// The alias agents name, e.g. `"screen"`.
    pub alias: String,
    /// Where the backend finds the model. For a served model, a key that
    /// names it (`<url>#<model>` of its first endpoint), not a file.
    pub path: PathBuf,
    /// The servers that serve the model over an OpenAI-compatible API; empty
    /// for a model run in-process.
    pub endpoints: Vec<Endpoint>,
}

impl ModelSpec {
    /// The model `alias`, found at `path`.
    pub fn new(alias: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        ModelSpec {
            alias: alias.into(),
            path: path.into(),
            endpoints: Vec::new(),
        }
    }

    /// The model `alias`, served by `endpoints` (an HTTP backend such as
    /// `agentkit_backends::server::Server` runs it).
    pub fn served(alias: impl Into<String>, endpoints: Vec<Endpoint>) -> Self {
        let path = endpoints
            .first()
            .map(|e| format!("{}#{}", e.url, e.model))
            .unwrap_or_default();
        ModelSpec {
            alias: alias.into(),
            path: path.into(),
            endpoints,
        }
    }

    /// The same model under another alias.
    pub fn renamed(&self, alias: impl Into<String>) -> Self {
        ModelSpec {
            alias: alias.into(),
            ..self.clone()
        }
    }

    /// Whether servers run this model (it has endpoints) rather than an
    /// in-process backend.
    pub fn is_served(&self) -> bool {
        !self.endpoints.is_empty()
    }
}

/// One server that serves a model over the OpenAI-compatible chat
/// completions API: what an `agentkit.toml` entry
/// `{ url = "...", model = "...", api_key_env = "...", timeout_s = 30 }` says.
///
/// Built with [`Endpoint::new`] and the `with_` methods; `#[non_exhaustive]`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// The base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The name the server serves the model under.
    pub model: String,
    /// The environment variable holding the API key, if one is needed. Only
    /// the variable's name is kept here; the key is read when a request is
    /// sent and never logged.
    pub api_key_env: Option<String>,
    /// How long one attempt may take before another endpoint is tried.
    pub timeout: Duration,
}

impl Endpoint {
    /// How long an attempt may take unless the manifest says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

    /// The model `model` served at `url`, with no API key and the default timeout.
    pub fn new(url: impl Into<String>, model: impl Into<String>) -> Self {
        Endpoint {
            url: url.into().trim_end_matches('/').to_string(),
            model: model.into(),
            api_key_env: None,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// With the API key read from the environment variable `var`.
    pub fn with_api_key_env(mut self, var: impl Into<String>) -> Self {
        self.api_key_env = Some(var.into());
        self
    }

    /// With a timeout per attempt.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The variable's name only: the key itself is never read here.
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key_env", &self.api_key_env)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One generation request, everything a backend needs to answer it.
///
/// Built with [`Request::new`] or, for an agent and an input, with
/// [`Request::for_agent`]; `#[non_exhaustive]` so it can grow.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Request {
    /// The agent being run, for errors and traces.
    pub agent: &'static str,
    /// The model to run it on.
    pub model: ModelSpec,
    /// The chat messages to send.
    pub prompt: Prompt,
    /// The JSON schema of the output type, as [`output_schema`](crate::output_schema)
    /// gives it. A constraining backend turns
    /// [`grammar_schema`](crate::grammar_schema) of it into a decoding grammar.
    pub schema: serde_json::Value,
    /// Sampling settings from the agent.
    pub sampling: Sampling,
}

impl Request {
    /// A request for `agent` to run `prompt` on `model`, its output
    /// constrained by `schema`, its tokens picked by `sampling`.
    pub fn new(
        agent: &'static str,
        model: ModelSpec,
        prompt: Prompt,
        schema: serde_json::Value,
        sampling: Sampling,
    ) -> Self {
        Request {
            agent,
            model,
            prompt,
            schema,
            sampling,
        }
    }

    /// The request the agent `A` sends for `input` on `runtime`: its model
    /// resolved, its prompt rendered, its output schema and its sampling.
    pub fn for_agent<A: crate::Agent>(
        runtime: &crate::Runtime,
        input: &A::Input,
    ) -> Result<Self, Error> {
        Ok(Request::new(
            A::NAME,
            runtime.resolve(A::NAME, A::MODEL)?,
            Prompt::render::<A>(input)?,
            crate::output_schema::<A::Output>(),
            A::SAMPLING,
        ))
    }
}

/// What a backend produced for a [`Request`].
///
/// Built with [`Completion::new`] and the `with_` methods;
/// `#[non_exhaustive]` so it can grow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Completion {
    /// The generated text (JSON for a constraining backend).
    pub text: String,
    /// Tokens in the prompt as the model saw it.
    pub prompt_tokens: usize,
    /// Of those, how many were already evaluated in a kept cache (a prefix
    /// shared with an earlier call) and not computed again.
    pub cached_prompt_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Time spent evaluating the prompt (zero where a backend does not measure it).
    pub prompt_time: Duration,
    /// Time spent generating (zero where a backend does not measure it).
    pub generate_time: Duration,
    /// Set by a backend that could not be sure decoding was constrained
    /// (a server that may ignore the schema) and found that `text` breaks
    /// [`grammar_schema`](crate::grammar_schema): what is wrong and where the
    /// text came from. The runtime treats it like an answer that does not
    /// parse: it asks again where the agent allows retries, else fails with
    /// [`Error::SchemaMismatch`].
    pub violation: Option<String>,
}

impl Completion {
    /// The text `text`, with no token counts or timings yet.
    pub fn new(text: impl Into<String>) -> Self {
        Completion {
            text: text.into(),
            prompt_tokens: 0,
            cached_prompt_tokens: 0,
            generated_tokens: 0,
            prompt_time: Duration::ZERO,
            generate_time: Duration::ZERO,
            violation: None,
        }
    }

    /// With the token counts: the prompt's, how many of those came from a
    /// kept cache, and the generated ones.
    pub fn with_tokens(mut self, prompt: usize, cached_prompt: usize, generated: usize) -> Self {
        self.prompt_tokens = prompt;
        self.cached_prompt_tokens = cached_prompt;
        self.generated_tokens = generated;
        self
    }

    /// Marks the text as breaking the output schema, for the reason given
    /// (see [`Completion::violation`]).
    pub fn with_violation(mut self, reason: impl Into<String>) -> Self {
        self.violation = Some(reason.into());
        self
    }

    /// With the time spent evaluating the prompt and generating.
    pub fn with_times(mut self, prompt: Duration, generate: Duration) -> Self {
        self.prompt_time = prompt;
        self.generate_time = generate;
        self
    }
}

/// One decision for scored choices: after the text so far plus `lead`, which
/// of `options` does the model find likeliest?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Text appended before the options (e.g. `{"relevant":`).
    pub lead: String,
    /// The allowed continuations (e.g. `true`, `false`).
    pub options: Vec<String>,
}

/// Runs prompts on models. Implemented by the llama.cpp backend in
/// `agentkit-backends` and by the scripted test backend (`agentkit::testing::ScriptedBackend`, feature `testing`).
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Generate the output for one request.
    ///
    /// A backend that can constrain decoding must never return text that
    /// escapes [`grammar_schema`](crate::grammar_schema)`(&request.schema)`;
    /// one that cannot must say so in its docs.
    async fn generate(&self, request: Request) -> Result<Completion, Error>;

    /// [`generate`](Backend::generate), sending the text to `deltas` as it
    /// is written, so a caller can show it before the answer is done (see
    /// [`Streams`](crate::Streams)). The deltas of one call concatenate to
    /// the completion's text, unless the backend sent a
    /// [`restart`](Deltas::restart), after which they start again.
    ///
    /// A backend that stops early when [`Deltas::send`] returns `false`
    /// (nobody listens) saves the rest of the generation; the caller's future
    /// is usually dropped at the same time anyway.
    ///
    /// The default generates the whole answer and sends it as one delta.
    async fn generate_streaming(
        &self,
        request: Request,
        deltas: Deltas,
    ) -> Result<Completion, Error> {
        let completion = self.generate(request).await?;
        deltas.send(&completion.text);
        Ok(completion)
    }

    /// Scored choices: after the prompt, for each choice in order, the log
    /// probability of each option following the text so far plus the
    /// choice's lead; the likeliest option is appended before the next
    /// choice. Backends without access to token probabilities say so.
    async fn choose(&self, request: Request, choices: Vec<Choice>) -> Result<Vec<Vec<f64>>, Error> {
        let _ = choices;
        Err(Error::Backend {
            agent: request.agent.to_string(),
            reason:
                "this backend cannot score choices; use the llama.cpp backend or sample instead"
                    .into(),
        })
    }

    /// Pre-flight for scored choices with `request`'s model, before any
    /// call: a backend that cannot score choices on it (no access to token
    /// log-probabilities) says so here. The default accepts.
    async fn check_scored(&self, request: &Request) -> Result<(), Error> {
        let _ = request;
        Ok(())
    }

    /// A model this backend provides under `alias` without registration
    /// (its default model, say), or `None`. The runtime asks when an agent
    /// names an alias that was not registered with it.
    fn model(&self, alias: &str) -> Option<ModelSpec> {
        let _ = alias;
        None
    }

    /// Pre-flight for one agent, before any token: the model can be loaded,
    /// the schema compiles to a grammar, and `request.prompt` (the system
    /// message and any few-shot examples: everything but the input) plus
    /// `max_tokens` fits the context. The default accepts
    /// everything; backends that can fail on these must check them.
    async fn check(&self, request: &Request) -> Result<(), Error> {
        let _ = request;
        Ok(())
    }
}
