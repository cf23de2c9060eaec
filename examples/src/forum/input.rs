//! A user's own threads: the JSON Lines input file and its parser.

use std::path::Path;

use agentkit::prelude::*;

use super::{Thread, Topic};

/// What a person said about a thread: what the pipeline should find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    /// About running language models locally.
    pub relevant: bool,
    /// Relevant, an open concrete question, not a showcase or rant.
    pub worth_answering: bool,
    /// Hardware, performance, models or other.
    pub topic: Topic,
}

/// A thread to research, with its labels when it has them.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The `id` it was given, or `line N` after its line in the file.
    pub id: String,
    /// The thread.
    pub thread: Thread,
    /// Its labels, if the input had them.
    pub labels: Option<Labels>,
}

/// One line of an input file, as written.
#[derive(Deserialize)]
struct InputLine {
    id: Option<String>,
    #[serde(default)]
    community: String,
    title: String,
    body: String,
    #[serde(default, alias = "comments")]
    replies: Vec<String>,
    relevant: Option<bool>,
    worth_answering: Option<bool>,
    topic: Option<Topic>,
}

impl InputLine {
    fn into_entry(self, line: usize) -> Result<Entry, String> {
        let labels = match (self.relevant, self.worth_answering, self.topic) {
            (Some(relevant), Some(worth_answering), Some(topic)) => Some(Labels {
                relevant,
                worth_answering,
                topic,
            }),
            (None, None, None) => None,
            (r, w, t) => {
                let missing: Vec<&str> = [
                    ("`relevant`", r.is_none()),
                    ("`worth_answering`", w.is_none()),
                    ("`topic`", t.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, absent)| absent.then_some(name))
                .collect();
                return Err(format!(
                    "labels are all or nothing, and {} missing; give `relevant`, \
                     `worth_answering` and `topic`, or none of them",
                    missing.join(" and ")
                ));
            }
        };
        Ok(Entry {
            id: self.id.unwrap_or_else(|| format!("line {line}")),
            thread: Thread {
                community: self.community,
                title: self.title,
                body: self.body,
                replies: self.replies,
            },
            labels,
        })
    }
}

/// Why an input file gave no threads.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("cannot read {name}: {reason}")]
    Read {
        /// The file (`standard input` for `-`).
        name: String,
        /// The operating system's reason.
        reason: std::io::Error,
    },
    /// A line is not a thread.
    #[error("{name} line {line}: {reason}")]
    Line {
        /// The file (`standard input` for `-`).
        name: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong with it (serde_json's message for bad JSON).
        reason: String,
    },
    /// The file holds no threads at all.
    #[error(
        "{name} is empty: it needs one thread per line, as a JSON object with \
         `title` and `body` (and optionally `community`, `replies`, `id` and the labels)"
    )]
    Empty {
        /// The file (`standard input` for `-`).
        name: String,
    },
}

/// Reads threads from a JSON Lines file, `-` meaning standard input.
///
/// Each non-blank line is one JSON object: `title` and `body` (strings), and
/// optionally `community` (string), `replies` (strings; `comments` is also
/// accepted, so the corpus itself can be read), `id`, and the three labels
/// `relevant`, `worth_answering` and `topic`, all or none. Other fields are
/// ignored.
pub fn read_input(path: &Path) -> Result<Vec<Entry>, InputError> {
    let stdin = path.as_os_str() == "-";
    let name = if stdin {
        "standard input".to_string()
    } else {
        format!("`{}`", path.display())
    };
    let text = if stdin {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|reason| InputError::Read {
        name: name.clone(),
        reason,
    })?;
    parse_input(&name, &text)
}

/// Parses the text of an input file; `name` is how errors name the file.
pub fn parse_input(name: &str, text: &str) -> Result<Vec<Entry>, InputError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| InputError::Line {
            name: name.to_string(),
            line: i + 1,
            reason,
        };
        let parsed: InputLine = serde_json::from_str(line).map_err(|e| bad(json_problem(&e)))?;
        entries.push(parsed.into_entry(i + 1).map_err(bad)?);
    }
    if entries.is_empty() {
        return Err(InputError::Empty {
            name: name.to_string(),
        });
    }
    Ok(entries)
}

/// serde_json's message with its position given as a column: the line is
/// already named, and serde_json counts lines within the one it was given.
fn json_problem(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&position) {
        Some(problem) => format!("column {}: {problem}", e.column()),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forum::{load, LabelledThread, Split};

    fn err(text: &str) -> String {
        match parse_input("`t.jsonl`", text) {
            Ok(e) => panic!("expected an error, got {e:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_threads_with_and_without_labels() {
        let entries = parse_input(
            "`t.jsonl`",
            r#"{"title": "a", "body": "b"}

{"id": "x", "community": "c", "title": "d", "body": "e", "comments": ["f"], "relevant": true, "worth_answering": false, "topic": "models", "why": "ignored"}
"#,
        )
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "line 1");
        assert_eq!(entries[0].labels, None);
        assert!(entries[0].thread.replies.is_empty());
        assert_eq!(entries[1].id, "x");
        assert_eq!(entries[1].thread.replies, vec!["f".to_string()]);
        assert_eq!(
            entries[1].labels,
            Some(Labels {
                relevant: true,
                worth_answering: false,
                topic: Topic::Models
            })
        );
    }

    #[test]
    fn names_the_line_and_the_problem() {
        assert_eq!(
            err("{\"title\": \"a\", \"body\": \"b\"}\n{\"title\": \"a\"}"),
            "`t.jsonl` line 2: column 14: missing field `body`"
        );
        assert_eq!(
            err("{\"title\": \"a\", \"body\": \"b\", \"topic\": \"hardwre\", \"relevant\": true, \"worth_answering\": true}"),
            "`t.jsonl` line 1: column 46: unknown variant `hardwre`, expected one of \
             `hardware`, `performance`, `models`, `other`"
        );
        assert_eq!(
            err("not json"),
            "`t.jsonl` line 1: column 2: expected ident"
        );
        assert!(err(r#"{"title": "a", "body": "b", "relevant": true}"#)
            .contains("`worth_answering` and `topic` missing"));
        assert!(err("\n  \n").starts_with("`t.jsonl` is empty"));
        assert!(err("").starts_with("`t.jsonl` is empty"));
    }

    #[test]
    fn the_corpus_reads_as_input() {
        let path = crate::data_dir().join("forum.jsonl");
        let entries = read_input(&path).unwrap();
        let corpus = load(Split::All).unwrap();
        let from_corpus: Vec<Entry> = corpus.iter().map(LabelledThread::entry).collect();
        assert_eq!(entries, from_corpus);
    }

    #[test]
    fn the_sample_input_has_no_labels() {
        let entries = read_input(&crate::data_dir().join("my_threads.jsonl")).unwrap();
        assert!(entries.len() >= 3);
        assert!(entries.iter().all(|e| e.labels.is_none()));
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = read_input(Path::new("/nonexistent/threads.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot read `/nonexistent/threads.jsonl`: "),
            "{e}"
        );
    }
}
