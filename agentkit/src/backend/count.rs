//! How many tokens a prompt takes on its model, and how much room the
//! model has: what fitting an input to its context reads
//! ([`Backend::count_tokens`](super::Backend::count_tokens)).

use super::Request;
use crate::Sampling;

/// How a [`TokenCount`] was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Counted {
    /// By the model's own tokenizer, through its chat template.
    Exact,
    /// Estimated from the prompt's length in bytes
    /// ([`TokenCount::estimate`]), where the backend has no tokenizer to ask.
    Estimated,
}

/// A prompt's size in tokens on the model of a [`Request`], and the room the
/// model gives one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenCount {
    /// Tokens of the prompt as the model sees it (chat template applied).
    pub prompt: usize,
    /// The cells one call may use on the model (prompt and answer together);
    /// `None` where the backend does not know, and then nothing is fitted.
    pub context: Option<usize>,
    /// Whether `prompt` was counted or estimated.
    pub counted: Counted,
}

/// The bytes a token stands for in an estimate: about four for English text
/// on the vocabularies of current models. Too few tokens for numbers, code
/// and most other languages; that is why an estimate says it is one.
pub const BYTES_PER_TOKEN: usize = 4;

/// Tokens a chat template adds around one message (role markers, line
/// breaks), in an estimate.
const TOKENS_PER_MESSAGE: usize = 4;

impl TokenCount {
    /// An exact count of `prompt` tokens on a model with `context` cells.
    pub fn exact(prompt: usize, context: Option<usize>) -> TokenCount {
        TokenCount {
            prompt,
            context,
            counted: Counted::Exact,
        }
    }

    /// An estimate for `request`'s prompt: one token per
    /// [`BYTES_PER_TOKEN`] bytes of every message, plus a few per message
    /// for the chat template. The context is not known.
    pub fn estimate(request: &Request) -> TokenCount {
        let prompt = request
            .prompt
            .messages
            .iter()
            .map(|m| m.content.len().div_ceil(BYTES_PER_TOKEN) + TOKENS_PER_MESSAGE)
            .sum();
        TokenCount {
            prompt,
            context: None,
            counted: Counted::Estimated,
        }
    }

    /// Whether the prompt and `room` more tokens fit the context (`true`
    /// where the context is not known).
    pub fn fits(&self, room: usize) -> bool {
        self.context
            .is_none_or(|context| self.prompt + room <= context)
    }
}

/// The tokens a call with `sampling` may generate at most: its answer's
/// `max_tokens`, plus, where it thinks, the think budget and the close tag
/// (a few tokens, counted generously as one per byte and one for its line
/// break). What must stay free in the context after the prompt.
pub fn output_room(sampling: &Sampling) -> usize {
    let answer = sampling.max_tokens as usize;
    match &sampling.reasoning {
        Some(r) => answer + r.budget as usize + r.close.len() + 1,
        None => answer,
    }
}
