//! "Did you mean": the one rule for what counts as a typo of a known name,
//! shared by the `#[agent]` macro (keys, model aliases), the manifest
//! (tables) and the runtime (registered models), so they suggest alike.

/// The candidate closest to `word`, if it is close enough to be a typo of
/// it: at most two edits (Levenshtein distance) away, or a third of the
/// candidate's length for long names (`presence_penalty` tolerates five).
///
/// Ties go to the candidate first in alphabetical order, so the answer does
/// not depend on the order the candidates come in (a `HashMap`'s keys, say).
///
/// ```
/// use agentkit_manifest::suggest;
///
/// let keys = ["temperature", "top_p", "top_k"];
/// assert_eq!(suggest("temprature", keys), Some("temperature"));
/// assert_eq!(suggest("colour", keys), None);
/// ```
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|k| (strsim::levenshtein(word, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::suggest;

    #[test]
    fn typos_are_caught_and_other_words_are_not() {
        let keys = ["temperature", "max_tokens", "models", "qwen-1.5b"];
        assert_eq!(suggest("temprature", keys), Some("temperature"));
        assert_eq!(suggest("max_token", keys), Some("max_tokens"));
        assert_eq!(suggest("modles", keys), Some("models"));
        assert_eq!(suggest("qwen-15b", keys), Some("qwen-1.5b"));
        assert_eq!(suggest("llama", keys), None);
        assert_eq!(suggest("backends", keys), None);
        assert_eq!(suggest("anything", []), None);
    }

    #[test]
    fn ties_go_to_the_first_alphabetically() {
        assert_eq!(suggest("top_x", ["top_p", "top_k"]), Some("top_k"));
        assert_eq!(suggest("top_x", ["top_k", "top_p"]), Some("top_k"));
    }
}
