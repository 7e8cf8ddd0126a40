//! "A slow but steady reader is never dropped and keeps what it acknowledged."

use std::time::Duration;

use classchat_common::limits::MAX_BODY_BYTES;
use classchat_common::{ClientMessage, ServerMessage};
use classchat_server::ratelimit::Rate;

use crate::support::{
    LOGIN_WAIT, PASSWORD, ServerOptions, TestClient, conv, login_with_password, start_server,
};

/// Messages waiting for bob, each of the largest body: 4.9 MB, more than the
/// kernel's socket buffers hold (4 MiB at most on Linux), so the server has
/// to wait for the reader.
const WAITING: u64 = 600;

/// How long the reader pauses after each message: about 500 KB/s, so the
/// catch-up takes seconds, many times the server's write timeout.
const PAUSE: Duration = Duration::from_millis(15);

/// Logs bob in over a connection with a small receive buffer and reads up to
/// `logged_in`.
async fn slow_login(addr: std::net::SocketAddr) -> TestClient {
    let mut bob = TestClient::connect_with_small_buffer(addr).await;
    bob.hello().await;
    bob.send(login_with_password("bob", PASSWORD)).await;
    let reply = bob.recv_within(LOGIN_WAIT).await;
    assert!(matches!(reply, ServerMessage::LoggedIn { .. }), "{reply:?}");
    bob
}

/// Reads slowly, acknowledging every 25 messages, until `synced` or until
/// `stop_after` messages; returns the sequence numbers read.
async fn read_slowly(bob: &mut TestClient, stop_after: Option<usize>) -> (Vec<u64>, Option<u64>) {
    let mut seqs = Vec::new();
    for _ in 0..WAITING + 10 {
        match bob.recv().await {
            ServerMessage::Message(m) => {
                seqs.push(m.seq);
                if seqs.len() % 25 == 0 {
                    bob.send(ClientMessage::Ack {
                        conv: conv("alice"),
                        seq: m.seq,
                    })
                    .await;
                }
                if Some(seqs.len()) == stop_after {
                    return (seqs, None);
                }
                tokio::time::sleep(PAUSE).await;
            }
            ServerMessage::Synced { messages } => return (seqs, Some(messages)),
            other => panic!("during the catch-up: {other:?}"),
        }
    }
    panic!("no synced after {} lines", WAITING + 10);
}

#[tokio::test]
async fn a_slow_reader_finishes_its_catch_up_and_a_dropped_one_resumes_after_what_it_acknowledged()
{
    let options = ServerOptions::default().config(|c| {
        // Far less than the catch-up takes: only a write that stalls this
        // long may end the connection, not a slow whole.
        c.write_timeout = Duration::from_secs(1);
        c.rates.messages = Rate::per_second(100_000, 100_000);
    });
    let server = start_server(options).await;
    let mut alice = server.login("alice").await;
    drop(server.login("bob").await);
    let body = "x".repeat(MAX_BODY_BYTES);
    for _ in 0..WAITING {
        alice.send_stored("bob", &body).await;
    }

    // The first attempt drops out after 90 messages, acknowledged up to 75.
    let mut bob = slow_login(server.addr).await;
    let (seqs, synced) = read_slowly(&mut bob, Some(90)).await;
    assert_eq!(synced, None);
    assert_eq!(seqs, (1..=90).collect::<Vec<_>>());
    drop(bob);

    // The next one starts right after the acknowledged 75 and, reading just as
    // slowly, gets everything and `synced`.
    let mut bob = slow_login(server.addr).await;
    let (seqs, synced) = read_slowly(&mut bob, None).await;
    assert_eq!(seqs, (76..=WAITING).collect::<Vec<_>>());
    assert_eq!(synced, Some(WAITING - 75));
    // Still connected, and answering.
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn requests_made_during_the_catch_up_are_answered_after_synced() {
    let options = ServerOptions::default()
        .memory()
        .config(|c| c.rates.messages = Rate::per_second(100_000, 100_000));
    let server = start_server(options).await;
    let mut alice = server.login("alice").await;
    drop(server.login("bob").await);
    let body = "y".repeat(MAX_BODY_BYTES);
    for _ in 0..40 {
        alice.send_stored("bob", &body).await;
    }
    let mut bob = slow_login(server.addr).await;
    // Asked before reading anything: answered only after `synced`.
    bob.send(ClientMessage::Who { req: Some(7) }).await;
    let mut order = Vec::new();
    for _ in 0..50 {
        match bob.recv().await {
            ServerMessage::Message(m) => order.push(format!("message {}", m.seq)),
            ServerMessage::Synced { .. } => order.push("synced".into()),
            ServerMessage::Who { req: Some(7), .. } => {
                order.push("who".into());
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(order.len(), 42, "{order:?}");
    assert_eq!(order[40..], ["synced", "who"]);
}
