//! `/who`: the list of who is online, its keys, and the client's own quiet
//! refresh that shows nothing.

use classchat_common::{ErrorCode, Username};
use crossterm::event::KeyCode;

use super::*;
use crate::message::Msg;
use crate::model::Popup;

fn listed(model: &Model) -> (Vec<String>, usize, usize) {
    match &model.popup {
        Some(Popup::Who {
            online,
            total,
            selected,
        }) => (
            online.iter().map(Username::to_string).collect(),
            *total,
            *selected,
        ),
        other => panic!("expected the who popup, got {other:?}"),
    }
}

#[test]
fn typing_who_shows_who_is_online_sorted_with_how_many_in_all() {
    let mut model = demo_model(90, 30);
    open_who(&mut model, &["frank", "Bob", "alice"], 5);
    let (names, total, selected) = listed(&model);
    assert_eq!(names, ["alice", "Bob", "frank"]);
    assert_eq!((total, selected), (5, 0));
    assert!(model.online.contains(&user("frank")));
    assert_eq!(model.online_total, 5);
}

#[test]
fn the_clients_own_refresh_of_who_is_online_opens_nothing() {
    let mut model = demo_model(90, 30);
    let fx = press(&mut model, Msg::Tick(later(90)));
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Who { .. }));
    assert!(
        req.is_some(),
        "a minute turned: the client refreshes quietly"
    );
    answer_who(&mut model, &fx, &["alice", "grace"], 2);
    assert!(model.popup.is_none());
    assert!(model.online.contains(&user("grace")));
}

#[test]
fn enter_on_a_name_opens_the_conversation_with_them() {
    let mut model = demo_model(90, 30);
    open_who(&mut model, &["alice", "bob", "frank"], 3);
    press(&mut model, plain(KeyCode::Down));
    press(&mut model, plain(KeyCode::Enter));
    assert!(model.popup.is_none());
    assert_eq!(selected_name(&model), "bob");
    assert_eq!(draft(&model), "", "nothing is sent, nothing typed");
}

#[test]
fn enter_on_someone_you_never_talked_to_starts_the_conversation() {
    let mut model = demo_model(90, 30);
    open_who(&mut model, &["alice", "bob", "frank"], 3);
    press(&mut model, plain(KeyCode::Down));
    press(&mut model, plain(KeyCode::Down));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(selected_name(&model), "frank");
    assert!(
        req_of(&fx, |m| matches!(m, ClientMessage::History { .. })).is_some(),
        "opened like any conversation: its history is asked for"
    );
    assert!(fx.iter().all(|e| !matches!(e, Effect::Send { .. })));
}

#[test]
fn enter_on_yourself_closes_the_list_and_opens_nothing() {
    let mut model = demo_model(90, 30);
    open_who(&mut model, &["alice", "bob"], 2);
    press(&mut model, plain(KeyCode::Enter));
    assert!(model.popup.is_none());
    assert_eq!(selected_name(&model), "#cs101", "still where alice was");
    assert!(model.find(&conv("alice")).is_none());
}

#[test]
fn arrows_and_page_keys_move_through_a_long_list_and_esc_closes_it() {
    let mut model = demo_model(50, 20);
    open_who(&mut model, &crowd(), 60);
    let page = crate::layout::popup::who_page(model.size, 41, true);
    assert!(page > 1 && page < 41, "a page is part of the list: {page}");

    press(&mut model, plain(KeyCode::PageDown));
    assert_eq!(listed(&model).2, page);
    press(&mut model, plain(KeyCode::Up));
    assert_eq!(listed(&model).2, page - 1);
    for _ in 0..10 {
        press(&mut model, plain(KeyCode::PageDown));
    }
    assert_eq!(listed(&model).2, 40, "stops at the last name");
    press(&mut model, plain(KeyCode::Down));
    assert_eq!(listed(&model).2, 40);
    press(&mut model, plain(KeyCode::PageUp));
    assert_eq!(listed(&model).2, 40 - page);
    for _ in 0..10 {
        press(&mut model, plain(KeyCode::PageUp));
    }
    assert_eq!(listed(&model).2, 0, "stops at the first name");

    press(&mut model, plain(KeyCode::Esc));
    assert!(model.popup.is_none());
    assert_eq!(selected_name(&model), "#cs101");
}

#[test]
fn a_failed_who_gives_the_command_back_and_opens_nothing() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/who");
    refuse_request(
        &mut model,
        &fx,
        |m| matches!(m, ClientMessage::Who { .. }),
        ErrorCode::Internal,
        "the server could not list who is online",
    );
    assert!(model.popup.is_none());
    assert_eq!(draft(&model), "/who");
}
