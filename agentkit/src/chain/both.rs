//! Steps that yield a pair from one input: two steps side by side, or a
//! step's input beside its output.

use std::future::Future;
use std::marker::PhantomData;

use super::{preflight, Step, Yields};
use crate::preflight::Problem;
use crate::{Error, Runtime};

/// Two steps run on the same input at the same time, their outputs joined
/// into a tuple. Built by [`both`].
#[derive(Debug, Clone, Copy)]
pub struct Both<A, B> {
    a: A,
    b: B,
}

/// Runs `a` and `b` on (clones of) the same input concurrently and yields
/// `(a's output, b's output)`. The first error wins.
pub fn both<A, B>(a: A, b: B) -> Both<A, B> {
    Both { a, b }
}

impl<A: Yields, B: Yields> Yields for Both<A, B> {
    type Output = (A::Output, B::Output);
}

impl<In, A, B> Step<In> for Both<A, B>
where
    In: Clone + Send,
    A: Step<In>,
    B: Step<In>,
{
    async fn run(&self, runtime: &Runtime, input: In) -> Result<Self::Output, Error> {
        preflight(self, runtime).await?;
        futures_util::future::try_join(
            self.a.run(runtime, input.clone()),
            self.b.run(runtime, input),
        )
        .await
    }

    async fn check(&self, runtime: &Runtime) -> Vec<Problem> {
        let mut problems = self.a.check(runtime).await;
        problems.extend(self.b.check(runtime).await);
        problems
    }
}

/// A step that yields its input alongside its output; built by [`with_input`].
pub struct WithInput<S, In> {
    step: S,
    _in: PhantomData<fn(In)>,
}

impl<S: std::fmt::Debug, In> std::fmt::Debug for WithInput<S, In> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithInput")
            .field("step", &self.step)
            .finish()
    }
}

/// Runs `step` and yields `(input, output)`, so later steps (or a report)
/// still have what the step was given. The input must be `Clone`.
pub fn with_input<S, In>(step: S) -> WithInput<S, In>
where
    S: Step<In>,
{
    WithInput {
        step,
        _in: PhantomData,
    }
}

impl<S, In> WithInput<S, In> {
    /// The wrapped step.
    pub(crate) fn step(&self) -> &S {
        &self.step
    }
}

impl<S: Yields, In: Send> Yields for WithInput<S, In> {
    type Output = (In, S::Output);
}

impl<In, S> Step<In> for WithInput<S, In>
where
    In: Clone + Send + Sync,
    S: Step<In>,
{
    async fn run(&self, runtime: &Runtime, input: In) -> Result<(In, S::Output), Error> {
        preflight(self, runtime).await?;
        let out = self.step.run(runtime, input.clone()).await?;
        Ok((input, out))
    }

    fn check(&self, runtime: &Runtime) -> impl Future<Output = Vec<Problem>> + Send {
        self.step.check(runtime)
    }
}
