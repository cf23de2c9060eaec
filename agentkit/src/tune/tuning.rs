//! What the tuner chose, as a file.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::tune;
#[cfg(doc)]
use crate::Agent;
use crate::{Error, Shot};

/// What [`tune`] chose for one scored agent: saved as JSON, loaded at run
/// time with [`ScoredAgent::tuned_from`](crate::ScoredAgent::tuned_from).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tuning {
    /// The agent it was tuned for ([`Agent::NAME`]).
    pub agent: String,
    /// The output field the offsets apply to (`""` for a bare value).
    pub field: String,
    /// The model the offsets were fitted on: its file's name, or for a
    /// served model the name the server serves it under
    /// ([`ModelKey::name`](crate::backend::ModelKey::name)); they are not
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
    /// Its cross-validated score on the dev split (the mean over the folds),
    /// where the split was large enough for folds.
    #[serde(default)]
    pub cv: Option<f64>,
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
