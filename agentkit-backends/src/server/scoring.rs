//! Scored choices over HTTP: each option's log-probability as the
//! continuation of the text so far, from one greedy request under a grammar
//! that admits only that option (llama-server gives token log-probabilities
//! under a grammar; other servers cannot score).

use agentkit::backend::{BackendError, Choice, Request};
use agentkit::Error;

use super::errors::with_agent;
use super::{gbnf, wire, Server};

impl Server {
    /// [`Backend::choose`](agentkit::backend::Backend::choose): the options
    /// of each choice scored in turn, the likeliest appended before the
    /// next choice.
    pub(super) async fn scores(
        &self,
        request: Request,
        choices: Vec<Choice>,
    ) -> Result<Vec<Vec<f64>>, Error> {
        let agent = request.agent;
        let mut text = String::new();
        let mut scores = Vec::with_capacity(choices.len());
        for choice in &choices {
            let prefix = format!("{text}{}", choice.lead);
            // One option after another, not side by side: each request
            // then finds the prompt cached in the slot the previous one left
            // it in, where side by side every slot evaluates it again.
            let mut option_scores = Vec::with_capacity(choice.options.len());
            for option in &choice.options {
                let score = self.score(&request, &prefix, option).await;
                option_scores.push(score.map_err(|e| with_agent(e, agent))?);
            }
            let best = crate::likeliest(&option_scores);
            text = format!(
                "{prefix}{}",
                choice.options.get(best).map_or("", String::as_str)
            );
            scores.push(option_scores);
        }
        Ok(scores)
    }

    /// The log-probability of `option` as the continuation of `prefix`
    /// after `request`'s prompt: one greedy request under a grammar that
    /// admits only the option.
    async fn score(&self, request: &Request, prefix: &str, option: &str) -> Result<f64, Error> {
        let agent = request.agent;
        let (endpoint, _, answer) = self
            .post(request, None, |caps| {
                Ok(caps.llama_cpp.then(|| {
                    let grammar = gbnf::literal_grammar(option);
                    wire::forced(request, prefix, option, &grammar)
                }))
            })
            .await?;
        // llama-server returns the continued message whole;
        // other servers may return only the continuation.
        let whole = format!("{prefix}{option}");
        if answer.text != whole && answer.text != option {
            return Err(Error::Backend {
                agent: agent.to_string(),
                error: BackendError::new(format!(
                    "the server at {} did not follow the grammar of a scored choice: \
                     asked to continue {prefix:?} with {option:?}, got {:?}",
                    endpoint.url, answer.text
                )),
            });
        }
        // The log-probabilities cover the generated tokens only.
        answer
            .log_probability(0, option.len())
            .ok_or_else(|| Error::Backend {
                agent: agent.to_string(),
                error: BackendError::new(format!(
                    "the server at {} gave no token log-probabilities for a scored \
                     choice; scored choices need a server that returns `logprobs`",
                    endpoint.url
                )),
            })
    }
}
