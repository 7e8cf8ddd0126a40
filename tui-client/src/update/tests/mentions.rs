//! Mentions: `@na` completing to `@name` with Tab, the people of the
//! conversation first; and what rings (the bell, or a desktop notification in
//! the client's own words) for a mention or a direct message, per the
//! `notify` setting, `/mute`, and the few seconds between two rings.

use crossterm::event::KeyCode;

use super::*;
use crate::client::Event;
use crate::config::Notify;
use crate::message::Msg;

/// What `fx` rings: `bell`, or a desktop notification's text.
fn rings(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Bell => Some("bell".to_owned()),
            Effect::Desktop(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn tab(model: &mut Model) -> String {
    press(model, plain(KeyCode::Tab));
    draft(model)
}

/// cam and cathy are online too: known, but in none of alice's conversations.
fn with_strangers(model: &mut Model) {
    let online = ["alice", "bob", "cam", "cathy", "frank"].map(user).to_vec();
    server(
        model,
        ServerMessage::Who {
            req: None,
            online,
            total: 5,
        },
    );
}

// ---- @ completion -------------------------------------------------------------

#[test]
fn tab_completes_at_names_with_the_members_of_the_open_group_first() {
    let mut model = demo_model(90, 30);
    with_strangers(&mut model);
    type_text(&mut model, "thanks @ca");
    assert_eq!(tab(&mut model), "thanks @carol", "carol is in #cs101");
    assert_eq!(tab(&mut model), "thanks @cam");
    assert_eq!(tab(&mut model), "thanks @cathy");
    assert_eq!(tab(&mut model), "thanks @carol");

    // A bare @ offers the group's members, never yourself.
    let mut model = demo_model(90, 30);
    type_text(&mut model, "@");
    assert_eq!(tab(&mut model), "@bob");
    assert_eq!(tab(&mut model), "@carol");
    assert_eq!(tab(&mut model), "@bob");
}

#[test]
fn tab_completes_the_other_one_of_a_direct_conversation_and_names_in_a_command_s_text() {
    let mut model = demo_model(90, 30);
    with_strangers(&mut model);
    let fx = press(&mut model, alt(KeyCode::Char('3')));
    answer_history(&mut model, &fx, Vec::new(), false);
    assert_eq!(selected_name(&model), "carol");
    type_text(&mut model, "@");
    assert_eq!(tab(&mut model), "@carol ", "the only one here");

    let mut model = demo_model(90, 30);
    with_strangers(&mut model);
    type_text(&mut model, "/msg cam see you there @ca");
    assert_eq!(
        tab(&mut model),
        "/msg cam see you there @cam",
        "the conversation the command names comes first"
    );
    press(&mut model, ctrl('u'));
    type_text(&mut model, "/reply #cs101 8 ask @ca");
    assert_eq!(tab(&mut model), "/reply #cs101 8 ask @carol");
    press(&mut model, ctrl('u'));
    type_text(&mut model, "/msg bob ca");
    assert_eq!(tab(&mut model), "/msg bob ca", "only @ completes in a text");
}

// ---- what rings ------------------------------------------------------------------

#[test]
fn a_mention_rings_unless_you_are_reading_it_and_mute_does_not_silence_it() {
    let mut model = demo_model(90, 30);
    let mention = |seq| chat("#cs101", seq, "carol", now(), "alice, the slides?");
    assert!(
        rings(&arrives(&mut model, mention(10))).is_empty(),
        "on screen"
    );

    type_text(&mut model, "/mute");
    press(&mut model, plain(KeyCode::Enter));
    assert!(model.muted.contains(&conv("#cs101")));
    let fx = press(&mut model, ctrl('n'));
    answer_history(&mut model, &fx, Vec::new(), false);
    assert_eq!(selected_name(&model), "bob");
    assert_eq!(rings(&arrives(&mut model, mention(11))), ["bell"]);
    let chatter = chat("#cs101", 12, "bob", later(10), "lunch?");
    press(&mut model, Msg::Tick(later(10)));
    assert!(rings(&arrives(&mut model, chatter)).is_empty());

    // A direct message rings only in the background, and /mute silences it.
    let dm = |seq| chat("bob", seq, "bob", later(10), "hi");
    assert!(rings(&arrives(&mut model, dm(3))).is_empty(), "focused");
    press(&mut model, Msg::Focus(false));
    assert_eq!(rings(&arrives(&mut model, dm(4))), ["bell"]);
}

#[test]
fn with_notify_desktop_the_notification_names_who_and_where_never_what() {
    let mut model = demo_model(90, 30);
    model.notify_with = Notify::Desktop;
    press(&mut model, Msg::Focus(false));
    let body = format!("alice: {HOSTILE}");
    let fx = arrives(&mut model, chat("#cs101", 10, "carol", now(), &body));
    assert_eq!(rings(&fx), ["carol mentioned you in #cs101"]);
    let fx = arrives(&mut model, chat("bob", 3, "bob", now(), "still there?"));
    assert_eq!(rings(&fx), ["bob sent you a message"]);
    // dave's first message mentioned alice as the demo was built: a ring
    // then, and none again for a few seconds.
    press(&mut model, Msg::Tick(later(5)));
    let fx = arrives(
        &mut model,
        chat("dave", 4, "dave", later(5), "@alice you too"),
    );
    assert_eq!(rings(&fx), ["dave mentioned you"]);
}

#[test]
fn with_notify_off_nothing_rings() {
    let mut model = demo_model(90, 30);
    model.notify_with = Notify::Off;
    press(&mut model, Msg::Focus(false));
    let fx = arrives(&mut model, chat("#cs101", 10, "carol", now(), "@alice?"));
    assert!(rings(&fx).is_empty());
    let fx = arrives(&mut model, chat("bob", 3, "bob", now(), "hi"));
    assert!(rings(&fx).is_empty());
    assert!(
        conv_of(&model, "#cs101").mention,
        "still marked `!` in the list"
    );
}

#[test]
fn a_burst_rings_once_per_conversation_every_few_seconds() {
    let mut model = demo_model(90, 30);
    press(&mut model, Msg::Focus(false));
    let mention = |seq, ts| chat("#cs101", seq, "carol", ts, "alice!");
    let burst: Vec<String> = (10..15)
        .flat_map(|seq| rings(&arrives(&mut model, mention(seq, now()))))
        .collect();
    assert_eq!(burst, ["bell"]);
    let fx = arrives(&mut model, chat("erin", 121, "erin", now(), "alice?"));
    assert_eq!(
        rings(&fx),
        ["bell"],
        "another conversation rings for itself"
    );
    press(&mut model, Msg::Tick(later(4)));
    assert!(rings(&arrives(&mut model, mention(15, later(4)))).is_empty());
    press(&mut model, Msg::Tick(later(5)));
    assert_eq!(rings(&arrives(&mut model, mention(16, later(5)))), ["bell"]);
}

#[test]
fn the_catch_up_after_a_reconnect_never_rings() {
    let mut model = demo_model(90, 30);
    press(&mut model, Msg::Focus(false));
    press(&mut model, connected(default_limits()));
    let caught_up = arrives(&mut model, chat("#cs101", 10, "carol", now(), "alice?"));
    assert!(rings(&caught_up).is_empty());
    assert!(conv_of(&model, "#cs101").mention);
    press(
        &mut model,
        Msg::Net(Event::Server(ServerMessage::Synced { messages: 1 })),
    );
    let live = arrives(&mut model, chat("#cs101", 11, "carol", now(), "alice??"));
    assert_eq!(rings(&live), ["bell"]);
}
