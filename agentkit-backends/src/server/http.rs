//! The HTTP plumbing every exchange with an endpoint shares: its API key,
//! and the short JSON GET (and POST) that probes, pre-flight and token
//! counts ask with.

use std::time::Duration;

use agentkit::backend::{BackendError, Endpoint};
use serde_json::Value;

use super::errors::{self, Problem};

/// Why a GET gave no JSON.
#[derive(Debug)]
pub(super) enum GetError {
    /// The endpoint was reached and answered with a status other than
    /// success (`HTTP 404 Not Found from /props`).
    Status(String),
    /// It could not be reached, or its body was not JSON.
    Failed(Problem),
    /// A mistake in the set-up: the API key's variable is not set. No
    /// endpoint with this key will answer until it is.
    Configuration(BackendError),
}

impl std::fmt::Display for GetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetError::Status(text) => f.write_str(text),
            GetError::Failed(problem) => problem.fmt(f),
            GetError::Configuration(e) => e.fmt(f),
        }
    }
}

/// `request` with the endpoint's API key, read from its environment variable.
pub(super) fn authorised(
    request: reqwest::RequestBuilder,
    endpoint: &Endpoint,
) -> Result<reqwest::RequestBuilder, BackendError> {
    match &endpoint.api_key_env {
        None => Ok(request),
        Some(var) => match std::env::var(var) {
            Ok(key) => Ok(request.bearer_auth(key)),
            Err(_) => Err(errors::missing_key(endpoint, var)),
        },
    }
}

/// A GET of `path` with the endpoint's key and a short timeout, as JSON.
pub(super) async fn get(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    path: &str,
) -> Result<Value, GetError> {
    json_of(
        client.get(format!("{}{path}", endpoint.url)),
        endpoint,
        path,
    )
    .await
}

/// A POST of `body` to `path` (llama-server's `/tokenize`, say), with the
/// endpoint's key and a short timeout, as JSON.
pub(super) async fn post(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    path: &str,
    body: &Value,
) -> Result<Value, GetError> {
    let request = client.post(format!("{}{path}", endpoint.url)).json(body);
    json_of(request, endpoint, path).await
}

/// The JSON answer to `request` (to `path`), sent with the endpoint's key
/// and a short timeout.
async fn json_of(
    request: reqwest::RequestBuilder,
    endpoint: &Endpoint,
    path: &str,
) -> Result<Value, GetError> {
    let request = request.timeout(endpoint.timeout.min(Duration::from_secs(10)));
    let response = authorised(request, endpoint)
        .map_err(GetError::Configuration)?
        .send()
        .await
        .map_err(|e| GetError::Failed(Problem::of(e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(GetError::Status(format!("HTTP {status} from {path}")));
    }
    response.json::<Value>().await.map_err(|e| {
        GetError::Failed(
            Problem::of(e).reworded(|text| format!("{path} did not answer JSON: {text}")),
        )
    })
}
