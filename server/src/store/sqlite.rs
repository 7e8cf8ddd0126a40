//! The SQLite store: one file in the data directory, WAL mode, one writer.
//!
//! Durability: the database runs in WAL mode. With `synchronous=NORMAL` (the
//! default) a commit reaches the operating system before `stored` is sent, so a
//! crash of the server process (`kill -9`) loses nothing that was acknowledged; a
//! power failure, or the file system turning read-only, may lose the
//! transactions since the last checkpoint. With `--sync full` every commit is
//! also fsynced, which survives both at the cost of one fsync per batch.
//! docs/ARCHITECTURE.md explains the trade-off.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use classchat_common::protocol::FileState;
use classchat_common::{GroupName, MessageId, OfferId, Timestamp, Username};
use classchat_prepared::Prepared;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};

use super::search::{Cursor, Query};
use super::{
    Appended, ConvId, ConvKind, ConvRecord, FileRecord, MemberRecord, MessageKind, MessageRef,
    NewMessage, NoticeRecord, OfferOutcome, Pending, Quoted, Reader, Result, Rules, Snapshot,
    Store, StoreError, StoredMessage, Target, TokenHash, UserId, UserRecord,
};
use crate::owner_only;

mod checkpoint;
mod search;
use checkpoint::Checkpointer;
use search::SearchIndex;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Engine(Box::new(e))
    }
}

/// A query of messages with the columns [`stored_message`] reads: a message,
/// its sender's name, and for a reply the message it answers; `$rest` is
/// its `WHERE` and what follows.
macro_rules! select_messages {
    ($rest:literal) => {
        concat!(
            "SELECT m.seq, m.client_id, m.sender_id, u.name, m.ts, m.kind, m.body, m.refers,
                    m.edited_at, qu.name, q.kind, q.body
             FROM messages m JOIN users u ON u.id = m.sender_id
             LEFT JOIN messages q ON m.kind = 0 AND q.id = ((m.id >> 32) << 32) + m.refers
             LEFT JOIN users qu ON qu.id = q.sender_id ",
            $rest
        )
    };
}

/// How every connection of the server opens the database: SQLite's unix VFS
/// with the file locked for this process alone (`unix-excl`), under
/// `classchat-walvfs`, which writes each frame of the log with one system call
/// instead of two (a header and its page; see that crate). The data
/// directory is locked to one server anyway; so SQLite takes the file's lock
/// once and keeps it, and keeps the WAL index on the heap instead of in a
/// shared-memory file, while the server's own connections (the hub's writer,
/// the readers of history and search) still share it. Each transaction then
/// saves the three `fcntl` locks it took on the shared memory, six of the
/// eighteen system calls of a one-at-a-time round (docs/BENCHMARKS.md). No
/// other process can open the database while the server runs: a backup is
/// the server's to make (`classchat-server backup`).
fn vfs() -> Result<&'static std::ffi::CStr> {
    classchat_walvfs::register().map_err(|e| StoreError::Engine(Box::new(e)))
}

/// The schema version this code writes, kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 8;

/// Version 8 keys each message by one integer, its conversation's id in the
/// high 32 bits and its number in the low 32 ([`first_id`]), where version 7
/// had a `WITHOUT ROWID` table keyed by the two columns. The rows are in the
/// same order, and `conv_id` and `seq` are still there to read (computed from
/// the key). An integer key costs the store about 1,400 fewer instructions a
/// message under load: it compares in a few instructions where two columns
/// go through the record comparison (docs/BENCHMARKS.md, "The store on its
/// own"). The price is a limit: conversation ids below 2³¹ and numbers below
/// 2³² (the search index has keyed its rows this way since version 6).
const REKEY_SCHEMA: &str = "
CREATE TABLE messages_by_key (
    id          INTEGER PRIMARY KEY,
    client_id   BLOB NOT NULL,
    sender_id   INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    kind        INTEGER NOT NULL,
    body        TEXT NOT NULL,
    refers      INTEGER,
    edited_at   INTEGER,
    conv_id     INTEGER AS (id >> 32) VIRTUAL,
    seq         INTEGER AS (id & 4294967295) VIRTUAL
);
INSERT INTO messages_by_key (id, client_id, sender_id, ts, kind, body, refers, edited_at)
    SELECT (conv_id << 32) + seq, client_id, sender_id, ts, kind, body, refers, edited_at
    FROM messages ORDER BY conv_id, seq;
DROP TABLE messages;
ALTER TABLE messages_by_key RENAME TO messages;
CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_id, client_id);
";

/// The row id of message `seq` of `conv` (schema 8), in `messages` and in
/// the search index alike: the conversation's id in the high 32 bits, the
/// number in the low 32. `None` past what it can hold (a conversation id of
/// 2³¹ or more, or a number of 2³² or more), which the store refuses to keep.
fn key(conv: ConvId, seq: u64) -> Option<i64> {
    let conv = u32::try_from(conv.0).ok().filter(|c| *c < 1 << 31)?;
    let seq = u32::try_from(seq).ok()?;
    Some(i64::from(conv) << 32 | i64::from(seq))
}

/// Where the row ids of conversation `conv`'s messages begin ([`key`]);
/// `None` for a conversation no message can be in.
fn first_id(conv: ConvId) -> Option<i64> {
    key(conv, 0)
}

/// The row id message `seq` has, or would have, in the conversation whose
/// ids begin at `first`; a number past what the key holds is the end of the
/// conversation's ids (one past its last), so that a range up to it takes
/// in every message.
fn id_at(first: i64, seq: u64) -> i64 {
    first + i64::try_from(seq.min(1 << 32)).unwrap_or(0)
}

/// The row id of message `seq` of `conv`, to store it under.
fn message_id(conv: ConvId, seq: u64) -> Result<i64> {
    key(conv, seq).ok_or_else(|| {
        StoreError::Engine(
            format!(
                "conversation {} cannot hold message {seq}: the SQLite store keeps \
                 conversation ids below 2^31 and message numbers below 2^32",
                conv.0
            )
            .into(),
        )
    })
}

/// Version 6 added the search index (`sqlite/search.rs`).
const SEARCH_SCHEMA: &str = search::SCHEMA;

/// Version 5 added replies, edits and deletions (the message each refers to,
/// and when a text was last edited), and pinned messages.
const CHANGES_SCHEMA: &str = "
ALTER TABLE messages ADD COLUMN refers INTEGER;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
CREATE TABLE pins (
    id          INTEGER PRIMARY KEY,
    conv_id     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    UNIQUE (conv_id, seq)
);
CREATE TABLE reactions (
    id          INTEGER PRIMARY KEY,
    conv_id     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    emoji       TEXT NOT NULL,
    UNIQUE (conv_id, seq, user_id, emoji)
);
";

/// Version 4 added how groups are run: who may join and who may post, which
/// members moderate, and who is banned.
const RULES_SCHEMA: &str = "
ALTER TABLE convs ADD COLUMN access INTEGER NOT NULL DEFAULT 0;
ALTER TABLE convs ADD COLUMN posting INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN moderator INTEGER NOT NULL DEFAULT 0;
CREATE TABLE bans (
    conv_id     INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    PRIMARY KEY (conv_id, user_id)
) WITHOUT ROWID;
";

/// Version 3 added notices: what a user must be told at their next login
/// about a group they are no longer in.
const NOTICES_SCHEMA: &str = "
CREATE TABLE notices (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    group_name  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    line        TEXT NOT NULL
);
CREATE INDEX notices_by_user ON notices (user_id);
";

/// Version 2 added file offers.
const FILES_SCHEMA: &str = "
CREATE TABLE files (
    id          BLOB PRIMARY KEY,
    conv_id     INTEGER NOT NULL,
    sender_id   INTEGER NOT NULL,
    name        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    closed      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE file_recipients (
    file_id     BLOB NOT NULL,
    user_id     INTEGER NOT NULL,
    state       INTEGER NOT NULL,
    PRIMARY KEY (file_id, user_id)
) WITHOUT ROWID;
";

fn state_code(state: FileState) -> i64 {
    match state {
        FileState::Pending => 0,
        FileState::Accepted => 1,
        FileState::Declined => 2,
        FileState::Received => 3,
        FileState::Cancelled => 4,
        FileState::Expired => 5,
    }
}

fn state_of(code: i64) -> FileState {
    match code {
        1 => FileState::Accepted,
        2 => FileState::Declined,
        3 => FileState::Received,
        4 => FileState::Cancelled,
        5 => FileState::Expired,
        _ => FileState::Pending,
    }
}

const SCHEMA: &str = "
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    pw_hash     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER
);
CREATE TABLE tokens (
    hash        BLOB PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE convs (
    id          INTEGER PRIMARY KEY,
    dm_a        INTEGER REFERENCES users(id),
    dm_b        INTEGER REFERENCES users(id),
    group_name  TEXT UNIQUE COLLATE NOCASE,
    owner_id    INTEGER REFERENCES users(id),
    created_at  INTEGER NOT NULL,
    UNIQUE (dm_a, dm_b)
);
CREATE TABLE members (
    conv_id       INTEGER NOT NULL REFERENCES convs(id),
    user_id       INTEGER NOT NULL REFERENCES users(id),
    joined_seq    INTEGER NOT NULL,
    joined_at     INTEGER NOT NULL,
    delivered_seq INTEGER NOT NULL,
    read_seq      INTEGER NOT NULL,
    PRIMARY KEY (conv_id, user_id)
) WITHOUT ROWID;
CREATE TABLE messages (
    conv_id     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    client_id   BLOB NOT NULL,
    sender_id   INTEGER NOT NULL,
    ts          INTEGER NOT NULL,
    kind        INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (conv_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_id, client_id);
";

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SyncLevel {
    /// Survives a crash of the server process; the default.
    Normal,
    /// Also survives power failure and a file system turning read-only: every
    /// commit is fsynced before it is acknowledged.
    Full,
}

/// The statements a message runs, held prepared for the connection's life
/// (`classchat-prepared`): taking each from rusqlite's statement cache and
/// giving it back cost a message about 1,100 instructions.
const HOT: [&str; 3] = [
    "BEGIN",
    "COMMIT",
    "INSERT INTO messages (id, client_id, sender_id, ts, kind, body, refers)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
];
const BEGIN: usize = 0;
const COMMIT: usize = 1;
/// A message's row, or nothing when its id or its client id is taken.
const APPEND: usize = 2;

#[derive(Debug)]
pub struct SqliteStore {
    /// Makes the writer's checkpoints. Declared before the writer's
    /// connection, so that it stops (closing its own) before that closes.
    _checkpointer: Checkpointer,
    /// The connection, with the statements every message runs held
    /// prepared ([`HOT`]).
    conn: Prepared<3>,
    path: PathBuf,
    /// Held while the store is open; released when it is dropped.
    _lock: DirLock,
    in_txn: bool,
    search: SearchIndex,
    /// `--sync full`: every commit waits for an fsync.
    fsync_per_commit: bool,
    reader: Arc<SqliteReader>,
}

impl SqliteStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path, sync: SyncLevel) -> Result<Self> {
        owner_only::create_dir(dir).map_err(|cause| StoreError::DataDir {
            path: dir.display().to_string(),
            cause,
        })?;
        let lock = DirLock::take(dir)?;
        let path = dir.join("classchat.db");
        let fresh = !path.exists();
        if fresh {
            refuse_to_start_empty(dir, &path)?;
            // Made here, owner-only, because SQLite would make it with 0644
            // less the umask, and it gives the WAL and shared-memory files the
            // database's mode.
            owner_only::file_options()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|cause| StoreError::DataDir {
                    path: path.display().to_string(),
                    cause,
                })?;
        }
        let mut conn = Connection::open_with_flags_and_vfs(&path, OpenFlags::default(), vfs()?)?;
        let corrupt = |e: rusqlite::Error| match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => damaged(&path, &e),
            _ => StoreError::from(e),
        };
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(corrupt)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(corrupt)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "{} cannot be switched to WAL mode (got {mode})",
                path.display()
            )));
        }
        let level = match sync {
            SyncLevel::Normal => "NORMAL",
            SyncLevel::Full => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA synchronous={level}; PRAGMA foreign_keys=OFF;"
        ))?;
        let upgrading = (1..SCHEMA_VERSION).contains(&version);
        if upgrading {
            if !keys_fit(&conn).map_err(corrupt)? {
                return Err(StoreError::Corrupt(format!(
                    "{} holds a message of a conversation whose id is 2^31 or more, or \
                     numbered 2^32 or more, which this server's database cannot key; keep \
                     running the server that wrote it",
                    path.display()
                )));
            }
            // Rewriting the messages takes a moment (about 2.5 s a million).
            tracing::info!(path = %path.display(), from = version, to = SCHEMA_VERSION, "upgrading the database");
        }
        match version {
            0..SCHEMA_VERSION => {
                conn.execute_batch(&format!(
                    "BEGIN; {} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;",
                    steps_from(version).join(" ")
                ))
                .map_err(corrupt)?;
                if fresh {
                    tracing::info!(path = %path.display(), "no database yet: made a new, empty database");
                }
            }
            SCHEMA_VERSION => {
                // Every page read once (about 0.4 s per million messages), so
                // damage anywhere stops the start with a clear error, not a
                // reader months later when someone pages back to it.
                let verdict: String = conn
                    .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
                    .map_err(corrupt)?;
                if verdict != "ok" {
                    return Err(damaged(&path, &verdict));
                }
            }
            newer => {
                return Err(StoreError::Corrupt(format!(
                    "{} has schema version {newer}, newer than this server understands \
                     ({SCHEMA_VERSION}); run a newer classchat-server",
                    path.display()
                )));
            }
        }
        if upgrading {
            tracing::info!(path = %path.display(), version = SCHEMA_VERSION, "upgraded the database");
        }
        owner_only::warn_if_open(&[
            dir,
            &path,
            &dir.join("classchat.db-wal"),
            &dir.join("classchat.db-shm"),
        ]);
        let reader = Arc::new(SqliteReader {
            path: path.clone(),
            pool: Mutex::new(Vec::new()),
        });
        let checkpointer = Checkpointer::start(&path, &mut conn)?;
        Ok(Self {
            _checkpointer: checkpointer,
            conn: Prepared::new(conn, HOT)?,
            path,
            _lock: lock,
            in_txn: false,
            search: SearchIndex::default(),
            fsync_per_commit: sync == SyncLevel::Full,
            reader,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives `name`'s account a new password hash and retires its resume
    /// tokens, in one transaction. Answers the name as the account spells it,
    /// or `None` if there is no such account.
    pub fn reset_password(&mut self, name: &Username, hash: &str) -> Result<Option<Username>> {
        let txn = self.conn.unchecked_transaction()?;
        let found: Option<(i64, String)> = txn
            .query_row(
                "SELECT id, name FROM users WHERE name = ?1",
                params![name.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((id, spelled)) = found else {
            return Ok(None);
        };
        txn.execute(
            "UPDATE users SET pw_hash = ?1 WHERE id = ?2",
            params![hash, id],
        )?;
        txn.execute("DELETE FROM tokens WHERE user_id = ?1", params![id])?;
        txn.commit()?;
        let spelled = spelled
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("a stored user name is invalid: {e}")))?;
        Ok(Some(spelled))
    }

    fn begin(&mut self) -> Result<()> {
        if !self.in_txn {
            self.conn.run(BEGIN, [])?;
            self.in_txn = true;
        }
        Ok(())
    }
}

/// What a database of schema `from` (0: no tables yet) runs to reach
/// [`SCHEMA_VERSION`], in order: each version's step it has not had.
fn steps_from(from: i64) -> Vec<&'static str> {
    // Each step with the version it brings a database to.
    let steps = [
        (1, SCHEMA),
        (2, FILES_SCHEMA),
        (3, NOTICES_SCHEMA),
        (4, RULES_SCHEMA),
        (5, CHANGES_SCHEMA),
        (6, SEARCH_SCHEMA),
    ];
    let mut out: Vec<&str> = steps
        .into_iter()
        .filter(|(to, _)| from < *to)
        .map(|(_, step)| step)
        .collect();
    // Version 7 changed the search index that version 6 made; a database
    // made before 6 gets the new one at once.
    if from == 6 {
        out.push(search::FROM_SCHEMA_6);
    }
    if from < 8 {
        out.push(REKEY_SCHEMA);
    }
    out
}

/// Before a database of schema 1–7 is rekeyed ([`REKEY_SCHEMA`]): whether
/// every message's conversation and number fit its new key.
fn keys_fit(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM messages
                            WHERE conv_id NOT BETWEEN 0 AND 2147483647
                               OR seq NOT BETWEEN 0 AND 4294967295)",
        [],
        |r| r.get(0),
    )
}

/// What to say about a database SQLite cannot read.
fn damaged(path: &Path, why: &dyn std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!(
        "{} is not a ClassChat database or is damaged ({why}); restore it from a backup, \
         or move it and the files folder beside it away to start with an empty one",
        path.display()
    ))
}

/// An exclusive lock on `classchat.lock` in the data directory. A second
/// server on the same directory would keep its own idea of the data, store
/// conflicting rows, and at its start delete the uploads the first one is
/// receiving; it stops instead, saying which process holds the directory.
#[derive(Debug)]
struct DirLock {
    /// The lock lasts as long as this handle is open.
    _file: std::fs::File,
}

impl DirLock {
    fn take(dir: &Path) -> Result<Self> {
        use std::io::{Read as _, Write as _};

        let path = dir.join("classchat.lock");
        let unusable = |cause| StoreError::DataDir {
            path: path.display().to_string(),
            cause,
        };
        let mut file = owner_only::file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(unusable)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let holder = match pid.trim() {
                    "" => String::new(),
                    pid => format!(" (process {pid})"),
                };
                return Err(StoreError::InUse(format!(
                    "another classchat-server{holder} is using the data directory {}; \
                     stop it first, or give this one its own --data-dir",
                    dir.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
                tracing::warn!(
                    "the file system of {} cannot lock files; make sure only one server uses it",
                    dir.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(unusable(e)),
        }
        // Who holds it, for the message above; the lock works without it.
        let _ = file
            .set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()));
        Ok(Self { _file: file })
    }
}

/// A data directory whose database is gone but that still holds what the
/// database described (offered files, or the write-ahead log with the newest
/// commits) is not a first start: starting empty would forget every account
/// and message, and the files folder would be emptied to match.
fn refuse_to_start_empty(dir: &Path, path: &Path) -> Result<()> {
    let wal = dir.join("classchat.db-wal");
    let files = dir.join("files");
    let (left, what) = if wal.metadata().is_ok_and(|m| m.len() > 0) {
        (
            "its write-ahead log (the newest changes) is still there",
            wal,
        )
    } else {
        match std::fs::read_dir(&files).map(Iterator::count) {
            Ok(n) if n > 0 => ("the files it offered are still there", files),
            _ => return Ok(()),
        }
    };
    Err(StoreError::Missing(format!(
        "the database {} is missing, but {left}; restore the database from a backup, \
         or move {} away too to start with an empty one",
        path.display(),
        what.display()
    )))
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn seq(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn sql_seq(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn name(s: &str) -> rusqlite::Result<Username> {
    Username::new(s).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

impl SqliteStore {
    fn snapshot(&mut self) -> Result<Snapshot> {
        let mut snap = Snapshot::default();
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, pw_hash, created_at, last_seen FROM users")?;
        snap.users = stmt
            .query_map([], |r| {
                Ok(UserRecord {
                    id: UserId(r.get(0)?),
                    name: name(&r.get::<_, String>(1)?)?,
                    password_hash: r.get(2)?,
                    created: ts(r.get(3)?),
                    last_seen: r.get::<_, Option<i64>>(4)?.map(ts),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);

        let mut stmt = self
            .conn
            .prepare("SELECT hash, user_id FROM tokens ORDER BY created_at")?;
        snap.tokens = stmt
            .query_map([], |r| Ok((r.get::<_, [u8; 32]>(0)?, UserId(r.get(1)?))))?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);

        let mut last = self.conn.prepare(
            "SELECT seq, ts FROM messages WHERE id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT 1",
        )?;
        let mut stmt = self.conn.prepare(
            "SELECT id, dm_a, dm_b, group_name, owner_id, created_at, access, posting FROM convs",
        )?;
        let rows = stmt
            .query_map([], |r| {
                let id: i64 = r.get(0)?;
                let kind = match r.get::<_, Option<String>>(3)? {
                    Some(group) => ConvKind::Group {
                        name: GroupName::new(&group)
                            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                        owner: UserId(r.get(4)?),
                        rules: Rules::from_codes(r.get(6)?, r.get(7)?),
                    },
                    None => ConvKind::Direct {
                        a: UserId(r.get(1)?),
                        b: UserId(r.get(2)?),
                    },
                };
                Ok((id, kind, ts(r.get(5)?)))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, kind, created) in rows {
            let newest = match first_id(ConvId(id)) {
                Some(first) => last
                    .query_row([first, id_at(first, u64::MAX)], |r| {
                        Ok((seq(r.get(0)?), ts(r.get(1)?)))
                    })
                    .optional()?,
                None => None,
            };
            snap.convs.push(ConvRecord {
                id: ConvId(id),
                kind,
                created,
                last_seq: newest.map_or(0, |(s, _)| s),
                last_ts: newest.map(|(_, t)| t),
            });
        }
        drop((stmt, last));

        let mut stmt = self.conn.prepare(
            "SELECT conv_id, user_id, joined_seq, joined_at, delivered_seq, read_seq, moderator FROM members",
        )?;
        snap.members = stmt
            .query_map([], |r| {
                Ok(MemberRecord {
                    conv: ConvId(r.get(0)?),
                    user: UserId(r.get(1)?),
                    joined_seq: seq(r.get(2)?),
                    joined_at: ts(r.get(3)?),
                    delivered: seq(r.get(4)?),
                    read: seq(r.get(5)?),
                    moderator: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);

        let mut stmt = self
            .conn
            .prepare("SELECT conv_id, seq FROM pins ORDER BY id")?;
        snap.pins = stmt
            .query_map([], |r| Ok((ConvId(r.get(0)?), seq(r.get(1)?))))?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);

        let mut stmt = self.conn.prepare("SELECT conv_id, user_id FROM bans")?;
        snap.bans = stmt
            .query_map([], |r| Ok((ConvId(r.get(0)?), UserId(r.get(1)?))))?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);

        let mut recipients = self
            .conn
            .prepare("SELECT user_id, state FROM file_recipients WHERE file_id = ?1")?;
        let mut stmt = self.conn.prepare(
            "SELECT id, conv_id, sender_id, name, size, sha256, created_at, expires_at, seq
             FROM files WHERE closed = 0",
        )?;
        let files = stmt
            .query_map([], |r| {
                Ok(FileRecord {
                    id: OfferId::from_bytes(r.get(0)?),
                    conv: ConvId(r.get(1)?),
                    sender: UserId(r.get(2)?),
                    name: r.get(3)?,
                    size: seq(r.get(4)?),
                    sha256: r.get(5)?,
                    created: ts(r.get(6)?),
                    expires: ts(r.get(7)?),
                    seq: seq(r.get(8)?),
                    recipients: Vec::new(),
                    node: None,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for mut file in files {
            file.recipients = recipients
                .query_map([&file.id.as_bytes()[..]], |r| {
                    Ok((UserId(r.get(0)?), state_of(r.get(1)?)))
                })?
                .collect::<rusqlite::Result<_>>()?;
            snap.files.push(file);
        }
        drop((stmt, recipients));

        let mut stmt = self
            .conn
            .prepare("SELECT id, user_id, group_name, seq, line FROM notices ORDER BY id")?;
        let notices = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    UserId(r.get(1)?),
                    r.get::<_, String>(2)?,
                    seq(r.get(3)?),
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, user, group, seq, line) in notices {
            let group = GroupName::new(&group).map_err(|e| {
                StoreError::Corrupt(format!("a notice names the group {group:?}: {e}"))
            })?;
            snap.notices.push(NoticeRecord {
                id,
                user,
                group,
                seq,
                line,
            });
        }
        drop(stmt);
        Ok(snap)
    }

    fn commit_now(&mut self) -> Result<()> {
        if self.in_txn {
            self.conn.run(COMMIT, [])?;
            self.in_txn = false;
            self.search.committed();
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn load(&mut self) -> Pending<'_, Snapshot> {
        let loaded = self.snapshot().and_then(|snap| {
            let last = snap.convs.iter().map(|c| (c.id, c.last_seq));
            self.search = SearchIndex::load(&self.conn, last)?;
            Ok(snap)
        });
        Box::pin(std::future::ready(loaded))
    }

    fn create_user(
        &mut self,
        name: &Username,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<UserId> {
        self.begin()?;
        self.conn
            .prepare_cached("INSERT INTO users (name, pw_hash, created_at) VALUES (?1, ?2, ?3)")?
            .execute(params![name.as_str(), password_hash, now.as_millis()])?;
        Ok(UserId(self.conn.last_insert_rowid()))
    }

    fn set_last_seen(&mut self, user: UserId, at: Timestamp) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached("UPDATE users SET last_seen = ?2 WHERE id = ?1")?
            .execute(params![user.0, at.as_millis()])?;
        Ok(())
    }

    fn set_password(&mut self, user: UserId, password_hash: &str) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached("UPDATE users SET pw_hash = ?2 WHERE id = ?1")?
            .execute(params![user.0, password_hash])?;
        Ok(())
    }

    fn add_token(&mut self, user: UserId, token: &TokenHash, now: Timestamp) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO tokens (hash, user_id, created_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![&token[..], user.0, now.as_millis()])?;
        Ok(())
    }

    fn remove_token(&mut self, token: &TokenHash) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached("DELETE FROM tokens WHERE hash = ?1")?
            .execute([&token[..]])?;
        Ok(())
    }

    fn create_conv(&mut self, kind: &ConvKind, now: Timestamp) -> Result<ConvId> {
        self.begin()?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO convs (dm_a, dm_b, group_name, owner_id, created_at, access, posting)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        match kind {
            ConvKind::Direct { a, b } => stmt.execute(params![
                a.0,
                b.0,
                None::<&str>,
                None::<i64>,
                now.as_millis(),
                0,
                0
            ])?,
            ConvKind::Group { name, owner, rules } => {
                let (access, posting) = rules.codes();
                stmt.execute(params![
                    None::<i64>,
                    None::<i64>,
                    name.as_str(),
                    owner.0,
                    now.as_millis(),
                    access,
                    posting
                ])?
            }
        };
        Ok(ConvId(self.conn.last_insert_rowid()))
    }

    fn add_member(&mut self, m: &MemberRecord) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO members
                     (conv_id, user_id, joined_seq, joined_at, delivered_seq, read_seq, moderator)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                m.conv.0,
                m.user.0,
                sql_seq(m.joined_seq),
                m.joined_at.as_millis(),
                sql_seq(m.delivered),
                sql_seq(m.read),
                m.moderator
            ])?;
        Ok(())
    }

    fn remove_member(&mut self, conv: ConvId, user: UserId) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached("DELETE FROM members WHERE conv_id = ?1 AND user_id = ?2")?
            .execute(params![conv.0, user.0])?;
        Ok(())
    }

    fn update_group(&mut self, conv: ConvId, kind: &ConvKind) -> Result<()> {
        let ConvKind::Group { name, owner, rules } = kind else {
            return Ok(());
        };
        let (access, posting) = rules.codes();
        self.begin()?;
        self.conn
            .prepare_cached(
                "UPDATE convs SET group_name = ?2, owner_id = ?3, access = ?4, posting = ?5
                 WHERE id = ?1",
            )?
            .execute(params![conv.0, name.as_str(), owner.0, access, posting])?;
        Ok(())
    }

    fn set_moderator(&mut self, conv: ConvId, user: UserId, moderator: bool) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "UPDATE members SET moderator = ?3 WHERE conv_id = ?1 AND user_id = ?2",
            )?
            .execute(params![conv.0, user.0, moderator])?;
        Ok(())
    }

    fn set_pinned(&mut self, conv: ConvId, at: u64, pinned: bool) -> Result<()> {
        self.begin()?;
        let sql = if pinned {
            "INSERT OR IGNORE INTO pins (conv_id, seq) VALUES (?1, ?2)"
        } else {
            "DELETE FROM pins WHERE conv_id = ?1 AND seq = ?2"
        };
        self.conn
            .prepare_cached(sql)?
            .execute(params![conv.0, sql_seq(at)])?;
        Ok(())
    }

    fn set_banned(&mut self, conv: ConvId, user: UserId, banned: bool) -> Result<()> {
        self.begin()?;
        let sql = if banned {
            "INSERT OR IGNORE INTO bans (conv_id, user_id) VALUES (?1, ?2)"
        } else {
            "DELETE FROM bans WHERE conv_id = ?1 AND user_id = ?2"
        };
        self.conn
            .prepare_cached(sql)?
            .execute(params![conv.0, user.0])?;
        Ok(())
    }

    fn delete_conv(&mut self, conv: ConvId) -> Result<()> {
        self.begin()?;
        self.search.dropping(&self.conn, conv)?;
        for sql in [
            "DELETE FROM file_recipients WHERE file_id IN (SELECT id FROM files WHERE conv_id = ?1)",
            "DELETE FROM files WHERE conv_id = ?1",
            "DELETE FROM members WHERE conv_id = ?1",
            "DELETE FROM bans WHERE conv_id = ?1",
            "DELETE FROM pins WHERE conv_id = ?1",
            "DELETE FROM reactions WHERE conv_id = ?1",
            "DELETE FROM convs WHERE id = ?1",
        ] {
            self.conn.prepare_cached(sql)?.execute([conv.0])?;
        }
        if let Some(first) = first_id(conv) {
            self.conn
                .prepare_cached("DELETE FROM messages WHERE id >= ?1 AND id < ?2")?
                .execute([first, id_at(first, u64::MAX)])?;
        }
        Ok(())
    }

    fn add_notice(&mut self, user: UserId, group: &GroupName, seq: u64, line: &str) -> Result<i64> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "INSERT INTO notices (user_id, group_name, seq, line) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![user.0, group.as_str(), sql_seq(seq), line])?;
        Ok(self.conn.last_insert_rowid())
    }

    fn remove_notice(&mut self, id: i64) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached("DELETE FROM notices WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    fn set_cursors(&mut self, conv: ConvId, user: UserId, delivered: u64, read: u64) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "UPDATE members SET delivered_seq = ?3, read_seq = ?4 WHERE conv_id = ?1 AND user_id = ?2",
            )?
            .execute(params![conv.0, user.0, sql_seq(delivered), sql_seq(read)])?;
        Ok(())
    }

    fn append(&mut self, msg: &NewMessage<'_>) -> Result<Appended> {
        self.begin()?;
        let inserted = self.conn.run(
            APPEND,
            params![
                message_id(msg.conv, msg.seq)?,
                &msg.id.as_bytes()[..],
                msg.sender.0,
                msg.ts.as_millis(),
                msg.kind as i64,
                msg.body,
                msg.refers.map(sql_seq)
            ],
        )?;
        if inserted == 1 {
            if msg.kind == MessageKind::Text {
                self.search.appended(msg.conv);
            }
            return Ok(Appended::New);
        }
        match self.find_message(msg.sender, msg.id)? {
            Some(existing) => Ok(Appended::Duplicate(existing)),
            None => Err(StoreError::Corrupt(format!(
                "sequence number {} is already used in conversation {}",
                msg.seq, msg.conv.0
            ))),
        }
    }

    fn add_file(&mut self, f: &FileRecord) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached(
                "INSERT INTO files (id, conv_id, sender_id, name, size, sha256, created_at, expires_at, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                &f.id.as_bytes()[..],
                f.conv.0,
                f.sender.0,
                f.name,
                sql_seq(f.size),
                f.sha256,
                f.created.as_millis(),
                f.expires.as_millis(),
                sql_seq(f.seq)
            ])?;
        for (user, state) in &f.recipients {
            self.set_file_state(f.id, *user, *state)?;
        }
        Ok(())
    }

    fn set_file_state(&mut self, offer: OfferId, user: UserId, state: FileState) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO file_recipients (file_id, user_id, state) VALUES (?1, ?2, ?3)")?
            .execute(params![&offer.as_bytes()[..], user.0, state_code(state)])?;
        Ok(())
    }

    fn close_file(&mut self, offer: OfferId) -> Result<()> {
        self.begin()?;
        self.conn
            .prepare_cached("UPDATE files SET closed = 1 WHERE id = ?1")?
            .execute([&offer.as_bytes()[..]])?;
        Ok(())
    }

    fn file_closed(&mut self, offer: OfferId) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT closed FROM files WHERE id = ?1")?
            .query_row([&offer.as_bytes()[..]], |r| r.get::<_, i64>(0))
            .optional()?
            .is_some_and(|c| c != 0))
    }

    fn message_at(&mut self, conv: ConvId, seq: u64) -> Result<Option<Target>> {
        let Ok(id) = message_id(conv, seq) else {
            return Ok(None);
        };
        let found = self
            .conn
            .prepare_cached("SELECT sender_id, kind, body FROM messages WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(Target {
                    sender: UserId(r.get(0)?),
                    kind: MessageKind::from_i64(r.get(1)?),
                    body: r.get(2)?,
                    reactions: Vec::new(),
                })
            })
            .optional()?;
        let Some(mut target) = found else {
            return Ok(None);
        };
        target.reactions = self
            .conn
            .prepare_cached(
                "SELECT user_id, emoji FROM reactions WHERE conv_id = ?1 AND seq = ?2 ORDER BY id",
            )?
            .query_map(params![conv.0, sql_seq(seq)], |r| {
                Ok((UserId(r.get(0)?), r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(target))
    }

    fn set_reaction(
        &mut self,
        conv: ConvId,
        seq: u64,
        user: UserId,
        emoji: &str,
        on: bool,
    ) -> Result<()> {
        self.begin()?;
        let sql = if on {
            "INSERT OR IGNORE INTO reactions (conv_id, seq, user_id, emoji) VALUES (?1, ?2, ?3, ?4)"
        } else {
            "DELETE FROM reactions WHERE conv_id = ?1 AND seq = ?2 AND user_id = ?3 AND emoji = ?4"
        };
        self.conn
            .prepare_cached(sql)?
            .execute(params![conv.0, sql_seq(seq), user.0, emoji])?;
        Ok(())
    }

    fn edit_message(&mut self, conv: ConvId, seq: u64, body: &str, at: Timestamp) -> Result<()> {
        self.begin()?;
        self.search.editing(&self.conn, conv, seq, body)?;
        self.conn
            .prepare_cached("UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1")?
            .execute(params![message_id(conv, seq)?, body, at.as_millis()])?;
        Ok(())
    }

    fn erase_message(&mut self, conv: ConvId, seq: u64) -> Result<()> {
        self.begin()?;
        self.search.erasing(&self.conn, conv, seq)?;
        let id = message_id(conv, seq)?;
        self.conn
            .prepare_cached(
                "UPDATE messages SET body = '', kind = ?2, edited_at = NULL WHERE id = ?1",
            )?
            .execute(params![id, MessageKind::Deleted as i64])?;
        // The edits of it: the messages of its conversation that refer to it.
        let first = id - id_at(0, seq);
        self.conn
            .prepare_cached(
                "UPDATE messages SET body = ''
                 WHERE id >= ?1 AND id < ?2 AND refers = ?3 AND kind = ?4",
            )?
            .execute(params![
                first,
                id_at(first, u64::MAX),
                sql_seq(seq),
                MessageKind::Edit as i64
            ])?;
        self.conn
            .prepare_cached("DELETE FROM reactions WHERE conv_id = ?1 AND seq = ?2")?
            .execute(params![conv.0, sql_seq(seq)])?;
        Ok(())
    }

    fn find_message(&mut self, sender: UserId, id: MessageId) -> Result<Option<MessageRef>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT conv_id, seq, ts FROM messages WHERE sender_id = ?1 AND client_id = ?2",
            )?
            .query_row(params![sender.0, &id.as_bytes()[..]], |r| {
                Ok(MessageRef {
                    conv: ConvId(r.get(0)?),
                    seq: seq(r.get(1)?),
                    ts: ts(r.get(2)?),
                })
            })
            .optional()?)
    }

    fn search_backlog(&self) -> bool {
        self.search.is_behind()
    }

    fn index_for_search(&mut self, budget: usize) -> Result<bool> {
        self.begin()?;
        self.search.catch_up(&self.conn, budget)
    }

    fn commit(&mut self) -> Pending<'_, ()> {
        // With `--sync full` the commit waits for an fsync: the runtime
        // worker running the hub hands its other tasks on meanwhile (when the
        // runtime has other workers to take them).
        let multi_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let done = if self.fsync_per_commit && multi_threaded {
            tokio::task::block_in_place(|| self.commit_now())
        } else {
            self.commit_now()
        };
        Box::pin(std::future::ready(done))
    }

    fn rollback(&mut self) -> Pending<'_, ()> {
        if self.in_txn {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::error!("rollback failed: {e}");
            }
            self.in_txn = false;
            self.search.rolled_back();
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn reader(&self) -> Arc<dyn Reader> {
        self.reader.clone()
    }
}

impl Drop for SqliteStore {
    /// Closes the idle read connections first (the checkpointing thread's
    /// closes with its field, declared before the writer's), so that the
    /// writer's is the last to close: SQLite then folds the write-ahead log
    /// into the database file, and a stopped server leaves one file to copy.
    fn drop(&mut self) {
        if let Ok(mut pool) = self.reader.pool.lock() {
            pool.clear();
        }
    }
}

/// Read-only connections, opened as needed and reused. WAL mode lets them read
/// committed data while the hub writes.
#[derive(Debug)]
pub struct SqliteReader {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
}

impl SqliteReader {
    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        // The lock only guards taking a connection out and putting it back, never a query.
        let pooled = self.pool.lock().map(|mut p| p.pop()).unwrap_or(None);
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags_and_vfs(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    vfs()?,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c
            }
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(conn);
        }
        result
    }
}

fn stored_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredMessage> {
    let kind = MessageKind::from_i64(r.get(5)?);
    let quoted = match r.get::<_, Option<String>>(9)? {
        Some(quoted_name) => Some(Box::new(Quoted::of(
            name(&quoted_name)?,
            MessageKind::from_i64(r.get(10)?),
            &r.get::<_, String>(11)?,
        ))),
        None => None,
    };
    Ok(StoredMessage {
        seq: seq(r.get(0)?),
        id: MessageId::from_bytes(r.get(1)?),
        sender: UserId(r.get(2)?),
        sender_name: name(&r.get::<_, String>(3)?)?,
        ts: ts(r.get(4)?),
        kind,
        body: r.get(6)?,
        refers: r.get::<_, Option<i64>>(7)?.map(seq),
        edited: r.get::<_, Option<i64>>(8)?.map(ts),
        quoted,
        reactions: Vec::new(),
    })
}

/// Gives each message of a page (of one conversation) its reactions.
fn with_reactions(c: &Connection, conv: ConvId, page: &mut [StoredMessage]) -> Result<()> {
    let (Some(first), Some(last)) = (page.first().map(|m| m.seq), page.last().map(|m| m.seq))
    else {
        return Ok(());
    };
    let rows = c
        .prepare_cached(
            "SELECT r.seq, r.emoji, u.name FROM reactions r JOIN users u ON u.id = r.user_id
             WHERE r.conv_id = ?1 AND r.seq >= ?2 AND r.seq <= ?3 ORDER BY r.id",
        )?
        .query_map(params![conv.0, sql_seq(first), sql_seq(last)], |r| {
            Ok((
                seq(r.get(0)?),
                r.get::<_, String>(1)?,
                name(&r.get::<_, String>(2)?)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    super::attach_reactions(page, rows);
    Ok(())
}

impl Reader for SqliteReader {
    fn backup(&self, to: &Path) -> Result<()> {
        let to = to
            .to_str()
            .ok_or_else(|| StoreError::Settings(format!("{} is not a UTF-8 path", to.display())))?;
        // A read transaction of its own, so the copy is of one moment; the
        // writer goes on meanwhile (WAL). The new file has the process's
        // umask (owner-only), and an existing one is refused, never replaced.
        self.with_conn(|c| {
            c.execute("VACUUM INTO ?1", [to])?;
            Ok(())
        })
    }

    fn search(
        &self,
        query: &Query,
        convs: &[ConvId],
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<(ConvId, StoredMessage)>> {
        let ids: Vec<i64> = convs
            .iter()
            .filter(|c| first_id(**c).is_some())
            .map(|c| c.0)
            .collect();
        let ids = serde_json::to_string(&ids)
            .map_err(|e| StoreError::Corrupt(format!("conversation ids as JSON: {e}")))?;
        // Row ids order as (conversation, number) do.
        let (ts, id) = before.map_or((i64::MAX, i64::MAX), |c| {
            let id = first_id(c.conv).map_or(i64::MAX, |first| id_at(first, c.seq));
            (c.ts.as_millis(), id)
        });
        self.with_conn(|c| {
            // The index leads (CROSS JOIN), once for all the searcher's
            // conversations: a prefix's words are gathered once. A match is
            // kept or dropped by its row id (its conversation's id, then its
            // sequence number) before it costs a lookup, so only messages
            // the searcher may read are read.
            let mut stmt = c.prepare_cached(
                "SELECT m.seq, m.client_id, m.sender_id, u.name, m.ts, m.kind, m.body, m.refers,
                        m.edited_at, qu.name, q.kind, q.body, m.conv_id
                 FROM search s
                 CROSS JOIN messages m ON m.id = s.rowid
                 JOIN users u ON u.id = m.sender_id
                 LEFT JOIN messages q ON q.id = ((m.id >> 32) << 32) + m.refers
                 LEFT JOIN users qu ON qu.id = q.sender_id
                 WHERE search MATCH ?1
                   AND (s.rowid >> 32) IN (SELECT value FROM json_each(?2))
                   AND m.kind = 0
                   AND (m.ts, m.id) < (?3, ?4)
                 ORDER BY m.ts DESC, m.id DESC LIMIT ?5",
            )?;
            let rows = stmt.query_map(params![query.fts5(), ids, ts, id, limit as i64], |r| {
                Ok((ConvId(r.get(12)?), stored_message(r)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn offer_outcome(&self, offer: OfferId) -> Result<Option<OfferOutcome>> {
        self.with_conn(|c| {
            let id = &offer.as_bytes()[..];
            let Some(closed) = c
                .prepare_cached("SELECT closed FROM files WHERE id = ?1")?
                .query_row([id], |r| r.get::<_, i64>(0))
                .optional()?
            else {
                return Ok(None);
            };
            let recipients = c
                .prepare_cached("SELECT user_id, state FROM file_recipients WHERE file_id = ?1")?
                .query_map([id], |r| Ok((UserId(r.get(0)?), state_of(r.get(1)?))))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some(OfferOutcome {
                over: closed != 0,
                recipients,
            }))
        })
    }

    fn count_unread(&self, conv: ConvId, after: u64, user: UserId) -> Result<u64> {
        let Some(first) = first_id(conv) else {
            return Ok(0);
        };
        self.with_conn(|c| {
            let n: i64 = c
                .prepare_cached(
                    "SELECT count(*) FROM messages
                     WHERE id > ?1 AND id < ?2 AND sender_id != ?3 AND kind = ?4",
                )?
                .query_row(
                    params![
                        id_at(first, after),
                        id_at(first, u64::MAX),
                        user.0,
                        MessageKind::Text as i64
                    ],
                    |r| r.get(0),
                )?;
            Ok(seq(n))
        })
    }

    fn range(
        &self,
        conv: ConvId,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        let Some(first) = first_id(conv) else {
            return Ok(Vec::new());
        };
        self.with_conn(|c| {
            let mut stmt = c.prepare_cached(select_messages!(
                "WHERE m.id > ?1 AND m.id <= ?2 AND m.id < ?3 ORDER BY m.id LIMIT ?4"
            ))?;
            let rows = stmt.query_map(
                params![
                    id_at(first, after),
                    id_at(first, upto),
                    id_at(first, u64::MAX),
                    limit as i64
                ],
                stored_message,
            )?;
            let mut page: Vec<StoredMessage> = rows.collect::<rusqlite::Result<_>>()?;
            with_reactions(c, conv, &mut page)?;
            Ok(page)
        })
    }

    fn before(&self, conv: ConvId, before: u64, limit: usize) -> Result<Vec<StoredMessage>> {
        let Some(first) = first_id(conv) else {
            return Ok(Vec::new());
        };
        self.with_conn(|c| {
            let mut stmt = c.prepare_cached(select_messages!(
                "WHERE m.id >= ?1 AND m.id < ?2 ORDER BY m.id DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                params![first, id_at(first, before), limit as i64],
                stored_message,
            )?;
            let mut out: Vec<StoredMessage> = rows.collect::<rusqlite::Result<_>>()?;
            out.reverse();
            with_reactions(c, conv, &mut out)?;
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    /// A database made by a server of schema 3 (before groups had rules,
    /// roles and bans) opens with every group open to all, and no one
    /// moderating or banned.
    #[tokio::test]
    async fn a_schema_3_database_is_upgraded_and_its_groups_stay_as_they_ran() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("classchat.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "BEGIN; {SCHEMA} {FILES_SCHEMA} {NOTICES_SCHEMA} PRAGMA user_version=3; COMMIT;
             INSERT INTO users (id, name, pw_hash, created_at) VALUES (1, 'alice', 'x', 1), (2, 'bob', 'x', 1);
             INSERT INTO convs (id, group_name, owner_id, created_at) VALUES (7, 'lab', 1, 1);
             INSERT INTO members VALUES (7, 1, 0, 1, 0, 0), (7, 2, 0, 1, 0, 0);"
        ))
        .unwrap();
        drop(conn);

        let mut store = SqliteStore::open(dir.path(), SyncLevel::Normal).unwrap();
        let snap = store.load().await.unwrap();
        let kind = &snap.convs[0].kind;
        assert_eq!(
            kind,
            &ConvKind::Group {
                name: GroupName::new("lab").unwrap(),
                owner: UserId(1),
                rules: Rules::default(),
            }
        );
        assert_eq!(snap.members.len(), 2);
        assert!(snap.members.iter().all(|m| !m.moderator));
        assert!(snap.bans.is_empty());

        // And the new columns are written and read back.
        store.set_moderator(ConvId(7), UserId(2), true).unwrap();
        store.set_banned(ConvId(7), UserId(1), true).unwrap();
        store.commit().await.unwrap();
        let snap = store.load().await.unwrap();
        assert!(
            snap.members
                .iter()
                .any(|m| m.user == UserId(2) && m.moderator)
        );
        assert_eq!(snap.bans, [(ConvId(7), UserId(1))]);
    }

    /// Each older schema runs the steps it has not had, and only those, in
    /// order.
    #[test]
    fn each_schema_runs_the_steps_it_has_not_had() {
        let all = [
            SCHEMA,
            FILES_SCHEMA,
            NOTICES_SCHEMA,
            RULES_SCHEMA,
            CHANGES_SCHEMA,
            SEARCH_SCHEMA,
            REKEY_SCHEMA,
        ];
        assert_eq!(steps_from(0), all);
        assert_eq!(steps_from(1), all[1..]);
        assert_eq!(steps_from(4), all[4..]);
        assert_eq!(steps_from(5), [SEARCH_SCHEMA, REKEY_SCHEMA]);
        assert_eq!(steps_from(6), [search::FROM_SCHEMA_6, REKEY_SCHEMA]);
        assert_eq!(steps_from(7), [REKEY_SCHEMA]);
        assert!(steps_from(SCHEMA_VERSION).is_empty());
    }

    /// A database of schema 7 (messages keyed by two columns in a `WITHOUT
    /// ROWID` table) opens with every message as it was, in order, found by
    /// number, by its client's id and by search, and goes on from there.
    #[tokio::test]
    async fn a_schema_7_database_is_rekeyed_with_every_message_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("classchat.db");
        let conn = Connection::open(&path).unwrap();
        let id = |n: u8| MessageId::from_bytes([n; 16]);
        conn.execute_batch(&format!(
            "BEGIN; {SCHEMA} {FILES_SCHEMA} {NOTICES_SCHEMA} {RULES_SCHEMA} {CHANGES_SCHEMA}
             {SEARCH_SCHEMA} PRAGMA user_version=7; COMMIT;
             INSERT INTO users (id, name, pw_hash, created_at) VALUES (1, 'alice', 'x', 1), (2, 'bob', 'x', 1);
             INSERT INTO convs (id, dm_a, dm_b, created_at) VALUES (3, 1, 2, 1);
             INSERT INTO convs (id, group_name, owner_id, created_at) VALUES (9, 'lab', 1, 1);
             INSERT INTO members (conv_id, user_id, joined_seq, joined_at, delivered_seq, read_seq)
             VALUES (3, 1, 0, 1, 0, 0), (3, 2, 0, 1, 0, 0), (9, 1, 0, 1, 0, 0);"
        ))
        .unwrap();
        // Inserted out of order: the new table keeps them by (conversation, number).
        // (conversation, number, client id, sender, kind, text, refers)
        type Row = (i64, i64, u8, i64, i64, &'static str, Option<i64>);
        let rows: [Row; 6] = [
            (9, 1, 11, 1, 0, "lab notes", None),
            (3, 2, 2, 2, 0, "a reply", Some(1)),
            (3, 1, 1, 1, 0, "hello bob", None),
            (3, 3, 3, 1, MessageKind::Edit as i64, "hello, bob", Some(1)),
            (9, 2, 12, 1, 0, "more notes", None),
            (3, 4, 4, 2, 0, "words to find", None),
        ];
        for (conv, seq, client, sender, kind, body, refers) in rows {
            conn.execute(
                "INSERT INTO messages (conv_id, seq, client_id, sender_id, ts, kind, body, refers)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    conv,
                    seq,
                    &id(client).as_bytes()[..],
                    sender,
                    100 + seq,
                    kind,
                    body,
                    refers
                ],
            )
            .unwrap();
        }
        drop(conn);

        let mut store = SqliteStore::open(dir.path(), SyncLevel::Normal).unwrap();
        let snap = store.load().await.unwrap();
        let last: Vec<(i64, u64)> = snap.convs.iter().map(|c| (c.id.0, c.last_seq)).collect();
        assert_eq!(last, [(3, 4), (9, 2)]);
        let reader = store.reader();
        let page = reader.range(ConvId(3), 0, 10, 10).unwrap();
        let seqs: Vec<u64> = page.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
        assert_eq!(page[0].body, "hello bob");
        assert_eq!(page[1].refers, Some(1));
        assert_eq!(page[1].quoted.as_ref().unwrap().text, "hello bob");
        assert_eq!(page[3].id, id(4));
        let older = reader.before(ConvId(3), 3, 10).unwrap();
        assert_eq!(older.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2]);
        let lab = reader.range(ConvId(9), 1, 2, 10).unwrap();
        assert_eq!(
            lab.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
            ["more notes"]
        );
        assert_eq!(reader.count_unread(ConvId(3), 1, UserId(1)).unwrap(), 2);

        // A resend is still found by its client's id.
        let again = NewMessage {
            conv: ConvId(3),
            seq: 5,
            id: id(2),
            sender: UserId(2),
            ts: Timestamp::from_millis(200),
            kind: MessageKind::Text,
            body: "a reply",
            refers: Some(1),
        };
        let Appended::Duplicate(first) = store.append(&again).unwrap() else {
            panic!("a resend is stored once");
        };
        assert_eq!((first.conv, first.seq), (ConvId(3), 2));
        // The numbering goes on.
        let next = NewMessage {
            id: id(5),
            body: "next",
            refers: None,
            ..again
        };
        assert!(matches!(store.append(&next).unwrap(), Appended::New));
        store.index_for_search(100).unwrap();
        store.commit().await.unwrap();
        let page = reader.range(ConvId(3), 4, 10, 10).unwrap();
        assert_eq!(
            page.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
            ["next"]
        );
        let query = Query::parse("words").unwrap();
        let found = reader
            .search(&query, &[ConvId(3), ConvId(9)], None, 10)
            .unwrap();
        assert_eq!(
            found.iter().map(|(c, m)| (c.0, m.seq)).collect::<Vec<_>>(),
            [(3, 4)]
        );
        drop((reader, store));

        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let verdict: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(verdict, "ok");
    }

    /// A new store in `dir`, loaded, with one account (alice) to send from.
    async fn store_with_a_sender(dir: &Path) -> (SqliteStore, UserId) {
        let mut store = SqliteStore::open(dir, SyncLevel::Normal).unwrap();
        store.load().await.unwrap();
        let alice = Username::new("alice").unwrap();
        let sender = store
            .create_user(&alice, "x", Timestamp::from_millis(1))
            .unwrap();
        (store, sender)
    }

    /// A message whose conversation or number the key cannot hold is refused
    /// with a reason, in a new database and in one still to be rekeyed.
    #[tokio::test]
    async fn what_the_key_cannot_hold_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, sender) = store_with_a_sender(dir.path()).await;
        let mut msg = NewMessage {
            conv: ConvId(1 << 31),
            seq: 1,
            id: MessageId::from_bytes([1; 16]),
            sender,
            ts: Timestamp::from_millis(1),
            kind: MessageKind::Text,
            body: "x",
            refers: None,
        };
        let refused = store.append(&msg).unwrap_err().to_string();
        assert!(refused.contains("2^31"), "{refused}");
        msg.conv = ConvId(1);
        msg.seq = 1 << 32;
        assert!(store.append(&msg).is_err());
        msg.seq = u64::from(u32::MAX);
        assert!(matches!(store.append(&msg).unwrap(), Appended::New));
        store.commit().await.unwrap();
        let last = store.reader().before(ConvId(1), u64::MAX, 5).unwrap();
        assert_eq!(
            last.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [u64::from(u32::MAX)]
        );
        drop(store);

        let old = tempfile::tempdir().unwrap();
        let conn = Connection::open(old.path().join("classchat.db")).unwrap();
        conn.execute_batch(&format!(
            "BEGIN; {SCHEMA} {FILES_SCHEMA} {NOTICES_SCHEMA} {RULES_SCHEMA} {CHANGES_SCHEMA}
             {SEARCH_SCHEMA} PRAGMA user_version=7; COMMIT;
             INSERT INTO messages (conv_id, seq, client_id, sender_id, ts, kind, body)
             VALUES (1, 4294967296, x'01', 1, 1, 0, 'too far');"
        ))
        .unwrap();
        drop(conn);
        let refused = SqliteStore::open(old.path(), SyncLevel::Normal)
            .unwrap_err()
            .to_string();
        assert!(refused.contains("cannot key"), "{refused}");
    }

    /// Commits ask the store's own thread to checkpoint the log, and the
    /// writer starts the log over once it has: after bursts of one-message
    /// commits, each past SQLite's 1,000-page threshold, with a pause after
    /// each, the log's file never held much more than one burst.
    #[tokio::test]
    async fn the_log_is_checkpointed_off_the_writer_and_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, sender) = store_with_a_sender(dir.path()).await;
        store.commit().await.unwrap();
        let wal = dir.path().join("classchat.db-wal");
        let frames = || (std::fs::metadata(&wal).unwrap().len() - 32) / (4096 + 24);
        // Each commit writes two frames at least (the table's page and the
        // index's): 9,600 in all, more than 1,000 in each burst.
        let (bursts, per_burst) = (6, 800);
        let mut seq = 0u64;
        for burst in 0..bursts {
            let made = store._checkpointer.made();
            for _ in 0..per_burst {
                seq += 1;
                let mut id = [0; 16];
                id[..8].copy_from_slice(&seq.to_le_bytes());
                store
                    .append(&NewMessage {
                        conv: ConvId(1),
                        seq,
                        id: MessageId::from_bytes(id),
                        sender,
                        ts: Timestamp::from_millis(2),
                        kind: MessageKind::Text,
                        body: "one message of a burst",
                        refers: None,
                    })
                    .unwrap();
                store.commit().await.unwrap();
            }
            // A thread of its own, so real time: bounded.
            let waited = (0..500).find(|_| {
                std::thread::sleep(std::time::Duration::from_millis(10));
                store._checkpointer.made() > made && store._checkpointer.caught_up()
            });
            assert!(waited.is_some(), "burst {burst} was not checkpointed");
        }
        let largest = frames();
        assert!(
            largest < 3 * per_burst,
            "the log grew to {largest} frames: it did not start over"
        );
        let last = store.reader().before(ConvId(1), u64::MAX, 3).unwrap();
        assert_eq!(
            last.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [seq - 2, seq - 1, seq]
        );
        drop(store);
        // The writer, closing last, folded the log into the database.
        assert_eq!(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    }

    /// The store writes its log through `classchat-walvfs`: each frame one
    /// write (the counter is the process's, so it can only say the VFS is
    /// used, which is what would go if the store opened `unix-excl` again).
    #[tokio::test]
    async fn the_log_is_written_a_frame_a_call() {
        let before = classchat_walvfs::joined_writes();
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path(), SyncLevel::Normal).unwrap();
        store.load().await.unwrap();
        store.set_banned(ConvId(7), UserId(1), true).unwrap();
        store.commit().await.unwrap();
        assert!(classchat_walvfs::joined_writes() > before);
        let wal = std::fs::metadata(dir.path().join("classchat.db-wal")).unwrap();
        assert_eq!((wal.len() - 32) % (4096 + 24), 0, "whole frames only");
    }
}
