//! The engine's passes over the weights, recorded from its `batch step`
//! trace events, so an example can say where its time went.

use std::sync::{Arc, Mutex};

use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Records the engine's `batch step` events (one per `llama_decode`), so a
/// run can say where its time went.
#[derive(Clone, Default)]
pub struct Steps(Arc<Mutex<Vec<(usize, usize, f64)>>>);

impl Steps {
    /// A recorder installed as the process's tracing subscriber (or an idle
    /// one, when another subscriber was installed first).
    pub fn install() -> Steps {
        let steps = Steps::default();
        let _ = tracing_subscriber::registry()
            .with(steps.clone())
            .try_init();
        steps
    }

    /// Every pass so far: (tokens, sequences, milliseconds in `llama_decode`).
    pub fn taken(&self) -> Vec<(usize, usize, f64)> {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// [`summarize`] of every pass so far.
    pub fn summary(&self) -> String {
        summarize(&self.taken())
    }

    /// Every pass so far, forgotten here: the next call starts afresh.
    pub fn take(&self) -> Vec<(usize, usize, f64)> {
        self.0
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

/// One line about `passes`: how many, and how many tokens and seconds went
/// to passes of one token per sequence (decode steps) and to longer feeds
/// (prompts, scoring, forced runs).
pub fn summarize(passes: &[(usize, usize, f64)]) -> String {
    let (mut feeds, mut feed_tokens, mut feed_ms) = (0, 0, 0.0);
    let (mut steps, mut step_tokens, mut step_ms) = (0, 0, 0.0);
    for &(tokens, sequences, ms) in passes {
        if tokens > sequences {
            (feeds, feed_tokens, feed_ms) = (feeds + 1, feed_tokens + tokens, feed_ms + ms);
        } else {
            (steps, step_tokens, step_ms) = (steps + 1, step_tokens + tokens, step_ms + ms);
        }
    }
    format!(
        "{} passes: {feeds} feeds of {feed_tokens} tokens in {:.2} s, {steps} decode steps of \
         {step_tokens} tokens in {:.2} s",
        feeds + steps,
        feed_ms / 1e3,
        step_ms / 1e3
    )
}

impl<S: tracing::Subscriber> Layer<S> for Steps {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        #[derive(Default)]
        struct Fields(Option<u64>, Option<u64>, Option<f64>);
        impl tracing::field::Visit for Fields {
            fn record_i64(&mut self, f: &tracing::field::Field, v: i64) {
                self.record_u64(f, u64::try_from(v).unwrap_or(0));
            }
            fn record_u64(&mut self, f: &tracing::field::Field, v: u64) {
                match f.name() {
                    "tokens" => self.0 = Some(v),
                    "sequences" => self.1 = Some(v),
                    _ => {}
                }
            }
            fn record_f64(&mut self, f: &tracing::field::Field, v: f64) {
                if f.name() == "decode_ms" {
                    self.2 = Some(v);
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Fields(Some(t), Some(s), Some(ms)) = fields {
            if let Ok(mut steps) = self.0.lock() {
                steps.push((t as usize, s as usize, ms));
            }
        }
    }
}
