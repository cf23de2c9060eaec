//! Thinking over HTTP: one grammar that holds the think block and the
//! answer (for llama-server's `grammar` field), and the think block taken
//! out of an answer's content where the server left it there in its tags.

use agentkit::Reasoning;

/// A compact GBNF grammar for the think block, then `answer` (a grammar
/// whose start rule is `root`): free text without `<` of at most about four
/// characters per token of the budget, inside the tags, then the answer.
pub(super) fn grammar(answer: &str, reasoning: &Reasoning) -> String {
    let renamed: Vec<String> = answer
        .lines()
        .map(|line| match line.strip_prefix("root ::=") {
            Some(rest) => format!("answer ::={rest}"),
            None => line.to_string(),
        })
        .collect();
    let chars = reasoning.budget as usize * 4;
    format!(
        "root ::= {open} \"\\n\" think {close} \"\\n\" answer\nthink ::= [^<]{{0,{chars}}}\n{}",
        renamed.join("\n"),
        open = literal(reasoning.open),
        close = literal(reasoning.close),
    )
}

/// `text` as a GBNF string literal.
fn literal(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// What a piece of streamed content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
    /// Text inside the think block.
    Reasoning(String),
    /// Text of the answer.
    Answer(String),
}

/// Splits content that may begin with a think block into the block and the
/// answer, piece by piece as it streams: text that may still turn out to be
/// (part of) a tag is held back until it is clear.
pub(super) struct Splitter {
    open: &'static str,
    close: &'static str,
    state: State,
    held: String,
    /// Whether any of the block's text was given out (its first line break
    /// is not).
    began: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before anything but whitespace: the block may open yet.
    Start,
    /// Inside the block.
    Inside,
    /// Just after the block: the line break before the answer is dropped.
    After,
    /// In the answer (the block closed, or there was none).
    Answer,
}

impl Splitter {
    /// A splitter for `reasoning`'s tags.
    pub(super) fn new(reasoning: &Reasoning) -> Splitter {
        Splitter {
            open: reasoning.open,
            close: reasoning.close,
            state: State::Start,
            held: String::new(),
            began: false,
        }
    }

    /// Takes the next piece of content; gives what is now clear.
    pub(super) fn feed(&mut self, text: &str) -> Vec<Part> {
        self.held.push_str(text);
        let mut parts = Vec::new();
        loop {
            match self.state {
                State::Start => {
                    let trimmed = self.held.trim_start();
                    if let Some(rest) = trimmed.strip_prefix(self.open) {
                        self.held = rest.to_string();
                        self.state = State::Inside;
                    } else if self.open.starts_with(trimmed) {
                        return parts;
                    } else {
                        self.state = State::Answer;
                    }
                }
                State::Inside if !self.began && self.held.is_empty() => return parts,
                State::Inside if !self.began => {
                    self.held = self.held.trim_start_matches('\n').to_string();
                    self.began = !self.held.is_empty();
                    if !self.began {
                        return parts;
                    }
                }
                State::Inside => match self.held.find(self.close) {
                    Some(at) => {
                        let inside = self.held[..at].to_string();
                        let rest = self.held[at + self.close.len()..].to_string();
                        push(&mut parts, Part::Reasoning(inside));
                        self.held = rest;
                        self.state = State::After;
                    }
                    None => {
                        let keep = partial_suffix(&self.held, self.close);
                        let cut = self.held.len() - keep;
                        let inside: String = self.held.drain(..cut).collect();
                        push(&mut parts, Part::Reasoning(inside));
                        return parts;
                    }
                },
                State::After => {
                    self.held = self.held.trim_start().to_string();
                    if self.held.is_empty() {
                        return parts;
                    }
                    self.state = State::Answer;
                }
                State::Answer => {
                    let answer = std::mem::take(&mut self.held);
                    push(&mut parts, Part::Answer(answer));
                    return parts;
                }
            }
        }
    }

    /// The content is over: what was held back, as what it was.
    pub(super) fn finish(&mut self) -> Vec<Part> {
        let held = std::mem::take(&mut self.held);
        let mut parts = Vec::new();
        match self.state {
            State::Inside => push(&mut parts, Part::Reasoning(held)),
            State::After => {}
            State::Start | State::Answer => push(&mut parts, Part::Answer(held)),
        }
        parts
    }
}

/// Adds `part` unless it is empty.
fn push(parts: &mut Vec<Part>, part: Part) {
    let empty = match &part {
        Part::Reasoning(t) | Part::Answer(t) => t.is_empty(),
    };
    if !empty {
        parts.push(part);
    }
}

/// How many bytes at the end of `text` may be the start of `tag` (on a
/// character boundary).
fn partial_suffix(text: &str, tag: &str) -> usize {
    (1..tag.len().min(text.len() + 1))
        .rev()
        .find(|n| text.is_char_boundary(text.len() - n) && text.ends_with(&tag[..*n]))
        .unwrap_or(0)
}

/// The think block and the answer of whole `content`.
pub(super) fn split(content: &str, reasoning: &Reasoning) -> (String, String) {
    let mut splitter = Splitter::new(reasoning);
    let mut parts = splitter.feed(content);
    parts.extend(splitter.finish());
    let (mut thought, mut answer) = (String::new(), String::new());
    for part in parts {
        match part {
            Part::Reasoning(t) => thought.push_str(&t),
            Part::Answer(t) => answer.push_str(&t),
        }
    }
    (thought.trim().to_string(), answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Reasoning = Reasoning::budget(8);

    #[test]
    fn the_grammar_holds_the_block_then_the_answer() {
        let g = grammar("root ::= \"{\" x \"}\"\nx ::= \"a\"", &R);
        assert_eq!(
            g,
            "root ::= \"<think>\" \"\\n\" think \"</think>\" \"\\n\" answer\nthink ::= [^<]{0,32}\nanswer ::= \"{\" x \"}\"\nx ::= \"a\""
        );
    }

    #[test]
    fn content_splits_however_it_is_cut() {
        let content = "<think>\nIt asks about GGUF.</think>\n{\"ok\":true}";
        assert_eq!(
            split(content, &R),
            (
                "It asks about GGUF.".to_string(),
                "{\"ok\":true}".to_string()
            )
        );
        for cut in 1..content.len() {
            let mut s = Splitter::new(&R);
            let mut parts = s.feed(&content[..cut]);
            parts.extend(s.feed(&content[cut..]));
            parts.extend(s.finish());
            let joined = |want: fn(&Part) -> Option<&String>| {
                parts.iter().filter_map(want).cloned().collect::<String>()
            };
            let thought = joined(|p| match p {
                Part::Reasoning(t) => Some(t),
                Part::Answer(_) => None,
            });
            let answer = joined(|p| match p {
                Part::Answer(t) => Some(t),
                Part::Reasoning(_) => None,
            });
            assert_eq!(thought, "It asks about GGUF.", "cut at {cut}");
            assert_eq!(answer, "{\"ok\":true}", "cut at {cut}");
        }
    }

    #[test]
    fn content_without_a_block_is_all_answer() {
        assert_eq!(
            split("{\"ok\":true}", &R),
            (String::new(), "{\"ok\":true}".to_string())
        );
        let mut s = Splitter::new(&R);
        assert_eq!(s.feed("<th"), Vec::new());
        assert_eq!(s.feed("at"), vec![Part::Answer("<that".into())]);
    }
}
