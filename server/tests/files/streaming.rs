//! Offers that stream (PROTOCOL.md §11.8): posted as soon as their upload
//! begins, downloaded while the bytes are still arriving, on a bulk
//! connection or in chunks, with the last byte held back until the server
//! has verified and kept the whole file; an upload that fails, or is cut
//! short by a restart, withdraws the offer.

use std::net::SocketAddr;

use classchat_common::protocol::FileState;
use classchat_common::{ClientMessage, ErrorCode, OfferId, ServerMessage};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::bulk::{Bulk, accepted, get, open, put};
use crate::fixtures::*;
use crate::support::{TestClient, conv};

/// Offers `content` with `stream` and returns the offer and its upload
/// token, checking the server took it as streaming.
async fn streamed(c: &mut TestClient, to: &str, content: &Content) -> (OfferId, String) {
    let answer = ask(c, |req| ClientMessage::Offer {
        req,
        to: conv(to),
        name: "lecture.mp4".to_owned(),
        size: content.size,
        sha256: content.sha256.clone(),
        stream: true,
    })
    .await;
    expect!(answer, ServerMessage::UploadReady { offer, token: Some(token), stream: true, .. } => (offer, token))
}

/// A bulk connection past its `transfer` line, and the offset it names.
async fn transferring(addr: SocketAddr, first: ClientMessage) -> (BufReader<TcpStream>, u64) {
    let Bulk { stream, answer } = open(addr, first).await;
    (
        stream,
        expect!(answer, ServerMessage::Transfer { offset, .. } => offset),
    )
}

/// The next message on the sender's chat connection, its own copy of the
/// offer passed over (it may come before or after `upload_ready`).
async fn after_own_offer(c: &mut TestClient) -> ServerMessage {
    loop {
        match next(c).await {
            ServerMessage::Message(m) if m.file.is_some() => {}
            other => return other,
        }
    }
}

/// The next `file_status` on the sender's chat connection.
async fn sender_status(c: &mut TestClient) -> FileState {
    let msg = after_own_offer(c).await;
    expect!(msg, ServerMessage::FileStatus { state, .. } => state)
}

#[tokio::test]
async fn a_recipient_downloads_while_the_upload_is_still_arriving() {
    let (server, files_dir) = start(defaults).await;
    let mut bob = server.login("bob").await;
    let mut alice = server.login("alice").await;
    let content = Content::new(21, 6 * 262_144 + 777);
    let (offer, up_token) = streamed(&mut alice, "bob", &content).await;

    // Posted before a single byte went up.
    let posted = offer_message(&mut bob).await;
    assert_eq!(posted.file.as_ref().map(|f| f.offer), Some(offer));
    let down_token = accepted(&mut bob, offer).await;
    assert_eq!(sender_status(&mut alice).await, FileState::Accepted);
    let (mut down, at) = transferring(server.addr, get(&down_token, 0)).await;
    assert_eq!(at, 0);

    // Half goes up; that half comes down while the rest is still to come.
    let half = content.size / 2;
    let (mut up, from) = transferring(server.addr, put(&up_token)).await;
    assert_eq!(from, 0);
    up.get_mut()
        .write_all(&content.bytes(0, half as usize))
        .await
        .unwrap();
    let mut first = vec![0u8; half as usize];
    down.read_exact(&mut first).await.unwrap();
    assert!(first == content.bytes(0, half as usize), "the first half");
    // Not all there: `received` is refused.
    let early = ask(&mut bob, |req| ClientMessage::Received { req, offer }).await;
    assert_offer_error(&early, ErrorCode::BadRequest, offer);

    // The rest; the download ends with the file, which is whole.
    let tail = content.bytes(half, (content.size - half) as usize);
    up.get_mut().write_all(&tail).await.unwrap();
    let mut line = String::new();
    up.read_line(&mut line).await.unwrap();
    assert!(line.contains("transfer_done"), "{line}");
    let mut second = Vec::new();
    down.read_to_end(&mut second).await.unwrap();
    assert!(second == tail, "the second half");
    let mut hasher = Sha256::new();
    hasher.update(&first);
    hasher.update(&second);
    assert_eq!(hex(&hasher.finalize()), content.sha256);

    // `uploaded` names the seq the offer was posted at.
    let seq =
        expect!(after_own_offer(&mut alice).await, ServerMessage::Uploaded { seq, .. } => seq);
    assert_eq!(seq, posted.seq);
    let answer = ask(&mut bob, |req| ClientMessage::Received { req, offer }).await;
    let state = expect!(answer, ServerMessage::FileStatus { state, .. } => state);
    assert_eq!(state, FileState::Received);
    assert_eq!(sender_status(&mut alice).await, FileState::Received);
    settled(&mut alice).await;
    assert!(stored_files(&files_dir).is_empty(), "the offer is over");
}

#[tokio::test]
async fn a_growing_file_comes_down_in_chunks_as_its_chunks_go_up() {
    let (server, _files) = start(defaults).await;
    let mut bob = server.login("bob").await;
    let mut alice = server.login("alice").await;
    let content = Content::new(22, 5 * 131_072 + 5);
    let (offer, _) = streamed(&mut alice, "bob", &content).await;
    offer_message(&mut bob).await;
    accept(&mut bob, offer, &content).await;
    assert_eq!(sender_status(&mut alice).await, FileState::Accepted);

    // Two chunks go up, acknowledged; two chunks come down, and no more.
    let up = Upload {
        offer,
        name: "lecture.mp4".to_owned(),
        chunk: classchat_common::limits::FILE_CHUNK_BYTES,
        window: classchat_common::limits::FILE_WINDOW,
    };
    let two = 2 * up.chunk as u64;
    for at in [0, up.chunk as u64] {
        alice
            .send(chunk(offer, at, &content.bytes(at, up.chunk)))
            .await;
        let acked = expect!(after_own_offer(&mut alice).await, ServerMessage::ChunkAck { received, .. } => received);
        assert_eq!(acked, at + up.chunk as u64);
    }
    let mut hasher = Sha256::new();
    let got = read_chunks(&mut bob, offer, &content, 0, 2, true, &mut hasher).await;
    assert_eq!(got, two);
    settled(&mut bob).await;

    // The rest goes up; the rest comes down, the last byte with it.
    assert!(
        send_bytes(&mut alice, &up, &content, two, content.size)
            .await
            .is_none()
    );
    let chunks = (content.size - two).div_ceil(up.chunk as u64) as usize;
    let mut offset = two;
    while offset < content.size {
        offset = read_chunks(&mut bob, offer, &content, offset, 1, true, &mut hasher).await;
    }
    assert!(chunks >= 1);
    assert_eq!(hex(&hasher.finalize()), content.sha256);
    let answer = ask(&mut bob, |req| ClientMessage::Received { req, offer }).await;
    let state = expect!(answer, ServerMessage::FileStatus { state, .. } => state);
    assert_eq!(state, FileState::Received);
}

#[tokio::test]
async fn a_streaming_upload_that_fails_withdraws_the_offer_from_its_recipients() {
    let (server, files_dir) = start(defaults).await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let mut alice = server.login("alice").await;
    make_group(&mut alice, "physics", &["bob", "carol"]).await;
    let promised = Content::new(23, 400_000);
    let (offer, up_token) = streamed(&mut alice, "#physics", &promised).await;
    offer_message(&mut bob).await;
    offer_message(&mut carol).await;
    let down_token = accepted(&mut bob, offer).await;
    let (mut down, _) = transferring(server.addr, get(&down_token, 0)).await;

    // As many bytes as offered, but not those.
    let other = Content::new(24, promised.size);
    let (mut up, _) = transferring(server.addr, put(&up_token)).await;
    up.get_mut().write_all(&other.all()).await.unwrap();
    let mut line = String::new();
    up.read_line(&mut line).await.unwrap();
    let answer = ServerMessage::decode(line.trim_end().as_bytes()).unwrap();
    assert_offer_error(&answer, ErrorCode::ChecksumMismatch, offer);

    // Bob's download ends short of the whole file, without a line after
    // the raw bytes; both recipients hear the offer is withdrawn.
    let mut got = Vec::new();
    down.read_to_end(&mut got).await.unwrap();
    assert!((got.len() as u64) < promised.size, "never the whole file");
    for c in [&mut bob, &mut carol] {
        let msg = next(c).await;
        let (o, state) =
            expect!(msg, ServerMessage::FileStatus { offer, state, .. } => (offer, state));
        assert_eq!((o, state), (offer, FileState::Cancelled));
    }
    let gone = ask(&mut carol, |req| ClientMessage::Accept {
        req,
        offer,
        bulk: true,
    })
    .await;
    assert_offer_error(&gone, ErrorCode::FileGone, offer);
    // Alice heard bob accept, then each recipient's offer end.
    assert_eq!(sender_status(&mut alice).await, FileState::Accepted);
    for _ in 0..2 {
        assert_eq!(sender_status(&mut alice).await, FileState::Cancelled);
    }
    settled(&mut alice).await;
    assert!(
        stored_files(&files_dir).is_empty(),
        "nothing is left behind"
    );
}

#[tokio::test]
async fn a_streaming_offer_is_cancelled_where_it_uploads_not_from_another_connection() {
    let (server, files_dir) = start(defaults).await;
    let mut bob = server.login("bob").await;
    let mut alice = server.login("alice").await;
    let mut phone = server.login("alice").await;
    let content = Content::new(26, 300_000);
    let (offer, _) = streamed(&mut alice, "bob", &content).await;
    offer_message(&mut bob).await;
    // Her other connection sees the offer, but its upload is not there.
    expect!(next(&mut phone).await, ServerMessage::Message(m) if m.file.is_some() => ());
    let refused = ask(&mut phone, |req| ClientMessage::Cancel { req, offer }).await;
    assert_offer_error(&refused, ErrorCode::BadRequest, offer);
    // Where it uploads, `cancel` ends the upload and the offer with it.
    let answer = ask(&mut alice, |req| ClientMessage::Cancel { req, offer }).await;
    let state = expect!(answer, ServerMessage::FileStatus { state, .. } => state);
    assert_eq!(state, FileState::Cancelled);
    let msg = next(&mut bob).await;
    let (o, state) = expect!(msg, ServerMessage::FileStatus { offer, state, .. } => (offer, state));
    assert_eq!((o, state), (offer, FileState::Cancelled));
    // Both her connections hear that bob's part is over.
    assert_eq!(sender_status(&mut alice).await, FileState::Cancelled);
    assert_eq!(sender_status(&mut phone).await, FileState::Cancelled);
    settled(&mut alice).await;
    assert!(
        stored_files(&files_dir).is_empty(),
        "nothing is left behind"
    );
}

#[tokio::test]
async fn a_streaming_offer_whose_upload_a_restart_cut_short_is_withdrawn() {
    let (server, files_dir) = start(defaults).await;
    let mut bob = server.login("bob").await;
    let mut alice = server.login("alice").await;
    let content = Content::new(25, 300_000);
    let (offer, up_token) = streamed(&mut alice, "bob", &content).await;
    offer_message(&mut bob).await;
    let (mut up, _) = transferring(server.addr, put(&up_token)).await;
    up.get_mut()
        .write_all(&content.bytes(0, 100_000))
        .await
        .unwrap();
    drop((up, alice, bob));

    let server = restart(server, defaults).await;
    let mut bob = server.login("bob").await;
    let (incoming, _) = files(&mut bob).await;
    assert!(incoming.is_empty(), "no open offer: {incoming:?}");
    let gone = ask(&mut bob, |req| ClientMessage::Accept {
        req,
        offer,
        bulk: true,
    })
    .await;
    assert_offer_error(&gone, ErrorCode::FileGone, offer);
    assert!(
        stored_files(&files_dir).is_empty(),
        "nothing is left behind"
    );
}
