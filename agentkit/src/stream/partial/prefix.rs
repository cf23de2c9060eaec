//! Closing a prefix of a JSON text, and noting its finished array elements.

use serde_json::{Map, Number, Value};

/// What a prefix of a JSON text holds so far.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Prefix {
    /// The value so far, closed; `None` before its first character.
    pub value: Option<Value>,
    /// The array elements that are finished (a later token cannot change
    /// them), in the order they were finished: the JSON pointer of the
    /// array and the element's index.
    pub elements: Vec<(String, usize)>,
}

/// Reads `text`, a prefix of a JSON value (surrounding whitespace allowed).
pub(crate) fn read(text: &str) -> Prefix {
    let mut reader = Reader {
        text,
        pos: 0,
        elements: Vec::new(),
    };
    let value = reader.value("").value;
    Prefix {
        value,
        elements: reader.elements,
    }
}

/// A value read from a prefix, and whether it is finished.
struct Read {
    value: Option<Value>,
    finished: bool,
}

impl Read {
    fn unfinished(value: Option<Value>) -> Read {
        Read {
            value,
            finished: false,
        }
    }

    fn finished(value: Value) -> Read {
        Read {
            value: Some(value),
            finished: true,
        }
    }
}

struct Reader<'t> {
    text: &'t str,
    pos: usize,
    elements: Vec<(String, usize)>,
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(' ' | '\n' | '\r' | '\t')) {
            self.pos += 1;
        }
    }

    fn value(&mut self, path: &str) -> Read {
        self.skip_whitespace();
        match self.peek() {
            Some('{') => self.object(path),
            Some('[') => self.array(path),
            Some('"') => {
                let (s, finished) = self.string();
                Read {
                    value: Some(Value::String(s)),
                    finished,
                }
            }
            Some('t') => self.literal("true", Value::Bool(true)),
            Some('f') => self.literal("false", Value::Bool(false)),
            Some('n') => self.literal("null", Value::Null),
            Some('-' | '0'..='9') => self.number(),
            // Not JSON: nothing more can be read.
            _ => Read::unfinished(None),
        }
    }

    fn object(&mut self, path: &str) -> Read {
        self.pos += 1;
        let mut map = Map::new();
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some('}') => {
                    self.pos += 1;
                    return Read::finished(Value::Object(map));
                }
                Some(',') => self.pos += 1,
                Some('"') => {
                    let (key, finished) = self.string();
                    self.skip_whitespace();
                    if !finished || self.peek() != Some(':') {
                        return Read::unfinished(Some(Value::Object(map)));
                    }
                    self.pos += 1;
                    let read = self.value(&format!("{path}/{}", escape(&key)));
                    if let Some(v) = read.value {
                        map.insert(key, v);
                    }
                    if !read.finished {
                        return Read::unfinished(Some(Value::Object(map)));
                    }
                }
                _ => return Read::unfinished(Some(Value::Object(map))),
            }
        }
    }

    fn array(&mut self, path: &str) -> Read {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(']') => {
                    self.pos += 1;
                    return Read::finished(Value::Array(items));
                }
                Some(',') => self.pos += 1,
                Some(_) => {
                    let index = items.len();
                    let read = self.value(&format!("{path}/{index}"));
                    match read.value {
                        Some(v) => items.push(v),
                        None => return Read::unfinished(Some(Value::Array(items))),
                    }
                    if !read.finished {
                        return Read::unfinished(Some(Value::Array(items)));
                    }
                    self.elements.push((path.to_string(), index));
                }
                None => return Read::unfinished(Some(Value::Array(items))),
            }
        }
    }

    /// A string from its opening quote: what is written of it, and whether
    /// its closing quote is. An escape cut off by the end is left out.
    fn string(&mut self) -> (String, bool) {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return (out, false);
            };
            match c {
                '"' => return (out, true),
                '\\' => match self.escape() {
                    Some(c) => out.push(c),
                    None => return (out, false),
                },
                c => out.push(c),
            }
        }
    }

    /// The character an escape (after its backslash) stands for, or `None`
    /// when the text ends inside it.
    fn escape(&mut self) -> Option<char> {
        Some(match self.bump()? {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = self.hex4()?;
                if (0xD800..0xDC00).contains(&high) {
                    // A surrogate pair: the low half follows as `\uXXXX`.
                    if self.bump()? != '\\' || self.bump()? != 'u' {
                        return Some(char::REPLACEMENT_CHARACTER);
                    }
                    let low = self.hex4()?;
                    let code =
                        0x10000 + ((high - 0xD800) << 10) + (low.wrapping_sub(0xDC00) & 0x3FF);
                    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                } else {
                    char::from_u32(high).unwrap_or(char::REPLACEMENT_CHARACTER)
                }
            }
            other => other,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        let code = u32::from_str_radix(digits, 16).ok()?;
        self.pos += 4;
        Some(code)
    }

    fn literal(&mut self, word: &str, value: Value) -> Read {
        let rest = &self.text[self.pos..];
        if rest.starts_with(word) {
            self.pos += word.len();
            Read::finished(value)
        } else {
            // `tr`: not a value yet.
            self.pos = self.text.len();
            Read::unfinished(None)
        }
    }

    /// A number; unfinished while the text ends in it (`12` may become
    /// `120`), and left out while what is written is not a number yet (`-`,
    /// `1.`, `1e`).
    fn number(&mut self) -> Read {
        let start = self.pos;
        while matches!(self.peek(), Some('-' | '+' | '.' | 'e' | 'E' | '0'..='9')) {
            self.pos += 1;
        }
        let written = &self.text[start..self.pos];
        let finished = self.pos < self.text.len();
        let value = serde_json::from_str::<Number>(written)
            .ok()
            .map(Value::Number);
        Read { value, finished }
    }
}

/// `key` as one JSON-pointer segment.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn closed(text: &str) -> Option<Value> {
        read(text).value
    }

    #[test]
    fn every_prefix_of_a_value_closes_into_json() {
        let text = r#"{"title": "Q4 \"quants\" \u00e9 ok", "scores": [1, -2.5e3, 30], "ok": true, "tags": [{"a": null}, []]}"#;
        let whole: Value = serde_json::from_str(text).unwrap();
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let prefix = read(&text[..end]);
            if end == text.len() {
                assert_eq!(prefix.value.as_ref(), Some(&whole));
            }
            if end > 0 {
                assert!(
                    prefix.value.is_some(),
                    "nothing read from {:?}",
                    &text[..end]
                );
            }
        }
    }

    #[test]
    fn unfinished_parts_are_closed_or_left_out() {
        assert_eq!(
            closed(r#"{"reply": "Hi th"#),
            Some(json!({"reply": "Hi th"}))
        );
        assert_eq!(closed(r#"{"reply": "a\"#), Some(json!({"reply": "a"})));
        assert_eq!(closed(r#"{"reply": "a\u00"#), Some(json!({"reply": "a"})));
        assert_eq!(closed(r#"{"repl"#), Some(json!({})));
        assert_eq!(closed(r#"{"ok": tr"#), Some(json!({})));
        assert_eq!(closed(r#"{"n": -"#), Some(json!({})));
        assert_eq!(closed(r#"{"n": 1."#), Some(json!({})));
        assert_eq!(closed(r#"{"n": 12"#), Some(json!({"n": 12})));
        assert_eq!(closed(r#"[1, 2, "#), Some(json!([1, 2])));
        assert_eq!(closed("  "), None);
    }

    #[test]
    fn elements_are_finished_only_when_nothing_can_change_them() {
        let seen = |t: &str| read(t).elements;
        assert_eq!(seen(r#"{"xs": [1, 2"#), vec![("/xs".to_string(), 0)]);
        assert_eq!(
            seen(r#"{"xs": [1, 2]"#),
            vec![("/xs".to_string(), 0), ("/xs".to_string(), 1)]
        );
        assert_eq!(seen(r#"[{"a": "x"}, {"a": "y"#), vec![(String::new(), 0)]);
        assert_eq!(
            seen(r#"[["a"], ["b""#),
            vec![
                ("/0".to_string(), 0),
                (String::new(), 0),
                ("/1".to_string(), 0)
            ]
        );
    }
}
