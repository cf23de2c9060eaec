//! Whether one answer is accepted: it parses into the output type and passes
//! the agent's own check.

use crate::{Agent, Error};

/// An answer that was not accepted: the error to report if no retry is left,
/// and the problem in words the model can act on when it is asked again.
pub(crate) struct Rejection {
    /// What a caller sees when this was the last attempt.
    pub error: Error,
    /// What the model is told on the next attempt.
    pub problem: String,
    /// The text the model produced.
    pub raw: String,
}

/// Parses `text` into `A::Output` and applies [`Agent::validate`], which
/// sees the `input` the answer was given for.
pub(crate) fn accept<A: Agent>(
    input: &A::Input,
    text: String,
) -> Result<A::Output, Box<Rejection>> {
    match crate::schema::parse_output::<A::Output>(A::NAME, &text) {
        Ok(output) => match A::validate(input, &output) {
            Ok(()) => Ok(output),
            Err(problem) => Err(Box::new(Rejection {
                error: Error::Invalid {
                    agent: A::NAME.to_string(),
                    problem: problem.clone(),
                    raw: text.clone(),
                },
                problem,
                raw: text,
            })),
        },
        Err(error) => {
            let problem = match &error {
                Error::Parse { reason, .. } => {
                    format!("it is not valid JSON for the requested shape ({reason})")
                }
                other => other.to_string(),
            };
            Err(Box::new(Rejection {
                error,
                problem,
                raw: text,
            }))
        }
    }
}
