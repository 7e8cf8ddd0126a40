//! PostgreSQL going away under a running server (`--store postgres`). A test
//! binary of its own, since it stops the throwaway PostgreSQL that every test
//! of its binary shares.

#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use classchat_common::{ClientMessage, ErrorCode, MessageId, ServerMessage};
use support::postgres;
use support::{ServerOptions, conv, start_server};

/// PostgreSQL stops under traffic: sends are refused with `storage_failed`
/// (never acknowledged), and once it is back the same sends are stored once
/// each, and nothing acknowledged before is lost.
#[tokio::test]
async fn postgresql_going_away_fails_sends_with_storage_failed_and_loses_nothing() {
    let server = start_server(ServerOptions::default().postgres()).await;
    let url = postgres::database_for(&server.data_path());
    let db = url.rsplit("dbname=").next().unwrap().to_owned();
    let pg = postgres::server();
    let mut bob = server.login("bob").await;
    let mut alice = server.login("alice").await;
    for i in 0..10 {
        alice.send_stored("bob", &format!("before {i}")).await;
    }
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
    let refused = alice
        .recv_until(5, |m| {
            matches!(
                m,
                ServerMessage::Error { .. } | ServerMessage::Stored { .. }
            )
        })
        .await;
    assert!(
        matches!(
            refused,
            ServerMessage::Error { code: ErrorCode::StorageFailed, id: Some(i), .. } if i == id
        ),
        "{refused:?}"
    );
    pg.start_again();
    // The client retries as it is told to; the first retries may still meet
    // the old connection and fail too (bounded).
    let mut stored = None;
    for _ in 0..20 {
        alice.send(send.clone()).await;
        match alice
            .recv_until(5, |m| {
                matches!(
                    m,
                    ServerMessage::Error { .. } | ServerMessage::Stored { .. }
                )
            })
            .await
        {
            ServerMessage::Stored { seq, .. } => {
                stored = Some(seq);
                break;
            }
            ServerMessage::Error {
                code: ErrorCode::StorageFailed,
                ..
            } => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        stored,
        Some(11),
        "stored once, right after what came before"
    );
    alice.send_stored("bob", "after").await;
    assert_eq!(pg.value(&db, "SELECT count(*) FROM messages"), "12");
    // bob saw every stored message once, in order.
    let mut got = Vec::new();
    while got.len() < 12 {
        match bob
            .recv_until(5, |m| matches!(m, ServerMessage::Message(_)))
            .await
        {
            ServerMessage::Message(m) => got.push(m.seq),
            _ => unreachable!(),
        }
    }
    assert_eq!(got, (1..=12).collect::<Vec<_>>());
}
