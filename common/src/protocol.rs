//! The messages of the ClassChat protocol, in both directions.
//!
//! Each message is one JSON object on one line, with a `type` field naming it.
//! Fields marked optional may be left out; unknown fields are ignored, so either
//! side may add fields in a later version without breaking the other.
//! docs/PROTOCOL.md describes every message with an example; keep the two together.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::ids::{MessageId, OfferId, Timestamp};
use crate::names::{Conv, GroupName, Username};

mod fast;

/// A request id chosen by the client. Replies and errors carry it back, so a
/// client can match them to what it asked.
pub type Req = u64;

/// A password or token: shown as `***` by `Debug`, so it never lands in a log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// First on every connection.
    Hello {
        version: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
    },
    /// Second: log in with a password (creating the account if the name is new),
    /// or resume with a token from an earlier `logged_in`.
    Login {
        user: Username,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Secret>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<Secret>,
        /// Whether a name without an account creates one (the default). With
        /// `false`, such a name is refused `unknown_user`, so a client can
        /// tell its user that continuing creates an account.
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        create: bool,
    },
    /// Change your own password. Answered with `password_changed`; your other
    /// logins' tokens stop working, this connection's goes on.
    Password {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        old: Secret,
        new: Secret,
    },
    /// Send a message. Answered with `stored`, or `error` carrying the same `id`.
    /// With `reply_to`, a reply quoting that message of the conversation; with
    /// `edit`, a new text for a message of yours; with `delete` (and an empty
    /// `body`), the end of one (yours, or any in a group you own or moderate);
    /// with `react` or `unreact`, your reaction `body` (an emoji) to one, or
    /// its removal. These are messages of the conversation too, delivered and
    /// resent like any other.
    Send {
        id: MessageId,
        to: Conv,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        edit: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delete: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        react: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unreact: Option<u64>,
    },
    /// "I have received everything in `conv` up to `seq`." Cumulative; no reply.
    Ack {
        conv: Conv,
        seq: u64,
    },
    /// "I have read everything in `conv` up to `seq`" (without `seq`: up to what
    /// this user's clients have received). Answered with `read_marked`.
    Read {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        conv: Conv,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// A page of a conversation: the newest messages, those before `before`, or
    /// those after `after`. Answered with `history`.
    History {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        conv: Conv,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Messages with these words in the conversations the user belongs to
    /// (or in `conv` alone), newest first; `before` continues from where an
    /// earlier page's `next` left off. Answered with `search`.
    Search {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        words: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conv: Option<Conv>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Who is online. Answered with `who`.
    Who {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
    },
    /// One user: online, or when last seen. Answered with `user`.
    Whois {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        user: Username,
    },
    /// Who has received and read one of your messages. Answered with `read_by`.
    ReadBy {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        id: MessageId,
    },
    /// Your conversations, with unread counts. Answered with `conversations`.
    Conversations {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
    },
    /// Create a group; you become its owner and first member, and the users in
    /// `members` (at most [`CREATE_MEMBERS_MAX`](crate::limits::CREATE_MEMBERS_MAX))
    /// join it at once. Answered with `group`. Without `access`, a group
    /// created with members is `invite` only, one created alone `open`.
    Create {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        members: Vec<Username>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        access: Option<Access>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        posting: Option<Posting>,
    },
    /// Join a group: an `open` one you are not banned from. Answered with `group`.
    Join {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
    },
    /// Leave a group. Answered with `group`.
    Leave {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
    },
    /// Every group on the server. Answered with `groups`.
    Groups {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
    },
    /// A group's members. Answered with `members`.
    Members {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
    },
    /// Owner only: give the group a new name. Answered with `group`.
    Rename {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        to: GroupName,
    },
    /// Owner or moderator: make a user who is not banned a member. Answered with `group`.
    Add {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        user: Username,
    },
    /// Owner or moderator: remove a member and ban them until the owner
    /// lifts it (`unban`). A moderator may not remove the owner or another
    /// moderator. Answered with `group`.
    Kick {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        user: Username,
    },
    /// Owner only: hand ownership to another member. Answered with `group`.
    Owner {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        user: Username,
    },
    /// Owner only: delete the group and its history. Answered with `group_deleted`.
    Delete {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
    },
    /// Owner or moderator: pin message `seq` of the group, for its members
    /// to find (at most [`PINS_MAX`](crate::limits::PINS_MAX)). Answered
    /// with `group`.
    Pin {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        seq: u64,
    },
    /// Owner or moderator: unpin message `seq`. Answered with `group`.
    Unpin {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        seq: u64,
    },
    /// Owner only: lift a ban, so the user may join or be added again.
    /// Answered with `group`.
    Unban {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        user: Username,
    },
    /// Owner only: make a member a moderator, or a moderator a member again.
    /// Answered with `group`.
    Role {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        user: Username,
        role: Role,
    },
    /// Owner only: change who may join and who may post (either or both).
    /// Answered with `group`.
    Settings {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        access: Option<Access>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        posting: Option<Posting>,
    },
    /// Offer a file to a user or group: name, size and SHA-256 (hex) first,
    /// then its bytes in `chunk`s. Answered with `upload_ready`. With
    /// `stream`, the offer is posted at once and recipients may download
    /// while the bytes are still arriving (the server may decline: see
    /// `upload_ready`).
    Offer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        to: Conv,
        name: String,
        size: u64,
        sha256: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        stream: bool,
    },
    /// Bytes of an offer being uploaded, in order: `offset` is how many came before.
    Chunk {
        offer: OfferId,
        offset: u64,
        /// Base64 (standard alphabet, padded).
        data: String,
    },
    /// Take an offered file. Answered with `download`, then `file_chunk`s;
    /// with `bulk`, `download` carries a token and the bytes come on a
    /// connection of their own (`get`) instead.
    Accept {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        offer: OfferId,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        bulk: bool,
    },
    /// "I have the first `received` bytes of this download": opens the window.
    FileAck {
        offer: OfferId,
        received: u64,
    },
    /// The whole file arrived and its SHA-256 matched. Answered with `file_status`.
    Received {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        offer: OfferId,
    },
    /// Refuse an offered file. Answered with `file_status`.
    Decline {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        offer: OfferId,
    },
    /// Stop a transfer: the sender's upload (or the whole offer), or the
    /// receiver's download (the offer stays open to accept later).
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        offer: OfferId,
    },
    /// Offers to you and from you that are still open. Answered with `files`.
    Files {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
    },
    /// "I am typing in `to`." Not answered and never stored: the other
    /// members' connections get `typing`, at most once every
    /// [`TYPING_EVERY_MS`](crate::limits::TYPING_EVERY_MS) per user and
    /// conversation; more often is dropped.
    Typing {
        to: Conv,
    },
    Ping,
    Pong,
    /// Log out: the server answers `bye` and closes the connection.
    Bye,
    /// The first line of a bulk connection: the raw bytes of an upload
    /// follow, from the `offset` the server's `transfer` names.
    Put {
        token: String,
    },
    /// The first line of a bulk connection: send the file's bytes from
    /// `offset` on, raw, then close.
    Get {
        token: String,
        #[serde(default)]
        offset: u64,
    },
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// The limits a server announces in `welcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_frame: usize,
    pub max_body: usize,
    pub max_name: usize,
    /// The shortest password a new account or a password change may have, in
    /// characters (0 from a server that does not say).
    #[serde(default)]
    pub min_password: usize,
    pub history_page: u32,
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    pub ping_secs: u64,
    /// The largest file one may offer, in bytes.
    pub max_file: u64,
    /// The most file bytes in one chunk, before base64.
    pub file_chunk: usize,
    /// Chunks in flight per transfer before an acknowledgement is needed.
    pub file_window: usize,
}

/// How far one of your messages has got: among the `of` members it was sent to,
/// how many have received it and how many have read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub delivered: u32,
    pub read: u32,
    pub of: u32,
}

/// A message in a conversation, as delivered live and in `history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The conversation, as the receiver names it: the other user, or `#group`.
    pub conv: Conv,
    pub seq: u64,
    pub id: MessageId,
    pub from: Username,
    pub ts: Timestamp,
    pub body: String,
    /// Set on the messages a group's membership changes leave in its history;
    /// `body` then describes the event for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<GroupEvent>,
    /// Set on a file offer; `body` then describes it for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
    /// Only on your own messages in `history`: how far they have got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// A reply: the message it answers, as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Box<Quote>>,
    /// This line changes message `edit` of the conversation: its text is
    /// now `body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<u64>,
    /// This line deletes message `delete` of the conversation (`from` is
    /// who deleted it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<u64>,
    /// The message's text was edited, last at this time; `body` is the new text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<Timestamp>,
    /// The message was deleted: `body` is empty, and nothing of it is kept.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// This line adds `from`'s reaction `body` to message `react`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub react: Option<u64>,
    /// This line takes `from`'s reaction `body` off message `unreact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreact: Option<u64>,
    /// In `history` and catch-up: the reactions to the message, each with
    /// who reacted, in the order first given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
}

impl ChatMessage {
    /// A message with `body` and nothing else: no event, file, reply, change
    /// or reactions (set those after).
    pub fn new(
        conv: Conv,
        seq: u64,
        id: MessageId,
        from: Username,
        ts: Timestamp,
        body: String,
    ) -> Self {
        Self {
            conv,
            seq,
            id,
            from,
            ts,
            body,
            event: None,
            file: None,
            counts: None,
            reply: None,
            edit: None,
            delete: None,
            edited: None,
            deleted: false,
            react: None,
            unreact: None,
            reactions: Vec::new(),
        }
    }

    /// The message a membership `event` of `group` leaves, described for
    /// people as `from` did it.
    pub fn group_event(
        group: &GroupName,
        seq: u64,
        id: MessageId,
        from: Username,
        ts: Timestamp,
        event: GroupEvent,
    ) -> Self {
        let body = event.describe(&from, group);
        Self {
            event: Some(event),
            ..Self::new(Conv::Group(group.clone()), seq, id, from, ts, body)
        }
    }
}

/// One kind of reaction to a message, and who gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub users: Vec<Username>,
}

/// The beginning of a message's text, as a reply quotes it: at most
/// [`QUOTE_CHARS`](crate::limits::QUOTE_CHARS) characters.
pub fn quote_text(body: &str) -> String {
    match body.char_indices().nth(crate::limits::QUOTE_CHARS) {
        Some((end, _)) => body[..end].to_owned(),
        None => body.to_owned(),
    }
}

/// The message a reply answers: who wrote it and how it begins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub seq: u64,
    pub from: Username,
    /// Its text as it is now, at most [`QUOTE_CHARS`](crate::limits::QUOTE_CHARS)
    /// characters; empty when deleted (or not text: a file offer's name).
    pub text: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
}

/// What a file offer carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub offer: OfferId,
    /// Already made safe by the server; clients make it safe again before saving.
    pub name: String,
    pub size: u64,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// When the server forgets the offer.
    pub expires: Timestamp,
    /// Where the offer stands: only on offers in `history`, so that whoever
    /// was away when recipients decided still learns how it went.
    /// Boxed: a file offer travels inside every chat message, and this is
    /// rarely there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Box<FileOutcome>>,
}

/// Where an offer stands, as `history` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileOutcome {
    /// Across its recipients.
    pub counts: FileCounts,
    /// Where you stand with it, if you are one of its recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<FileState>,
    /// Nobody is left to decide or download: every recipient received or
    /// declined it, or it was withdrawn, or it expired.
    pub over: bool,
}

/// Where a recipient stands with an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Waiting for the recipient to decide.
    Pending,
    /// Accepted; the download has started (or was interrupted).
    Accepted,
    Declined,
    /// Downloaded and verified.
    Received,
    /// The sender withdrew the offer.
    Cancelled,
    /// Nobody decided in time.
    Expired,
}

/// How an offer stands across its recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileCounts {
    /// Accepted, including those who then received it.
    pub accepted: u32,
    pub declined: u32,
    pub received: u32,
    pub of: u32,
}

impl FileCounts {
    /// The counts of an offer whose recipients stand at `states`.
    pub fn tally(states: impl IntoIterator<Item = FileState>) -> Self {
        let mut c = Self::default();
        for state in states {
            c.of += 1;
            match state {
                FileState::Accepted => c.accepted += 1,
                FileState::Declined => c.declined += 1,
                FileState::Received => {
                    c.accepted += 1;
                    c.received += 1;
                }
                FileState::Pending | FileState::Cancelled | FileState::Expired => {}
            }
        }
        c
    }
}

/// One recipient of an offer of yours, in `files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub user: Username,
    pub state: FileState,
}

/// An open offer, in `files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferSummary {
    #[serde(flatten)]
    pub file: FileInfo,
    /// The conversation, as you name it.
    pub conv: Conv,
    pub from: Username,
    /// Offers to you: where you stand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<FileState>,
    /// Offers from you: where each recipient stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<Recipient>,
}

/// A change to a group, recorded in its history. The message's `from` is who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GroupEvent {
    Created,
    Joined,
    Left,
    Added {
        user: Username,
    },
    /// `user` was removed; `banned`: until the owner lifts it (every
    /// removal since groups had bans; absent in older histories).
    Kicked {
        user: Username,
        #[serde(default, skip_serializing_if = "is_false")]
        banned: bool,
    },
    /// The ban on `user` was lifted.
    Unbanned {
        user: Username,
    },
    /// `user`'s role is now `role` (`moderator` or `member`).
    Role {
        user: Username,
        role: Role,
    },
    /// Who may join is now `access`.
    Access {
        access: Access,
    },
    /// Who may post is now `posting`.
    Posting {
        posting: Posting,
    },
    /// Message `seq` was pinned.
    Pinned {
        seq: u64,
    },
    /// Message `seq` was unpinned.
    Unpinned {
        seq: u64,
    },
    Renamed {
        old: GroupName,
        new: GroupName,
    },
    /// `user` is the owner now (handed over, or inherited when the owner left).
    Owner {
        user: Username,
    },
    Deleted,
}

impl GroupEvent {
    /// The sentence shown for this event, done by `actor` in `group`.
    pub fn describe(&self, actor: &Username, group: &GroupName) -> String {
        match self {
            GroupEvent::Created => format!("{actor} created #{group}"),
            GroupEvent::Joined => format!("{actor} joined #{group}"),
            GroupEvent::Left => format!("{actor} left #{group}"),
            GroupEvent::Added { user } => format!("{actor} added {user} to #{group}"),
            GroupEvent::Kicked {
                user,
                banned: false,
            } => format!("{actor} removed {user} from #{group}"),
            GroupEvent::Kicked { user, banned: true } => {
                format!("{actor} removed {user} from #{group}; banned until the owner lifts it")
            }
            GroupEvent::Unbanned { user } => {
                format!("{actor} lifted the ban on {user} in #{group}")
            }
            GroupEvent::Role {
                user,
                role: Role::Moderator,
            } => format!("{actor} made {user} a moderator of #{group}"),
            GroupEvent::Role { user, .. } => {
                format!("{user} is no longer a moderator of #{group}")
            }
            GroupEvent::Access {
                access: Access::Open,
            } => format!("{actor} opened #{group}: anyone may join"),
            GroupEvent::Access {
                access: Access::Invite,
            } => format!("{actor} made #{group} invite-only"),
            GroupEvent::Posting {
                posting: Posting::Everyone,
            } => format!("{actor} let every member of #{group} post"),
            GroupEvent::Pinned { .. } => format!("{actor} pinned a message in #{group}"),
            GroupEvent::Unpinned { .. } => format!("{actor} unpinned a message in #{group}"),
            GroupEvent::Posting {
                posting: Posting::Moderators,
            } => format!(
                "{actor} made #{group} an announcement group: only the owner and moderators post"
            ),
            GroupEvent::Renamed { old, new } => format!("{actor} renamed #{old} to #{new}"),
            GroupEvent::Owner { user } => format!("{user} is now the owner of #{group}"),
            GroupEvent::Deleted => format!("{actor} deleted #{group}"),
        }
    }
}

/// One of your conversations, in `conversations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvSummary {
    pub conv: Conv,
    /// The newest message's sequence number (0: none yet) and time.
    pub last_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ts: Option<Timestamp>,
    /// Your cursors: received up to, read up to.
    pub delivered: u64,
    pub read: u64,
    /// Messages from others after your read cursor.
    pub unread: u64,
    /// Direct conversations: whether the other user is online, or when last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    /// Groups: how many members, and who owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Username>,
    /// Groups: who may post, and your role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posting: Option<Posting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Groups: the sequence numbers of its pinned messages, in the order pinned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<u64>,
}

/// A group as `group` and `groups` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    pub group: GroupName,
    pub owner: Username,
    /// How many members it has.
    pub members: u32,
    /// Whether you are one of them.
    pub member: bool,
    pub created: Timestamp,
    /// Who may join, and who may post.
    #[serde(default)]
    pub access: Access,
    #[serde(default)]
    pub posting: Posting,
    /// Your role in it, if you are a member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Whether you are banned from it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub banned: bool,
    /// The sequence numbers of its pinned messages, in the order pinned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<u64>,
}

/// Who may join a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone who is not banned, with `join`.
    #[default]
    Open,
    /// Only those the owner or a moderator adds.
    Invite,
}

/// Who may post (messages and files) in a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Posting {
    #[default]
    Everyone,
    /// An announcement group: the owner and moderators post, members read
    /// (and react).
    Moderators,
}

/// A member's role in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: also rename, delete, settings, roles, unban.
    Owner,
    /// Add, remove (and ban) members who are not moderators; post in an
    /// announcement group.
    Moderator,
    Member,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One member, in `members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub user: Username,
    pub owner: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub moderator: bool,
    pub online: bool,
    /// When they were last connected; absent while online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    /// When they joined the group.
    pub joined: Timestamp,
}

/// One member's state for one message, in `read_by`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    pub user: Username,
    pub delivered: bool,
    pub read: bool,
}

/// What a server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(
    clippy::large_enum_variant,
    reason = "`message` is by far the most common line; boxing it would cost an allocation \
              per message at both ends, for values that live only until encoded or handled"
)]
pub enum ServerMessage {
    /// The answer to `hello`.
    Welcome {
        version: u32,
        server: String,
        limits: Limits,
    },
    /// The answer to a successful `login`. `token` resumes this login later.
    LoggedIn {
        user: Username,
        created: bool,
        token: Secret,
        server_time: Timestamp,
    },
    /// Your password is now the new one.
    PasswordChanged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
    },
    /// Everything that waited for you while you were away has been sent.
    Synced {
        messages: u64,
    },
    /// Your message `id` is durably stored as `seq` in `conv`. Of the `of`
    /// recipients, `online` are connected now; for a direct message to someone
    /// offline, `last_seen` says when they were last connected.
    Stored {
        id: MessageId,
        conv: Conv,
        seq: u64,
        ts: Timestamp,
        of: u32,
        online: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<Timestamp>,
        /// Set when this `id` had been stored before: this is the original.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    /// A message for you (or one you sent, echoed to your other sessions).
    Message(ChatMessage),
    /// Member `user` of `conv` has now received everything up to `delivered` and
    /// read everything up to `read`. Counts for messages after `joined` only.
    Receipt {
        conv: Conv,
        user: Username,
        joined: u64,
        delivered: u64,
        read: u64,
    },
    /// A user you share a conversation with came online or went offline.
    Presence {
        user: Username,
        online: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<Timestamp>,
    },
    /// A page of `conv`, oldest first. `more` says whether older messages exist
    /// (for `before` and newest-first pages) or newer ones (for `after` pages).
    History {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        conv: Conv,
        messages: Vec<ChatMessage>,
        more: bool,
    },
    /// Messages found by a `search`, newest first, each with its `conv`;
    /// `next` (present when there are more) is the `before` of the next page.
    Search {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        messages: Vec<ChatMessage>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    /// Who is online: up to 1000 names, sorted, and how many there are in all.
    Who {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        online: Vec<Username>,
        total: usize,
    },
    /// How many users are online in all, as `who` counts them: sent to every
    /// connection when the number changed, at most about once a second.
    Online {
        total: usize,
    },
    /// `user` is typing in `conv`: show it for a few seconds.
    Typing {
        conv: Conv,
        user: Username,
    },
    /// One user.
    User {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        user: Username,
        online: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<Timestamp>,
        since: Timestamp,
    },
    /// The state of one of your messages, member by member.
    ReadBy {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        id: MessageId,
        conv: Conv,
        seq: u64,
        counts: Counts,
        members: Vec<MemberState>,
    },
    /// A group after your `create`, `join`, `leave`, `rename`, `add`, `kick`,
    /// `owner`, `unban`, `role` or `settings`.
    Group {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        #[serde(flatten)]
        info: GroupInfo,
    },
    /// The group is gone, with its history.
    GroupDeleted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
    },
    /// Every group, sorted by name: the first 1000, and how many there are.
    Groups {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        groups: Vec<GroupInfo>,
        total: usize,
    },
    /// A group's members, sorted by name: the first 1000, and how many there are.
    Members {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        group: GroupName,
        owner: Username,
        members: Vec<MemberInfo>,
        total: usize,
        /// Who is banned, sorted by name (told to the owner and moderators only).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        banned: Vec<Username>,
    },
    /// Your conversations, most recently active first: the first 500, and how
    /// many there are.
    Conversations {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        conversations: Vec<ConvSummary>,
        total: usize,
    },
    /// Your offer is registered: send its bytes as `chunk`s of at most `chunk`
    /// bytes, with at most `window` unacknowledged.
    UploadReady {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        offer: OfferId,
        /// The name as recipients will see it.
        name: String,
        chunk: usize,
        window: usize,
        /// Opens a bulk connection for the bytes instead (`put`); absent for
        /// an empty file, which is complete already.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        /// The offer is posted already (an `offer` with `stream` the server
        /// took): recipients see it and may download as the bytes arrive.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        stream: bool,
    },
    /// The server has the first `received` bytes of your upload.
    ChunkAck {
        offer: OfferId,
        received: u64,
    },
    /// Your upload is complete and verified; the offer is message `seq` in `conv`.
    Uploaded {
        offer: OfferId,
        conv: Conv,
        seq: u64,
    },
    /// On a bulk connection, the answer to `put` or `get`: the bytes from
    /// `offset` to `size` follow (`get`) or are expected (`put`), raw.
    Transfer {
        offer: OfferId,
        offset: u64,
        size: u64,
    },
    /// On a bulk connection, after the last byte of a `put`: the server has
    /// all `size` bytes and their SHA-256 matched; `uploaded` follows on the
    /// chat connection once the offer is stored.
    TransferDone {
        offer: OfferId,
        size: u64,
    },
    /// The file you accepted follows in `file_chunk`s; acknowledge with `file_ack`.
    Download {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        #[serde(flatten)]
        file: FileInfo,
        chunk: usize,
        window: usize,
        /// For an `accept` with `bulk`: opens a bulk connection for the bytes
        /// (`get`); no `file_chunk` follows on this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Bytes of a download: `offset` is how many came before; `data` is base64.
    FileChunk {
        offer: OfferId,
        offset: u64,
        data: String,
    },
    /// Where an offer stands: for its sender whenever a recipient decides, and
    /// for a recipient in answer to `received`, `decline` or `cancel`.
    FileStatus {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        offer: OfferId,
        conv: Conv,
        name: String,
        user: Username,
        state: FileState,
        counts: FileCounts,
    },
    /// Open offers to you and from you, soonest to expire first (at most 400
    /// each; `more` says some were left out).
    Files {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        incoming: Vec<OfferSummary>,
        outgoing: Vec<OfferSummary>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        more: bool,
    },
    /// Your read marker in `conv` is now `seq`.
    ReadMarked {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        conv: Conv,
        seq: u64,
    },
    /// A request failed, or the connection is about to close. `req` or `id`
    /// name the request it answers, when there is one.
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        req: Option<Req>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<MessageId>,
        /// The file offer the error is about, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offer: Option<OfferId>,
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    Ping,
    Pong,
    /// The answer to `bye`; the server closes the connection after it.
    Bye,
}

impl ServerMessage {
    /// An `error` that answers nothing in particular.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            req: None,
            id: None,
            offer: None,
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// An `error` answering request `req`.
    pub fn error_for(req: Option<Req>, code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            req,
            id: None,
            offer: None,
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// An `error` about file offer `offer` (answering `req`, if given).
    pub fn offer_error(
        req: Option<Req>,
        offer: OfferId,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        ServerMessage::Error {
            req,
            id: None,
            offer: Some(offer),
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// This message as one line, newline included, written by serde alone
    /// (for the property tests that compare it with [`ServerMessage::to_line`]).
    #[cfg(test)]
    pub(crate) fn to_line_general(&self) -> Bytes {
        encode_line(self)
    }

    /// This message as one line, newline included.
    pub fn to_line(&self) -> Bytes {
        encode_with(|buf| {
            if fast::encode(self, buf) {
                Ok(())
            } else {
                serde_json::to_writer(buf, self)
            }
        })
    }

    /// Parses one line (without its newline).
    pub fn decode(line: &[u8]) -> Result<Self, DecodeError> {
        decode_line(line)
    }

    /// The request this message answers, if it answers one. Exhaustive, so a
    /// new message must say whether it answers a request.
    pub fn req(&self) -> Option<Req> {
        match self {
            ServerMessage::History { req, .. }
            | ServerMessage::Search { req, .. }
            | ServerMessage::Who { req, .. }
            | ServerMessage::User { req, .. }
            | ServerMessage::ReadBy { req, .. }
            | ServerMessage::ReadMarked { req, .. }
            | ServerMessage::Group { req, .. }
            | ServerMessage::GroupDeleted { req, .. }
            | ServerMessage::Groups { req, .. }
            | ServerMessage::Members { req, .. }
            | ServerMessage::Conversations { req, .. }
            | ServerMessage::UploadReady { req, .. }
            | ServerMessage::Download { req, .. }
            | ServerMessage::FileStatus { req, .. }
            | ServerMessage::Files { req, .. }
            | ServerMessage::PasswordChanged { req }
            | ServerMessage::Error { req, .. } => *req,
            ServerMessage::Welcome { .. }
            | ServerMessage::LoggedIn { .. }
            | ServerMessage::Synced { .. }
            | ServerMessage::Stored { .. }
            | ServerMessage::Message(_)
            | ServerMessage::Receipt { .. }
            | ServerMessage::Presence { .. }
            | ServerMessage::Online { .. }
            | ServerMessage::Typing { .. }
            | ServerMessage::ChunkAck { .. }
            | ServerMessage::Uploaded { .. }
            | ServerMessage::Transfer { .. }
            | ServerMessage::TransferDone { .. }
            | ServerMessage::FileChunk { .. }
            | ServerMessage::Ping
            | ServerMessage::Pong
            | ServerMessage::Bye => None,
        }
    }
}

impl ClientMessage {
    pub fn to_line(&self) -> Bytes {
        encode_line(self)
    }

    /// Parses one line (without its newline), naming the problem if it is not a
    /// valid client message.
    pub fn decode(line: &[u8]) -> Result<Self, DecodeError> {
        match fast::decode(line) {
            Some(msg) => Ok(msg),
            None => decode_line(line),
        }
    }

    /// [`ClientMessage::decode`] without its fast path for `send` and `ack`
    /// (for the property tests that compare the two).
    #[cfg(test)]
    pub(crate) fn decode_general(line: &[u8]) -> Result<Self, DecodeError> {
        decode_line(line)
    }

    /// The request id this message carries, for matching errors to it.
    /// Exhaustive, so a new message must say whether it carries one.
    pub fn req(&self) -> Option<Req> {
        match self {
            ClientMessage::Read { req, .. }
            | ClientMessage::History { req, .. }
            | ClientMessage::Search { req, .. }
            | ClientMessage::Who { req }
            | ClientMessage::Whois { req, .. }
            | ClientMessage::ReadBy { req, .. }
            | ClientMessage::Conversations { req }
            | ClientMessage::Create { req, .. }
            | ClientMessage::Join { req, .. }
            | ClientMessage::Leave { req, .. }
            | ClientMessage::Groups { req }
            | ClientMessage::Members { req, .. }
            | ClientMessage::Rename { req, .. }
            | ClientMessage::Add { req, .. }
            | ClientMessage::Kick { req, .. }
            | ClientMessage::Owner { req, .. }
            | ClientMessage::Delete { req, .. }
            | ClientMessage::Unban { req, .. }
            | ClientMessage::Pin { req, .. }
            | ClientMessage::Unpin { req, .. }
            | ClientMessage::Role { req, .. }
            | ClientMessage::Settings { req, .. }
            | ClientMessage::Offer { req, .. }
            | ClientMessage::Accept { req, .. }
            | ClientMessage::Received { req, .. }
            | ClientMessage::Decline { req, .. }
            | ClientMessage::Cancel { req, .. }
            | ClientMessage::Password { req, .. }
            | ClientMessage::Files { req } => *req,
            ClientMessage::Hello { .. }
            | ClientMessage::Login { .. }
            | ClientMessage::Send { .. }
            | ClientMessage::Ack { .. }
            | ClientMessage::Chunk { .. }
            | ClientMessage::FileAck { .. }
            | ClientMessage::Typing { .. }
            | ClientMessage::Ping
            | ClientMessage::Pong
            | ClientMessage::Put { .. }
            | ClientMessage::Get { .. }
            | ClientMessage::Bye => None,
        }
    }

    /// The message id of a `send`, which its answers and errors carry instead
    /// of a `req`.
    pub fn message_id(&self) -> Option<MessageId> {
        if let ClientMessage::Send { id, .. } = self {
            Some(*id)
        } else {
            None
        }
    }
}

/// Why a line could not be decoded: the code to answer with and a sentence
/// naming the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
    /// The `req` and `id` of the line, when it is JSON that carries them, so the
    /// error can name the request it answers.
    pub req: Option<Req>,
    pub id: Option<MessageId>,
}

impl DecodeError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            req: None,
            id: None,
        }
    }

    /// The `error` answering the line that could not be decoded.
    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::Error {
            req: self.req,
            id: self.id,
            offer: None,
            code: self.code,
            message: self.message.clone(),
            retry_after_ms: None,
        }
    }
}

/// The `req` and `id` fields of a JSON object, if it has usable ones.
fn correlation(text: &str) -> (Option<Req>, Option<MessageId>) {
    #[derive(Deserialize)]
    struct Fields {
        #[serde(default)]
        req: Option<serde_json::Value>,
        #[serde(default)]
        id: Option<serde_json::Value>,
    }
    let Ok(fields) = serde_json::from_str::<Fields>(text) else {
        return (None, None);
    };
    let req = fields.req.and_then(|v| v.as_u64());
    let id = fields
        .id
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()));
    (req, id)
}

/// The longest error sentence built from a peer's input; serde quotes input back.
const MAX_ERROR_MESSAGE: usize = 300;

fn decode_line<T: for<'de> Deserialize<'de>>(line: &[u8]) -> Result<T, DecodeError> {
    let text = std::str::from_utf8(line).map_err(|e| {
        let why = format!(
            "the line is not valid UTF-8 (bad byte at offset {})",
            e.valid_up_to()
        );
        DecodeError::new(ErrorCode::InvalidUtf8, why)
    })?;
    if !text.trim_start().starts_with('{') {
        let why = "expected a JSON object with a \"type\" field";
        return Err(DecodeError::new(ErrorCode::BadJson, why));
    }
    serde_json::from_str(text).map_err(|e| {
        use serde_json::error::Category;
        let message = e.to_string();
        let code = match e.classify() {
            Category::Data if message.starts_with("unknown variant") => ErrorCode::UnknownType,
            Category::Data if message.starts_with("invalid name") => ErrorCode::InvalidName,
            Category::Data => ErrorCode::BadRequest,
            Category::Syntax | Category::Eof | Category::Io => ErrorCode::BadJson,
        };
        let mut message: String = message.chars().take(MAX_ERROR_MESSAGE).collect();
        if message.len() < e.to_string().len() {
            message.push('…');
        }
        // Only a line that is valid JSON can be asked for its `req` and `id`.
        let (req, id) = match e.classify() {
            Category::Data => correlation(text),
            _ => (None, None),
        };
        DecodeError {
            code,
            message,
            req,
            id,
        }
    })
}

/// Lines are written into a buffer kept per thread and copied out at their
/// exact size: one allocation per line instead of growing a fresh buffer
/// (128 → 256 → … bytes) for each. A line too big to be worth keeping the
/// room for (a file chunk) takes the buffer with it instead of being copied.
fn encode_line<T: Serialize>(msg: &T) -> Bytes {
    encode_with(|buf| serde_json::to_writer(buf, msg))
}

/// A line as `write` puts it in a reused buffer, with its newline.
fn encode_with(write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>) -> Bytes {
    const KEEP: usize = 16 * 1024;
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        if write(&mut *buf).is_err() {
            // Unreachable for these types (no maps with non-string keys, no floats);
            // answer with a valid line rather than a broken one.
            return Bytes::from_static(
                b"{\"type\":\"error\",\"code\":\"internal\",\"message\":\"could not encode a message\"}\n",
            );
        }
        buf.push(b'\n');
        if buf.capacity() > KEEP {
            Bytes::from(std::mem::take(buf))
        } else {
            Bytes::copy_from_slice(buf)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &str) -> Result<ClientMessage, DecodeError> {
        ClientMessage::decode(s.as_bytes())
    }

    #[test]
    fn a_send_line_decodes_into_a_typed_message() {
        let line = r##"{"type":"send","id":"01937a2e-8b7c-7d4f-9a3b-2c1d0e9f8a7b","to":"#cs101","body":"hi"}"##;
        match decode(line).unwrap() {
            ClientMessage::Send { to, body, .. } => {
                assert_eq!(to.to_string(), "#cs101");
                assert_eq!(body, "hi");
            }
            other => panic!("decoded {other:?}"),
        }
    }

    #[test]
    fn each_kind_of_bad_line_gets_its_own_code() {
        let cases = [
            (&b"\xff\xfe"[..], ErrorCode::InvalidUtf8),
            (b"not json", ErrorCode::BadJson),
            (b"{\"type\":", ErrorCode::BadJson),
            (b"{\"type\":\"fly\"}", ErrorCode::UnknownType),
            (b"{\"type\":\"send\"}", ErrorCode::BadRequest),
            (b"{\"body\":\"x\"}", ErrorCode::BadRequest),
            (
                b"{\"type\":\"whois\",\"user\":\"a b\"}",
                ErrorCode::InvalidName,
            ),
            (
                b"{\"type\":\"ack\",\"conv\":\"bob\",\"seq\":1e400}",
                ErrorCode::BadJson,
            ),
            (
                b"{\"type\":\"ack\",\"conv\":\"bob\",\"seq\":-1}",
                ErrorCode::BadRequest,
            ),
        ];
        for (line, code) in cases {
            let err = ClientMessage::decode(line).expect_err(&String::from_utf8_lossy(line));
            assert_eq!(
                err.code,
                code,
                "{}: {}",
                String::from_utf8_lossy(line),
                err.message
            );
            assert!(!err.message.is_empty());
        }
    }

    /// The edges PROTOCOL.md §1 and §7 settle, pinned here so the two agree.
    #[test]
    fn the_documented_edges_of_decoding_hold() {
        let nested = |levels: usize| {
            let arrays = levels - 1;
            format!(
                "{{\"type\":\"who\",\"x\":{}{}}}",
                "[".repeat(arrays),
                "]".repeat(arrays)
            )
        };
        let cases: [(String, Result<(), ErrorCode>); 13] = [
            // A byte-order mark is not the `{` a line must start with.
            ("\u{feff}{\"type\":\"who\"}".into(), Err(ErrorCode::BadJson)),
            // Whitespace after the object is fine; anything else is not.
            ("{\"type\":\"who\"} \t ".into(), Ok(())),
            ("{\"type\":\"who\"} x".into(), Err(ErrorCode::BadJson)),
            // A field given twice, `type` included.
            (
                "{\"type\":\"who\",\"type\":\"who\"}".into(),
                Err(ErrorCode::BadRequest),
            ),
            (
                "{\"type\":\"whois\",\"user\":\"a\",\"user\":\"b\"}".into(),
                Err(ErrorCode::BadRequest),
            ),
            // No `type`, or one that is not a string.
            ("{}".into(), Err(ErrorCode::BadRequest)),
            ("{\"type\":5}".into(), Err(ErrorCode::BadRequest)),
            // Numbers: a JSON number that is not a u64 is `bad_request`; one
            // beyond what a double holds does not parse at all.
            (
                "{\"type\":\"ack\",\"conv\":\"b\",\"seq\":18446744073709551616}".into(),
                Err(ErrorCode::BadRequest),
            ),
            (
                "{\"type\":\"ack\",\"conv\":\"b\",\"seq\":18446744073709551615}".into(),
                Ok(()),
            ),
            (
                "{\"type\":\"ack\",\"conv\":\"b\",\"seq\":1e3}".into(),
                Err(ErrorCode::BadRequest),
            ),
            (
                "{\"type\":\"ack\",\"conv\":\"b\",\"seq\":1e400}".into(),
                Err(ErrorCode::BadJson),
            ),
            // 127 levels of nesting, the object itself counted, and no more.
            (nested(127), Ok(())),
            (nested(128), Err(ErrorCode::BadJson)),
        ];
        for (line, expected) in cases {
            let got = decode(&line).map(|_| ()).map_err(|e| e.code);
            assert_eq!(got, expected, "{line:.80}");
        }
    }

    #[test]
    fn an_error_for_a_malformed_request_still_names_it() {
        let err = decode(r#"{"type":"whois","req":7,"user":"a b"}"#).unwrap_err();
        assert_eq!((err.code, err.req), (ErrorCode::InvalidName, Some(7)));
        let id = MessageId::new();
        let err = decode(&format!(
            r##"{{"type":"send","id":"{id}","to":"#","body":"x"}}"##
        ))
        .unwrap_err();
        assert_eq!((err.code, err.id), (ErrorCode::InvalidName, Some(id)));
        assert_eq!(decode(r#"{"type":"send","req":"#).unwrap_err().req, None);
    }

    #[test]
    fn deeply_nested_json_is_refused_not_overflowed() {
        let line = format!(
            "{{\"type\":\"who\",\"x\":{}{}}}",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert_eq!(decode(&line).unwrap_err().code, ErrorCode::BadJson);
    }

    #[test]
    fn error_messages_quoting_input_stay_short() {
        let line = format!("{{\"type\":\"{}\"}}", "x".repeat(100_000));
        let err = decode(&line).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownType);
        assert!(err.message.chars().count() <= MAX_ERROR_MESSAGE + 1);
    }

    #[test]
    fn server_lines_end_in_one_newline_and_decode_back() {
        let msg = ServerMessage::error(ErrorCode::RateLimited, "slow down");
        let line = msg.to_line();
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(line.ends_with(b"\n"));
        assert_eq!(ServerMessage::decode(&line[..line.len() - 1]).unwrap(), msg);
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let msg = decode(r#"{"type":"login","user":"alice","password":"hunter2"}"#).unwrap();
        assert!(!format!("{msg:?}").contains("hunter2"));
    }
}
