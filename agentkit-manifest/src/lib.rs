#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod settings;
mod suggest;

pub use suggest::suggest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The tables a manifest may hold, for did-you-mean suggestions.
const TABLES: &[&str] = &["models"];

/// What an entry under `[models]` looks like, quoted in error messages.
const ENTRY: &str = "`alias = \"model or path\"`";

/// What the table form of an entry looks like, quoted in error messages.
const SERVED: &str =
    "`alias = { endpoints = [{ url = \"http://127.0.0.1:8080\", model = \"served-name\" }] }`";

/// A model manifest: the aliases under `[models]`, in the order they are
/// declared.
///
/// Order matters because a value may name an alias declared before it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    models: Vec<(String, Model)>,
}

/// Where the model of one alias runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Model {
    /// `alias = "value"`: an alias declared before it, or a GGUF file relative
    /// to the manifest, run in-process.
    Local(String),
    /// `alias = { endpoints = [...] }`: served by one or more servers that
    /// speak the OpenAI-compatible chat completions API.
    Served(Vec<Endpoint>),
}

/// One server of a served alias: `{ url = "...", model = "...", api_key_env = "...", timeout_s = 30 }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Endpoint {
    /// The server's base URL, e.g. `http://127.0.0.1:8080` (`/v1/chat/completions` is appended).
    pub url: String,
    /// The model name the server serves it under.
    pub model: String,
    /// The environment variable that holds the API key, if the server needs one.
    /// The manifest names the variable, never the key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Seconds to wait for one answer before trying another endpoint.
    #[serde(default)]
    pub timeout_s: Option<f64>,
}

/// The table form of an entry as serde sees it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServedEntry {
    endpoints: Vec<Endpoint>,
}

/// The file as serde sees it. The keys keep their spans so that entries can
/// be put back in declaration order and errors can point at them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    models: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

impl Manifest {
    /// Parses the text of a manifest.
    ///
    /// The text is TOML: comments, single- or double-quoted strings and
    /// `[ models ]` all mean what TOML says. An error gives the line and
    /// column of the mistake; it has no path (use [`Manifest::load`] for one).
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        // First every top-level key, so an unknown table is reported by name
        // (with a suggestion) rather than as serde's bare "unknown field".
        let top: BTreeMap<Spanned<String>, toml::Value> =
            toml::from_str(text).map_err(|e| ManifestError::from_toml(text, syntax(&e), e))?;
        if let Some((key, value)) = top
            .iter()
            .filter(|(key, _)| !TABLES.contains(&key.get_ref().as_str()))
            .min_by_key(|(key, _)| key.span().start)
        {
            return Err(ManifestError::at(
                text,
                key.span(),
                unknown_key(key.get_ref(), value),
            ));
        }
        let document: Document =
            toml::from_str(text).map_err(|e| ManifestError::from_toml(text, shape(&e), e))?;
        let mut models: Vec<_> = document.models.into_iter().collect();
        models.sort_by_key(|(alias, _)| alias.span().start);
        let mut manifest = Manifest::default();
        for (alias, value) in models {
            if alias.get_ref().trim().is_empty() {
                return Err(ManifestError::at(
                    text,
                    alias.span(),
                    format!("empty alias: give the model a name, e.g. {ENTRY}"),
                ));
            }
            let value = match value.get_ref() {
                toml::Value::String(v) => Spanned::new(value.span(), v.clone()),
                toml::Value::Table(table) if table.contains_key("endpoints") => {
                    let endpoints = served(alias.get_ref(), table)
                        .map_err(|message| ManifestError::at(text, value.span(), message))?;
                    manifest
                        .models
                        .push((alias.into_inner(), Model::Served(endpoints)));
                    continue;
                }
                toml::Value::Table(table) => {
                    return Err(ManifestError::at(
                        text,
                        alias.span(),
                        nested(alias.get_ref(), table, in_header(text, alias.span().start)),
                    ))
                }
                other => {
                    return Err(ManifestError::at(
                        text,
                        value.span(),
                        format!(
                            "the value of alias `{}` is {}, not a string: quote it, \
                             e.g. `{} = \"models/model.gguf\"`",
                            alias.get_ref(),
                            article(other.type_str()),
                            alias.get_ref(),
                        ),
                    ))
                }
            };
            if value.get_ref().trim().is_empty() {
                return Err(ManifestError::at(
                    text,
                    value.span(),
                    format!(
                        "alias `{}` has an empty value: name an alias declared above it \
                         (such as \"smollm2-135m\") or a GGUF file relative to the manifest",
                        alias.get_ref()
                    ),
                ));
            }
            manifest
                .models
                .push((alias.into_inner(), Model::Local(value.into_inner())));
        }
        Ok(manifest)
    }

    /// Reads and parses the manifest at `path`; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Manifest, ManifestError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
            path: Some(path.to_path_buf()),
            line: 0,
            column: 0,
            message: format!(
                "cannot read the model manifest: {e}; check the path (the manifest is \
                 `agentkit.toml` beside the crate's Cargo.toml)"
            ),
            source: Some(Box::new(e)),
        })?;
        Manifest::parse(&text).map_err(|e| e.with_path(path))
    }

    /// Every `(alias, value)` under `[models]` of the string form, in
    /// declaration order. A value is either an alias declared before it or a
    /// path to a GGUF file, relative to the manifest's directory; the
    /// manifest does not decide which (the runtime does, knowing its
    /// built-in aliases). Served aliases are in [`Manifest::entries`].
    pub fn models(&self) -> impl Iterator<Item = (&str, &str)> {
        self.models.iter().filter_map(|(a, m)| match m {
            Model::Local(v) => Some((a.as_str(), v.as_str())),
            Model::Served(_) => None,
        })
    }

    /// Every entry under `[models]`, local and served, in declaration order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Model)> {
        self.models.iter().map(|(a, m)| (a.as_str(), m))
    }

    /// Every alias the manifest declares, in declaration order.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(|(a, _)| a.as_str())
    }

    /// The value of `alias`, if the manifest declares it in the string form.
    pub fn get(&self, alias: &str) -> Option<&str> {
        self.models().find(|(a, _)| *a == alias).map(|(_, v)| v)
    }
}

/// The endpoints of the table form of `alias`, checked: at least one, each
/// with an `http(s)://` URL, a served model name and a positive timeout.
fn served(alias: &str, table: &toml::Table) -> Result<Vec<Endpoint>, String> {
    let entry: ServedEntry =
        toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                format!(
                "alias `{alias}`: {}; a served alias is {SERVED}, each endpoint with `url` and \
                 `model`, optionally `api_key_env` and `timeout_s`",
                e.message().trim_end()
            )
            })?;
    if entry.endpoints.is_empty() {
        return Err(format!(
            "alias `{alias}` has no endpoints: give at least one, e.g. {SERVED}"
        ));
    }
    for e in &entry.endpoints {
        if !(e.url.starts_with("http://") || e.url.starts_with("https://")) {
            return Err(format!(
                "alias `{alias}`: endpoint url `{}` must start with `http://` or `https://`",
                e.url
            ));
        }
        if e.model.trim().is_empty() {
            return Err(format!(
                "alias `{alias}`: endpoint `{}` has an empty `model`; give the name the server \
                 serves the model under",
                e.url
            ));
        }
        if let Some(t) = e.timeout_s.filter(|t| !(t.is_finite() && *t > 0.0)) {
            return Err(format!(
                "alias `{alias}`: endpoint `{}` has timeout_s = {t}; give a positive number of seconds",
                e.url
            ));
        }
        if e.api_key_env
            .as_deref()
            .is_some_and(|v| v.trim().is_empty())
        {
            return Err(format!(
                "alias `{alias}`: endpoint `{}` has an empty `api_key_env`; name the environment \
                 variable that holds the key, or leave it out",
                e.url
            ));
        }
    }
    Ok(entry.endpoints)
}

/// What to say about a file that is not TOML.
fn syntax(e: &toml::de::Error) -> String {
    format!(
        "not valid TOML: {}; each line under `[models]` is {ENTRY}",
        e.message().trim_end()
    )
}

/// What to say about TOML that does not have the manifest's shape.
fn shape(e: &toml::de::Error) -> String {
    format!(
        "{}; a manifest is a `[models]` table of {ENTRY} lines, each value a quoted string",
        e.message().trim_end()
    )
}

/// What to say about a table under `[models]`: most likely an alias with a
/// dot that TOML read as a dotted key (`qwen-1.5b` is `qwen-1` then `5b`).
fn nested(key: &str, table: &toml::Table, in_header: bool) -> String {
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
            "`{key}` under `[models]` is a table without `endpoints`: write {ENTRY} lines, \
             not `[models.{key}]` tables, or for a served model {SERVED}"
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
fn in_header(text: &str, offset: usize) -> bool {
    let before = text.get(..offset).unwrap_or_default();
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    line.trim_start().starts_with('[')
}

/// `a` or `an` before a TOML type name.
fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

/// What to say about a top-level key other than `models`.
fn unknown_key(key: &str, value: &toml::Value) -> String {
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

/// A manifest that could not be read or is not valid: where (file, line,
/// column) and what to do about it.
///
/// Displays as `path:line:column: message`, the way compilers point at a
/// mistake. Its [`source`](std::error::Error::source) is the underlying I/O
/// or TOML error, whose own display quotes the offending line.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", place(path.as_deref(), *line, *column))]
pub struct ManifestError {
    path: Option<PathBuf>,
    line: usize,
    column: usize,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// `path:line:column: `, or as much of it as is known.
fn place(path: Option<&Path>, line: usize, column: usize) -> String {
    match (path, line) {
        (Some(path), 0) => format!("{}: ", path.display()),
        (Some(path), line) => format!("{}:{line}:{column}: ", path.display()),
        (None, 0) => String::new(),
        (None, line) => format!("line {line}, column {column}: "),
    }
}

impl ManifestError {
    /// An error at the byte range `span` of `text`.
    fn at(text: &str, span: std::ops::Range<usize>, message: String) -> ManifestError {
        let (line, column) = line_column(text, span.start);
        ManifestError {
            path: None,
            line,
            column,
            message,
            source: None,
        }
    }

    /// An error that toml reported, at the place toml named.
    fn from_toml(text: &str, message: String, source: toml::de::Error) -> ManifestError {
        let (line, column) = source.span().map_or((0, 0), |s| line_column(text, s.start));
        ManifestError {
            path: None,
            line,
            column,
            message,
            source: Some(Box::new(source)),
        }
    }

    fn with_path(mut self, path: &Path) -> ManifestError {
        self.path = Some(path.to_path_buf());
        self
    }

    /// The manifest's path, when it was read with [`Manifest::load`].
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The 1-based line of the mistake; 0 when the file could not be read or
    /// the place is not known.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column (in characters) of the mistake; 0 when the line is 0.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What went wrong and what to do, without the place.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Gives up the underlying I/O or TOML error, so that an error type
    /// wrapping this one can keep the [`source`](std::error::Error::source)
    /// chain without displaying this error's message twice.
    pub fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        self.source
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(text: &str) -> Vec<(String, String)> {
        match Manifest::parse(text) {
            Ok(m) => m
                .models()
                .map(|(a, v)| (a.to_string(), v.to_string()))
                .collect(),
            Err(e) => panic!("{e}"),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, v)| (a.to_string(), v.to_string()))
            .collect()
    }

    fn error(text: &str) -> ManifestError {
        match Manifest::parse(text) {
            Ok(m) => panic!("parsed {m:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn keeps_declaration_order_and_skips_comments() {
        let text = "# Models.\n\n[models] # the only table\n# screen first\nscreen = \"smollm2-135m\" # built in\njudge = \"screen\"\nbig = \"models/a.gguf\"\n";
        assert_eq!(
            models(text),
            pairs(&[
                ("screen", "smollm2-135m"),
                ("judge", "screen"),
                ("big", "models/a.gguf")
            ])
        );
    }

    #[test]
    fn a_hash_inside_a_quoted_path_is_not_a_comment() {
        assert_eq!(
            models("[models]\njudge = \"models/run #2/judge.gguf\" # comment\n"),
            pairs(&[("judge", "models/run #2/judge.gguf")])
        );
    }

    #[test]
    fn single_quoted_strings_are_literal() {
        assert_eq!(
            models("[models]\n'judge' = 'C:\\models\\judge.gguf'\n"),
            pairs(&[("judge", "C:\\models\\judge.gguf")])
        );
    }

    #[test]
    fn spaces_inside_the_table_header() {
        assert_eq!(
            models("[ models ]\nscreen = \"smollm2-135m\"\n"),
            pairs(&[("screen", "smollm2-135m")])
        );
    }

    #[test]
    fn empty_manifest_declares_nothing() {
        assert_eq!(models("# nothing yet\n"), pairs(&[]));
        assert_eq!(models("[models]\n"), pairs(&[]));
    }

    #[test]
    fn lookup_by_alias() {
        let m = Manifest::parse("[models]\nscreen = \"smollm2-135m\"\n").unwrap();
        assert_eq!(m.get("screen"), Some("smollm2-135m"));
        assert_eq!(m.get("judge"), None);
        assert_eq!(m.aliases().collect::<Vec<_>>(), ["screen"]);
    }

    #[test]
    fn syntax_error_gives_line_and_column() {
        let e = error("[models]\nscreen = \"smollm2-135m\"\njudge \"smollm2-135m\"\n");
        assert_eq!((e.line(), e.column()), (3, 7), "{e}");
        assert!(e.message().starts_with("not valid TOML: "), "{e}");
        assert!(e.message().contains("`alias = \"model or path\"`"), "{e}");
        assert!(e.to_string().starts_with("line 3, column 7: "), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn unquoted_value_is_an_error_at_the_value() {
        let e = error("[models]\nscreen = smollm2\n");
        assert_eq!((e.line(), e.column()), (2, 10), "{e}");
    }

    #[test]
    fn value_of_the_wrong_type_says_to_quote_it() {
        let e = error("[models]\nscreen = 3\n");
        assert_eq!((e.line(), e.column()), (2, 10), "{e}");
        assert_eq!(
            e.message(),
            "the value of alias `screen` is an integer, not a string: quote it, \
             e.g. `screen = \"models/model.gguf\"`"
        );
        let e = error("models = 'x'\n");
        assert_eq!((e.line(), e.column()), (1, 10), "{e}");
        assert!(e.message().ends_with("each value a quoted string"), "{e}");
    }

    #[test]
    fn an_alias_with_a_dot_must_be_quoted() {
        let e = error("[models]\nqwen-1.5b = \"q.gguf\"\n");
        assert_eq!((e.line(), e.column()), (2, 1), "{e}");
        assert_eq!(
            e.message(),
            "TOML reads `qwen-1.5b` as the dotted key `qwen-1`.`5b`: quote an alias that holds \
             a dot, e.g. `\"qwen-1.5b\" = \"models/model.gguf\"`"
        );
        let e = error("[models.judge]\npath = \"j.gguf\"\n[models.x]\n");
        assert!(e.message().contains("not `[models.judge]` tables"), "{e}");
        assert_eq!(
            models("[models]\n\"qwen-1.5b\" = \"q.gguf\"\n"),
            pairs(&[("qwen-1.5b", "q.gguf")])
        );
    }

    #[test]
    fn unknown_table_suggests_models() {
        let e = error("# models\n[model]\nscreen = \"smollm2-135m\"\n");
        assert_eq!((e.line(), e.column()), (2, 2), "{e}");
        assert_eq!(
            e.message(),
            "unknown table `[model]`; did you mean `[models]`? The manifest holds one table, \
             `[models]`, of `alias = \"model or path\"` lines"
        );
    }

    #[test]
    fn unrelated_table_and_stray_key_are_named() {
        let e = error("[models]\na = \"b\"\n[backends]\nx = 1\n");
        assert_eq!((e.line(), e.column()), (3, 2), "{e}");
        assert!(
            e.message()
                .starts_with("unknown table `[backends]`: the manifest holds one table"),
            "{e}"
        );
        let e = error("screen = \"smollm2-135m\"\n[models]\n[backends]\n");
        assert_eq!((e.line(), e.column()), (1, 1), "{e}");
        assert!(
            e.message()
                .starts_with("unknown key `screen` outside `[models]`: put"),
            "{e}"
        );
    }

    #[test]
    fn empty_alias_and_empty_value_are_errors() {
        let e = error("[models]\nscreen = \"smollm2-135m\"\n\"\" = \"smollm2-135m\"\n");
        assert_eq!((e.line(), e.column()), (3, 1), "{e}");
        assert!(e.message().starts_with("empty alias"), "{e}");
        let e = error("[models]\njudge = ''\n");
        assert_eq!((e.line(), e.column()), (2, 9), "{e}");
        assert!(
            e.message().starts_with("alias `judge` has an empty value"),
            "{e}"
        );
    }

    #[test]
    fn duplicate_alias_is_an_error() {
        let e = error("[models]\na = \"x\"\na = \"y\"\n");
        assert_eq!(e.line(), 3, "{e}");
    }

    #[test]
    fn load_names_the_file() {
        let dir = std::env::temp_dir().join(format!("agentkit-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agentkit.toml");
        std::fs::write(&path, "[models]\nscreen = smollm2\n").unwrap();
        let e = Manifest::load(&path).unwrap_err();
        assert_eq!(e.path(), Some(path.as_path()));
        assert!(
            e.to_string()
                .starts_with(&format!("{}:2:10: ", path.display())),
            "{e}"
        );
        std::fs::write(&path, "[models]\nscreen = 'smollm2-135m'\n").unwrap();
        assert_eq!(
            Manifest::load(&path).unwrap().get("screen"),
            Some("smollm2-135m")
        );

        let missing = dir.join("missing.toml");
        let e = Manifest::load(&missing).unwrap_err();
        assert_eq!((e.line(), e.column()), (0, 0));
        assert!(
            e.to_string().starts_with(&format!(
                "{}: cannot read the model manifest: ",
                missing.display()
            )),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn served_aliases_keep_their_endpoints_and_their_place() {
        let text = "[models]\nscreen = \"smollm2-135m\"\njudge = { endpoints = [\n  { url = \"http://127.0.0.1:8080\", model = \"smollm2\", api_key_env = \"JUDGE_KEY\", timeout_s = 30 },\n  { url = \"https://gpu.example.invalid\", model = \"qwen\" },\n] }\nfinal = \"judge\"\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(
            m.aliases().collect::<Vec<_>>(),
            ["screen", "judge", "final"]
        );
        assert_eq!(
            models(text),
            pairs(&[("screen", "smollm2-135m"), ("final", "judge")])
        );
        let Some((_, Model::Served(endpoints))) = m.entries().nth(1) else {
            panic!("{m:?}")
        };
        assert_eq!(endpoints.len(), 2);
        assert_eq!(endpoints[0].url, "http://127.0.0.1:8080");
        assert_eq!(endpoints[0].model, "smollm2");
        assert_eq!(endpoints[0].api_key_env.as_deref(), Some("JUDGE_KEY"));
        assert_eq!(endpoints[0].timeout_s, Some(30.0));
        assert_eq!(endpoints[1].timeout_s, None);
        // The header form means the same.
        let m = Manifest::parse(
            "[models.judge]\nendpoints = [{ url = \"http://h:1\", model = \"m\" }]\n",
        )
        .unwrap();
        assert!(matches!(
            m.entries().next(),
            Some(("judge", Model::Served(_)))
        ));
    }

    #[test]
    fn served_alias_mistakes_are_named() {
        let e = error("[models]\njudge = { endpoints = [] }\n");
        assert_eq!((e.line(), e.column()), (2, 9), "{e}");
        assert!(
            e.message().starts_with("alias `judge` has no endpoints"),
            "{e}"
        );
        let e = error(
            "[models]\njudge = { endpoints = [{ url = \"127.0.0.1:8080\", model = \"m\" }] }\n",
        );
        assert!(e.message().contains("must start with `http://`"), "{e}");
        let e = error("[models]\njudge = { endpoints = [{ url = \"http://h\", model = \"m\", api_key = \"sk\" }] }\n");
        assert!(e.message().contains("unknown field `api_key`"), "{e}");
        let e = error("[models]\njudge = { endpoints = [{ url = \"http://h\" }] }\n");
        assert!(e.message().contains("missing field `model`"), "{e}");
        let e = error("[models]\njudge = { endpoints = [{ url = \"http://h\", model = \"m\", timeout_s = 0 }] }\n");
        assert!(e.message().contains("timeout_s = 0"), "{e}");
    }

    #[test]
    fn suggestions_follow_the_macro_threshold() {
        assert_eq!(suggest("model", TABLES.iter().copied()), Some("models"));
        assert_eq!(suggest("modles", TABLES.iter().copied()), Some("models"));
        assert_eq!(suggest("backends", TABLES.iter().copied()), None);
    }
}
