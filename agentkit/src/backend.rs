//! The `Backend` trait: what runs a rendered prompt on a model.

use std::path::PathBuf;
use std::time::Duration;

use crate::{Error, Prompt, Sampling};

/// A model as the runtime knows it: its alias and where its weights are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The alias agents name, e.g. `"smollm2-135m"`.
    pub alias: String,
    /// The GGUF file that holds the weights.
    pub path: PathBuf,
    /// What to tell a user whose file is missing (e.g. the command that fetches it).
    pub fetch_hint: Option<String>,
}

/// One generation request, everything a backend needs to answer it.
#[derive(Debug, Clone)]
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

/// What a backend produced for a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
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
/// `agentkit-backends` and by [`ScriptedBackend`](crate::testing::ScriptedBackend).
#[async_trait::async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Generate the output for one request.
    ///
    /// A backend that can constrain decoding must never return text that
    /// escapes [`grammar_schema`](crate::grammar_schema)`(&request.schema)`;
    /// one that cannot must say so in its docs.
    async fn generate(&self, request: Request) -> Result<Completion, Error>;

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
