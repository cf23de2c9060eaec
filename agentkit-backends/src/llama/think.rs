//! Thinking before the answer: the think block a request asks for
//! ([`agentkit::Reasoning`]), written with no grammar and at most its budget
//! of tokens, closed by the model or, at the budget, for it; the answer then
//! follows under the grammar.

use agentkit::Reasoning;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

/// The prompt text with the think block opened, unless the chat template
/// already opened it at the generation prompt (as reasoning models'
/// templates do): then the model starts inside it as it is.
pub(super) fn open(prompt: String, reasoning: &Reasoning) -> String {
    if opens_block(&prompt, reasoning) {
        return prompt;
    }
    format!("{prompt}{}\n", reasoning.open)
}

/// Whether `prompt` ends inside an opened think block.
pub(super) fn opens_block(prompt: &str, reasoning: &Reasoning) -> bool {
    prompt.trim_end().ends_with(reasoning.open)
}

/// The tokens a request may generate at most: its answer's `max_tokens`,
/// plus its think block's budget and close tag where it thinks.
pub(super) fn reserve(request: &agentkit::backend::Request) -> usize {
    let answer = request.sampling.max_tokens as usize;
    match &request.sampling.reasoning {
        // The close tag and its line break: a few tokens, counted generously.
        Some(r) => answer + r.budget as usize + r.close.len() + 1,
        None => answer,
    }
}

/// One think block being written.
pub(super) struct Think {
    budget: usize,
    close: &'static str,
    /// The close tag and a line break, as tokens: what is fed when the
    /// budget runs out.
    forced: Vec<LlamaToken>,
    /// The block's bytes so far.
    text: Vec<u8>,
    /// Tokens sampled inside it.
    tokens: usize,
    done: bool,
}

/// What the think block does with a sampled token.
pub(super) enum Step {
    /// Still thinking: feed the token.
    Continue,
    /// The model closed the block with this token: feed it, then answer.
    Closed,
    /// The budget is spent: feed the token and then these (the close tag),
    /// then answer.
    Forced(Vec<LlamaToken>),
}

impl Think {
    /// A think block of `reasoning`'s budget on `model`.
    pub(super) fn new(reasoning: &Reasoning, model: &LlamaModel) -> Think {
        let close = format!("{}\n", reasoning.close);
        Think {
            budget: reasoning.budget as usize,
            close: reasoning.close,
            forced: model.vocab().tokenize(close.as_bytes(), false, true),
            text: Vec::new(),
            tokens: 0,
            done: false,
        }
    }

    /// Whether the block is closed and the answer has begun.
    pub(super) fn is_done(&self) -> bool {
        self.done
    }

    /// Takes the sampled `token`, whose text is `piece`.
    pub(super) fn take(&mut self, piece: &[u8]) -> Step {
        self.text.extend_from_slice(piece);
        self.tokens += 1;
        if self.text.ends_with(self.close.as_bytes()) {
            self.done = true;
            return Step::Closed;
        }
        if self.tokens >= self.budget {
            self.done = true;
            return Step::Forced(self.forced.clone());
        }
        Step::Continue
    }

    /// The block's text without its close tag, trimmed, and the tokens
    /// sampled inside it.
    pub(super) fn result(&self) -> (String, usize) {
        let text = String::from_utf8_lossy(&self.text);
        let text = text.strip_suffix(self.close).unwrap_or(&text);
        (text.trim().to_string(), self.tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_opened_unless_the_template_did() {
        let r = Reasoning::budget(8);
        assert_eq!(
            open("<|im_start|>assistant\n".into(), &r),
            "<|im_start|>assistant\n<think>\n"
        );
        let opened = "<|im_start|>assistant\n<think>\n".to_string();
        assert_eq!(open(opened.clone(), &r), opened);
        let other = Reasoning::budget(8).with_tags("<reasoning>", "</reasoning>");
        assert!(open("x".into(), &other).ends_with("<reasoning>\n"));
    }
}
