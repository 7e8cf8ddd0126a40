//! What the server refuses, each with a clear error and nothing left behind:
//! a wrong checksum, more bytes than declared, bad chunks, files over the size
//! limit or the quota, hostile names (made safe instead), and data or decisions
//! for offers that are unknown, declined or addressed to someone else.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use classchat_common::files::MAX_FILE_NAME_BYTES;
use classchat_common::limits::FILE_CHUNK_BYTES;
use classchat_common::protocol::FileState;
use classchat_common::{ClientMessage, ErrorCode, OfferId, ServerMessage};
use classchat_server::Config;
use classchat_server::ratelimit::Rate;

use crate::fixtures::*;
use crate::support::conv;

#[tokio::test]
async fn a_wrong_checksum_discards_the_upload_and_offers_nothing() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let content = Content::new(6, 2 * FILE_CHUNK_BYTES as u64 + 7);
    let claimed = Content {
        sha256: sha256_of(b"something else entirely"),
        ..content.clone()
    };
    let up = ready(&mut alice, "bob", "fake.iso", &claimed).await;
    assert!(
        send_bytes(&mut alice, &up, &claimed, 0, claimed.size)
            .await
            .is_none()
    );
    let e = next(&mut alice).await;
    let why = assert_offer_error(&e, ErrorCode::ChecksumMismatch, up.offer);
    assert!(why.contains("SHA-256"), "{why}");

    assert!(stored_files(&files_dir).is_empty(), "nothing kept");
    bob.expect_nothing_pending().await;
    let (_, outgoing) = files(&mut alice).await;
    assert!(outgoing.is_empty());
    let history = ask(&mut bob, |req| ClientMessage::History {
        req,
        conv: conv("alice"),
        before: None,
        after: None,
        limit: None,
    })
    .await;
    let messages = expect!(history, ServerMessage::History { messages, .. } => messages);
    assert!(messages.is_empty(), "no offer message: {messages:?}");
}

#[tokio::test]
async fn more_bytes_than_declared_are_refused_and_discard_the_upload() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;

    // One chunk longer than the whole offer.
    let content = Content::new(7, 10);
    let up = ready(&mut alice, "bob", "ten.bin", &content).await;
    alice
        .send(chunk(up.offer, 0, &Content::new(7, 11).all()))
        .await;
    assert_offer_error(&next(&mut alice).await, ErrorCode::TooMuchData, up.offer);

    // Whole chunks that run past the declared size.
    let declared = Content::new(8, FILE_CHUNK_BYTES as u64 + 100);
    let longer = Content::new(8, 2 * FILE_CHUNK_BYTES as u64);
    let up = ready(&mut alice, "bob", "short.bin", &declared).await;
    let chunk_len = FILE_CHUNK_BYTES as u64;
    assert!(
        send_bytes(&mut alice, &up, &longer, 0, chunk_len)
            .await
            .is_none()
    );
    alice
        .send(chunk(
            up.offer,
            chunk_len,
            &longer.bytes(chunk_len, FILE_CHUNK_BYTES),
        ))
        .await;
    assert_offer_error(&next(&mut alice).await, ErrorCode::TooMuchData, up.offer);

    // The upload is over: its next bytes are refused, nothing is kept.
    alice.send(chunk(up.offer, chunk_len, &[1])).await;
    assert_offer_error(&next(&mut alice).await, ErrorCode::UnknownOffer, up.offer);
    assert!(stored_files(&files_dir).is_empty());
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_chunk_at_the_wrong_offset_not_base64_or_over_the_chunk_limit_is_a_bad_chunk() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let content = Content::new(9, 4 * FILE_CHUNK_BYTES as u64);
    let first = content.bytes(0, FILE_CHUNK_BYTES);
    for what in [
        "a gap",
        "a repeat",
        "not base64",
        "over the limit",
        "padding missing",
    ] {
        let up = ready(&mut alice, "bob", "x.bin", &content).await;
        let chunk_len = FILE_CHUNK_BYTES as u64;
        let wrong = match what {
            "a gap" => chunk(up.offer, 5, &first),
            "a repeat" => {
                assert!(
                    send_bytes(&mut alice, &up, &content, 0, chunk_len)
                        .await
                        .is_none()
                );
                chunk(up.offer, 0, &first)
            }
            "not base64" => ClientMessage::Chunk {
                offer: up.offer,
                offset: 0,
                data: "this is *not* base64!".into(),
            },
            "over the limit" => chunk(up.offer, 0, &content.bytes(0, FILE_CHUNK_BYTES + 1)),
            _ => ClientMessage::Chunk {
                offer: up.offer,
                offset: 0,
                data: BASE64.encode(b"ab").trim_end_matches('=').to_owned(),
            },
        };
        alice.send(wrong).await;
        let why = assert_offer_error(&next(&mut alice).await, ErrorCode::BadChunk, up.offer);
        assert!(why.contains("discarded"), "{what}: {why}");
        assert!(stored_files(&files_dir).is_empty(), "{what}: nothing kept");
        alice.send(chunk(up.offer, 0, &first)).await;
        assert_offer_error(&next(&mut alice).await, ErrorCode::UnknownOffer, up.offer);
    }
    bob.expect_nothing_pending().await;
    let (_, outgoing) = files(&mut alice).await;
    assert!(outgoing.is_empty());
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_refused_before_any_data() {
    fn small_files(c: &mut Config) {
        c.max_file = 1000;
    }
    let (server, files_dir) = start(small_files).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let too_big = Content::new(10, 1001);
    let answer = offer(&mut alice, "bob", "big.bin", too_big.size, &too_big.sha256).await;
    let why = assert_error(&answer, ErrorCode::FileTooLarge);
    assert!(why.contains("1.0 KB"), "says the limit: {why}");
    assert!(stored_files(&files_dir).is_empty());

    // Exactly the limit is fine.
    let just = Content::new(10, 1000);
    let up = ready(&mut alice, "bob", "just.bin", &just).await;
    upload(&mut alice, &up, &just).await;
    assert_eq!(offer_message(&mut bob).await.file.unwrap().size, 1000);
}

#[tokio::test]
async fn offers_beyond_the_quota_are_refused_until_room_is_freed() {
    fn small_quota(c: &mut Config) {
        c.file_quota = 1000;
    }
    let (server, _) = start(small_quota).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let a = Content::new(11, 600);
    let b = Content::new(12, 600);
    let up = ready(&mut alice, "bob", "a.bin", &a).await;
    // Room is taken from the moment an upload starts...
    let refused = offer(&mut alice, "bob", "b.bin", b.size, &b.sha256).await;
    let why = assert_error(&refused, ErrorCode::QuotaExceeded);
    assert!(why.contains("try again"), "{why}");
    assert!(retry_hint(&refused) > 0);
    upload(&mut alice, &up, &a).await;
    // ...and while the offer waits for its recipient...
    let refused = offer(&mut alice, "bob", "b.bin", b.size, &b.sha256).await;
    assert_error(&refused, ErrorCode::QuotaExceeded);
    // ...until the recipient has decided.
    offer_message(&mut bob).await;
    decline(&mut bob, up.offer).await;
    assert_eq!(status(&mut alice).await.1, FileState::Declined);
    ready(&mut alice, "bob", "b.bin", &b).await;
}

#[tokio::test]
async fn one_user_cannot_hold_more_than_their_share_while_others_still_can_offer() {
    fn small_share(c: &mut Config) {
        c.user_file_quota = 1000;
    }
    let (server, _) = start(small_share).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let a = Content::new(13, 600);
    let b = Content::new(14, 600);
    let up = ready(&mut alice, "bob", "a.bin", &a).await;
    // Her upload in progress counts against her share...
    let refused = offer(&mut alice, "bob", "b.bin", b.size, &b.sha256).await;
    let why = assert_error(&refused, ErrorCode::QuotaExceeded);
    assert!(why.contains("your open offers hold 600"), "{why}");
    assert!(retry_hint(&refused) > 0);
    // ...not against anyone else's.
    ready(&mut bob, "alice", "b.bin", &b).await;
    upload(&mut alice, &up, &a).await;
    let refused = offer(&mut alice, "bob", "b.bin", b.size, &b.sha256).await;
    assert_error(&refused, ErrorCode::QuotaExceeded);
    // Once her offer is over, her share is free again.
    offer_message(&mut bob).await;
    decline(&mut bob, up.offer).await;
    assert_eq!(status(&mut alice).await.1, FileState::Declined);
    ready(&mut alice, "bob", "b.bin", &b).await;
}

#[tokio::test]
async fn offers_share_the_senders_rate_limit_and_say_when_to_try_again() {
    fn slow(c: &mut Config) {
        c.rates.messages = Rate::per_second(1, 2);
    }
    let (server, files_dir) = start(slow).await;
    let mut alice = server.login("alice").await;
    server.login("bob").await.bye().await;
    let content = Content::new(15, 100);
    alice.send_stored("bob", "here come two files").await;
    ready(&mut alice, "bob", "one.txt", &content).await;
    let refused = offer(&mut alice, "bob", "two.txt", content.size, &content.sha256).await;
    assert_error(&refused, ErrorCode::RateLimited);
    let hint = retry_hint(&refused);
    assert!(
        hint > 0 && hint <= 1000,
        "a retry hint within a second: {hint}"
    );
    assert_eq!(stored_files(&files_dir).len(), 1, "only the first upload");
}

fn bidi_or_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Every property BRIEF §6 asks of a name a file may be saved under.
#[track_caller]
fn assert_safe(name: &str, raw: &str) {
    assert!(!name.is_empty(), "{raw:?} → empty");
    assert!(
        name.len() <= MAX_FILE_NAME_BYTES,
        "{raw:?} → {} bytes",
        name.len()
    );
    assert!(!name.contains(['/', '\\', '\0']), "{raw:?} → {name:?}");
    assert!(
        !name.starts_with('.'),
        "{raw:?} → hidden or relative {name:?}"
    );
    assert!(
        !name.chars().any(|c| c.is_control() || bidi_or_invisible(c)),
        "{raw:?} → {name:?}"
    );
}

#[tokio::test]
async fn hostile_file_names_are_made_safe_before_anyone_sees_them() {
    let (server, _) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let utf8_300 = format!("{}.txt", "ü".repeat(148));
    assert_eq!(utf8_300.len(), 300);
    let names: Vec<(String, Option<&str>)> = vec![
        ("../../../etc/passwd".into(), Some("passwd")),
        ("/etc/shadow".into(), Some("shadow")),
        ("homework/answers.pdf".into(), Some("answers.pdf")),
        ("..\\..\\Windows\\system.ini".into(), Some("system.ini")),
        ("..".into(), Some("file")),
        (".".into(), Some("file")),
        ("../".into(), Some("file")),
        (".bashrc".into(), Some("bashrc")),
        ("nul\0byte.txt".into(), Some("nulbyte.txt")),
        (
            "bell\x07esc\x1b[2J\r\nline.txt".into(),
            Some("bellesc[2Jline.txt"),
        ),
        ("c1\u{85}\u{9b}31m.txt".into(), Some("c131m.txt")),
        ("invoice\u{202E}fdp.exe".into(), Some("invoicefdp.exe")),
        (
            "\u{2067}isolated\u{2069}\u{200B}.txt".into(),
            Some("isolated.txt"),
        ),
        ("a".repeat(300), None),
        (utf8_300, None),
    ];
    let content = Content::new(13, 64);
    for (raw, expected) in &names {
        let up = ready(&mut alice, "bob", raw, &content).await;
        assert_safe(&up.name, raw);
        if let Some(expected) = expected {
            assert_eq!(up.name, *expected, "{raw:?}");
        }
        let (own, _) = upload(&mut alice, &up, &content).await;
        let m = offer_message(&mut bob).await;
        let info = m.file.unwrap();
        assert_eq!(info.name, up.name, "bob sees the name alice was told");
        assert_eq!(own.file.unwrap().name, up.name);
        assert!(m.body.contains(&up.name), "{}", m.body);
        assert!(
            !m.body
                .chars()
                .any(|c| c.is_control() || bidi_or_invisible(c)),
            "{:?}",
            m.body
        );
    }
    // The long ones keep their extension and stay valid UTF-8.
    let (incoming, _) = files(&mut bob).await;
    let long: Vec<&str> = incoming
        .iter()
        .map(|s| s.file.name.as_str())
        .filter(|n| n.len() > 100)
        .collect();
    assert_eq!(long.len(), 2, "{long:?}");
    assert!(
        long.iter()
            .any(|n| n.starts_with('ü') && n.ends_with(".txt")),
        "{long:?}"
    );
}

#[tokio::test]
async fn data_for_an_unknown_or_declined_offer_is_refused_and_no_one_else_may_take_it() {
    let (server, _) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;

    let nowhere = OfferId::new();
    alice.send(chunk(nowhere, 0, b"hello")).await;
    assert_offer_error(&next(&mut alice).await, ErrorCode::UnknownOffer, nowhere);
    let answer = ask(&mut bob, |req| ClientMessage::Accept {
        req,
        offer: nowhere,
        bulk: false,
    })
    .await;
    assert_offer_error(&answer, ErrorCode::UnknownOffer, nowhere);

    let content = Content::new(14, 5000);
    let up = ready(&mut alice, "bob", "private.txt", &content).await;
    // Not yet uploaded: nobody may take it, and only its sender may send its bytes.
    let answer = ask(&mut bob, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    assert_offer_error(&answer, ErrorCode::UnknownOffer, up.offer);
    carol.send(chunk(up.offer, 0, &content.all())).await;
    assert_offer_error(&next(&mut carol).await, ErrorCode::UnknownOffer, up.offer);
    upload(&mut alice, &up, &content).await;
    offer_message(&mut bob).await;

    // Carol was not offered it: she can neither take it nor decide for bob.
    let answer = ask(&mut carol, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    assert_offer_error(&answer, ErrorCode::NotRecipient, up.offer);
    assert_offer_error(
        &decline(&mut carol, up.offer).await,
        ErrorCode::NotRecipient,
        up.offer,
    );
    let answer = ask(&mut carol, |req| ClientMessage::Received {
        req,
        offer: up.offer,
    })
    .await;
    assert_offer_error(&answer, ErrorCode::NotRecipient, up.offer);
    let (incoming, outgoing) = files(&mut carol).await;
    assert!(incoming.is_empty() && outgoing.is_empty());
    // Nor may bob claim a file he never downloaded.
    let answer = ask(&mut bob, |req| ClientMessage::Received {
        req,
        offer: up.offer,
    })
    .await;
    assert_offer_error(&answer, ErrorCode::BadRequest, up.offer);

    // Once declined, more bytes for it are refused and accepting is too late.
    decline(&mut bob, up.offer).await;
    assert_eq!(status(&mut alice).await.1, FileState::Declined);
    alice.send(chunk(up.offer, content.size, b"more")).await;
    assert_offer_error(&next(&mut alice).await, ErrorCode::UnknownOffer, up.offer);
    let answer = ask(&mut bob, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    assert_offer_error(&answer, ErrorCode::FileGone, up.offer);
    bob.send(ClientMessage::FileAck {
        offer: up.offer,
        received: 100,
    })
    .await;
    bob.expect_nothing_pending().await;
    carol.expect_nothing_pending().await;
}
