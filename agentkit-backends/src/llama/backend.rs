//! [`Llama`] as an [`agentkit::Backend`]: generation under the grammar,
//! streaming, scored choices, pre-flight checks and the model report.

use agentkit::backend::{
    Backend, Choice, Completion, Deltas, ModelReport, ModelSpec, Request, TokenCount,
};
use agentkit::Error;

use super::decode::{self, Constraint};
use super::engine::task::Task;
use super::score::Score;
use super::think_first::ThinkFirst;
use super::{known_model, report, run_blocking, Llama};
#[cfg(doc)]
use super::{DEFAULT_MODEL, KNOWN_MODELS};

#[async_trait::async_trait]
impl Backend for Llama {
    /// The default model, [`DEFAULT_MODEL`], and the others of
    /// [`KNOWN_MODELS`] are known without registration.
    fn model(&self, alias: &str) -> Option<ModelSpec> {
        known_model(alias)
    }

    fn system(&self, _model: &ModelSpec) -> Option<&'static str> {
        Some("llama.cpp")
    }

    async fn generate(&self, request: Request) -> Result<Completion, Error> {
        self.run(request, Constraint::Schema, None).await
    }

    /// Streams token by token: each token's text is sent as soon as it is
    /// sampled (held back only while it ends inside a UTF-8 character).
    async fn generate_streaming(
        &self,
        request: Request,
        deltas: Deltas,
    ) -> Result<Completion, Error> {
        self.run(request, Constraint::Schema, Some(deltas)).await
    }

    /// Scores every option from the logits. A thinking agent thinks first
    /// (its think block as in generation), and the options are scored after
    /// the close tag.
    async fn choose(&self, request: Request, choices: Vec<Choice>) -> Result<Vec<Vec<f64>>, Error> {
        self.submit(request, move |model, request, n_ctx, prompt, answer| {
            let prompt = prompt.len();
            let (score, reserve) = Score::new(model, &choices, prompt, answer);
            let (task, reserve): (Box<dyn Task>, usize) = match &request.sampling.reasoning {
                Some(r) => {
                    let (first, think) = ThinkFirst::new(r, request, model.llama(), score);
                    (Box::new(first), reserve + think)
                }
                None => (Box::new(score), reserve),
            };
            model.fits(request.agent, prompt, reserve, n_ctx)?;
            Ok((task, reserve))
        })
        .await
    }

    async fn check(&self, request: &Request) -> Result<(), Error> {
        let this = self.clone();
        let request = request.clone();
        run_blocking(request.agent, move || {
            let model = this.model(&request.model)?;
            decode::check(&this.shared, &model, &request)
        })
        .await
    }

    /// Counts exactly: the prompt through the model's chat template (and the
    /// opened think block where the agent thinks), tokenized as a call
    /// tokenizes it; the context is the one every call gets
    /// ([`LlamaConfig::context_size`](super::LlamaConfig::context_size),
    /// capped at what the model was trained on).
    async fn count_tokens(&self, request: &Request) -> Result<TokenCount, Error> {
        let this = self.clone();
        let request = request.clone();
        run_blocking(request.agent, move || {
            let model = this.model(&request.model)?;
            let prompt = model.prompt_tokens(&request)?.len();
            let context = model.context_size(this.shared.config.context_size);
            Ok(TokenCount::exact(prompt, Some(context)))
        })
        .await
    }

    /// The model's own tokens of `text` (no special tokens), their bytes
    /// added up; `None` where the pieces do not add up to `text` (a
    /// tokenizer that normalises), so the runtime estimates instead.
    async fn token_offsets(
        &self,
        spec: &ModelSpec,
        text: &str,
    ) -> Result<Option<Vec<usize>>, Error> {
        let this = self.clone();
        let (spec, text) = (spec.clone(), text.to_string());
        run_blocking("", move || {
            let model = this.model(&spec)?;
            Ok(model.token_offsets(&text))
        })
        .await
    }

    /// Loads the model (once, as a first call would) and reads its GGUF:
    /// architecture, parameters, quantization, contexts, vocabulary, chat
    /// template and why, special tokens, load time, weights and KV-cache
    /// memory, and warnings for a missing template, a context larger than
    /// the trained one, and template variables the template never reads.
    async fn report(&self, spec: &ModelSpec) -> Result<Option<ModelReport>, Error> {
        let this = self.clone();
        let spec = spec.clone();
        run_blocking("", move || {
            let model = this.model(&spec)?;
            Ok(Some(report::report(&model, &spec, &this.shared.config)))
        })
        .await
    }
}
