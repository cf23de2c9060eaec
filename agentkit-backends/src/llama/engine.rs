//! Continuous batching: many sequences on one llama.cpp context.
//!
//! An [`Engine`] owns one context and gives each request a sequence of its
//! own (its own KV cells, positions, sampler and grammar matcher). Every
//! [`Engine::step`] puts the next tokens of every running sequence into one
//! batch, so one pass over the weights advances all of them: prompt chunks of
//! new requests ride along with the decode steps of older ones, a finished
//! sequence leaves between two steps and a waiting request takes its place.
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

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agentkit::{Completion, Error};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::oneshot;

use super::backend_error;
use super::decode::Generate;
use super::score::Score;

/// The most tokens evaluated in one `llama_decode`.
pub(super) const BATCH: usize = 512;

self_cell::self_cell!(
    /// A llama.cpp context together with the model it borrows. The cell owns
    /// an `Arc` of the model, so the borrow checker (through `self_cell`)
    /// proves the context never outlives it, whatever is dropped first.
    struct OwnedContext {
        owner: Arc<LlamaModel>,

        #[covariant]
        dependent: LlamaContext,
    }
);

/// llama-cpp-2 documents context creation as unsafe to run in parallel, in
/// the whole process.
static CONTEXT_LOCK: Mutex<()> = Mutex::new(());

/// How an engine is sized.
#[derive(Debug, Clone, Copy)]
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
}

/// Counts a request as running from its creation until it is dropped
/// (finished, failed, or cancelled and cleared away).
pub(super) struct Running(Arc<AtomicUsize>);

impl Running {
    pub(super) fn new(counter: &Arc<AtomicUsize>) -> Running {
        counter.fetch_add(1, Ordering::SeqCst);
        Running(Arc::clone(counter))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a finished task produced.
pub(super) enum Outcome {
    /// Generated text and how many tokens it took.
    Text { text: String, generated: usize },
    /// Log probabilities of scored choices.
    Scores(Vec<Vec<f64>>),
}

/// What a finished request gets back.
pub(super) enum Reply {
    /// A generation, with its token counts and times.
    Completion(Completion),
    /// Scored choices.
    Scores(Vec<Vec<f64>>),
}

/// The work a sequence does once its prompt is evaluated.
pub(super) enum Task {
    /// Sample tokens under a grammar.
    Generate(Box<Generate>),
    /// Score the options of choices.
    Score(Box<Score>),
}

/// What a task wants after it has seen the logits it asked for.
pub(super) enum Next {
    /// Evaluate `tokens` next, after rewinding the sequence to `rewind_to`
    /// tokens if given; logits for every token if `all_logits`, else for the
    /// last one only.
    Feed {
        rewind_to: Option<usize>,
        tokens: Vec<LlamaToken>,
        all_logits: bool,
    },
    /// The task is over.
    Done(Result<Outcome, Error>),
}

impl Task {
    /// Advances the task with the logits of the tokens it asked for (one row
    /// per token when it asked for all, else one row).
    fn advance(&mut self, rows: &[&[f32]], model: &LlamaModel) -> Next {
        match self {
            Task::Generate(g) => g.advance(rows, model),
            Task::Score(s) => s.advance(rows),
        }
    }
}

/// One request for an engine.
pub(super) struct Job {
    /// The agent, for errors and traces.
    pub agent: &'static str,
    /// The prompt's tokens (never empty).
    pub prompt: Vec<LlamaToken>,
    /// Tokens the task may add after the prompt at most.
    pub reserve: usize,
    /// What to do after the prompt.
    pub task: Task,
    /// Set when the caller no longer waits for the answer.
    pub cancelled: Arc<AtomicBool>,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Result<Reply, Error>>,
    /// Counts the request as running while it exists (held for its `Drop`).
    pub _running: Running,
}

impl Job {
    /// KV cells the job may occupy at most (its prompt counted in full, even
    /// where it shares cells with another sequence, so the sum over jobs
    /// never underestimates).
    fn cells(&self) -> usize {
        self.prompt.len() + self.reserve
    }

    /// Whether the caller is gone: the request need not run (any more).
    pub(super) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || self.reply.is_closed()
    }
}

/// Waiting for another sequence to evaluate a shared prefix before copying it.
#[derive(Debug, Clone, Copy)]
struct Wait {
    slot: usize,
    id: u64,
    upto: usize,
}

/// A running request.
struct Sequence {
    id: u64,
    job: Job,
    /// Tokens whose keys and values the cache holds, at positions `0..`.
    tokens: Vec<LlamaToken>,
    /// Tokens to evaluate next, at positions `tokens.len()..`.
    feed: Vec<LlamaToken>,
    all_logits: bool,
    wait: Option<Wait>,
    /// Prompt tokens that came from another sequence's cells.
    reused: usize,
    admitted: Instant,
    prompt_done: Option<Instant>,
}

impl Sequence {
    /// The tokens this sequence holds or is about to hold as its prompt: a
    /// sequence still evaluating its prompt can already share it.
    fn known(&self) -> &[LlamaToken] {
        if self.prompt_done.is_some() {
            &self.tokens
        } else {
            &self.job.prompt
        }
    }
}

enum Slot {
    Free,
    /// A finished sequence whose cells are kept for prefix reuse.
    Cached {
        id: u64,
        tokens: Vec<LlamaToken>,
        used: u64,
    },
    Busy(Box<Sequence>),
}

fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// One context and the sequences on it.
pub(super) struct Engine {
    ctx: OwnedContext,
    batch: LlamaBatch<'static>,
    slots: Vec<Slot>,
    config: EngineConfig,
    /// KV cells one sequence may occupy: the whole cache when unified, else
    /// its stream (llama.cpp rounds a stream up to a multiple of 256 cells).
    capacity: usize,
    /// Ids for sequences, and the clock for least-recently-used eviction.
    clock: u64,
    /// With a stream per sequence, whether the last step was a longer feed's
    /// (see [`Engine::one_kind`]).
    longer_turn: bool,
}

/// A sequence's place in the batch being built.
struct Placed {
    slot: usize,
    start: usize,
    count: usize,
}

impl Engine {
    /// An engine with a fresh context on `model`.
    pub(super) fn new(
        backend: &LlamaBackend,
        model: Arc<LlamaModel>,
        config: EngineConfig,
    ) -> Result<Engine, Error> {
        let slots = config.slots.max(1);
        let kv = u32::try_from(config.kv_size.max(1)).unwrap_or(u32::MAX);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(kv))
            .with_n_batch(BATCH as u32)
            .with_n_seq_max(u32::try_from(slots).unwrap_or(u32::MAX))
            .with_kv_unified(config.unified)
            .with_n_threads(config.threads)
            .with_n_threads_batch(config.threads);
        // llama.cpp's values: -1 lets it decide, 0 off, 1 on.
        let params = params.with_flash_attention_policy(match config.flash_attention {
            None => -1,
            Some(false) => 0,
            Some(true) => 1,
        });
        let ctx = {
            let _serial = CONTEXT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
            OwnedContext::try_new(model, |model| {
                model
                    .new_context(backend, params)
                    .map_err(|e| backend_error("", "could not create a llama.cpp context", e))
            })?
        };
        let capacity = if config.unified {
            config.kv_size
        } else {
            ctx.borrow_dependent().n_ctx() as usize / slots
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

    /// Whether no request is running.
    pub(super) fn is_idle(&self) -> bool {
        !self.slots.iter().any(|s| matches!(s, Slot::Busy(_)))
    }

    /// The longest prefix of `prompt` a cached sequence holds.
    pub(super) fn cached_prefix(&self, prompt: &[LlamaToken]) -> usize {
        self.slots
            .iter()
            .map(|s| match s {
                Slot::Cached { tokens, .. } => common_prefix(tokens, prompt),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Removes the cells of `slot` from position `from` on (all of them for
    /// 0). False where llama.cpp cannot cut a sequence in the middle.
    fn forget(&mut self, slot: usize, from: usize) -> bool {
        let seq = u32::try_from(slot).ok();
        let from = u32::try_from(from).ok().filter(|f| *f > 0);
        self.ctx
            .with_dependent_mut(|_, ctx| ctx.clear_kv_cache_seq(seq, from, None))
            .unwrap_or(false)
    }

    /// Gives `to` the cells of the first `upto` positions of `from`; returns
    /// how many it got (`upto`, or 0 where the copy could not be trimmed).
    fn copy_cells(&mut self, from: usize, to: usize, upto: usize) -> usize {
        let (Ok(src), Ok(dst), Ok(p1)) =
            (i32::try_from(from), i32::try_from(to), u32::try_from(upto))
        else {
            return 0;
        };
        if self.config.unified {
            self.ctx.with_dependent_mut(|_, ctx| {
                // Only fails on positions beyond i32, excluded above.
                let _ = ctx.copy_kv_cache_seq(src, dst, Some(0), Some(p1));
            });
            return upto;
        }
        // Between streams llama.cpp copies whole streams only (a partial
        // range aborts the process): copy all of it, then cut the copy back
        // to the shared prefix. The data moves at the next decode, before
        // that batch writes anything.
        self.ctx.with_dependent_mut(|_, ctx| {
            let _ = ctx.copy_kv_cache_seq(src, dst, None, None);
        });
        if self.forget(to, upto) {
            upto
        } else {
            self.forget(to, 0);
            0
        }
    }

    /// Empties `slot` and its cells.
    fn clear(&mut self, slot: usize) {
        self.forget(slot, 0);
        self.slots[slot] = Slot::Free;
    }

    /// Cells reserved by running sequences and held by cached ones.
    fn cells_in_use(&self) -> (usize, usize) {
        self.slots.iter().fold((0, 0), |(busy, cached), s| match s {
            Slot::Busy(seq) => (busy + seq.job.cells(), cached),
            Slot::Cached { tokens, .. } => (busy, cached + tokens.len()),
            Slot::Free => (busy, cached),
        })
    }

    /// The least recently used cached slot other than `except`.
    fn oldest_cached(&self, except: Option<usize>) -> Option<usize> {
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

    /// Starts `job` as a new sequence, or hands it back when there is no slot
    /// or not enough KV cells for it now. A job that could never fit is
    /// answered with an error instead. With no sequence running, every job
    /// that can fit at all is admitted.
    pub(super) fn admit(&mut self, job: Job) -> Result<(), Job> {
        let need = job.cells();
        if need > self.capacity {
            let agent = job.agent;
            let reason = if self.config.unified {
                format!(
                    "the request needs up to {need} KV cells but the model's cache holds {}; \
                     raise LlamaConfig::kv_size or lower max_tokens",
                    self.capacity
                )
            } else {
                format!(
                    "the request needs up to {need} KV cells but each sequence's stream holds {} \
                     (LlamaConfig::kv_size {} over LlamaConfig::parallel {}); raise kv_size, \
                     lower parallel or max_tokens, or set unified_kv",
                    self.capacity,
                    self.config.kv_size,
                    self.slots.len()
                )
            };
            let _ = job.reply.send(Err(Error::Backend {
                agent: agent.to_string(),
                reason,
            }));
            return Ok(());
        }
        // With a stream per sequence, a slot comes with its cells.
        let (busy, _) = self.cells_in_use();
        if self.config.unified && busy + need > self.capacity {
            return Err(job);
        }
        let prompt = &job.prompt;
        let limit = prompt.len().saturating_sub(1);
        // The sequence sharing the longest prefix with this prompt.
        let source = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let known = match s {
                    Slot::Busy(seq) => seq.known(),
                    Slot::Cached { tokens, .. } => tokens,
                    Slot::Free => return None,
                };
                Some((i, common_prefix(known, prompt).min(limit)))
            })
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(i, n)| (*n, std::cmp::Reverse(*i)));
        let takeover = source.filter(|(i, _)| matches!(self.slots[*i], Slot::Cached { .. }));
        let free = self.slots.iter().position(|s| matches!(s, Slot::Free));
        let (slot, mut tokens, wait) = match (free, takeover) {
            // No free slot: take over the cached sequence that shares the most.
            (None, Some((s, n))) => {
                let tokens = match std::mem::replace(&mut self.slots[s], Slot::Free) {
                    Slot::Cached { tokens, .. } => tokens,
                    _ => Vec::new(),
                };
                if n <= tokens.len() && self.forget(s, n) {
                    (s, tokens[..n].to_vec(), None)
                } else {
                    self.forget(s, 0);
                    (s, Vec::new(), None)
                }
            }
            (free, _) => {
                let slot = match free {
                    Some(f) => f,
                    None => match self.oldest_cached(source.map(|(s, _)| s)) {
                        Some(s) => {
                            self.clear(s);
                            s
                        }
                        None => return Err(job),
                    },
                };
                match source {
                    Some((s, n)) => {
                        let (held, id) = match &self.slots[s] {
                            Slot::Busy(seq) => (seq.tokens.len(), seq.id),
                            Slot::Cached { tokens, id, .. } => (tokens.len(), *id),
                            Slot::Free => (0, 0),
                        };
                        if held >= n {
                            let n = self.copy_cells(s, slot, n);
                            (slot, job.prompt[..n].to_vec(), None)
                        } else {
                            let wait = Wait {
                                slot: s,
                                id,
                                upto: n,
                            };
                            (slot, Vec::new(), Some(wait))
                        }
                    }
                    None => (slot, Vec::new(), None),
                }
            }
        };
        // Make room: drop cached sequences, oldest first, until everything
        // fits (with a stream per sequence, everything does).
        while self.config.unified {
            let (busy, cached) = self.cells_in_use();
            if busy + cached + need <= self.capacity {
                break;
            }
            match self.oldest_cached(Some(slot)) {
                Some(s) => self.clear(s),
                None => break,
            }
        }
        if wait.is_some() {
            tokens.clear();
        }
        let feed = if wait.is_some() {
            Vec::new()
        } else {
            job.prompt[tokens.len()..].to_vec()
        };
        let id = self.tick();
        self.slots[slot] = Slot::Busy(Box::new(Sequence {
            id,
            reused: tokens.len(),
            tokens,
            feed,
            all_logits: false,
            wait,
            admitted: Instant::now(),
            prompt_done: None,
            job,
        }));
        Ok(())
    }

    /// Drops cancelled sequences and starts the ones whose shared prefix is
    /// now in the cache.
    fn tend(&mut self) {
        for slot in 0..self.slots.len() {
            let Slot::Busy(seq) = &self.slots[slot] else {
                continue;
            };
            if seq.job.is_cancelled() {
                tracing::debug!(agent = seq.job.agent, "cancelled; its cells are freed");
                self.clear(slot);
                continue;
            }
            let Some(wait) = seq.wait else {
                continue;
            };
            let copied = match &self.slots[wait.slot] {
                Slot::Busy(src) if src.id == wait.id => {
                    if src.tokens.len() < wait.upto {
                        continue;
                    }
                    wait.upto
                }
                // Finished: it holds all it will ever hold (its prompt).
                Slot::Cached { id, tokens, .. } if *id == wait.id => tokens.len().min(wait.upto),
                // The source is gone (cancelled or evicted): evaluate in full.
                _ => 0,
            };
            let copied = if copied > 0 {
                self.copy_cells(wait.slot, slot, copied)
            } else {
                0
            };
            if let Slot::Busy(seq) = &mut self.slots[slot] {
                seq.wait = None;
                seq.tokens = seq.job.prompt[..copied].to_vec();
                seq.reused = copied;
                seq.feed = seq.job.prompt[copied..].to_vec();
            }
        }
    }

    /// Fills the batch: first the sequences past their prompt (one decode
    /// step each, or a short scoring feed), then prompt chunks in order of
    /// admission, up to [`BATCH`] tokens.
    fn fill(&mut self) -> Result<Vec<Placed>, Error> {
        self.batch.clear();
        let mut placed = Vec::new();
        let mut order: Vec<(bool, u64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Busy(seq) if seq.wait.is_none() && !seq.feed.is_empty() => {
                    Some((seq.prompt_done.is_none(), seq.id, i))
                }
                _ => None,
            })
            .collect();
        order.sort_unstable();
        if !self.config.unified {
            order = self.one_kind(order);
        }
        let mut picked: Vec<(usize, usize)> = Vec::new();
        let mut room = BATCH;
        for (_, _, slot) in order {
            let Slot::Busy(seq) = &self.slots[slot] else {
                continue;
            };
            let count = if seq.all_logits {
                // Logits of every token are read together: all or nothing.
                if seq.feed.len() > room {
                    continue;
                }
                seq.feed.len()
            } else {
                seq.feed.len().min(room)
            };
            if count == 0 {
                break;
            }
            room -= count;
            picked.push((slot, count));
        }
        if !self.config.unified {
            // With a stream per sequence, llama.cpp splits a batch into
            // passes of consecutive sequence ids in batch order: in slot
            // order, the sequences of one step share as few passes as can be.
            picked.sort_unstable();
        }
        for (slot, count) in picked {
            let Slot::Busy(seq) = &self.slots[slot] else {
                continue;
            };
            let start = self.batch.n_tokens() as usize;
            let base = seq.tokens.len();
            for (k, token) in seq.feed[..count].iter().enumerate() {
                let last = k + 1 == seq.feed.len();
                let logits = seq.all_logits || last;
                self.batch
                    .add(*token, (base + k) as i32, &[slot as i32], logits)
                    .map_err(|e| backend_error(seq.job.agent, "could not fill the batch", e))?;
            }
            placed.push(Placed { slot, start, count });
        }
        Ok(placed)
    }

    /// With a stream per sequence: either every one-token feed (decode
    /// steps) or the first longer one (a prompt chunk or a scoring feed)
    /// alone, taking turns. llama.cpp splits a batch over several streams
    /// into equal shares per sequence, which would cut a prompt riding with
    /// decode steps into a one-token piece and the rest, pieces it never has
    /// in a context of its own, and greedy outputs then flipped (7 of 8
    /// identical instead of 8 in the batching benchmark); alone, a longer
    /// feed is evaluated in the same pieces as in a context of its own.
    fn one_kind(&mut self, order: Vec<(bool, u64, usize)>) -> Vec<(bool, u64, usize)> {
        let single = |&(_, _, slot): &(bool, u64, usize)| match &self.slots[slot] {
            Slot::Busy(seq) => seq.feed.len() == 1,
            _ => false,
        };
        let (singles, longer): (Vec<_>, Vec<_>) = order.into_iter().partition(single);
        let Some(&first) = longer.first() else {
            return singles;
        };
        if singles.is_empty() {
            return vec![first];
        }
        self.longer_turn = !self.longer_turn;
        if self.longer_turn {
            vec![first]
        } else {
            singles
        }
    }

    /// One pass over the model: every running sequence advances. Finished
    /// ones are answered and cached (or freed).
    pub(super) fn step(&mut self) {
        self.tend();
        let placed = match self.fill() {
            Ok(placed) => placed,
            Err(e) => return self.fail_all(&e.to_string()),
        };
        if placed.is_empty() {
            return;
        }
        let started = Instant::now();
        let decoded = self
            .ctx
            .with_dependent_mut(|_, ctx| ctx.decode(&mut self.batch));
        // One event per pass over the weights: where batched time goes.
        tracing::trace!(
            tokens = self.batch.n_tokens(),
            sequences = placed.len(),
            decode_ms = started.elapsed().as_secs_f64() * 1e3,
            "batch step"
        );
        if let Err(e) = decoded {
            for p in &placed {
                let agent = self.agent(p.slot);
                self.finish(
                    p.slot,
                    Err(backend_error(agent, "llama.cpp failed to decode", &e)),
                );
            }
            return;
        }
        let mut nexts = Vec::new();
        for p in placed {
            let Slot::Busy(seq) = &mut self.slots[p.slot] else {
                continue;
            };
            let fed: Vec<LlamaToken> = seq.feed.drain(..p.count).collect();
            seq.tokens.extend(fed);
            if !seq.feed.is_empty() {
                continue;
            }
            if seq.prompt_done.is_none() {
                seq.prompt_done = Some(Instant::now());
            }
            let first_row = if seq.all_logits {
                p.start
            } else {
                p.start + p.count - 1
            };
            let ctx = self.ctx.borrow_dependent();
            let rows: Vec<&[f32]> = (first_row..p.start + p.count)
                .map(|i| ctx.get_logits_ith(i as i32))
                .collect();
            nexts.push((p.slot, seq.job.task.advance(&rows, self.ctx.borrow_owner())));
        }
        for (slot, next) in nexts {
            match next {
                Next::Feed {
                    rewind_to,
                    tokens,
                    all_logits,
                } => {
                    if let Some(to) = rewind_to {
                        self.forget(slot, to);
                    }
                    if let Slot::Busy(seq) = &mut self.slots[slot] {
                        if let Some(to) = rewind_to {
                            seq.tokens.truncate(to);
                        }
                        if all_logits && tokens.len() > BATCH {
                            let agent = seq.job.agent;
                            self.finish(
                                slot,
                                Err(backend_error(agent, "scoring", "an option is too long")),
                            );
                            continue;
                        }
                        seq.feed = tokens;
                        seq.all_logits = all_logits;
                    }
                }
                Next::Done(result) => self.finish(slot, result),
            }
        }
    }

    fn agent(&self, slot: usize) -> &'static str {
        match &self.slots[slot] {
            Slot::Busy(seq) => seq.job.agent,
            _ => "",
        }
    }

    fn fail_all(&mut self, reason: &str) {
        for slot in 0..self.slots.len() {
            if matches!(self.slots[slot], Slot::Busy(_)) {
                let agent = self.agent(slot);
                self.finish(slot, Err(backend_error(agent, "batching", reason)));
            }
        }
    }

    /// Answers the request in `slot` and keeps its cells for prefix reuse
    /// (or frees them).
    fn finish(&mut self, slot: usize, result: Result<Outcome, Error>) {
        let Slot::Busy(seq) = std::mem::replace(&mut self.slots[slot], Slot::Free) else {
            return;
        };
        let Sequence {
            id,
            job,
            tokens,
            reused,
            admitted,
            prompt_done,
            ..
        } = *seq;
        let now = Instant::now();
        let prompt_done = prompt_done.unwrap_or(now);
        let reply = result.map(|outcome| match outcome {
            Outcome::Text { text, generated } => Reply::Completion(
                Completion::new(text)
                    .with_tokens(job.prompt.len(), reused, generated)
                    .with_times(prompt_done - admitted, now - prompt_done),
            ),
            Outcome::Scores(scores) => Reply::Scores(scores),
        });
        let failed = reply.is_err();
        // No longer running by the time the caller has its answer.
        let Job {
            reply: answer,
            _running: running,
            ..
        } = job;
        drop(running);
        let _ = answer.send(reply);
        if self.config.keep_prefixes && !failed && !tokens.is_empty() {
            // The output's cells are kept too: freeing them would leave holes
            // that running sequences fill out of position order, which makes
            // llama.cpp's attention round differently (more flipped tokens).
            let used = self.tick();
            self.slots[slot] = Slot::Cached { id, tokens, used };
        } else {
            self.forget(slot, 0);
        }
    }
}
