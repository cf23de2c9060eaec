//! How an agent runs: the execution policy, one idea per file.
//!
//! An agent call is built from three small pieces, outermost first:
//!
//! - [`vote`]: draw `A::SAMPLES` answers and keep the most common one;
//! - [`retry`]: for one answer, ask the backend, and when the answer is
//!   rejected ask again (up to `A::RETRIES` times) with the problem spelled out;
//! - [`accept`]: parse the text into the output type and apply the agent's
//!   own check, which sees the input too.
//!
//! Before any of that, the agent is pre-flighted once per runtime
//! ([`Runtime::preflight`]), however the agent is wrapped.

mod accept;
pub(crate) use accept::accept;
mod retry;
mod vote;

use crate::backend::{Deltas, OutputSchema, Request};
use crate::{Agent, Error, Problem, Prompt, Runtime};

/// Runs one agent on `input`: pre-flight (once per runtime), render the
/// prompt, then vote over retried, accepted answers.
///
/// What the `Step::run` that `#[agent]` generates calls (through
/// `agentkit::__private`); hand-written agents call [`Runtime::run_agent`].
pub async fn run_agent<A: Agent>(
    _agent: &A,
    runtime: &Runtime,
    input: A::Input,
) -> Result<A::Output, Error> {
    run::<A>(runtime, input, None).await
}

/// [`run_agent`] with the text of every answer sent to `deltas` as the
/// backend writes it, and a restart before every retry and sample: what
/// [`Streams::stream`](crate::Streams::stream) turns into events.
pub(crate) async fn run_streaming<A: Agent>(
    runtime: &Runtime,
    input: A::Input,
    deltas: Deltas,
) -> Result<A::Output, Error> {
    run::<A>(runtime, input, Some(&deltas)).await
}

async fn run<A: Agent>(
    runtime: &Runtime,
    input: A::Input,
    deltas: Option<&Deltas>,
) -> Result<A::Output, Error> {
    let span = crate::genai::agent_span::<A>("generate");
    let started = std::time::Instant::now();
    let result = tracing::Instrument::instrument(
        async {
            runtime.preflight::<A>().await?;
            if !A::tool_use().is_empty() {
                let (output, _) =
                    crate::tools::run_turns::<A>(runtime, &input, &span, deltas).await?;
                return Ok(output);
            }
            let prompt =
                crate::fit::fit::<A>(runtime, &input, Prompt::render::<A>(&input)?).await?;
            tracing::debug!(prompt = %prompt, "rendered prompt");
            crate::genai::record_prompt(&span, &prompt);
            let (output, _) =
                vote::vote::<A>(runtime, &input, &prompt, A::SAMPLES, &span, deltas).await?;
            Ok(output)
        },
        span.clone(),
    )
    .await;
    span.record("elapsed_ms", started.elapsed().as_millis() as u64);
    if let Err(e) = &result {
        crate::genai::record_error(&span, e);
        tracing::warn!(parent: &span, error = %e, "agent failed");
    }
    result
}

/// Pre-flight for one agent: the problems that would stop it before it
/// generates anything (none once it has passed on this runtime). What the
/// `Step::check` that `#[agent]` generates calls.
///
/// Besides those, a warning ([`Problem::warning`]) where the agent's input
/// could overflow its context (see [`crate::fit`]).
pub async fn check_agent<A: Agent>(_agent: &A, runtime: &Runtime) -> Vec<Problem> {
    let mut problems = match runtime.preflight::<A>().await {
        Ok(()) => Vec::new(),
        Err(Error::Preflight { report }) => report.problems,
        Err(other) => vec![Problem::from_error(A::NAME, other)],
    };
    problems.extend(crate::fit::overflow_risk::<A>());
    problems
}

/// The checks behind [`check_agent`], uncached: the model resolves, the
/// runtime has a backend, the few-shot examples load, and the backend accepts
/// the schema and the fixed part of the prompt.
pub(crate) async fn problems<A: Agent>(runtime: &Runtime) -> Vec<Problem> {
    let problem = |e: Error| vec![Problem::from_error(A::NAME, e)];
    if let Some(message) = A::SAMPLING.problem() {
        return vec![Problem::new(A::NAME, message)];
    }
    if let Err(e) = crate::fit::input_policies::<A>() {
        return problem(e);
    }
    let backend = match runtime.backend() {
        Ok(b) => b,
        Err(e) => return problem(e),
    };
    let model = match runtime.resolve(A::NAME, A::MODEL) {
        Ok(m) => m,
        Err(e) => return problem(e),
    };
    // Few-shot examples are part of every prompt: they must load, and they
    // count against the context.
    let prompt = match Prompt::preamble::<A>() {
        Ok(p) => p,
        Err(e) => return problem(e),
    };
    let mut request = Request::new(
        A::NAME,
        model,
        prompt,
        OutputSchema::of::<A::Output>(),
        A::SAMPLING,
    )
    .with_thought(A::thought());
    if !A::tool_use().is_empty() {
        // Its tools are listed (a source connects here) and every turn is
        // decoded under the turn grammar, so that is what must compile.
        match crate::tools::preflight_request::<A>(runtime, request).await {
            Ok(r) => request = r,
            Err(e) => return problem(e),
        }
    }
    match backend.check(&request).await {
        Ok(()) => Vec::new(),
        Err(e) => problem(e),
    }
}
