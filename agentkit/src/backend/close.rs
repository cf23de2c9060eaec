//! The shortest way to finish an answer that is running out of tokens.

use super::OutputSchema;

/// The text that closes `prefix` (the start of an answer a grammar for
/// `schema` allowed) into a complete value of the output's shape: the open
/// string ended, the required fields not written yet given their smallest
/// values (`""`, `0` or the minimum, `false`, `[]`, the first of an enum),
/// the open arrays and objects closed, all in the order the grammar writes
/// them. `None` when the prefix cannot be finished that way without
/// changing what is written (a half-written number or `tru`, a string cut
/// inside an enum value that the closed value does not start with, an
/// escape written differently): the caller then lets the answer run out as
/// before. What a backend writes for
/// [`Sampling::close_at_budget`](crate::Sampling::close_at_budget).
pub fn closing(prefix: &str, schema: &OutputSchema) -> Option<String> {
    let read = crate::stream::partial::read(prefix);
    let filled = crate::stream::partial::fill(read.value.as_ref(), schema.model());
    let whole = serde_json::to_string(&filled).ok()?;
    whole.strip_prefix(prefix).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Note {
        title: String,
        #[schemars(range(min = 1, max = 5))]
        urgency: u8,
        done: bool,
        tags: Vec<String>,
    }

    fn close(prefix: &str) -> Option<String> {
        closing(prefix, &OutputSchema::of::<Note>())
    }

    #[test]
    fn closes_every_prefix_of_a_compact_answer_into_a_valid_one() {
        let answer = r#"{"title":"Fix the build","urgency":3,"done":false,"tags":["ci","rust"]}"#;
        let mut closed = 0;
        for end in 0..=answer.len() {
            let prefix = &answer[..end];
            if let Some(rest) = close(prefix) {
                let whole = format!("{prefix}{rest}");
                let parsed: Result<Note, _> = serde_json::from_str(&whole);
                assert!(parsed.is_ok(), "{prefix:?} + {rest:?}");
                closed += 1;
            }
        }
        // Only a prefix ending inside a number or right after a key's
        // opening may fail to close as written; nearly all do.
        assert!(closed + 8 >= answer.len(), "{closed} of {}", answer.len());
    }

    #[test]
    fn the_closing_is_short_and_keeps_what_is_written() {
        assert_eq!(
            close(r#"{"title":"Fix the bu"#).as_deref(),
            Some(r#"","urgency":1,"done":false,"tags":[]}"#)
        );
        assert_eq!(
            close(r#"{"title":"x","urgency":2,"done":true,"tags":["a","b"#).as_deref(),
            Some(r#""]}"#)
        );
        assert_eq!(
            close("").as_deref(),
            Some(r#"{"title":"","urgency":1,"done":false,"tags":[]}"#)
        );
    }
}
