//! Stopping the real `classchat-server` binary with a signal: SIGTERM (a
//! service manager, `kill`) and SIGHUP (the terminal it ran in was closed)
//! each stop it cleanly, as Ctrl-C does; and a log whose reader went away
//! (which closing a terminal also does to a `| tee`) stops nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use std::time::Duration;

use classchat_common::{ErrorCode, ServerMessage};
use support::binary::{launch, launch_then_stop_reading_its_log, server_command};
use support::{PASSWORD, TestClient};

/// Sends `SIG<signal>` to the server, as `kill -s` does.
fn send_signal(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("the server runs").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-s", signal, &pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -s {signal} {pid}");
}

async fn a_signal_stops_the_server_cleanly(signal: &str) {
    let data = tempfile::tempdir().unwrap();
    let (mut child, addr, log) = launch(server_command(data.path())).await.listening();
    let mut alice = TestClient::login(addr, "alice", PASSWORD).await;
    assert!(data.path().join("admin.sock").exists());

    send_signal(&child, signal);

    let last = alice.expect_closed().await;
    assert!(
        matches!(
            last.as_slice(),
            [
                ..,
                ServerMessage::Error {
                    code: ErrorCode::ServerShutdown,
                    ..
                }
            ]
        ),
        "told of the shutdown before the close, got {last:?}"
    );
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server exits within 10 s")
        .unwrap();
    let log = log.whole().await;
    assert!(status.success(), "SIG{signal}: {status}\n{log}");
    assert!(log.contains(&format!("SIG{signal} received")), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(
        !data.path().join("admin.sock").exists(),
        "a stopped server leaves no socket"
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    a_signal_stops_the_server_cleanly("TERM").await;
}

#[tokio::test]
async fn sighup_stops_the_server_cleanly() {
    a_signal_stops_the_server_cleanly("HUP").await;
}

/// A server whose log nobody reads any more (the `tee` of a closed
/// terminal, a `| head` that ended) goes on serving, and stops cleanly.
#[tokio::test]
async fn a_log_nobody_reads_does_not_stop_the_server() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, addr) = launch_then_stop_reading_its_log(server_command(data.path())).await;

    // Creating accounts logs a line each.
    let mut alice = TestClient::login(addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(addr, "bob", PASSWORD).await;
    alice.send_stored("bob", "still here").await;
    bob.recv_message().await;

    send_signal(&child, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server exits within 10 s")
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(!data.path().join("admin.sock").exists());
}
