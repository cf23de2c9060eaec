//! How [`Error::ContextOverflow`](super::Error::ContextOverflow) names the
//! input's fields and says what to do.

/// One field of an input and the tokens it takes in a prompt, as
/// [`Error::ContextOverflow`](super::Error::ContextOverflow) names it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldTokens {
    /// The field's name as the input serializes it.
    pub field: String,
    /// Tokens the field's value takes in the prompt.
    pub tokens: usize,
    /// Whether the field has a fitting policy (and so was cut before the
    /// prompt was found too long).
    pub fitted: bool,
}

/// ` (field `body`: 19800 tokens, ...)`, or nothing.
pub(super) fn field_list(fields: &[FieldTokens]) -> String {
    if fields.is_empty() {
        return String::new();
    }
    let named: Vec<String> = fields
        .iter()
        .take(3)
        .map(|f| format!("field `{}`: {} tokens", f.field, f.tokens))
        .collect();
    format!(" ({})", named.join(", "))
}

/// What to do about an overflow: with the fields known and none of them
/// shortened, declare a policy; with policies that were not enough, shorten
/// the rest.
pub(super) fn overflow_advice(fields: &[FieldTokens], shortened: bool) -> String {
    let fallback = "lower `max_tokens`, or raise the context size";
    match fields.first() {
        Some(_) if shortened => {
            format!("shorten the fields that have no fitting policy, {fallback}")
        }
        Some(largest) => format!(
            "shorten the input, let the runtime shorten `{}` with a fitting policy \
             (`#[schemars(extend(\"x-agentkit-fit\" = \"head\"))]`, see the book's \"Long inputs\" \
             chapter) or read it whole in pieces with `chunked(..)`, {fallback}",
            largest.field
        ),
        None => format!("shorten the input, {fallback}"),
    }
}
