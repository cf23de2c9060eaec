//! One step after another: `.then(...)`, and `.map(...)` to adapt between them.

use std::future::Future;
use std::marker::PhantomData;

#[cfg(doc)]
use super::StepExt;
use super::{preflight, Step, Yields};
use crate::preflight::Problem;
use crate::{Error, Runtime};

/// Two steps run one after the other; built by [`StepExt::then`].
#[derive(Debug, Clone, Copy)]
pub struct Then<First, Next> {
    pub(super) first: First,
    pub(super) next: Next,
}

impl<First, Next> Then<First, Next> {
    /// The two steps.
    pub(crate) fn parts(&self) -> (&First, &Next) {
        (&self.first, &self.next)
    }
}

impl<First: Yields, Next: Yields> Yields for Then<First, Next> {
    type Output = Next::Output;
}

impl<In, First, Next> Step<In> for Then<First, Next>
where
    In: Send,
    First: Step<In>,
    Next: Step<First::Output>,
{
    async fn run(&self, runtime: &Runtime, input: In) -> Result<Self::Output, Error> {
        let chain = async {
            preflight(self, runtime).await?;
            let middle = self.first.run(runtime, input).await?;
            self.next.run(runtime, middle).await
        };
        tracing::Instrument::instrument(chain, crate::genai::chain_span()).await
    }

    // A filter at the end of the chain numbers its items as they were.
    async fn run_numbered(
        &self,
        runtime: &Runtime,
        input: In,
    ) -> Result<(Self::Output, Option<Vec<usize>>), Error> {
        let chain = async {
            preflight(self, runtime).await?;
            let middle = self.first.run(runtime, input).await?;
            self.next.run_numbered(runtime, middle).await
        };
        tracing::Instrument::instrument(chain, crate::genai::chain_span()).await
    }

    async fn check(&self, runtime: &Runtime) -> Vec<Problem> {
        let mut problems = self.first.check(runtime).await;
        problems.extend(self.next.check(runtime).await);
        problems
    }
}

/// A step whose output is adapted by a closure; built by [`StepExt::map`].
pub struct Map<S, F, U> {
    pub(super) step: S,
    pub(super) f: F,
    pub(super) _out: PhantomData<fn() -> U>,
}

impl<S: std::fmt::Debug, F, U> std::fmt::Debug for Map<S, F, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map")
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl<S, F, U: Send> Yields for Map<S, F, U> {
    type Output = U;
}

impl<In, S, F, U> Step<In> for Map<S, F, U>
where
    In: Send,
    S: Step<In>,
    F: Fn(S::Output) -> U + Send + Sync,
    U: Send,
{
    async fn run(&self, runtime: &Runtime, input: In) -> Result<U, Error> {
        preflight(self, runtime).await?;
        let out = self.step.run(runtime, input).await?;
        Ok((self.f)(out))
    }

    fn check(&self, runtime: &Runtime) -> impl Future<Output = Vec<Problem>> + Send {
        self.step.check(runtime)
    }
}
