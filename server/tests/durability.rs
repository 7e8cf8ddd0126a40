//! `kill -9` of the real server binary under load loses nothing it answered
//! `stored`, and a client retrying what was not answered never stores it twice.
//! On the suite's default store: SQLite, or PostgreSQL with
//! `CLASSCHAT_TEST_STORE=postgres`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use classchat_common::{ClientMessage, MessageId, ServerMessage};
use classchat_server::store::sqlite::SyncLevel;
use futures::{SinkExt, StreamExt};
use support::{PASSWORD, ServerOptions, TestClient, conv};
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};

/// Times the server is killed while alice is sending.
const KILLS: usize = 8;
/// How many `stored` replies she sees from each server before it is killed.
const KILL_AFTER: usize = 250;
/// Messages she keeps sent but unanswered: the kill always finds this many in
/// flight, however fast or slow this machine runs the server.
const WINDOW: usize = 200;
/// A bound on the messages sent to one server, far beyond what it gets to store.
const MAX_PER_RUN: usize = 100_000;

/// The real `classchat-server` process.
struct Binary {
    child: Child,
    addr: SocketAddr,
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

async fn start_binary(data_dir: &Path, log: &Path) -> Binary {
    // Another process may take the free port before the server binds it: try anew.
    for _ in 0..3 {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_classchat-server"))
            .args(["--listen", &addr.to_string(), "--data-dir"])
            .arg(data_dir)
            .args(["--rate", "1000000", "--burst", "1000000"])
            .args(support::store_args(data_dir))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("start classchat-server");
        // Up within 10 s, polling every 20 ms.
        for _ in 0..500 {
            if let Some(status) = child.try_wait().unwrap() {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                eprintln!("classchat-server exited at start ({status}):\n{log}");
                break;
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Binary { child, addr };
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    panic!("classchat-server did not start in three tries");
}

/// Sends messages from alice to bob, keeping `WINDOW` of them unanswered,
/// kills the server once `KILL_AFTER` were answered `stored`, and returns what
/// was sent (id and body, in order) and every id answered `stored` with its
/// sequence number.
async fn send_until_killed(
    mut server: Binary,
    alice: TestClient,
    run: usize,
) -> (Vec<(MessageId, String)>, HashMap<MessageId, u64>) {
    let (mut sink, mut stream) = alice.into_framed().split();
    let (answered, mut answered_rx) = watch::channel(0usize);
    let writer = tokio::spawn(async move {
        let mut sent = Vec::new();
        for i in 0..MAX_PER_RUN {
            if i >= WINDOW {
                // The server dies under us: writes and waits start failing, as expected.
                if sink.flush().await.is_err()
                    || answered_rx.wait_for(|n| i - n < WINDOW).await.is_err()
                {
                    break;
                }
            }
            let (id, body) = (MessageId::new(), format!("run {run} message {i}"));
            let send = ClientMessage::Send {
                id,
                to: conv("bob"),
                body: body.clone(),
                reply_to: None,
                edit: None,
                delete: None,
                react: None,
                unreact: None,
            };
            if sink.feed(send.to_line()).await.is_err() {
                break;
            }
            sent.push((id, body));
        }
        sent
    });
    let (kill, killed) = oneshot::channel();
    let reader = tokio::spawn(async move {
        let mut kill = Some(kill);
        let mut stored = HashMap::new();
        // Ends when the killed server's connection does; bounded by the caller's timeout.
        while let Some(Ok(line)) = stream.next().await {
            match ServerMessage::decode(&line).unwrap() {
                ServerMessage::Stored {
                    id,
                    seq,
                    duplicate: false,
                    ..
                } => {
                    assert!(stored.insert(id, seq).is_none(), "{id} stored twice");
                }
                // How many are online, told to everyone.
                ServerMessage::Online { .. } => continue,
                other => panic!("alice got {other:?}"),
            }
            answered.send_replace(stored.len());
            if stored.len() == KILL_AFTER
                && let Some(kill) = kill.take()
            {
                let _ = kill.send(());
            }
        }
        stored
    });

    tokio::time::timeout(Duration::from_secs(20), killed)
        .await
        .expect("messages are stored within 20 s")
        .unwrap();
    server.child.kill().await.unwrap();
    let stored = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .unwrap()
        .unwrap();
    let sent = tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.len() < sent.len(),
        "the kill came while messages were in flight"
    );
    (sent, stored)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_message_that_was_answered_stored() {
    let root = tempfile::TempDir::new().unwrap();
    let data_dir = root.path().join("data");
    let mut tokens: Option<(String, String)> = None;
    let mut sent = Vec::new();
    let mut stored = HashMap::new();
    for run in 0..KILLS {
        let server = start_binary(&data_dir, &root.path().join(format!("{run}.log"))).await;
        let alice = match &tokens {
            Some((alice_token, _)) => TestClient::resume(server.addr, "alice", alice_token).await,
            None => {
                let bob = TestClient::login(server.addr, "bob", PASSWORD).await;
                let bob_token = bob.token().to_owned();
                bob.bye().await;
                let alice = TestClient::login(server.addr, "alice", PASSWORD).await;
                tokens = Some((alice.token().to_owned(), bob_token));
                alice
            }
        };
        let (run_sent, run_stored) = send_until_killed(server, alice, run).await;
        sent.extend(run_sent);
        stored.extend(run_stored);
    }
    let (alice_token, bob_token) = tokens.unwrap();
    let body: HashMap<MessageId, &str> =
        sent.iter().map(|(id, body)| (*id, body.as_str())).collect();

    let server = start_binary(&data_dir, &root.path().join("last.log")).await;
    let bob = TestClient::resume(server.addr, "bob", &bob_token).await;
    let got = &bob.caught_up;
    assert_eq!(bob.synced, got.len() as u64);
    let seqs: Vec<u64> = got.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=got.len() as u64).collect::<Vec<_>>(),
        "no gaps, in order"
    );
    let mut seen = HashSet::new();
    for m in got {
        assert!(seen.insert(m.id), "{} arrived twice", m.id);
        assert_eq!(
            Some(&m.body.as_str()),
            body.get(&m.id),
            "a message alice sent, unchanged"
        );
    }
    for (id, seq) in &stored {
        let m = got.iter().find(|m| m.id == *id);
        let m = m.unwrap_or_else(|| panic!("{:?} was answered stored and then lost", body[id]));
        assert_eq!(m.seq, *seq, "{:?} moved", body[id]);
    }

    // Alice retries everything she had no answer for, as a client's outbox would:
    // what was stored without an answer comes back as a duplicate, never twice.
    let mut alice = TestClient::resume(server.addr, "alice", &alice_token).await;
    let retries: Vec<&(MessageId, String)> = sent
        .iter()
        .filter(|(id, _)| !stored.contains_key(id))
        .collect();
    for (id, body) in &retries {
        alice
            .send(ClientMessage::Send {
                id: *id,
                to: conv("bob"),
                body: body.clone(),
                reply_to: None,
                edit: None,
                delete: None,
                react: None,
                unreact: None,
            })
            .await;
    }
    for _ in &retries {
        let (id, duplicate) = expect!(alice.recv().await, ServerMessage::Stored { id, duplicate, .. } => (id, duplicate));
        assert_eq!(duplicate, seen.contains(&id), "{:?}", body[&id]);
    }
    drop(bob);

    let bob = TestClient::resume(server.addr, "bob", &bob_token).await;
    let all: Vec<MessageId> = bob.caught_up.iter().map(|m| m.id).collect();
    assert_eq!(all.len(), sent.len(), "every message exactly once");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), sent.len());
    let seqs: Vec<u64> = bob.caught_up.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=sent.len() as u64).collect::<Vec<_>>());
}

/// `--sync full` fsyncs every commit; on a multi-threaded runtime, like the
/// binary's, the hub waits for it inside `block_in_place` so the runtime's
/// other tasks go on. Every message is still stored, delivered in order and
/// kept across a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_sync_full_every_message_is_stored_delivered_and_kept() {
    let server =
        support::start_server(ServerOptions::default().config(|c| c.sync = SyncLevel::Full)).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let (id, _) = alice.send_stored("bob", &format!("kept {i}")).await;
        assert_eq!(bob.recv_message().await.id, id);
        ids.push(id);
    }
    alice.bye().await;
    bob.bye().await;

    // Bob never acknowledged: after the restart all twenty are his catch-up.
    let server = server.restart().await;
    let bob = server.login("bob").await;
    let got: Vec<MessageId> = bob.caught_up.iter().map(|m| m.id).collect();
    assert_eq!(got, ids);
}
