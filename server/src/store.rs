//! Durable storage behind one trait, so the hub does not care where data lives.
//!
//! The hub's task is the only writer: it calls the write methods of [`Store`] while
//! it applies a batch of commands, then [`Store::commit`] once for the whole batch.
//! Nothing the batch produced is shown to anyone until that commit returns, which
//! is what makes `stored` mean durable. A failed commit rolls the batch back.
//!
//! Reads that are not needed for the hub's own decisions (history pages, catch-up
//! after reconnect, finding a message by id) go through a [`Reader`], which
//! sessions use from blocking threads so they never stall the hub.
//!
//! Two implementations: [`sqlite::SqliteStore`] (the default) and
//! [`memory::MemoryStore`] (`--store memory`: nothing survives a restart).

pub mod client_key;
pub mod memory;
#[cfg(feature = "cluster")]
pub mod postgres;
pub mod search;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use classchat_common::protocol::{Access, FileState, Posting};
use classchat_common::{GroupName, MessageId, OfferId, Timestamp, Username};

/// A user's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// A conversation's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConvId(pub i64);

/// SHA-256 of a resume token; the token itself is never stored.
pub type TokenHash = [u8; 32];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine failed: a disk error, a full disk, a lost
    /// connection. Each engine turns its own errors into this one (for SQLite,
    /// `store/sqlite.rs`), so nothing above the store names an engine.
    #[error("database error: {0}")]
    Engine(Box<dyn std::error::Error + Send + Sync>),
    #[error("{0}")]
    Corrupt(String),
    /// The database file is gone but the data directory still holds what it described.
    #[error("{0}")]
    Missing(String),
    #[error("cannot use the data directory {path}: {cause}")]
    DataDir { path: String, cause: std::io::Error },
    /// Another server has the data directory.
    #[error("{0}")]
    InUse(String),
    /// The store asked for cannot be opened as configured.
    #[error("{0}")]
    Settings(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub name: Username,
    pub password_hash: String,
    pub created: Timestamp,
    pub last_seen: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvKind {
    /// A direct conversation; `a < b`.
    Direct { a: UserId, b: UserId },
    Group {
        name: GroupName,
        owner: UserId,
        rules: Rules,
    },
}

/// How a group is run: who may join it, who may post in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    pub access: Access,
    pub posting: Posting,
}

impl Rules {
    /// The columns a store keeps them in: 0 for the default of each.
    pub fn codes(self) -> (i16, i16) {
        let access = match self.access {
            Access::Open => 0,
            Access::Invite => 1,
        };
        let posting = match self.posting {
            Posting::Everyone => 0,
            Posting::Moderators => 1,
        };
        (access, posting)
    }

    pub fn from_codes(access: i64, posting: i64) -> Self {
        Self {
            access: if access == 1 {
                Access::Invite
            } else {
                Access::Open
            },
            posting: if posting == 1 {
                Posting::Moderators
            } else {
                Posting::Everyone
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConvRecord {
    pub id: ConvId,
    pub kind: ConvKind,
    pub created: Timestamp,
    /// The highest sequence number used in the conversation (0: none yet),
    /// and when that message was stored.
    pub last_seq: u64,
    pub last_ts: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRecord {
    pub conv: ConvId,
    pub user: UserId,
    /// The conversation's last sequence number when the member joined; receipts
    /// count the member only for later messages.
    pub joined_seq: u64,
    pub joined_at: Timestamp,
    pub delivered: u64,
    pub read: u64,
    /// Groups: a moderator (the owner is not one: owning says more).
    pub moderator: bool,
}

/// A file offer whose upload completed and that is still open.
#[derive(Debug, Clone)]
pub struct FileRecord {
    pub id: OfferId,
    pub conv: ConvId,
    pub sender: UserId,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub created: Timestamp,
    pub expires: Timestamp,
    /// The offer's message in the conversation.
    pub seq: u64,
    pub recipients: Vec<(UserId, FileState)>,
    /// The node of a cluster holding its bytes, when it is another one;
    /// `None`: this server has them. A store records the node writing it.
    pub node: Option<String>,
}

/// Everything the hub keeps in memory, read once at start.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub users: Vec<UserRecord>,
    pub tokens: Vec<(TokenHash, UserId)>,
    pub convs: Vec<ConvRecord>,
    pub members: Vec<MemberRecord>,
    /// Who is banned from which group.
    pub bans: Vec<(ConvId, UserId)>,
    /// Each group's pinned messages, in the order pinned.
    pub pins: Vec<(ConvId, u64)>,
    /// Open file offers.
    pub files: Vec<FileRecord>,
    /// What users are still to be told, oldest first.
    pub notices: Vec<NoticeRecord>,
}

/// A line a user is to be sent at each login until they acknowledge it: the
/// event that took them out of a group (removed, or the group deleted), which
/// they no longer receive as a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRecord {
    pub id: i64,
    pub user: UserId,
    /// The group, as the line names it; an `ack` of it at `seq` or later ends it.
    pub group: GroupName,
    pub seq: u64,
    /// The `message` line, as sent live.
    pub line: String,
}

/// What a stored message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Text = 0,
    /// A group-membership event.
    Event = 1,
    /// A file offer.
    File = 2,
    /// A new text for the text message it refers to.
    Edit = 3,
    /// The end of the text message it refers to.
    Delete = 4,
    /// A text message deleted: nothing of it is kept.
    Deleted = 5,
    /// A reaction (the body) to the message it refers to.
    React = 6,
    /// The end of a reaction (the body) to the message it refers to.
    Unreact = 7,
}

impl MessageKind {
    pub fn from_i64(v: i64) -> Self {
        match v {
            1 => MessageKind::Event,
            2 => MessageKind::File,
            3 => MessageKind::Edit,
            4 => MessageKind::Delete,
            5 => MessageKind::Deleted,
            6 => MessageKind::React,
            7 => MessageKind::Unreact,
            _ => MessageKind::Text,
        }
    }
}

/// How a group event is kept in a message's body: the event, and the sentence
/// written when it happened. Readers make the sentence again with the group's
/// current name; `text` is what a reader falls back on.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredEvent {
    pub event: classchat_common::protocol::GroupEvent,
    pub text: String,
}

/// How a file offer is kept in its message's body.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredFile {
    pub file: classchat_common::protocol::FileInfo,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub conv: ConvId,
    pub seq: u64,
    pub id: MessageId,
    pub sender: UserId,
    pub ts: Timestamp,
    pub kind: MessageKind,
    pub body: &'a str,
    /// Replies, edits and deletions: the message of the conversation they
    /// refer to.
    pub refers: Option<u64>,
}

/// Where an already-stored message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRef {
    pub conv: ConvId,
    pub seq: u64,
    pub ts: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    New,
    /// The sender had already stored a message with this id: here it is.
    Duplicate(MessageRef),
}

/// A stored message as readers return it.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub seq: u64,
    pub id: MessageId,
    pub sender: UserId,
    pub sender_name: Username,
    pub ts: Timestamp,
    pub kind: MessageKind,
    pub body: String,
    /// Replies, edits and deletions: the message they refer to.
    pub refers: Option<u64>,
    /// When its text was last edited.
    pub edited: Option<Timestamp>,
    /// A reply: the message it answers, as stored now.
    pub quoted: Option<Box<Quoted>>,
    /// The reactions to it, in the order first given (filled by readers).
    pub reactions: Vec<classchat_common::protocol::Reaction>,
}

/// Gives the messages of `page` (in seq order) their reactions, from rows
/// of (seq, emoji, who) in the order given.
pub fn attach_reactions(page: &mut [StoredMessage], rows: Vec<(u64, String, Username)>) {
    use classchat_common::protocol::Reaction;
    for (seq, emoji, user) in rows {
        let Ok(i) = page.binary_search_by_key(&seq, |m| m.seq) else {
            continue;
        };
        let list = &mut page[i].reactions;
        match list.iter_mut().find(|r| r.emoji == emoji) {
            Some(r) => r.users.push(user),
            None => list.push(Reaction {
                emoji,
                users: vec![user],
            }),
        }
    }
}

/// What a reply, an edit or a deletion needs to know of the message it
/// refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub sender: UserId,
    pub kind: MessageKind,
    pub body: String,
    /// Who reacted with what, in the order given.
    pub reactions: Vec<(UserId, String)>,
}

/// The message a reply answers, as a reader finds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Quoted {
    pub sender_name: Username,
    /// Its text's beginning (a file offer: the file's name); empty when deleted.
    pub text: String,
    pub deleted: bool,
}

impl Quoted {
    /// What a reply shows of message `kind` with `body` by `sender_name`.
    pub fn of(sender_name: Username, kind: MessageKind, body: &str) -> Self {
        let text = match kind {
            MessageKind::Text => classchat_common::protocol::quote_text(body),
            MessageKind::File => serde_json::from_str::<StoredFile>(body)
                .map(|f| classchat_common::protocol::quote_text(&f.file.name))
                .unwrap_or_default(),
            _ => String::new(),
        };
        Self {
            sender_name,
            text,
            deleted: kind == MessageKind::Deleted,
        }
    }
}

/// A store's answer that may have to wait for the engine (a network round
/// trip); an embedded engine answers at once.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// What a batch may ask its store while it is applied, gathered from its
/// commands beforehand, so a store across a network can answer it all in one
/// round trip before the batch instead of one per question during it
/// ([`Store::prefetch`]).
#[derive(Debug, Default)]
pub struct Wants {
    /// Messages sent with these ids may be resends: `append` and
    /// `find_message` must know whether each was stored already.
    pub messages: Vec<(UserId, MessageId)>,
    /// Offers the batch may ask about that it no longer keeps (`file_closed`).
    pub offers: Vec<OfferId>,
    /// At most how many accounts, conversations and notices the batch creates
    /// (each needs its row id at once).
    pub users: usize,
    pub convs: usize,
    pub notices: usize,
    /// Accounts the batch names that memory does not know: another node of
    /// a cluster may have made them.
    pub names: Vec<Username>,
    /// Resume tokens memory does not know (made on another node).
    pub tokens: Vec<TokenHash>,
    /// Groups the batch names that memory does not know (to create, join or
    /// rename to), and direct conversations it may open (the two accounts'
    /// names, either of which memory may not know yet): another node may
    /// have made them, or be making them now. A
    /// store shared by several nodes claims each such name, and each account
    /// name in `names`, until the commit, so that two nodes never make the
    /// same one, and answers what it finds ([`Learned::convs`]).
    pub groups: Vec<GroupName>,
    pub directs: Vec<(Username, Username)>,
    /// Conversations the batch may add messages to, with the last sequence
    /// number memory knows. A store shared by several nodes locks them until
    /// the commit (so that commit order is sequence order) and answers what
    /// other nodes added since ([`Learned::missed`]).
    pub locks: Vec<(ConvId, u64)>,
    /// Messages the batch's replies, edits and deletions refer to
    /// ([`Store::message_at`]).
    pub refs: Vec<(ConvId, u64)>,
}

impl Wants {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
            && self.offers.is_empty()
            && self.users == 0
            && self.convs == 0
            && self.notices == 0
            && self.names.is_empty()
            && self.tokens.is_empty()
            && self.groups.is_empty()
            && self.directs.is_empty()
            && self.locks.is_empty()
            && self.refs.is_empty()
    }
}

/// What a prefetch found that memory did not know: always empty for a store
/// with one writer, which memory mirrors.
#[derive(Debug, Default)]
pub struct Learned {
    pub users: Vec<UserRecord>,
    pub tokens: Vec<(TokenHash, UserId)>,
    /// Messages other nodes stored in locked conversations after what memory
    /// knew, oldest first per conversation.
    pub missed: Vec<(ConvId, Vec<StoredMessage>)>,
    /// Locked conversations that no longer exist (deleted on another node).
    pub gone: Vec<ConvId>,
    /// Claimed groups and direct conversations that another node made: now
    /// locked, their messages all in `missed`.
    pub convs: Vec<ConvFetch>,
    /// Open offers the batch asks about that memory does not know (made on
    /// another node, which has not said so yet).
    pub offers: Vec<FileRecord>,
}

/// A conversation as stored now, with its members and their accounts: what a
/// node learns of a conversation another node made.
#[derive(Debug, Clone)]
pub struct ConvFetch {
    pub conv: ConvRecord,
    pub members: Vec<MemberRecord>,
    pub users: Vec<UserRecord>,
    /// Who is banned from it (a group).
    pub bans: Vec<UserId>,
    /// Its pinned messages, in the order pinned.
    pub pins: Vec<u64>,
}

/// The hub's view of storage. Write methods join the batch's transaction, which
/// [`Store::commit`] makes durable or [`Store::rollback`] undoes.
///
/// A batch runs in three steps: [`Store::prefetch`] (may wait), then the
/// batch's commands, which call the write and lookup methods (never wait:
/// an embedded engine does the work at once, a network one answers from what
/// it prefetched and keeps the writes for the commit), then [`Store::commit`]
/// (may wait).
pub trait Store: Send + 'static {
    fn load(&mut self) -> Pending<'_, Snapshot>;

    /// Whether the hub must gather a batch's [`Wants`] and call
    /// [`Store::prefetch`] before applying it. An embedded engine answers
    /// lookups at once and needs no such step.
    fn needs_prefetch(&self) -> bool {
        false
    }

    /// Learns, before a batch is applied, everything the batch may ask, and
    /// answers what memory must learn first.
    fn prefetch<'a>(&'a mut self, wants: &'a Wants) -> Pending<'a, Learned> {
        let _ = wants;
        Box::pin(std::future::ready(Ok(Learned::default())))
    }

    fn create_user(
        &mut self,
        name: &Username,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<UserId>;
    fn set_last_seen(&mut self, user: UserId, at: Timestamp) -> Result<()>;
    fn set_password(&mut self, user: UserId, password_hash: &str) -> Result<()>;
    fn add_token(&mut self, user: UserId, token: &TokenHash, now: Timestamp) -> Result<()>;
    fn remove_token(&mut self, token: &TokenHash) -> Result<()>;

    fn create_conv(&mut self, kind: &ConvKind, now: Timestamp) -> Result<ConvId>;
    fn add_member(&mut self, member: &MemberRecord) -> Result<()>;
    fn remove_member(&mut self, conv: ConvId, user: UserId) -> Result<()>;
    /// Writes a group's name, owner and rules as `kind` has them now.
    fn update_group(&mut self, conv: ConvId, kind: &ConvKind) -> Result<()>;
    /// Makes a member a moderator, or not.
    fn set_moderator(&mut self, conv: ConvId, user: UserId, moderator: bool) -> Result<()>;
    /// Bans `user` from a group, or lifts the ban.
    fn set_banned(&mut self, conv: ConvId, user: UserId, banned: bool) -> Result<()>;
    /// Pins message `seq` of a group (after those pinned before), or unpins it.
    fn set_pinned(&mut self, conv: ConvId, seq: u64, pinned: bool) -> Result<()>;
    /// Deletes a conversation with its members, bans and messages.
    fn delete_conv(&mut self, conv: ConvId) -> Result<()>;
    fn set_cursors(&mut self, conv: ConvId, user: UserId, delivered: u64, read: u64) -> Result<()>;
    /// Records a notice for `user`; returns its id.
    fn add_notice(&mut self, user: UserId, group: &GroupName, seq: u64, line: &str) -> Result<i64>;
    fn remove_notice(&mut self, id: i64) -> Result<()>;

    /// Appends a message, unless its sender already stored one with the same id.
    fn append(&mut self, msg: &NewMessage<'_>) -> Result<Appended>;
    /// Message `seq` of a conversation, as stored now, this batch's writes
    /// included (a store shared by several nodes answers from what it
    /// prefetched: [`Wants::refs`]).
    fn message_at(&mut self, conv: ConvId, seq: u64) -> Result<Option<Target>>;
    /// Gives text message `seq` a new text, edited at `at`.
    fn edit_message(&mut self, conv: ConvId, seq: u64, body: &str, at: Timestamp) -> Result<()>;
    /// Deletes text message `seq`: its row stays, as a tombstone, and its
    /// text is gone, with every edit's copy of it and its reactions.
    fn erase_message(&mut self, conv: ConvId, seq: u64) -> Result<()>;
    /// Adds `user`'s reaction `emoji` to message `seq`, or takes it off.
    fn set_reaction(
        &mut self,
        conv: ConvId,
        seq: u64,
        user: UserId,
        emoji: &str,
        on: bool,
    ) -> Result<()>;

    /// Whether messages were stored that a search cannot find yet: a store
    /// that indexes text apart from storing it (SQLite, so that indexing
    /// stays off the path of each message) catches up when the hub is idle,
    /// and before each search ([`Store::index_for_search`]).
    fn search_backlog(&self) -> bool {
        false
    }

    /// Indexes up to about `budget` stored messages for search, joining the
    /// batch's transaction; answers whether some are left.
    fn index_for_search(&mut self, budget: usize) -> Result<bool> {
        let _ = budget;
        Ok(false)
    }

    /// Records a completed upload and its recipients.
    fn add_file(&mut self, file: &FileRecord) -> Result<()>;
    fn set_file_state(&mut self, offer: OfferId, user: UserId, state: FileState) -> Result<()>;
    /// The offer is over; it stays known (as over) so late answers say so.
    fn close_file(&mut self, offer: OfferId) -> Result<()>;
    /// Whether `offer` existed and is over (as opposed to never having existed).
    fn file_closed(&mut self, offer: OfferId) -> Result<bool>;
    fn find_message(&mut self, sender: UserId, id: MessageId) -> Result<Option<MessageRef>>;

    /// Whether a failure of the engine can pass (a database across a network
    /// that restarts): the hub then waits for it instead of stopping.
    fn may_come_back(&self) -> bool {
        false
    }

    /// Makes the batch's writes durable; `stored` is said only after this.
    fn commit(&mut self) -> Pending<'_, ()>;
    /// Undoes the batch's writes (and, for a shared store, releases its locks).
    fn rollback(&mut self) -> Pending<'_, ()>;

    fn reader(&self) -> Arc<dyn Reader>;

    /// The hub has stopped for good: the store is let go, after its last
    /// commit or rollback. A database closes its files.
    fn close(self: Box<Self>) {}
}

/// Reads of committed data, callable from any thread.
pub trait Reader: Send + Sync + std::fmt::Debug {
    /// Messages with `after < seq <= upto`, oldest first, at most `limit`.
    fn range(
        &self,
        conv: ConvId,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>>;
    /// The newest messages with `seq < before`, at most `limit`, oldest first.
    fn before(&self, conv: ConvId, before: u64, limit: usize) -> Result<Vec<StoredMessage>>;
    /// How many text messages not sent by `user` come after `after`.
    fn count_unread(&self, conv: ConvId, after: u64, user: UserId) -> Result<u64>;
    /// The text messages of `convs` that have every word of `query`, newest
    /// first (ties: by conversation, then sequence number, descending), from
    /// below `before`, at most `limit`; as stored now (current texts, no
    /// deleted ones), with quotes but without reactions.
    fn search(
        &self,
        query: &search::Query,
        convs: &[ConvId],
        before: Option<search::Cursor>,
        limit: usize,
    ) -> Result<Vec<(ConvId, StoredMessage)>>;
    /// Where a recorded offer stands: whether it is over, and each recipient's
    /// state. `None` for an offer never recorded.
    fn offer_outcome(&self, offer: OfferId) -> Result<Option<OfferOutcome>>;

    /// A conversation with its members, as stored now. Only a store shared
    /// by several nodes is asked (a node learning what another made); one
    /// with a single writer has it all in memory already.
    fn conv(&self, conv: ConvId) -> Result<Option<ConvFetch>> {
        let _ = conv;
        Ok(None)
    }

    /// Every conversation's last sequence number, for a node of a cluster
    /// to find what it was never told. Empty for a single writer.
    fn versions(&self) -> Result<Vec<(ConvId, u64)>> {
        Ok(Vec::new())
    }

    /// Writes a consistent copy of everything stored to `to`, a file that
    /// must not exist yet, while the server goes on (`classchat-server
    /// backup`). Only the SQLite store makes one.
    fn backup(&self, to: &std::path::Path) -> Result<()> {
        let _ = to;
        Err(StoreError::Settings(
            "only the SQLite store is backed up by the server: back up PostgreSQL with \
             pg_dump; the memory store keeps nothing"
                .into(),
        ))
    }
}

/// A recorded offer as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferOutcome {
    pub over: bool,
    pub recipients: Vec<(UserId, FileState)>,
}
