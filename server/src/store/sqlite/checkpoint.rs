//! Checkpoints on a thread of their own, off the hub's.
//!
//! SQLite folds its write-ahead log into the database file (a checkpoint) once
//! the log holds 1,000 pages. By default the connection that committed does it,
//! right after its commit: the hub's thread then copies the pages and waits for
//! two fsyncs, the log's and the database's, and no message moves meanwhile.
//! On this project's machine that is 4–6 ms every few hundred messages, the
//! worst one-way latency of an idle server (docs/BENCHMARKS.md).
//!
//! Here the writer's commits only ask for a checkpoint; a thread with a
//! connection of its own makes it (`PASSIVE`: it copies what was committed and
//! never waits for the writer, nor the writer for it). The writer starts the
//! log over at its next transaction once every frame is copied, as it does
//! after its own checkpoints. A checkpoint's fsyncs take milliseconds, and
//! commits that come meanwhile leave frames it did not copy. So the thread
//! checkpoints again once the log has grown by another 1,000 pages, as SQLite
//! would have, and once the commits pause ([`QUIET`]): then it copies the rest,
//! and the log starts over. Under a load that never pauses the log grows; at
//! [`WRITER_CHECKPOINTS_AT`] pages the writer checkpoints itself, which copies
//! only what the thread had not, and the log starts over.
//!
//! Durability is the same as SQLite's own checkpoints: a checkpoint copies only
//! committed frames, syncs the log before and the database after, and one cut
//! short by a crash is finished by the next. Nothing a commit has answered
//! depends on a checkpoint.

use std::ffi::c_int;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::vfs;
use crate::store::Result;

/// Pages in the log from which a commit asks the thread for a checkpoint:
/// SQLite's own threshold (`wal_autocheckpoint`); and the growth after a
/// checkpoint that left frames behind from which one asks again.
pub(super) const CHECKPOINT_AT: c_int = 1_000;

/// Pages in the log from which the writer checkpoints itself (64 MiB of
/// 4 KiB pages): the thread is behind a load that never pauses, or failing.
pub(super) const WRITER_CHECKPOINTS_AT: c_int = 16_000;

/// How long commits must pause for the thread to copy the frames the last
/// checkpoint left behind.
const QUIET: Duration = Duration::from_millis(20);

/// What the store asks of the thread.
#[derive(Debug, Default)]
struct Asked {
    checkpoint: bool,
    stop: bool,
}

#[derive(Debug)]
struct Shared {
    asked: Mutex<Asked>,
    wake: Condvar,
    /// Pages in the log from which a commit asks for a checkpoint.
    ask_at: AtomicI32,
    /// Pages in the log after the last commit.
    pages: AtomicI32,
    /// A checkpoint has been asked for and not begun: commits meanwhile need
    /// not take the lock to ask again.
    pending: AtomicBool,
    /// Commits so far, for the thread to tell a pause.
    commits: AtomicU64,
    /// Checkpoints the thread has made.
    made: AtomicU64,
    /// The last of them copied every frame in the log.
    caught_up: AtomicBool,
}

impl Shared {
    fn new() -> Self {
        Self {
            asked: Mutex::default(),
            wake: Condvar::new(),
            ask_at: AtomicI32::new(CHECKPOINT_AT),
            pages: AtomicI32::new(0),
            pending: AtomicBool::new(false),
            commits: AtomicU64::new(0),
            made: AtomicU64::new(0),
            caught_up: AtomicBool::new(true),
        }
    }

    fn ask(&self, f: impl FnOnce(&mut Asked)) {
        f(&mut self.asked.lock().unwrap_or_else(PoisonError::into_inner));
        self.wake.notify_one();
    }

    /// What the writer's connection does after each commit, with `pages` in
    /// the log.
    fn committed(&self, wal: &mut Wal, pages: c_int) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        if pages < self.pages.swap(pages, Ordering::Relaxed) {
            // The log started over.
            self.ask_at.store(CHECKPOINT_AT, Ordering::Relaxed);
        }
        if pages >= WRITER_CHECKPOINTS_AT {
            checkpoint_here(wal, pages);
        } else if pages >= self.ask_at.load(Ordering::Relaxed)
            && !self.pending.swap(true, Ordering::AcqRel)
        {
            self.ask(|a| a.checkpoint = true);
        }
    }
}

/// The checkpointing thread; stopped and joined when dropped.
#[derive(Debug)]
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread for the database at `path`, and has `writer`'s
    /// commits ask it for checkpoints instead of making them (this replaces
    /// SQLite's automatic checkpoints on that connection).
    pub(super) fn start(path: &Path, writer: &mut Connection) -> Result<Self> {
        let shared = Arc::new(Shared::new());
        let hook = Arc::clone(&shared);
        writer.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            hook.committed(wal, pages);
            // An error here would fail the commit's statement although the
            // commit happened: the hook never reports one.
            Ok(())
        }))?;
        // Opened here, once: a failure shows when the store opens, and the
        // cost of reading the schema is the start's, not a message's.
        let conn = open(path)?;
        let runs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &runs))
            .map_err(|e| crate::store::StoreError::Engine(Box::new(e)))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Checkpoints the thread has made so far.
    #[cfg(test)]
    pub(super) fn made(&self) -> u64 {
        self.shared.made.load(Ordering::Acquire)
    }

    /// Whether the last checkpoint copied every frame in the log.
    #[cfg(test)]
    pub(super) fn caught_up(&self) -> bool {
        self.shared.caught_up.load(Ordering::Acquire)
    }
}

impl Drop for Checkpointer {
    /// Lets a checkpoint in progress finish, then ends the thread, closing its
    /// connection before the writer's (which, closing last, folds the log).
    fn drop(&mut self) {
        self.shared.ask(|a| a.stop = true);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the checkpointing thread panicked");
        }
    }
}

/// The writer's own checkpoint, when the log has grown to `pages`.
fn checkpoint_here(wal: &mut Wal, pages: c_int) {
    match wal.checkpoint_v2(CheckpointMode::PASSIVE) {
        Ok(_) => tracing::debug!(pages, "the writer checkpointed the log itself"),
        // The thread is checkpointing: the next commit tries again.
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => {}
        Err(e) => tracing::warn!(pages, "checkpoint failed: {e}"),
    }
}

fn run(conn: &Connection, shared: &Shared) {
    // The thread runs only when a core would otherwise be idle: copying pages
    // must not take a core from the connections' work (on a machine of two
    // cores, it would otherwise slow the messages a checkpoint overlaps).
    // Under a load that leaves no core idle it falls behind, and the writer
    // checkpoints at `WRITER_CHECKPOINTS_AT`.
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    if let Err(e) = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    ) {
        tracing::debug!("the checkpointing thread keeps its priority: {e:?}");
    }
    // Commits counted after a checkpoint that left frames behind: the rest
    // is copied once no commit has come for [`QUIET`].
    let mut behind: Option<u64> = None;
    // The frames the last checkpoint had copied.
    let mut last = 0;
    loop {
        {
            let mut asked = shared.asked.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if asked.stop {
                    return;
                }
                if asked.checkpoint {
                    break;
                }
                let Some(seen) = behind else {
                    asked = shared
                        .wake
                        .wait(asked)
                        .unwrap_or_else(PoisonError::into_inner);
                    continue;
                };
                asked = shared
                    .wake
                    .wait_timeout(asked, QUIET)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                let now = shared.commits.load(Ordering::Relaxed);
                if now == seen {
                    break;
                }
                behind = Some(now);
            }
            asked.checkpoint = false;
        }
        // No commit asks while this checkpoint runs: what it leaves behind
        // is asked for once the log has grown past the threshold it sets, or
        // copied once the commits pause. (A checkpoint running as a burst of
        // commits begins holds the log's first read lock, and the writer
        // would not start the log over for that whole burst.)
        shared.ask_at.store(c_int::MAX, Ordering::Relaxed);
        shared.pending.store(false, Ordering::Release);
        let commits = shared.commits.load(Ordering::Relaxed);
        // After a checkpoint that failed, the next ask waits until the log
        // has grown by the threshold again: a failure that lasts (a disk
        // that refuses writes) is then tried, and logged, once per 1,000
        // pages instead of once per commit, until the writer's own.
        let retry = || {
            shared
                .pages
                .load(Ordering::Relaxed)
                .saturating_add(CHECKPOINT_AT)
        };
        let (next, left) = match conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE) {
            // -1: the connection has no log open (`open` reads the header so
            // that it has).
            Ok((log, _)) if log < 0 => {
                tracing::warn!("checkpoint did not run: the log is not open");
                (retry(), false)
            }
            Ok((log, copied)) => {
                shared.made.fetch_add(1, Ordering::AcqRel);
                // What it copied is what was committed when it began: later
                // commits may have added frames.
                let caught_up = copied >= shared.pages.load(Ordering::Relaxed);
                shared.caught_up.store(caught_up, Ordering::Release);
                tracing::trace!(log, copied, caught_up, "checkpointed");
                // Frames left: ask again once as many more as the threshold
                // are waiting, and copy them once the commits pause. One
                // that got no further (a reader holds the frames) waits for
                // the next ask instead.
                let progressed = copied != last;
                last = copied;
                (
                    copied.saturating_add(CHECKPOINT_AT),
                    !caught_up && progressed,
                )
            }
            // Another checkpoint is running (the writer's own).
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) => {
                (CHECKPOINT_AT, true)
            }
            Err(e) => {
                tracing::warn!("checkpoint failed: {e}");
                (retry(), false)
            }
        };
        // Unless the log started over meanwhile (the writer's commit then
        // asks from the start).
        let _ =
            shared
                .ask_at
                .compare_exchange(c_int::MAX, next, Ordering::Relaxed, Ordering::Relaxed);
        behind = left.then_some(commits);
    }
}

/// A connection to checkpoint with. It reads the database's header first:
/// until it has, it does not know the database is in WAL mode, and a
/// checkpoint on it does nothing.
fn open(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags_and_vfs(path, flags, vfs()?)?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(crate::store::StoreError::Corrupt(format!(
            "{} is not in WAL mode (it is in {mode})",
            path.display()
        )));
    }
    Ok(conn)
}
