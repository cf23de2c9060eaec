//! A tiny, random-weight GGUF model for tests.
//!
//! [`write_fixture_model`] writes a complete, self-describing GGUF v3 file
//! (architecture `llama`, f32 weights, `SentencePiece`-style `llama` tokenizer
//! with byte fallback, `ChatML` chat template) that llama.cpp loads and runs in
//! milliseconds. Its output is meaningless, but it is *varied* and fully
//! deterministic for a given seed, which is exactly what tests of
//! grammar-constrained decoding need: every token the model picks must be
//! forced into shape by the constraint, so a passing test proves the
//! constraint rather than the model.
//!
//! The module depends on nothing but `std`.
//!
//! Layout notes (checked against llama.cpp's loader):
//! * every metadata value has the exact GGUF type llama.cpp asks for
//!   (counts are `u32`, epsilons `f32`, flags `bool`); the loader does not
//!   convert between integer widths;
//! * tensor shapes are written in ggml order (`ne[0]` is the inner, contiguous
//!   dimension), e.g. `token_embd.weight` is `{n_embd, n_vocab}` and
//!   `blk.N.ffn_down.weight` is `{n_ff, n_embd}`;
//! * tensor data offsets are relative to the (aligned) start of the data
//!   section, and each tensor is padded to `general.alignment`.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// `general.name` of the fixture model, so tests can recognise it in logs.
pub const FIXTURE_MODEL_NAME: &str = "agentkit-fixture";

/// `ChatML` Jinja template stored under `tokenizer.chat_template`.
///
/// It wraps every message as `<|im_start|>{role}\n{content}<|im_end|>\n` and,
/// with `add_generation_prompt`, appends `<|im_start|>assistant\n`. llama.cpp's
/// built-in template matcher recognises it as `ChatML` (it contains
/// `<|im_start|>`), so `llama_chat_apply_template` works without a Jinja
/// engine, and Jinja-based renderers get the same text.
pub const FIXTURE_CHAT_TEMPLATE: &str = r"{%- for message in messages -%}{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' -}}{%- endfor -%}{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\n' -}}{%- endif -%}";

/// Number of transformer blocks (`llama.block_count`); two, so the per-layer
/// loop and KV cache are exercised with more than one layer.
pub const FIXTURE_N_LAYER: u32 = 2;
/// Hidden size (`llama.embedding_length`).
pub const FIXTURE_N_EMBD: u32 = 64;
/// Attention heads (`llama.attention.head_count`).
pub const FIXTURE_N_HEAD: u32 = 4;
/// Key/value heads (`llama.attention.head_count_kv`); fewer than
/// [`FIXTURE_N_HEAD`] so grouped-query attention is exercised too.
pub const FIXTURE_N_HEAD_KV: u32 = 2;
/// Feed-forward width (`llama.feed_forward_length`).
pub const FIXTURE_N_FF: u32 = 128;
/// Training context length (`llama.context_length`); contexts larger than
/// this make llama.cpp warn, so tests should use `n_ctx <= 512`.
pub const FIXTURE_CONTEXT_LENGTH: u32 = 512;
/// RMS-norm epsilon (`llama.attention.layer_norm_rms_epsilon`).
pub const FIXTURE_RMS_EPS: f32 = 1e-5;
/// Per-head dimension, which is also the rope dimension count
/// (`llama.rope.dimension_count`): llama.cpp rejects a `llama` model whose
/// rope dimension differs from the head dimension.
pub const FIXTURE_HEAD_DIM: u32 = FIXTURE_N_EMBD / FIXTURE_N_HEAD;

/// Token id of `<unk>` (also `tokenizer.ggml.padding_token_id`).
pub const FIXTURE_UNK_ID: u32 = 0;
/// Token id of `<s>` (`tokenizer.ggml.bos_token_id`; never added
/// automatically because `tokenizer.ggml.add_bos_token` is false).
pub const FIXTURE_BOS_ID: u32 = 1;
/// Token id of `</s>`, `SentencePiece`'s classic end-of-sequence token. It is
/// not the model's EOS (that is [`FIXTURE_IM_END_ID`]), but llama.cpp
/// recognises the text and treats it as end-of-generation too.
pub const FIXTURE_SPM_EOS_ID: u32 = 2;
/// Token id of the first byte token `<0x00>`; byte `b` is token
/// `FIXTURE_BYTE_BASE_ID + b`, so every byte sequence is expressible.
pub const FIXTURE_BYTE_BASE_ID: u32 = 3;
/// Token id of `<|im_start|>` (control token opening a `ChatML` turn).
pub const FIXTURE_IM_START_ID: u32 = FIXTURE_BYTE_BASE_ID + 256;
/// Token id of `<|im_end|>`: the model's EOS and EOT token, so generation of
/// a `ChatML` assistant turn stops on it.
pub const FIXTURE_IM_END_ID: u32 = FIXTURE_IM_START_ID + 1;

/// Multi-character "normal" tokens, best (highest score) first.
///
/// The `SentencePiece` merge algorithm in llama.cpp only forms a token out of
/// two adjacent pieces that are themselves tokens, so every word below comes
/// with a chain of prefixes that leads to it. `▁` (U+2581) is `SentencePiece`'s
/// escaped space.
const MULTI_CHAR_TOKENS: &[&str] = &[
    "\":\"", "\":", "\",", "\"}", "{\"", ",\"", "▁\"", "▁▁", "true", "tru", "tr", "false", "fals",
    "fal", "fa", "null", "nul", "nu", "name", "nam", "na", "age", "ag", "answer", "answe", "answ",
    "ans", "an", "tool", "too", "to", "args", "arg", "ar", "ok", "00", "10", "12", "123",
];

/// Total number of tokens in the fixture vocabulary (`llama.vocab_size`).
///
/// They are `<unk>`, `<s>`, `</s>`, 256 byte tokens, `<|im_start|>`, `<|im_end|>`,
/// `▁`, the 94 printable ASCII characters `!`..`~`, and the multi-character
/// tokens.
#[allow(clippy::cast_possible_truncation)] // a few dozen entries; `try_from` is not const
pub const FIXTURE_VOCAB_SIZE: u32 = FIXTURE_IM_END_ID + 1 + 1 + 94 + MULTI_CHAR_TOKENS.len() as u32;

/// GGUF value types (see ggml's `gguf.h`).
const GGUF_TYPE_UINT32: u32 = 4;
const GGUF_TYPE_INT32: u32 = 5;
const GGUF_TYPE_FLOAT32: u32 = 6;
const GGUF_TYPE_BOOL: u32 = 7;
const GGUF_TYPE_STRING: u32 = 8;
const GGUF_TYPE_ARRAY: u32 = 9;

/// ggml tensor type of an f32 tensor.
const GGML_TYPE_F32: u32 = 0;

/// llama.cpp token types (`llama_token_type` in `llama.h`).
const TOKEN_TYPE_NORMAL: i32 = 1;
const TOKEN_TYPE_UNKNOWN: i32 = 2;
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_BYTE: i32 = 6;

/// Data alignment written to `general.alignment`.
const ALIGNMENT: u32 = 32;

/// Scale of the uniform jitter around 1.0 in the norm weights.
const NORM_JITTER: f32 = 0.05;
/// Half-width of the uniform distribution of the token embeddings. The
/// residual stream starts from the embedding, so a scale well above
/// [`WEIGHT`] keeps the current token's identity prominent while attention
/// and FFN blocks mix in the context.
const EMBED_WEIGHT: f32 = 1.0;
/// Half-width of the uniform distribution of the attention and FFN matrices.
const WEIGHT: f32 = 0.1;
/// Half-width for `output.weight`: a little larger, so that next-token
/// distributions are clearly non-uniform and change with the context.
const OUTPUT_WEIGHT: f32 = 0.3;

/// Writes the fixture model to `path`, with weights drawn from a PRNG seeded
/// by `seed`.
///
/// The same seed always produces a byte-identical file (about half a
/// megabyte), so tests are reproducible; different seeds give differently
/// behaving models. The file is built in memory and written in one go.
///
/// # Errors
///
/// Returns any I/O error from creating or writing the file.
pub fn write_fixture_model(path: &Path, seed: u64) -> io::Result<()> {
    write_bytes(
        path,
        &fixture_model_bytes(seed, Some(FIXTURE_CHAT_TEMPLATE)),
    )
}

/// Writes the fixture model with `template` as its `tokenizer.chat_template`,
/// e.g. a Jinja template whose markers llama.cpp's built-in list does not
/// know. The byte-level vocabulary tokenizes any markers.
///
/// # Errors
///
/// Returns any I/O error from creating or writing the file.
pub fn write_fixture_model_with_chat_template(
    path: &Path,
    seed: u64,
    template: &str,
) -> io::Result<()> {
    write_bytes(path, &fixture_model_bytes(seed, Some(template)))
}

/// Writes the fixture model without a `tokenizer.chat_template`, to test what
/// happens with a GGUF that carries no chat template.
///
/// # Errors
///
/// Returns any I/O error from creating or writing the file.
pub fn write_fixture_model_without_chat_template(path: &Path, seed: u64) -> io::Result<()> {
    write_bytes(path, &fixture_model_bytes(seed, None))
}

fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.flush()
}

/// A GGUF metadata value (only the kinds the fixture needs).
enum Value {
    U32(u32),
    F32(f32),
    Bool(bool),
    Str(String),
    StrArr(Vec<String>),
    F32Arr(Vec<f32>),
    I32Arr(Vec<i32>),
}

/// One f32 tensor: name, shape in ggml order, data.
struct Tensor {
    name: String,
    ne: Vec<u64>,
    data: Vec<f32>,
}

/// Deterministic splitmix64 generator for the weights.
struct SplitMix64(u64);

impl SplitMix64 {
    const fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-1, 1)`.
    fn next_signed_unit(&mut self) -> f32 {
        // 23 random mantissa bits with exponent 0 give a float in [1, 2).
        let mantissa = u32::try_from(self.next_u64() >> 41).unwrap_or(0);
        f32::from_bits(0x3F80_0000 | mantissa) * 2.0 - 3.0
    }

    fn fill(&mut self, n: u64, center: f32, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|_| center + scale * self.next_signed_unit())
            .collect()
    }
}

/// The vocabulary: (text, score, token type) in id order.
fn vocabulary() -> Vec<(String, f32, i32)> {
    let mut vocab: Vec<(String, f32, i32)> = Vec::with_capacity(FIXTURE_VOCAB_SIZE as usize);
    vocab.push(("<unk>".to_owned(), 0.0, TOKEN_TYPE_UNKNOWN));
    vocab.push(("<s>".to_owned(), 0.0, TOKEN_TYPE_CONTROL));
    vocab.push(("</s>".to_owned(), 0.0, TOKEN_TYPE_CONTROL));
    for byte in 0u32..256 {
        vocab.push((format!("<0x{byte:02X}>"), 0.0, TOKEN_TYPE_BYTE));
    }
    vocab.push(("<|im_start|>".to_owned(), 0.0, TOKEN_TYPE_CONTROL));
    vocab.push(("<|im_end|>".to_owned(), 0.0, TOKEN_TYPE_CONTROL));

    // Normal tokens. SentencePiece scores are log-probabilities; the merge
    // loop prefers the candidate with the highest score, so multi-character
    // tokens (listed best first) outrank each other in list order, and all of
    // them outrank single characters, which only matter as merge inputs.
    let mut normal: Vec<String> = MULTI_CHAR_TOKENS.iter().map(|s| (*s).to_owned()).collect();
    normal.push("▁".to_owned());
    normal.extend((0x21u8..=0x7E).map(|b| char::from(b).to_string()));
    let mut score = -1.0f32;
    for text in normal {
        vocab.push((text, score, TOKEN_TYPE_NORMAL));
        score -= 1.0;
    }
    vocab
}

/// All tensors, in the order llama.cpp's `llama` loader creates them.
fn tensors(seed: u64) -> Vec<Tensor> {
    let n_embd = u64::from(FIXTURE_N_EMBD);
    let n_vocab = u64::from(FIXTURE_VOCAB_SIZE);
    let n_ff = u64::from(FIXTURE_N_FF);
    let n_q = u64::from(FIXTURE_HEAD_DIM * FIXTURE_N_HEAD);
    let n_kv = u64::from(FIXTURE_HEAD_DIM * FIXTURE_N_HEAD_KV);

    let mut rng = SplitMix64(seed);
    let mut out: Vec<Tensor> = Vec::new();
    let mut push = |name: &str, ne: Vec<u64>, center: f32, scale: f32| {
        let data = rng.fill(ne.iter().product(), center, scale);
        let name = name.to_owned();
        out.push(Tensor { name, ne, data });
    };

    push(
        "token_embd.weight",
        vec![n_embd, n_vocab],
        0.0,
        EMBED_WEIGHT,
    );
    push("output_norm.weight", vec![n_embd], 1.0, NORM_JITTER);
    push("output.weight", vec![n_embd, n_vocab], 0.0, OUTPUT_WEIGHT);
    for layer in 0..FIXTURE_N_LAYER {
        let blk = |suffix: &str| format!("blk.{layer}.{suffix}.weight");
        push(&blk("attn_norm"), vec![n_embd], 1.0, NORM_JITTER);
        push(&blk("attn_q"), vec![n_embd, n_q], 0.0, WEIGHT);
        push(&blk("attn_k"), vec![n_embd, n_kv], 0.0, WEIGHT);
        push(&blk("attn_v"), vec![n_embd, n_kv], 0.0, WEIGHT);
        push(&blk("attn_output"), vec![n_q, n_embd], 0.0, WEIGHT);
        push(&blk("ffn_norm"), vec![n_embd], 1.0, NORM_JITTER);
        push(&blk("ffn_gate"), vec![n_embd, n_ff], 0.0, WEIGHT);
        push(&blk("ffn_down"), vec![n_ff, n_embd], 0.0, WEIGHT);
        push(&blk("ffn_up"), vec![n_embd, n_ff], 0.0, WEIGHT);
    }
    out
}

/// All metadata key/value pairs.
fn metadata(template: Option<&str>) -> Vec<(&'static str, Value)> {
    let vocab = vocabulary();
    let mut texts = Vec::with_capacity(vocab.len());
    let mut scores = Vec::with_capacity(vocab.len());
    let mut types = Vec::with_capacity(vocab.len());
    for (text, score, kind) in vocab {
        texts.push(text);
        scores.push(score);
        types.push(kind);
    }

    let mut kvs = vec![
        ("general.architecture", Value::Str("llama".to_owned())),
        ("general.name", Value::Str(FIXTURE_MODEL_NAME.to_owned())),
        ("general.alignment", Value::U32(ALIGNMENT)),
        // LLAMA_FTYPE_ALL_F32
        ("general.file_type", Value::U32(0)),
        ("llama.vocab_size", Value::U32(FIXTURE_VOCAB_SIZE)),
        ("llama.context_length", Value::U32(FIXTURE_CONTEXT_LENGTH)),
        ("llama.embedding_length", Value::U32(FIXTURE_N_EMBD)),
        ("llama.block_count", Value::U32(FIXTURE_N_LAYER)),
        ("llama.feed_forward_length", Value::U32(FIXTURE_N_FF)),
        ("llama.attention.head_count", Value::U32(FIXTURE_N_HEAD)),
        (
            "llama.attention.head_count_kv",
            Value::U32(FIXTURE_N_HEAD_KV),
        ),
        (
            "llama.attention.layer_norm_rms_epsilon",
            Value::F32(FIXTURE_RMS_EPS),
        ),
        ("llama.rope.dimension_count", Value::U32(FIXTURE_HEAD_DIM)),
        ("llama.rope.freq_base", Value::F32(10_000.0)),
        ("tokenizer.ggml.model", Value::Str("llama".to_owned())),
        ("tokenizer.ggml.tokens", Value::StrArr(texts)),
        ("tokenizer.ggml.scores", Value::F32Arr(scores)),
        ("tokenizer.ggml.token_type", Value::I32Arr(types)),
        ("tokenizer.ggml.bos_token_id", Value::U32(FIXTURE_BOS_ID)),
        ("tokenizer.ggml.eos_token_id", Value::U32(FIXTURE_IM_END_ID)),
        ("tokenizer.ggml.eot_token_id", Value::U32(FIXTURE_IM_END_ID)),
        (
            "tokenizer.ggml.unknown_token_id",
            Value::U32(FIXTURE_UNK_ID),
        ),
        (
            "tokenizer.ggml.padding_token_id",
            Value::U32(FIXTURE_UNK_ID),
        ),
        ("tokenizer.ggml.add_bos_token", Value::Bool(false)),
        ("tokenizer.ggml.add_eos_token", Value::Bool(false)),
        // Tokenize text as-is: no SentencePiece leading "▁" before the first
        // piece, so token pieces concatenate back to exactly the input.
        ("tokenizer.ggml.add_space_prefix", Value::Bool(false)),
    ];
    if let Some(template) = template {
        kvs.push(("tokenizer.chat_template", Value::Str(template.to_owned())));
    }
    kvs
}

/// Number of dimensions of a tensor (at most 2 here; ggml allows 4).
fn n_dims(tensor: &Tensor) -> u32 {
    u32::try_from(tensor.ne.len()).unwrap_or(u32::MAX)
}

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_u64(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

fn put_value(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::U32(v) => {
            put_u32(buf, GGUF_TYPE_UINT32);
            put_u32(buf, *v);
        }
        Value::F32(v) => {
            put_u32(buf, GGUF_TYPE_FLOAT32);
            buf.extend_from_slice(&v.to_le_bytes());
        }
        Value::Bool(v) => {
            put_u32(buf, GGUF_TYPE_BOOL);
            buf.push(u8::from(*v));
        }
        Value::Str(s) => {
            put_u32(buf, GGUF_TYPE_STRING);
            put_str(buf, s);
        }
        Value::StrArr(items) => {
            put_u32(buf, GGUF_TYPE_ARRAY);
            put_u32(buf, GGUF_TYPE_STRING);
            put_u64(buf, items.len() as u64);
            for s in items {
                put_str(buf, s);
            }
        }
        Value::F32Arr(items) => {
            put_u32(buf, GGUF_TYPE_ARRAY);
            put_u32(buf, GGUF_TYPE_FLOAT32);
            put_u64(buf, items.len() as u64);
            for v in items {
                buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        Value::I32Arr(items) => {
            put_u32(buf, GGUF_TYPE_ARRAY);
            put_u32(buf, GGUF_TYPE_INT32);
            put_u64(buf, items.len() as u64);
            for v in items {
                buf.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

fn pad_to_alignment(buf: &mut Vec<u8>) {
    let align = ALIGNMENT as usize;
    buf.resize(buf.len().div_ceil(align) * align, 0);
}

/// Serialises the whole GGUF file.
fn fixture_model_bytes(seed: u64, template: Option<&str>) -> Vec<u8> {
    let kvs = metadata(template);
    let tensors = tensors(seed);

    let mut buf: Vec<u8> = Vec::new();
    buf.extend_from_slice(b"GGUF");
    put_u32(&mut buf, 3);
    put_u64(&mut buf, tensors.len() as u64);
    put_u64(&mut buf, kvs.len() as u64);

    for (key, value) in &kvs {
        put_str(&mut buf, key);
        put_value(&mut buf, value);
    }

    // Tensor infos; offsets are relative to the start of the data section and
    // each tensor starts on an ALIGNMENT boundary.
    let mut offset: u64 = 0;
    for tensor in &tensors {
        put_str(&mut buf, &tensor.name);
        put_u32(&mut buf, n_dims(tensor));
        for ne in &tensor.ne {
            put_u64(&mut buf, *ne);
        }
        put_u32(&mut buf, GGML_TYPE_F32);
        put_u64(&mut buf, offset);
        let nbytes = tensor.data.len() as u64 * 4;
        offset += nbytes.div_ceil(u64::from(ALIGNMENT)) * u64::from(ALIGNMENT);
    }

    // Data section.
    pad_to_alignment(&mut buf);
    for tensor in &tensors {
        for v in &tensor.data {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        pad_to_alignment(&mut buf);
    }
    buf
}
