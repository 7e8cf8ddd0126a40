//! Keystrokes never taken by surprise, on screen: an offer announced without
//! opening anything, and the questions asked before deleting a group,
//! declining a file and quitting with work unfinished.

use crossterm::event::KeyCode;

use crate::fixtures::files::*;
use crate::fixtures::*;

#[test]
fn an_offer_arriving_in_the_open_conversation_is_announced_and_opens_nothing() {
    let mut model = files_model(90, 30);
    let fx = press(&mut model, alt(KeyCode::Char('2')));
    answer_history(&mut model, &fx, Vec::new(), false);
    bob_offers(&mut model, 3, "slides.pdf");
    type_text(&mut model, "do you have the other slides too?");
    snapshot!(model);
}

#[test]
fn deleting_a_group_asks_first_naming_how_many_members_lose_its_history() {
    let mut model = lab_members_open(90, 30);
    press(&mut model, plain(KeyCode::Esc));
    submit(&mut model, "/delete lab");
    snapshot!(model);
}

#[test]
fn declining_a_file_asks_first_saying_it_is_for_good() {
    let mut model = files_model(90, 30);
    bob_offers(&mut model, 3, "slides.pdf");
    press(&mut model, ctrl('o'));
    press(&mut model, plain(KeyCode::Char('d')));
    snapshot!(model);
}

#[test]
fn quitting_with_a_message_sending_and_a_transfer_running_says_what_would_stop() {
    let mut model = files_model(90, 30);
    transfer(
        &mut model,
        download(1, "notes.pdf", "bob", 600_000, 1_234_567),
    );
    press(&mut model, ctrl('c'));
    snapshot!(model);
}

#[test]
fn quitting_with_only_a_message_sending_in_ascii() {
    let mut model = demo_model(90, 30);
    model.look.ascii = true;
    press(&mut model, ctrl('c'));
    snapshot!(model);
}
