//! One attempt on one endpoint: what it supports, the body built for it,
//! one HTTP exchange (whole, or streamed to the caller), and what came of
//! it, as an [`Outcome`] for the failover policy to judge.

use std::future::Future;
use std::time::Instant;

use agentkit::backend::{Endpoint, Restart};
use agentkit::Error;
use serde_json::Value;
use tracing::Instrument;

use super::caps::Caps;
use super::endpoints::State;
use super::errors::{self, excerpt, Failure, Problem};
use super::failover::Outcome;
use super::relay::{self, read_events, Relay};
use super::{http, wire, Server};

/// One attempt on one endpoint, as the failover loop
/// ([`Server::failover`]) makes it: an HTTP exchange in the backend, a script
/// in tests of the loop.
pub(super) trait Attempt {
    /// What an endpoint that answers gives.
    type Answer;

    /// Tries `endpoint` (known as `state`) in `round`. The `restart` owed to
    /// the stream goes out just before any text does.
    fn attempt(
        &mut self,
        endpoint: &Endpoint,
        state: &State,
        round: u32,
        restart: &mut Option<Restart>,
    ) -> impl Future<Output = Outcome<Self::Answer>> + Send;
}

/// A request sent over HTTP: built by `body` for what the endpoint
/// supports (`None` when it cannot serve the request), streamed to `deltas`
/// where given.
pub(super) struct Job<'a, B> {
    /// The backend that sends it.
    pub server: &'a Server,
    /// The agent asking, for traces.
    pub agent: &'a str,
    /// Where the answer's text goes as it arrives, when streamed.
    pub deltas: Option<Relay<'a>>,
    /// Builds the request body for an endpoint that supports what it says.
    pub body: B,
}

impl<B> Attempt for Job<'_, B>
where
    B: Fn(Caps) -> Result<Option<Value>, Error> + Send + Sync,
{
    type Answer = (Caps, wire::Answer);

    /// Each attempt is a `tracing` span `attempt` with the endpoint's URL.
    async fn attempt(
        &mut self,
        endpoint: &Endpoint,
        state: &State,
        round: u32,
        restart: &mut Option<Restart>,
    ) -> Outcome<(Caps, wire::Answer)> {
        let (server, agent, deltas) = (self.server, self.agent, self.deltas);
        let n = server.inner.stats.attempt();
        let span = tracing::info_span!(
            "attempt",
            agent,
            endpoint = %endpoint.url,
            model = %endpoint.model,
            attempt = n,
            round,
        );
        let mut sent = false;
        let result = async {
            let caps = state.caps(&server.inner.client, endpoint).await?;
            let Some(mut body) = (self.body)(caps).map_err(Failure::Stop)? else {
                return Ok(None);
            };
            body["model"] = Value::from(endpoint.model.as_str());
            if let (Some(to), Some(why)) = (deltas, restart.take()) {
                to.deltas.restart(why);
            }
            let _busy = state.busy();
            let answer = server
                .send(endpoint, state, body, deltas, &mut sent)
                .await?;
            Ok(Some((caps, answer)))
        }
        .instrument(span.clone())
        .await;
        match result {
            Ok(Some(answer)) => Outcome::Answered(answer),
            Ok(None) => {
                server.inner.stats.not_attempted();
                Outcome::Unable
            }
            Err(failure) => {
                if let Failure::Move(reason) = &failure {
                    tracing::warn!(parent: &span, %reason, sent, "attempt failed; moving on");
                }
                Outcome::Failed { failure, sent }
            }
        }
    }
}

impl Server {
    /// One HTTP attempt, streamed to `deltas` where given (`sent` says
    /// whether any text went out).
    async fn send(
        &self,
        endpoint: &Endpoint,
        state: &State,
        mut body: Value,
        deltas: Option<Relay<'_>>,
        sent: &mut bool,
    ) -> Result<wire::Answer, Failure> {
        let Some(deltas) = deltas else {
            return self.exchange(endpoint, &body, None, sent).await;
        };
        let usage = state.stream_usage();
        wire::streamed(&mut body, usage);
        match self.exchange(endpoint, &body, Some(deltas), sent).await {
            // Token counts are worth asking for, not worth failing for.
            Err(Failure::Refused(status, text)) if usage && text.contains("stream_options") => {
                tracing::info!(%status, "the server refuses `stream_options`; streaming without token counts");
                state.refuse_stream_usage();
                wire::streamed(&mut body, false);
                self.exchange(endpoint, &body, Some(deltas), sent).await
            }
            other => other,
        }
    }

    /// Posts `body` and reads the answer: whole, or as server-sent events
    /// passed on to `deltas`.
    async fn exchange(
        &self,
        endpoint: &Endpoint,
        body: &Value,
        deltas: Option<Relay<'_>>,
        sent: &mut bool,
    ) -> Result<wire::Answer, Failure> {
        let started = Instant::now();
        let request = self
            .inner
            .client
            .post(format!("{}/v1/chat/completions", endpoint.url))
            .timeout(endpoint.timeout)
            .json(body);
        let response = http::authorised(request, endpoint)
            .map_err(errors::stop)?
            .send()
            .await
            .map_err(|e| Failure::Move(Problem::of(e)))?;
        let status = response.status();
        let events = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let mut answer = match deltas {
            Some(deltas) if status.is_success() && events => {
                read_events(response, deltas, sent).await?
            }
            _ => {
                let text = response
                    .text()
                    .await
                    .map_err(|e| Failure::Move(Problem::of(e)))?;
                if status.as_u16() == 429 || status.is_server_error() {
                    return Err(Failure::Move(Problem::new(format!(
                        "HTTP {status}: {}",
                        excerpt(&text)
                    ))));
                }
                if !status.is_success() {
                    return Err(Failure::Refused(status, text));
                }
                let answer = wire::Answer::parse(&text).map_err(|e| {
                    Failure::Move(Problem::new(format!(
                        "the body is not a chat completion ({e}): {}",
                        excerpt(&text)
                    )))
                })?;
                // A server that does not stream answers whole: one delta.
                if let Some(to) = deltas {
                    relay::whole(to, &answer, sent)?;
                }
                answer
            }
        };
        answer.elapsed = started.elapsed();
        Ok(answer)
    }
}
