//! Tuning a scored agent on labelled data, so a small model stops giving one
//! answer to everything.
//!
//! [`tune`] scores every labelled example of a dev split once per few-shot
//! example set, then searches offline: plain argmax, contextual calibration
//! (the lean measured on content-free inputs, divided out), and per-answer
//! offsets fitted on the dev split (a threshold per label). Each candidate is
//! scored on the dev split and, for the report only, on a test split; the
//! best on dev wins. The winner is a [`Tuning`]: the few-shot examples and
//! one log-probability offset per answer (calibration folds into the
//! offsets), saved as JSON and loaded at run time with
//! [`ScoredAgent::tuned_from`](crate::ScoredAgent::tuned_from).
//!
//! ```no_run
//! # use agentkit::prelude::*;
//! # use agentkit::eval::{read_jsonl, Example};
//! # use agentkit::tune::{tune, Search};
//! # #[derive(Serialize, Deserialize, JsonSchema)] struct Thread { title: String }
//! # #[derive(Serialize, Deserialize, JsonSchema)] struct Worth { worth_answering: bool }
//! # /// Decide.
//! # #[agent(model = "judge", input = Thread, output = Worth)] struct Judge;
//! # async fn demo(runtime: &Runtime) -> Result<(), Error> {
//! let dev: Vec<Example<Thread>> = read_jsonl("data/judge_dev.jsonl")?;
//! let test: Vec<Example<Thread>> = read_jsonl("data/judge_test.jsonl")?;
//! let blank = Thread { title: String::new() };
//! let search = Search::new("worth_answering").content_free(vec![blank]);
//! let report = tune(Judge, runtime, &search, &dev, &test).await?;
//! println!("{report}");
//! report.tuning.save("judge.tuning.json")?;
//! // at run time:
//! let judge = scored(Judge).tuned_from("judge.tuning.json")?;
//! # let _ = judge; Ok(()) }
//! ```

mod fit;
mod report;
mod search;
mod tuning;

use serde_json::Value;

use crate::eval::Example;
use crate::{Agent, Error, Runtime, ScoredAgent, Shot};

use fit::{fit, folds, score, too_small, Split};
pub use report::{Candidate, CrossValidated, Score, TuneReport};
pub use search::{Metric, Search};
pub use tuning::Tuning;

/// Scores `agent` (as a scored choice) on `dev` and `test` once per few-shot
/// set of `search`, then picks the answer offsets that do best on `dev`
/// among plain argmax, contextual calibration and offsets fitted on `dev`
/// (starting from either). `test` is only reported (give `&[]` for none).
///
/// The output must be one field of choices (a `bool`, a fieldless enum, or
/// a struct with one such field), and each example's `expected` must hold
/// the search's label; examples without it are skipped. Costs one scored
/// call per example and content-free input, per few-shot set. `agent` is
/// taken for its type (instructions, model alias and output are all on
/// [`Agent`]); apply the result with
/// `scored(agent).tuned(&report.tuning)`.
pub async fn tune<A: Agent>(
    agent: A,
    runtime: &Runtime,
    search: &Search<A::Input>,
    dev: &[Example<A::Input>],
    test: &[Example<A::Input>],
) -> Result<TuneReport, Error> {
    let _ = agent;
    tune_agent::<A>(runtime, search, dev, test).await
}

/// [`tune`] for the agent type `A`.
pub(crate) async fn tune_agent<A: Agent>(
    runtime: &Runtime,
    search: &Search<A::Input>,
    dev: &[Example<A::Input>],
    test: &[Example<A::Input>],
) -> Result<TuneReport, Error> {
    let fields = ScoredAgent::<A>::fields()?;
    let [(field, answers)] = fields.as_slice() else {
        return Err(Error::UnsupportedSchema {
            agent: A::NAME.to_string(),
            location: "the schema root".into(),
            reason: format!(
                "the tuner tunes one field of choices, and this output has {}; tune an agent that decides one thing",
                fields.len()
            ),
        });
    };
    let predicts = predicts(answers, search);
    let mut candidates = Vec::new();
    let mut settings = Vec::new();
    // Whether the dev split can be cut into folds, and the folds: the same
    // for every few-shot set (the labels do not change with the shots).
    let mut small = None;
    let mut fold = Vec::new();
    for (set_name, shots) in &search.shot_sets {
        let shots_ref = shots.as_deref();
        let (dev_split, _) = score_split::<A>(runtime, shots_ref, &search.label, dev).await?;
        if fold.is_empty() {
            small = too_small(&dev_split.labels, search.folds);
            fold = folds(&dev_split.labels, search.folds);
        }
        let (test_split, _) = score_split::<A>(runtime, shots_ref, &search.label, test).await?;
        let mut starts = vec![("argmax".to_string(), vec![0.0; answers.len()])];
        if !search.content_free.is_empty() {
            let mut prior = vec![0.0; answers.len()];
            for input in &search.content_free {
                let probs = ScoredAgent::<A>::raw(runtime, shots_ref, input).await?;
                for (q, p) in prior.iter_mut().zip(probs.first().into_iter().flatten()) {
                    *q += p / search.content_free.len() as f64;
                }
            }
            starts.push((
                "calibrated".into(),
                prior
                    .iter()
                    .map(|q| -q.max(f64::MIN_POSITIVE).ln())
                    .collect(),
            ));
        }
        let mut fitted = Vec::new();
        for (start_name, start) in &starts {
            let offsets = fit(&dev_split, &predicts, start, search.metric);
            fitted.push((
                format!("{start_name} + fitted offsets"),
                Some(start.clone()),
                offsets,
            ));
        }
        let plain = starts
            .into_iter()
            .map(|(name, offsets)| (name, None, offsets));
        for (name, refit_from, offsets) in plain.chain(fitted) {
            let score = |split: &Split| score(split, &predicts, &offsets, search.metric);
            let cv = small.is_none().then(|| {
                cross_validate(&dev_split, &fold, search.folds, |train, held| {
                    let offsets = match &refit_from {
                        Some(start) => fit(train, &predicts, start, search.metric),
                        None => offsets.clone(),
                    };
                    fit::score(held, &predicts, &offsets, search.metric).metric
                })
            });
            candidates.push(Candidate {
                name: format!("{set_name}, {name}"),
                fitted: if refit_from.is_some() {
                    answers.len()
                } else {
                    0
                },
                dev: score(&dev_split),
                cv,
                test: (!test_split.labels.is_empty()).then(|| score(&test_split)),
            });
            settings.push((shots.clone(), offsets));
        }
    }
    let (chosen, note) = choose(&candidates, small);
    let (shots, offsets) = settings.swap_remove(chosen);
    let model = runtime.resolve(A::NAME, A::MODEL)?.key();
    let winner = &candidates[chosen];
    let tuning = Tuning {
        agent: A::NAME.to_string(),
        field: field.clone(),
        model: model.name(),
        shots,
        offsets: answers.iter().cloned().zip(offsets).collect(),
        candidate: winner.name.clone(),
        dev: winner.dev.metric,
        cv: winner.cv.map(|cv| cv.mean),
        test: winner.test.as_ref().map(|t| t.metric),
    };
    Ok(TuneReport {
        metric: search.metric,
        candidates,
        chosen,
        tuning,
        note,
    })
}

/// The label each answer predicts: its `counts_as` label, else itself.
fn predicts<I>(answers: &[String], search: &Search<I>) -> Vec<Value> {
    answers
        .iter()
        .map(|a| {
            search
                .counts_as
                .get(a)
                .cloned()
                .unwrap_or_else(|| serde_json::from_str(a).unwrap_or(Value::Null))
        })
        .collect()
}

/// Scores `tuning` (as [`tune`] chose it for `agent`, on the model the
/// agent's alias resolves to) on the labelled `examples` of a split it was
/// not tuned on, by `search`'s label, decoys and metric: how to tell a
/// tuning that transfers from one that fits its dev split only. Costs one
/// scored call per labelled example.
pub async fn score_tuning<A: Agent>(
    agent: A,
    runtime: &Runtime,
    search: &Search<A::Input>,
    tuning: &Tuning,
    examples: &[Example<A::Input>],
) -> Result<Score, Error> {
    let _ = agent;
    Ok(score_tuned::<A>(runtime, search, tuning, examples).await?.0)
}

/// [`score_tuning`], with how long each scored call took.
pub(crate) async fn score_tuned<A: Agent>(
    runtime: &Runtime,
    search: &Search<A::Input>,
    tuning: &Tuning,
    examples: &[Example<A::Input>],
) -> Result<(Score, Vec<std::time::Duration>), Error> {
    let fields = ScoredAgent::<A>::fields()?;
    let Some((_, answers)) = fields.iter().find(|(f, _)| *f == tuning.field) else {
        return Err(Error::Tuning {
            path: std::path::PathBuf::new(),
            reason: format!(
                "it tunes field `{}`, which the output of `{}` does not have; tune the agent again",
                tuning.field,
                A::NAME
            ),
        });
    };
    let offsets: Vec<f64> = answers
        .iter()
        .map(|a| tuning.offsets.get(a).copied().unwrap_or(0.0))
        .collect();
    let (split, times) =
        score_split::<A>(runtime, tuning.shots.as_deref(), &search.label, examples).await?;
    let score = score(&split, &predicts(answers, search), &offsets, search.metric);
    Ok((score, times))
}

/// Each fold of `split` (`fold[i]` is example i's) scored by `held_out`
/// given the other folds to fit on and the fold to score: the mean and the
/// spread of the folds' metric.
fn cross_validate(
    split: &Split,
    fold: &[usize],
    k: usize,
    held_out: impl Fn(&Split, &Split) -> f64,
) -> CrossValidated {
    let metrics: Vec<f64> = (0..k)
        .map(|f| {
            let train = split.subset(|i| fold[i] != f);
            let held = split.subset(|i| fold[i] == f);
            held_out(&train, &held)
        })
        .collect();
    let mean = metrics.iter().sum::<f64>() / k as f64;
    let var = metrics.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (k - 1).max(1) as f64;
    CrossValidated {
        mean,
        spread: var.sqrt(),
        folds: k,
    }
}

/// The winner among `candidates` and what to know about the choice. With
/// cross-validated scores: the best, unless the folds do not separate it
/// (within one standard error) from a candidate that fits fewer numbers on
/// the dev split, which then wins. Without (`small` says why): the best on
/// dev, the simplest among ties, with a note that says so.
fn choose(candidates: &[Candidate], small: Option<String>) -> (usize, Option<String>) {
    let mut best = 0;
    let cv = |c: &Candidate| c.cv.map_or(c.dev.metric, |cv| cv.mean);
    for (i, c) in candidates.iter().enumerate() {
        if cv(c) > cv(&candidates[best]) + 1e-9 {
            best = i;
        }
    }
    if let Some(why) = small {
        return (
            best,
            Some(format!(
                "the dev split is too small to choose by cross-validation ({why}): chosen by its \
                 score on the dev split it was fitted on, which flatters fitted offsets; check it on \
                 held-out data, or label more dev examples"
            )),
        );
    }
    let Some(top) = candidates[best].cv else {
        return (best, None);
    };
    let margin = top.spread / (top.folds as f64).sqrt();
    let simplest = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| cv(c) >= top.mean - margin - 1e-9)
        .min_by_key(|(i, c)| (c.fitted, *i))
        .map_or(best, |(i, _)| i);
    if candidates[simplest].fitted < candidates[best].fitted {
        let (b, s) = (&candidates[best], &candidates[simplest]);
        return (
            simplest,
            Some(format!(
                "the folds do not separate `{}` ({:.2} ± {:.2}) from `{}` ({:.2}), which fits {} \
                 numbers fewer on the dev split: chose the latter",
                b.name,
                top.mean,
                top.spread,
                s.name,
                cv(s),
                b.fitted - s.fitted
            )),
        );
    }
    (best, None)
}

/// The model's probabilities and the label of every example that has one.
/// With how long each scored call took.
async fn score_split<A: Agent>(
    runtime: &Runtime,
    shots: Option<&[Shot]>,
    label: &str,
    examples: &[Example<A::Input>],
) -> Result<(Split, Vec<std::time::Duration>), Error> {
    let mut split = Split {
        probs: Vec::new(),
        labels: Vec::new(),
    };
    let mut times = Vec::new();
    for example in examples {
        let Some(label) = crate::eval::lookup(&example.expected, label) else {
            continue;
        };
        let started = std::time::Instant::now();
        let probs = ScoredAgent::<A>::raw(runtime, shots, &example.input).await?;
        times.push(started.elapsed());
        split
            .probs
            .push(probs.into_iter().next().unwrap_or_default());
        split.labels.push(label.clone());
    }
    Ok((split, times))
}
