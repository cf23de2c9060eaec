//! Scored choices on a thinking agent: the think block first (free text, no
//! grammar, within its budget, closed for the model at the budget), then the
//! options scored after the close tag.

use agentkit::backend::Request;
use agentkit::{Error, Reasoning};
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;

use super::decode::{candidate, logits};
use super::engine::task::{Next, Stats, Task};
use super::errors::failure;
use super::score::Score;
use super::think::{self, Think};

/// A think block, then scored choices.
pub(super) struct ThinkFirst {
    agent: &'static str,
    think: Think,
    sampler: LlamaSampler,
    /// Tokens fed since the prompt: the think block and its close tag.
    fed: usize,
    /// Whether the think block is over and the last feed was its end.
    closed: bool,
    score: Score,
}

impl ThinkFirst {
    /// `score` after a think block as `reasoning` says, for `request` on
    /// `model`, and the tokens the block may add (its budget and close tag).
    pub(super) fn new(
        reasoning: &Reasoning,
        request: &Request,
        model: &LlamaModel,
        score: Score,
    ) -> (ThinkFirst, usize) {
        let think = Think::new(reasoning, model);
        let reserve = think::reserve(request) - request.sampling.max_tokens as usize;
        let task = ThinkFirst {
            agent: request.agent,
            think,
            sampler: super::decode::sampler(request, model.n_vocab()),
            fed: 0,
            closed: false,
            score,
        };
        (task, reserve)
    }

    /// One token of the block, sampled with no grammar and never an end of
    /// generation; the tokens to feed (it, and the close tag at the budget).
    fn think(&mut self, rows: &[&[f32]], model: &LlamaModel) -> Result<Vec<LlamaToken>, Error> {
        let vocab = model.vocab();
        let allowed: Vec<LlamaTokenData> = logits(self.agent, rows, model)?
            .iter()
            .enumerate()
            .map(candidate)
            .filter(|c| !vocab.is_eog(c.id()))
            .collect();
        let mut candidates = LlamaTokenDataArray::new(allowed, false);
        candidates.apply_sampler(&mut self.sampler);
        let token = candidates
            .selected_token()
            .ok_or_else(|| failure(self.agent, "sampling", "no token was selected"))?;
        self.sampler.accept(token);
        let piece = vocab.token_to_piece(token, true, None);
        Ok(self.think.take(&piece).tokens(token))
    }
}

impl Task for ThinkFirst {
    fn advance(&mut self, rows: &[&[f32]], model: &LlamaModel) -> Next {
        if self.closed {
            return self.score.advance(rows, model);
        }
        match self.think(rows, model) {
            Ok(tokens) => {
                self.fed += tokens.len();
                if self.think.is_done() {
                    self.closed = true;
                    let (text, count) = self.think.result();
                    tracing::debug!(agent = self.agent, reasoning = %text, reasoning_tokens = count, "model reasoning before scored choices");
                    self.score.after(self.fed);
                }
                Next::Feed {
                    rewind_to: None,
                    tokens,
                    all_logits: false,
                }
            }
            Err(e) => Next::Fail(e),
        }
    }

    fn finish(self: Box<Self>, result: Result<(), Error>, stats: Stats) {
        Box::new(self.score).finish(result, stats);
    }

    fn is_abandoned(&self) -> bool {
        self.score.is_abandoned()
    }
}
