//! Right-sizing: run one agent on each candidate model, measure what each
//! gets right and what it costs, and choose the model its job needs.
//!
//! Small models are reliable when each agent gets the model its job needs:
//! a 135M model screens and classifies, a bigger one writes. [`Sizing`]
//! measures that choice instead of guessing it. For each candidate model
//! alias it re-points the agent's alias at the candidate (on a runtime that
//! shares the backend, so every model loads once; see
//! [`Runtime::with_model`]), then
//!
//! - for a **scored** agent ([`Sizing::scored`]): tunes it on the dev split
//!   for that model (a tuning belongs to one model) and takes the tuning's
//!   cross-validated dev score, then scores the tuning on every held-out
//!   split;
//! - for a **generating** agent ([`Sizing::generated`]): runs it on every
//!   example of every split and counts the outputs a check of yours accepts
//!   (a rule such as "names a word of the question, copies no line").
//!
//! and reports per candidate the scores, per-call latency p50/p95, tokens
//! and the model's memory. A [`Choose`] rule picks one: the smallest that
//! reaches a target, or the most accurate within a latency budget.
//! [`SizingReport::write_choice`] writes it into the manifest (and the
//! tuning file), never into code.
//!
//! ```no_run
//! # use agentkit::prelude::*;
//! # use agentkit::eval::{read_jsonl, Example};
//! # use agentkit::size::{Choose, Sizing};
//! # use agentkit::tune::Search;
//! # #[derive(Serialize, Deserialize, JsonSchema)] struct Thread { title: String }
//! # #[derive(Serialize, Deserialize, JsonSchema)] struct Worth { worth_answering: bool }
//! # /// Decide.
//! # #[agent(model = "judge", input = Thread, output = Worth)] struct Judge;
//! # async fn demo(runtime: &Runtime) -> Result<(), Error> {
//! let dev: Vec<Example<Thread>> = read_jsonl("data/dev.jsonl")?;
//! let test: Vec<Example<Thread>> = read_jsonl("data/test.jsonl")?;
//! let report = Sizing::new(&["smollm2-135m", "qwen2.5-coder-0.5b"], &dev)
//!     .held_out("test", &test)
//!     .choose(Choose::Smallest { target: 0.75 })
//!     .scored(Judge, runtime, &Search::new("worth_answering"))
//!     .await?;
//! println!("{report}");
//! report.write_choice("agentkit.toml".as_ref(), Some("tuned/Judge.json".as_ref()))?;
//! # Ok(()) }
//! ```

mod report;

use std::time::{Duration, Instant};

use crate::eval::Example;
use crate::tune::{Score, Search};
use crate::{Agent, Error, Runtime};

pub use report::{Choose, Measured, SizingReport};

/// One agent's sizing run: the candidate models, the labelled splits and the
/// rule that chooses. Build it, then run [`scored`](Sizing::scored) or
/// [`generated`](Sizing::generated).
#[derive(Debug, Clone)]
pub struct Sizing<'a, I> {
    candidates: Vec<String>,
    dev: &'a [Example<I>],
    held_out: Vec<(String, &'a [Example<I>])>,
    rule: Choose,
}

impl<'a, I> Sizing<'a, I> {
    /// Sizes over `candidates` (model aliases the runtime knows, smallest
    /// first by convention) with `dev` as the split to tune and choose on,
    /// no held-out split, and [`Choose::default`] (the most accurate).
    pub fn new(candidates: &[&str], dev: &'a [Example<I>]) -> Self {
        Sizing {
            candidates: candidates.iter().map(|c| c.to_string()).collect(),
            dev,
            held_out: Vec::new(),
            rule: Choose::default(),
        }
    }

    /// Also scores every candidate on `examples`, reported as `name`
    /// (never used to choose).
    pub fn held_out(mut self, name: &str, examples: &'a [Example<I>]) -> Self {
        self.held_out.push((name.to_string(), examples));
        self
    }

    /// Chooses by `rule`.
    pub fn choose(mut self, rule: Choose) -> Self {
        self.rule = rule;
        self
    }

    /// Sizes the scored agent `A`: per candidate, [`tune`](crate::tune::tune)
    /// on the dev split with `search`, then [`score_tuning`](crate::tune::score_tuning)
    /// on each held-out split. Costs, per candidate, what tuning costs plus
    /// one scored call per held-out example.
    pub async fn scored<A: Agent<Input = I>>(
        &self,
        agent: A,
        runtime: &Runtime,
        search: &Search<I>,
    ) -> Result<SizingReport, Error> {
        let _ = agent;
        self.check::<A>(runtime)?;
        let mut measured = Vec::new();
        for candidate in &self.candidates {
            let rt = runtime.with_model(A::MODEL, candidate)?;
            let tuned = crate::tune::tune_agent::<A>(&rt, search, self.dev, &[]).await?;
            let winner = &tuned.candidates[tuned.chosen];
            let mut held_out = Vec::new();
            let mut latencies = Vec::new();
            for (name, examples) in &self.held_out {
                let (score, times) =
                    crate::tune::score_tuned::<A>(&rt, search, &tuned.tuning, examples).await?;
                held_out.push((name.clone(), score));
                latencies.extend(times);
            }
            let (parameters, memory_bytes) = model_size::<A>(&rt).await?;
            measured.push(Measured {
                model: candidate.clone(),
                parameters,
                memory_bytes,
                dev: winner.dev.clone(),
                cv: winner.cv,
                held_out,
                latencies,
                prompt_tokens: 0.0,
                generated_tokens: 0.0,
                failures: Vec::new(),
                note: tuned.note.clone(),
                tuning: Some(tuned.tuning),
            });
        }
        Ok(SizingReport::new(A::NAME, A::MODEL, self.rule, measured))
    }

    /// Sizes the generating agent `agent`: per candidate, runs it on every
    /// example of the dev and held-out splits (one at a time, so latencies
    /// are clean) and scores the share of outputs `check` accepts (a run
    /// that fails counts as rejected). The labels are not read: `check` sees
    /// the input and the output. It is async, so it may be a rule
    /// (`async |input, output| rule(input, output)`) or a judging agent on a
    /// bigger model; measure such a judge's agreement with a reading of
    /// some outputs before trusting it. Its calls are not counted in the
    /// candidate's latency or tokens. Costs one call per example per
    /// candidate, plus the check's.
    pub async fn generated<A>(
        &self,
        agent: &A,
        runtime: &Runtime,
        check: impl AsyncFn(&I, &A::Output) -> bool,
    ) -> Result<SizingReport, Error>
    where
        A: Agent<Input = I>,
        I: Clone,
    {
        self.check::<A>(runtime)?;
        let mut measured = Vec::new();
        for candidate in &self.candidates {
            let rt = runtime.with_model(A::MODEL, candidate)?;
            let mut runs = Runs {
                latencies: Vec::new(),
                failures: Vec::new(),
            };
            let timed = self.held_out.is_empty();
            let dev = runs.score(agent, &rt, self.dev, timed, &check).await;
            let mut held_out = Vec::new();
            for (name, examples) in &self.held_out {
                let score = runs.score(agent, &rt, examples, true, &check).await;
                held_out.push((name.clone(), score));
            }
            let usage = rt.usage();
            let calls = usage.calls.max(1) as f64;
            let (parameters, memory_bytes) = model_size::<A>(&rt).await?;
            measured.push(Measured {
                model: candidate.clone(),
                parameters,
                memory_bytes,
                dev,
                cv: None,
                held_out,
                latencies: runs.latencies,
                prompt_tokens: usage.prompt_tokens as f64 / calls,
                generated_tokens: usage.generated_tokens as f64 / calls,
                tuning: None,
                failures: runs.failures,
                note: None,
            });
        }
        Ok(SizingReport::new(A::NAME, A::MODEL, self.rule, measured))
    }

    /// There are candidates and dev examples to choose with, and every
    /// candidate is a model the runtime knows (before any call).
    fn check<A: Agent>(&self, runtime: &Runtime) -> Result<(), Error> {
        for candidate in &self.candidates {
            runtime.with_model(A::MODEL, candidate)?;
        }
        let missing = if self.candidates.is_empty() {
            "no candidate models; give at least one model alias"
        } else if self.dev.is_empty() {
            "an empty dev split; give labelled examples to choose on"
        } else {
            return Ok(());
        };
        Err(Error::Sizing {
            agent: A::NAME.to_string(),
            reason: missing.to_string(),
        })
    }
}

/// What the runs of a generating agent on one candidate collected.
struct Runs {
    latencies: Vec<Duration>,
    failures: Vec<String>,
}

impl Runs {
    /// The share of `examples` whose output `check` accepts; each run's
    /// time kept when `timed`, each failure's error kept.
    async fn score<A: Agent>(
        &mut self,
        agent: &A,
        runtime: &Runtime,
        examples: &[Example<A::Input>],
        timed: bool,
        check: &impl AsyncFn(&A::Input, &A::Output) -> bool,
    ) -> Score
    where
        A::Input: Clone,
    {
        let mut score = Score {
            total: examples.len(),
            ..Score::default()
        };
        for example in examples {
            let started = Instant::now();
            let out = runtime.run_agent(agent, example.input.clone()).await;
            if timed {
                self.latencies.push(started.elapsed());
            }
            match out {
                Ok(out) => score.correct += usize::from(check(&example.input, &out).await),
                Err(e) => self.failures.push(e.to_string()),
            }
        }
        score.metric = score.correct as f64 / score.total.max(1) as f64;
        score
    }
}

/// The parameters and the memory (weights plus KV cache) of the model the
/// agent's alias resolves to on `runtime`, as far as the backend reports.
async fn model_size<A: Agent>(runtime: &Runtime) -> Result<(Option<u64>, Option<u64>), Error> {
    let spec = runtime.resolve(A::NAME, A::MODEL)?;
    let report = runtime.backend()?.report(&spec).await?;
    Ok(report.map_or((None, None), |r| {
        let memory = match (r.weights_bytes, r.kv_cache_bytes) {
            (None, None) => None,
            (w, k) => Some(w.unwrap_or(0) + k.unwrap_or(0)),
        };
        (r.parameters, memory)
    }))
}
