//! What the search popup shows and where: its box (the status line stays in
//! sight under it), how many results fit at once (what PgUp and PgDn move
//! by), its title, and each message found as one row: when, in which
//! conversation, from whom, and its text (one line, made safe) with the
//! searched words marked, starting a little before the first of them when
//! that would be cut off.

use std::ops::Range;

use chrono::FixedOffset;
use classchat_common::Timestamp;
use classchat_common::protocol::ChatMessage;
use ratatui::layout::Rect;
use unicode_segmentation::UnicodeSegmentation;

use super::inner;
use super::pins::when;
use super::popup::centered;
use crate::model::Search;
use crate::text::{self, width};

/// The popup's size at most.
const SIZE: (u16, u16) = (80, 22);

/// The widest the conversation column gets; longer names are cut.
const CONV_COLS: usize = 16;

/// Rows above the list: the field, and a blank row.
pub const HEAD_ROWS: u16 = 2;

/// Whether a row under the results says more are coming or can be asked for.
pub fn more_row(search: &Search) -> bool {
    !search.found.is_empty() && (search.waiting.is_some() || search.next.is_some())
}

/// The popup on a screen of `area`.
pub fn popup_box(area: Rect, search: &Search) -> Rect {
    // Two rows at least, for what it says while nothing is listed.
    let lines = search.found.len().max(2) + usize::from(more_row(search));
    let h = u16::try_from(lines)
        .unwrap_or(u16::MAX)
        .saturating_add(HEAD_ROWS + 2)
        .min(SIZE.1)
        .min(area.height.saturating_sub(2));
    centered(area, SIZE.0, h)
}

/// How many results show at once on a screen of `size`.
pub fn page(size: (u16, u16), search: &Search) -> usize {
    let boxed = inner(popup_box(Rect::new(0, 0, size.0, size.1), search));
    usize::from(boxed.height.saturating_sub(HEAD_ROWS))
        .saturating_sub(usize::from(more_row(search)))
        .max(1)
}

/// The title: the words and how many were found (`20+` while there are more).
pub fn title(search: &Search) -> String {
    let within = search
        .within
        .as_ref()
        .map(|c| format!(" {}", text::clean_line(&c.to_string())))
        .unwrap_or_default();
    let Some(words) = &search.words else {
        return format!("Search{within}");
    };
    let n = search.found.len();
    let count = match (n, &search.next) {
        (0, _) if search.waiting.is_some() => "searching…".to_owned(),
        (0, _) => "nothing found".to_owned(),
        (n, Some(_)) => format!("{n}+ found"),
        (n, None) => format!("{n} found"),
    };
    let words = text::clean_line(words.as_str());
    format!("Search{within}: {words} · {count}")
}

/// A message found, as its row shows it. The columns are padded to line up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub when: String,
    pub conv: String,
    pub from: String,
    /// The text in pieces; `true` marks a searched word (or its start).
    pub said: Vec<(String, bool)>,
}

/// The widths of the time and conversation columns over all the results,
/// so that they stay put as the list scrolls.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    when: usize,
    conv: usize,
}

impl Columns {
    pub fn of(found: &[ChatMessage], now: Timestamp, tz: FixedOffset) -> Self {
        let when_cols = found
            .iter()
            .map(|m| width(&when(m.ts, now, tz)))
            .max()
            .unwrap_or(0);
        let conv_cols = found
            .iter()
            .map(|m| width(&text::clean_line(&m.conv.to_string())))
            .max()
            .unwrap_or(0)
            .min(CONV_COLS);
        Self {
            when: when_cols,
            conv: conv_cols,
        }
    }
}

/// The row of `m` in `cols` columns, marking `terms` (lowercased words).
pub fn row(
    m: &ChatMessage,
    terms: &[String],
    columns: Columns,
    now: Timestamp,
    tz: FixedOffset,
    cols: usize,
) -> Row {
    let pad = |s: &str, w: usize| {
        let s = text::truncate(s, w);
        let gap = w.saturating_sub(width(&s));
        format!("{s}{} ", " ".repeat(gap))
    };
    let when = pad(&when(m.ts, now, tz), columns.when);
    let conv = pad(&text::clean_line(&m.conv.to_string()), columns.conv);
    let from = format!("{}: ", text::clean_line(m.from.as_str()));
    let left = cols.saturating_sub(width(&when) + width(&conv) + width(&from));
    Row {
        said: said(&m.body, terms, left),
        when,
        conv,
        from,
    }
}

/// `body` as one line made safe, in pieces with `terms` marked, starting
/// so that the first one marked shows in `cols` columns (after a `…`). The
/// view cuts the end.
pub fn said(body: &str, terms: &[String], cols: usize) -> Vec<(String, bool)> {
    let clean = text::clean_line(body);
    let line = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    let marks = marks(&line, terms);
    let start = marks
        .first()
        .map_or(0, |first| start_for(&line, first, cols));
    let mut pieces = Vec::new();
    if start > 0 {
        pieces.push(("…".to_owned(), false));
    }
    let mut at = start;
    for mark in marks.iter().filter(|m| m.start >= start) {
        if mark.start > at {
            pieces.push((line[at..mark.start].to_owned(), false));
        }
        pieces.push((line[mark.clone()].to_owned(), true));
        at = mark.end;
    }
    if at < line.len() {
        pieces.push((line[at..].to_owned(), false));
    }
    pieces
}

/// Where to start `line` so that `first` shows in `cols` columns: at the
/// start if it does, else at a word about a third of the width before it.
fn start_for(line: &str, first: &Range<usize>, cols: usize) -> usize {
    // One column for the `…` the view cuts the end with.
    if width(&line[..first.end]) < cols {
        return 0;
    }
    let lead = cols / 3;
    let mut start = first.start;
    let mut used = 0;
    for (i, g) in line[..first.start].grapheme_indices(true).rev() {
        used += width(g);
        if used > lead {
            break;
        }
        start = i;
    }
    // From the start of a word, when one begins in between.
    match line[start..first.start].find(' ') {
        Some(space) => start + space + 1,
        None => start,
    }
}

/// The parts of `line` to mark: of each word (a run of letters and
/// digits) that begins with one of `terms`, that beginning (the longest
/// term's), whatever the case. In byte offsets, in order, never splitting a
/// grapheme cluster.
pub fn marks(line: &str, terms: &[String]) -> Vec<Range<usize>> {
    let boundaries: Vec<usize> = line
        .grapheme_indices(true)
        .map(|(i, _)| i)
        .chain(std::iter::once(line.len()))
        .collect();
    let snap_up = |at: usize| {
        boundaries
            .iter()
            .copied()
            .find(|&b| b >= at)
            .unwrap_or(line.len())
    };
    let mut found: Vec<Range<usize>> = Vec::new();
    for (start, word) in words(line) {
        let lower = word.to_lowercase();
        let Some(term) = terms
            .iter()
            .filter(|t| !t.is_empty() && lower.starts_with(t.as_str()))
            .max_by_key(|t| t.len())
        else {
            continue;
        };
        // The shortest beginning of the word whose lowercase holds the term.
        let mut lowered = String::new();
        let mut end = word.len();
        for (i, c) in word.char_indices() {
            lowered.extend(c.to_lowercase());
            if lowered.len() >= term.len() {
                end = i + c.len_utf8();
                break;
            }
        }
        found.push(start..snap_up(start + end));
    }
    found
}

/// Each run of letters and digits in `line`, with where it starts.
fn words(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = line.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = rest.by_ref().find(|(_, c)| c.is_alphanumeric())?;
        let mut end = line.len();
        while let Some(&(i, c)) = rest.peek() {
            if !c.is_alphanumeric() {
                end = i;
                break;
            }
            rest.next();
        }
        Some((start, &line[start..end]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(words: &[&str]) -> Vec<String> {
        words.iter().map(ToString::to_string).collect()
    }

    fn marked(line: &str, words: &[&str]) -> Vec<String> {
        marks(line, &terms(words))
            .into_iter()
            .map(|r| line[r].to_owned())
            .collect()
    }

    #[test]
    fn the_beginning_of_each_word_searched_for_is_marked_whatever_the_case() {
        assert_eq!(
            marked(
                "The EXAM is on Friday, not in the hexameter exam-fri",
                &["exam", "fri"]
            ),
            ["EXAM", "Fri", "exam", "fri"]
        );
        assert_eq!(marked("fried friday", &["fri", "frida"]), ["fri", "frida"]);
        assert_eq!(marked("Ünïcode ÜNÏ", &["ünï"]), ["Ünï", "ÜNÏ"]);
        assert!(marked("nothing here", &["exam"]).is_empty());
    }

    #[test]
    fn a_mark_never_splits_a_character_drawn_as_one() {
        // `e` and a combining acute accent: one cluster, the accent no letter.
        assert_eq!(marked("cafe\u{301} au lait", &["cafe"]), ["cafe\u{301}"]);
    }

    #[test]
    fn the_text_starts_before_the_first_word_found_when_that_would_be_cut_off() {
        let body =
            "Long preamble about nothing much at all, and then finally the exam is on Friday";
        let pieces = said(body, &terms(&["exam"]), 30);
        assert_eq!(pieces[0], ("…".to_owned(), false));
        let shown: String = pieces.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(shown, "…the exam is on Friday", "from a word before it");
        assert!(pieces.contains(&("exam".to_owned(), true)), "{pieces:?}");
        let whole = said("the exam\nis on\n\nFriday", &terms(&["exam"]), 30);
        assert_eq!(
            whole,
            [
                ("the ".to_owned(), false),
                ("exam".to_owned(), true),
                (" is on Friday".to_owned(), false)
            ],
            "one line, from its start"
        );
    }
}
