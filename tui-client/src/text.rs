//! Text from other people, made safe to draw and cut to the screen's width.
//!
//! [`clean`] runs on everything that came over the network before it is drawn:
//! message bodies, names, group names. Nothing in it may move the cursor, change
//! colours, set the window title, talk to the clipboard, reorder the text around
//! it or hide characters. Control characters become visible symbols (`␛` for ESC),
//! bidirectional overrides become `�`, and zero-width characters are dropped.
//!
//! [`wrap`] breaks text into lines of at most a given display width, at spaces
//! where it can, counting wide (CJK, emoji) characters as two columns and never
//! splitting a grapheme cluster.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Characters that reorder text (bidirectional controls).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that take no room and can hide things.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

fn needs_cleaning(c: char) -> bool {
    (is_live(c) && c != '\n') || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Whether a terminal might act on `c` or hide it: a control character (C0,
/// DEL, C1), a bidirectional control, or a zero-width character.
pub fn is_live(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || is_invisible(c)
}

/// `s` with every control, bidi and invisible character neutralised. Newlines
/// are kept (message bodies may have several lines); tabs become spaces.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_cleaning) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            '\u{2028}' | '\u{2029}' => out.push('\n'),
            c if is_invisible(c) => {}
            c if is_bidi_control(c) => out.push('\u{FFFD}'),
            // C0 controls as their "control picture" (ESC → ␛), DEL as ␡.
            c if (c as u32) < 0x20 => {
                out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'));
            }
            '\u{7F}' => out.push('\u{2421}'),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The same, for a single line (a name, a title): newlines become spaces.
pub fn clean_line(s: &str) -> Cow<'_, str> {
    match clean(s) {
        Cow::Borrowed(b) if !b.contains('\n') => Cow::Borrowed(b),
        other => Cow::Owned(other.replace('\n', " ")),
    }
}

/// Display width in terminal columns.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Breaks `text` (already cleaned) into lines no wider than `max` columns.
/// Newlines in the text start new lines; a word longer than a line is split.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        wrap_paragraph(paragraph, max, &mut lines);
    }
    lines
}

fn wrap_paragraph(paragraph: &str, max: usize, out: &mut Vec<String>) {
    let mut line = String::new();
    let mut line_width = 0;
    for word in words(paragraph) {
        let w = width(word);
        if line_width + w <= max {
            line.push_str(word);
            line_width += w;
            continue;
        }
        if word.trim().is_empty() {
            // A space at the end of a full line is where it breaks.
            out.push(std::mem::take(&mut line));
            line_width = 0;
            continue;
        }
        if !line.is_empty() && w <= max {
            out.push(std::mem::take(&mut line).trim_end().to_owned());
            line.push_str(word);
            line_width = w;
            continue;
        }
        // A word too long for any line: split it between grapheme clusters.
        for g in word.graphemes(true) {
            let gw = width(g);
            if line_width + gw > max && !line.is_empty() {
                out.push(std::mem::take(&mut line));
                line_width = 0;
            }
            line.push_str(g);
            line_width += gw;
        }
    }
    out.push(line);
}

/// Runs of non-space and of space characters. A word keeps its punctuation, so
/// a line never starts with the full stop or hyphen of the word before it.
fn words(paragraph: &str) -> impl Iterator<Item = &str> {
    let mut rest = paragraph;
    std::iter::from_fn(move || {
        let space = rest.chars().next()?.is_whitespace();
        let end = rest
            .find(|c: char| c.is_whitespace() != space)
            .unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        rest = tail;
        Some(word)
    })
}

/// `s` cut to at most `max` columns, with `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        let gw = width(g);
        if used + gw + 1 > max {
            break;
        }
        out.push_str(g);
        used += gw;
    }
    out.push('…');
    Cow::Owned(out)
}

/// Where a hint or a sentence of clauses may be cut short: after a clause,
/// before the next one's separator.
const CLAUSE_SEPARATORS: [&str; 3] = [" · ", " — ", ", "];

/// `s` cut to at most `max` columns at the end of a clause ([`CLAUSE_SEPARATORS`]),
/// so that what is shown are whole items (`Enter sends, Alt+Enter new line`
/// loses `Alt+Enter new line`, not its last letters); cut with `…` only when not
/// even the first clause fits.
pub fn fit_clauses(s: &str, max: usize) -> Cow<'_, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    let mut ends: Vec<usize> = CLAUSE_SEPARATORS
        .iter()
        .flat_map(|sep| s.match_indices(sep).map(|(at, _)| at))
        .collect();
    ends.sort_unstable();
    match ends.iter().rev().find(|&&end| width(&s[..end]) <= max) {
        Some(&end) => Cow::Borrowed(&s[..end]),
        None => truncate(s, max),
    }
}

/// Lower is better; `None` if the letters of `query` do not all appear in order.
pub fn fuzzy_score(text: &str, query: &str) -> Option<usize> {
    if let Some(at) = text.find(query) {
        return Some(at);
    }
    let mut pos = 0;
    let mut gaps = 0;
    for q in query.chars() {
        let found = text[pos..].find(q)?;
        gaps += found;
        pos += found + q.len_utf8();
    }
    Some(100 + gaps)
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_become_visible_and_inert() {
        let hostile = "hi\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\r\x08\u{9b}31m";
        let shown = clean(hostile);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(shown.starts_with("hi␛[2J␛]0;pwned␇"), "{shown:?}");
    }

    #[test]
    fn bidi_overrides_are_shown_and_zero_width_characters_dropped() {
        assert_eq!(clean("abc\u{202E}fed"), "abc\u{FFFD}fed");
        assert_eq!(clean("pay\u{200B}pal\u{FEFF}"), "paypal");
        assert_eq!(clean("plain text"), Cow::Borrowed("plain text"));
        assert_eq!(clean_line("two\nlines"), "two lines");
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_respects_the_width() {
        let lines = wrap("the quick brown fox jumps over the lazy dog", 10);
        assert_eq!(
            lines,
            ["the quick", "brown fox", "jumps over", "the lazy", "dog"]
        );
        assert!(lines.iter().all(|l| width(l) <= 10));
    }

    #[test]
    fn wide_characters_count_twice_and_are_never_split() {
        let lines = wrap("漢字かな交じり文です", 7);
        assert!(lines.iter().all(|l| width(l) <= 7), "{lines:?}");
        assert_eq!(lines.concat(), "漢字かな交じり文です");
        let emoji = wrap("👍👍👍👍", 5);
        assert_eq!(emoji, ["👍👍", "👍👍"]);
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(wrap(&format!("{family}{family}"), 3).len(), 2);
    }

    #[test]
    fn long_words_and_newlines_are_handled() {
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("one\ntwo", 10), ["one", "two"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn punctuation_stays_with_its_word() {
        assert_eq!(wrap("in room B12.", 11), ["in room", "B12."]);
        assert_eq!(
            wrap("the three-way handshake", 10),
            ["the", "three-way", "handshake"]
        );
    }

    #[test]
    fn fitting_drops_whole_clauses() {
        let hint = "Message #cs101 — Enter sends, Alt+Enter new line";
        assert_eq!(fit_clauses(hint, 47), "Message #cs101 — Enter sends");
        assert_eq!(fit_clauses(hint, 27), "Message #cs101");
        assert_eq!(fit_clauses(hint, 48), hint);
        assert_eq!(fit_clauses(hint, 8), "Message…");
        assert_eq!(fit_clauses("a · bb · c", 7), "a · bb");
    }

    #[test]
    fn truncation_marks_what_was_cut() {
        assert_eq!(truncate("conversation", 6), "conve…");
        assert_eq!(truncate("short", 6), "short");
    }
}
