//! Pointing one alias of a manifest at another model, in place: the rest of
//! the file (comments, order, layout) is kept as it was written.

use crate::{Document, Manifest, ManifestError};

impl Manifest {
    /// `text` (the text of a manifest) with `alias` pointed at `model` (an
    /// alias known before it, or a model file relative to the manifest): the
    /// entry's value is replaced where it stands, or the entry is added at
    /// the end of `[models]` (the table is added when there is none). A
    /// table entry keeps its `chat_template_kwargs`; a served entry becomes
    /// a local one. Everything else in the text is kept byte for byte.
    ///
    /// What a sizing run writes once it has chosen a model for an agent.
    /// Fails when `text` is not a valid manifest, or `alias` or `model` is
    /// empty.
    pub fn set_model(text: &str, alias: &str, model: &str) -> Result<String, ManifestError> {
        Manifest::parse(text)?;
        if alias.trim().is_empty() || model.trim().is_empty() {
            return Err(ManifestError::at(
                text,
                0..0,
                format!("cannot point alias {alias:?} at model {model:?}: both must be non-empty"),
            ));
        }
        let document: Document = toml::from_str(text)
            .map_err(|e| ManifestError::from_toml(text, e.message().to_string(), e))?;
        let value = quoted(model);
        let edited = match document.models.iter().find(|(k, _)| k.get_ref() == alias) {
            Some((_, old)) => {
                let span = old.span();
                let (at, new) = match old.get_ref() {
                    toml::Value::Table(_) => {
                        let inner = inner_spans(&text[span.clone()])?;
                        let part = |key: &str| {
                            inner
                                .get(key)
                                .map(|r| (span.start + r.start)..(span.start + r.end))
                        };
                        match (
                            part("endpoints"),
                            part("model"),
                            part("chat_template_kwargs"),
                        ) {
                            (None, Some(model_span), _) => (model_span, value),
                            (_, _, Some(kwargs)) => (
                                span,
                                format!(
                                    "{{ model = {value}, chat_template_kwargs = {} }}",
                                    &text[kwargs]
                                ),
                            ),
                            _ => (span, value),
                        }
                    }
                    _ => (span, value),
                };
                format!("{}{new}{}", &text[..at.start], &text[at.end..])
            }
            None => {
                let line = format!("{} = {value}", key(alias));
                let after = document
                    .models
                    .values()
                    .map(|v| v.span().end)
                    .max()
                    .or_else(|| header_end(text));
                match after {
                    Some(at) => {
                        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                        format!("{}\n{line}{}", &text[..end], &text[end..])
                    }
                    None => {
                        let sep = if text.is_empty() || text.ends_with('\n') {
                            ""
                        } else {
                            "\n"
                        };
                        format!("{text}{sep}\n[models]\n{line}\n")
                    }
                }
            }
        };
        let check = Manifest::parse(&edited)?;
        if check.get(alias) != Some(model) {
            return Err(ManifestError::at(
                text,
                0..0,
                format!("could not point alias `{alias}` at `{model}` in this manifest; edit it by hand"),
            ));
        }
        Ok(edited)
    }
}

/// The byte range of each key's value inside `table`, the text of an
/// inline table.
fn inner_spans(
    table: &str,
) -> Result<std::collections::BTreeMap<String, std::ops::Range<usize>>, ManifestError> {
    const PREFIX: &str = "x = ";
    let doc = format!("{PREFIX}{table}");
    let parsed: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, toml::Spanned<toml::Value>>,
    > = toml::from_str(&doc)
        .map_err(|e| ManifestError::from_toml(table, e.message().to_string(), e))?;
    Ok(parsed
        .into_values()
        .flatten()
        .map(|(k, v)| {
            let r = v.span();
            (k, (r.start - PREFIX.len())..(r.end - PREFIX.len()))
        })
        .collect())
}

/// `s` as a TOML basic string, quoted and escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `alias` as a TOML key: bare when it can be, else quoted.
fn key(alias: &str) -> String {
    let bare = alias
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        alias.to_string()
    } else {
        quoted(alias)
    }
}

/// The byte offset just past a `[models]` header line, if the text has one.
fn header_end(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line.split('#').next().unwrap_or("");
        let squeezed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if squeezed == "[models]" {
            return Some(offset + line.trim_end_matches(['\n', '\r']).len());
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::Manifest;

    const TEXT: &str = "# The flagship's models.\n[models]\nscreen = \"smollm2-135m\"  # the screen\njudge = \"smollm2-135m\"\n";

    #[test]
    fn replaces_a_value_where_it_stands_and_keeps_the_rest() {
        let edited = Manifest::set_model(TEXT, "judge", "qwen2.5-coder-0.5b").unwrap();
        assert_eq!(
            edited,
            "# The flagship's models.\n[models]\nscreen = \"smollm2-135m\"  # the screen\njudge = \"qwen2.5-coder-0.5b\"\n"
        );
        let edited = Manifest::set_model(TEXT, "screen", "models/a b.gguf").unwrap();
        assert!(edited.contains("screen = \"models/a b.gguf\"  # the screen\n"));
    }

    #[test]
    fn adds_a_missing_alias_after_the_last_entry_or_under_a_new_table() {
        let edited = Manifest::set_model(TEXT, "draft", "qwen2.5-coder-0.5b").unwrap();
        assert!(edited.ends_with("judge = \"smollm2-135m\"\ndraft = \"qwen2.5-coder-0.5b\"\n"));
        let edited = Manifest::set_model("[models]\n", "my step", "smollm2-135m").unwrap();
        assert_eq!(edited, "[models]\n\"my step\" = \"smollm2-135m\"\n");
        let edited = Manifest::set_model("# nothing yet", "draft", "smollm2-135m").unwrap();
        assert_eq!(
            edited,
            "# nothing yet\n\n[models]\ndraft = \"smollm2-135m\"\n"
        );
        assert_eq!(
            Manifest::parse(&edited).unwrap().get("draft"),
            Some("smollm2-135m")
        );
    }

    #[test]
    fn a_table_entry_keeps_its_template_variables_and_a_served_one_becomes_local() {
        let text = "[models]\nthink = { model = \"qwen3.gguf\", chat_template_kwargs = { enable_thinking = false } }\nfar = { endpoints = [{ url = \"http://127.0.0.1:8080\", model = \"m\" }] }\n";
        let edited = Manifest::set_model(text, "think", "qwen2.5-coder-0.5b").unwrap();
        let manifest = Manifest::parse(&edited).unwrap();
        assert_eq!(manifest.get("think"), Some("qwen2.5-coder-0.5b"));
        assert_eq!(
            manifest
                .chat_template_kwargs("think")
                .get("enable_thinking"),
            Some(&toml::Value::Boolean(false))
        );
        let edited = Manifest::set_model(text, "far", "smollm2-135m").unwrap();
        assert!(edited.ends_with("far = \"smollm2-135m\"\n"));
    }

    #[test]
    fn refuses_an_invalid_manifest_and_empty_names() {
        let err = Manifest::set_model("[modles]\n", "a", "b").unwrap_err();
        assert!(err.message().contains("modles"), "{err}");
        let err = Manifest::set_model(TEXT, "judge", " ").unwrap_err();
        assert!(err.message().contains("non-empty"), "{err}");
    }
}
