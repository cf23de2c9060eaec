//! The models a backend holds in memory, and the cap on them: loading past
//! the cap unloads idle models, least recently used first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::model::LoadedModel;

/// The loaded models of a backend, by file.
#[derive(Default)]
pub(super) struct Resident {
    models: HashMap<PathBuf, Arc<LoadedModel>>,
    /// Ticks once per lookup: the order models were last used in.
    clock: u64,
    /// How many models were unloaded to stay under the cap.
    pub(super) unloads: usize,
}

impl Resident {
    /// The model loaded from `path`, marked used now.
    pub(super) fn get(&mut self, path: &Path) -> Option<Arc<LoadedModel>> {
        self.clock += 1;
        let model = self.models.get(path)?;
        model.touch(self.clock);
        Some(Arc::clone(model))
    }

    /// Holds `model`, loaded from `path`, marked used now.
    pub(super) fn insert(&mut self, path: PathBuf, model: Arc<LoadedModel>) {
        self.clock += 1;
        model.touch(self.clock);
        self.models.insert(path, model);
    }

    /// The files of the models held now.
    pub(super) fn paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.models.keys().cloned().collect();
        paths.sort();
        paths
    }

    /// Bytes the held models take.
    pub(super) fn bytes(&self) -> u64 {
        self.models.values().map(|m| m.footprint()).sum()
    }

    /// Unloads idle models other than `keep`, least recently used first,
    /// until the held ones plus `incoming` bytes fit `limit`. A model is
    /// idle when no request on it is queued or running and no call holds
    /// it. Says (once per call) when only busy models are left over the cap.
    pub(super) fn make_room(&mut self, limit: u64, incoming: u64, keep: &Path) {
        while self.bytes() + incoming > limit {
            let idle = self
                .models
                .iter()
                .filter(|(path, m)| {
                    path.as_path() != keep
                        && Arc::strong_count(m) == 1
                        && m.in_flight().load(Ordering::SeqCst) == 0
                })
                .min_by_key(|(_, m)| m.last_used())
                .map(|(path, _)| path.clone());
            let Some(path) = idle else {
                tracing::warn!(
                    limit_mib = limit >> 20,
                    held_mib = (self.bytes() + incoming) >> 20,
                    "over the memory limit, and every other model is busy: none unloaded"
                );
                return;
            };
            if let Some(model) = self.models.remove(&path) {
                self.unloads += 1;
                tracing::info!(
                    model = %model.parts().0,
                    path = %path.display(),
                    freed_mib = model.footprint() >> 20,
                    "unloaded an idle model to stay under the memory limit"
                );
            }
        }
    }
}
