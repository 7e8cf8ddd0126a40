//! The error codes a server answers with, defined once for both sides.
//!
//! Every `error` message carries one of these as `code` (snake_case on the wire)
//! and a sentence for people as `message`. Clients decide what to do from the code;
//! they show the message.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    // The line itself. All but `frame_too_long` leave the connection open.
    /// A line longer than the frame limit; the connection is closed.
    FrameTooLong,
    /// A line that is not UTF-8.
    InvalidUtf8,
    /// A line that is not a JSON object (syntax error, too deeply nested).
    BadJson,
    /// A JSON object whose `type` is not a known message.
    UnknownType,
    /// A known message with a missing or malformed field.
    BadRequest,
    /// A user or group name that breaks the naming rules.
    InvalidName,

    // The order of a session.
    /// `hello` named a protocol version this server does not speak; closed.
    UnsupportedVersion,
    /// Something other than `hello` came first.
    HelloRequired,
    /// A request that needs a logged-in session came before `login`.
    LoginRequired,
    /// `hello` or `login` sent a second time.
    AlreadyLoggedIn,
    /// `hello` and `login` did not arrive in time; closed.
    LoginTimeout,

    // Identity.
    /// The password does not match the account's.
    BadPassword,
    /// The resume token is unknown, expired or belongs to someone else.
    BadToken,
    /// Too many wrong passwords for this account or from this address; try
    /// again after `retry_after_ms`.
    LoginThrottled,
    /// No account has that name, and this server lets only the names on its
    /// roster create one.
    SignUpClosed,

    // Messages and conversations.
    /// No account has that name.
    UnknownUser,
    /// No group has that name.
    UnknownGroup,
    /// The requester is not a member of that group.
    NotMember,
    /// Only the group's owner may do that.
    NotOwner,
    /// Only the group's owner or one of its moderators may do that (also:
    /// post in an announcement group).
    NotModerator,
    /// The group is invite-only: its owner or a moderator must add you.
    InviteOnly,
    /// The user is banned from that group until its owner lifts the ban.
    Banned,
    /// A group with that name already exists.
    GroupExists,
    /// The user is already a member of that group.
    AlreadyMember,
    /// A message body that is empty or longer than the limit.
    BadBody,
    /// Too many messages too quickly; retry after `retry_after_ms`.
    RateLimited,
    /// No message of yours has that id; or (`reply_to`, `edit`, `delete`) no
    /// message of the conversation has that `seq`, or it was deleted.
    UnknownMessage,
    /// An `edit` of a message you did not write, or a `delete` of one without
    /// owning or moderating its group; or of something that is not a text
    /// message.
    NotAuthor,

    // Files.
    /// No offer with that id (or it expired, or was withdrawn).
    UnknownOffer,
    /// The offer is not addressed to you.
    NotRecipient,
    /// A `chunk` out of order, too long, or not base64.
    BadChunk,
    /// More bytes than the offer declared.
    TooMuchData,
    /// The bytes do not match the declared SHA-256; the upload was discarded.
    ChecksumMismatch,
    /// The file is larger than the server allows (`max_file`).
    FileTooLarge,
    /// The server has no room for more files until some are collected.
    QuotaExceeded,
    /// The offer is over: declined, received, withdrawn or expired.
    FileGone,

    // The connection and the server.
    /// The client did not read what it was sent fast enough; closed. Nothing is
    /// lost: undelivered messages wait for the next connection.
    SlowConsumer,
    /// Nothing heard from the client for too long; closed.
    IdleTimeout,
    /// The server is shutting down; closed.
    ServerShutdown,
    /// The server could not store the message (for example the disk is full).
    /// Nothing was stored; retry later with the same id.
    StorageFailed,
    /// The server has too many connections or is overloaded; try again later.
    ServerBusy,
    /// An unexpected failure inside the server.
    Internal,
}

impl ErrorCode {
    /// Whether the server always closes the connection after sending this error.
    /// (`internal` and `storage_failed` also close it when they happen during
    /// login or while sending what waited for the user.)
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            ErrorCode::FrameTooLong
                | ErrorCode::UnsupportedVersion
                | ErrorCode::LoginTimeout
                | ErrorCode::SlowConsumer
                | ErrorCode::IdleTimeout
                | ErrorCode::ServerShutdown
                | ErrorCode::ServerBusy
        )
    }

    /// Whether a message refused with this code may be sent again, unchanged, later.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited
                | ErrorCode::LoginThrottled
                | ErrorCode::QuotaExceeded
                | ErrorCode::StorageFailed
                | ErrorCode::ServerBusy
                | ErrorCode::ServerShutdown
                | ErrorCode::Internal
        )
    }
}
