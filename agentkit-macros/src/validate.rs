//! Checks across the whole agent: required keys, ranges, instructions.

use proc_macro2::Span;

use crate::errors::Errors;
use crate::model::{AgentModel, Given};

/// The keys every agent must give, with what to say when one is missing.
const REQUIRED: &[(&str, &str)] = &[
    (
        "model",
        "name the model alias this agent runs on, e.g. `model = \"screen\"`",
    ),
    (
        "input",
        "name the type this agent takes, e.g. `input = Thread`",
    ),
    (
        "output",
        "name the type this agent answers with, e.g. `output = Verdict`",
    ),
];

/// Records every problem with `m` in `errors`.
pub fn check(m: &AgentModel, errors: &mut Errors) {
    // Problems with the values given come first, then what is missing.
    if let Some(model) = &m.model {
        if model.value().trim().is_empty() {
            errors.spanned(
                model,
                "`model` is empty: name a model alias such as `\"screen\"`",
            );
        }
    }
    // Every range comes from the table the runtime's pre-flight reads too.
    for (setting, given) in m.sampling() {
        let problem = match given {
            Some(Given::Float(n)) => setting.problem(n.value).map(|p| (p, &n.tokens)),
            // `integer` has already refused a value that does not fit in a u32.
            Some(Given::Whole(n)) => u32::try_from(n.value)
                .ok()
                .and_then(|v| setting.problem(v))
                .map(|p| (p, &n.tokens)),
            None => None,
        };
        if let Some((message, tokens)) = problem {
            errors.spanned(tokens, message);
        }
    }
    if let Some(w) = &m.repeat_window {
        if w.value > 0
            && m.repeat_penalty.is_none()
            && m.frequency_penalty.is_none()
            && m.presence_penalty.is_none()
        {
            errors.spanned(
                &w.tokens,
                "`repeat_window` does nothing on its own: add `repeat_penalty`, `frequency_penalty` or `presence_penalty`",
            );
        }
    }
    for (key, given) in [
        ("dry_base", m.dry_base.as_ref().map(|n| &n.tokens)),
        (
            "dry_allowed_length",
            m.dry_allowed_length.as_ref().map(|n| &n.tokens),
        ),
    ] {
        if let (Some(tokens), None) = (given, &m.dry_multiplier) {
            errors.spanned(
                tokens,
                format!("`{key}` does nothing on its own: add `dry_multiplier` (0.8 is a safe start) to turn DRY on"),
            );
        }
    }
    if let Some(n) = &m.samples {
        if n.value == 0 {
            errors.spanned(
                &n.tokens,
                "`samples` must be at least 1 (1 draws a single answer; 3 or 5 vote)",
            );
        }
    }
    if let Some(f) = &m.input_format {
        if !["json", "labelled"].contains(&f.value().as_str()) {
            errors.spanned(
                f,
                format!(
                    "unknown `input_format` {:?}: use \"json\" or \"labelled\"",
                    f.value()
                ),
            );
        }
    }
    if let Some(crate::model::Examples::File(file)) = &m.examples {
        check_examples_file(file, errors);
    }
    if let Some(model) = &m.model {
        check_manifest(model, errors);
    }
    // Missing keys have no tokens of their own: they point at the attribute.
    let missing: Vec<&(&str, &str)> = REQUIRED.iter().filter(|(key, _)| !m.gave(key)).collect();
    match missing.as_slice() {
        [] => {}
        [(key, hint)] => errors.at(Span::call_site(), format!("missing `{key}`: {hint}")),
        several => {
            let names: Vec<String> = several.iter().map(|(key, _)| format!("`{key}`")).collect();
            let list = match names.split_last() {
                Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                None => String::new(),
            };
            errors.at(
                Span::call_site(),
                format!(
                    "missing {list}: an agent names its model, input type and output type, \
                     e.g. `#[agent(model = \"screen\", input = Thread, output = Verdict)]`"
                ),
            );
        }
    }
    match &m.prompt {
        Some(p) if p.value().trim().is_empty() => {
            errors.spanned(p, "`prompt` is empty: say what this agent decides and how")
        }
        Some(_) => {}
        // A `prompt` with a bad value was already reported where it was written.
        None if m.doc.is_empty() && !m.gave("prompt") => errors.spanned(
            &m.item.ident,
            format!(
                "agent `{}` has no instructions: add a doc comment saying what it decides \
                 (`/// Decide whether ...`) or give `prompt = \"...\"`{}",
                m.item.ident,
                heading_hint(&m.item.attrs)
            ),
        ),
        None => {}
    }
}

/// What to add to a "no instructions" error when the doc comment has text,
/// all of it under a heading the model does not read.
pub(crate) fn heading_hint(attrs: &[syn::Attribute]) -> &'static str {
    if crate::model::doc_only_under_headings(attrs) {
        "; the doc comment's text is all under a heading (`# ...`), and the model reads \
         only what comes before the first heading: put what it should read above it"
    } else {
        ""
    }
}

/// The crate being compiled (`CARGO_MANIFEST_DIR`), where relative files live.
fn manifest_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from)
}

/// Checks at compile time that a few-shot file exists and each line is an
/// object with `input` and `output`; its types are checked when it is loaded.
fn check_examples_file(file: &syn::LitStr, errors: &mut Errors) {
    let Some(dir) = manifest_dir() else { return };
    let path = dir.join(file.value());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            errors.spanned(
                file,
                // The path as the user wrote it: the absolute one depends on
                // where the crate (or trybuild's copy of it) happens to live.
                format!(
                    "cannot read examples file `{}`: {e}; the path is relative to this crate's Cargo.toml",
                    file.value()
                ),
            );
            return;
        }
    };
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let ok = line.trim_start().starts_with('{')
            && line.contains("\"input\"")
            && line.contains("\"output\"");
        if !ok {
            errors.spanned(
                file,
                format!(
                    "examples file `{}` line {}: each line must be {{\"input\": ..., \"output\": ...}}",
                    file.value(),
                    i + 1
                ),
            );
            return;
        }
    }
}

/// The crate's model manifest, `agentkit.toml` beside its `Cargo.toml`, if it has one.
pub fn manifest_path() -> Option<std::path::PathBuf> {
    let path = manifest_dir()?.join("agentkit.toml");
    path.is_file().then_some(path)
}

/// With a model manifest, an alias it does not declare is a compile error at
/// the alias, with the nearest declared one suggested; a manifest that does
/// not parse is a compile error there too, quoting its line and column.
fn check_manifest(model: &syn::LitStr, errors: &mut Errors) {
    if let Some(path) = manifest_path() {
        check_manifest_at(&path, model, errors);
    }
}

fn check_manifest_at(path: &std::path::Path, model: &syn::LitStr, errors: &mut Errors) {
    let manifest = match agentkit_manifest::Manifest::load(path) {
        Ok(m) => m,
        Err(e) => {
            errors.spanned(
                model,
                format!(
                    "cannot check model `{}` against the model manifest: {e}",
                    model.value()
                ),
            );
            return;
        }
    };
    // An agent may name an alias the manifest declares, or a model a
    // declaration points at (`screen = "small"` makes the backend's
    // `small` known too): the macro hard-codes no model of its own.
    let declared: Vec<&str> = manifest.aliases().collect();
    let alias = model.value();
    let named = |name: &str| manifest.models().any(|(a, v)| a == name || v == name);
    if alias.trim().is_empty() || named(&alias) {
        return;
    }
    let hint = agentkit_manifest::suggest(&alias, declared.iter().copied())
        .map(|k| format!("did you mean `{k}`? "))
        .unwrap_or_default();
    errors.spanned(
        model,
        format!(
            "model `{alias}` is not in agentkit.toml; {hint}declared: {}. Add it under `[models]` or fix the name",
            declared.join(", ")
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages `check_manifest_at` records for `alias` against a manifest holding `text`.
    fn check(name: &str, text: &str, alias: &str) -> String {
        let dir =
            std::env::temp_dir().join(format!("agentkit-macros-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agentkit.toml");
        std::fs::write(&path, text).unwrap();
        let mut errors = Errors::default();
        let lit = syn::LitStr::new(alias, Span::call_site());
        check_manifest_at(&path, &lit, &mut errors);
        std::fs::remove_dir_all(&dir).unwrap();
        errors.to_compile_errors().to_string()
    }

    #[test]
    fn declared_alias_passes() {
        let text = "[ models ]\njudge = 'models/run #2.bin' # comment\nscreen = 'base'\n";
        assert_eq!(check("declared", text, "judge"), "");
        // A model a declaration points at is known too.
        assert_eq!(check("target", text, "base"), "");
        assert_ne!(check("unknown", text, "small"), "");
    }

    #[test]
    fn undeclared_alias_suggests_the_nearest() {
        let out = check(
            "undeclared",
            "[models]\n'qwen-1.5b' = 'q.bin'\nscreen = 'base'\n",
            "qwen-1.5",
        );
        assert!(
            out.contains("did you mean `qwen-1.5b`? declared: qwen-1.5b, screen"),
            "{out}"
        );
    }

    #[test]
    fn manifest_that_does_not_parse_is_reported_with_line_and_column() {
        let out = check("syntax", "[models]\njudge \"small\"\n", "judge");
        assert!(
            out.contains("cannot check model `judge` against the model manifest: "),
            "{out}"
        );
        assert!(
            out.contains("agentkit.toml:2:7: not valid TOML: key with no value"),
            "{out}"
        );
    }
}
