//! What a `search` asks of a store: the words, and where a page starts.
//!
//! Every store answers the same question the same way: a message is found
//! when each word of the search begins a word of its text, ignoring case. A
//! word is a run of letters and digits; anything else separates words. The
//! SQLite store (FTS5, `unicode61` with diacritics removed) also ignores
//! accents; the memory store and PostgreSQL (`simple` text search) match
//! them as written.

use classchat_common::Timestamp;
use classchat_common::limits::{SEARCH_BYTES_MAX, SEARCH_WORDS_MAX};

use super::ConvId;

/// The words of a search, lowercased, each at least one letter or digit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    words: Vec<String>,
}

impl Query {
    /// Parses what a user typed; the error is a sentence for them.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > SEARCH_BYTES_MAX {
            return Err(format!("a search is at most {SEARCH_BYTES_MAX} bytes long"));
        }
        let mut words: Vec<String> = Vec::new();
        for word in words_of(text) {
            if !words.contains(&word) {
                words.push(word);
            }
        }
        if words.is_empty() {
            return Err("a search needs a word of letters or digits".into());
        }
        if words.len() > SEARCH_WORDS_MAX {
            return Err(format!("a search has at most {SEARCH_WORDS_MAX} words"));
        }
        Ok(Self { words })
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The query for an FTS5 table: each word as a prefix, all of them
    /// required. Words are letters and digits only, so quoting them is safe.
    pub fn fts5(&self) -> String {
        let terms: Vec<String> = self.words.iter().map(|w| format!("\"{w}\"*")).collect();
        terms.join(" ")
    }

    /// The same for PostgreSQL's `to_tsquery('simple', …)`.
    pub fn tsquery(&self) -> String {
        let terms: Vec<String> = self.words.iter().map(|w| format!("'{w}':*")).collect();
        terms.join(" & ")
    }

    /// Whether `text` has every word (the memory store's search).
    pub fn matches(&self, text: &str) -> bool {
        let found: Vec<String> = words_of(text).collect();
        self.words
            .iter()
            .all(|w| found.iter().any(|f| f.starts_with(w.as_str())))
    }
}

/// The words of `text`, lowercased.
fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Where a page of results starts: below the last message of the page before,
/// in the order results come (newest first, then by conversation and
/// sequence number, both descending). Clients see it as an opaque string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub ts: Timestamp,
    pub conv: ConvId,
    pub seq: u64,
}

impl Cursor {
    /// The position of a result, as `next` gives it.
    pub fn encode(self) -> String {
        format!("{}.{}.{}", self.ts.as_millis(), self.conv.0, self.seq)
    }

    /// A `before` from a client; `None` when it is not one this server made.
    pub fn decode(s: &str) -> Option<Self> {
        let mut parts = s.split('.');
        let ts = parts.next()?.parse::<i64>().ok()?;
        let conv = parts.next()?.parse::<i64>().ok()?;
        let seq = parts.next()?.parse::<u64>().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            ts: Timestamp::from_millis(ts),
            conv: ConvId(conv),
            seq,
        })
    }

    /// Whether a message at (`ts`, `conv`, `seq`) comes after this cursor.
    pub fn passes(self, ts: Timestamp, conv: ConvId, seq: u64) -> bool {
        (ts, conv, seq) < (self.ts, self.conv, self.seq)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn words_are_runs_of_letters_and_digits_lowercased_once_each() {
        let q = Query::parse("  Exam, exam!! lab-3 Ünïcode ").unwrap();
        assert_eq!(q.words(), ["exam", "lab", "3", "ünïcode"]);
        assert_eq!(q.fts5(), r#""exam"* "lab"* "3"* "ünïcode"*"#);
        assert_eq!(q.tsquery(), "'exam':* & 'lab':* & '3':* & 'ünïcode':*");
    }

    #[test]
    fn a_search_without_words_or_too_long_is_refused() {
        assert!(Query::parse("👍 ?! \"*\"").is_err());
        assert!(Query::parse("").is_err());
        assert!(
            Query::parse(&"a ".repeat(SEARCH_WORDS_MAX + 1)).is_ok(),
            "duplicates count once"
        );
        let many: Vec<String> = (0..=SEARCH_WORDS_MAX).map(|i| format!("w{i}")).collect();
        assert!(Query::parse(&many.join(" ")).is_err());
        assert!(Query::parse(&"x".repeat(SEARCH_BYTES_MAX + 1)).is_err());
    }

    #[test]
    fn every_word_must_begin_a_word_of_the_text() {
        let q = Query::parse("exa fri").unwrap();
        assert!(q.matches("The EXAM moved to Friday."));
        assert!(!q.matches("The exam moved to Monday."));
        assert!(
            !q.matches("hexagon friday"),
            "a word inside another is not found"
        );
    }

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_nothing_else() {
        let c = Cursor {
            ts: Timestamp::from_millis(1_764_000_000_123),
            conv: ConvId(7),
            seq: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "1.2", "1.2.3.4", "a.b.c", "1.2.-3"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
        assert!(c.passes(c.ts, ConvId(7), 41));
        assert!(c.passes(c.ts, ConvId(6), 99));
        assert!(!c.passes(c.ts, ConvId(7), 42));
        assert!(!c.passes(Timestamp::from_millis(1_764_000_000_124), ConvId(1), 1));
    }
}
