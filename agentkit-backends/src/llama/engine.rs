//! The work done on the blocking thread: loading, grammar, prompt, decode loop.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use agentkit::{Choice, Completion, Error, ModelSpec, Request};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use serde_json::Value;

use super::{LlamaConfig, Shared};

/// Prompt tokens are evaluated in batches of this many.
const BATCH: usize = 512;

/// A GGUF loaded once, with what every call on it shares.
/// A context kept between calls, with the tokens whose keys and values its
/// cache holds, so the next call re-evaluates only what differs: an agent's
/// instructions, schema and examples are the same call after call.
struct Warm {
    ctx: LlamaContext<'static>,
    tokens: Vec<LlamaToken>,
}

/// How many contexts a model keeps warm: one per call that may run at the
/// same time (`each(..).concurrency(n)`), so concurrent calls of one agent
/// all find their shared prefix cached.
const WARM_CONTEXTS: usize = 4;

fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A context leased for one call, tied to the model it borrows.
struct Lease<'m> {
    ctx: LlamaContext<'static>,
    /// Prompt tokens already in the cache when the lease was taken.
    reused: usize,
    model: &'m LoadedModel,
}

impl Lease<'_> {
    /// Returns the context for the next call, remembering which prompt its
    /// cache holds (positions past the prompt are cleared on reuse).
    fn keep(self, prompt: Vec<LlamaToken>, shared: &Shared) {
        if !shared.config.reuse_prefix {
            return;
        }
        let mut pool = self.model.warm.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < WARM_CONTEXTS {
            pool.push(Warm {
                ctx: self.ctx,
                tokens: prompt,
            });
        }
    }
}

pub(super) struct LoadedModel {
    /// Declared before `model` so it is dropped first: its context borrows the model.
    warm: Mutex<Vec<Warm>>,
    alias: String,
    path: PathBuf,
    model: LlamaModel,
    template: Result<LlamaChatTemplate, String>,
    /// Built on first use (~0.2 s for a 49k vocabulary), then shared by every grammar.
    factory: OnceLock<Result<Arc<ParserFactory>, String>>,
}

impl LoadedModel {
    pub(super) fn load(
        backend: &LlamaBackend,
        spec: &ModelSpec,
        config: &LlamaConfig,
    ) -> Result<LoadedModel, Error> {
        let started = Instant::now();
        let layers = config.gpu_layer_count(backend.supports_gpu_offload());
        let params = LlamaModelParams::default().with_n_gpu_layers(layers);
        let model = LlamaModel::load_from_file(backend, &spec.path, &params).map_err(|e| {
            Error::ModelLoad {
                alias: spec.alias.clone(),
                path: spec.path.clone(),
                reason: e.to_string(),
            }
        })?;
        let template = match &config.chat_template {
            Some(t) => LlamaChatTemplate::new(t)
                .map_err(|_| "the configured chat template contains a NUL byte".to_string()),
            None => model
                .chat_template(None)
                .map_err(|_| "the GGUF file has no chat template".to_string()),
        };
        tracing::info!(
            model = %spec.alias,
            path = %spec.path.display(),
            gpu_layers = layers,
            load_ms = started.elapsed().as_millis() as u64,
            "loaded model"
        );
        Ok(LoadedModel {
            warm: Mutex::new(Vec::new()),
            alias: spec.alias.clone(),
            path: spec.path.clone(),
            model,
            template,
            factory: OnceLock::new(),
        })
    }

    fn factory(&self, agent: &str) -> Result<Arc<ParserFactory>, Error> {
        let factory = self.factory.get_or_init(|| {
            let env = LlamaSampler::llguidance_tok_env(&self.model);
            ParserFactory::new_simple(&env)
                .map(|mut f| {
                    f.quiet();
                    Arc::new(f)
                })
                .map_err(|e| e.to_string())
        });
        factory.clone().map_err(|reason| Error::Backend {
            agent: agent.to_string(),
            reason: format!(
                "could not build the grammar engine for model `{}` ({}): {reason}",
                self.alias,
                self.path.display()
            ),
        })
    }

    /// Compiles `schema` into a token matcher, before any token is generated:
    /// a schema the engine cannot express is an error, never an unconstrained run.
    /// What a grammar cannot enforce (a set's `uniqueItems`) is left to the
    /// output type's deserializer; see [`agentkit::grammar_schema`].
    pub(super) fn matcher(&self, agent: &str, schema: &Value) -> Result<Matcher, Error> {
        let factory = self.factory(agent)?;
        let mut schema = agentkit::grammar_schema(schema);
        if let Value::Object(map) = &mut schema {
            // Compact JSON: a weak model must not spend its budget on whitespace.
            map.insert(
                "x-guidance".into(),
                serde_json::json!({ "whitespace_flexible": false, "lenient": false }),
            );
        }
        let unsupported = |reason: String| Error::UnsupportedSchema {
            agent: agent.to_string(),
            location: locate(&schema, &reason),
            reason,
        };
        let parser = factory
            .create_parser(TopLevelGrammar::from_json_schema(schema.clone()))
            .map_err(|e| unsupported(format!("{e:#}")))?;
        let matcher = Matcher::new(Ok(parser));
        match matcher.get_error() {
            Some(e) => Err(unsupported(e)),
            None => Ok(matcher),
        }
    }

    fn render(&self, request: &Request) -> Result<String, Error> {
        let template = self
            .template
            .as_ref()
            .map_err(|reason| Error::ChatTemplate {
                model: self.alias.clone(),
                reason: reason.clone(),
            })?;
        let messages = request
            .prompt
            .messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Error::Backend {
                agent: request.agent.to_string(),
                reason: "the prompt contains a NUL byte; remove it from the input".into(),
            })?;
        self.model
            .apply_chat_template(template, &messages, true)
            .map_err(|e| Error::ChatTemplate {
                model: self.alias.clone(),
                reason: format!("llama.cpp could not apply the chat template: {e}"),
            })
    }

    fn context_size(&self, configured: u32) -> usize {
        let trained = self.model.n_ctx_train();
        let n = if trained == 0 {
            configured
        } else {
            configured.min(trained)
        };
        n as usize
    }
}

/// Finds where in `schema` the engine's complaint is: the JSON pointer of the
/// first object key (or string value, such as a regex) the message quotes,
/// else the root.
fn locate(schema: &Value, message: &str) -> String {
    fn walk(v: &Value, path: &str, message: &str) -> Option<String> {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let here = format!("{path}/{k}");
                    if k != "x-guidance" && message.contains(&format!("\"{k}\"")) {
                        return Some(here);
                    }
                    if let Some(found) = walk(child, &here, message) {
                        return Some(found);
                    }
                }
                None
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, c)| walk(c, &format!("{path}/{i}"), message)),
            // Regex errors quote the pattern, not the key that holds it.
            Value::String(s) if s.len() >= 2 && message.contains(s.as_str()) => {
                Some(path.to_string())
            }
            _ => None,
        }
    }
    match walk(schema, "", message) {
        Some(pointer) => format!("`{pointer}`"),
        None => "the schema root".to_string(),
    }
}

fn backend_error(agent: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Backend {
        agent: agent.to_string(),
        reason: format!("{what}: {e}"),
    }
}

/// The sampler applied to the grammar-allowed candidates only. Because the
/// candidates that reach it are already filtered, no grammar sampler sits in
/// this chain, so llama.cpp's `top_k → grammar → dist` abort cannot occur.
fn sampler(request: &Request) -> LlamaSampler {
    let s = &request.sampling;
    if s.temperature <= 0.0 {
        return LlamaSampler::greedy();
    }
    let mut chain = Vec::new();
    if let Some(k) = s.top_k {
        chain.push(LlamaSampler::top_k(i32::try_from(k).unwrap_or(i32::MAX)));
    }
    if let Some(p) = s.top_p {
        chain.push(LlamaSampler::top_p(p, 1));
    }
    chain.push(LlamaSampler::temp(s.temperature));
    chain.push(LlamaSampler::dist(s.seed));
    LlamaSampler::chain_simple(chain)
}

/// Whether decoding is restricted by the request's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Constraint {
    /// Every token is masked by the grammar of `request.schema`.
    Schema,
    /// No grammar: for benchmarks and comparisons only.
    Free,
}

/// A fresh context of `n_ctx` tokens with the configured thread count.
fn new_context<'m>(
    shared: &Shared,
    model: &'m LoadedModel,
    agent: &str,
    n_ctx: usize,
) -> Result<LlamaContext<'m>, Error> {
    let threads = shared.config.thread_count();
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx as u32))
        .with_n_batch(BATCH as u32)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    // llama-cpp-2 documents context creation as unsafe to run in parallel.
    let _serial = shared
        .context_lock
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    model
        .model
        .new_context(shared.backend, params)
        .map_err(|e| backend_error(agent, "could not create a llama.cpp context", e))
}

/// A context whose cache holds `tokens`, with logits for the last one in
/// `batch`: a warm context of the model, re-evaluating only the tokens
/// after the prefix it shares with its last prompt, or a fresh one when the
/// warm ones are all in use by other calls.
fn lease<'m>(
    shared: &Shared,
    model: &'m LoadedModel,
    agent: &str,
    n_ctx: usize,
    tokens: &[LlamaToken],
    batch: &mut LlamaBatch,
) -> Result<Lease<'m>, Error> {
    let warm = if shared.config.reuse_prefix {
        let mut pool = model.warm.lock().unwrap_or_else(|p| p.into_inner());
        // The kept context sharing the longest prefix with this prompt.
        let best = pool
            .iter()
            .enumerate()
            .max_by_key(|(_, w)| common_prefix(&w.tokens, tokens))
            .map(|(i, _)| i);
        best.map(|i| pool.swap_remove(i))
    } else {
        None
    };
    let (mut ctx, cached) = match warm {
        Some(w) if w.ctx.n_ctx() as usize == n_ctx => {
            let common = common_prefix(&w.tokens, tokens);
            // The last prompt token is always evaluated again: its logits are needed.
            (w.ctx, common.min(tokens.len().saturating_sub(1)))
        }
        _ => {
            let fresh = new_context(shared, model, agent, n_ctx)?;
            // SAFETY: the context borrows `model.model`. The `'static` never
            // escapes: a `Lease<'m>` cannot outlive `&'m LoadedModel`, and a
            // kept context lives in `model.warm`, which is dropped before
            // `model.model` (field order).
            let fresh: LlamaContext<'static> = unsafe { std::mem::transmute(fresh) };
            (fresh, 0)
        }
    };
    let cleared = ctx
        .clear_kv_cache_seq(Some(0), Some(cached as u32), None)
        .map_err(|e| backend_error(agent, "could not rewind the KV cache", e))?;
    let reused = if cleared {
        cached
    } else {
        ctx.clear_kv_cache();
        0
    };
    decode(&mut ctx, batch, &tokens[reused..], reused, agent)?;
    Ok(Lease { ctx, reused, model })
}

/// Evaluates `tokens` at positions `start..`, in batches, with logits for the
/// last one only (left in `batch` at index `batch.n_tokens() - 1`).
fn decode(
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
    let vocab = model.model.vocab();
    let text = model.render(request)?;
    let tokens = vocab.tokenize(text.as_bytes(), true, true);
    let tokenize = |s: &str| vocab.tokenize(s.as_bytes(), false, false);
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
            model: model.alias.clone(),
            prompt_tokens: tokens.len(),
            max_tokens: u32::try_from(longest).unwrap_or(u32::MAX),
            context: n_ctx,
        });
    }
    let mut batch = LlamaBatch::new(BATCH, 1);
    let mut lease = lease(shared, model, agent, n_ctx, &tokens, &mut batch)?;
    let ctx = &mut lease.ctx;
    let mut pos = tokens.len();
    let mut scores = Vec::with_capacity(choices.len());
    for choice in choices {
        let lead = tokenize(&choice.lead);
        if !lead.is_empty() {
            decode(ctx, &mut batch, &lead, pos, agent)?;
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
                decode(ctx, &mut batch, &[previous], pos + k, agent)?;
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
                decode(ctx, &mut batch, &chosen, pos, agent)?;
                pos += chosen.len();
            }
        }
        scores.push(option_scores);
    }
    lease.keep(tokens, shared);
    Ok(scores)
}

/// Pre-flight: the grammar compiles, the template applies, and the input-free
/// part of the prompt plus `max_tokens` fits the context.
pub(super) fn check(shared: &Shared, model: &LoadedModel, request: &Request) -> Result<(), Error> {
    model.matcher(request.agent, &request.schema)?;
    let text = model.render(request)?;
    let prompt_tokens = model
        .model
        .vocab()
        .tokenize(text.as_bytes(), true, true)
        .len();
    let context = model.context_size(shared.config.context_size);
    let max_tokens = request.sampling.max_tokens;
    if prompt_tokens + max_tokens as usize > context {
        return Err(Error::ContextOverflow {
            agent: request.agent.to_string(),
            model: model.alias.clone(),
            prompt_tokens,
            max_tokens,
            context,
        });
    }
    Ok(())
}

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
    let text = model.render(request)?;
    let vocab = model.model.vocab();
    let tokens = vocab.tokenize(text.as_bytes(), true, true);
    let n_ctx = model.context_size(shared.config.context_size);
    if tokens.is_empty() {
        return Err(backend_error(agent, "the prompt", "tokenized to nothing"));
    }
    if tokens.len() + max_tokens as usize > n_ctx {
        return Err(Error::ContextOverflow {
            agent: agent.to_string(),
            model: model.alias.clone(),
            prompt_tokens: tokens.len(),
            max_tokens,
            context: n_ctx,
        });
    }
    let started = Instant::now();
    let mut batch = LlamaBatch::new(BATCH, 1);
    let mut lease = lease(shared, model, agent, n_ctx, &tokens, &mut batch)?;
    let prompt_time = started.elapsed();
    let cached_prompt_tokens = lease.reused;
    let ctx = &mut lease.ctx;

    let n_vocab = usize::try_from(model.model.n_vocab()).unwrap_or(0);
    let mut sampler = sampler(request);
    let mut out: Vec<u8> = Vec::new();
    let mut generated = 0usize;
    let mut pos = tokens.len();
    let mut logits_index = batch.n_tokens() - 1;
    let gen_started = Instant::now();
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
        if matcher.as_ref().is_some_and(Matcher::is_stopped) {
            complete = true;
            break;
        }
        batch.clear();
        batch
            .add(token, pos as i32, &[0], true)
            .map_err(|e| backend_error(agent, "could not fill the batch", e))?;
        pos += 1;
        ctx.decode(&mut batch)
            .map_err(|e| backend_error(agent, "llama.cpp failed to decode", e))?;
        logits_index = 0;
    }
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
    Ok(Completion {
        text,
        prompt_tokens: tokens.len(),
        cached_prompt_tokens,
        generated_tokens: generated,
        prompt_time,
        generate_time,
    })
}
