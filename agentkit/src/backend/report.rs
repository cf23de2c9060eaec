//! What a backend can say about a model before any call: [`ModelReport`].

use std::fmt;
use std::time::Duration;

/// Where a model's chat template comes from: what turns an agent's messages
/// into the text the model reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateSource {
    /// The model's own Jinja template (from the GGUF, or configured), run as
    /// its authors' tooling runs it.
    Jinja,
    /// A format from llama.cpp's built-in list, chosen by name or guessed
    /// from the Jinja text.
    Builtin,
    /// The server renders prompts with whatever template it was started with.
    Server,
    /// None: every call on the model fails until one is configured.
    Missing,
}

impl fmt::Display for TemplateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TemplateSource::Jinja => "Jinja",
            TemplateSource::Builtin => "llama.cpp built-in",
            TemplateSource::Server => "the server's",
            TemplateSource::Missing => "none",
        })
    }
}

/// What a backend knows about one model of a runtime, before any call:
/// [`Runtime::report`](crate::Runtime::report) gathers one per alias, and
/// its `Display` is a short block of `key: value` lines.
///
/// Fields a backend cannot know are `None` (or empty). Built with
/// [`ModelReport::new`]; `#[non_exhaustive]` so it can grow.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelReport {
    /// The alias agents name.
    pub alias: String,
    /// Where the model is: its file, or its endpoints.
    pub location: String,
    /// The architecture as the weights name it (`llama`, `qwen2`, ...).
    pub architecture: Option<String>,
    /// The model's name as its file names it (`general.name`).
    pub name: Option<String>,
    /// How many parameters the weights hold.
    pub parameters: Option<u64>,
    /// How the weights are quantized (`Q4_K_M`, `Q8_0`, `F16`, ...).
    pub quantization: Option<String>,
    /// The context the model was trained on, in tokens.
    pub trained_context: Option<u32>,
    /// The context one call gets here, in tokens.
    pub context: Option<u32>,
    /// How many tokens the vocabulary holds.
    pub vocabulary: Option<u32>,
    /// Where the chat template comes from.
    pub template: TemplateSource,
    /// Why that template, in a few words.
    pub template_reason: String,
    /// The special tokens prompts and answers are framed with, as
    /// `(role, text)`: `("bos", "<|im_start|>")`, `("eos", ...)`, ...
    pub special_tokens: Vec<(String, String)>,
    /// The chat-template variables sent with every prompt.
    pub chat_template_kwargs: serde_json::Map<String, serde_json::Value>,
    /// How long loading the weights took.
    pub load_time: Option<Duration>,
    /// Bytes of the weights in memory.
    pub weights_bytes: Option<u64>,
    /// Bytes the KV cache takes once the model's engine runs.
    pub kv_cache_bytes: Option<u64>,
    /// What is known to go wrong with this model as set up, each with its fix.
    pub warnings: Vec<String>,
}

impl ModelReport {
    /// A report on `alias` at `location` that knows nothing else yet.
    pub fn new(alias: impl Into<String>, location: impl Into<String>) -> ModelReport {
        ModelReport {
            alias: alias.into(),
            location: location.into(),
            architecture: None,
            name: None,
            parameters: None,
            quantization: None,
            trained_context: None,
            context: None,
            vocabulary: None,
            template: TemplateSource::Server,
            template_reason: String::new(),
            special_tokens: Vec::new(),
            chat_template_kwargs: serde_json::Map::new(),
            load_time: None,
            weights_bytes: None,
            kv_cache_bytes: None,
            warnings: Vec::new(),
        }
    }
}

/// `n` with a unit: `135.0M`, `1.5B`.
fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1}B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}K", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// Bytes in MiB.
fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

impl fmt::Display for ModelReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model `{}`: {}", self.alias, self.location)?;
        let mut line = |key: &str, value: Option<String>| match value {
            Some(v) => writeln!(f, "  {key:<14} {v}"),
            None => Ok(()),
        };
        line("name", self.name.clone())?;
        line("architecture", self.architecture.clone())?;
        line("parameters", self.parameters.map(count))?;
        line("quantization", self.quantization.clone())?;
        line(
            "context",
            match (self.context, self.trained_context) {
                (Some(c), Some(t)) => Some(format!("{c} tokens per call (trained on {t})")),
                (Some(c), None) => Some(format!("{c} tokens per call")),
                (None, Some(t)) => Some(format!("trained on {t} tokens")),
                (None, None) => None,
            },
        )?;
        line("vocabulary", self.vocabulary.map(|v| format!("{v} tokens")))?;
        let reason = if self.template_reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.template_reason)
        };
        line("chat template", Some(format!("{}{reason}", self.template)))?;
        if !self.chat_template_kwargs.is_empty() {
            let kwargs = serde_json::Value::Object(self.chat_template_kwargs.clone());
            line("template vars", Some(kwargs.to_string()))?;
        }
        if !self.special_tokens.is_empty() {
            let tokens: Vec<String> = self
                .special_tokens
                .iter()
                .map(|(role, text)| format!("{role} {text:?}"))
                .collect();
            line("special tokens", Some(tokens.join(", ")))?;
        }
        line(
            "load time",
            self.load_time.map(|t| format!("{:.2} s", t.as_secs_f64())),
        )?;
        line(
            "memory",
            match (self.weights_bytes, self.kv_cache_bytes) {
                (Some(w), Some(kv)) => Some(format!(
                    "{} ({} weights + {} KV cache)",
                    mib(w + kv),
                    mib(w),
                    mib(kv)
                )),
                (Some(w), None) => Some(format!("{} weights", mib(w))),
                _ => None,
            },
        )?;
        for warning in &self.warnings {
            writeln!(f, "  warning: {warning}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_prints_what_it_knows_and_skips_the_rest() {
        let mut report = ModelReport::new("draft", "/models/q.gguf");
        report.architecture = Some("qwen2".into());
        report.parameters = Some(494_032_768);
        report.context = Some(2048);
        report.trained_context = Some(32768);
        report.template = TemplateSource::Jinja;
        report.template_reason = "the GGUF's own".into();
        report.special_tokens = vec![("eos".into(), "<|im_end|>".into())];
        report.weights_bytes = Some(400 << 20);
        report.kv_cache_bytes = Some(96 << 20);
        report.warnings.push("no template".into());
        let text = report.to_string();
        assert!(
            text.starts_with("model `draft`: /models/q.gguf\n"),
            "{text}"
        );
        assert!(text.contains("parameters     494.0M\n"), "{text}");
        assert!(
            text.contains("context        2048 tokens per call (trained on 32768)"),
            "{text}"
        );
        assert!(
            text.contains("chat template  Jinja (the GGUF's own)"),
            "{text}"
        );
        assert!(text.contains("special tokens eos \"<|im_end|>\""), "{text}");
        assert!(
            text.contains("memory         496 MiB (400 MiB weights + 96 MiB KV cache)"),
            "{text}"
        );
        assert!(text.contains("  warning: no template\n"), "{text}");
        assert!(!text.contains("quantization"), "{text}");
    }
}
