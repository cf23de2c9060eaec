//! Pre-flight: what can be known to fail before any token is generated.

use std::fmt;
use std::sync::Arc;

use crate::{Error, ErrorKind};

/// One reason a step cannot run.
///
/// Built with [`Problem::new`] or [`Problem::from_error`]; two problems are
/// equal when their step and message are.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Problem {
    /// The step (agent name) the problem belongs to.
    pub step: String,
    /// What is wrong and what to do.
    pub message: String,
    /// The error the problem was found as, where it was one: its
    /// [`kind`](Error::kind) and its `source()` chain stay available.
    pub error: Option<Arc<Error>>,
    /// A warning rather than a problem: the step can run, but may fail on
    /// some inputs (an input that could overflow its context, say).
    /// [`Runtime::check`](crate::Runtime::check) logs warnings and fails on
    /// the others only.
    pub warning: bool,
}

impl Problem {
    /// A problem of `step`, described by `message`.
    pub fn new(step: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            step: step.into(),
            message: message.into(),
            error: None,
            warning: false,
        }
    }

    /// A warning for `step`, described by `message` (see [`Problem::warning`](Problem#structfield.warning)).
    pub fn warning(step: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            warning: true,
            ..Problem::new(step, message)
        }
    }

    /// The problem `error` is for `step`: its message, and the error kept.
    pub fn from_error(step: impl Into<String>, error: Error) -> Problem {
        Problem {
            step: step.into(),
            message: error.to_string(),
            error: Some(Arc::new(error)),
            warning: false,
        }
    }

    /// Whose fault the problem is: the kept error's kind, else
    /// [`ErrorKind::Configuration`] (pre-flight finds set-up mistakes).
    pub fn kind(&self) -> ErrorKind {
        self.error
            .as_ref()
            .map_or(ErrorKind::Configuration, |e| e.kind())
    }
}

impl PartialEq for Problem {
    fn eq(&self, other: &Problem) -> bool {
        self.step == other.step && self.message == other.message
    }
}

impl Eq for Problem {}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let warning = if self.warning { "warning: " } else { "" };
        write!(f, "{warning}step `{}`: {}", self.step, self.message)
    }
}

/// Every problem a pre-flight found, one per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// The problems, in chain order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}
