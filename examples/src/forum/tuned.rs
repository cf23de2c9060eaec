//! The scored agents as the pipeline runs them, with the tunings in
//! `examples/tuned/`, and the content-free inputs those tunings calibrate on.

use agentkit::prelude::*;

use super::{Classify, FollowUp, KindOf, Screen, Solved, Subject, Subjected, Thread};

/// The directory [`set_tuned_dir`] chose, if any.
static TUNED: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Where the tunings of the pipeline's scored agents are kept: the
/// directory given to [`set_tuned_dir`], else `$AGENTKIT_TUNED`, else
/// `examples/tuned/` (written by `--example tune`, all on SmolLM2).
/// `--example size` writes the tunings of the models it chose to
/// `examples/tuned/sized/`.
pub fn tuned_dir() -> std::path::PathBuf {
    if let Some(dir) = TUNED.get() {
        return dir.clone();
    }
    match std::env::var_os("AGENTKIT_TUNED") {
        Some(dir) if !dir.is_empty() => dir.into(),
        _ => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tuned"),
    }
}

/// Makes the pipeline read its tunings from `dir` for the rest of the
/// process (a tuning belongs to the model it was fitted on, so a manifest
/// that moves a step to another model comes with its own). Only the first
/// call counts; says whether this one did.
pub fn set_tuned_dir(dir: std::path::PathBuf) -> bool {
    TUNED.set(dir).is_ok()
}

/// `Screen` as the pipeline runs it: by scored choices over the subjects,
/// with one offset per subject fitted on the dev split by `--example tune`
/// (`examples/tuned/Screen.json`).
pub fn screen() -> Result<agentkit::ScoredAgent<Screen>, Error> {
    scored(Screen).tuned_from(tuned_dir().join("Screen.json"))
}

/// Whether a scored `Screen` answer makes the post relevant: its subject,
/// after the tuned offsets ([`screen`]), is `local_ai_models`.
pub fn is_relevant(scored: &agentkit::Scored<Subjected>) -> bool {
    scored.value.subject == Subject::LocalAiModels
}

/// `KindOf` as the pipeline runs it: by scored choices, with the tuning
/// `--example tune` fitted on the dev split (`examples/tuned/KindOf.json`).
pub fn kind_of() -> Result<agentkit::ScoredAgent<KindOf>, Error> {
    scored(KindOf).tuned_from(tuned_dir().join("KindOf.json"))
}

/// `Solved` as the pipeline runs it: by scored choices, with the threshold
/// `--example tune` fitted on the dev split (`examples/tuned/Solved.json`).
pub fn solved() -> Result<agentkit::ScoredAgent<Solved>, Error> {
    scored(Solved).tuned_from(tuned_dir().join("Solved.json"))
}

/// `Classify` as the pipeline runs it: by scored choices, with the tuning
/// `--example tune` fitted on the dev split (`examples/tuned/Classify.json`).
pub fn classify() -> Result<agentkit::ScoredAgent<Classify>, Error> {
    scored(Classify).tuned_from(tuned_dir().join("Classify.json"))
}

/// Threads that say nothing (empty, "N/A", `"[MASK]"`): what a scored agent
/// answers for them is its lean, whatever the input, which contextual
/// calibration divides out.
pub fn content_free() -> Vec<Thread> {
    let blank = |text: &str| Thread {
        community: text.into(),
        title: text.into(),
        body: text.into(),
        replies: Vec::new(),
    };
    vec![blank(""), blank("N/A"), blank("[MASK]")]
}

/// Follow-ups that say nothing, for calibrating `Solved` (see
/// [`content_free`]).
pub fn content_free_follow_ups() -> Vec<FollowUp> {
    ["", "N/A", "[MASK]"]
        .into_iter()
        .map(|text| FollowUp {
            question: text.into(),
            follow_up: vec![text.into()],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forum::{PostKind, Topic};

    #[test]
    fn the_pipeline_loads_tunings_that_fit_its_agents() {
        screen().unwrap();
        kind_of().unwrap();
        solved().unwrap();
        classify().unwrap();
        let answers = |path: &str| {
            let tuning = agentkit::tune::Tuning::load(tuned_dir().join(path)).unwrap();
            tuning.offsets.keys().cloned().collect::<Vec<String>>()
        };
        let mut kinds: Vec<String> = PostKind::ALL
            .iter()
            .map(|k| serde_json::to_string(k).unwrap())
            .collect();
        kinds.sort();
        assert_eq!(answers("KindOf.json"), kinds);
        assert_eq!(answers("Solved.json"), ["false", "true"]);
        let mut topics: Vec<String> = [
            Topic::Hardware,
            Topic::Performance,
            Topic::Models,
            Topic::Other,
        ]
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
        topics.sort();
        assert_eq!(answers("Classify.json"), topics);
    }
}
