//! The agent as the macro understands it: typed values, each keeping the
//! tokens it came from so errors can point at them.

use proc_macro2::TokenStream;
use syn::{ItemStruct, LitStr, Path, Type};

use agentkit_manifest::settings::{self, Setting, SAMPLING};

use crate::attr::RawPair;
use crate::errors::Errors;

/// The keys `#[agent]` accepts before the sampling settings.
const LEADING_KEYS: &[&str] = &["model", "input", "output"];

/// The keys `#[agent]` accepts after the sampling settings.
const TRAILING_KEYS: &[&str] = &[
    "prompt",
    "crate",
    "validate",
    "retries",
    "samples",
    "examples",
    "input_format",
    "think",
    "close_at_budget",
];

/// Every key `#[agent]` accepts: the sampling settings are those of
/// [`agentkit_manifest::settings::SAMPLING`], the table the runtime checks
/// hand-written settings against.
pub fn keys() -> impl Iterator<Item = &'static str> {
    LEADING_KEYS
        .iter()
        .copied()
        .chain(SAMPLING.iter().map(|s| s.name))
        .chain(TRAILING_KEYS.iter().copied())
        .chain(tools::KEYS.iter().copied())
}

/// Where few-shot examples come from.
pub enum Examples {
    /// A JSON-lines file, relative to the crate's `Cargo.toml`.
    File(LitStr),
    /// A function returning `Vec<(Input, Output)>`, type-checked.
    Function(Path),
}

/// A number from the attribute with the tokens it was written as.
pub struct Number<T> {
    pub value: T,
    pub tokens: TokenStream,
}

/// The value of one sampling setting as the attribute gave it.
pub enum Given<'a> {
    /// A [`settings::Kind::Float`] setting's value.
    Float(&'a Number<f64>),
    /// A [`settings::Kind::Whole`] setting's value.
    Whole(&'a Number<u64>),
}

/// The agent: the struct plus everything the attribute said.
pub struct AgentModel {
    pub item: ItemStruct,
    pub model: Option<LitStr>,
    pub input: Option<Type>,
    pub output: Option<Type>,
    pub temperature: Option<Number<f64>>,
    pub top_p: Option<Number<f64>>,
    pub top_k: Option<Number<u64>>,
    pub max_tokens: Option<Number<u64>>,
    pub seed: Option<Number<u64>>,
    pub min_p: Option<Number<f64>>,
    pub repeat_penalty: Option<Number<f64>>,
    pub frequency_penalty: Option<Number<f64>>,
    pub presence_penalty: Option<Number<f64>>,
    pub repeat_window: Option<Number<u64>>,
    pub dry_multiplier: Option<Number<f64>>,
    pub dry_base: Option<Number<f64>>,
    pub dry_allowed_length: Option<Number<u64>>,
    pub think_budget: Option<Number<u64>>,
    pub think: Option<Type>,
    /// `close_at_budget = true`: close the answer within `max_tokens`.
    pub close_at_budget: Option<syn::LitBool>,
    pub prompt: Option<LitStr>,
    pub krate: Option<Path>,
    pub validate: Option<Path>,
    pub retries: Option<Number<u64>>,
    pub samples: Option<Number<u64>>,
    pub examples: Option<Examples>,
    pub input_format: Option<LitStr>,
    /// `tools`, `tool_sources`, `max_turns`, `parallel`.
    pub tools: ToolKeys,
    /// The struct's doc comment, joined into one string.
    pub doc: String,
    /// Every known key the attribute wrote, valid value or not, so that a bad
    /// value is not reported a second time as a missing key.
    pub given: Vec<String>,
}

impl AgentModel {
    /// Interprets the raw pairs for `item`, recording every bad key or value.
    pub fn from_pairs(item: ItemStruct, pairs: Vec<RawPair>, errors: &mut Errors) -> AgentModel {
        let doc = doc_comment(&item);
        let mut m = AgentModel {
            item,
            model: None,
            input: None,
            output: None,
            temperature: None,
            top_p: None,
            top_k: None,
            max_tokens: None,
            seed: None,
            min_p: None,
            repeat_penalty: None,
            frequency_penalty: None,
            presence_penalty: None,
            repeat_window: None,
            dry_multiplier: None,
            dry_base: None,
            dry_allowed_length: None,
            think_budget: None,
            think: None,
            close_at_budget: None,
            prompt: None,
            krate: None,
            validate: None,
            retries: None,
            samples: None,
            examples: None,
            input_format: None,
            tools: ToolKeys::default(),
            doc,
            given: Vec::new(),
        };
        for pair in pairs {
            let key = pair.key.to_string();
            if !keys().any(|k| k == key) {
                errors.spanned(&pair.key, unknown_key_message(&key));
                continue;
            }
            if m.gave(&key) {
                errors.spanned(
                    &pair.key,
                    format!("duplicate agent attribute `{key}`: give it once"),
                );
                continue;
            }
            m.given.push(key.clone());
            let Some(value) = pair.value else {
                // Malformed, and already reported by the parser.
                continue;
            };
            if value.is_empty() {
                errors.at(pair.eq_span, format!("`{key}` needs a value after `=`"));
                continue;
            }
            match key.as_str() {
                "model" => m.model = string(&key, value, errors),
                "prompt" => m.prompt = string(&key, value, errors),
                "input" => m.input = ty(&key, value, errors),
                "output" => m.output = ty(&key, value, errors),
                "think" => m.think = ty(&key, value, errors),
                "crate" => match syn::parse2::<Path>(value.clone()) {
                    Ok(p) => m.krate = Some(p),
                    Err(_) => errors.spanned(
                        &value,
                        "`crate` takes a path to the agentkit crate, e.g. `crate = my_crate::agentkit`",
                    ),
                },
                "temperature" => m.temperature = float(&key, value, errors),
                "top_p" => m.top_p = float(&key, value, errors),
                "top_k" => m.top_k = integer(&key, value, errors),
                "max_tokens" => m.max_tokens = integer(&key, value, errors),
                "seed" => m.seed = integer(&key, value, errors),
                "min_p" => m.min_p = float(&key, value, errors),
                "repeat_penalty" => m.repeat_penalty = float(&key, value, errors),
                "frequency_penalty" => m.frequency_penalty = float(&key, value, errors),
                "presence_penalty" => m.presence_penalty = float(&key, value, errors),
                "repeat_window" => m.repeat_window = integer(&key, value, errors),
                "dry_multiplier" => m.dry_multiplier = float(&key, value, errors),
                "dry_base" => m.dry_base = float(&key, value, errors),
                "dry_allowed_length" => m.dry_allowed_length = integer(&key, value, errors),
                "think_budget" => m.think_budget = integer(&key, value, errors),
                "retries" => m.retries = integer(&key, value, errors),
                "samples" => m.samples = integer(&key, value, errors),
                "input_format" => m.input_format = string(&key, value, errors),
                k if tools::KEYS.contains(&k) => m.tools.take(k, value, errors),
                "close_at_budget" => match syn::parse2::<syn::LitBool>(value.clone()) {
                    Ok(b) => m.close_at_budget = Some(b),
                    Err(_) => errors.spanned(
                        &value,
                        "`close_at_budget` takes `true` or `false`, e.g. `close_at_budget = true`",
                    ),
                },
                "validate" => match syn::parse2::<Path>(value.clone()) {
                    Ok(p) => m.validate = Some(p),
                    Err(_) => errors.spanned(
                        &value,
                        "`validate` takes the path of a function `fn(&Output) -> Result<(), String>` or `fn(&Input, &Output) -> Result<(), String>`, e.g. `validate = check_verdict`",
                    ),
                },
                "examples" => {
                    if let Ok(file) = syn::parse2::<LitStr>(value.clone()) {
                        m.examples = Some(Examples::File(file));
                    } else if let Ok(f) = syn::parse2::<Path>(value.clone()) {
                        m.examples = Some(Examples::Function(f));
                    } else {
                        errors.spanned(
                            &value,
                            "`examples` takes a JSON-lines file (`examples = \"examples/score.jsonl\"`) or a function returning `Vec<(Input, Output)>` (`examples = score_examples`)",
                        );
                    }
                }
                _ => {}
            }
        }
        m
    }

    /// Whether the attribute wrote `key`, whatever its value.
    pub fn gave(&self, key: &str) -> bool {
        self.given.iter().any(|k| k == key)
    }

    /// Every sampling setting in the order of [`SAMPLING`], with the value
    /// the attribute gave it, if a valid one.
    pub fn sampling(&self) -> [(&'static Setting, Option<Given<'_>>); 14] {
        [
            (
                &settings::TEMPERATURE,
                self.temperature.as_ref().map(Given::Float),
            ),
            (&settings::TOP_P, self.top_p.as_ref().map(Given::Float)),
            (&settings::TOP_K, self.top_k.as_ref().map(Given::Whole)),
            (
                &settings::MAX_TOKENS,
                self.max_tokens.as_ref().map(Given::Whole),
            ),
            (&settings::SEED, self.seed.as_ref().map(Given::Whole)),
            (&settings::MIN_P, self.min_p.as_ref().map(Given::Float)),
            (
                &settings::REPEAT_PENALTY,
                self.repeat_penalty.as_ref().map(Given::Float),
            ),
            (
                &settings::FREQUENCY_PENALTY,
                self.frequency_penalty.as_ref().map(Given::Float),
            ),
            (
                &settings::PRESENCE_PENALTY,
                self.presence_penalty.as_ref().map(Given::Float),
            ),
            (
                &settings::REPEAT_WINDOW,
                self.repeat_window.as_ref().map(Given::Whole),
            ),
            (
                &settings::DRY_MULTIPLIER,
                self.dry_multiplier.as_ref().map(Given::Float),
            ),
            (
                &settings::DRY_BASE,
                self.dry_base.as_ref().map(Given::Float),
            ),
            (
                &settings::DRY_ALLOWED_LENGTH,
                self.dry_allowed_length.as_ref().map(Given::Whole),
            ),
            (
                &settings::THINK_BUDGET,
                self.think_budget.as_ref().map(Given::Whole),
            ),
        ]
    }
}

fn unknown_key_message(key: &str) -> String {
    match agentkit_manifest::suggest(key, keys()) {
        Some(k) => format!("unknown agent attribute `{key}`; did you mean `{k}`?"),
        None => format!(
            "unknown agent attribute `{key}`; expected one of: {}",
            keys().collect::<Vec<_>>().join(", ")
        ),
    }
}

mod tools;
mod values;

pub use tools::ToolKeys;
use values::{doc_comment, float, integer, string, ty};
pub use values::{doc_lines, doc_only_under_headings};

#[cfg(test)]
mod tests;
