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
    let fit = match pass_cost(passes) {
        Some((fixed, per_token)) => {
            format!("; a pass costs about {fixed:.1} ms + {per_token:.2} ms a token")
        }
        None => String::new(),
    };
    format!(
        "{} passes: {feeds} feeds of {feed_tokens} tokens in {:.2} s, {steps} decode steps of \
         {step_tokens} tokens in {:.2} s{fit}",
        feeds + steps,
        feed_ms / 1e3,
        step_ms / 1e3
    )
}

/// The least-squares line through `passes`' times against their token
/// counts: (milliseconds a pass costs whatever it holds, milliseconds each
/// token adds). `None` with fewer than two distinct token counts.
pub fn pass_cost(passes: &[(usize, usize, f64)]) -> Option<(f64, f64)> {
    let n = passes.len() as f64;
    let mean_t = passes.iter().map(|p| p.0 as f64).sum::<f64>() / n;
    let mean_ms = passes.iter().map(|p| p.2).sum::<f64>() / n;
    let (mut cov, mut var) = (0.0, 0.0);
    for &(tokens, _, ms) in passes {
        let dt = tokens as f64 - mean_t;
        cov += dt * (ms - mean_ms);
        var += dt * dt;
    }
    if var <= 0.0 {
        return None;
    }
    let per_token = cov / var;
    Some((mean_ms - per_token * mean_t, per_token))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pass_cost_is_the_line_through_the_passes() {
        // 20 ms a pass and 3 ms a token, exactly.
        let passes = [(1, 1, 23.0), (8, 8, 44.0), (64, 1, 212.0)];
        let (fixed, per_token) = pass_cost(&passes).expect("three token counts");
        assert!((fixed - 20.0).abs() < 1e-9, "{fixed}");
        assert!((per_token - 3.0).abs() < 1e-9, "{per_token}");
        assert_eq!(pass_cost(&[(4, 4, 10.0), (4, 4, 12.0)]), None);
        assert_eq!(pass_cost(&[]), None);
        assert!(summarize(&passes).ends_with("about 20.0 ms + 3.00 ms a token"));
    }
}
