//! A message taller than the pane, on screen: where it ends, its marker, and
//! paging through it to what is above.

use classchat_common::ServerMessage;
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
    insta::assert_snapshot!(draw(&tall_message_sending()).backend());
}

#[test]
fn page_up_shows_the_rows_above_in_a_tall_message() {
    let mut model = tall_message_sending();
    press(&mut model, plain(KeyCode::PageUp));
    insta::assert_snapshot!(draw(&model).backend());
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
    insta::assert_snapshot!(draw(&model).backend());
}
