//! The llama.cpp backend's failures, as agentkit errors.

use agentkit::backend::BackendError;
use agentkit::Error;

/// A failure of `agent` (empty where no agent is known yet): `what` failed,
/// for the reason `why`.
pub(super) fn failure(agent: &str, what: &str, why: impl std::fmt::Display) -> Error {
    Error::backend(agent, BackendError::new(format!("{what}: {why}")))
}

/// A failure of `agent` caused by llama.cpp's (or another library's) error
/// `cause`, which stays reachable through `source()`.
pub(super) fn caused(
    agent: &str,
    what: &str,
    cause: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::backend(agent, BackendError::caused_by(what, cause))
}
