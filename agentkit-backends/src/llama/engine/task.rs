//! What the engine runs for a request: a [`Task`], advanced with the logits
//! it asked for until it is done. Generation and scored choices are two
//! tasks; a new kind of work is a new impl, not a change to the scheduler.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agentkit::Error;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::oneshot;

/// The work a sequence does once its prompt is evaluated.
pub(in crate::llama) trait Task: Send {
    /// Advances the task with the logits of the tokens it asked for (one row
    /// per token when it asked for all of them, else one row).
    fn advance(&mut self, rows: &[&[f32]], model: &LlamaModel) -> Next;

    /// Answers the caller, once: with the task's own result where `result`
    /// is `Ok` (the task said [`Next::Done`]), else with the error; `stats`
    /// says what the sequence cost.
    fn finish(self: Box<Self>, result: Result<(), Error>, stats: Stats);

    /// Whether the caller stopped waiting for the answer.
    fn is_abandoned(&self) -> bool;

    /// Whether this task's feeds (its prompt included) may share a pass with
    /// other such feeds of the same length when each sequence has a KV stream
    /// of its own. A shared pass evaluates the same tokens with other matrix
    /// shapes, which can round differently in the last digits (up to 2.3e-6
    /// in a log probability in the tests): harmless for probabilities
    /// compared between options, not for a greedy output that must equal a
    /// run alone. So only tasks that read probabilities say yes.
    fn shares_passes(&self) -> bool {
        false
    }
}

/// What a task wants after it has seen the logits it asked for.
pub(in crate::llama) enum Next {
    /// Evaluate `tokens` next, after rewinding the sequence to `rewind_to`
    /// tokens if given; logits for every token if `all_logits`, else for the
    /// last one only.
    Feed {
        rewind_to: Option<usize>,
        tokens: Vec<LlamaToken>,
        all_logits: bool,
    },
    /// The task is over; [`Task::finish`] delivers its result.
    Done,
    /// The task failed.
    Fail(Error),
}

/// What one sequence cost, for the task's answer.
#[derive(Debug, Clone, Copy, Default)]
pub(in crate::llama) struct Stats {
    /// Tokens of the prompt.
    pub prompt_tokens: usize,
    /// Of those, how many came from another sequence's cells.
    pub reused: usize,
    /// From admission until the prompt was evaluated.
    pub prompt_time: Duration,
    /// From then until the task was done.
    pub generate_time: Duration,
}

/// Where a task's answer goes: the caller's half of a one-shot channel.
pub(in crate::llama) struct Answer<T>(oneshot::Sender<Result<T, Error>>);

impl<T> Answer<T> {
    /// A channel for one answer: the task's end and the caller's.
    pub(in crate::llama) fn channel() -> (Answer<T>, oneshot::Receiver<Result<T, Error>>) {
        let (tx, rx) = oneshot::channel();
        (Answer(tx), rx)
    }

    /// Sends the answer; a caller that stopped waiting is not an error.
    pub(in crate::llama) fn send(self, answer: Result<T, Error>) {
        let _ = self.0.send(answer);
    }

    /// Whether the caller stopped waiting.
    pub(in crate::llama) fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// Counts a request as running from its creation until it is dropped
/// (finished, failed, or cancelled and cleared away).
pub(in crate::llama) struct Running(Vec<Arc<AtomicUsize>>);

impl Running {
    pub(in crate::llama) fn new(counter: &Arc<AtomicUsize>) -> Running {
        Running(Vec::new()).also(counter)
    }

    /// Counts the request on `counter` too (its model's, say).
    pub(in crate::llama) fn also(mut self, counter: &Arc<AtomicUsize>) -> Running {
        counter.fetch_add(1, Ordering::SeqCst);
        self.0.push(Arc::clone(counter));
        self
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for counter in &self.0 {
            counter.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// One request for an engine.
pub(in crate::llama) struct Job {
    /// The agent, for errors and traces.
    pub agent: &'static str,
    /// The prompt's tokens (never empty).
    pub prompt: Vec<LlamaToken>,
    /// Tokens the task may add after the prompt at most.
    pub reserve: usize,
    /// What to do after the prompt.
    pub task: Box<dyn Task>,
    /// Set when the caller no longer waits for the answer.
    pub cancelled: Arc<AtomicBool>,
    /// Counts the request as running while it exists.
    pub running: Running,
}

impl Job {
    /// KV cells the job may occupy at most (its prompt counted in full, even
    /// where it shares cells with another sequence, so the sum over jobs
    /// never underestimates).
    pub(super) fn cells(&self) -> usize {
        self.prompt.len() + self.reserve
    }

    /// Whether the caller is gone: the request need not run (any more).
    pub(in crate::llama) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || self.task.is_abandoned()
    }

    /// Answers the caller with `result`. The job no longer counts as running
    /// by the time the caller has its answer.
    pub(in crate::llama) fn finish(self, result: Result<(), Error>, stats: Stats) {
        let Job { task, running, .. } = self;
        drop(running);
        task.finish(result, stats);
    }
}
