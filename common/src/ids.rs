//! Message ids chosen by clients, and the server's timestamps.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// `"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"`, quotes included: a UUID as
/// `Uuid::hyphenated` writes it in lower case, four bytes at a time.
fn quoted_hyphenated(bytes: &[u8; 16]) -> [u8; 38] {
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (a, b, c, d) = (hex8(word(0)), hex8(word(4)), hex8(word(8)), hex8(word(12)));
    // Fixed ranges, so that each copy is a move or two, not a call.
    let mut text = [b'"'; 38];
    text[1..9].copy_from_slice(&a);
    text[9] = b'-';
    text[10..14].copy_from_slice(&b[..4]);
    text[14] = b'-';
    text[15..19].copy_from_slice(&b[4..]);
    text[19] = b'-';
    text[20..24].copy_from_slice(&c[..4]);
    text[24] = b'-';
    text[25..29].copy_from_slice(&c[4..]);
    text[29..37].copy_from_slice(&d);
    text
}

/// The eight lower-case hex digits of `word`, most significant first: each
/// nibble spread into a byte of its own, then made a digit or a letter.
fn hex8(word: u32) -> [u8; 8] {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut x = u64::from(word);
    x = (x | x << 16) & 0x0000_ffff_0000_ffff;
    x = (x | x << 8) & 0x00ff_00ff_00ff_00ff;
    x = (x | x << 4) & 0x0f0f_0f0f_0f0f_0f0f;
    // 1 in each byte whose nibble is 10 or more; 'a' is 39 past '0' + 10.
    let letters = ((x + 6 * ONES) >> 4) & ONES;
    (x + u64::from(b'0') * ONES + letters * 39).to_be_bytes()
}

/// A newtype over a UUID as the protocol carries it: a hyphenated string on the
/// wire, refused with `invalid <what>: expected a UUID` when it is not one.
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (version 7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }

            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// The id these bytes spell, in any form `FromStr` takes.
            #[allow(dead_code, reason = "not every kind of id is on a fast path")]
            pub(crate) fn parse_ascii(text: &[u8]) -> Option<Self> {
                Uuid::try_parse_ascii(text).ok().map(Self)
            }

            /// Appends the JSON string of this id, as `Serialize` writes it.
            #[allow(dead_code, reason = "not every kind of id is on a fast path")]
            pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&quoted_hyphenated(self.0.as_bytes()));
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(|_| {
                    serde::de::Error::custom(concat!("invalid ", $what, ": expected a UUID"))
                })
            }
        }
    };
}

uuid_id!(
    /// The id a client gives each message it sends. A retry carries the same id, which
    /// is how the server recognises it and never stores a message twice. Any UUID is
    /// accepted; ClassChat's client uses version 7 (time-ordered).
    MessageId,
    "message id"
);

uuid_id!(
    /// A file offer, named by the server when the upload starts.
    OfferId,
    "offer id"
);

/// A point in time with millisecond precision, as the server stamps it. On the wire
/// it is an RFC 3339 string in UTC: `"2026-11-21T10:15:00.123Z"`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        // The system clock's milliseconds, floored as `Utc::now` counts them,
        // without making a calendar date only to take it apart again.
        let ms = match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
            Err(before) => {
                let ms = before.duration().as_nanos().div_ceil(1_000_000);
                i64::try_from(ms).map_or(i64::MIN, |ms| -ms)
            }
        };
        Self(ms)
    }

    pub fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }
}

impl Timestamp {
    /// Appends the JSON string of this time, as `Serialize` writes it. A
    /// message's `stored` and its `message` lines carry the same time, written
    /// one after the other: the last one written is kept for the next.
    pub(crate) fn write_json(self, out: &mut Vec<u8>) {
        thread_local! {
            static LAST: std::cell::Cell<(i64, [u8; RFC3339_LEN])> =
                const { std::cell::Cell::new((i64::MIN, [0; RFC3339_LEN])) };
        }
        out.push(b'"');
        let (at, text) = LAST.get();
        if at == self.0 {
            out.extend_from_slice(&text);
        } else {
            let mut buf = [0; RFC3339_LEN];
            if self.write_rfc3339(&mut buf).is_some() {
                out.extend_from_slice(&buf);
                LAST.set((self.0, buf));
            } else {
                out.extend_from_slice(self.to_string().as_bytes());
            }
        }
        out.push(b'"');
    }

    /// The wire form, `YYYY-MM-DDTHH:MM:SS.mmmZ`, written without allocating
    /// when the year is 0000-9999 (every time the server stamps); `None` for
    /// the rest, which go through chrono.
    fn write_rfc3339(self, out: &mut [u8; RFC3339_LEN]) -> Option<&str> {
        if !(MIN_MILLIS..=MAX_MILLIS).contains(&self.0) {
            return None;
        }
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let in_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let fields = [
            (0, 4, year),
            (5, 2, i64::from(month)),
            (8, 2, i64::from(day)),
            (11, 2, in_day / 3_600_000),
            (14, 2, in_day / 60_000 % 60),
            (17, 2, in_day / 1000 % 60),
            (20, 3, in_day % 1000),
        ];
        *out = *b"0000-00-00T00:00:00.000Z";
        for (at, width, mut value) in fields {
            for slot in out[at..at + width].iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        std::str::from_utf8(out).ok()
    }

    /// Reads exactly the form [`Timestamp::write_rfc3339`] writes, with a valid
    /// date and time; `None` for anything else (other offsets, fractions, leap
    /// seconds, mistakes), which chrono then judges.
    fn parse_rfc3339_utc(s: &str) -> Option<Self> {
        let b: &[u8; RFC3339_LEN] = s.as_bytes().try_into().ok()?;
        let shape_ok = b
            .iter()
            .zip(b"0000-00-00T00:00:00.000Z")
            .all(|(&c, &want)| {
                if want == b'0' {
                    c.is_ascii_digit()
                } else {
                    c == want
                }
            });
        if !shape_ok {
            return None;
        }
        let num = |at: usize, width: usize| {
            b[at..at + width]
                .iter()
                .fold(0i64, |n, &c| n * 10 + i64::from(c - b'0'))
        };
        let (year, month, day) = (num(0, 4), num(5, 2), num(8, 2));
        let (hour, minute, second, millis) = (num(11, 2), num(14, 2), num(17, 2), num(20, 3));
        let month_ok = (1..=12).contains(&month);
        if !month_ok || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let in_day = ((hour * 60 + minute) * 60 + second) * 1000 + millis;
        Some(Self(days * MILLIS_PER_DAY + in_day))
    }
}

const RFC3339_LEN: usize = "0000-00-00T00:00:00.000Z".len();
const MILLIS_PER_DAY: i64 = 86_400_000;
/// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
const MIN_MILLIS: i64 = -62_167_219_200_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`: eras of 400 years, years starting in March).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0; RFC3339_LEN];
        match self.write_rfc3339(&mut buf) {
            Some(s) => f.write_str(s),
            None => f.write_str(
                &self
                    .to_datetime()
                    .to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0; RFC3339_LEN];
        match self.write_rfc3339(&mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if let Some(t) = Self::parse_rfc3339_utc(&s) {
            return Ok(t);
        }
        let t = DateTime::parse_from_rfc3339(&s)
            .map_err(|_| serde::de::Error::custom("invalid timestamp: expected RFC 3339"))?
            .to_utc();
        // An offset can put the instant outside years 0000-9999 in UTC, which
        // RFC 3339 cannot write back: refuse it rather than pass on a time
        // that nobody could read again.
        if !(0..=9999).contains(&t.year()) {
            let why = "invalid timestamp: outside the years 0000 to 9999 in UTC";
            return Err(serde::de::Error::custom(why));
        }
        Ok(Self(t.timestamp_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_with_milliseconds_in_utc() {
        let t = Timestamp::from_millis(1_763_720_100_123);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2025-11-21T10:15:00.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }

    #[test]
    fn a_time_that_rfc3339_cannot_write_back_in_utc_is_refused() {
        for edge in ["9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+01:00"] {
            let json = format!("\"{edge}\"");
            assert!(serde_json::from_str::<Timestamp>(&json).is_err(), "{edge}");
        }
        for ok in ["9999-12-31T23:59:59+01:00", "0000-01-01T00:00:00-01:00"] {
            let t: Timestamp = serde_json::from_str(&format!("\"{ok}\"")).unwrap();
            let again = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<Timestamp>(&again).unwrap(), t);
        }
    }

    fn chrono_form(ms: i64) -> String {
        Timestamp::from_millis(ms)
            .to_datetime()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    #[test]
    fn the_fast_form_covers_exactly_years_0000_to_9999() {
        let mut buf = [0; RFC3339_LEN];
        for ms in [
            MIN_MILLIS,
            MAX_MILLIS,
            0,
            -1,
            951_782_400_000,
            4_107_542_399_999,
        ] {
            let t = Timestamp::from_millis(ms);
            assert_eq!(t.write_rfc3339(&mut buf), Some(chrono_form(ms).as_str()));
            assert_eq!(Timestamp::parse_rfc3339_utc(&chrono_form(ms)), Some(t));
        }
        for ms in [MIN_MILLIS - 1, MAX_MILLIS + 1] {
            assert_eq!(Timestamp::from_millis(ms).write_rfc3339(&mut buf), None);
        }
    }

    #[test]
    fn the_fast_reader_leaves_what_it_does_not_know_to_chrono() {
        for s in [
            "2026-02-29T10:00:00.000Z",
            "2024-02-30T10:00:00.000Z",
            "2026-13-01T10:00:00.000Z",
            "2026-00-01T10:00:00.000Z",
            "2026-11-00T10:00:00.000Z",
            "2026-11-21T24:00:00.000Z",
            "2026-11-21T10:60:00.000Z",
            "2016-12-31T23:59:60.000Z",
            "2026-11-21T10:15:00.123+00:00",
            "2026-11-21t10:15:00.123z",
            "2026-11-21T10:15:00Z",
            "+2026-11-21T10:15:00.12Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339_utc(s), None, "{s}");
        }
        assert_eq!(
            Timestamp::parse_rfc3339_utc("2024-02-29T23:59:59.999Z"),
            Some(Timestamp::from_millis(1_709_251_199_999))
        );
    }

    proptest::proptest! {
        #[test]
        fn the_fast_form_is_chronos_form(ms in MIN_MILLIS..=MAX_MILLIS) {
            let mut buf = [0; RFC3339_LEN];
            let t = Timestamp::from_millis(ms);
            let text = chrono_form(ms);
            proptest::prop_assert_eq!(t.write_rfc3339(&mut buf), Some(text.as_str()));
            proptest::prop_assert_eq!(Timestamp::parse_rfc3339_utc(&text), Some(t));
        }

        #[test]
        fn the_fast_reader_agrees_with_chrono(
            s in "[0-9]{4}-(0[0-9]|1[0-3])-([0-2][0-9]|3[0-2])T([01][0-9]|2[0-4]):[0-6][0-9]:[0-6][0-9]\\.[0-9]{3}Z"
        ) {
            let by_chrono = DateTime::parse_from_rfc3339(&s).map(|d| d.timestamp_millis()).ok();
            let leap_second = &s[17..19] == "60";
            match Timestamp::parse_rfc3339_utc(&s) {
                Some(t) => proptest::prop_assert_eq!(by_chrono, Some(t.as_millis())),
                None => proptest::prop_assert!(by_chrono.is_none() || leap_second, "{s}"),
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn an_id_is_written_as_uuid_writes_it(bytes in proptest::prelude::any::<[u8; 16]>()) {
            let id = MessageId::from_bytes(bytes);
            let mut out = Vec::new();
            id.write_json(&mut out);
            proptest::prop_assert_eq!(out, format!("\"{}\"", Uuid::from_bytes(bytes)).into_bytes());
        }
    }

    #[test]
    fn now_is_the_clock_in_milliseconds_as_chrono_reads_it() {
        let before = Utc::now().timestamp_millis();
        let now = Timestamp::now().as_millis();
        let after = Utc::now().timestamp_millis();
        assert!(before <= now && now <= after, "{before} {now} {after}");
    }

    #[test]
    fn every_nibble_becomes_its_digit() {
        assert_eq!(&hex8(0x0123_4567), b"01234567");
        assert_eq!(&hex8(0x89ab_cdef), b"89abcdef");
        assert_eq!(&hex8(0xffff_ffff), b"ffffffff");
        assert_eq!(&hex8(0), b"00000000");
    }

    #[test]
    fn message_ids_round_trip_and_refuse_non_uuids() {
        let id = MessageId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<MessageId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<MessageId>("\"42\"").is_err());
    }
}
