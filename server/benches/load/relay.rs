//! The latency figures' baseline: a minimal Tokio line relay, run as a child process (this benchmark's own binary, started again with [`ARG`]) so that it is measured as the server is; and the same relay committing each line to SQLite before passing it on ([`Keeper`]), the floor of a durable server's latency.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use rusqlite::Connection;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::{Child, Command};

use crate::server;
use crate::storage::{self, KEYED};

/// The first argument that makes the benchmark binary the relay:
/// `--relay LISTEN [KEEP_DIR]`.
pub const ARG: &str = "--relay";

/// The relay's side, in the child process: binds `listen`, prints the bound
/// address on stdout, accepts two connections and copies every line one
/// writes to the other, until either closes. With `keep`, a directory, the
/// lines the first connection writes are each committed to a SQLite
/// database there before they are passed on ([`Keeper`]).
pub fn serve(listen: &str, keep: Option<&Path>) -> anyhow::Result<()> {
    let keeper = keep.map(Keeper::open).transpose()?;
    // The server's runtime: multi-threaded, a worker per core.
    let runtime = tokio::runtime::Runtime::new().context("cannot start the relay's runtime")?;
    runtime.block_on(relay(listen, keeper))
}

/// What a straightforward Tokio chat relay does: a task per direction,
/// reading lines from one socket and writing each to the other.
async fn relay(listen: &str, keeper: Option<Keeper>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("the relay cannot listen on {listen}"))?;
    println!("{}", listener.local_addr()?);
    let (a, _) = listener.accept().await?;
    let (b, _) = listener.accept().await?;
    // As the server does for every connection.
    a.set_nodelay(true)?;
    b.set_nodelay(true)?;
    let (a_in, a_out) = a.into_split();
    let (b_in, b_out) = b.into_split();
    let mut there = tokio::spawn(forward(a_in, b_out, keeper));
    let mut back = tokio::spawn(forward(b_in, a_out, None));
    tokio::select! {
        done = &mut there => done??,
        done = &mut back => done??,
    }
    Ok(())
}

async fn forward(
    from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut keeper: Option<Keeper>,
) -> anyhow::Result<()> {
    let mut from = BufReader::new(from);
    let mut line = String::new();
    loop {
        line.clear();
        if from.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        if let Some(keeper) = &mut keeper {
            keeper.keep(&line)?;
        }
        to.write_all(line.as_bytes()).await?;
    }
}

/// The least a relay can do to keep each message as the delivery contract
/// asks, on SQLite, before passing it on: one row per line, committed on
/// its own, in the layout and with the statement of `sqlite_keyed_floor_instr` (one table keyed by
/// conversation and number packed into its row id, one unique index on
/// sender and client id), with every setting in its favour: WAL mode,
/// `synchronous=NORMAL` (the server's default), `locking_mode=EXCLUSIVE` (no
/// file locks per transaction). SQLite's own checkpoints, every 1,000 pages
/// of log, stall the commit that makes one, a few samples in a run of
/// thousands, fewer than its slowest 1%; without them the log grows instead
/// of being written over, and measured slower at p50. The commit is made
/// inline, in the task that read the line: no hop to another task, no
/// parsing, the whole line kept as the text.
pub struct Keeper {
    conn: Connection,
    seq: i64,
}

impl Keeper {
    fn open(dir: &Path) -> anyhow::Result<Self> {
        let conn = storage::create(dir, "kept.db", KEYED)?;
        // Taken at the next transaction, and held: no file locks after it.
        conn.execute_batch("PRAGMA locking_mode=EXCLUSIVE;")?;
        conn.prepare_cached(KEYED.insert)?;
        Ok(Self { conn, seq: 0 })
    }

    /// Commits `line` as the conversation's next message.
    fn keep(&mut self, line: &str) -> anyhow::Result<()> {
        self.seq += 1;
        // Ids in the order a client's time-ordered ids come.
        let mut client_id = [0u8; 16];
        client_id[..8].copy_from_slice(&self.seq.to_be_bytes());
        let stored = self
            .conn
            .prepare_cached(KEYED.insert)?
            .execute(rusqlite::params![
                1,
                self.seq,
                &client_id[..],
                1,
                1_800_000_000_000 + self.seq,
                0,
                line
            ])?;
        ensure!(stored == 1, "line {} was not kept", self.seq);
        Ok(())
    }
}

/// The relay as the benchmark's child process.
#[derive(Debug)]
pub struct RelayProcess {
    child: Child,
    pub addr: SocketAddr,
    pid: u32,
}

impl RelayProcess {
    /// Starts the relay on `listen` (port 0 for any) and reads its address;
    /// with `keep`, a directory, as the [`Keeper`] relay.
    pub async fn start(listen: &str, keep: Option<&Path>) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the benchmark's own binary")?;
        let mut child = Command::new(&exe)
            .arg(ARG)
            .arg(listen)
            .args(keep)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start the relay ({})", exe.display()))?;
        let pid = child.id().context("the relay exited at once")?;
        let stdout = child.stdout.take().context("no stdout from the relay")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .context("the relay did not say its address within 10 s")??
            .context("the relay exited before listening")?;
        let addr = line
            .trim()
            .parse()
            .with_context(|| format!("the relay printed {line:?}, not an address"))?;
        Ok(Self { child, addr, pid })
    }

    /// CPU time the relay has used so far, user and system, all threads.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        server::cpu_of(self.pid)
    }

    /// Waits for the relay to end, which it does once its clients have closed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("the relay stopped with {status}");
                }
                Ok(())
            }
            Err(_) => {
                self.child.start_kill()?;
                bail!("the relay did not end within 10 s of its clients closing")
            }
        }
    }
}
