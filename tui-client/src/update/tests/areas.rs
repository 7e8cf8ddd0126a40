//! Update and the view count the same rows: with an error on rows above the
//! input, and with a draft wrapped over several rows, what `update` takes to
//! be on screen (for paging, read-marking and loading older history) is what
//! is drawn.

use crossterm::event::KeyCode;

use super::*;
use crate::layout::{self, Ctx};
use crate::theme::Theme;

/// The lines `update` takes to be in the message pane: the layout's visible
/// lines for the pane `model_areas` gives, as text.
fn lines_update_sees(model: &Model) -> Vec<String> {
    let theme = Theme::new(model.look.color);
    let area = layout::model_areas(model).message_lines();
    let conv = model.current().expect("a conversation is open");
    let ctx = Ctx::new(model, &theme, &conv.conv, area.width);
    layout::visible(conv, &ctx, usize::from(area.height), None)
        .lines
        .iter()
        .map(|l| l.to_string().trim_end().to_owned())
        .collect()
}

/// The rows inside the message pane's border, as drawn. The pane is found on
/// the screen by its corners, not by asking the layout.
fn rows_drawn(model: &Model) -> Vec<String> {
    let shown = screen(model);
    let rows: Vec<&str> = shown.lines().collect();
    let top = rows.iter().position(|r| r.starts_with('┌'));
    let bottom = rows.iter().position(|r| r.starts_with('└'));
    let (Some(top), Some(bottom)) = (top, bottom) else {
        panic!("no message pane on screen:\n{shown}");
    };
    rows[top + 1..bottom]
        .iter()
        .map(|r| {
            let inside: String = r.chars().skip(1).collect();
            inside.trim_end_matches([' ', '│']).to_owned()
        })
        .collect()
}

/// More than a screen of #cs101 at 50 columns, with an error too long for the
/// status line: it takes two rows above the input.
fn long_cs101_with_an_error() -> Model {
    let mut model = long_cs101(50, 20);
    kick_refused(&mut model);
    let shown = screen(&model);
    assert!(
        shown.contains(" only the owner of #cs101 (carol) can remove"),
        "{shown}"
    );
    model
}

#[test]
fn with_an_error_above_the_input_update_sees_the_lines_that_are_drawn() {
    let mut model = long_cs101_with_an_error();
    assert_eq!(lines_update_sees(&model), rows_drawn(&model));
    press(&mut model, plain(KeyCode::PageUp));
    assert_eq!(lines_update_sees(&model), rows_drawn(&model));
}

#[test]
fn with_an_error_above_the_input_page_up_pages_by_the_rows_drawn() {
    let mut model = long_cs101_with_an_error();
    let before = rows_drawn(&model);
    press(&mut model, plain(KeyCode::PageUp));
    let after = rows_drawn(&model);
    // A page keeps two rows of the one before: its top two, now at the bottom.
    let kept = after.len() - 2;
    assert_eq!(after[kept..], before[..2], "{before:#?}\n{after:#?}");
}

#[test]
fn with_a_draft_wrapped_over_three_rows_update_sees_the_lines_that_are_drawn() {
    let mut model = long_cs101(50, 20);
    type_text(
        &mut model,
        "could someone send me the notes from Thursday's lab? I missed the second half of it, \
         and the lab sheet too",
    );
    assert_eq!(layout::model_areas(&model).input.height, 3 + 2);
    assert_eq!(lines_update_sees(&model), rows_drawn(&model));
}

#[test]
fn an_error_with_no_room_above_the_input_stays_in_the_status_line() {
    // Five rows of the message pane must remain: nine rows leave no room.
    let mut model = demo_model(50, 9);
    kick_refused(&mut model);
    assert_eq!(layout::model_areas(&model).error, None);
    assert_eq!(lines_update_sees(&model), rows_drawn(&model));
}
