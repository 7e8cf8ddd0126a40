//! The rows counted here against the rows the text area draws, for drafts of
//! words, spaces, tabs, wide and combining characters, long words and
//! newlines, in every wrap mode and at many widths.

use proptest::prelude::*;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use ratatui_textarea::{CursorMove, DataCursor, TextArea, WrapMode};

use super::*;

fn area(text: &str, mode: WrapMode) -> TextArea<'static> {
    let mut area = TextArea::new(text.split('\n').map(str::to_owned).collect());
    area.set_wrap_mode(mode);
    area
}

/// Draws `area` `width` columns wide and tall enough for every row; the rows
/// it made, and the row the cursor is on.
fn drawn(area: &mut TextArea<'static>, width: u16) -> (usize, usize) {
    let rect = Rect::new(0, 0, width, 400);
    area.render(rect, &mut Buffer::empty(rect));
    let cursor = area.cursor();
    let last = area.lines().len() - 1;
    let end = area.lines()[last].chars().count();
    area.move_cursor(CursorMove::Jump(last as u16, end as u16));
    let rows = area.screen_cursor().row + 1;
    area.move_cursor(CursorMove::Jump(cursor.0 as u16, cursor.1 as u16));
    (rows, area.screen_cursor().row)
}

fn draft() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z]{1,9}",
        "[a-z]{15,40}",
        Just(" ".to_owned()),
        Just("  ".to_owned()),
        Just("\t".to_owned()),
        Just("\n".to_owned()),
        Just(", ".to_owned()),
        Just("-".to_owned()),
        "[漢字かな👍🎉]{1,6}",
        Just("e\u{301}".to_owned()),
        Just("\u{7}".to_owned()),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|p| p.concat())
}

fn mode() -> impl Strategy<Value = WrapMode> {
    prop_oneof![
        Just(WrapMode::WordOrGlyph),
        Just(WrapMode::Word),
        Just(WrapMode::Glyph),
        Just(WrapMode::None),
    ]
}

proptest! {
    #[test]
    fn the_rows_counted_are_the_rows_drawn(
        text in draft(),
        mode in mode(),
        width in 1u16..30,
        at in any::<prop::sample::Index>(),
    ) {
        let mut area = area(&text, mode);
        // Somewhere in the draft: a line, and a place in it.
        let line = at.index(area.lines().len());
        let col = at.index(area.lines()[line].chars().count() + 1);
        area.move_cursor(CursorMove::Jump(line as u16, col as u16));
        prop_assert_eq!(area.cursor(), DataCursor(line, col));

        let counted = rows_and_cursor(&area, width);
        prop_assert_eq!(counted, drawn(&mut area, width));
        prop_assert_eq!(rows(&area, width, 5), counted.0.min(5));
    }
}

#[test]
fn a_long_line_takes_the_rows_it_wraps_into_up_to_the_limit() {
    let area = area(&"word ".repeat(40), WrapMode::WordOrGlyph);
    assert_eq!(rows(&area, 20, 100), 10);
    assert_eq!(rows(&area, 20, 5), 5);
    assert_eq!(rows(&area, 200, 5), 1);
    assert_eq!(rows(&TextArea::default(), 20, 5), 1);
}

#[test]
fn the_cursor_at_the_end_of_a_wrapped_line_is_on_its_last_row() {
    let mut area = area("abcdefghij", WrapMode::WordOrGlyph);
    area.move_cursor(CursorMove::End);
    assert_eq!(rows_and_cursor(&area, 4), (3, 2));
    area.move_cursor(CursorMove::Jump(0, 4));
    assert_eq!(
        rows_and_cursor(&area, 4),
        (3, 1),
        "between rows: the second"
    );
}

#[test]
fn a_draft_scrolled_past_its_end_is_pulled_down_to_fill_the_input() {
    let mut area = area(&"x".repeat(100), WrapMode::WordOrGlyph);
    area.move_cursor(CursorMove::End);
    let rect = Rect::new(0, 0, 10, 5);
    area.render(rect, &mut Buffer::empty(rect));
    assert_eq!(area.scroll_offset().0, 5, "rows 5 to 9 of 10 show");
    assert_eq!(rows_to_pull_down(&area, 10, 5), 0);
    // Thirty characters fewer: three rows fewer, and the cursor on the last.
    for _ in 0..30 {
        area.delete_char();
    }
    assert_eq!(rows_to_pull_down(&area, 10, 5), 3);
    // The cursor above the rows shown: the text area scrolls up to it anyway.
    area.move_cursor(CursorMove::Jump(0, 0));
    assert_eq!(rows_to_pull_down(&area, 10, 5), 0);
}
