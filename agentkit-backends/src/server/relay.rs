//! A streamed answer read as it arrives: its server-sent events decoded
//! ([`sse`]), absorbed into the answer ([`wire`]), and their text passed on
//! to the caller's deltas.

use agentkit::backend::{BackendError, Deltas};

use super::errors::{self, Failure, Problem};
use super::{sse, wire};

/// The text of a streamed answer, read from its server-sent events as they
/// arrive and passed on to `deltas`.
pub(super) async fn read_events(
    mut response: reqwest::Response,
    deltas: &Deltas,
    sent: &mut bool,
) -> Result<wire::Answer, Failure> {
    let mut decoder = sse::Decoder::default();
    let mut answer = wire::Answer::default();
    let broken =
        |e: String| Failure::Move(Problem::new(format!("the event stream is broken: {e}")));
    loop {
        let chunk = response.chunk().await.map_err(|e| {
            Failure::Move(Problem::of(e).reworded(|text| format!("{text} mid-answer")))
        })?;
        let events = match &chunk {
            Some(bytes) => decoder.feed(bytes).map_err(broken)?,
            None => decoder.finish().map_err(broken)?.into_iter().collect(),
        };
        for data in events {
            match answer.absorb(&data).map_err(broken)? {
                wire::Piece::Text(text) => relay(deltas, &text, sent)?,
                wire::Piece::Nothing => {}
                wire::Piece::Done => return Ok(answer),
            }
        }
        if chunk.is_none() {
            break;
        }
    }
    if answer.finished() {
        return Ok(answer);
    }
    Err(Failure::Move(Problem::new(
        "the event stream ended before the answer did (no `finish_reason`, no `[DONE]`): \
         the server may have died mid-answer",
    )))
}

/// Passes `text` on to `deltas`; stops the attempt when nobody listens.
pub(super) fn relay(deltas: &Deltas, text: &str, sent: &mut bool) -> Result<(), Failure> {
    if !deltas.send(text) {
        return Err(errors::stop(BackendError::new(
            "the stream of this answer was dropped, so the request was abandoned; \
             keep the stream until its last event to get the answer",
        )));
    }
    *sent |= !text.is_empty();
    Ok(())
}
