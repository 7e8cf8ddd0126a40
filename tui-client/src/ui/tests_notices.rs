//! The who-is-online popup, errors at narrow widths, and refused messages,
//! rendered from the demo model driven through `update` and compared with the
//! snapshots in `snapshots/`.

use classchat_common::{ClientMessage, ErrorCode, MessageId, ServerMessage};
use crossterm::event::KeyCode;

use crate::fixtures::*;
use crate::message::Effect;
use crate::model::Model;
use crate::tracker::Stage;

/// Renders the model at its size and compares it with the test's snapshot.
macro_rules! snapshot {
    ($model:expr) => {
        insta::assert_snapshot!(draw(&$model).backend())
    };
}

/// Types `line`, presses Enter, and returns what that asked for.
fn run(model: &mut Model, line: &str) -> Vec<Effect> {
    type_text(model, line);
    press(model, plain(KeyCode::Enter))
}

/// The server refusing the one request in `fx`.
fn refuse(model: &mut Model, fx: &[Effect], code: ErrorCode, message: &str) {
    let req = req_of(fx, |_| true);
    assert!(req.is_some(), "a request was made: {fx:?}");
    server(model, ServerMessage::error_for(req, code, message));
}

/// The server refusing message `id`, and the tracker marking it failed.
fn refuse_message(model: &mut Model, to: &str, id: MessageId, code: ErrorCode, message: &str) {
    server(
        model,
        ServerMessage::Error {
            req: None,
            id: Some(id),
            offer: None,
            code,
            message: message.into(),
            retry_after_ms: None,
        },
    );
    status(model, to, id, 0, stage(Stage::Failed, counts(0, 0, 0)));
}

/// `/who`, answered with `online` out of `total`.
fn who(model: &mut Model, online: &[String], total: usize) {
    let fx = run(model, "/who");
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Who { .. }));
    server(
        model,
        ServerMessage::Who {
            req,
            online: online.iter().map(|n| user(n)).collect(),
            total,
        },
    );
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| (*n).to_owned()).collect()
}

// ---- who is online ----------------------------------------------------------

#[test]
fn the_who_popup_lists_who_is_online_and_how_many_more_there_are() {
    let mut model = demo_model(90, 30);
    who(&mut model, &names(&["frank", "bob", "alice", "dave"]), 1204);
    press(&mut model, plain(KeyCode::Down));
    snapshot!(model);
}

#[test]
fn a_long_who_list_scrolls_on_a_small_terminal() {
    let mut model = demo_model(50, 20);
    let mut online: Vec<String> = (1..=40).map(|n| format!("student{n:02}")).collect();
    online.push("alice".into());
    who(&mut model, &online, 41);
    press(&mut model, plain(KeyCode::PageDown));
    press(&mut model, plain(KeyCode::PageDown));
    snapshot!(model);
}

// ---- errors at 50 columns ---------------------------------------------------

#[test]
fn at_fifty_columns_an_error_too_long_for_the_status_line_gets_a_line_above_the_input() {
    let mut model = demo_model(50, 20);
    let fx = run(&mut model, "/rename cs101 x");
    refuse(
        &mut model,
        &fx,
        ErrorCode::NotOwner,
        "only the owner of #cs101 (carol) can rename it",
    );
    let screen = screen(&model);
    assert!(
        screen.contains("only the owner of #cs101 (carol) can rename it"),
        "the whole reason shows:\n{screen}"
    );
    snapshot!(model);
}

#[test]
fn at_fifty_columns_a_long_error_wraps_and_the_unread_hint_keeps_the_status_line() {
    let mut model = demo_model(50, 20);
    let fx = run(&mut model, "/kick cs101 alice");
    refuse(
        &mut model,
        &fx,
        ErrorCode::NotOwner,
        "only the owner of #cs101 (carol) can remove members",
    );
    let screen = screen(&model);
    assert!(
        screen.contains("only the owner of #cs101 (carol) can remove"),
        "{screen}"
    );
    assert!(screen.contains(" members "), "{screen}");
    assert!(screen.contains("125 unread"), "{screen}");
    snapshot!(model);
}

#[test]
fn at_fifty_columns_a_short_error_goes_before_the_unread_hint() {
    let mut model = demo_model(50, 20);
    let fx = run(&mut model, "/join x");
    refuse(&mut model, &fx, ErrorCode::UnknownGroup, "no group #x");
    let status = screen(&model).lines().last().unwrap_or_default().to_owned();
    assert!(status.ends_with("no group #x "), "{status}");
    assert!(!status.contains("unread"), "{status}");

    // Put away: the hint is back.
    press(&mut model, plain(KeyCode::Esc));
    let status = screen(&model).lines().last().unwrap_or_default().to_owned();
    assert!(status.contains("125 unread"), "{status}");
}

// ---- refused messages -------------------------------------------------------

#[test]
fn a_message_to_nobody_is_gone_from_the_list_and_back_in_the_input() {
    let mut model = demo_model(90, 30);
    let fx = run(&mut model, "/msg nobody hi");
    refuse_message(
        &mut model,
        "nobody",
        sent_id(&fx),
        ErrorCode::UnknownUser,
        "there is no user named nobody",
    );
    snapshot!(model);
}

#[test]
fn a_refused_message_shows_why_under_it_at_fifty_columns() {
    let mut model = demo_model(50, 20);
    let id = send_text(&mut model, "see you at the lab");
    refuse_message(
        &mut model,
        "#cs101",
        id,
        ErrorCode::NotMember,
        "you are no longer a member of #cs101",
    );
    press(&mut model, plain(KeyCode::Esc));
    snapshot!(model);
}
