//! Steps and chains: anything that runs, and the combinators that compose them.
//!
//! Every combinator is itself a [`Step`], so chains nest and chain. A chain
//! whose types do not line up does not compile, and the compiler's message
//! names the step and the type it was handed.

mod both;
mod chunk;
mod fan_out;
mod filter;
mod then;
mod tool;
mod when;

use std::future::Future;
use std::marker::PhantomData;

use crate::preflight::Problem;
use crate::{Error, Runtime};

pub use both::{both, with_input, Both, WithInput};
pub use chunk::{chunked, Chunked, DEFAULT_OVERLAP};
pub use fan_out::{each, Each};
pub use filter::Filter;
pub use then::{Map, Then};
pub use tool::{tool, Tool};
pub use when::When;

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
    note = "the step before it yields `{In}`; adapt between them with `.map(|x| ...)`, run a step on each item of a `Vec` with `.each(...)`, or, for a step that takes `(input, {In})`, wrap the step before in `with_input(...)` to yield its input with its output"
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

    /// Runs the step on `input` and yields its output with, when the output
    /// is a list some of whose items were dropped, each kept item's place in
    /// the list before, so a fan-out after it reports the caller's indices.
    /// `None` (what every step but `.filter(...)` yields) means the items are
    /// numbered in order.
    fn run_numbered(
        &self,
        runtime: &Runtime,
        input: In,
    ) -> impl Future<Output = Result<(Self::Output, Option<Vec<usize>>), Error>> + Send
    where
        In: Send,
    {
        async move { Ok((self.run(runtime, input).await?, None)) }
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

    /// Runs this step only on inputs for which `run_if` is true, yielding
    /// `Some(output)` for them and `None` for the others, so a per-item
    /// chain keeps every item: `each(classify.then(draft.when(urgent)))`
    /// yields one entry per ticket, in order. Pair it with
    /// [`with_input`] to keep what the skipped step was given.
    fn when<In, F>(self, run_if: F) -> When<Self, F>
    where
        Self: Step<In>,
        F: Fn(&In) -> bool + Send + Sync,
    {
        When { step: self, run_if }
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

/// The items of a step's output beside their places, as
/// [`Step::run_numbered`] reports them.
pub(crate) fn numbered<I: Items>(output: I, places: Option<Vec<usize>>) -> Vec<(usize, I::Item)> {
    let items = output.into_items();
    match places {
        Some(places) => places.into_iter().zip(items).collect(),
        None => items.into_iter().enumerate().collect(),
    }
}
