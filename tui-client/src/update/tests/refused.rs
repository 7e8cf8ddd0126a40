//! Messages the server refuses: one to nobody takes its made-up conversation
//! with it and comes back to the input; any other stays, failed, with why.

use classchat_common::{ErrorCode, MessageId};
use crossterm::event::KeyCode;

use super::*;
use crate::model::Entry;
use crate::tracker::Stage;

const NOBODY: &str = "there is no user named nobody";
const NOT_A_MEMBER: &str = "you are no longer a member of #cs101";

/// The server refusing message `id` to `nobody`: there is no such user.
fn nobody_is_unknown(model: &mut Model, id: MessageId) {
    refuse_message(model, "nobody", id, ErrorCode::UnknownUser, NOBODY);
}

/// The request of `fx` that `pick` accepts failing because nobody is unknown.
fn nobody_is_unknown_to(model: &mut Model, fx: &[Effect], pick: fn(&ClientMessage) -> bool) {
    refuse_request(model, fx, pick, ErrorCode::UnknownUser, NOBODY);
}

fn is_history(m: &ClientMessage) -> bool {
    matches!(m, ClientMessage::History { .. })
}

fn is_whois(m: &ClientMessage) -> bool {
    matches!(m, ClientMessage::Whois { .. })
}

/// Whether the notice shown says `part`.
fn notice_says(model: &Model, part: &str) -> bool {
    model.notice.as_ref().is_some_and(|n| n.text.contains(part))
}

/// Message `id` in `conv_name`, as the conversation holds it.
fn entry<'a>(model: &'a Model, conv_name: &str, id: MessageId) -> &'a Entry {
    conv_of(model, conv_name)
        .entries
        .iter()
        .find(|e| e.id == id)
        .expect("the message is in its conversation")
}

#[test]
fn a_message_to_nobody_takes_its_conversation_away_and_comes_back_to_the_input() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/msg nobody hi");
    assert_eq!(selected_name(&model), "nobody");

    nobody_is_unknown(&mut model, sent_id(&fx));
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
    nobody_is_unknown_to(&mut model, &fx, is_history);
    nobody_is_unknown_to(&mut model, &fx, is_whois);
    assert_eq!(model.notice, Some(notice));
    assert!(model.find(&conv("nobody")).is_none());
}

#[test]
fn a_message_to_nobody_comes_back_even_when_its_history_fails_first() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/msg nobody are you there?");

    nobody_is_unknown_to(&mut model, &fx, is_history);
    assert!(model.find(&conv("nobody")).is_none());
    assert_eq!(draft(&model), "/msg nobody are you there?");

    nobody_is_unknown(&mut model, sent_id(&fx));
    assert!(model.find(&conv("nobody")).is_none(), "not made again");
    assert!(
        notice_says(&model, "back in the input"),
        "{:?}",
        model.notice
    );
}

#[test]
fn a_message_to_nobody_never_overwrites_a_draft_and_up_brings_it_back() {
    let mut model = demo_model(90, 30);
    let id = send_text(&mut model, "/msg nobody hi");
    // Back in #cs101, typing something else before the refusal comes.
    press(&mut model, alt(KeyCode::Char('1')));
    type_text(&mut model, "half a thought");

    nobody_is_unknown(&mut model, id);
    assert!(model.find(&conv("nobody")).is_none());
    assert_eq!(draft(&model), "half a thought");
    assert!(
        notice_says(&model, "Up (in an empty input)"),
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
    send_refused(
        &mut model,
        "#cs999",
        "/msg #cs999 hello?",
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
    let fx = submit(&mut model, "/history nobody");
    assert_eq!(selected_name(&model), "nobody");
    nobody_is_unknown_to(&mut model, &fx, is_history);
    assert!(model.find(&conv("nobody")).is_none());
    assert_eq!(model.notice.as_ref().map(|n| n.text.as_str()), Some(NOBODY));
}

#[test]
fn a_conversation_with_history_stays_when_its_user_is_unknown() {
    // Cannot happen with today's server (accounts are never deleted), but a
    // conversation holding what the server sent is never thrown away.
    let mut model = demo_model(90, 30);
    press(&mut model, alt(KeyCode::Char('3')));
    let id = send_refused(
        &mut model,
        "carol",
        "still there?",
        ErrorCode::UnknownUser,
        "there is no user named carol",
    );
    assert!(model.find(&conv("carol")).is_some());
    assert_eq!(
        entry(&model, "carol", id).failure.as_deref(),
        Some("there is no user named carol"),
        "the failed message stays"
    );
}

#[test]
fn any_other_refusal_keeps_the_failed_message_with_the_reason_under_it() {
    let mut model = demo_model(90, 30);
    let id = send_refused(
        &mut model,
        "#cs101",
        "see you all at the lab",
        ErrorCode::NotMember,
        NOT_A_MEMBER,
    );
    let entry = entry(&model, "#cs101", id);
    assert_eq!(entry.status.map(|s| s.stage), Some(Stage::Failed));
    assert_eq!(entry.failure.as_deref(), Some(NOT_A_MEMBER));
    // Put the notice away: the reason still shows, under the message.
    press(&mut model, plain(KeyCode::Esc));
    assert!(model.notice.is_none());
    assert!(
        screen(&model).contains(&format!("not sent: {NOT_A_MEMBER}")),
        "{}",
        screen(&model)
    );
}

#[test]
fn retrying_a_failed_message_drops_its_old_reason() {
    let mut model = demo_model(90, 30);
    let id = send_refused(
        &mut model,
        "#cs101",
        "see you all at the lab",
        ErrorCode::BadBody,
        "links to local files are not allowed",
    );
    // Select the newest message, the failed one, and retry it.
    press(&mut model, alt(KeyCode::Up));
    let last = conv_of(&model, "#cs101").entries.len() - 1;
    assert_eq!(model.focus, crate::model::Focus::Messages(last));
    let again = sent_id(&press(&mut model, plain(KeyCode::Char('r'))));
    assert_eq!(entry(&model, "#cs101", again).failure, None, "sent again");
    assert!(conv_of(&model, "#cs101").entries.iter().all(|e| e.id != id));
}
