//! The lines of a message's path, written and read without serde's general
//! machinery: `stored`, `message` and `receipt` out, `send` and `ack` in.
//!
//! Each is what the derived code would do, byte for byte (the property tests
//! in `proptests.rs` compare the two on every kind of input); what it saves
//! is the work serde does for any type: `Display` through `fmt` for ids,
//! conversation names and times, a byte-wise escape check on strings that need
//! none, and, reading, the buffering of every field of an internally tagged
//! enum before the variant is known. Anything else goes the general way.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{ChatMessage, ClientMessage, ServerMessage};
use crate::ids::MessageId;
use crate::names::{Conv, Username};

/// Writes `msg` into `out` if it is one of the lines this module knows;
/// `false` (with `out` untouched) for the rest.
pub(super) fn encode(msg: &ServerMessage, out: &mut Vec<u8>) -> bool {
    match msg {
        ServerMessage::Stored {
            id,
            conv,
            seq,
            ts,
            of,
            online,
            last_seen,
            duplicate,
        } => {
            out.extend_from_slice(br#"{"type":"stored","id":"#);
            id.write_json(out);
            out.extend_from_slice(br#","conv":"#);
            conv_json(conv, out);
            number(out, b",\"seq\":", *seq);
            out.extend_from_slice(br#","ts":"#);
            ts.write_json(out);
            number(out, b",\"of\":", u64::from(*of));
            number(out, b",\"online\":", u64::from(*online));
            if let Some(at) = last_seen {
                out.extend_from_slice(br#","last_seen":"#);
                at.write_json(out);
            }
            if *duplicate {
                out.extend_from_slice(br#","duplicate":true"#);
            }
            out.push(b'}');
            true
        }
        ServerMessage::Message(m) if plain(m) => {
            message(m, out);
            true
        }
        ServerMessage::Receipt {
            conv,
            user,
            joined,
            delivered,
            read,
        } => {
            out.extend_from_slice(br#"{"type":"receipt","conv":"#);
            conv_json(conv, out);
            out.extend_from_slice(br#","user":"#);
            name_json(user, out);
            number(out, b",\"joined\":", *joined);
            number(out, b",\"delivered\":", *delivered);
            number(out, b",\"read\":", *read);
            out.push(b'}');
            true
        }
        _ => false,
    }
}

/// A message without the parts that are objects (an event, a file, counts, a
/// quote, reactions): every text and most changes.
fn plain(m: &ChatMessage) -> bool {
    m.event.is_none()
        && m.file.is_none()
        && m.counts.is_none()
        && m.reply.is_none()
        && m.reactions.is_empty()
}

fn message(m: &ChatMessage, out: &mut Vec<u8>) {
    out.extend_from_slice(br#"{"type":"message","conv":"#);
    conv_json(&m.conv, out);
    number(out, b",\"seq\":", m.seq);
    out.extend_from_slice(br#","id":"#);
    m.id.write_json(out);
    out.extend_from_slice(br#","from":"#);
    name_json(&m.from, out);
    out.extend_from_slice(br#","ts":"#);
    m.ts.write_json(out);
    out.extend_from_slice(br#","body":"#);
    string(out, &m.body);
    if let Some(seq) = m.edit {
        number(out, b",\"edit\":", seq);
    }
    if let Some(seq) = m.delete {
        number(out, b",\"delete\":", seq);
    }
    if let Some(at) = m.edited {
        out.extend_from_slice(br#","edited":"#);
        at.write_json(out);
    }
    if m.deleted {
        out.extend_from_slice(br#","deleted":true"#);
    }
    if let Some(seq) = m.react {
        number(out, b",\"react\":", seq);
    }
    if let Some(seq) = m.unreact {
        number(out, b",\"unreact\":", seq);
    }
    out.push(b'}');
}

fn number(out: &mut Vec<u8>, key: &[u8], n: u64) {
    out.extend_from_slice(key);
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn conv_json(conv: &Conv, out: &mut Vec<u8>) {
    match conv {
        Conv::User(u) => name_json(u, out),
        Conv::Group(g) => {
            out.extend_from_slice(b"\"#");
            out.extend_from_slice(g.as_str().as_bytes());
            out.push(b'"');
        }
    }
}

/// A name is letters, digits, `_`, `-` and `.` (`names.rs` lets nothing
/// else be one): nothing in it to escape.
fn name_json(name: &Username, out: &mut Vec<u8>) {
    out.push(b'"');
    out.extend_from_slice(name.as_str().as_bytes());
    out.push(b'"');
}

/// A JSON string as serde_json writes one: `"` and `\` escaped, the control
/// characters below U+0020 as `\b \t \n \f \r` or `\u00XX`, the rest as is.
pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escaped(out, s);
    out.push(b'"');
}

fn escaped(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    loop {
        let at = first_special(bytes, start);
        out.extend_from_slice(&bytes[start..at]);
        let Some(&b) = bytes.get(at) else {
            return;
        };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        start = at + 1;
    }
}

/// Whether `b` is a control character, `"` or `\`: what a JSON string
/// escapes, and what ends (or complicates) one being read. [`special`] marks
/// these eight at a time; this is what the tests hold it to.
#[cfg(test)]
fn needs_care(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Where the first byte from `from` on that needs care is (`bytes.len()`
/// if none), found eight bytes at a time: the tail, and a short string
/// (a key, a name) whole, as a word filled out with bytes that need none.
fn first_special(bytes: &[u8], from: usize) -> usize {
    let mut at = from;
    while let Some(word) = bytes.get(at..at + 8) {
        let mut w = [0; 8];
        w.copy_from_slice(word);
        let marks = special(u64::from_le_bytes(w));
        if marks != 0 {
            return at + (marks.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    let mut w = [b'x'; 8];
    for (to, b) in w.iter_mut().zip(bytes.get(at..).unwrap_or_default()) {
        *to = *b;
    }
    // The filling is clean, so the lowest mark, if any, is in the tail.
    match special(u64::from_le_bytes(w)) {
        0 => bytes.len(),
        marks => at + (marks.trailing_zeros() / 8) as usize,
    }
}

/// Marks (the high bit) the bytes of `w` that need care, with the
/// classic "has a byte less than n / equal to b" word tricks (exact for
/// n ≤ 128). A byte above one that needs care may be marked too (the
/// subtraction borrows from it), but never one below: the lowest mark is the
/// first byte that needs care.
fn special(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    below(w, 0x20) | zero(w ^ (ONES * 0x22)) | zero(w ^ (ONES * 0x5c))
}

/// Whether none of the eight bytes of `w` [`needs_care`].
#[cfg(test)]
fn clean(w: u64) -> bool {
    special(w) == 0
}

/// `send` as its fields, read straight into place.
#[derive(Deserialize)]
struct Send {
    /// Present (and once only) as in the general path; its value is known.
    #[serde(rename = "type")]
    _type: IgnoredAny,
    id: MessageId,
    to: Conv,
    body: String,
    #[serde(default)]
    reply_to: Option<u64>,
    #[serde(default)]
    edit: Option<u64>,
    #[serde(default)]
    delete: Option<u64>,
    #[serde(default)]
    react: Option<u64>,
    #[serde(default)]
    unreact: Option<u64>,
}

#[derive(Deserialize)]
struct Ack {
    #[serde(rename = "type")]
    _type: IgnoredAny,
    conv: Conv,
    seq: u64,
}

/// `line` as a `send` or an `ack`, when it starts the way every client writes
/// them (`{"type":"send",` …) and reads cleanly; `None` sends it the general
/// way, which then says what is wrong with it, if anything.
///
/// The usual line (strings without escapes, the documented fields, each
/// once) is read in place by [`Flat`]; a line with anything else in it goes
/// through serde with the variant known, which is still cheaper than the
/// general way's buffering.
pub(super) fn decode(line: &[u8]) -> Option<ClientMessage> {
    if let Some(rest) = line.strip_prefix(br#"{"type":"send","#) {
        return send(rest).or_else(|| {
            let s: Send = serde_json::from_slice(line).ok()?;
            Some(ClientMessage::Send {
                id: s.id,
                to: s.to,
                body: s.body,
                reply_to: s.reply_to,
                edit: s.edit,
                delete: s.delete,
                react: s.react,
                unreact: s.unreact,
            })
        });
    }
    if let Some(rest) = line.strip_prefix(br#"{"type":"ack","#) {
        return ack(rest).or_else(|| {
            let a: Ack = serde_json::from_slice(line).ok()?;
            Some(ClientMessage::Ack {
                conv: a.conv,
                seq: a.seq,
            })
        });
    }
    None
}

/// The fields of a `send` after its `type`, read in place.
fn send(rest: &[u8]) -> Option<ClientMessage> {
    const NUMBERS: [&str; 5] = ["reply_to", "edit", "delete", "react", "unreact"];
    let mut flat = Flat { bytes: rest, at: 0 };
    let (mut id, mut to, mut body) = (None, None, None);
    let mut numbers: [Option<Option<u64>>; 5] = [None; 5];
    loop {
        let key = flat.key()?;
        match key {
            // An id is ASCII or not an id: parsed from its bytes as they are.
            b"id" => {
                if id.replace(flat.id_text()?).is_some() {
                    return None;
                }
            }
            b"to" | b"body" => {
                let slot = if key == b"to" { &mut to } else { &mut body };
                if slot.replace(flat.string()?).is_some() {
                    return None;
                }
            }
            _ => {
                let slot = &mut numbers[NUMBERS.iter().position(|n| n.as_bytes() == key)?];
                if slot.replace(flat.number_or_null()?).is_some() {
                    return None;
                }
            }
        }
        if flat.next_field()? {
            continue;
        }
        let [reply_to, edit, delete, react, unreact] = numbers.map(Option::flatten);
        return Some(ClientMessage::Send {
            id: MessageId::parse_ascii(id?)?,
            to: to?.parse().ok()?,
            body: body?.to_owned(),
            reply_to,
            edit,
            delete,
            react,
            unreact,
        });
    }
}

/// The fields of an `ack` after its `type`, read in place.
fn ack(rest: &[u8]) -> Option<ClientMessage> {
    let mut flat = Flat { bytes: rest, at: 0 };
    let (mut conv, mut seq) = (None, None);
    loop {
        let fresh = match flat.key()? {
            b"conv" => conv.replace(flat.string()?).is_none(),
            b"seq" => seq.replace(flat.number()?).is_none(),
            _ => false,
        };
        if !fresh {
            return None;
        }
        if !flat.next_field()? {
            return Some(ClientMessage::Ack {
                conv: conv?.parse().ok()?,
                seq: seq?,
            });
        }
    }
}

/// A flat JSON object read where it lies: keys and string values without
/// escapes, unsigned integers, `null`. Anything else, at any point, is
/// `None`: not wrong, just not for this reader.
struct Flat<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Flat<'a> {
    /// The next byte that is not JSON whitespace, taken.
    fn token(&mut self) -> Option<u8> {
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
        }
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.token()? == want).then_some(())
    }

    /// A string without escapes or control characters, valid UTF-8.
    fn string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.raw_string()?).ok()
    }

    /// The bytes of a string that should be an id. The form every client
    /// writes is 36 bytes: when a quote follows them, they are taken without
    /// a search for the end (whatever they are, the id is parsed from them,
    /// and nothing else is an id of 36 bytes; a string that ended earlier, or
    /// has an escape in it, fails that and the line goes the general way).
    fn id_text(&mut self) -> Option<&'a [u8]> {
        const HYPHENATED: usize = 36;
        let at = self.at;
        self.expect(b'"')?;
        let start = self.at;
        if self.bytes.get(start + HYPHENATED) == Some(&b'"') {
            self.at = start + HYPHENATED + 1;
            return self.bytes.get(start..start + HYPHENATED);
        }
        self.at = at;
        self.raw_string()
    }

    /// A key: compared as bytes, so not checked as UTF-8 (a key that is not
    /// one of the known ones ends the reading by hand anyway).
    fn key(&mut self) -> Option<&'a [u8]> {
        let key = self.raw_string()?;
        self.expect(b':')?;
        Some(key)
    }

    /// The bytes of a string without escapes or control characters.
    fn raw_string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.at;
        let end = first_special(self.bytes, start);
        // The first byte that needs care must be the closing quote.
        if self.bytes.get(end) != Some(&b'"') {
            return None;
        }
        self.at = end + 1;
        self.bytes.get(start..end)
    }

    /// An unsigned integer as JSON writes one (no sign, fraction, exponent or
    /// leading zero) that fits a `u64`.
    fn number(&mut self) -> Option<u64> {
        let first = self.token()?;
        let mut n = u64::from(first.checked_sub(b'0').filter(|d| *d <= 9)?);
        while let Some(d) = self.bytes.get(self.at).and_then(|b| b.checked_sub(b'0')) {
            if d > 9 {
                break;
            }
            if n == 0 {
                return None;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(d))?;
            self.at += 1;
        }
        match self.bytes.get(self.at) {
            Some(b'.' | b'e' | b'E') => None,
            _ => Some(n),
        }
    }

    fn number_or_null(&mut self) -> Option<Option<u64>> {
        let at = self.at;
        if self.token()? == b'n' {
            return self.bytes[self.at..].starts_with(b"ull").then(|| {
                self.at += 3;
                None
            });
        }
        self.at = at;
        self.number().map(Some)
    }

    /// After a value: `true` at a comma (another field follows), `false` at
    /// the object's end, which must be the line's (whitespace aside).
    fn next_field(&mut self) -> Option<bool> {
        match self.token()? {
            b',' => Some(true),
            b'}' => match self.token() {
                None => Some(false),
                Some(_) => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{clean, first_special, needs_care};

    /// Eight at a time, or one at a time in the tail, the first byte found
    /// is the first that needs care, wherever it is and whatever is around.
    #[test]
    fn the_first_byte_that_needs_care_is_found_wherever_it_is() {
        let fillers = [b'a', 0x7f, 0x80, 0xff, 0x21, 0x5d, b'"', 0x01];
        for len in 0..20 {
            for at in 0..len {
                for b in [0x00, 0x1f, b'"', b'\\', b'\n', 0x20, 0x7f, 0xc3] {
                    for filler in fillers {
                        let mut bytes = vec![b'x'; len];
                        bytes[at] = b;
                        for after in bytes.iter_mut().skip(at + 1) {
                            *after = filler;
                        }
                        for from in 0..=at {
                            let naive = bytes[from..]
                                .iter()
                                .position(|&c| needs_care(c))
                                .map_or(len, |p| from + p);
                            assert_eq!(first_special(&bytes, from), naive, "{bytes:?} from {from}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_word_is_clean_exactly_when_no_byte_of_it_needs_escaping() {
        for b in 0..=255u8 {
            let needs = b < 0x20 || b == b'"' || b == b'\\';
            for at in 0..8 {
                for filler in [b'a', 0x7f, 0x80, 0xff, 0x21, 0x5d] {
                    let mut word = [filler; 8];
                    word[at] = b;
                    assert_eq!(
                        clean(u64::from_le_bytes(word)),
                        !needs,
                        "{b:#x} at {at} among {filler:#x}"
                    );
                }
            }
        }
    }
}
