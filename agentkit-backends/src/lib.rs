//! Model backends for [`agentkit`].
//!
//! - [`llama`] (feature `llama`, on by default): llama.cpp in-process, with every
//!   sampled token restricted by a grammar made from the agent's output schema.
//! - `server` (feature `server`): models served over the OpenAI-compatible
//!   chat completions API (llama-server, Ollama, vLLM), with failover between
//!   endpoints, and a `server::Router` that runs served and in-process
//!   models side by side.
#![warn(missing_docs)]
// The compiler proves every borrow here; what llama.cpp needs unsafe for stays
// inside llama-cpp-2 (and `self_cell` for a context that owns its model).
#![forbid(unsafe_code)]

#[cfg(feature = "llama")]
pub mod llama;

#[cfg(feature = "server")]
pub mod server;

/// The index of the likeliest of `scores` (log-probabilities; the first of
/// equals, as the runtime ranks them), `0` for none: the option scored
/// choices continue with, in-process and over HTTP alike.
#[cfg(any(feature = "llama", feature = "server"))]
pub(crate) fn likeliest(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if s.total_cmp(&scores[best]).is_gt() {
            best = i;
        }
    }
    best
}
