//! Whose fault an [`Error`] was ([`ErrorKind`]), and the agent it belongs to.

use super::Error;

/// Whose fault a failure was, and so what to do about it: the answer of
/// [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The set-up: a model alias, file, backend, schema, manifest, dataset or
    /// test script. Nothing will work until it is fixed.
    Configuration,
    /// This input: it could not be serialized, or is too long for the context.
    /// Other inputs may still run.
    Input,
    /// The model's answer: it did not parse, broke the schema, failed the
    /// agent's check, or was cut short. A retry, more samples, a bigger
    /// model or a better prompt may help.
    ModelOutput,
    /// A tool step (your own Rust code) failed; its error is the `source()`.
    Tool,
    /// The machine or the backend itself failed.
    Backend,
}

impl Error {
    /// Whose fault this failure was: the configuration's, the input's, the
    /// model's output, a tool's, or the backend's.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::UnknownModel { .. }
            | Error::ModelNotFound { .. }
            | Error::ModelLoad { .. }
            | Error::NoBackend
            | Error::UnsupportedSchema { .. }
            | Error::ScoredRange { .. }
            | Error::ChatTemplate { .. }
            | Error::Preflight { .. }
            | Error::Dataset { .. }
            | Error::Tuning { .. }
            | Error::Sizing { .. }
            | Error::Tools { .. }
            | Error::ToolSource { .. }
            | Error::FitPolicy { .. }
            | Error::Manifest { .. } => ErrorKind::Configuration,
            Error::Input { .. } | Error::ContextOverflow { .. } => ErrorKind::Input,
            Error::Parse { .. }
            | Error::SchemaMismatch { .. }
            | Error::Truncated { .. }
            | Error::Invalid { .. }
            | Error::ToolTurns { .. }
            | Error::Rejected { .. } => ErrorKind::ModelOutput,
            Error::Tool { .. } => ErrorKind::Tool,
            Error::Backend { error, .. } if error.is_configuration() => ErrorKind::Configuration,
            Error::Backend { .. } => ErrorKind::Backend,
        }
    }

    /// A backend's failure in `agent`.
    pub fn backend(agent: impl Into<String>, error: crate::backend::BackendError) -> Error {
        Error::Backend {
            agent: agent.into(),
            error,
        }
    }

    /// The agent the failure belongs to, when it belongs to one.
    pub fn agent(&self) -> Option<&str> {
        match self {
            Error::UnknownModel { agent, .. }
            | Error::Input { agent, .. }
            | Error::UnsupportedSchema { agent, .. }
            | Error::ScoredRange { agent, .. }
            | Error::Parse { agent, .. }
            | Error::SchemaMismatch { agent, .. }
            | Error::ContextOverflow { agent, .. }
            | Error::Truncated { agent, .. }
            | Error::Invalid { agent, .. }
            | Error::Rejected { agent, .. }
            | Error::Sizing { agent, .. }
            | Error::Tools { agent, .. }
            | Error::ToolTurns { agent, .. }
            | Error::FitPolicy { agent, .. }
            | Error::Backend { agent, .. } => Some(agent),
            _ => None,
        }
    }
}
