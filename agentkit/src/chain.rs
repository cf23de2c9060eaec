//! Steps and chains: anything that runs, and `.then()` / `.map()` to compose them.

use std::future::Future;
use std::marker::PhantomData;

use crate::{Error, Runtime};

/// Something that runs on a [`Runtime`]: an agent, or a chain of steps.
///
/// `In` is what the step takes. A chain is itself a `Step`, so chains chain.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take `{In}` as its input",
    label = "this step does not take `{In}`",
    note = "the step before it yields `{In}`; adapt between them with `.map(|x| ...)`, or run a step on each item of a `Vec` with `.each(...)`"
)]
pub trait Step<In>: Send + Sync {
    /// What the step yields.
    type Output: Send;

    /// Runs the step on `input`.
    fn run(
        &self,
        runtime: &Runtime,
        input: In,
    ) -> impl Future<Output = Result<Self::Output, Error>> + Send;
}

/// Composition methods for every [`Step`].
pub trait StepExt<In>: Step<In> + Sized {
    /// Feeds this step's output into `next`. Compiles only when `next` takes
    /// exactly what this step yields.
    fn then<Next>(self, next: Next) -> Then<Self, Next>
    where
        Next: Step<Self::Output>,
    {
        Then { first: self, next }
    }

    /// Adapts this step's output with plain Rust before the next step.
    fn map<F, U>(self, f: F) -> Map<Self, F, U>
    where
        F: Fn(Self::Output) -> U + Send + Sync,
        U: Send,
    {
        Map {
            step: self,
            f,
            _out: PhantomData,
        }
    }
}

impl<In, S: Step<In>> StepExt<In> for S {}

/// Two steps run one after the other; built by [`StepExt::then`].
#[derive(Debug, Clone, Copy)]
pub struct Then<First, Next> {
    first: First,
    next: Next,
}

impl<In, First, Next> Step<In> for Then<First, Next>
where
    In: Send,
    First: Step<In>,
    Next: Step<First::Output>,
{
    type Output = Next::Output;

    async fn run(&self, runtime: &Runtime, input: In) -> Result<Self::Output, Error> {
        let middle = self.first.run(runtime, input).await?;
        self.next.run(runtime, middle).await
    }
}

/// A step whose output is adapted by a closure; built by [`StepExt::map`].
pub struct Map<S, F, U> {
    step: S,
    f: F,
    _out: PhantomData<fn() -> U>,
}

impl<S: std::fmt::Debug, F, U> std::fmt::Debug for Map<S, F, U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map").field("step", &self.step).finish_non_exhaustive()
    }
}

impl<In, S, F, U> Step<In> for Map<S, F, U>
where
    In: Send,
    S: Step<In>,
    F: Fn(S::Output) -> U + Send + Sync,
    U: Send,
{
    type Output = U;

    async fn run(&self, runtime: &Runtime, input: In) -> Result<U, Error> {
        let out = self.step.run(runtime, input).await?;
        Ok((self.f)(out))
    }
}
