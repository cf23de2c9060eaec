//! An agent's events: the call driven beside the channel its backend
//! streams into, the deltas read into text, partial values, finished list
//! elements and restarts.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{partial, Delta, DeltaReceiver, Deltas, Element, Event, Events, Partial};
use crate::backend::OutputSchema;
use crate::{Agent, Error, Runtime};

/// The events of agent `A` on `input`: the call runs as
/// [`run_agent`](crate::run::run_agent) does, with a channel for the text.
pub(super) fn agent_events<'a, A: Agent>(
    runtime: &'a Runtime,
    input: A::Input,
) -> Events<'a, A::Output> {
    let (deltas, rx) = Deltas::channel();
    let driver = crate::run::run_streaming::<A>(runtime, input, deltas);
    let schema = OutputSchema::of::<A::Output>();
    Events::new(AgentEvents::<A::Output, _> {
        driver: Some(Box::pin(driver)),
        rx,
        text: String::new(),
        last: None,
        reported: 0,
        schema,
        pending: VecDeque::new(),
        ended: false,
        turns: !A::tool_use().is_empty(),
    })
}

/// Turns what the backend sends into events while driving the call.
struct AgentEvents<T, F> {
    driver: Option<Pin<Box<F>>>,
    rx: DeltaReceiver,
    /// The text since the last restart.
    text: String,
    /// The last partial value yielded.
    last: Option<Value>,
    /// How many finished elements were yielded.
    reported: usize,
    /// The output type's schema, for [`partial::fill`].
    schema: OutputSchema,
    pending: VecDeque<Result<Event<T>, Error>>,
    ended: bool,
    /// A tool-using agent: each turn's text is `{"calls": ...}` or
    /// `{"answer": ...}`, and partial values are read under `answer`.
    turns: bool,
}

impl<T: DeserializeOwned, F> AgentEvents<T, F> {
    fn take(&mut self, delta: Delta) {
        match delta {
            Delta::Text(text) => {
                self.text.push_str(&text);
                self.pending.push_back(Ok(Event::Delta(text)));
                let mut prefix = partial::read(&self.text);
                if self.turns {
                    answer_only(&mut prefix);
                }
                if let Some(value) = prefix.value {
                    if self.last.as_ref() != Some(&value) {
                        let filled = partial::fill(Some(&value), self.schema.model());
                        let output = serde_json::from_value(filled).ok();
                        self.last = Some(value.clone());
                        self.pending
                            .push_back(Ok(Event::Partial(Partial { value, output })));
                    }
                }
                let last = self.last.clone().unwrap_or(Value::Null);
                for (path, index) in prefix.elements.into_iter().skip(self.reported) {
                    self.reported += 1;
                    let value = last
                        .pointer(&format!("{path}/{index}"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    self.pending
                        .push_back(Ok(Event::Element(Element { path, index, value })));
                }
            }
            Delta::Reasoning(text) => self.pending.push_back(Ok(Event::Reasoning(text))),
            Delta::Tool { call, outcome } => {
                self.pending.push_back(Ok(Event::Tool { call, outcome }));
            }
            Delta::Restart(why) => {
                self.text.clear();
                self.last = None;
                self.reported = 0;
                self.pending.push_back(Ok(Event::Restart(why)));
            }
        }
    }
}

/// A tool-using agent's turn read so far, narrowed to its answer: the value
/// under `answer` (none while the turn writes calls), and the elements of
/// lists inside it, their paths taken from there.
fn answer_only(prefix: &mut partial::Prefix) {
    prefix.value = prefix.value.take().and_then(|v| v.get("answer").cloned());
    prefix.elements = std::mem::take(&mut prefix.elements)
        .into_iter()
        .filter_map(|(path, index)| Some((path.strip_prefix("/answer")?.to_string(), index)))
        .collect();
}

// The driver is boxed and nothing else is pinned in place.
impl<T, F> Unpin for AgentEvents<T, F> {}

impl<T, F> Stream for AgentEvents<T, F>
where
    T: DeserializeOwned,
    F: Future<Output = Result<T, Error>>,
{
    type Item = Result<Event<T>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(event));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            if let Poll::Ready(Some(delta)) = this.rx.poll_next_unpin(cx) {
                this.take(delta);
                continue;
            }
            let Some(driver) = this.driver.as_mut() else {
                this.ended = true;
                continue;
            };
            match driver.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    this.driver = None;
                    // Everything the call sent was sent before it finished.
                    while let Some(delta) = this.rx.try_next() {
                        this.take(delta);
                    }
                    this.pending.push_back(result.map(Event::Done));
                    this.ended = true;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
