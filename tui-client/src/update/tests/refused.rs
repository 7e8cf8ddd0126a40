//! Messages the server refuses: one to nobody takes its made-up conversation
//! with it and comes back to the input; any other stays, failed, with why.

use classchat_common::{ErrorCode, MessageId, ServerMessage};
use crossterm::event::KeyCode;

use super::*;
use crate::tracker::Stage;

const NOBODY: &str = "there is no user named nobody";

/// The server refusing message `id` with `code`, then the tracker marking it
/// failed, in the order the client task reports them.
fn refuse(model: &mut Model, conv_name: &str, id: MessageId, code: ErrorCode, message: &str) {
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
    status(
        model,
        conv_name,
        id,
        0,
        stage(Stage::Failed, counts(0, 0, 0)),
    );
}

/// The request of `fx` that `pick` accepts failing with `code`.
fn refuse_request(
    model: &mut Model,
    fx: &[Effect],
    pick: impl Fn(&ClientMessage) -> bool,
    code: ErrorCode,
    message: &str,
) {
    let req = req_of(fx, pick);
    assert!(req.is_some(), "the request was made: {fx:?}");
    server(model, ServerMessage::error_for(req, code, message));
}

fn is_history(m: &ClientMessage) -> bool {
    matches!(m, ClientMessage::History { .. })
}

fn is_whois(m: &ClientMessage) -> bool {
    matches!(m, ClientMessage::Whois { .. })
}

#[test]
fn a_message_to_nobody_takes_its_conversation_away_and_comes_back_to_the_input() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/msg nobody hi");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(selected_name(&model), "nobody");
    let id = sent_id(&fx);

    refuse(&mut model, "nobody", id, ErrorCode::UnknownUser, NOBODY);
    assert!(model.find(&conv("nobody")).is_none(), "no lasting `nobody`");
    assert!(
        !model.known_users.contains(&user("nobody")),
        "nor completed"
    );
    assert_eq!(selected_name(&model), "#cs101", "back where alice was");
    assert_eq!(draft(&model), "/msg nobody hi", "back, to be corrected");
    let notice = model.notice.clone().expect("a notice says why");
    assert!(
        notice.error && notice.text.starts_with(NOBODY),
        "{notice:?}"
    );
    assert!(notice.text.contains("back in the input"), "{notice:?}");

    // Opening the conversation asked for its history and the user's presence:
    // they fail for the same reason, and say nothing the notice does not.
    refuse_request(&mut model, &fx, is_history, ErrorCode::UnknownUser, NOBODY);
    refuse_request(&mut model, &fx, is_whois, ErrorCode::UnknownUser, NOBODY);
    assert_eq!(model.notice, Some(notice));
    assert!(model.find(&conv("nobody")).is_none());
}

#[test]
fn a_message_to_nobody_comes_back_even_when_its_history_fails_first() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/msg nobody are you there?");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let id = sent_id(&fx);

    refuse_request(&mut model, &fx, is_history, ErrorCode::UnknownUser, NOBODY);
    assert!(model.find(&conv("nobody")).is_none());
    assert_eq!(draft(&model), "/msg nobody are you there?");

    refuse(&mut model, "nobody", id, ErrorCode::UnknownUser, NOBODY);
    assert!(model.find(&conv("nobody")).is_none(), "not made again");
    assert!(
        model
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("back in the input")),
        "{:?}",
        model.notice
    );
}

#[test]
fn a_message_to_nobody_never_overwrites_a_draft_and_up_brings_it_back() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/msg nobody hi");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let id = sent_id(&fx);
    // Back in #cs101, typing something else before the refusal comes.
    press(&mut model, alt(KeyCode::Char('1')));
    type_text(&mut model, "half a thought");

    refuse(&mut model, "nobody", id, ErrorCode::UnknownUser, NOBODY);
    assert!(model.find(&conv("nobody")).is_none());
    assert_eq!(draft(&model), "half a thought");
    assert!(
        model
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("Up (in an empty input)")),
        "{:?}",
        model.notice
    );
    press(&mut model, ctrl('u'));
    press(&mut model, plain(KeyCode::Up));
    assert_eq!(draft(&model), "/msg nobody hi");
}

#[test]
fn a_message_to_a_group_that_does_not_exist_goes_the_same_way() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/msg #cs999 hello?");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let id = sent_id(&fx);
    refuse(
        &mut model,
        "#cs999",
        id,
        ErrorCode::UnknownGroup,
        "no group #cs999",
    );
    assert!(model.find(&conv("#cs999")).is_none());
    assert!(!model.known_groups.contains(&"cs999".parse().unwrap()));
    assert_eq!(draft(&model), "/msg #cs999 hello?");
}

#[test]
fn history_of_nobody_leaves_no_conversation_behind() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/history nobody");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(selected_name(&model), "nobody");
    refuse_request(&mut model, &fx, is_history, ErrorCode::UnknownUser, NOBODY);
    assert!(model.find(&conv("nobody")).is_none());
    assert_eq!(model.notice.as_ref().map(|n| n.text.as_str()), Some(NOBODY));
}

#[test]
fn a_conversation_with_history_stays_when_its_user_is_unknown() {
    // Cannot happen with today's server (accounts are never deleted), but a
    // conversation holding what the server sent is never thrown away.
    let mut model = demo_model(90, 30);
    press(&mut model, alt(KeyCode::Char('3')));
    let id = send_text(&mut model, "still there?");
    refuse(
        &mut model,
        "carol",
        id,
        ErrorCode::UnknownUser,
        "there is no user named carol",
    );
    assert!(model.find(&conv("carol")).is_some());
    let entry = conv_of(&model, "carol")
        .entries
        .iter()
        .find(|e| e.id == id)
        .expect("the failed message stays");
    assert_eq!(
        entry.failure.as_deref(),
        Some("there is no user named carol")
    );
}

#[test]
fn any_other_refusal_keeps_the_failed_message_with_the_reason_under_it() {
    let mut model = demo_model(90, 30);
    let id = send_text(&mut model, "see you all at the lab");
    refuse(
        &mut model,
        "#cs101",
        id,
        ErrorCode::NotMember,
        "you are no longer a member of #cs101",
    );
    let entry = conv_of(&model, "#cs101")
        .entries
        .iter()
        .find(|e| e.id == id)
        .expect("the failed message stays");
    assert_eq!(entry.status.map(|s| s.stage), Some(Stage::Failed));
    assert_eq!(
        entry.failure.as_deref(),
        Some("you are no longer a member of #cs101")
    );
    // Put the notice away: the reason still shows, under the message.
    press(&mut model, plain(KeyCode::Esc));
    assert!(model.notice.is_none());
    assert!(
        screen(&model).contains("not sent: you are no longer a member of #cs101"),
        "{}",
        screen(&model)
    );
}

#[test]
fn retrying_a_failed_message_drops_its_old_reason() {
    let mut model = demo_model(90, 30);
    let id = send_text(&mut model, "see you all at the lab");
    refuse(
        &mut model,
        "#cs101",
        id,
        ErrorCode::BadBody,
        "links to local files are not allowed",
    );
    // Select the newest message, the failed one, and retry it.
    press(&mut model, alt(KeyCode::Up));
    let last = conv_of(&model, "#cs101").entries.len() - 1;
    assert_eq!(model.focus, crate::model::Focus::Messages(last));
    let fx = press(&mut model, plain(KeyCode::Char('r')));
    let again = sent_id(&fx);
    let entry = conv_of(&model, "#cs101")
        .entries
        .iter()
        .find(|e| e.id == again)
        .expect("sent again");
    assert_eq!(entry.failure, None);
    assert!(conv_of(&model, "#cs101").entries.iter().all(|e| e.id != id));
}
