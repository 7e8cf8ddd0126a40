//! Bulk connections: a file's bytes on a connection of their own
//! (PROTOCOL.md §11.7).
//!
//! The chat connection that offered or accepted a file gets a token for it
//! (in `upload_ready`, or in `download` for an `accept` with `bulk`). A new
//! connection to the same server then says what it is in one line, `put` or
//! `get` with that token, is answered `transfer` with where the bytes start,
//! and carries them raw: no base64, no JSON per chunk, no acknowledgement per
//! chunk, so a transfer runs at the speed of the link and the chat
//! connection stays free for chat. A token lasts as long as its transfer on
//! the chat connection that got it, and may be used again to resume: a `put`
//! starts from the bytes the server has, a `get` from the `offset` the client
//! names.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use classchat_common::files::hex;
use classchat_common::{ClientMessage, ErrorCode, OfferId, ServerMessage};
use sha2::Digest;

use super::Context;
use super::conn::Conn;
use super::transfer::{Shared, complete, drop_upload};
use crate::hub::SessionId;

/// Bytes read from or written to a bulk connection at a time: one buffer per
/// transfer (and the file's own for an upload), well within the 2 MiB a
/// transfer may hold.
const BULK_BUFFER: usize = 256 * 1024;

/// How long a bulk connection may stay silent in the middle of an upload.
const UPLOAD_IDLE: Duration = Duration::from_secs(60);

/// How often a download waiting for a growing upload's bytes looks whether
/// its token was revoked meanwhile.
const REVOKED_CHECK: Duration = Duration::from_secs(1);

/// What a download's token tells the chat connection that asked for it.
#[derive(Debug, Default)]
pub struct DownloadState {
    /// A bulk connection sent the whole file, so `received` is believed.
    pub sent_all: AtomicBool,
    /// The download ended on the chat connection (decided, accepted again,
    /// the user left the group): a `get` still running stops.
    pub revoked: AtomicBool,
}

#[derive(Clone)]
enum Ticket {
    Upload {
        session: SessionId,
        offer: OfferId,
        slot: Shared,
    },
    Download {
        session: SessionId,
        offer: OfferId,
        node: Option<String>,
        size: u64,
        state: Arc<DownloadState>,
    },
}

impl Ticket {
    fn is(&self, of: SessionId, about: OfferId) -> bool {
        match self {
            Ticket::Upload { session, offer, .. } | Ticket::Download { session, offer, .. } => {
                *session == of && *offer == about
            }
        }
    }

    fn session(&self) -> SessionId {
        match self {
            Ticket::Upload { session, .. } | Ticket::Download { session, .. } => *session,
        }
    }
}

/// The tokens handed out and not yet over, shared by every connection.
#[derive(Default)]
pub struct Tickets {
    map: Mutex<HashMap<[u8; 16], Ticket>>,
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open = self.map.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("Tickets").field("open", &open).finish()
    }
}

impl Tickets {
    /// A token for the bytes of an upload in `slot`; `None` if the system
    /// has no randomness to give (the client then uses `chunk`s).
    pub(super) fn upload(
        &self,
        session: SessionId,
        offer: OfferId,
        slot: Shared,
    ) -> Option<String> {
        self.issue(Ticket::Upload {
            session,
            offer,
            slot,
        })
    }

    /// A token for the bytes of a download. Any earlier one of this session
    /// for the same offer stops.
    pub(super) fn download(
        &self,
        session: SessionId,
        offer: OfferId,
        node: Option<String>,
        size: u64,
    ) -> Option<(String, Arc<DownloadState>)> {
        self.revoke(session, offer);
        let state = Arc::new(DownloadState::default());
        let token = self.issue(Ticket::Download {
            session,
            offer,
            node,
            size,
            state: state.clone(),
        })?;
        Some((token, state))
    }

    fn issue(&self, ticket: Ticket) -> Option<String> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).ok()?;
        self.map.lock().ok()?.insert(raw, ticket);
        Some(hex(&raw))
    }

    fn find(&self, token: &str) -> Option<Ticket> {
        let raw = parse(token)?;
        self.map.lock().ok()?.get(&raw).cloned()
    }

    /// The session's token for `offer` is over (its transfer ended there).
    pub(super) fn revoke(&self, session: SessionId, offer: OfferId) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, t| {
                let over = t.is(session, offer);
                if over && let Ticket::Download { state, .. } = t {
                    state.revoked.store(true, Ordering::Relaxed);
                }
                !over
            });
        }
    }

    /// The session closed: its tokens are over.
    pub(super) fn revoke_all(&self, session: SessionId) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, t| {
                let over = t.session() == session;
                if over && let Ticket::Download { state, .. } = t {
                    state.revoked.store(true, Ordering::Relaxed);
                }
                !over
            });
        }
    }
}

/// 32 hex digits, either case.
fn parse(token: &str) -> Option<[u8; 16]> {
    let bytes = token.as_bytes();
    if bytes.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (out, pair) in raw.iter_mut().zip(bytes.chunks_exact(2)) {
        let digit = |b: u8| char::from(b).to_digit(16);
        *out = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(raw)
}

fn refusal(offer: Option<OfferId>, code: ErrorCode, why: impl Into<String>) -> ServerMessage {
    ServerMessage::Error {
        req: None,
        id: None,
        offer,
        code,
        message: why.into(),
        retry_after_ms: None,
    }
}

/// Serves a bulk connection whose first line was `first` (`put` or `get`).
pub async fn serve(mut conn: Conn, ctx: &Context, peer: SocketAddr, first: ClientMessage) {
    let (token, offset, kind) = match &first {
        ClientMessage::Put { token } => (token.as_str(), None, "put"),
        ClientMessage::Get { token, offset } => (token.as_str(), Some(*offset), "get"),
        _ => return,
    };
    let ended = match (ctx.tickets.find(token), offset) {
        (
            Some(Ticket::Upload {
                session,
                offer,
                slot,
            }),
            None,
        ) => put(&mut conn, ctx, session, offer, slot).await,
        (
            Some(Ticket::Download {
                offer,
                node,
                size,
                state,
                ..
            }),
            Some(offset),
        ) => get(&mut conn, ctx, offer, node, size, offset, &state).await,
        (Some(_), _) => Err(refusal(
            None,
            ErrorCode::BadRequest,
            "that token is for the other direction: put an upload's, get a download's",
        )),
        (None, _) => Err(refusal(
            None,
            ErrorCode::BadToken,
            "no transfer has that token (it is over, or its chat connection closed); \
             offer or accept the file again",
        )),
    };
    let outcome = match &ended {
        Ok(Some(_)) => "complete",
        Ok(None) => "ended",
        Err(_) => "refused",
    };
    tracing::debug!(%peer, kind, outcome, "bulk connection");
    match ended {
        Ok(Some(last)) => conn.close_with(&last).await,
        Ok(None) => conn.finish().await,
        Err(refused) => conn.close_with(&refused).await,
    }
}

/// An upload's bytes, from where the server's copy ends. A connection that
/// closes early leaves the bytes that came for a later `put` to go on from.
async fn put(
    conn: &mut Conn,
    ctx: &Context,
    session: SessionId,
    offer: OfferId,
    slot: Shared,
) -> Result<Option<ServerMessage>, ServerMessage> {
    let gone = || {
        refusal(
            Some(offer),
            ErrorCode::UnknownOffer,
            format!("the upload of offer {offer} is over"),
        )
    };
    // A newer `put` of the same upload (the client gave up on this one and
    // connected again) takes over: this one stops at its next write.
    let (offset, size, generation) = {
        let mut s = slot.lock().await;
        s.generation += 1;
        let Some(u) = s.upload.as_ref() else {
            return Err(gone());
        };
        (u.received, u.size, s.generation)
    };
    let ready = ServerMessage::Transfer {
        offer,
        offset,
        size,
    };
    if conn.send(&ready).await.is_err() {
        return Ok(None);
    }
    let mut buf = vec![0u8; BULK_BUFFER];
    let mut received = offset;
    while received < size {
        let want = usize::try_from(size - received).map_or(BULK_BUFFER, |r| r.min(BULK_BUFFER));
        let n = match conn.read_raw(&mut buf[..want], UPLOAD_IDLE).await {
            Ok(0) | Err(_) => return Ok(None),
            Ok(n) => n,
        };
        let mut s = slot.lock().await;
        if s.generation != generation {
            return Ok(None);
        }
        let Some(u) = s.upload.as_mut() else {
            return Err(gone());
        };
        if u.blob.write(&buf[..n]).await.is_err() {
            let taken = s.upload.take();
            drop(s);
            ctx.tickets.revoke(session, offer);
            if let Some(u) = taken {
                let _ = drop_upload(ctx, offer, u).await;
            }
            return Err(refusal(
                Some(offer),
                ErrorCode::StorageFailed,
                "the server could not store the file; the upload is discarded",
            ));
        }
        u.hasher.update(&buf[..n]);
        u.received += n as u64;
        received = u.received;
        if received == size {
            let Some(upload) = s.upload.take() else {
                return Err(gone());
            };
            drop(s);
            // The upload is over here, whichever way it ends: so is its token.
            ctx.tickets.revoke(session, offer);
            return match complete(ctx, session, offer, upload).await {
                Ok(None) => Ok(Some(ServerMessage::TransferDone { offer, size })),
                Ok(Some((code, why))) => Err(refusal(Some(offer), code, why)),
                Err(_) => Err(ctx.unavailable(None)),
            };
        }
    }
    Ok(None)
}

/// A download's bytes from `offset` to the end, read from the offer's file
/// (on this node or, in a cluster, the one holding it), as far as it has
/// come if its upload is still under way.
async fn get(
    conn: &mut Conn,
    ctx: &Context,
    offer: OfferId,
    node: Option<String>,
    size: u64,
    offset: u64,
    state: &DownloadState,
) -> Result<Option<ServerMessage>, ServerMessage> {
    if offset > size {
        return Err(refusal(
            Some(offer),
            ErrorCode::BadRequest,
            format!("offset {offset} is past the end of the file ({size} bytes)"),
        ));
    }
    let gone = |why: String| refusal(Some(offer), ErrorCode::FileGone, why);
    let Ok(blob) = ctx.blobs.reader_on(offer, node.as_deref()) else {
        return Err(gone("the server no longer has that file".to_owned()));
    };
    let ready = ServerMessage::Transfer {
        offer,
        offset,
        size,
    };
    if conn.send(&ready).await.is_err() {
        return Ok(None);
    }
    let mut at = offset;
    let mut buf = Vec::new();
    while at < size {
        if state.revoked.load(Ordering::Relaxed) {
            return Ok(None);
        }
        // A file still being uploaded is read as far as it has come; the
        // wait is cut now and then to notice a revoked token.
        let end = match tokio::time::timeout(REVOKED_CHECK, blob.grown(at, size)).await {
            Err(_) => continue,
            Ok(Ok(end)) => end,
            // The sender's upload failed. Raw bytes have gone out, so no
            // line may follow: the chat connection says the offer is over.
            Ok(Err(_)) => return Ok(None),
        };
        let len = (end - at).min(BULK_BUFFER as u64);
        buf = match blob.read_into(at, len, std::mem::take(&mut buf)).await {
            Ok(bytes) if !bytes.is_empty() => bytes,
            Ok(_) => return Ok(None),
            // The offer is over (its file deleted) or cannot be read: the
            // client, short of bytes, asks again on its chat connection and
            // learns which.
            Err(_) => return Ok(None),
        };
        let next = at + buf.len() as u64;
        if next == size {
            // The client knows it has everything by counting, checks the
            // SHA-256 and says `received` on its chat connection, which may
            // be as soon as these bytes are out.
            state.sent_all.store(true, Ordering::Relaxed);
        }
        if conn.write_raw(&buf).await.is_err() {
            return Ok(None);
        }
        at = next;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_as_the_bytes_it_was_made_of() {
        let raw: [u8; 16] = std::array::from_fn(|i| (i * 17) as u8);
        assert_eq!(parse(&hex(&raw)), Some(raw));
        assert_eq!(parse(&hex(&raw).to_ascii_uppercase()), Some(raw));
        assert_eq!(parse("00"), None);
        assert_eq!(parse(&"g".repeat(32)), None);
        assert_eq!(parse(&"é".repeat(16)), None);
    }
}
