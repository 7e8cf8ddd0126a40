//! Store and forward: what is sent to someone away arrives when they come back,
//! in order, until their client acknowledges it, and never twice after that;
//! also across a server restart.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use std::time::Duration;

use classchat_common::{ClientMessage, MessageId, ServerMessage};
use classchat_server::ratelimit::Rate;
use support::{ServerOptions, TestClient, TestServer, conv, send_to, start_server, user};

/// Sends `n` numbered messages to `to` and returns their ids, in order.
async fn send_many(from: &mut TestClient, to: &str, n: usize, label: &str) -> Vec<MessageId> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let (id, _) = from.send_stored(to, &format!("{label} {i}")).await;
        ids.push(id);
    }
    ids
}

fn ids(messages: &[classchat_common::protocol::ChatMessage]) -> Vec<MessageId> {
    messages.iter().map(|m| m.id).collect()
}

/// Acknowledges up to `seq` and logs out; `bye` is handled after the ack, so
/// the cursor is stored by the time the connection closes.
async fn ack_and_leave(mut c: TestClient, with: &str, seq: u64) {
    c.send(ClientMessage::Ack {
        conv: conv(with),
        seq,
    })
    .await;
    c.bye().await;
}

async fn away_messages_arrive_until_acknowledged_and_never_twice(server: TestServer) {
    let bob = server.login("bob").await;
    let token = bob.token().to_owned();
    bob.bye().await;

    let mut alice = server.login("alice").await;
    let sent = send_many(&mut alice, "bob", 12, "while you were away").await;

    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert_eq!(ids(&bob.caught_up), sent, "exactly what was sent, in order");
    assert_eq!(
        bob.caught_up.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    assert!(
        bob.caught_up
            .iter()
            .all(|m| m.conv == conv("alice") && m.from == user("alice"))
    );
    assert_eq!(bob.synced, 12);
    // Not acknowledged: it all comes again (at least once).
    bob.bye().await;
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert_eq!(ids(&bob.caught_up), sent);
    assert_eq!(bob.synced, 12);

    // Acknowledging the first five leaves the other seven.
    ack_and_leave(bob, "alice", 5).await;
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert_eq!(ids(&bob.caught_up), sent[5..]);
    assert_eq!(bob.synced, 7);

    // Acknowledging everything leaves nothing.
    ack_and_leave(bob, "alice", 12).await;
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert!(bob.caught_up.is_empty(), "got {:?}", bob.caught_up);
    assert_eq!(bob.synced, 0);
    bob.bye().await;

    // And the next message is the next one: no gap, no repeat.
    let next = send_many(&mut alice, "bob", 1, "one more").await;
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert_eq!(ids(&bob.caught_up), next);
    assert_eq!(bob.caught_up[0].seq, 13);
}

#[tokio::test]
async fn away_messages_arrive_until_acknowledged_and_never_twice_with_sqlite() {
    away_messages_arrive_until_acknowledged_and_never_twice(TestServer::start().await).await;
}

#[tokio::test]
async fn away_messages_arrive_until_acknowledged_and_never_twice_in_memory() {
    away_messages_arrive_until_acknowledged_and_never_twice(
        start_server(ServerOptions::default().memory()).await,
    )
    .await;
}

#[tokio::test]
async fn a_message_delivered_live_but_not_acknowledged_comes_again_on_the_next_login() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let (id, _) = alice.send_stored("bob", "did you save this?").await;
    assert_eq!(bob.recv_message().await.id, id);
    let token = bob.token().to_owned();
    bob.bye().await;

    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert_eq!(ids(&bob.caught_up), [id]);
    ack_and_leave(bob, "alice", 1).await;
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert!(bob.caught_up.is_empty());
}

#[tokio::test]
async fn waiting_messages_and_acknowledgements_survive_a_server_restart() {
    let server = TestServer::start().await;
    let bob = server.login("bob").await;
    let token = bob.token().to_owned();
    bob.bye().await;
    let mut alice = server.login("alice").await;
    let sent = send_many(&mut alice, "bob", 10, "before the restart").await;
    drop(alice);

    let server = server.restart().await;
    // The resume token was stored too: no password needed after the restart.
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert_eq!(ids(&bob.caught_up), sent);
    assert_eq!(bob.synced, 10);
    ack_and_leave(bob, "alice", 4).await;

    let server = server.restart().await;
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert_eq!(
        ids(&bob.caught_up),
        sent[4..],
        "the acknowledgement survived the restart"
    );
    ack_and_leave(bob, "alice", 10).await;

    // Sequence numbers carry on, and a retry is still recognised after the restart.
    let server = server.restart().await;
    let mut alice = server.login("alice").await;
    alice
        .send(ClientMessage::Send {
            id: sent[9],
            to: conv("bob"),
            body: "before the restart 9".into(),
            reply_to: None,
            edit: None,
            delete: None,
            react: None,
            unreact: None,
        })
        .await;
    expect!(alice.recv().await, ServerMessage::Stored { seq: 10, duplicate: true, .. } => ());
    let (_, after) = send_to("bob", "after the restarts");
    alice.send(after).await;
    expect!(alice.recv().await, ServerMessage::Stored { seq: 11, duplicate: false, .. } => ());
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert_eq!(
        bob.caught_up.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [11]
    );
}

#[tokio::test]
async fn messages_sent_during_a_catch_up_arrive_once_and_in_order() {
    let server = start_server(ServerOptions::default().config(|c| {
        c.rates.messages = Rate::per_second(100_000, 100_000);
    }))
    .await;
    let bob = server.login("bob").await;
    let token = bob.token().to_owned();
    bob.bye().await;
    let mut alice = server.login("alice").await;
    let mut sent = Vec::new();
    // Pipelined: the replies are read afterwards.
    for i in 0..600 {
        let (id, msg) = send_to("bob", &format!("queued {i}"));
        alice.send(msg).await;
        sent.push(id);
    }
    for _ in 0..600 {
        expect!(alice.recv().await, ServerMessage::Stored { .. } => ());
    }

    // Alice keeps sending while bob logs in and catches up.
    let addr = server.addr;
    let sender = tokio::spawn(async move {
        let mut more = Vec::new();
        for i in 0..200 {
            let (id, _) = alice.send_stored("bob", &format!("live {i}")).await;
            more.push(id);
        }
        // Kept connected, so bob sees no presence change.
        (alice, more)
    });
    let mut bob = TestClient::resume(addr, "bob", &token).await;
    let (_alice, more) = tokio::time::timeout(Duration::from_secs(30), sender)
        .await
        .unwrap()
        .unwrap();
    sent.extend(more);

    let mut got = ids(&bob.caught_up);
    assert_eq!(bob.synced, got.len() as u64);
    while got.len() < sent.len() {
        got.push(bob.recv_message().await.id);
    }
    assert_eq!(got, sent, "every message once, in the order it was stored");
    bob.expect_nothing_pending().await;
}

/// Bob's delivered cursor in his conversation with alice, as the database
/// holds it.
fn stored_delivered_cursor(server: &TestServer) -> i64 {
    let db = rusqlite::Connection::open(server.data_path().join("classchat.db")).unwrap();
    db.query_row(
        "SELECT m.delivered_seq FROM members m JOIN users u ON u.id = m.user_id
         WHERE u.name = 'bob'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Waits until the hub has applied everything `c` sent before: a `who` is
/// answered after it.
async fn round_trip(c: &mut TestClient) {
    c.send(ClientMessage::Who { req: Some(99) }).await;
    c.recv_until(10, |m| matches!(m, ServerMessage::Who { .. }))
        .await;
}

/// Acknowledgements are not a commit each (a round of one message would cost
/// two): the cursors they move are written together, at most
/// `CURSORS_WITHIN` after the first; a `read` writes them at once, and so
/// does a graceful stop.
#[tokio::test]
async fn acknowledgements_are_written_within_a_second_together() {
    let server = start_server(ServerOptions::default().sqlite()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let token = bob.token().to_owned();
    let ack = |seq| ClientMessage::Ack {
        conv: conv("alice"),
        seq,
    };
    for (seq, text) in [(1, "one"), (2, "two")] {
        alice.send_stored("bob", text).await;
        assert_eq!(bob.recv_message().await.seq, seq);
    }

    // Neither an acknowledgement nor the next message writes it; a moment
    // later it is written.
    bob.send(ack(1)).await;
    round_trip(&mut bob).await;
    alice.send_stored("bob", "three").await;
    assert_eq!(bob.recv_message().await.seq, 3);
    assert_eq!(stored_delivered_cursor(&server), 0, "not written at once");
    // The clock paused after the log-ins (password hashing runs on threads
    // of its own, which a paused clock would not wait for).
    tokio::time::pause();
    tokio::time::sleep(classchat_server::hub::CURSORS_WITHIN).await;
    tokio::time::resume();
    round_trip(&mut bob).await;
    assert_eq!(
        stored_delivered_cursor(&server),
        1,
        "written within the bound"
    );

    // A `read` writes the waiting acknowledgement with it.
    bob.send(ack(2)).await;
    round_trip(&mut bob).await;
    assert_eq!(stored_delivered_cursor(&server), 1);
    bob.send(ClientMessage::Read {
        req: Some(5),
        conv: conv("alice"),
        seq: Some(1),
    })
    .await;
    bob.recv_until(10, |m| matches!(m, ServerMessage::ReadMarked { .. }))
        .await;
    assert_eq!(stored_delivered_cursor(&server), 2, "written with the read");

    // One still waiting when the server stops is written at the stop.
    bob.send(ack(3)).await;
    round_trip(&mut bob).await;
    drop((alice, bob));
    let server = server.restart().await;
    assert_eq!(stored_delivered_cursor(&server), 3, "written at the stop");
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert!(bob.caught_up.is_empty(), "got {:?}", bob.caught_up);
}
