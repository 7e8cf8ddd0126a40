//! Reactions on screen: the line under a message (kinds you gave in a style
//! of their own, wrapping on a narrow terminal), the picker, and who reacted;
//! each at a wide and a narrow size.

use crossterm::event::KeyCode;
use ratatui::style::Modifier;

use crate::fixtures::reactions::*;
use crate::fixtures::*;

/// The `n` rows of the screen under the one that holds `part`.
fn rows_under(shown: &str, part: &str, n: usize) -> Vec<String> {
    let mut rows = shown.lines().skip_while(|l| !l.contains(part));
    assert!(rows.next().is_some(), "{part:?} is on screen:\n{shown}");
    rows.take(n).map(str::to_owned).collect()
}

#[test]
fn reactions_show_under_each_message_with_how_many_gave_each_kind() {
    let model = reactions_open(90, 30);
    let shown = screen(&model);
    let under = rows_under(&shown, "carol: The exam moved to Friday", 1);
    assert!(under[0].contains("│      👍 3  😮 1 "), "{shown}");
    let under = rows_under(&shown, "alice: Can we bring notes?", 1);
    assert!(under[0].contains("│      👍 1 "), "{shown}");
    let under = rows_under(&shown, "bob: I'll bring snacks", 1);
    assert!(
        under[0].contains("│      🎉 3  🍕 1  😂 1  🙌 1  👀 1  🔥 1  💯 1  🥳 1 "),
        "erin's live 🎉 counts: {shown}"
    );
    snapshot!(model);
}

#[test]
fn at_fifty_columns_the_kinds_wrap_onto_a_second_line_under_the_message() {
    let model = reactions_open(50, 20);
    let shown = screen(&model);
    let under = rows_under(&shown, "bob: I'll bring snacks", 2);
    assert!(under[0].contains("│      🎉 3  🍕 1  😂 1"), "{shown}");
    assert!(under[1].starts_with("│      🥳 1 "), "{shown}");
    snapshot!(model);
}

#[test]
fn the_kinds_you_gave_are_bold_and_in_their_own_colour() {
    let model = reactions_open(90, 30);
    let terminal = draw(&model);
    let buffer = terminal.backend().buffer();
    let shown = screen(&model);
    let theme = crate::theme::Theme::new(true);
    let style_at = |part: &str| {
        let (y, line) = shown
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(part))
            .expect("on screen");
        let x = crate::text::width(&line[..line.find(part).expect("in the line")]);
        buffer[(x as u16, y as u16)].style()
    };
    let mine = style_at("👍 3");
    assert!(mine.add_modifier.contains(Modifier::BOLD), "{mine:?}");
    assert_eq!(mine.fg, theme.reaction_mine.fg);
    let theirs = style_at("😮 1");
    assert!(!theirs.add_modifier.contains(Modifier::BOLD), "{theirs:?}");
    assert_eq!(theirs.fg, theme.reaction.fg);
}

#[test]
fn the_picker_numbers_the_usual_reactions_and_says_which_you_gave() {
    let model = picking_for_the_news(90, 30);
    let shown = screen(&model);
    assert!(
        shown.contains("React to carol: “The exam move…”"),
        "{shown}"
    );
    assert!(shown.contains(" 1  👍  3 · you"), "{shown}");
    assert!(shown.contains(" 5  😮  1"), "{shown}");
    assert!(shown.contains(" 8  ✅"), "{shown}");
    assert!(shown.contains("1–8 pick · Esc close"), "{shown}");
    snapshot!(model);
}

#[test]
fn at_fifty_columns_the_picker_still_fits_with_its_keys() {
    let model = picking_for_the_news(50, 20);
    let shown = screen(&model);
    assert!(shown.contains(" 1  👍  3 · you"), "{shown}");
    assert!(shown.contains("1–8 pick"), "{shown}");
    snapshot!(model);
}

#[test]
fn w_lists_who_gave_each_kind_you_among_them() {
    let mut model = reactions_open(90, 30);
    press(&mut model, alt(KeyCode::Up));
    for _ in 0..2 {
        press(&mut model, plain(KeyCode::Up));
    }
    press(&mut model, plain(KeyCode::Char('w')));
    let shown = screen(&model);
    assert!(
        shown.contains("Reactions to “The exam moved to Friday, same room.”"),
        "{shown}"
    );
    assert!(shown.contains("👍 3  bob, you, dave"), "{shown}");
    assert!(shown.contains("😮 1  bob"), "{shown}");
    snapshot!(model);
}

#[test]
fn a_hostile_reaction_is_shown_inert_under_the_message_in_the_picker_and_in_who_reacted() {
    let mut model = reactions_open(90, 30);
    server(
        &mut model,
        classchat_common::ServerMessage::Message(react_line(
            "#cs101",
            7,
            "mallory",
            now(),
            4,
            HOSTILE,
        )),
    );
    assert_eq!(live_cells(&model), Vec::<String>::new());
    press(&mut model, alt(KeyCode::Up));
    press(
        &mut model,
        key(KeyCode::Char('+'), crossterm::event::KeyModifiers::SHIFT),
    );
    // Down to the last kind, the hostile one.
    for _ in 0..20 {
        press(&mut model, plain(KeyCode::Down));
    }
    assert!(screen(&model).contains("pwn"), "{}", screen(&model));
    assert_eq!(live_cells(&model), Vec::<String>::new());
    press(&mut model, plain(KeyCode::Esc));
    press(&mut model, plain(KeyCode::Char('w')));
    let shown = screen(&model);
    assert!(shown.contains("mallory"), "{shown}");
    assert_eq!(live_cells(&model), Vec::<String>::new());
}
