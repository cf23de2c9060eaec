//! The forum research pipeline's types, agents and corpus.
//!
//! Small agents, each with one job and a model alias so each can be sized
//! separately: `Screen` (is this thread about running language models
//! locally?), `KindOf` (open question, answered question, showcase, ...: only
//! an open question is worth answering), `Solved` (does the poster's own
//! follow-up say the question is solved?), `Classify` (which topic?) and
//! `Draft` (write the reply). `KindOf`, `Solved` and `Classify` decide by
//! scored choices with the tunings in `examples/tuned/` (written by
//! `--example tune`); `Judge` (worth answering, yes or no) and
//! `ClassifyFine` are the candidates they were measured against. Every alias points at SmolLM2-135M unless
//! `agentkit.toml` or the caller registers another GGUF.
//!
//! The threads come from the labelled corpus ([`load`]) or from a user's own
//! JSON Lines file ([`read_input`]), labelled or not.

mod agents;
mod corpus;
mod input;
mod pipeline;
mod runtime;
mod sizing;
mod tuned;
mod types;

pub use agents::{Classify, ClassifyFine, Draft, Judge, JudgeDraft, KindOf, Screen, Solved};
pub use corpus::{load, relevance_examples, LabelledThread, Split};
pub use input::{parse_input, read_input, Entry, InputError, Labels};
pub use pipeline::{research, research_live, Drafting, Outcome, CONCURRENCY};
pub use runtime::{manifest_path, runtime, runtime_from, runtime_with};
pub use sizing::{
    all_threads, check_draft, follow_ups, kind_search, screen_search, screened, solved_search,
    subtopic_search, thread_search, to_draft, DraftCheck,
};
pub use tuned::{
    classify, content_free, content_free_follow_ups, is_relevant, kind_of, screen, set_tuned_dir,
    solved, tuned_dir,
};
pub use types::{
    at_bound, Addresses, DraftToJudge, FollowUp, KindChoice, PostKind, Reply, Resolution, Subject,
    Subjected, Subtopic, SubtopicChoice, Thread, Topic, TopicChoice, Worth, POSTER_MARK,
    REPLY_CHARS,
};
