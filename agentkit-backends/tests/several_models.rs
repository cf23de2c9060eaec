//! Several models in one process: each loaded once, a memory cap after which
//! idle models are unloaded (never a busy one), on fixture models.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use agentkit::backend::{Backend, Deltas, ModelSource, Request};
use agentkit::Sampling;
use agentkit_backends::llama::{Llama, LlamaConfig};
use agentkit_test::fixture;
use common::{fixture_request, scratch_dir};
use futures_util::StreamExt;

/// A fixture model of its own (its own file), written once.
fn model(name: &str, seed: u64) -> PathBuf {
    let path = scratch_dir().join(format!("{name}.gguf"));
    if !path.is_file() {
        fixture::write_fixture_model(&path, seed).unwrap();
    }
    path
}

/// A call on the model at `path`: a short answer (a boolean), or with
/// `long`, a string of at least 380 characters (about as many tokens).
fn request(path: &Path, long: bool) -> Request {
    let (field, max_tokens) = if long {
        (
            serde_json::json!({"type": "string", "minLength": 380, "maxLength": 400}),
            440,
        )
    } else {
        (serde_json::json!({"type": "boolean"}), 40)
    };
    let mut request = fixture_request(
        serde_json::json!({"type": "object", "properties": {"answer": field}, "required": ["answer"], "additionalProperties": false}),
        Sampling::DEFAULT
            .with_max_tokens(max_tokens)
            .with_temperature(1.0),
    );
    request.model.alias = path.file_stem().unwrap().to_string_lossy().into_owned();
    request.model.source = ModelSource::File(path.to_path_buf());
    request
}

/// Bytes one fixture model takes, as the cap counts them.
async fn footprint(path: &Path) -> u64 {
    let probe = common::llama().clone();
    let spec = request(path, false).model;
    let report = probe.report(&spec).await.unwrap().unwrap();
    report.weights_bytes.unwrap() + report.kv_cache_bytes.unwrap()
}

fn capped(bytes: u64) -> Llama {
    Llama::new(LlamaConfig::default().threads(1).memory_limit(bytes)).unwrap()
}

#[tokio::test]
async fn an_idle_model_is_unloaded_under_the_cap_and_loads_again_when_called() {
    let (a, b) = (model("cap-a", 11), model("cap-b", 12));
    let llama = capped(footprint(&a).await * 3 / 2);
    llama.generate(request(&a, false)).await.unwrap();
    assert_eq!(llama.loaded_models(), vec![a.clone()]);
    llama.generate(request(&b, false)).await.unwrap();
    assert_eq!(llama.loaded_models(), vec![b.clone()]);
    assert_eq!(llama.unload_count(), 1);
    llama.generate(request(&a, false)).await.unwrap();
    assert_eq!(llama.loaded_models(), vec![a.clone()]);
    assert_eq!((llama.load_count(), llama.unload_count()), (3, 2));
    // Without a cap both stay.
    let free = Llama::new(LlamaConfig::default().threads(1)).unwrap();
    free.generate(request(&a, false)).await.unwrap();
    free.generate(request(&b, false)).await.unwrap();
    assert_eq!(free.loaded_models().len(), 2);
}

#[tokio::test]
async fn a_model_with_a_request_running_is_never_unloaded_and_its_request_finishes() {
    let (a, b, c) = (
        model("busy-a", 21),
        model("busy-b", 22),
        model("busy-c", 23),
    );
    // One sequence at a time, so all but one of the requests on `a` wait.
    let llama = Llama::new(
        LlamaConfig::default()
            .threads(1)
            .parallel(1)
            .memory_limit(footprint(&a).await * 3 / 2),
    )
    .unwrap();
    // Six long answers on `a`, the first streamed so the test knows it runs.
    let (deltas, mut receiver) = Deltas::channel();
    let first = {
        let llama = llama.clone();
        let request = request(&a, true);
        tokio::spawn(async move { llama.generate_streaming(request, deltas).await })
    };
    if receiver.next().await.is_none() {
        panic!("the long answer did not start: {:?}", first.await);
    }
    // Five more, queued behind it.
    let rest: Vec<_> = (0..5)
        .map(|_| {
            let llama = llama.clone();
            let request = request(&a, true);
            tokio::spawn(async move { llama.generate(request).await })
        })
        .collect();
    while llama.active_generations() < 6 && !first.is_finished() {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let started = Instant::now();
    llama.generate(request(&b, false)).await.unwrap();
    assert!(
        !rest.iter().all(|r| r.is_finished()),
        "the answers on `a` ended before `b` loaded ({:?}); the test needs them longer",
        started.elapsed()
    );
    // Over the cap, but `a` is busy: both stay loaded.
    assert_eq!(llama.loaded_models(), [a.clone(), b.clone()]);
    assert_eq!(llama.unload_count(), 0);
    // No request on `a` is lost, running or waiting.
    let mut answers = vec![first.await.unwrap().unwrap()];
    for r in rest {
        answers.push(r.await.unwrap().unwrap());
    }
    eprintln!(
        "the answers on `a` took {:?} after `b` started loading",
        started.elapsed()
    );
    for answer in answers {
        let value: serde_json::Value = serde_json::from_str(&answer.text).unwrap();
        assert!(value["answer"].is_string(), "{value}");
    }
    // Idle now: the next load unloads it (and `b`, to fit `c`).
    llama.generate(request(&c, false)).await.unwrap();
    assert_eq!(llama.loaded_models(), [c]);
    assert_eq!(llama.unload_count(), 2);
}
