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
//! It also leaves only text whose width terminals agree on. A cell the view
//! counts narrower than the terminal draws it leaves glyphs behind when the
//! screen changes (in tmux 3.3a the second half of each flag of `🇺🇸 flag 🇺🇸🇺🇸`
//! stayed on every row drawn below it), so what terminals draw at different
//! widths is rewritten into a form every terminal draws alike:
//! - a flag (a pair of regional indicators) becomes its two letters in
//!   brackets, `🇺🇸` → `[US]`, and a lone regional indicator its letter, `[U]`:
//!   terminals draw a pair as one flag two columns wide, as two letters one
//!   column each, or two columns each;
//! - presentation selectors (U+FE0E, U+FE0F) are dropped, so `❤️` is drawn as
//!   `❤`, one column wherever it is drawn (with the selector, unicode-width
//!   and some terminals count two, tmux 3.3a and others one);
//! - a skin-tone modifier after a character is dropped (`👍🏽` → `👍`): it
//!   joins the character before it, counted two columns by unicode-width and
//!   drawn four by terminals that draw each emoji of the pair;
//! - the zero-width joiner is dropped (with the invisible characters), so an
//!   emoji sequence is drawn as its emoji side by side, two columns each;
//! - the halfwidth sound marks U+FF9E and U+FF9F become their spacing forms
//!   U+309B and U+309C: ratatui counts the halfwidth ones a column wider than
//!   terminals draw them.
//!
//! What is left is text whose every grapheme cluster is as wide as its
//! characters added up, which [`width`] counts as ratatui's buffer does; the
//! view puts each character of a cluster in a cell of its own, where a
//! terminal puts it (`ui::cells`).
//!
//! [`wrap`] breaks text into lines of at most a given display width, at spaces
//! where it can, counting wide (CJK, emoji) characters as two columns and never
//! splitting a grapheme cluster.

use std::borrow::Cow;

use classchat_common::text::{Class, class};
use ratatui::buffer::CellWidth;
use unicode_segmentation::UnicodeSegmentation;

/// Whether a terminal might act on `c` or it may hide or reorder text: a
/// control, bidi control or invisible character (`classchat_common::text`).
pub use classchat_common::text::is_live;

const REGIONAL_INDICATORS: std::ops::RangeInclusive<char> = '\u{1F1E6}'..='\u{1F1FF}';
const SKIN_TONES: std::ops::RangeInclusive<char> = '\u{1F3FB}'..='\u{1F3FF}';

fn needs_cleaning(c: char) -> bool {
    (is_live(c) && c != '\n')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FF9E}' | '\u{FF9F}')
        || REGIONAL_INDICATORS.contains(&c)
        || SKIN_TONES.contains(&c)
}

/// The letter a regional indicator stands for.
fn indicator_letter(c: char) -> char {
    char::from_u32(u32::from('A') + (u32::from(c) - u32::from('\u{1F1E6}'))).unwrap_or('?')
}

/// The spacing form of a halfwidth sound mark, which ratatui counts two
/// columns and terminals draw in one; any other character as it is.
pub fn spacing_sound_mark(c: char) -> char {
    match c {
        '\u{FF9E}' => '\u{309B}',
        '\u{FF9F}' => '\u{309C}',
        c => c,
    }
}

/// A presentation selector (text or emoji style) that follows `before`, a
/// visible character it can apply to: kept in text to send, since it says how
/// the sender wants the emoji drawn.
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
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' => out.push_str("    "),
            '\n' => out.push('\n'),
            '\u{2028}' | '\u{2029}' => out.push('\n'),
            // C0 controls as their "control picture" (ESC → ␛), DEL as ␡, C1 as �.
            c if (c as u32) < 0x20 => {
                out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'));
            }
            '\u{7F}' => out.push('\u{2421}'),
            // Indicators pair up from the left, as Unicode pairs them into flags.
            c if REGIONAL_INDICATORS.contains(&c) => {
                out.push('[');
                out.push(indicator_letter(c));
                if let Some(second) = chars.next_if(|n| REGIONAL_INDICATORS.contains(n)) {
                    out.push(indicator_letter(second));
                }
                out.push(']');
            }
            // Alone at the start of a line it is a swatch of its own, as wide
            // as it is drawn; after anything it would join that.
            c if SKIN_TONES.contains(&c) => {
                if out.chars().next_back().is_none_or(|b| b == '\n') {
                    out.push(c);
                }
            }
            c => match class(c) {
                Class::Shown | Class::Blank => out.push(spacing_sound_mark(c)),
                Class::Invisible => {}
                Class::Bidi | Class::Control => out.push('\u{FFFD}'),
            },
        }
    }
    Cow::Owned(out)
}

/// `s` without its invisible characters (but for a presentation selector right
/// after a visible character), all else as it is: for text about to be sent,
/// such as a paste into the draft, which the text area draws without [`clean`].
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

/// Display width in terminal columns, counted as ratatui's buffer counts the
/// cells it fills: cluster by cluster, leaving out those with a control
/// character (it draws none of them). On [`clean`]ed text terminals count the
/// same.
pub fn width(s: &str) -> usize {
    if s.is_ascii() {
        return s.bytes().filter(|b| !b.is_ascii_control()).count();
    }
    s.graphemes(true)
        .filter(|g| !g.contains(char::is_control))
        .map(|g| usize::from(g.cell_width()))
        .sum()
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
    fn presentation_selectors_are_dropped_so_an_emoji_is_as_wide_as_terminals_draw_it() {
        // With U+FE0F unicode-width counts two columns and tmux 3.3a draws one.
        assert_eq!(width("\u{2764}\u{FE0F}"), 2);
        assert_eq!(clean("\u{2764}\u{FE0F} ok"), "\u{2764} ok");
        assert_eq!(width(&clean("\u{2764}\u{FE0F}")), 1);
        assert_eq!(clean("\u{263A}\u{FE0E}"), "\u{263A}");
        // A keycap is its digit and the enclosing mark, one column.
        assert_eq!(clean("1\u{FE0F}\u{20E3}"), "1\u{20E3}");
        assert_eq!(width(&clean("1\u{FE0F}\u{20E3}")), 1);
        // Variation selectors after an emoji are how bytes are smuggled in one.
        assert_eq!(
            clean("\u{1F600}\u{FE0F}\u{FE01}\u{E0100}\u{FE0F}"),
            "\u{1F600}"
        );
        assert_eq!(clean("\u{FE0F} \u{FE0F}\u{200B}\u{FE0F}"), " ");
        assert_eq!(clean("👨\u{200D}👩\u{200D}👧"), "👨👩👧");
    }

    #[test]
    fn a_flag_becomes_its_letters_in_brackets() {
        assert_eq!(clean("🇺🇸 flag 🇺🇸🇺🇸"), "[US] flag [US][US]");
        // Pairs are made from the left; one left over stands alone.
        assert_eq!(clean("🇺🇸🇫"), "[US][F]");
        assert_eq!(clean_line("🇫🇷\n🇩🇪"), "[FR] [DE]");
        assert_eq!(width(&clean("🇺🇸 flag 🇺🇸🇺🇸")), 18);
    }

    #[test]
    fn a_skin_tone_is_dropped_from_the_emoji_it_would_join() {
        // unicode-width counts the pair two columns; a terminal drawing both
        // emoji draws four.
        assert_eq!(width("👍\u{1F3FD}"), 2);
        assert_eq!(clean("ok 👍\u{1F3FD}!"), "ok 👍!");
        assert_eq!(clean("a\u{1F3FB}b"), "ab");
        // Alone at the start of a line it joins nothing, and stays.
        assert_eq!(clean("\u{1F3FD}\n\u{1F3FE}"), "\u{1F3FD}\n\u{1F3FE}");
    }

    #[test]
    fn halfwidth_sound_marks_become_the_spacing_marks_ratatui_counts_right() {
        // ratatui counts U+FF9E two columns (a terminal draws it in one).
        assert_eq!(width("\u{FF76}\u{FF9E}"), 3);
        let shown = clean("\u{FF76}\u{FF9E}\u{FF8A}\u{FF9F}");
        assert_eq!(shown, "\u{FF76}\u{309B}\u{FF8A}\u{309C}");
        assert_eq!(width(&shown), 6);
    }

    #[test]
    fn width_counts_as_ratatui_fills_cells() {
        assert_eq!(width("plain"), 5);
        assert_eq!(width("漢字"), 4);
        assert_eq!(width("e\u{301}"), 1);
        // Lam and alef are two cells, though unicode-width counts the pair as
        // one ligature.
        assert_eq!(width("\u{644}\u{627}"), 2);
        assert_eq!(width("a\nb\r\n"), 2);
        assert_eq!(width("कि"), 2);
    }

    #[test]
    fn every_cluster_of_cleaned_text_is_as_wide_as_its_characters() {
        use unicode_width::UnicodeWidthChar;
        let risky = "🇺🇸 flag 🇺🇸🇺🇸 \u{2764}\u{FE0F} 👍\u{1F3FD} 👨\u{200D}👩 1\u{FE0F}\u{20E3} \u{FF76}\u{FF9E} \u{1F600}\u{FE0E} कि น้ำ";
        let shown = clean(risky);
        for g in shown.graphemes(true) {
            let added: usize = g.chars().map(|c| c.width().unwrap_or(0)).sum();
            assert_eq!(width(g), added, "{g:?}");
        }
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
        assert_eq!(clean(body), "one\ntwo \u{2764}\nthree\u{241B}");
        assert_eq!(clean_line(body), "one two \u{2764} three\u{241B}");
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
