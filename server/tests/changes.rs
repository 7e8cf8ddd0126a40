//! Replies, edits and deletions: each is a `send` that refers to an earlier
//! message of its conversation, stored and delivered like any message; the
//! message it changes is changed in storage too, so history and catch-up show
//! it as it is now, and a deleted text is gone, not hidden.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use classchat_common::protocol::{ChatMessage, GroupEvent, Quote, Role};
use classchat_common::{ClientMessage, ErrorCode, GroupName, MessageId, ServerMessage};
use support::{ServerOptions, TestClient, TestServer, conv, start_server, user};

/// What a `send` says beyond its text.
#[derive(Clone, Copy)]
enum Refers {
    Reply(u64),
    Edit(u64),
    Delete(u64),
    React(u64),
    Unreact(u64),
}

fn change(to: &str, body: &str, refers: Refers) -> (MessageId, ClientMessage) {
    let id = MessageId::new();
    let (mut reply_to, mut edit, mut delete) = (None, None, None);
    let (mut react, mut unreact) = (None, None);
    match refers {
        Refers::Reply(seq) => reply_to = Some(seq),
        Refers::Edit(seq) => edit = Some(seq),
        Refers::Delete(seq) => delete = Some(seq),
        Refers::React(seq) => react = Some(seq),
        Refers::Unreact(seq) => unreact = Some(seq),
    }
    let msg = ClientMessage::Send {
        id,
        to: conv(to),
        body: body.to_owned(),
        reply_to,
        edit,
        delete,
        react,
        unreact,
    };
    (id, msg)
}

/// Sends `msg` (with id `id`) and waits for its answer: `stored` or an error.
async fn answer(c: &mut TestClient, id: MessageId, msg: ClientMessage) -> ServerMessage {
    c.send(msg).await;
    c.recv_until(20, |m| {
        matches!(m, ServerMessage::Stored { id: got, .. } if *got == id)
            || matches!(m, ServerMessage::Error { id: Some(got), .. } if *got == id)
    })
    .await
}

/// Sends a change that must be stored; returns its sequence number.
async fn stored(c: &mut TestClient, to: &str, body: &str, refers: Refers) -> u64 {
    let (id, msg) = change(to, body, refers);
    let reply = answer(c, id, msg).await;
    expect!(reply, ServerMessage::Stored { seq, .. } => seq)
}

/// Sends a change that must be refused with `code`; returns the sentence.
async fn refused(
    c: &mut TestClient,
    to: &str,
    body: &str,
    refers: Refers,
    code: ErrorCode,
) -> String {
    let (id, msg) = change(to, body, refers);
    let reply = answer(c, id, msg).await;
    let (got, message) =
        expect!(reply, ServerMessage::Error { code, message, .. } => (code, message));
    assert_eq!(got, code, "{message}");
    message
}

async fn history(c: &mut TestClient, of: &str) -> Vec<ChatMessage> {
    let req = c.req();
    c.send(ClientMessage::History {
        req: Some(req),
        conv: conv(of),
        before: None,
        after: None,
        limit: None,
    })
    .await;
    let reply = c
        .recv_until(20, |m| matches!(m, ServerMessage::History { .. }))
        .await;
    expect!(reply, ServerMessage::History { messages, .. } => messages)
}

fn quote(seq: u64, from: &str, text: &str, deleted: bool) -> Option<Box<Quote>> {
    Some(Box::new(Quote {
        seq,
        from: user(from),
        text: text.into(),
        deleted,
    }))
}

async fn replies_edits_and_deletions_reach_everyone_and_history_keeps_only_what_is(
    server: TestServer,
) {
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice
        .send_stored("bob", "lab at 3? the secret code is 4711")
        .await;
    assert_eq!(bob.recv_message().await.seq, 1);

    // A reply carries what it answers.
    let seq = stored(&mut bob, "alice", "yes, see you there", Refers::Reply(1)).await;
    assert_eq!(seq, 2);
    let got = alice.recv_message().await;
    assert_eq!(
        got.reply,
        quote(1, "alice", "lab at 3? the secret code is 4711", false)
    );
    assert_eq!((got.edit, got.delete), (None, None));

    // An edit is a line of its own that names what it changes.
    let seq = stored(
        &mut alice,
        "bob",
        "lab at 4? the secret code is 4711",
        Refers::Edit(1),
    )
    .await;
    let got = bob.recv_message().await;
    assert_eq!(
        (got.seq, got.edit, got.body.as_str()),
        (seq, Some(1), "lab at 4? the secret code is 4711")
    );
    let page = history(&mut bob, "alice").await;
    assert_eq!(page[0].body, "lab at 4? the secret code is 4711");
    assert!(page[0].edited.is_some(), "marked edited: {:?}", page[0]);
    assert_eq!(
        page[1].reply,
        quote(1, "alice", "lab at 4? the secret code is 4711", false),
        "a reply quotes the message as it is now"
    );

    // Deleted for everyone: a tombstone in history, and the reply's quote says so.
    let seq = stored(&mut alice, "bob", "", Refers::Delete(1)).await;
    let got = bob.recv_message().await;
    assert_eq!((got.seq, got.delete, got.body.as_str()), (seq, Some(1), ""));
    let page = history(&mut bob, "alice").await;
    assert_eq!(page.len(), 4);
    assert!(page[0].deleted && page[0].body.is_empty(), "{:?}", page[0]);
    assert_eq!(page[0].edited, None);
    assert_eq!(page[1].reply, quote(1, "alice", "", true));
    assert_eq!(
        (page[2].edit, page[2].body.as_str()),
        (Some(1), ""),
        "the edit's copy is gone too"
    );
    assert_eq!(page[3].delete, Some(1));

    // Neither edited nor deleted twice; bob's reply is his own to change.
    refused(
        &mut alice,
        "bob",
        "again",
        Refers::Edit(1),
        ErrorCode::UnknownMessage,
    )
    .await;
    refused(
        &mut alice,
        "bob",
        "",
        Refers::Delete(1),
        ErrorCode::UnknownMessage,
    )
    .await;
    refused(
        &mut alice,
        "bob",
        "mine now",
        Refers::Edit(2),
        ErrorCode::NotAuthor,
    )
    .await;
    refused(
        &mut alice,
        "bob",
        "",
        Refers::Delete(2),
        ErrorCode::NotAuthor,
    )
    .await;
    let dir = server.stop().await;
    if dir.path().join("classchat.db").exists() {
        // The text is gone from the file, not only hidden from readers.
        let db = rusqlite::Connection::open(dir.path().join("classchat.db")).unwrap();
        let left: i64 = db
            .query_row(
                "SELECT count(*) FROM messages WHERE body LIKE '%4711%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
    }
}

#[tokio::test]
async fn replies_edits_and_deletions_with_sqlite() {
    replies_edits_and_deletions_reach_everyone_and_history_keeps_only_what_is(
        TestServer::start().await,
    )
    .await;
}

#[tokio::test]
async fn replies_edits_and_deletions_in_memory_on_ipv6() {
    let server = start_server(ServerOptions::default().memory().ipv6()).await;
    replies_edits_and_deletions_reach_everyone_and_history_keeps_only_what_is(server).await;
}

#[tokio::test]
async fn an_edit_made_while_a_member_was_away_arrives_as_the_edited_message() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let bob = server.login("bob").await;
    let bob_token = bob.token().to_owned();
    bob.bye().await;
    alice.send_stored("bob", "typo hree").await;
    stored(&mut alice, "bob", "typo here", Refers::Edit(1)).await;
    alice.send_stored("bob", "to be taken back").await;
    stored(&mut alice, "bob", "", Refers::Delete(3)).await;

    let server = server.restart().await;
    let bob = TestClient::resume(server.addr, "bob", &bob_token).await;
    let got: Vec<_> = bob
        .caught_up
        .iter()
        .map(|m| {
            (
                m.seq,
                m.body.as_str(),
                m.edited.is_some(),
                m.edit,
                m.deleted,
                m.delete,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "typo here", true, None, false, None),
            (2, "typo here", false, Some(1), false, None),
            (3, "", false, None, true, None),
            (4, "", false, None, false, Some(3)),
        ]
    );
}

#[tokio::test]
async fn in_a_group_the_owner_and_moderators_delete_any_message_and_members_only_their_own() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let group = GroupName::new("lab").unwrap();
    let req = bob.req();
    bob.send(ClientMessage::Create {
        req: Some(req),
        group: group.clone(),
        members: vec![user("alice"), user("carol")],
        access: None,
        posting: None,
    })
    .await;
    bob.recv_until(10, |m| matches!(m, ServerMessage::Group { .. }))
        .await;
    // bob owns #lab; alice and carol were added.
    let a = alice.send_stored("#lab", "alice's question").await.1;
    let a = expect!(a, ServerMessage::Stored { seq, .. } => seq);
    let c = carol.send_stored("#lab", "carol's answer").await.1;
    let c = expect!(c, ServerMessage::Stored { seq, .. } => seq);

    // A member may not delete another's; the owner may; a moderator may.
    refused(
        &mut carol,
        "#lab",
        "",
        Refers::Delete(a),
        ErrorCode::NotAuthor,
    )
    .await;
    refused(
        &mut carol,
        "#lab",
        "fixed",
        Refers::Edit(a),
        ErrorCode::NotAuthor,
    )
    .await;
    refused(
        &mut bob,
        "#lab",
        "fixed",
        Refers::Edit(a),
        ErrorCode::NotAuthor,
    )
    .await;
    let deleted = stored(&mut bob, "#lab", "", Refers::Delete(a)).await;
    let req = bob.req();
    bob.send(ClientMessage::Role {
        req: Some(req),
        group: group.clone(),
        user: user("alice"),
        role: Role::Moderator,
    })
    .await;
    bob.recv_until(20, |m| matches!(m, ServerMessage::Group { .. }))
        .await;
    stored(&mut alice, "#lab", "", Refers::Delete(c)).await;

    // Every member sees both deletions, in order, after the messages.
    let mut seen = Vec::new();
    for _ in 0..10 {
        let m = carol.recv_message().await;
        if let Some(target) = m.delete {
            seen.push((m.from.to_string(), target, m.seq));
        }
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen[0], ("bob".into(), a, deleted));
    assert_eq!((seen[1].0.as_str(), seen[1].1), ("alice", c));

    // Group events are not messages to reply to or delete.
    let events: Vec<_> = history(&mut carol, "#lab")
        .await
        .into_iter()
        .filter(|m| m.event.is_some())
        .collect();
    let created = events
        .iter()
        .find(|m| m.event == Some(GroupEvent::Created))
        .map(|m| m.seq)
        .unwrap();
    refused(
        &mut bob,
        "#lab",
        "",
        Refers::Delete(created),
        ErrorCode::NotAuthor,
    )
    .await;
    refused(
        &mut bob,
        "#lab",
        "why?",
        Refers::Reply(created),
        ErrorCode::NotAuthor,
    )
    .await;
}

#[tokio::test]
async fn what_a_change_may_not_do_is_refused_with_a_reason() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let _carol = server.login("carol").await;
    alice.send_stored("bob", "hello").await;
    bob.recv_message().await;

    refused(
        &mut alice,
        "bob",
        "hi",
        Refers::Reply(9),
        ErrorCode::UnknownMessage,
    )
    .await;
    refused(
        &mut alice,
        "bob",
        "hi",
        Refers::Edit(0),
        ErrorCode::UnknownMessage,
    )
    .await;
    refused(&mut alice, "bob", "  ", Refers::Edit(1), ErrorCode::BadBody).await;
    // A conversation not started yet has nothing to change.
    refused(
        &mut alice,
        "carol",
        "hi",
        Refers::Reply(1),
        ErrorCode::UnknownMessage,
    )
    .await;
    // One of the three at a time.
    let id = MessageId::new();
    let both = ClientMessage::Send {
        id,
        to: conv("bob"),
        body: "x".into(),
        reply_to: Some(1),
        edit: Some(1),
        delete: None,
        react: None,
        unreact: None,
    };
    let reply = answer(&mut alice, id, both).await;
    expect!(reply, ServerMessage::Error { code: ErrorCode::BadRequest, .. } => ());

    // A change sent again with its id is stored once.
    let (id, msg) = change("bob", "hello!", Refers::Edit(1));
    let first = answer(&mut alice, id, msg.clone()).await;
    let again = answer(&mut alice, id, msg).await;
    let (s1, s2) = (
        expect!(first, ServerMessage::Stored { seq, duplicate: false, .. } => seq),
        expect!(again, ServerMessage::Stored { seq, duplicate: true, .. } => seq),
    );
    assert_eq!(s1, s2);
    assert_eq!(history(&mut bob, "alice").await.len(), 2);
}

async fn reactions_are_counted_per_member_and_kind_and_go_with_their_message(server: TestServer) {
    use classchat_common::protocol::{Posting, Reaction};
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    // An announcement group: members do not post, but they react.
    let req = alice.req();
    alice
        .send(ClientMessage::Create {
            req: Some(req),
            group: GroupName::new("news").unwrap(),
            members: vec![user("bob"), user("carol")],
            access: None,
            posting: Some(Posting::Moderators),
        })
        .await;
    alice
        .recv_until(10, |m| matches!(m, ServerMessage::Group { .. }))
        .await;
    let (_, news) = alice.send_stored("#news", "exam moved to Friday").await;
    let news = expect!(news, ServerMessage::Stored { seq, .. } => seq);

    stored(&mut bob, "#news", "👍", Refers::React(news)).await;
    let seen = alice.recv_message().await;
    assert_eq!(
        (seen.react, seen.body.as_str(), seen.from.as_str()),
        (Some(news), "👍", "bob")
    );
    stored(&mut carol, "#news", "👍", Refers::React(news)).await;
    stored(&mut carol, "#news", "🎉", Refers::React(news)).await;
    let reactions = |page: Vec<ChatMessage>| {
        page.into_iter()
            .find(|m| m.seq == news)
            .map(|m| m.reactions)
            .unwrap_or_default()
    };
    let r = |emoji: &str, users: &[&str]| Reaction {
        emoji: emoji.into(),
        users: users.iter().map(|u| user(u)).collect(),
    };
    assert_eq!(
        reactions(history(&mut alice, "#news").await),
        [r("👍", &["bob", "carol"]), r("🎉", &["carol"])]
    );

    // One of each kind per member; taking one off; what is not a reaction.
    refused(
        &mut bob,
        "#news",
        "👍",
        Refers::React(news),
        ErrorCode::BadRequest,
    )
    .await;
    refused(
        &mut bob,
        "#news",
        "🎉",
        Refers::Unreact(news),
        ErrorCode::BadRequest,
    )
    .await;
    refused(
        &mut bob,
        "#news",
        "two words",
        Refers::React(news),
        ErrorCode::BadBody,
    )
    .await;
    refused(
        &mut bob,
        "#news",
        "👍",
        Refers::React(1),
        ErrorCode::NotAuthor,
    )
    .await;
    refused(
        &mut bob,
        "#news",
        "👍",
        Refers::React(999),
        ErrorCode::UnknownMessage,
    )
    .await;
    stored(&mut carol, "#news", "👍", Refers::Unreact(news)).await;
    assert_eq!(
        reactions(history(&mut bob, "#news").await),
        [r("👍", &["bob"]), r("🎉", &["carol"])]
    );

    // At most twenty kinds on one message.
    for i in 0..18 {
        stored(&mut alice, "#news", &format!("k{i}"), Refers::React(news)).await;
    }
    refused(
        &mut alice,
        "#news",
        "one-more",
        Refers::React(news),
        ErrorCode::BadRequest,
    )
    .await;
    stored(&mut alice, "#news", "👍", Refers::React(news)).await;

    // Reactions are nobody's unread, and go with a deleted message.
    let summaries = {
        let req = bob.req();
        bob.send(ClientMessage::Conversations { req: Some(req) })
            .await;
        let reply = bob
            .recv_until(60, |m| matches!(m, ServerMessage::Conversations { .. }))
            .await;
        expect!(reply, ServerMessage::Conversations { conversations, .. } => conversations)
    };
    assert_eq!(summaries[0].unread, 1, "only alice's message");
    stored(&mut alice, "#news", "", Refers::Delete(news)).await;
    assert!(reactions(history(&mut bob, "#news").await).is_empty());
}

#[tokio::test]
async fn reactions_with_sqlite() {
    reactions_are_counted_per_member_and_kind_and_go_with_their_message(TestServer::start().await)
        .await;
}

#[tokio::test]
async fn reactions_in_memory() {
    let server = start_server(ServerOptions::default().memory()).await;
    reactions_are_counted_per_member_and_kind_and_go_with_their_message(server).await;
}
