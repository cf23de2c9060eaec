//! KV prefix reuse through the public API: a call whose prompt a kept
//! context already holds evaluates only what differs.

mod common;

use agentkit::{Backend, Sampling};
use agentkit_backends::llama::{Llama, LlamaConfig};
use common::fixture_request;

/// A backend of this test's own, so no other test's call takes its warm context.
fn llama(reuse_prefix: bool) -> Llama {
    Llama::new(LlamaConfig::default().threads(1).reuse_prefix(reuse_prefix)).unwrap()
}

#[tokio::test]
async fn a_repeated_prompt_evaluates_only_its_end() {
    repeated_prompt_on(llama(true)).await;
}

#[tokio::test]
async fn without_batching_a_kept_context_serves_the_repeat() {
    repeated_prompt_on(Llama::new(LlamaConfig::default().threads(1).batching(false)).unwrap())
        .await;
}

async fn repeated_prompt_on(llama: Llama) {
    let schema = serde_json::json!({"type": "boolean"});
    let first = llama
        .generate(fixture_request(schema.clone(), Sampling::DEFAULT))
        .await
        .unwrap();
    assert_eq!(first.cached_prompt_tokens, 0, "nothing is warm yet");
    let second = llama
        .generate(fixture_request(schema, Sampling::DEFAULT))
        .await
        .unwrap();
    assert_eq!(second.prompt_tokens, first.prompt_tokens);
    // Its end is evaluated again: the last token's logits are needed, in a
    // piece of eight tokens or more starting at a multiple of eight, which
    // gives the numbers of a cold call (the engine's `MIN_PIECE`, `ALIGN`).
    let p = second.prompt_tokens;
    assert_eq!(second.cached_prompt_tokens, (p - 8) / 8 * 8);
    assert!((8..16).contains(&(p - second.cached_prompt_tokens)));
}

#[tokio::test]
async fn without_prefix_reuse_every_prompt_is_evaluated_in_full() {
    for llama in [
        llama(false),
        Llama::new(
            LlamaConfig::default()
                .threads(1)
                .batching(false)
                .reuse_prefix(false),
        )
        .unwrap(),
    ] {
        for _ in 0..2 {
            let c = llama
                .generate(fixture_request(
                    serde_json::json!({"type": "boolean"}),
                    Sampling::DEFAULT,
                ))
                .await
                .unwrap();
            assert_eq!(c.cached_prompt_tokens, 0);
        }
    }
}
