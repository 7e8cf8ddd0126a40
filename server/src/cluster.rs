//! A node's link to the other nodes of a cluster, through NATS.
//!
//! One subject, `<cluster name>.events`, carries everything: each committed
//! batch's events, each event framed on its own in postcard ([`encode`];
//! published in commit order by one task, so a node's events arrive in the
//! order it committed them, and the batches committed while it was busy in
//! one NATS message), and each node's presence every second. Core NATS
//! delivers at most once, which is all this needs: PostgreSQL holds every
//! message before any node is told, and a node that misses an event reads
//! the gap from there ([`crate::hub::remote`]). Besides what NATS brings,
//! each node:
//! - asks the hub every second to say who is connected here and to take
//!   silent nodes for dead ([`Command::Tick`]);
//! - hands other nodes' wrong passwords and sign-ups to this node's
//!   [`Guards`];
//! - every two seconds reads every conversation's last sequence number and
//!   hands it to the hub ([`Command::Versions`]), which releases whatever it
//!   was never told: a lost event, or what a killed node committed and never
//!   published.
//!
//! Offered files' bytes stay on the node that took the upload. A download on
//! another node asks that node for them a chunk at a time, on
//! `<cluster name>.file.<node id>` (NATS request and reply), as many chunks
//! ahead as the download's window allows.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use classchat_common::{MessageId, OfferId, Timestamp, Username};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::signups::SignUps;
use crate::blobs::{Blobs, Fetch, Fetched};
use crate::config::ClusterConfig;
use crate::hub::remote::{Body, BodyRef, Bus, Event, Head, Incoming, Line, Published};
use crate::hub::{Command, Hub};
use crate::store::Quoted;
use crate::throttle::Throttle;

/// How often the hub hears a tick (presence out, dead nodes found).
const TICK: Duration = Duration::from_secs(1);
/// How often a node compares its sequencers with PostgreSQL's.
const REPAIR: Duration = Duration::from_secs(2);

/// A NATS message is published once its events take this many bytes. The
/// other nodes' NATS client reads into a buffer that holds 32 KiB once it
/// has been made again (its 64 KiB, as `bytes` rounds a buffer's first
/// size), and copies the message it is in the middle of each time that
/// buffer fills. At 8 KiB that copy is small; at 32 KiB it was most of
/// every message, and larger ones were copied as the buffer doubled under
/// them (BENCHMARKS.md, "The line crosses with the message").
const MERGE_BYTES: usize = 8 * 1024;

/// Room made for a NATS message's events: a whole one, and the last event's
/// overshoot most often.
const PAYLOAD_ROOM: usize = MERGE_BYTES + 4096;

/// The most bytes one file read across nodes brings (NATS messages are at
/// most 1 MiB).
const FETCH_MAX: u64 = 512 * 1024;

/// What a file read's answer starts with.
const FETCH_OK: u8 = 0;
const FETCH_GONE: u8 = 1;
const FETCH_FAILED: u8 = 2;

/// A file read asked of the node that holds the file.
#[derive(Debug, Serialize, Deserialize)]
struct FetchRequest {
    offer: OfferId,
    offset: u64,
    len: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot reach NATS at {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("cannot subscribe to NATS: {0}")]
    Subscribe(String),
    #[error("a node id is letters, digits, '-' and '_', 1 to 64 of them; {0:?} is not (--node-id)")]
    NodeId(String),
}

/// The bus of a node: events go to a task that publishes them in order.
#[derive(Debug)]
pub struct NatsBus {
    node: String,
    out: mpsc::UnboundedSender<Vec<Event>>,
}

impl Bus for NatsBus {
    fn node(&self) -> &str {
        &self.node
    }

    fn publish(&self, events: Vec<Event>) {
        // Gone only once the publisher stopped, at shutdown.
        let _ = self.out.send(events);
    }
}

/// A node connected to NATS, before its hub starts.
/// What the sessions of every node count together: wrong passwords and
/// sign-ups per address. Each tells the other nodes through the link, and the
/// link hands them what the others tell.
#[derive(Debug, Clone)]
pub struct Guards {
    pub throttle: Arc<Throttle>,
    pub sign_ups: Arc<SignUps>,
}

impl Guards {
    /// Both tell `bus` of what they count from now on.
    pub fn share_with(&self, bus: &Arc<NatsBus>) {
        self.throttle.share_with(bus.clone());
        self.sign_ups.share_with(bus.clone());
    }
}

/// Reads other nodes' files through NATS.
#[derive(Debug)]
struct NatsFetch {
    client: async_nats::Client,
    cluster: String,
}

impl Fetch for NatsFetch {
    fn fetch(&self, node: &str, offer: OfferId, offset: u64, len: u64) -> Fetched {
        let client = self.client.clone();
        let subject = format!("{}.file.{node}", self.cluster);
        let node = node.to_owned();
        let request = serde_json::to_vec(&FetchRequest {
            offer,
            offset,
            len: len.min(FETCH_MAX),
        });
        Box::pin(async move {
            let request = request.map_err(io::Error::other)?;
            let answer = client
                .request(subject, request.into())
                .await
                .map_err(|e| io::Error::other(format!("node {node} did not send the file: {e}")))?;
            match answer.payload.split_first() {
                Some((&FETCH_OK, bytes)) => Ok(bytes.to_vec()),
                Some((&FETCH_GONE, _)) => Err(io::ErrorKind::NotFound.into()),
                _ => Err(io::Error::other(format!(
                    "node {node} could not read the file"
                ))),
            }
        })
    }
}

#[derive(Debug)]
pub struct Link {
    pub bus: Arc<NatsBus>,
    client: async_nats::Client,
    /// The cluster's name: the prefix of its subjects.
    cluster: String,
    subject: String,
    outgoing: mpsc::UnboundedReceiver<Vec<Event>>,
}

/// Whether `id` may name a node (it appears in subjects and logs).
pub fn valid_node_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

impl Link {
    /// Connects to NATS; a node that cannot says so and does not start,
    /// rather than serve on its own.
    pub async fn connect(config: &ClusterConfig) -> Result<Self, ClusterError> {
        if !valid_node_id(&config.node) {
            return Err(ClusterError::NodeId(config.node.clone()));
        }
        let options = async_nats::ConnectOptions::new()
            .name(format!("classchat-server {}", config.node))
            // A node's own events are not for it.
            .no_echo()
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Disconnected => {
                        tracing::warn!("lost NATS; reconnecting (messages still stored)");
                    }
                    async_nats::Event::Connected => tracing::info!("connected to NATS"),
                    other => tracing::debug!("NATS: {other}"),
                }
            });
        let client =
            options
                .connect(config.nats.as_str())
                .await
                .map_err(|e| ClusterError::Connect {
                    url: config.nats.clone(),
                    cause: e.to_string(),
                })?;
        let (out, outgoing) = mpsc::unbounded_channel();
        Ok(Self {
            bus: Arc::new(NatsBus {
                node: config.node.clone(),
                out,
            }),
            client,
            cluster: config.name.clone(),
            subject: format!("{}.events", config.name),
            outgoing,
        })
    }

    /// Reads the files other nodes hold.
    pub fn fetcher(&self) -> Arc<dyn Fetch> {
        Arc::new(NatsFetch {
            client: self.client.clone(),
            cluster: self.cluster.clone(),
        })
    }

    /// Starts the node's tasks: the publisher (which runs until the hub is
    /// gone and its last events are out, and is returned, to be awaited at
    /// stop), and the listener (events to the hub, login attempts to
    /// `throttle`), the file server (other nodes' reads from `blobs`), the
    /// ticker and the repairer, which stop at `shutdown`.
    pub async fn start(
        self,
        hub: Hub,
        blobs: Blobs,
        guards: Guards,
        shutdown: CancellationToken,
    ) -> Result<tokio::task::JoinHandle<()>, ClusterError> {
        let Link {
            bus,
            client,
            cluster,
            subject,
            outgoing,
        } = self;
        let subscriber = client
            .subscribe(subject.clone())
            .await
            .map_err(|e| ClusterError::Subscribe(e.to_string()))?;
        let reads = client
            .subscribe(format!("{cluster}.file.{}", bus.node))
            .await
            .map_err(|e| ClusterError::Subscribe(e.to_string()))?;
        client
            .flush()
            .await
            .map_err(|e| ClusterError::Subscribe(e.to_string()))?;
        drop(bus);
        tokio::spawn(serve_files(reads, client.clone(), blobs, shutdown.clone()));
        let publisher = tokio::spawn(publish(client, subject, outgoing));
        tokio::spawn(listen(subscriber, hub.clone(), guards, shutdown.clone()));
        tokio::spawn(tick(hub.clone(), shutdown.clone()));
        tokio::spawn(repair(hub, shutdown));
        Ok(publisher)
    }
}

async fn publish(
    client: async_nats::Client,
    subject: String,
    mut outgoing: mpsc::UnboundedReceiver<Vec<Event>>,
) {
    let mut dropped = 0u64;
    while let Some(events) = outgoing.recv().await {
        // While NATS is away nothing queues up here: presence is said again
        // every second, and the other nodes read the messages they missed
        // from PostgreSQL (the repair timer).
        if client.connection_state() != async_nats::connection::State::Connected {
            dropped += 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "NATS is away; the other nodes will read from PostgreSQL"
                );
            }
            continue;
        }
        // Batches committed meanwhile go in the same NATS message (one to
        // send, and one for each other node to take in, not one per batch),
        // and a large batch in several.
        let mut payload = Vec::with_capacity(PAYLOAD_ROOM);
        let mut batch = Some(events);
        while let Some(events) = batch.take() {
            for event in &events {
                if let Err(e) = encode(event, &mut payload) {
                    tracing::error!("cannot encode an event for the other nodes: {e}");
                }
                if payload.len() >= MERGE_BYTES {
                    let full = std::mem::replace(&mut payload, Vec::with_capacity(PAYLOAD_ROOM));
                    send(&client, &subject, full).await;
                }
            }
            batch = outgoing.try_recv().ok();
        }
        if !payload.is_empty() {
            send(&client, &subject, payload).await;
        }
    }
    let _ = client.flush().await;
}

/// Publishes one NATS message. One that fails (NATS lost just now) is not
/// tried again: the other nodes read what they missed from PostgreSQL.
async fn send(client: &async_nats::Client, subject: &str, payload: Vec<u8>) {
    if let Err(e) = client.publish(subject.to_owned(), payload.into()).await {
        tracing::warn!("cannot publish to NATS: {e}");
    }
}

/// `event` appended to `out`, part of a NATS message: its length (4 bytes,
/// little-endian) and its postcard encoding, so that a reader can pass over
/// what it does not need. Nothing is appended if it cannot be encoded.
fn encode(event: &Event, out: &mut Vec<u8>) -> Result<(), postcard::Error> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    let written = match event {
        Event::Message { head, line, body } => {
            write_message(out, head, line, body);
            Ok(())
        }
        other => postcard::to_extend(other, Append(out)).map(drop),
    };
    let len = written.and_then(|()| {
        u32::try_from(out.len() - at - 4).map_err(|_| postcard::Error::SerializeBufferFull)
    });
    match len {
        Ok(len) => {
            out[at..at + 4].copy_from_slice(&len.to_le_bytes());
            Ok(())
        }
        Err(e) => {
            out.truncate(at);
            Err(e)
        }
    }
}

/// Postcard's writer into a vector it does not own.
struct Append<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Append<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        self.0.extend(bytes);
    }
}

/// A message's event as postcard writes it, written by hand: every node
/// publishes every message it stores, and postcard's general path, a call
/// and a copy for each field, cost several hundred instructions a message.
/// A property test holds the bytes to postcard's.
fn write_message(out: &mut Vec<u8>, head: &Head, line: &Option<Line>, body: &Body) {
    out.push(MESSAGE as u8);
    out.extend_from_slice(&head.conv.to_le_bytes());
    out.extend_from_slice(&head.seq.to_le_bytes());
    out.extend_from_slice(&head.sender.to_le_bytes());
    out.extend_from_slice(&head.ts.as_millis().to_le_bytes());
    write_signed(out, head.kind);
    match line {
        Some(line) => {
            out.push(1);
            write_run(out, &line.0);
        }
        None => out.push(0),
    }
    write_run(out, body.id.as_bytes());
    write_run(out, body.sender_name.as_str().as_bytes());
    write_run(out, body.body.as_bytes());
    match body.refers {
        Some(seq) => {
            out.push(1);
            write_varint(out, seq);
        }
        None => out.push(0),
    }
    match &body.quoted {
        Some(q) => {
            out.push(1);
            write_run(out, q.sender_name.as_str().as_bytes());
            write_run(out, q.text.as_bytes());
            out.push(u8::from(q.deleted));
        }
        None => out.push(0),
    }
}

/// `value` as a varint: 7 bits a byte, low first, the high bit set on all
/// but the last.
fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A signed number zigzagged (0, -1, 1, -2, … as 0, 1, 2, 3, …), then as
/// a varint.
fn write_signed(out: &mut Vec<u8>, value: i64) {
    write_varint(out, (value << 1 ^ value >> 63) as u64);
}

/// A string's or the id's bytes, after their length.
fn write_run(out: &mut Vec<u8>, run: &[u8]) {
    write_varint(out, run.len() as u64);
    out.extend_from_slice(run);
}

/// The index of [`Event::Message`], which postcard puts first.
const MESSAGE: u64 = 0;

/// The events of a NATS message, a message's line and body left where they
/// are in it ([`Incoming::Message`]): most nodes have nobody to show it to.
fn decode(payload: Bytes) -> Result<Published, postcard::Error> {
    // About the size of a message's frame without a line: room for all of
    // them most often, without a first pass over the frames to count them.
    let mut events = Vec::with_capacity(payload.len() / 128 + 1);
    let mut next = 0;
    while next < payload.len() {
        let (start, end) = frame(&payload, next)?;
        next = end;
        let frame = &payload[start..end];
        let mut at = 0;
        let tag = varint(frame, &mut at, 32).ok_or(postcard::Error::DeserializeBadVarint)?;
        if tag == MESSAGE {
            let head = read_head(frame, &mut at).ok_or(postcard::Error::DeserializeBadVarint)?;
            let line = read_line(frame, &mut at)
                .ok_or(postcard::Error::DeserializeUnexpectedEnd)?
                // A line goes to clients as it is: one line, its newline last.
                .filter(|line| line.ends_with(b"\n"))
                .map(|line| start + at - line.len()..start + at);
            events.push(Incoming::Message {
                head,
                line,
                body: start + at..end,
            });
        } else {
            events.push(Incoming::Event(postcard::from_bytes(frame)?));
        }
    }
    Ok(Published {
        payload,
        events,
        read: read_body,
    })
}

/// A message's [`Head`] as postcard writes it, read from `at` on by hand:
/// four words of 8 bytes (`compact::fixed`) and the kind, a zigzagged
/// varint. Every node reads the head of every message of the cluster.
/// `None` where postcard fails too (a property test holds the two equal).
fn read_head(frame: &[u8], at: &mut usize) -> Option<Head> {
    let words: &[u8; 32] = frame.get(*at..at.checked_add(32)?)?.try_into().ok()?;
    *at += 32;
    let word = |i: usize| {
        let mut w = [0; 8];
        w.copy_from_slice(&words[8 * i..8 * i + 8]);
        w
    };
    let signed = |v: u64| (v >> 1) as i64 ^ -((v & 1) as i64);
    Some(Head {
        conv: i64::from_le_bytes(word(0)),
        seq: u64::from_le_bytes(word(1)),
        sender: i64::from_le_bytes(word(2)),
        ts: Timestamp::from_millis(i64::from_le_bytes(word(3))),
        kind: signed(varint(frame, at, 64)?),
    })
}

/// A message's optional line, after its head: a flag, then the bytes after
/// their length. `None` where postcard fails too.
fn read_line<'a>(frame: &'a [u8], at: &mut usize) -> Option<Option<&'a [u8]>> {
    match flag(frame, at)? {
        true => take(frame, at).map(Some),
        false => Some(None),
    }
}

/// A message's body as postcard writes a [`Body`](crate::hub::remote::Body),
/// read by hand: the node that shows a message reads it, and serde's general
/// path cost about a hundred instructions more. The sender's name is left as
/// bytes ([`BodyRef::sender_name`]); the rest is checked as postcard checks
/// it, and `None` where postcard fails (a property test holds the two equal).
fn read_body(bytes: &[u8]) -> Option<BodyRef<'_>> {
    let at = &mut 0;
    let id = MessageId::from_bytes(<[u8; 16]>::try_from(take(bytes, at)?).ok()?);
    let sender_name = take(bytes, at)?;
    let body = std::str::from_utf8(take(bytes, at)?).ok()?;
    let refers = match flag(bytes, at)? {
        true => Some(varint(bytes, at, 64)?),
        false => None,
    };
    let quoted = match flag(bytes, at)? {
        true => Some(Box::new(Quoted {
            sender_name: Username::new(std::str::from_utf8(take(bytes, at)?).ok()?).ok()?,
            text: std::str::from_utf8(take(bytes, at)?).ok()?.to_owned(),
            deleted: flag(bytes, at)?,
        })),
        false => None,
    };
    Some(BodyRef {
        id,
        sender_name,
        body,
        refers,
        quoted,
    })
}

/// A length-prefixed run of bytes (a string's, or the id's) at `at`.
fn take<'a>(bytes: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let len = usize::try_from(varint(bytes, at, 64)?).ok()?;
    let run = bytes.get(*at..at.checked_add(len)?)?;
    *at += len;
    Some(run)
}

/// A `bool`, or an `Option`'s tag: one byte, 0 or 1.
fn flag(bytes: &[u8], at: &mut usize) -> Option<bool> {
    let byte = *bytes.get(*at)?;
    *at += 1;
    match byte {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

/// An unsigned varint of at most `bits` bits at `at` (7 bits a byte, low
/// first, the high bit set on all but the last), moving `at` past it.
fn varint(bytes: &[u8], at: &mut usize, bits: u32) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = *bytes.get(*at)?;
        *at += 1;
        let part = u64::from(byte & 0x7f);
        if shift + 7 > bits && part >> (bits - shift) != 0 {
            return None;
        }
        value |= part << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
        shift += 7;
        if shift >= bits {
            return None;
        }
    }
}

/// Where the event framed at `at` of a NATS message starts and ends
/// ([`encode`]).
fn frame(payload: &[u8], at: usize) -> Result<(usize, usize), postcard::Error> {
    let len = payload
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_le_bytes(b) as usize)
        .ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
    let (start, end) = (at + 4, at + 4 + len);
    if end > payload.len() {
        return Err(postcard::Error::DeserializeUnexpectedEnd);
    }
    Ok((start, end))
}

async fn listen(
    mut subscriber: async_nats::Subscriber,
    hub: Hub,
    guards: Guards,
    shutdown: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return,
            m = subscriber.next() => match m {
                Some(m) => m,
                None => return,
            },
        };
        let mut published = match decode(message.payload) {
            Ok(published) => published,
            Err(e) => {
                tracing::warn!("ignoring events this node cannot read: {e}");
                continue;
            }
        };
        // Wrong passwords and sign-ups go to this node's guards, not the hub.
        published.events.retain(|event| match event {
            Incoming::Event(Event::LoginFailed { account, address }) => {
                guards
                    .throttle
                    .failed_elsewhere(account, *address, Instant::now());
                false
            }
            Incoming::Event(Event::LoginSucceeded { account }) => {
                guards.throttle.succeeded_elsewhere(account);
                false
            }
            Incoming::Event(Event::SignedUp { address }) => {
                guards.sign_ups.taken_elsewhere(*address, Instant::now());
                false
            }
            _ => true,
        });
        if !published.events.is_empty() && hub.send(Command::Remote(published)).await.is_err() {
            return;
        }
    }
}

/// Answers other nodes' reads of the files this node holds, each on a task
/// of its own (a download has a window of chunks asked at once).
async fn serve_files(
    mut reads: async_nats::Subscriber,
    client: async_nats::Client,
    blobs: Blobs,
    shutdown: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return,
            m = reads.next() => match m {
                Some(m) => m,
                None => return,
            },
        };
        let Some(reply) = message.reply else {
            continue;
        };
        let (client, blobs) = (client.clone(), blobs.clone());
        tokio::spawn(async move {
            let answer = read_for_another_node(&blobs, &message.payload).await;
            if let Err(e) = client.publish(reply, answer.into()).await {
                tracing::warn!("cannot answer a file read: {e}");
            }
        });
    }
}

async fn read_for_another_node(blobs: &Blobs, request: &[u8]) -> Vec<u8> {
    let Ok(r) = serde_json::from_slice::<FetchRequest>(request) else {
        return vec![FETCH_FAILED];
    };
    let read = match blobs.reader(r.offer) {
        Ok(reader) => reader.read(r.offset, r.len.min(FETCH_MAX)).await,
        Err(e) => Err(e),
    };
    match read {
        Ok(bytes) => {
            let mut answer = Vec::with_capacity(1 + bytes.len());
            answer.push(FETCH_OK);
            answer.extend_from_slice(&bytes);
            answer
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => vec![FETCH_GONE],
        Err(_) => vec![FETCH_FAILED],
    }
}

async fn tick(hub: Hub, shutdown: CancellationToken) {
    let mut timer = tokio::time::interval(TICK);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = timer.tick() => {}
        }
        if hub.send(Command::Tick).await.is_err() {
            return;
        }
    }
}

async fn repair(hub: Hub, shutdown: CancellationToken) {
    let mut timer = tokio::time::interval(REPAIR);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = timer.tick() => {}
        }
        let reader = hub.reader().clone();
        let versions = match tokio::task::spawn_blocking(move || reader.versions()).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                tracing::warn!("cannot read the conversations' sequence numbers: {e}");
                continue;
            }
            Err(_) => continue,
        };
        if hub.send(Command::Versions(versions)).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use classchat_common::protocol::FileState;
    use classchat_common::{MessageId, Timestamp, Username};

    use super::*;

    /// `events` as one NATS message.
    fn encoded(events: &[Event]) -> Vec<u8> {
        let mut out = Vec::new();
        for event in events {
            encode(event, &mut out).unwrap();
        }
        out
    }

    fn head(conv: i64, seq: u64, ts: Timestamp) -> Head {
        Head {
            conv,
            seq,
            sender: 3,
            ts,
            kind: 0,
        }
    }

    /// alice's message `body`, perhaps a reply to a message (its seq and text).
    fn text(head: Head, body: &str, reply_to: Option<(u64, &str)>) -> Event {
        let name = Username::new("alice").unwrap();
        Event::Message {
            head,
            line: None,
            body: Body {
                id: MessageId::new(),
                sender_name: name.clone(),
                body: body.into(),
                refers: reply_to.map(|(seq, _)| seq),
                quoted: reply_to.map(|(_, text)| {
                    Box::new(Quoted {
                        sender_name: name,
                        text: text.into(),
                        deleted: false,
                    })
                }),
            },
        }
    }

    /// Every kind of event comes out of the encoding as it went in.
    #[test]
    fn every_event_survives_the_encoding() {
        let name = Username::new("alice").unwrap();
        let ts = Timestamp::from_millis(1_796_000_000_123);
        let events = vec![
            text(head(7, 42, ts), "héllo \"there\"\n", None),
            text(head(7, 44, ts), "a reply", Some((42, "héllo"))),
            with_line(
                text(head(7, 45, ts), "for bob on another node", None),
                b"{\"type\":\"message\",\"body\":\"for bob\"}\n",
            ),
            Event::Deleted {
                conv: 7,
                seq: 43,
                id: MessageId::new(),
                actor: 3,
                actor_name: name.clone(),
                ts,
            },
            Event::Cursor {
                conv: 7,
                user: 4,
                delivered: 42,
                read: 40,
                floor: 39,
            },
            Event::User {
                id: 3,
                name: name.clone(),
                pw_hash: "$argon2id$v=19$…".into(),
                created: ts,
                retire_but: Some([9; 32]),
            },
            Event::Token {
                user: 3,
                hash: [1; 32],
            },
            Event::Offer {
                offer: OfferId::new(),
                conv: 7,
                sender: 3,
                name: "notes.pdf".into(),
                size: 1 << 40,
                sha256: "ab".repeat(32),
                created: ts,
                expires: Timestamp::from_millis(i64::MAX),
                seq: 44,
                recipients: vec![(4, FileState::Pending), (5, FileState::Declined)],
                node: "n1".into(),
            },
            Event::FileState {
                offer: OfferId::new(),
                user: 4,
                state: FileState::Received,
            },
            Event::OfferClosed {
                offer: OfferId::new(),
            },
            Event::LoginFailed {
                account: "alice".into(),
                address: "::ffff:10.0.0.1".parse().unwrap(),
            },
            Event::LoginSucceeded {
                account: "alice".into(),
            },
            Event::SignedUp {
                address: "10.0.0.1".parse().unwrap(),
            },
            Event::Presence {
                node: "n2".into(),
                users: vec![1, 2, 3],
            },
            Event::Leaving { node: "n2".into() },
        ];
        // Framed one after another in one NATS message, read as one list.
        let bytes = Bytes::from(encoded(&events));
        let published = decode(bytes.clone()).unwrap();
        let back: Vec<Event> = published
            .events
            .into_iter()
            .map(|incoming| match incoming {
                Incoming::Event(event) => event,
                // A message's head is read at once, its body when asked.
                Incoming::Message { head, line, body } => {
                    let r = (published.read)(&bytes[body]).unwrap();
                    let name = r.sender_name(None).unwrap();
                    Event::Message {
                        head,
                        line: line.map(|l| Line(bytes.slice(l))),
                        body: r.owned(name),
                    }
                }
            })
            .collect();
        assert_eq!(format!("{back:?}"), format!("{events:?}"));
        for cut in [1, 5, bytes.len() - 3] {
            assert!(decode(bytes.slice(..bytes.len() - cut)).is_err(), "{cut}");
        }
    }

    /// `event` with `line` for the other nodes.
    fn with_line(event: Event, line: &[u8]) -> Event {
        let Event::Message { head, body, .. } = event else {
            panic!("a message");
        };
        Event::Message {
            head,
            line: Some(Line(Bytes::copy_from_slice(line))),
            body,
        }
    }

    /// A line is where it was written in the NATS message; one that does
    /// not end its line is not sent on (the hub reads the body instead).
    #[test]
    fn a_line_comes_as_it_went_or_not_at_all() {
        let ts = Timestamp::from_millis(1);
        let good = with_line(text(head(1, 1, ts), "a", None), b"{}\n");
        let torn = with_line(text(head(1, 2, ts), "b", None), b"{}");
        let payload = Bytes::from(encoded(&[good, torn]));
        let lines: Vec<Option<&[u8]>> = decode(payload.clone())
            .unwrap()
            .events
            .into_iter()
            .map(|incoming| match incoming {
                Incoming::Message { line, .. } => line.map(|l| &payload[l]),
                Incoming::Event(e) => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(lines, [Some(&b"{}\n"[..]), None]);
    }

    /// A message's body is not read to take in its head.
    #[test]
    fn a_message_head_is_read_without_its_body() {
        let head = Head {
            conv: 9,
            seq: 1 << 40,
            sender: -1,
            ts: Timestamp::from_millis(5),
            kind: 2,
        };
        let event = text(head, &"x".repeat(300), None);
        let mut bytes = encoded(&[event]);
        // Spoil the body's last byte (a `None` becomes a bad option tag).
        let last = bytes.len() - 1;
        bytes[last] = 0xff;
        let published = decode(bytes.clone().into()).unwrap();
        let [Incoming::Message { head, body, .. }] = &published.events[..] else {
            panic!("one message");
        };
        assert_eq!(
            (head.conv, head.seq, head.sender, head.kind),
            (9, 1 << 40, -1, 2)
        );
        assert_eq!(head.ts.as_millis(), 5);
        assert!((published.read)(&bytes[body.clone()]).is_none());
    }

    /// A head and a line in a frame, as the hand reader and postcard each
    /// read them: the variant index, the five fields, the line, and where the
    /// body starts.
    type Read = (u32, i64, u64, i64, i64, i64, Option<Vec<u8>>, usize);

    fn read(tag: u32, h: Head, line: Option<&[u8]>, at: usize) -> Read {
        let line = line.map(<[u8]>::to_vec);
        (
            tag,
            h.conv,
            h.seq,
            h.sender,
            h.ts.as_millis(),
            h.kind,
            line,
            at,
        )
    }

    fn by_hand(bytes: &[u8]) -> Option<Read> {
        let mut at = 0;
        let tag = u32::try_from(varint(bytes, &mut at, 32)?).ok()?;
        let h = read_head(bytes, &mut at)?;
        let line = read_line(bytes, &mut at)?;
        Some(read(tag, h, line, at))
    }

    fn by_postcard(bytes: &[u8]) -> Option<Read> {
        let ((tag, h, line), rest) =
            postcard::take_from_bytes::<(u32, Head, Option<Line>)>(bytes).ok()?;
        let line = line.as_ref().map(|l| &l.0[..]);
        Some(read(tag, h, line, bytes.len() - rest.len()))
    }

    /// A body as the hand reader and postcard each read it: the id, the
    /// sender's name (checked as a name), the text, the message referred to
    /// and the quote.
    type ReadBody = (
        [u8; 16],
        String,
        String,
        Option<u64>,
        Option<(String, String, bool)>,
    );

    fn body_by_hand(bytes: &[u8]) -> Option<ReadBody> {
        let r = read_body(bytes)?;
        let name = r.sender_name(None)?;
        let b = r.owned(name);
        body_read(b)
    }

    fn body_by_postcard(bytes: &[u8]) -> Option<ReadBody> {
        body_read(postcard::from_bytes::<Body>(bytes).ok()?)
    }

    fn body_read(b: Body) -> Option<ReadBody> {
        Some((
            *b.id.as_bytes(),
            b.sender_name.as_str().to_owned(),
            b.body,
            b.refers,
            b.quoted
                .map(|q| (q.sender_name.as_str().to_owned(), q.text, q.deleted)),
        ))
    }

    /// A body's encoding, `None` where a name is not one.
    fn body_bytes(
        name: &str,
        body: &str,
        refers: Option<u64>,
        quoted: Option<(String, String, bool)>,
    ) -> Option<Vec<u8>> {
        let quoted = match quoted {
            Some((name, text, deleted)) => Some(Box::new(Quoted {
                sender_name: Username::new(&name).ok()?,
                text,
                deleted,
            })),
            None => None,
        };
        let body = Body {
            id: MessageId::new(),
            sender_name: Username::new(name).ok()?,
            body: body.to_owned(),
            refers,
            quoted,
        };
        Some(postcard::to_allocvec(&body).unwrap())
    }

    /// Every change of one byte of a body, to every value, and every cut of
    /// its end is read by hand as postcard reads it, or refused where postcard
    /// refuses it: lengths, UTF-8, names, option tags and flags.
    #[test]
    fn a_spoiled_body_is_read_by_hand_as_postcard_reads_it() {
        let quote = || Some(("bob".to_owned(), "the quoted é".to_owned(), true));
        let bodies = [
            body_bytes("alice", "hello", None, None),
            body_bytes("a.b-c_9", "déjà vu ✓", Some(300), quote()),
            body_bytes("x", "", Some(0), None),
            body_bytes("carol", "", None, quote()),
        ];
        let mut read = 0;
        for bytes in bodies.into_iter().map(Option::unwrap) {
            for cut in 0..=bytes.len() {
                let bytes = &bytes[..cut];
                assert_eq!(body_by_hand(bytes), body_by_postcard(bytes), "{bytes:?}");
            }
            for at in 0..bytes.len() {
                for byte in 0..=u8::MAX {
                    let mut bytes = bytes.clone();
                    bytes[at] = byte;
                    let by_hand = body_by_hand(&bytes);
                    assert_eq!(by_hand, body_by_postcard(&bytes), "{bytes:?}");
                    read += usize::from(by_hand.is_some());
                }
            }
        }
        // Most changes of a byte of text still read; the test saw both kinds.
        assert!(read > 1000, "{read}");
    }

    proptest::proptest! {
        /// Every head comes out of the hand reader as postcard wrote it.
        #[test]
        fn a_head_read_by_hand_is_the_head_written(
            conv: i64, seq: u64, sender: i64, ts: i64, kind: i64, body in "\\PC{0,20}",
            line in proptest::option::of("\\PC{0,40}"),
        ) {
            let head = Head { conv, seq, sender, ts: Timestamp::from_millis(ts), kind };
            let mut event = text(head, &body, None);
            if let Some(line) = &line {
                event = with_line(event, line.as_bytes());
            }
            let bytes = postcard::to_allocvec(&event).unwrap();
            let read = by_hand(&bytes);
            proptest::prop_assert_eq!(&read, &by_postcard(&bytes));
            proptest::prop_assert_eq!(
                read.map(|r| (r.0, r.1, r.2, r.3, r.4, r.5, r.6)),
                Some((0, conv, seq, sender, ts, kind, line.map(String::into_bytes))),
            );
        }

        /// Every message event is written by hand as postcard writes it.
        #[test]
        fn a_message_written_by_hand_is_what_postcard_writes(
            conv: i64, seq: u64, sender: i64, ts: i64, kind: i64,
            line in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..300)),
            name in "[a-zA-Z0-9_.-]{1,20}",
            body in "\\PC{0,200}",
            refers: Option<u64>,
            quoted in proptest::option::of(("[a-z]{1,8}", "\\PC{0,20}", proptest::bool::ANY)),
        ) {
            let head = Head { conv, seq, sender, ts: Timestamp::from_millis(ts), kind };
            let quoted = quoted.map(|(name, text, deleted)| Box::new(Quoted {
                sender_name: Username::new(&name).unwrap(),
                text,
                deleted,
            }));
            let body = Body {
                id: MessageId::new(),
                sender_name: Username::new(&name).unwrap(),
                body,
                refers,
                quoted,
            };
            let line = line.map(|l| Line(l.into()));
            let mut by_hand = Vec::new();
            write_message(&mut by_hand, &head, &line, &body);
            let by_postcard = postcard::to_allocvec(&Event::Message { head, line, body }).unwrap();
            proptest::prop_assert_eq!(by_hand, by_postcard);
        }

        /// Every body comes out of the hand reader as postcard wrote it.
        #[test]
        fn a_body_read_by_hand_is_the_body_written(
            name in "[a-zA-Z0-9_.-]{1,20}",
            body in "\\PC{0,60}",
            refers: Option<u64>,
            quoted in proptest::option::of(("[a-z]{1,8}", "\\PC{0,20}", proptest::bool::ANY)),
        ) {
            if let Some(bytes) = body_bytes(&name, &body, refers, quoted.clone()) {
                let read = body_by_hand(&bytes);
                proptest::prop_assert_eq!(&read, &body_by_postcard(&bytes));
                let read = read.map(|r| (r.1, r.2, r.3, r.4));
                proptest::prop_assert_eq!(read, Some((name, body, refers, quoted)));
            }
        }

        /// On any bytes at all, the hand reader reads what postcard reads, and
        /// fails where it fails.
        #[test]
        fn on_any_bytes_the_hand_reader_agrees_with_postcard(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![0u8..0x80, 0x80u8..=0xff, proptest::strategy::Just(0xffu8)],
                0..48,
            ),
        ) {
            proptest::prop_assert_eq!(by_hand(&bytes), by_postcard(&bytes));
        }
    }
}
