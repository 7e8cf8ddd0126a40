//! `dm_instr`, `dm_instr_memory_store` and `dm_instr_one_at_a_time`: the
//! user-space instructions the server executes per direct message, counted by
//! callgrind, which counts the same whatever else the machine is doing.
//!
//! The server runs under `valgrind --tool=callgrind` twice with the same
//! accounts, log-ins and warm-up, once with `n` measured messages and once with
//! `2n`; each run's total comes from the profile callgrind writes when the
//! server stops. The figure is the difference over `n`: start-up, log-ins, the
//! warm-up, what an idle second costs and the stop are in both runs and cancel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use classchat_common::{ClientMessage, Conv};
use tempfile::TempDir;

use crate::client::Conn;
use crate::fanout::{self, FanoutPlan};
use crate::latency;
use crate::seed::{self, Account};
use crate::server::{ServerProcess, StoreKind};
use crate::traffic::{self, Frames};

#[derive(Debug, Clone, Copy)]
pub struct InstrPlan {
    /// Pairs of users for the many-in-flight load, and the measured messages
    /// per sender in the shorter run (the longer has twice as many).
    pub pairs: usize,
    pub per_sender: usize,
    /// Measured one-at-a-time rounds in the shorter run.
    pub one_at_a_time: usize,
    /// The group for `fanout_instr`, with the measured messages per sender
    /// of the shorter run: the full group in quick mode too, so that its
    /// figure compares with the target (with fewer members, each message's
    /// own cost is spread over fewer deliveries).
    pub group: FanoutPlan,
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

/// Instructions per message with many in flight, by what they went to.
#[derive(Debug, Clone, Copy)]
pub struct InFlight {
    /// Storing and delivering a message (`dm_instr`).
    pub message: f64,
    /// Indexing it for search (`search_index_instr`), which the hub does in
    /// bulk off each message's path; zero on the memory store.
    pub indexing: f64,
}

/// Instructions per message with many in flight (pairs, window 256, acks as
/// the reference client sends them), on `store`.
///
/// On SQLite each run ends with enough `search`es to have the index take in
/// every message stored so far, so that both runs index all their messages whether or not
/// the hub was idle long enough to do so before (it indexes when idle). The
/// indexing is what `SearchIndex::catch_up` counted, inclusive of what it
/// called; the rest is the message's.
pub async fn many_in_flight(
    plan: InstrPlan,
    store: StoreKind,
    keep: Keep<'_>,
) -> anyhow::Result<InFlight> {
    let mut totals = Vec::with_capacity(2);
    let mut indexing = Vec::with_capacity(2);
    for scale in [1, 2] {
        let count = plan.per_sender * scale;
        let profile = counted(
            Counter::Instructions,
            store,
            pair_names(plan.pairs),
            keep.map(|k| (k, scale)),
            |conns, names| {
                Box::pin(async move {
                    in_flight(conns, names, plan.pairs, count).await?;
                    if let StoreKind::Sqlite = store {
                        // Each search indexes up to 10,000 messages first
                        // (`INDEX_AT_SEARCH`): enough of them for all.
                        let messages = plan.pairs * (WARM_UP + count);
                        let c = conns.first_mut().context("a connection")?;
                        for _ in 0..messages / 10_000 + 1 {
                            search(c).await?;
                        }
                    }
                    // The memory store has no index: a search would only read
                    // every message.
                    Ok(())
                })
            },
        )
        .await?;
        totals.push(profile.total);
        indexing.push(profile.indexing);
    }
    let messages = plan.pairs * plan.per_sender;
    difference(Counter::Instructions, keep, messages)?;
    let [short, long] = indexing[..] else {
        bail!("two runs expected");
    };
    let indexing = (long as f64 - short as f64) / messages as f64;
    Ok(InFlight {
        message: per_message(&totals, messages)? - indexing,
        indexing,
    })
}

/// One `search`, waiting for its answer: for a word no message has, so
/// that what it costs is the indexing, not reading what it found. A server
/// that refuses it (one from before search, `CLASSCHAT_BENCH_SERVER`) has no
/// index to catch up.
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
        if line.starts_with(br#"{"type":"search""#) || line.starts_with(br#"{"type":"error""#) {
            return Ok(());
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
        totals.push(
            counted(
                counter,
                StoreKind::Sqlite,
                pair_names(1),
                keep.map(|k| (k, scale)),
                |conns, names| Box::pin(one_by_one(conns, names, count)),
            )
            .await?
            .total,
        );
    }
    difference(counter, keep, plan.one_at_a_time)?;
    per_message(&totals, plan.one_at_a_time)
}

/// Instructions per delivery in a group (`fanout_instr`): `plan.members`
/// join one group (SQLite store), and `plan.senders` of them each send
/// `plan.per_sender` messages to it, then twice as many, with a window of 256,
/// while everyone reads and acknowledges as the reference client does. The
/// figure is the difference of the two runs over the extra deliveries (each
/// message reaches the other `members - 1`), so it holds a delivery's share
/// of the sending, storing and acknowledging too.
pub async fn group_delivery(plan: FanoutPlan, keep: Keep<'_>) -> anyhow::Result<f64> {
    let mut totals = Vec::with_capacity(2);
    for scale in [1, 2] {
        let count = plan.per_sender * scale;
        let profile = counted(
            Counter::Instructions,
            StoreKind::Sqlite,
            seed::names("m", plan.members),
            keep.map(|k| (k, scale)),
            |conns, _| {
                Box::pin(async move {
                    fanout::group(conns).await?;
                    let warm = fanout::parts(plan, WARM_UP)?;
                    let warm = traffic::round(std::mem::take(conns), &warm).await?;
                    *conns = traffic::round(warm, &fanout::parts(plan, count)?).await?;
                    Ok(())
                })
            },
        )
        .await?;
        totals.push(profile.total);
    }
    let deliveries = plan.senders * plan.per_sender * (plan.members - 1);
    difference(Counter::Instructions, keep, deliveries)?;
    per_message(&totals, deliveries)
}

/// The senders then the receivers of `pairs` pairs.
fn pair_names(pairs: usize) -> Vec<String> {
    let mut names = seed::names("s", pairs);
    names.extend(seed::names("r", pairs));
    names
}

/// Whether strace can run here; the reason when not.
pub fn strace_available() -> Result<(), String> {
    match std::process::Command::new("strace").arg("-V").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err("strace is not installed (apt-get install strace)".into()),
    }
}

pub fn per_message(totals: &[u64], messages: usize) -> anyhow::Result<f64> {
    let [short, long] = totals else {
        bail!("two runs expected");
    };
    eprintln!("  counted {short} and {long}: {messages} more in the longer run");
    if long <= short {
        bail!("the longer run counted no more instructions ({long} ≤ {short})");
    }
    Ok((long - short) as f64 / messages as f64)
}

/// Where to keep the profiles (`--perf DIR`): each run's, as
/// `<name>.<1|2>.callgrind` for `callgrind_annotate` or `<name>.<1|2>.strace`
/// (the summary by system call), and their difference per message as
/// `<name>.per_message.txt`.
pub type Keep<'a> = Option<(&'a Path, &'a str)>;

type Load<'a> = std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// What one run counted.
struct Counted {
    /// Instructions or system calls, in all; instructions
    /// [`without_hashing`].
    total: u64,
    /// Of the instructions, those of indexing for search (zero for system
    /// calls).
    indexing: u64,
}

/// Runs the server under callgrind with `names` logged in, plays `load`,
/// stops the server and returns what it counted.
async fn counted(
    counter: Counter,
    store: StoreKind,
    names: Vec<String>,
    keep: Option<((&Path, &str), usize)>,
    load: impl for<'a> FnOnce(&'a mut Vec<Conn>, &'a [String]) -> Load<'a>,
) -> anyhow::Result<Counted> {
    let dir = TempDir::new()?;
    let profiles = TempDir::new()?;
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
    if let Some(((dir, name), run)) = keep {
        let to = dir.join(format!("{name}.{run}.{}", counter.suffix()));
        std::fs::copy(&out, &to).with_context(|| format!("cannot keep {}", to.display()))?;
    }
    Ok(match counter {
        Counter::Instructions => Counted {
            total: without_hashing(&out)?,
            indexing: inclusive(&out, "SearchIndex::catch_up")?,
        },
        Counter::Syscalls => Counted {
            total: counter.total(&out)?,
            indexing: 0,
        },
    })
}

/// What a run counts.
#[derive(Debug, Clone, Copy)]
pub enum Counter {
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
pub fn callgrind(out: &Path) -> Vec<String> {
    vec![
        "valgrind".into(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out.display()),
        "--quiet".into(),
    ]
}

/// The total instructions in a callgrind profile (its `totals:` or
/// `summary:` line).
pub fn total(out: &PathBuf) -> anyhow::Result<u64> {
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

/// A profile's total instructions less the log-ins' password hashing: the
/// same log-ins in both runs of a figure, but whether the hashing pool
/// zeroes fresh memory for them (some 1.5 million instructions) varies from
/// run to run.
pub fn without_hashing(profile: &PathBuf) -> anyhow::Result<u64> {
    Ok(total(profile)?.saturating_sub(inclusive(profile, "auth::pool::serve")?))
}

/// The instructions of the functions whose names end with `function`,
/// inclusive of what they called (zero when none ran), read from the callgrind
/// profile itself: each function's own costs (its code inlined from other
/// files among them) plus the inclusive cost of each call it made.
/// (`callgrind_annotate --inclusive=yes` lists inlined code apart, by file,
/// and how it splits depends on which sources it finds.)
fn inclusive(profile: &Path, function: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(profile)
        .with_context(|| format!("callgrind wrote no profile at {}", profile.display()))?;
    // Names are compressed: `fn=(12) name` the first time, `fn=(12)` after.
    let mut names: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut is_it = |spec: &str| -> bool {
        let spec = spec.trim();
        match spec.split_once(' ') {
            Some((id, name)) => {
                let hit = name.ends_with(function);
                names.insert(id.to_string(), hit);
                hit
            }
            None => names.get(spec).copied().unwrap_or(false),
        }
    };
    let mut inside = false;
    let mut sum = 0u64;
    for line in text.lines() {
        if let Some(spec) = line.strip_prefix("fn=") {
            inside = is_it(spec);
        } else if let Some(spec) = line.strip_prefix("cfn=") {
            // Defines the name for later lines, whether or not it is ours.
            is_it(spec);
        } else if inside && line.starts_with(|c: char| c.is_ascii_digit() || "+-*".contains(c)) {
            // `position cost`: the function's own, or (after `calls=`) the
            // inclusive cost of the call just above.
            let cost = line.split_whitespace().nth(1).unwrap_or("0");
            sum += cost.parse::<u64>().unwrap_or(0);
        }
    }
    Ok(sum)
}

/// Messages per sender in the warm-up round of [`in_flight`].
const WARM_UP: usize = 200;

/// A warm-up round, then `count` messages per sender.
async fn in_flight(
    conns: &mut Vec<Conn>,
    names: &[String],
    pairs: usize,
    count: usize,
) -> anyhow::Result<()> {
    let parts = |count: usize| traffic::pairs(&names[pairs..], count);
    let warm = traffic::round(std::mem::take(conns), &parts(WARM_UP)?).await?;
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

/// With `--perf DIR`, writes `<name>.per_message.txt`: what the longer run
/// counted more than the shorter, by function (callgrind) or system call
/// (strace), over the extra messages, the largest first, with a summary by
/// library; the profile of a message that start-up and log-ins do not blur.
pub fn difference(counter: Counter, keep: Keep<'_>, messages: usize) -> anyhow::Result<()> {
    let Some((dir, name)) = keep else {
        return Ok(());
    };
    let run = |n: usize| dir.join(format!("{name}.{n}.{}", counter.suffix()));
    let (short, long) = match counter {
        Counter::Instructions => (by_function(&run(1))?, by_function(&run(2))?),
        Counter::Syscalls => (by_syscall(&run(1))?, by_syscall(&run(2))?),
    };
    let mut rows: Vec<(String, f64)> = long
        .iter()
        .map(|(key, &l)| {
            let s = short.get(key).copied().unwrap_or(0);
            (key.clone(), (l as f64 - s as f64) / messages as f64)
        })
        .filter(|(_, v)| v.abs() >= 0.05)
        .collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total: f64 = rows.iter().map(|(_, v)| v).sum();
    let mut text = format!("{name}: {total:.1} per message, the difference of two runs\n\n");
    if let Counter::Instructions = counter {
        let mut groups: BTreeMap<&str, f64> = BTreeMap::new();
        for (key, v) in &rows {
            *groups.entry(library(key)).or_default() += v;
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (group, v) in groups {
            text += &format!("{v:>10.0} {:>5.1}%  {group}\n", 100.0 * v / total);
        }
        text += "\n";
    }
    for (key, v) in rows.iter().take(80) {
        text += &format!("{v:>10.1} {:>5.1}%  {key}\n", 100.0 * v / total);
    }
    let to = dir.join(format!("{name}.per_message.txt"));
    std::fs::write(&to, text).with_context(|| format!("cannot write {}", to.display()))
}

/// The library a `file:function` of [`by_function`] belongs to.
fn library(key: &str) -> &'static str {
    let (file, function) = key.split_once(':').unwrap_or((key, ""));
    match file {
        "sqlite3.c" => "SQLite",
        "malloc.c" | "arena.c" => "malloc and free",
        _ if file.contains("memmove") || file.contains("memset") || file.contains("memcmp") => {
            "memcpy, memset"
        }
        _ if function.contains("serde_json") || function.contains("serde_core") => "serde_json",
        _ if function.contains("tokio") || function.contains("mio::") => "Tokio",
        _ if function.contains("classchat") => "ClassChat's own",
        _ if file.ends_with(".c") || file.ends_with(".S") => "libc, other",
        _ => "Rust std and other crates",
    }
}

/// Self instructions by `file:function` (the file without its directories),
/// from `callgrind_annotate`.
fn by_function(profile: &Path) -> anyhow::Result<BTreeMap<String, u64>> {
    let out = std::process::Command::new("callgrind_annotate")
        .args(["--inclusive=no", "--auto=no", "--threshold=100"])
        .arg(profile)
        .output()
        .context("cannot run callgrind_annotate")?;
    if !out.status.success() {
        bail!("callgrind_annotate failed on {}", profile.display());
    }
    let mut counts = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // `  1,234 ( 0.56%)  /path/to/file.rs:function [/path/to/object]`
        let Some((count, rest)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let Ok(count) = count.replace(',', "").parse::<u64>() else {
            continue;
        };
        let Some((_, place)) = rest.split_once(")  ") else {
            continue;
        };
        if place.starts_with("PROGRAM TOTALS") {
            continue;
        }
        let place = place.rsplit_once(" [").map_or(place, |(p, _)| p);
        let (file, function) = place.split_once(':').unwrap_or(("?", place));
        let file = file.rsplit('/').next().unwrap_or(file);
        *counts.entry(format!("{file}:{function}")).or_insert(0) += count;
    }
    Ok(counts)
}

/// Calls by system call, from an `strace -c` summary.
fn by_syscall(summary: &Path) -> anyhow::Result<BTreeMap<String, u64>> {
    let text = std::fs::read_to_string(summary)
        .with_context(|| format!("cannot read {}", summary.display()))?;
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // `% time seconds usecs/call calls [errors] syscall`
        let (Some(calls), Some(name)) = (fields.get(3), fields.last()) else {
            continue;
        };
        if let Ok(calls) = calls.parse::<u64>()
            && *name != "total"
        {
            counts.insert((*name).to_string(), calls);
        }
    }
    Ok(counts)
}
