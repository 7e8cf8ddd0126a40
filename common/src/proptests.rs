//! Property tests: every message survives its line and the framing however the
//! stream is cut; names and safe file names keep their promises for any input.
//!
//! The case counts are modest so `cargo test` stays quick; `PROPTEST_CASES=20000`
//! raises every one of them (`just fuzz` does that when cargo-fuzz is missing).

mod strategies;

use std::collections::BTreeSet;
use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use tokio_util::codec::{Decoder, Encoder};

use crate::codec::LineCodec;
use crate::files::{MAX_FILE_NAME_BYTES, safe_name};
use crate::limits::MAX_NAME_LEN;
use crate::names::{Conv, GroupName, Username};
use crate::protocol::{ClientMessage, DecodeError, ServerMessage};
use crate::text::is_blank;
use strategies::*;

/// `default` cases, unless `PROPTEST_CASES` says otherwise. (`Config::with_cases`
/// would ignore the variable.)
fn cases(default: u32) -> Config {
    let config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_some() {
        config
    } else {
        Config {
            cases: default,
            ..config
        }
    }
}

/// The two directions, so one set of properties covers both.
trait Wire: Sized + PartialEq + Debug {
    fn line(&self) -> Bytes;
    fn parse(frame: &[u8]) -> Result<Self, DecodeError>;
}

impl Wire for ClientMessage {
    fn line(&self) -> Bytes {
        self.to_line()
    }
    fn parse(frame: &[u8]) -> Result<Self, DecodeError> {
        ClientMessage::decode(frame)
    }
}

impl Wire for ServerMessage {
    fn line(&self) -> Bytes {
        self.to_line()
    }
    fn parse(frame: &[u8]) -> Result<Self, DecodeError> {
        ServerMessage::decode(frame)
    }
}

fn parse_ok<M: Wire>(frame: &[u8]) -> Result<M, TestCaseError> {
    M::parse(frame)
        .map_err(|e| TestCaseError::fail(format!("{e} in {:?}", String::from_utf8_lossy(frame))))
}

/// Encodes `msg`, frames it through the codec and decodes it again.
fn round_trip<M: Wire>(msg: &M) -> Result<(), TestCaseError> {
    let line = msg.line();
    prop_assert!(line.ends_with(b"\n"));
    prop_assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
    prop_assert!(std::str::from_utf8(&line).is_ok());

    let mut codec = LineCodec::default();
    let mut buf = BytesMut::new();
    codec
        .encode(line.clone(), &mut buf)
        .expect("encoding cannot fail");
    let frame = codec.decode(&mut buf).expect("within the limit");
    let frame = frame.expect("a whole line");
    prop_assert!(buf.is_empty());

    let back: M = parse_ok(&frame)?;
    prop_assert_eq!(&back, msg);
    // Names keep their spelling: the bytes are the same the second time too.
    prop_assert_eq!(back.line(), line);
    Ok(())
}

/// Decodes `chunks` as a connection would receive them.
fn decode_chunks<'a, M: Wire>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<M>, TestCaseError> {
    let mut codec = LineCodec::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(frame) = codec.decode(&mut buf).expect("within the limit") {
            out.push(parse_ok(&frame)?);
        }
    }
    if let Some(frame) = codec.decode_eof(&mut buf).expect("within the limit") {
        out.push(parse_ok(&frame)?);
    }
    Ok(out)
}

/// The ends a line may have on the wire: `\n`, `\r\n` from `nc`, and empty lines.
const ENDINGS: [&str; 4] = ["\n", "\r\n", "\n\n", "\r\n\n"];

fn stream<M: Wire>(msgs: &[(M, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (msg, ending) in msgs {
        let line = msg.line();
        out.extend_from_slice(&line[..line.len() - 1]);
        out.extend_from_slice(ending.as_bytes());
    }
    out
}

/// `bytes` cut at `cuts` (in any order, repeats allowed).
fn cut<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    points.extend([0, bytes.len()]);
    points.sort_unstable();
    points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

fn split_anywhere<M: Wire + Clone>(
    msgs: &[(M, &str)],
    cuts: &[Index],
) -> Result<(), TestCaseError> {
    let bytes = stream(msgs);
    let decoded: Vec<M> = decode_chunks(cut(&bytes, cuts))?;
    let sent: Vec<M> = msgs.iter().map(|(m, _)| m.clone()).collect();
    prop_assert_eq!(decoded, sent);
    Ok(())
}

fn split_everywhere<M: Wire + Clone>(msgs: &[(M, &str)]) -> Result<(), TestCaseError> {
    let bytes = stream(msgs);
    let sent: Vec<M> = msgs.iter().map(|(m, _)| m.clone()).collect();
    let one_by_one: Vec<M> = decode_chunks(bytes.chunks(1))?;
    prop_assert_eq!(&one_by_one, &sent);
    for k in 0..=bytes.len() {
        let (a, b) = bytes.split_at(k);
        let halves: Vec<M> = decode_chunks([a, b])?;
        prop_assert_eq!(&halves, &sent, "cut at byte {}", k);
    }
    Ok(())
}

/// The names serde lists in "unknown variant `~`, expected one of `a`, `b`".
fn names_serde_expects(error: &str) -> BTreeSet<String> {
    let (_, list) = error
        .split_once("expected one of")
        .expect("serde lists the variants");
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

fn types_generated<M: Wire>(strategy: impl Strategy<Value = M>) -> BTreeSet<String> {
    let mut runner = TestRunner::deterministic();
    (0..3000)
        .map(|_| {
            let msg = strategy.new_tree(&mut runner).expect("a value").current();
            let json: serde_json::Value =
                serde_json::from_slice(&msg.line()).expect("a JSON object");
            json["type"].as_str().expect("a type").to_owned()
        })
        .collect()
}

#[test]
fn the_strategies_reach_every_message_type_and_error_code() {
    let unknown = r#"{"type":"~"}"#;
    let all = serde_json::from_str::<ClientMessage>(unknown).expect_err("unknown");
    assert_eq!(
        types_generated(client_message()),
        names_serde_expects(&all.to_string())
    );
    let all = serde_json::from_str::<ServerMessage>(unknown).expect_err("unknown");
    assert_eq!(
        types_generated(server_message()),
        names_serde_expects(&all.to_string())
    );
    let all = serde_json::from_str::<crate::ErrorCode>(r#""~""#).expect_err("unknown");
    let listed: BTreeSet<String> = ERROR_CODES
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .expect("a code")
                .as_str()
                .expect("a string")
                .to_owned()
        })
        .collect();
    assert_eq!(listed, names_serde_expects(&all.to_string()));
}

/// A name as the rules in names.rs describe it, written independently.
fn follows_the_naming_rules(s: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// Controls, bidi controls, invisible and blank characters: what `text` says
/// cannot be seen as itself (its own tests hold it to the Unicode tables).
fn hides_or_reorders(c: char) -> bool {
    crate::text::class(c) != crate::text::Class::Shown
}

/// Runs of what draws nothing: Unicode spaces, controls, bidi controls, tag
/// characters, fillers, joiners, variation selectors, blanks.
fn nothing_visible() -> impl Strategy<Value = String> {
    "[ \t\n\r\\x00\\x1b\\x7f\u{85}\u{a0}\u{2003}\u{2028}\u{3000}\u{202e}\u{2066}\u{200b}-\u{200d}\u{2060}\u{feff}\u{ad}\u{34f}\u{115f}\u{3164}\u{ffa0}\u{fe0f}\u{e0100}\u{e0001}\u{e0020}-\u{e007f}\u{2800}]{0,6}"
}

/// Strings near the naming rules and file names that try to escape.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        "[A-Za-z0-9_.#-]{0,40}",
        "[a-z./\\\\ \\x00\\x1b\u{202e}\u{200b}\u{180e}\u{34f}\u{115f}\u{3164}\u{2800}\u{fe0f}\u{e0020}-\u{e007f}é]{0,40}",
        (".{0,8}", "[a-zé .]{150,300}", "(\\.[a-z]{1,20})?").prop_map(|(a, b, c)| a + &b + &c),
    ]
}

proptest! {
    #![proptest_config(Config::default())]

    #[test]
    fn every_client_message_survives_its_line_and_the_codec(msg in client_message()) {
        round_trip(&msg)?;
    }

    #[test]
    fn every_server_message_survives_its_line_and_the_codec(msg in server_message()) {
        round_trip(&msg)?;
    }

    #[test]
    fn client_streams_split_anywhere_decode_to_the_messages_sent(
        msgs in prop::collection::vec((client_message(), select(&ENDINGS[..])), 1..10),
        cuts in prop::collection::vec(any::<Index>(), 0..20),
    ) {
        split_anywhere(&msgs, &cuts)?;
    }

    #[test]
    fn server_streams_split_anywhere_decode_to_the_messages_sent(
        msgs in prop::collection::vec((server_message(), select(&ENDINGS[..])), 1..10),
        cuts in prop::collection::vec(any::<Index>(), 0..20),
    ) {
        split_anywhere(&msgs, &cuts)?;
    }

    #[test]
    fn a_name_is_accepted_exactly_when_it_follows_the_rules(s in hostile_text()) {
        let ok = follows_the_naming_rules(&s);
        prop_assert_eq!(Username::new(&s).is_ok(), ok);
        prop_assert_eq!(GroupName::new(&s).is_ok(), ok);
        if let Ok(name) = Username::new(&s) {
            prop_assert_eq!(name.as_str(), s.as_str());
            prop_assert_eq!(name.key(), s.to_ascii_lowercase());
            prop_assert_eq!(&Username::new(&s.to_ascii_uppercase()).expect("valid"), &name);
        }
        match s.parse::<Conv>() {
            Ok(conv) => {
                prop_assert_eq!(conv.to_string(), s.clone());
                let json = serde_json::to_string(&conv).expect("a string");
                prop_assert_eq!(serde_json::from_str::<Conv>(&json).expect("a conv"), conv);
            }
            Err(e) => {
                prop_assert!(!follows_the_naming_rules(s.strip_prefix('#').unwrap_or(&s)));
                prop_assert!(e.to_string().starts_with("invalid name"));
                // Quoted with escapes (`\u{202e}` is 8 bytes) but never the whole input.
                prop_assert!(e.to_string().len() < 200 + 10 * MAX_NAME_LEN, "{}", e);
            }
        }
    }

    #[test]
    fn a_safe_name_cannot_escape_hide_or_grow(raw in hostile_text()) {
        let safe = safe_name(&raw);
        prop_assert!(!safe.is_empty());
        prop_assert!(safe.len() <= MAX_FILE_NAME_BYTES, "{} bytes", safe.len());
        prop_assert!(!safe.contains(['/', '\\', '\0']), "{:?}", safe);
        prop_assert!(!safe.chars().any(|c| c.is_control() || hides_or_reorders(c)), "{:?}", safe);
        prop_assert!(!safe.starts_with('.'), "{:?}", safe);
        prop_assert!(!safe.ends_with(['.', ' ']), "{:?}", safe);
        prop_assert_eq!(safe_name(&safe), safe.clone(), "safe names stay as they are");
    }

    #[test]
    fn what_draws_nothing_never_changes_whether_a_text_is_blank(
        raw in text(),
        fillers in prop::collection::vec(nothing_visible(), 1..8),
    ) {
        // The fillers go between the characters of `raw`, round and round.
        let mut sprinkled = String::new();
        for (i, c) in raw.chars().enumerate() {
            sprinkled.push_str(&fillers[i % fillers.len()]);
            sprinkled.push(c);
        }
        sprinkled.push_str(&fillers[0]);
        prop_assert_eq!(is_blank(&sprinkled), is_blank(&raw), "{:?}", sprinkled);
        prop_assert!(is_blank(&fillers.concat()));
    }
}

proptest! {
    #![proptest_config(cases(24))]

    #[test]
    fn client_streams_split_at_every_byte_decode_to_the_messages_sent(
        msgs in prop::collection::vec((client_message(), select(&ENDINGS[..])), 1..4),
    ) {
        split_everywhere(&msgs)?;
    }

    #[test]
    fn server_streams_split_at_every_byte_decode_to_the_messages_sent(
        msgs in prop::collection::vec((server_message(), select(&ENDINGS[..])), 1..4),
    ) {
        split_everywhere(&msgs)?;
    }
}

/// Key-value pairs a `send` or `ack` line may hold, good and bad: the fields
/// each needs, twice, `null`, the wrong type, a second `type`, unknown fields
/// with values of every shape, escapes.
const SEND_PARTS: &[&str] = &[
    r##""id":"01a1fda8-80e6-75e2-b395-98874c11b402""##,
    r##""id":"not an id""##,
    r##""to":"bob""##,
    r##""to":"#lab""##,
    r##""to":"no spaces""##,
    r##""to":7"##,
    r##""conv":"bob""##,
    r##""conv":"#lab""##,
    r##""body":"hi""##,
    r##""body":"a \"quoted\" line\nand \u00e9 \ud83d\ude00""##,
    r##""body":"""##,
    r##""body":null"##,
    r##""seq":5"##,
    r##""seq":-1"##,
    r##""seq":1.5"##,
    r##""seq":18446744073709551615"##,
    r##""reply_to":3"##,
    r##""reply_to":null"##,
    r##""edit":"3""##,
    r##""delete":4"##,
    r##""react":2"##,
    r##""unreact":2"##,
    r##""type":"ack""##,
    r##""type":"send""##,
    r##""extra":{"a":[1,{"b":null}],"c":"\u0000"}"##,
    // For the reader by hand: odd numbers, spacing, raw control characters,
    // text after the object, keys that are almost the known ones.
    r##""reply_to":01"##,
    r##""reply_to":-0"##,
    r##""reply_to":1e2"##,
    r##""edit":0"##,
    r##""seq":00"##,
    r##""seq":0"##,
    r##""seq":18446744073709551616"##,
    r##""react":nul"##,
    r##""react":null "##,
    r##" "body" :	"spaced" "##,
    r##""body":"raw	tab""##,
    r##""body":"é ü 😀 and more than eight bytes""##,
    r##""body":"x"} trailing"##,
    r##""body":"x"}  "##,
    r##""to":"ALICE""##,
    r##""b\u006fdy":"escaped key""##,
    r##""bodyx":"x""##,
    r##""id":"01A1FDA8-80E6-75E2-B395-98874C11B402""##,
    r##""id":"01a1fda880e675e2b39598874c11b402""##,
    r##""n":-0.5e10"##,
];

proptest! {
    #![proptest_config(cases(1000))]

    /// `stored`, `message` and `receipt` are written by hand on the message
    /// path (`protocol/fast.rs`): byte for byte what serde writes.
    #[test]
    fn lines_written_fast_are_the_lines_serde_writes(msg in server_message()) {
        prop_assert_eq!(msg.to_line(), msg.to_line_general());
    }

    #[test]
    fn a_plain_message_written_fast_is_the_line_serde_writes(mut m in chat_message()) {
        (m.event, m.file, m.counts, m.reply) = (None, None, None, None);
        m.reactions.clear();
        let msg = ServerMessage::Message(m);
        prop_assert_eq!(msg.to_line(), msg.to_line_general());
    }

    /// `send` and `ack` are read by hand on the message path: the same
    /// message, or the same error, as the general way.
    #[test]
    fn lines_read_fast_are_read_as_serde_reads_them(msg in client_message()) {
        let line = msg.to_line();
        let frame = &line[..line.len() - 1];
        prop_assert_eq!(ClientMessage::decode(frame), ClientMessage::decode_general(frame));
    }

    #[test]
    fn odd_send_and_ack_lines_are_read_as_serde_reads_them(
        kind in select(&["send", "ack"][..]),
        parts in prop::collection::vec(select(SEND_PARTS), 0..7),
        spaces in any::<bool>(),
    ) {
        let sep = if spaces { ", " } else { "," };
        let mut line = format!(r#"{{"type":"{kind}""#);
        for p in &parts {
            line.push_str(sep);
            line.push_str(p);
        }
        line.push('}');
        prop_assert_eq!(
            ClientMessage::decode(line.as_bytes()),
            ClientMessage::decode_general(line.as_bytes()),
            "{}", line
        );
    }
}

/// Every odd part, and every pair of them, in a `send` and an `ack` that
/// are otherwise whole (so that the reader by hand gets as far as the odd
/// part): the same message, or the same error, as the general way. Random
/// parts alone seldom make a whole line.
#[test]
fn odd_parts_in_whole_send_and_ack_lines_are_read_as_serde_reads_them() {
    let wholes = [
        r##"{"type":"send","id":"01a1fda8-80e6-75e2-b395-98874c11b402","to":"bob","body":"hi""##,
        r##"{"type":"send","body":"hi","to":"#lab","id":"01a1fda8-80e6-75e2-b395-98874c11b402""##,
        r##"{"type":"ack","conv":"bob","seq":5"##,
        r##"{"type":"ack","seq":5,"conv":"#lab""##,
    ];
    let mut lines = 0;
    for whole in wholes {
        for (i, a) in SEND_PARTS.iter().enumerate() {
            for b in std::iter::once(&"").chain(&SEND_PARTS[i..]) {
                let mut line = format!("{whole},{a}");
                if !b.is_empty() {
                    line = format!("{line},{b}");
                }
                line.push('}');
                assert_eq!(
                    ClientMessage::decode(line.as_bytes()),
                    ClientMessage::decode_general(line.as_bytes()),
                    "{line}"
                );
                lines += 1;
            }
        }
    }
    assert!(lines > 4 * SEND_PARTS.len() * SEND_PARTS.len() / 2);
}

/// The reader by hand takes the 36 bytes of an id without looking for the
/// string's end when a quote follows them: ids of every length up to and
/// past 36, whatever follows them, escapes in them, are read as serde reads
/// them.
#[test]
fn ids_of_any_length_are_read_as_serde_reads_them() {
    let uuid = "01a1fda8-80e6-75e2-b395-98874c11b402";
    let mut lines = 0;
    for len in 0..=uuid.len() + 4 {
        let text: String = uuid.chars().chain("abcd".chars()).take(len).collect();
        for ending in [r#"""#, r#"\"""#, r#"\\""#, r#"""""#] {
            for after in [
                r#","to":"bob","body":"hi"}"#,
                r#","to":"bob","body":"\"x"}"#,
                "}",
            ] {
                let line = format!(r#"{{"type":"send","id":"{text}{ending}{after}"#);
                assert_eq!(
                    ClientMessage::decode(line.as_bytes()),
                    ClientMessage::decode_general(line.as_bytes()),
                    "{line}"
                );
                lines += 1;
            }
        }
    }
    assert_eq!(lines, 41 * 4 * 3);
}
