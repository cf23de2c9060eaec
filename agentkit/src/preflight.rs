//! Pre-flight: what can be known to fail before any token is generated.

use std::fmt;

/// One reason a step cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The step (agent name) the problem belongs to.
    pub step: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step `{}`: {}", self.step, self.message)
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
