//! Message load: a member that keeps a window of pre-serialized `send`s in flight and reads and acknowledges what arrives the way the reference client does.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use bytes::{Bytes, BytesMut};
use classchat_common::{ClientMessage, Conv, MessageId};

use crate::client::{Conn, Peek};

/// A 64-byte message body.
pub const BODY: &str = "The quick brown fox jumps over the lazy dog; 64 bytes of text ok";
const _: () = assert!(BODY.len() == 64);

/// Unconfirmed messages one connection keeps in flight (the reference client's window).
pub const WINDOW: usize = 256;

/// Messages read after which acknowledgements go out even mid-burst (as the
/// reference client does).
const ACK_EVERY: u64 = 256;

/// `send` lines serialized ahead of time, back to back, so sending the next
/// `n` of them is one write of a slice.
#[derive(Debug)]
pub struct Frames {
    blob: Bytes,
    /// Where each line ends in `blob`.
    ends: Vec<usize>,
}

impl Frames {
    /// `count` messages with fresh ids to `to`.
    pub fn new(to: &str, count: usize) -> anyhow::Result<Self> {
        let to: Conv = to.parse().context("a benchmark conversation name")?;
        let mut blob = BytesMut::new();
        let mut ends = Vec::with_capacity(count);
        for _ in 0..count {
            let line = ClientMessage::Send {
                id: MessageId::new(),
                to: to.clone(),
                body: BODY.to_owned(),
                reply_to: None,
                edit: None,
                delete: None,
                react: None,
                unreact: None,
            }
            .to_line();
            blob.extend_from_slice(&line);
            ends.push(blob.len());
        }
        Ok(Self {
            blob: blob.freeze(),
            ends,
        })
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Lines `from..to`.
    fn slice(&self, from: usize, to: usize) -> &[u8] {
        let start = if from == 0 { 0 } else { self.ends[from - 1] };
        &self.blob[start..self.ends[to - 1]]
    }

    /// The first line alone (for latency samples).
    pub fn line(&self, i: usize) -> &[u8] {
        self.slice(i, i + 1)
    }
}

/// What one connection does in a round: send `frames` (if any) and read
/// until `expect` messages from others have arrived.
#[derive(Debug, Clone)]
pub struct Part {
    pub frames: Option<Arc<Frames>>,
    pub expect: u64,
}

/// The pairs load for [`round`], on connections logged in as senders then
/// `receivers`: sender `i` writes `count` messages to `receivers[i]`, and
/// each receiver expects as many (and only reads).
pub fn pairs(receivers: &[String], count: usize) -> anyhow::Result<Vec<Part>> {
    let mut parts = Vec::with_capacity(2 * receivers.len());
    for r in receivers {
        parts.push(Part {
            frames: Some(Arc::new(Frames::new(r, count)?)),
            expect: 0,
        });
    }
    parts.extend(receivers.iter().map(|_| Part {
        frames: None,
        expect: count as u64,
    }));
    Ok(parts)
}

/// The newest sequence number read per conversation, not yet acknowledged.
#[derive(Debug, Default)]
struct Acks {
    pending: Vec<(String, u64)>,
    unacked: u64,
}

impl Acks {
    fn saw(&mut self, conv: &str, seq: u64) {
        self.unacked += 1;
        match self.pending.iter_mut().find(|(c, _)| c == conv) {
            Some((_, s)) => *s = (*s).max(seq),
            None => self.pending.push((conv.to_owned(), seq)),
        }
    }

    async fn flush(&mut self, conn: &mut Conn) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut lines = BytesMut::new();
        for (conv, seq) in self.pending.drain(..) {
            let conv: Conv = conv
                .parse()
                .context("a conversation name from the server")?;
            lines.extend_from_slice(&ClientMessage::Ack { conv, seq }.to_line());
        }
        self.unacked = 0;
        conn.send(&lines).await
    }
}

/// Plays one connection's part of a round, then waits until the server has
/// dealt with everything it sent and it has read everything queued for it.
pub async fn play(conn: &mut Conn, part: &Part) -> anyhow::Result<()> {
    let total = part.frames.as_ref().map_or(0, |f| f.len());
    let (mut sent, mut stored, mut received) = (0usize, 0usize, 0u64);
    let mut acks = Acks::default();
    loop {
        while let Some(line) = conn.buffered() {
            let peek = Peek::of(&line)?;
            match &*peek.kind {
                "stored" => stored += 1,
                "message" => {
                    received += 1;
                    let conv = peek.conv.as_deref().context("a message without conv")?;
                    acks.saw(conv, peek.seq.context("a message without seq")?);
                    if acks.unacked >= ACK_EVERY {
                        acks.flush(conn).await?;
                    }
                }
                "error" => {
                    peek.check()?;
                }
                _ => {}
            }
        }
        // Nothing more to read right now: acknowledge, and top up the window.
        acks.flush(conn).await?;
        if let Some(frames) = &part.frames {
            let upto = (stored + WINDOW).min(total);
            if sent < upto {
                conn.send(frames.slice(sent, upto)).await?;
                sent = upto;
            }
        }
        if stored == total && received >= part.expect {
            break;
        }
        conn.fill().await?;
    }
    if received > part.expect {
        bail!("{received} messages arrived, {} expected", part.expect);
    }
    conn.settle().await
}

/// Plays every connection's part at once, each in its own task, and gives the
/// connections back in order.
pub async fn round(conns: Vec<Conn>, parts: &[Part]) -> anyhow::Result<Vec<Conn>> {
    let mut tasks = Vec::with_capacity(conns.len());
    for (mut conn, part) in conns.into_iter().zip(parts.iter().cloned()) {
        tasks.push(tokio::spawn(async move {
            play(&mut conn, &part).await.map(|()| conn)
        }));
    }
    let mut back = Vec::with_capacity(tasks.len());
    for task in tasks {
        back.push(task.await.context("a load task panicked")??);
    }
    Ok(back)
}

/// A round whose cost to the server is measured: the connections back, the
/// server's CPU time (utime + stime) over the round, and the wall time.
pub struct Measured {
    pub conns: Vec<Conn>,
    pub cpu: std::time::Duration,
    pub wall: std::time::Duration,
}

/// Plays a round and measures it; with `perf`, the server is profiled
/// during it (into `<dir>/<name>.perf.data`). Fails if the server died.
pub async fn measured_round(
    server: &mut crate::server::ServerProcess,
    conns: Vec<Conn>,
    parts: &[Part],
    perf: Option<(&std::path::Path, &str)>,
) -> anyhow::Result<Measured> {
    let profile = match perf {
        Some((dir, name)) => Some(crate::server::Profile::start(dir, name, server.pid)?),
        None => None,
    };
    let (cpu0, t0) = (server.cpu()?, std::time::Instant::now());
    let conns = round(conns, parts).await?;
    let (cpu1, wall) = (server.cpu()?, t0.elapsed());
    if let Some(p) = profile {
        p.stop().await?;
    }
    server.check_alive()?;
    Ok(Measured {
        conns,
        cpu: cpu1 - cpu0,
        wall,
    })
}

/// Logs every account in at once and returns the connections in order.
pub async fn login_all(
    addr: std::net::SocketAddr,
    accounts: &[crate::seed::Account],
) -> anyhow::Result<Vec<Conn>> {
    let mut tasks = Vec::with_capacity(accounts.len());
    for a in accounts {
        let lines = crate::client::login_lines(&a.name, &a.proof)?;
        tasks.push(tokio::spawn(async move { Conn::login(addr, &lines).await }));
    }
    let mut conns = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (conn, _) = task.await.context("a login task panicked")??;
        conns.push(conn);
    }
    Ok(conns)
}
