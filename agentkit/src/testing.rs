//! A scripted backend for unit-testing pipelines without a model.
//!
//! It answers each agent with canned outputs, in order, checks every canned
//! output against the schema the real, constrained backend enforces
//! ([`grammar_schema`](crate::grammar_schema) of the output schema), so a test
//! can neither feed a pipeline something that backend could never produce nor
//! be refused what it can (a repeated item in a set), and records
//! every request it saw. It is a test aid: it proves the wiring of a pipeline,
//! not the behaviour of a model.
//!
//! ```
//! use agentkit::prelude::*;
//! use agentkit::testing::ScriptedBackend;
//!
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! struct Text { text: String }
//! #[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
//! struct Mood { positive: bool }
//!
//! /// Say whether the text is positive.
//! #[agent(model = "screen", input = Text, output = Mood)]
//! struct Sentiment;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let script = ScriptedBackend::new().reply::<Sentiment>(serde_json::json!({ "positive": true }));
//! let runtime = Runtime::builder().backend(script.clone()).build();
//! let mood = Sentiment.run(&runtime, Text { text: "lovely".into() }).await?;
//! assert_eq!(mood, Mood { positive: true });
//! assert!(script.calls()[0].prompt.to_string().contains("lovely"));
//! # Ok::<(), agentkit::Error>(())
//! # })?;
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::{Agent, Backend, Completion, Error, ModelSpec, Request};

/// A backend that returns canned outputs per agent and records what it was asked.
#[derive(Clone, Default)]
pub struct ScriptedBackend {
    inner: Arc<Mutex<Script>>,
}

#[derive(Default)]
struct Script {
    replies: HashMap<&'static str, VecDeque<String>>,
    scores: HashMap<&'static str, VecDeque<Vec<Vec<f64>>>>,
    calls: Vec<Request>,
    /// Whether only models registered with the runtime resolve.
    registered_only: bool,
}

impl std::fmt::Debug for ScriptedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let script = self.lock();
        f.debug_struct("ScriptedBackend")
            .field("pending", &script.replies)
            .field("calls", &script.calls.len())
            .finish()
    }
}

impl ScriptedBackend {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `output` as the next answer of agent `A`.
    pub fn reply<A: Agent>(self, output: Value) -> Self {
        self.reply_raw::<A>(output.to_string())
    }

    /// Queues raw text as the next answer of agent `A`, e.g. to test how a
    /// pipeline reports output that does not parse.
    pub fn reply_raw<A: Agent>(self, text: impl Into<String>) -> Self {
        self.lock()
            .replies
            .entry(A::NAME)
            .or_default()
            .push_back(text.into());
        self
    }

    /// Queues canned log-probabilities for the next scored call of agent `A`
    /// (see [`scored`](crate::scored)): one list per field, one number per
    /// allowed answer, in the order of the output type.
    pub fn scores<A: Agent>(self, log_probs: Vec<Vec<f64>>) -> Self {
        self.lock()
            .scores
            .entry(A::NAME)
            .or_default()
            .push_back(log_probs);
        self
    }

    /// Every request seen so far, in order.
    pub fn calls(&self) -> Vec<Request> {
        self.lock().calls.clone()
    }

    /// The requests seen so far for agent `A`.
    pub fn calls_for<A: Agent>(&self) -> Vec<Request> {
        self.lock()
            .calls
            .iter()
            .filter(|r| r.agent == A::NAME)
            .cloned()
            .collect()
    }

    /// Makes this backend provide no models of its own, so an agent's model
    /// resolves only if it was registered with the runtime, as with a real
    /// backend. By default a scripted backend answers for any model name, so
    /// tests need not register models they never load.
    pub fn registered_models_only(self) -> Self {
        self.lock().registered_only = true;
        self
    }

    /// How many canned replies are still queued, over all agents.
    pub fn pending(&self) -> usize {
        self.lock().replies.values().map(VecDeque::len).sum()
    }

    fn lock(&self) -> MutexGuard<'_, Script> {
        // A panic in another test thread must not hide this one's results.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl Backend for ScriptedBackend {
    fn model(&self, alias: &str) -> Option<ModelSpec> {
        (!self.lock().registered_only).then(|| ModelSpec::new(alias, alias))
    }

    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        let mut script = self.lock();
        let text = script
            .replies
            .get_mut(request.agent)
            .and_then(VecDeque::pop_front)
            .ok_or_else(|| Error::ScriptExhausted {
                agent: request.agent.to_string(),
            })?;
        let agent = request.agent;
        let schema = crate::grammar_schema(&request.schema);
        script.calls.push(request);
        drop(script);
        // Text that is not JSON is passed through: the runtime's parser reports it.
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            check_schema(agent, &schema, &value, &text)?;
        }
        let words = text.split_whitespace().count();
        Ok(Completion::new(text).with_tokens(0, 0, words))
    }

    async fn choose(
        &self,
        request: Request,
        choices: Vec<crate::Choice>,
    ) -> Result<Vec<Vec<f64>>, Error> {
        let mut script = self.lock();
        let agent = request.agent;
        let scores = script
            .scores
            .get_mut(agent)
            .and_then(VecDeque::pop_front)
            .ok_or_else(|| Error::ScriptExhausted {
                agent: agent.to_string(),
            })?;
        script.calls.push(request);
        let shape_ok = scores.len() == choices.len()
            && scores
                .iter()
                .zip(&choices)
                .all(|(s, c)| s.len() == c.options.len());
        if !shape_ok {
            let wanted: Vec<usize> = choices.iter().map(|c| c.options.len()).collect();
            return Err(Error::Backend {
                agent: agent.to_string(),
                reason: format!(
                    "the scripted scores do not fit: the output needs {} fields with {wanted:?} answers each",
                    choices.len()
                ),
            });
        }
        Ok(scores)
    }
}

fn check_schema(agent: &str, schema: &Value, value: &Value, raw: &str) -> Result<(), Error> {
    let validator = jsonschema::validator_for(schema).map_err(|e| Error::UnsupportedSchema {
        agent: agent.to_string(),
        location: e.instance_path().to_string(),
        reason: e.to_string(),
    })?;
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("at `{}`: {}", e.instance_path(), e))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::SchemaMismatch {
            agent: agent.to_string(),
            reason: problems.join("; "),
            raw: raw.to_string(),
        })
    }
}
