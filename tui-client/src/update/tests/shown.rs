//! What the screen says stays true: the count of who is online is the
//! server's, a notice about how something stands goes when it changes, the
//! input follows a renamed group, what waits for someone offline is said once,
//! and offer lines show how offers went while this client was away.

use classchat_common::protocol::{
    ChatMessage, FileCounts, FileInfo, FileOutcome, FileState, GroupEvent, MemberInfo, Req,
};
use classchat_common::{MessageId, ServerMessage};
use crossterm::event::KeyCode;

use super::*;
use crate::client::Event;
use crate::fixtures::files::*;
use crate::message::Msg;

/// The status line: the screen's last row.
fn status_line(model: &Model) -> String {
    screen(model).lines().last().unwrap_or_default().to_owned()
}

fn notice(model: &Model) -> Option<String> {
    model.notice.as_ref().map(|n| n.text.clone())
}

/// Moves the clock to `secs` after the demo's now, as the run loop's ticks do.
fn tick(model: &mut Model, secs: i64) {
    press(model, Msg::Tick(later(secs)));
}

fn online(total: usize) -> ServerMessage {
    ServerMessage::Online { total }
}

fn presence(name: &str, online: bool) -> ServerMessage {
    ServerMessage::Presence {
        user: user(name),
        online,
        last_seen: (!online).then(now),
    }
}

/// The server storing alice's message `id` to `to`, whose recipient is
/// offline since `last_seen` (or online, with `None`).
fn stored(id: MessageId, to: &str, seq: u64, last_seen: Option<Timestamp>) -> ServerMessage {
    ServerMessage::Stored {
        id,
        conv: conv(to),
        seq,
        ts: now(),
        of: 1,
        online: u32::from(last_seen.is_none()),
        last_seen,
        duplicate: false,
    }
}

// ---- who is online ---------------------------------------------------------

#[test]
fn the_online_count_is_the_servers_also_for_people_who_share_nothing_with_you() {
    // alice logs in first: she is alone.
    let mut model = alice_just_logged_in(90, 30);
    let fx = press(&mut model, connected(default_limits()));
    server(&mut model, ServerMessage::Synced { messages: 0 });
    answer_who(&mut model, &fx, &["alice"], 1);
    assert!(
        status_line(&model).contains("· 1 online"),
        "{}",
        status_line(&model)
    );

    // bob and carol log in after her; they share no conversation with her, so
    // no presence comes, only the server's count.
    server(&mut model, online(2));
    server(&mut model, online(3));
    assert!(
        status_line(&model).contains("· 3 online"),
        "{}",
        status_line(&model)
    );

    // A contact's presence alone does not move it: the count has one source.
    server(&mut model, presence("dave", true));
    assert!(
        status_line(&model).contains("· 3 online"),
        "{}",
        status_line(&model)
    );
    server(&mut model, online(4));

    // And `/who` says the same.
    open_who(&mut model, &["alice", "bob", "carol", "dave"], 4);
    assert!(matches!(
        model.popup,
        Some(crate::model::Popup::Who { total: 4, .. })
    ));
    assert_eq!(model.online_total, 4);
}

// ---- notices that describe how something stands -----------------------------

/// alice's `/create lab bob carol`, answered.
fn lab_created(model: &mut Model) {
    let fx = submit(model, "/create lab bob carol");
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Create { .. }));
    server(
        model,
        ServerMessage::Group {
            req,
            info: group_info("lab", "alice", 3, true),
        },
    );
}

#[test]
fn a_notice_about_a_groups_size_goes_when_the_size_changes() {
    let mut model = demo_model(100, 30);
    lab_created(&mut model);
    arrives(
        &mut model,
        event(
            "#lab",
            4,
            "alice",
            now(),
            GroupEvent::Kicked {
                user: user("carol"),
                banned: true,
            },
        ),
    );
    let fx = submit(&mut model, "/kick lab carol");
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Kick { .. }));
    server(
        &mut model,
        ServerMessage::Group {
            req,
            info: group_info("lab", "alice", 2, true),
        },
    );
    assert_eq!(
        notice(&model).as_deref(),
        Some("kick: #lab · owner alice · 2 members")
    );

    // carol is back (dave, say, joins): the group has 3 members, as its title says.
    arrives(
        &mut model,
        event("#lab", 5, "dave", now(), GroupEvent::Joined),
    );
    assert_eq!(conv_of(&model, "#lab").members, Some(3));
    assert_eq!(notice(&model), None, "it no longer says how #lab stands");
}

#[test]
fn a_notice_about_someones_presence_goes_when_it_changes() {
    let mut model = demo_model(90, 30);
    let fx = submit(&mut model, "/whois bob");
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Whois { .. }));
    server(
        &mut model,
        ServerMessage::User {
            req,
            user: user("bob"),
            online: true,
            last_seen: None,
            since: at(20, 9, 0),
        },
    );
    assert_eq!(notice(&model).as_deref(), Some("bob is online"));
    server(&mut model, presence("bob", false));
    assert_eq!(notice(&model), None);
}

#[test]
fn a_renamed_groups_empty_input_says_its_new_name() {
    let mut model = demo_model(90, 30);
    assert_eq!(
        (selected_name(&model), draft(&model)),
        ("#cs101".into(), String::new())
    );
    assert!(screen(&model).contains("Message #cs101 — Enter sends"));
    arrives(
        &mut model,
        event(
            "#CS-lab",
            10,
            "carol",
            now(),
            GroupEvent::Renamed {
                old: "cs101".parse().expect("a group name"),
                new: "CS-lab".parse().expect("a group name"),
            },
        ),
    );
    assert_eq!(selected_name(&model), "#CS-lab");
    let shown = screen(&model);
    assert!(shown.contains("Message #CS-lab — Enter sends"), "{shown}");
    assert!(!shown.contains("Message #cs101"), "{shown}");
}

// ---- offline ---------------------------------------------------------------

#[test]
fn messages_to_someone_offline_say_so_once_naming_when_they_were_last_seen() {
    let mut model = demo_model(100, 30);
    let first = sent_id(&submit(&mut model, "/msg carol are you there?"));
    server(&mut model, stored(first, "carol", 3, Some(hours_ago(2))));
    assert_eq!(
        notice(&model).as_deref(),
        Some("carol is offline, last seen 2h ago — it waits for them")
    );
    tick(&mut model, 10);
    assert_eq!(notice(&model), None, "the notice had its time");

    // The second message, and a file offer, wait as the first does: nothing new to say.
    let second = send_text(&mut model, "call me when you are back");
    server(&mut model, stored(second, "carol", 4, Some(hours_ago(2))));
    server(
        &mut model,
        ServerMessage::Uploaded {
            offer: offer_id(9),
            conv: conv("carol"),
            seq: 5,
        },
    );
    assert_eq!(notice(&model), None, "said once, not per message");

    // She came and went again: that is news again.
    server(&mut model, presence("carol", true));
    server(&mut model, presence("carol", false));
    tick(&mut model, 20);
    let third = send_text(&mut model, "missed you");
    server(&mut model, stored(third, "carol", 6, Some(later(15))));
    assert_eq!(
        notice(&model).as_deref(),
        Some("carol is offline, last seen just now — it waits for them")
    );
    // And once she is back, it is no longer true.
    server(&mut model, presence("carol", true));
    assert_eq!(notice(&model), None);
}

#[test]
fn a_message_to_someone_online_says_nothing() {
    let mut model = demo_model(100, 30);
    let id = sent_id(&submit(&mut model, "/msg bob hi"));
    server(&mut model, stored(id, "bob", 1, None));
    assert_eq!(notice(&model), None);
}

// ---- how offers went ---------------------------------------------------------

fn outcome(counts: FileCounts, state: Option<FileState>, over: bool) -> FileInfo {
    FileInfo {
        outcome: Some(Box::new(FileOutcome {
            counts,
            state,
            over,
        })),
        ..file_info(1, "notes.pdf", 1_000)
    }
}

fn refreshed(model: &mut Model, conv_name: &str, messages: Vec<ChatMessage>) {
    press(
        model,
        Msg::Net(Event::Refreshed {
            conv: conv(conv_name),
            messages,
        }),
    );
}

/// bob's conversation open, holding alice's offer of notes.pdf (seq 3) as it
/// came live, before anyone answered.
fn offered_to_bob() -> Model {
    let mut model = files_model(90, 30);
    let fx = press(&mut model, alt(KeyCode::Char('2')));
    answer_history(&mut model, &fx, Vec::new(), false);
    arrives(
        &mut model,
        file_offer("bob", 3, "alice", now(), file_info(1, "notes.pdf", 1_000)),
    );
    assert!(screen(&model).contains("offered — waiting for answers"));
    model
}

#[test]
fn after_a_reconnect_your_offer_line_says_it_was_declined_meanwhile() {
    let mut model = offered_to_bob();
    let declined = outcome(file_counts(0, 1, 0, 1), None, true);
    refreshed(
        &mut model,
        "bob",
        vec![file_offer("bob", 3, "alice", now(), declined)],
    );
    let shown = screen(&model);
    assert!(shown.contains("offered — declined"), "{shown}");
}

#[test]
fn an_offer_made_on_another_device_while_away_shows_with_how_it_went() {
    let mut model = files_model(90, 30);
    let fx = press(&mut model, alt(KeyCode::Char('2')));
    answer_history(&mut model, &fx, Vec::new(), false);
    let received = outcome(file_counts(1, 0, 1, 1), None, true);
    refreshed(
        &mut model,
        "bob",
        vec![
            chat("bob", 3, "alice", now(), "here are my notes"),
            file_offer("bob", 4, "alice", now(), received),
        ],
    );
    let shown = screen(&model);
    assert!(shown.contains("here are my notes"), "{shown}");
    assert!(shown.contains("offered — received"), "{shown}");
}

#[test]
fn an_offer_answered_on_another_device_says_so_and_waits_for_nothing() {
    let mut model = files_model(90, 30);
    let fx = press(&mut model, alt(KeyCode::Char('2')));
    answer_history(&mut model, &fx, Vec::new(), false);
    let answered = outcome(file_counts(0, 1, 0, 1), Some(FileState::Declined), true);
    refreshed(
        &mut model,
        "bob",
        vec![file_offer("bob", 4, "bob", now(), answered)],
    );
    let shown = screen(&model);
    assert!(shown.contains("declined"), "{shown}");
    assert_eq!(model.offers.waiting(&model.transfers, model.now).count(), 0);
    assert!(!shown.contains("file offer"), "nothing waits: {shown}");
}

#[test]
fn an_offer_over_without_every_answer_was_withdrawn_or_ran_out() {
    let mut model = offered_to_bob();
    let silent = outcome(file_counts(0, 0, 0, 1), None, true);
    refreshed(
        &mut model,
        "bob",
        vec![file_offer("bob", 3, "alice", now(), silent.clone())],
    );
    assert!(screen(&model).contains("offered — withdrawn"));

    let mut model = offered_to_bob();
    tick(&mut model, 8 * 86_400);
    refreshed(
        &mut model,
        "bob",
        vec![file_offer("bob", 3, "alice", now(), silent)],
    );
    assert!(screen(&model).contains("offered — expired"));
}

#[test]
fn a_history_page_shows_how_each_offer_in_it_went() {
    let mut model = files_model(90, 30);
    let fx = press(&mut model, alt(KeyCode::Char('2')));
    let group = outcome(file_counts(1, 1, 1, 2), None, true);
    answer_history(
        &mut model,
        &fx,
        vec![file_offer("bob", 3, "alice", now(), group)],
        false,
    );
    let shown = screen(&model);
    assert!(
        shown.contains("offered — 1/2 received, 1 declined"),
        "{shown}"
    );
}

// ---- news caught up at login -------------------------------------------------

#[test]
fn a_group_deleted_while_away_is_told_and_not_counted_as_a_message_that_arrived() {
    let mut model = demo_model(90, 30);
    press(&mut model, connected(default_limits()));
    arrives(
        &mut model,
        event("#cs101", 12, "carol", now(), GroupEvent::Deleted),
    );
    server(&mut model, ServerMessage::Synced { messages: 1 });
    assert_eq!(notice(&model).as_deref(), Some("carol deleted #cs101"));
    assert!(model.find(&conv("#cs101")).is_none());
}

#[test]
fn being_removed_while_away_is_told_once_and_nothing_else_claims_to_have_arrived() {
    let mut model = demo_model(90, 30);
    press(&mut model, connected(default_limits()));
    arrives(
        &mut model,
        event(
            "#cs101",
            12,
            "carol",
            now(),
            GroupEvent::Kicked {
                user: user("alice"),
                banned: true,
            },
        ),
    );
    server(&mut model, ServerMessage::Synced { messages: 1 });
    let removed = "carol removed you from #cs101 and banned you until the owner lifts it";
    assert_eq!(notice(&model).as_deref(), Some(removed));
    // Read by now, and nothing waits to take its place.
    tick(&mut model, 6);
    assert_eq!(
        notice(&model).as_deref(),
        Some(removed),
        "no \"1 message arrived\" after it"
    );
}

/// alice, logged in with nobody else online: no presence comes of anyone.
fn alice_alone() -> Model {
    let mut model = alice_just_logged_in(100, 30);
    let fx = press(&mut model, connected(default_limits()));
    server(&mut model, ServerMessage::Synced { messages: 0 });
    answer_who(&mut model, &fx, &["alice"], 1);
    model
}

/// The server's answer `req` to the members of alice's #lab.
fn lab_roster_answer(req: Option<Req>, members: Vec<MemberInfo>) -> ServerMessage {
    ServerMessage::Members {
        req,
        group: "lab".parse().expect("a valid group name"),
        owner: user("alice"),
        total: members.len(),
        members,
        banned: Vec::new(),
    }
}

/// alice makes #lab, which shows her its roster: her alone.
fn alice_makes_lab(model: &mut Model) {
    let fx = submit(model, "/create lab");
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Create { .. }));
    let info = group_info("lab", "alice", 1, true);
    let fx = server(model, ServerMessage::Group { req, info });
    let req = req_of(&fx, |m| matches!(m, ClientMessage::Members { .. }));
    server(
        model,
        lab_roster_answer(req, vec![member("alice", true, None)]),
    );
    assert!(
        status_line(model).contains("#lab · 1/1 online"),
        "{}",
        status_line(model)
    );
}

fn added_to_lab(name: &str, seq: u64) -> ChatMessage {
    let added = GroupEvent::Added { user: user(name) };
    event("#lab", seq, "alice", now(), added)
}

#[test]
fn someone_learned_to_be_online_from_a_stored_message_is_online_when_added_to_a_group() {
    // bob comes after alice, sharing nothing with her: no presence of his.
    let mut model = alice_alone();
    server(&mut model, online(2));
    // Her first message to him says he is online (the server's count of
    // recipients connected).
    let id = sent_id(&submit(&mut model, "/msg bob hi"));
    server(&mut model, stored(id, "bob", 1, None));

    // She makes a group and adds him: he is online there too.
    alice_makes_lab(&mut model);
    let fx = arrives(&mut model, added_to_lab("bob", 2));
    assert!(
        status_line(&model).contains("#lab · 2/2 online"),
        "{}",
        status_line(&model)
    );
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Ask(ClientMessage::Members { .. }))),
        "known to be online: nothing to ask"
    );
}

#[test]
fn someone_added_to_a_group_of_whom_nothing_was_heard_is_asked_after() {
    // carol and dave share nothing with alice: no presence of theirs comes,
    // and the roster cannot know whether they are online.
    let mut model = alice_alone();
    alice_makes_lab(&mut model);

    // Two added at once: the roster is asked for once.
    let mut fx = arrives(&mut model, added_to_lab("carol", 2));
    fx.extend(arrives(&mut model, added_to_lab("dave", 3)));
    let asks: Vec<Req> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::Members { req, .. }) => *req,
            _ => None,
        })
        .collect();
    let [req] = asks[..] else {
        panic!("one roster asked for, not {asks:?}")
    };
    assert!(status_line(&model).contains("#lab · 1/3 online"));
    let members = vec![
        member("alice", true, None),
        member("carol", false, None),
        member("dave", false, Some(at(1, 8, 0))),
    ];
    server(&mut model, lab_roster_answer(Some(req), members));
    assert!(
        status_line(&model).contains("#lab · 2/3 online"),
        "{}",
        status_line(&model)
    );
    assert!(model.popup.is_none(), "asked quietly: no popup");
    assert_eq!(notice(&model), None, "nor a word");
}
