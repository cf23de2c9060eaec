//! Streaming: an agent's output as it is written, and a fan-out's items as
//! they are written or as they finish.
//!
//! [`Streams::stream`] runs an agent (or a chain whose last step is an
//! agent) and yields [`Event`]s: the text as the model writes it, the value
//! so far closed into the output's shape, each finished element of a list,
//! a restart when an answer is rejected and asked again, and at last the
//! typed, validated output. On a fan-out (`each(agent)`) it yields every
//! item's events tagged with the item's index ([`Event::Item`]), then the
//! outputs in order. [`Each::finished`](crate::Each::finished) yields the
//! items' results in the order they finish, for steps that do not stream.
//! Dropping any of these streams cancels what it was running.

mod agent;
mod fan_out;
pub(crate) mod partial;

use agent::agent_events;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The `futures` stream traits, re-exported so a caller can consume streams
/// (`while let Some(event) = events.next().await`) without another dependency.
pub use futures_util::stream::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::backend::{Delta, DeltaReceiver, Deltas, Restart};
use crate::{Agent, Error, Runtime, Step, Then, Yields};

/// One thing that happened while an agent's output was being written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event<T> {
    /// Text the model just wrote. The deltas since the last
    /// [`Event::Restart`] concatenate to the text of the final answer.
    Delta(String),
    /// Text the model just wrote inside its think block, before the answer
    /// (an agent with a `think_budget`); not part of the answer.
    Reasoning(String),
    /// The output so far, after a delta that changed it.
    Partial(Partial<T>),
    /// An element of a list in the output that is finished: no later token
    /// can change it.
    Element(Element),
    /// What was written so far is dropped and the model starts again: an
    /// answer was rejected and is asked again, or another sample is drawn.
    Restart(Restart),
    /// What happened to one item of a fan-out (`each(step)` streamed): its
    /// text, partial value or end, tagged with the item's index in the
    /// caller's list. The items' events interleave as they are written.
    Item {
        /// The item's index in the list the fan-out was given (after a
        /// `.filter(...)`, its place before the filter).
        index: usize,
        /// What happened.
        progress: Progress,
    },
    /// A tool call of a tool-using agent ended: the call as the model wrote
    /// it (its text came as deltas) and its outcome, which the model reads
    /// in its next turn (after an [`Event::Restart`] with
    /// [`Restart::Turn`]).
    Tool {
        /// The call.
        call: crate::tools::ToolCall,
        /// Its result or error.
        outcome: crate::tools::ToolOutcome,
    },
    /// The final output: parsed, checked by the agent's `validate`, voted on.
    Done(T),
}

/// What happened to one item of a fan-out; see [`Event::Item`]. The item's
/// typed output arrives with the others in the fan-out's [`Event::Done`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Progress {
    /// Text the item's model just wrote.
    Delta(String),
    /// Text the item's model wrote inside its think block.
    Reasoning(String),
    /// The item's output so far, closed into a JSON value (see
    /// [`Partial::value`]).
    Partial(Value),
    /// A finished element of a list in the item's output.
    Element(Element),
    /// The item's text so far is dropped and its model starts again.
    Restart(Restart),
    /// A tool call of the item's agent ended.
    Tool {
        /// The call.
        call: crate::tools::ToolCall,
        /// Its result or error.
        outcome: crate::tools::ToolOutcome,
    },
    /// The item is done.
    Done,
}

impl<T> Event<T> {
    /// The same event with its output (final or partial) passed through `f`;
    /// text, elements and restarts are unchanged.
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Event<U> {
        match self {
            Event::Delta(text) => Event::Delta(text),
            Event::Reasoning(text) => Event::Reasoning(text),
            Event::Partial(partial) => Event::Partial(Partial {
                value: partial.value,
                output: partial.output.map(f),
            }),
            Event::Element(element) => Event::Element(element),
            Event::Restart(restart) => Event::Restart(restart),
            Event::Item { index, progress } => Event::Item { index, progress },
            Event::Tool { call, outcome } => Event::Tool { call, outcome },
            Event::Done(output) => Event::Done(f(output)),
        }
    }
}

/// The output as far as it is written.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Partial<T> {
    /// The JSON written so far, closed into a value: an unfinished string
    /// ends where the model is, a field whose value has not started yet is
    /// left out, open lists and objects are closed.
    pub value: Value,
    /// The same value completed into the output type: fields not written yet
    /// hold the least value the schema allows (`""`, `0` or the minimum,
    /// `false`, an empty list, the first variant, `None`). Read it for what
    /// is written, not for what is missing: `false` may only mean "not yet".
    /// `None` where the type cannot be built from the schema's placeholders
    /// (a custom deserializer, say).
    pub output: Option<T>,
}

/// A finished element of a list in the output.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Element {
    /// Where the list is in the output, as a JSON pointer: `""` when the
    /// output is itself a list, `"/points"` for a field `points`.
    pub path: String,
    /// The element's index in its list.
    pub index: usize,
    /// The element.
    pub value: Value,
}

impl Element {
    /// The element as the type `E` of the list's items.
    ///
    /// ```
    /// # use agentkit::stream::Element;
    /// # fn demo(element: Element) -> Result<(), agentkit::Error> {
    /// let step: String = element.parse()?;
    /// # Ok(()) }
    /// ```
    pub fn parse<E: DeserializeOwned>(&self) -> Result<E, Error> {
        serde_json::from_value(self.value.clone()).map_err(|e| Error::Parse {
            agent: format!("element {} of `{}`", self.index, self.path),
            output_type: std::any::type_name::<E>().to_string(),
            reason: e.to_string(),
            raw: self.value.to_string(),
        })
    }
}

type BoxStream<'a, T> = Pin<Box<dyn Stream<Item = T> + Send + 'a>>;

/// The events of one streamed agent call (or chain), ending with
/// [`Event::Done`] or an error. Dropping it cancels the call: generation
/// stops at the model's next token.
#[must_use = "a stream does nothing until it is polled"]
pub struct Events<'a, T> {
    inner: BoxStream<'a, Result<Event<T>, Error>>,
}

impl<T> std::fmt::Debug for Events<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

impl<'a, T: Send + 'a> Events<'a, T> {
    /// Events from any stream of them.
    pub fn new(stream: impl Stream<Item = Result<Event<T>, Error>> + Send + 'a) -> Self {
        Events {
            inner: Box::pin(stream),
        }
    }

    /// The one event a step that does not stream yields: its output when
    /// `run` finishes (or its error).
    pub fn once(run: impl Future<Output = Result<T, Error>> + Send + 'a) -> Self {
        Events::new(futures_util::stream::once(async move {
            run.await.map(Event::Done)
        }))
    }

    /// Drives the stream to its end and returns the final output, for a
    /// caller that watched only some events.
    pub async fn output(mut self) -> Result<T, Error> {
        while let Some(event) = self.next().await {
            if let Event::Done(output) = event? {
                return Ok(output);
            }
        }
        Err(Error::backend(
            "stream",
            crate::backend::BackendError::new("the stream ended without an output"),
        ))
    }
}

impl<T> Stream for Events<'_, T> {
    type Item = Result<Event<T>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A step that can stream: an agent, a chain whose last step streams, a
/// conditional step ([`StepExt::when`](crate::StepExt::when)) or a fan-out
/// ([`each`](crate::each)) of a step that streams.
///
/// Every agent streams (the impl covers every [`Agent`]); `a.then(b)`
/// streams when `b` does, running `a` to its end first; `each(b)` streams
/// every item's events tagged with its index ([`Event::Item`]). A function
/// that returns a chain keeps its streaming when its return type names this
/// trait: `-> impl Streams<Ticket, Output = Reply>`.
///
/// ```
/// use agentkit::prelude::*;
/// use agentkit::stream::Event;
/// use agentkit_test::ScriptedBackend;
/// use agentkit::stream::StreamExt;
///
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// struct Post { text: String }
/// #[derive(Serialize, Deserialize, JsonSchema, Debug, PartialEq)]
/// struct Reply { reply: String }
///
/// /// Reply to the post.
/// #[agent(model = "draft", input = Post, output = Reply)]
/// struct Draft;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let script = ScriptedBackend::new()
///     .chunk_size(4)
///     .reply::<Draft>(serde_json::json!({ "reply": "Try a smaller quant." }));
/// let runtime = Runtime::builder().backend(script).build();
/// let mut events = Draft.stream(&runtime, Post { text: "Out of memory".into() });
/// while let Some(event) = events.next().await {
///     match event? {
///         Event::Partial(p) => println!("so far: {}", p.value),
///         Event::Done(reply) => assert_eq!(reply.reply, "Try a smaller quant."),
///         _ => {}
///     }
/// }
/// # Ok::<(), agentkit::Error>(())
/// # })?;
/// # Ok(())
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot stream its output for `{In}`",
    label = "does not stream",
    note = "agents stream, and so do chains that end in one (`a.then(agent)`, `agent.when(..)`, `with_input(agent)`) and fan-outs of one (`each(agent)`); a chain that ends in `.map(...)` or a `tool` does not: end it in the agent, or stream the agent on its own; a fan-out of a step that does not stream yields its results as they finish with `.finished(...)`",
    note = "a function returns a chain that streams when its return type says so: `-> impl Streams<{In}, Output = ...>`"
)]
pub trait Streams<In>: Step<In> {
    /// Runs the step on `input`, yielding its events as they happen.
    fn stream<'a>(&'a self, runtime: &'a Runtime, input: In) -> Events<'a, Self::Output>
    where
        In: 'a;

    /// [`stream`](Streams::stream) on the output of a step before it, with
    /// the places that step's items had in the caller's list (see
    /// [`Step::run_numbered`]), so a fan-out reports the caller's indices.
    /// Only a fan-out reads them; the default ignores them.
    fn stream_numbered<'a>(
        &'a self,
        runtime: &'a Runtime,
        input: In,
        places: Option<Vec<usize>>,
    ) -> Events<'a, Self::Output>
    where
        In: 'a,
    {
        let _ = places;
        self.stream(runtime, input)
    }
}

impl<A> Streams<A::Input> for A
where
    A: Agent + Step<A::Input> + Yields<Output = <A as Agent>::Output>,
{
    fn stream<'a>(
        &'a self,
        runtime: &'a Runtime,
        input: A::Input,
    ) -> Events<'a, <A as Agent>::Output>
    where
        A::Input: 'a,
    {
        agent_events::<A>(runtime, input)
    }
}

impl<In, First, Next> Streams<In> for Then<First, Next>
where
    In: Send,
    First: Step<In>,
    Next: Streams<First::Output>,
{
    fn stream<'a>(&'a self, runtime: &'a Runtime, input: In) -> Events<'a, Self::Output>
    where
        In: 'a,
    {
        let (first, next) = self.parts();
        let start = async move {
            runtime.check(self).await?;
            first.run_numbered(runtime, input).await
        };
        Events::new(
            futures_util::stream::once(start)
                .map(move |middle| match middle {
                    Ok((middle, places)) => next.stream_numbered(runtime, middle, places),
                    Err(e) => Events::new(futures_util::stream::once(async move { Err(e) })),
                })
                .flatten(),
        )
    }
}

impl<In, S> Streams<In> for crate::WithInput<S, In>
where
    In: Clone + Send + Sync,
    S: Streams<In>,
{
    /// The step's events; its final output comes with the input it was
    /// given, as [`with_input`](crate::with_input) runs it.
    fn stream<'a>(&'a self, runtime: &'a Runtime, input: In) -> Events<'a, Self::Output>
    where
        In: 'a,
    {
        let kept = input.clone();
        Events::new(
            self.step()
                .stream(runtime, input)
                .map(move |event| event.map(|e| e.map(|out| (kept.clone(), out)))),
        )
    }
}

impl<A: Agent> Streams<A::Input> for crate::ScoredAgent<A> {
    /// Scored choices write no text: the stream has the one final event.
    fn stream<'a>(&'a self, runtime: &'a Runtime, input: A::Input) -> Events<'a, Self::Output>
    where
        A::Input: 'a,
    {
        Events::once(self.run(runtime, input))
    }
}

/// The items of a fan-out as they finish: `(index, result)` pairs in the
/// order the items finish, the index being the item's place in the input.
/// Built by [`Each::finished`](crate::Each::finished); dropping it cancels the
/// items still running.
#[must_use = "a stream does nothing until it is polled"]
pub struct Finished<'a, T> {
    inner: BoxStream<'a, (usize, Result<T, Error>)>,
}

impl<T> std::fmt::Debug for Finished<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished").finish_non_exhaustive()
    }
}

impl<'a, T> Finished<'a, T> {
    pub(crate) fn new(stream: impl Stream<Item = (usize, Result<T, Error>)> + Send + 'a) -> Self {
        Finished {
            inner: Box::pin(stream),
        }
    }
}

impl<T> Stream for Finished<'_, T> {
    type Item = (usize, Result<T, Error>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
