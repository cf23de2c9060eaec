//! What to say about a manifest that is not TOML or not of the manifest's shape.

use crate::suggest::suggest;
use crate::{ENTRY, LOCAL, SERVED, TABLES};

/// What to say about a file that is not TOML.
pub(crate) fn syntax(e: &toml::de::Error) -> String {
    format!(
        "not valid TOML: {}; each line under `[models]` is {ENTRY}",
        e.message().trim_end()
    )
}

/// What to say about TOML that does not have the manifest's shape.
pub(crate) fn shape(e: &toml::de::Error) -> String {
    format!(
        "{}; a manifest is a `[models]` table of {ENTRY} lines, each value a quoted string",
        e.message().trim_end()
    )
}

/// What to say about a table under `[models]`: most likely an alias with a
/// dot that TOML read as a dotted key (`qwen-1.5b` is `qwen-1` then `5b`).
pub(crate) fn nested(key: &str, table: &toml::Table, in_header: bool) -> String {
    if let Some(near) = ["path", "file", "gguf", "weights"]
        .into_iter()
        .find(|k| !in_header && table.contains_key(*k))
    {
        return format!(
            "alias `{key}` has `{near}`: a local model's table names its file (or an alias \
             declared above) with `model`, e.g. {LOCAL}"
        );
    }
    let mut dotted = key.to_string();
    let mut inner = table;
    while let Some((k, v)) = inner.iter().next().filter(|_| inner.len() == 1) {
        dotted = format!("{dotted}.{k}");
        match v {
            toml::Value::Table(t) => inner = t,
            _ => break,
        }
    }
    if in_header || dotted == key {
        format!(
            "`{key}` under `[models]` is a table without `model` or `endpoints`: write {ENTRY} \
             lines, not `[models.{key}]` tables; with template variables {LOCAL}; for a served \
             model {SERVED}"
        )
    } else {
        format!(
            "TOML reads `{dotted}` as the dotted key `{}`: quote an alias that holds a dot, \
             e.g. `\"{dotted}\" = \"models/model.gguf\"`",
            dotted.replace('.', "`.`")
        )
    }
}

/// Whether the key at byte `offset` of `text` sits in a `[table]` header
/// rather than at the start of a `key = value` line.
pub(crate) fn in_header(text: &str, offset: usize) -> bool {
    let before = text.get(..offset).unwrap_or_default();
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    line.trim_start().starts_with('[')
}

/// `a` or `an` before a TOML type name.
pub(crate) fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

/// What to say about a top-level key other than `models`.
pub(crate) fn unknown_key(key: &str, value: &toml::Value) -> String {
    let what = if value.is_table() {
        format!("unknown table `[{key}]`")
    } else {
        format!("unknown key `{key}` outside `[models]`")
    };
    match suggest(key, TABLES.iter().copied()) {
        Some(known) => format!("{what}; did you mean `[{known}]`? The manifest holds one table, `[models]`, of {ENTRY} lines"),
        None if value.is_table() => format!(
            "{what}: the manifest holds one table, `[models]`, of {ENTRY} lines"
        ),
        None => format!("{what}: put {ENTRY} lines under a `[models]` header"),
    }
}
