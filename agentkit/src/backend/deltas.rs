//! The channel a streaming backend writes an answer's text into, as it is
//! written: [`Deltas`] on the backend's side, [`DeltaReceiver`] on the
//! caller's.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::mpsc;
use futures_util::stream::{Stream, StreamExt};

/// Why the text so far was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Restart {
    /// The answer was rejected (it did not parse, or the agent's `validate`
    /// refused it) and the model is asked again, told `problem`.
    Retry {
        /// The attempt that starts now: 2 for the first retry.
        attempt: u32,
        /// What was wrong with the rejected answer.
        problem: String,
    },
    /// Another sample is drawn for voting (`samples = n`).
    Sample {
        /// The sample that starts now, from 0.
        sample: u32,
    },
    /// The backend started the answer again, e.g. on another server after
    /// one failed mid-answer.
    Backend {
        /// What happened.
        reason: String,
    },
    /// A tool-using agent's next turn starts, after its calls' results
    /// (see [`tools`](crate::tools)).
    Turn {
        /// The turn that starts now, from 2.
        turn: u32,
    },
}

/// What a backend streams for one request: text, or a restart.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Delta {
    /// Text just written.
    Text(String),
    /// Text just written inside the think block, before the answer (see
    /// [`Reasoning`](crate::Reasoning)); never part of the answer's text.
    Reasoning(String),
    /// The text so far is dropped; the answer starts again.
    Restart(Restart),
    /// A tool call of a tool-using agent ended; its outcome goes back to the
    /// model in the next turn.
    Tool {
        /// The call as the model wrote it.
        call: crate::tools::ToolCall,
        /// Its result or error.
        outcome: crate::tools::ToolOutcome,
    },
}

/// Where a streaming backend sends the text of an answer as it is written
/// (see [`Backend::generate_streaming`](super::Backend::generate_streaming)).
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Deltas {
    tx: mpsc::UnboundedSender<Delta>,
}

/// The receiving end of [`Deltas::channel`]: a stream of what was sent.
#[derive(Debug)]
pub struct DeltaReceiver {
    rx: mpsc::UnboundedReceiver<Delta>,
}

impl Deltas {
    /// A sender and the stream that receives what it sends: for backends'
    /// own tests, and for callers of
    /// [`Backend::generate_streaming`](super::Backend::generate_streaming).
    pub fn channel() -> (Deltas, DeltaReceiver) {
        let (tx, rx) = mpsc::unbounded();
        (Deltas { tx }, DeltaReceiver { rx })
    }

    /// Sends text just written. Empty text is not sent. Returns `false` when
    /// nobody listens any more (the stream was dropped): the backend may stop.
    pub fn send(&self, text: &str) -> bool {
        if text.is_empty() {
            return !self.is_closed();
        }
        self.tx
            .unbounded_send(Delta::Text(text.to_string()))
            .is_ok()
    }

    /// Sends text just written inside the think block. Empty text is not
    /// sent. Returns `false` when nobody listens any more.
    pub fn send_reasoning(&self, text: &str) -> bool {
        if text.is_empty() {
            return !self.is_closed();
        }
        self.tx
            .unbounded_send(Delta::Reasoning(text.to_string()))
            .is_ok()
    }

    /// Says that the text sent so far is dropped and the answer starts again.
    pub fn restart(&self, why: Restart) -> bool {
        self.tx.unbounded_send(Delta::Restart(why)).is_ok()
    }

    /// Sends how a tool call ended (the tool loop's, not a backend's).
    pub(crate) fn tool_result(
        &self,
        call: &crate::tools::ToolCall,
        outcome: &crate::tools::ToolOutcome,
    ) -> bool {
        self.tx
            .unbounded_send(Delta::Tool {
                call: call.clone(),
                outcome: outcome.clone(),
            })
            .is_ok()
    }

    /// Whether nobody listens any more.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl DeltaReceiver {
    /// What was sent and not yet received, without waiting.
    pub(crate) fn try_next(&mut self) -> Option<Delta> {
        self.rx.try_recv().ok()
    }
}

impl Stream for DeltaReceiver {
    type Item = Delta;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Delta>> {
        self.rx.poll_next_unpin(cx)
    }
}
