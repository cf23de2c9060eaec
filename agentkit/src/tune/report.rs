//! What the tuner measured: every candidate's scores, and the winner.

use std::collections::BTreeMap;
use std::fmt;

#[cfg(doc)]
use super::tune;
use super::{Metric, Tuning};

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

/// A candidate's score over the folds of the dev split: each fold scored by
/// the candidate fitted on the other folds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CrossValidated {
    /// The mean of the folds' metric.
    pub mean: f64,
    /// The standard deviation of the folds' metric.
    pub spread: f64,
    /// How many folds.
    pub folds: usize,
}

/// One configuration the search tried.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// E.g. `own examples, calibrated + fitted offsets`.
    pub name: String,
    /// How many numbers it fits on the dev split (an offset per answer for
    /// fitted offsets; none for argmax and calibration).
    pub fitted: usize,
    /// Its score on the dev split, fitted on all of it.
    pub dev: Score,
    /// Its cross-validated score on the dev split, where the split is large
    /// enough for folds.
    pub cv: Option<CrossValidated>,
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
    /// Index of the winner in `candidates`: the best cross-validated one,
    /// or among those the folds do not separate from it (within one
    /// standard error) the one with the fewest fitted numbers; on a dev
    /// split too small for folds, the best on dev, the simplest among ties.
    pub chosen: usize,
    /// The winner, to save and load at run time.
    pub tuning: Tuning,
    /// What to know about the choice: the dev split too small to choose by
    /// cross-validation, or a simpler candidate chosen over a better-looking
    /// one the folds did not separate from it.
    pub note: Option<String>,
}

impl fmt::Display for TuneReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metric = match self.metric {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced accuracy",
        };
        writeln!(f, "| candidate | fitted | dev {metric} (cross-validated) | dev right | test {metric} | test right | test predictions |")?;
        writeln!(f, "|---|---|---|---|---|---|---|")?;
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
            let cv = match &c.cv {
                Some(cv) => format!(" ({:.2} ± {:.2})", cv.mean, cv.spread),
                None => String::new(),
            };
            writeln!(
                f,
                "| {}{mark} | {} | {:.2}{cv} | {}/{} | {test_metric} | {test_right} | {predicted} |",
                c.name, c.fitted, c.dev.metric, c.dev.correct, c.dev.total
            )?;
        }
        if let Some(note) = &self.note {
            writeln!(f, "\n{note}")?;
        }
        Ok(())
    }
}
