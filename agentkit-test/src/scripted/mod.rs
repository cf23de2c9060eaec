//! The scripted backend: canned replies per agent, a record of every call.

mod answer;
mod tied;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use agentkit::backend::Request;
use agentkit::Agent;
use serde::de::DeserializeOwned;
use serde_json::Value;

use tied::{key, predicate, Fits, TiedReply};

/// A backend that returns canned outputs per agent and records what it was
/// asked, for unit-testing pipelines without a model.
///
/// It checks every canned output against the schema the real, constrained
/// backend enforces ([`grammar_schema`](agentkit::grammar_schema) of the
/// output schema), so a test can neither feed a pipeline something that
/// backend could never produce nor be refused what it can (a repeated item in
/// a set). It is a test aid: it proves the wiring of a pipeline, not the
/// behaviour of a model.
///
/// A canned output is either queued ([`reply`](ScriptedBackend::reply): the
/// agent's next call gets it, whatever its input) or tied to an input
/// ([`reply_when`](ScriptedBackend::reply_when) with a predicate on the typed
/// input, [`reply_for`](ScriptedBackend::reply_for) with the input itself), so
/// it reaches the call it was written for in whatever order concurrent calls
/// arrive. A call it has no reply for fails with
/// [`Error::Backend`](agentkit::Error::Backend), whose
/// [`kind`](agentkit::Error::kind) is
/// [`Configuration`](agentkit::ErrorKind::Configuration) and whose message
/// says which reply to add.
///
/// Cheap to clone; clones share the script and the record, so a test gives
/// one clone to the runtime and keeps one to inspect.
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
    /// Scores tied to inputs, per agent: when each fits (its text unused)
    /// and, at the same index, the log-probabilities.
    tied_scores: HashMap<&'static str, Vec<TiedReply>>,
    tied_score_values: HashMap<&'static str, Vec<Vec<Vec<f64>>>>,
    calls: Vec<Request>,
    /// Whether only models registered with the runtime resolve.
    registered_only: bool,
    /// Characters per chunk when a reply without chunks of its own is streamed.
    chunk_size: Option<usize>,
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
    /// receives it in (see [`Streams`](agentkit::Streams)): the answer is their
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
    /// [`reply`](Self::reply); with neither it fails with an
    /// [`Error::Backend`](agentkit::Error::Backend) that shows the input.
    ///
    /// `when` sees the request's [`input`](Request::input) decoded into
    /// `A::Input`, so it works for every input type (a tuple from
    /// [`with_input`](agentkit::with_input) too) and every input format, as long
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
        self.tie::<A>(predicate::<A>(when, false), output, false)
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
        self.tie::<A>(predicate::<A>(when, true), output, true)
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
    /// (see [`scored`](agentkit::scored)): one list per field, one number per
    /// allowed answer, in the order of the output type.
    pub fn scores<A: Agent>(self, log_probs: Vec<Vec<f64>>) -> Self {
        self.lock()
            .scores
            .entry(A::NAME)
            .or_default()
            .push_back(log_probs);
        self
    }

    /// Queues `log_probs` for one scored call of agent `A` whose input
    /// satisfies `when`, in whatever order the calls arrive: scored agents
    /// under `.each(..).concurrency(n)`. A call no tied scores fit takes the
    /// next queued [`scores`](Self::scores) (a calibration's content-free
    /// inputs, say). `when` sees the input as [`reply_when`](Self::reply_when)
    /// does.
    pub fn scores_when<A: Agent>(
        self,
        when: impl Fn(&A::Input) -> bool + Send + Sync + 'static,
        log_probs: Vec<Vec<f64>>,
    ) -> Self
    where
        A::Input: DeserializeOwned,
    {
        let mut script = self.lock();
        script
            .tied_scores
            .entry(A::NAME)
            .or_default()
            .push(TiedReply {
                fits: predicate::<A>(when, false),
                text: String::new(),
                always: false,
                used: false,
            });
        script
            .tied_score_values
            .entry(A::NAME)
            .or_default()
            .push(log_probs);
        drop(script);
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

    fn lock(&self) -> MutexGuard<'_, Script> {
        // A panic in another test thread must not hide this one's results.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}
