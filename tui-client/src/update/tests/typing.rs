//! The input bar: drafts, recall, sending, commands and Tab completion.

use std::time::Duration;

use classchat_common::ErrorCode;
use crossterm::event::KeyCode;

use super::*;
use crate::client::{Event, Link};
use crate::message::Msg;
use crate::tracker::Stage;

// ---- the input bar ----------------------------------------------------------

#[test]
fn each_conversation_keeps_its_own_draft() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "for the group");
    let fx = press(&mut model, ctrl('n'));
    answer_history(&mut model, &fx, Vec::new(), false);
    assert_eq!(draft(&model), "");
    type_text(&mut model, "for bob");
    press(&mut model, ctrl('p'));
    assert_eq!(draft(&model), "for the group");
    press(&mut model, ctrl('n'));
    assert_eq!(draft(&model), "for bob");
}

#[test]
fn up_in_an_empty_input_recalls_what_was_sent_and_down_comes_back() {
    let mut model = demo_model(90, 30);
    send_text(&mut model, "first");
    send_text(&mut model, "second");
    let mut seen = Vec::new();
    for code in [KeyCode::Up, KeyCode::Up, KeyCode::Down, KeyCode::Down] {
        press(&mut model, plain(code));
        seen.push(draft(&model));
    }
    assert_eq!(seen, ["second", "first", "second", ""]);

    type_text(&mut model, "typing");
    press(&mut model, plain(KeyCode::Up));
    assert_eq!(draft(&model), "typing", "Up does not replace what is typed");
}

#[test]
fn enter_sends_plain_text_to_the_open_conversation_and_shows_it_sending() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "see you at 11");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let [
        Effect::Send {
            id,
            to,
            body,
            target,
        },
    ] = fx.as_slice()
    else {
        panic!("one message to send: {fx:?}");
    };
    assert_eq!(
        (to, body.as_str(), target),
        (&conv("#cs101"), "see you at 11", &None)
    );
    let last = conv_of(&model, "#cs101").entries.last().expect("an entry");
    assert_eq!(
        (last.id, last.seq, last.status.map(|s| s.stage)),
        (*id, None, Some(Stage::Sending))
    );
    assert_eq!(draft(&model), "");
    assert!(screen(&model).contains("alice: see you at 11"));
}

#[test]
fn a_message_typed_while_reconnecting_is_still_sent() {
    let mut model = demo_model(90, 30);
    press(
        &mut model,
        Msg::Net(Event::Link(Link::Reconnecting {
            attempt: 1,
            retry_in: Duration::from_secs(2),
            reason: "lost".into(),
        })),
    );
    type_text(&mut model, "queued");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(matches!(fx.as_slice(), [Effect::Send { body, .. }] if body == "queued"));
}

#[test]
fn a_command_that_cannot_be_parsed_keeps_the_text_and_says_why() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/fly high");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(fx, []);
    assert_eq!(draft(&model), "/fly high");
    let notice = model.notice.as_ref().expect("a notice");
    assert!(notice.error && notice.text.contains("fly"), "{notice:?}");
}

#[test]
fn a_command_the_server_refuses_comes_back_to_the_input() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/join cs999");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(draft(&model), "");
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Join { .. }));
    assert!(req.is_some(), "{fx:?}");
    server(
        &mut model,
        ServerMessage::error_for(req, ErrorCode::UnknownGroup, "no group #cs999"),
    );
    assert_eq!(draft(&model), "/join cs999");
    assert!(model.notice.as_ref().is_some_and(|n| n.error));
}

#[test]
fn a_refused_command_does_not_overwrite_what_was_typed_since() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/join cs999");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Join { .. }));
    type_text(&mut model, "meanwhile");
    server(
        &mut model,
        ServerMessage::error_for(req, ErrorCode::UnknownGroup, "no group #cs999"),
    );
    assert_eq!(draft(&model), "meanwhile");
}

#[test]
fn tab_completes_commands_and_cycles_through_the_candidates() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/wh");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "/who");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "/whois");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "/who");
}

#[test]
fn tab_completes_user_names_in_text_and_after_commands() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "thanks @fr");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "thanks @frank ");

    let mut model = demo_model(90, 30);
    type_text(&mut model, "/whois ca");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "/whois carol ");
}

#[test]
fn tab_completes_group_names_with_or_without_the_hash() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/members c");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "/members cs101 ");

    let mut model = demo_model(90, 30);
    type_text(&mut model, "/msg #c");
    press(&mut model, plain(KeyCode::Tab));
    assert_eq!(draft(&model), "/msg #cs101 ");
}

// ---- /passwd ------------------------------------------------------------------

fn password_form(model: &Model) -> &crate::model::PasswordChange {
    match &model.popup {
        Some(crate::model::Popup::Password(form)) => form,
        other => panic!("the password form, not {other:?}"),
    }
}

#[test]
fn passwd_asks_in_a_form_checks_the_repeat_and_sends_once() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "/passwd");
    press(&mut model, plain(KeyCode::Enter));
    assert_eq!(password_form(&model).field, 0);

    type_text(&mut model, "old one");
    press(&mut model, plain(KeyCode::Enter));
    type_text(&mut model, "the new one");
    press(&mut model, plain(KeyCode::Tab));
    type_text(&mut model, "the new on");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(fx, [], "a repeat that differs is not sent");
    let form = password_form(&model);
    assert_eq!(form.field, 2);
    assert!(form.error.as_deref().is_some_and(|e| e.contains("differ")));

    type_text(&mut model, "e");
    let fx = press(&mut model, plain(KeyCode::Enter));
    let [
        Effect::Ask(ClientMessage::Password {
            req: Some(req),
            old,
            new,
        }),
    ] = fx.as_slice()
    else {
        panic!("one password request: {fx:?}");
    };
    assert_eq!((old.0.as_str(), new.0.as_str()), ("old one", "the new one"));
    assert!(password_form(&model).busy);
    assert_eq!(press(&mut model, plain(KeyCode::Enter)), [], "busy");

    // Refused: the form says why and asks for the current one again.
    server(
        &mut model,
        ServerMessage::error_for(
            Some(*req),
            ErrorCode::BadPassword,
            "that is not your current password",
        ),
    );
    let form = password_form(&model);
    assert!(!form.busy && form.field == 0 && form.value(0).is_empty());
    assert_eq!(form.value(1), "the new one", "the new one is kept");
    assert_eq!(
        form.error.as_deref(),
        Some("that is not your current password")
    );

    type_text(&mut model, "the right one");
    press(&mut model, plain(KeyCode::Tab));
    press(&mut model, plain(KeyCode::Tab));
    let fx = press(&mut model, plain(KeyCode::Enter));
    let [Effect::Ask(ClientMessage::Password { req: Some(req), .. })] = fx.as_slice() else {
        panic!("sent again: {fx:?}");
    };
    let fx = server(
        &mut model,
        ServerMessage::PasswordChanged { req: Some(*req) },
    );
    assert!(model.popup.is_none(), "closed once changed");
    assert!(
        matches!(fx.as_slice(), [Effect::Password(p)] if p.0 == "the new one"),
        "the client logs in with the new one from now on: {fx:?}"
    );
    assert!(
        model
            .notice
            .as_ref()
            .is_some_and(|n| n.text.contains("password changed"))
    );
}

#[test]
fn passwords_typed_after_passwd_in_the_input_are_neither_sent_nor_kept() {
    let mut model = demo_model(90, 30);
    for line in ["/passwd hunter2 hunter3", "/passwd hunter2"] {
        type_text(&mut model, line);
        let fx = press(&mut model, plain(KeyCode::Enter));
        assert_eq!(fx, [], "{line}");
        assert_eq!(draft(&model), "", "cleared: {line}");
        assert!(model.popup.is_none());
        assert!(
            model
                .notice
                .as_ref()
                .is_some_and(|n| n.text.contains("/passwd alone")),
            "{line}"
        );
    }
    press(&mut model, plain(KeyCode::Up));
    assert!(
        !draft(&model).contains("hunter"),
        "not recalled: {}",
        draft(&model)
    );
}
