//! PostgreSQL restarting under the nodes of a cluster. A test binary of its
//! own, since it stops the throwaway PostgreSQL that every test of its binary
//! shares.

#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use std::time::Duration;

use classchat_common::{ClientMessage, ErrorCode, MessageId, ServerMessage};
use support::cluster::{Cluster, next_message_slowly, wait_until_online};
use support::{PASSWORD, TestClient, conv, postgres};

/// The answer to `send`: `stored` or an error naming it.
async fn answer(c: &mut TestClient, id: MessageId) -> ServerMessage {
    c.recv_until(20, |m| {
        matches!(m, ServerMessage::Stored { id: of, .. } if *of == id)
            || matches!(m, ServerMessage::Error { id: Some(of), .. } if *of == id)
    })
    .await
}

/// PostgreSQL stops while alice, on n1, writes to bob, on n2: her send is
/// answered `storage_failed` (nothing acknowledged), both nodes wait for the
/// database, and once it is back the same send is stored once, right after
/// what came before; bob, who never reconnected, gets everything once, in
/// order, and the nodes hold their ids again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarting_under_two_nodes_loses_and_doubles_nothing() {
    let cluster = Cluster::new("c_restart");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    wait_until_online(&mut bob, "alice").await;
    for i in 0..10 {
        alice.send_stored("bob", &format!("before {i}")).await;
    }
    let mut seqs = Vec::new();
    for _ in 0..10 {
        seqs.push(next_message_slowly(&mut bob).await.seq);
    }

    let pg = postgres::server();
    pg.stop();
    let id = MessageId::new();
    let send = ClientMessage::Send {
        id,
        to: conv("bob"),
        body: "while the database is down".into(),
        reply_to: None,
        edit: None,
        delete: None,
        react: None,
        unreact: None,
    };
    alice.send(send.clone()).await;
    let refused = answer(&mut alice, id).await;
    expect!(refused, ServerMessage::Error { code: ErrorCode::StorageFailed, .. } => ());
    pg.start_again();
    // Sent again as a client does when told to; the first tries may still
    // meet the old connection (bounded).
    let mut stored = None;
    for _ in 0..40 {
        alice.send(send.clone()).await;
        match answer(&mut alice, id).await {
            ServerMessage::Stored { seq, .. } => {
                stored = Some(seq);
                break;
            }
            ServerMessage::Error {
                code: ErrorCode::StorageFailed,
                ..
            } => tokio::time::sleep(Duration::from_millis(250)).await,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(stored, Some(11), "stored once, after what came before");
    alice.send_stored("bob", "after").await;
    for _ in 0..2 {
        seqs.push(next_message_slowly(&mut bob).await.seq);
    }
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>(), "once each, in order");

    // And back, through n2, which found the database again too.
    bob.send_stored("alice", "all well").await;
    assert_eq!(alice.recv_message().await.body, "all well");
    assert_eq!(cluster.value("SELECT count(*) FROM messages"), "13");
    let log = cluster.try_start("n1").await.refused();
    assert!(log.contains("node \"n1\" is already running"), "{log}");
    drop((n1, n2));
}
