//! Stopping the server: every connection is told and closed, in bounded time,
//! whatever state it is in.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use std::time::Duration;

use classchat_common::protocol::Secret;
use classchat_common::{ClientMessage, ErrorCode, ServerMessage};
use classchat_server::ratelimit::Rate;
use support::{PASSWORD, ServerOptions, TestClient, start_server, user};

fn assert_told_shutdown(who: &str, last: &[ServerMessage]) {
    assert!(
        matches!(
            last,
            [
                ..,
                ServerMessage::Error {
                    code: ErrorCode::ServerShutdown,
                    ..
                }
            ]
        ),
        "{who} expected server_shutdown before the close, got {last:?}"
    );
}

#[tokio::test]
async fn stopping_the_server_tells_every_connection_whatever_its_state() {
    let server = start_server(ServerOptions::default()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.send_stored("bob", "hi").await;
    bob.recv_message().await;
    let mut greeted = server.connect().await;
    greeted.hello().await;
    let mut silent = server.connect().await;
    // The server has accepted the silent one once it answers a ping.
    silent.send(ClientMessage::Ping).await;
    expect!(silent.recv().await, ServerMessage::Pong => ());

    let stopping = tokio::spawn(server.stop());
    assert_told_shutdown("alice", &alice.expect_closed().await);
    assert_told_shutdown("bob", &bob.expect_closed().await);
    assert_told_shutdown(
        "a connection that said hello",
        &greeted.expect_closed().await,
    );
    assert_told_shutdown(
        "a connection that said nothing",
        &silent.expect_closed().await,
    );
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_client_that_stopped_reading_does_not_hold_up_a_shutdown() {
    let server = start_server(ServerOptions::default().memory().config(|c| {
        c.rates.messages = Rate::per_second(1_000_000, 1_000_000);
        // Far longer than a shutdown may take.
        c.write_timeout = Duration::from_secs(60);
    }))
    .await;
    let mut bob = TestClient::connect_with_small_buffer(server.addr).await;
    bob.hello().await;
    bob.send(ClientMessage::Login {
        user: user("bob"),
        password: Some(Secret(PASSWORD.into())),
        token: None,
        create: true,
    })
    .await;
    bob.finish_login().await;
    let mut alice = server.login("alice").await;
    // Enough to fill every buffer between the server and bob, who reads nothing.
    let big = "z".repeat(8000);
    for _ in 0..400 {
        alice.send_stored("bob", &big).await;
    }

    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("the server stops within 10 s although bob reads nothing");
    drop(bob);
}
