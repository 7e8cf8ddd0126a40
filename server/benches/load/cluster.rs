//! `cluster_cross_node_p99_ratio`, `cluster_cpu_ratio_two_nodes` and
//! `cluster_instr_ratio_two_nodes`: nodes of a
//! cluster (`--features cluster`) on a throwaway PostgreSQL and nats-server,
//! started from the installed programs as the cluster tests start them
//! (`apt-get install postgresql nats-server`).
//!
//! - Latency: one sender on n1 writes, one message at a time, to a receiver
//!   on n1 and to one on n2, in turn, so both see the same machine; the
//!   figure is the cross-node p99 over the same-node p99.
//! - CPU: the `dm` load (pairs, window 256, acknowledged as the reference
//!   client does) on one node in cluster mode, then on two nodes with half
//!   the pairs split across them; the figure is the nodes' CPU per message
//!   on two nodes over that on one. PostgreSQL's CPU per message (every
//!   `postgres` process) is printed beside it.
//! - Instructions ([`instructions`], `cluster_instr`): the same load with
//!   every node under callgrind; the figure with the target, since CPU time
//!   moves with the machine and this count does not.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use classchat_common::Conv;
use hdrhistogram::Histogram;
use tempfile::TempDir;

use crate::client::Conn;
use crate::instructions::{self, Counter, Keep, callgrind, without_hashing};
use crate::latency;
use crate::seed::{self, Account};
use crate::server::{Profile, ServerProcess, clock_ticks};
use crate::traffic::{self, Frames, Part};

#[allow(dead_code, reason = "the bench uses part of the tests' helper")]
#[path = "../../tests/support/postgres.rs"]
mod pg;

#[allow(dead_code, reason = "the bench uses part of the tests' helper")]
#[path = "../../tests/support/nats.rs"]
mod nats;

#[derive(Debug, Clone, Copy)]
pub struct ClusterPlan {
    pub latency_samples: usize,
    /// Pairs in the CPU rounds; a multiple of 4 (a quarter of the pairs on
    /// each node, half across).
    pub pairs: usize,
    pub per_sender: usize,
}

/// What one call measured: one value per run of each figure.
#[derive(Debug)]
pub struct ClusterFigures {
    pub p99_ratio: Vec<f64>,
    pub cpu_ratio: Vec<f64>,
}

/// The callgrind rounds: pairs (a multiple of 4) and measured messages per
/// sender in the shorter run (the longer has twice as many).
#[derive(Debug, Clone, Copy)]
pub struct ClusterInstrPlan {
    pub pairs: usize,
    pub per_sender: usize,
}

/// Samples sent before the measured ones.
const WARM_UP: usize = 200;

/// With `perf`, node n1 of the first two-node round is profiled.
pub async fn run(
    plan: ClusterPlan,
    runs: usize,
    perf: Option<(&Path, &str)>,
) -> anyhow::Result<ClusterFigures> {
    let nats = nats::Own::start();
    let mut figures = ClusterFigures {
        p99_ratio: latencies(plan.latency_samples, runs, &nats.url()).await?,
        cpu_ratio: Vec::with_capacity(runs),
    };
    for run in 0..runs {
        let one = cpu_per_message(plan, 1, &nats.url(), run, None).await?;
        let profile = perf.filter(|_| run == 0);
        let two = cpu_per_message(plan, 2, &nats.url(), run, profile).await?;
        let ratio = two.nodes / one.nodes;
        eprintln!(
            "  run {}: node CPU per message {:.2} µs on one node, {:.2} µs on two ({ratio:.2}×); \
             PostgreSQL {:.2} µs and {:.2} µs per message",
            run + 1,
            one.nodes,
            two.nodes,
            one.postgres,
            two.postgres
        );
        figures.cpu_ratio.push(ratio);
    }
    Ok(figures)
}

/// `cluster_instr_ratio_two_nodes`: the nodes' user-space instructions per
/// message (callgrind) with two nodes and half the pairs across them, over
/// one node; each the difference of a run with `n` measured messages and one
/// with `2n`, as `dm_instr` is. Unlike CPU time it does not move with the
/// machine, but it leaves out the kernel: the system calls of publishing to
/// and reading from NATS.
pub async fn instructions(plan: ClusterInstrPlan, keep: Keep<'_>) -> anyhow::Result<f64> {
    let nats = nats::Own::start();
    let messages = plan.pairs * plan.per_sender;
    let mut per_message = [0.0; 2];
    for (count, figure) in [1, 2].into_iter().zip(&mut per_message) {
        let short = counted(plan, count, 1, &nats.url(), keep).await?;
        let long = counted(plan, count, 2, &nats.url(), keep).await?;
        eprintln!(
            "  {count} node(s): counted {short} with {messages} messages, {long} with twice as many"
        );
        if long <= short {
            bail!("the longer run counted no more instructions ({long} ≤ {short})");
        }
        *figure = (long - short) as f64 / messages as f64;
        if let Some((dir, prefix)) = keep {
            for i in 1..=count {
                let name = format!("{prefix}_{count}n_n{i}");
                instructions::difference(Counter::Instructions, Some((dir, &name)), messages)?;
            }
        }
    }
    let [one, two] = per_message;
    eprintln!(
        "  instructions per message: {one:.0} on one node, {two:.0} on two ({:.2}×)",
        two / one
    );
    Ok(two / one)
}

/// One run of [`instructions`]: `count` nodes under callgrind, the warm-up,
/// then `scale` × `per_sender` messages per sender; the nodes' instructions
/// in all, less password hashing. With `keep`, node `i`'s profile is kept
/// as `<name>_<count>n_n<i>.<scale>.callgrind`.
async fn counted(
    plan: ClusterInstrPlan,
    count: usize,
    scale: usize,
    nats: &str,
    keep: Keep<'_>,
) -> anyhow::Result<u64> {
    let profiles = TempDir::new()?;
    let outs: Vec<PathBuf> = (1..=count)
        .map(|i| profiles.path().join(format!("n{i}.callgrind")))
        .collect();
    let wrappers: Vec<Vec<String>> = outs.iter().map(|o| callgrind(o)).collect();
    let name = format!("bench_instr_{count}_{scale}");
    let cluster = Nodes::start_under(count, &name, nats, &wrappers).await?;
    let conns = log_in_pairs(plan.pairs, &cluster).await?;
    let conns = traffic::round(conns, &dm_parts(plan.pairs, plan.per_sender.min(200))?).await?;
    let conns = traffic::round(conns, &dm_parts(plan.pairs, plan.per_sender * scale)?).await?;
    drop(conns);
    cluster.stop().await?;
    let mut total = 0;
    for (i, out) in outs.iter().enumerate() {
        total += without_hashing(out)?;
        if let Some((dir, prefix)) = keep {
            let to = dir.join(format!("{prefix}_{count}n_n{}.{scale}.callgrind", i + 1));
            std::fs::copy(out, &to).with_context(|| format!("cannot keep {}", to.display()))?;
        }
    }
    Ok(total)
}

/// Nodes of one cluster, each on its own data directory, on a fresh database.
struct Nodes {
    nodes: Vec<ServerProcess>,
    _dirs: Vec<TempDir>,
}

impl Nodes {
    async fn start(count: usize, name: &str, nats: &str) -> anyhow::Result<Self> {
        Self::start_under(count, name, nats, &vec![Vec::new(); count]).await
    }

    /// The same, node `i` run by `wrappers[i]` (a profiler's command line).
    async fn start_under(
        count: usize,
        name: &str,
        nats: &str,
        wrappers: &[Vec<String>],
    ) -> anyhow::Result<Self> {
        let database = pg::database(name);
        let (mut nodes, mut dirs) = (Vec::new(), Vec::new());
        for (i, wrapper) in (1..=count).zip(wrappers) {
            let dir = TempDir::new()?;
            let id = format!("n{i}");
            let node =
                ServerProcess::start_node(dir.path(), &database, nats, name, &id, wrapper).await?;
            nodes.push(node);
            dirs.push(dir);
        }
        Ok(Self { nodes, _dirs: dirs })
    }

    fn cpu(&self) -> anyhow::Result<Duration> {
        self.nodes.iter().map(ServerProcess::cpu).sum()
    }

    async fn stop(self) -> anyhow::Result<()> {
        for node in self.nodes {
            node.stop().await?;
        }
        Ok(())
    }
}

/// The cross-node p99 over the same-node p99, one value per run.
async fn latencies(samples: usize, runs: usize, nats: &str) -> anyhow::Result<Vec<f64>> {
    let cluster = Nodes::start(2, "bench_latency", nats).await?;
    let names = seed::names("l", 3);
    let accounts = seed::by_password(&names);
    let (n1, n2) = (cluster.nodes[0].addr, cluster.nodes[1].addr);
    let mut a = login(n1, &accounts[0]).await?;
    let mut here = login(n1, &accounts[1]).await?;
    let mut there = login(n2, &accounts[2]).await?;
    let to_a: Conv = names[0].parse().context("a user name")?;
    let warm = [
        Frames::new(&names[1], WARM_UP)?,
        Frames::new(&names[2], WARM_UP)?,
    ];
    for i in 0..WARM_UP {
        latency::sample(&mut a, &mut here, &to_a, warm[0].line(i)).await?;
        latency::sample(&mut a, &mut there, &to_a, warm[1].line(i)).await?;
    }
    let mut values = Vec::with_capacity(runs);
    for run in 0..runs {
        let frames = [
            Frames::new(&names[1], samples)?,
            Frames::new(&names[2], samples)?,
        ];
        let mut hists = [histogram()?, histogram()?];
        for i in 0..samples {
            let same = latency::sample(&mut a, &mut here, &to_a, frames[0].line(i)).await?;
            let cross = latency::sample(&mut a, &mut there, &to_a, frames[1].line(i)).await?;
            for (hist, took) in hists.iter_mut().zip([same, cross]) {
                hist.record(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1))
                    .context("a latency out of the histogram's range")?;
            }
        }
        let p = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
        let (same, cross) = (p(&hists[0], 0.99), p(&hists[1], 0.99));
        eprintln!(
            "  run {}: same node p50 {:.0} µs, p99 {same:.0} µs; across nodes p50 {:.0} µs, \
             p99 {cross:.0} µs: {:+.0} µs, {:.2}×",
            run + 1,
            p(&hists[0], 0.5),
            p(&hists[1], 0.5),
            cross - same,
            cross / same
        );
        values.push(cross / same);
    }
    drop((a, here, there));
    cluster.stop().await?;
    Ok(values)
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).context("a latency histogram")
}

async fn login(addr: std::net::SocketAddr, account: &Account) -> anyhow::Result<Conn> {
    let lines = crate::client::login_lines(&account.name, &account.proof)?;
    Ok(Conn::login(addr, &lines).await?.0)
}

/// CPU per message, in µs: the nodes' and PostgreSQL's.
struct PerMessage {
    nodes: f64,
    postgres: f64,
}

/// The `dm` load on `count` nodes (see [`log_in_pairs`]).
async fn cpu_per_message(
    plan: ClusterPlan,
    count: usize,
    nats: &str,
    run: usize,
    perf: Option<(&Path, &str)>,
) -> anyhow::Result<PerMessage> {
    let name = format!("bench_cpu_{count}_{run}");
    let cluster = Nodes::start(count, &name, nats).await?;
    let conns = log_in_pairs(plan.pairs, &cluster).await?;
    // Warm-up: creates the conversations on every node.
    let conns = traffic::round(conns, &dm_parts(plan.pairs, plan.per_sender.min(200))?).await?;
    let parts = dm_parts(plan.pairs, plan.per_sender)?;
    let postgres = pg::server().pid().context("PostgreSQL is not running")?;
    let profile = match perf {
        Some((dir, name)) => Some(Profile::start(dir, name, cluster.nodes[0].pid)?),
        None => None,
    };
    let (nodes0, pg0) = (cluster.cpu()?, process_tree_cpu(postgres)?);
    let conns = traffic::round(conns, &parts).await?;
    let (nodes1, pg1) = (cluster.cpu()?, process_tree_cpu(postgres)?);
    if let Some(p) = profile {
        p.stop().await?;
    }
    drop(conns);
    cluster.stop().await?;
    let messages = (plan.pairs * plan.per_sender) as f64;
    Ok(PerMessage {
        nodes: (nodes1 - nodes0).as_secs_f64() * 1e6 / messages,
        postgres: (pg1 - pg0).as_secs_f64() * 1e6 / messages,
    })
}

/// `pairs` senders (`s…`) and as many receivers (`r…`) logged in: on one
/// node all of them; on two, pair `i` has its sender on node `i % 2` and its
/// receiver on node `(i / 2) % 2`, so half the pairs are across nodes.
async fn log_in_pairs(pairs: usize, cluster: &Nodes) -> anyhow::Result<Vec<Conn>> {
    if !pairs.is_multiple_of(4) {
        bail!("the cluster rounds need a multiple of 4 pairs");
    }
    let mut names = seed::names("s", pairs);
    names.extend(seed::names("r", pairs));
    let accounts = seed::by_password(&names);
    let node_of = |i: usize| match (cluster.nodes.len(), i < pairs) {
        (1, _) => 0,
        (_, true) => i % 2,
        (_, false) => ((i - pairs) / 2) % 2,
    };
    let mut conns = Vec::with_capacity(accounts.len());
    for (i, account) in accounts.iter().enumerate() {
        conns.push(login(cluster.nodes[node_of(i)].addr, account).await?);
    }
    Ok(conns)
}

/// The `dm` load for [`traffic::round`] on the connections of
/// [`log_in_pairs`].
fn dm_parts(pairs: usize, count: usize) -> anyhow::Result<Vec<Part>> {
    traffic::pairs(&seed::names("r", pairs), count)
}

/// CPU time of `root` and every process whose parent it is (PostgreSQL's
/// backends and workers).
fn process_tree_cpu(root: u32) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After the name: state, ppid, …; utime and stime are 11 and 12.
        let parent: u32 = fields.get(1).and_then(|f| f.parse().ok()).unwrap_or(0);
        if pid != root && parent != root {
            continue;
        }
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        total += Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / clock_ticks() as f64);
    }
    Ok(total)
}

/// Whether this machine can run the cluster figures: PostgreSQL's programs,
/// nats-server, and a server built with cluster support.
pub fn available() -> Result<(), String> {
    let nats = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .iter()
        .any(|p| Path::new(p).is_file())
        || std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|d| d.join("nats-server").is_file())
        });
    let postgres = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|mut d| d.next().is_some());
    match (nats, postgres, cfg!(feature = "cluster")) {
        (true, true, true) => Ok(()),
        (_, _, false) => Err("the load bench was built without --features cluster".into()),
        _ => Err(
            "needs PostgreSQL's programs and nats-server (apt-get install postgresql nats-server)"
                .into(),
        ),
    }
}
