//! A streamed answer read as it arrives: its server-sent events decoded
//! ([`sse`]), absorbed into the answer ([`wire`]), and their text passed on
//! to the caller's deltas.

use agentkit::backend::{BackendError, Deltas};
use agentkit::Reasoning;

use super::errors::{self, Failure, Problem};
use super::think::{Part, Splitter};
use super::{sse, wire};

/// Where a streamed answer goes: the caller's deltas, and where the agent
/// thinks first, the tags its think block is in (a server that leaves the
/// block in the content gets it taken out and sent as reasoning).
#[derive(Clone, Copy)]
pub(super) struct Relay<'a> {
    /// The caller's deltas.
    pub deltas: &'a Deltas,
    /// The agent's reasoning setting, if it thinks first.
    pub think: Option<Reasoning>,
}

/// The text of a streamed answer, read from its server-sent events as they
/// arrive and passed on.
pub(super) async fn read_events(
    mut response: reqwest::Response,
    to: Relay<'_>,
    sent: &mut bool,
) -> Result<wire::Answer, Failure> {
    let mut decoder = sse::Decoder::default();
    let mut answer = wire::Answer::default();
    let mut splitter = to.think.as_ref().map(Splitter::new);
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
            for piece in answer.absorb(&data).map_err(broken)? {
                match piece {
                    wire::Piece::Text(text) => content(to, splitter.as_mut(), &text, sent)?,
                    wire::Piece::Reasoning(text) => reason(to.deltas, &text)?,
                    wire::Piece::Nothing => {}
                    wire::Piece::Done => {
                        flush(to, splitter.as_mut(), sent)?;
                        return Ok(answer);
                    }
                }
            }
        }
        if chunk.is_none() {
            break;
        }
    }
    if answer.finished() {
        flush(to, splitter.as_mut(), sent)?;
        return Ok(answer);
    }
    Err(Failure::Move(Problem::new(
        "the event stream ended before the answer did (no `finish_reason`, no `[DONE]`): \
         the server may have died mid-answer",
    )))
}

/// Passes a whole answer's content on, its think block (where it has one
/// in its tags) as reasoning.
pub(super) fn whole(to: Relay<'_>, answer: &wire::Answer, sent: &mut bool) -> Result<(), Failure> {
    reason(to.deltas, &answer.reasoning)?;
    let mut splitter = to.think.as_ref().map(Splitter::new);
    content(to, splitter.as_mut(), &answer.text, sent)?;
    flush(to, splitter.as_mut(), sent)
}

/// Passes content on: through the splitter where the agent thinks.
fn content(
    to: Relay<'_>,
    splitter: Option<&mut Splitter>,
    text: &str,
    sent: &mut bool,
) -> Result<(), Failure> {
    match splitter {
        Some(splitter) => parts(to, splitter.feed(text), sent),
        None => relay(to.deltas, text, sent),
    }
}

/// Passes on what the splitter held back at the end of the content.
fn flush(to: Relay<'_>, splitter: Option<&mut Splitter>, sent: &mut bool) -> Result<(), Failure> {
    match splitter {
        Some(splitter) => parts(to, splitter.finish(), sent),
        None => Ok(()),
    }
}

fn parts(to: Relay<'_>, parts: Vec<Part>, sent: &mut bool) -> Result<(), Failure> {
    for part in parts {
        match part {
            Part::Reasoning(text) => reason(to.deltas, &text)?,
            Part::Answer(text) => relay(to.deltas, &text, sent)?,
        }
    }
    Ok(())
}

/// Passes reasoning on to `deltas`; stops the attempt when nobody listens.
fn reason(deltas: &Deltas, text: &str) -> Result<(), Failure> {
    if deltas.send_reasoning(text) {
        return Ok(());
    }
    Err(errors::stop(BackendError::new(
        "the stream of this answer was dropped, so the request was abandoned; \
         keep the stream until its last event to get the answer",
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
