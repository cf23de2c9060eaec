//! What an endpoint supports beyond the OpenAI API, found out by one probe:
//! llama-server answers `/props`, other servers do not.

use agentkit::backend::{BackendError, Endpoint};

use super::errors::{self, Failure, Problem};
use super::http::{self, GetError};

/// What an endpoint supports beyond the OpenAI API, found out once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Caps {
    /// llama.cpp's server: a GBNF `grammar` field, pre-sampling token
    /// log-probabilities, and its sampling extensions (`top_k`, `min_p`, ...).
    pub llama_cpp: bool,
    /// The context of one of its slots (llama-server's `/props`), where it
    /// says.
    pub n_ctx: Option<usize>,
}

/// Why a probe found nothing out.
#[derive(Debug)]
pub(super) enum ProbeError {
    /// The endpoint could not be reached (or answered garbage): another
    /// may answer.
    Failed(Problem),
    /// A mistake in the set-up (the API key's variable is not set).
    Configuration(BackendError),
}

impl From<ProbeError> for Failure {
    fn from(e: ProbeError) -> Failure {
        match e {
            ProbeError::Failed(problem) => Failure::Move(problem),
            ProbeError::Configuration(e) => errors::stop(e),
        }
    }
}

/// Asks `endpoint` what it supports.
pub(super) async fn probe(
    client: &reqwest::Client,
    endpoint: &Endpoint,
) -> Result<Caps, ProbeError> {
    match http::get(client, endpoint, "/props").await {
        Ok(props) => {
            let settings = props.get("default_generation_settings");
            Ok(Caps {
                llama_cpp: settings.is_some(),
                n_ctx: settings
                    .and_then(|s| s.get("n_ctx"))
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok()),
            })
        }
        // Reached but no such path: a server of another kind.
        Err(GetError::Status(_)) => Ok(Caps {
            llama_cpp: false,
            n_ctx: None,
        }),
        Err(GetError::Failed(problem)) => Err(ProbeError::Failed(problem)),
        Err(GetError::Configuration(e)) => Err(ProbeError::Configuration(e)),
    }
}
