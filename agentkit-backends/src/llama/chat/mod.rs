//! Chat rendering: a request's messages → prompt text, through the model's
//! chat template. The template's own Jinja source is run (see [`jinja`]), as
//! the model's authors wrote it; llama.cpp's built-in list of known formats,
//! which guesses the format from substrings, is the fallback when that fails.

mod jinja;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};

use agentkit::backend::{BackendError, Request, TemplateSource};
use agentkit::Error;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token::LlamaToken;

use jinja::{JinjaTemplate, RenderError};

/// How one model's prompts are rendered.
enum Source {
    /// The Jinja template, with llama.cpp's reading of the same text as the
    /// fallback (`None` when the text has a NUL byte).
    Jinja(Box<JinjaTemplate>, Option<LlamaChatTemplate>),
    /// llama.cpp's built-in list: a configured name, or a Jinja template
    /// minijinja could not parse.
    Builtin(LlamaChatTemplate),
    /// No usable template; every call fails with this reason.
    Missing(String),
}

/// The chat template of one model: the configured one, else the GGUF's own.
/// A model without one still loads; calls on it fail with
/// [`Error::ChatTemplate`] naming the reason.
pub(super) struct ChatTemplate {
    source: Source,
    /// Which renderer, and why, for the model report.
    described: (TemplateSource, String),
    /// The template's text, where it has one (for the report's checks).
    text: Option<String>,
    /// Whether the fallback after a failed Jinja rendering was logged.
    warned: AtomicBool,
}

impl ChatTemplate {
    /// `configured` (a Jinja template, or a name in llama.cpp's list such as
    /// `chatml`), else the one stored in `model`. `alias` names the model in
    /// the log line saying which renderer is used and why.
    pub(super) fn resolve(
        model: &LlamaModel,
        alias: &str,
        configured: Option<&str>,
    ) -> ChatTemplate {
        let mut text = None;
        let source = match configured {
            Some(name) if !is_jinja(name) => match LlamaChatTemplate::new(name) {
                Ok(t) => {
                    tracing::info!(model = %alias, template = %name, "chat template: llama.cpp's built-in `{name}`, configured by name");
                    Source::Builtin(t)
                }
                Err(_) => {
                    Source::Missing("the configured chat template contains a NUL byte".into())
                }
            },
            Some(configured) => {
                text = Some(configured.to_string());
                jinja_or_builtin(model, alias, configured, "the configured")
            }
            None => match model.chat_template(None).map(|t| t.to_string()) {
                Ok(Ok(gguf)) => {
                    let source = jinja_or_builtin(model, alias, &gguf, "the GGUF's");
                    text = Some(gguf);
                    source
                }
                Ok(Err(_)) => Source::Missing("the GGUF's chat template is not UTF-8".into()),
                Err(_) => Source::Missing("the GGUF file has no chat template".into()),
            },
        };
        let described = match (&source, configured) {
            (Source::Jinja(..), None) => (TemplateSource::Jinja, "the GGUF's own".to_string()),
            (Source::Jinja(..), Some(_)) => (TemplateSource::Jinja, "configured".to_string()),
            (Source::Builtin(_), Some(name)) if !is_jinja(name) => (
                TemplateSource::Builtin,
                format!("`{name}`, configured by name"),
            ),
            (Source::Builtin(_), _) => (
                TemplateSource::Builtin,
                "guessed from the Jinja text, which minijinja cannot parse".to_string(),
            ),
            (Source::Missing(reason), _) => (TemplateSource::Missing, reason.clone()),
        };
        ChatTemplate {
            source,
            described,
            text,
            warned: AtomicBool::new(false),
        }
    }

    /// Which renderer this template uses, and why.
    pub(super) fn described(&self) -> &(TemplateSource, String) {
        &self.described
    }

    /// The template's text, where it has one.
    pub(super) fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// The prompt text of `request`, ending with the assistant's turn opened.
    /// `alias` names the model in errors.
    pub(super) fn render(
        &self,
        model: &LlamaModel,
        alias: &str,
        request: &Request,
    ) -> Result<String, Error> {
        let messages = messages(request);
        if messages.iter().any(|(_, content)| content.contains('\0')) {
            return Err(Error::backend(
                request.agent,
                BackendError::new("the prompt contains a NUL byte; remove it from the input"),
            ));
        }
        let error = |reason: String| Error::ChatTemplate {
            model: alias.to_string(),
            reason,
        };
        match &self.source {
            Source::Missing(reason) => Err(error(reason.clone())),
            Source::Builtin(template) => builtin(model, template, &messages).map_err(error),
            Source::Jinja(jinja, fallback) => match jinja.render(&messages, true, &request.model.chat_template_kwargs) {
                Ok(text) => Ok(strip_bos(model, jinja.bos(), text)),
                Err(RenderError::Raised(message)) => Err(error(format!(
                    "the chat template rejected the conversation: {message}; change the agent's messages, or configure another `chat_template`"
                ))),
                Err(RenderError::Failed(why)) => {
                    if !self.warned.swap(true, Ordering::Relaxed) {
                        tracing::warn!(model = %alias, "chat template: the Jinja template failed to render ({why}); falling back to llama.cpp's built-in list");
                    }
                    let template = fallback.as_ref().ok_or_else(|| {
                        error(format!("the Jinja chat template failed to render: {why}"))
                    })?;
                    builtin(model, template, &messages)
                        .map_err(|e| error(format!("the Jinja chat template failed to render ({why}), and {e}")))
                }
            },
        }
    }
}

impl ChatTemplate {
    /// `request`'s prompt as llama.cpp's built-in list renders it from the
    /// same template text (`None` when there is no Jinja text to guess
    /// from): what the Jinja rendering is compared with.
    pub(super) fn render_builtin(
        &self,
        model: &LlamaModel,
        request: &Request,
    ) -> Option<Result<String, String>> {
        let Source::Jinja(_, Some(fallback)) = &self.source else {
            return None;
        };
        let messages = messages(request);
        Some(builtin(model, fallback, &messages))
    }
}

/// `request`'s messages as (role, content).
fn messages(request: &Request) -> Vec<(&str, &str)> {
    request
        .prompt
        .messages
        .iter()
        .map(|m| (m.role.as_str(), m.content.as_str()))
        .collect()
}

/// Whether a configured template is Jinja source rather than a name.
fn is_jinja(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// The Jinja renderer for `text`, else llama.cpp's built-in list; logs which
/// and why. `whose` says where the text came from.
fn jinja_or_builtin(model: &LlamaModel, alias: &str, text: &str, whose: &str) -> Source {
    let vocab = model.vocab();
    let bos = token_text(model, vocab.bos());
    let eos = token_text(model, vocab.eos());
    let fallback = LlamaChatTemplate::new(text).ok();
    match (JinjaTemplate::new(text, &bos, &eos), fallback) {
        (Ok(jinja), fallback) => {
            tracing::info!(model = %alias, "chat template: rendering {whose} Jinja template");
            Source::Jinja(Box::new(jinja), fallback)
        }
        (Err(why), Some(builtin)) => {
            tracing::warn!(model = %alias, "chat template: {whose} Jinja template does not parse ({why}); falling back to llama.cpp's built-in list");
            Source::Builtin(builtin)
        }
        (Err(why), None) => Source::Missing(format!(
            "{whose} chat template does not parse ({why}) and contains a NUL byte"
        )),
    }
}

/// The text of `token` (empty when the model has no such token).
fn token_text(model: &LlamaModel, token: LlamaToken) -> String {
    let vocab = model.vocab();
    if token.0 < 0 || token.0 >= vocab.n_tokens() {
        return String::new();
    }
    String::from_utf8_lossy(&vocab.token_to_piece(token, true, None)).into_owned()
}

/// `text` without a leading BOS when tokenizing adds one anyway, as
/// llama.cpp's own Jinja chat path does, so the prompt has a single BOS.
fn strip_bos(model: &LlamaModel, bos: &str, text: String) -> String {
    if !bos.is_empty() && model.vocab().should_add_bos() {
        if let Some(rest) = text.strip_prefix(bos) {
            return rest.to_string();
        }
    }
    text
}

/// `messages` through llama.cpp's built-in list.
fn builtin(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    messages: &[(&str, &str)],
) -> Result<String, String> {
    let messages = messages
        .iter()
        .map(|(role, content)| LlamaChatMessage::new(role.to_string(), content.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "the prompt contains a NUL byte; remove it from the input".to_string())?;
    model
        .apply_chat_template(template, &messages, true)
        .map_err(|e| format!("llama.cpp could not apply the chat template: {e}"))
}
