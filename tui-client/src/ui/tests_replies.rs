//! Replies, edits and deletions on screen: a quote line above a reply (its
//! quote following an edit, or saying the message was deleted), `(edited)`
//! after an edited message, a tombstone for a deleted one, and the input in
//! reply mode; each at a wide and a narrow size.

use crossterm::event::KeyCode;
use ratatui::style::Modifier;

use crate::fixtures::replies::*;
use crate::fixtures::*;

#[test]
fn a_thread_shows_quotes_over_replies_edited_messages_and_a_tombstone() {
    let model = thread_open(90, 30);
    let shown = screen(&model);
    assert!(
        row_of(&shown, "new building? (edited)").ends_with("● 2/3│"),
        "{shown}"
    );
    assert!(
        row_of(&shown, "↳ alice: Is the lab in B12")
            .contains("09:15 carol: ↳ alice: Is the lab in B12 this week too, or in"),
        "the quote says what the question says now: {shown}"
    );
    assert!(
        row_of(&shown, "bob: message deleted").contains("09:20"),
        "{shown}"
    );
    assert!(
        shown.contains("09:22 dave: ↳ bob: message deleted"),
        "{shown}"
    );
    assert!(
        shown.contains("10:02 bob: ↳ carol: Welcome to CS101! Labs are in room C7 now."),
        "bob's quote follows carol's edit: {shown}"
    );
    assert!(
        !shown.contains("oops"),
        "nothing of the deleted message: {shown}"
    );
    snapshot!(model);
}

#[test]
fn at_fifty_columns_quotes_are_cut_to_one_line_and_the_tombstone_stays_whole() {
    let model = thread_open(50, 20);
    let shown = screen(&model);
    let quote = row_of(&shown, "↳ carol: Welcome");
    assert!(quote.contains('…'), "cut at the edge: {quote}");
    assert!(shown.contains("bob: message deleted"), "{shown}");
    snapshot!(model);
}

#[test]
fn the_tombstone_is_dim_italic_and_the_quote_dim() {
    let model = thread_open(90, 30);
    let terminal = draw(&model);
    let buffer = terminal.backend().buffer();
    let shown = screen(&model);
    let style_at = |part: &str| {
        let (y, line) = shown
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(part))
            .expect("on screen");
        let x = line[..line.find(part).expect("in the line")]
            .chars()
            .count();
        buffer[(x as u16, y as u16)].style()
    };
    let theme = crate::theme::Theme::new(true);
    let tombstone = style_at("message deleted");
    assert!(
        tombstone.add_modifier.contains(Modifier::ITALIC),
        "{tombstone:?}"
    );
    assert_eq!(tombstone.fg, theme.tombstone.fg);
    assert_eq!(style_at("↳ carol").fg, theme.quote.fg);
    assert_eq!(style_at("(edited)").fg, theme.hint.fg);
}

#[test]
fn replying_says_to_whom_on_the_input_and_the_hint_says_how_to_cancel() {
    let model = answering_bob(90, 30);
    let shown = screen(&model);
    assert!(
        shown.contains("┌ Replying to bob: Which building is B12 in? "),
        "{shown}"
    );
    assert!(
        shown.contains("Enter send the reply · Esc cancel the reply"),
        "{shown}"
    );
    snapshot!(model);
}

#[test]
fn at_fifty_columns_the_reply_mode_still_says_to_whom_and_how_to_cancel() {
    let model = answering_bob(50, 20);
    let shown = screen(&model);
    assert!(
        shown.contains("┌ Replying to bob: Which building is B12 in? ─"),
        "{shown}"
    );
    assert!(
        shown.contains("Enter send the reply · Esc cancel the reply"),
        "{shown}"
    );
    snapshot!(model);
}

#[test]
fn a_selected_edited_message_says_when_it_was_edited_and_what_keys_do() {
    let mut model = thread_open(90, 30);
    // carol's welcome, which she edited at 10:05.
    press(&mut model, alt(KeyCode::Up));
    for _ in 0..5 {
        press(&mut model, plain(KeyCode::Up));
    }
    let hint = |model: &crate::model::Model| {
        let shown = screen(model);
        shown.lines().nth_back(1).unwrap_or_default().to_owned()
    };
    assert!(
        hint(&model).starts_with("└ edited 10:05 · ↑↓ move · r reply · + react · Esc back ─"),
        "{}",
        hint(&model)
    );
    // dave's reply to bob's deleted message.
    for _ in 0..4 {
        press(&mut model, plain(KeyCode::Down));
    }
    assert!(
        hint(&model).starts_with("└ ↑↓ move · r reply · + react · g go to the quote · Esc back ─"),
        "{}",
        hint(&model)
    );
}

#[test]
fn deleting_a_message_asks_first_naming_it() {
    let mut model = thread_open(90, 30);
    // alice's own question, edited.
    press(&mut model, alt(KeyCode::Up));
    for _ in 0..4 {
        press(&mut model, plain(KeyCode::Up));
    }
    press(&mut model, plain(KeyCode::Char('d')));
    let shown = screen(&model);
    assert!(
        shown.contains("Delete this message for everyone?"),
        "{shown}"
    );
    assert!(
        shown.contains("“Is the lab in B12 this week too, or in…” from alice"),
        "{shown}"
    );
    assert!(shown.contains("y delete it · n/Esc keep it"), "{shown}");
    snapshot!(model);
}
