//! Scored choices: the log probability of each option, read from the logits
//! instead of sampled.

use agentkit::{Choice, Error, Request};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;

use super::decode::{evaluate, BATCH};
use super::model::LoadedModel;
use super::{backend_error, Shared};

/// Log-softmax of one logit among all of them.
fn log_prob(logits: &[f32], token: LlamaToken) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|l| f64::from(l - max).exp()).sum();
    let logit = usize::try_from(token.0)
        .ok()
        .and_then(|i| logits.get(i))
        .copied()
        .unwrap_or(f32::NEG_INFINITY);
    f64::from(logit - max) - sum.ln()
}

/// Scored choices: one pass over the prompt, then for each choice the log
/// probability of every option after the choice's lead text; the likeliest
/// option is appended before the next choice.
pub(super) fn choose(
    shared: &Shared,
    model: &LoadedModel,
    request: &Request,
    choices: &[Choice],
) -> Result<Vec<Vec<f64>>, Error> {
    let agent = request.agent;
    let tokens = model.prompt_tokens(request)?;
    let tokenize = |s: &str| model.tokenize(s);
    let longest: usize = choices
        .iter()
        .map(|c| {
            tokenize(&c.lead).len()
                + c.options
                    .iter()
                    .map(|o| tokenize(o).len())
                    .max()
                    .unwrap_or(0)
        })
        .sum();
    let n_ctx = model.context_size(shared.config.context_size);
    if tokens.is_empty() || tokens.len() + longest > n_ctx {
        return Err(Error::ContextOverflow {
            agent: agent.to_string(),
            model: model.alias().to_string(),
            prompt_tokens: tokens.len(),
            max_tokens: u32::try_from(longest).unwrap_or(u32::MAX),
            context: n_ctx,
        });
    }
    let mut batch = LlamaBatch::new(BATCH, 1);
    let mut lease = model.lease(shared, agent, n_ctx, &tokens, &mut batch)?;
    let scores =
        lease.with_context(|ctx| score(ctx, &mut batch, model, choices, tokens.len(), agent))?;
    lease.keep(tokens, shared);
    Ok(scores)
}

/// The scores of `choices` on a context whose cache holds the prompt (`pos`
/// tokens, logits of the last one in `batch`).
fn score(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch,
    model: &LoadedModel,
    choices: &[Choice],
    mut pos: usize,
    agent: &str,
) -> Result<Vec<Vec<f64>>, Error> {
    let tokenize = |s: &str| model.tokenize(s);
    let mut scores = Vec::with_capacity(choices.len());
    for choice in choices {
        let lead = tokenize(&choice.lead);
        if !lead.is_empty() {
            evaluate(ctx, batch, &lead, pos, agent)?;
            pos += lead.len();
        }
        let base: Vec<f32> = ctx.get_logits_ith(batch.n_tokens() - 1).to_vec();
        let mut option_scores = Vec::with_capacity(choice.options.len());
        for option in &choice.options {
            let option_tokens = tokenize(option);
            let Some((first, rest)) = option_tokens.split_first() else {
                option_scores.push(f64::NEG_INFINITY);
                continue;
            };
            let mut lp = log_prob(&base, *first);
            let mut previous = *first;
            for (k, token) in rest.iter().enumerate() {
                evaluate(ctx, batch, &[previous], pos + k, agent)?;
                lp += log_prob(ctx.get_logits_ith(batch.n_tokens() - 1), *token);
                previous = *token;
            }
            if !rest.is_empty() {
                ctx.clear_kv_cache_seq(Some(0), Some(pos as u32), None)
                    .map_err(|e| backend_error(agent, "could not rewind the KV cache", e))?;
            }
            option_scores.push(lp);
        }
        let best = option_scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        if let Some(option) = choice.options.get(best) {
            let chosen = tokenize(option);
            if !chosen.is_empty() {
                evaluate(ctx, batch, &chosen, pos, agent)?;
                pos += chosen.len();
            }
        }
        scores.push(option_scores);
    }
    Ok(scores)
}
