//! Self-consistency: several samples, the most common answer wins.

use crate::backend::{Deltas, Restart};
use crate::{Agent, Error, Prompt, Runtime};

/// Draws `samples` answers to `input`, rendered as `prompt` (seeds `seed`,
/// `seed + 1000`, ...), and returns the one given most often with the share
/// of samples that agree with it. Ties go to the answer seen first. Answers are compared as JSON values, so two that
/// differ only in whitespace or key order are the same answer.
pub(crate) async fn vote<A: Agent>(
    runtime: &Runtime,
    input: &A::Input,
    prompt: &Prompt,
    samples: u32,
    span: &tracing::Span,
    deltas: Option<&Deltas>,
) -> Result<(A::Output, f64), Error> {
    let samples = samples.max(1);
    let mut answers: Vec<(serde_json::Value, A::Output, u32)> = Vec::new();
    for i in 0..samples {
        if let (Some(deltas), true) = (deltas, i > 0) {
            deltas.restart(Restart::Sample { sample: i });
        }
        let (raw, output) =
            super::retry::answer::<A>(runtime, input, prompt, i.wrapping_mul(1000), span, deltas)
                .await?;
        // The raw text parsed into `A::Output`, so it is JSON.
        let value = serde_json::from_str(raw.trim()).unwrap_or(serde_json::Value::String(raw));
        match answers.iter_mut().find(|(v, _, _)| *v == value) {
            Some(seen) => seen.2 += 1,
            None => answers.push((value, output, 1)),
        }
    }
    let mut best = 0;
    for (i, a) in answers.iter().enumerate() {
        if a.2 > answers[best].2 {
            best = i;
        }
    }
    let (_, output, votes) = answers.swap_remove(best);
    Ok((output, f64::from(votes) / f64::from(samples)))
}
