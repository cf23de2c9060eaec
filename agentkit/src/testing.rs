//! A scripted backend for unit-testing pipelines without a model.
//!
//! Needs agentkit's `testing` feature, which is off by default so that the
//! scripted backend and its schema validator stay out of release builds.
//! Turn it on for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! agentkit = { version = "0.1", features = ["testing"] }
//! ```
//!
//! It answers each agent with canned outputs, checks every canned
//! output against the schema the real, constrained backend enforces
//! ([`grammar_schema`](crate::grammar_schema) of the output schema), so a test
//! can neither feed a pipeline something that backend could never produce nor
//! be refused what it can (a repeated item in a set), and records
//! every request it saw. It is a test aid: it proves the wiring of a pipeline,
//! not the behaviour of a model.
//!
//! A canned output is either queued ([`reply`](ScriptedBackend::reply): the
//! agent's next call gets it, whatever its input) or tied to an input
//! ([`reply_when`](ScriptedBackend::reply_when) with a predicate on the typed
//! input, [`reply_for`](ScriptedBackend::reply_for) with the input itself), so
//! it reaches the call it was written for in whatever order concurrent calls
//! arrive.
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
//! let script = ScriptedBackend::new()
//!     .reply_when::<Sentiment>(|t| t.text.contains("awful"), serde_json::json!({ "positive": false }))
//!     .reply::<Sentiment>(serde_json::json!({ "positive": true }));
//! let runtime = Runtime::builder().backend(script.clone()).build();
//! let bad = Sentiment.run(&runtime, Text { text: "awful".into() }).await?;
//! let good = Sentiment.run(&runtime, Text { text: "lovely".into() }).await?;
//! assert_eq!((bad, good), (Mood { positive: false }, Mood { positive: true }));
//! assert!(script.calls()[1].prompt.to_string().contains("lovely"));
//! # Ok::<(), agentkit::Error>(())
//! # })?;
//! # Ok(())
//! # }
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::backend::{BackendError, Choice, Completion, Deltas, Request};
use crate::{Agent, Backend, Error, ModelSpec};

/// A backend that returns canned outputs per agent and records what it was asked.
#[derive(Clone, Default)]
pub struct ScriptedBackend {
    inner: Arc<Mutex<Script>>,
}

#[derive(Default)]
struct Script {
    /// Queued replies, each as the chunks it is streamed in.
    replies: HashMap<&'static str, VecDeque<Vec<String>>>,
    /// Replies tied to inputs, per agent, in the order they were added.
    tied: HashMap<&'static str, Vec<TiedReply>>,
    scores: HashMap<&'static str, VecDeque<Vec<Vec<f64>>>>,
    calls: Vec<Request>,
    /// Whether only models registered with the runtime resolve.
    registered_only: bool,
    /// Characters per chunk when a reply without chunks of its own is streamed.
    chunk_size: Option<usize>,
}

/// Whether a call fits a tied reply. User code, so it runs outside the lock.
type Fits = dyn Fn(&Request) -> Result<bool, Error> + Send + Sync;

struct TiedReply {
    fits: Arc<Fits>,
    text: String,
    /// Answers every call that fits, not only the first.
    always: bool,
    used: bool,
}

impl std::fmt::Debug for ScriptedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let script = self.lock();
        let tied: HashMap<&str, usize> = script
            .tied
            .iter()
            .map(|(agent, replies)| (*agent, replies.len()))
            .collect();
        f.debug_struct("ScriptedBackend")
            .field("pending", &script.replies)
            .field("chunk_size", &script.chunk_size)
            .field("tied", &tied)
            .field("calls", &script.calls.len())
            .finish()
    }
}

impl ScriptedBackend {
    /// An empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues `output` as the next answer of agent `A`, whatever its input.
    ///
    /// Queued replies go to calls in the order the calls reach the backend,
    /// which under `.each(..).concurrency(n)` or `both` need not be the order
    /// of the items: tie a reply to its input with
    /// [`reply_when`](Self::reply_when) or [`reply_for`](Self::reply_for) there.
    pub fn reply<A: Agent>(self, output: Value) -> Self {
        self.reply_raw::<A>(output.to_string())
    }

    /// Queues raw text as the next answer of agent `A`, e.g. to test how a
    /// pipeline reports output that does not parse.
    pub fn reply_raw<A: Agent>(self, text: impl Into<String>) -> Self {
        self.reply_chunks::<A>([text.into()])
    }

    /// Queues the next answer of agent `A` as the chunks a streaming call
    /// receives it in (see [`Streams`](crate::Streams)): the answer is their
    /// concatenation, and each chunk is one delta, so a test chooses exactly
    /// where the text is cut (inside a string, an escape, a number).
    pub fn reply_chunks<A: Agent>(
        self,
        chunks: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let chunks = chunks.into_iter().map(Into::into).collect();
        self.lock()
            .replies
            .entry(A::NAME)
            .or_default()
            .push_back(chunks);
        self
    }

    /// Streams every reply that has no chunks of its own in chunks of
    /// `chars` characters (at least one), as a model writes a few characters
    /// per token. Without it such a reply is streamed whole, in one delta.
    pub fn chunk_size(self, chars: usize) -> Self {
        self.lock().chunk_size = Some(chars.max(1));
        self
    }

    /// Answers `output` to one call of agent `A` whose input satisfies
    /// `when`, in whatever order the calls arrive. Used once, like
    /// [`reply`](Self::reply); [`always_when`](Self::always_when) answers every
    /// call that fits.
    ///
    /// A call is answered by the first unused tied reply (in the order they
    /// were added) that fits its input, else by the next queued
    /// [`reply`](Self::reply); with neither it fails with
    /// [`Error::ScriptUnmatched`], which shows the input.
    ///
    /// `when` sees the request's [`input`](Request::input) decoded into
    /// `A::Input`, so it works for every input type (a tuple from
    /// [`with_input`](crate::with_input) too) and every input format, as long
    /// as `A::Input` deserializes from the JSON it serializes to; for one that
    /// does not (a field skipped when serializing, say) use
    /// [`reply_for`](Self::reply_for).
    pub fn reply_when<A: Agent>(
        self,
        when: impl Fn(&A::Input) -> bool + Send + Sync + 'static,
        output: Value,
    ) -> Self
    where
        A::Input: DeserializeOwned,
    {
        self.tie::<A>(predicate::<A>(when), output, false)
    }

    /// Answers `output` to every call of agent `A` whose input satisfies
    /// `when`: for calls that repeat an input (retries, `samples`, a chain
    /// run twice). Otherwise as [`reply_when`](Self::reply_when); a reply
    /// added earlier that fits is used first, so
    /// `.reply_when::<A>(p, bad).always_when::<A>(p, good)` answers `bad`
    /// once and `good` from then on.
    pub fn always_when<A: Agent>(
        self,
        when: impl Fn(&A::Input) -> bool + Send + Sync + 'static,
        output: Value,
    ) -> Self
    where
        A::Input: DeserializeOwned,
    {
        self.tie::<A>(predicate::<A>(when), output, true)
    }

    /// Answers `output` to one call of agent `A` given exactly `input`
    /// (compared as JSON with the request's [`input`](Request::input)), in
    /// whatever order the calls arrive. Needs no `Deserialize` on the input;
    /// otherwise as [`reply_when`](Self::reply_when).
    pub fn reply_for<A: Agent>(self, input: &A::Input, output: Value) -> Self {
        self.tie::<A>(key::<A>(input), output, false)
    }

    /// Answers `output` to every call of agent `A` given exactly `input`;
    /// see [`always_when`](Self::always_when) and [`reply_for`](Self::reply_for).
    pub fn always_for<A: Agent>(self, input: &A::Input, output: Value) -> Self {
        self.tie::<A>(key::<A>(input), output, true)
    }

    fn tie<A: Agent>(self, fits: Arc<Fits>, output: Value, always: bool) -> Self {
        self.lock()
            .tied
            .entry(A::NAME)
            .or_default()
            .push(TiedReply {
                fits,
                text: output.to_string(),
                always,
                used: false,
            });
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

    /// How many canned replies are still unused, over all agents: queued
    /// ones and tied ones used once (an `always_` reply never counts).
    pub fn pending(&self) -> usize {
        let script = self.lock();
        let queued: usize = script.replies.values().map(VecDeque::len).sum();
        let tied = script
            .tied
            .values()
            .flatten()
            .filter(|r| !r.always && !r.used)
            .count();
        queued + tied
    }

    /// The reply for `request`: the first unused tied reply that fits its
    /// input, else the next queued one.
    fn take_reply(&self, request: &Request) -> Result<Vec<String>, Error> {
        let agent = request.agent;
        let candidates: Vec<(usize, Arc<Fits>)> = match self.lock().tied.get(agent) {
            Some(tied) => tied
                .iter()
                .enumerate()
                .filter(|(_, r)| r.always || !r.used)
                .map(|(i, r)| (i, Arc::clone(&r.fits)))
                .collect(),
            None => Vec::new(),
        };
        let mut fitting = Vec::new();
        for (i, fits) in candidates {
            if fits(request)? {
                fitting.push(i);
            }
        }
        let mut script = self.lock();
        // Another call may have used a once-reply since it was looked at;
        // replies are only ever appended, so the indices still hold.
        if let Some(tied) = script.tied.get_mut(agent) {
            for i in fitting {
                let reply = &mut tied[i];
                if reply.always || !reply.used {
                    reply.used = true;
                    return Ok(vec![reply.text.clone()]);
                }
            }
        }
        if let Some(text) = script.replies.get_mut(agent).and_then(VecDeque::pop_front) {
            return Ok(text);
        }
        match script.tied.get(agent) {
            Some(_) => Err(Error::ScriptUnmatched {
                agent: agent.to_string(),
                input: show_input(request),
                reason: format!(
                    "no unused reply is tied to it and none is queued; tie one to it with \
                     `.reply_when::<{agent}>(|input| ..., json!(...))` or \
                     `.reply_for::<{agent}>(&input, json!(...))`, or queue one with \
                     `.reply::<{agent}>(json!(...))`"
                ),
            }),
            None => Err(Error::ScriptExhausted {
                agent: agent.to_string(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Script> {
        // A panic in another test thread must not hide this one's results.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Fits the calls whose input, decoded into `A::Input`, satisfies `when`.
fn predicate<A: Agent>(when: impl Fn(&A::Input) -> bool + Send + Sync + 'static) -> Arc<Fits>
where
    A::Input: DeserializeOwned,
{
    Arc::new(move |request: &Request| Ok(when(&typed_input::<A>(request)?)))
}

/// Fits the calls given exactly `input`: compared as JSON with the input the
/// request carries.
fn key<A: Agent>(input: &A::Input) -> Arc<Fits> {
    let expected = serde_json::to_value(input).map_err(|e| e.to_string());
    Arc::new(move |request: &Request| match &expected {
        Ok(expected) => Ok(&request.input == expected),
        Err(e) => Err(unmatched::<A>(
            request,
            format!(
                "the input given to `reply_for::<{}>` could not be serialized: {e}",
                A::NAME
            ),
        )),
    })
}

/// The input of a call of `A`, decoded from the JSON the request carries.
fn typed_input<A: Agent>(request: &Request) -> Result<A::Input, Error>
where
    A::Input: DeserializeOwned,
{
    A::Input::deserialize(&request.input).map_err(|e| {
        let reason = if request.input.is_null() {
            format!(
                "the request carries no input (`Request::input` is null): build it with \
                 `Request::for_agent` or attach one with `Request::with_input`; {e}"
            )
        } else {
            format!(
                "`reply_when` cannot read it back as `{}`: {e}; tie the reply with \
                 `.reply_for::<{}>(&input, json!(...))` instead",
                std::any::type_name::<A::Input>(),
                A::NAME
            )
        };
        unmatched::<A>(request, reason)
    })
}

fn unmatched<A: Agent>(request: &Request, reason: String) -> Error {
    Error::ScriptUnmatched {
        agent: A::NAME.to_string(),
        input: show_input(request),
        reason,
    }
}

/// A call's input for an error message: compact JSON.
fn show_input(request: &Request) -> String {
    request.input.to_string()
}

#[async_trait::async_trait]
impl Backend for ScriptedBackend {
    fn model(&self, alias: &str) -> Option<ModelSpec> {
        (!self.lock().registered_only).then(|| ModelSpec::new(alias, alias))
    }

    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        let (_, completion) = self.answer(request)?;
        Ok(completion)
    }

    /// Sends the reply in its chunks (or in [`chunk_size`](Self::chunk_size)
    /// pieces), letting other tasks run between chunks, as a model does
    /// between tokens. Stops when nobody listens.
    async fn generate_streaming(
        &self,
        request: Request,
        deltas: Deltas,
    ) -> Result<Completion, Error> {
        let (chunks, completion) = self.answer(request)?;
        for chunk in chunks {
            if !deltas.send(&chunk) {
                break;
            }
            YieldNow(false).await;
        }
        Ok(completion)
    }

    async fn choose(&self, request: Request, choices: Vec<Choice>) -> Result<Vec<Vec<f64>>, Error> {
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
            return Err(Error::backend(
                agent,
                BackendError::configuration(format!(
                    "the scripted scores do not fit: the output needs {} fields with {wanted:?} answers each",
                    choices.len()
                )),
            ));
        }
        Ok(scores)
    }
}

impl ScriptedBackend {
    /// The reply to `request` as the chunks it streams in, and as a
    /// completion; the request is recorded and the reply checked against
    /// the schema.
    fn answer(&self, request: Request) -> Result<(Vec<String>, Completion), Error> {
        let chunks = self.take_reply(&request)?;
        let text = chunks.concat();
        let agent = request.agent;
        let schema = request.schema.grammar().clone();
        let chunk_size = {
            let mut script = self.lock();
            script.calls.push(request);
            script.chunk_size
        };
        // Text that is not JSON is passed through: the runtime's parser reports it.
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            check_schema(agent, &schema, &value, &text)?;
        }
        let chunks = match (chunks.len(), chunk_size) {
            (1, Some(size)) => {
                let chars: Vec<char> = text.chars().collect();
                chars.chunks(size).map(|c| c.iter().collect()).collect()
            }
            _ => chunks,
        };
        let words = text.split_whitespace().count();
        Ok((chunks, Completion::new(text).with_tokens(0, 0, words)))
    }
}

/// Returns `Pending` once (waking itself), so other tasks run: the scripted
/// backend's pause between chunks.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
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
