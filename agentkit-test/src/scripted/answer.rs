//! How the scripted backend answers a call: the reply it takes (tied
//! replies first, then the queue), checked against the output schema, and
//! streamed in chunks; and what it says when it has none.

use std::collections::VecDeque;
use std::sync::Arc;

use agentkit::backend::{Backend, BackendError, Choice, Completion, Deltas, ModelSpec, Request};
use agentkit::Error;
use serde_json::Value;

use super::tied::{unmatched, Fits};
use super::ScriptedBackend;

impl ScriptedBackend {
    /// The index of the first unused tied reply (or, with `scores`, tied
    /// scores) that fits `request`'s input, marked used; `None` when none
    /// fits.
    fn take_tied(&self, request: &Request, scores: bool) -> Result<Option<usize>, Error> {
        let agent = request.agent;
        let candidates: Vec<(usize, Arc<Fits>)> = {
            let script = self.lock();
            let tied = if scores {
                &script.tied_scores
            } else {
                &script.tied
            };
            match tied.get(agent) {
                Some(tied) => tied
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.always || !r.used)
                    .map(|(i, r)| (i, Arc::clone(&r.fits)))
                    .collect(),
                None => Vec::new(),
            }
        };
        // User code: run outside the lock.
        let mut fitting = Vec::new();
        for (i, fits) in candidates {
            if fits(request)? {
                fitting.push(i);
            }
        }
        let mut script = self.lock();
        let tied = if scores {
            &mut script.tied_scores
        } else {
            &mut script.tied
        };
        // Another call may have used a once-reply since it was looked at;
        // replies are only ever appended, so the indices still hold.
        if let Some(tied) = tied.get_mut(agent) {
            for i in fitting {
                let Some(reply) = tied.get_mut(i) else {
                    continue;
                };
                if reply.always || !reply.used {
                    reply.used = true;
                    return Ok(Some(i));
                }
            }
        }
        Ok(None)
    }

    /// The reply for `request`: the first unused tied reply that fits its
    /// input, else the next queued one.
    pub(super) fn take_reply(&self, request: &Request) -> Result<Vec<String>, Error> {
        let agent = request.agent;
        let tied = self.take_tied(request, false)?;
        let mut script = self.lock();
        if let Some(text) = tied.and_then(|i| Some(script.tied.get(agent)?.get(i)?.text.clone())) {
            return Ok(vec![text]);
        }
        if let Some(text) = script.replies.get_mut(agent).and_then(VecDeque::pop_front) {
            return Ok(text);
        }
        if script.tied.contains_key(agent) {
            return Err(unmatched(
                agent,
                request,
                format!(
                    "no unused reply is tied to it and none is queued; tie one to it with \
                     `.reply_when::<{agent}>(|input| ..., json!(...))` or \
                     `.reply_for::<{agent}>(&input, json!(...))`, or queue one with \
                     `.reply::<{agent}>(json!(...))`"
                ),
            ));
        }
        Err(exhausted(agent))
    }
}

#[async_trait::async_trait]
impl Backend for ScriptedBackend {
    fn model(&self, alias: &str) -> Option<ModelSpec> {
        (!self.lock().registered_only).then(|| ModelSpec::new(alias, alias))
    }

    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        let (_, completion) = self.answer(request)?;
        Ok(completion)
    }

    /// Sends the reply in its chunks (or in [`chunk_size`](Self::chunk_size)
    /// pieces), letting other tasks run between chunks, as a model does
    /// between tokens. Stops when nobody listens.
    async fn generate_streaming(
        &self,
        request: Request,
        deltas: Deltas,
    ) -> Result<Completion, Error> {
        let (chunks, completion) = self.answer(request)?;
        for chunk in chunks {
            if !deltas.send(&chunk) {
                break;
            }
            YieldNow(false).await;
        }
        Ok(completion)
    }

    /// Answers with the next queued scores, after letting other tasks run
    /// once, as a model does while it scores: concurrent scored calls
    /// overlap as they would on a real backend.
    async fn choose(&self, request: Request, choices: Vec<Choice>) -> Result<Vec<Vec<f64>>, Error> {
        YieldNow(false).await;
        let agent = request.agent;
        let tied = self.take_tied(&request, true)?;
        let mut script = self.lock();
        let tied = tied.and_then(|i| Some(script.tied_score_values.get(agent)?.get(i)?.clone()));
        let scores = match tied {
            Some(scores) => scores,
            None => script
                .scores
                .get_mut(agent)
                .and_then(VecDeque::pop_front)
                .ok_or_else(|| no_scores(agent))?,
        };
        script.calls.push(request);
        let shape_ok = scores.len() == choices.len()
            && scores
                .iter()
                .zip(&choices)
                .all(|(s, c)| s.len() == c.options.len());
        if !shape_ok {
            let wanted: Vec<usize> = choices.iter().map(|c| c.options.len()).collect();
            return Err(Error::backend(
                agent,
                BackendError::configuration(format!(
                    "the scripted scores do not fit: the output needs {} fields with {wanted:?} answers each",
                    choices.len()
                )),
            ));
        }
        Ok(scores)
    }
}

impl ScriptedBackend {
    /// The reply to `request` as the chunks it streams in, and as a
    /// completion; the request is recorded and the reply checked against
    /// the schema.
    fn answer(&self, request: Request) -> Result<(Vec<String>, Completion), Error> {
        let chunks = self.take_reply(&request)?;
        let text = chunks.concat();
        let agent = request.agent;
        let schema = request.schema.grammar().clone();
        let chunk_size = {
            let mut script = self.lock();
            script.calls.push(request);
            script.chunk_size
        };
        // Text that is not JSON is passed through: the runtime's parser reports it.
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            check_schema(agent, &schema, &value, &text)?;
        }
        let chunks = match (chunks.len(), chunk_size) {
            (1, Some(size)) => {
                let chars: Vec<char> = text.chars().collect();
                chars.chunks(size).map(|c| c.iter().collect()).collect()
            }
            _ => chunks,
        };
        let words = text.split_whitespace().count();
        Ok((chunks, Completion::new(text).with_tokens(0, 0, words)))
    }
}

/// Returns `Pending` once (waking itself), so other tasks run: the scripted
/// backend's pause between chunks.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

fn check_schema(agent: &str, schema: &Value, value: &Value, raw: &str) -> Result<(), Error> {
    let validator = jsonschema::validator_for(schema).map_err(|e| Error::UnsupportedSchema {
        agent: agent.to_string(),
        location: e.instance_path().to_string(),
        reason: e.to_string(),
    })?;
    let problems: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("at `{}`: {}", e.instance_path(), e))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::SchemaMismatch {
            agent: agent.to_string(),
            reason: problems.join("; "),
            raw: raw.to_string(),
        })
    }
}

/// `agent` asked for a reply and none is queued (and none is tied to its
/// inputs). A mistake in the test's set-up, hence `configuration`.
fn exhausted(agent: &str) -> Error {
    Error::backend(
        agent,
        BackendError::configuration(format!(
            "the scripted backend has no reply left for agent `{agent}`; add one with \
             `.reply::<{agent}>(json!(...))`"
        )),
    )
}

/// `agent` made a scored call and no scores are queued for it.
fn no_scores(agent: &str) -> Error {
    Error::backend(
        agent,
        BackendError::configuration(format!(
            "the scripted backend has no scores left for agent `{agent}`'s scored call; add \
             them with `.scores::<{agent}>(vec![...])`, one list of log-probabilities per field"
        )),
    )
}
