//! Scored choices on the batching engine (fixture model): beside generations
//! and beside each other, they score as they do alone.

mod common;

use agentkit::backend::{Backend, Choice};
use agentkit_backends::llama::{Llama, LlamaConfig};
use common::mixed::mixed;
use futures_util::future::join_all;

fn backend(config: LlamaConfig) -> Llama {
    Llama::new(config.threads(1)).unwrap()
}

/// Two choices: a boolean, and a colour whose options take one, several or
/// no tokens after the quote.
fn choices() -> Vec<Choice> {
    vec![
        Choice {
            lead: "{\"ok\":".into(),
            options: vec!["true".into(), "false".into()],
        },
        Choice {
            lead: ",\"colour\":".into(),
            options: vec!["\"red\"".into(), "\"dark green\"".into(), "\"\"".into()],
        },
    ]
}

#[tokio::test]
async fn scored_choices_ride_in_the_same_batches_with_the_same_scores() {
    let choices = choices();
    let request = mixed(0);
    let alone = backend(LlamaConfig::default().batching(false))
        .choose(request.clone(), choices.clone())
        .await
        .unwrap();
    let llama = backend(LlamaConfig::default().parallel(4));
    let generations = join_all((1..4).map(|i| llama.generate(mixed(i))));
    let (scores, texts) = tokio::join!(llama.choose(request, choices), generations);
    let scores = scores.unwrap();
    assert!(texts.iter().all(Result::is_ok));
    assert_eq!(scores.len(), 2);
    for (a, b) in alone.iter().flatten().zip(scores.iter().flatten()) {
        assert!((a - b).abs() < 1e-3, "{alone:?} vs {scores:?}");
    }
}

// Scoring feeds of one length from several sequences share passes (other
// matrix shapes than alone): the log probabilities differ from the same
// calls one at a time on an engine of their own in the last digits only (up
// to 2.3e-6 here).
#[tokio::test]
async fn concurrent_scored_choices_share_passes_and_score_as_they_do_alone() {
    let choices = choices();
    let requests: Vec<_> = (0..6).map(mixed).collect();
    let one_at_a_time = backend(LlamaConfig::default().parallel(6));
    let mut alone = Vec::new();
    for r in &requests {
        alone.push(
            one_at_a_time
                .choose(r.clone(), choices.clone())
                .await
                .unwrap(),
        );
    }
    let engine = backend(LlamaConfig::default().parallel(6));
    let together = join_all(
        requests
            .iter()
            .map(|r| engine.choose(r.clone(), choices.clone())),
    )
    .await;
    for (a, t) in alone.iter().zip(together) {
        let t = t.unwrap();
        assert_eq!(a.len(), t.len());
        for (x, y) in a.iter().flatten().zip(t.iter().flatten()) {
            assert!((x - y).abs() < 1e-4, "{a:?} vs {t:?}");
        }
    }
}
