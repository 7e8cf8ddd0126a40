//! The release `classchat-server` as a child process: started on loopback, its address read from its log, its CPU time and memory read from /proc.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary Cargo built for this benchmark (release, as `cargo bench` builds).
const BINARY: &str = env!("CARGO_BIN_EXE_classchat-server");

/// The server binary to measure: [`BINARY`], or another build named by
/// `CLASSCHAT_BENCH_SERVER` (to compare two versions with the same harness).
fn binary() -> String {
    std::env::var("CLASSCHAT_BENCH_SERVER").unwrap_or_else(|_| BINARY.to_owned())
}

/// Log lines kept to explain a server that failed.
const LOG_TAIL: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Memory,
}

/// A running server process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub pid: u32,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl ServerProcess {
    /// Starts the server on `listen` (port 0 for any) with `data_dir`, limits
    /// raised so that the load generator, not a rate limit, a per-address cap
    /// or the sign-up allowance, decides how much arrives.
    pub async fn start(data_dir: &Path, listen: &str, store: StoreKind) -> anyhow::Result<Self> {
        let store = match store {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Memory => "memory",
        };
        Self::start_with(data_dir, listen, &["--store", store], &[]).await
    }

    /// The same on 127.0.0.1, the binary run by `wrapper` (a profiler's
    /// command line, which the binary's own follows).
    pub async fn start_under(
        data_dir: &Path,
        store: StoreKind,
        wrapper: &[String],
    ) -> anyhow::Result<Self> {
        let store = match store {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Memory => "memory",
        };
        Self::start_with(data_dir, "127.0.0.1:0", &["--store", store], wrapper).await
    }

    /// A node of a cluster on the PostgreSQL database `postgres`, talking
    /// through the NATS server `nats` (a build with `--features cluster`),
    /// the binary run by `wrapper` as in [`Self::start_under`] (none if empty).
    pub async fn start_node(
        data_dir: &Path,
        postgres: &str,
        nats: &str,
        cluster: &str,
        node: &str,
        wrapper: &[String],
    ) -> anyhow::Result<Self> {
        let args = [
            "--store",
            "postgres",
            "--postgres",
            postgres,
            "--nats",
            nats,
        ];
        let node_args = ["--cluster-name", cluster, "--node-id", node];
        let all: Vec<&str> = args.iter().chain(&node_args).copied().collect();
        Self::start_with(data_dir, "127.0.0.1:0", &all, wrapper).await
    }

    async fn start_with(
        data_dir: &Path,
        listen: &str,
        store: &[&str],
        wrapper: &[String],
    ) -> anyhow::Result<Self> {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(binary());
                c
            }
            None => Command::new(binary()),
        };
        let mut child = command
            .args(["--listen", listen])
            .args(store)
            .args(["--rate", "1000000", "--burst", "1000000"])
            .args(["--max-connections", "100000", "--max-per-address", "100000"])
            .args(["--rate-limit", "sign-ups=1000000/s,1000000"])
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary()))?;
        let mut pid = child.id().context("the server exited at once")?;
        let stderr = child.stderr.take().context("no stderr from the server")?;
        let mut lines = BufReader::new(stderr).lines();
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let keep = |log: &Mutex<VecDeque<String>>, line: &str| {
            if let Ok(mut log) = log.lock() {
                if log.len() == LOG_TAIL {
                    log.pop_front();
                }
                log.push_back(line.to_owned());
            }
        };
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                keep(&log, &line);
                if let Some(addr) = listening_address(&line) {
                    return Ok(addr);
                }
            }
            bail!("the server exited before listening")
        })
        .await;
        let addr = match addr {
            Ok(Ok(addr)) => addr,
            Ok(Err(e)) => bail!("{e}; its log ended with:\n{}", tail(&log)),
            Err(_) => bail!(
                "the server did not listen within 60 s; its log:\n{}",
                tail(&log)
            ),
        };
        // A tracer that runs the server as its child (strace, unlike valgrind,
        // which becomes it): signals and /proc figures are the server's.
        if wrapper.first().is_some_and(|w| w == "strace") {
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .context("cannot find the traced server")?;
            pid = children
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
                .context("the tracer has no server child")?;
        }
        // Keep reading its log, so it never blocks on a full pipe.
        let kept = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                keep(&kept, &line);
            }
        });
        Ok(Self {
            child,
            addr,
            pid,
            log,
        })
    }

    /// CPU time the process has used so far, user and system, all threads.
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        cpu_of(self.pid)
    }

    /// A `/proc/<pid>/status` figure such as `VmRSS` or `VmHWM`, in KiB.
    pub fn status_kib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .with_context(|| format!("the server (pid {}) is gone", self.pid))?;
        let line = status
            .lines()
            .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
            .with_context(|| format!("no {field} in /proc/<pid>/status"))?;
        line.split_whitespace()
            .nth(1)
            .context("an empty status line")?
            .parse()
            .context("a non-numeric status figure")
    }

    /// Resets the peak (`VmHWM`) to the current RSS.
    pub fn reset_peak(&self) -> anyhow::Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5")
            .context("cannot reset the server's peak memory (/proc/<pid>/clear_refs)")
    }

    /// Whether the server has exited on its own.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "the server exited ({status}); its log ended with:\n{}",
                tail(&self.log)
            );
        }
        Ok(())
    }

    /// Stops it the way an operator would (SIGTERM), and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.pid.to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().await;
        if !matches!(sent, Ok(s) if s.success()) {
            self.child.start_kill()?;
        }
        match tokio::time::timeout(Duration::from_secs(60), self.child.wait()).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!(
                        "the server stopped with {status}; its log ended with:\n{}",
                        tail(&self.log)
                    );
                }
                Ok(())
            }
            Err(_) => {
                self.child.start_kill()?;
                bail!("the server did not stop within 60 s of SIGTERM")
            }
        }
    }
}

/// CPU time process `pid` has used so far, user and system, all threads.
pub fn cpu_of(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} (the server or the relay) is gone"))?;
    // The command name may hold spaces; the fields after it are fixed.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .context("unexpected /proc/<pid>/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 11 and 12 after the name.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .context("short /proc/<pid>/stat")?
            .parse::<u64>()
            .context("a non-numeric tick count")
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_secs_f64(total as f64 / clock_ticks() as f64))
}

/// The address in a `listening on ADDR` log line.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on ").nth(1)?;
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
        .collect();
    addr.parse().ok()
}

fn tail(log: &Mutex<VecDeque<String>>) -> String {
    log.lock()
        .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

/// `USER_HZ`, the unit of /proc's tick counts (asked once; 100 on Linux).
pub fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t: &u64| t > 0)
            .unwrap_or(100)
    })
}

/// A `perf record` of the server while a measurement runs (`--perf DIR`).
#[derive(Debug)]
pub struct Profile {
    child: Child,
}

impl Profile {
    /// Samples `pid` with call graphs into `dir/<name>.perf.data`.
    pub fn start(dir: &Path, name: &str, pid: u32) -> anyhow::Result<Self> {
        let out: PathBuf = dir.join(format!("{name}.perf.data"));
        let child = Command::new("perf")
            .args([
                "record",
                "-e",
                "cpu-clock",
                "-F",
                "4000",
                "--call-graph",
                "dwarf,8192",
            ])
            .args(["-q", "-p", &pid.to_string(), "-o"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run perf record")?;
        Ok(Self { child })
    }

    /// Stops the recording (SIGINT, as perf expects) and waits for it to write.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(120), self.child.wait()).await;
        Ok(())
    }
}
