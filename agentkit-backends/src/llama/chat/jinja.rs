//! The model's own Jinja chat template, rendered as Hugging Face's
//! `apply_chat_template` does: `messages`, `add_generation_prompt`,
//! `bos_token`/`eos_token`, `raise_exception`, `strftime_now`, Python string
//! methods, and blocks trimmed (`trim_blocks`, `lstrip_blocks`).

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Error as JinjaError, ErrorKind, Value};

/// The name the template is registered under inside its environment.
const NAME: &str = "chat_template";

/// Why a Jinja template could not render a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RenderError {
    /// The template called `raise_exception(message)`: its authors reject
    /// this conversation (e.g. roles that do not alternate).
    Raised(String),
    /// Any other failure (a feature minijinja lacks, a type error): the
    /// caller may fall back to llama.cpp's built-in list.
    Failed(String),
}

/// A compiled Jinja chat template with the model's special token texts.
pub(super) struct JinjaTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

impl JinjaTemplate {
    /// Compiles `source`; `bos` and `eos` are the model's token texts.
    /// Fails with minijinja's message when the template does not parse.
    pub(super) fn new(source: &str, bos: &str, eos: &str) -> Result<JinjaTemplate, String> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| describe(&e))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_filter("tojson", tojson);
        env.add_template_owned(NAME, source.to_string())
            .map_err(|e| describe(&e))?;
        Ok(JinjaTemplate {
            env,
            bos: bos.to_string(),
            eos: eos.to_string(),
        })
    }

    /// The model's BOS token text.
    pub(super) fn bos(&self) -> &str {
        &self.bos
    }

    /// Renders `messages` (role, content), opening the assistant's turn when
    /// `add_generation_prompt` is set. `kwargs` are further variables for
    /// the template (a model's switches such as `enable_thinking`); the
    /// names above win over a variable of the same name.
    pub(super) fn render(
        &self,
        messages: &[(&str, &str)],
        add_generation_prompt: bool,
        kwargs: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, RenderError> {
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| RenderError::Failed(describe(&e)))?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|(role, content)| {
                minijinja::context! { role => *role, content => *content }
            })
            .collect();
        template
            .render(minijinja::context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos.as_str(),
                eos_token => self.eos.as_str(),
                ..Value::from(minijinja::value::Serde(kwargs))
            })
            .map_err(|e| match raised(&e) {
                Some(message) => RenderError::Raised(message),
                None => RenderError::Failed(describe(&e)),
            })
    }
}

/// The prefix marking an error raised by the template itself.
const RAISED: &str = "raise_exception: ";

/// `raise_exception(message)`: stops rendering with the template's message.
fn raise_exception(message: String) -> Result<Value, JinjaError> {
    Err(JinjaError::new(
        ErrorKind::InvalidOperation,
        format!("{RAISED}{message}"),
    ))
}

/// The message of a `raise_exception` call somewhere in `error`'s chain.
fn raised(error: &JinjaError) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(j) = e.downcast_ref::<JinjaError>() {
            if let Some(message) = j.detail().and_then(|d| d.strip_prefix(RAISED)) {
                return Some(message.to_string());
            }
        }
        current = e.source();
    }
    None
}

/// `strftime_now(format)`: the local time now, as Python's `strftime`.
fn strftime_now(format: String) -> Result<Value, JinjaError> {
    let now = jiff::ZonedDateTime::now();
    jiff::fmt::strtime::format(format.as_str(), &now)
        .map(Value::from)
        .map_err(|e| JinjaError::new(ErrorKind::InvalidOperation, e.to_string()))
}

/// `tojson` as Hugging Face defines it (`json.dumps(x, ensure_ascii=False)`,
/// with `indent`): no HTML escaping, unlike minijinja's own filter.
fn tojson(value: Value, indent: Option<usize>) -> Result<Value, JinjaError> {
    let json = serde_json::to_value(&value)
        .map_err(|e| JinjaError::new(ErrorKind::BadSerialization, e.to_string()))?;
    let text = python_json(&json, indent, 0);
    Ok(Value::from_safe_string(text))
}

/// JSON as Python's `json.dumps` writes it: `", "` and `": "` on one line,
/// or with `indent`, one item a line.
fn python_json(value: &serde_json::Value, indent: Option<usize>, depth: usize) -> String {
    let items: Vec<String> = match value {
        serde_json::Value::Array(items) => items
            .iter()
            .map(|v| python_json(v, indent, depth + 1))
            .collect(),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let key = serde_json::Value::from(k.as_str());
                format!("{key}: {}", python_json(v, indent, depth + 1))
            })
            .collect(),
        other => return other.to_string(),
    };
    let (open, close) = match value {
        serde_json::Value::Array(_) => ("[", "]"),
        _ => ("{", "}"),
    };
    if items.is_empty() {
        return format!("{open}{close}");
    }
    match indent {
        None => format!("{open}{}{close}", items.join(", ")),
        Some(n) => {
            let inner = " ".repeat(n * (depth + 1));
            let outer = " ".repeat(n * depth);
            let sep = format!(",\n{inner}");
            format!("{open}\n{inner}{}\n{outer}{close}", items.join(&sep))
        }
    }
}

/// minijinja's error with its source chain, on one line.
fn describe(error: &JinjaError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
