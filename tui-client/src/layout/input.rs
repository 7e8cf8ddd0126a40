//! How many rows the input bar's draft takes, and which of them the cursor is on.
//!
//! The text area (ratatui-textarea) wraps the draft itself when it draws it,
//! but only tells how many rows that made after it has been drawn, at the width
//! it was drawn at. The input bar's height has to be known before that, by
//! `update` as much as by the view, so the rows are counted here, the way the
//! text area breaks them (`wrap.rs` in ratatui-textarea 0.9): at word
//! boundaries, a word wider than the row split between grapheme clusters, tabs
//! to the next multiple of the tab length, control characters taking no room.
//! `tests` check the count against what the text area draws.

use std::ops::ControlFlow;

use ratatui::buffer::CellWidth;
use ratatui_textarea::{DataCursor, TextArea, WrapMode};
use unicode_segmentation::UnicodeSegmentation;

/// The rows `input` takes at `width` columns, counted up to `limit` (what the
/// input bar can show): a long draft is not counted to its end.
pub fn rows(input: &TextArea<'_>, width: u16, limit: usize) -> usize {
    let limit = limit.max(1);
    let mut rows = 0;
    for line in input.lines() {
        let _ = each_row(input, line, width, |_, _| {
            rows += 1;
            if rows >= limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        if rows >= limit {
            return limit;
        }
    }
    rows.max(1)
}

/// All the rows `input` takes at `width` columns, and the one its cursor is on
/// (counted from 0). This goes through the whole draft: `update` asks for it
/// only while the text area is scrolled down.
pub fn rows_and_cursor(input: &TextArea<'_>, width: u16) -> (usize, usize) {
    let DataCursor(cursor_line, cursor_col) = input.cursor();
    let mut rows = 0;
    let mut cursor = None;
    for (n, line) in input.lines().iter().enumerate() {
        let first = rows;
        let mut chars_before = 0;
        let _ = each_row(input, line, width, |part, last| {
            // A cursor between two rows of a line is at the start of the second.
            let chars = part.chars().count();
            let end = chars_before + chars;
            let on_it =
                chars_before <= cursor_col && (cursor_col < end || (last && cursor_col == end));
            if n == cursor_line && on_it && cursor.is_none() {
                cursor = Some(rows);
            }
            chars_before = end;
            rows += 1;
            ControlFlow::<()>::Continue(())
        });
        if n == cursor_line && cursor.is_none() {
            cursor = Some(first);
        }
    }
    (rows.max(1), cursor.unwrap_or(0))
}

/// How many rows further up the text area showing `input` must start, with
/// `width` columns and at most `most` rows (the input bar's inside), so that it
/// shows no empty rows below the draft while rows of it are hidden above; 0
/// when it need not. The text area only scrolls to keep the cursor in view, so
/// after the draft shrinks (say, deleting from the end of a long one) it would
/// show a row or two of text and empty rows under them.
pub fn rows_to_pull_down(input: &TextArea<'_>, width: u16, most: u16) -> usize {
    let top = usize::from(input.scroll_offset().0);
    if top == 0 {
        return 0;
    }
    let (rows, cursor) = rows_and_cursor(input, width);
    let height = rows.min(usize::from(most)).max(1);
    // Where the text area would start: it moves only as far as it must to
    // keep the cursor in view (`next_scroll_top` in ratatui-textarea).
    let next = if cursor < top {
        cursor
    } else if top + height <= cursor {
        cursor + 1 - height
    } else {
        top
    };
    if next + height <= rows {
        return 0;
    }
    // Then it starts below `rows - height` (the cursor is under it), and
    // starting there instead shows the last rows whole.
    top + height - rows
}

/// Calls `row` with each row `line` breaks into at `width` columns, and
/// whether it is the line's last; stops when `row` says so.
fn each_row(
    input: &TextArea<'_>,
    line: &str,
    width: u16,
    mut row: impl FnMut(&str, bool) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mode = input.wrap_mode();
    // The text area does not wrap into no room at all.
    if mode == WrapMode::None || width == 0 {
        return row(line, true);
    }
    let measure = Measure {
        width: usize::from(width),
        tab: usize::from(input.tab_length()),
        mask: input.mask_char(),
    };
    // Rows are only known to be a line's last when the line is done, so each
    // is handed on once the next one has been found.
    let mut pending: Option<(usize, usize)> = None;
    let mut emit = |start: usize, end: usize| match pending.replace((start, end)) {
        Some((s, e)) => row(&line[s..e], false),
        None => ControlFlow::Continue(()),
    };
    match mode {
        WrapMode::Glyph => measure.split(line, 0, line.len(), &mut emit)?,
        _ => measure.by_words(line, mode == WrapMode::WordOrGlyph, &mut emit)?,
    }
    match pending {
        Some((s, e)) => row(&line[s..e], true),
        None => row("", true),
    }
}

/// What a row holds: its width, and how tabs and a mask change what a
/// character takes.
struct Measure {
    width: usize,
    tab: usize,
    mask: Option<char>,
}

impl Measure {
    /// Columns taken by `c` drawn at column `col` of its row.
    fn char_width(&self, c: char, col: usize) -> usize {
        match (self.mask, c) {
            (Some(mask), _) => drawn_width(mask),
            (None, '\t') if self.tab > 0 => self.tab - col % self.tab,
            (None, '\t') => 0,
            (None, c) => drawn_width(c),
        }
    }

    /// Columns taken by `text` drawn from column `col` on.
    fn width_from(&self, text: &str, col: usize) -> usize {
        text.chars()
            .fold(col, |at, c| at + self.char_width(c, at))
            .saturating_sub(col)
    }

    /// Rows at word boundaries; a word wider than a row is split between
    /// grapheme clusters when `split_long`, and left whole otherwise.
    fn by_words(
        &self,
        line: &str,
        split_long: bool,
        emit: &mut impl FnMut(usize, usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut words = line.split_word_bound_indices().peekable();
        let (mut start, mut end, mut used) = (0, 0, 0);
        while let Some(&(at, word)) = words.peek() {
            if end == start {
                start = at;
            }
            let w = self.width_from(word, used);
            if used + w <= self.width {
                end = at + word.len();
                used += w;
                words.next();
                continue;
            }
            if end > start {
                emit(start, end)?;
                start = end;
                used = 0;
                continue;
            }
            if split_long {
                self.split(line, at, at + word.len(), emit)?;
            } else {
                emit(at, at + word.len())?;
            }
            words.next();
            start = at + word.len();
            end = start;
            used = 0;
        }
        if end > start {
            emit(start, end)?;
        }
        ControlFlow::Continue(())
    }

    /// Rows of `line[start..end]` split between grapheme clusters.
    fn split(
        &self,
        line: &str,
        start: usize,
        end: usize,
        emit: &mut impl FnMut(usize, usize) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut from = start;
        while from < end {
            let (mut to, mut used) = (from, 0);
            for (offset, g) in line[from..end].grapheme_indices(true) {
                let w = self.width_from(g, used);
                if to != from && used + w > self.width {
                    break;
                }
                to = from + offset + g.len();
                used += w;
                if used > self.width {
                    break;
                }
            }
            emit(from, to)?;
            from = to;
        }
        ControlFlow::Continue(())
    }
}

/// Columns ratatui draws `c` in; control characters are not drawn.
fn drawn_width(c: char) -> usize {
    if c.is_control() {
        0
    } else {
        usize::from(c.encode_utf8(&mut [0; 4]).cell_width())
    }
}

#[cfg(test)]
mod tests;
