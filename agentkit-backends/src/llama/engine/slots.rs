//! The engine's slots (one llama.cpp sequence each) and the bookkeeping of
//! their KV cells: who holds which tokens, how many cells are reserved, which
//! cached sequence goes first.

use std::time::Instant;

use llama_cpp_2::token::LlamaToken;

use super::task::Job;
use super::Engine;

/// Waiting for another sequence to evaluate a shared prefix before copying it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Wait {
    pub slot: usize,
    pub id: u64,
    pub upto: usize,
}

/// A running request.
pub(super) struct Sequence {
    pub id: u64,
    pub job: Job,
    /// Tokens whose keys and values the cache holds, at positions `0..`.
    pub tokens: Vec<LlamaToken>,
    /// Tokens to evaluate next, at positions `tokens.len()..`.
    pub feed: Vec<LlamaToken>,
    pub all_logits: bool,
    pub wait: Option<Wait>,
    /// Prompt tokens that came from another sequence's cells.
    pub reused: usize,
    pub admitted: Instant,
    pub prompt_done: Option<Instant>,
}

impl Sequence {
    /// The tokens this sequence holds or is about to hold as its prompt: a
    /// sequence still evaluating its prompt can already share it.
    pub(super) fn known(&self) -> &[LlamaToken] {
        if self.prompt_done.is_some() {
            &self.tokens
        } else {
            &self.job.prompt
        }
    }
}

/// What one llama.cpp sequence of the engine is doing.
pub(super) enum Slot {
    Free,
    /// A finished sequence whose cells are kept for prefix reuse.
    Cached {
        id: u64,
        tokens: Vec<LlamaToken>,
        used: u64,
    },
    Busy(Box<Sequence>),
}

impl Slot {
    /// The tokens the slot holds or is about to hold; `None` when free.
    pub(super) fn known(&self) -> Option<&[LlamaToken]> {
        match self {
            Slot::Busy(seq) => Some(seq.known()),
            Slot::Cached { tokens, .. } => Some(tokens),
            Slot::Free => None,
        }
    }
}

/// How many leading tokens `a` and `b` share.
pub(super) fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Engine {
    /// Whether no request is running.
    pub(in crate::llama) fn is_idle(&self) -> bool {
        !self.slots.iter().any(|s| matches!(s, Slot::Busy(_)))
    }

    /// The longest prefix of `prompt` a cached sequence holds.
    pub(in crate::llama) fn cached_prefix(&self, prompt: &[LlamaToken]) -> usize {
        self.slots
            .iter()
            .map(|s| match s {
                Slot::Cached { tokens, .. } => common_prefix(tokens, prompt),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// The next sequence id, which is also the clock for least-recently-used
    /// eviction.
    pub(super) fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Empties `slot` and its cells.
    pub(super) fn clear(&mut self, slot: usize) {
        self.ctx.forget(slot, 0);
        self.slots[slot] = Slot::Free;
    }

    /// Cells reserved by running sequences and held by cached ones.
    pub(super) fn cells_in_use(&self) -> (usize, usize) {
        self.slots.iter().fold((0, 0), |(busy, cached), s| match s {
            Slot::Busy(seq) => (busy + seq.job.cells(), cached),
            Slot::Cached { tokens, .. } => (busy, cached + tokens.len()),
            Slot::Free => (busy, cached),
        })
    }

    /// Whether a sequence runs in a slot next to `slot`. With a stream per
    /// sequence, llama.cpp evaluates a pass in runs of adjacent streams, one
    /// piece per run: decode steps of sequences in adjacent slots cost one
    /// piece, scattered ones a piece each (two 1-token steps in slots 0 and 3
    /// took 24 ms, one alone 12 ms). With one shared cache it does not matter.
    fn beside_busy(&self, slot: usize) -> bool {
        !self.config.unified
            && [slot.checked_sub(1), slot.checked_add(1)]
                .into_iter()
                .flatten()
                .any(|i| matches!(self.slots.get(i), Some(Slot::Busy(_))))
    }

    /// A free slot for a new sequence: one beside a running sequence if any,
    /// else the first.
    pub(super) fn free_slot(&self) -> Option<usize> {
        let free = (0..self.slots.len()).filter(|&i| matches!(self.slots[i], Slot::Free));
        free.clone()
            .find(|&i| self.beside_busy(i))
            .or_else(|| free.min())
    }

    /// The cached slot (other than `except`) to empty for a new sequence: the
    /// least recently used of those beside a running sequence whose prompt
    /// prefix another slot also holds (so no reuse is lost), else the least
    /// recently used of all.
    pub(super) fn cached_to_evict(&self, except: Option<usize>) -> Option<usize> {
        let cached = |i: usize| match &self.slots[i] {
            Slot::Cached { used, tokens, .. } if Some(i) != except => Some((i, *used, tokens)),
            _ => None,
        };
        let held_elsewhere = |i: usize, tokens: &[LlamaToken]| {
            (0..self.slots.len()).filter(|&j| j != i).any(|j| {
                self.slots[j]
                    .known()
                    .is_some_and(|k| 2 * common_prefix(k, tokens) >= tokens.len())
            })
        };
        (0..self.slots.len())
            .filter_map(cached)
            .filter(|&(i, _, tokens)| self.beside_busy(i) && held_elsewhere(i, tokens))
            .min_by_key(|&(_, used, _)| used)
            .map(|(i, _, _)| i)
            .or_else(|| self.oldest_cached(except))
    }

    /// The least recently used cached slot other than `except`.
    pub(super) fn oldest_cached(&self, except: Option<usize>) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != except)
            .filter_map(|(i, s)| match s {
                Slot::Cached { used, .. } => Some((i, *used)),
                _ => None,
            })
            .min_by_key(|(_, used)| *used)
            .map(|(i, _)| i)
    }

    /// The agent of the request in `slot` (empty when none runs there).
    pub(super) fn agent(&self, slot: usize) -> &'static str {
        match &self.slots[slot] {
            Slot::Busy(seq) => seq.job.agent,
            _ => "",
        }
    }
}
