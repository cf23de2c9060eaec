//! Chunking: an agent run over the pieces of one long text field, each
//! piece fitting the agent's context, the typed answers handed on together.

use std::future::Future;

use serde::de::DeserializeOwned;

use super::{each, preflight, Each, Step, Yields};
use crate::preflight::Problem;
use crate::{Agent, Error, Runtime};

/// Tokens two neighbouring pieces share, by default: enough for a sentence
/// cut at a piece's end to be read whole at the next one's start.
pub const DEFAULT_OVERLAP: usize = 64;

/// An agent run on every piece of one long text field of its input; built
/// by [`chunked`].
#[derive(Debug, Clone, Copy)]
pub struct Chunked<A> {
    each: Each<A>,
    field: &'static str,
    overlap: usize,
}

/// Runs `agent` over the text field `field` of its input in pieces: the
/// field is split (between tokens of the agent's model) into pieces that
/// each fit the agent's context with room for its answer, neighbours
/// sharing [`DEFAULT_OVERLAP`] tokens; the other fields go with every piece.
/// Yields one answer per piece, in order: chain a merge step after it, a
/// function (`.map(|answers| ...)`) or another agent (`.then(Merge)`).
///
/// An input that fits whole is one piece. For text that may be cut rather
/// than read whole, a fitting policy on the field is cheaper (see
/// [`fit`](crate::fit)).
///
/// ```
/// use agentkit::prelude::*;
/// use agentkit::chunked;
///
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// struct Log {
///     service: String,
///     text: String,
/// }
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Errors {
///     /// how many errors this part of the log shows
///     count: u32,
/// }
///
/// /// Count the errors in this part of the log.
/// #[agent(model = "smollm2-135m", input = Log, output = Errors)]
/// struct CountErrors;
///
/// let total = chunked(CountErrors, "text")
///     .overlap(0)
///     .map(|parts: Vec<Errors>| parts.iter().map(|p| p.count).sum::<u32>());
/// ```
pub fn chunked<A: Agent>(agent: A, field: &'static str) -> Chunked<A> {
    Chunked {
        each: each(agent),
        field,
        overlap: DEFAULT_OVERLAP,
    }
}

impl<A> Chunked<A> {
    /// Tokens neighbouring pieces share (at most half a piece).
    pub fn overlap(mut self, tokens: usize) -> Self {
        self.overlap = tokens;
        self
    }

    /// Runs up to `n` pieces at a time (at least one), as
    /// [`Each::concurrency`].
    pub fn concurrency(mut self, n: usize) -> Self {
        self.each = self.each.concurrency(n);
        self
    }
}

impl<A: Yields> Yields for Chunked<A> {
    type Output = Vec<A::Output>;
}

impl<A> Step<A::Input> for Chunked<A>
where
    A: Agent + Step<<A as Agent>::Input>,
    A::Input: DeserializeOwned,
{
    async fn run(&self, runtime: &Runtime, input: A::Input) -> Result<Self::Output, Error> {
        preflight::<A::Input, Self>(self, runtime).await?;
        let pieces = crate::fit::pieces::<A>(runtime, &input, self.field, self.overlap).await?;
        self.each.run(runtime, pieces).await
    }

    fn check(&self, runtime: &Runtime) -> impl Future<Output = Vec<Problem>> + Send {
        let field = self.field;
        async move {
            let mut problems = self.each.step().check(runtime).await;
            if !crate::fit::has_text_field::<A>(field) {
                problems.push(Problem::new(
                    A::NAME,
                    format!(
                        "`chunked(.., \"{field}\")` splits the text field `{field}`, and the \
                         input type of `{}` has no `String` field of that name",
                        A::NAME
                    ),
                ));
            }
            problems
        }
    }
}
