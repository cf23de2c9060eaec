//! Contextual calibration: the model's lean, measured on content-free
//! inputs, divided out.

use super::call::probabilities;
use super::plan::Field;
use super::{Calibration, ScoredAgent};
#[cfg(doc)]
use crate::backend::ModelKey;
use crate::backend::OutputSchema;
use crate::{Agent, Error, Runtime};

impl<A: Agent> ScoredAgent<A> {
    /// The model's mean probabilities over the content-free inputs, measured
    /// once per model ([`ModelKey`]: its file, or its endpoint and served name).
    pub(super) async fn prior(
        &self,
        calibration: &Calibration<A::Input>,
        runtime: &Runtime,
        fields: &[Field],
        schema: &OutputSchema,
    ) -> Result<Vec<Vec<f64>>, Error> {
        let model = runtime.resolve(A::NAME, A::MODEL)?.key();
        let cached = calibration
            .priors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&model)
            .cloned();
        if let Some(prior) = cached {
            return Ok(prior);
        }
        let mut sum: Vec<Vec<f64>> = fields.iter().map(|f| vec![0.0; f.options.len()]).collect();
        for input in &calibration.inputs {
            let probs = probabilities::<A>(
                runtime,
                fields,
                schema,
                self.shots.as_deref().map(Vec::as_slice),
                input,
            )
            .await?;
            for (total, field) in sum.iter_mut().zip(&probs) {
                for (t, p) in total.iter_mut().zip(field) {
                    *t += p;
                }
            }
        }
        let n = calibration.inputs.len() as f64;
        let prior: Vec<Vec<f64>> = sum
            .into_iter()
            .map(|f| f.into_iter().map(|t| t / n).collect())
            .collect();
        calibration
            .priors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(model, prior.clone());
        Ok(prior)
    }
}

/// `probs` divided by `prior` and renormalised: the answer the input itself
/// supports. A prior of zero (never seen) leaves the probability as it is.
pub(super) fn divide(probs: &[f64], prior: &[f64]) -> Vec<f64> {
    let raw: Vec<f64> = probs
        .iter()
        .zip(prior)
        .map(|(p, q)| if *q > 0.0 { p / q } else { *p })
        .collect();
    let sum: f64 = raw.iter().sum();
    if sum > 0.0 {
        raw.iter().map(|r| r / sum).collect()
    } else {
        probs.to_vec()
    }
}
