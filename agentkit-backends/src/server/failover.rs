//! The failover policy: after each attempt on an endpoint, take the answer,
//! stop, or move on to the next endpoint (marking this one down), and say
//! when text already streamed is to be dropped; when the rounds run out, the
//! error that lists what went wrong where.
//!
//! Only the decision lives here, as tower's retry `Policy` does apart from
//! `Retry`: [`Server::failover`](super::Server) runs the loop, and
//! `attempt.rs` makes one attempt. So every case is tested without a network.

use agentkit::backend::{BackendError, ModelSpec, Restart};
use agentkit::Error;

use super::errors::{self, excerpt, Failure, Problem};

/// What came of one attempt on one endpoint.
#[derive(Debug)]
pub(super) enum Outcome<T> {
    /// It answered.
    Answered(T),
    /// It cannot serve this request (scored choices on a server without
    /// token log-probabilities), so nothing was sent to it.
    Unable,
    /// It failed; `sent` says whether some of its answer was already
    /// streamed to the caller.
    Failed {
        /// How it failed.
        failure: Failure,
        /// Whether text of its answer went out before it failed.
        sent: bool,
    },
}

/// What to do after an attempt.
#[derive(Debug)]
pub(super) enum Decision<T> {
    /// Take this answer.
    Answer(T),
    /// Stop with this error: no other endpoint would do better.
    Stop(Error),
    /// Try the next endpoint. With `down`, the one just tried failed: try
    /// it only after the others for a while.
    Next {
        /// Whether to mark the endpoint just tried as down.
        down: bool,
    },
}

/// The failover state of one request: rounds begun, what each failed
/// attempt said, and a restart owed to the stream.
#[derive(Debug)]
pub(super) struct Failover {
    agent: &'static str,
    rounds: u32,
    endpoints: usize,
    /// Rounds begun so far.
    round: u32,
    /// Endpoints in the current round that could not serve the request.
    unable: usize,
    problems: Vec<Problem>,
    restart: Option<Restart>,
}

impl Failover {
    /// A request of `agent` to a model with `endpoints` endpoints, tried
    /// over `rounds` rounds (at least one).
    pub fn new(agent: &'static str, rounds: u32, endpoints: usize) -> Failover {
        Failover {
            agent,
            rounds: rounds.max(1),
            endpoints,
            round: 0,
            unable: 0,
            problems: Vec::new(),
            restart: None,
        }
    }

    /// The round to run next (from 0), or `None` when the rounds ran out or
    /// no endpoint could serve the request in the last one (another round
    /// would find them no more able).
    pub fn next_round(&mut self) -> Option<u32> {
        let none_able = self.round > 0 && self.unable == self.endpoints;
        if none_able || self.round >= self.rounds {
            return None;
        }
        self.unable = 0;
        self.round += 1;
        Some(self.round - 1)
    }

    /// The restart owed to the stream because an endpoint failed after
    /// sending text: taken by the next attempt just before it sends any,
    /// so an endpoint that fails before sending leaves it owed.
    pub fn restart_due(&mut self) -> &mut Option<Restart> {
        &mut self.restart
    }

    /// What to do after an attempt on the endpoint at `url` came to `outcome`.
    pub fn decide<T>(&mut self, url: &str, outcome: Outcome<T>) -> Decision<T> {
        match outcome {
            Outcome::Answered(answer) => Decision::Answer(answer),
            Outcome::Unable => {
                self.unable += 1;
                Decision::Next { down: false }
            }
            Outcome::Failed {
                failure: Failure::Stop(e),
                ..
            } => Decision::Stop(e),
            Outcome::Failed {
                failure: Failure::Refused(status, text),
                ..
            } => Decision::Stop(Error::Backend {
                agent: self.agent.to_string(),
                error: BackendError::new(format!(
                    "{url} refused the request with HTTP {status}: {}",
                    excerpt(&text)
                )),
            }),
            Outcome::Failed {
                failure: Failure::Move(problem),
                sent,
            } => {
                if sent {
                    self.restart = Some(Restart::Backend {
                        reason: format!(
                            "{url} failed mid-answer ({problem}); the answer starts again on \
                             the next endpoint tried"
                        ),
                    });
                }
                self.problems
                    .push(problem.reworded(|text| format!("{url}: {text}")));
                Decision::Next { down: true }
            }
        }
    }

    /// The error when no endpoint of `model` answered: each problem (in
    /// order, repeats in a row once), the last HTTP error kept as the
    /// cause. With no problem at all, no endpoint could serve the request.
    pub fn give_up(self, model: &ModelSpec) -> Error {
        if self.problems.is_empty() {
            return errors::unscorable(self.agent, model);
        }
        let mut problems = self.problems;
        problems.dedup_by(|a, b| a.text() == b.text());
        let said: Vec<&str> = problems.iter().map(Problem::text).collect();
        let mut error = BackendError::new(format!(
            "no endpoint of model `{}` answered ({} tries over {} rounds): {}; check that \
             the servers run and are reachable, or add endpoints",
            model.alias,
            problems.len(),
            self.rounds,
            said.join("; ")
        ));
        // The last attempt's HTTP error is the one to look at first.
        if let Some(cause) = problems.into_iter().rev().find_map(Problem::into_cause) {
            error = error.with_source(cause);
        }
        Error::backend(self.agent, error)
    }
}

#[cfg(test)]
mod tests {
    use agentkit::backend::Endpoint;
    use agentkit::ErrorKind;

    use super::*;

    const CONNECT: &str = "could not connect (connection refused or host unreachable)";

    fn model() -> ModelSpec {
        ModelSpec::served(
            "judge",
            vec![
                Endpoint::new("http://a", "m"),
                Endpoint::new("http://b", "m"),
            ],
        )
    }

    fn moved(text: &str, sent: bool) -> Outcome<()> {
        Outcome::Failed {
            failure: Failure::Move(Problem::new(text)),
            sent,
        }
    }

    #[test]
    fn a_refusal_stops_with_the_servers_words() {
        let mut policy = Failover::new("Judge", 2, 2);
        assert_eq!(policy.next_round(), Some(0));
        let refused = Outcome::<()>::Failed {
            failure: Failure::Refused(
                reqwest::StatusCode::BAD_REQUEST,
                r#"{"error":"bad grammar"}"#.into(),
            ),
            sent: false,
        };
        let Decision::Stop(e) = policy.decide("http://a", refused) else {
            panic!("a refusal is not moved elsewhere");
        };
        assert_eq!(e.kind(), ErrorKind::Backend);
        assert_eq!(
            e.to_string(),
            "backend error in agent `Judge`: http://a refused the request with HTTP 400 \
             Bad Request: {\"error\":\"bad grammar\"}"
        );
    }

    #[test]
    fn a_long_refusal_is_cut_to_its_start() {
        let mut policy = Failover::new("Judge", 1, 1);
        let body = "x".repeat(1000);
        let refused = Outcome::<()>::Failed {
            failure: Failure::Refused(reqwest::StatusCode::NOT_FOUND, body),
            sent: false,
        };
        let Decision::Stop(e) = policy.decide("http://a", refused) else {
            panic!("a refusal stops");
        };
        assert!(e.to_string().ends_with(&format!("{}...", "x".repeat(300))));
    }

    #[test]
    fn a_stop_is_passed_on_as_it_is() {
        let mut policy = Failover::new("Judge", 2, 2);
        let stop = Outcome::<()>::Failed {
            failure: errors::stop(BackendError::configuration("no key")),
            sent: true,
        };
        let Decision::Stop(e) = policy.decide("http://a", stop) else {
            panic!("a stop stops");
        };
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(policy.restart_due().is_none(), "nothing follows a stop");
    }

    #[test]
    fn a_network_failure_moves_on_and_marks_the_endpoint_down() {
        let mut policy = Failover::new("Judge", 2, 2);
        policy.next_round();
        assert!(matches!(
            policy.decide("http://a", moved(CONNECT, false)),
            Decision::Next { down: true }
        ));
        assert!(policy.restart_due().is_none(), "nothing was sent to drop");
        assert!(matches!(
            policy.decide("http://b", Outcome::Answered("ok")),
            Decision::Answer("ok")
        ));
    }

    #[test]
    fn a_failure_after_text_was_sent_owes_a_restart_before_the_next_endpoint() {
        let mut policy = Failover::new("Judge", 2, 2);
        policy.next_round();
        let died = moved("the event stream ended before the answer did", true);
        assert!(matches!(
            policy.decide("http://a", died),
            Decision::Next { down: true }
        ));
        assert_eq!(
            policy.restart_due().take(),
            Some(Restart::Backend {
                reason: "http://a failed mid-answer (the event stream ended before the answer \
                         did); the answer starts again on the next endpoint tried"
                    .into()
            })
        );
        assert_eq!(policy.restart_due().take(), None, "owed once");
    }

    #[test]
    fn when_every_endpoint_fails_every_round_the_error_lists_each_problem() {
        let mut policy = Failover::new("Judge", 2, 2);
        let mut rounds = Vec::new();
        while let Some(round) = policy.next_round() {
            rounds.push(round);
            policy.decide(
                "http://a",
                moved("HTTP 503 Service Unavailable: overloaded", false),
            );
            policy.decide("http://b", moved(CONNECT, false));
        }
        assert_eq!(rounds, [0, 1], "the rounds run out");
        let e = policy.give_up(&model());
        assert_eq!(e.kind(), ErrorKind::Backend);
        assert_eq!(
            e.to_string(),
            format!(
                "backend error in agent `Judge`: no endpoint of model `judge` answered (4 tries \
                 over 2 rounds): http://a: HTTP 503 Service Unavailable: overloaded; http://b: \
                 {CONNECT}; http://a: HTTP 503 Service Unavailable: overloaded; http://b: \
                 {CONNECT}; check that the servers run and are reachable, or add endpoints"
            )
        );
    }

    #[test]
    fn a_problem_repeated_in_a_row_is_listed_once() {
        let mut policy = Failover::new("Judge", 3, 1);
        while policy.next_round().is_some() {
            policy.decide("http://a", moved("timed out", false));
        }
        let text = policy.give_up(&model()).to_string();
        assert!(
            text.contains("(1 tries over 3 rounds): http://a: timed out; check"),
            "{text}"
        );
    }

    #[test]
    fn endpoints_unable_to_serve_are_not_marked_down_and_if_none_is_able_the_error_says_so() {
        let mut policy = Failover::new("Judge", 3, 2);
        assert_eq!(policy.next_round(), Some(0));
        for url in ["http://a", "http://b"] {
            assert!(matches!(
                policy.decide::<()>(url, Outcome::Unable),
                Decision::Next { down: false }
            ));
        }
        assert_eq!(policy.next_round(), None, "another round would not help");
        let text = policy.give_up(&model()).to_string();
        assert!(
            text.contains(
                "scored choices need a backend with token log-probabilities under a grammar, \
                 and no endpoint of model `judge` (http://a, http://b) offers them"
            ),
            "{text}"
        );
    }

    #[test]
    fn one_endpoint_able_keeps_the_rounds_going() {
        let mut policy = Failover::new("Judge", 2, 2);
        let mut rounds = 0;
        while policy.next_round().is_some() {
            rounds += 1;
            policy.decide::<()>("http://a", Outcome::Unable);
            policy.decide("http://b", moved(CONNECT, false));
        }
        assert_eq!(rounds, 2);
        let text = policy.give_up(&model()).to_string();
        assert!(
            text.contains("(1 tries over 2 rounds): http://b: could not"),
            "{text}"
        );
    }
}
