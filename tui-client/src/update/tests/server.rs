//! What the server and the connection change: markers, the link, notices, the bell.

use std::time::Duration;

use classchat_common::Conv;
use classchat_common::protocol::Counts;
use crossterm::event::KeyCode;
use proptest::prelude::*;

use super::*;
use crate::client::{Event, Link};
use crate::message::Msg;
use crate::model::LinkState;
use crate::tracker::{Stage, Status};

// ---- status markers ---------------------------------------------------------

#[test]
fn a_message_left_unsent_by_the_last_run_shows_as_sending_in_its_conversation_once() {
    let mut model = demo_model(90, 30);
    let m = crate::config::UnsentMessage {
        id: MessageId::new(),
        to: conv("dave"),
        body: "typed while the server was down".into(),
        target: None,
    };
    for _ in 0..2 {
        crate::update::update(&mut model, Msg::Net(Event::Unsent(m.clone())));
    }
    let entries: Vec<_> = conv_of(&model, "dave")
        .entries
        .iter()
        .filter(|e| e.id == m.id)
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].body, m.body);
    assert_eq!(entries[0].status.map(|s| s.stage), Some(Stage::Sending));
}

#[test]
fn a_message_marker_never_moves_backwards() {
    let mut model = demo_model(90, 30);
    let id = send_text(&mut model, "who has the lab key?");
    let read = stage(Stage::Read, counts(2, 2, 2));
    // The tracker's news can overtake the server's `stored`.
    status(&mut model, "#cs101", id, 10, read);
    server(
        &mut model,
        ServerMessage::Stored {
            id,
            conv: conv("#cs101"),
            seq: 10,
            ts: now(),
            of: 2,
            online: 2,
            last_seen: None,
            duplicate: false,
        },
    );
    for late in [
        stage(Stage::Stored, counts(0, 0, 2)),
        stage(Stage::Delivered, counts(2, 0, 2)),
        stage(Stage::Failed, counts(0, 0, 0)),
    ] {
        status(&mut model, "#cs101", id, 10, late);
    }
    // A history page fetched before the receipts came in.
    server(
        &mut model,
        ServerMessage::History {
            req: None,
            conv: conv("#cs101"),
            messages: vec![ChatMessage {
                id,
                ..mine("#cs101", 10, now(), "who has the lab key?", counts(0, 0, 2))
            }],
            more: false,
        },
    );
    let entry = conv_of(&model, "#cs101")
        .entries
        .iter()
        .find(|e| e.id == id)
        .expect("the message is shown");
    assert_eq!((entry.seq, entry.status), (Some(10), Some(read)));
    let shown = screen(&model);
    let line = shown
        .lines()
        .find(|l| l.contains("who has the lab key?"))
        .expect("the message is on screen");
    assert!(line.ends_with("● 2/2│"), "{line}");
}

/// What can happen to one of your messages after it was sent, in any order.
#[derive(Debug, Clone)]
enum News {
    /// The tracker's news (which may say `failed`).
    Status(Status),
    /// The server's `stored`, possibly repeated.
    Stored,
    /// A history page with the message and the server's counts.
    History(Counts),
    /// The message itself, echoed to this session.
    Echo,
}

fn news() -> impl Strategy<Value = News> {
    let stages = vec![
        Stage::Sending,
        Stage::Stored,
        Stage::Delivered,
        Stage::Read,
        Stage::Failed,
    ];
    let counts = (0..3u32, 0..3u32, 0..3u32).prop_map(|(d, r, of)| counts(d, r, of));
    prop_oneof![
        (prop::sample::select(stages), counts.clone()).prop_map(|(s, c)| News::Status(stage(s, c))),
        Just(News::Stored),
        counts.prop_map(News::History),
        Just(News::Echo),
    ]
}

/// `now` is `before` or further along.
fn moved_forward(before: Status, now: Status) -> bool {
    if before.stage == Stage::Failed {
        return now == before;
    }
    now.stage >= before.stage
        && (now.stage != Stage::Failed || before.stage == Stage::Sending)
        && now.delivered >= before.delivered
        && now.read >= before.read
        && now.of >= before.of
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn a_message_marker_never_moves_backwards_whatever_the_order_of_news(
        all_news in prop::collection::vec(news(), 1..12),
    ) {
        let mut model = demo_model(90, 30);
        let text = "who has the lab key?";
        let id = send_text(&mut model, text);
        let shown = |model: &Model| {
            let entries: Vec<_> = conv_of(model, "#cs101")
                .entries
                .iter()
                .filter(|e| e.id == id)
                .cloned()
                .collect();
            (entries.len(), entries.last().and_then(|e| e.status))
        };
        let mut before = Status::SENDING;
        for n in &all_news {
            match n {
                News::Status(s) => {
                    status(&mut model, "#cs101", id, 10, *s);
                }
                News::Stored => {
                    let stored = ServerMessage::Stored {
                        id,
                        conv: conv("#cs101"),
                        seq: 10,
                        ts: now(),
                        of: 2,
                        online: 2,
                        last_seen: None,
                        duplicate: false,
                    };
                    server(&mut model, stored);
                }
                News::History(c) => {
                    let page = ServerMessage::History {
                        req: None,
                        conv: conv("#cs101"),
                        messages: vec![ChatMessage { id, ..mine("#cs101", 10, now(), text, *c) }],
                        more: false,
                    };
                    server(&mut model, page);
                }
                News::Echo => {
                    arrives(&mut model, ChatMessage { id, ..chat("#cs101", 10, "alice", now(), text) });
                }
            }
            let (copies, now) = shown(&model);
            prop_assert_eq!(copies, 1, "the message is shown once, after {:?}", n);
            let now = now.expect("your message has a marker");
            prop_assert!(moved_forward(before, now), "{:?} → {:?} after {:?}", before, now, n);
            before = now;
        }
    }
}

// ---- the connection ---------------------------------------------------------

#[test]
fn a_refused_password_opens_the_form_again_and_what_is_typed_goes_to_the_running_client() {
    let mut model = demo_model(90, 30);
    type_text(&mut model, "a draft");
    press(&mut model, needs_password("wrong password for alice"));
    assert_eq!(
        model.link,
        LinkState::LoggedOut("wrong password for alice".into())
    );
    let form = model.login.as_ref().expect("the form, open again");
    assert!(form.again && form.field == 2, "on the password");
    assert_eq!(form.user.text(), "alice");

    // Only the password can change.
    press(&mut model, plain(KeyCode::Tab));
    press(&mut model, plain(KeyCode::Up));
    type_text(&mut model, "wrong");
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert!(
        matches!(fx.as_slice(), [Effect::Password(p)] if p.0 == "wrong"),
        "the password goes to the client already running: {fx:?}"
    );
    assert!(model.login.as_ref().is_some_and(|f| f.busy));

    press(&mut model, needs_password("wrong password for alice"));
    let form = model.login.as_ref().expect("still the form");
    assert!(!form.busy && form.password.is_empty(), "to be typed afresh");

    type_text(&mut model, "k7rm-2vqe-hxna-9dtp");
    press(&mut model, plain(KeyCode::Enter));
    press(&mut model, connected(default_limits()));
    assert!(model.login.is_none(), "closed once logged in");
    assert_eq!(model.link, LinkState::Connected);
    assert_eq!(draft(&model), "a draft", "nothing typed before was lost");
}

#[test]
fn reconnecting_shows_in_the_status_and_connecting_again_refreshes_the_lists() {
    let mut model = demo_model(90, 30);
    press(
        &mut model,
        Msg::Net(Event::Link(Link::Reconnecting {
            attempt: 2,
            retry_in: Duration::from_secs(4),
            reason: "connection reset".into(),
        })),
    );
    assert_eq!(
        model.link,
        LinkState::Reconnecting {
            attempt: 2,
            at: later(4),
            reason: "connection reset".into()
        }
    );
    assert!(screen(&model).contains("reconnecting in 4s (attempt 2)"));
    model.notify("the connection was lost", true);
    // The attempt is due; the error has been up long enough to be read.
    press(&mut model, Msg::Tick(later(6)));

    let fx = press(&mut model, connected(default_limits()));
    assert_eq!(model.link, LinkState::Connected);
    assert!(model.notice.is_none(), "the old error is over");
    assert!(req_of(&fx, |m| matches!(m, ClientMessage::Conversations { .. })).is_some());
    assert!(req_of(&fx, |m| matches!(m, ClientMessage::Who { .. })).is_some());
    assert!(screen(&model).contains("● connected"));
}

#[test]
fn an_information_notice_fades_an_error_stays_longer_and_esc_puts_either_away() {
    let mut model = demo_model(90, 30);
    model.notify("bob is online", false);
    press(&mut model, Msg::Tick(later(9)));
    assert!(model.notice.is_none());

    model.notify("no group #cs999", true);
    press(&mut model, Msg::Tick(later(20)));
    assert!(
        model.notice.is_some(),
        "an error is not missed by looking away for a moment"
    );
    press(&mut model, Msg::Tick(later(40)));
    assert!(model.notice.is_none(), "nor left on screen for ever");

    model.notify("no group #cs999", true);
    press(&mut model, plain(KeyCode::Esc));
    assert!(model.notice.is_none());
}

// ---- the bell ---------------------------------------------------------------

fn bells(fx: &[Effect]) -> usize {
    fx.iter().filter(|e| **e == Effect::Bell).count()
}

#[test]
fn a_direct_message_or_a_mention_rings_the_bell_while_the_terminal_is_unfocused() {
    let mut model = demo_model(90, 30);
    assert_eq!(
        bells(&arrives(&mut model, chat("bob", 3, "bob", now(), "hi"))),
        0
    );
    press(&mut model, Msg::Focus(false));
    assert_eq!(
        bells(&arrives(&mut model, chat("bob", 4, "bob", now(), "hi?"))),
        1
    );
    let plain_group = chat("#cs101", 10, "carol", now(), "class is cancelled");
    assert_eq!(bells(&arrives(&mut model, plain_group)), 0);
    let mention = chat("#cs101", 11, "carol", now(), "alice, can you tell bob?");
    assert_eq!(bells(&arrives(&mut model, mention)), 1);
}

#[test]
fn a_muted_conversation_never_rings() {
    let mut model = demo_model(90, 30);
    let fx = press(&mut model, alt(KeyCode::Char('2')));
    answer_history(&mut model, &fx, Vec::new(), false);
    type_text(&mut model, "/mute");
    press(&mut model, plain(KeyCode::Enter));
    assert!(model.muted.contains(&conv("bob")));
    press(&mut model, Msg::Focus(false));
    assert_eq!(
        bells(&arrives(&mut model, chat("bob", 3, "bob", now(), "hi"))),
        0
    );
    // /mute again turns the bell back on.
    press(&mut model, Msg::Focus(true));
    type_text(&mut model, "/mute");
    press(&mut model, plain(KeyCode::Enter));
    press(&mut model, Msg::Focus(false));
    assert_eq!(
        bells(&arrives(&mut model, chat("bob", 4, "bob", now(), "hi?"))),
        1
    );
}

#[test]
fn unknown_conversation_names_in_events_make_a_conversation_in_its_sorted_place() {
    let mut model = demo_model(90, 30);
    arrives(&mut model, chat("#algebra", 1, "dave", now(), "hi all"));
    let names: Vec<String> = model.convs.iter().map(|c| c.conv.to_string()).collect();
    assert_eq!(
        names,
        ["#algebra", "#cs101", "bob", "carol", "dave", "erin"]
    );
    assert_eq!(
        selected_name(&model),
        "#cs101",
        "the open conversation stays open"
    );
    assert!(matches!(model.convs[0].conv, Conv::Group(_)));
}

#[test]
fn someone_added_to_a_group_counts_as_online_only_if_they_are() {
    let mut model = demo_model(90, 30);
    // carol (offline) adds frank (online) and erin (offline).
    for (seq, who) in [(10, "frank"), (11, "erin")] {
        arrives(
            &mut model,
            event(
                "#cs101",
                seq,
                "carol",
                now(),
                classchat_common::protocol::GroupEvent::Added { user: user(who) },
            ),
        );
    }
    let cs101 = conv_of(&model, "#cs101");
    let online = |name: &str| {
        cs101
            .roster
            .iter()
            .flatten()
            .find(|m| m.user.as_str() == name)
            .map(|m| m.online)
    };
    assert_eq!((online("frank"), online("erin")), (Some(true), Some(false)));
    assert_eq!(cs101.online_members(), Some((3, 5)));
}
