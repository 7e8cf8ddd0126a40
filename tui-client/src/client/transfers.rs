//! File transfers for the client task: uploads (hash, offer, send chunks within
//! the window) and downloads (write to a hidden temporary file, hash as it comes,
//! verify, then give it a safe name that overwrites nothing).
//!
//! Reads use explicit offsets on a blocking thread, so a read abandoned half-way
//! (the task had something more urgent) is simply made again.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use classchat_common::files::{hex, numbered, read_at, safe_name};
use classchat_common::protocol::{FileInfo, Req};
use classchat_common::{ClientMessage, Conv, OfferId};
use serde::Serialize;

use super::bulk::{Failure, Task};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Where a transfer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TransferState {
    /// Reading the file once to compute its SHA-256.
    Hashing,
    /// Waiting for the server to take the offer.
    Offering,
    Uploading,
    /// The server has it; each recipient decides (see `file_status`).
    Uploaded,
    Downloading,
    /// Downloaded, verified, and saved here.
    Saved {
        path: PathBuf,
    },
    Failed {
        reason: String,
    },
    Cancelled,
}

impl TransferState {
    pub fn is_over(&self) -> bool {
        matches!(
            self,
            TransferState::Uploaded
                | TransferState::Saved { .. }
                | TransferState::Failed { .. }
                | TransferState::Cancelled
        )
    }
}

/// One transfer's progress, as the app is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The app's number for an upload it started (known before the offer id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<OfferId>,
    pub upload: bool,
    pub name: String,
    /// The conversation the offer is in, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conv: Option<Conv>,
    pub bytes: u64,
    pub size: u64,
    /// Milliseconds since the transfer started, for rates and time left.
    pub elapsed_ms: u64,
    #[serde(flatten)]
    pub state: TransferState,
}

/// A hashed file, ready to offer (from the blocking hasher).
#[derive(Debug)]
pub struct Hashed {
    pub local: u64,
    pub result: io::Result<(u64, String)>,
}

struct Outgoing {
    local: u64,
    to: Conv,
    path: PathBuf,
    name: String,
    size: u64,
    started: Instant,
}

struct Upload {
    out: Outgoing,
    offer: OfferId,
    file: Arc<std::fs::File>,
    sent: u64,
    acked: u64,
    chunk: u64,
    window: u64,
    /// The bulk connection's task carrying the bytes (`bulk.rs`), or none:
    /// `chunk`s.
    bulk: Option<Task>,
}

struct Download {
    conv: Option<Conv>,
    name: String,
    dir: PathBuf,
    part: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    received: u64,
    size: u64,
    sha256: String,
    started: Instant,
    /// The bulk connection's task bringing the bytes, or none:
    /// `file_chunk`s. Events of an earlier task (the download was
    /// cancelled and accepted again) are not this download's.
    bulk: Option<Task>,
}

/// Everything in flight; progress goes out through `report`.
#[derive(Default)]
pub struct Transfers {
    hashing: HashMap<u64, Outgoing>,
    offering: HashMap<Req, Outgoing>,
    uploads: Vec<Upload>,
    accepting: HashMap<Req, (Option<Conv>, PathBuf)>,
    downloads: HashMap<OfferId, Download>,
    next_req: Req,
    next_task: Task,
}

impl std::fmt::Debug for Transfers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transfers")
            .field("uploads", &self.uploads.len())
            .field("downloads", &self.downloads.len())
            .finish()
    }
}

/// Request ids for transfers, apart from the app's and the task's own.
pub const TRANSFER_REQ_BASE: Req = 1 << 51;

fn elapsed(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Transfers {
    fn req(&mut self) -> Req {
        self.next_req += 1;
        TRANSFER_REQ_BASE + self.next_req
    }

    /// Starts hashing `path` on a blocking thread; `done` gets the result.
    pub fn send_file(
        &mut self,
        local: u64,
        to: Conv,
        path: PathBuf,
        done: mpsc::Sender<Hashed>,
    ) -> Progress {
        let name = safe_name(
            &path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let out = Outgoing {
            local,
            to,
            path: path.clone(),
            name,
            size: 0,
            started: Instant::now(),
        };
        let progress = progress_up(&out, None, 0, TransferState::Hashing);
        self.hashing.insert(local, out);
        tokio::task::spawn_blocking(move || {
            let result = hash_file(&path);
            let _ = done.blocking_send(Hashed { local, result });
        });
        progress
    }

    /// The file is hashed: the offer to send, and the progress to report.
    pub fn hashed(&mut self, hashed: Hashed) -> (Option<ClientMessage>, Progress) {
        let Some(mut out) = self.hashing.remove(&hashed.local) else {
            let cancelled = Progress {
                local: Some(hashed.local),
                offer: None,
                upload: true,
                name: String::new(),
                conv: None,
                bytes: 0,
                size: 0,
                elapsed_ms: 0,
                state: TransferState::Cancelled,
            };
            return (None, cancelled);
        };
        match hashed.result {
            Ok((size, sha256)) => {
                out.size = size;
                let req = self.req();
                let offer = ClientMessage::Offer {
                    req: Some(req),
                    to: out.to.clone(),
                    name: out.name.clone(),
                    size,
                    sha256,
                    // Recipients may download while the bytes go up.
                    stream: true,
                };
                let progress = progress_up(&out, None, 0, TransferState::Offering);
                self.offering.insert(req, out);
                (Some(offer), progress)
            }
            Err(e) => {
                let reason = format!("cannot read {}: {e}", out.path.display());
                (
                    None,
                    progress_up(&out, None, 0, TransferState::Failed { reason }),
                )
            }
        }
    }

    /// `upload_ready`: the bytes may go.
    pub fn upload_ready(
        &mut self,
        req: Req,
        offer: OfferId,
        chunk: usize,
        window: usize,
    ) -> Option<Progress> {
        let out = self.offering.remove(&req)?;
        match std::fs::File::open(&out.path) {
            Ok(file) => {
                let progress = progress_up(&out, Some(offer), 0, TransferState::Uploading);
                self.uploads.push(Upload {
                    out,
                    offer,
                    file: Arc::new(file),
                    sent: 0,
                    acked: 0,
                    chunk: chunk.max(1) as u64,
                    window: window.max(1) as u64,
                    bulk: None,
                });
                Some(progress)
            }
            Err(e) => {
                let reason = format!("cannot read {}: {e}", out.path.display());
                Some(progress_up(
                    &out,
                    Some(offer),
                    0,
                    TransferState::Failed { reason },
                ))
            }
        }
    }

    pub fn can_upload(&self) -> bool {
        self.uploads.iter().any(|u| {
            u.bulk.is_none() && u.sent < u.out.size && u.sent - u.acked < u.window * u.chunk
        })
    }

    /// A new bulk connection task's id.
    fn task(&mut self) -> Task {
        self.next_task += 1;
        self.next_task
    }

    /// The upload of `offer` goes on a bulk connection: its task, the file
    /// and its size.
    pub fn bulk_upload(&mut self, offer: OfferId) -> Option<(Task, PathBuf, u64)> {
        let task = self.task();
        let u = self.uploads.iter_mut().find(|u| u.offer == offer)?;
        u.bulk = Some(task);
        Some((task, u.out.path.clone(), u.out.size))
    }

    /// A bulk connection sent the bytes up to `bytes`.
    pub fn bulk_sent(&mut self, offer: OfferId, task: Task, bytes: u64) -> Option<Progress> {
        let u = self
            .uploads
            .iter_mut()
            .find(|u| u.offer == offer && u.bulk == Some(task))?;
        u.acked = bytes.min(u.out.size);
        Some(progress_up(
            &u.out,
            Some(offer),
            u.acked,
            TransferState::Uploading,
        ))
    }

    /// An upload's bulk connection is over. Done, it waits for `uploaded`;
    /// if the server never took it, the chat connection sends the `chunk`s
    /// instead; otherwise the upload failed, and the server is told.
    pub fn bulk_upload_ended(
        &mut self,
        offer: OfferId,
        task: Task,
        outcome: Result<(), Failure>,
    ) -> (Option<ClientMessage>, Option<Progress>) {
        let Err(failure) = outcome else {
            return (None, None);
        };
        let Some(at) = self
            .uploads
            .iter()
            .position(|u| u.offer == offer && u.bulk == Some(task))
        else {
            return (None, None);
        };
        if failure.fall_back {
            tracing::info!("no bulk connection ({}); sending chunks", failure.reason);
            let u = &mut self.uploads[at];
            (u.bulk, u.sent, u.acked) = (None, 0, 0);
            return (None, None);
        }
        let u = self.uploads.remove(at);
        let stop = ClientMessage::Cancel { req: None, offer };
        let state = TransferState::Failed {
            reason: failure.reason,
        };
        (
            Some(stop),
            Some(progress_up(&u.out, Some(offer), u.acked, state)),
        )
    }

    /// The next chunk to send, from whichever upload has room.
    pub async fn next_chunk(&mut self) -> Option<Result<ClientMessage, Progress>> {
        let at = self.uploads.iter().position(|u| {
            u.bulk.is_none() && u.sent < u.out.size && u.sent - u.acked < u.window * u.chunk
        })?;
        let u = &self.uploads[at];
        let (file, offset, len) = (u.file.clone(), u.sent, (u.out.size - u.sent).min(u.chunk));
        let read = tokio::task::spawn_blocking(move || read_at(&file, offset, len)).await;
        match read {
            Ok(Ok(bytes)) if bytes.len() as u64 == len => {
                let u = &mut self.uploads[at];
                u.sent += len;
                Some(Ok(ClientMessage::Chunk {
                    offer: u.offer,
                    offset,
                    data: BASE64.encode(&bytes),
                }))
            }
            _ => {
                let u = self.uploads.remove(at);
                let reason = format!(
                    "{} changed or could not be read while sending",
                    u.out.path.display()
                );
                Some(Err(progress_up(
                    &u.out,
                    Some(u.offer),
                    u.acked,
                    TransferState::Failed { reason },
                )))
            }
        }
    }

    /// `chunk_ack`.
    pub fn chunk_ack(&mut self, offer: OfferId, received: u64) -> Option<Progress> {
        let u = self.uploads.iter_mut().find(|u| u.offer == offer)?;
        u.acked = u.acked.max(received.min(u.sent));
        Some(progress_up(
            &u.out,
            Some(offer),
            u.acked,
            TransferState::Uploading,
        ))
    }

    /// `uploaded`: this client's part is done.
    pub fn uploaded(&mut self, offer: OfferId) -> Option<Progress> {
        let at = self.uploads.iter().position(|u| u.offer == offer)?;
        let u = self.uploads.remove(at);
        Some(progress_up(
            &u.out,
            Some(offer),
            u.out.size,
            TransferState::Uploaded,
        ))
    }

    /// Asks for an offer; the download goes to `dir`.
    pub fn accept(&mut self, offer: OfferId, conv: Option<Conv>, dir: PathBuf) -> ClientMessage {
        let req = self.req();
        self.accepting.insert(req, (conv, dir));
        ClientMessage::Accept {
            req: Some(req),
            offer,
            bulk: true,
        }
    }

    /// `download`: opens the temporary file the bytes go into. Like
    /// [`file_chunk`](Self::file_chunk), it also gives what to send: an empty
    /// file is complete at once.
    pub async fn download(
        &mut self,
        req: Req,
        file: &FileInfo,
    ) -> Option<(Vec<ClientMessage>, Progress)> {
        let (conv, dir) = self.accepting.remove(&req)?;
        let name = safe_name(&file.name);
        let part = dir.join(format!(".{}.part", file.offer));
        let opened = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::File::create(&part).await
        }
        .await;
        let started = Instant::now();
        let mut progress = Progress {
            local: None,
            offer: Some(file.offer),
            upload: false,
            name: name.clone(),
            conv: conv.clone(),
            bytes: 0,
            size: file.size,
            elapsed_ms: 0,
            state: TransferState::Downloading,
        };
        match opened {
            Ok(handle) => {
                self.downloads.insert(
                    file.offer,
                    Download {
                        conv,
                        name,
                        dir,
                        part,
                        file: handle,
                        hasher: Sha256::new(),
                        received: 0,
                        size: file.size,
                        sha256: file.sha256.to_ascii_lowercase(),
                        started,
                        bulk: None,
                    },
                );
                if file.size == 0 {
                    // No `file_chunk` ever comes for an empty file: verify and save it now.
                    let ack = ClientMessage::FileAck {
                        offer: file.offer,
                        received: 0,
                    };
                    return Some(self.finish_download(file.offer, Some(ack)).await);
                }
            }
            Err(e) => {
                progress.state = TransferState::Failed {
                    reason: format!("cannot write in {}: {e}", dir.display()),
                };
            }
        }
        Some((Vec::new(), progress))
    }

    /// The download of `offer` comes on a bulk connection: its task, the
    /// bytes it has and its size.
    pub fn bulk_download(&mut self, offer: OfferId) -> Option<(Task, u64, u64)> {
        let task = self.task();
        let d = self.downloads.get_mut(&offer)?;
        d.bulk = Some(task);
        Some((task, d.received, d.size))
    }

    /// The next bytes of a bulk download.
    pub async fn bulk_bytes(
        &mut self,
        offer: OfferId,
        task: Task,
        data: &[u8],
    ) -> Option<(Vec<ClientMessage>, Progress)> {
        let d = self.downloads.get(&offer)?;
        if d.bulk != Some(task) {
            return None;
        }
        let at = d.received;
        self.take_bytes(offer, at, data).await
    }

    /// A download's bulk connection is over. If the server never took it,
    /// the download is asked for again on the chat connection (in
    /// `file_chunk`s); if it ended early, the download failed.
    pub async fn bulk_download_ended(
        &mut self,
        offer: OfferId,
        task: Task,
        outcome: Result<(), Failure>,
    ) -> (Vec<ClientMessage>, Option<Progress>) {
        let Err(failure) = outcome else {
            return (Vec::new(), None);
        };
        match self.downloads.get(&offer) {
            Some(d) if d.bulk == Some(task) => {}
            _ => return (Vec::new(), None),
        }
        if failure.fall_back
            && let Some(d) = self.downloads.remove(&offer)
        {
            tracing::info!("no bulk connection ({}); asking for chunks", failure.reason);
            let req = self.req();
            self.accepting.insert(req, (d.conv, d.dir));
            let again = ClientMessage::Accept {
                req: Some(req),
                offer,
                bulk: false,
            };
            return (vec![again], None);
        }
        let (stop, progress) = self.fail_download(offer, &failure.reason).await;
        (stop, Some(progress))
    }

    /// Whether a download for `offer` is waiting for bytes.
    pub fn downloading(&self, offer: OfferId) -> bool {
        self.downloads.contains_key(&offer)
    }

    /// `file_chunk`: the acknowledgement to send (if all is well) and the progress.
    /// A finished download is verified and placed; `received` is then for the server.
    pub async fn file_chunk(
        &mut self,
        offer: OfferId,
        offset: u64,
        data: &str,
    ) -> Option<(Vec<ClientMessage>, Progress)> {
        let Ok(bytes) = BASE64.decode(data) else {
            return Some(
                self.fail_download(offer, "the server sent a chunk that is not base64")
                    .await,
            );
        };
        self.take_bytes(offer, offset, &bytes).await
    }

    /// Bytes of a download from `offset` on, from a `file_chunk` or a bulk
    /// connection: written, hashed, and once all are here, verified.
    async fn take_bytes(
        &mut self,
        offer: OfferId,
        offset: u64,
        bytes: &[u8],
    ) -> Option<(Vec<ClientMessage>, Progress)> {
        let d = self.downloads.get_mut(&offer)?;
        if offset != d.received || d.received + bytes.len() as u64 > d.size {
            return Some(
                self.fail_download(offer, "the server sent bytes out of order or too many")
                    .await,
            );
        }
        if let Err(e) = d.file.write_all(bytes).await {
            let reason = format!("cannot write the file: {e}");
            return Some(self.fail_download(offer, &reason).await);
        }
        d.hasher.update(bytes);
        d.received += bytes.len() as u64;
        // A bulk connection needs no acknowledgements: TCP paces it.
        let ack = d.bulk.is_none().then_some(ClientMessage::FileAck {
            offer,
            received: d.received,
        });
        if d.received < d.size {
            let progress = progress_down(d, offer, TransferState::Downloading);
            return Some((ack.into_iter().collect(), progress));
        }
        Some(self.finish_download(offer, ack).await)
    }

    async fn finish_download(
        &mut self,
        offer: OfferId,
        ack: Option<ClientMessage>,
    ) -> (Vec<ClientMessage>, Progress) {
        let ack: Vec<ClientMessage> = ack.into_iter().collect();
        let Some(mut d) = self.downloads.remove(&offer) else {
            return (Vec::new(), gone_progress(offer));
        };
        let digest = hex(&d.hasher.finalize_reset());
        if digest != d.sha256 {
            let _ = tokio::fs::remove_file(&d.part).await;
            let reason =
                "the file did not match its SHA-256 and was deleted; accept it again".to_owned();
            return (
                ack,
                progress_down(&d, offer, TransferState::Failed { reason }),
            );
        }
        let placed = match d.file.sync_all().await {
            Ok(()) => place(&d.part, &d.dir, &d.name),
            Err(e) => Err(e),
        };
        match placed {
            Ok(path) => {
                let mut replies = ack;
                replies.push(ClientMessage::Received { req: None, offer });
                (
                    replies,
                    progress_down(&d, offer, TransferState::Saved { path }),
                )
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&d.part).await;
                let reason = format!("cannot save in {}: {e}", d.dir.display());
                (
                    ack,
                    progress_down(&d, offer, TransferState::Failed { reason }),
                )
            }
        }
    }

    async fn fail_download(
        &mut self,
        offer: OfferId,
        reason: &str,
    ) -> (Vec<ClientMessage>, Progress) {
        let Some(d) = self.downloads.remove(&offer) else {
            return (Vec::new(), gone_progress(offer));
        };
        let _ = tokio::fs::remove_file(&d.part).await;
        let stop = ClientMessage::Cancel { req: None, offer };
        let state = TransferState::Failed {
            reason: reason.to_owned(),
        };
        (vec![stop], progress_down(&d, offer, state))
    }

    /// The server refused something about `offer` (or the request `req`).
    pub async fn refused(
        &mut self,
        req: Option<Req>,
        offer: Option<OfferId>,
        reason: &str,
    ) -> Vec<Progress> {
        let mut out = Vec::new();
        let failed = || TransferState::Failed {
            reason: reason.to_owned(),
        };
        if let Some(o) = req.and_then(|r| self.offering.remove(&r)) {
            out.push(progress_up(&o, None, 0, failed()));
        }
        if let Some((conv, _)) = req.and_then(|r| self.accepting.remove(&r))
            && let Some(offer) = offer
        {
            out.push(Progress {
                local: None,
                offer: Some(offer),
                upload: false,
                name: String::new(),
                conv,
                bytes: 0,
                size: 0,
                elapsed_ms: 0,
                state: failed(),
            });
        }
        if let Some(offer) = offer {
            if let Some(at) = self.uploads.iter().position(|u| u.offer == offer) {
                let u = self.uploads.remove(at);
                out.push(progress_up(&u.out, Some(offer), u.acked, failed()));
            }
            if self.downloads.contains_key(&offer) {
                out.push(self.fail_download(offer, reason).await.1);
            }
        }
        out
    }

    /// Stops a transfer: the message for the server (if any) and the progress.
    pub async fn cancel(
        &mut self,
        local: Option<u64>,
        offer: Option<OfferId>,
    ) -> (Option<ClientMessage>, Option<Progress>) {
        if let Some(out) = local.and_then(|l| self.hashing.remove(&l)) {
            return (
                None,
                Some(progress_up(&out, None, 0, TransferState::Cancelled)),
            );
        }
        if let Some(key) = local.and_then(|l| {
            self.offering
                .iter()
                .find(|(_, o)| o.local == l)
                .map(|(r, _)| *r)
        }) && let Some(out) = self.offering.remove(&key)
        {
            return (
                None,
                Some(progress_up(&out, None, 0, TransferState::Cancelled)),
            );
        }
        let at = self
            .uploads
            .iter()
            .position(|u| Some(u.offer) == offer || Some(u.out.local) == local);
        if let Some(at) = at {
            let u = self.uploads.remove(at);
            let stop = ClientMessage::Cancel {
                req: None,
                offer: u.offer,
            };
            return (
                Some(stop),
                Some(progress_up(
                    &u.out,
                    Some(u.offer),
                    u.acked,
                    TransferState::Cancelled,
                )),
            );
        }
        if let Some(offer) = offer
            && let Some(d) = self.downloads.remove(&offer)
        {
            let _ = tokio::fs::remove_file(&d.part).await;
            let stop = ClientMessage::Cancel { req: None, offer };
            return (
                Some(stop),
                Some(progress_down(&d, offer, TransferState::Cancelled)),
            );
        }
        // Not in flight here: withdraw (sender) or nothing to stop (recipient).
        (
            offer.map(|offer| ClientMessage::Cancel { req: None, offer }),
            None,
        )
    }

    /// The connection dropped: the server forgot every transfer on it.
    pub async fn connection_lost(&mut self) -> Vec<Progress> {
        let reason = || TransferState::Failed {
            reason: "the connection was lost; send or accept the file again".into(),
        };
        let mut out: Vec<Progress> = Vec::new();
        for (_, o) in self.offering.drain() {
            out.push(progress_up(&o, None, 0, reason()));
        }
        for u in self.uploads.drain(..) {
            out.push(progress_up(&u.out, Some(u.offer), u.acked, reason()));
        }
        self.accepting.clear();
        let downloads: Vec<(OfferId, Download)> = self.downloads.drain().collect();
        for (offer, d) in downloads {
            let _ = tokio::fs::remove_file(&d.part).await;
            out.push(progress_down(&d, offer, reason()));
        }
        out
    }
}

fn progress_up(
    out: &Outgoing,
    offer: Option<OfferId>,
    bytes: u64,
    state: TransferState,
) -> Progress {
    Progress {
        local: Some(out.local),
        offer,
        upload: true,
        name: out.name.clone(),
        conv: Some(out.to.clone()),
        bytes,
        size: out.size,
        elapsed_ms: elapsed(out.started),
        state,
    }
}

fn progress_down(d: &Download, offer: OfferId, state: TransferState) -> Progress {
    Progress {
        local: None,
        offer: Some(offer),
        upload: false,
        name: d.name.clone(),
        conv: d.conv.clone(),
        bytes: d.received,
        size: d.size,
        elapsed_ms: elapsed(d.started),
        state,
    }
}

fn gone_progress(offer: OfferId) -> Progress {
    Progress {
        local: None,
        offer: Some(offer),
        upload: false,
        name: String::new(),
        conv: None,
        bytes: 0,
        size: 0,
        elapsed_ms: 0,
        state: TransferState::Cancelled,
    }
}

/// Size and SHA-256 of a file, read once.
fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

/// Gives the verified temporary file its name in `dir` without replacing
/// anything: `name`, else `name (1)`, `name (2)`… A hard link either takes a
/// free name or fails, so two downloads can never pick the same one.
fn place(part: &Path, dir: &Path, name: &str) -> io::Result<PathBuf> {
    let name = safe_name(name);
    for n in 0..10_000 {
        let candidate = if n == 0 {
            dir.join(&name)
        } else {
            dir.join(numbered(&name, n))
        };
        match std::fs::hard_link(part, &candidate) {
            Ok(()) => {
                std::fs::remove_file(part)?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) => {
                // No hard links here (some file systems): claim the name first.
                match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&candidate)
                {
                    Ok(_) => {
                        std::fs::rename(part, &candidate)?;
                        return Ok(candidate);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "too many files with that name",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_never_replaces_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.pdf"), b"old").unwrap();
        let part = dir.path().join(".x.part");
        std::fs::write(&part, b"new").unwrap();
        let placed = place(&part, dir.path(), "notes.pdf").unwrap();
        assert_eq!(placed, dir.path().join("notes (1).pdf"));
        assert_eq!(std::fs::read(dir.path().join("notes.pdf")).unwrap(), b"old");
        assert_eq!(std::fs::read(&placed).unwrap(), b"new");
        assert!(!part.exists());
    }

    #[test]
    fn a_hostile_name_is_saved_inside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join(".y.part");
        std::fs::write(&part, b"x").unwrap();
        let placed = place(&part, dir.path(), "../../../etc/passwd").unwrap();
        assert_eq!(placed, dir.path().join("passwd"));
    }

    fn info(offer: OfferId, content: &[u8]) -> FileInfo {
        FileInfo {
            offer,
            name: "notes.txt".into(),
            size: content.len() as u64,
            sha256: hex(&Sha256::digest(content)),
            expires: classchat_common::Timestamp::now(),
            outcome: None,
        }
    }

    #[tokio::test]
    async fn bytes_from_the_bulk_task_of_a_cancelled_download_do_not_land_in_the_next_one() {
        let dir = tempfile::tempdir().unwrap();
        let content = b"the whole file, once";
        let offer = OfferId::new();
        let file = info(offer, content);
        let mut t = Transfers::default();
        let accept = |t: &mut Transfers| match t.accept(offer, None, dir.path().to_path_buf()) {
            ClientMessage::Accept { req: Some(req), .. } => req,
            other => panic!("{other:?}"),
        };

        let req = accept(&mut t);
        t.download(req, &file).await.unwrap();
        let (old, from, size) = t.bulk_download(offer).unwrap();
        assert_eq!((from, size), (0, content.len() as u64));
        t.bulk_bytes(offer, old, b"the whole").await.unwrap();
        let (stop, _) = t.cancel(None, Some(offer)).await;
        assert!(
            matches!(stop, Some(ClientMessage::Cancel { .. })),
            "{stop:?}"
        );

        // Accepted again: the old task's late bytes and its end are ignored.
        let req = accept(&mut t);
        t.download(req, &file).await.unwrap();
        let (new, from, _) = t.bulk_download(offer).unwrap();
        assert_ne!(new, old);
        assert_eq!(from, 0);
        assert!(t.bulk_bytes(offer, old, b" file").await.is_none());
        let failure = Failure {
            reason: "cut".into(),
            fall_back: false,
        };
        let (replies, progress) = t.bulk_download_ended(offer, old, Err(failure)).await;
        assert!(replies.is_empty() && progress.is_none());
        assert!(t.downloading(offer));

        let (replies, progress) = t.bulk_bytes(offer, new, content).await.unwrap();
        assert!(
            matches!(progress.state, TransferState::Saved { .. }),
            "{progress:?}"
        );
        assert!(
            matches!(replies.as_slice(), [ClientMessage::Received { .. }]),
            "no file_ack on a bulk download: {replies:?}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("notes.txt")).unwrap(),
            content
        );
    }

    #[test]
    fn hashing_reads_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let (size, sha) = hash_file(&path).unwrap();
        assert_eq!(size, 3);
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
