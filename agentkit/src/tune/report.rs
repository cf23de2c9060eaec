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
