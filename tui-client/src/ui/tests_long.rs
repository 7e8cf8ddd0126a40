//! A pane scrolled away from the newest message: a message taller than the
//! pane (where it ends, its marker, paging through it to what is above), and
//! the count on the pane's edge of new messages arriving below the screen.

use classchat_common::ServerMessage;
use classchat_common::protocol::GroupEvent;
use crossterm::event::KeyCode;

use crate::fixtures::*;
use crate::model::Model;

/// A narrow terminal with a pane of ten rows, talking with bob; then alice
/// sends a message of some fifty rows, still on its way.
fn tall_message_sending() -> Model {
    let mut model = connected_model(60, 16);
    let fx = server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![summary("bob", 2, 2, 0)],
            total: 1,
        },
    );
    let history = vec![
        chat(
            "bob",
            1,
            "bob",
            at(0, 10, 1),
            "can you paste the whole log?",
        ),
        chat("bob", 2, "bob", at(0, 10, 2), "all of it, please"),
    ];
    answer_history(&mut model, &fx, history, false);
    let log: Vec<String> = (1..=300).map(|n| format!("e{n:03}")).collect();
    press(&mut model, burst(&log.join(" ")));
    press(&mut model, plain(KeyCode::Enter));
    model
}

#[test]
fn a_message_taller_than_the_pane_shows_its_end_and_its_marker_at_the_bottom() {
    snapshot!(tall_message_sending());
}

#[test]
fn page_up_shows_the_rows_above_in_a_tall_message() {
    let mut model = tall_message_sending();
    press(&mut model, plain(KeyCode::PageUp));
    snapshot!(model);
}

#[test]
fn paging_up_through_a_tall_message_reaches_the_messages_above_it() {
    let mut model = tall_message_sending();
    let mut pages = 0;
    while !screen(&model).contains("all of it, please") {
        assert!(pages < 20, "never reached:\n{}", screen(&model));
        press(&mut model, plain(KeyCode::PageUp));
        pages += 1;
    }
    assert!(
        pages > 2,
        "the message was paged through, not jumped: {pages}"
    );
    snapshot!(model);
}

/// #cs101 two screens long and paged up once; then carol writes, alice writes
/// from her phone, dave joins and bob writes, all below the screen.
fn scrolled_up_as_messages_arrive(w: u16, h: u16, ascii: bool) -> Model {
    let mut model = demo_model(w, h);
    model.look.ascii = ascii;
    for seq in 10..40 {
        let m = chat("#cs101", seq, "bob", at(0, 10, 1), &format!("line {seq}"));
        server(&mut model, ServerMessage::Message(m));
    }
    press(&mut model, plain(KeyCode::PageUp));
    let arriving = [
        chat("#cs101", 40, "carol", now(), "slides are up"),
        chat("#cs101", 41, "alice", now(), "thanks!"),
        event("#cs101", 42, "dave", now(), GroupEvent::Joined),
        chat("#cs101", 43, "bob", now(), "see you at 11"),
    ];
    for m in arriving {
        server(&mut model, ServerMessage::Message(m));
    }
    model
}

#[test]
fn messages_from_others_arriving_below_a_scrolled_up_pane_are_counted_on_its_bottom_edge() {
    let model = scrolled_up_as_messages_arrive(90, 30, false);
    let shown = screen(&model);
    assert!(
        !shown.contains("slides are up"),
        "below the screen:\n{shown}"
    );
    snapshot!(model);
}

#[test]
fn ascii_the_count_of_new_messages_below_on_a_narrow_terminal() {
    let model = scrolled_up_as_messages_arrive(60, 20, true);
    snapshot!(model);
}
