//! File transfer over the raw protocol: offers, chunked uploads and windowed
//! downloads, each recipient's decision, cancelling from either side, expiry and
//! restarts. Every refusal BRIEF §6 names is in [`refusals`]; the real server
//! binary's memory while it relays 50 MB in [`memory`]; the fixtures that
//! speak the protocol in [`fixtures`].

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod bulk;
mod fixtures;
mod membership;
mod memory;
mod refusals;
mod streaming;

use std::collections::BTreeMap;
use std::time::Duration;

use classchat_common::OfferId;
use classchat_common::limits::{FILE_CHUNK_BYTES, FILE_WINDOW};
use classchat_common::protocol::{FileInfo, FileOutcome, FileState};
use classchat_common::{ClientMessage, ErrorCode, ServerMessage};
use classchat_server::Config;
use fixtures::*;
use sha2::{Digest, Sha256};
use support::{ServerOptions, TestClient, conv};
use tempfile::TempDir;

#[tokio::test]
async fn an_offer_to_an_offline_user_waits_across_a_restart_and_arrives_intact() {
    let (server, files_dir) = start(defaults).await;
    server.login("bob").await.bye().await;
    let mut alice = server.login("alice").await;
    let content = Content::new(1, 3 * FILE_CHUNK_BYTES as u64 + 12_345);
    let up = ready(&mut alice, "bob", "report.pdf", &content).await;
    let (own, seq) = upload(&mut alice, &up, &content).await;
    assert_eq!(own.from.as_str(), "alice");
    drop(alice);

    let server = restart(server, defaults).await;
    assert_eq!(stored_files(&files_dir), [up.offer.to_string()]);
    let mut bob = server.login("bob").await;
    let m = bob
        .caught_up
        .iter()
        .find(|m| m.file.is_some())
        .expect("the offer is in bob's catch-up")
        .clone();
    assert_eq!(
        (m.conv.to_string().as_str(), m.seq, m.from.as_str()),
        ("alice", seq, "alice")
    );
    assert_eq!(m.id, own.id, "the same message as the one alice saw");
    let info = m.file.unwrap();
    assert_eq!(
        (
            info.offer,
            info.name.as_str(),
            info.size,
            info.sha256.as_str()
        ),
        (
            up.offer,
            "report.pdf",
            content.size,
            content.sha256.as_str()
        )
    );
    assert!(m.body.contains("report.pdf"), "{}", m.body);

    let mut alice = server.login("alice").await;
    let (state, c) = download(&mut bob, up.offer, &content).await;
    assert_eq!((state, c), (FileState::Received, counts(1, 0, 1, 1)));
    assert_eq!(status(&mut alice).await.1, FileState::Accepted);
    assert_eq!(status(&mut alice).await.1, FileState::Received);
    settled(&mut alice).await;
    assert!(stored_files(&files_dir).is_empty());
}

#[tokio::test]
async fn a_group_offer_is_decided_by_each_member_and_deleted_once_all_have() {
    let dir = TempDir::new().unwrap();
    let (server, files_dir) = start_in(dir, ServerOptions::default().ipv6(), defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    make_group(&mut alice, "team", &["bob", "carol"]).await;
    let content = Content::new(2, 2 * FILE_CHUNK_BYTES as u64 + 1);
    let up = ready(&mut alice, "#team", "slides.pdf", &content).await;
    upload(&mut alice, &up, &content).await;
    for c in [&mut bob, &mut carol] {
        let m = offer_message(c).await;
        assert_eq!(m.conv.to_string(), "#team");
        assert_eq!(m.file.unwrap().offer, up.offer);
    }

    let (state, c) = download(&mut bob, up.offer, &content).await;
    assert_eq!((state, c), (FileState::Received, counts(1, 0, 1, 2)));
    assert_eq!(
        status(&mut alice).await,
        ("bob".into(), FileState::Accepted, counts(1, 0, 0, 2))
    );
    assert_eq!(
        status(&mut alice).await,
        ("bob".into(), FileState::Received, counts(1, 0, 1, 2))
    );
    settled(&mut alice).await;
    assert_eq!(
        stored_files(&files_dir),
        [up.offer.to_string()],
        "carol has not decided yet"
    );

    let answer = decline(&mut carol, up.offer).await;
    let (state, c) =
        expect!(answer, ServerMessage::FileStatus { state, counts, .. } => (state, counts));
    assert_eq!((state, c), (FileState::Declined, counts(1, 1, 1, 2)));
    assert_eq!(
        status(&mut alice).await,
        ("carol".into(), FileState::Declined, counts(1, 1, 1, 2))
    );
    settled(&mut alice).await;
    assert!(
        stored_files(&files_dir).is_empty(),
        "everyone decided: nothing kept"
    );
    let (_, outgoing) = files(&mut alice).await;
    assert!(outgoing.is_empty(), "{outgoing:?}");
    let again = ask(&mut carol, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    assert_offer_error(&again, ErrorCode::FileGone, up.offer);
}

#[tokio::test]
async fn a_declined_offer_cannot_be_accepted_afterwards() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let content = Content::new(3, 1000);
    let up = ready(&mut alice, "bob", "notes.txt", &content).await;
    upload(&mut alice, &up, &content).await;
    offer_message(&mut bob).await;

    let answer = decline(&mut bob, up.offer).await;
    let (who, state, c) = expect!(answer, ServerMessage::FileStatus { user, state, counts, .. } => (user, state, counts));
    assert_eq!(
        (who.as_str(), state, c),
        ("bob", FileState::Declined, counts(0, 1, 0, 1))
    );
    assert_eq!(
        status(&mut alice).await,
        ("bob".into(), FileState::Declined, counts(0, 1, 0, 1))
    );
    settled(&mut alice).await;
    assert!(
        stored_files(&files_dir).is_empty(),
        "nobody left to take it"
    );

    let again = ask(&mut bob, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    assert_offer_error(&again, ErrorCode::FileGone, up.offer);
    settled(&mut bob).await;
}

#[tokio::test]
async fn a_recipients_other_connections_hear_what_it_decided() {
    let (server, _files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut laptop = server.login("bob").await;
    let mut phone = server.login("bob").await;
    let content = Content::new(5, 3000);
    for (name, seed) in [("a.txt", 5), ("b.txt", 6)] {
        let content = Content::new(seed, 3000);
        let up = ready(&mut alice, "bob", name, &content).await;
        upload(&mut alice, &up, &content).await;
    }
    let first = offer_message(&mut laptop).await.file.unwrap().offer;
    let second = offer_message(&mut laptop).await.file.unwrap().offer;
    for _ in 0..2 {
        offer_message(&mut phone).await;
    }

    // The laptop takes the first; the phone hears it was accepted, then received.
    assert_eq!(
        download(&mut laptop, first, &content).await,
        (FileState::Received, counts(1, 0, 1, 1))
    );
    for want in [FileState::Accepted, FileState::Received] {
        let msg = next(&mut phone).await;
        let (offer, who, state, req) = expect!(msg, ServerMessage::FileStatus { offer, user, state, req, .. } => (offer, user, state, req));
        assert_eq!(
            (offer, who.as_str(), state, req),
            (first, "bob", want, None)
        );
    }

    // The phone declines the second; the laptop hears it, once.
    decline(&mut phone, second).await;
    let msg = next(&mut laptop).await;
    let (offer, state) =
        expect!(msg, ServerMessage::FileStatus { offer, state, .. } => (offer, state));
    assert_eq!((offer, state), (second, FileState::Declined));
    settled(&mut laptop).await;
    settled(&mut phone).await;
}

#[tokio::test]
async fn a_sender_cancelling_mid_upload_leaves_nothing_behind_and_frees_the_quota() {
    fn one_mib_quota(c: &mut Config) {
        c.file_quota = 1 << 20;
    }
    let (server, files_dir) = start(one_mib_quota).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let content = Content::new(4, 1 << 20);
    let up = ready(&mut alice, "bob", "movie.mkv", &content).await;
    // The quota is full while this upload runs.
    let full = offer(&mut alice, "bob", "more.bin", 1, &sha256_of(b"x")).await;
    assert_error(&full, ErrorCode::QuotaExceeded);

    let third = 3 * FILE_CHUNK_BYTES as u64;
    assert!(
        send_bytes(&mut alice, &up, &content, 0, third)
            .await
            .is_none()
    );
    assert_eq!(stored_files(&files_dir), [format!("{}.part", up.offer)]);
    let answer = ask(&mut alice, |req| ClientMessage::Cancel {
        req,
        offer: up.offer,
    })
    .await;
    let (about, state) =
        expect!(answer, ServerMessage::FileStatus { offer, state, .. } => (offer, state));
    assert_eq!((about, state), (up.offer, FileState::Cancelled));
    assert!(
        stored_files(&files_dir).is_empty(),
        "the partial file is gone"
    );

    // Later bytes for it are refused; bob never heard of it.
    alice
        .send(chunk(up.offer, third, &content.bytes(third, 10)))
        .await;
    assert_offer_error(&next(&mut alice).await, ErrorCode::UnknownOffer, up.offer);
    bob.expect_nothing_pending().await;
    let (_, outgoing) = files(&mut alice).await;
    assert!(outgoing.is_empty());

    // The room it held is free again: the full quota can be offered and sent.
    let up = ready(&mut alice, "bob", "movie.mkv", &content).await;
    upload(&mut alice, &up, &content).await;
    assert_eq!(offer_message(&mut bob).await.file.unwrap().offer, up.offer);
}

#[tokio::test]
async fn a_sender_disconnecting_mid_upload_leaves_nothing_behind_and_frees_the_quota() {
    fn one_mib_quota(c: &mut Config) {
        c.file_quota = 1 << 20;
    }
    let (server, files_dir) = start(one_mib_quota).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    // A conversation in common, so bob is told when alice goes.
    alice.send_stored("bob", "sending you a film").await;
    bob.recv_message().await;
    let content = Content::new(21, 1 << 20);
    let up = ready(&mut alice, "bob", "film.mkv", &content).await;
    let half = content.size / 2;
    assert!(
        send_bytes(&mut alice, &up, &content, 0, half)
            .await
            .is_none()
    );
    assert_eq!(stored_files(&files_dir), [format!("{}.part", up.offer)]);
    drop(alice);

    // A session tidies its uploads before it leaves the hub, so once bob sees
    // alice offline the partial file is gone and its room is free.
    let gone = bob
        .recv_until(5, |m| {
            matches!(m, ServerMessage::Presence { online: false, .. })
        })
        .await;
    expect!(gone, ServerMessage::Presence { user, .. } if user.as_str() == "alice" => ());
    assert!(stored_files(&files_dir).is_empty());
    bob.expect_nothing_pending().await;
    let mut alice = server.login("alice").await;
    let up = ready(&mut alice, "bob", "film.mkv", &content).await;
    upload(&mut alice, &up, &content).await;
}

#[tokio::test]
async fn a_sender_withdrawing_an_offer_tells_those_still_to_decide_and_deletes_the_file() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    make_group(&mut alice, "team", &["bob", "carol"]).await;
    let content = Content::new(22, 4000);
    let up = ready(&mut alice, "#team", "draft.doc", &content).await;
    upload(&mut alice, &up, &content).await;
    offer_message(&mut bob).await;
    offer_message(&mut carol).await;
    download(&mut bob, up.offer, &content).await;
    assert_eq!(status(&mut alice).await.1, FileState::Accepted);
    assert_eq!(status(&mut alice).await.1, FileState::Received);

    let req = alice.req();
    alice
        .send(ClientMessage::Cancel {
            req: Some(req),
            offer: up.offer,
        })
        .await;
    // First what happened to carol, then the answer.
    assert_eq!(
        status(&mut alice).await,
        ("carol".into(), FileState::Cancelled, counts(1, 0, 1, 2))
    );
    let answer = next(&mut alice).await;
    let state =
        expect!(answer, ServerMessage::FileStatus { req: Some(r), state, .. } if r == req => state);
    assert_eq!(state, FileState::Cancelled);
    assert_eq!(status(&mut carol).await.1, FileState::Cancelled);
    settled(&mut alice).await;
    assert!(stored_files(&files_dir).is_empty());

    let answer = ask(&mut carol, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    assert_offer_error(&answer, ErrorCode::FileGone, up.offer);
    bob.expect_nothing_pending().await;
    // Withdrawing it again: it is over, as `decline` would be told.
    let again = ask(&mut alice, |req| ClientMessage::Cancel {
        req,
        offer: up.offer,
    })
    .await;
    assert_offer_error(&again, ErrorCode::FileGone, up.offer);
}

#[tokio::test]
async fn a_withdrawn_offer_stops_a_download_in_progress() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let content = Content::new(23, 2 * (FILE_CHUNK_BYTES * FILE_WINDOW) as u64);
    let up = ready(&mut alice, "bob", "leak.tar", &content).await;
    upload(&mut alice, &up, &content).await;
    offer_message(&mut bob).await;
    accept(&mut bob, up.offer, &content).await;
    let (got, _) = first_window(&mut bob, up.offer, &content).await;
    assert_eq!(status(&mut alice).await.1, FileState::Accepted);

    let req = alice.req();
    alice
        .send(ClientMessage::Cancel {
            req: Some(req),
            offer: up.offer,
        })
        .await;
    assert_eq!(
        status(&mut alice).await.1,
        FileState::Cancelled,
        "bob's state"
    );
    let answer = next(&mut alice).await;
    expect!(answer, ServerMessage::FileStatus { req: Some(r), .. } if r == req => ());
    settled(&mut alice).await;
    assert!(stored_files(&files_dir).is_empty());
    assert_eq!(status(&mut bob).await.1, FileState::Cancelled);

    // Bob's acknowledgement would open the window: the server ends the
    // download instead of sending the rest of a withdrawn file.
    bob.send(ClientMessage::FileAck {
        offer: up.offer,
        received: got,
    })
    .await;
    assert_offer_error(&next(&mut bob).await, ErrorCode::FileGone, up.offer);
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_receiver_cancelling_mid_download_stops_the_bytes_and_may_accept_again() {
    let (server, _) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let content = Content::new(5, 2 * (FILE_CHUNK_BYTES * FILE_WINDOW) as u64);
    let up = ready(&mut alice, "bob", "dataset.csv", &content).await;
    upload(&mut alice, &up, &content).await;
    offer_message(&mut bob).await;

    accept(&mut bob, up.offer, &content).await;
    // Unacknowledged, the server sends one window and waits.
    let (got, _) = first_window(&mut bob, up.offer, &content).await;
    assert_eq!(got, (FILE_CHUNK_BYTES * FILE_WINDOW) as u64);
    let answer = ask(&mut bob, |req| ClientMessage::Cancel {
        req,
        offer: up.offer,
    })
    .await;
    let state = expect!(answer, ServerMessage::FileStatus { state, .. } => state);
    assert_eq!(
        state,
        FileState::Accepted,
        "stopping a download keeps the offer"
    );
    // An acknowledgement would open the window again, if the download were still on.
    bob.send(ClientMessage::FileAck {
        offer: up.offer,
        received: got,
    })
    .await;
    bob.expect_nothing_pending().await;

    let (incoming, _) = files(&mut bob).await;
    assert_eq!(incoming.len(), 1);
    assert_eq!(
        (incoming[0].file.offer, incoming[0].state),
        (up.offer, Some(FileState::Accepted))
    );
    assert_eq!(status(&mut alice).await.1, FileState::Accepted);
    alice.expect_nothing_pending().await;

    // Accepting again starts from the beginning and completes.
    let (state, c) = download(&mut bob, up.offer, &content).await;
    assert_eq!((state, c), (FileState::Received, counts(1, 0, 1, 1)));
    assert_eq!(status(&mut alice).await.1, FileState::Received);
}

#[tokio::test]
async fn files_lists_offers_to_you_and_from_you_with_each_recipients_state() {
    let (server, _) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    make_group(&mut alice, "team", &["bob", "carol"]).await;
    let direct = Content::new(15, 100);
    let shared = Content::new(16, 200);
    let up1 = ready(&mut alice, "bob", "direct.txt", &direct).await;
    upload(&mut alice, &up1, &direct).await;
    let up2 = ready(&mut alice, "#team", "shared.txt", &shared).await;
    upload(&mut alice, &up2, &shared).await;
    offer_message(&mut bob).await;
    offer_message(&mut bob).await;
    offer_message(&mut carol).await;
    // Still uploading: listed nowhere.
    let up3 = ready(&mut alice, "bob", "pending.txt", &direct).await;

    // Bob takes the group's file but never says he received it.
    let chunk = accept(&mut bob, up2.offer, &shared).await;
    assert!(shared.size <= chunk as u64);
    read_chunks(&mut bob, up2.offer, &shared, 0, 1, true, &mut Sha256::new()).await;

    let (incoming, outgoing) = files(&mut bob).await;
    assert!(outgoing.is_empty());
    let mine: BTreeMap<String, (Option<FileState>, String, String)> = incoming
        .iter()
        .map(|s| {
            (
                s.file.name.clone(),
                (s.state, s.conv.to_string(), s.from.to_string()),
            )
        })
        .collect();
    assert_eq!(
        mine,
        BTreeMap::from([
            (
                "direct.txt".into(),
                (Some(FileState::Pending), "alice".into(), "alice".into())
            ),
            (
                "shared.txt".into(),
                (Some(FileState::Accepted), "#team".into(), "alice".into())
            ),
        ])
    );
    let d = incoming.iter().find(|s| s.file.offer == up1.offer).unwrap();
    assert_eq!(
        (d.file.size, d.file.sha256.as_str()),
        (100, direct.sha256.as_str())
    );
    assert!(
        d.recipients.is_empty(),
        "a recipient is not shown the others"
    );

    assert_eq!(
        status(&mut alice).await,
        ("bob".into(), FileState::Accepted, counts(1, 0, 0, 2))
    );
    let (incoming, outgoing) = files(&mut alice).await;
    assert!(incoming.is_empty());
    assert_eq!(outgoing.len(), 2, "{outgoing:?}");
    for s in &outgoing {
        assert_eq!(s.from.as_str(), "alice");
        assert_eq!(s.state, None);
        if s.file.offer == up1.offer {
            assert_eq!(s.conv.to_string(), "bob");
            assert_eq!(states(s), map(&[("bob", FileState::Pending)]));
        } else {
            assert_eq!(s.file.offer, up2.offer);
            assert_eq!(s.conv.to_string(), "#team");
            assert_eq!(
                states(s),
                map(&[("bob", FileState::Accepted), ("carol", FileState::Pending)])
            );
        }
        assert!(s.file.offer != up3.offer);
    }

    decline(&mut carol, up2.offer).await;
    assert_eq!(status(&mut alice).await.1, FileState::Declined);
    let (incoming, outgoing) = files(&mut carol).await;
    assert!(incoming.is_empty() && outgoing.is_empty());
    let (_, outgoing) = files(&mut alice).await;
    let s = outgoing.iter().find(|s| s.file.offer == up2.offer).unwrap();
    assert_eq!(
        states(s),
        map(&[("bob", FileState::Accepted), ("carol", FileState::Declined)])
    );
}

// Expiry is swept by a background task once a minute, starting the moment the
// server starts. Rather than wait a minute, the test gives offers a 1 ms
// lifetime and restarts the server: the sweep at start ends the offer. It runs
// before any login can reach the hub: in the test's single-threaded runtime the
// sweep task is spawned, and sends its command, before a connection could even
// say `hello`, and the hub takes commands in order.
#[tokio::test]
async fn an_offer_nobody_decides_on_in_time_expires() {
    fn brief(c: &mut Config) {
        c.file_ttl = Duration::from_millis(1);
    }
    let (server, files_dir) = start(brief).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let content = Content::new(17, 300);
    let up = ready(&mut alice, "bob", "soon.txt", &content).await;
    let (own, _) = upload(&mut alice, &up, &content).await;
    let info = offer_message(&mut bob).await.file.unwrap();
    assert!(
        info.expires.as_millis() - own.ts.as_millis() <= 1,
        "{info:?}"
    );
    drop((alice, bob));

    let server = restart(server, brief).await;
    let mut alice = server.login("alice").await;
    // The sweep's batch, file deletion included, came before this login's.
    assert!(stored_files(&files_dir).is_empty(), "its file is deleted");
    let mut bob = server.login("bob").await;
    assert_eq!(bob.caught_up.len(), 1, "the offer message stays in history");
    let answer = ask(&mut bob, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    assert_offer_error(&answer, ErrorCode::FileGone, up.offer);
    let (incoming, _) = files(&mut bob).await;
    assert!(incoming.is_empty());
    let (_, outgoing) = files(&mut alice).await;
    assert!(outgoing.is_empty());
}

#[tokio::test]
async fn an_offer_and_each_recipients_decision_survive_a_restart() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    server.login("dave").await.bye().await;
    make_group(&mut alice, "class", &["bob", "carol", "dave"]).await;
    let content = Content::new(18, FILE_CHUNK_BYTES as u64 * 3 / 2);
    let up = ready(&mut alice, "#class", "exam.pdf", &content).await;
    upload(&mut alice, &up, &content).await;
    offer_message(&mut bob).await;
    offer_message(&mut carol).await;
    accept(&mut bob, up.offer, &content).await;
    decline(&mut carol, up.offer).await;
    // Stop bob's download before the restart; the bytes do not matter here.
    drop((alice, bob, carol));

    let server = restart(server, defaults).await;
    assert_eq!(stored_files(&files_dir), [up.offer.to_string()]);
    let mut alice = server.login("alice").await;
    let (_, outgoing) = files(&mut alice).await;
    assert_eq!(outgoing.len(), 1);
    assert_eq!(
        states(&outgoing[0]),
        map(&[
            ("bob", FileState::Accepted),
            ("carol", FileState::Declined),
            ("dave", FileState::Pending)
        ])
    );
    let FileInfo {
        name, size, sha256, ..
    } = outgoing[0].file.clone();
    assert_eq!(
        (name.as_str(), size, sha256.as_str()),
        ("exam.pdf", content.size, content.sha256.as_str())
    );

    let mut carol = server.login("carol").await;
    let answer = ask(&mut carol, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    assert_offer_error(&answer, ErrorCode::FileGone, up.offer);
    let mut dave = server.login("dave").await;
    let (incoming, _) = files(&mut dave).await;
    assert_eq!(
        (incoming.len(), incoming[0].state),
        (1, Some(FileState::Pending))
    );
    let mut bob = server.login("bob").await;
    let (state, c) = download(&mut bob, up.offer, &content).await;
    assert_eq!((state, c), (FileState::Received, counts(1, 1, 1, 3)));
    assert_eq!(
        status(&mut alice).await,
        ("bob".into(), FileState::Received, counts(1, 1, 1, 3))
    );
    let answer = decline(&mut dave, up.offer).await;
    let state = expect!(answer, ServerMessage::FileStatus { state, .. } => state);
    assert_eq!(state, FileState::Declined);
    assert_eq!(
        status(&mut alice).await,
        ("dave".into(), FileState::Declined, counts(1, 2, 1, 3))
    );
    settled(&mut alice).await;
    assert!(stored_files(&files_dir).is_empty());
}

#[tokio::test]
async fn the_offer_message_has_the_same_id_live_and_in_history() {
    let (server, _) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let content = Content::new(19, 10);
    let up = ready(&mut alice, "bob", "id.txt", &content).await;
    let (own, seq) = upload(&mut alice, &up, &content).await;
    let live = offer_message(&mut bob).await;
    assert_eq!(live.id, own.id);
    let history = ask(&mut bob, |req| ClientMessage::History {
        req,
        conv: conv("alice"),
        before: None,
        after: None,
        limit: None,
    })
    .await;
    let messages = expect!(history, ServerMessage::History { messages, .. } => messages);
    let stored = messages.iter().find(|m| m.seq == seq).unwrap();
    assert_eq!(stored.id, live.id, "a client drops duplicates by id");
    let without_outcome = stored.file.clone().map(|f| FileInfo { outcome: None, ..f });
    assert_eq!(without_outcome, live.file);
    assert_eq!(stored.body, live.body);
}

/// The offer `offer` as `c` finds it in the history of `conv_name`.
async fn offer_in_history(c: &mut TestClient, conv_name: &str, offer: OfferId) -> FileInfo {
    let history = ask(c, |req| ClientMessage::History {
        req,
        conv: conv(conv_name),
        before: None,
        after: None,
        limit: None,
    })
    .await;
    let messages = expect!(history, ServerMessage::History { messages, .. } => messages);
    messages
        .into_iter()
        .filter_map(|m| m.file)
        .find(|f| f.offer == offer)
        .expect("the offer is in the history")
}

#[tokio::test]
async fn history_tells_how_an_offer_went_to_whoever_was_away_when_it_was_decided() {
    let (server, _) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    make_group(&mut alice, "team", &["bob", "carol"]).await;
    let content = Content::new(23, 1000);
    let up = ready(&mut alice, "#team", "notes.pdf", &content).await;
    upload(&mut alice, &up, &content).await;
    let alice_token = alice.token().to_owned();
    alice.bye().await;
    for c in [&mut bob, &mut carol] {
        offer_message(c).await;
    }

    download(&mut bob, up.offer, &content).await;
    let pending = offer_in_history(&mut carol, "#team", up.offer).await;
    let expected = FileOutcome {
        counts: counts(1, 0, 1, 2),
        state: Some(FileState::Pending),
        over: false,
    };
    assert_eq!(pending.outcome.as_deref(), Some(&expected));
    decline(&mut carol, up.offer).await;

    // alice was away for both decisions: history says how it went.
    let mut alice = TestClient::resume(server.addr, "alice", &alice_token).await;
    let seen = offer_in_history(&mut alice, "#team", up.offer).await;
    let over = FileOutcome {
        counts: counts(1, 1, 1, 2),
        state: None,
        over: true,
    };
    assert_eq!(seen.outcome.as_deref(), Some(&over));
    // Each recipient sees where they stand too, after a restart as before.
    let server = restart(server, defaults).await;
    for (name, state) in [("bob", FileState::Received), ("carol", FileState::Declined)] {
        let mut c = server.login(name).await;
        let seen = offer_in_history(&mut c, "#team", up.offer).await;
        assert_eq!(
            seen.outcome.as_deref(),
            Some(&FileOutcome {
                state: Some(state),
                ..over
            })
        );
    }
}

#[tokio::test]
async fn an_empty_file_is_offered_at_once() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let empty = Content::new(20, 0);
    let up = ready(&mut alice, "bob", "empty.txt", &empty).await;
    let (_, seq) = upload(&mut alice, &up, &empty).await;
    assert_eq!(offer_message(&mut bob).await.seq, seq);
    assert_eq!(stored_files(&files_dir), [up.offer.to_string()]);
    let answer = ask(&mut bob, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    let size = expect!(answer, ServerMessage::Download { file, .. } => file.size);
    assert_eq!(size, 0);
    let answer = ask(&mut bob, |req| ClientMessage::Received {
        req,
        offer: up.offer,
    })
    .await;
    assert_eq!(
        expect!(answer, ServerMessage::FileStatus { state, .. } => state),
        FileState::Received
    );
}
