//! Fixtures for the file tests: test files made again at any offset, servers
//! whose files folder can be looked into, and the file protocol spoken by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use classchat_common::limits::{FILE_CHUNK_BYTES, FILE_WINDOW};
use classchat_common::protocol::{ChatMessage, FileCounts, FileState, OfferSummary, Req};
use classchat_common::{ClientMessage, ErrorCode, GroupName, OfferId, ServerMessage};
use classchat_server::Config;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::support::{ServerOptions, TestClient, TestServer, conv, start_server, user};

// ---------------------------------------------------------------------------
// Test files: pseudo-random bytes that can be made again at any offset, so a
// 50 MB file is never held whole by the test either.

#[derive(Debug, Clone)]
pub struct Content {
    pub seed: u64,
    pub size: u64,
    pub sha256: String,
}

pub fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_of(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

impl Content {
    pub fn new(seed: u64, size: u64) -> Self {
        let mut c = Self {
            seed,
            size,
            sha256: String::new(),
        };
        let mut hasher = Sha256::new();
        let mut at = 0;
        while at < size {
            let len = (size - at).min(1 << 20);
            hasher.update(c.bytes(at, len as usize));
            at += len;
        }
        c.sha256 = hex(&hasher.finalize());
        c
    }

    /// Bytes `offset..offset + len` (cut at the end of the file).
    pub fn bytes(&self, offset: u64, len: usize) -> Vec<u8> {
        let end = (offset + len as u64).min(self.size);
        let mut out = Vec::with_capacity((end - offset) as usize);
        let mut pos = offset;
        while pos < end {
            let word = splitmix(self.seed ^ (pos / 8)).to_le_bytes();
            let from = (pos % 8) as usize;
            let take = (8 - from).min((end - pos) as usize);
            out.extend_from_slice(&word[from..from + take]);
            pos += take as u64;
        }
        out
    }

    pub fn all(&self) -> Vec<u8> {
        self.bytes(0, self.size as usize)
    }
}

// ---------------------------------------------------------------------------
// Servers whose files folder the test can look into.

/// Settings for a test; a plain function, so a restart can apply it again.
pub type Settings = fn(&mut Config);

pub fn defaults(_: &mut Config) {}

/// A SQLite server (so its files live in `<data dir>/files`) and that folder.
pub async fn start(settings: Settings) -> (TestServer, PathBuf) {
    start_in(TempDir::new().unwrap(), ServerOptions::default(), settings).await
}

pub async fn start_in(
    dir: TempDir,
    options: ServerOptions,
    settings: Settings,
) -> (TestServer, PathBuf) {
    let files = dir.path().join("files");
    let server = start_server(options.in_dir(dir).config(settings)).await;
    (server, files)
}

/// Stops the server and starts it again on the same data, with the same settings.
pub async fn restart(server: TestServer, settings: Settings) -> TestServer {
    let dir = server.stop().await;
    start_in(dir, ServerOptions::default(), settings).await.0
}

/// The names in the server's files folder.
pub fn stored_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Waits until the hub has finished the batch behind everything this client
/// has been sent so far. The hub applies batches one after another on its one
/// thread and deletes a finished offer's file while releasing the batch that
/// finished it, so once a `who` sent after that batch's lines is answered, the
/// deletion is done. It also proves nothing else was queued for the client.
pub async fn settled(c: &mut TestClient) {
    c.expect_nothing_pending().await;
}

// ---------------------------------------------------------------------------
// Speaking the file protocol.

/// The next message that is not a presence change or a receipt.
pub async fn next(c: &mut TestClient) -> ServerMessage {
    loop {
        match c.recv().await {
            ServerMessage::Presence { .. } | ServerMessage::Receipt { .. } => {}
            other => return other,
        }
    }
}

/// Sends a request with a fresh `req` and returns its answer, passing over
/// chat messages (group events) and presence.
pub async fn ask(
    c: &mut TestClient,
    request: impl FnOnce(Option<Req>) -> ClientMessage,
) -> ServerMessage {
    let req = c.req();
    c.send(request(Some(req))).await;
    for _ in 0..200 {
        match next(c).await {
            reply if reply.req() == Some(req) => return reply,
            ServerMessage::Message(_) => {}
            other => panic!("waiting for the answer to request {req}, got {other:?}"),
        }
    }
    panic!("no answer to request {req}");
}

pub fn group(name: &str) -> GroupName {
    GroupName::new(name).unwrap()
}

/// `owner` creates `#g` and adds `members`.
pub async fn make_group(owner: &mut TestClient, g: &str, members: &[&str]) {
    let created = ask(owner, |req| ClientMessage::Create {
        req,
        group: group(g),
        members: Vec::new(),
        access: None,
        posting: None,
    })
    .await;
    expect!(created, ServerMessage::Group { .. } => ());
    for m in members {
        let added = ask(owner, |req| ClientMessage::Add {
            req,
            group: group(g),
            user: user(m),
        })
        .await;
        expect!(added, ServerMessage::Group { .. } => ());
    }
}

/// The answer to an `offer` of `size` bytes named `name` with checksum `sha256`.
pub async fn offer(
    c: &mut TestClient,
    to: &str,
    name: &str,
    size: u64,
    sha256: &str,
) -> ServerMessage {
    ask(c, |req| ClientMessage::Offer {
        req,
        to: conv(to),
        name: name.to_owned(),
        size,
        sha256: sha256.to_owned(),
        stream: false,
    })
    .await
}

/// An upload the server is ready for.
#[derive(Debug)]
pub struct Upload {
    pub offer: OfferId,
    /// The name as recipients will see it.
    pub name: String,
    pub chunk: usize,
    pub window: usize,
}

/// Offers `content` and expects `upload_ready`.
pub async fn ready(c: &mut TestClient, to: &str, name: &str, content: &Content) -> Upload {
    let answer = offer(c, to, name, content.size, &content.sha256).await;
    let up = expect!(answer, ServerMessage::UploadReady { offer, name, chunk, window, .. } => Upload { offer, name, chunk, window });
    assert_eq!((up.chunk, up.window), (FILE_CHUNK_BYTES, FILE_WINDOW));
    up
}

pub fn chunk(offer: OfferId, offset: u64, bytes: &[u8]) -> ClientMessage {
    ClientMessage::Chunk {
        offer,
        offset,
        data: BASE64.encode(bytes),
    }
}

/// Sends bytes `from..upto` of `content`, never more than the window ahead of
/// the server's acknowledgements, until all are acknowledged. Stops early at
/// an error, which it returns.
pub async fn send_bytes(
    c: &mut TestClient,
    up: &Upload,
    content: &Content,
    from: u64,
    upto: u64,
) -> Option<ServerMessage> {
    let window = (up.chunk * up.window) as u64;
    let (mut sent, mut acked) = (from, from);
    while acked < upto {
        while sent < upto && sent - acked < window {
            let len = (upto - sent).min(up.chunk as u64) as usize;
            c.send(chunk(up.offer, sent, &content.bytes(sent, len)))
                .await;
            sent += len as u64;
        }
        match next(c).await {
            ServerMessage::ChunkAck { offer, received } if offer == up.offer => {
                assert!(
                    received > acked && received <= sent,
                    "ack {received} after {acked}, {sent} sent"
                );
                acked = received;
            }
            // The sender's own copy of the offer, which can come with the last ack.
            ServerMessage::Message(m) if m.file.is_some() => {}
            e @ ServerMessage::Error { .. } => return Some(e),
            other => panic!("uploading, got {other:?}"),
        }
    }
    None
}

/// Sends the whole of `content`; returns the offer message the sender got and
/// the `uploaded` (its conversation and sequence number).
pub async fn upload(c: &mut TestClient, up: &Upload, content: &Content) -> (ChatMessage, u64) {
    if let Some(e) = send_bytes(c, up, content, 0, content.size).await {
        panic!("upload refused: {e:?}");
    }
    let (mut own, mut seq) = (None, None);
    while own.is_none() || seq.is_none() {
        match next(c).await {
            ServerMessage::Message(m) if m.file.as_ref().is_some_and(|f| f.offer == up.offer) => {
                own = Some(m);
            }
            ServerMessage::Uploaded { offer, seq: s, .. } if offer == up.offer => seq = Some(s),
            other => panic!("waiting for uploaded, got {other:?}"),
        }
    }
    let (own, seq) = (own.unwrap(), seq.unwrap());
    assert_eq!(own.seq, seq);
    (own, seq)
}

/// The next chat message carrying a file offer, passing over group events.
pub async fn offer_message(c: &mut TestClient) -> ChatMessage {
    for _ in 0..20 {
        match next(c).await {
            ServerMessage::Message(m) if m.file.is_some() => return m,
            ServerMessage::Message(m) if m.event.is_some() => {}
            other => panic!("waiting for an offer, got {other:?}"),
        }
    }
    panic!("no offer among 20 group events");
}

/// The next `file_status` (for a sender: a recipient decided).
pub async fn status(c: &mut TestClient) -> (String, FileState, FileCounts) {
    let msg = next(c).await;
    expect!(msg, ServerMessage::FileStatus { user, state, counts, .. } => (user.to_string(), state, counts))
}

pub fn counts(accepted: u32, declined: u32, received: u32, of: u32) -> FileCounts {
    FileCounts {
        accepted,
        declined,
        received,
        of,
    }
}

/// Accepts `offer` and expects `download` describing `content`; returns the chunk size.
pub async fn accept(c: &mut TestClient, offer: OfferId, content: &Content) -> usize {
    let answer = ask(c, |req| ClientMessage::Accept {
        req,
        offer,
        bulk: false,
    })
    .await;
    let (file, chunk, window) = expect!(answer, ServerMessage::Download { file, chunk, window, .. } => (file, chunk, window));
    assert_eq!((file.offer, file.size), (offer, content.size));
    assert_eq!(file.sha256, content.sha256);
    assert_eq!((chunk, window), (FILE_CHUNK_BYTES, FILE_WINDOW));
    chunk
}

/// The first window of a download just accepted, unacknowledged: how many
/// bytes arrived, and the hash of them so far.
pub async fn first_window(c: &mut TestClient, offer: OfferId, content: &Content) -> (u64, Sha256) {
    let mut hasher = Sha256::new();
    let got = read_chunks(c, offer, content, 0, FILE_WINDOW, false, &mut hasher).await;
    (got, hasher)
}

/// Reads `count` chunks of a download from `offset` on, checking every byte
/// against `content`, acknowledging each one if `ack`. Returns the new offset.
pub async fn read_chunks(
    c: &mut TestClient,
    offer: OfferId,
    content: &Content,
    mut offset: u64,
    count: usize,
    ack: bool,
    hasher: &mut Sha256,
) -> u64 {
    for _ in 0..count {
        let msg = next(c).await;
        let (o, at, data) =
            expect!(msg, ServerMessage::FileChunk { offer, offset, data } => (offer, offset, data));
        assert_eq!((o, at), (offer, offset), "chunks come in order");
        let bytes = BASE64.decode(data).unwrap();
        assert!(!bytes.is_empty() && bytes.len() <= FILE_CHUNK_BYTES);
        assert!(
            bytes == content.bytes(offset, bytes.len()),
            "bytes at {offset} differ from what was sent"
        );
        hasher.update(&bytes);
        offset += bytes.len() as u64;
        if ack {
            c.send(ClientMessage::FileAck {
                offer,
                received: offset,
            })
            .await;
        }
    }
    offset
}

/// Accepts and downloads the whole file, checking every byte and the SHA-256,
/// then says `received`; returns the `file_status` answering it.
pub async fn download(
    c: &mut TestClient,
    offer: OfferId,
    content: &Content,
) -> (FileState, FileCounts) {
    let chunk = accept(c, offer, content).await as u64;
    let mut hasher = Sha256::new();
    let chunks = content.size.div_ceil(chunk) as usize;
    let got = read_chunks(c, offer, content, 0, chunks, true, &mut hasher).await;
    assert_eq!(got, content.size);
    assert_eq!(
        hex(&hasher.finalize()),
        content.sha256,
        "the SHA-256 of what arrived"
    );
    let answer = ask(c, |req| ClientMessage::Received { req, offer }).await;
    expect!(answer, ServerMessage::FileStatus { state, counts, .. } => (state, counts))
}

pub async fn decline(c: &mut TestClient, offer: OfferId) -> ServerMessage {
    ask(c, |req| ClientMessage::Decline { req, offer }).await
}

pub async fn files(c: &mut TestClient) -> (Vec<OfferSummary>, Vec<OfferSummary>) {
    let answer = ask(c, |req| ClientMessage::Files { req }).await;
    expect!(answer, ServerMessage::Files { incoming, outgoing, .. } => (incoming, outgoing))
}

/// Each recipient's state in an outgoing offer.
pub fn states(summary: &OfferSummary) -> BTreeMap<String, FileState> {
    summary
        .recipients
        .iter()
        .map(|r| (r.user.to_string(), r.state))
        .collect()
}

pub fn map(entries: &[(&str, FileState)]) -> BTreeMap<String, FileState> {
    entries.iter().map(|(u, s)| ((*u).to_owned(), *s)).collect()
}

/// Expects an `error` with `code` about `offer`, and returns its sentence.
#[track_caller]
pub fn assert_offer_error(msg: &ServerMessage, code: ErrorCode, offer: OfferId) -> String {
    let (got, about, message) = expect!(msg, ServerMessage::Error { code, offer, message, .. } => (*code, *offer, message.clone()));
    assert_eq!(got, code, "wrong error code ({message})");
    assert_eq!(about, Some(offer), "the error names the offer ({message})");
    assert!(!message.is_empty());
    message
}

#[track_caller]
/// The `retry_after_ms` of an error, asserting there is one.
pub fn retry_hint(msg: &ServerMessage) -> u64 {
    let hint = expect!(msg, ServerMessage::Error { retry_after_ms, .. } => *retry_after_ms);
    hint.unwrap_or_else(|| panic!("a retry hint in {msg:?}"))
}

pub fn assert_error(msg: &ServerMessage, code: ErrorCode) -> String {
    let (got, message) =
        expect!(msg, ServerMessage::Error { code, message, .. } => (*code, message.clone()));
    assert_eq!(got, code, "wrong error code ({message})");
    assert!(!message.is_empty());
    message
}
