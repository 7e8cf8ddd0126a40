//! `store_instr`, `sqlite_keyed_floor_instr` and `sqlite_floor_instr`, many
//! in flight and one at a time: what storing a direct message costs the
//! server's SQLite store on its own, the least SQLite takes to keep it with
//! the two keys the delivery contract needs, and what its cheapest durable row
//! costs. They say how much of `dm_instr` and `dm_instr_one_at_a_time` no
//! change above the store can take away.
//!
//! This benchmark's own binary runs again under callgrind with [`ARG`] and
//! stores messages in a temporary directory, without a server, a socket or a
//! runtime; as for the server's counts, two runs (`n` and `2n` messages) and
//! the difference over `n`, so that opening the database cancels out.

use std::path::Path;

use anyhow::{Context as _, bail};
use classchat_common::ids::{MessageId, Timestamp};
use classchat_server::store::sqlite::{SqliteStore, SyncLevel};
use classchat_server::store::{ConvId, MessageKind, NewMessage, Store, UserId};
use rusqlite::Connection;
use tempfile::TempDir;

use crate::instructions::{self, Counter, Keep};

/// The first argument that makes the benchmark binary the store's load:
/// `--store-alone store|keyed|floor MESSAGES PER_COMMIT DIR`.
pub const ARG: &str = "--store-alone";

/// Messages per commit in the many-in-flight figures. The `dm_instr` load
/// commits about 870 at a time (its longer run makes 23 more commits for
/// 20,000 more messages); a row costs the same from a few hundred up.
pub const LOAD_PER_COMMIT: usize = 1000;

/// Conversations the messages go to in turn, as the `dm_instr` load's pairs.
const CONVERSATIONS: usize = 10;

/// The `dm_instr` load's text: 64 bytes.
const BODY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// What stores the messages.
#[derive(Debug, Clone, Copy)]
pub enum Form {
    /// The server's SQLite store: [`Store::append`] and [`Store::commit`],
    /// the calls the hub makes, on the server's schema, pragmas and VFS.
    Store,
    /// The least SQLite takes to keep a message as the contract needs it:
    /// found by conversation and number, in order (history, catch-up), and
    /// by sender and client id, unique (a resend is answered with the first
    /// `stored`). The store's own layout since its schema 8: one table keyed
    /// by its row id, the conversation and the number packed into one
    /// integer, and one index; but written through plain prepared
    /// statements, in WAL mode with `synchronous=NORMAL`, through SQLite's
    /// own VFS, with nothing of the store around it.
    Keyed,
    /// SQLite's cheapest durable row: the same fields, appended to a table
    /// with no key but its row id and no index, through prepared statements,
    /// in WAL mode with `synchronous=NORMAL` (as the server's default).
    Floor,
}

impl Form {
    fn arg(self) -> &'static str {
        match self {
            Form::Store => "store",
            Form::Keyed => "keyed",
            Form::Floor => "floor",
        }
    }
}

/// Instructions per message for `form`, `messages` more in the longer run,
/// committed `per_commit` at a time.
pub async fn measure(
    form: Form,
    messages: usize,
    per_commit: usize,
    keep: Keep<'_>,
) -> anyhow::Result<f64> {
    let exe = std::env::current_exe().context("cannot find the benchmark's own binary")?;
    let mut totals = Vec::with_capacity(2);
    for scale in [1, 2] {
        let dir = TempDir::new()?;
        let out = dir.path().join("counted.out");
        let data = dir.path().join("data");
        let mut command = instructions::callgrind(&out);
        command.extend([
            exe.display().to_string(),
            ARG.to_owned(),
            form.arg().to_owned(),
            (messages * scale).to_string(),
            per_commit.to_string(),
            data.display().to_string(),
        ]);
        let status = tokio::process::Command::new(&command[0])
            .args(&command[1..])
            .status()
            .await
            .context("cannot start valgrind")?;
        if !status.success() {
            bail!(
                "storing {} messages under callgrind failed: {status}",
                messages * scale
            );
        }
        if let Some((to, name)) = keep {
            let kept = to.join(format!("{name}.{scale}.callgrind"));
            std::fs::copy(&out, &kept)
                .with_context(|| format!("cannot keep {}", kept.display()))?;
        }
        totals.push(instructions::total(&out)?);
    }
    instructions::difference(Counter::Instructions, keep, messages)?;
    instructions::per_message(&totals, messages)
}

/// The child's side: stores `MESSAGES` messages in `DIR`, `PER_COMMIT` to a
/// commit.
pub fn serve(mut args: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let usage = || format!("usage: {ARG} store|keyed|floor MESSAGES PER_COMMIT DIR");
    let form = args.next().with_context(usage)?;
    let messages: usize = args.next().with_context(usage)?.parse()?;
    let per_commit: usize = args.next().with_context(usage)?.parse()?;
    let dir = args.next().with_context(usage)?;
    let dir = Path::new(&dir);
    match form.as_str() {
        "store" => through_the_store(dir, messages, per_commit.max(1)),
        "keyed" => in_sqlite(dir, KEYED, messages, per_commit.max(1)),
        "floor" => in_sqlite(dir, CHEAPEST, messages, per_commit.max(1)),
        _ => bail!(usage()),
    }
}

/// The `i`-th message's fields: the conversation, its number there, an id in
/// the order a client's time-ordered ids come, and a timestamp a millisecond
/// after the one before. Made without the clock or randomness, which are not
/// the store's cost.
fn nth(i: usize, seqs: &mut [u64; CONVERSATIONS]) -> (ConvId, u64, MessageId, Timestamp) {
    let conv = i % CONVERSATIONS;
    seqs[conv] += 1;
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&(i as u64).to_be_bytes());
    id[8..].copy_from_slice(&(conv as u64).to_be_bytes());
    let at = Timestamp::from_millis(1_800_000_000_000 + i as i64);
    (
        ConvId(conv as i64 + 1),
        seqs[conv],
        MessageId::from_bytes(id),
        at,
    )
}

fn through_the_store(dir: &Path, messages: usize, per_commit: usize) -> anyhow::Result<()> {
    let mut store = SqliteStore::open(dir, SyncLevel::Normal)?;
    let mut seqs = [0; CONVERSATIONS];
    for i in 0..messages {
        let (conv, seq, id, ts) = nth(i, &mut seqs);
        store.append(&NewMessage {
            conv,
            seq,
            id,
            sender: UserId(conv.0),
            ts,
            kind: MessageKind::Text,
            body: BODY,
            refers: None,
        })?;
        if (i + 1) % per_commit == 0 {
            commit(&mut store)?;
        }
    }
    commit(&mut store)
}

/// [`Store::commit`] answers with a future (PostgreSQL's waits for the
/// server), SQLite's ready at once: polled once, as the hub's first poll
/// finds it, without a runtime whose own instructions would count.
fn commit(store: &mut SqliteStore) -> anyhow::Result<()> {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match store.commit().as_mut().poll(&mut context) {
        std::task::Poll::Ready(done) => Ok(done?),
        std::task::Poll::Pending => bail!("SQLite's commit was not ready at once"),
    }
}

/// A table for [`Form::Keyed`] or [`Form::Floor`], and the statement that
/// stores a message in it (parameters: conversation, number, client id,
/// sender, timestamp, kind, text).
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub schema: &'static str,
    pub insert: &'static str,
}

/// [`Form::Keyed`]'s layout; the keeping relay's too (relay.rs).
pub const KEYED: Layout = Layout {
    schema: "CREATE TABLE messages (
                 id INTEGER PRIMARY KEY, client_id BLOB NOT NULL, sender_id INTEGER NOT NULL,
                 ts INTEGER NOT NULL, kind INTEGER NOT NULL, body TEXT NOT NULL
             );
             CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_id, client_id);",
    insert: "INSERT INTO messages (id, client_id, sender_id, ts, kind, body)
             VALUES ((?1 << 32) | ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
};

const CHEAPEST: Layout = Layout {
    schema: "CREATE TABLE messages (
                 conv_id INTEGER NOT NULL, seq INTEGER NOT NULL, client_id BLOB NOT NULL,
                 sender_id INTEGER NOT NULL, ts INTEGER NOT NULL, kind INTEGER NOT NULL,
                 body TEXT NOT NULL
             );",
    insert: "INSERT INTO messages (conv_id, seq, client_id, sender_id, ts, kind, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
};

/// A new database `name` in `dir`, in WAL mode with `synchronous=NORMAL`
/// (the server's default), with `layout`'s table: what the floors and the
/// keeping relay (relay.rs) store in.
pub fn create(dir: &Path, name: &str, layout: Layout) -> anyhow::Result<Connection> {
    std::fs::create_dir_all(dir)?;
    let conn = Connection::open(dir.join(name))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        bail!("no WAL mode: {mode}");
    }
    conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
    conn.execute_batch(layout.schema)?;
    Ok(conn)
}

fn in_sqlite(dir: &Path, layout: Layout, messages: usize, per_commit: usize) -> anyhow::Result<()> {
    let conn = create(dir, "messages.db", layout)?;
    let mut begin = conn.prepare("BEGIN")?;
    let mut commit = conn.prepare("COMMIT")?;
    let mut insert = conn.prepare(layout.insert)?;
    let mut seqs = [0; CONVERSATIONS];
    begin.execute([])?;
    for i in 0..messages {
        let (conv, seq, id, ts) = nth(i, &mut seqs);
        let stored = insert.execute(rusqlite::params![
            conv.0,
            seq as i64,
            &id.as_bytes()[..],
            conv.0,
            ts.as_millis(),
            MessageKind::Text as i64,
            BODY
        ])?;
        if stored != 1 {
            bail!("message {i} was not stored");
        }
        if (i + 1) % per_commit == 0 {
            commit.execute([])?;
            begin.execute([])?;
        }
    }
    commit.execute([])?;
    Ok(())
}
