//! Files' bytes on connections of their own (PROTOCOL.md §11.7), spoken by
//! hand: a `put` or `get` line with the token from the chat connection, the
//! server's `transfer` line, then raw bytes.

use std::net::SocketAddr;

use classchat_common::protocol::FileState;
use classchat_common::{ClientMessage, ErrorCode, OfferId, ServerMessage};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::fixtures::*;
use crate::support::TestClient;

/// A bulk connection after its first line and the server's answer to it.
pub(crate) struct Bulk {
    pub(crate) stream: BufReader<TcpStream>,
    pub(crate) answer: ServerMessage,
}

pub(crate) async fn open(addr: SocketAddr, first: ClientMessage) -> Bulk {
    let mut stream = BufReader::new(TcpStream::connect(addr).await.unwrap());
    stream.get_mut().write_all(&first.to_line()).await.unwrap();
    let mut line = String::new();
    stream.read_line(&mut line).await.unwrap();
    let answer = ServerMessage::decode(line.trim_end().as_bytes()).unwrap();
    Bulk { stream, answer }
}

pub(crate) fn put(token: &str) -> ClientMessage {
    ClientMessage::Put {
        token: token.to_owned(),
    }
}

pub(crate) fn get(token: &str, offset: u64) -> ClientMessage {
    ClientMessage::Get {
        token: token.to_owned(),
        offset,
    }
}

/// Offers `content` and returns the offer and its upload token.
async fn offered(c: &mut TestClient, to: &str, content: &Content) -> (OfferId, String) {
    let answer = offer(c, to, "lecture.mp4", content.size, &content.sha256).await;
    expect!(answer, ServerMessage::UploadReady { offer, token: Some(token), .. } => (offer, token))
}

/// Accepts with `bulk` and returns the download token; no `file_chunk`
/// follows on the chat connection.
pub(crate) async fn accepted(c: &mut TestClient, offer: OfferId) -> String {
    let answer = ask(c, |req| ClientMessage::Accept {
        req,
        offer,
        bulk: true,
    })
    .await;
    expect!(answer, ServerMessage::Download { token: Some(token), .. } => token)
}

/// Waits for the offer's `message` and `uploaded` on the sender's chat
/// connection, in either order.
async fn uploaded(c: &mut TestClient, offer: OfferId) -> u64 {
    let (mut own, mut seq) = (false, None);
    while !own || seq.is_none() {
        match next(c).await {
            ServerMessage::Message(m) if m.file.as_ref().is_some_and(|f| f.offer == offer) => {
                own = true;
            }
            ServerMessage::Uploaded {
                offer: o, seq: s, ..
            } if o == offer => seq = Some(s),
            other => panic!("waiting for uploaded, got {other:?}"),
        }
    }
    seq.unwrap_or_default()
}

/// Reads a `get`'s bytes to the end of the connection.
async fn rest(mut bulk: Bulk) -> Vec<u8> {
    let mut bytes = Vec::new();
    bulk.stream.read_to_end(&mut bytes).await.unwrap();
    bytes
}

#[tokio::test]
async fn a_file_goes_up_and_down_raw_on_connections_of_their_own() {
    let (server, files_dir) = start(defaults).await;
    let mut bob = server.login("bob").await;
    let mut alice = server.login("alice").await;
    let content = Content::new(7, 5 * 131_072 + 4321);
    let (offer, token) = offered(&mut alice, "bob", &content).await;

    let mut up = open(server.addr, put(&token)).await;
    let ready = expect!(up.answer, ServerMessage::Transfer { offer, offset, size } => (offer, offset, size));
    assert_eq!(ready, (offer, 0, content.size));
    up.stream.get_mut().write_all(&content.all()).await.unwrap();
    let mut line = String::new();
    up.stream.read_line(&mut line).await.unwrap();
    let done = ServerMessage::decode(line.trim_end().as_bytes()).unwrap();
    assert_eq!(
        done,
        ServerMessage::TransferDone {
            offer,
            size: content.size
        }
    );
    let seq = uploaded(&mut alice, offer).await;
    assert_eq!(offer_message(&mut bob).await.seq, seq);

    let token = accepted(&mut bob, offer).await;
    let down = open(server.addr, get(&token, 0)).await;
    let ready = expect!(down.answer, ServerMessage::Transfer { offer, offset, size } => (offer, offset, size));
    assert_eq!(ready, (offer, 0, content.size));
    let bytes = rest(down).await;
    assert!(bytes == content.all(), "the bytes that came down");
    assert_eq!(sha256_of(&bytes), content.sha256);
    // Nothing came on bob's chat connection meanwhile: no `file_chunk`.
    settled(&mut bob).await;
    let answer = ask(&mut bob, |req| ClientMessage::Received { req, offer }).await;
    let state = expect!(answer, ServerMessage::FileStatus { state, .. } => state);
    assert_eq!(state, FileState::Received);
    assert_eq!(status(&mut alice).await.1, FileState::Accepted);
    assert_eq!(status(&mut alice).await.1, FileState::Received);
    settled(&mut alice).await;
    assert!(stored_files(&files_dir).is_empty(), "the offer is over");
}

#[tokio::test]
async fn an_interrupted_upload_and_download_go_on_from_where_they_stopped() {
    let (server, _files) = start(defaults).await;
    let mut bob = server.login("bob").await;
    let mut alice = server.login("alice").await;
    let content = Content::new(8, 3 * 262_144 + 99);
    let (offer, token) = offered(&mut alice, "bob", &content).await;

    // Half the file, then the connection drops.
    let half = content.size / 2;
    let mut up = open(server.addr, put(&token)).await;
    up.stream
        .get_mut()
        .write_all(&content.bytes(0, half as usize))
        .await
        .unwrap();
    drop(up);
    // The same token again: the server says how much it kept, which is at
    // most what was sent (the rest may have been on its way when the second
    // connection took over), and the upload goes on from there.
    let mut again = open(server.addr, put(&token)).await;
    let (at, size) =
        expect!(again.answer, ServerMessage::Transfer { offset, size, .. } => (offset, size));
    assert!(
        at <= half && size == content.size,
        "resumes at {at} of {half}"
    );
    let tail = content.bytes(at, (content.size - at) as usize);
    again.stream.get_mut().write_all(&tail).await.unwrap();
    let mut line = String::new();
    again.stream.read_line(&mut line).await.unwrap();
    assert!(line.contains("transfer_done"), "{line}");
    uploaded(&mut alice, offer).await;
    offer_message(&mut bob).await;

    // A download that stopped at byte 100,000 asks for the rest only.
    let token = accepted(&mut bob, offer).await;
    let first = rest(open(server.addr, get(&token, 0)).await).await;
    assert_eq!(first.len() as u64, content.size);
    let from = 100_000;
    let down = open(server.addr, get(&token, from)).await;
    let (offset, size) =
        expect!(down.answer, ServerMessage::Transfer { offset, size, .. } => (offset, size));
    assert_eq!((offset, size), (from, content.size));
    let bytes = rest(down).await;
    assert!(bytes == content.bytes(from, (content.size - from) as usize));
    // Past the end is refused.
    let past = open(server.addr, get(&token, content.size + 1)).await;
    assert_offer_error(&past.answer, ErrorCode::BadRequest, offer);
}

#[tokio::test]
async fn a_token_works_only_for_its_transfer_and_while_its_chat_connection_stays() {
    let (server, files_dir) = start(defaults).await;
    let mut bob = server.login("bob").await;
    let mut alice = server.login("alice").await;

    // Unknown, malformed, and the wrong direction.
    let unknown = open(server.addr, put(&"0".repeat(32))).await;
    assert_error(&unknown.answer, ErrorCode::BadToken);
    let malformed = open(server.addr, get("not a token", 0)).await;
    assert_error(&malformed.answer, ErrorCode::BadToken);
    let content = Content::new(9, 200_000);
    let (_, token) = offered(&mut alice, "bob", &content).await;
    let wrong = open(server.addr, get(&token, 0)).await;
    assert_error(&wrong.answer, ErrorCode::BadRequest);
    // Said on a logged-in connection, `put` is refused there.
    alice.send(put(&token)).await;
    assert_error(&next(&mut alice).await, ErrorCode::BadRequest);

    // Part of the upload, then alice's chat connection closes: the upload
    // is discarded and its token is over.
    let mut up = open(server.addr, put(&token)).await;
    up.stream
        .get_mut()
        .write_all(&content.bytes(0, 50_000))
        .await
        .unwrap();
    drop(alice);
    let mut alice = server.login("alice").await;
    settled(&mut alice).await;
    let late = open(server.addr, put(&token)).await;
    assert_error(&late.answer, ErrorCode::BadToken);
    drop(up);
    settled(&mut alice).await;
    assert!(
        stored_files(&files_dir).is_empty(),
        "nothing is left behind"
    );

    // A whole upload; bob accepts, but says `received` before his bulk
    // connection has sent it all: refused.
    let (offer, token) = offered(&mut alice, "bob", &content).await;
    let mut up = open(server.addr, put(&token)).await;
    up.stream.get_mut().write_all(&content.all()).await.unwrap();
    uploaded(&mut alice, offer).await;
    offer_message(&mut bob).await;
    let token = accepted(&mut bob, offer).await;
    let early = ask(&mut bob, |req| ClientMessage::Received { req, offer }).await;
    assert_offer_error(&early, ErrorCode::BadRequest, offer);
    // Declining ends the download: its token is over.
    decline(&mut bob, offer).await;
    let after = open(server.addr, get(&token, 0)).await;
    assert_error(&after.answer, ErrorCode::BadToken);
}

#[tokio::test]
async fn a_put_whose_bytes_do_not_match_the_offer_is_refused_and_leaves_nothing() {
    let (server, files_dir) = start(defaults).await;
    let mut bob = server.login("bob").await;
    let mut alice = server.login("alice").await;
    let promised = Content::new(10, 300_000);
    let (offer, token) = offered(&mut alice, "bob", &promised).await;
    let mut up = open(server.addr, put(&token)).await;
    // As many bytes as offered, but not those.
    let other = Content::new(11, 300_000);
    up.stream.get_mut().write_all(&other.all()).await.unwrap();
    let mut line = String::new();
    up.stream.read_line(&mut line).await.unwrap();
    let answer = ServerMessage::decode(line.trim_end().as_bytes()).unwrap();
    assert_offer_error(&answer, ErrorCode::ChecksumMismatch, offer);
    // The upload is over: its token too, and nobody was offered anything.
    let again = open(server.addr, put(&token)).await;
    assert_error(&again.answer, ErrorCode::BadToken);
    settled(&mut alice).await;
    settled(&mut bob).await;
    assert!(
        stored_files(&files_dir).is_empty(),
        "nothing is left behind"
    );
}
