//! The real `classchat` client in pipe mode, as a child process: commands in
//! on stdin, its JSON lines read on stdout by a task of their own (so a
//! client printing progress never waits for the benchmark), each stamped
//! with the moment it was read.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// How long any one wait for a client's line may take: a 1 GiB relay takes
/// a few seconds.
const PATIENCE: Duration = Duration::from_secs(120);

/// The release `classchat` binary: `CLASSCHAT_BENCH_CLIENT`, else the one
/// Cargo built beside the server (`just bench` builds it first).
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("CLASSCHAT_BENCH_CLIENT") {
        return Ok(PathBuf::from(path));
    }
    let server = Path::new(env!("CARGO_BIN_EXE_classchat-server"));
    let client = server.with_file_name("classchat");
    if !client.exists() {
        bail!(
            "{} is missing: build the client first (cargo build --release --workspace --bins; \
             `just bench` does)",
            client.display()
        );
    }
    Ok(client)
}

/// One line the client printed, and when it was read.
pub struct Line {
    pub at: Instant,
    pub value: Value,
}

/// A logged-in `classchat pipe`.
pub struct Pipe {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Line>,
    user: String,
}

impl Pipe {
    /// Starts the client as `user` against `addr`, with its own home (so
    /// nothing of the machine's user is read or written), saving downloads
    /// in `downloads`, and waits until it is connected.
    pub async fn start(
        addr: SocketAddr,
        user: &str,
        password: &str,
        home: &Path,
        downloads: &Path,
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(binary()?)
            .arg("--server")
            .arg(addr.to_string())
            .arg("--user")
            .arg(user)
            .arg("--download-dir")
            .arg(downloads)
            .arg("pipe")
            .env("CLASSCHAT_PASSWORD", password)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start classchat")?;
        let stdout = child.stdout.take().context("the client's stdout")?;
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut stdout = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = stdout.next_line().await {
                let at = Instant::now();
                let Ok(value) = serde_json::from_str(&line) else {
                    continue;
                };
                if tx.send(Line { at, value }).is_err() {
                    return;
                }
            }
        });
        let mut pipe = Self {
            stdin: child.stdin.take(),
            child,
            lines,
            user: user.to_owned(),
        };
        pipe.until(|v| v["type"] == "connected").await?;
        Ok(pipe)
    }

    /// Types one command.
    pub async fn command(&mut self, line: &str) -> anyhow::Result<()> {
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        stdin.write_all(format!("{line}\n").as_bytes()).await?;
        stdin.flush().await?;
        Ok(())
    }

    /// The next line `wanted` picks, passing over the others; a `fatal` or a
    /// failed transfer ends the wait with an error.
    pub async fn until(&mut self, mut wanted: impl FnMut(&Value) -> bool) -> anyhow::Result<Line> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .with_context(|| format!("{}: no awaited line within {PATIENCE:?}", self.user))?
                .with_context(|| format!("{}: the client exited", self.user))?;
            let v = &line.value;
            if v["type"] == "fatal" || (v["type"] == "transfer" && v["state"] == "failed") {
                bail!("{}: {v}", self.user);
            }
            if wanted(v) {
                return Ok(line);
            }
        }
    }

    /// Ends stdin and waits for the client to log out and exit.
    pub async fn finish(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .with_context(|| format!("{} did not exit", self.user))??;
        if !status.success() {
            bail!("{} exited with {status}", self.user);
        }
        Ok(())
    }
}
