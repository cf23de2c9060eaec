//! A fan-out's live events: every item's text and partial values as they are
//! written, tagged with the item's index, then the outputs in order.

use std::collections::VecDeque;

use futures_util::stream::{self, StreamExt};

use super::{Event, Events, Progress, Streams};
use crate::chain::{numbered, Each, Items};
use crate::{Error, Runtime};

impl<I, S> Streams<I> for Each<S>
where
    I: Items,
    S: Streams<I::Item>,
{
    /// Streams every item (up to [`Each::concurrency`] at a time), yielding
    /// each item's events as [`Event::Item`] tagged with its index, and at
    /// last [`Event::Done`] with the outputs in input order. As with `run`,
    /// the first error ends the stream and cancels the other items.
    fn stream<'a>(&'a self, runtime: &'a Runtime, input: I) -> Events<'a, Self::Output>
    where
        I: 'a,
    {
        self.stream_numbered(runtime, input, None)
    }

    fn stream_numbered<'a>(
        &'a self,
        runtime: &'a Runtime,
        input: I,
        places: Option<Vec<usize>>,
    ) -> Events<'a, Self::Output>
    where
        I: 'a,
    {
        let items = numbered(input, places);
        let left = items.len();
        let slots = items.iter().map(|_| None).collect();
        let item_events = stream::iter(items.into_iter().enumerate().map(
            move |(slot, (index, item))| {
                let events = self.step().stream(runtime, item);
                events.map(move |event| (slot, index, event))
            },
        ))
        .flatten_unordered(self.concurrency_limit());
        let state = FanOut {
            item_events: Box::pin(item_events),
            slots,
            left,
            checked: false,
            pending: VecDeque::new(),
            ended: false,
        };
        Events::new(stream::unfold(state, move |mut state| async move {
            if !state.checked {
                state.checked = true;
                match runtime.check::<I, _>(self).await {
                    Ok(()) => state.finish_if_done(),
                    Err(e) => state.fail(e),
                }
            }
            state.next().await.map(|event| (event, state))
        }))
    }
}

/// What the fan-out's stream holds between events.
struct FanOut<'a, T> {
    /// Every item's events: (slot, the caller's index, event).
    item_events: super::BoxStream<'a, (usize, usize, Result<Event<T>, Error>)>,
    /// Per item, in input order: its output once done.
    slots: Vec<Option<T>>,
    /// Items not done yet.
    left: usize,
    /// Whether the pre-flight check ran.
    checked: bool,
    pending: VecDeque<Result<Event<Vec<T>>, Error>>,
    ended: bool,
}

impl<T> FanOut<'_, T> {
    async fn next(&mut self) -> Option<Result<Event<Vec<T>>, Error>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            match self.item_events.next().await {
                Some((slot, index, Ok(event))) => self.take(slot, index, event),
                Some((_, _, Err(e))) => self.fail(e),
                // Every item ended; one without an output is a broken step.
                None => self.fail(Error::backend(
                    "stream",
                    crate::backend::BackendError::new("an item's stream ended without an output"),
                )),
            }
        }
    }

    fn take(&mut self, slot: usize, index: usize, event: Event<T>) {
        let progress = match event {
            Event::Delta(text) => Progress::Delta(text),
            Event::Reasoning(text) => Progress::Reasoning(text),
            Event::Partial(partial) => Progress::Partial(partial.value),
            Event::Element(element) => Progress::Element(element),
            Event::Restart(why) => Progress::Restart(why),
            // A nested fan-out's item: reported as this item's progress.
            Event::Item { progress, .. } => progress,
            Event::Tool { call, outcome } => Progress::Tool { call, outcome },
            Event::Done(output) => {
                if let Some(out) = self.slots.get_mut(slot) {
                    *out = Some(output);
                }
                self.left = self.left.saturating_sub(1);
                Progress::Done
            }
        };
        self.pending.push_back(Ok(Event::Item { index, progress }));
        self.finish_if_done();
    }

    fn finish_if_done(&mut self) {
        if self.left == 0 && !self.ended {
            let outputs = std::mem::take(&mut self.slots)
                .into_iter()
                .flatten()
                .collect();
            self.pending.push_back(Ok(Event::Done(outputs)));
            self.ended = true;
        }
    }

    fn fail(&mut self, e: Error) {
        self.pending.push_back(Err(e));
        self.ended = true;
    }
}
