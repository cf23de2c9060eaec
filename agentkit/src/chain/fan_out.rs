//! Fan-out: one step run on every item of a `Vec`, in order or as they finish.

use std::future::Future;

use futures_util::stream::{self, StreamExt, TryStreamExt};

#[cfg(doc)]
use super::StepExt;
use super::{numbered, preflight, Items, Step, Then, Yields};
use crate::preflight::Problem;
use crate::{Error, Runtime};

impl<First, S> Then<First, Each<S>> {
    /// Runs up to `n` items of the `.each(...)` at a time (at least one),
    /// still yielding them in order.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.next = self.next.concurrency(n);
        self
    }
}

/// A step run on every item of a `Vec`; built by [`each`] or [`StepExt::each`].
#[derive(Debug, Clone, Copy)]
pub struct Each<S> {
    step: S,
    concurrency: usize,
}

/// Runs `step` on every item of a `Vec`, keeping their order. One item at a
/// time unless [`Each::concurrency`] says otherwise.
pub fn each<S>(step: S) -> Each<S> {
    Each {
        step,
        concurrency: 1,
    }
}

impl<S> Each<S> {
    /// The step run on every item.
    pub(crate) fn step(&self) -> &S {
        &self.step
    }

    /// How many items run at a time.
    pub(crate) fn concurrency_limit(&self) -> usize {
        self.concurrency
    }

    /// Runs up to `n` items at a time (at least one). On a local model,
    /// concurrency pays off when one call leaves cores idle; measure it.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }
}

impl<S: Yields> Each<S> {
    /// Runs the step on every item, yielding `(index, result)` as each item
    /// finishes (up to [`concurrency`](Each::concurrency) at a time), so a
    /// caller can show progress and act on early results. One item's error
    /// does not stop the others. Dropping the stream cancels the items still
    /// running.
    ///
    /// ```
    /// use agentkit::prelude::*;
    /// use agentkit::stream::StreamExt;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let runtime = Runtime::builder().build();
    /// let double = tool("double", |x: u32| async move { Ok::<_, std::io::Error>(x * 2) });
    /// let fan_out = each(double).concurrency(4);
    /// let mut finished = fan_out.finished(&runtime, vec![1, 2, 3]);
    /// let mut total = 0;
    /// while let Some((index, result)) = finished.next().await {
    ///     total += result?;
    ///     println!("item {index} done");
    /// }
    /// assert_eq!(total, 12);
    /// # Ok::<(), agentkit::Error>(())
    /// # })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn finished<'a, I>(
        &'a self,
        runtime: &'a Runtime,
        items: I,
    ) -> crate::stream::Finished<'a, S::Output>
    where
        I: Items,
        I::Item: 'a,
        S: Step<I::Item>,
    {
        self.finished_numbered(runtime, numbered(items, None))
    }

    /// [`Each::finished`] on items already numbered by the caller.
    fn finished_numbered<'a, T>(
        &'a self,
        runtime: &'a Runtime,
        items: Vec<(usize, T)>,
    ) -> crate::stream::Finished<'a, S::Output>
    where
        T: Send + 'a,
        S: Step<T>,
    {
        crate::stream::Finished::new(
            stream::iter(
                items
                    .into_iter()
                    .map(move |(i, item)| async move { (i, self.step.run(runtime, item).await) }),
            )
            .buffer_unordered(self.concurrency),
        )
    }
}

impl<First, S> Then<First, Each<S>> {
    /// Runs the chain up to its `.each(...)`, then returns the fan-out's
    /// stream of finished items (see [`Each::finished`]). An error
    /// before the fan-out (a pre-flight problem, a failing first step) is
    /// returned here. The indices are places in the list the items came
    /// from: after a `.filter(...)`, the places they had before it.
    pub async fn finished<'a, In>(
        &'a self,
        runtime: &'a Runtime,
        input: In,
    ) -> Result<crate::stream::Finished<'a, S::Output>, Error>
    where
        In: Send,
        First: Step<In>,
        First::Output: Items,
        <First::Output as Items>::Item: 'a,
        S: Step<<First::Output as Items>::Item>,
    {
        preflight(self, runtime).await?;
        let (items, places) = self.first.run_numbered(runtime, input).await?;
        Ok(self
            .next
            .finished_numbered(runtime, numbered(items, places)))
    }
}

impl<S: Yields> Yields for Each<S> {
    type Output = Vec<S::Output>;
}

impl<I, S> Step<I> for Each<S>
where
    I: Items,
    S: Step<I::Item>,
{
    async fn run(&self, runtime: &Runtime, items: I) -> Result<Self::Output, Error> {
        preflight::<I, Self>(self, runtime).await?;
        // `buffered` keeps input order; the first error drops the rest.
        stream::iter(
            items
                .into_items()
                .into_iter()
                .map(|item| self.step.run(runtime, item)),
        )
        .buffered(self.concurrency)
        .try_collect()
        .await
    }

    fn check(&self, runtime: &Runtime) -> impl Future<Output = Vec<Problem>> + Send {
        self.step.check(runtime)
    }
}
