//! Sampling the answer's next token under the grammar, and ending the
//! answer: when the grammar is complete, at an end of generation, or at
//! `max_tokens`.

use agentkit::Error;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::LlamaToken;

use super::{candidate, failure, logits, Generate};

impl Generate {
    /// The tokens to evaluate next (the sampled one and the run the grammar
    /// forces after it), or `None` when the output is done.
    pub(super) fn sample(
        &mut self,
        rows: &[&[f32]],
        model: &LlamaModel,
    ) -> Result<Option<Vec<LlamaToken>>, Error> {
        let agent = self.agent;
        if self.max_tokens == 0 {
            return self.truncated();
        }
        if self.close_if_due(model)? {
            return Ok(None);
        }
        let logits = logits(agent, rows, model)?.iter();
        let allowed: Vec<LlamaTokenData> = match self.matcher.as_mut() {
            Some(matcher) => {
                let mask = matcher
                    .compute_mask()
                    .map_err(|e| failure(agent, "the grammar engine failed", e))?;
                logits
                    .enumerate()
                    .filter(|(id, _)| mask.is_allowed(*id as u32))
                    .map(candidate)
                    .collect()
            }
            None => logits.enumerate().map(candidate).collect(),
        };
        if allowed.is_empty() {
            return Err(failure(
                agent,
                "the grammar allows no token of this model's vocabulary",
                format!("after {:?}", String::from_utf8_lossy(&self.out)),
            ));
        }
        let token = self.pick(allowed)?;
        if model.vocab().is_eog(token) {
            return Ok(None);
        }
        if let Some(matcher) = self.matcher.as_mut() {
            matcher
                .consume_token(token.0 as u32)
                .map_err(|e| failure(agent, "the grammar rejected a sampled token", e))?;
        }
        self.write(&[token], model);
        let mut tokens = vec![token];
        tokens.extend(self.forced(model)?);
        self.after(tokens)
    }

    /// `tokens` to evaluate, unless the output is complete (the grammar has
    /// stopped) or at its token bound.
    pub(super) fn after(
        &mut self,
        tokens: Vec<LlamaToken>,
    ) -> Result<Option<Vec<LlamaToken>>, Error> {
        if self.matcher.as_ref().is_some_and(|m| m.is_stopped()) {
            return Ok(None);
        }
        if self.generated >= self.max_tokens as usize {
            return self.truncated();
        }
        Ok(Some(tokens))
    }

    /// At the token bound: done if the output is complete, else an error
    /// carrying what was written.
    fn truncated(&mut self) -> Result<Option<Vec<LlamaToken>>, Error> {
        let accepting = match self.matcher.as_mut() {
            Some(m) => m.is_accepting().unwrap_or(false),
            None => true,
        };
        if accepting {
            return Ok(None);
        }
        Err(Error::Truncated {
            agent: self.agent.to_string(),
            max_tokens: self.max_tokens,
            partial: String::from_utf8_lossy(&self.out).into_owned(),
        })
    }
}
