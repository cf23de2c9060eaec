//! Continuous batching on the fixture model: concurrent requests share one
//! context and one batch per step, and each still gets exactly the output it
//! would get alone.

mod common;

use std::time::{Duration, Instant};

use agentkit::backend::{Backend, Completion, Delta, Deltas};
use agentkit::{Error, Sampling};
use agentkit_backends::llama::{Llama, LlamaConfig};
use common::fixture_request;
use common::mixed::mixed;
use futures_util::future::join_all;
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Essay {
    #[schemars(length(min = 300, max = 320))]
    text: String,
}

fn backend(config: LlamaConfig) -> Llama {
    Llama::new(config.threads(1)).unwrap()
}

async fn one_at_a_time(llama: &Llama, requests: &[agentkit::backend::Request]) -> Vec<String> {
    let mut texts = Vec::new();
    for r in requests {
        texts.push(llama.generate(r.clone()).await.unwrap().text);
    }
    texts
}

#[tokio::test]
async fn mixed_agents_and_schemas_in_one_batch_match_their_runs_alone() {
    mixed_batch_matches_runs_alone(LlamaConfig::default().parallel(12)).await;
}

#[tokio::test]
async fn with_a_stream_per_sequence_a_mixed_batch_matches_its_runs_alone() {
    mixed_batch_matches_runs_alone(LlamaConfig::default().parallel(12).unified_kv(false)).await;
}

async fn mixed_batch_matches_runs_alone(config: LlamaConfig) {
    let requests: Vec<_> = (0..12).map(mixed).collect();
    let alone = one_at_a_time(&backend(LlamaConfig::default().batching(false)), &requests).await;
    let batched = backend(config);
    let together: Vec<Completion> = join_all(requests.iter().map(|r| batched.generate(r.clone())))
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    // llama.cpp's kernels may round differently for a batch of many rows, and
    // the random fixture has near-ties everywhere: a rare flip is allowed.
    let same = alone
        .iter()
        .zip(&together)
        .filter(|(a, t)| **a == t.text)
        .count();
    assert!(same >= requests.len() - 2, "{alone:?}\nvs\n{together:?}");
    for (r, c) in requests.iter().zip(&together) {
        let value: serde_json::Value = serde_json::from_str(&c.text).unwrap();
        assert!(jsonschema::is_valid(r.schema.full(), &value), "{}", c.text);
    }
}

#[tokio::test]
async fn more_requests_than_slots_and_cells_all_finish() {
    // Two slots and a cache with room for about two requests: the rest wait.
    let llama = backend(LlamaConfig::default().parallel(2).kv_size(512));
    let requests: Vec<_> = (0..9).map(mixed).collect();
    let alone = one_at_a_time(&backend(LlamaConfig::default().batching(false)), &requests).await;
    let results = join_all(requests.iter().map(|r| llama.generate(r.clone()))).await;
    let texts: Vec<String> = results.into_iter().map(|r| r.unwrap().text).collect();
    let same = alone.iter().zip(&texts).filter(|(a, t)| a == t).count();
    assert!(same >= requests.len() - 2, "{alone:?}\nvs\n{texts:?}");
    for (r, text) in requests.iter().zip(&texts) {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(jsonschema::is_valid(r.schema.full(), &value), "{text}");
    }
    assert_eq!(llama.active_generations(), 0);
}

#[tokio::test]
async fn a_request_larger_than_the_cache_is_an_error_not_a_wait() {
    let llama = backend(LlamaConfig::default().kv_size(64).context_size(64));
    let err = llama.generate(mixed(4)).await.unwrap_err();
    assert!(matches!(err, Error::ContextOverflow { .. }), "{err:?}");
}

/// A long generation (hundreds of tokens) and the time it took alone.
fn essay() -> agentkit::backend::Request {
    let mut r = fixture_request(
        agentkit::output_schema::<Essay>(),
        Sampling::DEFAULT.with_max_tokens(440),
    );
    r.agent = "Essay";
    r
}

/// Loads the model and starts the engine with one short call, so that the
/// next call reaches the engine within a millisecond of being made.
async fn warm(llama: &Llama) {
    llama.generate(mixed(1)).await.unwrap();
}

/// Waits until a request is running on `llama`.
async fn started(llama: &Llama) {
    let since = Instant::now();
    while llama.active_generations() == 0 {
        assert!(since.elapsed() < Duration::from_secs(10), "nothing started");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

// Which request finished first is not read off the clock: both stream into
// one channel, which the engine writes in the order it decodes. When the short
// request runs beside the long one, its text lands between pieces of the
// long one's, and it is done while the long one still runs; when it waits,
// the long text comes whole first. On a loaded
// machine the test's own task may be starved until the long answer is done,
// so an attempt in which the short request came too late is tried again; an
// engine that never lets a request join fails every attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_request_joins_a_running_long_one_and_leaves_first() {
    let llama = backend(LlamaConfig::default().parallel(2));
    warm(&llama).await;
    let mut attempts = Vec::new();
    for _ in 0..4 {
        let (deltas, mut rx) = Deltas::channel();
        let long = tokio::spawn({
            let (llama, deltas) = (llama.clone(), deltas.clone());
            async move { llama.generate_streaming(essay(), deltas).await.unwrap() }
        });
        // Let the long one start decoding.
        started(&llama).await;
        let short = llama.generate_streaming(mixed(3), deltas).await.unwrap();
        let long_still_running = !long.is_finished();
        let long = long.await.unwrap();
        let mut written = String::new();
        while let Some(Delta::Text(text)) = rx.next().await {
            written.push_str(&text);
        }
        // Both complete and in shape. (Whether a token flips against a run
        // alone is a matter of rounding: see the mixed-batch test.)
        let essay: Essay = serde_json::from_str(&long.text).unwrap();
        assert!(essay.text.chars().count() >= 300);
        let value: serde_json::Value = serde_json::from_str(&short.text).unwrap();
        assert!(jsonschema::is_valid(mixed(3).schema.full(), &value));
        assert_eq!(written.len(), long.text.len() + short.text.len());
        let interleaved = written != format!("{}{}", long.text, short.text);
        if interleaved && long_still_running {
            return;
        }
        attempts.push((written, long_still_running));
    }
    panic!("the short request waited for the long one every time: {attempts:?}");
}

// The control for the test above: the same two requests, one slot. Which
// finished first is not read off the clock (a loaded machine may poll the
// long request's task after the short one's end): both stream into one
// channel, which the engine writes in the order it decodes, so with one slot
// the long answer's text comes whole before the short one's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_slot_the_short_request_waits_its_turn() {
    let llama = backend(LlamaConfig::default().parallel(1));
    warm(&llama).await;
    let (deltas, mut rx) = Deltas::channel();
    let long = tokio::spawn({
        let (llama, deltas) = (llama.clone(), deltas.clone());
        async move { llama.generate_streaming(essay(), deltas).await.unwrap() }
    });
    started(&llama).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    let short = llama.generate_streaming(mixed(3), deltas).await.unwrap();
    let long = long.await.unwrap();
    let mut written = String::new();
    while let Some(Delta::Text(text)) = rx.next().await {
        written.push_str(&text);
    }
    assert_eq!(written, format!("{}{}", long.text, short.text));
}

#[tokio::test]
async fn cancelling_one_request_frees_it_and_leaves_the_others_unchanged() {
    let llama = backend(LlamaConfig::default().parallel(4));
    let others: Vec<_> = (0..3).map(mixed).collect();
    let expected = one_at_a_time(&backend(LlamaConfig::default().batching(false)), &others).await;
    let handles: Vec<_> = others
        .iter()
        .map(|r| {
            let llama = llama.clone();
            let r = r.clone();
            tokio::spawn(async move { llama.generate(r).await.unwrap().text })
        })
        .collect();
    // The essay is dropped while it runs beside them.
    let cut = tokio::time::timeout(Duration::from_millis(20), llama.generate(essay())).await;
    assert!(cut.is_err(), "the essay cannot finish in 20 ms");
    let mut texts = Vec::new();
    for h in handles {
        texts.push(h.await.unwrap());
    }
    // The others complete, in shape, as they would alone (up to a rare
    // rounding flip: see the mixed-batch test).
    let same = texts.iter().zip(&expected).filter(|(a, b)| a == b).count();
    assert!(same >= 2, "{texts:?} vs {expected:?}");
    for (r, text) in others.iter().zip(&texts) {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(jsonschema::is_valid(r.schema.full(), &value), "{text}");
    }
    let dropped = Instant::now();
    while llama.active_generations() > 0 {
        assert!(dropped.elapsed() < Duration::from_secs(2), "still running");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Its cells are free: a full-size request runs at once.
    let c = llama.generate(essay()).await.unwrap();
    assert!(c.text.len() >= 300);
}

#[tokio::test]
async fn concurrent_calls_share_the_prompt_prefix_evaluated_once() {
    let llama = backend(LlamaConfig::default().parallel(4));
    // Same system prompt, different inputs, submitted together on a cold engine.
    let requests: Vec<_> = (0..4)
        .map(|i| {
            let mut r = mixed(2);
            r.prompt.messages[0].content = "Answer with JSON about the question. ".repeat(8);
            r.prompt.messages[1].content = format!("{{\"question\": \"number {i}\"}}");
            r
        })
        .collect();
    let done: Vec<Completion> = join_all(requests.iter().map(|r| llama.generate(r.clone())))
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let cold = done.iter().filter(|c| c.cached_prompt_tokens == 0).count();
    assert_eq!(
        cold, 1,
        "only the first to arrive evaluates the shared prefix"
    );
    for c in done.iter().filter(|c| c.cached_prompt_tokens > 0) {
        assert!(
            c.cached_prompt_tokens > c.prompt_tokens * 3 / 4,
            "{} of {} prompt tokens reused",
            c.cached_prompt_tokens,
            c.prompt_tokens
        );
    }
}

/// Requests with one long shared system prompt and inputs of their own,
/// greedy, so a copied prefix that lost or garbled a cell shows in the output.
fn shared_prefix(i: usize) -> agentkit::backend::Request {
    let mut r = mixed(0);
    r.prompt.messages[0].content = "Answer with JSON about the question. ".repeat(8);
    r.prompt.messages[1].content = format!("{{\"question\": \"number {i}\"}}");
    r
}

#[tokio::test]
async fn with_a_stream_per_sequence_prefixes_are_copied_whole_and_trimmed() {
    let requests: Vec<_> = (0..6).map(shared_prefix).collect();
    let alone = one_at_a_time(&backend(LlamaConfig::default().batching(false)), &requests).await;
    // Concurrently: the first to arrive evaluates the prefix, the others wait
    // for it and copy its stream; two slots, so later ones take over cached
    // slots or copy from them.
    let llama = backend(LlamaConfig::default().parallel(2).unified_kv(false));
    let together: Vec<Completion> = join_all(requests.iter().map(|r| llama.generate(r.clone())))
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let reused = together
        .iter()
        .filter(|c| c.cached_prompt_tokens > c.prompt_tokens / 2)
        .count();
    assert!(reused >= 4, "{together:?}");
    let texts: Vec<String> = together.into_iter().map(|c| c.text).collect();
    let same = alone.iter().zip(&texts).filter(|(a, t)| a == t).count();
    assert!(same >= requests.len() - 1, "{alone:?}\nvs\n{texts:?}");
    // One after the other: each copies a finished sequence's stream.
    let llama = backend(LlamaConfig::default().parallel(4).unified_kv(false));
    let mut texts = Vec::new();
    for r in &requests {
        let c = llama.generate(r.clone()).await.unwrap();
        if !texts.is_empty() {
            assert!(c.cached_prompt_tokens > c.prompt_tokens / 2, "{c:?}");
        }
        texts.push(c.text);
    }
    assert_eq!(alone, texts);
}

#[tokio::test]
async fn with_a_stream_per_sequence_a_request_larger_than_one_stream_is_an_error() {
    // 2048 cells over 8 sequences: streams of 256, too small for the essay.
    let llama = backend(
        LlamaConfig::default()
            .parallel(8)
            .kv_size(2048)
            .unified_kv(false),
    );
    let err = llama.generate(essay()).await.unwrap_err();
    let Error::Backend { error, .. } = &err else {
        panic!("{err:?}");
    };
    let reason = error.message();
    assert!(
        reason.contains("kv_size") && reason.contains("parallel"),
        "{reason}"
    );
    // The engine goes on serving what fits.
    llama.generate(mixed(1)).await.unwrap();
}

#[tokio::test]
async fn with_a_stream_per_sequence_and_no_flash_attention_a_batch_matches_exactly() {
    // Attention as plain matrix products over a sequence's own stream sums
    // the same numbers in the same order as in a context of its own.
    let requests: Vec<_> = (0..12).map(mixed).collect();
    let alone = one_at_a_time(
        &backend(
            LlamaConfig::default()
                .batching(false)
                .flash_attention(false),
        ),
        &requests,
    )
    .await;
    let batched = backend(
        LlamaConfig::default()
            .parallel(12)
            .unified_kv(false)
            .flash_attention(false),
    );
    let together: Vec<String> = join_all(requests.iter().map(|r| batched.generate(r.clone())))
        .await
        .into_iter()
        .map(|c| c.unwrap().text)
        .collect();
    assert_eq!(alone, together);
}
