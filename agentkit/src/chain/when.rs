//! A step run only on the inputs that pass a test: `.when(...)`.

use std::future::Future;

#[cfg(doc)]
use super::StepExt;
use super::{preflight, Step, Yields};
use crate::preflight::Problem;
use crate::stream::{Events, Streams};
use crate::{Error, Runtime};

/// A step run only when its input passes a test, yielding `None` otherwise;
/// built by [`StepExt::when`].
///
/// Unlike `.filter(...)`, which drops list items, a conditional step keeps
/// one output per input, so a per-item chain stays per item: under
/// `each(...)` the skipped items are `None` in their places.
pub struct When<S, F> {
    pub(super) step: S,
    pub(super) run_if: F,
}

impl<S: std::fmt::Debug, F> std::fmt::Debug for When<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("When")
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl<S: Yields, F> Yields for When<S, F> {
    type Output = Option<S::Output>;
}

impl<In, S, F> Step<In> for When<S, F>
where
    In: Send,
    S: Step<In>,
    F: Fn(&In) -> bool + Send + Sync,
{
    async fn run(&self, runtime: &Runtime, input: In) -> Result<Self::Output, Error> {
        preflight(self, runtime).await?;
        if !(self.run_if)(&input) {
            tracing::debug!("conditional step skipped");
            return Ok(None);
        }
        self.step.run(runtime, input).await.map(Some)
    }

    // Checked whatever the inputs will be: a step that may run must be able to.
    fn check(&self, runtime: &Runtime) -> impl Future<Output = Vec<Problem>> + Send {
        self.step.check(runtime)
    }
}

impl<In, S, F> Streams<In> for When<S, F>
where
    In: Send,
    S: Streams<In>,
    F: Fn(&In) -> bool + Send + Sync,
{
    /// The step's events, each output wrapped in `Some`; a skipped input
    /// yields only `Event::Done(None)`.
    fn stream<'a>(&'a self, runtime: &'a Runtime, input: In) -> Events<'a, Self::Output>
    where
        In: 'a,
    {
        if !(self.run_if)(&input) {
            return Events::once(async move {
                runtime.check(self).await?;
                Ok(None)
            });
        }
        Events::new(futures_util::StreamExt::map(
            self.step.stream(runtime, input),
            |event| event.map(|event| event.map(Some)),
        ))
    }
}
