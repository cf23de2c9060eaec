//! The space the tuner searches, and the metric it maximises.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

#[cfg(doc)]
use super::tune;
use crate::Shot;

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
    pub(super) label: String,
    pub(super) shot_sets: Vec<(String, Option<Vec<Shot>>)>,
    pub(super) content_free: Vec<I>,
    pub(super) counts_as: BTreeMap<String, Value>,
    pub(super) metric: Metric,
    pub(super) folds: usize,
}

impl<I> Search<I> {
    /// Search for the label at `label` in each example's `expected` (a
    /// dotted path; `""` when `expected` is the label itself), with the
    /// agent's own few-shot examples, no calibration candidates,
    /// [`Metric::Accuracy`] and 5 folds.
    pub fn new(label: &str) -> Self {
        Search {
            label: label.to_string(),
            shot_sets: vec![("own examples".into(), None)],
            content_free: Vec::new(),
            counts_as: BTreeMap::new(),
            metric: Metric::Accuracy,
            folds: 5,
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

    /// Cross-validate every candidate on `k` folds of the dev split (5 by
    /// default; at least 2): each fold is scored by the candidate fitted on
    /// the others, and the choice is made on those scores.
    pub fn folds(mut self, k: usize) -> Self {
        self.folds = k.max(2);
        self
    }

    /// Maximise `metric` on the dev split.
    pub fn metric(mut self, metric: Metric) -> Self {
        self.metric = metric;
        self
    }
}
