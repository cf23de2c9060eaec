//! Scored choices: decide by the model's likelihood of each allowed answer.
//!
//! For an output that is a `bool`, a fieldless enum, or a struct of such
//! fields, sampling is a coin toss weighted by the model; scoring reads the
//! weights instead. The prompt is evaluated once, then each allowed answer
//! of each field is scored, the likeliest is kept, and its probability
//! (normalised over the allowed answers) is reported, so callers can set
//! thresholds and see how sure a small model is.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::backend::{Choice, ModelKey, OutputSchema, Request};
use crate::tune::Tuning;
use crate::{Agent, Error, Prompt, Runtime, Shot, Step, Yields};

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
/// and the model file they were fitted on, if they were fitted.
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

/// Contextual calibration: content-free inputs, and per model (its file, or its first endpoint and served name) the mean
/// probability of every answer over them (the model's prior, whatever the
/// input), computed on first use.
struct Calibration<I> {
    inputs: Vec<I>,
    priors: Mutex<HashMap<ModelKey, Vec<Vec<f64>>>>,
}

/// Runs `agent` by scored choices instead of sampling. Its output must be a
/// `bool`, a fieldless enum, or a struct whose fields are such; anything else
/// fails with [`Error::UnsupportedSchema`] before the model is asked.
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
    /// The lean is measured once per model (file, or endpoint and served name), on the first call (one
    /// scored call per content-free input), and kept. For an output with
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
    /// the model file they were fitted on; on another model the agent runs
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

/// A field to decide: its JSON path, name (for the lead), and allowed answers.
struct Field {
    path: String,
    name: Option<String>,
    options: Vec<String>,
}

fn options_of(schema: &Value, root: &Value) -> Option<Vec<String>> {
    let schema = crate::schema::deref(schema, root);
    if schema.get("type").and_then(Value::as_str) == Some("boolean") {
        return Some(vec!["true".into(), "false".into()]);
    }
    if let Some(c) = schema.get("const") {
        return c.is_string().then(|| vec![c.to_string()]);
    }
    if let Some(variants) = schema.get("enum").and_then(Value::as_array) {
        return variants
            .iter()
            .map(|v| v.is_string().then(|| v.to_string()))
            .collect();
    }
    // Enums whose variants carry doc comments become `oneOf` of `const`s.
    let alternatives = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)?;
    let mut options = Vec::new();
    for alternative in alternatives {
        options.extend(options_of(alternative, root)?);
    }
    (!options.is_empty()).then_some(options)
}

fn plan(agent: &str, schema: &Value) -> Result<Vec<Field>, Error> {
    if let Some(options) = options_of(schema, schema) {
        return Ok(vec![Field {
            path: String::new(),
            name: None,
            options,
        }]);
    }
    let unsupported = |location: String| Error::UnsupportedSchema {
        agent: agent.to_string(),
        location,
        reason: "scored choices need a bool, a fieldless enum, or a struct of those".into(),
    };
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| unsupported("the schema root".into()))?;
    props
        .iter()
        .map(|(name, prop)| {
            let options = options_of(prop, schema)
                .ok_or_else(|| unsupported(format!("`/properties/{name}`")))?;
            Ok(Field {
                path: name.clone(),
                name: Some(name.clone()),
                options,
            })
        })
        .collect()
}

/// Softmax over log probabilities.
fn normalise(log_probs: &[f64]) -> Vec<f64> {
    let max = log_probs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = log_probs.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

impl<A: Agent> Yields for ScoredAgent<A> {
    type Output = Scored<A::Output>;
}

/// The model's probabilities of every allowed answer of every field, for
/// one input: one scored call.
async fn probabilities<A: Agent>(
    runtime: &Runtime,
    fields: &[Field],
    schema: &OutputSchema,
    shots: Option<&[Shot]>,
    input: &A::Input,
) -> Result<Vec<Vec<f64>>, Error> {
    let span = tracing::info_span!("agent", agent = A::NAME, model = A::MODEL, mode = "scored");
    let prompt = match shots {
        Some(shots) => Prompt::render_with::<A>(input, shots)?,
        None => Prompt::render::<A>(input)?,
    };
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
    // Before the call: a backend without log-probabilities for this model says so.
    backend.check_scored(&request).await?;
    let scores = tracing::Instrument::instrument(backend.choose(request, choices), span).await?;
    runtime.record_call();
    Ok(scores.iter().map(|l| normalise(l)).collect())
}

impl<A: Agent> ScoredAgent<A> {
    /// The model's mean probabilities over the content-free inputs, measured
    /// once per model ([`ModelKey`]: its file, or its endpoint and served name).
    async fn prior(
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
fn divide(probs: &[f64], prior: &[f64]) -> Vec<f64> {
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

/// `probs` with `offsets` (by answer) added to their logarithms, renormalised.
fn shift(probs: &[f64], options: &[String], offsets: &BTreeMap<String, f64>) -> Vec<f64> {
    let logs: Vec<f64> = probs
        .iter()
        .zip(options)
        .map(|(p, o)| p.ln() + offsets.get(o).copied().unwrap_or(0.0))
        .collect();
    normalise(&logs)
}

/// Every answer an offset names is one of `fields`' allowed answers.
fn check_offsets(agent: &str, fields: &[Field], offsets: &Offsets) -> Result<(), Error> {
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
    /// The fields this agent decides, each with its allowed answers (JSON
    /// text), in the order the model is asked.
    pub(crate) fn fields() -> Result<Vec<(String, Vec<String>)>, Error> {
        let schema = OutputSchema::of::<A::Output>();
        Ok(plan(A::NAME, schema.full())?
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
        let fields = plan(A::NAME, schema.full())?;
        probabilities::<A>(runtime, &fields, &schema, shots, input).await
    }

    /// The offsets to apply on the model `runtime` resolves for this agent:
    /// none when they were fitted on another model file.
    fn offsets_for(&self, runtime: &Runtime) -> Result<Option<&Offsets>, Error> {
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

impl<A: Agent> Step<A::Input> for ScoredAgent<A> {
    async fn run(&self, runtime: &Runtime, input: A::Input) -> Result<Scored<A::Output>, Error> {
        runtime.preflight::<A>().await?;
        let schema = OutputSchema::of::<A::Output>();
        let fields = plan(A::NAME, schema.full())?;
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
        if !problems.is_empty() {
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
            Ok(()) => Vec::new(),
            Err(e) => vec![crate::Problem::from_error(A::NAME, e)],
        }
    }
}
