//! Groups: every command, every refusal of someone who may not, ownership passing
//! on, late joiners, offline members (also across a restart) and per-member receipts.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use classchat_common::protocol::{
    Access, ChatMessage, ConvSummary, Counts, GroupEvent, GroupInfo, MemberInfo, MemberState,
    Posting, Req, Role,
};
use classchat_common::{ClientMessage, ErrorCode, GroupName, MessageId, ServerMessage, Username};
use classchat_server::ratelimit::Rate;
use support::{ServerOptions, TestClient, TestServer, conv, send_to, start_server, user};

fn group(name: &str) -> GroupName {
    GroupName::new(name).expect("a valid group name")
}

/// A request still missing its `req`, which [`ask`] fills in.
type Request = Box<dyn FnOnce(Option<Req>) -> ClientMessage + Send>;

fn create(g: &str) -> Request {
    let group = group(g);
    Box::new(move |req| ClientMessage::Create {
        req,
        group,
        members: Vec::new(),
        access: None,
        posting: None,
    })
}

fn create_with(g: &str, names: &[&str]) -> Request {
    let group = group(g);
    let members = names.iter().map(|n| user(n)).collect();
    Box::new(move |req| ClientMessage::Create {
        req,
        group,
        members,
        access: None,
        posting: None,
    })
}

fn create_ruled(
    g: &str,
    names: &[&str],
    access: Option<Access>,
    posting: Option<Posting>,
) -> Request {
    let group = group(g);
    let members = names.iter().map(|n| user(n)).collect();
    Box::new(move |req| ClientMessage::Create {
        req,
        group,
        members,
        access,
        posting,
    })
}

fn pin(g: &str, seq: u64, pinned: bool) -> Request {
    let group = group(g);
    Box::new(move |req| match pinned {
        true => ClientMessage::Pin { req, group, seq },
        false => ClientMessage::Unpin { req, group, seq },
    })
}

fn unban(g: &str, who: &str) -> Request {
    let (group, user) = (group(g), user(who));
    Box::new(move |req| ClientMessage::Unban { req, group, user })
}

fn set_role(g: &str, who: &str, role: Role) -> Request {
    let (group, user) = (group(g), user(who));
    Box::new(move |req| ClientMessage::Role {
        req,
        group,
        user,
        role,
    })
}

fn settings(g: &str, access: Option<Access>, posting: Option<Posting>) -> Request {
    let group = group(g);
    Box::new(move |req| ClientMessage::Settings {
        req,
        group,
        access,
        posting,
    })
}

fn join(g: &str) -> Request {
    let group = group(g);
    Box::new(move |req| ClientMessage::Join { req, group })
}

fn leave(g: &str) -> Request {
    let group = group(g);
    Box::new(move |req| ClientMessage::Leave { req, group })
}

fn list_groups() -> Request {
    Box::new(|req| ClientMessage::Groups { req })
}

fn members(g: &str) -> Request {
    let group = group(g);
    Box::new(move |req| ClientMessage::Members { req, group })
}

fn rename(g: &str, to: &str) -> Request {
    let (group, to) = (group(g), group(to));
    Box::new(move |req| ClientMessage::Rename { req, group, to })
}

fn add(g: &str, who: &str) -> Request {
    let (group, user) = (group(g), user(who));
    Box::new(move |req| ClientMessage::Add { req, group, user })
}

fn kick(g: &str, who: &str) -> Request {
    let (group, user) = (group(g), user(who));
    Box::new(move |req| ClientMessage::Kick { req, group, user })
}

fn hand_over(g: &str, who: &str) -> Request {
    let (group, user) = (group(g), user(who));
    Box::new(move |req| ClientMessage::Owner { req, group, user })
}

fn delete(g: &str) -> Request {
    let group = group(g);
    Box::new(move |req| ClientMessage::Delete { req, group })
}

fn history(c: &str) -> Request {
    let conv = conv(c);
    Box::new(move |req| ClientMessage::History {
        req,
        conv,
        before: None,
        after: None,
        limit: None,
    })
}

fn read(c: &str, seq: Option<u64>) -> Request {
    let conv = conv(c);
    Box::new(move |req| ClientMessage::Read { req, conv, seq })
}

fn read_by(id: MessageId) -> Request {
    Box::new(move |req| ClientMessage::ReadBy { req, id })
}

fn conversations() -> Request {
    Box::new(|req| ClientMessage::Conversations { req })
}

/// A request's answer, and the chat messages (group events, mostly) that came before it.
#[derive(Debug)]
struct Answer {
    reply: ServerMessage,
    before: Vec<ChatMessage>,
}

/// Sends a request with a fresh `req` and waits for its answer, keeping the chat
/// messages that come first and passing over presence changes and receipts.
async fn ask(c: &mut TestClient, request: Request) -> Answer {
    let req = c.req();
    c.send(request(Some(req))).await;
    let mut before = Vec::new();
    for _ in 0..200 {
        match c.recv().await {
            reply if reply.req() == Some(req) => return Answer { reply, before },
            ServerMessage::Message(m) => before.push(m),
            ServerMessage::Presence { .. } | ServerMessage::Receipt { .. } => {}
            other => panic!("waiting for the answer to request {req}, got {other:?}"),
        }
    }
    panic!("no answer to request {req} among 200 messages");
}

/// Asks, expecting the group the request changed or joined.
async fn ok(c: &mut TestClient, request: Request) -> (GroupInfo, Vec<ChatMessage>) {
    let a = ask(c, request).await;
    let info = expect!(a.reply, ServerMessage::Group { info, .. } => info);
    (info, a.before)
}

/// Asks, expecting a refusal with `code` and no group event; returns its sentence.
async fn refused(c: &mut TestClient, request: Request, code: ErrorCode) -> String {
    let a = ask(c, request).await;
    let message = match a.reply {
        ServerMessage::Error {
            code: got, message, ..
        } => {
            assert_eq!(got, code, "wrong error code ({message})");
            message
        }
        other => panic!("expected error {code:?}, got {other:?}"),
    };
    assert!(!message.is_empty(), "a refusal says why");
    assert!(
        a.before.is_empty(),
        "a refusal changes nothing: {:?}",
        a.before
    );
    message
}

/// Sends a message that must be refused with `code`, naming its `id`.
async fn refused_send(c: &mut TestClient, to: &str, code: ErrorCode) -> String {
    let (id, msg) = send_to(to, "is anyone there?");
    c.send(msg).await;
    let reply = c
        .recv_until(20, |m| {
            matches!(
                m,
                ServerMessage::Error { .. } | ServerMessage::Stored { .. }
            )
        })
        .await;
    let (got_id, got_code, message) = expect!(
        reply,
        ServerMessage::Error { id, code, message, .. } => (id, code, message)
    );
    assert_eq!(got_code, code, "wrong error code ({message})");
    assert_eq!(got_id, Some(id), "the refusal names the message");
    message
}

/// The next chat message, which must be a group event.
async fn next_event(c: &mut TestClient) -> ChatMessage {
    let m = c.recv_message().await;
    assert!(m.event.is_some(), "expected a group event, got {m:?}");
    m
}

/// The next message that is not a presence change, which must be a receipt:
/// (whose, joined, delivered, read).
async fn next_receipt(c: &mut TestClient, g: &str) -> (Username, u64, u64, u64) {
    for _ in 0..20 {
        match c.recv().await {
            ServerMessage::Presence { .. } => {}
            ServerMessage::Receipt {
                conv,
                user,
                joined,
                delivered,
                read,
            } => {
                assert_eq!(conv.to_string(), format!("#{g}"));
                return (user, joined, delivered, read);
            }
            other => panic!("expected a receipt, got {other:?}"),
        }
    }
    panic!("only presence changes, no receipt");
}

/// Checks that `m` records `event`, done by `by`, in `#g` (spelled exactly so).
#[track_caller]
fn assert_event(m: &ChatMessage, g: &str, by: &str, event: &GroupEvent) {
    assert_eq!(m.conv.to_string(), format!("#{g}"), "{m:?}");
    assert_eq!(m.from.as_str(), by, "{m:?}");
    assert_eq!(m.event.as_ref(), Some(event), "{m:?}");
    assert_eq!(m.counts, None, "events carry no counts: {m:?}");
}

fn name(c: &TestClient) -> String {
    c.name.as_ref().expect("logged in").to_string()
}

/// `owner` creates `g` and each of `others` joins it, in order; every event this
/// causes is read by everyone it reaches. Returns the group's last sequence number.
async fn form_group(g: &str, owner: &mut TestClient, others: &mut [&mut TestClient]) -> u64 {
    let (info, events) = ok(owner, create(g)).await;
    assert_eq!((info.members, info.member), (1, true));
    assert_eq!(events.len(), 1, "{events:?}");
    for i in 0..others.len() {
        let who = name(others[i]);
        let (info, events) = ok(others[i], join(g)).await;
        assert_eq!(info.members as usize, i + 2);
        assert_event(&events[0], g, &who, &GroupEvent::Joined);
        assert_event(&next_event(owner).await, g, &who, &GroupEvent::Joined);
        for earlier in others[..i].iter_mut() {
            assert_event(&next_event(earlier).await, g, &who, &GroupEvent::Joined);
        }
    }
    others.len() as u64 + 1
}

fn groups_of(reply: ServerMessage) -> Vec<(String, String, u32, bool)> {
    let groups = expect!(reply, ServerMessage::Groups { groups, .. } => groups);
    groups
        .iter()
        .map(|g| {
            (
                g.group.to_string(),
                g.owner.to_string(),
                g.members,
                g.member,
            )
        })
        .collect()
}

fn members_of(reply: ServerMessage) -> (String, Vec<MemberInfo>) {
    expect!(reply, ServerMessage::Members { owner, members, .. } => (owner.to_string(), members))
}

fn member_names(members: &[MemberInfo]) -> Vec<String> {
    members.iter().map(|m| m.user.to_string()).collect()
}

fn history_of(reply: ServerMessage) -> Vec<ChatMessage> {
    expect!(reply, ServerMessage::History { messages, .. } => messages)
}

fn read_by_of(reply: ServerMessage) -> (Counts, Vec<MemberState>) {
    expect!(reply, ServerMessage::ReadBy { counts, members, .. } => (counts, members))
}

fn member_state(who: &str, delivered: bool, read: bool) -> MemberState {
    MemberState {
        user: user(who),
        delivered,
        read,
    }
}

fn counts(delivered: u32, read: u32, of: u32) -> Counts {
    Counts {
        delivered,
        read,
        of,
    }
}

fn stored_counts(stored: &ServerMessage) -> (u64, u32, u32) {
    expect!(stored, ServerMessage::Stored { seq, of, online, .. } => (*seq, *of, *online))
}

async fn ack(c: &mut TestClient, conv_name: &str, seq: u64) {
    c.send(ClientMessage::Ack {
        conv: conv(conv_name),
        seq,
    })
    .await;
}

// ---------------------------------------------------------------------------
// Every command

async fn create_join_leave_groups_and_members_do_what_they_say(server: TestServer) {
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;

    // The creator owns the group, is its only member, and its history opens with that.
    let (info, events) = ok(&mut alice, create("cs101")).await;
    assert_eq!(info.group.as_str(), "cs101");
    assert_eq!(info.owner.as_str(), "alice");
    assert_eq!((info.members, info.member), (1, true));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_event(&events[0], "cs101", "alice", &GroupEvent::Created);
    assert_eq!(events[0].seq, 1);
    assert_eq!(events[0].body, "alice created #cs101");

    // A join (in any case) is seen by the joiner and every connected member.
    let (info, events) = ok(&mut bob, join("CS101")).await;
    assert_eq!(info.group.as_str(), "cs101", "the group keeps its spelling");
    assert_eq!(
        (info.owner.as_str(), info.members, info.member),
        ("alice", 2, true)
    );
    assert_event(&events[0], "cs101", "bob", &GroupEvent::Joined);
    let seen = next_event(&mut alice).await;
    assert_event(&seen, "cs101", "bob", &GroupEvent::Joined);
    assert_eq!((seen.seq, seen.id), (2, events[0].id));
    assert_eq!(seen.body, "bob joined #cs101");

    let (info, events) = ok(&mut carol, join("cs101")).await;
    assert_eq!((info.members, info.member), (3, true));
    assert_event(&events[0], "cs101", "carol", &GroupEvent::Joined);
    for c in [&mut alice, &mut bob] {
        let seen = next_event(c).await;
        assert_event(&seen, "cs101", "carol", &GroupEvent::Joined);
        assert_eq!(seen.seq, 3);
    }

    ok(&mut bob, create("Algebra")).await;
    ok(&mut carol, create("zoo")).await;
    carol.bye().await;

    // Every group, sorted without regard to case, with whether the asker is in it.
    assert_eq!(
        groups_of(ask(&mut bob, list_groups()).await.reply),
        [
            ("Algebra".into(), "bob".into(), 1, true),
            ("cs101".into(), "alice".into(), 3, true),
            ("zoo".into(), "carol".into(), 1, false),
        ]
    );

    // Members: the owner flagged, each online or with a last-seen time.
    let (owner, list) = members_of(ask(&mut bob, members("cs101")).await.reply);
    assert_eq!(owner, "alice");
    assert_eq!(member_names(&list), ["alice", "bob", "carol"]);
    let flags: Vec<_> = list
        .iter()
        .map(|m| (m.owner, m.online, m.last_seen.is_some()))
        .collect();
    assert_eq!(
        flags,
        [
            (true, true, false),
            (false, true, false),
            (false, false, true)
        ]
    );
    assert!(list[0].joined <= list[1].joined && list[1].joined <= list[2].joined);

    // Leaving: seen by the leaver and the members who stay.
    let (info, events) = ok(&mut bob, leave("cs101")).await;
    assert_eq!(
        (info.owner.as_str(), info.members, info.member),
        ("alice", 2, false)
    );
    assert_event(&events[0], "cs101", "bob", &GroupEvent::Left);
    let seen = next_event(&mut alice).await;
    assert_event(&seen, "cs101", "bob", &GroupEvent::Left);
    assert_eq!((seen.seq, seen.body.as_str()), (4, "bob left #cs101"));
    assert_eq!(
        groups_of(ask(&mut bob, list_groups()).await.reply)[1],
        ("cs101".into(), "alice".into(), 2, false)
    );
    // Who left is no longer sent the group's messages.
    alice.send_stored("#cs101", "bob is gone").await;
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn create_join_leave_groups_and_members_do_what_they_say_on_ipv4_with_sqlite() {
    create_join_leave_groups_and_members_do_what_they_say(TestServer::start().await).await;
}

#[tokio::test]
async fn create_join_leave_groups_and_members_do_what_they_say_on_ipv6_in_memory() {
    create_join_leave_groups_and_members_do_what_they_say(
        start_server(ServerOptions::default().ipv6().memory()).await,
    )
    .await;
}

#[tokio::test]
async fn a_group_message_reaches_every_member_with_its_sender_and_the_group() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let mut dave = server.login("dave").await;
    form_group("g", &mut alice, &mut [&mut bob, &mut carol]).await;

    let (id, stored) = alice.send_stored("#G", "hello, group").await;
    expect!(&stored, ServerMessage::Stored { conv, .. } => assert_eq!(conv.to_string(), "#g"));
    assert_eq!(stored_counts(&stored), (4, 2, 2));
    for c in [&mut bob, &mut carol] {
        let m = c.recv_message().await;
        assert_eq!(m.conv.to_string(), "#g");
        assert_eq!((m.id, m.seq, m.from.as_str()), (id, 4, "alice"));
        assert_eq!(m.body, "hello, group");
        assert_eq!((m.event, m.counts), (None, None));
    }
    let (reply, _) = bob.send_stored("#g", "hello, alice").await;
    for c in [&mut alice, &mut carol] {
        let m = c.recv_message().await;
        assert_eq!((m.id, m.seq, m.from.as_str()), (reply, 5, "bob"));
        assert_eq!(m.conv.to_string(), "#g");
    }
    // Not echoed to the sender's only connection, and nothing for outsiders.
    for c in [&mut alice, &mut bob, &mut carol, &mut dave] {
        c.expect_nothing_pending().await;
    }
}

#[tokio::test]
async fn leaving_from_one_connection_takes_every_connection_of_that_user_out() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut laptop = server.login("bob").await;
    form_group("g", &mut alice, &mut [&mut laptop]).await;
    let mut phone = TestClient::resume(server.addr, "bob", laptop.token()).await;

    let (id, _) = alice.send_stored("#g", "to both of bob's screens").await;
    for c in [&mut laptop, &mut phone] {
        assert_eq!(c.recv_message().await.id, id);
    }
    // What bob sends from one connection shows on the other.
    let (own, _) = phone.send_stored("#g", "from my phone").await;
    for c in [&mut alice, &mut laptop] {
        let m = c.recv_message().await;
        assert_eq!((m.id, m.from.as_str()), (own, "bob"));
    }

    ok(&mut phone, leave("g")).await;
    assert_event(
        &next_event(&mut laptop).await,
        "g",
        "bob",
        &GroupEvent::Left,
    );
    assert_event(&next_event(&mut alice).await, "g", "bob", &GroupEvent::Left);
    alice.send_stored("#g", "bob has gone").await;
    laptop.expect_nothing_pending().await;
    phone.expect_nothing_pending().await;
    refused_send(&mut laptop, "#g", ErrorCode::NotMember).await;
}

/// Messages written back to back reach the hub together and go out as one
/// batch: every connection of every member still gets each of them once, in
/// the group's order, with the direct messages sent among them in their place.
#[tokio::test]
async fn a_burst_to_a_group_reaches_every_connection_of_every_member_once_and_in_order() {
    const EACH: usize = 100;
    let server = start_server(
        ServerOptions::default()
            .sqlite()
            .config(|c| c.rates.messages = Rate::per_second(10_000, 10_000)),
    )
    .await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut laptop = server.login("carol").await;
    let last = form_group("g", &mut alice, &mut [&mut bob, &mut laptop]).await;
    let mut phone = TestClient::resume(server.addr, "carol", laptop.token()).await;

    for i in 0..EACH {
        alice.send(send_to("#g", &format!("a{i}")).1).await;
        bob.send(send_to("#g", &format!("b{i}")).1).await;
        if i % 10 == 0 {
            alice.send(send_to("carol", &format!("d{i}")).1).await;
        }
    }
    for c in [&mut laptop, &mut phone] {
        let (mut seq, mut from_alice, mut from_bob, mut direct) = (last, 0, 0, 0);
        for _ in 0..2 * EACH + EACH / 10 {
            let m = c.recv_message().await;
            match (m.conv.to_string().as_str(), m.from.as_str()) {
                ("#g", who) => {
                    seq += 1;
                    assert_eq!(m.seq, seq, "the group's messages in order");
                    let n = if who == "alice" {
                        &mut from_alice
                    } else {
                        &mut from_bob
                    };
                    assert_eq!(m.body, format!("{}{n}", &who[..1]));
                    *n += 1;
                }
                ("alice", "alice") => {
                    assert_eq!(m.body, format!("d{direct}"));
                    direct += 10;
                }
                other => panic!("unexpected {other:?}: {m:?}"),
            }
        }
        assert_eq!((from_alice, from_bob, direct), (EACH, EACH, EACH));
        c.expect_nothing_pending().await;
    }
}

#[tokio::test]
async fn renaming_a_group_changes_its_name_everywhere_and_retires_the_old_one() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("old", &mut alice, &mut [&mut bob, &mut carol]).await;
    let carol_token = carol.token().to_owned();
    carol.bye().await;
    ok(&mut alice, create("taken")).await;

    let why = refused(&mut alice, rename("old", "TAKEN"), ErrorCode::GroupExists).await;
    assert!(why.contains("#taken"), "{why}");

    let (info, events) = ok(&mut alice, rename("old", "New")).await;
    assert_eq!((info.group.as_str(), info.members), ("New", 3));
    let renamed = GroupEvent::Renamed {
        old: group("old"),
        new: group("New"),
    };
    assert_event(&events[0], "New", "alice", &renamed);
    assert_eq!(events[0].body, "alice renamed #old to #New");
    let seen = next_event(&mut bob).await;
    assert_event(&seen, "New", "alice", &renamed);
    assert_eq!(seen.seq, 4);

    // Later messages carry the new name.
    let (id, stored) = alice.send_stored("#new", "same group, new name").await;
    expect!(&stored, ServerMessage::Stored { conv, .. } => assert_eq!(conv.to_string(), "#New"));
    let m = bob.recv_message().await;
    assert_eq!((m.id, m.conv.to_string()), (id, "#New".to_owned()));
    // A member who was away hears of it under the new name too.
    let carol = TestClient::resume(server.addr, "carol", &carol_token).await;
    assert_eq!(carol.caught_up.len(), 2, "{:?}", carol.caught_up);
    assert_event(&carol.caught_up[0], "New", "alice", &renamed);
    assert_eq!(carol.caught_up[1].id, id);
    assert_eq!(carol.caught_up[1].conv.to_string(), "#New");

    // The old name is unknown now, and free for a new group.
    refused_send(&mut alice, "#old", ErrorCode::UnknownGroup).await;
    refused(&mut bob, members("old"), ErrorCode::UnknownGroup).await;
    refused(&mut bob, history("#old"), ErrorCode::UnknownGroup).await;
    refused(&mut bob, join("old"), ErrorCode::UnknownGroup).await;
    assert_eq!(
        groups_of(ask(&mut bob, list_groups()).await.reply),
        [
            ("New".into(), "alice".into(), 3, true),
            ("taken".into(), "alice".into(), 1, false),
        ]
    );
    // The history moved with the group.
    let past = history_of(ask(&mut bob, history("#new")).await.reply);
    assert_eq!(
        past.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert!(past.iter().all(|m| m.conv.to_string() == "#New"));
    ok(&mut bob, create("old")).await;
}

#[tokio::test]
async fn after_a_rename_earlier_events_in_history_and_catch_up_name_the_group_as_it_is_now() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let dave = server.login("dave").await;
    let dave_token = dave.token().to_owned();
    dave.bye().await;
    ok(&mut alice, create("cs101")).await;
    ok(&mut alice, add("cs101", "dave")).await;
    ok(&mut alice, rename("cs101", "CS-101")).await;
    // PROTOCOL.md §10.13: a body is made with the group's current name; only
    // the `renamed` event names the old one, as what it was.
    let expected = [
        "alice created #CS-101",
        "alice added dave to #CS-101",
        "alice renamed #cs101 to #CS-101",
    ];
    let past = history_of(ask(&mut alice, history("#cs-101")).await.reply);
    let bodies: Vec<&str> = past.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, expected);
    let dave = TestClient::resume(server.addr, "dave", &dave_token).await;
    let bodies: Vec<&str> = dave.caught_up.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, expected[1..]);
}

#[tokio::test]
async fn a_member_removed_while_away_is_told_at_every_login_until_they_acknowledge_it() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut carol = server.login("carol").await;
    form_group("lab", &mut alice, &mut [&mut carol]).await;
    let carol_token = carol.token().to_owned();
    carol.bye().await;
    let (_, events) = ok(&mut alice, kick("lab", "carol")).await;
    let kicked = GroupEvent::Kicked {
        user: user("carol"),
        banned: true,
    };
    assert_event(&events[0], "lab", "alice", &kicked);

    // Told at the next login, and again after a restart while unacknowledged.
    let carol = TestClient::resume(server.addr, "carol", &carol_token).await;
    assert_eq!(carol.caught_up, events);
    assert_eq!(carol.synced, 1);
    drop(carol);
    let server = server.restart().await;
    let mut carol = TestClient::resume(server.addr, "carol", &carol_token).await;
    assert_eq!(carol.caught_up, events);
    // Acknowledged like any message: then never again.
    ack(&mut carol, "#lab", events[0].seq).await;
    drop(carol);
    let carol = TestClient::resume(server.addr, "carol", &carol_token).await;
    assert!(carol.caught_up.is_empty(), "{:?}", carol.caught_up);
}

#[tokio::test]
async fn a_group_deleted_while_a_member_was_away_is_told_to_them_and_rejoining_forgets_old_news() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    form_group("g", &mut alice, &mut [&mut bob]).await;
    let bob_token = bob.token().to_owned();
    bob.bye().await;
    let a = ask(&mut alice, delete("g")).await;
    assert_event(&a.before[0], "g", "alice", &GroupEvent::Deleted);
    let bob = TestClient::resume(server.addr, "bob", &bob_token).await;
    assert_eq!(bob.caught_up.len(), 1, "{:?}", bob.caught_up);
    assert_event(&bob.caught_up[0], "g", "alice", &GroupEvent::Deleted);
    // The owner who deleted it is not told what they did.
    let alice_again = TestClient::resume(server.addr, "alice", alice.token()).await;
    assert!(
        alice_again.caught_up.is_empty(),
        "{:?}",
        alice_again.caught_up
    );
    drop(bob);

    // A new #g that bob is added to: the old news is dropped, the new told.
    ok(&mut alice, create("g")).await;
    ok(&mut alice, add("g", "bob")).await;
    let bob = TestClient::resume(server.addr, "bob", &bob_token).await;
    assert_eq!(bob.caught_up.len(), 1, "{:?}", bob.caught_up);
    assert_event(
        &bob.caught_up[0],
        "g",
        "alice",
        &GroupEvent::Added { user: user("bob") },
    );
}

#[tokio::test]
async fn a_group_created_with_members_has_them_at_once_or_is_not_created_at_all() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    server.login("carol").await.bye().await;

    // One unknown name: no group, not half of one.
    let why = refused(
        &mut alice,
        create_with("lab", &["bob", "nobody"]),
        ErrorCode::UnknownUser,
    )
    .await;
    assert!(why.contains("nobody"), "{why}");
    refused(&mut alice, members("lab"), ErrorCode::UnknownGroup).await;

    // The creator and repeats are taken once.
    let (info, events) = ok(
        &mut alice,
        create_with("lab", &["Bob", "carol", "alice", "bob"]),
    )
    .await;
    assert_eq!(info.members, 3);
    assert_event(&events[0], "lab", "alice", &GroupEvent::Created);
    let added = |n: &str| GroupEvent::Added { user: user(n) };
    assert_event(&events[1], "lab", "alice", &added("bob"));
    assert_event(&events[2], "lab", "alice", &added("carol"));
    assert_eq!(events.len(), 3);
    assert_event(&next_event(&mut bob).await, "lab", "alice", &added("bob"));
    let (id, _) = bob.send_stored("#lab", "here from the start").await;
    assert_eq!(alice.recv_message().await.id, id);

    // carol, away, finds the group and what was said in it; after a restart too.
    let server = server.restart().await;
    let carol = server.login("carol").await;
    assert_eq!(carol.caught_up.len(), 2, "{:?}", carol.caught_up);
    assert_event(&carol.caught_up[0], "lab", "alice", &added("carol"));
    assert_eq!(carol.caught_up[1].id, id);

    let many: Vec<String> = (0..=classchat_common::limits::CREATE_MEMBERS_MAX)
        .map(|i| format!("u{i}"))
        .collect();
    let names: Vec<&str> = many.iter().map(String::as_str).collect();
    let mut alice = server.login("alice").await;
    refused(
        &mut alice,
        create_with("big", &names),
        ErrorCode::BadRequest,
    )
    .await;
}

#[tokio::test]
async fn the_owner_adds_and_removes_members_and_the_removed_member_sees_it() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let carol = server.login("carol").await;
    let carol_token = carol.token().to_owned();
    carol.bye().await;
    ok(&mut alice, create("g")).await;

    let (info, events) = ok(&mut alice, add("g", "BOB")).await;
    assert_eq!(info.members, 2);
    let added = GroupEvent::Added { user: user("bob") };
    assert_event(&events[0], "g", "alice", &added);
    assert_eq!(
        events[0].body, "alice added bob to #g",
        "the user's own spelling"
    );
    assert_event(&next_event(&mut bob).await, "g", "alice", &added);
    refused(&mut alice, add("g", "bob"), ErrorCode::AlreadyMember).await;
    refused(&mut alice, add("g", "nobody"), ErrorCode::UnknownUser).await;

    // An added member is a member like any other.
    let (id, _) = bob.send_stored("#g", "thanks for adding me").await;
    assert_eq!(alice.recv_message().await.id, id);

    // A member added while away finds the news, and what followed, on connecting.
    let (info, _) = ok(&mut alice, add("g", "carol")).await;
    assert_eq!(info.members, 3);
    let added = GroupEvent::Added {
        user: user("carol"),
    };
    assert_event(&next_event(&mut bob).await, "g", "alice", &added);
    let (later, _) = alice.send_stored("#g", "carol: the syllabus is up").await;
    bob.recv_message().await;
    let mut carol = TestClient::resume(server.addr, "carol", &carol_token).await;
    assert_eq!(carol.caught_up.len(), 2, "{:?}", carol.caught_up);
    assert_event(&carol.caught_up[0], "g", "alice", &added);
    assert_eq!(carol.caught_up[0].seq, 4);
    assert_eq!((carol.caught_up[1].seq, carol.caught_up[1].id), (5, later));

    let (info, events) = ok(&mut alice, kick("g", "bob")).await;
    assert_eq!(info.members, 2);
    let kicked = GroupEvent::Kicked {
        user: user("bob"),
        banned: true,
    };
    assert_event(&events[0], "g", "alice", &kicked);
    assert_eq!(
        events[0].body,
        "alice removed bob from #g; banned until the owner lifts it"
    );
    // The removed member's connection is told, as are the other members.
    assert_event(&next_event(&mut bob).await, "g", "alice", &kicked);
    assert_event(&next_event(&mut carol).await, "g", "alice", &kicked);

    refused_send(&mut bob, "#g", ErrorCode::NotMember).await;
    refused(&mut bob, history("#g"), ErrorCode::NotMember).await;
    refused(&mut alice, kick("g", "bob"), ErrorCode::NotMember).await;
    let (_, list) = members_of(ask(&mut alice, members("g")).await.reply);
    assert_eq!(member_names(&list), ["alice", "carol"]);
    alice.send_stored("#g", "without bob").await;
    carol.recv_message().await;
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn handing_over_ownership_lets_the_new_owner_manage_the_group_and_not_the_old() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob, &mut carol]).await;

    let (info, events) = ok(&mut alice, hand_over("g", "bob")).await;
    assert_eq!((info.owner.as_str(), info.members), ("bob", 3));
    let to_bob = GroupEvent::Owner { user: user("bob") };
    assert_event(&events[0], "g", "alice", &to_bob);
    assert_eq!(events[0].body, "bob is now the owner of #g");
    for c in [&mut bob, &mut carol] {
        assert_event(&next_event(c).await, "g", "alice", &to_bob);
    }

    // The old owner may no longer manage it; the refusal names the new one.
    for (request, code) in [
        (rename("g", "mine"), ErrorCode::NotOwner),
        (add("g", "carol"), ErrorCode::NotModerator),
        (kick("g", "bob"), ErrorCode::NotModerator),
        (hand_over("g", "alice"), ErrorCode::NotOwner),
        (delete("g"), ErrorCode::NotOwner),
    ] {
        let why = refused(&mut alice, request, code).await;
        assert!(why.contains("bob"), "{why}");
    }
    let (owner, list) = members_of(ask(&mut carol, members("g")).await.reply);
    assert_eq!(owner, "bob");
    let owners: Vec<_> = list.iter().map(|m| (m.user.to_string(), m.owner)).collect();
    assert_eq!(
        owners,
        [
            ("alice".into(), false),
            ("bob".into(), true),
            ("carol".into(), false)
        ]
    );

    // The new owner may.
    refused(&mut bob, hand_over("g", "bob"), ErrorCode::BadRequest).await;
    let (info, _) = ok(&mut bob, kick("g", "alice")).await;
    assert_eq!((info.owner.as_str(), info.members), ("bob", 2));
    let kicked = GroupEvent::Kicked {
        user: user("alice"),
        banned: true,
    };
    assert_event(&next_event(&mut alice).await, "g", "bob", &kicked);
    assert_event(&next_event(&mut carol).await, "g", "bob", &kicked);
    refused(&mut bob, hand_over("g", "alice"), ErrorCode::NotMember).await;
    let (info, _) = ok(&mut bob, rename("g", "bobs")).await;
    assert_eq!(info.group.as_str(), "bobs");
}

#[tokio::test]
async fn deleting_a_group_tells_its_members_and_takes_its_history_with_it() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob]).await;
    let (id, _) = alice.send_stored("#g", "last words").await;
    bob.recv_message().await;

    let a = ask(&mut alice, delete("g")).await;
    let gone = expect!(a.reply, ServerMessage::GroupDeleted { group, .. } => group);
    assert_eq!(gone.as_str(), "g");
    assert_event(&a.before[0], "g", "alice", &GroupEvent::Deleted);
    assert_eq!(a.before[0].body, "alice deleted #g");
    let seen = next_event(&mut bob).await;
    assert_event(&seen, "g", "alice", &GroupEvent::Deleted);
    // As a client does: what bob acknowledges is not sent to him again.
    ack(&mut bob, "#g", seen.seq).await;
    carol.expect_nothing_pending().await;

    assert!(groups_of(ask(&mut carol, list_groups()).await.reply).is_empty());
    for c in [&mut alice, &mut bob] {
        refused(c, history("#g"), ErrorCode::UnknownGroup).await;
        refused(c, members("g"), ErrorCode::UnknownGroup).await;
    }
    refused_send(&mut alice, "#g", ErrorCode::UnknownGroup).await;
    refused(&mut alice, read_by(id), ErrorCode::UnknownMessage).await;
    let listed = expect!(
        ask(&mut bob, conversations()).await.reply,
        ServerMessage::Conversations { conversations, .. } => conversations
    );
    assert!(listed.is_empty(), "{listed:?}");

    // Still gone after a restart; the name starts afresh.
    let tokens = [alice.token().to_owned(), bob.token().to_owned()];
    drop((alice, bob, carol));
    let server = server.restart().await;
    let mut alice = TestClient::resume(server.addr, "alice", &tokens[0]).await;
    let bob = TestClient::resume(server.addr, "bob", &tokens[1]).await;
    assert!(bob.caught_up.is_empty(), "{:?}", bob.caught_up);
    assert!(groups_of(ask(&mut alice, list_groups()).await.reply).is_empty());
    let (_, events) = ok(&mut alice, create("g")).await;
    assert_eq!(events[0].seq, 1);
    let past = history_of(ask(&mut alice, history("#g")).await.reply);
    assert_eq!(past.len(), 1, "{past:?}");
}

// ---------------------------------------------------------------------------
// Refusals

#[tokio::test]
async fn members_and_outsiders_alike_are_refused_what_only_the_owner_may_do() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob]).await;

    for (c, target) in [(&mut bob, "carol"), (&mut carol, "bob")] {
        let who = name(c);
        for (request, code) in [
            (rename("g", "mine"), ErrorCode::NotOwner),
            (add("g", target), ErrorCode::NotModerator),
            (kick("g", "alice"), ErrorCode::NotModerator),
            (hand_over("g", &who), ErrorCode::NotOwner),
            (delete("g"), ErrorCode::NotOwner),
        ] {
            let why = refused(c, request, code).await;
            assert!(why.contains("alice"), "the refusal names the owner: {why}");
        }
    }
    // Nothing changed.
    let (owner, list) = members_of(ask(&mut carol, members("g")).await.reply);
    assert_eq!(owner, "alice");
    assert_eq!(member_names(&list), ["alice", "bob"]);
    assert_eq!(
        groups_of(ask(&mut carol, list_groups()).await.reply),
        [("g".into(), "alice".into(), 2, false)]
    );
    alice.expect_nothing_pending().await;
}

#[tokio::test]
async fn what_members_and_outsiders_may_not_do_is_refused_with_a_reason() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob]).await;
    ok(&mut carol, create("elsewhere")).await;

    // Outsiders cannot send, read the history or mark it read.
    let why = refused_send(&mut carol, "#g", ErrorCode::NotMember).await;
    assert!(why.contains("#g"), "{why}");
    refused(&mut carol, history("#g"), ErrorCode::NotMember).await;
    refused(&mut carol, read("#g", None), ErrorCode::NotMember).await;
    refused(&mut carol, leave("g"), ErrorCode::NotMember).await;
    refused(&mut alice, history("#elsewhere"), ErrorCode::NotMember).await;

    // Names are taken whatever their case; nobody joins twice; the owner leaves instead
    // of kicking themselves.
    let why = refused(&mut carol, create("G"), ErrorCode::GroupExists).await;
    assert!(why.contains("#g"), "{why}");
    refused(&mut alice, create("Elsewhere"), ErrorCode::GroupExists).await;
    refused(&mut bob, join("G"), ErrorCode::AlreadyMember).await;
    refused(&mut alice, kick("g", "alice"), ErrorCode::BadRequest).await;

    // Every request naming a group that does not exist.
    for request in [
        join("nope"),
        leave("nope"),
        members("nope"),
        rename("nope", "yes"),
        add("nope", "bob"),
        kick("nope", "bob"),
        hand_over("nope", "bob"),
        delete("nope"),
        history("#nope"),
        read("#nope", None),
    ] {
        let why = refused(&mut bob, request, ErrorCode::UnknownGroup).await;
        assert!(why.contains("#nope"), "{why}");
    }
    refused_send(&mut bob, "#nope", ErrorCode::UnknownGroup).await;

    // Who left can no longer ask after their own messages, send, or read.
    let (id, _) = bob.send_stored("#g", "before I go").await;
    alice.recv_message().await;
    ok(&mut bob, leave("g")).await;
    refused(&mut bob, read_by(id), ErrorCode::NotMember).await;
    refused_send(&mut bob, "#g", ErrorCode::NotMember).await;
    refused(&mut bob, history("#g"), ErrorCode::NotMember).await;
}

// ---------------------------------------------------------------------------
// Ownership and membership over time

#[tokio::test]
async fn when_the_owner_leaves_the_longest_standing_member_becomes_the_owner() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut zed = server.login("zed").await;
    // Bob joined first, but left and came back: zed has been a member longest,
    // though neither the first by name nor by account.
    form_group("g", &mut alice, &mut [&mut bob, &mut zed]).await;
    ok(&mut bob, leave("g")).await;
    next_event(&mut alice).await;
    next_event(&mut zed).await;
    ok(&mut bob, join("g")).await;
    next_event(&mut alice).await;
    next_event(&mut zed).await;

    let (info, events) = ok(&mut alice, leave("g")).await;
    assert_eq!(
        (info.owner.as_str(), info.members, info.member),
        ("zed", 2, false)
    );
    assert_eq!(events.len(), 1, "the leaver sees their own leaving only");
    assert_event(&events[0], "g", "alice", &GroupEvent::Left);
    for c in [&mut bob, &mut zed] {
        let left = next_event(c).await;
        assert_event(&left, "g", "alice", &GroupEvent::Left);
        let owner = next_event(c).await;
        assert_event(
            &owner,
            "g",
            "alice",
            &GroupEvent::Owner { user: user("zed") },
        );
        assert_eq!((left.seq, owner.seq), (6, 7));
        assert_eq!(owner.body, "zed is now the owner of #g");
    }

    let (owner, list) = members_of(ask(&mut bob, members("g")).await.reply);
    assert_eq!(owner, "zed");
    let flags: Vec<_> = list.iter().map(|m| (m.user.to_string(), m.owner)).collect();
    assert_eq!(flags, [("bob".into(), false), ("zed".into(), true)]);
    let why = refused(&mut alice, rename("g", "mine"), ErrorCode::NotOwner).await;
    assert!(why.contains("zed"), "{why}");
    ok(&mut zed, add("g", "alice")).await;
}

#[tokio::test]
async fn the_last_member_leaving_keeps_the_group_and_its_history_until_the_owner_deletes_it() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    ok(&mut alice, create("g")).await;
    let (id, _) = alice.send_stored("#g", "notes for whoever comes").await;

    let (info, _) = ok(&mut alice, leave("g")).await;
    assert_eq!(
        (info.owner.as_str(), info.members, info.member),
        ("alice", 0, false)
    );
    assert_eq!(
        groups_of(ask(&mut bob, list_groups()).await.reply),
        [("g".into(), "alice".into(), 0, false)]
    );

    // Whoever joins next finds the history.
    let (info, _) = ok(&mut bob, join("g")).await;
    assert_eq!((info.owner.as_str(), info.members), ("alice", 1));
    let past = history_of(ask(&mut bob, history("#g")).await.reply);
    let seen: Vec<_> = past
        .iter()
        .map(|m| (m.seq, m.from.to_string(), m.event.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, "alice".into(), Some(GroupEvent::Created)),
            (2, "alice".into(), None),
            (3, "alice".into(), Some(GroupEvent::Left)),
            (4, "bob".into(), Some(GroupEvent::Joined)),
        ]
    );
    assert_eq!(
        (past[1].id, past[1].body.as_str()),
        (id, "notes for whoever comes")
    );

    // Until the owner, member or not, deletes it.
    let why = refused(&mut bob, delete("g"), ErrorCode::NotOwner).await;
    assert!(why.contains("alice"), "{why}");
    let a = ask(&mut alice, delete("g")).await;
    expect!(a.reply, ServerMessage::GroupDeleted { .. } => ());
    assert_event(
        &next_event(&mut bob).await,
        "g",
        "alice",
        &GroupEvent::Deleted,
    );
    assert!(groups_of(ask(&mut bob, list_groups()).await.reply).is_empty());
}

#[tokio::test]
async fn a_late_joiner_reads_earlier_history_but_is_neither_sent_it_nor_counted_for_it() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob]).await;
    let mut early = Vec::new();
    for body in ["before carol 1", "before carol 2"] {
        let (id, stored) = alice.send_stored("#g", body).await;
        assert_eq!(stored_counts(&stored).1, 1, "only bob is there to count");
        assert_eq!(bob.recv_message().await.id, id);
        early.push(id);
    }

    let (_, events) = ok(&mut carol, join("g")).await;
    assert_eq!(events.len(), 1, "only the join itself, live: {events:?}");
    assert_event(&events[0], "g", "carol", &GroupEvent::Joined);
    for c in [&mut alice, &mut bob] {
        assert_event(&next_event(c).await, "g", "carol", &GroupEvent::Joined);
    }
    carol.expect_nothing_pending().await;

    // The history from before is there to page through.
    let past = history_of(ask(&mut carol, history("#g")).await.reply);
    assert_eq!(
        past.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!((past[2].id, past[3].id), (early[0], early[1]));

    let (late, stored) = alice.send_stored("#g", "welcome, carol").await;
    assert_eq!(stored_counts(&stored), (6, 2, 2));
    assert_eq!(carol.recv_message().await.id, late);
    bob.recv_message().await;

    // Carol counts for what was sent after she joined only.
    let (c, list) = read_by_of(ask(&mut alice, read_by(early[0])).await.reply);
    assert_eq!(c, counts(0, 0, 1));
    assert_eq!(list, [member_state("bob", false, false)]);
    let (c, list) = read_by_of(ask(&mut alice, read_by(late)).await.reply);
    assert_eq!(c, counts(0, 0, 2));
    assert_eq!(
        list,
        [
            member_state("bob", false, false),
            member_state("carol", false, false)
        ]
    );
    let mine = history_of(ask(&mut alice, history("#g")).await.reply);
    let of: Vec<_> = mine
        .iter()
        .filter_map(|m| m.counts.map(|c| (m.seq, c.of)))
        .collect();
    assert_eq!(of, [(3, 1), (4, 1), (6, 2)]);

    // Reconnecting, she is sent what came after she joined, not what came before.
    let token = carol.token().to_owned();
    carol.bye().await;
    let carol = TestClient::resume(server.addr, "carol", &token).await;
    let caught: Vec<_> = carol.caught_up.iter().map(|m| m.id).collect();
    assert_eq!(caught, [late]);
}

#[tokio::test]
async fn offline_members_get_group_messages_on_their_next_connect_in_order_and_once_across_a_restart()
 {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob, &mut carol]).await;
    // Bob's client confirms carol's join, which it was sent live.
    ack(&mut bob, "#g", 3).await;
    let tokens = [
        alice.token().to_owned(),
        bob.token().to_owned(),
        carol.token().to_owned(),
    ];
    bob.bye().await;
    carol.bye().await;

    let mut sent = Vec::new();
    for i in 0..3 {
        let (id, stored) = alice
            .send_stored("#g", &format!("before the restart {i}"))
            .await;
        let (_, of, online) = stored_counts(&stored);
        assert_eq!((of, online), (2, 0), "both members are away");
        sent.push(id);
    }
    drop(alice);
    let server = server.restart().await;
    let mut alice = TestClient::resume(server.addr, "alice", &tokens[0]).await;
    for i in 0..2 {
        let (id, stored) = alice
            .send_stored("#g", &format!("after the restart {i}"))
            .await;
        assert_eq!(stored_counts(&stored), (7 + i, 2, 0));
        sent.push(id);
    }

    let check = |c: &TestClient| {
        let got: Vec<_> = c.caught_up.iter().map(|m| (m.seq, m.id)).collect();
        let want: Vec<_> = (4..).zip(sent.iter().copied()).collect();
        assert_eq!(got, want, "everything, in order, once");
        assert!(c.caught_up.iter().all(|m| m.conv.to_string() == "#g"
            && m.from.as_str() == "alice"
            && m.event.is_none()));
        assert_eq!(c.synced, 5);
    };
    let mut bob = TestClient::resume(server.addr, "bob", &tokens[1]).await;
    check(&bob);
    bob.expect_nothing_pending().await;
    ack(&mut bob, "#g", 8).await;
    bob.bye().await;
    let bob = TestClient::resume(server.addr, "bob", &tokens[1]).await;
    assert!(bob.caught_up.is_empty(), "{:?}", bob.caught_up);
    drop((alice, bob));

    // Carol, still away, gets the same after a second restart.
    let server = server.restart().await;
    let mut carol = TestClient::resume(server.addr, "carol", &tokens[2]).await;
    check(&carol);
    ack(&mut carol, "#g", 8).await;
    carol.bye().await;
    let carol = TestClient::resume(server.addr, "carol", &tokens[2]).await;
    assert!(carol.caught_up.is_empty(), "{:?}", carol.caught_up);
}

#[tokio::test]
async fn groups_members_and_owners_survive_a_restart() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob, &mut carol]).await;
    ok(&mut alice, hand_over("g", "carol")).await;
    ok(&mut carol, rename("g", "Physics")).await;
    // Bob's group passes to alice when he leaves it.
    ok(&mut bob, create("Bobs")).await;
    ok(&mut alice, join("bobs")).await;
    ok(&mut bob, leave("bobs")).await;

    let groups_before = groups_of(ask(&mut alice, list_groups()).await.reply);
    assert_eq!(
        groups_before,
        [
            ("Bobs".into(), "alice".into(), 1, true),
            ("Physics".into(), "carol".into(), 3, true),
        ]
    );
    let roster = |reply: ServerMessage| {
        let (owner, list) = members_of(reply);
        let list: Vec<_> = list
            .iter()
            .map(|m| (m.user.to_string(), m.owner, m.joined))
            .collect();
        (owner, list)
    };
    let g_before = roster(ask(&mut alice, members("physics")).await.reply);
    let bobs_before = roster(ask(&mut alice, members("bobs")).await.reply);

    let tokens = [alice.token().to_owned(), carol.token().to_owned()];
    drop((alice, bob, carol));
    let server = server.restart().await;
    let mut alice = TestClient::resume(server.addr, "alice", &tokens[0]).await;
    assert_eq!(
        groups_of(ask(&mut alice, list_groups()).await.reply),
        groups_before
    );
    assert_eq!(
        roster(ask(&mut alice, members("physics")).await.reply),
        g_before
    );
    assert_eq!(
        roster(ask(&mut alice, members("bobs")).await.reply),
        bobs_before
    );

    // And ownership is still enforced as it was.
    let why = refused(&mut alice, rename("physics", "alices"), ErrorCode::NotOwner).await;
    assert!(why.contains("carol"), "{why}");
    ok(&mut alice, add("bobs", "bob")).await;
    let mut carol = TestClient::resume(server.addr, "carol", &tokens[1]).await;
    let (info, _) = ok(&mut carol, rename("physics", "carols")).await;
    assert_eq!((info.owner.as_str(), info.members), ("carol", 3));
}

// ---------------------------------------------------------------------------
// Receipts and unread counts

#[tokio::test]
async fn group_receipts_count_members_online_and_offline() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob, &mut carol]).await;
    let carol_token = carol.token().to_owned();
    carol.bye().await;

    let (id, stored) = alice.send_stored("#g", "quiz on friday").await;
    assert_eq!(stored_counts(&stored), (4, 2, 1), "of 2 members, 1 online");

    // Bob's client has it: alice is told, and read_by agrees.
    assert_eq!(bob.recv_message().await.id, id);
    ack(&mut bob, "#g", 4).await;
    let (who, joined, delivered, read_upto) = next_receipt(&mut alice, "g").await;
    assert_eq!(who.as_str(), "bob");
    assert_eq!((joined, delivered), (1, 4));
    assert!(read_upto < 4);
    let (c, list) = read_by_of(ask(&mut alice, read_by(id)).await.reply);
    assert_eq!(c, counts(1, 0, 2));
    assert_eq!(
        list,
        [
            member_state("bob", true, false),
            member_state("carol", false, false)
        ]
    );

    // Bob reads it.
    let marked = ask(&mut bob, read("#g", Some(4))).await.reply;
    expect!(marked, ServerMessage::ReadMarked { seq: 4, .. } => ());
    let (who, _, delivered, read_upto) = next_receipt(&mut alice, "g").await;
    assert_eq!((who.as_str(), delivered, read_upto), ("bob", 4, 4));

    // Carol comes back, receives it, and reads up to what her client has.
    let mut carol = TestClient::resume(server.addr, "carol", &carol_token).await;
    assert_eq!(
        carol.caught_up.iter().map(|m| m.id).collect::<Vec<_>>(),
        [id]
    );
    ack(&mut carol, "#g", 4).await;
    let (who, joined, delivered, read_upto) = next_receipt(&mut alice, "g").await;
    assert_eq!((who.as_str(), joined, delivered), ("carol", 2, 4));
    assert!(read_upto < 4);
    let marked = ask(&mut carol, read("#g", None)).await.reply;
    expect!(marked, ServerMessage::ReadMarked { seq: 4, .. } => ());
    let (who, _, _, read_upto) = next_receipt(&mut alice, "g").await;
    assert_eq!((who.as_str(), read_upto), ("carol", 4));

    let (c, list) = read_by_of(ask(&mut alice, read_by(id)).await.reply);
    assert_eq!(c, counts(2, 2, 2));
    assert_eq!(
        list,
        [
            member_state("bob", true, true),
            member_state("carol", true, true)
        ]
    );
    // History shows the same counts on alice's own messages, and on nobody else's.
    let mine = history_of(ask(&mut alice, history("#g")).await.reply);
    let shown: Vec<_> = mine.iter().map(|m| (m.seq, m.counts)).collect();
    assert_eq!(
        shown,
        [(1, None), (2, None), (3, None), (4, Some(counts(2, 2, 2)))]
    );
    let theirs = history_of(ask(&mut bob, history("#g")).await.reply);
    assert!(theirs.iter().all(|m| m.counts.is_none()), "{theirs:?}");
}

#[tokio::test]
async fn your_other_connection_gets_your_group_message_with_its_counts_and_the_members_without() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut laptop = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut laptop, &mut [&mut bob, &mut carol]).await;
    let mut phone = TestClient::resume(server.addr, "alice", laptop.token()).await;
    ack(&mut bob, "#g", 3).await;

    let (id, _) = laptop.send_stored("#g", "slides are up").await;
    let echo = phone.recv_message().await;
    assert_eq!((echo.id, echo.seq), (id, 4));
    assert_eq!(echo.counts, Some(counts(0, 0, 2)));
    for member in [&mut bob, &mut carol] {
        let m = member.recv_message().await;
        assert_eq!((m.id, m.counts), (id, None));
    }
}

#[tokio::test]
async fn one_read_marker_covering_fifty_messages_causes_one_receipt_not_fifty() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    form_group("g", &mut alice, &mut [&mut bob]).await;
    let mut sent = Vec::new();
    for i in 0..50 {
        let (id, _) = alice.send_stored("#g", &format!("slide {i}")).await;
        sent.push(id);
    }
    for (seq, id) in (3..).zip(&sent) {
        let m = bob.recv_message().await;
        assert_eq!((m.seq, m.id), (seq, *id));
    }

    let marked = ask(&mut bob, read("#g", Some(52))).await.reply;
    expect!(marked, ServerMessage::ReadMarked { seq: 52, .. } => ());
    let (who, _, delivered, read_upto) = next_receipt(&mut alice, "g").await;
    assert_eq!((who.as_str(), delivered, read_upto), ("bob", 52, 52));
    alice.expect_nothing_pending().await;

    let (c, list) = read_by_of(ask(&mut alice, read_by(sent[0])).await.reply);
    assert_eq!(c, counts(1, 1, 1));
    assert_eq!(list, [member_state("bob", true, true)]);
}

#[tokio::test]
async fn conversations_list_groups_with_their_members_owner_and_unread_counts() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob]).await;
    for i in 0..3 {
        alice.send_stored("#g", &format!("homework {i}")).await;
        bob.recv_message().await;
    }
    // A membership change is not something to read.
    ok(&mut carol, join("g")).await;
    next_event(&mut alice).await;
    next_event(&mut bob).await;
    alice.send_stored("bob", "psst").await;
    bob.recv_message().await;

    let listed = |reply: ServerMessage| -> Vec<ConvSummary> {
        expect!(reply, ServerMessage::Conversations { conversations, .. } => conversations)
    };
    let brief = |s: &ConvSummary| {
        (
            s.conv.to_string(),
            s.members,
            s.owner.as_ref().map(ToString::to_string),
            s.last_seq,
            s.unread,
        )
    };
    let bobs = listed(ask(&mut bob, conversations()).await.reply);
    assert_eq!(
        bobs.iter().map(brief).collect::<Vec<_>>(),
        [
            ("alice".into(), None, None, 1, 1),
            ("#g".into(), Some(3), Some("alice".into()), 6, 3),
        ]
    );
    assert_eq!((bobs[1].online, bobs[1].last_seen), (None, None));

    ask(&mut bob, read("#g", Some(4))).await;
    let bobs = listed(ask(&mut bob, conversations()).await.reply);
    assert_eq!((bobs[1].read, bobs[1].unread), (4, 1));

    let alices = listed(ask(&mut alice, conversations()).await.reply);
    assert_eq!(
        brief(&alices[1]),
        ("#g".into(), Some(3), Some("alice".into()), 6, 0)
    );
    let carols = listed(ask(&mut carol, conversations()).await.reply);
    assert_eq!(
        carols.iter().map(brief).collect::<Vec<_>>(),
        [("#g".into(), Some(3), Some("alice".into()), 6, 0)],
        "what came before carol joined is not unread for her"
    );
}

// ---------------------------------------------------------------------------
// Running a group: who may join, bans, moderators, announcements

/// (user, owner, moderator) for each member, and who is banned, as `viewer`
/// is told.
async fn roles_and_bans(
    viewer: &mut TestClient,
    g: &str,
) -> (Vec<(String, bool, bool)>, Vec<String>) {
    let (members, banned) = expect!(
        ask(viewer, members(g)).await.reply,
        ServerMessage::Members { members, banned, .. } => (members, banned)
    );
    (
        members
            .iter()
            .map(|m| (m.user.to_string(), m.owner, m.moderator))
            .collect(),
        banned.iter().map(ToString::to_string).collect(),
    )
}

#[tokio::test]
async fn a_removed_member_is_banned_until_the_owner_lifts_it() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob, &mut carol]).await;

    let (info, events) = ok(&mut alice, kick("g", "bob")).await;
    assert_eq!((info.members, info.access), (2, Access::Open));
    let kicked = GroupEvent::Kicked {
        user: user("bob"),
        banned: true,
    };
    assert_event(&events[0], "g", "alice", &kicked);
    assert_event(&next_event(&mut bob).await, "g", "alice", &kicked);
    assert_event(&next_event(&mut carol).await, "g", "alice", &kicked);

    // Out means out: no joining again, and nobody may bring him back in.
    let why = refused(&mut bob, join("g"), ErrorCode::Banned).await;
    assert!(why.contains("alice"), "names who can lift it: {why}");
    refused(&mut bob, history("#g"), ErrorCode::NotMember).await;
    refused(&mut carol, add("g", "bob"), ErrorCode::NotModerator).await;
    refused(&mut alice, add("g", "bob"), ErrorCode::Banned).await;
    let listed = expect!(
        ask(&mut bob, list_groups()).await.reply,
        ServerMessage::Groups { groups, .. } => groups
    );
    assert_eq!(
        (listed[0].member, listed[0].banned, listed[0].role),
        (false, true, None)
    );

    // The owner sees who is banned; a member does not.
    let (_, banned) = roles_and_bans(&mut alice, "g").await;
    assert_eq!(banned, ["bob"]);
    let (_, banned) = roles_and_bans(&mut carol, "g").await;
    assert!(banned.is_empty(), "{banned:?}");

    // Only the owner lifts it, and then bob may join again.
    refused(&mut carol, unban("g", "bob"), ErrorCode::NotOwner).await;
    let (info, events) = ok(&mut alice, unban("g", "bob")).await;
    assert!(!info.banned);
    let unbanned = GroupEvent::Unbanned { user: user("bob") };
    assert_event(&events[0], "g", "alice", &unbanned);
    assert_eq!(events[0].body, "alice lifted the ban on bob in #g");
    assert_event(&next_event(&mut carol).await, "g", "alice", &unbanned);
    refused(&mut alice, unban("g", "bob"), ErrorCode::BadRequest).await;
    let (info, _) = ok(&mut bob, join("g")).await;
    assert_eq!((info.members, info.role), (3, Some(Role::Member)));
}

#[tokio::test]
async fn an_invite_only_group_takes_only_whom_the_owner_or_a_moderator_adds() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let mut dave = server.login("dave").await;

    // Created with members: invite-only unless said otherwise.
    let (info, _) = ok(&mut alice, create_with("lab", &["bob"])).await;
    assert_eq!(
        (info.access, info.posting, info.role),
        (Access::Invite, Posting::Everyone, Some(Role::Owner))
    );
    // Bob was added after it was made: the addition is the first he sees.
    next_event(&mut bob).await;
    let (info, _) = ok(&mut alice, create("open")).await;
    assert_eq!(info.access, Access::Open);
    let (info, _) = ok(
        &mut alice,
        create_ruled("club", &["bob"], Some(Access::Open), None),
    )
    .await;
    assert_eq!(info.access, Access::Open);
    next_event(&mut bob).await;

    let why = refused(&mut carol, join("lab"), ErrorCode::InviteOnly).await;
    assert!(why.contains("alice"), "names the owner: {why}");
    ok(&mut carol, join("club")).await;
    next_event(&mut alice).await;
    next_event(&mut bob).await;

    // A moderator may add; a member may not.
    refused(&mut bob, add("lab", "carol"), ErrorCode::NotModerator).await;
    let (_, events) = ok(&mut alice, set_role("lab", "bob", Role::Moderator)).await;
    let made = GroupEvent::Role {
        user: user("bob"),
        role: Role::Moderator,
    };
    assert_event(&events[0], "lab", "alice", &made);
    assert_eq!(events[0].body, "alice made bob a moderator of #lab");
    assert_event(&next_event(&mut bob).await, "lab", "alice", &made);
    let (info, _) = ok(&mut bob, add("lab", "carol")).await;
    assert_eq!((info.members, info.role), (3, Some(Role::Moderator)));
    next_event(&mut alice).await;

    // Opened, anyone may join; the change is an event in its history.
    refused(&mut dave, join("lab"), ErrorCode::InviteOnly).await;
    refused(
        &mut bob,
        settings("lab", Some(Access::Open), None),
        ErrorCode::NotOwner,
    )
    .await;
    refused(
        &mut alice,
        settings("lab", None, None),
        ErrorCode::BadRequest,
    )
    .await;
    let (info, events) = ok(&mut alice, settings("lab", Some(Access::Open), None)).await;
    assert_eq!(info.access, Access::Open);
    assert_event(
        &events[0],
        "lab",
        "alice",
        &GroupEvent::Access {
            access: Access::Open,
        },
    );
    assert_eq!(events[0].body, "alice opened #lab: anyone may join");
    // Asking for what already is changes nothing and says nothing.
    let (_, events) = ok(&mut alice, settings("lab", Some(Access::Open), None)).await;
    assert!(events.is_empty(), "{events:?}");
    ok(&mut dave, join("lab")).await;
}

#[tokio::test]
async fn moderators_add_and_remove_members_but_not_the_owner_other_moderators_or_the_group() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let mut dave = server.login("dave").await;
    form_group("g", &mut alice, &mut [&mut bob, &mut carol, &mut dave]).await;
    for who in ["bob", "carol"] {
        ok(&mut alice, set_role("g", who, Role::Moderator)).await;
    }
    let (roles, _) = roles_and_bans(&mut dave, "g").await;
    assert_eq!(
        roles,
        [
            ("alice".into(), true, false),
            ("bob".into(), false, true),
            ("carol".into(), false, true),
            ("dave".into(), false, false),
        ]
    );
    for c in [&mut bob, &mut carol] {
        next_event(c).await;
        next_event(c).await;
    }

    // Not the owner, not another moderator, nothing only the owner does.
    for (request, code) in [
        (kick("g", "alice"), ErrorCode::NotOwner),
        (kick("g", "carol"), ErrorCode::NotOwner),
        (rename("g", "bobs"), ErrorCode::NotOwner),
        (delete("g"), ErrorCode::NotOwner),
        (hand_over("g", "bob"), ErrorCode::NotOwner),
        (set_role("g", "dave", Role::Moderator), ErrorCode::NotOwner),
        (
            settings("g", None, Some(Posting::Moderators)),
            ErrorCode::NotOwner,
        ),
    ] {
        let why = refused(&mut bob, request, code).await;
        assert!(why.contains("alice"), "names the owner: {why}");
    }
    // A member is all a moderator removes, and that bans them too.
    let (info, _) = ok(&mut bob, kick("g", "dave")).await;
    assert_eq!(info.members, 3);
    let (_, banned) = roles_and_bans(&mut carol, "g").await;
    assert_eq!(banned, ["dave"], "moderators see who is banned");
    refused(&mut bob, unban("g", "dave"), ErrorCode::NotOwner).await;

    // Roles: the owner's to give and take; the owner is no one's to demote.
    next_event(&mut alice).await;
    refused(
        &mut alice,
        set_role("g", "alice", Role::Member),
        ErrorCode::BadRequest,
    )
    .await;
    refused(
        &mut alice,
        set_role("g", "bob", Role::Owner),
        ErrorCode::BadRequest,
    )
    .await;
    refused(
        &mut alice,
        set_role("g", "dave", Role::Moderator),
        ErrorCode::NotMember,
    )
    .await;
    let (_, events) = ok(&mut alice, set_role("g", "bob", Role::Member)).await;
    assert_eq!(events[0].body, "bob is no longer a moderator of #g");
    let (info, _) = ask_info(&mut bob, "g").await;
    assert_eq!(info.role, Some(Role::Member));
    refused(&mut bob, kick("g", "carol"), ErrorCode::NotModerator).await;

    // The owner leaving: a moderator inherits before a longer-standing member.
    let (_, _) = ok(&mut alice, leave("g")).await;
    let (roles, _) = roles_and_bans(&mut bob, "g").await;
    assert_eq!(
        roles,
        [("bob".into(), false, false), ("carol".into(), true, false)],
        "carol owns it, and is no moderator besides"
    );
}

/// The group as `c` sees it, from the list of groups.
async fn ask_info(c: &mut TestClient, g: &str) -> (GroupInfo, ()) {
    let groups = expect!(
        ask(c, list_groups()).await.reply,
        ServerMessage::Groups { groups, .. } => groups
    );
    let info = groups
        .into_iter()
        .find(|i| i.group.as_str() == g)
        .expect("the group is listed");
    (info, ())
}

#[tokio::test]
async fn in_an_announcement_group_only_the_owner_and_moderators_post() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("news", &mut alice, &mut [&mut bob, &mut carol]).await;
    ok(&mut alice, set_role("news", "carol", Role::Moderator)).await;
    next_event(&mut bob).await;
    next_event(&mut carol).await;
    let (info, events) = ok(
        &mut alice,
        settings("news", None, Some(Posting::Moderators)),
    )
    .await;
    assert_eq!(info.posting, Posting::Moderators);
    assert_eq!(
        events[0].body,
        "alice made #news an announcement group: only the owner and moderators post"
    );
    next_event(&mut bob).await;
    next_event(&mut carol).await;

    // A member reads and may not post: neither a message nor a file.
    let why = refused_send(&mut bob, "#news", ErrorCode::NotModerator).await;
    assert!(why.contains("#news"), "{why}");
    let offer = ask(
        &mut bob,
        Box::new(|req| ClientMessage::Offer {
            req,
            to: conv("#news"),
            name: "notes.txt".into(),
            size: 5,
            sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".into(),
            stream: false,
        }),
    )
    .await;
    expect!(offer.reply, ServerMessage::Error { code: ErrorCode::NotModerator, .. } => ());
    let summaries = expect!(
        ask(&mut bob, conversations()).await.reply,
        ServerMessage::Conversations { conversations, .. } => conversations
    );
    assert_eq!(
        (summaries[0].posting, summaries[0].role),
        (Some(Posting::Moderators), Some(Role::Member))
    );

    // The owner and moderators post, and members receive it.
    alice.send_stored("#news", "exam on Friday").await;
    assert_eq!(bob.recv_message().await.body, "exam on Friday");
    carol.recv_message().await;
    carol.send_stored("#news", "room 101").await;
    assert_eq!(bob.recv_message().await.body, "room 101");

    // Everyone again.
    ok(&mut alice, settings("news", None, Some(Posting::Everyone))).await;
    next_event(&mut bob).await;
    bob.send_stored("#news", "thanks").await;
}

async fn rules_roles_and_bans_survive_a_restart(server: TestServer) {
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let mut dave = server.login("dave").await;
    form_group("g", &mut alice, &mut [&mut bob, &mut carol, &mut dave]).await;
    ok(&mut alice, set_role("g", "carol", Role::Moderator)).await;
    ok(&mut alice, kick("g", "dave")).await;
    let (_, stored) = alice.send_stored("#g", "read the syllabus").await;
    let announced = expect!(stored, ServerMessage::Stored { seq, .. } => seq);
    ok(&mut alice, pin("g", announced, true)).await;
    ok(
        &mut alice,
        settings("g", Some(Access::Invite), Some(Posting::Moderators)),
    )
    .await;
    let before = roles_and_bans(&mut alice, "g").await;
    assert_eq!(before.1, ["dave"]);

    let tokens = [
        alice.token().to_owned(),
        bob.token().to_owned(),
        carol.token().to_owned(),
    ];
    let dave_token = dave.token().to_owned();
    drop((alice, bob, carol, dave));
    let server = server.restart().await;
    let mut alice = TestClient::resume(server.addr, "alice", &tokens[0]).await;
    let mut bob = TestClient::resume(server.addr, "bob", &tokens[1]).await;
    let mut carol = TestClient::resume(server.addr, "carol", &tokens[2]).await;
    let mut dave = TestClient::resume(server.addr, "dave", &dave_token).await;
    assert_eq!(roles_and_bans(&mut alice, "g").await, before);
    let (info, _) = ask_info(&mut bob, "g").await;
    assert_eq!(
        (info.access, info.posting, info.role),
        (Access::Invite, Posting::Moderators, Some(Role::Member))
    );
    assert_eq!(info.pinned, [announced]);
    // And enforced as before.
    refused(&mut dave, join("g"), ErrorCode::Banned).await;
    refused_send(&mut bob, "#g", ErrorCode::NotModerator).await;
    carol.send_stored("#g", "still a moderator").await;
    ok(&mut alice, unban("g", "dave")).await;
    refused(&mut dave, join("g"), ErrorCode::InviteOnly).await;
    ok(&mut carol, add("g", "dave")).await;
}

#[tokio::test]
async fn rules_roles_and_bans_survive_a_restart_with_sqlite() {
    rules_roles_and_bans_survive_a_restart(TestServer::start().await).await;
}

#[tokio::test]
async fn the_owner_and_moderators_pin_messages_and_members_see_them() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    form_group("g", &mut alice, &mut [&mut bob, &mut carol]).await;
    ok(&mut alice, set_role("g", "bob", Role::Moderator)).await;
    next_event(&mut bob).await;
    next_event(&mut carol).await;
    let seq_of = |stored: ServerMessage| expect!(stored, ServerMessage::Stored { seq, .. } => seq);
    let exam = seq_of(alice.send_stored("#g", "exam on Friday").await.1);
    let room = seq_of(carol.send_stored("#g", "which room?").await.1);
    for _ in 0..2 {
        bob.recv_message().await;
    }
    // (carol's wait for her `stored` passed over alice's message.)
    alice.recv_message().await;

    let (info, events) = ok(&mut alice, pin("g", exam, true)).await;
    assert_eq!(info.pinned, [exam]);
    assert_event(&events[0], "g", "alice", &GroupEvent::Pinned { seq: exam });
    assert_eq!(events[0].body, "alice pinned a message in #g");
    assert_event(
        &next_event(&mut carol).await,
        "g",
        "alice",
        &GroupEvent::Pinned { seq: exam },
    );
    next_event(&mut bob).await;
    let (info, _) = ok(&mut bob, pin("g", room, true)).await;
    assert_eq!(info.pinned, [exam, room], "in the order pinned");
    next_event(&mut alice).await;
    next_event(&mut carol).await;
    let summaries = expect!(
        ask(&mut carol, conversations()).await.reply,
        ServerMessage::Conversations { conversations, .. } => conversations
    );
    assert_eq!(summaries[0].pinned, [exam, room]);

    // What may not be pinned, or unpinned, and by whom.
    refused(&mut carol, pin("g", exam, false), ErrorCode::NotModerator).await;
    refused(&mut alice, pin("g", exam, true), ErrorCode::BadRequest).await;
    refused(&mut alice, pin("g", 999, true), ErrorCode::UnknownMessage).await;
    refused(&mut alice, pin("g", 1, true), ErrorCode::BadRequest).await;

    let (info, events) = ok(&mut bob, pin("g", exam, false)).await;
    assert_eq!(info.pinned, [room]);
    assert_event(&events[0], "g", "bob", &GroupEvent::Unpinned { seq: exam });
    refused(&mut bob, pin("g", exam, false), ErrorCode::BadRequest).await;
    next_event(&mut alice).await;
    next_event(&mut carol).await;

    // A pinned message deleted is unpinned with it.
    let id = MessageId::new();
    carol
        .send(ClientMessage::Send {
            id,
            to: conv("#g"),
            body: String::new(),
            reply_to: None,
            edit: None,
            delete: Some(room),
            react: None,
            unreact: None,
        })
        .await;
    let mut saw = Vec::new();
    for _ in 0..2 {
        let m = alice.recv_message().await;
        saw.push((m.delete, m.event));
    }
    assert_eq!(
        saw,
        [
            (Some(room), None),
            (None, Some(GroupEvent::Unpinned { seq: room }))
        ]
    );
    let groups = expect!(
        ask(&mut alice, list_groups()).await.reply,
        ServerMessage::Groups { groups, .. } => groups
    );
    assert!(groups[0].pinned.is_empty(), "{groups:?}");
}
