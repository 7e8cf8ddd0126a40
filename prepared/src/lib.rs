//! A SQLite connection that keeps the statements it runs most prepared for
//! its whole life, and still moves between threads.
//!
//! rusqlite's statement cache (`Connection::prepare_cached`) costs about
//! 1,100 instructions each time it lends a statement out and takes it back:
//! the SQL is trimmed and hashed, the statement unlinked from the cache's
//! list, and its key allocated again on the way back. ClassChat's store runs
//! three statements for a message sent on its own (`BEGIN`, the insert,
//! `COMMIT`), and the insert for every message under load
//! (docs/BENCHMARKS.md). A statement prepared once and kept costs none of
//! that, but it borrows its connection (`Statement<'conn>`), and the store,
//! which owns both, moves into a Tokio task, which must be `Send`.
//!
//! [`Prepared`] owns the connection and its statements together. The rest of
//! the program reaches the connection through `Deref`, shared, as every
//! `Connection` method but a few (`transaction`, `close`) takes it: nothing
//! can move, replace or mutably borrow the connection while the statements
//! borrow it.
//!
//! The workspace forbids `unsafe`; holding a value beside what it borrows
//! needs it, so this crate is one of the two places that use it (with
//! `walvfs`), each block with its reason.

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;

use rusqlite::{Connection, Error, Params, Statement};

/// A connection and `N` statements prepared on it, run by their index.
pub struct Prepared<const N: usize> {
    /// Finalized in `drop`, before the connection closes.
    statements: ManuallyDrop<[Statement<'static>; N]>,
    /// From `Box::leak`, given back in `drop`. A raw pointer rather than a
    /// `Box`, which would claim the connection for itself each time the
    /// `Prepared` moves, while the statements hold references to it.
    conn: NonNull<Connection>,
}

impl<const N: usize> Prepared<N> {
    /// Takes `conn` and prepares each of `sql` on it.
    pub fn new(conn: Connection, sql: [&str; N]) -> rusqlite::Result<Self> {
        let conn = NonNull::from(Box::leak(Box::new(conn)));
        // SAFETY: the connection stays on the heap from here until `drop`, at
        // this address, and is only ever shared (`Deref`), so references to
        // it stay valid for as long as the statements live: `drop` finalizes
        // them before it frees the connection.
        let shared: &'static Connection = unsafe { conn.as_ref() };
        let prepared = prepare_all(shared, sql);
        match prepared {
            Ok(statements) => Ok(Self {
                statements: ManuallyDrop::new(statements),
                conn,
            }),
            Err(e) => {
                // SAFETY: the statements prepared before the failure were
                // dropped in `prepare_all`; nothing borrows the connection.
                drop(unsafe { Box::from_raw(conn.as_ptr()) });
                Err(e)
            }
        }
    }

    /// Runs statement `which` with `params`, as `Statement::execute` does:
    /// the rows it changed.
    pub fn run(&mut self, which: usize, params: impl Params) -> rusqlite::Result<usize> {
        self.statements
            .get_mut(which)
            .ok_or(Error::InvalidParameterCount(which, N))?
            .execute(params)
    }
}

fn prepare_all<const N: usize>(
    conn: &'static Connection,
    sql: [&str; N],
) -> rusqlite::Result<[Statement<'static>; N]> {
    let mut statements = Vec::with_capacity(N);
    for text in sql {
        statements.push(conn.prepare(text)?);
    }
    statements
        .try_into()
        .map_err(|_| Error::InvalidParameterCount(0, N))
}

impl<const N: usize> Deref for Prepared<N> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // SAFETY: valid until `drop` (see `new`), and shared like every other
        // reference to it.
        unsafe { self.conn.as_ref() }
    }
}

impl<const N: usize> Drop for Prepared<N> {
    fn drop(&mut self) {
        // SAFETY: the statements are not used again; once they are gone
        // nothing borrows the connection, which `new` leaked from a `Box`
        // and nothing else frees.
        unsafe {
            ManuallyDrop::drop(&mut self.statements);
            drop(Box::from_raw(self.conn.as_ptr()));
        }
    }
}

// SAFETY: a `Connection` may move to another thread (it is `Send`); the
// statements are not `Send` only because they borrow it. They move with it,
// as one value, and run only through `&mut Prepared`. `Prepared` is not
// `Sync` (it holds a raw pointer), so no two threads use the connection at
// once.
unsafe impl<const N: usize> Send for Prepared<N> {}

impl<const N: usize> std::fmt::Debug for Prepared<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("statements", &N)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: usize = 0;
    const COMMIT: usize = 1;
    const INSERT: usize = 2;

    fn prepared() -> Prepared<3> {
        let conn = Connection::open_in_memory().expect("an in-memory database");
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, key BLOB UNIQUE, body TEXT);")
            .expect("the table");
        Prepared::new(
            conn,
            [
                "BEGIN",
                "COMMIT",
                "INSERT INTO t (id, key, body) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            ],
        )
        .expect("the statements")
    }

    fn bodies(p: &Prepared<3>) -> Vec<String> {
        p.prepare("SELECT body FROM t ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("the rows")
    }

    #[test]
    fn the_statements_run_again_and_again_and_move_between_threads_with_the_connection() {
        let mut p = prepared();
        p.run(BEGIN, []).expect("begin");
        assert_eq!(p.run(INSERT, (1, b"a", "one")).expect("insert"), 1);
        assert_eq!(p.run(INSERT, (2, b"b", "two")).expect("insert"), 1);
        // A key taken, an id taken: nothing goes in.
        assert_eq!(p.run(INSERT, (3, b"a", "again")).expect("insert"), 0);
        assert_eq!(p.run(INSERT, (2, b"c", "clash")).expect("insert"), 0);
        p.run(COMMIT, []).expect("commit");
        let mut p = std::thread::spawn(move || {
            p.run(BEGIN, []).expect("begin");
            assert_eq!(p.run(INSERT, (4, b"d", "four")).expect("insert"), 1);
            p.run(COMMIT, []).expect("commit");
            p
        })
        .join()
        .expect("the thread");
        assert_eq!(bodies(&p), ["one", "two", "four"]);
        // Other statements share the connection meanwhile, a transaction too.
        let txn = p.unchecked_transaction().expect("a transaction");
        txn.execute("DELETE FROM t WHERE id = 1", [])
            .expect("delete");
        txn.commit().expect("commit");
        p.run(BEGIN, []).expect("begin");
        assert_eq!(p.run(INSERT, (1, b"e", "new one")).expect("insert"), 1);
        p.run(COMMIT, []).expect("commit");
        assert_eq!(bodies(&p), ["new one", "two", "four"]);
    }

    #[test]
    fn a_failed_statement_leaves_it_ready_to_run_again() {
        let mut p = prepared();
        // COMMIT with no transaction fails, and is reset all the same.
        assert!(p.run(COMMIT, []).is_err());
        p.run(BEGIN, []).expect("begin");
        assert_eq!(p.run(INSERT, (1, b"a", "one")).expect("insert"), 1);
        p.run(COMMIT, []).expect("commit");
        assert_eq!(bodies(&p), ["one"]);
    }

    #[test]
    fn no_statement_past_the_last() {
        let mut p = prepared();
        assert!(matches!(
            p.run(3, []),
            Err(Error::InvalidParameterCount(3, 3))
        ));
    }

    #[test]
    fn sql_that_cannot_be_prepared_gives_the_connection_back() {
        // `BEGIN` prepares; the insert cannot, with no table. The connection
        // and the statement already made are closed, not leaked.
        let conn = Connection::open_in_memory().expect("an in-memory database");
        let made = Prepared::new(conn, ["BEGIN", "INSERT INTO t VALUES (1)"]);
        assert!(made.is_err());
    }

    #[test]
    fn the_connection_closes_when_dropped_with_its_statements() {
        // A file, so that closing can be seen: the write-ahead log is folded
        // in and removed only when the last connection closes cleanly,
        // which it cannot with a statement still open.
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).expect("the database");
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, key BLOB UNIQUE, body TEXT);",
        )
        .expect("the table");
        let mut p = Prepared::new(conn, ["INSERT INTO t (id, key, body) VALUES (?1, ?2, ?3)"])
            .expect("the statement");
        p.run(0, (1, b"a", "one")).expect("insert");
        drop(p);
        assert!(!dir.path().join("t.db-wal").exists(), "closed cleanly");
        let count: i64 = Connection::open(&path)
            .and_then(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .expect("count");
        assert_eq!(count, 1);
    }
}
