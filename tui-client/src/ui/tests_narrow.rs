//! Fifty columns: popups drop or shorten columns instead of cutting them, and
//! the input's hints lose whole items instead of the ends of words.

use crossterm::event::KeyCode;

use crate::fixtures::*;

#[test]
fn at_fifty_columns_the_groups_popup_drops_the_owner_and_keeps_whether_you_are_in_each() {
    let mut model = demo_model(50, 20);
    open_groups(&mut model, three_groups());
    press(&mut model, plain(KeyCode::Down));
    let shown = screen(&model);
    let row = |name: &str| {
        shown
            .lines()
            .find(|l| l.contains(&format!("│{name}")))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(row("#cs101").contains("3 members") && row("#cs101").contains("joined"));
    assert!(row("#lab-b").contains("1 member") && !row("#lab-b").contains("joined"));
    assert!(
        row("#networking-study-group").contains("12 members"),
        "{shown}"
    );
    snapshot!(model);
}

#[test]
fn at_thirty_columns_the_groups_popup_cuts_names_and_keeps_whether_you_are_in_each() {
    let mut model = demo_model(30, 20);
    open_groups(&mut model, three_groups());
    let shown = screen(&model);
    let cs101 = shown
        .lines()
        .find(|l| l.contains("│#cs101"))
        .unwrap_or_default();
    assert!(cs101.contains("joined"), "{shown}");
    assert!(shown.contains("#network…"), "{shown}");
    assert!(shown.contains("└ Enter open or join ─"), "{shown}");
}

#[test]
fn at_fifty_columns_the_placeholder_drops_the_clause_that_does_not_fit() {
    let model = demo_model(50, 20);
    let shown = screen(&model);
    assert!(
        shown.contains("│ Message #cs101 — Enter sends    "),
        "{shown}"
    );
    assert!(!shown.contains("Alt+Enter new lin"), "{shown}");
    snapshot!(model);
}

#[test]
fn at_forty_columns_the_hint_for_a_selected_message_drops_the_keys_that_do_not_fit() {
    let mut model = demo_model(40, 20);
    let hint = |model: &crate::model::Model| {
        let shown = screen(model);
        shown.lines().nth_back(1).unwrap_or_default().to_owned()
    };
    // The newest message is still sending: nothing to do to it yet.
    press(&mut model, alt(KeyCode::Up));
    assert!(
        hint(&model).starts_with("└ ↑↓ move · Esc back ─"),
        "{}",
        hint(&model)
    );
    // The failed one can be sent again.
    press(&mut model, plain(KeyCode::Up));
    assert!(
        hint(&model).starts_with("└ ↑↓ move · r retry · Esc back ─"),
        "{}",
        hint(&model)
    );
    // A stored one of yours: more keys than fit.
    press(&mut model, plain(KeyCode::Up));
    assert!(
        hint(&model).starts_with("└ ↑↓ move · r reply · e edit ─"),
        "{}",
        hint(&model)
    );
}
