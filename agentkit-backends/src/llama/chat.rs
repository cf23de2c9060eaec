//! Chat rendering: a request's messages → prompt text, through the model's
//! chat template.

use agentkit::backend::{BackendError, Request};
use agentkit::Error;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};

/// The chat template of one model: the configured one, else the GGUF's own.
/// A model without one still loads; calls on it fail with
/// [`Error::ChatTemplate`] naming the reason.
pub(super) struct ChatTemplate(Result<LlamaChatTemplate, String>);

impl ChatTemplate {
    /// `configured` (a Jinja template or a name llama.cpp knows), else the one
    /// stored in `model`.
    pub(super) fn resolve(model: &LlamaModel, configured: Option<&str>) -> ChatTemplate {
        ChatTemplate(match configured {
            Some(t) => LlamaChatTemplate::new(t)
                .map_err(|_| "the configured chat template contains a NUL byte".to_string()),
            None => model
                .chat_template(None)
                .map_err(|_| "the GGUF file has no chat template".to_string()),
        })
    }

    /// The prompt text of `request`, ending with the assistant's turn opened.
    /// `alias` names the model in errors.
    pub(super) fn render(
        &self,
        model: &LlamaModel,
        alias: &str,
        request: &Request,
    ) -> Result<String, Error> {
        let template = self.0.as_ref().map_err(|reason| Error::ChatTemplate {
            model: alias.to_string(),
            reason: reason.clone(),
        })?;
        let messages = request
            .prompt
            .messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                Error::backend(
                    request.agent,
                    BackendError::new("the prompt contains a NUL byte; remove it from the input"),
                )
            })?;
        model
            .apply_chat_template(template, &messages, true)
            .map_err(|e| Error::ChatTemplate {
                model: alias.to_string(),
                reason: format!("llama.cpp could not apply the chat template: {e}"),
            })
    }
}
