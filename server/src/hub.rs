//! The hub: who is online, every conversation's members and cursors, and the
//! routing of messages between connections.
//!
//! One thread owns all of it. Sessions send it [`Command`]s through a bounded
//! channel (a full channel makes the sender wait: backpressure, not loss). The
//! thread takes a batch of waiting commands, applies them to its in-memory state
//! while writing through the [`Store`] in one transaction, commits, and only then
//! releases what the batch produced: `stored` replies, deliveries, receipts,
//! presence. So `stored` always means durable, messages reach every member in
//! sequence order, and under load many messages share one commit.
//!
//! Lines for a connection go into its [`Outbound`] queue, which never blocks the
//! hub; a connection that falls behind is dropped and catches up on reconnect.
//!
//! Layout: [`state`] (the in-memory model), [`worker`] (the batch loop), and the
//! handlers: [`presence`] (attach, detach, presence events), [`messages`] (send,
//! acknowledge, read, receipts), [`groups`] (create, join, leave, manage, list),
//! [`files`] (offers, decisions, expiry; the bytes themselves never pass here),
//! [`queries`] (who, whois, read-by, history access), [`notices`] (what took a
//! user out of a group, kept until they acknowledge it).
//!
//! To add a request: a variant of [`Request`] (or a [`Command`], for one a
//! session answers itself), its arms in [`Request::answers`] and
//! [`Request::cost`], its handler in the module it belongs to, and its arm in
//! the worker's dispatch; the compiler points at each.

mod files;
mod groups;
mod messages;
mod notices;
mod presence;
mod queries;
pub mod remote;
mod state;
mod typing;
mod wants;
mod worker;

use std::sync::Arc;

use classchat_common::protocol::{Access, ConvSummary, Counts, FileInfo, Posting, Req, Role};
use classchat_common::{Conv, ErrorCode, GroupName, MessageId, OfferId, ServerMessage, Username};
use tokio::sync::{mpsc, oneshot};

use crate::outbound::Outbound;
use crate::ratelimit::{Class, Rates};
use crate::store::{ConvId, Reader, Store, StoreError, TokenHash, UserId};

pub use files::Decision;
pub use worker::CURSORS_WITHIN;

/// Identifies one connection inside the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(u64);

/// What the hub needs to know about an account to check its password.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: UserId,
    pub name: Username,
    pub password_hash: Arc<str>,
}

#[derive(Debug)]
pub enum Created {
    New(UserId, Username),
    /// Someone created the account first; check the password against it.
    Exists(Account),
}

/// A range of a conversation that a connection must be sent after login.
#[derive(Debug, Clone)]
pub struct CatchUp {
    pub conv_id: ConvId,
    pub conv: Conv,
    pub after: u64,
    pub upto: u64,
}

#[derive(Debug)]
pub struct Attached {
    pub session: SessionId,
    pub user: UserId,
    pub name: Username,
    /// Everything that arrived while the user was away, conversation by conversation.
    pub catch_up: Vec<CatchUp>,
    /// Lines about groups the user is no longer in, sent before the catch-up.
    pub notices: Vec<bytes::Bytes>,
}

/// One member's cursors, for counting receipts.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub user: UserId,
    pub joined: u64,
    pub delivered: u64,
    pub read: u64,
}

/// How far message `seq`, sent by `sender`, has got among the members who were
/// there when it was sent. `members` yields (user, joined, delivered, read).
pub fn tally(
    members: impl Iterator<Item = (UserId, u64, u64, u64)>,
    sender: UserId,
    seq: u64,
) -> Counts {
    let mut c = Counts {
        delivered: 0,
        read: 0,
        of: 0,
    };
    for (user, joined, delivered, read) in members {
        if user == sender || joined >= seq {
            continue;
        }
        c.of += 1;
        c.delivered += u32::from(delivered >= seq);
        c.read += u32::from(read >= seq);
    }
    c
}

/// What a session needs to read a page of a conversation itself.
#[derive(Debug, Clone)]
pub struct HistoryView {
    /// `None` when the conversation has no messages yet.
    pub conv_id: Option<ConvId>,
    /// The conversation as the requester names it.
    pub conv: Conv,
    pub last_seq: u64,
    pub members: Vec<MemberView>,
}

impl HistoryView {
    pub fn counts(&self, sender: UserId, seq: u64) -> Counts {
        tally(
            self.members
                .iter()
                .map(|m| (m.user, m.joined, m.delivered, m.read)),
            sender,
            seq,
        )
    }
}

/// A refusal: the code and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after_ms: Option<u64>,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// The same refusal, saying when trying again may succeed.
    pub fn retry_after(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }

    /// The `error` refusing the request named by `req` or `id`, about `offer`
    /// when given.
    pub fn answer(
        &self,
        req: Option<Req>,
        id: Option<MessageId>,
        offer: Option<OfferId>,
    ) -> ServerMessage {
        ServerMessage::Error {
            req,
            id,
            offer,
            code: self.code,
            message: self.message.clone(),
            retry_after_ms: self.retry_after_ms,
        }
    }

    /// The `error` for this refusal, about `offer` when given.
    pub fn to_message(&self, req: Option<Req>, offer: Option<OfferId>) -> ServerMessage {
        ServerMessage::Error {
            req,
            id: None,
            offer,
            code: self.code,
            message: self.message.clone(),
            retry_after_ms: self.retry_after_ms,
        }
    }
}

/// What a `send` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// A new message; with `Some`, a reply to that message of the conversation.
    New(Option<u64>),
    /// A new text for that message.
    Edit(u64),
    /// The end of that message.
    Delete(u64),
    /// A reaction to that message (the body).
    React(u64),
    /// The end of a reaction to that message (the body).
    Unreact(u64),
}

impl Sending {
    /// The message of the conversation it refers to.
    pub fn refers(self) -> Option<u64> {
        match self {
            Sending::New(reply) => reply,
            Sending::Edit(seq)
            | Sending::Delete(seq)
            | Sending::React(seq)
            | Sending::Unreact(seq) => Some(seq),
        }
    }
}

/// Requests of a logged-in session whose answers go out as lines on its queue,
/// in the order the requests came.
#[derive(Debug)]
pub enum Request {
    Send {
        id: MessageId,
        to: Conv,
        body: String,
        what: Sending,
    },
    Ack {
        conv: Conv,
        seq: u64,
    },
    Typing {
        to: Conv,
    },
    Read {
        req: Option<Req>,
        conv: Conv,
        seq: Option<u64>,
    },
    Who {
        req: Option<Req>,
    },
    Whois {
        req: Option<Req>,
        user: Username,
    },
    ReadBy {
        req: Option<Req>,
        id: MessageId,
    },
    Files {
        req: Option<Req>,
    },
    /// A new group, with these users in it besides its creator.
    Create {
        req: Option<Req>,
        group: GroupName,
        members: Vec<Username>,
        access: Option<Access>,
        posting: Option<Posting>,
    },
    Join {
        req: Option<Req>,
        group: GroupName,
    },
    Leave {
        req: Option<Req>,
        group: GroupName,
    },
    Groups {
        req: Option<Req>,
    },
    Members {
        req: Option<Req>,
        group: GroupName,
    },
    Rename {
        req: Option<Req>,
        group: GroupName,
        to: GroupName,
    },
    Add {
        req: Option<Req>,
        group: GroupName,
        user: Username,
    },
    Kick {
        req: Option<Req>,
        group: GroupName,
        user: Username,
    },
    Owner {
        req: Option<Req>,
        group: GroupName,
        user: Username,
    },
    Delete {
        req: Option<Req>,
        group: GroupName,
    },
    Unban {
        req: Option<Req>,
        group: GroupName,
        user: Username,
    },
    Pin {
        req: Option<Req>,
        group: GroupName,
        seq: u64,
        pinned: bool,
    },
    Role {
        req: Option<Req>,
        group: GroupName,
        user: Username,
        role: Role,
    },
    Settings {
        req: Option<Req>,
        group: GroupName,
        access: Option<Access>,
        posting: Option<Posting>,
    },
    /// A recipient's decision on an offer; the answer is a `file_status`.
    FileDecision {
        req: Option<Req>,
        offer: OfferId,
        decision: Decision,
    },
}

impl Request {
    /// What the answer (or the refusal) carries to name this request: `None`
    /// for an `ack`, which is never answered.
    pub fn answers(&self) -> Option<(Option<Req>, Option<MessageId>)> {
        match self {
            Request::Ack { .. } | Request::Typing { .. } => None,
            Request::Send { id, .. } => Some((None, Some(*id))),
            Request::Read { req, .. }
            | Request::Who { req }
            | Request::Whois { req, .. }
            | Request::ReadBy { req, .. }
            | Request::Files { req }
            | Request::Create { req, .. }
            | Request::Join { req, .. }
            | Request::Leave { req, .. }
            | Request::Groups { req }
            | Request::Members { req, .. }
            | Request::Rename { req, .. }
            | Request::Add { req, .. }
            | Request::Kick { req, .. }
            | Request::Owner { req, .. }
            | Request::Delete { req, .. }
            | Request::Unban { req, .. }
            | Request::Pin { req, .. }
            | Request::Role { req, .. }
            | Request::Settings { req, .. }
            | Request::FileDecision { req, .. } => Some((*req, None)),
        }
    }

    /// Which allowance the request takes from, and how much of it. `send` is
    /// counted by its handler, after its body is checked (PROTOCOL.md §4.3).
    pub fn cost(&self) -> Option<(Class, u32)> {
        match self {
            // `typing` is thinned out instead (hub/typing.rs).
            Request::Send { .. }
            | Request::Ack { .. }
            | Request::Read { .. }
            | Request::Typing { .. } => None,
            Request::Who { .. }
            | Request::Whois { .. }
            | Request::ReadBy { .. }
            | Request::Files { .. }
            | Request::Groups { .. }
            | Request::Members { .. } => Some((Class::Queries, 1)),
            // Each member added is an event of its own.
            Request::Create { members, .. } => Some((
                Class::Changes,
                u32::try_from(members.len())
                    .unwrap_or(u32::MAX)
                    .saturating_add(1),
            )),
            Request::Join { .. }
            | Request::Leave { .. }
            | Request::Rename { .. }
            | Request::Add { .. }
            | Request::Kick { .. }
            | Request::Owner { .. }
            | Request::Delete { .. }
            | Request::Unban { .. }
            | Request::Pin { .. }
            | Request::Role { .. } => Some((Class::Changes, 1)),
            // Each rule changed is an event of its own.
            Request::Settings {
                access, posting, ..
            } => Some((
                Class::Changes,
                u32::from(access.is_some()) + u32::from(posting.is_some()),
            )),
            Request::FileDecision { .. } => Some((Class::Files, 1)),
        }
    }
}

#[derive(Debug)]
pub enum Command {
    FindAccount {
        name: Username,
        reply: oneshot::Sender<Option<Account>>,
    },
    CreateAccount {
        name: Username,
        password_hash: String,
        reply: oneshot::Sender<Created>,
    },
    Resume {
        name: Username,
        token: TokenHash,
        reply: oneshot::Sender<Option<UserId>>,
    },
    /// A user's new password: every other token of theirs is retired.
    SetPassword {
        user: UserId,
        password_hash: String,
        keep: TokenHash,
        reply: oneshot::Sender<()>,
    },
    Attach {
        user: UserId,
        outbound: Outbound,
        new_token: Option<TokenHash>,
        reply: oneshot::Sender<Attached>,
    },
    Detach {
        session: SessionId,
    },
    Request {
        session: SessionId,
        request: Request,
    },
    History {
        session: SessionId,
        conv: Conv,
        reply: oneshot::Sender<Result<HistoryView, Refusal>>,
    },
    /// The conversations a `search` reads, as the user names them: `conv`
    /// alone, or every one the user belongs to. The store's index catches up
    /// first, so the search finds what was just stored.
    Search {
        session: SessionId,
        conv: Option<Conv>,
        reply: oneshot::Sender<Result<Vec<(ConvId, Conv)>, Refusal>>,
    },
    /// Start an upload: checks the recipient, size and quota, and reserves room.
    FileOffer {
        session: SessionId,
        offer: NewOffer,
        reply: oneshot::Sender<Result<Offered, Refusal>>,
    },
    /// The upload of an offer the hub let stream has begun, readable as it
    /// grows: post the offer now. `FileUploaded` or `FileAborted` follows.
    FilePost {
        session: SessionId,
        offer: OfferId,
    },
    /// The session has the whole file, verified, under its final name.
    FileUploaded {
        session: SessionId,
        offer: OfferId,
    },
    /// The upload failed or was cancelled; the session removed its partial file.
    FileAborted {
        offer: OfferId,
    },
    /// A recipient accepts: on success the session streams the file.
    FileAccept {
        session: SessionId,
        offer: OfferId,
        reply: oneshot::Sender<Result<Accepted, Refusal>>,
    },
    /// The sender withdraws an offer (a finished upload); answered with `file_status`.
    FileWithdraw {
        session: SessionId,
        req: Option<Req>,
        offer: OfferId,
    },
    /// Forget offers past their expiry; sent every minute.
    Sweep,
    /// Answered once everything sent before it has been applied, committed and
    /// queued: what a session waits for before its last line.
    Flush {
        reply: oneshot::Sender<()>,
    },
    /// The session's user's conversations, without unread counts (which the
    /// session counts from storage).
    Conversations {
        session: SessionId,
        reply: oneshot::Sender<Result<Vec<(ConvId, ConvSummary)>, Refusal>>,
    },
    /// Takes one request of `class` from the session's user's allowance, for
    /// a request the session answers itself (a password change).
    Take {
        session: SessionId,
        class: Class,
        reply: oneshot::Sender<Result<(), Refusal>>,
    },
    /// What another node of the cluster did: the events of one of its
    /// commits (one command for them all, not one each: every message of a
    /// cluster is taken in by every node).
    Remote(remote::Published),
    /// A gap read the hub asked for ([`remote`]).
    Filled(Box<remote::Filled>),
    /// Every conversation's last sequence number in the shared store.
    Versions(Vec<(ConvId, u64)>),
    /// A second passed: a node of a cluster says who is connected to it,
    /// and takes silent nodes for dead.
    Tick,
}

/// An offer a recipient accepted: what to download, and from which node of
/// a cluster (`None`: this one).
#[derive(Debug)]
pub struct Accepted {
    pub info: FileInfo,
    pub node: Option<String>,
}

/// What an `offer` asks for.
#[derive(Debug, Clone)]
pub struct NewOffer {
    pub to: Conv,
    /// Already made safe.
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// Post it before its bytes are in, if the server can.
    pub stream: bool,
}

/// An offer the hub took, its upload to come.
#[derive(Debug)]
pub struct Offered {
    pub id: OfferId,
    /// Its conversation, as the sender names it.
    pub conv: Conv,
    /// Posted as soon as its upload begins (`FilePost`), readable as it
    /// grows: asked for, and possible here (not across a cluster, whose other
    /// nodes could not follow the bytes).
    pub stream: bool,
}

/// The hub stopped (the server is shutting down, or its storage failed).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the server is shutting down")]
pub struct HubGone;

/// Why [`Hub::try_send`] did not send a command.
#[derive(Debug)]
pub enum Backlog {
    /// The channel is full: the command, to send by waiting.
    Full(Command),
    Gone,
}

#[derive(Debug, Clone)]
pub struct HubConfig {
    pub rates: Rates,
    /// Groups one user may own, and be a member of, at once.
    pub max_owned_groups: usize,
    pub max_memberships: usize,
    /// Open offers one user may have at once.
    pub max_open_offers: usize,
    /// Commands taken into one batch at most.
    pub max_batch: usize,
    pub max_file: u64,
    pub file_quota: u64,
    /// What one user's open offers may hold together.
    pub user_file_quota: u64,
    pub file_ttl: std::time::Duration,
    /// Where offered files' bytes are kept.
    pub blobs: crate::blobs::Blobs,
    /// The other nodes of a cluster; `None` for a single server.
    pub bus: Option<Arc<dyn remote::Bus>>,
}

/// A cheap handle to the hub, one per connection.
#[derive(Debug, Clone)]
pub struct Hub {
    tx: mpsc::Sender<Command>,
    reader: Arc<dyn Reader>,
}

/// The hub's task; join it after every [`Hub`] handle is gone.
#[derive(Debug)]
pub struct HubTask(tokio::task::JoinHandle<()>);

impl HubTask {
    pub async fn join(self) {
        let joined = self.0.await;
        if joined.is_err() {
            tracing::error!("the hub task panicked");
        }
    }
}

impl Hub {
    /// Loads the store's state and starts the hub's task (on the current
    /// Tokio runtime, so this must be called within one).
    pub async fn start(
        mut store: Box<dyn Store>,
        config: HubConfig,
    ) -> Result<(Hub, HubTask), StoreError> {
        let snapshot = store.load().await?;
        // Uploads cut short by a stop, and files of offers that ended while
        // the server was down, go.
        config
            .blobs
            .retain(&snapshot.files.iter().map(|f| f.id).collect());
        let reader = store.reader();
        let (tx, rx) = mpsc::channel(16 * 1024);
        // The first batch ends the offers whose files did not survive the
        // stop, before anyone can accept them.
        let _ = tx.try_send(Command::Sweep);
        let mut worker = worker::Worker::new(store, snapshot, config);
        worker.hear_back(tx.downgrade());
        let task = tokio::spawn(worker.run(rx));
        Ok((Hub { tx, reader }, HubTask(task)))
    }

    pub fn reader(&self) -> &Arc<dyn Reader> {
        &self.reader
    }

    pub async fn send(&self, command: Command) -> Result<(), HubGone> {
        // The channel nearly always has room. Waiting for room takes a future
        // of half a kilobyte, which would sit in every connection's state even
        // while idle, so only that rare wait is boxed.
        match self.try_send(command) {
            Ok(()) => Ok(()),
            Err(Backlog::Full(command)) => {
                Box::pin(self.tx.send(command)).await.map_err(|_| HubGone)
            }
            Err(Backlog::Gone) => Err(HubGone),
        }
    }

    /// Sends a command if the channel has room now, without waiting.
    pub fn try_send(&self, command: Command) -> Result<(), Backlog> {
        self.tx.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(command) => Backlog::Full(command),
            mpsc::error::TrySendError::Closed(_) => Backlog::Gone,
        })
    }

    /// Sends a command built around a reply channel and waits for the reply.
    pub async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, HubGone> {
        let (reply, answer) = oneshot::channel();
        self.send(command(reply)).await?;
        answer.await.map_err(|_| HubGone)
    }

    pub async fn request(&self, session: SessionId, request: Request) -> Result<(), HubGone> {
        self.send(Command::Request { session, request }).await
    }
}
