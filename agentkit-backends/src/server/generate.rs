//! Generation: the request constrained as each endpoint allows (the compact
//! grammar where the server takes one, else the JSON schema), the answer
//! checked against the schema.

use agentkit::backend::{Completion, Deltas, Request};
use agentkit::Error;

use super::config::Constraint;
use super::errors::{self, with_agent};
use super::{gbnf, wire, Server};

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
            Constraint::Auto => Some(
                gbnf::grammar(request.schema.model()).map_err(|e| errors::unsupported(agent, e))?,
            ),
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
        let mut completion = Completion::new(answer.text.clone())
            .with_tokens(
                answer.prompt_tokens,
                answer.cached_tokens,
                answer.generated_tokens,
            )
            .with_times(answer.prompt_time, answer.generate_time);
        let violation = self
            .inner
            .validators
            .violation(agent, &schema, &answer.text)?;
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
