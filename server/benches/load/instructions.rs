//! `dm_instr`, `dm_instr_memory_store` and `dm_instr_one_at_a_time`: the
//! user-space instructions the server executes per direct message, counted by
//! callgrind, which counts the same whatever else the machine is doing.
//!
//! The server runs under `valgrind --tool=callgrind` twice with the same
//! accounts, log-ins and warm-up, once with `n` measured messages and once with
//! `2n`; each run's total comes from the profile callgrind writes when the
//! server stops. The figure is the difference over `n`: start-up, log-ins, the
//! warm-up, what an idle second costs and the stop are in both runs and cancel.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use classchat_common::{ClientMessage, Conv};
use tempfile::TempDir;

use crate::client::Conn;
use crate::latency;
use crate::seed::{self, Account};
use crate::server::{ServerProcess, StoreKind};
use crate::traffic::{self, Frames, Part};

#[derive(Debug, Clone, Copy)]
pub struct InstrPlan {
    /// Pairs of users for the many-in-flight load, and the measured messages
    /// per sender in the shorter run (the longer has twice as many).
    pub pairs: usize,
    pub per_sender: usize,
    /// Measured one-at-a-time rounds in the shorter run.
    pub one_at_a_time: usize,
}

/// Whether callgrind can run here; the reason when not.
pub fn available() -> Result<(), String> {
    match std::process::Command::new("valgrind")
        .arg("--version")
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err("valgrind is not installed (apt-get install valgrind)".into()),
    }
}

/// Instructions per message with many in flight (pairs, window 256, acks as
/// the reference client sends them), on `store`.
pub async fn many_in_flight(
    plan: InstrPlan,
    store: StoreKind,
    keep: Keep<'_>,
) -> anyhow::Result<f64> {
    let mut totals = Vec::with_capacity(2);
    for scale in [1, 2] {
        let count = plan.per_sender * scale;
        let keep = keep.filter(|_| scale == 2);
        totals.push(
            counted(
                Counter::Instructions,
                store,
                plan.pairs,
                keep,
                |conns, names| Box::pin(in_flight(conns, names, plan.pairs, count)),
            )
            .await?,
        );
    }
    per_message(&totals, plan.pairs * plan.per_sender)
}

/// Instructions per message to index it for search (SQLite), on top of
/// storing and delivering it: the `many_in_flight` load followed by one search,
/// which has the index take in every message stored, less `dm_instr`.
pub async fn search_index(plan: InstrPlan, dm_instr: f64, keep: Keep<'_>) -> anyhow::Result<f64> {
    let mut totals = Vec::with_capacity(2);
    for scale in [1, 2] {
        let count = plan.per_sender * scale;
        let keep = keep.filter(|_| scale == 2);
        totals.push(
            counted(
                Counter::Instructions,
                StoreKind::Sqlite,
                plan.pairs,
                keep,
                |conns, names| {
                    Box::pin(async move {
                        in_flight(conns, names, plan.pairs, count).await?;
                        search(conns.first_mut().context("a connection")?).await
                    })
                },
            )
            .await?,
        );
    }
    Ok(per_message(&totals, plan.pairs * plan.per_sender)? - dm_instr)
}

/// One `search`, waiting for its answer: for a word no message has, so
/// that what it costs is the indexing, not reading what it found.
async fn search(c: &mut Conn) -> anyhow::Result<()> {
    let ask = ClientMessage::Search {
        req: Some(1),
        words: "xylophone".into(),
        conv: None,
        before: None,
        limit: None,
    };
    c.send(&ask.to_line()).await?;
    for _ in 0..100_000 {
        // The answer's messages are more than a peek reads.
        let line = c.line().await?;
        if line.starts_with(br#"{"type":"search""#) {
            return Ok(());
        }
        if line.starts_with(br#"{"type":"error""#) {
            bail!(
                "the server refused the search: {}",
                String::from_utf8_lossy(&line).trim_end()
            );
        }
    }
    bail!("no answer to the search")
}

/// Instructions per message sent one at a time: `send` → `stored` →
/// `message` → `ack` → `receipt`, the server idle before each.
pub async fn one_at_a_time(plan: InstrPlan, keep: Keep<'_>) -> anyhow::Result<f64> {
    rounds(Counter::Instructions, plan, keep).await
}

/// System calls per round of [`one_at_a_time`], every thread's, counted by
/// `strace -f -c` the same way (two runs, the difference).
pub async fn syscalls_one_at_a_time(plan: InstrPlan, keep: Keep<'_>) -> anyhow::Result<f64> {
    rounds(Counter::Syscalls, plan, keep).await
}

async fn rounds(counter: Counter, plan: InstrPlan, keep: Keep<'_>) -> anyhow::Result<f64> {
    let mut totals = Vec::with_capacity(2);
    for scale in [1, 2] {
        let count = plan.one_at_a_time * scale;
        let keep = keep.filter(|_| scale == 2);
        totals.push(
            counted(counter, StoreKind::Sqlite, 1, keep, |conns, names| {
                Box::pin(one_by_one(conns, names, count))
            })
            .await?,
        );
    }
    per_message(&totals, plan.one_at_a_time)
}

/// Whether strace can run here; the reason when not.
pub fn strace_available() -> Result<(), String> {
    match std::process::Command::new("strace").arg("-V").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err("strace is not installed (apt-get install strace)".into()),
    }
}

fn per_message(totals: &[u64], messages: usize) -> anyhow::Result<f64> {
    let [short, long] = totals else {
        bail!("two runs expected");
    };
    eprintln!("  counted {short} with {messages} messages, {long} with twice as many");
    if long <= short {
        bail!("the longer run counted no more instructions ({long} ≤ {short})");
    }
    Ok((long - short) as f64 / messages as f64)
}

/// Where to keep the longer run's profile (`--perf DIR`, as `<name>.callgrind`
/// for `callgrind_annotate`, or `<name>.strace`, the summary by system call).
pub type Keep<'a> = Option<(&'a Path, &'a str)>;

type Load<'a> = std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Runs the server under callgrind with `pairs` pairs of accounts logged in,
/// plays `load`, stops the server and returns the instructions it executed.
async fn counted(
    counter: Counter,
    store: StoreKind,
    pairs: usize,
    keep: Keep<'_>,
    load: impl for<'a> FnOnce(&'a mut Vec<Conn>, &'a [String]) -> Load<'a>,
) -> anyhow::Result<u64> {
    let dir = TempDir::new()?;
    let profiles = TempDir::new()?;
    let mut names = seed::names("s", pairs);
    names.extend(seed::names("r", pairs));
    let accounts: Vec<Account> = match store {
        StoreKind::Sqlite => seed::seed(dir.path(), &names).await?,
        StoreKind::Memory => seed::by_password(&names),
    };
    let out = profiles.path().join("counted.out");
    let mut server = ServerProcess::start_under(dir.path(), store, &counter.command(&out)).await?;
    let mut conns = traffic::login_all(server.addr, &accounts).await?;
    load(&mut conns, &names).await?;
    server.check_alive()?;
    drop(conns);
    server.stop().await?;
    if let Some((dir, name)) = keep {
        let to = dir.join(format!("{name}.{}", counter.suffix()));
        std::fs::copy(&out, &to).with_context(|| format!("cannot keep {}", to.display()))?;
    }
    counter.total(&out)
}

/// What a run counts.
#[derive(Debug, Clone, Copy)]
enum Counter {
    /// User-space instructions (callgrind).
    Instructions,
    /// System calls, every thread's (`strace -f -c`).
    Syscalls,
}

impl Counter {
    fn command(self, out: &Path) -> Vec<String> {
        match self {
            Counter::Instructions => callgrind(out),
            Counter::Syscalls => vec![
                "strace".into(),
                "-f".into(),
                "-c".into(),
                "-o".into(),
                out.display().to_string(),
            ],
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Counter::Instructions => "callgrind",
            Counter::Syscalls => "strace",
        }
    }

    fn total(self, out: &PathBuf) -> anyhow::Result<u64> {
        match self {
            Counter::Instructions => total(out),
            Counter::Syscalls => calls(out),
        }
    }
}

/// The calls of an `strace -c` summary (its `total` line: `% time, seconds,
/// usecs/call, calls, errors, total`).
fn calls(out: &PathBuf) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(out)
        .with_context(|| format!("strace wrote no summary at {}", out.display()))?;
    let total = text
        .lines()
        .rfind(|l| l.trim_end().ends_with("total"))
        .context("no total in the strace summary")?;
    let fields: Vec<&str> = total.split_whitespace().collect();
    fields
        .get(3)
        .context("a short total line in the strace summary")?
        .parse()
        .context("the strace total is not a number")
}

/// The valgrind command line that profiles into `out`, counting instructions
/// only (no cache or branch simulation).
fn callgrind(out: &Path) -> Vec<String> {
    vec![
        "valgrind".into(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out.display()),
        "--quiet".into(),
    ]
}

/// The total instructions in a callgrind profile (its `totals:` or
/// `summary:` line).
fn total(out: &PathBuf) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(out)
        .with_context(|| format!("callgrind wrote no profile at {}", out.display()))?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next())
        .context("no totals in the callgrind profile")?
        .parse()
        .context("the callgrind totals are not a number")
}

/// A warm-up round, then `count` messages per sender.
async fn in_flight(
    conns: &mut Vec<Conn>,
    names: &[String],
    pairs: usize,
    count: usize,
) -> anyhow::Result<()> {
    let parts = |count: usize| -> anyhow::Result<Vec<Part>> {
        let mut parts = Vec::with_capacity(2 * pairs);
        for r in &names[pairs..] {
            parts.push(Part {
                frames: Some(Arc::new(Frames::new(r, count)?)),
                expect: 0,
            });
        }
        for _ in 0..pairs {
            parts.push(Part {
                frames: None,
                expect: count as u64,
            });
        }
        Ok(parts)
    };
    let warm = traffic::round(std::mem::take(conns), &parts(200)?).await?;
    *conns = traffic::round(warm, &parts(count)?).await?;
    Ok(())
}

/// A warm-up of 100 rounds, then `count` rounds one at a time.
async fn one_by_one(conns: &mut [Conn], names: &[String], count: usize) -> anyhow::Result<()> {
    let [a, b] = conns else {
        bail!("two connections expected");
    };
    let to_a: Conv = names[0].parse().context("a user name")?;
    let warm = Frames::new(&names[1], 100)?;
    for i in 0..100 {
        latency::sample(a, b, &to_a, warm.line(i)).await?;
    }
    let frames = Frames::new(&names[1], count)?;
    for i in 0..count {
        latency::sample(a, b, &to_a, frames.line(i)).await?;
    }
    Ok(())
}
