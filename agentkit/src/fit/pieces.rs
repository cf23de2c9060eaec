//! Splitting one text field of an input into pieces that each fit the
//! agent's context, on token boundaries, with overlap: what
//! [`chunked`](crate::chunked) runs the agent over.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Counter;
use crate::backend::{output_room, BYTES_PER_TOKEN};
use crate::{Agent, Error, Prompt, Runtime};

/// How many times the piece size is lowered before giving up.
const ROUNDS: usize = 4;

/// `input` as one input per piece of its text field `field`, each piece at
/// most as long as fits `A`'s context with room for the answer, the pieces
/// overlapping by `overlap` tokens. One piece (the input as it is) where
/// it fits whole or the context is not known.
pub(crate) async fn pieces<A: Agent>(
    runtime: &Runtime,
    input: &A::Input,
    field: &str,
    overlap: usize,
) -> Result<Vec<A::Input>, Error>
where
    A::Input: DeserializeOwned,
{
    let value = crate::backend::input_json::<A>(input)?;
    let Some(text) = value.get(field).and_then(Value::as_str) else {
        return Err(Error::FitPolicy {
            agent: A::NAME.to_string(),
            reason: format!(
                "`chunked(.., \"{field}\")` splits the text field `{field}`, and the input has no \
                 text field of that name; name a `String` field of the input"
            ),
        });
    };
    let counter = Counter::of::<A>(runtime)?;
    let prompt = Prompt::render::<A>(input)?;
    let whole = counter.count(&prompt).await?;
    let room = output_room(&A::SAMPLING);
    let context = match whole.context {
        Some(context) if whole.prompt + room > context => context,
        _ => return Ok(vec![typed::<A>(value)?]),
    };
    let budget = context.saturating_sub(room);
    let with = |piece: &str| {
        let mut v = value.clone();
        v[field] = Value::String(piece.to_string());
        v
    };
    let base = counter
        .count(&prompt.with_input::<A>(with("")))
        .await?
        .prompt;
    if base >= budget {
        return Err(super::overflow::<A>(
            whole.prompt,
            room,
            context,
            Vec::new(),
            Some(base),
        ));
    }
    let model = runtime.resolve(A::NAME, A::MODEL)?;
    let offsets = match runtime.backend()?.token_offsets(&model, text).await? {
        Some(offsets) => offsets,
        None => estimated_offsets(text),
    };
    let mut size = budget - base;
    for _ in 0..ROUNDS {
        let spans = split(&offsets, text.len(), size, overlap.min(size / 2));
        let mut worst = 0;
        for &(start, end) in &spans {
            let tokens = counter
                .count(&prompt.with_input::<A>(with(&text[start..end])))
                .await?
                .prompt;
            worst = worst.max(tokens);
        }
        if worst <= budget {
            tracing::info!(
                agent = A::NAME,
                field,
                pieces = spans.len(),
                piece_tokens = size,
                overlap,
                "input split into pieces that fit the context"
            );
            return spans
                .iter()
                .map(|&(start, end)| typed::<A>(with(&text[start..end])))
                .collect();
        }
        // A piece tokenizes a little differently alone: shrink by the excess.
        let excess = worst - budget;
        size = size.saturating_sub(excess + size / 20).max(1);
    }
    // Pieces of one token still do not fit: only the rest of the input is left.
    Err(super::overflow::<A>(
        whole.prompt,
        room,
        context,
        Vec::new(),
        Some(base),
    ))
}

/// The input a JSON value stands for (it was serialized from one).
fn typed<A: Agent>(value: Value) -> Result<A::Input, Error>
where
    A::Input: DeserializeOwned,
{
    serde_json::from_value(value).map_err(|source| Error::Input {
        agent: A::NAME.to_string(),
        source,
    })
}

/// A boundary every [`BYTES_PER_TOKEN`] bytes, moved forward to a character
/// boundary: where a backend cannot say where its tokens start.
fn estimated_offsets(text: &str) -> Vec<usize> {
    let mut offsets: Vec<usize> = (0..text.len())
        .step_by(BYTES_PER_TOKEN)
        .map(|o| {
            (o..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(o)
        })
        .collect();
    offsets.dedup();
    offsets
}

/// Byte ranges of `len` bytes of text whose tokens start at `offsets`: each
/// `size` tokens, each starting `overlap` tokens before the last one ended.
pub(crate) fn split(
    offsets: &[usize],
    len: usize,
    size: usize,
    overlap: usize,
) -> Vec<(usize, usize)> {
    let size = size.max(1);
    let step = size.saturating_sub(overlap).max(1);
    let byte = |token: usize| offsets.get(token).copied().unwrap_or(len);
    let mut spans = Vec::new();
    let mut start = 0;
    loop {
        let end = start + size;
        spans.push((byte(start), byte(end)));
        if end >= offsets.len() {
            return spans;
        }
        start += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_text_on_token_boundaries_and_overlap() {
        // Ten tokens of three bytes each.
        let offsets: Vec<usize> = (0..10).map(|t| t * 3).collect();
        let spans = split(&offsets, 30, 4, 1);
        assert_eq!(spans, [(0, 12), (9, 21), (18, 30)]);
        // Every byte is in some piece; neighbours share one token.
        assert_eq!(spans.first().unwrap().0, 0);
        assert_eq!(spans.last().unwrap().1, 30);
        // A text that fits is one piece.
        assert_eq!(split(&offsets, 30, 10, 2), [(0, 30)]);
    }

    #[test]
    fn estimated_boundaries_fall_between_characters() {
        let text = "héllo wörld ünïcode";
        let offsets = estimated_offsets(text);
        assert_eq!(offsets[0], 0);
        assert!(offsets.iter().all(|&o| text.is_char_boundary(o)));
        assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    }
}
