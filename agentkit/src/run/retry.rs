//! Asking again: a rejected answer goes back to the model with what was wrong.

use crate::backend::{Deltas, Restart};
use crate::backend::{OutputSchema, Request};
use crate::{Agent, Attempt, Error, Message, Prompt, Role, Runtime};

/// One answer to `input` (rendered as `base`): generate, accept; ask again
/// with feedback up to `A::RETRIES` times. Returns the accepted text and its
/// value.
pub(crate) async fn answer<A: Agent>(
    runtime: &Runtime,
    input: &A::Input,
    base: &Prompt,
    seed_offset: u32,
    span: &tracing::Span,
    deltas: Option<&Deltas>,
) -> Result<(String, A::Output), Error> {
    let backend = runtime.backend()?;
    let model = runtime.resolve(A::NAME, A::MODEL)?;
    let schema = OutputSchema::of::<A::Output>();
    tracing::debug!(schema = %schema.full(), "output schema (the decoding grammar)");
    let input_json = crate::backend::input_json::<A>(input)?;
    let mut tried: Vec<Attempt> = Vec::new();
    crate::genai::record_system(span, backend, &model);
    let mut tally = crate::genai::Tally::default();
    loop {
        let mut sampling = A::SAMPLING;
        sampling.seed = sampling
            .seed
            .wrapping_add(seed_offset)
            .wrapping_add(tried.len() as u32);
        let request = Request::new(
            A::NAME,
            model.clone(),
            with_feedback(base, &tried),
            schema.clone(),
            sampling,
        )
        .with_thought(A::thought())
        .with_input(input_json.clone());
        let completion = match deltas {
            Some(deltas) => backend.generate_streaming(request, deltas.clone()).await?,
            None => backend.generate(request).await?,
        };
        runtime.record(&completion);
        tally.add(span, &completion);
        span.record("retries", tried.len());
        crate::genai::record_finish(span, completion.cut);
        crate::genai::record_output(span, &completion.text);
        if let Some(reasoning) = &completion.reasoning {
            tracing::debug!(
                reasoning = %reasoning,
                reasoning_tokens = completion.reasoning_tokens,
                attempt = tried.len() + 1,
                "model reasoning"
            );
        }
        tracing::debug!(output = %completion.text, attempt = tried.len() + 1, "model output");
        let text = completion.text;
        let rejection = match completion.violation {
            // The backend could not constrain decoding and the text breaks
            // the schema: rejected like an answer that does not parse.
            Some(reason) => Box::new(super::accept::Rejection {
                problem: format!("it does not match the requested shape ({reason})"),
                error: Error::SchemaMismatch {
                    agent: A::NAME.to_string(),
                    reason,
                    raw: text.clone(),
                },
                raw: text,
            }),
            None => match super::accept::accept::<A>(input, text.clone()) {
                Ok(output) => return Ok((text, output)),
                Err(rejection) => rejection,
            },
        };
        tracing::info!(attempt = tried.len() + 1, problem = %rejection.problem, "output rejected");
        if A::RETRIES == 0 {
            return Err(rejection.error);
        }
        tried.push(Attempt {
            raw: rejection.raw,
            problem: rejection.problem,
        });
        if tried.len() > A::RETRIES as usize {
            return Err(Error::Rejected {
                agent: A::NAME.to_string(),
                attempts: tried,
            });
        }
        if let Some(deltas) = deltas {
            let problem = tried.last().map(|a| a.problem.clone()).unwrap_or_default();
            deltas.restart(Restart::Retry {
                attempt: tried.len() as u32 + 1,
                problem,
            });
        }
    }
}

/// `base` followed, for each rejected attempt, by the model's answer and a
/// user turn saying what was wrong with it.
fn with_feedback(base: &Prompt, tried: &[Attempt]) -> Prompt {
    let mut prompt = base.clone();
    for a in tried {
        prompt.messages.push(Message {
            role: Role::Assistant,
            content: a.raw.clone(),
        });
        prompt.messages.push(Message {
            role: Role::User,
            content: format!(
                "That answer was rejected: {}. Answer again, fixing that.",
                a.problem
            ),
        });
    }
    prompt
}
