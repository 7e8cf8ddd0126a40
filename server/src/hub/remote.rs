//! A node of a cluster: what it tells the other nodes after each commit, and
//! how it takes in what they did.
//!
//! PostgreSQL is the truth; these events only say that something happened.
//! Each node keeps the whole model in memory, as a single server does, and
//! every conversation's `last_seq` there is the last message this node has
//! released to its connections: the node's sequencer. A message from another
//! node goes out only in order: the next one is taken in at once, an early
//! one waits while the gap is read from PostgreSQL (where it is sure to be:
//! a conversation's row is locked from the batch's prefetch to its commit,
//! so commit order is sequence order), and one already released is dropped.
//! A lost event costs a read, never a message: besides the gap reads, every
//! node compares its sequencers with PostgreSQL's every two seconds
//! ([`Command::Versions`]), which also finds what a node killed after its
//! commit never published.
//!
//! The single server has no bus: [`HubConfig::bus`] is `None`, no event is
//! even built, and none of this runs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use classchat_common::protocol::{FileState, GroupEvent, Role};
use classchat_common::{Conv as ConvName, MessageId, OfferId, ServerMessage, Timestamp, Username};
use serde::{Deserialize, Serialize};

use super::Command;
use super::state::{Conv, Offer, User};
use super::worker::{Batch, Worker};
use crate::ratelimit::Buckets;
use crate::store::{
    ConvFetch, ConvId, ConvKind, FileRecord, Learned, MemberRecord, MessageKind, Quoted,
    StoredEvent, StoredMessage, TokenHash, UserId, UserRecord,
};

/// A node silent this long is taken for dead: its users go offline.
const NODE_TIMEOUT: Duration = Duration::from_secs(3);

/// The most messages one gap read brings; a longer gap takes several.
const FILL_MAX: usize = 4096;

/// Where a node's events go: NATS in a cluster. Publishing never waits.
pub trait Bus: Send + Sync + std::fmt::Debug {
    /// This node's id.
    fn node(&self) -> &str;
    /// Publishes what a committed batch did, in order.
    fn publish(&self, events: Vec<Event>);
}

/// What one node tells the others. Ids are PostgreSQL's, which every node
/// shares. Encoded compactly (postcard, in `cluster.rs`): times as
/// milliseconds and message and offer ids as their 16 bytes, not as the
/// protocol's text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A message committed in a conversation: text, group event or file offer.
    /// Its head comes first so that a node can read it alone ([`Incoming`]),
    /// then the `message` line as every member but its sender is sent it,
    /// when one of them is connected to another node: that node sends the
    /// line as it is, without reading the body or encoding the line again.
    Message {
        head: Head,
        line: Option<Line>,
        body: Body,
    },
    /// A group deleted (nothing of it is kept): its members are told, with
    /// the sequence number the event would have had.
    Deleted {
        conv: i64,
        seq: u64,
        #[serde(with = "compact::id")]
        id: MessageId,
        actor: i64,
        actor_name: Username,
        #[serde(with = "compact::millis")]
        ts: Timestamp,
    },
    /// A member's cursors moved from `floor`.
    Cursor {
        conv: i64,
        user: i64,
        delivered: u64,
        read: u64,
        floor: u64,
    },
    /// An account made, or its password changed (which retires every token
    /// but `keep`).
    User {
        id: i64,
        name: Username,
        pw_hash: String,
        #[serde(with = "compact::millis")]
        created: Timestamp,
        retire_but: Option<TokenHash>,
    },
    /// A resume token made at a login.
    Token { user: i64, hash: TokenHash },
    /// A file offered: its upload is complete, and `node` has the bytes.
    Offer {
        #[serde(with = "compact::id")]
        offer: OfferId,
        conv: i64,
        sender: i64,
        name: String,
        size: u64,
        sha256: String,
        #[serde(with = "compact::millis")]
        created: Timestamp,
        #[serde(with = "compact::millis")]
        expires: Timestamp,
        seq: u64,
        recipients: Vec<(i64, FileState)>,
        node: String,
    },
    /// A recipient of an offer accepted, declined, received it, or was
    /// taken off it.
    FileState {
        #[serde(with = "compact::id")]
        offer: OfferId,
        user: i64,
        state: FileState,
    },
    /// An offer is over: the node with its bytes deletes them.
    OfferClosed {
        #[serde(with = "compact::id")]
        offer: OfferId,
    },
    /// A wrong password for `account` (its key) from `address`, which every
    /// node's login throttle counts; not the hub's.
    LoginFailed { account: String, address: IpAddr },
    /// A right password for `account`, which clears its record.
    LoginSucceeded { account: String },
    /// An account made from `address`, which every node's sign-up allowance
    /// counts; not the hub's.
    SignedUp { address: IpAddr },
    /// Who is connected to `node`: sent when it changes and every second.
    Presence { node: String, users: Vec<i64> },
    /// `node` is stopping: its users are no longer connected there.
    Leaving { node: String },
    /// A user typing in a conversation (never stored).
    Typing { conv: i64, user: i64 },
}

/// What every node reads of another node's message: enough to move the
/// conversation on (its sequencer, the sender's cursors) without the rest.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Head {
    #[serde(with = "compact::fixed")]
    pub conv: i64,
    #[serde(with = "compact::fixed")]
    pub seq: u64,
    #[serde(with = "compact::fixed")]
    pub sender: i64,
    #[serde(with = "compact::fixed")]
    pub ts: Timestamp,
    pub kind: i64,
}

/// A `message` line as the node that stored the message encoded it, newline
/// included: JSON, from a node of the same cluster, as trusted as what
/// PostgreSQL holds. On the wire, a run of bytes after its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line(pub Bytes);

impl Serialize for Line {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Line;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a line's bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Line, E> {
                Ok(Line(Bytes::copy_from_slice(v)))
            }
        }
        d.deserialize_bytes(Visitor)
    }
}

/// The rest of a message: read only on a node with a connection to show it to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Body {
    #[serde(with = "compact::id")]
    pub id: MessageId,
    pub sender_name: Username,
    pub body: String,
    /// Replies, edits and deletions: the message they refer to; a reply's
    /// quote of it.
    pub refers: Option<u64>,
    pub quoted: Option<Box<Quoted>>,
}

/// A [`Body`] as read from the wire, borrowing from it. The sender's name is
/// left as its bytes: the node has the name already and compares them with
/// it, so the name is checked and allocated, and the body copied, only as
/// needed.
#[derive(Debug)]
pub struct BodyRef<'a> {
    pub id: MessageId,
    pub sender_name: &'a [u8],
    pub body: &'a str,
    pub refers: Option<u64>,
    pub quoted: Option<Box<Quoted>>,
}

impl BodyRef<'_> {
    /// The sender's name: `known` if the bytes are that name, otherwise the
    /// bytes if they make a valid name.
    pub fn sender_name(&self, known: Option<&Username>) -> Option<Username> {
        match known {
            Some(name) if name.as_str().as_bytes() == self.sender_name => Some(name.clone()),
            _ => std::str::from_utf8(self.sender_name)
                .ok()
                .and_then(|name| Username::new(name).ok()),
        }
    }

    /// The body to keep, sent by `sender_name`.
    pub fn owned(self, sender_name: Username) -> Body {
        Body {
            id: self.id,
            sender_name,
            body: self.body.to_owned(),
            refers: self.refers,
            quoted: self.quoted,
        }
    }
}

/// One NATS message of another node's, as the link hands it to the hub: its
/// bytes, and its events, a message's line and body left where they are in
/// them, since most nodes have nobody to show a message to.
pub struct Published {
    pub payload: Bytes,
    pub events: Vec<Incoming>,
    /// The link's way to read a message's body.
    pub read: for<'a> fn(&'a [u8]) -> Option<BodyRef<'a>>,
}

impl std::fmt::Debug for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Published")
            .field("bytes", &self.payload.len())
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// An event of a [`Published`].
#[derive(Debug)]
pub enum Incoming {
    Event(Event),
    /// A message: its head read, its line (if any) and its [`Body`], encoded,
    /// where they are in the payload.
    Message {
        head: Head,
        line: Option<Range<usize>>,
        body: Range<usize>,
    },
}

impl Event {
    /// The event of an offer made on `node`.
    pub fn offer(f: &FileRecord, node: &str) -> Self {
        Event::Offer {
            offer: f.id,
            conv: f.conv.0,
            sender: f.sender.0,
            name: f.name.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            created: f.created,
            expires: f.expires,
            seq: f.seq,
            recipients: f.recipients.iter().map(|(u, s)| (u.0, *s)).collect(),
            node: node.to_owned(),
        }
    }

    /// The message event for a stored message.
    pub fn message(conv: ConvId, m: &StoredMessage) -> Self {
        Event::Message {
            head: Head {
                conv: conv.0,
                seq: m.seq,
                sender: m.sender.0,
                ts: m.ts,
                kind: m.kind as i64,
            },
            line: None,
            body: Body {
                id: m.id,
                sender_name: m.sender_name.clone(),
                body: m.body.clone(),
                refers: m.refers,
                quoted: m.quoted.clone(),
            },
        }
    }
}

/// What a node keeps only in a cluster.
#[derive(Debug)]
pub struct Cluster {
    pub bus: Arc<dyn Bus>,
    /// Messages that came early, per conversation, by sequence number.
    held: HashMap<ConvId, BTreeMap<u64, StoredMessage>>,
    /// Conversations being read from PostgreSQL, up to which sequence number.
    filling: HashMap<ConvId, u64>,
    /// Every other node heard from, and who is connected to it.
    nodes: HashMap<String, Node>,
    /// Whether this node's connected users changed since it last said.
    pub presence_changed: bool,
    /// Sends the hub's own later commands (gap reads); weak, so that it does
    /// not keep the hub running.
    pub to_hub: Option<tokio::sync::mpsc::WeakSender<Command>>,
}

#[derive(Debug)]
struct Node {
    heard: Instant,
    users: HashSet<UserId>,
}

impl Cluster {
    pub fn new(bus: Arc<dyn Bus>) -> Self {
        Self {
            bus,
            held: HashMap::new(),
            filling: HashMap::new(),
            nodes: HashMap::new(),
            presence_changed: true,
            to_hub: None,
        }
    }
}

/// What a gap read found.
#[derive(Debug)]
pub struct Filled {
    pub conv: ConvId,
    /// The conversation itself, when the node did not know it.
    pub fetched: Option<ConvFetch>,
    pub messages: Vec<StoredMessage>,
    pub failed: bool,
}

impl Worker {
    /// Whether this node is one of a cluster.
    pub(super) fn clustered(&self) -> bool {
        self.cluster.is_some()
    }

    /// Keeps `event` for the other nodes, published once the batch is committed.
    pub(super) fn announce(&self, b: &mut Batch, event: impl FnOnce() -> Event) {
        if self.cluster.is_some() {
            b.events.push(event());
        }
    }

    /// Takes in what a prefetch learned: accounts and tokens made elsewhere,
    /// conversations deleted elsewhere, and the messages other nodes stored
    /// in the conversations this batch has locked (released before the
    /// batch's own, which follow them).
    pub(super) fn learn(&mut self, b: &mut Batch, learned: Learned) {
        for u in learned.users {
            self.learn_user(&u);
        }
        for (hash, user) in learned.tokens {
            self.learn_token(user, hash);
        }
        for conv in learned.gone {
            self.forget_conv(b, conv);
        }
        for f in learned.convs {
            if !self.state.convs.contains_key(&f.conv.id) {
                self.learn_conv(f);
            }
        }
        for f in learned.offers {
            self.state
                .offers
                .entry(f.id)
                .or_insert_with(|| Offer::from_record(f));
        }
        for (conv, messages) in learned.missed {
            for m in messages {
                self.take_in(b, conv, m);
            }
        }
    }

    fn learn_user(&mut self, u: &UserRecord) {
        if let Some(known) = self.state.users.get_mut(&u.id) {
            known.password_hash = u.password_hash.as_str().into();
            return;
        }
        self.state.by_name.insert(u.name.clone(), u.id);
        let limits = Buckets::full(&self.config.rates, Instant::now());
        self.state.users.insert(u.id, User::new(u.clone(), limits));
    }

    fn learn_token(&mut self, user: UserId, hash: TokenHash) {
        if self.state.tokens.contains_key(&hash) {
            return;
        }
        if let Some(u) = self.state.users.get_mut(&user) {
            u.tokens.push_back(hash);
            self.state.tokens.insert(hash, user);
        }
    }

    fn forget_conv(&mut self, b: &mut Batch, id: ConvId) {
        self.drop_conv_offers(b, id);
        let Some(conv) = self.state.convs.remove(&id) else {
            return;
        };
        for m in conv.members {
            if let Some(u) = self.state.users.get_mut(&m.user) {
                u.convs.retain(|c| *c != id);
            }
        }
        match conv.kind {
            ConvKind::Group { name, .. } => {
                self.state.groups.remove(&name);
            }
            ConvKind::Direct { a, b } => {
                self.state.directs.remove(&(a, b));
            }
        }
        if let Some(c) = &mut self.cluster {
            c.held.remove(&id);
        }
    }

    /// An event from another node.
    pub(super) fn remote(&mut self, b: &mut Batch, event: Event) {
        match event {
            Event::Message {
                head,
                line: _,
                body,
            } => {
                let m = StoredMessage {
                    seq: head.seq,
                    id: body.id,
                    sender: UserId(head.sender),
                    sender_name: body.sender_name,
                    ts: head.ts,
                    kind: MessageKind::from_i64(head.kind),
                    body: body.body,
                    refers: body.refers,
                    edited: None,
                    quoted: body.quoted,
                    reactions: Vec::new(),
                };
                self.sequence(b, ConvId(head.conv), m);
            }
            Event::Deleted {
                conv,
                seq,
                id,
                actor: _,
                actor_name,
                ts,
            } => self.deleted_elsewhere(b, ConvId(conv), seq, id, actor_name, ts),
            Event::Cursor {
                conv,
                user,
                delivered,
                read,
                floor,
            } => {
                let (conv, user) = (ConvId(conv), UserId(user));
                let Some(m) = self.state.member_mut(conv, user) else {
                    return;
                };
                m.delivered = m.delivered.max(delivered);
                m.read = m.read.max(read);
                self.receipts_here(b, conv, user, floor, None);
            }
            Event::User {
                id,
                name,
                pw_hash,
                created,
                retire_but,
            } => {
                self.learn_user(&UserRecord {
                    id: UserId(id),
                    name,
                    password_hash: pw_hash,
                    created,
                    last_seen: None,
                });
                if let Some(keep) = retire_but
                    && let Some(u) = self.state.users.get_mut(&UserId(id))
                {
                    for t in u.tokens.iter().filter(|t| **t != keep) {
                        self.state.tokens.remove(t);
                    }
                    u.tokens.retain(|t| *t == keep);
                }
            }
            Event::Token { user, hash } => self.learn_token(UserId(user), hash),
            Event::Offer {
                offer,
                conv,
                sender,
                name,
                size,
                sha256,
                created,
                expires,
                seq,
                recipients,
                node,
            } => {
                let here = self.cluster.as_ref().is_some_and(|c| c.bus.node() == node);
                self.state.offers.entry(offer).or_insert_with(|| {
                    Offer::from_record(FileRecord {
                        id: offer,
                        conv: ConvId(conv),
                        sender: UserId(sender),
                        name,
                        size,
                        sha256,
                        created,
                        expires,
                        seq,
                        recipients: recipients
                            .into_iter()
                            .map(|(u, s)| (UserId(u), s))
                            .collect(),
                        node: (!here).then_some(node),
                    })
                });
            }
            Event::FileState { offer, user, state } => {
                let user = UserId(user);
                self.state_here(b, offer, user, state, Some(user));
            }
            Event::OfferClosed { offer } => self.closed_here(b, offer),
            // The link hands these to the login throttle, not to the hub.
            Event::LoginFailed { .. } | Event::LoginSucceeded { .. } | Event::SignedUp { .. } => {}
            Event::Presence { node, users } => {
                let users = users.into_iter().map(UserId).collect();
                self.node_says(b, node, users);
            }
            Event::Leaving { node } => self.node_gone(b, &node),
            Event::Typing { conv, user } => self.tell_typing(b, ConvId(conv), UserId(user)),
        }
    }

    /// What another node's commits did, their events in order.
    pub(super) fn incoming(&mut self, b: &mut Batch, published: Published) {
        let Published {
            payload,
            events,
            read,
        } = published;
        for event in events {
            match event {
                Incoming::Event(event) => self.remote(b, event),
                Incoming::Message { head, line, body } => {
                    self.remote_message(b, head, &payload, line, body, read);
                }
            }
        }
    }

    /// A message stored by another node. Most often nobody here is in its
    /// conversation: then the conversation moves on from its head alone, and
    /// its body is never read. When someone here is, the line the storing
    /// node encoded for them most often came with it, and goes to them as it
    /// is. Anything else (a gap, a group event, the sender's own sessions,
    /// which see the message named otherwise and with its counts) takes the
    /// whole message.
    fn remote_message(
        &mut self,
        b: &mut Batch,
        head: Head,
        payload: &[u8],
        line: Option<Range<usize>>,
        body: Range<usize>,
        read: for<'a> fn(&'a [u8]) -> Option<BodyRef<'a>>,
    ) {
        let conv = ConvId(head.conv);
        let sender = UserId(head.sender);
        let line = line.and_then(|r| payload.get(r));
        // One lookup of the conversation, and the users beside it.
        let (convs, users) = (&mut self.state.convs, &self.state.users);
        if let Some(c) = convs.get_mut(&conv) {
            if head.seq <= c.last_seq {
                // Released already (read from PostgreSQL before this came).
                return;
            }
            let here = |user: UserId| users.get(&user).map_or(&[][..], |u| &u.sessions[..]);
            let plain = c.last_seq + 1 == head.seq
                && MessageKind::from_i64(head.kind) != MessageKind::Event
                && here(sender).is_empty()
                && (line.is_some() || c.members.iter().all(|m| here(m.user).is_empty()));
            if plain {
                if let Some(line) = line {
                    let from = b.targets.len();
                    for m in c.members.iter().filter(|m| m.user != sender) {
                        b.targets.extend_from_slice(here(m.user));
                    }
                    // A copy, not a slice of the payload: a slice waiting in a
                    // slow reader's queue would keep alive the whole NATS read
                    // buffer it came in, a buffer for each line queued.
                    if b.targets.len() > from {
                        b.shared(Bytes::copy_from_slice(line), from);
                    }
                }
                c.mirror_send(sender, head.seq, head.ts);
                if self
                    .cluster
                    .as_ref()
                    .is_some_and(|c| c.held.contains_key(&conv))
                {
                    self.release_held(b, conv);
                }
                return;
            }
        }
        let read = payload.get(body).and_then(read).and_then(|r| {
            let sender_name = r.sender_name(self.state.name(sender))?;
            Some(r.owned(sender_name))
        });
        match read {
            Some(body) => self.remote(
                b,
                Event::Message {
                    head,
                    line: None,
                    body,
                },
            ),
            // Left out: the next message finds the gap and reads it from
            // PostgreSQL, as it does for a lost event.
            None => tracing::warn!(
                "ignoring message {} of conversation {} that this node cannot read",
                head.seq,
                head.conv
            ),
        }
    }

    /// Releases `m` if it is the conversation's next message; holds it, and
    /// reads the gap, if it came early; drops it if it was released already.
    fn sequence(&mut self, b: &mut Batch, conv: ConvId, m: StoredMessage) {
        let Some(last) = self.state.convs.get(&conv).map(|c| c.last_seq) else {
            // A conversation made elsewhere: read it, and its messages.
            let seq = m.seq;
            if let Some(c) = &mut self.cluster {
                c.held.entry(conv).or_default().insert(seq, m);
            }
            return self.fill(conv, 0, seq - 1, true);
        };
        if m.seq <= last {
            return;
        }
        if m.seq > last + 1 {
            let seq = m.seq;
            if let Some(c) = &mut self.cluster {
                c.held.entry(conv).or_default().insert(seq, m);
            }
            return self.fill(conv, last, seq - 1, false);
        }
        self.take_in(b, conv, m);
        self.release_held(b, conv);
    }

    /// Releases the held messages that now follow on.
    fn release_held(&mut self, b: &mut Batch, conv: ConvId) {
        loop {
            let Some(last) = self.state.convs.get(&conv).map(|c| c.last_seq) else {
                return;
            };
            let Some(held) = self.cluster.as_mut().and_then(|c| c.held.get_mut(&conv)) else {
                return;
            };
            while held.first_key_value().is_some_and(|(&s, _)| s <= last) {
                held.pop_first();
            }
            let next = held.first_key_value().map(|(&s, _)| s);
            match next {
                Some(s) if s == last + 1 => {
                    if let Some((_, m)) = held.pop_first() {
                        self.take_in(b, conv, m);
                    }
                }
                Some(s) => return self.fill(conv, last, s - 1, false),
                None => {
                    if let Some(c) = &mut self.cluster {
                        c.held.remove(&conv);
                    }
                    return;
                }
            }
        }
    }

    /// Reads `(after, upto]` of `conv` from the store off the hub, unless a
    /// read of it is under way; the answer comes back as [`Command::Filled`].
    fn fill(&mut self, conv: ConvId, after: u64, upto: u64, fetch: bool) {
        let Some(c) = &mut self.cluster else { return };
        if c.filling.contains_key(&conv) {
            return;
        }
        let Some(to_hub) = c.to_hub.as_ref().and_then(|w| w.upgrade()) else {
            return;
        };
        c.filling.insert(conv, upto);
        let reader = self.store.reader();
        tokio::task::spawn_blocking(move || {
            let fetched = if fetch { reader.conv(conv) } else { Ok(None) };
            let messages = reader.range(conv, after, upto, FILL_MAX);
            let filled = match (fetched, messages) {
                (Ok(fetched), Ok(messages)) => Filled {
                    conv,
                    failed: fetch && fetched.is_none(),
                    fetched,
                    messages,
                },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!("cannot read a gap of conversation {}: {e}", conv.0);
                    Filled {
                        conv,
                        fetched: None,
                        messages: Vec::new(),
                        failed: true,
                    }
                }
            };
            // The hub may be stopping; then nobody needs the answer.
            let _ = to_hub.blocking_send(Command::Filled(Box::new(filled)));
        });
    }

    /// A gap read came back.
    pub(super) fn filled(&mut self, b: &mut Batch, filled: Filled) {
        let Filled {
            conv,
            fetched,
            messages,
            failed,
        } = filled;
        if let Some(c) = &mut self.cluster {
            c.filling.remove(&conv);
        }
        if let Some(f) = fetched
            && !self.state.convs.contains_key(&conv)
        {
            self.learn_conv(f);
        }
        if failed {
            // Tried again by the next message or the next comparison with
            // PostgreSQL; held messages wait meanwhile.
            return;
        }
        for m in messages {
            let Some(last) = self.state.convs.get(&conv).map(|c| c.last_seq) else {
                return;
            };
            if m.seq == last + 1 {
                self.take_in(b, conv, m);
            }
        }
        self.release_held(b, conv);
    }

    /// A conversation made on another node, as stored now. Its messages are
    /// all still to be released here.
    fn learn_conv(&mut self, f: ConvFetch) {
        for u in &f.users {
            self.learn_user(u);
        }
        let id = f.conv.id;
        match &f.conv.kind {
            ConvKind::Direct { a, b } => {
                self.state.directs.insert((*a, *b), id);
            }
            ConvKind::Group { name, .. } => {
                self.state.groups.insert(name.clone(), id);
            }
        }
        let mut conv = Conv::new(id, f.conv.kind, f.conv.created, 0, None);
        conv.banned = f.bans;
        conv.pins = f.pins;
        self.state.convs.insert(id, conv);
        for m in &f.members {
            self.state.add_member_in_memory(m);
        }
    }

    /// Releases message `m` of `conv`, the one after the last released, to
    /// this node's connections, and applies what it changes (a group event
    /// changes who is in the group).
    fn take_in(&mut self, b: &mut Batch, conv_id: ConvId, m: StoredMessage) {
        let Some(conv) = self.state.convs.get(&conv_id) else {
            return;
        };
        if m.seq != conv.last_seq + 1 {
            return;
        }
        let event = match m.kind {
            MessageKind::Event => serde_json::from_str::<StoredEvent>(&m.body)
                .ok()
                .map(|e| e.event),
            MessageKind::Text
            | MessageKind::File
            | MessageKind::Edit
            | MessageKind::Delete
            | MessageKind::Deleted
            | MessageKind::React
            | MessageKind::Unreact => None,
        };
        let (sender, seq, ts) = (m.sender, m.seq, m.ts);
        // Who joins with this event sees it; who leaves sees it last.
        match &event {
            Some(GroupEvent::Joined) => self.join_here(conv_id, sender, seq, ts),
            Some(GroupEvent::Added { user }) => {
                if let Some(&id) = self.state.by_name.get(user) {
                    self.join_here(conv_id, id, seq, ts);
                }
            }
            Some(GroupEvent::Renamed { old, new }) => {
                self.state.groups.remove(old);
                self.state.groups.insert(new.clone(), conv_id);
                if let Some(c) = self.state.convs.get_mut(&conv_id)
                    && let ConvKind::Group { name, .. } = &mut c.kind
                {
                    *name = new.clone();
                }
            }
            Some(GroupEvent::Role { user, role }) => {
                let moderator = *role == Role::Moderator;
                if let Some(&id) = self.state.by_name.get(user)
                    && let Some(m) = self.state.member_mut(conv_id, id)
                {
                    m.moderator = moderator;
                }
            }
            Some(GroupEvent::Unbanned { user }) => {
                if let Some(&id) = self.state.by_name.get(user)
                    && let Some(c) = self.state.convs.get_mut(&conv_id)
                {
                    c.banned.retain(|u| *u != id);
                }
            }
            Some(GroupEvent::Access { access }) => {
                if let Some(c) = self.state.convs.get_mut(&conv_id)
                    && let ConvKind::Group { rules, .. } = &mut c.kind
                {
                    rules.access = *access;
                }
            }
            Some(GroupEvent::Pinned { seq: pinned }) => {
                if let Some(c) = self.state.convs.get_mut(&conv_id) {
                    c.pins.retain(|p| p != pinned);
                    c.pins.push(*pinned);
                }
            }
            Some(GroupEvent::Unpinned { seq: unpinned }) => {
                if let Some(c) = self.state.convs.get_mut(&conv_id) {
                    c.pins.retain(|p| p != unpinned);
                }
            }
            Some(GroupEvent::Posting { posting }) => {
                if let Some(c) = self.state.convs.get_mut(&conv_id)
                    && let ConvKind::Group { rules, .. } = &mut c.kind
                {
                    rules.posting = *posting;
                }
            }
            _ => {}
        }
        self.mirror_send(conv_id, sender, seq, ts);
        let Some(conv) = self.state.convs.get(&conv_id) else {
            return;
        };
        let Some(view) = self
            .state
            .conv_name(conv, sender)
            .or_else(|| match &conv.kind {
                ConvKind::Group { name, .. } => Some(ConvName::Group(name.clone())),
                ConvKind::Direct { .. } => None,
            })
        else {
            return;
        };
        let msg = crate::session::history::chat_message(view, m, None);
        if event.is_some() {
            self.fan_out(b, conv, None, msg);
        } else {
            self.echo_to_own_sessions(b, conv, sender, None, &msg);
            self.fan_out(b, conv, Some(sender), msg);
        }
        match event {
            Some(GroupEvent::Left) => self.leave_here(conv_id, sender),
            Some(GroupEvent::Kicked { user, banned }) => {
                if let Some(&id) = self.state.by_name.get(&user) {
                    self.leave_here(conv_id, id);
                    if banned && let Some(c) = self.state.convs.get_mut(&conv_id) {
                        c.banned.retain(|u| *u != id);
                        c.banned.push(id);
                    }
                }
            }
            Some(GroupEvent::Owner { user }) => {
                if let Some(&id) = self.state.by_name.get(&user)
                    && let Some(c) = self.state.convs.get_mut(&conv_id)
                    && let ConvKind::Group { owner, .. } = &mut c.kind
                {
                    *owner = id;
                    if let Some(m) = c.member_mut(id) {
                        m.moderator = false;
                    }
                }
            }
            _ => {}
        }
    }

    /// The conversation moves on to `seq`, as it did on the node that stored
    /// it ([`Conv::mirror_send`]).
    fn mirror_send(&mut self, conv: ConvId, sender: UserId, seq: u64, ts: Timestamp) {
        if let Some(c) = self.state.convs.get_mut(&conv) {
            c.mirror_send(sender, seq, ts);
        }
    }

    fn join_here(&mut self, conv: ConvId, user: UserId, seq: u64, ts: Timestamp) {
        let known = self
            .state
            .convs
            .get(&conv)
            .map(|c| c.member(user).is_some());
        if known != Some(false) {
            return;
        }
        self.state.add_member_in_memory(&MemberRecord {
            conv,
            user,
            joined_seq: seq - 1,
            joined_at: ts,
            delivered: seq - 1,
            read: seq - 1,
            moderator: false,
        });
    }

    fn leave_here(&mut self, conv: ConvId, user: UserId) {
        if let Some(c) = self.state.convs.get_mut(&conv) {
            c.members.retain(|m| m.user != user);
        }
        if let Some(u) = self.state.users.get_mut(&user) {
            u.convs.retain(|c| *c != conv);
        }
    }

    fn deleted_elsewhere(
        &mut self,
        b: &mut Batch,
        conv_id: ConvId,
        seq: u64,
        id: MessageId,
        from: Username,
        ts: Timestamp,
    ) {
        let Some(conv) = self.state.convs.get(&conv_id) else {
            return;
        };
        let ConvKind::Group { name, .. } = &conv.kind else {
            return;
        };
        let msg = classchat_common::protocol::ChatMessage::group_event(
            name,
            seq,
            id,
            from,
            ts,
            GroupEvent::Deleted,
        );
        self.fan_out(b, conv, None, msg);
        self.forget_conv(b, conv_id);
    }

    /// PostgreSQL's last sequence numbers: whatever this node has not
    /// released yet (a lost event, or a node killed between its commit and
    /// its publish) is read and released now.
    pub(super) fn versions(&mut self, versions: Vec<(ConvId, u64)>) {
        for (conv, upto) in versions {
            match self.state.convs.get(&conv).map(|c| c.last_seq) {
                None => self.fill(conv, 0, upto, true),
                Some(last) if last < upto => self.fill(conv, last, upto, false),
                Some(_) => {}
            }
        }
    }

    /// Another node says who is connected to it.
    fn node_says(&mut self, b: &mut Batch, node: String, users: HashSet<UserId>) {
        let Some(c) = &mut self.cluster else { return };
        if node == c.bus.node() {
            return;
        }
        let known = c.nodes.entry(node).or_insert_with(|| Node {
            heard: Instant::now(),
            users: HashSet::new(),
        });
        known.heard = Instant::now();
        let came: Vec<UserId> = users.difference(&known.users).copied().collect();
        let went: Vec<UserId> = known.users.difference(&users).copied().collect();
        known.users = users;
        self.remote_presence(b, &came, &went);
    }

    /// Nodes not heard from for [`NODE_TIMEOUT`] are dead (killed, or cut
    /// off): their users are no longer connected there.
    pub(super) fn tick(&mut self, b: &mut Batch) {
        let Some(c) = &mut self.cluster else { return };
        let now = Instant::now();
        let dead: Vec<String> = c
            .nodes
            .iter()
            .filter(|(_, n)| now.duration_since(n.heard) > NODE_TIMEOUT)
            .map(|(id, _)| id.clone())
            .collect();
        for node in dead {
            tracing::warn!(%node, "node silent; taken for dead");
            self.node_gone(b, &node);
        }
        // Said every second even without a change, so that the others know
        // this node is alive.
        if let Some(c) = &mut self.cluster {
            c.presence_changed = true;
        }
    }

    fn node_gone(&mut self, b: &mut Batch, node: &str) {
        let Some(gone) = self.cluster.as_mut().and_then(|c| c.nodes.remove(node)) else {
            return;
        };
        let went: Vec<UserId> = gone.users.into_iter().collect();
        self.remote_presence(b, &[], &went);
    }

    fn remote_presence(&mut self, b: &mut Batch, came: &[UserId], went: &[UserId]) {
        for &user in came {
            let Some(u) = self.state.users.get_mut(&user) else {
                continue;
            };
            let was = u.online();
            u.remote += 1;
            if !was {
                let name = u.name.clone();
                self.state.online.insert(name.clone());
                let msg = ServerMessage::Presence {
                    user: name,
                    online: true,
                    last_seen: None,
                };
                self.tell_contacts(b, user, &msg);
            }
        }
        for &user in went {
            let Some(u) = self.state.users.get_mut(&user) else {
                continue;
            };
            u.remote = u.remote.saturating_sub(1);
            if u.online() {
                continue;
            }
            let now = Timestamp::now();
            u.last_seen = Some(now);
            let name = u.name.clone();
            self.state.online.remove(&name);
            let msg = ServerMessage::Presence {
                user: name,
                online: false,
                last_seen: Some(now),
            };
            self.tell_contacts(b, user, &msg);
        }
    }

    /// After the model was read again from the store: who is connected to
    /// the other nodes is still known here only.
    pub(super) fn restore_remote_presence(&mut self) {
        let Some(c) = &self.cluster else { return };
        for node in c.nodes.values() {
            for user in &node.users {
                if let Some(u) = self.state.users.get_mut(user) {
                    u.remote += 1;
                    self.state.online.insert(u.name.clone());
                }
            }
        }
    }

    /// Who is connected here, for the other nodes.
    pub(super) fn presence_event(&mut self) -> Option<Event> {
        let c = self.cluster.as_mut()?;
        if !std::mem::take(&mut c.presence_changed) {
            return None;
        }
        let users = self
            .state
            .users
            .values()
            .filter(|u| !u.sessions.is_empty())
            .map(|u| u.id.0)
            .collect();
        Some(Event::Presence {
            node: c.bus.node().to_owned(),
            users,
        })
    }
}

/// Times and ids as numbers and bytes, for the events' encoding.
mod compact {
    /// A number, or a time as its milliseconds, in 8 bytes, little-endian:
    /// a message's head is read by every node, and four words are read at
    /// once where varints are read a byte at a time.
    pub mod fixed {
        use classchat_common::Timestamp;
        use serde::{Deserialize, Deserializer, Serializer};

        /// What goes in a word.
        pub trait Word: Sized {
            fn word(&self) -> [u8; 8];
            fn of(word: [u8; 8]) -> Self;
        }

        impl Word for i64 {
            fn word(&self) -> [u8; 8] {
                self.to_le_bytes()
            }
            fn of(word: [u8; 8]) -> Self {
                i64::from_le_bytes(word)
            }
        }

        impl Word for u64 {
            fn word(&self) -> [u8; 8] {
                self.to_le_bytes()
            }
            fn of(word: [u8; 8]) -> Self {
                u64::from_le_bytes(word)
            }
        }

        impl Word for Timestamp {
            fn word(&self) -> [u8; 8] {
                self.as_millis().to_le_bytes()
            }
            fn of(word: [u8; 8]) -> Self {
                Timestamp::from_millis(i64::from_le_bytes(word))
            }
        }

        // An array is a tuple to serde: postcard writes its bytes as they are.
        pub fn serialize<T: Word, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
            serde::Serialize::serialize(&v.word(), s)
        }

        pub fn deserialize<'de, T: Word, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
            <[u8; 8]>::deserialize(d).map(T::of)
        }
    }

    /// A time as its milliseconds.
    pub mod millis {
        use classchat_common::Timestamp;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_i64(t.as_millis())
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
            i64::deserialize(d).map(Timestamp::from_millis)
        }
    }

    /// A message or offer id as its 16 bytes.
    pub mod id {
        use serde::{Deserializer, Serializer};

        /// What [`classchat_common::MessageId`] and
        /// [`classchat_common::OfferId`] both are.
        pub trait Bytes16: Sized {
            fn bytes(&self) -> &[u8; 16];
            fn of(bytes: [u8; 16]) -> Self;
        }

        impl Bytes16 for classchat_common::MessageId {
            fn bytes(&self) -> &[u8; 16] {
                self.as_bytes()
            }
            fn of(bytes: [u8; 16]) -> Self {
                Self::from_bytes(bytes)
            }
        }

        impl Bytes16 for classchat_common::OfferId {
            fn bytes(&self) -> &[u8; 16] {
                self.as_bytes()
            }
            fn of(bytes: [u8; 16]) -> Self {
                Self::from_bytes(bytes)
            }
        }

        /// As bytes, not as a tuple of sixteen numbers: one call to write
        /// and to read, not sixteen.
        pub fn serialize<T: Bytes16, S: Serializer>(id: &T, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(id.bytes())
        }

        pub fn deserialize<'de, T: Bytes16, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
            d.deserialize_bytes(Sixteen).map(T::of)
        }

        struct Sixteen;

        impl serde::de::Visitor<'_> for Sixteen {
            type Value = [u8; 16];

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("16 bytes")
            }

            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                <[u8; 16]>::try_from(v).map_err(|_| E::invalid_length(v.len(), &self))
            }
        }
    }
}
