//! Per-answer offsets: checked against the output's fields, applied on the
//! model they were fitted on.

use std::collections::BTreeMap;

use super::call::normalise;
use super::plan::Field;
use super::{Offsets, ScoredAgent};
use crate::{Agent, Error, Runtime};

/// `probs` with `offsets` (by answer) added to their logarithms, renormalised.
pub(super) fn shift(
    probs: &[f64],
    options: &[String],
    offsets: &BTreeMap<String, f64>,
) -> Vec<f64> {
    let logs: Vec<f64> = probs
        .iter()
        .zip(options)
        .map(|(p, o)| p.ln() + offsets.get(o).copied().unwrap_or(0.0))
        .collect();
    normalise(&logs)
}

/// Every answer an offset names is one of `fields`' allowed answers.
pub(super) fn check_offsets(agent: &str, fields: &[Field], offsets: &Offsets) -> Result<(), Error> {
    for (name, answers) in &offsets.by_field {
        let field = fields.iter().find(|f| &f.path == name).ok_or_else(|| {
            let known: Vec<String> = fields.iter().map(|f| format!("`{}`", f.path)).collect();
            Error::UnsupportedSchema {
                agent: agent.to_string(),
                location: format!("`{name}`"),
                reason: format!(
                    "an offset names field `{name}`, which the output does not have; its fields: {}",
                    known.join(", ")
                ),
            }
        })?;
        if let Some(answer) = answers.keys().find(|a| !field.options.contains(a)) {
            return Err(Error::UnsupportedSchema {
                agent: agent.to_string(),
                location: format!("`{name}`"),
                reason: format!(
                    "an offset names answer {answer}, which is not one of {}",
                    field.options.join(", ")
                ),
            });
        }
    }
    Ok(())
}

impl<A: Agent> ScoredAgent<A> {
    /// The offsets to apply on the model `runtime` resolves for this agent:
    /// none when they were fitted on another model file.
    pub(super) fn offsets_for(&self, runtime: &Runtime) -> Result<Option<&Offsets>, Error> {
        if self.offsets.by_field.is_empty() {
            return Ok(None);
        }
        let Some(fitted) = &self.offsets.model else {
            return Ok(Some(&self.offsets));
        };
        let model = runtime.resolve(A::NAME, A::MODEL)?.key();
        if model.name().as_deref() == Some(fitted.as_str()) {
            return Ok(Some(&self.offsets));
        }
        tracing::warn!(
            agent = A::NAME,
            "the offsets were tuned on `{fitted}`, but the model is {model}; running without them (tune again for this model)",
        );
        Ok(None)
    }
}
