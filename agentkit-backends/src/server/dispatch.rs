//! A request sent to its model's endpoints in turn until one answers: the
//! failover loop, which orders the endpoints
//! ([`Endpoints`](super::endpoints::Endpoints)), makes attempts
//! ([`Attempt`]) and does what the policy ([`Failover`]) decides.

use agentkit::backend::{Deltas, Endpoint, ModelSpec, Request};
use agentkit::Error;
use serde_json::Value;

use super::attempt::{Attempt, Job};
use super::caps::Caps;
use super::errors;
use super::failover::{Decision, Failover};
use super::relay::Relay;
use super::{wire, Server};

impl Server {
    /// Sends a chat completion built by `body` (given what the endpoint
    /// supports; `None` when it cannot serve this request) to the endpoints
    /// of `request`'s model in turn until one answers. With `deltas`, the
    /// answer is streamed to them; an attempt that fails after sending some
    /// text is followed by a
    /// [`Restart::Backend`](agentkit::backend::Restart::Backend) before the next one.
    pub(super) async fn post(
        &self,
        request: &Request,
        deltas: Option<&Deltas>,
        body: impl Fn(Caps) -> Result<Option<Value>, Error> + Send + Sync,
    ) -> Result<(Endpoint, Caps, wire::Answer), Error> {
        errors::served(request)?;
        let mut job = Job {
            server: self,
            agent: request.agent,
            deltas: deltas.map(|deltas| Relay {
                deltas,
                think: request.sampling.reasoning,
            }),
            body,
        };
        let (endpoint, (caps, answer)) = self
            .failover(request.agent, &request.model, &mut job)
            .await?;
        Ok((endpoint, caps, answer))
    }

    /// The failover loop: each round, the endpoints of `model` in the order
    /// to try them, an `attempt` on each until the policy says to stop; a
    /// pause of `pause` between rounds.
    pub(super) async fn failover<A: Attempt>(
        &self,
        agent: &'static str,
        model: &ModelSpec,
        attempt: &mut A,
    ) -> Result<(Endpoint, A::Answer), Error> {
        let config = &self.inner.config;
        let endpoints = model.endpoints();
        let mut policy = Failover::new(agent, config.rounds, endpoints.len());
        while let Some(round) = policy.next_round() {
            if round > 0 {
                tokio::time::sleep(config.pause).await;
            }
            for (endpoint, state) in self.inner.endpoints.order(endpoints, config.selection) {
                let outcome = attempt
                    .attempt(endpoint, &state, round, policy.restart_due())
                    .await;
                match policy.decide(&endpoint.url, outcome) {
                    Decision::Answer(answer) => {
                        state.mark_up();
                        return Ok((endpoint.clone(), answer));
                    }
                    Decision::Stop(e) => return Err(e),
                    Decision::Next { down: false } => {}
                    Decision::Next { down: true } => {
                        self.inner.stats.moved();
                        state.mark_down(config.down_for);
                    }
                }
            }
        }
        Err(policy.give_up(model))
    }
}

#[cfg(test)]
mod tests {
    //! The failover loop on scripted endpoints: no network, the real loop,
    //! ordering and policy.

    use std::collections::HashMap;
    use std::time::Duration;

    use agentkit::backend::{ModelSpec, Restart};
    use agentkit::ErrorKind;

    use super::super::endpoints::State;
    use super::super::errors::{Failure, Problem};
    use super::super::failover::Outcome;
    use super::super::ServerConfig;
    use super::*;

    /// What a scripted endpoint does with every attempt.
    #[derive(Debug, Clone, Copy)]
    enum Says {
        /// Answers with its URL.
        Answer,
        /// Cannot be reached.
        Down,
        /// Streams some text, then dies.
        DiesMidAnswer,
        /// Refuses the request (HTTP 400).
        Refuses,
        /// Cannot serve this request (cannot score).
        Unable,
    }

    /// Endpoints that each always say the same, and what happened.
    struct Script {
        says: HashMap<String, Says>,
        tried: Vec<String>,
        /// Restarts taken, by the endpoint that took them.
        restarts: Vec<(String, Restart)>,
    }

    impl Attempt for Script {
        type Answer = String;

        async fn attempt(
            &mut self,
            endpoint: &Endpoint,
            _: &State,
            _: u32,
            restart: &mut Option<Restart>,
        ) -> Outcome<String> {
            let url = endpoint.url.clone();
            self.tried.push(url.clone());
            let says = self.says[&url];
            // As a real attempt: the owed restart goes out before any text.
            if matches!(says, Says::Answer | Says::DiesMidAnswer) {
                if let Some(why) = restart.take() {
                    self.restarts.push((url.clone(), why));
                }
            }
            let failed = |failure, sent| Outcome::Failed { failure, sent };
            match says {
                Says::Answer => Outcome::Answered(url),
                Says::Down => failed(Failure::Move(Problem::new("could not connect")), false),
                Says::DiesMidAnswer => failed(Failure::Move(Problem::new("stream ended")), true),
                Says::Refuses => failed(
                    Failure::Refused(reqwest::StatusCode::BAD_REQUEST, "no".into()),
                    false,
                ),
                Says::Unable => Outcome::Unable,
            }
        }
    }

    fn script(says: &[(&str, Says)]) -> Script {
        Script {
            says: says.iter().map(|(u, s)| (u.to_string(), *s)).collect(),
            tried: Vec::new(),
            restarts: Vec::new(),
        }
    }

    fn model(urls: &[&str]) -> ModelSpec {
        ModelSpec::served(
            "judge",
            urls.iter().map(|u| Endpoint::new(*u, "m")).collect(),
        )
    }

    fn server(rounds: u32) -> Server {
        let mut config = ServerConfig::default().rounds(rounds);
        config.pause = Duration::ZERO;
        Server::new(config)
    }

    /// One request: the answering endpoint's URL, and the URLs tried.
    async fn request(
        server: &Server,
        model: &ModelSpec,
        script: &mut Script,
    ) -> (Result<String, Error>, Vec<String>) {
        script.tried.clear();
        let result = server.failover("Judge", model, script).await;
        (result.map(|(_, url)| url), script.tried.clone())
    }

    #[tokio::test]
    async fn a_dead_endpoint_is_marked_down_and_tried_after_the_others_by_later_requests() {
        let server = server(2);
        let model = model(&["http://a", "http://b"]);
        let mut script = script(&[("http://a", Says::Down), ("http://b", Says::Answer)]);
        let (answer, tried) = request(&server, &model, &mut script).await;
        assert_eq!(answer.unwrap(), "http://b");
        assert_eq!(tried, ["http://a", "http://b"]);
        assert_eq!(server.stats().moved, 1);
        // Turn 1 starts at `b`; turn 2 would start at `a`, which is down.
        for _ in 0..2 {
            let (answer, tried) = request(&server, &model, &mut script).await;
            assert_eq!(answer.unwrap(), "http://b");
            assert_eq!(tried, ["http://b"]);
        }
        assert_eq!(server.stats().moved, 1);
    }

    #[tokio::test]
    async fn a_restart_is_owed_from_a_death_mid_answer_until_the_next_endpoint_sends_text() {
        let server = server(1);
        let model = model(&["http://a", "http://b", "http://c"]);
        let mut script = script(&[
            ("http://a", Says::DiesMidAnswer),
            ("http://b", Says::Down),
            ("http://c", Says::Answer),
        ]);
        let (answer, tried) = request(&server, &model, &mut script).await;
        assert_eq!(answer.unwrap(), "http://c");
        assert_eq!(tried, ["http://a", "http://b", "http://c"]);
        let [(taken_by, Restart::Backend { reason })] = &script.restarts[..] else {
            panic!("one restart: {:?}", script.restarts);
        };
        assert_eq!(taken_by, "http://c", "not by `b`, which sent nothing");
        assert_eq!(
            reason,
            "http://a failed mid-answer (stream ended); the answer starts again on the next \
             endpoint tried"
        );
    }

    #[tokio::test]
    async fn when_every_endpoint_stays_down_the_rounds_run_out_and_the_error_lists_each() {
        let server = server(3);
        let model = model(&["http://a", "http://b"]);
        let mut script = script(&[("http://a", Says::Down), ("http://b", Says::Down)]);
        let (answer, tried) = request(&server, &model, &mut script).await;
        // Each round starts one further along; both down, so by turn alone.
        let (a, b) = ("http://a", "http://b");
        assert_eq!(tried, [a, b, b, a, a, b]);
        let e = answer.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Backend);
        // A problem repeated in a row is listed once: `b, b` and `a, a`.
        assert_eq!(
            e.to_string(),
            "backend error in agent `Judge`: no endpoint of model `judge` answered (4 tries over \
             3 rounds): http://a: could not connect; http://b: could not connect; http://a: could \
             not connect; http://b: could not connect; check that the servers run and are \
             reachable, or add endpoints"
        );
        assert_eq!(server.stats().moved, 6);
    }

    #[tokio::test]
    async fn a_refusal_stops_the_request_and_does_not_mark_the_endpoint_down() {
        let server = server(2);
        let model = model(&["http://a", "http://b"]);
        let mut script = script(&[("http://a", Says::Refuses), ("http://b", Says::Answer)]);
        let (answer, tried) = request(&server, &model, &mut script).await;
        let e = answer.unwrap_err();
        assert!(
            e.to_string()
                .contains("http://a refused the request with HTTP 400"),
            "{e}"
        );
        assert_eq!(tried, ["http://a"]);
        let (answer, _) = request(&server, &model, &mut script).await;
        assert_eq!(answer.unwrap(), "http://b", "turn 1 starts at `b`");
        // Turn 2 starts at `a` again: it was not marked down.
        let (_, tried) = request(&server, &model, &mut script).await;
        assert_eq!(tried, ["http://a"]);
        assert_eq!(server.stats().moved, 0);
    }

    #[tokio::test]
    async fn endpoints_that_cannot_serve_end_the_request_after_one_round() {
        let server = server(3);
        let model = model(&["http://a", "http://b"]);
        let mut script = script(&[("http://a", Says::Unable), ("http://b", Says::Unable)]);
        let (answer, tried) = request(&server, &model, &mut script).await;
        assert_eq!(tried, ["http://a", "http://b"]);
        let e = answer.unwrap_err();
        assert!(
            e.to_string().contains("scored choices need a backend"),
            "{e}"
        );
        assert_eq!(server.stats().moved, 0);
    }
}
