//! Fast-forward: the tokens the output's grammar decides alone (a key, a
//! brace, the rest of an enum value) are written without sampling and
//! evaluated in the same pass as the token before them, so a forced run
//! costs one model pass instead of one per token.

use agentkit::Error;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::{failure, Generate};

impl Generate {
    /// The run of tokens the grammar forces from here (none when
    /// fast-forward is off, or nothing is forced): the forced text, in the
    /// model's own tokenization of it, each token checked and consumed by
    /// the grammar, put into the samplers' histories (repetition penalties
    /// and DRY see it as output) and written, up to `max_tokens` or until
    /// the grammar is complete. The text is tokenized on its own, so where
    /// the model would have merged its first token with the one before it
    /// the split differs; the text does not.
    pub(super) fn forced(&mut self, model: &LlamaModel) -> Result<Vec<LlamaToken>, Error> {
        let agent = self.agent;
        let bytes = match self.matcher.as_mut() {
            Some(m) if self.fast_forward && !m.is_stopped() => m.compute_ff_bytes(),
            _ => return Ok(Vec::new()),
        };
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        let run = model.vocab().tokenize(&bytes, false, false);
        let room = (self.max_tokens as usize).saturating_sub(self.generated);
        let run = &run[..run.len().min(room)];
        let Some(matcher) = self.matcher.as_mut() else {
            return Ok(Vec::new());
        };
        let ids: Vec<u32> = run.iter().map(|t| t.0 as u32).collect();
        // The grammar takes the run up to the first token it would not
        // have allowed (a split it does not expect); the model samples on
        // from there.
        let taken = matcher
            .try_consume_tokens(&ids)
            .map_err(|e| failure(agent, "the grammar engine failed on forced text", e))?;
        let written = run[..taken].to_vec();
        for &token in &written {
            self.accept(token);
            self.out
                .extend(model.vocab().token_to_piece(token, false, None));
        }
        self.generated += written.len();
        self.forced += written.len();
        if !written.is_empty() {
            self.flush(false);
        }
        Ok(written)
    }
}
