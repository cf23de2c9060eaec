//! Probe: the random-weight fixture model loads in llama.cpp, its ChatML
//! template and tokenizer work, and grammar-constrained sampling on it yields
//! valid JSON for a small schema.
//!
//! Constrained decoding here uses llama.cpp's GBNF grammar sampler
//! (`LlamaSampler::grammar`), because `llguidance` is not a direct dependency
//! of this crate; the llguidance token environment is still built from the
//! model (`LlamaSampler::llguidance_tok_env`) to check the vocabulary is
//! usable by llguidance.

#[path = "../src/llama/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::error::Error;
use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;

/// GBNF equivalent of the JSON schema
/// `{"type":"object","properties":{"a":{"type":"integer","minimum":-99999,"maximum":999999},
///   "b":{"type":"string","maxLength":8}},"required":["a","b"],"additionalProperties":false}`
/// with the string alphabet restricted to plain ASCII word characters (llama.cpp's
/// GBNF sampler matches control tokens by their text, e.g. `<s>`, so `<`/`>`
/// are left out) and bounded integers so a random model always finishes.
const GRAMMAR: &str = r#"
root ::= "{" ws "\"a\"" ws ":" ws int ws "," ws "\"b\"" ws ":" ws str ws "}"
int  ::= "-"? ("0" | [1-9] [0-9]{0,4})
str  ::= "\"" [a-zA-Z0-9 _.-]{0,8} "\""
ws   ::= " "?
"#;

type TestResult = Result<(), Box<dyn Error>>;

#[test]
fn fixture_model_loads_and_decodes_json_under_grammar() -> TestResult {
    let dir = std::env::temp_dir().join(format!("agentkit-fixture-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("fixture.gguf");

    let t = Instant::now();
    fixture::write_fixture_model(&path, 42)?;
    let write_time = t.elapsed();
    let size = std::fs::metadata(&path)?.len();
    println!("wrote {} ({size} bytes) in {write_time:?}", path.display());

    // Same seed, same bytes.
    let path2 = dir.join("fixture2.gguf");
    fixture::write_fixture_model(&path2, 42)?;
    assert_eq!(std::fs::read(&path)?, std::fs::read(&path2)?);

    // llama.cpp logs straight to stderr, which the test harness cannot
    // capture; route its log into `tracing` (no subscriber here, so it is
    // dropped). Pass `true` to `with_logs_enabled` and install a subscriber
    // to see the loader's output when debugging the fixture.
    llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default().with_logs_enabled(false));
    let backend = LlamaBackend::init()?;
    let t = Instant::now();
    let model = LlamaModel::load_from_file(&backend, &path, &LlamaModelParams::default())?;
    println!("loaded model in {:?}", t.elapsed());

    let vocab = model.vocab();
    println!(
        "n_vocab={} n_layer={} n_head={} n_head_kv={} n_ctx_train={} n_params={}",
        model.n_vocab(),
        model.n_layer(),
        model.n_head(),
        model.n_head_kv(),
        model.n_ctx_train(),
        model.n_params()
    );
    println!(
        "bos={} eos={} eot={} nl={} add_bos={}",
        vocab.bos().0,
        vocab.eos().0,
        vocab.eot().0,
        vocab.nl().0,
        vocab.should_add_bos()
    );
    assert_eq!(model.n_vocab(), fixture::FIXTURE_VOCAB_SIZE as i32);
    assert_eq!(vocab.eos().0, fixture::FIXTURE_IM_END_ID as i32);
    assert!(vocab.is_eog(vocab.eos()));
    assert!(!vocab.should_add_bos());
    assert_eq!(
        model.meta_val_str("general.name")?,
        fixture::FIXTURE_MODEL_NAME
    );

    // Chat template from the GGUF, rendered by llama.cpp.
    let template = model.chat_template(None)?;
    assert_eq!(template.to_str()?, fixture::FIXTURE_CHAT_TEMPLATE);
    let messages = [
        LlamaChatMessage::new("system".into(), "Reply with JSON.".into())?,
        LlamaChatMessage::new("user".into(), "Give me a and b!".into())?,
    ];
    let prompt = model.apply_chat_template(&template, &messages, true)?;
    println!("prompt: {prompt:?}");
    assert_eq!(
        prompt,
        "<|im_start|>system\nReply with JSON.<|im_end|>\n<|im_start|>user\nGive me a and b!<|im_end|>\n<|im_start|>assistant\n"
    );

    // Tokenize with special-token parsing; the text round-trips exactly.
    let tokens = vocab.tokenize(prompt.as_bytes(), false, true);
    println!(
        "prompt tokens ({}): {:?}",
        tokens.len(),
        tokens.iter().map(|t| t.0).collect::<Vec<_>>()
    );
    assert_eq!(
        tokens.first().map(|t| t.0),
        Some(fixture::FIXTURE_IM_START_ID as i32)
    );
    let mut round_trip = Vec::new();
    for token in &tokens {
        round_trip.extend(vocab.token_to_piece(*token, true, None));
    }
    assert_eq!(String::from_utf8(round_trip)?, prompt);
    // Bytes outside the normal tokens fall back to byte tokens.
    let odd = "é\t😀";
    let odd_tokens = vocab.tokenize(odd.as_bytes(), false, false);
    let mut odd_round_trip = Vec::new();
    for token in &odd_tokens {
        odd_round_trip.extend(vocab.token_to_piece(*token, false, None));
    }
    assert_eq!(odd_round_trip, odd.as_bytes());

    // llguidance can build its token trie from this vocabulary.
    let t = Instant::now();
    let tok_env = LlamaSampler::llguidance_tok_env(&model);
    let trie = tok_env.tok_trie();
    println!(
        "llguidance TokEnv: vocab_size={} eos={} built in {:?}",
        trie.vocab_size(),
        trie.token_dbg(trie.eos_token()),
        t.elapsed()
    );
    assert_eq!(trie.vocab_size(), fixture::FIXTURE_VOCAB_SIZE as usize);

    let n_ctx = fixture::FIXTURE_CONTEXT_LENGTH;
    let t = Instant::now();
    let ctx_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_threads(2)
        .with_n_threads_batch(2);
    let mut ctx = model.new_context(&backend, ctx_params)?;
    println!("created context in {:?}", t.elapsed());

    let max_new_tokens = 60;
    let mut outputs = Vec::new();
    for sampler_seed in 0..4u32 {
        ctx.clear_kv_cache();
        let t = Instant::now();
        let mut batch = LlamaBatch::new(n_ctx as usize, 1);
        let last = tokens.len() - 1;
        for (i, token) in tokens.iter().enumerate() {
            batch.add(*token, i32::try_from(i)?, &[0], i == last)?;
        }
        ctx.decode(&mut batch)?;
        let mut n_past = i32::try_from(tokens.len())?;

        let mut sampler = LlamaSampler::chain_simple([
            LlamaSampler::grammar(&model, GRAMMAR, "root")?,
            LlamaSampler::dist(sampler_seed),
        ]);
        let mut text = Vec::new();
        let mut generated = Vec::new();
        let mut stopped = false;
        for _ in 0..max_new_tokens {
            let token = sampler.sample(&ctx, batch.n_tokens() - 1);
            generated.push(token.0);
            if vocab.is_eog(token) {
                stopped = true;
                break;
            }
            text.extend(vocab.token_to_piece(token, false, None));
            batch.clear();
            batch.add(token, n_past, &[0], true)?;
            n_past += 1;
            ctx.decode(&mut batch)?;
        }
        let text = String::from_utf8(text)?;
        println!(
            "seed {sampler_seed}: {} tokens in {:?}, stopped={stopped}: {text}   tokens={generated:?}",
            generated.len(),
            t.elapsed()
        );
        assert!(
            stopped,
            "generation did not reach an end-of-generation token"
        );
        let value: serde_json::Value = serde_json::from_str(&text)?;
        let object = value.as_object().ok_or("not an object")?;
        assert_eq!(object.len(), 2);
        assert!(object.get("a").is_some_and(serde_json::Value::is_i64));
        let b = object
            .get("b")
            .and_then(serde_json::Value::as_str)
            .ok_or("b is not a string")?;
        assert!(b.chars().count() <= 8);
        outputs.push(text);
    }
    // A random model with different sampler seeds gives varied outputs.
    outputs.sort();
    outputs.dedup();
    assert!(outputs.len() > 1, "outputs were all identical: {outputs:?}");

    // Unconstrained greedy continuation, just to show the raw model output.
    ctx.clear_kv_cache();
    let mut batch = LlamaBatch::new(n_ctx as usize, 1);
    let last = tokens.len() - 1;
    for (i, token) in tokens.iter().enumerate() {
        batch.add(*token, i32::try_from(i)?, &[0], i == last)?;
    }
    ctx.decode(&mut batch)?;
    let mut n_past = i32::try_from(tokens.len())?;
    let mut sampler = LlamaSampler::greedy();
    let mut raw = Vec::new();
    for _ in 0..20 {
        let token = sampler.sample(&ctx, batch.n_tokens() - 1);
        raw.extend(vocab.token_to_piece(token, true, None));
        if vocab.is_eog(token) {
            break;
        }
        batch.clear();
        batch.add(token, n_past, &[0], true)?;
        n_past += 1;
        ctx.decode(&mut batch)?;
    }
    println!("unconstrained greedy: {:?}", String::from_utf8_lossy(&raw));

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
