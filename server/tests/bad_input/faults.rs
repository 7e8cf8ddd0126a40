//! "`kill -9` of the server during load; a full disk; a corrupt or missing
//! database file (clear error at start, never silent data loss)."
//!
//! These run the real `classchat-server` binary, so what is checked is what an
//! operator sees: its exit status, its log, and what is left in its data
//! directory. `kill -9` under load has its own file, `server/tests/durability.rs`.
//! Also here, beyond the brief's list: a second server started on a data
//! directory that one is already using.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use classchat_common::{ClientMessage, ErrorCode, MessageId, OfferId, ServerMessage};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::process::Command;

use crate::support::binary::{Started, launch, server_args, server_command};
use crate::support::{PASSWORD, ServerOptions, TestClient, conv, send_to, start_server};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Offers `bytes` to `to` and uploads them in one chunk; returns the offer.
async fn upload(c: &mut TestClient, to: &str, bytes: &[u8]) -> OfferId {
    let req = c.req();
    c.send(ClientMessage::Offer {
        req: Some(req),
        to: conv(to),
        name: "notes.txt".into(),
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        stream: false,
    })
    .await;
    let offer = expect!(c.recv().await, ServerMessage::UploadReady { offer, .. } => offer);
    c.send(ClientMessage::Chunk {
        offer,
        offset: 0,
        data: BASE64.encode(bytes),
    })
    .await;
    c.recv_until(5, |m| matches!(m, ServerMessage::Uploaded { .. }))
        .await;
    offer
}

/// A SQLite data directory a stopped server left behind: alice's messages and
/// a file offer waiting for bob, who is away.
async fn used_data_dir() -> TempDir {
    let server = start_server(ServerOptions::default().sqlite()).await;
    server.login("bob").await.bye().await;
    let mut alice = server.login("alice").await;
    for i in 0..20 {
        alice.send_stored("bob", &format!("kept safe {i}")).await;
    }
    upload(&mut alice, "bob", b"the lab report").await;
    // A search has the index catch up now: a server started on the directory
    // later has nothing to index, and so writes nothing while it is idle.
    let req = alice.req();
    alice
        .send(ClientMessage::Search {
            req: Some(req),
            words: "kept".into(),
            conv: None,
            before: None,
            limit: None,
        })
        .await;
    alice.recv_until(5, |m| m.req() == Some(req)).await;
    drop(alice);
    server.stop().await
}

/// Every file under `dir` with its bytes, to show nothing was touched. The
/// lock a server takes on the directory (`classchat.lock`, holding its process
/// id) and the socket it answers `classchat-server backup` on (`admin.sock`)
/// are bookkeeping, not data, and are left out.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path
                .file_name()
                .is_some_and(|n| n == "classchat.lock" || n == "admin.sock")
            {
                continue;
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// A copy of `from` in a new temporary directory.
fn copy_dir(from: &Path) -> TempDir {
    let to = TempDir::new().unwrap();
    for (path, bytes) in contents(from) {
        let target = to.path().join(path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
    to
}

#[tokio::test]
async fn a_corrupt_database_file_stops_the_server_at_start_with_a_clear_error_and_is_left_alone() {
    let good = used_data_dir().await;
    let db = good.path().join("classchat.db");
    let whole = std::fs::read(&db).unwrap();
    let wal = good.path().join("classchat.db-wal");
    assert!(
        wal.metadata().map_or(0, |m| m.len()) == 0,
        "a clean stop leaves everything in the database file itself"
    );
    assert!(whole.len() >= 4 * 4096, "a database of several pages");
    let page = 4096;
    let damages: Vec<(&str, Vec<u8>)> = vec![
        (
            "not a database at all",
            b"not a database, just text\n".repeat(500),
        ),
        ("a header of zeros", {
            let mut d = whole.clone();
            d[..100].fill(0);
            d
        }),
        ("every page after the first overwritten", {
            let mut d = whole.clone();
            d[page..].fill(0x5a);
            d
        }),
        ("cut short after the first page", whole[..page].to_vec()),
        ("the last page overwritten", {
            let mut d = whole.clone();
            let last = d.len() - page;
            d[last..].fill(0x5a);
            d
        }),
    ];
    for (what, bytes) in damages {
        let dir = copy_dir(good.path());
        let db = dir.path().join("classchat.db");
        std::fs::write(&db, &bytes).unwrap();
        let before = contents(dir.path());

        let log = launch(server_command(dir.path())).await.refused();
        assert!(
            log.contains(&db.display().to_string()) && log.contains("damaged"),
            "{what}: the error names the file and says what is wrong:\n{log}"
        );
        assert!(
            log.contains("backup"),
            "{what}: and what to do about it:\n{log}"
        );
        assert_eq!(
            contents(dir.path()),
            before,
            "{what}: the database and the files are left exactly as they were"
        );
    }

    // The undamaged copy still starts and still has everything.
    let (_child, addr, _) = launch(server_command(good.path())).await.listening();
    let bob = TestClient::login(addr, "bob", PASSWORD).await;
    assert_eq!(bob.caught_up.len(), 21, "twenty messages and the offer");
}

#[tokio::test]
async fn a_missing_database_file_is_never_silently_replaced_while_its_data_is_still_there() {
    // Deleted, with the offered files it described still in files/.
    let dir = used_data_dir().await;
    let db = dir.path().join("classchat.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let files_dir = dir.path().join("files");
    let before = contents(dir.path());
    assert_eq!(before.len(), 1, "one offered file: {before:?}");
    let log = launch(server_command(dir.path())).await.refused();
    assert!(
        log.contains(&db.display().to_string()) && log.contains("missing"),
        "the error names the missing file:\n{log}"
    );
    assert!(
        log.contains(&files_dir.display().to_string()) && log.contains("backup"),
        "and says what is left and what to do:\n{log}"
    );
    assert_eq!(contents(dir.path()), before, "the offered file is kept");
    assert!(!db.exists(), "no empty database was made in its place");

    // Deleted, with its write-ahead log (the newest messages) left behind.
    let dir = TempDir::new().unwrap();
    let wal = dir.path().join("classchat.db-wal");
    std::fs::write(&wal, vec![7u8; 8192]).unwrap();
    let log = launch(server_command(dir.path())).await.refused();
    assert!(
        log.contains(&wal.display().to_string()),
        "the error names the log left behind:\n{log}"
    );
    assert_eq!(std::fs::read(&wal).unwrap(), vec![7u8; 8192]);

    // Moving the rest away too is a fresh start, and the log says so.
    std::fs::remove_file(&wal).unwrap();
    let (_child, addr, log) = launch(server_command(dir.path())).await.listening();
    let text = log.so_far();
    assert!(
        text.contains("new, empty database"),
        "a fresh start is announced:\n{text}"
    );
    let alice = TestClient::login(addr, "alice", PASSWORD).await;
    assert!(alice.created, "a new account on a new database");
}

/// Starts the real binary with its data directory on a tmpfs of 8 MiB and its
/// files folder on another of 64 KiB, in a private mount namespace (so nothing
/// is left mounted when it ends), or says why it cannot.
async fn start_on_small_disks(mount: &Path) -> Result<Started, String> {
    const SCRIPT: &str = r#"mount -t tmpfs -o size=8m classchat-data "$1" && mkdir "$1/files" && mount -t tmpfs -o size=64k classchat-files "$1/files" || exit 97; shift; exec "$@""#;
    let mut command = Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            SCRIPT,
            "sh",
        ])
        .arg(mount)
        .arg(env!("CARGO_BIN_EXE_classchat-server"))
        .args(server_args(mount))
        .args(["--rate", "1000000", "--burst", "1000000"]);
    match launch(command).await {
        Started::Exited { status, log } => Err(format!("{status}: {log}")),
        started => Ok(started),
    }
}

/// Fills the filesystem behind `path` (a file in the server's view, reached
/// through /proc/PID/root) until it is full.
fn fill(path: &Path) {
    use std::io::Write as _;
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 << 10];
    for _ in 0..10_000 {
        if let Err(e) = f.write_all(&block) {
            assert_eq!(e.raw_os_error(), Some(28), "ENOSPC, not {e}");
            return;
        }
    }
    panic!("{} never filled up", path.display());
}

/// Offers `bytes` to bob and sends them in one chunk; returns the offer and
/// what came after the `chunk_ack` (which says the bytes arrived, not that
/// they were kept: only `uploaded` says that).
async fn try_upload(alice: &mut TestClient, name: &str, bytes: &[u8]) -> (OfferId, ServerMessage) {
    let req = alice.req();
    alice
        .send(ClientMessage::Offer {
            req: Some(req),
            to: conv("bob"),
            name: name.into(),
            size: bytes.len() as u64,
            sha256: sha256_hex(bytes),
            stream: false,
        })
        .await;
    let offer = expect!(alice.recv().await, ServerMessage::UploadReady { offer, .. } => offer);
    if !bytes.is_empty() {
        alice
            .send(ClientMessage::Chunk {
                offer,
                offset: 0,
                data: BASE64.encode(bytes),
            })
            .await;
    }
    let answer = alice
        .recv_until(1, |m| !matches!(m, ServerMessage::ChunkAck { .. }))
        .await;
    (offer, answer)
}

#[track_caller]
fn assert_storage_failed(answer: &ServerMessage, offer: OfferId) {
    assert!(
        matches!(answer, ServerMessage::Error { offer: Some(o), code: ErrorCode::StorageFailed, .. } if *o == offer),
        "expected storage_failed for {offer}, got {answer:?}"
    );
}

#[tokio::test]
async fn a_full_disk_refuses_what_it_cannot_store_loses_nothing_stored_and_recovers() {
    let mount = TempDir::new().unwrap();
    let started = match start_on_small_disks(mount.path()).await {
        Ok(started) => started,
        Err(why) => {
            // Needs user and mount namespaces (or root), as CI has.
            eprintln!("SKIPPED: cannot give the server small filesystems of its own: {why}");
            return;
        }
    };
    let (child, addr, log) = started.listening();
    let pid = child.id().unwrap();
    let inside =
        |path: &str| PathBuf::from(format!("/proc/{pid}/root{}/{path}", mount.path().display()));
    let files_left = || std::fs::read_dir(inside("files")).unwrap().count();

    let mut bob = TestClient::login(addr, "bob", PASSWORD).await;
    let carol = TestClient::login(addr, "carol", PASSWORD).await;
    let carol_token = carol.token().to_owned();
    carol.bye().await;
    let mut alice = TestClient::login(addr, "alice", PASSWORD).await;

    // A file larger than the room left for files: refused, never offered short.
    let (offer, answer) = try_upload(&mut alice, "big.bin", &vec![1u8; 100_000]).await;
    assert_storage_failed(&answer, offer);
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
    assert_eq!(files_left(), 0, "the part written is deleted");

    let body = "x".repeat(2000);
    let mut stored = Vec::new();
    for _ in 0..5 {
        let (id, _) = alice.send_stored("bob", &body).await;
        assert_eq!(bob.recv_message().await.id, id);
        stored.push(id);
    }

    // The disk fills up. Alice writes on until the server cannot store any more.
    let filler = inside("filler");
    fill(&filler);
    let mut refused = Vec::new();
    for _ in 0..2000 {
        let (id, send) = send_to("bob", &body);
        alice.send(send).await;
        match alice.recv().await {
            ServerMessage::Stored { id: got, .. } if got == id => {
                assert_eq!(bob.recv_message().await.id, id);
                stored.push(id);
            }
            ServerMessage::Error {
                id: Some(got),
                code: ErrorCode::StorageFailed,
                retry_after_ms,
                message,
                ..
            } if got == id => {
                assert!(retry_after_ms.is_some_and(|ms| ms > 0), "{message}");
                refused.push(id);
                if refused.len() == 3 {
                    break;
                }
            }
            other => panic!("expected stored or storage_failed, got {other:?}"),
        }
    }
    assert_eq!(refused.len(), 3, "the disk never filled up");
    eprintln!(
        "the disk filled after {} messages; 3 refused with storage_failed",
        stored.len()
    );
    let text = log.so_far();
    assert!(
        text.contains("could not store"),
        "the log says why:\n{text}"
    );
    // An empty file needs no room for its bytes, only for its offer.
    let (offer, answer) = try_upload(&mut alice, "empty.txt", b"").await;
    assert_storage_failed(&answer, offer);
    alice.expect_nothing_pending().await;
    assert_eq!(files_left(), 0, "a failed offer leaves nothing behind");
    // Logging in needs a write too: carol is told, and may come back later.
    let mut late = TestClient::connect(addr).await;
    late.hello().await;
    late.send(ClientMessage::Login {
        user: crate::support::user("carol"),
        password: None,
        token: Some(classchat_common::protocol::Secret(carol_token.clone())),
        create: true,
    })
    .await;
    let last = late.expect_closed().await;
    assert!(
        matches!(
            last.as_slice(),
            [ServerMessage::Error {
                code: ErrorCode::StorageFailed,
                ..
            }]
        ),
        "{last:?}"
    );
    // Bob got nothing that was refused, and his connection is fine.
    bob.expect_nothing_pending().await;

    // Space comes back: the same messages, retried, are stored after the others.
    std::fs::remove_file(&filler).unwrap();
    for id in &refused {
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
        let seq = stored.len() as u64 + 1;
        expect!(alice.recv().await, ServerMessage::Stored { id: got, seq: s, duplicate: false, .. } if got == *id && s == seq => ());
        assert_eq!(bob.recv_message().await.id, *id);
        stored.push(*id);
    }
    let (offer, answer) = try_upload(&mut alice, "small.txt", b"fits now").await;
    expect!(answer, ServerMessage::Message(m) if m.file.as_ref().is_some_and(|f| f.offer == offer) => ());
    assert_eq!(bob.recv_message().await.file.unwrap().offer, offer);
    TestClient::resume(addr, "carol", &carol_token).await;

    // What the database holds: every message once, in order, no gaps.
    let req = bob.req();
    bob.send(ClientMessage::History {
        req: Some(req),
        conv: conv("alice"),
        before: None,
        after: Some(0),
        limit: Some(200),
    })
    .await;
    let messages = expect!(bob.recv().await, ServerMessage::History { messages, .. } => messages);
    let ids: Vec<MessageId> = messages.iter().map(|m| m.id).take(stored.len()).collect();
    assert_eq!(ids, stored);
    let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=stored.len() as u64 + 1).collect::<Vec<_>>());
    drop(child);
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_stops_at_start_and_leaves_the_first_alone() {
    let dir = used_data_dir().await;
    let (mut first, addr, _log) = launch(server_command(dir.path())).await.listening();
    let first_pid = first.id().unwrap();
    let before = contents(dir.path());

    let log = launch(server_command(dir.path())).await.refused();
    assert!(
        log.contains("another classchat-server")
            && log.contains(&format!("process {first_pid}"))
            && log.contains(&dir.path().display().to_string()),
        "the error says who holds which directory:\n{log}"
    );
    assert_eq!(
        contents(dir.path()),
        before,
        "the offer waiting for bob is still there"
    );

    // The first goes on serving, and bob still gets his messages and file.
    let bob = TestClient::login(addr, "bob", PASSWORD).await;
    assert_eq!(bob.caught_up.len(), 21, "20 messages and the file offer");
    bob.bye().await;

    // Once it has stopped, the directory is free again.
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    let (mut next, _, _) = launch(server_command(dir.path())).await.listening();
    next.start_kill().unwrap();
}
