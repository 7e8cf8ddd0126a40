//! File transfer end to end through the client core against the real server:
//! real files hashed, offered, uploaded, accepted, verified and saved in temporary
//! folders; names from a hostile raw-protocol sender; collisions; decline;
//! bulk connections cut half-way (they resume) or refused (chunks instead);
//! and the real `classchat` binaries' memory while they move 50 MB.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use classchat_client::client::{Action, Client, Event, Link, Progress, TransferState};
use classchat_client::tls::Trust;
use classchat_common::limits::PROTOCOL_VERSION;
use classchat_common::protocol::{ChatMessage, FileCounts, FileState, Secret};
use classchat_common::{ClientMessage, Conv, LineCodec, OfferId, ServerMessage};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

mod support;
use support::relay::{self, Relay};
use support::{TestServer, Ui, connect, shown};

/// How long one event of a 50 MB transfer may take in a debug build on a busy machine.
const SLOW: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(10);

fn conv(s: &str) -> Conv {
    s.parse().unwrap()
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `size` pseudo-random bytes to `path`, a megabyte at a time.
fn write_random(path: &Path, seed: u64, size: u64) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut left = size;
    let mut word = 0u64;
    while left > 0 {
        let block: Vec<u8> = (0..(left.min(1 << 20)).div_ceil(8))
            .flat_map(|_| {
                word += 1;
                splitmix(seed ^ word).to_le_bytes()
            })
            .take(left.min(1 << 20) as usize)
            .collect();
        file.write_all(&block).unwrap();
        left -= block.len() as u64;
    }
    file.flush().unwrap();
}

/// Size and SHA-256 of a file, read a megabyte at a time.
fn sha256_file(path: &Path) -> (u64, String) {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut size = 0;
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    (size, hex(&hasher.finalize()))
}

/// Whether two files hold the same bytes, compared a megabyte at a time
/// (cheaper than hashing both in a debug build).
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if b.read_exact(&mut y[..n]).is_err() || x[..n] != y[..n] {
            return false;
        }
    }
}

/// The names in a folder, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The next event `pick` accepts, within `within`, skipping others.
async fn expect_within<T>(
    events: &mut mpsc::Receiver<Event>,
    within: Duration,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out after {within:?} waiting for {what}"))
            .unwrap_or_else(|| panic!("the client stopped while waiting for {what}"));
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

/// The next chat message carrying a file offer.
async fn offer_message(events: &mut mpsc::Receiver<Event>) -> ChatMessage {
    expect_within(events, WAIT, "a file offer", |e| match e {
        Event::Server(ServerMessage::Message(m)) if m.file.is_some() => Some(m.clone()),
        _ => None,
    })
    .await
}

/// The next `file_status` the sender is told: who, what, and the counts.
async fn file_status(events: &mut mpsc::Receiver<Event>) -> (String, FileState, FileCounts) {
    expect_within(events, WAIT, "a file status", |e| match e {
        Event::Server(ServerMessage::FileStatus {
            user,
            state,
            counts,
            ..
        }) => Some((user.to_string(), *state, *counts)),
        _ => None,
    })
    .await
}

/// Follows one transfer to its end, checking that its states go forward and its
/// bytes never go back; returns every report.
async fn follow(
    events: &mut mpsc::Receiver<Event>,
    within: Duration,
    mut mine: impl FnMut(&Progress) -> bool,
) -> Vec<Progress> {
    let mut seen: Vec<Progress> = Vec::new();
    loop {
        let p = expect_within(events, within, "transfer progress", |e| match e {
            Event::Transfer(p) if mine(p) => Some(p.clone()),
            _ => None,
        })
        .await;
        if let Some(last) = seen.last() {
            assert!(
                p.bytes >= last.bytes,
                "progress went back: {last:?} then {p:?}"
            );
            assert!(rank(&p.state) >= rank(&last.state), "{last:?} then {p:?}");
        }
        assert!(p.bytes <= p.size || p.size == 0, "{p:?}");
        let over = p.state.is_over();
        seen.push(p);
        if over {
            return seen;
        }
    }
}

fn rank(state: &TransferState) -> u8 {
    match state {
        TransferState::Hashing => 0,
        TransferState::Offering => 1,
        TransferState::Uploading | TransferState::Downloading => 2,
        _ => 3,
    }
}

/// Sends the file at `path` to `to` and waits until it is uploaded; returns the offer.
async fn send_file(
    client: &Client,
    events: &mut mpsc::Receiver<Event>,
    to: &str,
    path: &Path,
    within: Duration,
) -> (OfferId, Vec<Progress>) {
    let local = client
        .send_file(conv(to), path.to_path_buf())
        .await
        .unwrap();
    let reports = follow(events, within, |p| p.local == Some(local)).await;
    let last = reports.last().unwrap();
    assert_eq!(last.state, TransferState::Uploaded, "{reports:?}");
    (last.offer.unwrap(), reports)
}

/// Accepts `offer` into `dir` and waits for the end of its download.
async fn accept(
    client: &Client,
    events: &mut mpsc::Receiver<Event>,
    offer: OfferId,
    dir: &Path,
    within: Duration,
) -> Vec<Progress> {
    client
        .act(Action::Accept {
            offer,
            conv: None,
            dir: dir.to_path_buf(),
        })
        .await
        .unwrap();
    follow(events, within, |p| p.offer == Some(offer) && !p.upload).await
}

/// Where a download that ended was saved.
fn saved(reports: &[Progress]) -> PathBuf {
    match &reports.last().unwrap().state {
        TransferState::Saved { path } => path.clone(),
        other => panic!("not saved: {other:?}"),
    }
}

/// Accepts `offer` into `dir` and returns where it was saved.
async fn save(
    client: &Client,
    events: &mut mpsc::Receiver<Event>,
    offer: OfferId,
    dir: &Path,
) -> PathBuf {
    saved(&accept(client, events, offer, dir, WAIT).await)
}

#[tokio::test]
async fn a_50_mb_file_is_hashed_sent_accepted_and_saved_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    let source = dir.path().join("lecture.mp4");
    write_random(&source, 1, 50 << 20);
    let downloads = dir.path().join("downloads");

    let (offer, up) = send_file(&alice, &mut alice_events, "bob", &source, SLOW).await;
    let states: Vec<u8> = up.iter().map(|p| rank(&p.state)).collect();
    assert_eq!(
        (states.first(), states.last()),
        (Some(&0), Some(&3)),
        "hashing first, uploaded last: {up:?}"
    );
    assert!(up.iter().any(|p| p.state == TransferState::Offering));
    assert_eq!(up.last().unwrap().bytes, 50 << 20);

    let m = offer_message(&mut bob_events).await;
    let info = m.file.clone().unwrap();
    assert_eq!(
        (info.offer, info.name.as_str(), info.size),
        (offer, "lecture.mp4", 50 << 20)
    );
    let down = accept(&bob, &mut bob_events, offer, &downloads, SLOW).await;
    let saved = saved(&down);
    assert_eq!(down.first().unwrap().state, TransferState::Downloading);
    assert_eq!(saved, downloads.join("lecture.mp4"));
    assert!(same_bytes(&saved, &source), "byte-identical");
    assert_eq!(
        listing(&downloads),
        ["lecture.mp4"],
        "no partial file left behind"
    );

    assert_eq!(
        file_status(&mut alice_events).await,
        ("bob".into(), FileState::Accepted, counts(1, 0, 0, 1))
    );
    assert_eq!(
        file_status(&mut alice_events).await,
        ("bob".into(), FileState::Received, counts(1, 0, 1, 1))
    );
    server.stop().await;
}

fn counts(accepted: u32, declined: u32, received: u32, of: u32) -> FileCounts {
    FileCounts {
        accepted,
        declined,
        received,
        of,
    }
}

#[tokio::test]
async fn a_file_for_an_offline_user_is_accepted_after_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let mut server = TestServer::start("127.0.0.1:0", &data).await;
    let addr = server.addr.to_string();
    let (bob, _, _) = connect(&server, "bob").await;
    bob.quit().await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let source = dir.path().join("essay.odt");
    write_random(&source, 2, 300_000);
    let (offer, _) = send_file(&alice, &mut alice_events, "bob", &source, WAIT).await;

    server.stop().await;
    let mut server = TestServer::start(&addr, &data).await;
    // Alice's client reconnects by itself; status changes are pushed only to
    // those online (a client asks `files` after a reconnect for the rest), so
    // wait for her to be back before bob decides.
    expect_within(&mut alice_events, WAIT, "alice to notice", |e| {
        matches!(e, Event::Link(Link::Reconnecting { .. })).then_some(())
    })
    .await;
    expect_within(&mut alice_events, WAIT, "alice to reconnect", |e| {
        matches!(e, Event::Link(Link::Connected { .. })).then_some(())
    })
    .await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    let m = offer_message(&mut bob_events).await;
    assert_eq!(
        (m.conv.to_string().as_str(), m.from.as_str()),
        ("alice", "alice")
    );
    assert_eq!(m.file.unwrap().offer, offer);
    let downloads = dir.path().join("downloads");
    let saved = save(&bob, &mut bob_events, offer, &downloads).await;
    assert_eq!(sha256_file(&saved), sha256_file(&source));

    // Alice hears that bob has it.
    let (who, state, _) = expect_within(&mut alice_events, WAIT, "received", |e| match e {
        Event::Server(ServerMessage::FileStatus {
            user,
            state,
            counts,
            ..
        }) if *state == FileState::Received => Some((user.to_string(), *state, *counts)),
        _ => None,
    })
    .await;
    assert_eq!((who.as_str(), state), ("bob", FileState::Received));
    server.stop().await;
}

#[tokio::test]
async fn an_offer_declined_while_the_sender_was_disconnected_shows_declined_once_she_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let mut server = TestServer::start("127.0.0.1:0", &data).await;
    let addr = server.addr.to_string();
    connect(&server, "bob").await.0.quit().await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let mut ui = Ui::new();
    let source = dir.path().join("notes.pdf");
    write_random(&source, 5, 20_000);
    alice.send_file(conv("bob"), source.clone()).await.unwrap();
    let offer = shown(&mut alice_events, &mut ui, "her offer", |e| match e {
        Event::Server(ServerMessage::Message(m)) => m.file.as_ref().map(|f| f.offer),
        _ => None,
    })
    .await;
    shown(&mut alice_events, &mut ui, "uploaded", |e| {
        matches!(e, Event::Server(ServerMessage::Uploaded { .. })).then_some(())
    })
    .await;
    assert!(
        ui.screen().contains("offered — waiting for answers"),
        "{}",
        ui.screen()
    );
    server.stop().await;

    // While alice cannot reach the server on her port, bob declines on another.
    let mut elsewhere = TestServer::start("127.0.0.1:0", &data).await;
    let (bob, mut bob_events, _) = connect(&elsewhere, "bob").await;
    assert_eq!(
        offer_message(&mut bob_events).await.file.unwrap().offer,
        offer
    );
    bob.request(ClientMessage::Decline {
        req: Some(1),
        offer,
    })
    .await
    .unwrap();
    expect_within(&mut bob_events, WAIT, "declined", |e| match e {
        Event::Server(ServerMessage::FileStatus {
            req: Some(1),
            state,
            ..
        }) => Some(*state),
        _ => None,
    })
    .await;
    bob.quit().await;
    elsewhere.stop().await;

    let mut server = TestServer::start(&addr, &data).await;
    shown(
        &mut alice_events,
        &mut ui,
        "the offer read back",
        |e| match e {
            Event::Refreshed { messages, .. } => messages
                .iter()
                .any(|m| m.file.as_ref().is_some_and(|f| f.offer == offer))
                .then_some(()),
            _ => None,
        },
    )
    .await;
    assert!(
        ui.screen().contains("offered — declined"),
        "{}",
        ui.screen()
    );
    alice.quit().await;
    server.stop().await;
}

#[tokio::test]
async fn in_a_group_one_member_saves_the_file_another_declines_and_the_sender_sees_both() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("[::1]:0", &dir.path().join("server")).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    let (carol, mut carol_events, _) = connect(&server, "carol").await;
    let team: classchat_common::GroupName = "team".parse().unwrap();
    alice
        .request(ClientMessage::Create {
            req: Some(1),
            group: team.clone(),
            members: Vec::new(),
            access: None,
            posting: None,
        })
        .await
        .unwrap();
    for (req, who) in [(2, "bob"), (3, "carol")] {
        alice
            .request(ClientMessage::Add {
                req: Some(req),
                group: team.clone(),
                user: who.parse().unwrap(),
            })
            .await
            .unwrap();
    }
    expect_within(&mut alice_events, WAIT, "carol added", |e| match e {
        Event::Server(ServerMessage::Group { req: Some(3), .. }) => Some(()),
        _ => None,
    })
    .await;
    let source = dir.path().join("slides.pdf");
    write_random(&source, 3, 200_000);
    let (offer, _) = send_file(&alice, &mut alice_events, "#team", &source, WAIT).await;

    let m = offer_message(&mut bob_events).await;
    assert_eq!(m.conv.to_string(), "#team");
    let saved = save(&bob, &mut bob_events, offer, &dir.path().join("bob")).await;
    assert_eq!(sha256_file(&saved), sha256_file(&source));
    offer_message(&mut carol_events).await;
    carol
        .request(ClientMessage::Decline {
            req: Some(7),
            offer,
        })
        .await
        .unwrap();
    let declined = expect_within(&mut carol_events, WAIT, "declined", |e| match e {
        Event::Server(ServerMessage::FileStatus {
            req: Some(7),
            state,
            ..
        }) => Some(*state),
        _ => None,
    })
    .await;
    assert_eq!(declined, FileState::Declined);

    assert_eq!(
        file_status(&mut alice_events).await,
        ("bob".into(), FileState::Accepted, counts(1, 0, 0, 2))
    );
    assert_eq!(
        file_status(&mut alice_events).await,
        ("bob".into(), FileState::Received, counts(1, 0, 1, 2))
    );
    assert_eq!(
        file_status(&mut alice_events).await,
        ("carol".into(), FileState::Declined, counts(1, 1, 1, 2))
    );
    server.stop().await;
}

#[tokio::test]
async fn accepting_after_declining_fails_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    let source = dir.path().join("spam.zip");
    write_random(&source, 4, 1000);
    let (offer, _) = send_file(&alice, &mut alice_events, "bob", &source, WAIT).await;
    offer_message(&mut bob_events).await;
    bob.request(ClientMessage::Decline {
        req: Some(1),
        offer,
    })
    .await
    .unwrap();
    assert_eq!(file_status(&mut alice_events).await.1, FileState::Declined);

    let downloads = dir.path().join("downloads");
    let reports = accept(&bob, &mut bob_events, offer, &downloads, WAIT).await;
    let reason = match &reports.last().unwrap().state {
        TransferState::Failed { reason } => reason.clone(),
        other => panic!("expected a failure, got {other:?}"),
    };
    assert!(!reason.is_empty());
    assert!(!downloads.exists() || listing(&downloads).is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_name_already_taken_is_saved_as_name_1_then_name_2_leaving_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    std::fs::write(downloads.join("notes.pdf"), b"bob's own notes").unwrap();
    let outbox = dir.path().join("outbox");
    std::fs::create_dir_all(&outbox).unwrap();
    let source = outbox.join("notes.pdf");

    let mut expected = vec!["notes.pdf".to_owned()];
    for (n, seed) in [(1, 5), (2, 6)] {
        write_random(&source, seed, 5000);
        let (offer, _) = send_file(&alice, &mut alice_events, "bob", &source, WAIT).await;
        offer_message(&mut bob_events).await;
        let saved = save(&bob, &mut bob_events, offer, &downloads).await;
        assert_eq!(saved, downloads.join(format!("notes ({n}).pdf")));
        assert_eq!(
            std::fs::read(&saved).unwrap(),
            std::fs::read(&source).unwrap()
        );
        expected.push(format!("notes ({n}).pdf"));
    }
    assert_eq!(
        std::fs::read(downloads.join("notes.pdf")).unwrap(),
        b"bob's own notes",
        "the original is untouched"
    );
    expected.sort();
    assert_eq!(listing(&downloads), expected);
    server.stop().await;
}

#[tokio::test]
async fn an_empty_file_is_sent_and_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    let source = dir.path().join("__init__.py");
    std::fs::write(&source, b"").unwrap();
    let (offer, _) = send_file(&alice, &mut alice_events, "bob", &source, WAIT).await;
    assert_eq!(offer_message(&mut bob_events).await.file.unwrap().size, 0);
    let downloads = dir.path().join("downloads");
    let saved = save(&bob, &mut bob_events, offer, &downloads).await;
    assert_eq!(saved, downloads.join("__init__.py"));
    assert_eq!(std::fs::read(&saved).unwrap(), b"");
    assert_eq!(listing(&downloads), ["__init__.py"]);
    assert_eq!(file_status(&mut alice_events).await.1, FileState::Accepted);
    assert_eq!(file_status(&mut alice_events).await.1, FileState::Received);
    server.stop().await;
}

/// A client whose chat connection goes through `relay`.
async fn connect_via(
    server: &TestServer,
    relay: &Relay,
    user: &str,
) -> (Client, mpsc::Receiver<Event>) {
    let mut options = support::options(server, user);
    options.server = relay.addr.to_string().parse().unwrap();
    let (client, events, _) = Client::start(options).await.unwrap();
    (client, events)
}

/// The `offset` of a `put`'s or `get`'s line, or of the server's `transfer`.
fn offset_in(line: &str) -> u64 {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    v["offset"]
        .as_u64()
        .unwrap_or_else(|| panic!("no offset in {line}"))
}

#[tokio::test]
async fn a_bulk_connection_cut_half_way_goes_on_from_where_it_stopped_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let cut = 3 << 20;
    let alice_relay = Relay::start(server.addr, relay::Bulk::CutFirstAfter(cut)).await;
    let bob_relay = Relay::start(server.addr, relay::Bulk::CutFirstAfter(cut)).await;
    let (alice, mut alice_events) = connect_via(&server, &alice_relay, "alice").await;
    let (bob, mut bob_events) = connect_via(&server, &bob_relay, "bob").await;
    let source = dir.path().join("lecture.mp4");
    let size = 12 << 20;
    write_random(&source, 5, size);

    let (offer, up) = send_file(&alice, &mut alice_events, "bob", &source, SLOW).await;
    assert_eq!(up.last().unwrap().bytes, size);
    let puts = alice_relay.openings();
    assert!(
        puts.len() >= 2,
        "the cut connection was followed by another: {puts:?}"
    );
    assert!(
        puts.iter().all(|o| o.client.contains(r#""type":"put""#)),
        "{puts:?}"
    );
    let resumed_at = offset_in(&puts[1].server);
    assert!(
        resumed_at > 0 && resumed_at <= cut,
        "the second put went on from the bytes the server kept, not from 0: {puts:?}"
    );

    offer_message(&mut bob_events).await;
    let downloads = dir.path().join("downloads");
    let down = accept(&bob, &mut bob_events, offer, &downloads, SLOW).await;
    assert!(same_bytes(&saved(&down), &source), "byte-identical");
    assert_eq!(listing(&downloads), ["lecture.mp4"]);
    let gets = bob_relay.openings();
    assert!(
        gets.len() >= 2,
        "the cut connection was followed by another: {gets:?}"
    );
    assert_eq!(offset_in(&gets[0].client), 0);
    let resumed_at = offset_in(&gets[1].client);
    assert!(
        resumed_at > 0 && resumed_at <= cut,
        "the second get asked for the bytes bob did not have yet: {gets:?}"
    );
    assert_eq!(offset_in(&gets[1].server), resumed_at);
    assert_eq!(file_status(&mut alice_events).await.1, FileState::Accepted);
    assert_eq!(file_status(&mut alice_events).await.1, FileState::Received);
    server.stop().await;
}

#[tokio::test]
async fn over_tls_a_file_goes_encrypted_on_bulk_connections_that_go_on_when_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_tls("127.0.0.1:0", &dir.path().join("server"), |_| {}).await;
    let fingerprint = server.fingerprint.clone().unwrap();
    let cut = 2 << 20;
    let alice_relay = Relay::start(server.addr, relay::Bulk::CutFirstAfter(cut)).await;
    let bob_relay = Relay::start(server.addr, relay::Bulk::CutFirstAfter(cut)).await;
    let known = dir.path().join("known_servers.json");
    let start = |relay: &Relay, user: &str| {
        let mut options = support::options(&server, user);
        options.server = relay.addr.to_string().parse().unwrap();
        options.tls = Some(Trust::Pin {
            known: known.clone(),
            replace: false,
        });
        Client::start(options)
    };
    let (alice, mut alice_events, _) = start(&alice_relay, "alice").await.unwrap();
    let (bob, mut bob_events, _) = start(&bob_relay, "bob").await.unwrap();
    let pinned = std::fs::read_to_string(&known).unwrap();
    assert!(pinned.contains(&fingerprint), "{pinned}");
    let source = dir.path().join("lecture.mp4");
    let size = 8 << 20;
    write_random(&source, 9, size);

    let (offer, up) = send_file(&alice, &mut alice_events, "bob", &source, SLOW).await;
    assert_eq!(up.last().unwrap().bytes, size);
    offer_message(&mut bob_events).await;
    let downloads = dir.path().join("downloads");
    let down = accept(&bob, &mut bob_events, offer, &downloads, SLOW).await;
    assert!(same_bytes(&saved(&down), &source), "byte-identical");
    assert_eq!(listing(&downloads), ["lecture.mp4"]);
    assert_eq!(file_status(&mut alice_events).await.1, FileState::Accepted);
    assert_eq!(file_status(&mut alice_events).await.1, FileState::Received);

    // Each side's first bulk connection was cut and another went on, and
    // every one of them, like the chat connection, spoke TLS from its first
    // byte (a handshake record), never the plain `put` or `get` line.
    for (who, relay) in [("alice", &alice_relay), ("bob", &bob_relay)] {
        let openings = relay.openings();
        assert!(openings.len() >= 2, "{who}: {openings:?}");
        for o in &openings {
            assert!(
                o.client.starts_with('\u{16}') && o.server.starts_with('\u{16}'),
                "{who}: not TLS: {o:?}"
            );
            assert!(!o.client.contains("\"type\""), "{who}: plain text: {o:?}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn where_no_bulk_connection_gets_through_the_file_goes_in_chunks_instead() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let alice_relay = Relay::start(server.addr, relay::Bulk::Refuse).await;
    let bob_relay = Relay::start(server.addr, relay::Bulk::Refuse).await;
    let (alice, mut alice_events) = connect_via(&server, &alice_relay, "alice").await;
    let (bob, mut bob_events) = connect_via(&server, &bob_relay, "bob").await;
    let source = dir.path().join("slides.pdf");
    let size = (1 << 20) + 12_345;
    write_random(&source, 6, size);

    let (offer, up) = send_file(&alice, &mut alice_events, "bob", &source, SLOW).await;
    assert_eq!(up.last().unwrap().bytes, size);
    assert!(
        !alice_relay.openings().is_empty(),
        "a bulk connection was tried"
    );
    offer_message(&mut bob_events).await;
    let downloads = dir.path().join("downloads");
    let down = accept(&bob, &mut bob_events, offer, &downloads, SLOW).await;
    assert!(same_bytes(&saved(&down), &source), "byte-identical");
    assert!(
        !bob_relay.openings().is_empty(),
        "a bulk connection was tried"
    );
    assert_eq!(file_status(&mut alice_events).await.1, FileState::Accepted);
    assert_eq!(file_status(&mut alice_events).await.1, FileState::Received);
    server.stop().await;
}

/// A client speaking the protocol by hand, to send what the real client never would.
struct RawClient {
    framed: Framed<TcpStream, LineCodec>,
}

impl RawClient {
    async fn login(addr: SocketAddr, user: &str) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut c = Self {
            framed: Framed::new(stream, LineCodec::default()),
        };
        c.send(ClientMessage::Hello {
            version: PROTOCOL_VERSION,
            client: None,
        })
        .await;
        c.send(ClientMessage::Login {
            user: user.parse().unwrap(),
            password: Some(Secret(format!("{user}-password"))),
            token: None,
            create: true,
        })
        .await;
        c.until(|m| matches!(m, ServerMessage::Synced { .. })).await;
        c
    }

    async fn send(&mut self, msg: ClientMessage) {
        self.framed.send(msg.to_line()).await.unwrap();
    }

    /// Reads until a message `done` accepts, which it returns.
    async fn until(&mut self, mut done: impl FnMut(&ServerMessage) -> bool) -> ServerMessage {
        loop {
            let line = tokio::time::timeout(Duration::from_secs(30), self.framed.next())
                .await
                .expect("the server answers within 30 s")
                .expect("the connection stays open")
                .unwrap();
            let msg = ServerMessage::decode(&line).unwrap();
            if let ServerMessage::Error { .. } = msg {
                panic!("the server refused: {msg:?}");
            }
            if done(&msg) {
                return msg;
            }
        }
    }

    /// Offers `bytes` under `name` (sent exactly as given) and uploads them in one chunk.
    async fn offer(&mut self, to: &str, name: &str, bytes: &[u8]) -> OfferId {
        self.send(ClientMessage::Offer {
            req: Some(1),
            to: conv(to),
            name: name.to_owned(),
            size: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
            stream: false,
        })
        .await;
        let ready = self
            .until(|m| matches!(m, ServerMessage::UploadReady { .. }))
            .await;
        let ServerMessage::UploadReady { offer, .. } = ready else {
            unreachable!()
        };
        self.send(ClientMessage::Chunk {
            offer,
            offset: 0,
            data: BASE64.encode(bytes),
        })
        .await;
        self.until(|m| matches!(m, ServerMessage::Uploaded { .. }))
            .await;
        offer
    }
}

#[tokio::test]
async fn files_with_hostile_names_land_directly_in_the_chosen_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    let mut mallory = RawClient::login(server.addr, "mallory").await;
    // The folder the files must land in, two levels below the temporary root.
    let root = dir.path().join("root");
    let downloads = root.join("home").join("Downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let names = [
        "../../escape.txt".to_owned(),
        "/etc/cron.d/evil".to_owned(),
        "..".to_owned(),
        ".profile".to_owned(),
        "nul\0byte.txt".to_owned(),
        "esc\x1b]0;title\x07\r\n.txt".to_owned(),
        "photo\u{202E}gpj.exe".to_owned(),
        "x".repeat(300),
    ];
    for (i, name) in names.iter().enumerate() {
        let content = format!("file {i}").into_bytes();
        let offer = mallory.offer("bob", name, &content).await;
        let m = offer_message(&mut bob_events).await;
        assert_eq!(m.file.as_ref().unwrap().offer, offer);
        let saved = save(&bob, &mut bob_events, offer, &downloads).await;
        assert_eq!(
            saved.parent(),
            Some(downloads.as_path()),
            "{name:?} → {saved:?}"
        );
        let file_name = saved.file_name().unwrap().to_str().unwrap();
        assert!(!file_name.starts_with('.'), "{name:?} → {file_name:?}");
        assert!(
            file_name.len() <= 200,
            "{name:?} → {} bytes",
            file_name.len()
        );
        assert!(
            !file_name
                .chars()
                .any(|c| c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c))
        );
        assert_eq!(std::fs::read(&saved).unwrap(), content, "{name:?}");
    }
    // Nothing anywhere else: the root holds only the path down to the folder.
    assert_eq!(listing(&root), ["home"]);
    assert_eq!(listing(&root.join("home")), ["Downloads"]);
    assert_eq!(listing(&downloads).len(), names.len());
    assert!(listing(&downloads).iter().all(|n| !n.ends_with(".part")));
    server.stop().await;
}

// ---------------------------------------------------------------------------
// The real client binaries' memory.

/// A `classchat pipe` process, fed a line at a time, its output read as it comes.
struct Pipe {
    child: tokio::process::Child,
    pid: u32,
    stdin: tokio::process::ChildStdin,
    out: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Pipe {
    async fn start(server: &TestServer, home: &Path, user: &str, downloads: &Path) -> Self {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_classchat"))
            .args([
                "--server",
                &server.addr.to_string(),
                "--user",
                user,
                "--download-dir",
            ])
            .arg(downloads)
            .arg("pipe")
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("CLASSCHAT_PASSWORD", format!("{user}-password"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let stdin = child.stdin.take().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut pipe = Self {
            child,
            pid,
            stdin,
            out,
        };
        pipe.until(WAIT, "connected", |v| v["type"] == "connected")
            .await;
        pipe
    }

    async fn say(&mut self, line: &str) {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next output line `done` accepts; a failed transfer fails the test.
    async fn until(
        &mut self,
        within: Duration,
        what: &str,
        mut done: impl FnMut(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let line = tokio::time::timeout_at(deadline, self.out.next_line())
                .await
                .unwrap_or_else(|_| panic!("no {what} within {within:?}"))
                .unwrap()
                .unwrap_or_else(|| panic!("classchat exited before {what}"));
            let v: Value = serde_json::from_str(&line).unwrap();
            assert!(v["state"] != "failed", "{line}");
            if done(&v) {
                return v;
            }
        }
    }

    /// Peak resident memory since the last reset, in KiB.
    fn peak_kib(&self) -> u64 {
        proc_kib(self.pid, "VmHWM:")
    }

    /// Forgets the peak so far; returns the memory resident now, in KiB.
    fn reset_peak(&self) -> u64 {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").unwrap();
        proc_kib(self.pid, "VmRSS:")
    }

    async fn finish(mut self) {
        drop(self.stdin);
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("classchat exits once its input ends")
            .unwrap();
        assert!(status.success(), "{status}");
    }
}

fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

// Neither client holds a file: the sender hashes it a megabyte at a time and
// reads each 128 KiB chunk as it sends it, at most a window (1 MiB) ahead of
// the server; the receiver writes each chunk as it comes and hashes it on the
// way. So each process grows by a few chunk-sized buffers whatever the file's
// size; 16 MiB leaves room for a debug build's allocator and still fails if
// even a third of the 50 MiB file were held. Measured from just after login.
#[tokio::test]
async fn the_real_clients_move_50_mb_with_memory_bounded_on_both_sides() {
    const SIZE: u64 = 50 << 20;
    const BOUND_KIB: u64 = 16 << 10;
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let source = dir.path().join("dataset.bin");
    write_random(&source, 7, SIZE);
    let downloads = dir.path().join("downloads");
    let mut bob = Pipe::start(&server, &dir.path().join("bob"), "bob", &downloads).await;
    let mut alice = Pipe::start(&server, &dir.path().join("alice"), "alice", &downloads).await;
    let alice_base = alice.reset_peak();
    let bob_base = bob.reset_peak();

    alice
        .say(&format!("/sendfile bob {}", source.display()))
        .await;
    alice
        .until(SLOW, "the upload", |v| {
            v["type"] == "transfer" && v["state"] == "uploaded"
        })
        .await;
    let m = bob
        .until(WAIT, "the offer", |v| {
            v["type"] == "message" && v["file"].is_object()
        })
        .await;
    let offer = m["file"]["offer"].as_str().unwrap().to_owned();
    bob.say(&format!("/accept {offer}")).await;
    let saved = bob
        .until(SLOW, "the download", |v| {
            v["type"] == "transfer" && v["state"] == "saved"
        })
        .await;
    let (alice_peak, bob_peak) = (alice.peak_kib(), bob.peak_kib());

    let saved = PathBuf::from(saved["path"].as_str().unwrap());
    assert_eq!(saved, downloads.join("dataset.bin"));
    assert!(same_bytes(&saved, &source), "byte-identical");
    let alice_growth = alice_peak.saturating_sub(alice_base);
    let bob_growth = bob_peak.saturating_sub(bob_base);
    eprintln!(
        "50 MiB between real clients: sender {alice_base} → peak {alice_peak} KiB (+{alice_growth}), \
         receiver {bob_base} → peak {bob_peak} KiB (+{bob_growth})"
    );
    assert!(
        alice_growth < BOUND_KIB,
        "the sender grew by {alice_growth} KiB"
    );
    assert!(
        bob_growth < BOUND_KIB,
        "the receiver grew by {bob_growth} KiB"
    );
    alice.finish().await;
    bob.finish().await;
    server.stop().await;
}
