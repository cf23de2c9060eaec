//! What goes wrong below the [`Server`](super::Server): why one attempt
//! failed ([`Failure`], [`Problem`], the cause kept), the configuration
//! mistakes every entry point checks, and errors more than one module gives.
//!
//! Two layers, as the backend contract asks: a [`BackendError`] keeps the
//! HTTP client's error as its `source()`, and the agent is named once, by
//! [`Error::Backend`], where the request is known ([`with_agent`]).

use agentkit::backend::{BackendError, Endpoint, ModelSpec, Request};
use agentkit::Error;

use super::gbnf;

/// Why an endpoint did not answer, in words, with the HTTP client's error
/// underneath where there was one.
#[derive(Debug)]
pub(super) struct Problem {
    text: String,
    cause: Option<reqwest::Error>,
}

impl Problem {
    /// A problem said in `text`, with no error underneath.
    pub fn new(text: impl Into<String>) -> Problem {
        Problem {
            text: text.into(),
            cause: None,
        }
    }

    /// The HTTP client's error `e`, in words ([`describe`]) and kept.
    pub fn of(e: reqwest::Error) -> Problem {
        Problem {
            text: describe(&e),
            cause: Some(e),
        }
    }

    /// The same problem, said as `reword` says its text.
    pub fn reworded(self, reword: impl FnOnce(&str) -> String) -> Problem {
        Problem {
            text: reword(&self.text),
            cause: self.cause,
        }
    }

    /// What went wrong, in words.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The HTTP client's error underneath, if there was one.
    pub fn into_cause(self) -> Option<reqwest::Error> {
        self.cause
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why one attempt failed: move on to the next endpoint, or stop.
#[derive(Debug)]
pub(super) enum Failure {
    /// The endpoint is down, busy or broken; another may answer.
    Move(Problem),
    /// The request itself is wrong; no endpoint will take it.
    Stop(Error),
    /// The endpoint answered with this 4xx status (not 429) and body: the
    /// request's fault, unless a field of it is one the server does not know.
    Refused(reqwest::StatusCode, String),
}

/// `e` as a [`Failure::Stop`]; the agent is filled in by [`with_agent`].
pub(super) fn stop(e: BackendError) -> Failure {
    Failure::Stop(Error::backend(String::new(), e))
}

/// The endpoints of a served request, or a configuration error.
pub(super) fn served(request: &Request) -> Result<&[Endpoint], Error> {
    if request.model.endpoints().is_empty() {
        return Err(Error::Backend {
            agent: request.agent.to_string(),
            error: BackendError::configuration(format!(
                "model `{}` has no endpoints, and the server backend runs only served models; \
                 declare it as `{} = {{ endpoints = [{{ url = \"...\", model = \"...\" }}] }}` in \
                 agentkit.toml, or use `agentkit_backends::server::Router` to run local models \
                 in-process beside served ones",
                request.model.alias, request.model.alias
            )),
        });
    }
    Ok(request.model.endpoints())
}

/// The endpoint's API key is read from `var`, which is not set.
pub(super) fn missing_key(endpoint: &Endpoint, var: &str) -> BackendError {
    BackendError::configuration(format!(
        "the API key of endpoint {} is read from the environment variable `{var}`, \
         which is not set; export it or drop `api_key_env`",
        endpoint.url
    ))
}

/// The error for scored choices on endpoints that cannot score.
pub(super) fn unscorable(agent: &str, model: &ModelSpec) -> Error {
    let urls: Vec<&str> = model.endpoints().iter().map(|e| e.url.as_str()).collect();
    Error::Backend {
        agent: agent.to_string(),
        error: BackendError::new(format!(
            "scored choices need a backend with token log-probabilities under a grammar, and no \
             endpoint of model `{}` ({}) offers them; serve the model with llama-server, run it \
             in-process, or run the agent unscored",
            model.alias,
            urls.join(", ")
        )),
    }
}

/// An output schema the GBNF writer cannot compile.
pub(super) fn unsupported(agent: &str, e: gbnf::Unsupported) -> Error {
    Error::UnsupportedSchema {
        agent: agent.to_string(),
        location: e.location,
        reason: e.reason,
    }
}

/// `e` with the agent's name where the attempt could not know it.
pub(super) fn with_agent(e: Error, agent: &str) -> Error {
    match e {
        Error::Backend { agent: a, error } if a.is_empty() => Error::backend(agent, error),
        other => other,
    }
}

/// A reqwest error in words (without the URL's query, which holds nothing here).
pub(super) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect (connection refused or host unreachable)".to_string()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    }
}

/// The start of a response body, for an error message.
pub(super) fn excerpt(text: &str) -> String {
    let cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

/// A configuration error when `request` asks to think first
/// ([`agentkit::Sampling::reasoning`]) and `what` cannot do that yet; the
/// message names the agent's fix.
pub(super) fn no_reasoning(
    request: &agentkit::backend::Request,
    what: &str,
) -> Result<(), agentkit::Error> {
    if request.sampling.reasoning.is_none() {
        return Ok(());
    }
    Err(agentkit::Error::backend(
        request.agent,
        agentkit::backend::BackendError::configuration(format!(
            "{what} cannot think before the answer yet: drop `think_budget` from this agent \
             (or run it in-process, where scored choices think first)"
        )),
    ))
}
