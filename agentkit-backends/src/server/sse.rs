//! Server-sent events, read from the bytes of a response as they arrive.
//!
//! The network cuts a body wherever it likes: inside a line, inside a
//! multi-byte character. Bytes are kept until a line is complete, and only a
//! whole line is decoded, so a character cut across two reads is whole again.

/// The events of one `text/event-stream` body, fed its bytes in pieces.
#[derive(Debug, Default)]
pub(super) struct Decoder {
    /// Bytes of a line not finished yet.
    line: Vec<u8>,
    /// The `data` of the event being read (its `data:` lines, joined by `\n`).
    data: Option<String>,
}

impl Decoder {
    /// Takes the next bytes of the body and returns the data of each event
    /// they complete, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, String> {
        let mut events = Vec::new();
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..end]);
            rest = &rest[end + 1..];
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.take_line(&line)? {
                events.push(event);
            }
        }
        self.line.extend_from_slice(rest);
        Ok(events)
    }

    /// At the end of the body: the data of an event it ended inside (no
    /// blank line after it), which a lenient reader still takes.
    pub fn finish(&mut self) -> Result<Option<String>, String> {
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            if let Some(event) = self.take_line(&line)? {
                return Ok(Some(event));
            }
        }
        Ok(self.data.take())
    }

    /// One line: a blank one ends an event (its data is returned), `data:`
    /// adds to it, comments (`:`) and other fields are passed over.
    fn take_line(&mut self, line: &[u8]) -> Result<Option<String>, String> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = std::str::from_utf8(line)
            .map_err(|e| format!("an event-stream line is not UTF-8 ({e})"))?;
        if line.is_empty() {
            return Ok(self.data.take());
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        if field == "data" {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(pieces: &[&[u8]]) -> Vec<String> {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        for piece in pieces {
            out.extend(decoder.feed(piece).unwrap());
        }
        out.extend(decoder.finish().unwrap());
        out
    }

    #[test]
    fn events_cut_anywhere_come_out_whole() {
        let body = "data: {\"a\":\"é\"}\r\n\r\n: keep-alive\n\nevent: x\ndata: one\ndata: two\n\ndata: [DONE]\n\n";
        let whole = events(&[body.as_bytes()]);
        assert_eq!(whole, ["{\"a\":\"é\"}", "one\ntwo", "[DONE]"]);
        // Every cut, including the one inside `é` (two bytes) and inside `\r\n`.
        let bytes = body.as_bytes();
        for cut in 0..=bytes.len() {
            assert_eq!(
                events(&[&bytes[..cut], &bytes[cut..]]),
                whole,
                "cut at {cut}"
            );
        }
        // One byte at a time.
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(events(&singles), whole);
    }

    #[test]
    fn a_body_that_ends_without_a_blank_line_keeps_its_last_event() {
        assert_eq!(events(&[b"data: a\n\ndata: b"]), ["a", "b"]);
        assert_eq!(events(&[b"data: a\n\ndata: b\n"]), ["a", "b"]);
        assert!(Decoder::default().feed(b"data: \xff\n").is_err());
    }
}
