//! Scored choices: decide by the model's likelihood of each allowed answer.
//!
//! For an output that is a `bool`, a fieldless enum, an integer with a small
//! range (`#[schemars(range(min = 1, max = 5))]`), or a struct of such
//! fields, sampling is a coin toss weighted by the model; scoring reads the
//! weights instead. The prompt is evaluated once, then each allowed answer
//! of each field is scored, the likeliest is kept, and its probability
//! (normalised over the allowed answers) is reported, so callers can set
//! thresholds and see how sure a small model is.

mod calibrate;
mod call;
mod offsets;
mod plan;
mod step;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::backend::ModelKey;
use crate::tune::Tuning;
use crate::{Agent, Error, Shot};

/// An output with how sure the model was of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored<T> {
    /// The chosen output.
    pub value: T,
    /// Per field (a JSON path; empty for a bare value): every allowed answer
    /// with its probability, likeliest first. Probabilities sum to 1.
    pub fields: Vec<(String, Vec<(String, f64)>)>,
}

impl<T> Scored<T> {
    /// The probability of the chosen answer, multiplied over fields: how sure
    /// the model was of the whole output.
    pub fn confidence(&self) -> f64 {
        self.fields
            .iter()
            .map(|(_, options)| options.first().map_or(1.0, |o| o.1))
            .product()
    }

    /// The probability the model gave `option` for `field` (the field's
    /// name; `""` for an output that is a bare value): `probability("relevant",
    /// &true)`, `probability("subject", &Subject::LocalAiModels)`. Compare it
    /// with a threshold calibrated on labelled data to trade precision for
    /// recall. `None` when there is no such field or `option` is not one of
    /// its allowed answers.
    pub fn probability<V: serde::Serialize + ?Sized>(
        &self,
        field: &str,
        option: &V,
    ) -> Option<f64> {
        let option = serde_json::to_string(option).ok()?;
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .and_then(|(_, options)| options.iter().find(|o| o.0 == option))
            .map(|o| o.1)
    }

    /// The probability of the chosen answer of `field`.
    pub fn field_confidence(&self, field: &str) -> Option<f64> {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .and_then(|(_, o)| o.first().map(|o| o.1))
    }
}

/// Wraps an agent so it decides by scored choices; built by [`scored`].
pub struct ScoredAgent<A: Agent> {
    agent: A,
    calibration: Option<Arc<Calibration<A::Input>>>,
    shots: Option<Arc<Vec<Shot>>>,
    offsets: Arc<Offsets>,
}

impl<A: Agent + Clone> Clone for ScoredAgent<A> {
    fn clone(&self) -> Self {
        ScoredAgent {
            agent: self.agent.clone(),
            calibration: self.calibration.clone(),
            shots: self.shots.clone(),
            offsets: self.offsets.clone(),
        }
    }
}

/// Log-probability offsets per field and answer (the answer as JSON text),
/// and the model they were fitted on (its file's name, or its served name),
/// if they were fitted.
#[derive(Debug, Clone, Default)]
struct Offsets {
    by_field: BTreeMap<String, BTreeMap<String, f64>>,
    model: Option<String>,
}

impl<A: Agent + std::fmt::Debug> std::fmt::Debug for ScoredAgent<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScoredAgent")
            .field("agent", &self.agent)
            .field("calibrated", &self.calibration.is_some())
            .field("shots", &self.shots.as_ref().map(|s| s.len()))
            .field("offsets", &self.offsets.by_field)
            .finish()
    }
}

/// Contextual calibration: content-free inputs, and per model (its file, or
/// its first endpoint and served name) the mean probability of every answer
/// over them (the model's prior, whatever the input), computed on first use.
struct Calibration<I> {
    inputs: Vec<I>,
    priors: Mutex<HashMap<ModelKey, Arc<Prior>>>,
}

/// One model's prior: empty until measured. An async lock, held while it is
/// measured, so concurrent first calls wait for that one measurement.
type Prior = futures_util::lock::Mutex<Option<Vec<Vec<f64>>>>;

/// Runs `agent` by scored choices instead of sampling. Its output must be a
/// `bool`, a fieldless enum, an integer with at most 64 values (bound it with
/// `#[schemars(range(min = 1, max = 5))]`), or a struct whose fields are
/// such; anything else fails before the model is asked, with
/// [`Error::ScoredRange`] for an integer with more values (or no bounds) and
/// [`Error::UnsupportedSchema`] for other types.
///
/// An integer's values are scored as the model would write them; on a range
/// that reaches two digits a value that is a prefix of another (`1` of `10`)
/// scores no lower than it, so keep ranges to one digit where you can.
pub fn scored<A: Agent>(agent: A) -> ScoredAgent<A> {
    ScoredAgent {
        agent,
        calibration: None,
        shots: None,
        offsets: Arc::default(),
    }
}

impl<A: Agent> ScoredAgent<A> {
    /// Contextual calibration ("Calibrate Before Use", Zhao et al. 2021):
    /// small models lean towards one answer whatever the input. Scoring
    /// `content_free` inputs (an empty thread, one that says "N/A") measures
    /// that lean; every answer's probability is then divided by it and the
    /// field renormalised, and the likeliest calibrated answer is chosen.
    ///
    /// The lean is measured once per model (file, or endpoint and served
    /// name), on the first call (one scored call per content-free input), and
    /// kept; first calls that run concurrently (under
    /// [`Each::concurrency`](crate::Each::concurrency), say) wait for that one
    /// measurement, and one that fails is measured again by the next call. For an output with
    /// several fields each field is calibrated on its own; the backend scored
    /// later fields after the uncalibrated choice of earlier ones, so this is
    /// exact for one field and an approximation for more. An empty
    /// `content_free` leaves the agent uncalibrated.
    pub fn calibrate(mut self, content_free: Vec<A::Input>) -> Self {
        self.calibration = (!content_free.is_empty()).then(|| {
            Arc::new(Calibration {
                inputs: content_free,
                priors: Mutex::new(HashMap::new()),
            })
        });
        self
    }

    /// Adds `offset` to the log probability of `answer` for `field` (the
    /// field's name; `""` for a bare value) before the likeliest answer is
    /// chosen: a per-label bias. A positive offset favours the answer; for a
    /// `bool` an offset on `true` is a threshold on P(true) in disguise
    /// (P(true) ≥ 1 / (1 + e^offset) wins). Offsets add up, and apply after
    /// [`calibrate`](ScoredAgent::calibrate). Fit them on labelled data with
    /// [`tune`](crate::tune::tune) rather than by hand. An offset on a field
    /// or answer the output does not have fails the run with
    /// [`Error::UnsupportedSchema`] naming it.
    pub fn offset<V: serde::Serialize + ?Sized>(
        mut self,
        field: &str,
        answer: &V,
        offset: f64,
    ) -> Self {
        // Every answer a scored field can have is a bool or a string, which serialize.
        if let Ok(answer) = serde_json::to_string(answer) {
            let offsets = Arc::make_mut(&mut self.offsets);
            *offsets
                .by_field
                .entry(field.to_string())
                .or_default()
                .entry(answer)
                .or_default() += offset;
        }
        self
    }

    /// Shows the model `shots` as its few-shot examples instead of the
    /// agent's own (`#[agent(examples = ...)]`). Pre-flight checks still
    /// measure the agent's own examples against the context.
    pub fn shots(mut self, shots: Vec<Shot>) -> Self {
        self.shots = Some(Arc::new(shots));
        self
    }

    /// Applies what [`tune`](crate::tune::tune) chose: its few-shot examples
    /// and its per-answer offsets (which hold the contextual calibration, if
    /// that won). The offsets apply only while the agent's alias resolves to
    /// the model they were fitted on (the file's name, or the served name;
    /// see [`ModelKey::name`](crate::backend::ModelKey::name)); on another model the agent runs
    /// with the shots alone and logs a warning, until it is tuned again.
    /// Fails when `tuning` was written for another agent.
    pub fn tuned(mut self, tuning: &Tuning) -> Result<Self, Error> {
        if tuning.agent != A::NAME {
            return Err(Error::Tuning {
                path: PathBuf::new(),
                reason: format!(
                    "it was written for agent `{}`, not `{}`; load the file tuned for `{}`",
                    tuning.agent,
                    A::NAME,
                    A::NAME
                ),
            });
        }
        if let Some(shots) = &tuning.shots {
            self.shots = Some(Arc::new(shots.clone()));
        }
        let offsets = Arc::make_mut(&mut self.offsets);
        offsets
            .by_field
            .insert(tuning.field.clone(), tuning.offsets.clone());
        offsets.model = tuning.model.clone();
        Ok(self)
    }

    /// [`tuned`](ScoredAgent::tuned) with the tuning read from `path` (a
    /// JSON file [`Tuning::save`] wrote).
    pub fn tuned_from(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let tuning = Tuning::load(path)?;
        self.tuned(&tuning).map_err(|e| match e {
            Error::Tuning { reason, .. } => Error::Tuning {
                path: path.to_path_buf(),
                reason,
            },
            other => other,
        })
    }
}
