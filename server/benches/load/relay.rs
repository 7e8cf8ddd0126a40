//! The latency figures' baseline: a minimal Tokio line relay, run as a child process (this benchmark's own binary, started again with [`ARG`]) so that it is measured as the server is.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::{Child, Command};

use crate::server;

/// The first argument that makes the benchmark binary the relay:
/// `--relay LISTEN`.
pub const ARG: &str = "--relay";

/// The relay's side, in the child process: binds `listen`, prints the bound
/// address on stdout, accepts two connections and copies every line one
/// writes to the other, until either closes.
pub fn serve(listen: &str) -> anyhow::Result<()> {
    // The server's runtime: multi-threaded, a worker per core.
    let runtime = tokio::runtime::Runtime::new().context("cannot start the relay's runtime")?;
    runtime.block_on(relay(listen))
}

/// What a straightforward Tokio chat relay does: a task per direction,
/// reading lines from one socket and writing each to the other.
async fn relay(listen: &str) -> anyhow::Result<()> {
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
    let mut there = tokio::spawn(forward(a_in, b_out));
    let mut back = tokio::spawn(forward(b_in, a_out));
    tokio::select! {
        done = &mut there => done??,
        done = &mut back => done??,
    }
    Ok(())
}

async fn forward(from: OwnedReadHalf, mut to: OwnedWriteHalf) -> anyhow::Result<()> {
    let mut from = BufReader::new(from);
    let mut line = String::new();
    loop {
        line.clear();
        if from.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        to.write_all(line.as_bytes()).await?;
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
    /// Starts the relay on `listen` (port 0 for any) and reads its address.
    pub async fn start(listen: &str) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the benchmark's own binary")?;
        let mut child = Command::new(&exe)
            .args([ARG, listen])
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
