//! Fast-forward: the tokens the output's grammar decides alone (a key, a
//! brace, the rest of an enum value) are written without sampling and
//! evaluated in the same pass as the token before them, so a forced run
//! costs one model pass instead of one per token.

use agentkit::Error;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::{failure, Generate};

/// Tokens kept free after a forced run, beyond the closing as it stands,
/// when the answer is to be closed at its budget: room for what the run
/// opens (a new field's key and its value's smallest form).
const CLOSE_SLACK: usize = 4;

/// How close to the budget the closing is computed at all (a cheap bound:
/// no closing of a JSON answer needs more tokens than this).
const CLOSE_LOOKAHEAD: usize = 96;

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
        let mut room = (self.max_tokens as usize).saturating_sub(self.generated);
        if self.close.is_some() {
            // Keep room to close the answer after the run (and a few tokens
            // more, for what the run opens); what does not fit is sampled.
            let closing = self.closing(model).map_or(room, |c| c.len());
            room = room.saturating_sub(closing + CLOSE_SLACK);
        }
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
        self.write(&written, model);
        self.forced += written.len();
        Ok(written)
    }
}

impl Generate {
    /// The tokens that close the answer as written so far into a value of
    /// the output's shape (see [`agentkit::backend::closing`]), in the
    /// model's tokenization; `None` when it cannot be closed as written.
    fn closing(&self, model: &LlamaModel) -> Option<Vec<LlamaToken>> {
        let schema = self.close.as_ref()?;
        let text = std::str::from_utf8(&self.out).ok()?;
        let rest = agentkit::backend::closing(text, schema)?;
        Some(model.vocab().tokenize(rest.as_bytes(), false, false))
    }

    /// Closes the answer when the tokens left are just enough for its
    /// closing (one more sampled token would leave too few): the closing is
    /// checked by the grammar, written, and the answer marked as cut. Says
    /// whether it did; where the closing does not fit or the grammar would
    /// not take it, the model goes on and may run out as without it.
    pub(super) fn close_if_due(&mut self, model: &LlamaModel) -> Result<bool, Error> {
        let left = (self.max_tokens as usize).saturating_sub(self.generated);
        if self.close.is_none() || left > CLOSE_LOOKAHEAD {
            return Ok(false);
        }
        let Some(closing) = self.closing(model) else {
            return Ok(false);
        };
        if closing.is_empty() || closing.len() > left || left > closing.len() + 1 {
            return Ok(false);
        }
        let agent = self.agent;
        let Some(matcher) = self.matcher.as_mut() else {
            return Ok(false);
        };
        let ids: Vec<u32> = closing.iter().map(|t| t.0 as u32).collect();
        let valid = matcher
            .validate_tokens(&ids)
            .map_err(|e| failure(agent, "the grammar engine failed on the closing", e))?;
        if valid < ids.len() {
            return Ok(false);
        }
        matcher
            .consume_tokens(&ids)
            .map_err(|e| failure(agent, "the grammar rejected the closing", e))?;
        if !(matcher.is_stopped() || matcher.is_accepting().unwrap_or(false)) {
            return Err(failure(
                agent,
                "the closing left the answer incomplete",
                String::from_utf8_lossy(&self.out).into_owned(),
            ));
        }
        self.write(&closing, model);
        self.forced += closing.len();
        self.cut = true;
        tracing::debug!(
            agent,
            tokens = closing.len(),
            "closed the answer at its token budget"
        );
        Ok(true)
    }
}
