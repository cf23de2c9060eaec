//! A scored agent as a step: score, calibrate, shift, and parse the likeliest answers.

use serde_json::Value;

use super::calibrate::divide;
use super::call::probabilities;
use super::offsets::{check_offsets, shift};
use super::plan::plan;
use super::{Scored, ScoredAgent};
use crate::backend::{OutputSchema, Request};
use crate::{Agent, Error, Prompt, Runtime, Step, Yields};

impl<A: Agent> Yields for ScoredAgent<A> {
    type Output = Scored<A::Output>;
}

impl<A: Agent> Step<A::Input> for ScoredAgent<A> {
    async fn run(&self, runtime: &Runtime, input: A::Input) -> Result<Scored<A::Output>, Error> {
        runtime.preflight::<A>().await?;
        let schema = OutputSchema::of::<A::Output>();
        let fields = plan(A::NAME, schema.model())?;
        check_offsets(A::NAME, &fields, &self.offsets)?;
        let shots = self.shots.as_deref().map(Vec::as_slice);
        let mut probs = probabilities::<A>(runtime, &fields, &schema, shots, &input).await?;
        if let Some(calibration) = &self.calibration {
            let prior = self.prior(calibration, runtime, &fields, &schema).await?;
            probs = probs
                .iter()
                .zip(&prior)
                .map(|(p, q)| divide(p, q))
                .collect();
        }
        if let Some(offsets) = self.offsets_for(runtime)? {
            for (field, probs) in fields.iter().zip(probs.iter_mut()) {
                if let Some(by_answer) = offsets.by_field.get(&field.path) {
                    *probs = shift(probs, &field.options, by_answer);
                }
            }
        }
        let mut text = String::new();
        let mut report = Vec::with_capacity(fields.len());
        for (i, (field, probs)) in fields.iter().zip(probs).enumerate() {
            let mut ranked: Vec<(String, f64)> = field.options.iter().cloned().zip(probs).collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            if let Some(name) = &field.name {
                text.push_str(if i == 0 { "{" } else { "," });
                text.push_str(&Value::String(name.clone()).to_string());
                text.push(':');
            }
            text.push_str(ranked.first().map_or("", |r| r.0.as_str()));
            report.push((field.path.clone(), ranked));
        }
        if fields.iter().any(|f| f.name.is_some()) {
            text.push('}');
        }
        let value = crate::schema::parse_output::<A::Output>(A::NAME, &text)?;
        Ok(Scored {
            value,
            fields: report,
        })
    }

    async fn check(&self, runtime: &Runtime) -> Vec<crate::Problem> {
        let problems = crate::run::check_agent(&self.agent, runtime).await;
        if problems.iter().any(|p| !p.warning) {
            return problems;
        }
        // Scoring needs log-probabilities, which not every backend has.
        let scorable = async {
            let request = Request::new(
                A::NAME,
                runtime.resolve(A::NAME, A::MODEL)?,
                Prompt::preamble::<A>()?,
                OutputSchema::of::<A::Output>(),
                A::SAMPLING,
            );
            runtime.backend()?.check_scored(&request).await
        };
        match scorable.await {
            Ok(()) => problems,
            Err(e) => vec![crate::Problem::from_error(A::NAME, e)],
        }
    }
}
