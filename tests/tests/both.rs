//! `both`: two steps run at the same time on the same input, yielding the pair.

mod common;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{
    runtime_for, sent_input, slow_tenfold, thread, Probe, Score, Summarise, Summary, Verdict,
};
use serde_json::json;

#[tokio::test]
async fn both_runs_two_steps_on_the_same_input_and_yields_the_pair() {
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": true, "reason": "asks about quantisation" }))
        .reply::<Summarise>(json!({ "text": "How to quantise for a Pi." }));
    let runtime = runtime_for(&script);

    let (verdict, summary) = both(Score, Summarise)
        .run(&runtime, thread())
        .await
        .unwrap();

    assert_eq!(
        verdict,
        Verdict {
            relevant: true,
            reason: "asks about quantisation".into()
        }
    );
    assert_eq!(summary.text, "How to quantise for a Pi.");
    let mut agents: Vec<&str> = script.calls().iter().map(|r| r.agent).collect();
    agents.sort_unstable();
    assert_eq!(agents, ["Score", "Summarise"]);
    for call in script.calls() {
        assert_eq!(sent_input(&call), serde_json::to_value(thread()).unwrap());
    }

    // Both halves chain on: the pair feeds a tool.
    let script = ScriptedBackend::new()
        .reply::<Score>(json!({ "relevant": false, "reason": "off topic" }))
        .reply::<Summarise>(json!({ "text": "Bread." }));
    let runtime = runtime_for(&script);
    let pipeline =
        both(Score, Summarise).then(tool("join", |(v, s): (Verdict, Summary)| async move {
            Ok::<_, Infallible>(format!("{}: {}", v.relevant, s.text))
        }));
    assert_eq!(
        pipeline.run(&runtime, thread()).await.unwrap(),
        "false: Bread."
    );
}

#[tokio::test(start_paused = true)]
async fn both_runs_its_halves_at_the_same_time() {
    let probe = Arc::new(Probe::default());
    let started = tokio::time::Instant::now();
    let (a, b) = both(slow_tenfold(&probe, 5), slow_tenfold(&probe, 5))
        .run(&Runtime::builder().build(), 1)
        .await
        .unwrap();
    assert_eq!((a, b), (10, 10));
    assert_eq!(probe.max(), 2, "the two halves overlapped");
    assert_eq!(started.elapsed(), Duration::from_millis(40));
}
