//! A file's bytes on a connection of their own (PROTOCOL.md §11.7): one task
//! per transfer opens it to the address the chat connection reached, says
//! `put` or `get` with the token the chat connection got, and carries the
//! bytes raw. A connection lost half-way is opened again and goes on from
//! where the server says (`put`) or from the bytes already here (`get`).
//! The task only moves bytes: the client task writes downloads to disk and
//! hashes them as it does chunks (`transfers.rs`), so both paths end alike.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use classchat_common::{ClientMessage, ErrorCode, OfferId, ServerMessage};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::address::ServerAddr;
use crate::connection::{Stream, open_bulk};
use crate::tls::Trust;

/// Bytes read and written at a time.
const BUFFER: usize = 256 * 1024;

/// Connections a transfer opens before it gives up.
const ATTEMPTS: u32 = 4;

/// The longest line the server sends on a bulk connection.
const MAX_LINE: u64 = 4096;

/// How long a bulk connection may stay silent.
const SILENCE: Duration = Duration::from_secs(60);

/// Where bulk connections go: the chat connection's server.
#[derive(Debug, Clone)]
pub struct Target {
    pub peer: SocketAddr,
    pub addr: ServerAddr,
    pub tls: Option<Trust>,
}

/// Which transfer task an event comes from: the client task numbers them,
/// so that a task still running for a download the user cancelled is told
/// apart from the one of the same offer accepted again.
pub type Task = u64;

/// What a transfer task tells the client task.
#[derive(Debug)]
pub enum BulkEvent {
    /// An upload's bytes up to `bytes` are on their way.
    Sent {
        offer: OfferId,
        task: Task,
        bytes: u64,
    },
    /// The next bytes of a download, in order.
    Bytes {
        offer: OfferId,
        task: Task,
        data: Vec<u8>,
    },
    /// The task is over: `Ok` when every byte went (an upload: the server
    /// checked them), or why not.
    Ended {
        offer: OfferId,
        task: Task,
        outcome: Result<(), Failure>,
    },
}

#[derive(Debug)]
pub struct Failure {
    pub reason: String,
    /// No byte moved and the server never took the token (it cannot reach
    /// this server, or its token is not known there): the chat connection
    /// can carry the file instead.
    pub fall_back: bool,
}

/// What one transfer task moves.
enum Job {
    /// An upload of this file.
    Put(PathBuf),
    /// A download, with the bytes already here.
    Get(u64),
}

/// One transfer on bulk connections: what it moves and where, and whom to
/// tell.
pub struct Transfer {
    pub target: Target,
    pub token: String,
    pub offer: OfferId,
    pub task: Task,
    pub size: u64,
    pub tx: mpsc::Sender<BulkEvent>,
}

/// Uploads `path` (of `size` bytes).
pub fn put(transfer: Transfer, path: PathBuf) {
    spawn(transfer, Job::Put(path));
}

/// Downloads from byte `from` on.
pub fn get(transfer: Transfer, from: u64) {
    spawn(transfer, Job::Get(from));
}

/// Runs `job` on up to [`ATTEMPTS`] connections, each going on from where
/// the last one broke, then tells the client task how it ended.
fn spawn(transfer: Transfer, mut job: Job) {
    let Transfer {
        target,
        token,
        offer,
        task,
        size,
        tx,
    } = transfer;
    tokio::spawn(async move {
        let mut taken = false;
        let mut last = String::new();
        let mut done = false;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            let once = match &mut job {
                Job::Put(path) => {
                    put_once(&target, &token, (offer, task), path, size, &tx, &mut taken).await
                }
                Job::Get(at) => {
                    get_once(&target, &token, (offer, task), at, size, &tx, &mut taken).await
                }
            };
            match once {
                Ok(()) => {
                    done = true;
                    break;
                }
                Err(Stop::Refused(reason)) => {
                    last = reason;
                    break;
                }
                Err(Stop::Lost(reason)) => last = reason,
            }
        }
        let outcome = if done {
            Ok(())
        } else {
            Err(Failure {
                reason: last,
                fall_back: !taken,
            })
        };
        let ended = BulkEvent::Ended {
            offer,
            task,
            outcome,
        };
        let _ = tx.send(ended).await;
    });
}

/// Why one connection ended early.
enum Stop {
    /// The server said no: trying again would not help.
    Refused(String),
    /// The connection broke: another one goes on.
    Lost(String),
}

fn lost(e: impl std::fmt::Display) -> Stop {
    Stop::Lost(e.to_string())
}

/// Opens a bulk connection and says `first`; returns it after the server's
/// `transfer`, with where the bytes start.
async fn open(
    target: &Target,
    first: &ClientMessage,
    offer: OfferId,
) -> Result<(BufReader<Box<dyn Stream>>, u64, u64), Stop> {
    let stream = open_bulk(target.peer, &target.addr, target.tls.as_ref())
        .await
        .map_err(lost)?;
    let mut stream = BufReader::with_capacity(BUFFER, stream);
    stream
        .get_mut()
        .write_all(&first.to_line())
        .await
        .map_err(lost)?;
    stream.get_mut().flush().await.map_err(lost)?;
    match line(&mut stream).await? {
        ServerMessage::Transfer {
            offer: o,
            offset,
            size,
        } if o == offer => Ok((stream, offset, size)),
        ServerMessage::Error { code, message, .. } => Err(match code {
            ErrorCode::StorageFailed => Stop::Lost(message),
            _ => Stop::Refused(message),
        }),
        other => Err(Stop::Refused(format!(
            "the server answered {other:?} on a bulk connection"
        ))),
    }
}

/// One line from the server on a bulk connection.
async fn line(stream: &mut BufReader<Box<dyn Stream>>) -> Result<ServerMessage, Stop> {
    let mut line = Vec::new();
    let mut limited = (&mut *stream).take(MAX_LINE);
    let read = limited.read_until(b'\n', &mut line);
    match tokio::time::timeout(SILENCE, read).await {
        Err(_) => return Err(lost("the server went silent")),
        Ok(Err(e)) => return Err(lost(e)),
        Ok(Ok(0)) => return Err(lost("the server closed the connection")),
        Ok(Ok(_)) => {}
    }
    ServerMessage::decode(line.trim_ascii_end()).map_err(|e| Stop::Refused(e.message))
}

async fn put_once(
    target: &Target,
    token: &str,
    (offer, task): (OfferId, Task),
    path: &PathBuf,
    size: u64,
    tx: &mpsc::Sender<BulkEvent>,
    taken: &mut bool,
) -> Result<(), Stop> {
    let first = ClientMessage::Put {
        token: token.to_owned(),
    };
    let (mut stream, offset, server_size) = open(target, &first, offer).await?;
    *taken = true;
    if server_size != size {
        return Err(Stop::Refused(format!(
            "the server expects {server_size} bytes, the file has {size}"
        )));
    }
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Stop::Refused(format!("cannot read {}: {e}", path.display())))?;
    file.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(|e| Stop::Refused(e.to_string()))?;
    let mut buf = vec![0u8; BUFFER];
    let mut at = offset;
    while at < size {
        let want = usize::try_from(size - at).map_or(BUFFER, |r| r.min(BUFFER));
        let n = file
            .read(&mut buf[..want])
            .await
            .map_err(|e| Stop::Refused(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            return Err(Stop::Refused(format!(
                "{} became shorter while sending",
                path.display()
            )));
        }
        let write = stream.get_mut().write_all(&buf[..n]);
        tokio::time::timeout(SILENCE, write)
            .await
            .map_err(|_| lost("the server stopped reading"))?
            .map_err(lost)?;
        at += n as u64;
        let sent = BulkEvent::Sent {
            offer,
            task,
            bytes: at,
        };
        let _ = tx.send(sent).await;
    }
    stream.get_mut().flush().await.map_err(lost)?;
    match line(&mut stream).await? {
        ServerMessage::TransferDone { offer: o, .. } if o == offer => Ok(()),
        ServerMessage::Error { message, .. } => Err(Stop::Refused(message)),
        other => Err(Stop::Refused(format!("after the upload, {other:?}"))),
    }
}

async fn get_once(
    target: &Target,
    token: &str,
    (offer, task): (OfferId, Task),
    at: &mut u64,
    size: u64,
    tx: &mpsc::Sender<BulkEvent>,
    taken: &mut bool,
) -> Result<(), Stop> {
    let first = ClientMessage::Get {
        token: token.to_owned(),
        offset: *at,
    };
    let (mut stream, offset, server_size) = open(target, &first, offer).await?;
    *taken = true;
    if offset != *at || server_size != size {
        return Err(Stop::Refused(format!(
            "the server offers bytes {offset}..{server_size}, not {at}..{size}"
        )));
    }
    while *at < size {
        // Filled by the read, not zeroed first: a read often brings far less
        // than the buffer holds.
        let mut data = Vec::with_capacity(BUFFER);
        let read = stream.read_buf(&mut data);
        let n = tokio::time::timeout(SILENCE, read)
            .await
            .map_err(|_| lost("the server went silent"))?
            .map_err(lost)?;
        if n == 0 {
            return Err(lost("the connection closed before the end of the file"));
        }
        let n = usize::try_from(size - *at).map_or(n, |left| n.min(left));
        data.truncate(n);
        *at += n as u64;
        if tx
            .send(BulkEvent::Bytes { offer, task, data })
            .await
            .is_err()
        {
            return Err(Stop::Refused("the client stopped".to_owned()));
        }
    }
    Ok(())
}
