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
/// plus its think block's budget and close tag where it thinks (the same
/// room the runtime keeps free when it fits an input).
pub(super) fn reserve(request: &agentkit::backend::Request) -> usize {
    agentkit::backend::output_room(&request.sampling)
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
    /// How many bytes of `text` were streamed.
    sent: usize,
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

impl Step {
    /// The tokens to evaluate after sampling `token` inside the block: it,
    /// and the close tag where the budget forced it.
    pub(super) fn tokens(self, token: LlamaToken) -> Vec<LlamaToken> {
        match self {
            Step::Continue | Step::Closed => vec![token],
            Step::Forced(close) => std::iter::once(token).chain(close).collect(),
        }
    }
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
            sent: 0,
        }
    }

    /// Whether the block is closed and the answer has begun.
    pub(super) fn is_done(&self) -> bool {
        self.done
    }

    /// Closes the block now (a shaped block whose grammar is complete): the
    /// close tag to feed after the last token.
    pub(super) fn close_now(&mut self) -> Vec<LlamaToken> {
        self.done = true;
        self.forced.clone()
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

    /// The text written since the last call, to stream: whole UTF-8
    /// characters only, and never the close tag (while the block is open,
    /// an ending that may be the start of the tag is held back).
    pub(super) fn unsent(&mut self) -> String {
        let close = self.close.as_bytes();
        let mut end = self.text.len();
        if self.text.ends_with(close) {
            end -= close.len();
        } else if !self.done {
            let held = (1..close.len().min(end + 1))
                .rev()
                .find(|n| self.text.ends_with(&close[..*n]))
                .unwrap_or(0);
            end -= held;
        }
        let fresh = &self.text[self.sent.min(end)..end];
        let whole = match std::str::from_utf8(fresh) {
            Ok(_) => fresh.len(),
            Err(e) if !self.done => e.valid_up_to(),
            Err(_) => fresh.len(),
        };
        let text = String::from_utf8_lossy(&fresh[..whole]).into_owned();
        self.sent = self.sent.min(end) + whole;
        text
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

    fn block(budget: usize) -> Think {
        Think {
            budget,
            close: "</think>",
            forced: Vec::new(),
            text: Vec::new(),
            tokens: 0,
            done: false,
            sent: 0,
        }
    }

    #[test]
    fn the_stream_never_shows_the_close_tag_or_half_a_character() {
        let mut t = block(100);
        let mut streamed = String::new();
        for piece in ["I think", " it is </", "th", "\u{e9}", "x</thi"] {
            assert!(matches!(t.take(piece.as_bytes()), Step::Continue));
            streamed.push_str(&t.unsent());
        }
        assert_eq!(streamed, "I think it is </th\u{e9}x");
        assert!(matches!(t.take(b"nk>"), Step::Closed));
        streamed.push_str(&t.unsent());
        assert_eq!(streamed, "I think it is </th\u{e9}x");
        assert_eq!(t.result(), ("I think it is </th\u{e9}x".to_string(), 6));
        let mut cut = block(1);
        let e_acute = "\u{e9}".as_bytes();
        assert!(matches!(cut.take(&e_acute[..1]), Step::Forced(_)));
        assert_eq!(cut.unsent(), "\u{fffd}");
    }

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
