//! Any byte stream, cut into reads anywhere, through the line codec: never a
//! panic, and the same lines (or the same over-long-line error) as cutting the
//! whole stream at its newlines, whatever the reads were.
#![no_main]

use bytes::{Bytes, BytesMut};
use classchat_common::{ClientMessage, FrameError, LineCodec};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

/// The lines of `stream` by plain splitting, and whether one is over `max`.
fn expected(stream: &[u8], max: usize) -> (Vec<&[u8]>, bool) {
    let mut lines = Vec::new();
    let mut rest = stream;
    loop {
        let (mut line, next, last) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], &rest[end + 1..], false),
            None => (rest, &rest[rest.len()..], true),
        };
        if line.len() > max {
            return (lines, true);
        }
        if let Some(stripped) = line.strip_suffix(b"\r") {
            line = stripped;
        }
        if !line.is_empty() {
            lines.push(line);
        }
        if last {
            return (lines, false);
        }
        rest = next;
    }
}

/// What the codec makes of `stream` read in `chunks`, as `FramedRead` drives it.
fn decoded(chunks: &[&[u8]], max: usize) -> (Vec<Bytes>, bool) {
    let mut codec = LineCodec::new(max);
    let mut buf = BytesMut::new();
    let mut lines = Vec::new();
    let check = |r: Result<Option<Bytes>, FrameError>| match r {
        Ok(line) => Ok(line),
        Err(FrameError::TooLong { limit }) => {
            assert_eq!(limit, max);
            Err(())
        }
        Err(FrameError::Io(e)) => panic!("no I/O here: {e}"),
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match check(codec.decode(&mut buf)) {
                Ok(Some(line)) => lines.push(line),
                Ok(None) => break,
                Err(()) => return (lines, true),
            }
        }
    }
    loop {
        match check(codec.decode_eof(&mut buf)) {
            Ok(Some(line)) => lines.push(line),
            Ok(None) => return (lines, false),
            Err(()) => return (lines, true),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // Two bytes choose the frame limit and how many cuts; then the cuts; then the stream.
    let [limit, cuts, rest @ ..] = data else {
        return;
    };
    let max = 1 + usize::from(*limit) * 4;
    let cuts = usize::from(*cuts % 16).min(rest.len());
    let (cuts, stream) = rest.split_at(cuts);
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) * (stream.len() + 1) / 256)
        .collect();
    points.extend([0, stream.len()]);
    points.sort_unstable();
    let chunks: Vec<&[u8]> = points.windows(2).map(|w| &stream[w[0]..w[1]]).collect();

    let (lines, too_long) = decoded(&chunks, max);
    let (want, want_too_long) = expected(stream, max);
    assert_eq!(too_long, want_too_long);
    assert_eq!(lines, want);
    for line in &lines {
        assert!(line.len() <= max);
        assert!(!line.contains(&b'\n'));
        let _ = ClientMessage::decode(line);
    }
    // And with the real limit, all at once.
    let (lines, too_long) = decoded(&[stream], classchat_common::limits::MAX_FRAME_BYTES);
    assert!(!too_long);
    assert_eq!(lines, expected(stream, usize::MAX).0);
});
