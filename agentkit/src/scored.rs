//! Scored choices: decide by the model's likelihood of each allowed answer.
//!
//! For an output that is a `bool`, a fieldless enum, or a struct of such
//! fields, sampling is a coin toss weighted by the model; scoring reads the
//! weights instead. The prompt is evaluated once, then each allowed answer
//! of each field is scored, the likeliest is kept, and its probability
//! (normalised over the allowed answers) is reported, so callers can set
//! thresholds and see how sure a small model is.

use serde_json::Value;

use crate::{Agent, Choice, Error, Prompt, Request, Runtime, Step, Yields};

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
#[derive(Debug, Clone, Copy)]
pub struct ScoredAgent<A> {
    agent: A,
}

/// Runs `agent` by scored choices instead of sampling. Its output must be a
/// `bool`, a fieldless enum, or a struct whose fields are such; anything else
/// fails with [`Error::UnsupportedSchema`] before the model is asked.
pub fn scored<A: Agent>(agent: A) -> ScoredAgent<A> {
    ScoredAgent { agent }
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

impl<A: Agent> Step<A::Input> for ScoredAgent<A> {
    async fn run(&self, runtime: &Runtime, input: A::Input) -> Result<Scored<A::Output>, Error> {
        let span = tracing::info_span!("agent", agent = A::NAME, model = A::MODEL, mode = "scored");
        runtime.preflight::<A>().await?;
        let schema = crate::schema::output_schema::<A::Output>();
        let fields = plan(A::NAME, &schema)?;
        let request = Request {
            agent: A::NAME,
            model: runtime.resolve(A::NAME, A::MODEL)?,
            prompt: Prompt::render::<A>(&input)?,
            schema,
            sampling: A::SAMPLING,
        };
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
        let scores =
            tracing::Instrument::instrument(backend.choose(request, choices), span).await?;
        runtime.record_call();
        let mut text = String::new();
        let mut report = Vec::with_capacity(fields.len());
        for (i, (field, log_probs)) in fields.iter().zip(&scores).enumerate() {
            let probs = normalise(log_probs);
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

    fn check(
        &self,
        runtime: &Runtime,
    ) -> impl std::future::Future<Output = Vec<crate::Problem>> + Send {
        crate::run::check_agent(&self.agent, runtime)
    }
}
