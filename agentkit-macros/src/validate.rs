//! Checks across the whole agent: required keys, ranges, instructions.

use proc_macro2::Span;

use crate::errors::Errors;
use crate::model::AgentModel;

/// The keys every agent must give, with what to say when one is missing.
const REQUIRED: &[(&str, &str)] = &[
    (
        "model",
        "name the model alias this agent runs on, e.g. `model = \"smollm2-135m\"`",
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
                "`model` is empty: name a model alias such as `\"smollm2-135m\"`",
            );
        }
    }
    if let Some(t) = &m.temperature {
        if !(0.0..=2.0).contains(&t.value) {
            errors.spanned(
                &t.tokens,
                format!(
                    "`temperature` must be between 0.0 and 2.0, got {:?}",
                    t.value
                ),
            );
        }
    }
    if let Some(p) = &m.top_p {
        if !(0.0..=1.0).contains(&p.value) {
            errors.spanned(
                &p.tokens,
                format!("`top_p` must be between 0.0 and 1.0, got {:?}", p.value),
            );
        }
    }
    if let Some(k) = &m.top_k {
        if k.value == 0 {
            errors.spanned(
                &k.tokens,
                "`top_k` must be at least 1; leave it out to sample from every token",
            );
        }
    }
    if let Some(n) = &m.max_tokens {
        if n.value == 0 {
            errors.spanned(
                &n.tokens,
                "`max_tokens` must be at least 1: an agent that may not generate cannot answer",
            );
        }
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
                     e.g. `#[agent(model = \"smollm2-135m\", input = Thread, output = Verdict)]`"
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
                 (`/// Decide whether ...`) or give `prompt = \"...\"`",
                m.item.ident
            ),
        ),
        None => {}
    }
}
