//! The pipeline's agents: each doc comment is the agent's instructions.

use agentkit::prelude::*;

#[cfg(doc)]
use super::REPLY_CHARS;
use super::{
    Addresses, DraftToJudge, FollowUp, KindChoice, Reply, Resolution, Subjected, SubtopicChoice,
    Thread, TopicChoice, Worth,
};

/// Read the forum post and name its subject.
#[agent(
    model = "screen",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = Subjected,
    input_format = "labelled"
)]
pub struct Screen;

/// Decide whether this thread about running language models locally is worth
/// answering: the post asks a concrete question and the replies have not
/// solved it yet. Showcases, announcements, rants and polls are not worth
/// answering, and neither is a question the replies already answered.
#[agent(
    model = "judge",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = Worth,
    input_format = "labelled",
    examples = "data/judge_examples.jsonl"
)]
pub struct Judge;

/// Read the forum post about running language models locally and say what it
/// is mainly about.
#[agent(
    model = "classify",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = TopicChoice,
    input_format = "labelled"
)]
pub struct Classify;

/// Read the forum thread about running language models locally, replies
/// included, and say what kind of post it is. A question counts as answered
/// when a reply solves it or the poster says it is solved.
#[agent(
    model = "kind",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = KindChoice,
    input_format = "labelled"
)]
pub struct KindOf;

/// A forum poster asked a question and later wrote back. Say whether their
/// follow-up says the problem is now fixed.
#[agent(
    model = "solved",
    temperature = 0.0,
    max_tokens = 8,
    input = FollowUp,
    output = Resolution,
    input_format = "labelled"
)]
pub struct Solved;

/// Read the forum post about running language models locally and say what it
/// is mainly about.
#[agent(
    model = "judge",
    temperature = 0.0,
    max_tokens = 16,
    input = Thread,
    output = SubtopicChoice,
    input_format = "labelled"
)]
pub struct ClassifyFine;

/// Write a short, friendly reply to this forum thread that helps the poster
/// with their question about running language models locally. Be concrete.
///
/// # Notes
///
/// (Under this heading for the code's readers only: the model reads the doc
/// comment up to its first heading.) `repeat_penalty` stops the loops SmolLM2 falls into under a length bound
/// ("128GB RAM, 128GB RAM, ..."); DRY (`dry_multiplier`) keeps it from
/// copying runs of the thread into the reply: see `--example repetition`.
/// `max_tokens` leaves room for [`REPLY_CHARS`] characters even at a token
/// per character (numbers, addresses), so a reply ends at its character
/// bound and is never cut off by the token budget.
#[agent(
    model = "draft",
    temperature = 0.3,
    repeat_penalty = 1.1,
    dry_multiplier = 0.8,
    max_tokens = 440,
    input = Thread,
    output = Reply,
    input_format = "labelled"
)]
pub struct Draft;

/// Someone asked the question below on a forum, and a reply was written.
/// Say whether the reply addresses the question: it responds to what was
/// asked with something specific (an answer, a suggestion, a likely cause),
/// even if it is short or its facts are wrong. A refusal, a restatement of
/// the post, a generic compliment or something off topic does not.
///
/// # Notes
///
/// Measures the drafts when sizing `Draft` (`--example size`), on a bigger
/// model (`draft_judge`); its agreement with a reading of 96 drafts is in
/// `BENCHMARKS.md`.
#[agent(
    model = "draft_judge",
    temperature = 0.0,
    max_tokens = 16,
    input = DraftToJudge,
    output = Addresses,
    input_format = "labelled"
)]
pub struct JudgeDraft;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notes_under_a_heading_stay_out_of_the_prompt() {
        let draft = <Draft as Agent>::INSTRUCTIONS;
        assert!(draft.ends_with("Be concrete."), "{draft}");
        assert!(!draft.contains("repeat_penalty"), "{draft}");
        let judge = <JudgeDraft as Agent>::INSTRUCTIONS;
        assert!(judge.ends_with("does not."), "{judge}");
    }
}
