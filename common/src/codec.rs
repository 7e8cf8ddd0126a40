//! Newline-delimited framing with a maximum frame size.
//!
//! [`LineCodec`] cuts a byte stream into lines, however the bytes were split into
//! reads. A line longer than the limit is an error rather than something to skip:
//! the peer is told and the connection closed, so nobody can make the other side
//! buffer without end. A trailing `\r` is dropped and empty lines are ignored, so
//! the protocol can be typed into `nc` or `telnet`.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::limits::MAX_FRAME_BYTES;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("line longer than {limit} bytes")]
    TooLong { limit: usize },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct LineCodec {
    max: usize,
    /// How far the buffer has been searched for a newline, so a line arriving a
    /// byte at a time is scanned once, not once per byte.
    scanned: usize,
}

impl LineCodec {
    pub fn new(max: usize) -> Self {
        Self { max, scanned: 0 }
    }

    pub fn max_frame(&self) -> usize {
        self.max
    }
}

impl Default for LineCodec {
    fn default() -> Self {
        Self::new(MAX_FRAME_BYTES)
    }
}

impl Decoder for LineCodec {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        loop {
            let Some(offset) = memchr::memchr(b'\n', &buf[self.scanned..]) else {
                self.scanned = buf.len();
                if buf.len() > self.max {
                    return Err(FrameError::TooLong { limit: self.max });
                }
                return Ok(None);
            };
            let end = self.scanned + offset;
            self.scanned = 0;
            if end > self.max {
                return Err(FrameError::TooLong { limit: self.max });
            }
            let mut line = buf.split_to(end + 1);
            line.truncate(end);
            if line.last() == Some(&b'\r') {
                line.truncate(end - 1);
            }
            if !line.is_empty() {
                return Ok(Some(line.freeze()));
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if let Some(line) = self.decode(buf)? {
            return Ok(Some(line));
        }
        // A last line without its newline still counts.
        self.scanned = 0;
        let rest = buf.split().freeze();
        let rest = rest.slice(..rest.len() - usize::from(rest.ends_with(b"\r")));
        Ok((!rest.is_empty()).then_some(rest))
    }
}

/// Encodes an already-framed line (ending in `\n`), as produced by `to_line`.
/// Lines are encoded once and shared between every connection they go to.
impl Encoder<Bytes> for LineCodec {
    type Error = FrameError;

    fn encode(&mut self, line: Bytes, buf: &mut BytesMut) -> Result<(), FrameError> {
        buf.reserve(line.len());
        buf.put(line);
        Ok(())
    }
}

/// Drops the bytes of an unfinished line; used when a connection is being closed
/// after an over-long one, so nothing more of it is parsed.
pub fn discard(buf: &mut BytesMut) {
    buf.advance(buf.len());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(codec: &mut LineCodec, chunks: &[&[u8]]) -> Result<Vec<Bytes>, FrameError> {
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(line) = codec.decode(&mut buf)? {
                out.push(line);
            }
        }
        if let Some(line) = codec.decode_eof(&mut buf)? {
            out.push(line);
        }
        Ok(out)
    }

    #[test]
    fn lines_are_cut_at_newlines_dropping_cr_and_empty_lines() {
        let mut codec = LineCodec::new(64);
        let lines = decode_all(&mut codec, &[b"one\r\n\ntwo\nthr", b"ee"]).unwrap();
        assert_eq!(lines, vec!["one", "two", "three"]);
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_even_before_its_newline_arrives() {
        let mut codec = LineCodec::new(8);
        let mut buf = BytesMut::from(&b"123456789"[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FrameError::TooLong { limit: 8 })
        ));
        let mut codec = LineCodec::new(8);
        let mut buf = BytesMut::from(&b"123456789\nok\n"[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FrameError::TooLong { .. })
        ));
    }

    #[test]
    fn a_carriage_return_counts_toward_the_limit() {
        let mut codec = LineCodec::new(8);
        let lines = decode_all(&mut codec, &[b"1234567\r\n"]).unwrap();
        assert_eq!(lines, [Bytes::from_static(b"1234567")]);
        let mut codec = LineCodec::new(8);
        let err = decode_all(&mut codec, &[b"12345678\r\n"]).unwrap_err();
        assert!(matches!(err, FrameError::TooLong { limit: 8 }));
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_accepted() {
        let mut codec = LineCodec::new(8);
        let lines = decode_all(&mut codec, &[b"12345678\n"]).unwrap();
        assert_eq!(lines, vec!["12345678"]);
    }

    proptest! {
        #[test]
        fn splitting_the_stream_anywhere_gives_the_same_lines(
            lines in prop::collection::vec("[a-z{}\":, ]{1,40}", 1..20),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
        ) {
            let stream: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect();
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
            points.push(0);
            points.push(stream.len());
            points.sort_unstable();
            let chunks: Vec<&[u8]> = points.windows(2).map(|w| &stream[w[0]..w[1]]).collect();
            let decoded = decode_all(&mut LineCodec::new(64), &chunks).unwrap();
            let expected: Vec<&str> = lines.iter().map(|l| l.as_str()).collect();
            prop_assert_eq!(decoded, expected);
        }
    }
}
