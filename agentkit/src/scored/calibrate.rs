//! Contextual calibration: the model's lean, measured on content-free
//! inputs, divided out.

use std::sync::Arc;

use futures_util::future::join_all;

use super::call::probabilities;
use super::plan::Field;
use super::{Calibration, ScoredAgent};
#[cfg(doc)]
use crate::backend::ModelKey;
use crate::backend::OutputSchema;
use crate::{Agent, Error, Runtime, Shot};

impl<A: Agent> ScoredAgent<A> {
    /// The model's mean probabilities over the content-free inputs, measured
    /// once per model ([`ModelKey`]: its file, or its endpoint and served name).
    /// Concurrent first calls wait for one measurement; a measurement that
    /// fails is not kept, so the next call measures again.
    pub(super) async fn prior(
        &self,
        calibration: &Calibration<A::Input>,
        runtime: &Runtime,
        fields: &[Field],
        schema: &OutputSchema,
    ) -> Result<Vec<Vec<f64>>, Error> {
        let model = runtime.resolve(A::NAME, A::MODEL)?.key();
        let slot = Arc::clone(
            calibration
                .priors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(model)
                .or_default(),
        );
        // Held across the measurement: the other first calls wait here.
        let mut prior = slot.lock().await;
        if let Some(prior) = prior.as_ref() {
            return Ok(prior.clone());
        }
        let shots = self.shots.as_deref().map(Vec::as_slice);
        let measured =
            mean_probabilities::<A>(runtime, fields, schema, shots, &calibration.inputs).await?;
        *prior = Some(measured.clone());
        Ok(measured)
    }
}

/// The mean probabilities of every answer over `inputs`: one scored call
/// each, made together (a batching backend scores them in shared passes).
async fn mean_probabilities<A: Agent>(
    runtime: &Runtime,
    fields: &[Field],
    schema: &OutputSchema,
    shots: Option<&[Shot]>,
    inputs: &[A::Input],
) -> Result<Vec<Vec<f64>>, Error> {
    let mut sum: Vec<Vec<f64>> = fields.iter().map(|f| vec![0.0; f.options.len()]).collect();
    let calls = inputs
        .iter()
        .map(|input| probabilities::<A>(runtime, fields, schema, shots, input));
    for probs in join_all(calls).await {
        let probs = probs?;
        for (total, field) in sum.iter_mut().zip(&probs) {
            for (t, p) in total.iter_mut().zip(field) {
                *t += p;
            }
        }
    }
    let n = inputs.len() as f64;
    Ok(sum
        .into_iter()
        .map(|f| f.into_iter().map(|t| t / n).collect())
        .collect())
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
