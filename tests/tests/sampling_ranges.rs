//! Sampling settings set by hand are held to the ranges `#[agent]` holds its
//! keys to: one table (`agentkit_manifest::settings`) for both, so
//! `Sampling::DEFAULT.with_temperature(7.0)` is refused by pre-flight, in the
//! words the macro uses for `temperature = 7.0`, before anything is generated.

mod common;

use agentkit::prelude::*;
use agentkit::{ErrorKind, Problem, Repetition, Sampling};
use agentkit_test::ScriptedBackend;
use common::{runtime_for, thread, Thread, Verdict};
use serde_json::json;

/// An agent written by hand with the sampling settings `SAMPLING`.
struct Hand<const SAMPLING: u8>;

/// The settings each `Hand` runs with.
const fn sampling(which: u8) -> Sampling {
    match which {
        0 => Sampling::DEFAULT.with_temperature(7.0),
        1 => Sampling::DEFAULT.with_repetition(Repetition::DEFAULT.with_window(0)),
        _ => Sampling::DEFAULT.with_temperature(2.0).with_top_p(1.0),
    }
}

/// Too hot.
type Hot = Hand<0>;
const HOT: Hot = Hand;
/// A repetition window of no tokens.
const BLIND: Hand<1> = Hand;
/// At the edges of every range, which are allowed.
type Edge = Hand<2>;
const EDGE: Edge = Hand;

impl<const S: u8> Agent for Hand<S> {
    type Input = Thread;
    type Output = Verdict;
    const NAME: &'static str = "Hand";
    const MODEL: &'static str = "smollm2-135m";
    const INSTRUCTIONS: &'static str = "Decide whether the thread is about running models locally.";
    const SAMPLING: Sampling = sampling(S);
}

impl<const S: u8> Yields for Hand<S> {
    type Output = Verdict;
}

impl<const S: u8> Step<Thread> for Hand<S> {
    fn run(
        &self,
        runtime: &Runtime,
        input: Thread,
    ) -> impl std::future::Future<Output = Result<Verdict, Error>> + Send {
        runtime.run_agent(self, input)
    }

    async fn check(&self, runtime: &Runtime) -> Vec<Problem> {
        runtime.check_agent(self).await
    }
}

fn verdict() -> serde_json::Value {
    json!({ "relevant": true, "reason": "llama.cpp on a Pi" })
}

#[tokio::test]
async fn a_temperature_of_7_set_by_hand_is_refused_by_preflight() {
    let script = ScriptedBackend::new().reply::<Hot>(verdict());
    let runtime = runtime_for(&script);

    let err = runtime.check(&HOT).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    let Error::Preflight { report } = &err else {
        panic!("expected Preflight, got {err:?}");
    };
    assert_eq!(report.problems.len(), 1, "{report}");
    assert_eq!(report.problems[0].step, "Hand");
    // The macro's words for `#[agent(temperature = 7.0)]`.
    assert_eq!(
        report.problems[0].message,
        "`temperature` must be between 0.0 and 2.0, got 7.0"
    );

    // Running it is refused the same way, and the model is never asked.
    let ran = HOT.run(&runtime, thread()).await.unwrap_err();
    assert_eq!(ran.kind(), ErrorKind::Configuration);
    assert_eq!(ran.to_string(), err.to_string());
    assert!(script.calls().is_empty(), "the backend was never asked");
}

#[tokio::test]
async fn a_repetition_window_of_no_tokens_is_refused_too() {
    let script = ScriptedBackend::new();
    let runtime = runtime_for(&script);

    let err = runtime.check(&BLIND).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration, "{err}");
    assert!(
        err.to_string()
            .contains("`repeat_window` must be at least 1 token"),
        "{err}"
    );
}

#[tokio::test]
async fn settings_at_the_edges_of_their_ranges_pass() {
    let script = ScriptedBackend::new().reply::<Edge>(verdict());
    let runtime = runtime_for(&script);

    runtime.check(&EDGE).await.expect("in range");
    let verdict = EDGE.run(&runtime, thread()).await.expect("runs");
    assert!(verdict.relevant);
}
