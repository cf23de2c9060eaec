//! Does a prompt's last logits depend on where the prompt is cut into
//! `llama_decode` calls? One prompt is evaluated whole, then cut at every
//! point of its last 40 tokens (and so are three shorter prompts), and each
//! cut is compared with the whole prompt's last logits. The batching engine
//! cuts prompts only at multiples of 8 that leave 8 tokens or more (a reused
//! prefix ends at such a point too): the last line says whether every such
//! cut gave the numbers of the whole prompt on this machine and model.
//!
//! ```text
//! cargo run --release -p agentkit-examples --example splits [-- MODEL.gguf ...]
//! ```
//!
//! Without arguments it reads the default model (SmolLM2-135M-Instruct).

use std::num::NonZeroU32;

use agentkit_backends::llama::default_model_path;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A ChatML prompt ending where a scored choice reads its options.
const PROMPT: &str = "<|im_start|>system\nRead the forum post and name its subject. Answer in \
JSON.<|im_end|>\n<|im_start|>user\nTitle: My 3090 runs llama 70b at 2 tokens per second, is that \
normal?\nBody: I set up llama.cpp with 4-bit weights and offloaded 40 layers. Generation crawls. \
What settings should I try? I have 64GB of RAM and a Ryzen 7950X.<|im_end|>\n<|im_start|>assistant\n\
{\"subject\":\"";

/// The engine's rule (`MIN_PIECE`, `ALIGN` in agentkit-backends' engine).
fn engine_may_cut(at: usize, len: usize) -> bool {
    at.is_multiple_of(8) && len - at >= 8
}

/// The last token's logits with the prompt evaluated in pieces ending at `cuts`.
fn last_logits(ctx: &mut LlamaContext, tokens: &[LlamaToken], cuts: &[usize]) -> Result<Vec<f32>> {
    ctx.clear_kv_cache();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&tokens.len())) {
        let mut batch = LlamaBatch::new(512, 1);
        for (pos, token) in tokens.iter().enumerate().take(end).skip(start) {
            batch.add(*token, i32::try_from(pos)?, &[0], pos + 1 == tokens.len())?;
        }
        ctx.decode(&mut batch)?;
        start = end;
    }
    let last = tokens.len() - 1 - cuts.last().map_or(0, |c| *c);
    Ok(ctx.get_logits_ith(i32::try_from(last)?).to_vec())
}

/// Cuts the prompt (and the prompt short of its last one to three tokens)
/// at every point of its end; says whether the engine's cuts change nothing.
fn report(backend: &LlamaBackend, path: &std::path::Path) -> Result<bool> {
    let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())?;
    let all = model.vocab().tokenize(PROMPT.as_bytes(), false, true);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(1024))
        .with_n_batch(512)
        .with_n_threads(2)
        .with_n_threads_batch(2)
        .with_flash_attention_policy(0);
    let mut ctx = model.new_context(backend, params)?;
    println!("\n{} (2 threads)", path.display());
    println!("prompt   engine's cuts exact   other cuts exact   largest change elsewhere");
    let mut engine_ok = true;
    for drop in 0..4 {
        let tokens = &all[..all.len() - drop];
        let len = tokens.len();
        let whole = last_logits(&mut ctx, tokens, &[])?;
        let (mut ours, mut ours_exact, mut others, mut others_exact) = (0, 0, 0, 0);
        let mut largest = 0f32;
        for at in len.saturating_sub(40).max(1)..len {
            let cut = last_logits(&mut ctx, tokens, &[at])?;
            let change = cut
                .iter()
                .zip(&whole)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            if engine_may_cut(at, len) {
                ours += 1;
                ours_exact += usize::from(change == 0.0);
            } else {
                others += 1;
                others_exact += usize::from(change == 0.0);
                largest = largest.max(change);
            }
        }
        engine_ok &= ours_exact == ours;
        println!(
            "{len:>6}   {ours_exact:>10} of {ours:<6}   {others_exact:>8} of {others:<5}   {largest:>10.4}"
        );
    }
    println!(
        "every cut the engine may make gave the whole prompt's logits: {}",
        if engine_ok { "yes" } else { "NO" }
    );
    Ok(engine_ok)
}

fn main() -> Result<()> {
    let paths: Vec<std::path::PathBuf> = match std::env::args_os().skip(1).collect::<Vec<_>>() {
        args if args.is_empty() => vec![default_model_path()],
        args => args.into_iter().map(Into::into).collect(),
    };
    let backend = LlamaBackend::init()?;
    let mut all_ok = true;
    for path in paths {
        all_ok &= report(&backend, &path)?;
    }
    if !all_ok {
        return Err("a cut the engine may make changed the logits on this machine".into());
    }
    Ok(())
}
