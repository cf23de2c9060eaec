//! Evaluation: run a step over a labelled dataset and measure how often it is right.
//!
//! Constrained decoding makes a small model's output *valid*; only measuring
//! makes it *right*. This module runs any [`Step`] (an agent or a chain) over
//! examples of input and expected output, and reports accuracy per output
//! field, a confusion table for every categorical field, the parse rate,
//! tokens and time. It is how prompts, few-shot examples and model sizes are
//! tuned.
//!
//! ```no_run
//! # use agentkit::prelude::*;
//! # use agentkit::eval::{evaluate, Example};
//! # #[derive(Serialize, Deserialize, JsonSchema)] struct Thread { title: String }
//! # #[derive(Serialize, Deserialize, JsonSchema)] struct Verdict { relevant: bool }
//! # /// Decide.
//! # #[agent(model = "screen", input = Thread, output = Verdict)] struct Score;
//! # async fn demo(runtime: &Runtime) -> Result<(), Error> {
//! let examples: Vec<Example<Thread>> = agentkit::eval::read_jsonl("data/score.jsonl")?;
//! let report = evaluate(&Score, runtime, examples).await;
//! println!("{report}");
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Runtime, Step};

/// One labelled example: an input and the output it should produce. Only the
/// fields present in `expected` are scored, so a label can cover part of the output.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Example<I> {
    /// The step's input.
    pub input: I,
    /// The expected output (or the part of it that is labelled).
    pub expected: Value,
}

/// Reads examples from a JSON-lines file: one `{"input": ..., "expected": ...}` per line.
pub fn read_jsonl<I: DeserializeOwned>(path: impl AsRef<Path>) -> Result<Vec<Example<I>>, Error> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::Dataset {
        path: path.to_path_buf(),
        line: 0,
        reason: e.to_string(),
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| Error::Dataset {
                path: path.to_path_buf(),
                line: i + 1,
                reason: format!("{e}; each line must be {{\"input\": ..., \"expected\": ...}}"),
            })
        })
        .collect()
}

/// Accuracy of one output field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldScore {
    /// Examples whose output had this field equal to the label.
    pub correct: usize,
    /// Examples labelled with this field (failed runs count as wrong).
    pub total: usize,
    /// `(expected, got)` → count, for fields with few distinct values
    /// (booleans, enum variants, short strings). `got` is `"<failed>"` for a
    /// run that produced no output.
    pub confusion: BTreeMap<(String, String), usize>,
}

impl FieldScore {
    /// The mean over expected values of the share of that value's examples
    /// right (from the confusion table): a constant answer scores one over
    /// the number of values. 0 when nothing was tabulated.
    pub fn balanced_accuracy(&self) -> f64 {
        let mut per_label: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for ((want, got), n) in &self.confusion {
            let entry = per_label.entry(want.as_str()).or_default();
            entry.0 += usize::from(want == got) * n;
            entry.1 += n;
        }
        if per_label.is_empty() {
            return 0.0;
        }
        let sum: f64 = per_label
            .values()
            .map(|(right, all)| *right as f64 / *all as f64)
            .sum();
        sum / per_label.len() as f64
    }

    /// `correct / total`, or 0 when nothing was labelled.
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

/// What [`evaluate`] measured.
#[derive(Debug, Clone, Default)]
pub struct EvalReport {
    /// Examples run.
    pub examples: usize,
    /// Runs that produced a typed output.
    pub parsed: usize,
    /// Per output field (a dotted path for nested fields), in label order.
    pub fields: BTreeMap<String, FieldScore>,
    /// Examples whose every labelled field was right.
    pub exact: usize,
    /// Prompt tokens over all calls.
    pub prompt_tokens: u64,
    /// Generated tokens over all calls (answers only).
    pub generated_tokens: u64,
    /// Tokens generated inside think blocks over all calls.
    pub reasoning_tokens: u64,
    /// Wall time of the whole evaluation.
    pub elapsed: Duration,
    /// The error of each failed run, by example index.
    pub failures: Vec<(usize, String)>,
    /// How long each example's run took, in example order.
    pub latencies: Vec<Duration>,
}

impl EvalReport {
    /// Share of runs that produced a typed output.
    pub fn parse_rate(&self) -> f64 {
        if self.examples == 0 {
            0.0
        } else {
            self.parsed as f64 / self.examples as f64
        }
    }

    /// Accuracy of `field` (dotted path), if it was labelled.
    pub fn accuracy(&self, field: &str) -> Option<f64> {
        self.fields.get(field).map(FieldScore::accuracy)
    }

    /// The `q` quantile (0.5 for the median, 0.95) of the examples' run
    /// times, or `None` when nothing ran.
    pub fn latency(&self, q: f64) -> Option<Duration> {
        quantile(&self.latencies, q)
    }
}

/// A field for which a step gave the same answer for every example although
/// the labels differ: a classifier that ignores its input (a small sampled
/// model often collapses to an enum's first variant or a range's minimum).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConstantAnswer {
    /// The field (a dotted path).
    pub field: String,
    /// The one answer given.
    pub answer: String,
    /// How many examples got it.
    pub examples: usize,
    /// How many distinct values the labels have.
    pub labels: usize,
}

/// The fewest examples a field needs before one answer for all of them is
/// reported as constant.
const CONSTANT_MIN_EXAMPLES: usize = 3;

impl EvalReport {
    /// The fields for which every run (at least three, all with an output)
    /// gave one answer while the labels had several: a classifier that does
    /// not read its input. On a small model, decide such fields by scored
    /// choices with calibration (`scored(agent).calibrate(..)`).
    pub fn constant_answers(&self) -> Vec<ConstantAnswer> {
        self.fields
            .iter()
            .filter_map(|(field, score)| {
                let mut answers = score.confusion.keys().map(|(_, got)| got);
                let answer = answers.next()?;
                let labels: std::collections::BTreeSet<&String> =
                    score.confusion.keys().map(|(want, _)| want).collect();
                let examples: usize = score.confusion.values().sum();
                let constant = answers.all(|got| got == answer)
                    && answer != "<failed>"
                    && examples >= CONSTANT_MIN_EXAMPLES
                    && labels.len() > 1;
                constant.then(|| ConstantAnswer {
                    field: field.clone(),
                    answer: answer.clone(),
                    examples,
                    labels: labels.len(),
                })
            })
            .collect()
    }
}

/// The `q` quantile of `times` (nearest rank), or `None` for none.
pub(crate) fn quantile(times: &[Duration], q: f64) -> Option<Duration> {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let last = sorted.len().checked_sub(1)?;
    let rank = (q.clamp(0.0, 1.0) * last as f64).round() as usize;
    sorted.get(rank.min(last)).copied()
}

/// Values with fewer distinct spellings than this are tabulated.
const CATEGORICAL_MAX_LEN: usize = 24;

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, child, out);
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

pub(crate) fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(v);
    }
    path.split('.').try_fold(v, |v, key| v.get(key))
}

fn label(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Bool(_) | Value::Number(_) | Value::Null => v.to_string(),
        _ => return None,
    };
    (s.chars().count() <= CATEGORICAL_MAX_LEN).then_some(s)
}

/// Runs `step` on every example (one at a time, so timings are clean) and
/// scores its outputs against the labels.
pub async fn evaluate<I, S>(step: &S, runtime: &Runtime, examples: Vec<Example<I>>) -> EvalReport
where
    S: Step<I>,
    S::Output: Serialize,
{
    let mut report = EvalReport {
        examples: examples.len(),
        ..EvalReport::default()
    };
    let before = runtime.usage();
    let started = Instant::now();
    for (index, example) in examples.into_iter().enumerate() {
        let mut labels = Vec::new();
        flatten("", &example.expected, &mut labels);
        let call = Instant::now();
        let result = step.run(runtime, example.input).await;
        report.latencies.push(call.elapsed());
        let output = match result {
            Ok(out) => {
                report.parsed += 1;
                serde_json::to_value(&out).ok()
            }
            Err(e) => {
                report.failures.push((index, e.to_string()));
                None
            }
        };
        let mut all_right = true;
        for (path, want) in labels {
            let got = output.as_ref().and_then(|o| lookup(o, &path));
            let score = report.fields.entry(path).or_default();
            score.total += 1;
            let right = got == Some(&want);
            score.correct += usize::from(right);
            all_right &= right;
            if let Some(want) = label(&want) {
                let got = match got {
                    Some(g) => label(g).unwrap_or_else(|| "<other>".into()),
                    None => "<failed>".into(),
                };
                *score.confusion.entry((want, got)).or_default() += 1;
            }
        }
        report.exact += usize::from(all_right && output.is_some());
    }
    report.elapsed = started.elapsed();
    let after = runtime.usage();
    report.prompt_tokens = after.prompt_tokens - before.prompt_tokens;
    report.generated_tokens = after.generated_tokens - before.generated_tokens;
    report.reasoning_tokens = after.reasoning_tokens - before.reasoning_tokens;
    report
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "examples: {}   parsed: {}/{} ({:.0}%)   all labels right: {}/{}",
            self.examples,
            self.parsed,
            self.examples,
            self.parse_rate() * 100.0,
            self.exact,
            self.examples
        )?;
        write!(
            f,
            "tokens: {} prompt, {} generated   time: {:.1} s",
            self.prompt_tokens,
            self.generated_tokens,
            self.elapsed.as_secs_f64()
        )?;
        if let (Some(p50), Some(p95)) = (self.latency(0.5), self.latency(0.95)) {
            write!(
                f,
                "   per example: p50 {:.2} s, p95 {:.2} s",
                p50.as_secs_f64(),
                p95.as_secs_f64()
            )?;
        }
        writeln!(f)?;
        for (field, score) in &self.fields {
            writeln!(
                f,
                "{field}: {}/{} right ({:.0}%)",
                score.correct,
                score.total,
                score.accuracy() * 100.0
            )?;
            if !score.confusion.is_empty() {
                writeln!(f, "  expected -> got: count")?;
                for ((want, got), n) in &score.confusion {
                    let mark = if want == got { "" } else { "  (wrong)" };
                    writeln!(f, "    {want} -> {got}: {n}{mark}")?;
                }
            }
        }
        for c in self.constant_answers() {
            writeln!(
                f,
                "warning: `{}` was {} for all {} examples, though the labels have {} values: the step ignores its input; decide it by scored choices with calibration",
                c.field, c.answer, c.examples, c.labels
            )?;
        }
        for (i, e) in self.failures.iter().take(5) {
            writeln!(f, "failed example {i}: {e}")?;
        }
        Ok(())
    }
}
