//! The decode loop: prompt evaluation, then one token at a time, each sampled
//! from the candidates the grammar allows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use agentkit::{Completion, Error, Request};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use llguidance::Matcher;

use super::model::LoadedModel;
use super::{backend_error, Shared};

/// Prompt tokens are evaluated in batches of this many.
pub(super) const BATCH: usize = 512;

/// Whether decoding is restricted by the request's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Constraint {
    /// Every token is masked by the grammar of `request.schema`.
    Schema,
    /// No grammar: for benchmarks and comparisons only.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    Free,
}

/// Evaluates `tokens` at positions `start..`, in batches, with logits for the
/// last one only (left in `batch` at index `batch.n_tokens() - 1`).
pub(super) fn evaluate(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch,
    tokens: &[LlamaToken],
    start: usize,
    agent: &str,
) -> Result<(), Error> {
    for (chunk_index, chunk) in tokens.chunks(BATCH).enumerate() {
        batch.clear();
        for (i, token) in chunk.iter().enumerate() {
            let offset = chunk_index * BATCH + i;
            let last = offset == tokens.len() - 1;
            batch
                .add(*token, (start + offset) as i32, &[0], last)
                .map_err(|e| backend_error(agent, "could not fill the batch", e))?;
        }
        ctx.decode(batch)
            .map_err(|e| backend_error(agent, "llama.cpp failed to evaluate tokens", e))?;
    }
    Ok(())
}

/// The sampler applied to the grammar-allowed candidates only. Because the
/// candidates that reach it are already filtered, no grammar sampler sits in
/// this chain, so llama.cpp's `top_k → grammar → dist` abort cannot occur,
/// and repetition penalties only reorder tokens the grammar allows.
///
/// Order: penalties (which need the raw logits), then greedy, or
/// `top_k → top_p → min_p → temperature → seeded draw`.
fn sampler(request: &Request, n_vocab: i32) -> LlamaSampler {
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

/// Pre-flight: the grammar compiles, the template applies, and the input-free
/// part of the prompt plus `max_tokens` fits the context.
pub(super) fn check(shared: &Shared, model: &LoadedModel, request: &Request) -> Result<(), Error> {
    model.matcher(request.agent, &request.schema)?;
    let prompt_tokens = model.prompt_tokens(request)?.len();
    let context = model.context_size(shared.config.context_size);
    let max_tokens = request.sampling.max_tokens;
    if prompt_tokens + max_tokens as usize > context {
        return Err(Error::ContextOverflow {
            agent: request.agent.to_string(),
            model: model.alias().to_string(),
            prompt_tokens,
            max_tokens,
            context,
        });
    }
    Ok(())
}

/// Generates for `request`: the prompt through a leased context, then tokens
/// until the grammar stops, the model ends, or `max_tokens` is reached.
pub(super) fn generate(
    shared: &Shared,
    model: &LoadedModel,
    request: &Request,
    constraint: Constraint,
    cancelled: &AtomicBool,
) -> Result<Completion, Error> {
    let agent = request.agent;
    let max_tokens = request.sampling.max_tokens;
    let mut matcher = match constraint {
        Constraint::Schema => Some(model.matcher(agent, &request.schema)?),
        Constraint::Free => None,
    };
    let tokens = model.prompt_tokens(request)?;
    let n_ctx = model.context_size(shared.config.context_size);
    if tokens.is_empty() {
        return Err(backend_error(agent, "the prompt", "tokenized to nothing"));
    }
    if tokens.len() + max_tokens as usize > n_ctx {
        return Err(Error::ContextOverflow {
            agent: agent.to_string(),
            model: model.alias().to_string(),
            prompt_tokens: tokens.len(),
            max_tokens,
            context: n_ctx,
        });
    }
    let started = Instant::now();
    let mut batch = LlamaBatch::new(BATCH, 1);
    let mut lease = model.lease(shared, agent, n_ctx, &tokens, &mut batch)?;
    let prompt_time = started.elapsed();
    let cached_prompt_tokens = lease.reused();

    let gen_started = Instant::now();
    let (out, generated, complete) = lease.with_context(|ctx| {
        run(
            ctx,
            &mut batch,
            model,
            request,
            matcher.as_mut(),
            tokens.len(),
            cancelled,
        )
    })?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let accepting = match matcher.as_mut() {
        Some(m) => m.is_accepting().unwrap_or(false),
        None => true,
    };
    if !complete && !accepting {
        return Err(Error::Truncated {
            agent: agent.to_string(),
            max_tokens,
            partial: text,
        });
    }
    let generate_time = gen_started.elapsed();
    let gen_s = generate_time.as_secs_f64();
    tracing::debug!(
        agent,
        prompt_tokens = tokens.len(),
        prompt_ms = prompt_time.as_millis() as u64,
        generated,
        tokens_per_s = if gen_s > 0.0 {
            generated as f64 / gen_s
        } else {
            0.0
        },
        "generated"
    );
    lease.keep(tokens.clone(), shared);
    Ok(Completion::new(text)
        .with_tokens(tokens.len(), cached_prompt_tokens, generated)
        .with_times(prompt_time, generate_time))
}

/// The token loop on a context whose cache holds the prompt (`pos` tokens,
/// logits of the last one in `batch`): the bytes generated, how many tokens,
/// and whether the model or the grammar ended the output.
fn run(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch,
    model: &LoadedModel,
    request: &Request,
    mut matcher: Option<&mut Matcher>,
    mut pos: usize,
    cancelled: &AtomicBool,
) -> Result<(Vec<u8>, usize, bool), Error> {
    let agent = request.agent;
    let max_tokens = request.sampling.max_tokens;
    let vocab = model.llama().vocab();
    let n_vocab = usize::try_from(model.llama().n_vocab()).unwrap_or(0);
    let mut sampler = sampler(request, model.llama().n_vocab());
    let mut out: Vec<u8> = Vec::new();
    let mut generated = 0usize;
    let mut logits_index = batch.n_tokens() - 1;
    let mut complete = false;
    while generated < max_tokens as usize {
        if cancelled.load(Ordering::Relaxed) {
            return Err(backend_error(agent, "generation", "cancelled"));
        }
        let logits = ctx.get_logits_ith(logits_index).iter().take(n_vocab);
        let candidates =
            |(id, logit): (usize, &f32)| LlamaTokenData::new(LlamaToken(id as i32), *logit, 0.0);
        let allowed: Vec<LlamaTokenData> = match matcher.as_mut() {
            Some(matcher) => {
                let mask = matcher
                    .compute_mask()
                    .map_err(|e| backend_error(agent, "the grammar engine failed", e))?;
                logits
                    .enumerate()
                    .filter(|(id, _)| mask.is_allowed(*id as u32))
                    .map(candidates)
                    .collect()
            }
            None => logits.enumerate().map(candidates).collect(),
        };
        if allowed.is_empty() {
            return Err(backend_error(
                agent,
                "the grammar allows no token of this model's vocabulary",
                format!("after {:?}", String::from_utf8_lossy(&out)),
            ));
        }
        let mut candidates = LlamaTokenDataArray::new(allowed, false);
        candidates.apply_sampler(&mut sampler);
        let token = candidates
            .selected_token()
            .ok_or_else(|| backend_error(agent, "sampling", "no token was selected"))?;
        if vocab.is_eog(token) {
            complete = true;
            break;
        }
        if let Some(matcher) = matcher.as_mut() {
            matcher
                .consume_token(token.0 as u32)
                .map_err(|e| backend_error(agent, "the grammar rejected a sampled token", e))?;
        }
        sampler.accept(token);
        out.extend(vocab.token_to_piece(token, false, None));
        generated += 1;
        if matcher.as_ref().is_some_and(|m| m.is_stopped()) {
            complete = true;
            break;
        }
        batch.clear();
        batch
            .add(token, pos as i32, &[0], true)
            .map_err(|e| backend_error(agent, "could not fill the batch", e))?;
        pos += 1;
        ctx.decode(batch)
            .map_err(|e| backend_error(agent, "llama.cpp failed to decode", e))?;
        logits_index = 0;
    }
    Ok((out, generated, complete))
}
