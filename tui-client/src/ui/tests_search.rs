//! The search popup on screen: what it found (when, where, who, the text
//! with the words marked), searching, nothing found, and the empty popup
//! `Ctrl+F` opens; at a wide and a narrow size.

use classchat_common::ServerMessage;
use crossterm::event::KeyCode;
use ratatui::style::{Color, Modifier};

use crate::fixtures::search::*;
use crate::fixtures::*;

#[test]
fn the_search_popup_lists_each_message_found_with_when_where_who_and_the_words_marked() {
    let model = friday_search_open(90, 30);
    let shown = screen(&model);
    assert!(shown.contains("Search: friday · 4+ found"), "{shown}");
    assert!(
        row_of(&shown, "08:20")
            .contains("#cs101 carol: Reminder: assignment 2 is due Friday at noon."),
        "{shown}"
    );
    assert!(
        row_of(&shown, "Wed 12:00")
            .contains("carol  alice: see you fri 🎉 at the 学生会 café, friday 2pm"),
        "one line, wide characters and all: {shown}"
    );
    let late = row_of(&shown, "9 Nov");
    assert!(
        late.contains("erin   erin: …that matters: FRIDAY is the deadline"),
        "starts near the word found: {late}"
    );
    assert!(shown.contains("↓ more"), "{shown}");
    assert!(shown.contains("Enter go to it"), "{shown}");
    snapshot!(model);
}

#[test]
fn the_words_found_are_marked_in_the_theme_and_stay_marked_on_the_chosen_row() {
    let model = friday_search_open(90, 30);
    let terminal = draw(&model);
    let buffer = terminal.backend().buffer();
    let style_of = |row_part: &str, word: &str| {
        let shown = screen(&model);
        let y = shown.lines().position(|l| l.contains(row_part)).unwrap();
        let line = shown.lines().nth(y).unwrap();
        let x = line[..line.find(word).unwrap()].chars().count();
        buffer[(x as u16, y as u16)].style()
    };
    let chosen = style_of("assignment 2", "Friday");
    assert!(
        chosen.add_modifier.contains(Modifier::UNDERLINED),
        "{chosen:?}"
    );
    assert_eq!(chosen.bg, Some(Color::Blue), "on the highlight");
    let other = style_of("Is the quiz", "Friday");
    assert_eq!(other.fg, Some(Color::Yellow), "{other:?}");
    assert!(
        other
            .add_modifier
            .contains(Modifier::BOLD | Modifier::UNDERLINED)
    );
    let plain_text = style_of("Is the quiz", "quiz");
    assert!(!plain_text.add_modifier.contains(Modifier::UNDERLINED));
}

#[test]
fn at_fifty_columns_the_search_popup_cuts_each_row_at_its_edge() {
    let mut model = friday_search_open(50, 20);
    press(&mut model, plain(KeyCode::Down));
    let shown = screen(&model);
    assert!(shown.contains("Search: friday · 4+ found"), "{shown}");
    let row = row_of(&shown, "Fri 18:05");
    assert!(
        row.contains("erin   erin: Is the quiz on Friday or…"),
        "{row}"
    );
    assert!(
        shown.lines().last().unwrap().contains("connected"),
        "the status line stays in sight: {shown}"
    );
    snapshot!(model);
}

#[test]
fn ctrl_f_opens_an_empty_search_that_says_what_to_type() {
    let mut model = demo_model(50, 20);
    press(&mut model, ctrl('f'));
    let shown = screen(&model);
    assert!(shown.contains("Search"), "{shown}");
    assert!(shown.contains("Type words, then Enter"), "{shown}");
    assert!(shown.contains("Enter search"), "{shown}");
    snapshot!(model);
}

#[test]
fn while_searching_and_when_nothing_is_found_the_popup_says_so() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/search --in dave exam");
    let shown = screen(&model);
    assert!(shown.contains("Search dave: exam · searching…"), "{shown}");
    answer_search(&mut model, &fx, Vec::new(), None);
    let shown = screen(&model);
    assert!(
        shown.contains("nothing found for \"exam\" in dave"),
        "{shown}"
    );
}

#[test]
fn hostile_text_found_is_shown_inert() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/search pwn");
    let found = chat("bob", 2, "bob", at(0, 10, 26), HOSTILE);
    server(
        &mut model,
        ServerMessage::Search {
            req: search_asked(&fx).and_then(|m| m.req()),
            messages: vec![found],
            next: None,
        },
    );
    assert!(screen(&model).contains("bob: pwn"));
    assert_eq!(live_cells(&model), Vec::<String>::new());
}
