//! Generation: the request constrained as each endpoint allows (the compact
//! grammar where the server takes one, else the JSON schema), the answer
//! checked against the schema.

use agentkit::backend::{Completion, Deltas, Request};
use agentkit::Error;

use super::config::Constraint;
use super::errors::{self, with_agent};
use super::{gbnf, think, wire, Server};

impl Server {
    /// [`Backend::generate`](agentkit::backend::Backend::generate), streamed
    /// to `deltas` where given: the request constrained as the endpoint
    /// allows, the answer checked against the schema.
    pub(super) async fn complete(
        &self,
        request: Request,
        deltas: Option<&Deltas>,
    ) -> Result<Completion, Error> {
        let agent = request.agent;
        let schema = request.schema.grammar().clone();
        let grammar = match self.inner.config.constraint {
            Constraint::Auto => {
                let answer = gbnf::grammar(request.schema.model())
                    .map_err(|e| errors::unsupported(agent, e))?;
                // One grammar for the think block and the answer.
                Some(match &request.sampling.reasoning {
                    Some(r) => think::grammar(&answer, r),
                    None => answer,
                })
            }
            Constraint::JsonSchema => None,
        };
        let (endpoint, _, answer) = self
            .post(&request, deltas, |caps| {
                let constraint = match (&grammar, caps.llama_cpp) {
                    (Some(g), true) => wire::Constrain::Grammar(g),
                    _ => wire::Constrain::JsonSchema(&schema),
                };
                Ok(Some(wire::chat(&request, caps.llama_cpp, constraint)))
            })
            .await
            .map_err(|e| with_agent(e, agent))?;
        if answer.truncated {
            return Err(Error::Truncated {
                agent: agent.to_string(),
                max_tokens: request.sampling.max_tokens,
                partial: answer.text,
            });
        }
        // The think block, wherever the server put it: in a field of its
        // own, or left in the content in its tags.
        let mut reasoning = answer.reasoning.clone();
        let mut text = answer.text.clone();
        if let Some(r) = &request.sampling.reasoning {
            let (thought, rest) = think::split(&answer.text, r);
            if !thought.is_empty() {
                reasoning = [reasoning, thought].join("\n").trim().to_string();
            }
            text = rest;
        }
        if text.trim().is_empty() && !reasoning.trim().is_empty() {
            // A known server bug: the constrained answer routed into the
            // reasoning field. Recovered when it is the answer; never an
            // empty answer.
            let misplaced = self
                .inner
                .validators
                .violation(agent, &schema, reasoning.trim())?
                .is_none();
            if !misplaced {
                return Err(Error::backend(
                    agent,
                    agentkit::backend::BackendError::new(format!(
                        "the server at {} (model `{}`) gave no answer, only reasoning ({}); \
                         raise `max_tokens` or the think budget, or check the server's \
                         reasoning settings",
                        endpoint.url,
                        endpoint.model,
                        errors::excerpt(&reasoning)
                    )),
                ));
            }
            tracing::warn!(endpoint = %endpoint.url, "the server put the answer in its reasoning field; taking it from there");
            text = std::mem::take(&mut reasoning);
        }
        let mut completion = Completion::new(text.clone())
            .with_tokens(
                answer.prompt_tokens,
                answer.cached_tokens,
                answer.generated_tokens,
            )
            .with_times(answer.prompt_time, answer.generate_time);
        if request.sampling.reasoning.is_some() || !reasoning.is_empty() {
            completion = completion.with_reasoning(reasoning, answer.reasoning_tokens);
        }
        let violation = self.inner.validators.violation(agent, &schema, &text)?;
        if let Some(problem) = violation {
            self.inner.stats.violation();
            tracing::warn!(endpoint = %endpoint.url, %problem, "the server did not constrain its output");
            completion = completion.with_violation(format!(
                "the server at {} (model `{}`) did not constrain its output to the schema: {problem}",
                endpoint.url, endpoint.model
            ));
        }
        Ok(completion)
    }
}
