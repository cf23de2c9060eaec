//! Keeping some items of a step's `Vec` output: `.filter(...)`.

use std::future::Future;

#[cfg(doc)]
use super::StepExt;
use super::{numbered, preflight, Items, Step, Yields};
use crate::preflight::Problem;
use crate::{Error, Runtime};

/// A step whose `Vec` output is filtered; built by [`StepExt::filter`].
pub struct Filter<S, F> {
    pub(super) step: S,
    pub(super) keep: F,
}

impl<S: std::fmt::Debug, F> std::fmt::Debug for Filter<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl<S, F> Yields for Filter<S, F>
where
    S: Yields,
    S::Output: Items,
{
    type Output = Vec<<S::Output as Items>::Item>;
}

impl<In, S, F> Step<In> for Filter<S, F>
where
    In: Send,
    S: Step<In>,
    S::Output: Items,
    F: Fn(&<S::Output as Items>::Item) -> bool + Send + Sync,
{
    async fn run(&self, runtime: &Runtime, input: In) -> Result<Self::Output, Error> {
        preflight(self, runtime).await?;
        let items = self.step.run(runtime, input).await?.into_items();
        Ok(items.into_iter().filter(|x| (self.keep)(x)).collect())
    }

    // The kept items keep their places in the list before the filter.
    async fn run_numbered(
        &self,
        runtime: &Runtime,
        input: In,
    ) -> Result<(Self::Output, Option<Vec<usize>>), Error> {
        preflight(self, runtime).await?;
        let (items, places) = self.step.run_numbered(runtime, input).await?;
        let (places, kept) = numbered(items, places)
            .into_iter()
            .filter(|(_, x)| (self.keep)(x))
            .unzip();
        Ok((kept, Some(places)))
    }

    fn check(&self, runtime: &Runtime) -> impl Future<Output = Vec<Problem>> + Send {
        self.step.check(runtime)
    }
}
