//! Stopping the real `classchat-server` binary with a signal: SIGTERM (a
//! service manager, `kill`) and SIGHUP (the terminal it ran in was closed)
//! each stop it cleanly, as Ctrl-C does; and a log whose reader went away
//! (which closing a terminal also does to a `| tee`) stops nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use std::time::Duration;

use classchat_common::{ErrorCode, ServerMessage};
use support::binary::{launch, server_command};
use support::{PASSWORD, TestClient};

async fn a_signal_stops_the_server_cleanly(signal: &str) {
    let data = tempfile::tempdir().unwrap();
    let (mut child, addr, log) = launch(server_command(data.path())).await.listening();
    let mut alice = TestClient::login(addr, "alice", PASSWORD).await;
    assert!(data.path().join("admin.sock").exists());

    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-s", signal, &pid])
        .status()
        .unwrap();
    assert!(sent.success());

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
    let log = log.lock().unwrap().clone();
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
    use tokio::io::{AsyncBufReadExt as _, BufReader};

    let data = tempfile::tempdir().unwrap();
    let mut child = server_command(data.path())
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("a log line");
            if let Some(rest) = line.split("listening on ").nth(1) {
                let addr: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                return addr.parse::<std::net::SocketAddr>().unwrap();
            }
        }
    })
    .await
    .unwrap();
    // The reader goes away; every line logged from now on meets a closed pipe.
    drop(lines);

    // Creating accounts logs a line each.
    let mut alice = TestClient::login(addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(addr, "bob", PASSWORD).await;
    alice.send_stored("bob", "still here").await;
    bob.recv_message().await;

    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-s", "TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server exits within 10 s")
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(!data.path().join("admin.sock").exists());
}
