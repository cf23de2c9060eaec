//! For those who write a backend: the [`Backend`] trait and everything it
//! is given and gives back.
//!
//! A backend gets a [`Request`] (the agent's name, its model as a
//! [`ModelSpec`], the rendered [`Prompt`](crate::Prompt), the input as JSON,
//! the output's [`OutputSchema`] and its [`Sampling`](crate::Sampling)) and
//! answers with a [`Completion`]; a streaming call also gets a [`Deltas`]
//! channel for the text as it is written. A failure is an
//! [`Error`]; one of the backend's own is a [`BackendError`],
//! which keeps its cause.
//!
//! Users do not need this module: they hand a backend to
//! [`Runtime::builder`](crate::Runtime::builder) and never call it.

mod close;
mod completion;
mod count;
mod deltas;
mod error;
mod model;
mod report;
mod request;

/// The typed model of an output schema that [`OutputSchema::model`] holds:
/// what a backend's grammar writer reads instead of walking JSON.
pub use crate::schema::model::{Node, Schema, SchemaModel, Type, MAX_REF_DEPTH};
pub use close::closing;
pub use completion::Completion;
pub use count::{output_room, Counted, TokenCount, BYTES_PER_TOKEN};
pub use deltas::{Delta, DeltaReceiver, Deltas, Restart};
pub use error::BackendError;
pub use model::{Endpoint, ModelKey, ModelSource, ModelSpec};
pub use report::{ModelReport, TemplateSource};
pub(crate) use request::input_json;
pub use request::{Choice, OutputSchema, Request};

use crate::Error;

/// The attribute [`Backend`] impls are written with (the `async-trait`
/// crate's), re-exported so a backend needs no extra dependency.
pub use async_trait::async_trait;

/// Runs prompts on models. Implemented by the llama.cpp backend in
/// `agentkit-backends` and by the scripted test backend
/// (`agentkit_test::ScriptedBackend`).
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Generate the output for one request.
    ///
    /// A backend that can constrain decoding must never return text that
    /// escapes [`OutputSchema::grammar`] of `request.schema`;
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
        Err(Error::backend(
            request.agent,
            BackendError::configuration(
                "this backend cannot score choices; use the llama.cpp backend or sample instead",
            ),
        ))
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

    /// Who runs `model`, as OpenTelemetry's `gen_ai.system` attribute names
    /// it on the agent's span (`llama.cpp`, `openai` for an
    /// OpenAI-compatible server); `None` (the default) leaves it out.
    fn system(&self, model: &ModelSpec) -> Option<&'static str> {
        let _ = model;
        None
    }

    /// How many tokens `request`'s prompt takes on its model (through the
    /// chat template, as [`generate`](Backend::generate) would send it) and
    /// how many cells one call on the model may use: what the runtime fits
    /// an agent's input to before the call (see the book's "Long inputs"
    /// chapter).
    ///
    /// The default estimates the prompt from its length
    /// ([`TokenCount::estimate`]) and does not know the context, so the
    /// runtime fits nothing and a prompt that is too long fails in the
    /// backend. A backend with a tokenizer counts exactly and names the
    /// context.
    async fn count_tokens(&self, request: &Request) -> Result<TokenCount, Error> {
        Ok(TokenCount::estimate(request))
    }

    /// Where the tokens of `text` start on `model`: ascending byte offsets
    /// into `text`, the first 0, each on a character boundary, one per
    /// token. What [`chunked`](crate::chunked) splits long text at, so its
    /// pieces break between tokens.
    ///
    /// The default does not know (`None`), and the runtime then places a
    /// boundary every [`BYTES_PER_TOKEN`] bytes, an estimate it checks with
    /// [`count_tokens`](Backend::count_tokens).
    async fn token_offsets(
        &self,
        model: &ModelSpec,
        text: &str,
    ) -> Result<Option<Vec<usize>>, Error> {
        let _ = (model, text);
        Ok(None)
    }

    /// What the backend knows about `model` before any call (see
    /// [`ModelReport`]); an in-process backend loads the model to read it.
    /// The default knows nothing: `Ok(None)`.
    async fn report(&self, model: &ModelSpec) -> Result<Option<ModelReport>, Error> {
        let _ = model;
        Ok(None)
    }
}
