//! The labelled examples and searches the flagship's agents are tuned and
//! sized on (`--example tune`, `--example size`), and the stated rule a
//! draft is checked by.

use agentkit::eval::Example;
use agentkit::prelude::*;
use agentkit::tune::{Metric, Search};

use super::{
    content_free, content_free_follow_ups, is_relevant, load, screen, FollowUp, PostKind, Reply,
    Split, Subject, Subtopic, Thread,
};

/// Every thread of `split` as a labelled example of `relevant`, the screen's question.
pub fn all_threads(split: Split) -> Result<Vec<Example<Thread>>, Error> {
    Ok(super::relevance_examples(&load(split)?))
}

/// The threads of `split` that `KindOf` and `Classify` may see: the ones
/// about running models locally, and the ones the flagship's (tuned) screen
/// passes by mistake. As labelled examples of `worth_answering` and `topic`.
pub async fn screened(runtime: &Runtime, split: Split) -> Result<Vec<Example<Thread>>, Error> {
    let screen = screen()?;
    let mut out = Vec::new();
    for t in load(split)? {
        if t.relevant || is_relevant(&screen.run(runtime, t.thread()).await?) {
            out.push(Example {
                input: t.thread(),
                expected: serde_json::json!({ "worth_answering": t.worth_answering, "topic": t.topic }),
            });
        }
    }
    Ok(out)
}

/// The relevant threads of `split` whose poster wrote back (a reply marked
/// `(OP)`), as `Solved` reads them: labelled examples of `solved`.
pub fn follow_ups(split: Split) -> Result<Vec<Example<FollowUp>>, Error> {
    Ok(load(split)?
        .iter()
        .filter(|t| t.relevant)
        .filter_map(|t| {
            Some(Example {
                input: t.thread().follow_up()?,
                expected: serde_json::json!({ "solved": t.solved }),
            })
        })
        .collect())
}

/// The relevant threads of `split`, unlabelled: what `Draft` is sized on.
pub fn to_draft(split: Split) -> Result<Vec<Example<Thread>>, Error> {
    Ok(load(split)?
        .iter()
        .filter(|t| t.relevant)
        .map(|t| Example {
            input: t.thread(),
            expected: serde_json::Value::Null,
        })
        .collect())
}

/// The screen's search: `local_ai_models` counts as relevant, every other
/// subject (a decoy) as not; calibration on content-free threads tried.
pub fn screen_search(metric: Metric) -> Search<Thread> {
    Subject::ALL.iter().fold(
        Search::new("relevant")
            .content_free(content_free())
            .metric(metric),
        |s, subject| s.counts_as(subject, &(*subject == Subject::LocalAiModels)),
    )
}

/// A search for `label` on threads, calibration on content-free threads tried.
pub fn thread_search(label: &str, metric: Metric) -> Search<Thread> {
    Search::new(label)
        .content_free(content_free())
        .metric(metric)
}

/// `KindOf`'s search: every kind of post counts as worth answering or not.
pub fn kind_search(metric: Metric) -> Search<Thread> {
    PostKind::ALL
        .iter()
        .fold(thread_search("worth_answering", metric), |s, k| {
            s.counts_as(k, &k.worth_answering())
        })
}

/// `ClassifyFine`'s search: every subtopic counts as its topic.
pub fn subtopic_search(metric: Metric) -> Search<Thread> {
    Subtopic::ALL
        .iter()
        .fold(thread_search("topic", metric), |s, t| {
            s.counts_as(t, &t.topic())
        })
}

/// `Solved`'s search, calibration on content-free follow-ups tried.
pub fn solved_search(metric: Metric) -> Search<FollowUp> {
    Search::new("solved")
        .content_free(content_free_follow_ups())
        .metric(metric)
}

/// Why a draft fails the stated rule, or that it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DraftCheck {
    /// It addresses the thread, copies nothing and does not loop.
    Passes,
    /// Under 40 characters: not an answer.
    TooShort,
    /// It names no word of four letters or more from the thread's title,
    /// other than the commonest ones: it does not address the question.
    OffTopic,
    /// It copies a run of eight words from the thread.
    Copies,
    /// A word trigram appears in it three times or more: a loop.
    Loops,
}

/// Words too common in this corpus's titles to show a draft is about one.
const COMMON: &[&str] = &[
    "with", "from", "that", "this", "what", "when", "which", "your", "have", "does", "model",
    "models", "local", "locally", "running", "about", "there", "their", "just", "into", "help",
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '.' && c != '-')
        .map(|w| w.trim_matches(['.', '-']).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The stated rule a draft is checked by, in order: at least 40
/// characters; names a word of four letters or more of the thread's title
/// (not one of the commonest); copies no run of eight words from the
/// thread; repeats no word trigram three times.
pub fn check_draft(thread: &Thread, reply: &Reply) -> DraftCheck {
    let text = reply.reply.trim();
    if text.chars().count() < 40 {
        return DraftCheck::TooShort;
    }
    let said = words(text);
    let named = words(&thread.title)
        .into_iter()
        .filter(|w| w.chars().count() >= 4 && !COMMON.contains(&w.as_str()))
        .any(|w| said.contains(&w));
    if !named {
        return DraftCheck::OffTopic;
    }
    let source = words(&format!(
        "{} {} {}",
        thread.title,
        thread.body,
        thread.replies.join(" ")
    ));
    let runs: std::collections::HashSet<&[String]> = source.windows(8).collect();
    if said.windows(8).any(|w| runs.contains(w)) {
        return DraftCheck::Copies;
    }
    let mut seen: std::collections::HashMap<&[String], usize> = Default::default();
    for t in said.windows(3) {
        *seen.entry(t).or_default() += 1;
    }
    if seen.values().any(|n| *n >= 3) {
        return DraftCheck::Loops;
    }
    DraftCheck::Passes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread() -> Thread {
        Thread {
            community: "r/LocalLLaMA".into(),
            title: "Ollama ignores my second GPU".into(),
            body: "I have two RTX 3090 cards and ollama only ever loads the model onto the first one of them".into(),
            replies: Vec::new(),
        }
    }

    fn reply(text: &str) -> Reply {
        Reply { reply: text.into() }
    }

    #[test]
    fn the_draft_rule_tells_each_failure_apart() {
        let t = thread();
        let check = |text: &str| check_draft(&t, &reply(text));
        assert_eq!(check("Try it."), DraftCheck::TooShort);
        assert_eq!(
            check("Thanks for sharing, that sounds like a great setup to have!"),
            DraftCheck::OffTopic
        );
        assert_eq!(
            check("Set CUDA_VISIBLE_DEVICES=0,1 before starting Ollama so it sees both cards."),
            DraftCheck::Passes
        );
        assert_eq!(
            check("Ollama only ever loads the model onto the first one of them, sadly."),
            DraftCheck::Copies
        );
        assert_eq!(
            check("Ollama: check the GPU, the GPU is fine, the GPU is fine, the GPU is fine."),
            DraftCheck::Loops
        );
    }
}
