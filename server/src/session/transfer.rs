//! File bytes for one connection. Uploads arrive in `chunk`s, are written to the
//! files folder under a temporary name and hashed as they come; only a complete
//! file whose SHA-256 matches gets its final name and becomes an offer.
//! Downloads are read from the folder and sent as `file_chunk`s, never more than
//! a window ahead of the client's `file_ack`s, so a transfer holds at most a few
//! chunks in memory whatever the file's size.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use classchat_common::files::{hex, safe_name};
use classchat_common::limits::{FILE_CHUNK_BYTES, FILE_WINDOW};
use classchat_common::protocol::{FileCounts, FileInfo, FileState, Req};
use classchat_common::{Conv, ErrorCode, OfferId, ServerMessage, Username};
use sha2::{Digest, Sha256};

use super::Context;
use super::bulk::DownloadState;
use crate::blobs::{BlobReader, BlobWriter};
use crate::hub::{Accepted, Command, Decision, HubGone, NewOffer, Offered, Request, SessionId};

pub(super) struct Upload {
    conv: Conv,
    name: String,
    pub(super) blob: BlobWriter,
    pub(super) hasher: Sha256,
    pub(super) received: u64,
    pub(super) size: u64,
    sha256: String,
}

/// An upload as the connection that offered it and any bulk connection
/// carrying its bytes share it: `None` once it is complete or discarded.
#[derive(Default)]
pub(super) struct Slot {
    pub(super) upload: Option<Upload>,
    /// Counts the bulk connections that took it over (the newest wins).
    pub(super) generation: u64,
}

pub(super) type Shared = Arc<tokio::sync::Mutex<Slot>>;

struct Download {
    offer: OfferId,
    blob: BlobReader,
    sent: u64,
    acked: u64,
    size: u64,
}

/// The transfers of one connection. Idle (the usual state), it holds no
/// allocation and takes two words in the session's state: what a transfer
/// needs is made when one starts and dropped when the last one ends.
pub struct Transfers {
    session: SessionId,
    busy: Option<Box<Busy>>,
}

/// The transfers of a connection that has some.
struct Busy {
    session: SessionId,
    uploads: HashMap<OfferId, Shared>,
    downloads: Vec<Download>,
    /// Downloads handed to bulk connections (`accept` with `bulk`).
    bulk: Vec<(OfferId, Arc<DownloadState>)>,
    /// Which download goes next, so several share the connection fairly.
    turn: usize,
    /// Downloads this connection sent completely and the client acknowledged.
    completed: Vec<OfferId>,
}

impl std::fmt::Debug for Transfers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (uploads, downloads) = self.busy.as_ref().map_or((0, 0), |b| {
            (b.uploads.len(), b.downloads.len() + b.bulk.len())
        });
        f.debug_struct("Transfers")
            .field("uploads", &uploads)
            .field("downloads", &downloads)
            .finish()
    }
}

impl Transfers {
    pub fn new(session: SessionId) -> Self {
        Self {
            session,
            busy: None,
        }
    }

    fn busy(&mut self) -> &mut Busy {
        let session = self.session;
        self.busy
            .get_or_insert_with(|| Box::new(Busy::new(session)))
    }

    /// Lets go of the transfers' room once none is left.
    fn settle(&mut self) {
        if self.busy.as_mut().is_some_and(|b| b.idle()) {
            self.busy = None;
        }
    }

    /// `offer`: registers the upload with the hub and opens its temporary
    /// file. A streaming offer the hub took is posted once that file is
    /// there for recipients to read as it grows.
    pub async fn offer(
        &mut self,
        ctx: &Context,
        session: SessionId,
        req: Option<Req>,
        new: NewOffer,
    ) -> Result<Bytes, HubGone> {
        let r = self.busy().offer(ctx, session, req, new).await;
        self.settle();
        r
    }

    /// `chunk`: the next bytes of an upload.
    pub async fn chunk(
        &mut self,
        ctx: &Context,
        session: SessionId,
        offer: OfferId,
        offset: u64,
        data: &str,
    ) -> Result<Bytes, HubGone> {
        let r = self.busy().chunk(ctx, session, offer, offset, data).await;
        self.settle();
        r
    }

    /// `accept`: asks the hub, then starts sending the file.
    pub async fn accept(
        &mut self,
        ctx: &Context,
        session: SessionId,
        req: Option<Req>,
        offer: OfferId,
        bulk: bool,
    ) -> Result<Bytes, HubGone> {
        let r = self.busy().accept(ctx, session, req, offer, bulk).await;
        self.settle();
        r
    }

    /// `file_ack`: the client has this much; the window moves on.
    pub fn ack(&mut self, offer: OfferId, received: u64) {
        if let Some(b) = self.busy.as_mut() {
            b.ack(offer, received);
        }
    }

    /// `received`, `decline` and `cancel`: the download (if any) ends here; the
    /// hub records the decision and answers.
    pub async fn decide(
        &mut self,
        ctx: &Context,
        session: SessionId,
        req: Option<Req>,
        offer: OfferId,
        decision: Decision,
    ) -> Result<Option<Bytes>, HubGone> {
        let r = self.busy().decide(ctx, session, req, offer, decision).await;
        self.settle();
        r
    }

    /// The hub says this connection's user is no longer a recipient of
    /// `offer`: a download of it here stops (see [`Busy::stop_download`]).
    pub fn stop_download(&mut self, ctx: &Context, offer: OfferId) -> Option<Bytes> {
        let stopped = self.busy.as_mut()?.stop_download(ctx, offer);
        self.settle();
        stopped
    }

    /// `cancel`: an upload in progress here is dropped; anything else goes to the hub
    /// (the sender withdrawing an offer, or a recipient stopping a download).
    pub async fn cancel(
        &mut self,
        ctx: &Context,
        session: SessionId,
        me: &Username,
        req: Option<Req>,
        offer: OfferId,
    ) -> Result<Option<Bytes>, HubGone> {
        let r = self.busy().cancel(ctx, session, me, req, offer).await;
        self.settle();
        r
    }

    /// Whether a download may send its next chunk now.
    pub fn can_send(&self) -> bool {
        self.busy.as_ref().is_some_and(|b| b.can_send())
    }

    /// The next chunk of some download, in turn (see [`Busy::next_chunk`]).
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        let chunk = self.busy.as_mut()?.next_chunk().await;
        self.settle();
        chunk
    }

    /// The connection is closing: uploads cut short leave nothing behind.
    pub async fn close(&mut self, ctx: &Context) {
        if let Some(b) = self.busy.as_mut() {
            b.close(ctx).await;
        }
        self.busy = None;
        ctx.tickets.revoke_all(self.session);
    }
}

fn error(req: Option<Req>, code: ErrorCode, message: impl Into<String>) -> Bytes {
    ServerMessage::error_for(req, code, message).to_line()
}

fn offer_error(
    req: Option<Req>,
    offer: OfferId,
    code: ErrorCode,
    message: impl Into<String>,
) -> Bytes {
    ServerMessage::offer_error(req, offer, code, message).to_line()
}

/// How far ahead of the client's acknowledgements a download may run.
const WINDOW_BYTES: u64 = (FILE_CHUNK_BYTES * FILE_WINDOW) as u64;

impl Busy {
    fn new(session: SessionId) -> Self {
        Self {
            session,
            uploads: HashMap::new(),
            downloads: Vec::new(),
            bulk: Vec::new(),
            turn: 0,
            completed: Vec::new(),
        }
    }

    /// No transfer left. An upload a bulk connection completed leaves its
    /// slot here empty; it goes now.
    fn idle(&mut self) -> bool {
        self.uploads
            .retain(|_, slot| slot.try_lock().map_or(true, |s| s.upload.is_some()));
        self.uploads.is_empty()
            && self.downloads.is_empty()
            && self.bulk.is_empty()
            && self.completed.is_empty()
    }

    /// `offer`: registers the upload with the hub and opens its temporary
    /// file. A streaming offer the hub took is posted once that file is
    /// there for recipients to read as it grows.
    async fn offer(
        &mut self,
        ctx: &Context,
        session: SessionId,
        req: Option<Req>,
        mut new: NewOffer,
    ) -> Result<Bytes, HubGone> {
        new.name = safe_name(&new.name);
        let (name, size, sha256) = (new.name.clone(), new.size, new.sha256.to_ascii_lowercase());
        let answer = ctx
            .hub
            .ask(|reply| Command::FileOffer {
                session,
                offer: new,
                reply,
            })
            .await?;
        let Offered {
            id: offer,
            conv: to,
            stream,
        } = match answer {
            Ok(offered) => offered,
            Err(r) => return Ok(r.to_message(req, None).to_line()),
        };
        let created = if stream {
            ctx.blobs.create_readable(offer).await
        } else {
            ctx.blobs.create(offer).await
        };
        let Ok(blob) = created else {
            let _ = ctx.hub.send(Command::FileAborted { offer }).await;
            return Ok(error(
                req,
                ErrorCode::StorageFailed,
                "the server cannot store files right now",
            ));
        };
        let slot: Shared = Arc::new(tokio::sync::Mutex::new(Slot {
            upload: Some(Upload {
                conv: to,
                name: name.clone(),
                blob,
                hasher: Sha256::new(),
                received: 0,
                size,
                sha256,
            }),
            generation: 0,
        }));
        let token = (size > 0)
            .then(|| ctx.tickets.upload(session, offer, slot.clone()))
            .flatten();
        self.uploads.insert(offer, slot);
        if stream {
            ctx.hub.send(Command::FilePost { session, offer }).await?;
        }
        let ready = ServerMessage::UploadReady {
            req,
            offer,
            name,
            chunk: FILE_CHUNK_BYTES,
            window: FILE_WINDOW,
            token,
            stream,
        }
        .to_line();
        if size == 0 {
            // Nothing to wait for: an empty file is complete already.
            let done = self.finish(ctx, session, offer).await?;
            return Ok(join(ready, &done));
        }
        Ok(ready)
    }

    /// `chunk`: the next bytes of an upload.
    async fn chunk(
        &mut self,
        ctx: &Context,
        session: SessionId,
        offer: OfferId,
        offset: u64,
        data: &str,
    ) -> Result<Bytes, HubGone> {
        let slot = self.uploads.get(&offer).cloned();
        let mut guard = match &slot {
            Some(slot) => Some(slot.lock().await),
            None => None,
        };
        let Some(upload) = guard.as_mut().and_then(|s| s.upload.as_mut()) else {
            // A bulk connection finished it, or it never was.
            self.uploads.remove(&offer);
            // Named, so a client sending several files knows which one failed.
            return Ok(offer_error(
                None,
                offer,
                ErrorCode::UnknownOffer,
                format!("no upload {offer} on this connection"),
            ));
        };
        if offset != upload.received {
            let why = format!(
                "chunk at {offset}, but {} bytes have arrived; the upload is discarded",
                upload.received
            );
            drop(guard);
            return self.abort(ctx, offer, ErrorCode::BadChunk, why).await;
        }
        let bytes = match BASE64.decode(data) {
            Ok(bytes) if bytes.len() <= FILE_CHUNK_BYTES => bytes,
            Ok(bytes) => {
                let why = format!(
                    "a chunk may hold {FILE_CHUNK_BYTES} bytes, not {}; the upload is discarded",
                    bytes.len()
                );
                drop(guard);
                return self.abort(ctx, offer, ErrorCode::BadChunk, why).await;
            }
            Err(e) => {
                let why = format!("chunk data is not base64 ({e}); the upload is discarded");
                drop(guard);
                return self.abort(ctx, offer, ErrorCode::BadChunk, why).await;
            }
        };
        if upload.received + bytes.len() as u64 > upload.size {
            let why = format!(
                "more than the {} bytes offered; the upload is discarded",
                upload.size
            );
            drop(guard);
            return self.abort(ctx, offer, ErrorCode::TooMuchData, why).await;
        }
        if upload.blob.write(&bytes).await.is_err() {
            let why = "the server could not store the file; the upload is discarded";
            drop(guard);
            return self.abort(ctx, offer, ErrorCode::StorageFailed, why).await;
        }
        upload.hasher.update(&bytes);
        upload.received += bytes.len() as u64;
        let ack = ServerMessage::ChunkAck {
            offer,
            received: upload.received,
        }
        .to_line();
        if upload.received == upload.size {
            drop(guard);
            let done = self.finish(ctx, session, offer).await?;
            return Ok(join(ack, &done));
        }
        Ok(ack)
    }

    /// The last byte arrived: check the checksum, then hand the file over.
    async fn finish(
        &mut self,
        ctx: &Context,
        session: SessionId,
        offer: OfferId,
    ) -> Result<Bytes, HubGone> {
        let Some(upload) = self.take(ctx, session, offer).await else {
            return Ok(Bytes::new());
        };
        Ok(match complete(ctx, session, offer, upload).await? {
            None => Bytes::new(),
            Some((code, why)) => offer_error(None, offer, code, why),
        })
    }

    /// Takes the upload out of its slot, for good: its token is over too.
    async fn take(&mut self, ctx: &Context, session: SessionId, offer: OfferId) -> Option<Upload> {
        let slot = self.uploads.remove(&offer)?;
        ctx.tickets.revoke(session, offer);
        slot.lock().await.upload.take()
    }

    async fn abort(
        &mut self,
        ctx: &Context,
        offer: OfferId,
        code: ErrorCode,
        why: impl Into<String>,
    ) -> Result<Bytes, HubGone> {
        self.discard(ctx, offer).await?;
        Ok(offer_error(None, offer, code, why))
    }

    /// Drops an upload and its temporary file, and frees its room on the server.
    async fn discard(&mut self, ctx: &Context, offer: OfferId) -> Result<(), HubGone> {
        let Some(slot) = self.uploads.remove(&offer) else {
            return Ok(());
        };
        let session = self.session;
        ctx.tickets.revoke(session, offer);
        let taken = slot.lock().await.upload.take();
        match taken {
            Some(upload) => drop_upload(ctx, offer, upload).await,
            None => Ok(()),
        }
    }

    /// `accept`: asks the hub, then starts sending the file.
    async fn accept(
        &mut self,
        ctx: &Context,
        session: SessionId,
        req: Option<Req>,
        offer: OfferId,
        bulk: bool,
    ) -> Result<Bytes, HubGone> {
        let Accepted { info, node } = match ctx
            .hub
            .ask(|reply| Command::FileAccept {
                session,
                offer,
                reply,
            })
            .await?
        {
            Ok(accepted) => accepted,
            Err(r) => return Ok(r.to_message(req, Some(offer)).to_line()),
        };
        let Ok(blob) = ctx.blobs.reader_on(offer, node.as_deref()) else {
            return Ok(offer_error(
                req,
                offer,
                ErrorCode::FileGone,
                "the server no longer has that file",
            ));
        };
        // Accepting again restarts a download from the beginning.
        self.end_download(ctx, offer);
        // An empty file has no bytes to carry: it is complete at once.
        if bulk
            && info.size > 0
            && let Some((token, state)) = ctx.tickets.download(session, offer, node, info.size)
        {
            self.bulk.push((offer, state));
            return Ok(download_line(req, info, Some(token)));
        }
        self.downloads.push(Download {
            offer,
            blob,
            sent: 0,
            acked: 0,
            size: info.size,
        });
        Ok(download_line(req, info, None))
    }

    /// A download of `offer` here, on this connection or a bulk one, ends.
    fn end_download(&mut self, ctx: &Context, offer: OfferId) {
        self.downloads.retain(|d| d.offer != offer);
        if self.bulk.iter().any(|(o, _)| *o == offer) {
            self.bulk.retain(|(o, _)| *o != offer);
            ctx.tickets.revoke(self.session, offer);
        }
    }

    /// `file_ack`: the client has this much; the window moves on.
    fn ack(&mut self, offer: OfferId, received: u64) {
        if let Some(d) = self.downloads.iter_mut().find(|d| d.offer == offer) {
            d.acked = d.acked.max(received.min(d.sent));
            if d.acked >= d.size {
                self.downloads.retain(|d| d.offer != offer);
                self.completed.push(offer);
            }
        }
    }

    /// `received`, `decline` and `cancel`: the download (if any) ends here; the
    /// hub records the decision and answers.
    async fn decide(
        &mut self,
        ctx: &Context,
        session: SessionId,
        req: Option<Req>,
        offer: OfferId,
        decision: Decision,
    ) -> Result<Option<Bytes>, HubGone> {
        // `received` is believed only from a connection that sent the whole file
        // (an empty file has nothing to send).
        let sent_here = self.completed.contains(&offer)
            || self
                .bulk
                .iter()
                .any(|(o, s)| *o == offer && s.sent_all.load(Ordering::Relaxed));
        let pending_here = self
            .downloads
            .iter()
            .any(|d| d.offer == offer && d.size > 0)
            || self.bulk.iter().any(|(o, _)| *o == offer);
        if decision == Decision::Received && !sent_here && pending_here {
            let why = "download the whole file before saying it was received";
            return Ok(Some(offer_error(req, offer, ErrorCode::BadRequest, why)));
        }
        self.end_download(ctx, offer);
        self.completed.retain(|o| *o != offer);
        ctx.hub
            .request(
                session,
                Request::FileDecision {
                    req,
                    offer,
                    decision,
                },
            )
            .await
            .map(|()| None)
    }

    /// The hub says this connection's user is no longer a recipient of
    /// `offer` (they left or were removed from its group): a download of it
    /// here stops, and the client is told why, naming the offer so that it
    /// ends the download too.
    fn stop_download(&mut self, ctx: &Context, offer: OfferId) -> Option<Bytes> {
        let here = self.downloads.iter().any(|d| d.offer == offer)
            || self.bulk.iter().any(|(o, _)| *o == offer);
        if !here {
            return None;
        }
        self.end_download(ctx, offer);
        Some(offer_error(
            None,
            offer,
            ErrorCode::NotMember,
            format!("you are no longer in the conversation of offer {offer}; its download stopped"),
        ))
    }

    /// `cancel`: an upload in progress here is dropped; anything else goes to the hub
    /// (the sender withdrawing an offer, or a recipient stopping a download).
    async fn cancel(
        &mut self,
        ctx: &Context,
        session: SessionId,
        me: &Username,
        req: Option<Req>,
        offer: OfferId,
    ) -> Result<Option<Bytes>, HubGone> {
        let uploading = match self.uploads.get(&offer) {
            Some(slot) => slot
                .lock()
                .await
                .upload
                .as_ref()
                .map(|u| (u.conv.clone(), u.name.clone())),
            None => None,
        };
        if let Some((conv, name)) = uploading {
            let status = ServerMessage::FileStatus {
                req,
                offer,
                conv,
                name,
                user: me.clone(),
                state: FileState::Cancelled,
                counts: FileCounts::default(),
            }
            .to_line();
            self.discard(ctx, offer).await?;
            return Ok(Some(status));
        }
        if self.downloads.iter().any(|d| d.offer == offer)
            || self.bulk.iter().any(|(o, _)| *o == offer)
        {
            return self
                .decide(ctx, session, req, offer, Decision::Stopped)
                .await;
        }
        ctx.hub
            .send(Command::FileWithdraw {
                session,
                req,
                offer,
            })
            .await?;
        Ok(None)
    }

    /// Whether a download may send its next chunk now.
    fn can_send(&self) -> bool {
        self.downloads
            .iter()
            .any(|d| d.sent < d.size && d.sent - d.acked < WINDOW_BYTES)
    }

    /// The next chunk of some download, in turn. Reads at an explicit offset, so
    /// a read abandoned half-way is simply made again; a download of a file
    /// still being uploaded waits here for its next bytes.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        let n = self.downloads.len();
        let at = (0..n).map(|k| (self.turn + k) % n).find(|&i| {
            self.downloads[i].sent < self.downloads[i].size
                && self.downloads[i].sent - self.downloads[i].acked < WINDOW_BYTES
        })?;
        self.turn = at + 1;
        let d = &self.downloads[at];
        let (blob, offset, size, offer) = (d.blob.clone(), d.sent, d.size, d.offer);
        // A file still being uploaded is read as far as it has come.
        let read = match blob.grown(offset, size).await {
            Ok(end) => {
                // The hub deletes an offer's file once the offer is over
                // (withdrawn, expired): the read then says so.
                blob.read(offset, (end - offset).min(FILE_CHUNK_BYTES as u64))
                    .await
            }
            Err(e) => Err(e),
        };
        match read {
            Ok(bytes) if !bytes.is_empty() => {
                let d = &mut self.downloads[at];
                d.sent += bytes.len() as u64;
                Some(file_chunk_line(offer, offset, &bytes))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.downloads.remove(at);
                Some(offer_error(
                    None,
                    offer,
                    ErrorCode::FileGone,
                    format!("offer {offer} is over: the sender withdrew it or it expired"),
                ))
            }
            _ => {
                self.downloads.remove(at);
                // Named, so the client ends that download instead of waiting for it.
                Some(offer_error(
                    None,
                    offer,
                    ErrorCode::FileGone,
                    format!("the server could not read offer {offer}; accept it again"),
                ))
            }
        }
    }

    /// The connection is closing: uploads cut short leave nothing behind.
    async fn close(&mut self, ctx: &Context) {
        let offers: Vec<OfferId> = self.uploads.keys().copied().collect();
        for offer in offers {
            let _ = self.discard(ctx, offer).await;
        }
        ctx.tickets.revoke_all(self.session);
    }
}

/// Checks the SHA-256 of a complete upload, keeps its file and hands the
/// offer to the hub, which answers `uploaded` to `session` once the offer is
/// committed. If the upload fails here, it is discarded and the error to tell
/// is returned.
pub(super) async fn complete(
    ctx: &Context,
    session: SessionId,
    offer: OfferId,
    mut upload: Upload,
) -> Result<Option<(ErrorCode, &'static str)>, HubGone> {
    let digest = hex(&upload.hasher.finalize_reset());
    if digest != upload.sha256 {
        drop_upload(ctx, offer, upload).await?;
        let why = "the bytes do not match the offered SHA-256; the upload is discarded";
        return Ok(Some((ErrorCode::ChecksumMismatch, why)));
    }
    // Kept (on the disk, under its final name) before the offer is recorded.
    if ctx.blobs.keep(upload.blob).await.is_err() {
        ctx.hub.send(Command::FileAborted { offer }).await?;
        return Ok(Some((
            ErrorCode::StorageFailed,
            "the server could not store the file",
        )));
    }
    ctx.hub
        .send(Command::FileUploaded { session, offer })
        .await?;
    Ok(None)
}

/// Deletes an unfinished upload's file and frees its room on the server.
pub(super) async fn drop_upload(
    ctx: &Context,
    offer: OfferId,
    upload: Upload,
) -> Result<(), HubGone> {
    ctx.blobs.discard(upload.blob).await;
    ctx.hub.send(Command::FileAborted { offer }).await
}

fn download_line(req: Option<Req>, file: FileInfo, token: Option<String>) -> Bytes {
    ServerMessage::Download {
        req,
        file,
        chunk: FILE_CHUNK_BYTES,
        window: FILE_WINDOW,
        token,
    }
    .to_line()
}

/// The `file_chunk` line for `bytes`, base64-encoded straight into a buffer
/// of the line's final size: the biggest lines the server writes are built
/// once, not through a `String` and a growing buffer.
fn file_chunk_line(offer: OfferId, offset: u64, bytes: &[u8]) -> Bytes {
    let head = format!(r#"{{"type":"file_chunk","offer":"{offer}","offset":{offset},"data":""#);
    let tail = b"\"}\n";
    let encoded = base64::encoded_len(bytes.len(), true).unwrap_or(usize::MAX);
    let mut line = Vec::new();
    if line
        .try_reserve_exact(
            head.len()
                .saturating_add(encoded)
                .saturating_add(tail.len()),
        )
        .is_err()
    {
        return file_chunk_message(offer, offset, bytes);
    }
    line.extend_from_slice(head.as_bytes());
    line.resize(head.len() + encoded, 0);
    match BASE64.encode_slice(bytes, &mut line[head.len()..]) {
        Ok(n) if n == encoded => {}
        _ => return file_chunk_message(offer, offset, bytes),
    }
    line.extend_from_slice(tail);
    Bytes::from(line)
}

/// The same line through the protocol's encoder.
fn file_chunk_message(offer: OfferId, offset: u64, bytes: &[u8]) -> Bytes {
    ServerMessage::FileChunk {
        offer,
        offset,
        data: BASE64.encode(bytes),
    }
    .to_line()
}

/// Two lines, in order.
fn join(a: Bytes, b: &[u8]) -> Bytes {
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    out.extend_from_slice(&a);
    out.extend_from_slice(b);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_chunk_line_is_exactly_what_the_protocol_encoder_writes() {
        let offer = OfferId::new();
        for len in [0, 1, 2, 3, 1000, FILE_CHUNK_BYTES] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let offset = len as u64 * 3;
            assert_eq!(
                file_chunk_line(offer, offset, &bytes),
                file_chunk_message(offer, offset, &bytes),
                "{len} bytes"
            );
        }
    }
}
