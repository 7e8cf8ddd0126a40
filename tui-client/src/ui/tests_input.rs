//! The input bar as tall as its draft's wrapped rows, a long draft scrolled to
//! its cursor, and the rows an error takes above the input; drawn from the demo
//! model driven through `update`.

use crossterm::event::KeyCode;
use ratatui::style::Modifier;

use crate::fixtures::*;
use crate::layout;
use crate::model::Model;

/// The input bar's rows between its borders, as drawn.
fn input_rows(model: &Model) -> Vec<String> {
    let area = layout::inner(layout::model_areas(model).input);
    screen(model)
        .lines()
        .skip(usize::from(area.y))
        .take(usize::from(area.height))
        .map(|row| row.chars().skip(1).take(usize::from(area.width)).collect())
        .collect()
}

/// The demo at 50 columns with a draft of nine thousand bytes on one line,
/// refused on Enter for being over the limit.
fn refused_long_draft() -> Model {
    let mut model = demo_model(50, 20);
    press(&mut model, burst(&numbered(9000)));
    press(&mut model, plain(KeyCode::Enter));
    assert!(model.notice.as_ref().is_some_and(|n| n.error));
    model
}

#[test]
fn a_long_line_grows_the_input_bar_by_the_rows_it_wraps_into() {
    let mut model = demo_model(50, 20);
    type_text(
        &mut model,
        "could someone send me the notes from Thursday's lab? I missed the second half",
    );
    let rows = input_rows(&model);
    assert_eq!(rows.len(), 2, "{rows:?}");
    snapshot!(model);
}

#[test]
fn a_refused_nine_thousand_byte_draft_shows_its_last_five_rows_and_the_cursor_at_the_end() {
    let model = refused_long_draft();
    let rows = input_rows(&model);
    assert_eq!(rows.len(), usize::from(layout::INPUT_MAX_LINES));
    let draft = numbered(9000);
    let last_word = draft.split(' ').next_back().unwrap_or_default();
    assert!(
        rows.last()
            .is_some_and(|r| r.trim_end().ends_with(last_word)),
        "the end of the draft shows: {rows:?}"
    );
    snapshot!(model);
}

#[test]
fn shortening_a_long_draft_from_its_end_keeps_the_input_bar_full() {
    let mut model = refused_long_draft();
    draw(&model);
    // Two and a half rows of it, one key at a time, drawing as the app does.
    for _ in 0..115 {
        press(&mut model, plain(KeyCode::Backspace));
        draw(&model);
    }
    let rows = input_rows(&model);
    assert!(
        rows.iter().all(|r| !r.trim().is_empty()),
        "no empty rows under the draft: {rows:?}"
    );
    snapshot!(model);
}

#[test]
fn the_cursor_shows_when_the_draft_fills_its_row_exactly() {
    let mut model = demo_model(50, 20);
    // Forty-eight columns: the input bar's inside, to the last cell.
    type_text(
        &mut model,
        "see you in the lab at eleven, bring the sheets ok",
    );
    press(&mut model, plain(KeyCode::Backspace));
    let area = layout::inner(layout::model_areas(&model).input);
    let terminal = draw(&model);
    let buffer = terminal.backend().buffer();
    let cursor: Vec<(u16, u16)> = (area.top()..area.bottom())
        .flat_map(|y| (area.left()..area.right()).map(move |x| (x, y)))
        .filter(|&(x, y)| buffer[(x, y)].modifier.contains(Modifier::REVERSED))
        .collect();
    assert_eq!(
        input_rows(&model),
        ["see you in the lab at eleven, bring the sheets o"]
    );
    assert_eq!(
        cursor,
        [(area.right() - 1, area.top())],
        "on the row's last cell"
    );
}

#[test]
fn a_key_on_a_nine_thousand_character_draft_goes_through_update_and_view_once() {
    // Update and the view each go over the draft a few times, never once per
    // row or per character; time it with `cargo test --release a_key_on_a_nine`.
    let mut model = demo_model(50, 20);
    press(&mut model, burst(&"x".repeat(9000)));
    draw(&model);
    press(&mut model, plain(KeyCode::Char('y')));
    let rows = input_rows(&model);
    assert_eq!(rows.len(), usize::from(layout::INPUT_MAX_LINES));
    assert!(
        rows.last().is_some_and(|r| r.trim_end().ends_with("xy")),
        "{rows:?}"
    );
}

#[test]
fn page_up_with_an_error_above_the_input_keeps_two_rows_of_the_page_drawn_before() {
    let mut model = demo_model(50, 20);
    kick_refused(&mut model);
    press(&mut model, plain(KeyCode::PageUp));
    snapshot!(model);
}
