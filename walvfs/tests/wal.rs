//! The VFS through real SQLite: what it writes is what SQLite wrote, whole at
//! every commit, and read back by SQLite's own unix VFS.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::path::Path;

use proptest::prelude::*;
use rusqlite::{Connection, OpenFlags, params};

const PLAIN: &CStr = c"unix";
const EXCL: &CStr = c"unix-excl";

fn open(path: &Path, vfs: &CStr) -> Connection {
    let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), vfs).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch(
        "PRAGMA synchronous=NORMAL;
         CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB NOT NULL);
         CREATE TABLE IF NOT EXISTS w (a INTEGER, b INTEGER, v BLOB, PRIMARY KEY (a, b)) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS w_by_v ON w (v);",
    )
    .unwrap();
    conn
}

/// A value of `len` bytes that says which key and version it belongs to.
fn value(key: i64, version: u32, len: usize) -> Vec<u8> {
    let seed = (key as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(version);
    (0..len)
        .map(|i| {
            (seed
                .wrapping_add(i as u64)
                .wrapping_mul(0x2545_f491_4f6c_dd1d)
                >> 56) as u8
        })
        .collect()
}

fn contents(conn: &Connection) -> BTreeMap<i64, Vec<u8>> {
    let mut stmt = conn.prepare("SELECT k, v FROM t ORDER BY k").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn integrity(conn: &Connection) {
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
}

/// What a crash right now would leave: the database and its log as they are on
/// disk, opened by plain SQLite elsewhere (which recovers from the log).
fn as_if_crashed(db: &Path, into: &Path) -> Connection {
    let copy = into.join("copy.db");
    for suffix in ["", "-wal"] {
        let from = format!("{}{suffix}", db.display());
        let to = format!("{}{suffix}", copy.display());
        let _ = std::fs::remove_file(&to);
        if Path::new(&from).exists() {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    let _ = std::fs::remove_file(format!("{}-shm", copy.display()));
    Connection::open_with_flags_and_vfs(&copy, OpenFlags::default(), PLAIN).unwrap()
}

/// Nothing is held back once a transaction has committed: the log on disk is
/// its 32-byte header and whole frames.
fn log_is_whole(db: &Path, page_size: u64) {
    let wal = format!("{}-wal", db.display());
    let len = std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0);
    if len > 0 {
        assert_eq!((len - 32) % (page_size + 24), 0, "log of {len} bytes");
    }
}

#[test]
fn every_commit_is_on_disk_whole_and_plain_sqlite_reads_it() {
    let name = classchat_walvfs::register().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let crashes = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let conn = open(&db, name);
    let page_size = conn
        .query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    let joined_before = classchat_walvfs::joined_writes();
    let mut model = BTreeMap::new();
    let commits = 300;
    for i in 0..commits {
        let key = (i * 7919) % 211;
        // Small rows, rows over a page (overflow pages), and now and then a
        // deletion or a checkpoint of either kind.
        let len = [40, 300, 5000, 9000][(i % 4) as usize];
        let v = value(key, i as u32, len);
        conn.execute(
            "INSERT INTO t (k, v) VALUES (?1, ?2) ON CONFLICT (k) DO UPDATE SET v = ?2",
            params![key, v],
        )
        .unwrap();
        model.insert(key, v);
        if i % 11 == 0 {
            let gone = (i * 31) % 211;
            conn.execute("DELETE FROM t WHERE k = ?1", [gone]).unwrap();
            model.remove(&gone);
        }
        match i {
            100 => conn
                .execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
                .unwrap(),
            200 => conn
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .unwrap(),
            _ => {}
        }
        log_is_whole(&db, page_size);
        if i % 50 == 49 {
            let copy = as_if_crashed(&db, crashes.path());
            integrity(&copy);
            assert_eq!(contents(&copy), model, "after commit {i}");
        }
    }
    assert!(
        classchat_walvfs::joined_writes() - joined_before >= commits as u64,
        "every commit writes at least one frame, each with one write"
    );
    drop(conn);
    let plain = Connection::open_with_flags_and_vfs(&db, OpenFlags::default(), PLAIN).unwrap();
    integrity(&plain);
    assert_eq!(contents(&plain), model);
}

#[test]
fn a_reader_beside_the_writer_sees_each_commit() {
    let name = classchat_walvfs::register().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let writer = open(&db, name);
    let reader =
        Connection::open_with_flags_and_vfs(&db, OpenFlags::SQLITE_OPEN_READ_ONLY, name).unwrap();
    for i in 0..200i64 {
        writer
            .execute(
                "INSERT INTO w (a, b, v) VALUES (?1, ?2, ?3)",
                params![i % 3, i, value(i, 0, 100)],
            )
            .unwrap();
        let (n, last): (i64, i64) = reader
            .query_row("SELECT count(*), max(b) FROM w", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, last), (i + 1, i));
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Rows written in one transaction: (key, length).
    Write(Vec<(i64, usize)>),
    Delete(i64),
    Checkpoint(&'static str),
    /// Close the connection and open it again.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((0i64..64, prop::sample::select(vec![1usize, 24, 100, 4072, 4096, 6000])), 1..6)
            .prop_map(Op::Write),
        2 => (0i64..64).prop_map(Op::Delete),
        1 => prop::sample::select(vec!["PASSIVE", "FULL", "RESTART", "TRUNCATE"]).prop_map(Op::Checkpoint),
        1 => Just(Op::Reopen),
    ]
}

fn apply(conn: &mut Connection, path: &Path, vfs: &CStr, step: u32, op: &Op) {
    match op {
        Op::Write(rows) => {
            let tx = conn.transaction().unwrap();
            for &(key, len) in rows {
                tx.execute(
                    "INSERT INTO t (k, v) VALUES (?1, ?2) ON CONFLICT (k) DO UPDATE SET v = ?2",
                    params![key, value(key, step, len)],
                )
                .unwrap();
                tx.execute(
                    "INSERT OR REPLACE INTO w (a, b, v) VALUES (?1, ?2, ?3)",
                    params![key % 5, key, value(key, step + 1, len / 2)],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        Op::Delete(key) => {
            conn.execute("DELETE FROM t WHERE k = ?1", [key]).unwrap();
        }
        Op::Checkpoint(mode) => {
            conn.execute_batch(&format!("PRAGMA wal_checkpoint({mode})"))
                .unwrap();
        }
        Op::Reopen => {
            // The old connection closes (its log with it) before the new opens.
            *conn = Connection::open_in_memory().unwrap();
            *conn = open(path, vfs);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The same transactions through this VFS and through `unix-excl` leave
    /// the same data, and what this VFS left on disk after each step is what a
    /// crash would leave: readable, whole and the same.
    #[test]
    fn the_same_transactions_leave_the_same_database(ops in prop::collection::vec(op(), 1..40)) {
        let name = classchat_walvfs::register().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let crashes = tempfile::tempdir().unwrap();
        let ours_path = dir.path().join("ours.db");
        let theirs_path = dir.path().join("theirs.db");
        let mut ours = open(&ours_path, name);
        let mut theirs = open(&theirs_path, EXCL);
        let page_size = ours.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0)).unwrap() as u64;
        for (step, op) in ops.iter().enumerate() {
            apply(&mut ours, &ours_path, name, step as u32, op);
            apply(&mut theirs, &theirs_path, EXCL, step as u32, op);
            log_is_whole(&ours_path, page_size);
            let copy = as_if_crashed(&ours_path, crashes.path());
            prop_assert_eq!(contents(&copy), contents(&theirs));
        }
        integrity(&ours);
        let w = |c: &Connection| -> Vec<(i64, i64, Vec<u8>)> {
            let mut s = c.prepare("SELECT a, b, v FROM w ORDER BY a, b").unwrap();
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
        };
        prop_assert_eq!(w(&ours), w(&theirs));
        prop_assert_eq!(contents(&ours), contents(&theirs));
    }
}
