//! Pinned messages on screen: the marker in a group's title (and its ASCII
//! form), and the `/pins` popup with a message loaded, one fetched, and one
//! deleted since it was pinned; each at a wide and a narrow size.

use crossterm::event::KeyCode;

use crate::fixtures::pins::*;
use crate::fixtures::*;

#[test]
fn a_group_with_pinned_messages_counts_them_in_its_title() {
    let model = lab_pinned(90, 30);
    let shown = screen(&model);
    assert!(
        shown.contains("#lab · 📌 3 · 4 members · owner alice"),
        "{shown}"
    );
    assert!(
        shown.contains("alice pinned a message in #lab"),
        "the event is a line of the conversation: {shown}"
    );
    snapshot!(model);
}

#[test]
fn at_forty_columns_the_title_drops_the_owner_first_and_keeps_the_pins() {
    let model = lab_pinned(40, 20);
    let title = row_of(&screen(&model), "#lab");
    assert!(title.contains("#lab · 📌 3 · 4 members "), "{title}");
    assert!(!title.contains("owner"), "the owner goes first: {title}");
    snapshot!(model);
}

#[test]
fn in_ascii_the_title_says_pins_in_words() {
    let mut model = lab_pinned(90, 30);
    model.look.ascii = true;
    let shown = screen(&model);
    assert!(shown.contains("#lab · pins: 3 · 4 members"), "{shown}");
    assert!(!shown.contains('📌'), "{shown}");
}

#[test]
fn the_pins_popup_lists_each_pinned_message_with_who_when_and_how_it_begins() {
    let model = lab_pins_open(90, 30);
    let shown = screen(&model);
    assert!(shown.contains("Pinned in #lab · 3"), "{shown}");
    assert!(
        row_of(&shown, "Wed 14:00").contains("alice: Lab rules: safety glasses on, always …"),
        "the first line, and that more follows: {shown}"
    );
    assert!(
        row_of(&shown, "Fri 16:00").contains("bob: message deleted"),
        "{shown}"
    );
    assert!(
        row_of(&shown, "09:10    ").contains("alice: Yes: bring the breadboard"),
        "today's, loaded with the page: {shown}"
    );
    assert!(shown.contains("Enter go to it · Esc close"), "{shown}");
    snapshot!(model);
}

#[test]
fn at_fifty_columns_the_pins_popup_cuts_each_row_at_its_edge() {
    let mut model = lab_pins_open(50, 20);
    press(&mut model, plain(KeyCode::Down));
    let shown = screen(&model);
    let row = row_of(&shown, "Fri 16:00");
    assert!(row.contains("bob: message deleted"), "{shown}");
    let rules = row_of(&shown, "Wed 14:00");
    assert!(rules.contains('…'), "cut at the edge: {rules}");
    snapshot!(model);
}
