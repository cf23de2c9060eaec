//! One scored call: the model's probabilities of every allowed answer.

use serde_json::Value;

use super::plan::{plan, Field};
use super::ScoredAgent;
use crate::backend::{Choice, OutputSchema, Request};
use crate::{Agent, Error, Prompt, Runtime, Shot};

/// Softmax over log probabilities.
pub(super) fn normalise(log_probs: &[f64]) -> Vec<f64> {
    let max = log_probs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = log_probs.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

/// The model's probabilities of every allowed answer of every field, for
/// one input: one scored call.
pub(super) async fn probabilities<A: Agent>(
    runtime: &Runtime,
    fields: &[Field],
    schema: &OutputSchema,
    shots: Option<&[Shot]>,
    input: &A::Input,
) -> Result<Vec<Vec<f64>>, Error> {
    let span = crate::genai::agent_span::<A>("scored");
    let prompt = match shots {
        Some(shots) => Prompt::render_with::<A>(input, shots)?,
        None => Prompt::render::<A>(input)?,
    };
    let prompt = crate::fit::fit::<A>(runtime, input, prompt).await?;
    let request = Request::new(
        A::NAME,
        runtime.resolve(A::NAME, A::MODEL)?,
        prompt,
        schema.clone(),
        A::SAMPLING,
    )
    .with_input(crate::backend::input_json::<A>(input)?);
    let choices: Vec<Choice> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| Choice {
            lead: match &f.name {
                Some(name) => format!(
                    "{}{}:",
                    if i == 0 { "{" } else { "," },
                    Value::String(name.clone())
                ),
                None => String::new(),
            },
            options: f.options.clone(),
        })
        .collect();
    let backend = runtime.backend()?;
    crate::genai::record_system(&span, backend, &request.model);
    crate::genai::record_prompt(&span, &request.prompt);
    // Before the call: a backend without log-probabilities for this model says so.
    backend.check_scored(&request).await?;
    let scores =
        tracing::Instrument::instrument(backend.choose(request, choices), span.clone()).await;
    if let Err(e) = &scores {
        crate::genai::record_error(&span, e);
    }
    let scores = scores?;
    runtime.record_call();
    Ok(scores.iter().map(|l| normalise(l)).collect())
}

impl<A: Agent> ScoredAgent<A> {
    /// The fields this agent decides, each with its allowed answers (JSON
    /// text), in the order the model is asked.
    pub(crate) fn fields() -> Result<Vec<(String, Vec<String>)>, Error> {
        let schema = OutputSchema::of::<A::Output>();
        Ok(plan(A::NAME, schema.model())?
            .into_iter()
            .map(|f| (f.path, f.options))
            .collect())
    }

    /// The model's own probabilities for `input`, with `shots` as the
    /// few-shot examples (`None`: the agent's own), before calibration and
    /// offsets: one scored call.
    pub(crate) async fn raw(
        runtime: &Runtime,
        shots: Option<&[Shot]>,
        input: &A::Input,
    ) -> Result<Vec<Vec<f64>>, Error> {
        runtime.preflight::<A>().await?;
        let schema = OutputSchema::of::<A::Output>();
        let fields = plan(A::NAME, schema.model())?;
        probabilities::<A>(runtime, &fields, &schema, shots, input).await
    }
}
