//! What a backend returns for one request.

use std::time::Duration;

/// What a backend produced for a [`Request`](super::Request).
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
    /// Tokens generated for the answer (the think block not counted).
    pub generated_tokens: usize,
    /// The think block's text, without its tags, where the request asked
    /// for thinking ([`Sampling::reasoning`](crate::Sampling::reasoning)).
    pub reasoning: Option<String>,
    /// Tokens generated inside the think block.
    pub reasoning_tokens: usize,
    /// Of the generated tokens, how many the output's grammar decided alone
    /// (a key, a brace, the rest of an enum value) and the backend wrote
    /// without sampling (fast-forward); counted in `generated_tokens` too.
    pub forced_tokens: usize,
    /// How many passes of the model the answer took after the prompt: one
    /// per sampled token without fast-forward, fewer with it (a forced run
    /// is evaluated in the pass of the token before it). Zero where a
    /// backend does not count them.
    pub decode_steps: usize,
    /// Whether the backend closed the answer at its token budget
    /// ([`Sampling::close_at_budget`](crate::Sampling::close_at_budget)):
    /// the text is valid but shorter than the model would have written.
    pub cut: bool,
    /// Time spent evaluating the prompt (zero where a backend does not measure it).
    pub prompt_time: Duration,
    /// Time spent generating (zero where a backend does not measure it).
    pub generate_time: Duration,
    /// Set by a backend that could not be sure decoding was constrained
    /// (a server that may ignore the schema) and found that `text` breaks
    /// [`grammar_schema`](crate::grammar_schema): what is wrong and where the
    /// text came from. The runtime treats it like an answer that does not
    /// parse: it asks again where the agent allows retries, else fails with
    /// [`Error::SchemaMismatch`](crate::Error::SchemaMismatch).
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
            reasoning: None,
            reasoning_tokens: 0,
            forced_tokens: 0,
            decode_steps: 0,
            cut: false,
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

    /// With the think block's text (tags stripped) and its token count.
    pub fn with_reasoning(mut self, text: impl Into<String>, tokens: usize) -> Self {
        self.reasoning = Some(text.into());
        self.reasoning_tokens = tokens;
        self
    }

    /// With how many generated tokens were forced by the grammar and how
    /// many model passes the answer took (see [`Completion::forced_tokens`]).
    pub fn with_forced(mut self, forced: usize, decode_steps: usize) -> Self {
        self.forced_tokens = forced;
        self.decode_steps = decode_steps;
        self
    }

    /// Marks the answer as closed at its token budget (see [`Completion::cut`]).
    pub fn with_cut(mut self, cut: bool) -> Self {
        self.cut = cut;
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
