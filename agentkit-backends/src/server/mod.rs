//! Models served over HTTP: the OpenAI-compatible chat completions API of
//! llama-server, Ollama, vLLM and others.
//!
//! [`Server`] implements [`agentkit::Backend`] for models whose
//! [`ModelSpec`](agentkit::ModelSpec) has endpoints (an `agentkit.toml` entry
//! `alias = { endpoints = [...] }`). Per request it
//!
//! - picks an endpoint (least busy, or round robin) and, on connection
//!   refused, a timeout, HTTP 429 or 5xx, or a body that is not a chat
//!   completion, moves the request to the next one: no request is lost while
//!   any endpoint is up. Each attempt is a `tracing` span `attempt` with the
//!   endpoint's URL;
//! - constrains the output: where the server takes a grammar (llama-server),
//!   the same compact grammar agentkit uses in-process, so answers stay as
//!   short as in-process; elsewhere `response_format` with the output type's
//!   JSON schema;
//! - validates the answer against the schema, because servers do not always
//!   enforce it; a violation says the server did not constrain its output,
//!   names the endpoint, and is retried where the agent allows retries;
//! - scores choices from token log-probabilities where the server gives them
//!   with a grammar (llama-server); elsewhere pre-flight says it cannot;
//! - streams ([`Backend::generate_streaming`]): the same request with
//!   `stream: true`, its server-sent events passed on as text deltas. An
//!   endpoint that fails after some text was passed on is followed by a
//!   [`Restart::Backend`] and the answer of the next endpoint.
//!
//! Mix served and in-process models in one runtime with [`Router`]:
//!
//! ```no_run
//! use agentkit::prelude::*;
//! use agentkit_backends::llama::{Llama, LlamaConfig};
//! use agentkit_backends::server::Router;
//!
//! # fn main() -> Result<(), agentkit::Error> {
//! // agentkit.toml:
//! //   [models]
//! //   screen = "smollm2-135m"
//! //   judge = { endpoints = [{ url = "http://127.0.0.1:8080", model = "smollm2" }] }
//! let runtime = Runtime::builder()
//!     .backend(Router::new(Llama::new(LlamaConfig::default())?))
//!     .manifest("agentkit.toml")?
//!     .build();
//! # Ok(()) }
//! ```

mod config;
mod gbnf;
mod router;
mod sse;
mod validate;
mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agentkit::backend::{
    Backend, BackendError, Choice, Completion, Deltas, Endpoint, Request, Restart,
};
use agentkit::Error;
use serde_json::Value;
use tracing::Instrument;

pub use config::{Constraint, Selection, ServerConfig};
pub use router::Router;

/// What a [`Server`] backend has done so far, for reports and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// HTTP attempts made (a request that moved counts each attempt).
    pub attempts: u64,
    /// Attempts that failed and moved the request on (connection refused,
    /// timeout, 429, 5xx, a malformed body).
    pub moved: u64,
    /// Answers that broke the schema (the server did not constrain them).
    pub violations: u64,
}

/// The OpenAI-compatible HTTP backend. Cheap to clone; clones share the
/// connection pool, what is known about each endpoint, and the statistics.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    config: ServerConfig,
    endpoints: Mutex<HashMap<String, Arc<State>>>,
    turn: AtomicUsize,
    validators: validate::Validators,
    attempts: AtomicU64,
    moved: AtomicU64,
    violations: AtomicU64,
}

/// What this backend knows about one endpoint (by URL).
#[derive(Default)]
struct State {
    busy: AtomicUsize,
    down_until: Mutex<Option<Instant>>,
    caps: tokio::sync::OnceCell<Caps>,
    /// It refused `stream_options`: stream without asking for token counts.
    plain_stream: AtomicBool,
}

/// What an endpoint supports beyond the OpenAI API, found out once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Caps {
    /// llama.cpp's server: a GBNF `grammar` field, pre-sampling token
    /// log-probabilities, and its sampling extensions (`top_k`, `min_p`, ...).
    llama_cpp: bool,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for Server {
    fn default() -> Self {
        Server::new(ServerConfig::default())
    }
}

/// Why one attempt failed: move on to the next endpoint, or stop.
enum Failure {
    /// The endpoint is down, busy or broken; another may answer.
    Move(String),
    /// The request itself is wrong; no endpoint will take it.
    Stop(Error),
    /// The endpoint answered with this 4xx status (not 429) and body: the
    /// request's fault, unless a field of it is one the server does not know.
    Refused(reqwest::StatusCode, String),
}

impl Server {
    /// A backend with `config`.
    pub fn new(config: ServerConfig) -> Server {
        Server {
            inner: Arc::new(Inner {
                client: reqwest::Client::new(),
                config,
                endpoints: Mutex::new(HashMap::new()),
                turn: AtomicUsize::new(0),
                validators: validate::Validators::default(),
                attempts: AtomicU64::new(0),
                moved: AtomicU64::new(0),
                violations: AtomicU64::new(0),
            }),
        }
    }

    /// Attempts, moved attempts and schema violations so far.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            attempts: self.inner.attempts.load(Ordering::Relaxed),
            moved: self.inner.moved.load(Ordering::Relaxed),
            violations: self.inner.violations.load(Ordering::Relaxed),
        }
    }

    fn state(&self, endpoint: &Endpoint) -> Arc<State> {
        let mut map = self
            .inner
            .endpoints
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.entry(endpoint.url.clone()).or_default().clone()
    }

    /// The endpoints of a model in the order to try them: those not known
    /// to be down first, least busy (or next in turn) first.
    fn order<'a>(&self, endpoints: &'a [Endpoint]) -> Vec<(&'a Endpoint, Arc<State>)> {
        let n = endpoints.len().max(1);
        let start = self.inner.turn.fetch_add(1, Ordering::Relaxed) % n;
        let now = Instant::now();
        let mut list: Vec<(usize, &Endpoint, Arc<State>)> = endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| ((i + n - start) % n, e, self.state(e)))
            .collect();
        list.sort_by_key(|(turn, _, state)| {
            let down = state
                .down_until
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some_and(|until| until > now);
            let busy = match self.inner.config.selection {
                Selection::LeastBusy => state.busy.load(Ordering::Relaxed),
                Selection::RoundRobin => 0,
            };
            (down, busy, *turn)
        });
        list.into_iter().map(|(_, e, s)| (e, s)).collect()
    }

    /// A GET with the endpoint's key and a short timeout, as JSON.
    async fn get(&self, endpoint: &Endpoint, path: &str) -> Result<Value, String> {
        let request = self
            .inner
            .client
            .get(format!("{}{path}", endpoint.url))
            .timeout(endpoint.timeout.min(Duration::from_secs(10)));
        let response = authorised(request, endpoint)?
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP {status} from {path}"));
        }
        response
            .json::<Value>()
            .await
            .map_err(|e| format!("{path} did not answer JSON: {}", describe(&e)))
    }

    /// What `endpoint` supports, asked once (llama-server answers `/props`).
    async fn caps(&self, endpoint: &Endpoint, state: &State) -> Result<Caps, String> {
        state
            .caps
            .get_or_try_init(|| async {
                match self.get(endpoint, "/props").await {
                    Ok(props) => Ok(Caps {
                        llama_cpp: props.get("default_generation_settings").is_some(),
                    }),
                    // Reached but no such path: a server of another kind.
                    Err(e) if e.starts_with("HTTP ") => Ok(Caps { llama_cpp: false }),
                    Err(e) => Err(e),
                }
            })
            .await
            .copied()
    }

    /// Sends a chat completion built by `body` (given what the endpoint
    /// supports; `None` when it cannot serve this request) to the endpoints
    /// of `request`'s model in turn until one answers. With `deltas`, the
    /// answer is streamed to them; an attempt that fails after sending some
    /// text is followed by a [`Restart::Backend`] before the next one.
    async fn post(
        &self,
        request: &Request,
        deltas: Option<&Deltas>,
        body: impl Fn(Caps) -> Result<Option<Value>, Error>,
    ) -> Result<(Endpoint, Caps, wire::Answer), Error> {
        let agent = request.agent;
        let endpoints = served(request)?;
        let config = &self.inner.config;
        let mut problems: Vec<String> = Vec::new();
        let mut skipped = 0;
        // Why the text sent so far is to be dropped, when an attempt failed
        // after sending some: said before the next attempt sends anything.
        let mut restart: Option<String> = None;
        for round in 0..config.rounds.max(1) {
            if round > 0 {
                tokio::time::sleep(config.pause).await;
            }
            for (endpoint, state) in self.order(endpoints) {
                let n = self.inner.attempts.fetch_add(1, Ordering::Relaxed) + 1;
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
                    let caps = self.caps(endpoint, &state).await.map_err(Failure::Move)?;
                    let Some(mut body) = body(caps).map_err(Failure::Stop)? else {
                        return Ok(None);
                    };
                    body["model"] = Value::from(endpoint.model.as_str());
                    if let (Some(deltas), Some(reason)) = (deltas, restart.take()) {
                        deltas.restart(Restart::Backend { reason });
                    }
                    state.busy.fetch_add(1, Ordering::Relaxed);
                    let answer = self.send(endpoint, &state, body, deltas, &mut sent).await;
                    state.busy.fetch_sub(1, Ordering::Relaxed);
                    answer.map(|a| Some((caps, a)))
                }
                .instrument(span.clone())
                .await;
                match result {
                    Ok(Some((caps, answer))) => {
                        *state.down_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
                        return Ok((endpoint.clone(), caps, answer));
                    }
                    Ok(None) => {
                        self.inner.attempts.fetch_sub(1, Ordering::Relaxed);
                        skipped += 1;
                    }
                    Err(Failure::Stop(e)) => return Err(e),
                    Err(Failure::Refused(status, text)) => {
                        return Err(Error::Backend {
                            agent: agent.to_string(),
                            error: BackendError::new(format!(
                                "{} refused the request with HTTP {status}: {}",
                                endpoint.url,
                                excerpt(&text)
                            )),
                        })
                    }
                    Err(Failure::Move(reason)) => {
                        self.inner.moved.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(parent: &span, %reason, sent, "attempt failed; moving on");
                        if sent {
                            restart = Some(format!(
                                "{} failed mid-answer ({reason}); the answer starts again on \
                                 the next endpoint tried",
                                endpoint.url
                            ));
                        }
                        *state.down_until.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(Instant::now() + config.down_for);
                        problems.push(format!("{}: {reason}", endpoint.url));
                    }
                }
            }
            if skipped == endpoints.len() {
                break;
            }
            skipped = 0;
        }
        if problems.is_empty() {
            return Err(unscorable(request, endpoints));
        }
        problems.dedup();
        Err(Error::Backend {
            agent: agent.to_string(),
            error: BackendError::new(format!(
                "no endpoint of model `{}` answered ({} tries over {} rounds): {}; check that \
                 the servers run and are reachable, or add endpoints",
                request.model.alias,
                problems.len(),
                config.rounds.max(1),
                problems.join("; ")
            )),
        })
    }

    /// One HTTP attempt, streamed to `deltas` where given (`sent` says
    /// whether any text went out).
    async fn send(
        &self,
        endpoint: &Endpoint,
        state: &State,
        mut body: Value,
        deltas: Option<&Deltas>,
        sent: &mut bool,
    ) -> Result<wire::Answer, Failure> {
        let Some(deltas) = deltas else {
            return self.exchange(endpoint, &body, None, sent).await;
        };
        let usage = !state.plain_stream.load(Ordering::Relaxed);
        wire::streamed(&mut body, usage);
        match self.exchange(endpoint, &body, Some(deltas), sent).await {
            // Token counts are worth asking for, not worth failing for.
            Err(Failure::Refused(status, text)) if usage && text.contains("stream_options") => {
                tracing::info!(%status, "the server refuses `stream_options`; streaming without token counts");
                state.plain_stream.store(true, Ordering::Relaxed);
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
        deltas: Option<&Deltas>,
        sent: &mut bool,
    ) -> Result<wire::Answer, Failure> {
        let started = Instant::now();
        let request = self
            .inner
            .client
            .post(format!("{}/v1/chat/completions", endpoint.url))
            .timeout(endpoint.timeout)
            .json(body);
        let response = authorised(request, endpoint)
            .map_err(|reason| {
                Failure::Stop(Error::backend(
                    String::new(),
                    BackendError::configuration(reason),
                ))
            })?
            .send()
            .await
            .map_err(|e| Failure::Move(describe(&e)))?;
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
                    .map_err(|e| Failure::Move(describe(&e)))?;
                if status.as_u16() == 429 || status.is_server_error() {
                    return Err(Failure::Move(format!("HTTP {status}: {}", excerpt(&text))));
                }
                if !status.is_success() {
                    return Err(Failure::Refused(status, text));
                }
                let answer = wire::Answer::parse(&text).map_err(|e| {
                    Failure::Move(format!(
                        "the body is not a chat completion ({e}): {}",
                        excerpt(&text)
                    ))
                })?;
                // A server that does not stream answers whole: one delta.
                if let Some(deltas) = deltas {
                    relay(deltas, &answer.text, sent)?;
                }
                answer
            }
        };
        answer.elapsed = started.elapsed();
        Ok(answer)
    }

    /// The log-probability of `option` as the continuation of `prefix`
    /// after `request`'s prompt: one greedy request under a grammar that
    /// admits only the option.
    async fn score(&self, request: &Request, prefix: &str, option: &str) -> Result<f64, Error> {
        let agent = request.agent;
        let (endpoint, _, answer) = self
            .post(request, None, |caps| {
                Ok(caps.llama_cpp.then(|| {
                    let grammar = gbnf::literal_grammar(option);
                    wire::forced(request, prefix, option, &grammar)
                }))
            })
            .await?;
        // llama-server returns the continued message whole;
        // other servers may return only the continuation.
        let whole = format!("{prefix}{option}");
        if answer.text != whole && answer.text != option {
            return Err(Error::Backend {
                agent: agent.to_string(),
                error: BackendError::new(format!(
                    "the server at {} did not follow the grammar of a scored choice: \
                     asked to continue {prefix:?} with {option:?}, got {:?}",
                    endpoint.url, answer.text
                )),
            });
        }
        // The log-probabilities cover the generated tokens only.
        answer
            .log_probability(0, option.len())
            .ok_or_else(|| Error::Backend {
                agent: agent.to_string(),
                error: BackendError::new(format!(
                    "the server at {} gave no token log-probabilities for a scored \
                     choice; scored choices need a server that returns `logprobs`",
                    endpoint.url
                )),
            })
    }
}

/// The endpoints of a served request, or a configuration error.
fn served(request: &Request) -> Result<&[Endpoint], Error> {
    if request.model.endpoints().is_empty() {
        return Err(Error::Backend {
            agent: request.agent.to_string(),
            error: BackendError::configuration(format!(
                "model `{}` has no endpoints, and the server backend runs only served models; \
                 declare it as `{} = {{ endpoints = [{{ url = \"...\", model = \"...\" }}] }}` in \
                 agentkit.toml, or use `agentkit_backends::server::Router` to run local models \
                 in-process beside served ones",
                request.model.alias, request.model.alias
            )),
        });
    }
    Ok(request.model.endpoints())
}

/// The error for scored choices on endpoints that cannot score.
fn unscorable(request: &Request, endpoints: &[Endpoint]) -> Error {
    let urls: Vec<&str> = endpoints.iter().map(|e| e.url.as_str()).collect();
    Error::Backend {
        agent: request.agent.to_string(),
        error: BackendError::new(format!(
            "scored choices need a backend with token log-probabilities under a grammar, and no \
             endpoint of model `{}` ({}) offers them; serve the model with llama-server, run it \
             in-process, or run the agent unscored",
            request.model.alias,
            urls.join(", ")
        )),
    }
}

/// `request` with the endpoint's API key, read from its environment variable.
fn authorised(
    request: reqwest::RequestBuilder,
    endpoint: &Endpoint,
) -> Result<reqwest::RequestBuilder, String> {
    match &endpoint.api_key_env {
        None => Ok(request),
        Some(var) => match std::env::var(var) {
            Ok(key) => Ok(request.bearer_auth(key)),
            Err(_) => Err(format!(
                "the API key of endpoint {} is read from the environment variable `{var}`, \
                 which is not set; export it or drop `api_key_env`",
                endpoint.url
            )),
        },
    }
}

/// A reqwest error in words (without the URL's query, which holds nothing here).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect (connection refused or host unreachable)".to_string()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    }
}

/// The start of a response body, for an error message.
fn excerpt(text: &str) -> String {
    let cut: String = text.chars().take(300).collect();
    if cut.len() < text.len() {
        format!("{cut}...")
    } else {
        cut
    }
}

/// The text of a streamed answer, read from its server-sent events as they
/// arrive and passed on to `deltas`.
async fn read_events(
    mut response: reqwest::Response,
    deltas: &Deltas,
    sent: &mut bool,
) -> Result<wire::Answer, Failure> {
    let mut decoder = sse::Decoder::default();
    let mut answer = wire::Answer::default();
    let broken = |e: String| Failure::Move(format!("the event stream is broken: {e}"));
    loop {
        let chunk = response
            .chunk()
            .await
            .map_err(|e| Failure::Move(format!("{} mid-answer", describe(&e))))?;
        let events = match &chunk {
            Some(bytes) => decoder.feed(bytes).map_err(broken)?,
            None => decoder.finish().map_err(broken)?.into_iter().collect(),
        };
        for data in events {
            match answer.absorb(&data).map_err(broken)? {
                wire::Piece::Text(text) => relay(deltas, &text, sent)?,
                wire::Piece::Nothing => {}
                wire::Piece::Done => return Ok(answer),
            }
        }
        if chunk.is_none() {
            break;
        }
    }
    if answer.finished() {
        return Ok(answer);
    }
    Err(Failure::Move(
        "the event stream ended before the answer did (no `finish_reason`, no `[DONE]`): \
         the server may have died mid-answer"
            .into(),
    ))
}

/// Passes `text` on to `deltas`; stops the attempt when nobody listens.
fn relay(deltas: &Deltas, text: &str, sent: &mut bool) -> Result<(), Failure> {
    if !deltas.send(text) {
        return Err(Failure::Stop(Error::backend(
            String::new(),
            BackendError::new(
                "the stream of this answer was dropped, so the request was abandoned; \
                 keep the stream until its last event to get the answer",
            ),
        )));
    }
    *sent |= !text.is_empty();
    Ok(())
}

impl Server {
    /// [`Backend::generate`], streamed to `deltas` where given: the request
    /// constrained as the endpoint allows, the answer checked against the
    /// schema.
    async fn complete(
        &self,
        request: Request,
        deltas: Option<&Deltas>,
    ) -> Result<Completion, Error> {
        let agent = request.agent;
        let schema = request.schema.grammar().clone();
        let grammar = match self.inner.config.constraint {
            Constraint::Auto => {
                Some(
                    gbnf::grammar(&schema).map_err(|e| Error::UnsupportedSchema {
                        agent: agent.to_string(),
                        location: e.location,
                        reason: e.reason,
                    })?,
                )
            }
            Constraint::JsonSchema => None,
        };
        let (endpoint, _, answer) = self
            .post(&request, deltas, |caps| {
                let constraint = match (&grammar, caps.llama_cpp) {
                    (Some(g), true) => wire::Constrain::Grammar(g),
                    _ => wire::Constrain::JsonSchema(&schema),
                };
                Ok(Some(wire::chat(&request, caps.llama_cpp, constraint)))
            })
            .await
            .map_err(|e| with_agent(e, agent))?;
        if answer.truncated {
            return Err(Error::Truncated {
                agent: agent.to_string(),
                max_tokens: request.sampling.max_tokens,
                partial: answer.text,
            });
        }
        let mut completion = Completion::new(answer.text.clone())
            .with_tokens(
                answer.prompt_tokens,
                answer.cached_tokens,
                answer.generated_tokens,
            )
            .with_times(answer.prompt_time, answer.generate_time);
        if let Some(problem) = self
            .inner
            .validators
            .violation(agent, &schema, &answer.text)?
        {
            self.inner.violations.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(endpoint = %endpoint.url, %problem, "the server did not constrain its output");
            completion = completion.with_violation(format!(
                "the server at {} (model `{}`) did not constrain its output to the schema: {problem}",
                endpoint.url, endpoint.model
            ));
        }
        Ok(completion)
    }
}

#[async_trait::async_trait]
impl Backend for Server {
    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        self.complete(request, None).await
    }

    /// The same request with `stream: true`: the text of each server-sent
    /// event goes to `deltas` as it arrives; the answer is checked as
    /// [`generate`](Backend::generate) checks it. An endpoint that fails
    /// after some text was sent is followed by a [`Restart::Backend`] and the
    /// next endpoint's answer; one that fails before any is left silently.
    async fn generate_streaming(
        &self,
        request: Request,
        deltas: Deltas,
    ) -> Result<Completion, Error> {
        self.complete(request, Some(&deltas)).await
    }

    async fn choose(&self, request: Request, choices: Vec<Choice>) -> Result<Vec<Vec<f64>>, Error> {
        let agent = request.agent;
        let mut text = String::new();
        let mut scores = Vec::with_capacity(choices.len());
        for choice in &choices {
            let prefix = format!("{text}{}", choice.lead);
            // One option after another, not side by side: each request
            // then finds the prompt cached in the slot the previous one left
            // it in, where side by side every slot evaluates it again.
            let mut option_scores = Vec::with_capacity(choice.options.len());
            for option in &choice.options {
                let score = self.score(&request, &prefix, option).await;
                option_scores.push(score.map_err(|e| with_agent(e, agent))?);
            }
            let best = crate::likeliest(&option_scores);
            text = format!(
                "{prefix}{}",
                choice.options.get(best).map_or("", String::as_str)
            );
            scores.push(option_scores);
        }
        Ok(scores)
    }

    async fn check(&self, request: &Request) -> Result<(), Error> {
        let agent = request.agent;
        let endpoints = served(request)?;
        let schema = request.schema.grammar().clone();
        if self.inner.config.constraint == Constraint::Auto {
            gbnf::grammar(&schema).map_err(|e| Error::UnsupportedSchema {
                agent: agent.to_string(),
                location: e.location,
                reason: e.reason,
            })?;
        }
        self.inner.validators.validator(agent, &schema)?;
        let mut up = 0;
        let mut problems = Vec::new();
        for endpoint in endpoints {
            match self.get(endpoint, "/v1/models").await {
                Ok(list) => {
                    let names = wire::model_names(&list);
                    let serves = names.iter().any(|n| {
                        *n == endpoint.model || n.strip_suffix(":latest") == Some(&endpoint.model)
                    });
                    if !serves {
                        return Err(Error::Backend {
                            agent: agent.to_string(),
                            error: BackendError::configuration(format!(
                                "the server at {} does not serve model `{}` (it serves: {}); fix \
                                 `model` of that endpoint of `{}` in agentkit.toml",
                                endpoint.url,
                                endpoint.model,
                                if names.is_empty() {
                                    "nothing it lists".to_string()
                                } else {
                                    names.join(", ")
                                },
                                request.model.alias
                            )),
                        });
                    }
                    let state = self.state(endpoint);
                    if let Err(e) = self.caps(endpoint, &state).await {
                        problems.push(format!("{}: {e}", endpoint.url));
                    } else {
                        up += 1;
                    }
                }
                Err(e) => problems.push(format!("{}: {e}", endpoint.url)),
            }
        }
        if up == 0 {
            return Err(Error::Backend {
                agent: agent.to_string(),
                error: BackendError::new(format!(
                    "no endpoint of model `{}` answers: {}; start the server or fix its url in \
                     agentkit.toml",
                    request.model.alias,
                    problems.join("; ")
                )),
            });
        }
        for p in &problems {
            tracing::warn!(model = %request.model.alias, problem = %p, "an endpoint is down at pre-flight");
        }
        Ok(())
    }

    async fn check_scored(&self, request: &Request) -> Result<(), Error> {
        let endpoints = served(request)?;
        for endpoint in endpoints {
            let state = self.state(endpoint);
            if let Ok(Caps { llama_cpp: true }) = self.caps(endpoint, &state).await {
                return Ok(());
            }
        }
        Err(unscorable(request, endpoints))
    }
}

/// `e` with the agent's name where the attempt could not know it.
fn with_agent(e: Error, agent: &str) -> Error {
    match e {
        Error::Backend { agent: a, error } if a.is_empty() => Error::backend(agent, error),
        other => other,
    }
}
