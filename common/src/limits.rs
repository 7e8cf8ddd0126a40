//! Sizes, counts and timings that client and server agree on.
//!
//! The server announces the ones a client needs in its `welcome` message, so a
//! client never has to hard-code them; these are the defaults it announces.

/// The protocol version this code speaks; `hello` must carry it.
pub const PROTOCOL_VERSION: u32 = 1;

/// The port the server listens on when none is given.
pub const DEFAULT_PORT: u16 = 12345;

/// The longest line, in bytes without the newline, either side accepts.
/// A longer line is answered with `frame_too_long` and the connection is closed.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// The longest message body, in bytes of UTF-8.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// User and group names: 1 to this many characters.
pub const MAX_NAME_LEN: usize = 32;

/// How often a user's `typing` in one conversation reaches the others, at
/// most; clients show it for [`TYPING_SHOWN_MS`] after the last.
pub const TYPING_EVERY_MS: u64 = 2_000;
pub const TYPING_SHOWN_MS: u64 = 5_000;

/// A reaction's most bytes, and how many kinds one message may have.
pub const REACTION_BYTES: usize = 32;
pub const REACTIONS_MAX: usize = 20;

/// How many messages a group may have pinned at once.
pub const PINS_MAX: usize = 50;

/// How many characters of a quoted message a reply carries.
pub const QUOTE_CHARS: usize = 100;

/// Passwords: 1 to this many bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The shortest password a new account (or a password change) may have, in
/// characters, unless the server is told otherwise; announced in `welcome`.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The most messages one `history` reply carries.
pub const HISTORY_PAGE_MAX: u32 = 200;

/// How many messages a `history` request without `limit` returns.
pub const HISTORY_PAGE_DEFAULT: u32 = 50;

/// The most messages one `search` reply carries.
pub const SEARCH_PAGE_MAX: u32 = 50;

/// How many messages a `search` request without `limit` returns.
pub const SEARCH_PAGE_DEFAULT: u32 = 20;

/// The longest `words` of a `search`, in bytes, and the most words it may
/// hold: every message found has all of them.
pub const SEARCH_BYTES_MAX: usize = 256;
pub const SEARCH_WORDS_MAX: usize = 8;

/// The most names one `who` reply lists (the reply also carries the total).
pub const WHO_MAX: usize = 1000;

/// The most entries a `groups` or `members` reply lists (each also carries the
/// total), so that a reply always fits in one line.
pub const LIST_MAX: usize = 1000;

/// The most members a `create` may add with the group.
pub const CREATE_MEMBERS_MAX: usize = 256;

/// The most conversations a `conversations` reply lists, most recent first.
pub const CONVERSATIONS_MAX: usize = 500;

/// Seconds a new connection has to send `hello` and log in.
pub const LOGIN_TIMEOUT_SECS: u64 = 10;

/// Seconds of silence after which the server pings a client; a client that stays
/// silent for as long again is disconnected.
pub const PING_SECS: u64 = 30;

/// The largest file a server accepts by default (it may announce another).
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Bytes of a file in one `chunk` or `file_chunk` (before base64), at most.
pub const FILE_CHUNK_BYTES: usize = 128 * 1024;

/// Chunks in flight per transfer before waiting for an acknowledgement.
pub const FILE_WINDOW: usize = 8;
