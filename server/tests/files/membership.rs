//! Group offers while the group changes under them: a group deleted or left
//! while a file is on its way, and members who leave or are removed before
//! they have decided.

use classchat_common::limits::{FILE_CHUNK_BYTES, FILE_WINDOW};
use classchat_common::protocol::{FileState, GroupEvent};
use classchat_common::{ClientMessage, ErrorCode, ServerMessage};

use crate::fixtures::*;

/// Finishes an upload the server will not offer: every byte is acknowledged
/// (the session stores them before the hub looks) and then the error comes,
/// or the error comes first if the hub answered before the last ack.
async fn finish_refused(
    c: &mut crate::support::TestClient,
    up: &Upload,
    content: &Content,
    from: u64,
) -> ServerMessage {
    match send_bytes(c, up, content, from, content.size).await {
        Some(e) => e,
        None => next(c).await,
    }
}

#[tokio::test]
async fn a_group_deleted_while_a_file_is_uploading_is_not_offered_and_leaves_nothing_behind() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    make_group(&mut alice, "team", &["bob"]).await;
    let content = Content::new(31, 3 * FILE_CHUNK_BYTES as u64);
    let up = ready(&mut alice, "#team", "notes.pdf", &content).await;
    assert!(
        send_bytes(&mut alice, &up, &content, 0, content.size / 2)
            .await
            .is_none()
    );

    let deleted = ask(&mut alice, |req| ClientMessage::Delete {
        req,
        group: group("team"),
    })
    .await;
    expect!(deleted, ServerMessage::GroupDeleted { .. } => ());
    let error = finish_refused(&mut alice, &up, &content, content.size / 2).await;
    let why = assert_offer_error(&error, ErrorCode::UnknownOffer, up.offer);
    assert!(why.contains("no longer exists"), "{why}");
    settled(&mut alice).await;
    assert!(
        stored_files(&files_dir).is_empty(),
        "the upload was deleted"
    );

    // Bob saw the group go and never an offer.
    for _ in 0..10 {
        match next(&mut bob).await {
            ServerMessage::Message(m) if m.file.is_some() => panic!("offered: {m:?}"),
            ServerMessage::Message(m) if m.event == Some(GroupEvent::Deleted) => break,
            ServerMessage::Message(_) => {}
            other => panic!("waiting for the group to go, got {other:?}"),
        }
    }
    bob.expect_nothing_pending().await;
    let (incoming, _) = files(&mut bob).await;
    assert!(incoming.is_empty(), "{incoming:?}");
}

#[tokio::test]
async fn a_sender_who_leaves_the_group_mid_upload_is_told_the_file_was_not_offered() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    make_group(&mut bob, "team", &["alice"]).await;
    let content = Content::new(32, 3 * FILE_CHUNK_BYTES as u64);
    let up = ready(&mut alice, "#team", "draft.doc", &content).await;
    assert!(
        send_bytes(&mut alice, &up, &content, 0, FILE_CHUNK_BYTES as u64)
            .await
            .is_none()
    );

    let left = ask(&mut alice, |req| ClientMessage::Leave {
        req,
        group: group("team"),
    })
    .await;
    expect!(left, ServerMessage::Group { .. } => ());
    let error = finish_refused(&mut alice, &up, &content, FILE_CHUNK_BYTES as u64).await;
    assert_offer_error(&error, ErrorCode::NotMember, up.offer);
    settled(&mut alice).await;
    assert!(stored_files(&files_dir).is_empty());
    let (_, outgoing) = files(&mut alice).await;
    assert!(outgoing.is_empty(), "{outgoing:?}");
    // Bob saw alice leave and never an offer.
    let m = bob.recv_message().await;
    assert_eq!(m.event, Some(GroupEvent::Left), "{m:?}");
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn members_who_leave_or_are_removed_no_longer_hold_an_offer_open() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    make_group(&mut alice, "team", &["bob", "carol"]).await;
    let content = Content::new(33, 1000);
    let up = ready(&mut alice, "#team", "minutes.txt", &content).await;
    upload(&mut alice, &up, &content).await;
    offer_message(&mut bob).await;
    offer_message(&mut carol).await;

    // Bob leaves before deciding: the offer stops waiting for him, and both
    // he and alice are told.
    bob.send(ClientMessage::Leave {
        req: None,
        group: group("team"),
    })
    .await;
    let (mut left, mut told) = (false, false);
    while !(left && told) {
        match next(&mut bob).await {
            ServerMessage::Group { .. } => left = true,
            ServerMessage::FileStatus { offer, state, .. } if offer == up.offer => {
                assert_eq!(state, FileState::Cancelled);
                told = true;
            }
            ServerMessage::Message(m) if m.event == Some(GroupEvent::Left) => {}
            other => panic!("leaving, got {other:?}"),
        }
    }
    assert_eq!(alice.recv_message().await.event, Some(GroupEvent::Left));
    assert_eq!(
        status(&mut alice).await,
        ("bob".into(), FileState::Cancelled, counts(0, 0, 0, 2))
    );
    let answer = ask(&mut bob, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    let why = assert_offer_error(&answer, ErrorCode::FileGone, up.offer);
    assert!(why.contains("no longer in"), "{why}");
    let (incoming, _) = files(&mut bob).await;
    assert!(incoming.is_empty(), "{incoming:?}");
    assert_eq!(stored_files(&files_dir), [up.offer.to_string()]);

    // Carol, who had accepted, is removed: nobody is left to decide, so the
    // offer is over and its file deleted.
    accept(&mut carol, up.offer, &content).await;
    let (_, accepted, _) = status(&mut alice).await;
    assert_eq!(accepted, FileState::Accepted);
    alice
        .send(ClientMessage::Kick {
            req: None,
            group: group("team"),
            user: crate::support::user("carol"),
        })
        .await;
    let (mut kicked, mut told) = (false, false);
    while !(kicked && told) {
        match next(&mut alice).await {
            ServerMessage::Group { .. } => kicked = true,
            ServerMessage::FileStatus {
                user,
                state,
                counts: c,
                ..
            } => {
                assert_eq!(
                    (user.as_str(), state, c),
                    ("carol", FileState::Cancelled, counts(0, 0, 0, 2))
                );
                told = true;
            }
            ServerMessage::Message(m) if m.event.is_some() => {}
            other => panic!("removing carol, got {other:?}"),
        }
    }
    settled(&mut alice).await;
    assert!(stored_files(&files_dir).is_empty());
    let (_, outgoing) = files(&mut alice).await;
    assert!(outgoing.is_empty(), "{outgoing:?}");
}

#[tokio::test]
async fn a_member_removed_mid_download_gets_no_more_of_the_file_and_the_others_still_can() {
    let (server, files_dir) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    make_group(&mut alice, "team", &["bob", "carol"]).await;
    let content = Content::new(35, 2 * (FILE_CHUNK_BYTES * FILE_WINDOW) as u64);
    let up = ready(&mut alice, "#team", "exam-answers.pdf", &content).await;
    upload(&mut alice, &up, &content).await;
    offer_message(&mut bob).await;
    offer_message(&mut carol).await;
    accept(&mut bob, up.offer, &content).await;
    let (got, _) = first_window(&mut bob, up.offer, &content).await;

    // Bob has half the file when alice removes him: he is told the offer is
    // over for him, and his download ends with an error naming the offer (so
    // a client drops its partial copy). Not one more chunk comes.
    alice
        .send(ClientMessage::Kick {
            req: None,
            group: group("team"),
            user: crate::support::user("bob"),
        })
        .await;
    let (mut told, mut stopped) = (false, false);
    while !(told && stopped) {
        match next(&mut bob).await {
            ServerMessage::FileStatus { offer, state, .. } if offer == up.offer => {
                assert_eq!(state, FileState::Cancelled);
                told = true;
            }
            e @ ServerMessage::Error { .. } => {
                let why = assert_offer_error(&e, ErrorCode::NotMember, up.offer);
                assert!(why.contains("no longer in"), "{why}");
                stopped = true;
            }
            ServerMessage::Message(m) if m.event.is_some() => {}
            ServerMessage::Group { .. } => {}
            other => panic!("being removed mid-download, got {other:?}"),
        }
    }
    // His acknowledgement would have opened the window again.
    bob.send(ClientMessage::FileAck {
        offer: up.offer,
        received: got,
    })
    .await;
    bob.expect_nothing_pending().await;

    // Carol, still a member, downloads the whole file, which is then deleted.
    let (state, _) = download(&mut carol, up.offer, &content).await;
    assert_eq!(state, FileState::Received);
    let mut heard = Vec::new();
    for _ in 0..20 {
        match next(&mut alice).await {
            ServerMessage::FileStatus { user, state, .. } => {
                heard.push((user.as_str().to_owned(), state));
                if state == FileState::Received {
                    break;
                }
            }
            ServerMessage::Message(m) if m.event.is_some() => {}
            ServerMessage::Group { .. } => {}
            other => panic!("alice, got {other:?}"),
        }
    }
    assert_eq!(
        heard,
        [
            ("bob".to_owned(), FileState::Accepted),
            ("bob".to_owned(), FileState::Cancelled),
            ("carol".to_owned(), FileState::Accepted),
            ("carol".to_owned(), FileState::Received),
        ]
    );
    settled(&mut alice).await;
    assert!(stored_files(&files_dir).is_empty());
}

#[tokio::test]
async fn received_is_refused_while_the_download_is_still_under_way() {
    let (server, _) = start(defaults).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let content = Content::new(34, 2 * (FILE_CHUNK_BYTES * FILE_WINDOW) as u64);
    let up = ready(&mut alice, "bob", "thesis.pdf", &content).await;
    upload(&mut alice, &up, &content).await;
    offer_message(&mut bob).await;
    accept(&mut bob, up.offer, &content).await;
    let (got, mut hasher) = first_window(&mut bob, up.offer, &content).await;

    let answer = ask(&mut bob, |req| ClientMessage::Received {
        req,
        offer: up.offer,
    })
    .await;
    let why = assert_offer_error(&answer, ErrorCode::BadRequest, up.offer);
    assert!(why.contains("download"), "{why}");
    assert_eq!(status(&mut alice).await.1, FileState::Accepted);
    alice.expect_nothing_pending().await;

    // The download goes on, and once every byte is in, `received` counts.
    bob.send(ClientMessage::FileAck {
        offer: up.offer,
        received: got,
    })
    .await;
    let rest = (content.size - got).div_ceil(FILE_CHUNK_BYTES as u64) as usize;
    let end = read_chunks(&mut bob, up.offer, &content, got, rest, true, &mut hasher).await;
    assert_eq!(end, content.size);
    let answer = ask(&mut bob, |req| ClientMessage::Received {
        req,
        offer: up.offer,
    })
    .await;
    let state = expect!(answer, ServerMessage::FileStatus { state, .. } => state);
    assert_eq!(state, FileState::Received);
}
