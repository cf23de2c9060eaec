//! Steps and chains: anything that runs, and the combinators that compose them.
//!
//! Every combinator is itself a [`Step`], so chains nest and chain. A chain
//! whose types do not line up does not compile, and the compiler's message
//! names the step and the type it was handed.

use std::future::Future;
use std::marker::PhantomData;

use futures_util::stream::{self, StreamExt, TryStreamExt};

use crate::preflight::Problem;
use crate::{Error, Runtime};

/// What a step yields, whatever it is given.
///
/// Kept apart from [`Step`] so that `.then()` is available on every step and
/// a chain with one mismatched link reports exactly one error, at that link.
pub trait Yields {
    /// What the step yields.
    type Output: Send;
}

/// Something that runs on a [`Runtime`]: an agent, a tool, or a chain of steps.
///
/// `In` is what the step takes; [`Yields::Output`] is what it yields. A chain
/// is itself a `Step`, so chains chain.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take `{In}` as its input",
    label = "this step does not take `{In}`",
    note = "the step before it yields `{In}`; adapt between them with `.map(|x| ...)`, or run a step on each item of a `Vec` with `.each(...)`"
)]
pub trait Step<In>: Yields + Send + Sync {
    /// Runs the step on `input`.
    fn run(
        &self,
        runtime: &Runtime,
        input: In,
    ) -> impl Future<Output = Result<Self::Output, Error>> + Send;

    /// Checks, before any token is generated, that this step can run on
    /// `runtime`: its model resolves, its output schema compiles to a grammar,
    /// its prompt fits the model's context. Returns every problem found.
    ///
    /// Steps made of plain Rust have nothing to check; the default says so.
    fn check(&self, runtime: &Runtime) -> impl Future<Output = Vec<Problem>> + Send {
        let _ = runtime;
        async { Vec::new() }
    }
}

/// A step's output that is a list, so `.each(...)` and `.filter(...)` can work on its items.
#[diagnostic::on_unimplemented(
    message = "`.each(...)` and `.filter(...)` need a step that yields a `Vec`, but this one yields `{Self}`",
    label = "yields `{Self}`, not a `Vec`",
    note = "use `.then(...)` to pass `{Self}` on whole, or `.map(|x| vec![x])` to make a list of it"
)]
pub trait Items: Send {
    /// The type of one item.
    type Item: Send;
    /// The items, in order.
    fn into_items(self) -> Vec<Self::Item>;
}

impl<T: Send> Items for Vec<T> {
    type Item = T;
    fn into_items(self) -> Vec<T> {
        self
    }
}

/// Composition methods for every step.
pub trait StepExt: Yields + Sized {
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

    /// Runs `next` on every item of this step's `Vec` output, keeping their
    /// order: one at a time, or up to `n` at a time with `.concurrency(n)`
    /// (`a.each(b).concurrency(4)`). The free function [`each`] builds the
    /// same step on its own, for a step that is handed a `Vec`.
    fn each<Next>(self, next: Next) -> Then<Self, Each<Next>>
    where
        Self::Output: Items,
        Next: Step<<Self::Output as Items>::Item>,
    {
        self.then(each(next))
    }

    /// Keeps the items of this step's `Vec` output for which `keep` is true.
    fn filter<F>(self, keep: F) -> Filter<Self, F>
    where
        Self::Output: Items,
        F: Fn(&<Self::Output as Items>::Item) -> bool + Send + Sync,
    {
        Filter { step: self, keep }
    }
}

impl<S: Yields> StepExt for S {}

/// Pre-flights every agent in the chain before its first step runs, so a
/// problem in the last step stops the chain before the first one spends
/// anything. Each agent's check runs once per runtime
/// ([`Runtime::preflight`]); repeating the walk is a few lookups.
async fn preflight<In, S: Step<In>>(step: &S, runtime: &Runtime) -> Result<(), Error> {
    runtime.check(step).await
}

/// Two steps run one after the other; built by [`StepExt::then`].
#[derive(Debug, Clone, Copy)]
pub struct Then<First, Next> {
    first: First,
    next: Next,
}

impl<First, Next> Then<First, Next> {
    /// The two steps.
    pub(crate) fn parts(&self) -> (&First, &Next) {
        (&self.first, &self.next)
    }
}

impl<First, S> Then<First, Each<S>> {
    /// Runs up to `n` items of the `.each(...)` at a time (at least one),
    /// still yielding them in order.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.next = self.next.concurrency(n);
        self
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
        preflight(self, runtime).await?;
        let middle = self.first.run(runtime, input).await?;
        self.next.run(runtime, middle).await
    }

    async fn check(&self, runtime: &Runtime) -> Vec<Problem> {
        let mut problems = self.first.check(runtime).await;
        problems.extend(self.next.check(runtime).await);
        problems
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
    /// let mut finished = fan_out.stream(&runtime, vec![1, 2, 3]);
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
    pub fn stream<'a, I>(
        &'a self,
        runtime: &'a Runtime,
        items: I,
    ) -> crate::stream::Finished<'a, S::Output>
    where
        I: Items,
        I::Item: 'a,
        S: Step<I::Item>,
    {
        crate::stream::Finished::new(
            stream::iter(
                items
                    .into_items()
                    .into_iter()
                    .enumerate()
                    .map(move |(i, item)| async move { (i, self.step.run(runtime, item).await) }),
            )
            .buffer_unordered(self.concurrency),
        )
    }
}

impl<First, S> Then<First, Each<S>> {
    /// Runs the chain up to its `.each(...)`, then returns the fan-out's
    /// stream (see [`Each::stream`]): the items as they finish. An error
    /// before the fan-out (a pre-flight problem, a failing first step) is
    /// returned here.
    pub async fn stream<'a, In>(
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
        let items = self.first.run(runtime, input).await?;
        Ok(self.next.stream(runtime, items))
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

/// A step whose `Vec` output is filtered; built by [`StepExt::filter`].
pub struct Filter<S, F> {
    step: S,
    keep: F,
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

    fn check(&self, runtime: &Runtime) -> impl Future<Output = Vec<Problem>> + Send {
        self.step.check(runtime)
    }
}

/// An async Rust function used as a step: a fetch, a lookup, a computation.
/// Built by [`tool`].
pub struct Tool<F, In, Out> {
    name: &'static str,
    f: F,
    _types: PhantomData<fn(In) -> Out>,
}

impl<F, In, Out> std::fmt::Debug for Tool<F, In, Out> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("name", &self.name).finish()
    }
}

/// Makes an async function a step named `name`; it chains like an agent.
///
/// The function's error becomes [`Error::Tool`] naming the tool.
///
/// ```
/// use agentkit::prelude::*;
/// use agentkit::tool;
///
/// let double = tool("double", |x: u32| async move { Ok::<_, std::io::Error>(x * 2) });
/// let quadruple = double.then(tool("double again", |x: u32| async move {
///     Ok::<_, std::io::Error>(x * 2)
/// }));
/// # let _ = quadruple;
/// ```
pub fn tool<F, In, Fut, Out, E>(name: &'static str, f: F) -> Tool<F, In, Out>
where
    F: Fn(In) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Out, E>> + Send,
{
    Tool {
        name,
        f,
        _types: PhantomData,
    }
}

impl<F, In, Out: Send> Yields for Tool<F, In, Out> {
    type Output = Out;
}

impl<In, F, Fut, Out, E> Step<In> for Tool<F, In, Out>
where
    In: Send,
    F: Fn(In) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Out, E>> + Send,
    Out: Send,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    async fn run(&self, _runtime: &Runtime, input: In) -> Result<Out, Error> {
        let span = tracing::info_span!("tool", tool = self.name);
        let result = tracing::Instrument::instrument((self.f)(input), span).await;
        result.map_err(|e| Error::Tool {
            tool: self.name.to_string(),
            source: e.into(),
        })
    }
}

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
