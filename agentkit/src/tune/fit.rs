//! The offline search: predictions from scored probabilities and offsets,
//! their score on a split, and offsets fitted to a split.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Metric, Score};

/// Probabilities over one field's answers, per example.
type Table = Vec<Vec<f64>>;

/// A split scored once: the probabilities and the labels.
pub(super) struct Split {
    pub(super) probs: Table,
    pub(super) labels: Vec<Value>,
}

impl Split {
    /// The examples whose index `keep` accepts.
    pub(super) fn subset(&self, keep: impl Fn(usize) -> bool) -> Split {
        let (probs, labels) = self
            .probs
            .iter()
            .zip(&self.labels)
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, (p, l))| (p.clone(), l.clone()))
            .unzip();
        Split { probs, labels }
    }
}

/// A fold (`0..k`) for every example: stratified, each label's examples
/// dealt round-robin in order, so every fold holds its share of each label.
pub(super) fn folds(labels: &[Value], k: usize) -> Vec<usize> {
    let k = k.max(1);
    let mut by_label: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, label) in labels.iter().enumerate() {
        by_label.entry(label.to_string()).or_default().push(i);
    }
    let mut fold = vec![0; labels.len()];
    let mut next = 0;
    for indices in by_label.values() {
        for &i in indices {
            fold[i] = next % k;
            next += 1;
        }
    }
    fold
}

/// Why `labels` are too few for `k`-fold cross-validation (fewer than two
/// examples a fold, or a label with fewer examples than folds), if they are.
pub(super) fn too_small(labels: &[Value], k: usize) -> Option<String> {
    if labels.len() < 2 * k {
        return Some(format!(
            "{} labelled examples are too few for {k} folds of at least two",
            labels.len()
        ));
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for label in labels {
        *counts.entry(label.to_string()).or_default() += 1;
    }
    counts
        .iter()
        .find(|(_, n)| **n < k)
        .map(|(label, n)| format!("label {label} has {n} examples, fewer than the {k} folds"))
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

pub(super) fn score(split: &Split, predicts: &[Value], offsets: &[f64], metric: Metric) -> Score {
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
pub(super) fn fit(split: &Split, predicts: &[Value], start: &[f64], metric: Metric) -> Vec<f64> {
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
    fn folds_are_stratified_and_small_splits_are_named() {
        let labels: Vec<Value> = (0..10).map(|i| Value::Bool(i < 4)).collect();
        let fold = folds(&labels, 2);
        for f in 0..2 {
            let held: Vec<usize> = (0..10).filter(|i| fold[*i] == f).collect();
            assert_eq!(held.len(), 5);
            assert_eq!(held.iter().filter(|i| **i < 4).count(), 2, "{held:?}");
        }
        assert_eq!(too_small(&labels, 2), None);
        assert!(too_small(&labels, 5).is_some_and(|w| w.contains("label true has 4")));
        assert!(too_small(&labels[..5], 3).is_some_and(|w| w.contains("5 labelled examples")));
        let sub = split(&[(0.9, true), (0.2, false), (0.6, true)]).subset(|i| i != 1);
        assert_eq!(sub.labels, [Value::Bool(true), Value::Bool(true)]);
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
