//! Pre-flight for served models, before any call: the schema compiles,
//! every endpoint serves the model under the name given, at least one
//! answers, and for scored choices one can score.

use agentkit::backend::{BackendError, Endpoint, Request};
use agentkit::Error;
use serde_json::Value;

use super::caps::{Caps, ProbeError};
use super::config::Constraint;
use super::errors::{self, Problem};
use super::http::{self, GetError};
use super::{gbnf, wire, Server};

impl Server {
    /// [`Backend::check`](agentkit::backend::Backend::check): the schema
    /// compiles (to a grammar and a validator); an endpoint that answers but
    /// does not serve the model is a configuration mistake; endpoints that
    /// do not answer are warned about, unless none does.
    pub(super) async fn preflight(&self, request: &Request) -> Result<(), Error> {
        let agent = request.agent;
        let endpoints = errors::served(request)?;
        let schema = request.schema.grammar().clone();
        if self.inner.config.constraint == Constraint::Auto {
            gbnf::grammar(request.schema.model()).map_err(|e| errors::unsupported(agent, e))?;
        }
        self.inner.validators.validator(agent, &schema)?;
        let mut up = 0;
        let mut problems = Vec::new();
        for endpoint in endpoints {
            let said = |text: &str| format!("{}: {text}", endpoint.url);
            let list = match http::get(&self.inner.client, endpoint, "/v1/models").await {
                Ok(list) => list,
                Err(GetError::Configuration(e)) => return Err(Error::backend(agent, e)),
                Err(GetError::Status(text)) => {
                    problems.push(Problem::new(said(&text)));
                    continue;
                }
                Err(GetError::Failed(problem)) => {
                    problems.push(problem.reworded(said));
                    continue;
                }
            };
            serves(endpoint, &list, &request.model.alias).map_err(|e| Error::backend(agent, e))?;
            let state = self.inner.endpoints.state(endpoint);
            match state.caps(&self.inner.client, endpoint).await {
                Ok(_) => up += 1,
                Err(ProbeError::Failed(problem)) => problems.push(problem.reworded(said)),
                Err(ProbeError::Configuration(e)) => return Err(Error::backend(agent, e)),
            }
        }
        if up == 0 {
            return Err(unanswered(agent, &request.model.alias, problems));
        }
        for p in &problems {
            tracing::warn!(model = %request.model.alias, problem = %p, "an endpoint is down at pre-flight");
        }
        Ok(())
    }

    /// [`Backend::check_scored`](agentkit::backend::Backend::check_scored):
    /// some endpoint of the model can score (it is llama-server).
    pub(super) async fn preflight_scored(&self, request: &Request) -> Result<(), Error> {
        let endpoints = errors::served(request)?;
        for endpoint in endpoints {
            let state = self.inner.endpoints.state(endpoint);
            if let Ok(Caps {
                llama_cpp: true, ..
            }) = state.caps(&self.inner.client, endpoint).await
            {
                return Ok(());
            }
        }
        Err(errors::unscorable(request.agent, &request.model))
    }
}

/// Whether the server's model `list` names the endpoint's model (Ollama
/// adds `:latest`); if not, a configuration mistake that says what it serves.
fn serves(endpoint: &Endpoint, list: &Value, alias: &str) -> Result<(), BackendError> {
    let names = wire::model_names(list);
    let serves = names
        .iter()
        .any(|n| *n == endpoint.model || n.strip_suffix(":latest") == Some(&endpoint.model));
    if serves {
        return Ok(());
    }
    Err(BackendError::configuration(format!(
        "the server at {} does not serve model `{}` (it serves: {}); fix \
         `model` of that endpoint of `{}` in agentkit.toml",
        endpoint.url,
        endpoint.model,
        if names.is_empty() {
            "nothing it lists".to_string()
        } else {
            names.join(", ")
        },
        alias
    )))
}

/// No endpoint of the model `alias` answered at pre-flight: each problem,
/// the last HTTP error kept as the cause.
fn unanswered(agent: &str, alias: &str, problems: Vec<Problem>) -> Error {
    let said: Vec<&str> = problems.iter().map(Problem::text).collect();
    let mut error = BackendError::new(format!(
        "no endpoint of model `{alias}` answers: {}; start the server or fix its url in \
         agentkit.toml",
        said.join("; ")
    ));
    if let Some(cause) = problems.into_iter().rev().find_map(Problem::into_cause) {
        error = error.with_source(cause);
    }
    Error::backend(agent, error)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_model_the_server_does_not_list_is_a_configuration_mistake_naming_what_it_serves() {
        let endpoint = Endpoint::new("http://a", "smollm2");
        let openai = json!({ "object": "list", "data": [{ "id": "smollm2" }] });
        assert!(serves(&endpoint, &openai, "judge").is_ok());
        let ollama = json!({ "models": [{ "name": "smollm2:latest" }] });
        assert!(
            serves(&endpoint, &ollama, "judge").is_ok(),
            "Ollama's `:latest`"
        );
        let other = Endpoint::new("http://a", "qwen-7b");
        let e = serves(&other, &openai, "judge").unwrap_err();
        assert!(e.is_configuration());
        assert_eq!(
            e.to_string(),
            "the server at http://a does not serve model `qwen-7b` (it serves: smollm2); fix \
             `model` of that endpoint of `judge` in agentkit.toml"
        );
        let e = serves(&other, &json!({}), "judge").unwrap_err();
        assert!(
            e.to_string().contains("(it serves: nothing it lists)"),
            "{e}"
        );
    }
}
