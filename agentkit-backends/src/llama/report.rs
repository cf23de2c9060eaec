//! The report on a loaded model: what its GGUF says, how it is set up here,
//! and what is known to go wrong with that set-up.

use agentkit::backend::{ModelReport, TemplateSource};
use agentkit::ModelSpec;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::model::LoadedModel;
use super::LlamaConfig;

/// The report on `model`, loaded for `spec`, as `config` runs it.
pub(super) fn report(model: &LoadedModel, spec: &ModelSpec, config: &LlamaConfig) -> ModelReport {
    let (_, path, template, load_time) = model.parts();
    let llama = model.llama();
    let mut report = ModelReport::new(spec.alias.clone(), path.display().to_string());
    let meta = |key: &str| llama.meta_val_str(key).ok().filter(|v| !v.is_empty());
    let architecture = meta("general.architecture");
    report.name = meta("general.name");
    report.parameters = Some(llama.n_params());
    report.quantization = meta("general.file_type")
        .and_then(|t| t.parse::<u32>().ok())
        .map(file_type);
    let trained = llama.n_ctx_train();
    report.trained_context = (trained > 0).then_some(trained);
    let context = model.context_size(config.context_size);
    report.context = u32::try_from(context).ok();
    report.vocabulary = u32::try_from(llama.n_vocab()).ok();
    let (source, reason) = template.described().clone();
    report.template = source;
    report.template_reason = reason;
    report.special_tokens = special_tokens(llama);
    report.load_time = Some(load_time);
    report.weights_bytes = Some(llama.size());
    report.kv_cache_bytes = Some(model.kv_cache_bytes());
    report.architecture = architecture;
    report.warnings = warnings(&report, template.text(), spec, config);
    report
}

/// What is known to go wrong with this set-up, each with its fix.
fn warnings(
    report: &ModelReport,
    text: Option<&str>,
    spec: &ModelSpec,
    config: &LlamaConfig,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if report.template == TemplateSource::Missing {
        warnings.push(format!(
            "no chat template ({}): every call fails; a GGUF without one is usually a base \
             model, not meant for chat: use its -Instruct version, or set \
             `LlamaConfig::chat_template` (a Jinja template, or a name such as \"chatml\")",
            report.template_reason
        ));
    }
    if let Some(trained) = report.trained_context {
        if config.context_size > trained {
            warnings.push(format!(
                "context_size {} is more than the {trained} tokens the model was trained on; \
                 calls get {trained}",
                config.context_size
            ));
        }
    }
    let kwargs = &spec.chat_template_kwargs;
    if !kwargs.is_empty() {
        match (&report.template, text) {
            (TemplateSource::Jinja, Some(text)) => {
                for name in kwargs.keys().filter(|name| !text.contains(name.as_str())) {
                    warnings.push(format!(
                        "the chat template never reads the variable `{name}`: check its \
                         spelling against the template, or drop it"
                    ));
                }
            }
            _ => warnings.push(
                "chat_template_kwargs are given, but only a Jinja template reads them; this \
                 model's template is not rendered as Jinja"
                    .to_string(),
            ),
        }
    }
    warnings
}

/// The model's framing tokens that exist, as `(role, text)`.
fn special_tokens(llama: &LlamaModel) -> Vec<(String, String)> {
    let vocab = llama.vocab();
    let n = vocab.n_tokens();
    let mut seen = Vec::new();
    let mut tokens = Vec::new();
    for (role, token) in [
        ("bos", vocab.bos()),
        ("eos", vocab.eos()),
        ("eot", vocab.eot()),
    ] {
        if token.0 < 0 || token.0 >= n || seen.contains(&token) {
            continue;
        }
        seen.push(token);
        tokens.push((role.to_string(), text(llama, token)));
    }
    tokens
}

/// The text of `token`, special tokens included.
fn text(llama: &LlamaModel, token: LlamaToken) -> String {
    String::from_utf8_lossy(&llama.vocab().token_to_piece(token, true, None)).into_owned()
}

/// The name of a GGUF `general.file_type` (llama.cpp's `llama_ftype`).
fn file_type(t: u32) -> String {
    let name = match t {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        other => return format!("file type {other}"),
    };
    name.to_string()
}
