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

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::eval::Example;
use crate::{Agent, Error, Runtime, ScoredAgent, Shot};

/// What [`tune`] chose for one scored agent: saved as JSON, loaded at run
/// time with [`ScoredAgent::tuned_from`](crate::ScoredAgent::tuned_from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tuning {
    /// The agent it was tuned for ([`Agent::NAME`]).
    pub agent: String,
    /// The output field the offsets apply to (`""` for a bare value).
    pub field: String,
    /// The model file (its name) the offsets were fitted on; they are not
    /// applied on another model.
    pub model: Option<String>,
    /// The few-shot examples to show instead of the agent's own; `None`
    /// keeps the agent's own.
    pub shots: Option<Vec<Shot>>,
    /// Per answer (as JSON text: `"true"`, `"\"hardware\""`), the offset
    /// added to its log probability before the likeliest is chosen.
    pub offsets: BTreeMap<String, f64>,
    /// The winning candidate's name, as the report shows it.
    pub candidate: String,
    /// Its score on the dev split, by the search's metric.
    pub dev: f64,
    /// Its score on the test split, if one was given (reported, never used to choose).
    pub test: Option<f64>,
}

impl Tuning {
    /// Reads a tuning file written by [`Tuning::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Tuning, Error> {
        let path = path.as_ref();
        let bad = |reason: String| Error::Tuning {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad(format!("{e}; run the tuner to write it")))?;
        serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "{e}; it must be a tuning written by `Tuning::save` (run the tuner again)"
            ))
        })
    }

    /// Writes the tuning as pretty-printed JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let bad = |reason: String| Error::Tuning {
            path: path.to_path_buf(),
            reason,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| bad(e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| bad(e.to_string()))
    }
}

/// What the search maximises on the dev split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Metric {
    /// Share of examples whose label was predicted.
    #[default]
    Accuracy,
    /// Mean over labels of the share of that label's examples predicted
    /// right: a constant answer scores 1/labels, so it rewards using every
    /// label, as a small dev split with one common label needs.
    BalancedAccuracy,
}

/// The space [`tune`] searches, for an agent with input `I`.
pub struct Search<I> {
    label: String,
    shot_sets: Vec<(String, Option<Vec<Shot>>)>,
    content_free: Vec<I>,
    counts_as: BTreeMap<String, Value>,
    metric: Metric,
}

impl<I> Search<I> {
    /// Search for the label at `label` in each example's `expected` (a
    /// dotted path; `""` when `expected` is the label itself), with the
    /// agent's own few-shot examples, no calibration candidates, and
    /// [`Metric::Accuracy`].
    pub fn new(label: &str) -> Self {
        Search {
            label: label.to_string(),
            shot_sets: vec![("own examples".into(), None)],
            content_free: Vec::new(),
            counts_as: BTreeMap::new(),
            metric: Metric::Accuracy,
        }
    }

    /// Also try `shots` as the few-shot examples, named `name` in the report.
    pub fn shots(mut self, name: &str, shots: Vec<Shot>) -> Self {
        self.shot_sets.push((name.to_string(), Some(shots)));
        self
    }

    /// Also try contextual calibration, measuring the model's lean on these
    /// content-free inputs (an empty thread, one that says "N/A").
    pub fn content_free(mut self, inputs: Vec<I>) -> Self {
        self.content_free = inputs;
        self
    }

    /// Decoy classes: the agent answering `answer` counts as predicting
    /// `label`. An agent can then choose among finer answers than the
    /// labels (`open_question`, `solved`, `showcase`, `poll` for a
    /// `worth_answering` label) while being tuned against the labels.
    pub fn counts_as<V: Serialize + ?Sized, L: Serialize + ?Sized>(
        mut self,
        answer: &V,
        label: &L,
    ) -> Self {
        if let (Ok(answer), Ok(label)) =
            (serde_json::to_string(answer), serde_json::to_value(label))
        {
            self.counts_as.insert(answer, label);
        }
        self
    }

    /// Maximise `metric` on the dev split.
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }
}

/// How one candidate did on one split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    /// Examples whose label was predicted.
    pub correct: usize,
    /// Labelled examples.
    pub total: usize,
    /// The search's metric.
    pub metric: f64,
    /// How often each label was predicted (label as JSON text).
    pub predicted: BTreeMap<String, usize>,
}

/// One configuration the search tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// E.g. `own examples, calibrated + fitted offsets`.
    pub name: String,
    /// Its score on the dev split.
    pub dev: Score,
    /// Its score on the test split, if one was given.
    pub test: Option<Score>,
}

/// What [`tune`] measured and chose.
#[derive(Debug, Clone)]
pub struct TuneReport {
    /// The metric maximised.
    pub metric: Metric,
    /// Every candidate, simplest first: the dev and test curve.
    pub candidates: Vec<Candidate>,
    /// Index of the winner in `candidates`: best on dev, the simplest among ties.
    pub chosen: usize,
    /// The winner, to save and load at run time.
    pub tuning: Tuning,
}

/// Probabilities over one field's answers, per example.
type Table = Vec<Vec<f64>>;

/// A split scored once: the probabilities and the labels.
struct Split {
    probs: Table,
    labels: Vec<Value>,
}

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
    let predicts: Vec<Value> = answers
        .iter()
        .map(|a| {
            search
                .counts_as
                .get(a)
                .cloned()
                .unwrap_or_else(|| serde_json::from_str(a).unwrap_or(Value::Null))
        })
        .collect();
    let mut candidates = Vec::new();
    let mut settings = Vec::new();
    for (set_name, shots) in &search.shot_sets {
        let shots_ref = shots.as_deref();
        let dev_split = score_split::<A>(runtime, shots_ref, &search.label, dev).await?;
        let test_split = score_split::<A>(runtime, shots_ref, &search.label, test).await?;
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
            fitted.push((format!("{start_name} + fitted offsets"), offsets));
        }
        for (name, offsets) in starts.into_iter().chain(fitted) {
            let score = |split: &Split| score(split, &predicts, &offsets, search.metric);
            candidates.push(Candidate {
                name: format!("{set_name}, {name}"),
                dev: score(&dev_split),
                test: (!test_split.labels.is_empty()).then(|| score(&test_split)),
            });
            settings.push((shots.clone(), offsets));
        }
    }
    let mut chosen = 0;
    for (i, c) in candidates.iter().enumerate() {
        if c.dev.metric > candidates[chosen].dev.metric + 1e-9 {
            chosen = i;
        }
    }
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
        test: winner.test.as_ref().map(|t| t.metric),
    };
    Ok(TuneReport {
        metric: search.metric,
        candidates,
        chosen,
        tuning,
    })
}

/// The model's probabilities and the label of every example that has one.
async fn score_split<A: Agent>(
    runtime: &Runtime,
    shots: Option<&[Shot]>,
    label: &str,
    examples: &[Example<A::Input>],
) -> Result<Split, Error> {
    let mut split = Split {
        probs: Vec::new(),
        labels: Vec::new(),
    };
    for example in examples {
        let Some(label) = crate::eval::lookup(&example.expected, label) else {
            continue;
        };
        let probs = ScoredAgent::<A>::raw(runtime, shots, &example.input).await?;
        split
            .probs
            .push(probs.into_iter().next().unwrap_or_default());
        split.labels.push(label.clone());
    }
    Ok(split)
}

/// The answer with the highest log probability plus offset, per example.
fn predict(probs: &[f64], offsets: &[f64]) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (j, (p, b)) in probs.iter().zip(offsets).enumerate() {
        let v = p.max(1e-300).ln() + b;
        if v > best.1 {
            best = (j, v);
        }
    }
    best.0
}

fn score(split: &Split, predicts: &[Value], offsets: &[f64], metric: Metric) -> Score {
    let mut s = Score {
        total: split.labels.len(),
        ..Score::default()
    };
    let mut per_label: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (probs, label) in split.probs.iter().zip(&split.labels) {
        let got = &predicts[predict(probs, offsets)];
        *s.predicted.entry(got.to_string()).or_default() += 1;
        let right = got == label;
        s.correct += usize::from(right);
        let entry = per_label.entry(label.to_string()).or_default();
        entry.0 += usize::from(right);
        entry.1 += 1;
    }
    s.metric = match metric {
        Metric::Accuracy if s.total > 0 => s.correct as f64 / s.total as f64,
        Metric::BalancedAccuracy if !per_label.is_empty() => {
            per_label
                .values()
                .map(|(r, n)| *r as f64 / *n as f64)
                .sum::<f64>()
                / per_label.len() as f64
        }
        _ => 0.0,
    };
    s
}

/// Coordinate ascent on the offsets, one answer at a time: every value of an
/// answer's offset at which some dev prediction changes splits the line into
/// intervals; the best interval wins (the one nearest the current value among
/// ties), and the offset goes to its middle, as far from a flip as the dev
/// split allows.
fn fit(split: &Split, predicts: &[Value], start: &[f64], metric: Metric) -> Vec<f64> {
    let mut offsets = start.to_vec();
    let logs: Vec<Vec<f64>> = split
        .probs
        .iter()
        .map(|p| p.iter().map(|x| x.max(1e-300).ln()).collect())
        .collect();
    let mut best = score(split, predicts, &offsets, metric).metric;
    for _round in 0..6 {
        let mut improved = false;
        for j in 0..offsets.len() {
            // Where answer j starts beating the best other answer, per example.
            let mut cuts: Vec<f64> = logs
                .iter()
                .filter_map(|l| {
                    let other = (0..l.len())
                        .filter(|&k| k != j)
                        .map(|k| l[k] + offsets[k])
                        .fold(f64::NEG_INFINITY, f64::max);
                    let cut = other - l[j];
                    cut.is_finite().then_some(cut)
                })
                .collect();
            cuts.sort_by(f64::total_cmp);
            cuts.dedup();
            let Some((&first, &last)) = cuts.first().zip(cuts.last()) else {
                continue;
            };
            let mut points = vec![first - 1.0];
            points.extend(cuts.windows(2).map(|w| (w[0] + w[1]) / 2.0));
            points.push(last + 1.0);
            let current = offsets[j];
            let mut choice = (current, best);
            for p in points {
                offsets[j] = p;
                let m = score(split, predicts, &offsets, metric).metric;
                let nearer = (p - current).abs() < (choice.0 - current).abs();
                if m > choice.1 + 1e-9 || ((m - choice.1).abs() <= 1e-9 && nearer) {
                    choice = (p, m);
                }
            }
            offsets[j] = choice.0;
            if choice.1 > best + 1e-9 {
                best = choice.1;
                improved = true;
            }
        }
        if !improved {
            break;
        }
    }
    offsets
}

impl fmt::Display for TuneReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metric = match self.metric {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced accuracy",
        };
        writeln!(f, "| candidate | dev {metric} | dev right | test {metric} | test right | test predictions |")?;
        writeln!(f, "|---|---|---|---|---|---|")?;
        for (i, c) in self.candidates.iter().enumerate() {
            let mark = if i == self.chosen {
                " **(chosen)**"
            } else {
                ""
            };
            let (test_metric, test_right, predicted) = match &c.test {
                Some(t) => (
                    format!("{:.2}", t.metric),
                    format!("{}/{}", t.correct, t.total),
                    t.predicted
                        .iter()
                        .map(|(l, n)| format!("{l}: {n}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                None => ("—".into(), "—".into(), String::new()),
            };
            writeln!(
                f,
                "| {}{mark} | {:.2} | {}/{} | {test_metric} | {test_right} | {predicted} |",
                c.name, c.dev.metric, c.dev.correct, c.dev.total
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(rows: &[(f64, bool)]) -> Split {
        Split {
            probs: rows.iter().map(|(p, _)| vec![*p, 1.0 - p]).collect(),
            labels: rows.iter().map(|(_, l)| Value::Bool(*l)).collect(),
        }
    }

    #[test]
    fn fitted_offsets_turn_a_constant_answer_into_a_threshold() {
        // P(true) is always above 0.5, yet it separates the labels between
        // 0.7 and 0.8: a threshold, once the offsets move it there.
        let rows = [0.95, 0.8, 0.7, 0.55].map(|p| (p, p > 0.75));
        let dev = split(&rows);
        let predicts = [Value::Bool(true), Value::Bool(false)];
        let plain = score(&dev, &predicts, &[0.0, 0.0], Metric::Accuracy);
        assert_eq!(plain.correct, 2, "argmax says true for all");
        let offsets = fit(&dev, &predicts, &[0.0, 0.0], Metric::Accuracy);
        let fitted = score(&dev, &predicts, &offsets, Metric::Accuracy);
        assert_eq!(fitted.correct, 4);
        // The threshold sits between 0.7 and 0.8, not at an edge.
        let threshold = |p: f64| predict(&[p, 1.0 - p], &offsets) == 0;
        assert!(threshold(0.8) && !threshold(0.7));
    }

    #[test]
    fn balanced_accuracy_scores_a_constant_answer_at_one_over_the_labels() {
        let dev = split(&[(0.9, true), (0.8, false), (0.7, false), (0.6, false)]);
        let predicts = [Value::Bool(true), Value::Bool(false)];
        let s = score(&dev, &predicts, &[0.0, 0.0], Metric::BalancedAccuracy);
        assert_eq!(s.correct, 1);
        assert!((s.metric - 0.5).abs() < 1e-9);
        assert_eq!(s.predicted.get("true"), Some(&4));
    }
}
