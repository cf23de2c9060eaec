//! Continuous batching: many sequences on one llama.cpp context.
//!
//! An [`Engine`] owns one context ([`context`]) and gives each request a
//! sequence of its own ([`slots`]: its own KV cells, positions and
//! [`Task`](task::Task)). Every [`Engine::step`] ([`step`]) puts the next
//! tokens of every running sequence into one batch, so one pass over the
//! weights advances all of them: prompt chunks of new requests ride along
//! with the decode steps of older ones, a finished sequence leaves between
//! two steps and a waiting request takes its place ([`admit`]).
//!
//! Prompts share their prefix: a new sequence copies the KV cells of the
//! longest prefix any other sequence holds (or will hold once its prompt is
//! evaluated), so the n-th call of an agent evaluates only its own input.
//! Finished sequences stay cached for that purpose until their slot or their
//! cells are needed.
//!
//! The cache is either unified (one pool of cells for all sequences, so a
//! shared prefix can be shared in place) or split into one stream per
//! sequence (each sequence's attention then spans only its own cells, as in
//! a context of its own). Across streams llama.cpp copies only whole
//! streams: a prefix is copied whole and the copy trimmed to the prefix.
//!
//! The engine knows nothing of what its tasks do: generation
//! ([`decode`](super::decode)) and scored choices ([`score`](super::score))
//! are two implementations of [`task::Task`].

mod admit;
mod context;
mod slots;
mod step;
pub(super) mod task;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use agentkit::Error;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;

use super::budget::ThreadBudget;
use context::Context;
use slots::Slot;

/// The most tokens evaluated in one `llama_decode`.
pub(super) const BATCH: usize = 512;

/// The fewest tokens in a piece of a cut prompt. llama.cpp's CPU kernels
/// compute a token differently depending on the piece it is evaluated in,
/// so a prompt is cut (into chunks, or after a reused prefix) only where a
/// cold evaluation gives the same numbers; `--example splits` cuts one
/// prompt at every point and shows it:
///
/// - SmolLM2 (Q4_1): its last logits moved by up to 0.47 when the prompt's
///   last token came alone, and by 0 for any piece of two or more;
/// - Qwen2.5-0.5B (Q4_K_M): by about 0.25 unless the cut is a multiple of 4
///   tokens from the start and leaves 8 or more (its kernels take rows four
///   at a time, and a short piece another way).
///
/// So a piece has at least 8 tokens and starts at a multiple of [`ALIGN`].
/// A call whose prompt is all cached (an exact repeat) evaluates 8 to 15 of
/// its last tokens instead of one. What shares a pass with a call can still
/// move its numbers on kernels that take rows in blocks: alone or beside
/// seven other calls, a probability on Qwen2.5 moved by about 0.01
/// (SmolLM2's did not move).
pub(super) const MIN_PIECE: usize = 8;

/// Where a prompt may be cut: at multiples of this many tokens (see
/// [`MIN_PIECE`]; Qwen2.5's kernels here need 4, and 8 also covers kernels
/// that take rows eight at a time).
pub(super) const ALIGN: usize = 8;

/// How many of a prompt's `len` tokens can be reused from a cache holding
/// its first `held`: a cut point ([`ALIGN`]) leaving at least [`MIN_PIECE`]
/// tokens to evaluate.
pub(super) fn reusable(held: usize, len: usize) -> usize {
    let most = held.min(len.saturating_sub(MIN_PIECE));
    most - most % ALIGN
}

/// How an engine is sized.
#[derive(Debug, Clone)]
pub(super) struct EngineConfig {
    /// Threads for decoding and prompt evaluation.
    pub threads: i32,
    /// Sequences decoded together at most.
    pub slots: usize,
    /// KV cells of the whole cache.
    pub kv_size: usize,
    /// One KV cache shared by all sequences (`true`), or a stream of
    /// `kv_size / slots` cells for each sequence (`false`).
    pub unified: bool,
    /// Flash attention on or off; `None`: llama.cpp decides.
    pub flash_attention: Option<bool>,
    /// Whether finished sequences stay cached for prefix reuse.
    pub keep_prefixes: bool,
    /// The threads every engine of the backend shares, if they share them:
    /// each pass over the weights takes `threads` of them.
    pub budget: Option<Arc<ThreadBudget>>,
}

/// One context and the sequences on it.
pub(super) struct Engine {
    ctx: Context,
    batch: LlamaBatch<'static>,
    slots: Vec<Slot>,
    config: EngineConfig,
    /// KV cells one sequence may occupy: the whole cache when unified, else
    /// its stream (llama.cpp rounds a stream up to a multiple of 256 cells).
    capacity: usize,
    /// Ids for sequences, and the clock for least-recently-used eviction.
    clock: u64,
    /// With a stream per sequence, whether the last step was a longer feed's
    /// (see `Engine::one_kind`).
    longer_turn: bool,
}

impl Engine {
    /// An engine with a fresh context on `model`.
    pub(super) fn new(
        backend: &LlamaBackend,
        model: Arc<LlamaModel>,
        config: EngineConfig,
    ) -> Result<Engine, Error> {
        let slots = config.slots.max(1);
        let ctx = Context::new(backend, model, &config, slots)?;
        let capacity = if config.unified {
            config.kv_size
        } else {
            ctx.n_ctx() / slots
        };
        Ok(Engine {
            ctx,
            batch: LlamaBatch::new(BATCH, 1),
            slots: (0..slots).map(|_| Slot::Free).collect(),
            config,
            capacity,
            clock: 0,
            longer_turn: false,
        })
    }
}
