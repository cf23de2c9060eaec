//! Token counts on a served model: llama-server renders the chat template
//! (`/apply-template`) and tokenizes (`/tokenize`) exactly as a call would,
//! and names its slots' context (`/props`); other servers are estimated.

use agentkit::backend::{Request, TokenCount};
use agentkit::Error;
use serde_json::{json, Value};

use super::http::{self, GetError};
use super::{wire, Server};

impl Server {
    /// [`Backend::count_tokens`](agentkit::backend::Backend::count_tokens):
    /// exact on llama-server (the model's first endpoint that is one), the
    /// estimate elsewhere or when it does not answer.
    pub(super) async fn count(&self, request: &Request) -> Result<TokenCount, Error> {
        for endpoint in request.model.endpoints() {
            let state = self.inner.endpoints.state(endpoint);
            let Ok(caps) = state.caps(&self.inner.client, endpoint).await else {
                continue;
            };
            if !caps.llama_cpp {
                continue;
            }
            let client = &self.inner.client;
            let counted = async {
                let rendered = http::post(
                    client,
                    endpoint,
                    "/apply-template",
                    &wire::template(request),
                )
                .await?;
                let prompt = rendered
                    .get("prompt")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let body = json!({ "content": prompt, "add_special": true, "parse_special": true });
                let tokens = http::post(client, endpoint, "/tokenize", &body).await?;
                Ok::<_, GetError>(tokens.get("tokens").and_then(Value::as_array).map(Vec::len))
            };
            match counted.await {
                Ok(Some(tokens)) => return Ok(TokenCount::exact(tokens, caps.n_ctx)),
                Ok(None) => {}
                Err(GetError::Configuration(e)) => return Err(Error::backend(request.agent, e)),
                Err(e) => {
                    tracing::debug!(endpoint = %endpoint.url, problem = %e, "could not count tokens; estimating")
                }
            }
        }
        Ok(TokenCount::estimate(request))
    }
}
