//! Generation: after the prompt, one token at a time, each sampled from the
//! candidates the grammar allows. [`Generate`] is the per-sequence state the
//! batching engine advances one token per step.

use agentkit::backend::{Completion, Deltas, Request};
use agentkit::Error;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use llguidance::Matcher;

mod forced;
mod sample;

use super::engine::task::{Answer, Next, Stats, Task};
use super::errors::failure;
use super::model::LoadedModel;
use super::think::{self, Think};
use super::Shared;

/// Whether decoding is restricted by the request's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Constraint {
    /// Every token is masked by the grammar of `request.schema`.
    Schema,
    /// No grammar: for benchmarks and comparisons only.
    Free,
}

/// The sampler applied to the grammar-allowed candidates only. Because the
/// candidates that reach it are already filtered, no grammar sampler sits in
/// this chain, so llama.cpp's `top_k → grammar → dist` abort cannot occur,
/// and repetition penalties only reorder tokens the grammar allows.
///
/// Order: penalties (which need the raw logits), then greedy, or
/// `top_k → top_p → min_p → temperature → seeded draw`.
pub(super) fn sampler(request: &Request, n_vocab: i32) -> LlamaSampler {
    let s = &request.sampling;
    let mut chain = Vec::new();
    if let Some(r) = s.repetition {
        chain.push(LlamaSampler::penalties(
            n_vocab,
            i32::try_from(r.window).unwrap_or(i32::MAX),
            r.repeat_penalty,
            r.frequency_penalty,
            r.presence_penalty,
        ));
    }
    if s.temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
        return LlamaSampler::chain_simple(chain);
    }
    if let Some(k) = s.top_k {
        chain.push(LlamaSampler::top_k(i32::try_from(k).unwrap_or(i32::MAX)));
    }
    if let Some(p) = s.top_p {
        chain.push(LlamaSampler::top_p(p, 1));
    }
    if let Some(p) = s.min_p {
        chain.push(LlamaSampler::min_p(p, 1));
    }
    chain.push(LlamaSampler::temp(s.temperature));
    chain.push(LlamaSampler::dist(s.seed));
    LlamaSampler::chain_simple(chain)
}

/// DRY's sequence breakers (llama.cpp's defaults): a repeated run ends at
/// any of these, so JSON quotes and keys never make a run.
const DRY_BREAKERS: [&str; 4] = ["\n", ":", "\"", "*"];

/// The DRY sampler of `request`, if it asks for one, with the prompt in its
/// history so that copying the input counts as repeating.
fn dry(request: &Request, model: &LlamaModel, prompt: &[LlamaToken]) -> Option<LlamaSampler> {
    let d = request.sampling.dry?;
    let window = prompt.len() + request.sampling.max_tokens as usize;
    let mut sampler = LlamaSampler::dry(
        model,
        d.multiplier,
        d.base,
        i32::try_from(d.allowed_length).unwrap_or(i32::MAX),
        i32::try_from(window).unwrap_or(i32::MAX),
        DRY_BREAKERS,
    );
    for token in prompt {
        sampler.accept(*token);
    }
    Some(sampler)
}

/// Pre-flight: the grammar compiles, the template applies, and the input-free
/// part of the prompt plus `max_tokens` fits the context.
pub(super) fn check(shared: &Shared, model: &LoadedModel, request: &Request) -> Result<(), Error> {
    model.matcher(request.agent, request.schema.grammar())?;
    super::shortest::check_budget(model, request)?;
    if let (Some(_), Some(thought)) = (&request.sampling.reasoning, &request.thought) {
        model.matcher(request.agent, thought.grammar())?;
    }
    let prompt_tokens = model.prompt_tokens(request)?.len();
    let context = model.context_size(shared.config.context_size);
    model.fits(
        request.agent,
        prompt_tokens,
        think::reserve(request),
        context,
    )
}

/// The logits of the last row, one per token of the vocabulary.
pub(super) fn logits<'a>(
    agent: &str,
    rows: &[&'a [f32]],
    model: &LlamaModel,
) -> Result<&'a [f32], Error> {
    let n_vocab = usize::try_from(model.n_vocab()).unwrap_or(0);
    let row = rows
        .last()
        .ok_or_else(|| failure(agent, "sampling", "no logits"))?;
    Ok(&row[..n_vocab.min(row.len())])
}

/// The sampling candidate of token `id` with `logit`.
pub(super) fn candidate((id, logit): (usize, &f32)) -> LlamaTokenData {
    LlamaTokenData::new(LlamaToken(id as i32), *logit, 0.0)
}

/// One generation in progress: its grammar matcher, its sampler (with its
/// own seed and penalty history) and the bytes so far.
pub(super) struct Generate {
    agent: &'static str,
    matcher: Option<Matcher>,
    sampler: LlamaSampler,
    /// DRY, kept apart from `sampler` because its history starts with the
    /// prompt while the repetition penalties count generated tokens only.
    dry: Option<LlamaSampler>,
    max_tokens: u32,
    out: Vec<u8>,
    generated: usize,
    /// Where the text goes as it is written, for a streaming call.
    deltas: Option<Deltas>,
    /// How many bytes of `out` were sent to `deltas`.
    sent: usize,
    /// Where the completion goes.
    answer: Answer<Completion>,
    /// The think block before the answer, where the request asks for one.
    think: Option<Think>,
    /// The grammar of a think block of a declared shape.
    think_matcher: Option<Matcher>,
    /// Whether forced tokens are written without sampling (see `forced`).
    fast_forward: bool,
    /// Whether the answer has begun (its first forced run is fed on its own).
    started: bool,
    /// Generated tokens the grammar forced.
    forced: usize,
    /// Model passes the answer took.
    steps: usize,
    /// The output schema, for the closing at the budget, when the request
    /// asks for one (`Sampling::close_at_budget`).
    close: Option<agentkit::backend::OutputSchema>,
    /// Whether the answer was closed at its budget.
    cut: bool,
}

impl Generate {
    /// The generation `request` asks for on `model` after `prompt`,
    /// constrained by its schema unless `constraint` is [`Constraint::Free`].
    pub(super) fn new(
        model: &LoadedModel,
        request: &Request,
        prompt: &[LlamaToken],
        constraint: Constraint,
        fast_forward: bool,
        deltas: Option<Deltas>,
        answer: Answer<Completion>,
    ) -> Result<Generate, Error> {
        let matcher = match constraint {
            Constraint::Schema => Some(model.matcher(request.agent, request.schema.grammar())?),
            Constraint::Free => None,
        };
        Ok(Generate {
            agent: request.agent,
            matcher,
            sampler: sampler(request, model.llama().n_vocab()),
            dry: dry(request, model.llama(), prompt),
            max_tokens: request.sampling.max_tokens,
            out: Vec::new(),
            generated: 0,
            deltas,
            sent: 0,
            answer,
            think: request
                .sampling
                .reasoning
                .map(|r| Think::new(&r, model.llama())),
            think_matcher: match (&request.sampling.reasoning, &request.thought) {
                (Some(_), Some(thought)) => Some(model.matcher(request.agent, thought.grammar())?),
                _ => None,
            },
            fast_forward,
            started: false,
            forced: 0,
            steps: 0,
            close: (request.sampling.close_at_budget && matches!(constraint, Constraint::Schema))
                .then(|| request.schema.clone()),
            cut: false,
        })
    }

    /// Sends what was written since the last send, up to the last whole
    /// UTF-8 character (a token may end inside one); with `all`, the rest
    /// too, as the final text has it.
    fn flush(&mut self, all: bool) {
        let Some(deltas) = &self.deltas else {
            return;
        };
        let fresh = &self.out[self.sent..];
        let text = match std::str::from_utf8(fresh) {
            Ok(text) => text.to_string(),
            Err(_) if all => String::from_utf8_lossy(fresh).into_owned(),
            Err(e) => {
                let whole = e.valid_up_to();
                String::from_utf8_lossy(&fresh[..whole]).into_owned()
            }
        };
        self.sent += if all { fresh.len() } else { text.len() };
        deltas.send(&text);
    }
}

impl Task for Generate {
    /// Samples the next token from the logits of the last one, then asks for
    /// it to be evaluated, or ends: on end-of-generation, when the grammar
    /// is complete, or at `max_tokens` (an error unless the output is
    /// complete by then).
    fn advance(&mut self, rows: &[&[f32]], model: &LlamaModel) -> Next {
        if self.think.as_ref().is_some_and(|t| !t.is_done()) {
            return match self.think(rows, model) {
                Ok(tokens) => Next::Feed {
                    rewind_to: None,
                    tokens,
                    all_logits: false,
                },
                Err(e) => Next::Fail(e),
            };
        }
        let next = if self.started {
            self.sample(rows, model)
        } else {
            // The answer's opening the grammar decides (`{"reply":"`) is
            // fed at once; the next pass samples after it.
            self.started = true;
            match self.forced(model) {
                Ok(run) if run.is_empty() => self.sample(rows, model),
                Ok(run) => self.after(run),
                Err(e) => Err(e),
            }
        };
        match next {
            Ok(Some(tokens)) => {
                self.steps += 1;
                Next::Feed {
                    rewind_to: None,
                    tokens,
                    all_logits: false,
                }
            }
            Ok(None) => {
                self.flush(true);
                Next::Done
            }
            Err(e) => Next::Fail(e),
        }
    }

    /// Answers with the text and what it cost.
    fn finish(self: Box<Self>, result: Result<(), Error>, stats: Stats) {
        let completion = result.map(|()| {
            let completion = Completion::new(String::from_utf8_lossy(&self.out).into_owned())
                .with_tokens(stats.prompt_tokens, stats.reused, self.generated)
                .with_forced(self.forced, self.steps)
                .with_cut(self.cut)
                .with_times(stats.prompt_time, stats.generate_time);
            match &self.think {
                Some(think) => {
                    let (text, tokens) = think.result();
                    completion.with_reasoning(text, tokens)
                }
                None => completion,
            }
        });
        self.answer.send(completion);
    }

    fn is_abandoned(&self) -> bool {
        self.answer.is_closed()
    }
}

impl Generate {
    /// One token inside the think block: sampled with no grammar (and never
    /// an end of generation), then the tokens to evaluate: it, and at the
    /// budget the close tag after it.
    fn think(&mut self, rows: &[&[f32]], model: &LlamaModel) -> Result<Vec<LlamaToken>, Error> {
        let agent = self.agent;
        let vocab = model.vocab();
        let mask = match self.think_matcher.as_mut() {
            Some(m) => Some(
                m.compute_mask()
                    .map_err(|e| failure(agent, "the think block's grammar engine failed", e))?,
            ),
            None => None,
        };
        let allowed: Vec<LlamaTokenData> = logits(agent, rows, model)?
            .iter()
            .enumerate()
            .filter(|(id, _)| mask.as_ref().is_none_or(|m| m.is_allowed(*id as u32)))
            .map(candidate)
            .filter(|c| !vocab.is_eog(c.id()))
            .collect();
        if allowed.is_empty() {
            return Err(failure(
                agent,
                "the think block's grammar allows no token of this model's vocabulary",
                "check the `think` type's schema",
            ));
        }
        let token = self.pick(allowed)?;
        let shaped_done = match self.think_matcher.as_mut() {
            Some(m) => {
                m.consume_token(token.0 as u32)
                    .map_err(|e| failure(agent, "the think block's grammar rejected a token", e))?;
                m.is_stopped() || m.is_accepting().unwrap_or(false)
            }
            None => false,
        };
        self.accept(token);
        let piece = vocab.token_to_piece(token, true, None);
        let Some(block) = self.think.as_mut() else {
            return Ok(vec![token]);
        };
        let mut step = block.take(&piece);
        if shaped_done && matches!(step, think::Step::Continue) {
            step = think::Step::Forced(block.close_now());
        }
        if let Some(deltas) = &self.deltas {
            deltas.send_reasoning(&block.unsent());
        }
        Ok(step.tokens(token))
    }

    /// The token the samplers (DRY first, where on) pick among `allowed`.
    fn pick(&mut self, allowed: Vec<LlamaTokenData>) -> Result<LlamaToken, Error> {
        let mut candidates = LlamaTokenDataArray::new(allowed, false);
        if let Some(dry) = self.dry.as_mut() {
            candidates.apply_sampler(dry);
        }
        candidates.apply_sampler(&mut self.sampler);
        candidates
            .selected_token()
            .ok_or_else(|| failure(self.agent, "sampling", "no token was selected"))
    }

    /// Puts `token` into the samplers' histories.
    fn accept(&mut self, token: LlamaToken) {
        self.sampler.accept(token);
        if let Some(dry) = self.dry.as_mut() {
            dry.accept(token);
        }
    }

    /// Writes `tokens` as output the grammar has already taken: into the
    /// samplers' histories, the text and the count, and sends the new text.
    fn write(&mut self, tokens: &[LlamaToken], model: &LlamaModel) {
        for &token in tokens {
            self.accept(token);
            self.out
                .extend(model.vocab().token_to_piece(token, false, None));
        }
        self.generated += tokens.len();
        if !tokens.is_empty() {
            self.flush(false);
        }
    }
}
