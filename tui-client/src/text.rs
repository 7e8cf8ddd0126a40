//! Text from other people, made safe to draw and cut to the screen's width.
//!
//! [`clean`] runs on everything that came over the network before it is drawn:
//! message bodies, names, group names, file names. Nothing in it may move the
//! cursor, change colours, set the window title, talk to the clipboard, reorder
//! the text around it or hide characters. Which characters do that is said once,
//! in `classchat_common::text`; here is what the client does with each kind:
//! control characters become visible symbols (`␛` for ESC), bidirectional
//! controls become `�`, and invisible characters (zero-width, tag characters,
//! fillers, variation selectors…) are dropped, so "meet at 5" followed by tag
//! characters shows as "meet at 5". Blanks such as U+2800 are kept: they take a
//! column like a space, so they hide nothing, and braille text needs them.
//!
//! One exception for emoji: a single U+FE0F (or U+FE0E) right after a visible
//! character is kept, because it asks for the emoji (or text) presentation of
//! that character and the width the view counts depends on it (`❤️` is two
//! columns, `❤` one). A second one, or one after nothing visible, carries
//! nothing anyone sees and is dropped. The zero-width joiner is dropped even
//! inside an emoji sequence: terminals disagree on how wide a joined sequence
//! is, and its emoji drawn side by side are two columns each everywhere.
//!
//! [`wrap`] breaks text into lines of at most a given display width, at spaces
//! where it can, counting wide (CJK, emoji) characters as two columns and never
//! splitting a grapheme cluster.

use std::borrow::Cow;

use classchat_common::text::{Class, class};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Whether a terminal might act on `c` or it may hide or reorder text: a
/// control, bidi control or invisible character (`classchat_common::text`).
pub use classchat_common::text::is_live;

fn needs_cleaning(c: char) -> bool {
    (is_live(c) && c != '\n') || matches!(c, '\u{2028}' | '\u{2029}')
}

/// A presentation selector (text or emoji style) that follows `before`, a
/// visible character it can apply to.
fn is_kept_selector(before: Option<char>, c: char) -> bool {
    matches!(c, '\u{FE0E}' | '\u{FE0F}')
        && before.is_some_and(|b| class(b) == Class::Shown && !b.is_whitespace())
}

/// `s` with every control, bidi and invisible character neutralised. Newlines
/// are kept (message bodies may have several lines); tabs become spaces.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_cleaning) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut before = None;
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            '\n' => out.push('\n'),
            '\u{2028}' | '\u{2029}' => out.push('\n'),
            // C0 controls as their "control picture" (ESC → ␛), DEL as ␡, C1 as �.
            c if (c as u32) < 0x20 => {
                out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'));
            }
            '\u{7F}' => out.push('\u{2421}'),
            c => match class(c) {
                Class::Shown | Class::Blank => out.push(c),
                Class::Invisible if is_kept_selector(before, c) => out.push(c),
                Class::Invisible => {}
                Class::Bidi | Class::Control => out.push('\u{FFFD}'),
            },
        }
        before = Some(c);
    }
    Cow::Owned(out)
}

/// `s` without its invisible characters (but for the presentation selectors
/// [`clean`] keeps), all else as it is: for text about to be sent, such as a
/// paste into the draft, which the text area draws without [`clean`].
pub fn without_invisible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| class(c) == Class::Invisible) {
        return Cow::Borrowed(s);
    }
    let mut before = None;
    let kept = s.chars().filter(|&c| {
        let keep = class(c) != Class::Invisible || is_kept_selector(before, c);
        before = Some(c);
        keep
    });
    Cow::Owned(kept.collect())
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
    fn bidi_overrides_are_shown_and_invisible_characters_dropped() {
        assert_eq!(clean("abc\u{202E}fed"), "abc\u{FFFD}fed");
        assert_eq!(clean("pay\u{200B}pal\u{FEFF}"), "paypal");
        assert_eq!(clean("plain text"), Cow::Borrowed("plain text"));
        assert_eq!(clean_line("two\nlines"), "two lines");
        assert_eq!(
            clean("a\u{34F}b\u{115F}\u{1160}c\u{3164}d\u{FFA0}e\u{AD}f\u{2060}g\u{E0100}"),
            "abcdefg"
        );
    }

    #[test]
    fn text_hidden_in_tag_characters_is_dropped() {
        let hidden: String = " NO, AT 6 IN ROOM 9"
            .chars()
            .filter_map(|c| char::from_u32(0xE0000 + u32::from(c)))
            .collect();
        let body = format!("meet at 5\u{E0001}{hidden}\u{E007F}");
        assert_eq!(clean(&body), "meet at 5");
        assert_eq!(clean_line(&format!("notes{hidden}.pdf")), "notes.pdf");
    }

    #[test]
    fn one_presentation_selector_after_a_visible_character_is_kept_and_no_other() {
        assert_eq!(clean("\u{2764}\u{FE0F} ok"), "\u{2764}\u{FE0F} ok");
        // Why it stays: the view counts the emoji as wide only with it.
        assert_eq!((width("\u{2764}\u{FE0F}"), width("\u{2764}")), (2, 1));
        assert_eq!(clean("\u{263A}\u{FE0E}"), "\u{263A}\u{FE0E}");
        // Variation selectors after an emoji are how bytes are smuggled in one.
        assert_eq!(
            clean("\u{1F600}\u{FE0F}\u{FE01}\u{E0100}\u{FE0F}"),
            "\u{1F600}\u{FE0F}"
        );
        assert_eq!(clean("\u{FE0F} \u{FE0F}\u{200B}\u{FE0F}"), " ");
        assert_eq!(clean("👨\u{200D}👩\u{200D}👧"), "👨👩👧");
    }

    #[test]
    fn text_to_send_loses_only_what_cannot_be_seen() {
        let pasted = "meet\u{E0020}\u{E004E}\u{E004F} at 5\u{3164}\u{200B} \u{2764}\u{FE0F}\u{FE0F}\x1b\u{202E}";
        assert_eq!(
            without_invisible(pasted),
            "meet at 5 \u{2764}\u{FE0F}\x1b\u{202E}"
        );
        assert_eq!(without_invisible("plain"), Cow::Borrowed("plain"));
    }

    #[test]
    fn newlines_are_kept_whatever_else_needs_cleaning() {
        let body = "one\u{200B}\ntwo \u{2764}\u{FE0F}\nthree\x1b";
        assert_eq!(clean(body), "one\ntwo \u{2764}\u{FE0F}\nthree\u{241B}");
        assert_eq!(clean_line(body), "one two \u{2764}\u{FE0F} three\u{241B}");
    }

    #[test]
    fn blanks_take_their_column_like_spaces() {
        assert_eq!(clean("⠓⠊\u{2800}⠞⠓⠑⠗⠑\u{200B}"), "⠓⠊\u{2800}⠞⠓⠑⠗⠑");
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
