//! The tool loop: ask, run the calls, write their results back, ask again.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::prompt::{result_message, system_message};
use super::{turn_schema, DynTool, ToolCall, ToolOutcome, Transcript, Turn, TurnRecord};
use crate::backend::{Deltas, OutputSchema, Request, Restart};
use crate::{Agent, Error, Message, Prompt, Role, Runtime};

/// The agent's tools: its own, then each named source's, checked for names
/// a model can write and for clashes.
pub(crate) async fn gather<A: Agent>(runtime: &Runtime) -> Result<Vec<Arc<dyn DynTool>>, Error> {
    let uses = A::tool_use();
    let mut tools = uses.tools.clone();
    for source in &uses.sources {
        tools.extend(runtime.source_tools(A::NAME, source).await?);
    }
    let problem = |problem: String| Error::Tools {
        agent: A::NAME.to_string(),
        problem,
    };
    if uses.max_turns == 0 {
        return Err(problem(
            "`max_turns` is 0, so it could never answer; give it at least 1".into(),
        ));
    }
    if A::SAMPLES > 1 {
        return Err(problem(
            "it votes over `samples`, which the tool loop does not take (each sample would run the tools again); drop `samples` or the tools".into(),
        ));
    }
    for (i, tool) in tools.iter().enumerate() {
        if !super::valid_name(tool.name()) {
            return Err(problem(format!(
                "the tool name {:?} is not one a model can write; use 1 to 64 ASCII letters, digits, `_`, `-` or `.`",
                tool.name()
            )));
        }
        if tools[..i].iter().any(|t| t.name() == tool.name()) {
            return Err(problem(format!(
                "two tools are called `{}`; rename one (a tool source's tools share the agent's names)",
                tool.name()
            )));
        }
    }
    Ok(tools)
}

/// `request` (the agent's preamble) as a tool-using agent sends it: its
/// tools gathered, the system message listing them, the turn schema. What
/// pre-flight checks.
pub(crate) async fn preflight_request<A: Agent>(
    runtime: &Runtime,
    mut request: Request,
) -> Result<Request, Error> {
    let uses = A::tool_use();
    let tools = gather::<A>(runtime).await?;
    let output = OutputSchema::of::<A::Output>();
    for m in &mut request.prompt.messages {
        if m.role == Role::System {
            m.content = system_message(A::INSTRUCTIONS, &tools, &output, uses.parallel);
        }
    }
    request.schema = turn_schema(&tools, &output, uses.parallel, !uses.require_call);
    Ok(request)
}

/// Runs the tool-using agent `A` on `input` as `A.run(runtime, input)` does
/// (pre-flight first), and returns the transcript of its turns beside the
/// output: every call, its arguments and outcome, and each turn's prompt
/// tokens with those taken from the cache. An agent without tools answers
/// in one call and its transcript is empty.
pub async fn run_with_transcript<A: Agent>(
    _agent: &A,
    runtime: &Runtime,
    input: A::Input,
) -> Result<(A::Output, Transcript), Error> {
    if A::tool_use().is_empty() {
        let output = crate::run::run_agent(_agent, runtime, input).await?;
        return Ok((output, Transcript::default()));
    }
    runtime.preflight::<A>().await?;
    let span = crate::genai::agent_span::<A>("generate");
    let result =
        tracing::Instrument::instrument(run_turns::<A>(runtime, &input, &span, None), span.clone())
            .await;
    if let Err(e) = &result {
        crate::genai::record_error(&span, e);
    }
    result
}

/// The prompt of a tool-using agent: the usual one with the tool list and
/// the turn shapes as its system message, and each few-shot answer written
/// as a final turn (`{"answer": ...}`).
fn render<A: Agent>(
    input: &A::Input,
    tools: &[Arc<dyn DynTool>],
    parallel: u32,
) -> Result<Prompt, Error> {
    let mut prompt = Prompt::render::<A>(input)?;
    let output = OutputSchema::of::<A::Output>();
    for m in &mut prompt.messages {
        match m.role {
            Role::System => {
                m.content = system_message(A::INSTRUCTIONS, tools, &output, parallel);
            }
            Role::Assistant => m.content = format!("{{\"answer\":{}}}", m.content),
            _ => {}
        }
    }
    Ok(prompt)
}

/// Runs `A` on `input` turn by turn until it answers, or fails with
/// [`Error::ToolTurns`] holding the transcript after `max_turns` turns.
pub(crate) async fn run_turns<A: Agent>(
    runtime: &Runtime,
    input: &A::Input,
    span: &tracing::Span,
    deltas: Option<&Deltas>,
) -> Result<(A::Output, Transcript), Error> {
    let uses = A::tool_use();
    let tools = gather::<A>(runtime).await?;
    let backend = runtime.backend()?;
    let model = runtime.resolve(A::NAME, A::MODEL)?;
    crate::genai::record_system(span, backend, &model);
    let output = OutputSchema::of::<A::Output>();
    let schema = turn_schema(&tools, &output, uses.parallel, true);
    // The first turn's, where it must call.
    let first = turn_schema(&tools, &output, uses.parallel, !uses.require_call);
    let input_json = crate::backend::input_json::<A>(input)?;
    // The input's fitting policies apply to the first turn's prompt; later
    // turns add the calls and their results to it.
    let mut prompt =
        crate::fit::fit::<A>(runtime, input, render::<A>(input, &tools, uses.parallel)?).await?;
    let mut transcript = Transcript::default();
    let mut tally = crate::genai::Tally::default();
    for turn in 1..=uses.max_turns {
        if let (Some(deltas), true) = (deltas, turn > 1) {
            deltas.restart(Restart::Turn { turn });
        }
        let turn_span = tracing::info_span!(
            parent: span,
            "turn",
            turn,
            prompt_tokens = tracing::field::Empty,
            cached_prompt_tokens = tracing::field::Empty,
            calls = tracing::field::Empty,
        );
        let mut sampling = A::SAMPLING;
        sampling.seed = sampling.seed.wrapping_add(turn - 1);
        let shape = if turn == 1 { &first } else { &schema };
        let request = Request::new(
            A::NAME,
            model.clone(),
            prompt.clone(),
            shape.clone(),
            sampling,
        )
        .with_thought(A::thought())
        .with_input(input_json.clone());
        let completion = tracing::Instrument::instrument(
            async {
                match deltas {
                    Some(d) => backend.generate_streaming(request, d.clone()).await,
                    None => backend.generate(request).await,
                }
            },
            turn_span.clone(),
        )
        .await?;
        runtime.record(&completion);
        tally.add(span, &completion);
        turn_span.record("prompt_tokens", completion.prompt_tokens);
        turn_span.record("cached_prompt_tokens", completion.cached_prompt_tokens);
        tracing::debug!(parent: &turn_span, output = %completion.text, "turn output");
        if let Some(reason) = completion.violation {
            return Err(Error::SchemaMismatch {
                agent: A::NAME.to_string(),
                reason,
                raw: completion.text,
            });
        }
        let mut record = TurnRecord {
            text: completion.text.clone(),
            calls: Vec::new(),
            prompt_tokens: completion.prompt_tokens,
            cached_prompt_tokens: completion.cached_prompt_tokens,
        };
        prompt.messages.push(Message {
            role: Role::Assistant,
            content: completion.text.clone(),
        });
        match Turn::parse(A::NAME, &completion.text)? {
            Turn::Answer(value) => {
                match crate::run::accept::<A>(input, value.to_string()) {
                    Ok(output) => {
                        transcript.turns.push(record);
                        return Ok((output, transcript));
                    }
                    Err(rejection) => {
                        // Asked again in the next turn, like a retry.
                        tracing::info!(parent: &turn_span, problem = %rejection.problem, "answer rejected");
                        prompt.messages.push(Message {
                            role: Role::User,
                            content: format!(
                                "That answer was rejected: {}. Answer again, fixing that.",
                                rejection.problem
                            ),
                        });
                    }
                }
            }
            Turn::Calls(calls) => {
                turn_span.record("calls", calls.len());
                let calls: Vec<ToolCall> = calls
                    .into_iter()
                    .map(|(tool, args)| ToolCall { tool, args })
                    .collect();
                let outcomes = futures_util::future::join_all(
                    calls
                        .iter()
                        .map(|c| run_call(runtime, &tools, c, &turn_span)),
                )
                .await;
                for (call, outcome) in calls.into_iter().zip(outcomes) {
                    if let Some(deltas) = deltas {
                        deltas.tool_result(&call, &outcome);
                    }
                    prompt.messages.push(result_message(&call, &outcome));
                    record.calls.push((call, outcome));
                }
            }
        }
        transcript.turns.push(record);
    }
    Err(Error::ToolTurns {
        agent: A::NAME.to_string(),
        turns: uses.max_turns,
        transcript,
    })
}

/// Runs one call: finds the tool, checks the arguments against its schema,
/// and calls it within its timeout. Every failure is an outcome the model
/// reads, not an error of the run.
async fn run_call(
    runtime: &Runtime,
    tools: &[Arc<dyn DynTool>],
    call: &ToolCall,
    turn: &tracing::Span,
) -> ToolOutcome {
    let span = crate::genai::tool_span(turn, &call.tool);
    let started = Instant::now();
    let outcome = tracing::Instrument::instrument(call_checked(tools, call), span.clone()).await;
    runtime.record_tool_call();
    span.record("elapsed_ms", started.elapsed().as_millis() as u64);
    crate::genai::record_tool_outcome(&span, outcome.is_error());
    outcome
}

async fn call_checked(tools: &[Arc<dyn DynTool>], call: &ToolCall) -> ToolOutcome {
    let Some(tool) = tools.iter().find(|t| t.name() == call.tool) else {
        let names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
        return ToolOutcome::Error(format!(
            "there is no tool `{}`; the tools are: {}",
            call.tool,
            names.join(", ")
        ));
    };
    if let Err(problem) = check_args(tool.schema().full(), &call.args) {
        return ToolOutcome::Error(format!("the arguments are not valid: {problem}"));
    }
    let timeout = tool.timeout();
    if tokio::runtime::Handle::try_current().is_err() {
        return ToolOutcome::Error(
            "tool calls need a Tokio runtime for their timeouts; run the pipeline inside one (`#[tokio::main]`)".into(),
        );
    }
    match tokio::time::timeout(timeout, tool.call(call.args.clone())).await {
        Ok(Ok(value)) => ToolOutcome::Result(value),
        Ok(Err(e)) => ToolOutcome::Error(e),
        Err(_) => ToolOutcome::Error(format!(
            "it took longer than its timeout of {} ms",
            timeout.as_millis()
        )),
    }
}

/// Checks `args` against `schema`: every problem, with where it is.
pub(crate) fn check_args(schema: &Value, args: &Value) -> Result<(), String> {
    let validator = jsonschema::validator_for(schema).map_err(|e| e.to_string())?;
    let problems: Vec<String> = validator
        .iter_errors(args)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("at `{at}`: {e}")
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
