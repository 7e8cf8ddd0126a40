//! Checks the fuzz targets share: what must hold for any decoded message, any
//! name and any file name.

use std::fmt::Debug;

use classchat_common::files::{MAX_FILE_NAME_BYTES, safe_name};
use classchat_common::limits::MAX_NAME_LEN;
use classchat_common::{Conv, DecodeError, GroupName, Username};

/// The longest error sentence `decode` builds (300 characters and `…`), in bytes.
const MAX_ERROR_BYTES: usize = 301 * 4;

/// A line that decodes must encode to one line that decodes to the same value,
/// and encode to the same bytes again. One that does not decode gets a short
/// error that says something.
pub fn round_trip<M: PartialEq + Debug>(
    line: &[u8],
    decode: impl Fn(&[u8]) -> Result<M, DecodeError>,
    encode: impl Fn(&M) -> bytes::Bytes,
) {
    match decode(line) {
        Ok(msg) => {
            let encoded = encode(&msg);
            assert!(encoded.ends_with(b"\n"), "{encoded:?}");
            assert_eq!(encoded.iter().filter(|&&b| b == b'\n').count(), 1);
            let frame = &encoded[..encoded.len() - 1];
            let back = decode(frame).unwrap_or_else(|e| {
                let frame = String::from_utf8_lossy(frame);
                panic!("{msg:?} encoded as {frame} does not decode: {e}")
            });
            assert_eq!(back, msg, "{frame:?}");
            assert_eq!(encode(&back), encoded);
        }
        Err(e) => {
            assert!(!e.message.is_empty());
            assert!(
                e.message.len() <= MAX_ERROR_BYTES,
                "{} bytes",
                e.message.len()
            );
        }
    }
}

fn follows_the_naming_rules(s: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// Names are accepted exactly when they follow the rules, and conversations
/// print as they were parsed.
pub fn names(s: &str) {
    let ok = follows_the_naming_rules(s);
    assert_eq!(Username::new(s).is_ok(), ok, "{s:?}");
    assert_eq!(GroupName::new(s).is_ok(), ok, "{s:?}");
    match s.parse::<Conv>() {
        Ok(conv) => {
            assert_eq!(conv.to_string(), s);
            let json = serde_json::to_string(&conv).expect("a string");
            assert_eq!(serde_json::from_str::<Conv>(&json).expect("a conv"), conv);
        }
        Err(e) => {
            assert!(!follows_the_naming_rules(s.strip_prefix('#').unwrap_or(s)));
            assert!(e.to_string().starts_with("invalid name"));
            assert!(e.to_string().len() < 200 + 10 * MAX_NAME_LEN, "{e}");
        }
    }
}

/// Reorders text or takes no room (as the client's sanitiser knows them).
pub fn hides_or_reorders(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// A safe file name cannot leave its folder, hide, or grow, and stays as it is.
pub fn file_name(raw: &str) {
    let safe = safe_name(raw);
    assert!(!safe.is_empty());
    assert!(safe.len() <= MAX_FILE_NAME_BYTES, "{} bytes", safe.len());
    assert!(!safe.contains(['/', '\\', '\0']), "{safe:?}");
    assert!(
        !safe.chars().any(|c| c.is_control() || hides_or_reorders(c)),
        "{safe:?}"
    );
    assert!(!safe.starts_with('.'), "{safe:?}");
    assert!(!safe.ends_with(['.', ' ']), "{safe:?}");
    assert_eq!(safe_name(&safe), safe, "safe names stay as they are");
}
