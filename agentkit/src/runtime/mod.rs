//! The runtime: a backend handle plus the registry of model aliases, with
//! the record of which agents passed pre-flight and what was spent.

mod builder;
mod sources;
#[cfg(test)]
mod tests;

use std::any::TypeId;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::backend::Completion;
use crate::{Agent, Backend, Error, ModelSpec, Report, Step};

pub use builder::RuntimeBuilder;

/// Holds the backend and the model registry; everything an agent needs to run.
///
/// Cheap to clone: clones share the backend, its loaded models, the
/// pre-flight record and the usage counters.
#[derive(Clone)]
pub struct Runtime {
    backend: Option<Arc<dyn Backend>>,
    models: Arc<BTreeMap<String, ModelSpec>>,
    /// Agents (by type) whose pre-flight has passed on this runtime.
    checked: Arc<Mutex<HashSet<TypeId>>>,
    /// Pre-flight warnings already logged (step and message), so a chain
    /// run many times warns once.
    warned: Arc<Mutex<HashSet<(String, String)>>>,
    usage: Arc<Counters>,
    sources: Arc<sources::Sources>,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    prompt_tokens: AtomicU64,
    cached_prompt_tokens: AtomicU64,
    generated_tokens: AtomicU64,
    reasoning_tokens: AtomicU64,
    cut_answers: AtomicU64,
    tool_calls: AtomicU64,
}

/// Model calls and tokens spent on a runtime so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Backend calls (each retry, sample and scored call is a call).
    pub calls: u64,
    /// Prompt tokens over all calls that report them.
    pub prompt_tokens: u64,
    /// Of those, the ones a backend took from a cache (a prefix shared with
    /// another call) instead of evaluating them.
    pub cached_prompt_tokens: u64,
    /// Generated tokens of the answers over all calls.
    pub generated_tokens: u64,
    /// Generated tokens inside think blocks over all calls (agents with a
    /// [`Reasoning`](crate::Reasoning) setting), apart from the answers'.
    pub reasoning_tokens: u64,
    /// Answers a backend closed at their token budget (agents with
    /// [`Sampling::close_at_budget`](crate::Sampling::close_at_budget)):
    /// valid, but shorter than the model would have written.
    pub cut_answers: u64,
    /// Tool calls made by tool-using agents (each call of a turn counts).
    pub tool_calls: u64,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("has_backend", &self.backend.is_some())
            .field("models", &self.models)
            .finish()
    }
}

impl Runtime {
    /// Starts a runtime with no backend and no registered models.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            backend: None,
            entries: Vec::new(),
            sources: Default::default(),
        }
    }

    /// The model agents reach under `alias`: one registered with the builder,
    /// else one the backend provides by that name (its default model, say).
    pub fn model(&self, alias: &str) -> Option<ModelSpec> {
        if let Some(spec) = self.models.get(alias) {
            return Some(spec.clone());
        }
        self.backend.as_ref()?.model(alias)
    }

    /// Every model registered with the builder, by alias (not those the
    /// backend provides on its own).
    pub fn models(&self) -> impl Iterator<Item = &ModelSpec> {
        self.models.values()
    }

    /// This runtime with `alias` re-pointed at the model `of` names (an
    /// alias this runtime knows, or one its backend provides): how one agent
    /// is tried on another model without touching its code. The new runtime
    /// shares the backend and its loaded models (a model two runtimes name
    /// is loaded once) but has its own pre-flight record and usage counters,
    /// so what it spends is its own. An unknown `of` is
    /// [`Error::UnknownModel`], naming the aliases there are.
    pub fn with_model(&self, alias: &str, of: &str) -> Result<Runtime, Error> {
        let spec = self.resolve(alias, of)?;
        let mut models = (*self.models).clone();
        models.insert(alias.to_string(), spec.renamed(alias));
        Ok(Runtime {
            backend: self.backend.clone(),
            models: Arc::new(models),
            checked: Arc::default(),
            warned: Arc::default(),
            usage: Arc::default(),
            sources: Arc::clone(&self.sources),
        })
    }

    /// Resolves the model `agent` asks for, or says which aliases exist and
    /// which one was probably meant.
    pub fn resolve(&self, agent: &str, alias: &str) -> Result<ModelSpec, Error> {
        self.model(alias).ok_or_else(|| {
            let suggestion =
                agentkit_manifest::suggest(alias, self.models.keys().map(String::as_str))
                    .map(str::to_string);
            Error::UnknownModel {
                agent: agent.to_string(),
                alias: alias.to_string(),
                known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
                suggestion,
            }
        })
    }

    /// Pre-flight for the agent `A`, run once per runtime: its model
    /// resolves, the backend accepts its schema and its fixed prompt. Every
    /// way of running an agent (bare, scored, inside any combinator) goes
    /// through here before its first model call, so one mistake gives the
    /// same [`Error::Preflight`] however the agent is wrapped. An agent that
    /// fails is checked again next time, in case the cause was fixed.
    pub async fn preflight<A: Agent>(&self) -> Result<(), Error> {
        let key = TypeId::of::<A>();
        if self
            .checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key)
        {
            return Ok(());
        }
        let problems = crate::run::problems::<A>(self).await;
        if !problems.is_empty() {
            return Err(Error::Preflight {
                report: Report { problems },
            });
        }
        self.checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key);
        Ok(())
    }

    /// Runs the agent `agent` on `input`: pre-flight (once per runtime),
    /// prompt, generation under the output's grammar, parsing, the agent's
    /// check, retries and voting. What a hand-written agent's
    /// [`Step::run`] calls; `#[agent]` generates the same call.
    pub async fn run_agent<A: Agent>(
        &self,
        agent: &A,
        input: A::Input,
    ) -> Result<A::Output, Error> {
        crate::run::run_agent(agent, self, input).await
    }

    /// The pre-flight problems of the agent `agent` (none once it has passed
    /// on this runtime). What a hand-written agent's [`Step::check`] calls.
    pub async fn check_agent<A: Agent>(&self, agent: &A) -> Vec<crate::Problem> {
        crate::run::check_agent(agent, self).await
    }

    /// Checks `step` without running it: every model alias resolves, every
    /// output schema compiles, every prompt fits, for every step at once.
    ///
    /// Warnings ([`Problem::warning`](crate::Problem#structfield.warning):
    /// agents whose input could overflow their context) do not fail the
    /// check; each is logged once per runtime, and [`Runtime::check_report`]
    /// lists them.
    pub async fn check<In, S: Step<In>>(&self, step: &S) -> Result<(), Error> {
        let (warnings, problems): (Vec<_>, Vec<_>) =
            step.check(self).await.into_iter().partition(|p| p.warning);
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        for w in warnings {
            if warned.insert((w.step.clone(), w.message.clone())) {
                tracing::warn!(step = %w.step, "{}", w.message);
            }
        }
        drop(warned);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Preflight {
                report: Report { problems },
            })
        }
    }

    /// Everything pre-flight finds in `step`, warnings included, without
    /// failing: which agents cannot run, and which could overflow their
    /// model's context on a long input (their input has text or lists with
    /// no bound and no fitting policy; see the book's "Long inputs" chapter).
    pub async fn check_report<In, S: Step<In>>(&self, step: &S) -> Report {
        Report {
            problems: step.check(self).await,
        }
    }

    /// A report on every model alias the runtime knows, in alias order,
    /// before any call: architecture, size, quantization, contexts, chat
    /// template and why, special tokens, load time, memory, and warnings for
    /// what is known to go wrong (see [`ModelReport`](crate::backend::ModelReport);
    /// print it with `{}`). An in-process backend loads each model to read
    /// it, once, as a first call would. A model the backend cannot report on
    /// gets a report with its location only; one that fails to load fails
    /// the whole report with that error.
    pub async fn report(&self) -> Result<Vec<crate::backend::ModelReport>, Error> {
        let backend = self.backend()?;
        let mut reports = Vec::new();
        for spec in self.models.values() {
            let mut report = match backend.report(spec).await? {
                Some(report) => report,
                None => {
                    let location = match spec.path() {
                        Some(path) => path.display().to_string(),
                        None => spec
                            .endpoints()
                            .iter()
                            .map(|e| format!("`{}` at {}", e.model, e.url))
                            .collect::<Vec<_>>()
                            .join(", "),
                    };
                    crate::backend::ModelReport::new(spec.alias.clone(), location)
                }
            };
            // Two aliases of one file share its loaded model: each report
            // says its own alias and variables.
            report.alias = spec.alias.clone();
            report.chat_template_kwargs = spec.chat_template_kwargs.clone();
            reports.push(report);
        }
        Ok(reports)
    }

    /// Calls and tokens spent on this runtime (and its clones) so far.
    pub fn usage(&self) -> Usage {
        Usage {
            calls: self.usage.calls.load(Ordering::Relaxed),
            prompt_tokens: self.usage.prompt_tokens.load(Ordering::Relaxed),
            cached_prompt_tokens: self.usage.cached_prompt_tokens.load(Ordering::Relaxed),
            generated_tokens: self.usage.generated_tokens.load(Ordering::Relaxed),
            reasoning_tokens: self.usage.reasoning_tokens.load(Ordering::Relaxed),
            cut_answers: self.usage.cut_answers.load(Ordering::Relaxed),
            tool_calls: self.usage.tool_calls.load(Ordering::Relaxed),
        }
    }

    /// Counts one backend call and the tokens it reports.
    pub(crate) fn record(&self, completion: &Completion) {
        self.usage.calls.fetch_add(1, Ordering::Relaxed);
        self.usage
            .prompt_tokens
            .fetch_add(completion.prompt_tokens as u64, Ordering::Relaxed);
        self.usage
            .cached_prompt_tokens
            .fetch_add(completion.cached_prompt_tokens as u64, Ordering::Relaxed);
        self.usage
            .generated_tokens
            .fetch_add(completion.generated_tokens as u64, Ordering::Relaxed);
        self.usage
            .reasoning_tokens
            .fetch_add(completion.reasoning_tokens as u64, Ordering::Relaxed);
        if completion.cut {
            self.usage.cut_answers.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one tool call a tool-using agent made.
    pub(crate) fn record_tool_call(&self) {
        self.usage.tool_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one backend call that reports no tokens (a scored call).
    pub(crate) fn record_call(&self) {
        self.usage.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The backend, or [`Error::NoBackend`].
    pub fn backend(&self) -> Result<&dyn Backend, Error> {
        self.backend.as_deref().ok_or(Error::NoBackend)
    }
}
