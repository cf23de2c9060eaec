//! Pre-flight: before anything is generated, every step of a pipeline is
//! checked (a backend, each agent's model) and every problem is reported at
//! once, for a bare agent as for a chain; `Runtime::check` does the same
//! without running.

mod common;

use agentkit::prelude::*;
use agentkit_test::ScriptedBackend;
use common::{
    numbers, runtime_for, thread, Headline, Score, Summarise, Summary, Tag, Tags, Thread, Title,
    Verdict,
};
use serde_json::json;

/// Runs on a model nobody registered.
#[agent(model = "qwen2.5-0.5b", input = Thread, output = Verdict)]
struct Elsewhere;

/// Tag the summary with up to three topics.
#[agent(model = "qwen-0.5b", input = Summary, output = Tags)]
struct GhostTag;

/// Write a headline from the tags.
#[agent(model = "phi-mini", input = Tags, output = Headline)]
struct GhostTitle;

#[tokio::test]
async fn an_unregistered_model_names_the_alias_and_the_known_ones() {
    let script = ScriptedBackend::new()
        .reply::<Elsewhere>(json!({ "relevant": true, "reason": "never used" }));
    let runtime = Runtime::builder()
        .backend(script.clone().registered_models_only())
        .model("tiny-test", "/nonexistent/tiny.gguf")
        .model("smollm2-135m", "/nonexistent/smollm2.gguf")
        .build();

    let err = Elsewhere.run(&runtime, thread()).await.unwrap_err();
    let message = err.to_string();
    // A bare agent is pre-flighted like one inside a chain: the same error.
    let Error::Preflight { report } = &err else {
        panic!("expected Preflight, got {err:?}");
    };
    assert_eq!(report.problems.len(), 1, "{report}");
    assert_eq!(report.problems[0].step, "Elsewhere");
    let wrapped = Elsewhere
        .map(|v| v)
        .run(&runtime, thread())
        .await
        .unwrap_err();
    assert_eq!(
        wrapped.to_string(),
        message,
        "the same error however wrapped"
    );
    match runtime.resolve("Elsewhere", "qwen2.5-0.5b") {
        Err(Error::UnknownModel {
            agent,
            alias,
            known,
            ..
        }) => {
            assert_eq!(agent, "Elsewhere");
            assert_eq!(alias, "qwen2.5-0.5b");
            assert_eq!(known, "smollm2-135m, tiny-test");
        }
        other => panic!("expected UnknownModel, got {other:?}"),
    }
    for part in ["qwen2.5-0.5b", "smollm2-135m", "tiny-test", "Elsewhere"] {
        assert!(
            message.contains(part),
            "the message names `{part}`: {message}"
        );
    }
    assert!(script.calls().is_empty(), "the backend was never asked");
    assert_eq!(script.pending(), 1);
}

#[tokio::test]
async fn a_runtime_without_a_backend_says_so() {
    let runtime = Runtime::builder().build();
    let err = Score.run(&runtime, thread()).await.unwrap_err();
    match &err {
        Error::Preflight { report } => {
            assert_eq!(report.problems.len(), 1, "{report}");
            assert_eq!(report.problems[0].message, Error::NoBackend.to_string());
        }
        other => panic!("expected Preflight, got {other:?}"),
    }
    assert!(err.to_string().contains("backend"), "{err}");
}

#[tokio::test]
async fn preflight_reports_every_unregistered_model_before_generating() {
    let script = ScriptedBackend::new()
        .reply::<Summarise>(json!({ "text": "never used" }))
        .reply::<GhostTag>(json!({ "tags": ["never"] }))
        .reply::<GhostTitle>(json!({ "headline": "never" }));
    let script = script.registered_models_only();
    let runtime = Runtime::builder()
        .backend(script.clone())
        .model("smollm2-135m", "/nonexistent/smollm2.gguf")
        .build();
    let pipeline = Summarise.then(GhostTag).then(GhostTitle);

    let err = runtime.check(&pipeline).await.unwrap_err();
    let Error::Preflight { report } = &err else {
        panic!("expected Preflight, got {err:?}");
    };
    let steps: Vec<&str> = report.problems.iter().map(|p| p.step.as_str()).collect();
    assert_eq!(
        steps,
        ["GhostTag", "GhostTitle"],
        "both problems, in chain order"
    );
    assert!(
        report.problems[0].message.contains("`qwen-0.5b`"),
        "{report}"
    );
    assert!(
        report.problems[1].message.contains("`phi-mini`"),
        "{report}"
    );
    let message = err.to_string();
    for part in ["GhostTag", "qwen-0.5b", "GhostTitle", "phi-mini"] {
        assert!(message.contains(part), "names `{part}`: {message}");
    }

    // Running it fails the same way, and nothing was generated -- not even
    // the first step, whose model is fine.
    let run_err = pipeline.run(&runtime, thread()).await.unwrap_err();
    match run_err {
        Error::Preflight { report: run_report } => assert_eq!(&run_report, report),
        other => panic!("expected Preflight, got {other:?}"),
    }
    assert!(script.calls().is_empty(), "{:?}", script.calls());
    assert_eq!(script.pending(), 3);
    assert_eq!(runtime.usage().calls, 0);

    // Registering the models fixes it (the failed check is not cached).
    let fixed = Runtime::builder()
        .backend(script.clone())
        .model("smollm2-135m", "/nonexistent/smollm2.gguf")
        .model("qwen-0.5b", "/nonexistent/qwen.gguf")
        .model("phi-mini", "/nonexistent/phi.gguf")
        .build();
    fixed.check(&pipeline).await.expect("all models resolve");
    let headline = pipeline.run(&fixed, thread()).await.unwrap();
    assert_eq!(headline.headline, "never");
}

#[tokio::test]
async fn preflight_reports_a_missing_backend_for_every_step() {
    let runtime = Runtime::builder().build();
    let pipeline = Summarise.then(Tag).then(Title);

    let err = runtime.check(&pipeline).await.unwrap_err();
    let Error::Preflight { report } = &err else {
        panic!("expected Preflight, got {err:?}");
    };
    let steps: Vec<&str> = report.problems.iter().map(|p| p.step.as_str()).collect();
    assert_eq!(steps, ["Summarise", "Tag", "Title"]);
    assert!(report
        .problems
        .iter()
        .all(|p| p.message == Error::NoBackend.to_string()));

    let run_err = pipeline.run(&runtime, thread()).await.unwrap_err();
    assert!(
        matches!(&run_err, Error::Preflight { report: r } if r == report),
        "{run_err:?}"
    );
}

#[tokio::test]
async fn preflight_of_a_sound_chain_passes_and_tools_have_nothing_to_check() {
    let runtime = runtime_for(&ScriptedBackend::new());
    runtime
        .check(&Summarise.then(Tag).then(Title))
        .await
        .unwrap();
    runtime.check(&numbers().each(numbers())).await.unwrap();
    runtime
        .check(&both(Score, Summarise).map(|(v, _): (Verdict, Summary)| v))
        .await
        .unwrap();
}
