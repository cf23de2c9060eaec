//! The labelled corpus, `data/forum.jsonl`.

use agentkit::prelude::*;

use super::{Entry, Labels, Thread, Topic};

/// A thread as stored in the corpus, with its labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelledThread {
    /// Stable id (`t01`..).
    pub id: String,
    /// `dev` (for tuning and few-shot examples) or `test` (held out).
    pub split: String,
    /// The community it was posted in.
    pub community: String,
    /// The thread title.
    pub title: String,
    /// The opening post.
    pub body: String,
    /// Replies so far.
    pub comments: Vec<String>,
    /// Label: about running language models locally.
    pub relevant: bool,
    /// Label: relevant, an open concrete question, not a showcase or rant.
    pub worth_answering: bool,
    /// Label: a question a reply solved, as the poster confirmed in a
    /// follow-up (absent in the file means false).
    #[serde(default)]
    pub solved: bool,
    /// Label: hardware, performance, models or other.
    pub topic: Topic,
}

impl LabelledThread {
    /// Its labels.
    pub fn labels(&self) -> Labels {
        Labels {
            relevant: self.relevant,
            worth_answering: self.worth_answering,
            topic: self.topic,
        }
    }

    /// The thread as an [`Entry`] to research, labels kept.
    pub fn entry(&self) -> Entry {
        Entry {
            id: self.id.clone(),
            thread: self.thread(),
            labels: Some(self.labels()),
        }
    }

    /// The thread as the agents see it (no labels).
    pub fn thread(&self) -> Thread {
        Thread {
            community: self.community.clone(),
            title: self.title.clone(),
            body: self.body.clone(),
            replies: self.comments.clone(),
        }
    }
}

/// Which part of the labelled corpus to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    /// The threads for tuning and few-shot examples.
    Dev,
    /// The held-out threads, never used for tuning.
    Test,
    /// Dev and test.
    All,
    /// The second held-out set (`data/holdout2.jsonl`), written apart from
    /// the corpus: other communities, lengths and styles. Never used for
    /// tuning or few-shot examples.
    Holdout2,
}

impl Split {
    /// `dev`, `test`, `holdout2`, or `None` for dev and test.
    fn name(self) -> Option<&'static str> {
        match self {
            Split::Dev => Some("dev"),
            Split::Test => Some("test"),
            Split::All => None,
            Split::Holdout2 => Some("holdout2"),
        }
    }

    /// The file the split is in, inside the data directory.
    fn file(self) -> &'static str {
        match self {
            Split::Holdout2 => "holdout2.jsonl",
            _ => "forum.jsonl",
        }
    }
}

/// Loads the threads of `split`: from the corpus (`data/forum.jsonl`), or
/// for [`Split::Holdout2`] from `data/holdout2.jsonl`.
pub fn load(split: Split) -> Result<Vec<LabelledThread>, Error> {
    let path = crate::data_dir().join(split.file());
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Dataset {
        path: path.clone(),
        line: 0,
        reason: e.to_string(),
    })?;
    let mut threads = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let t: LabelledThread = serde_json::from_str(line).map_err(|e| Error::Dataset {
            path: path.clone(),
            line: i + 1,
            reason: e.to_string(),
        })?;
        if split.name().is_none_or(|s| s == t.split) {
            threads.push(t);
        }
    }
    Ok(threads)
}

/// The threads as evaluation examples of the relevance question alone:
/// each thread's input, its `relevant` label expected.
pub fn relevance_examples(threads: &[LabelledThread]) -> Vec<agentkit::eval::Example<Thread>> {
    threads
        .iter()
        .map(|t| agentkit::eval::Example {
            input: t.thread(),
            expected: serde_json::json!({ "relevant": t.relevant }),
        })
        .collect()
}
