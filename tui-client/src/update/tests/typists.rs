//! "alice is typing…" both ways, on the demo's clock: what editing the draft
//! tells the others (and when it does not), and who is shown typing in the
//! status line, for how long.

use std::time::Duration;

use classchat_common::protocol::ConvSummary;
use crossterm::event::KeyCode;

use super::*;
use crate::client::{Event, Link};
use crate::fixtures::groups::news_open;
use crate::fixtures::pins::typing;
use crate::message::Msg;

/// The conversations `fx` tells that alice is typing.
fn told(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::Typing { to }) => Some(to.to_string()),
            _ => None,
        })
        .collect()
}

fn tick(model: &mut Model, secs: i64) -> Vec<Effect> {
    press(model, Msg::Tick(later(secs)))
}

fn status_line(model: &Model) -> String {
    screen(model).lines().last().unwrap_or_default().to_owned()
}

// ---- telling the others -----------------------------------------------------

/// The demo, a minute on: what alice typed while it was built is long past.
fn demo_a_minute_on() -> Model {
    let mut model = demo_model(90, 30);
    tick(&mut model, 60);
    model
}

#[test]
fn editing_the_draft_tells_the_conversation_at_most_every_two_seconds() {
    let mut model = demo_a_minute_on();
    assert_eq!(told(&type_text(&mut model, "Hel")), ["#cs101"], "once");
    assert_eq!(
        told(&press(&mut model, burst("lo th"))),
        Vec::<String>::new()
    );
    tick(&mut model, 61);
    assert!(told(&type_text(&mut model, "ere")).is_empty(), "1 s later");
    tick(&mut model, 62);
    assert_eq!(
        told(&press(&mut model, plain(KeyCode::Backspace))),
        ["#cs101"]
    );
    tick(&mut model, 64);
    let pasted = press(&mut model, Msg::Paste(" and all".into()));
    assert_eq!(told(&pasted), ["#cs101"], "a paste edits the draft too");
    tick(&mut model, 66);
    assert_eq!(told(&press(&mut model, alt(KeyCode::Enter))), ["#cs101"]);
    tick(&mut model, 68);
    assert!(
        told(&press(&mut model, plain(KeyCode::Left))).is_empty(),
        "moving the cursor edits nothing"
    );

    // Each conversation counts for itself.
    let fx = press(&mut model, ctrl('n'));
    answer_history(&mut model, &fx, Vec::new(), false);
    assert_eq!(told(&type_text(&mut model, "hi bob")), ["bob"]);
}

#[test]
fn a_command_a_cleared_draft_or_a_draft_nobody_can_see_tells_nobody() {
    let mut model = demo_a_minute_on();
    assert!(told(&type_text(&mut model, "/who")).is_empty(), "a command");
    press(&mut model, ctrl('u'));
    assert_eq!(
        told(&type_text(&mut model, "//etc is a folder")),
        ["#cs101"],
        "`//` starts a message"
    );

    let mut model = demo_a_minute_on();
    type_text(&mut model, "x");
    tick(&mut model, 63);
    assert!(
        told(&press(&mut model, plain(KeyCode::Backspace))).is_empty(),
        "emptied: nothing is being written"
    );

    // With no conversation open, the input takes commands only.
    let mut model = connected_model(90, 30);
    assert!(told(&type_text(&mut model, "hello")).is_empty());
}

#[test]
fn nobody_is_told_where_you_may_not_post_while_disconnected_or_with_typing_off() {
    let mut model = news_open(90, 30);
    assert!(
        told(&type_text(&mut model, "can I ask")).is_empty(),
        "an announcement group, to a plain member"
    );

    let mut model = demo_model(90, 30);
    press(
        &mut model,
        Msg::Net(Event::Link(Link::Reconnecting {
            attempt: 1,
            retry_in: Duration::from_secs(2),
            reason: "lost".into(),
        })),
    );
    assert!(told(&type_text(&mut model, "still here")).is_empty());

    let mut model = demo_model(90, 30);
    model.tell_typing = false;
    assert!(told(&type_text(&mut model, "quietly")).is_empty());
}

// ---- who is typing here ------------------------------------------------------

#[test]
fn someone_typing_shows_in_the_status_line_until_five_seconds_after_their_last_line() {
    let mut model = demo_model(90, 30);
    server(&mut model, typing("#cs101", "bob"));
    assert!(
        status_line(&model).contains("#cs101 · bob is typing… · 2/3 online"),
        "{}",
        status_line(&model)
    );
    tick(&mut model, 4);
    server(&mut model, typing("#cs101", "bob"));
    tick(&mut model, 8);
    assert!(
        status_line(&model).contains("bob is typing…"),
        "shown again"
    );
    tick(&mut model, 9);
    assert!(
        !status_line(&model).contains("typing"),
        "5 s after the last"
    );
    assert!(conv_of(&model, "#cs101").typing.at(later(9)).is_empty());
}

#[test]
fn a_message_or_an_edit_from_the_typist_ends_it_at_once_and_others_stay() {
    let mut model = demo_model(90, 30);
    server(&mut model, typing("#cs101", "bob"));
    server(&mut model, typing("#cs101", "carol"));
    assert!(status_line(&model).contains("bob and carol are typing…"));
    arrives(
        &mut model,
        chat("#cs101", 10, "bob", now(), "here are the slides"),
    );
    assert!(
        status_line(&model).contains("carol is typing…"),
        "{}",
        status_line(&model)
    );
    let edit = crate::fixtures::replies::edit_line("#cs101", 11, "carol", now(), 7, "Thursday");
    arrives(&mut model, edit);
    assert!(!status_line(&model).contains("typing"));
}

#[test]
fn three_typists_are_counted_and_another_conversation_s_are_not_shown_here() {
    let mut model = demo_model(90, 30);
    for who in ["bob", "carol", "dave"] {
        server(&mut model, typing("#cs101", who));
    }
    server(&mut model, typing("erin", "erin"));
    let line = status_line(&model);
    assert!(line.contains("3 people are typing…"), "{line}");
    assert!(!line.contains("erin"), "{line}");
    assert_eq!(
        conv_of(&model, "erin").typing.at(now()),
        [&user("erin")],
        "kept for when erin's conversation is open"
    );
}

#[test]
fn typing_elsewhere_makes_no_conversation_and_yours_or_someone_gone_offline_is_not_shown() {
    let mut model = demo_model(90, 30);
    let before = model.convs.len();
    server(&mut model, typing("zoe", "zoe"));
    assert_eq!(model.convs.len(), before, "no conversation appears for it");

    server(&mut model, typing("#cs101", "alice"));
    assert!(
        !status_line(&model).contains("typing"),
        "yourself, elsewhere"
    );

    server(&mut model, typing("#cs101", "bob"));
    server(
        &mut model,
        ServerMessage::Presence {
            user: user("bob"),
            online: false,
            last_seen: Some(now()),
        },
    );
    assert!(!status_line(&model).contains("typing"), "bob went offline");
}

#[test]
fn an_error_on_the_status_line_hides_who_is_typing() {
    let mut model = demo_model(90, 30);
    server(&mut model, typing("#cs101", "bob"));
    model.notify("no group #cs999", true);
    let line = status_line(&model);
    assert!(
        line.contains("no group #cs999") && !line.contains("typing"),
        "{line}"
    );
    press(&mut model, plain(KeyCode::Esc));
    assert!(status_line(&model).contains("bob is typing…"));
}

#[test]
fn a_group_summary_does_not_disturb_who_is_typing() {
    let mut model = demo_model(90, 30);
    server(&mut model, typing("#cs101", "bob"));
    server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![ConvSummary {
                members: Some(3),
                owner: Some(user("carol")),
                ..summary("#cs101", 9, 9, 0)
            }],
            total: 5,
        },
    );
    assert!(status_line(&model).contains("bob is typing…"));
}
