//! `just bench`: measures every performance figure against its target with the release `classchat-server` binary, prints one line per figure, and writes docs/BENCHMARKS.md.
//!
//! Counts (instructions, system calls) and memory have targets of their own;
//! times have one only as a ratio to a baseline measured in the same run, and
//! are otherwise informational. Every time is printed with the load average.
//!
//! Layout:
//! - [`server`]: the server as a child process; its CPU time and memory from /proc.
//! - [`client`]: a lean protocol client; [`seed`]: accounts written into a data directory.
//! - [`traffic`]: message load with pre-serialized frames and reference-client acks.
//! - the scenarios: [`idle`] (idle memory, reconnect storm), [`dm`], [`fanout`],
//!   [`latency`], [`drain`], [`files`], [`logins`] (password hashing: memory, fairness),
//!   [`floods`] (one user flooding requests: others' latency, the server's memory),
//!   [`cluster`] (two nodes on PostgreSQL and NATS: latency across nodes, CPU and
//!   instructions per message; needs `--features cluster`, PostgreSQL's programs and nats-server).
//! - the counts: [`instructions`] (the server under callgrind or strace: instructions
//!   and system calls per message) and [`storage`] (the SQLite store alone and SQLite's
//!   floors, this binary run again under callgrind with `--store-alone`).
//! - the baselines: [`relay`] (a minimal Tokio line relay, this binary run
//!   again as a child process with `--relay LISTEN`, and with `KEEP_DIR`
//!   after it the same relay keeping each line in SQLite) for latency, [`loopback`]
//!   (TCP throughput) for the file relay.
//! - [`report`]: the figures, their targets, the printed lines and the Markdown.
//!
//! Usage (after `cargo bench -p classchat-server --bench load --`):
//! `[full|quick] [--frame FILE] [--only SCENARIO,…] [--runs N] [--perf DIR]`.
//! `full` (the default) writes docs/BENCHMARKS.md; `quick` (small sizes, one
//! run) and `--only` write nothing. MISS never fails the run; errors do.
//! `CLASSCHAT_BENCH_SERVER=<path>` measures another `classchat-server` build
//! with the same harness (an older commit's, to compare).

#![allow(
    clippy::print_stdout,
    reason = "a benchmark reports its figures on stdout"
)]

mod client;
mod cluster;
mod dm;
mod drain;
mod fanout;
mod files;
mod floods;
mod idle;
mod instructions;
mod latency;
mod logins;
mod loopback;
mod pipes;
mod relay;
mod report;
mod seed;
mod server;
mod storage;
mod traffic;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};

use report::{Results, SPECS, load_averages, load_now};
use server::StoreKind;

/// How big each scenario is.
#[derive(Debug, Clone)]
struct Plan {
    quick: bool,
    runs: usize,
    /// Runs of the slow scenarios (idle and reconnect, the file relay, logins).
    slow_runs: usize,
    idle_conns: usize,
    dm: dm::DmPlan,
    fanout: fanout::FanoutPlan,
    latency_samples: usize,
    drain: usize,
    file_bytes: u64,
    logins: logins::LoginPlan,
    floods: floods::FloodPlan,
    cluster: cluster::ClusterPlan,
    cluster_instr: cluster::ClusterInstrPlan,
    instr: instructions::InstrPlan,
}

impl Plan {
    fn full() -> Self {
        Self {
            quick: false,
            runs: 5,
            slow_runs: 3,
            idle_conns: 10_000,
            dm: dm::DmPlan {
                pairs: 50,
                per_sender: 4_000,
            },
            fanout: fanout::FanoutPlan {
                members: 100,
                senders: 4,
                per_sender: 2_500,
            },
            latency_samples: 2_000,
            drain: 10_000,
            file_bytes: 1 << 30,
            logins: logins::LoginPlan {
                logins: 300,
                parallel: 4,
                flood_conns: 250,
                samples: 20,
            },
            floods: floods::FloodPlan {
                samples: 1_000,
                create_secs: 40,
            },
            cluster: cluster::ClusterPlan {
                latency_samples: 2_000,
                pairs: 48,
                per_sender: 2_000,
            },
            cluster_instr: cluster::ClusterInstrPlan {
                pairs: 8,
                per_sender: 1_000,
            },
            instr: instructions::InstrPlan {
                pairs: 10,
                per_sender: 2_000,
                one_at_a_time: 300,
                group: fanout::FanoutPlan {
                    members: 100,
                    senders: 4,
                    per_sender: 250,
                },
            },
        }
    }

    fn quick() -> Self {
        Self {
            quick: true,
            runs: 1,
            slow_runs: 1,
            idle_conns: 500,
            dm: dm::DmPlan {
                pairs: 10,
                per_sender: 2_000,
            },
            fanout: fanout::FanoutPlan {
                members: 50,
                senders: 2,
                per_sender: 1_000,
            },
            latency_samples: 200,
            drain: 1_000,
            file_bytes: 16 << 20,
            logins: logins::LoginPlan {
                logins: 60,
                parallel: 4,
                flood_conns: 50,
                samples: 5,
            },
            floods: floods::FloodPlan {
                samples: 200,
                create_secs: 5,
            },
            cluster: cluster::ClusterPlan {
                latency_samples: 200,
                pairs: 8,
                per_sender: 1_000,
            },
            cluster_instr: cluster::ClusterInstrPlan {
                pairs: 4,
                per_sender: 250,
            },
            instr: instructions::InstrPlan {
                pairs: 4,
                per_sender: 500,
                one_at_a_time: 100,
                group: fanout::FanoutPlan {
                    members: 100,
                    senders: 4,
                    per_sender: 100,
                },
            },
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} idle connections; {} pairs × {} direct messages; a {}-member group with {} senders × {}; \
             {} latency samples per run (and as many through the relay), as many through a keeping relay (and the relay); {} queued messages; a {} MiB file; {} sign-ups {} at a time; \
             {} logins during a sign-up flood on {} connections; {} latency samples idle and \
             during a request flood, then {} s of `create` flood; in a cluster, {} latency \
             samples per run and {} pairs × {} direct messages; under callgrind, {} pairs × {} \
             direct messages and twice that, {} one at a time and twice that, {} × {} to a \
             {}-member group and twice that, in a cluster {} pairs × {} and twice that",
            self.idle_conns,
            self.dm.pairs,
            self.dm.per_sender,
            self.fanout.members,
            self.fanout.senders,
            self.fanout.per_sender,
            self.latency_samples,
            self.drain,
            self.file_bytes >> 20,
            self.logins.logins,
            self.logins.parallel,
            self.logins.samples,
            self.logins.flood_conns,
            self.floods.samples,
            self.floods.create_secs,
            self.cluster.latency_samples,
            self.cluster.pairs,
            self.cluster.per_sender,
            self.instr.pairs,
            self.instr.per_sender,
            self.instr.one_at_a_time,
            self.instr.group.senders,
            self.instr.group.per_sender,
            self.instr.group.members,
            self.cluster_instr.pairs,
            self.cluster_instr.per_sender
        )
    }
}

#[derive(Debug)]
struct Options {
    plan: Plan,
    frame: Option<PathBuf>,
    only: Option<Vec<String>>,
    perf: Option<PathBuf>,
}

const SCENARIOS: &[&str] = &[
    "idle",
    "dm",
    "dm_memory",
    "instr",
    "fanout",
    "fanout_instr",
    "latency",
    "drain",
    "files",
    "logins",
    "floods",
    "cluster",
    "cluster_instr",
];

fn options() -> anyhow::Result<Options> {
    let mut plan = Plan::full();
    let (mut frame, mut only, mut perf, mut runs) = (None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            // `cargo bench` passes `--bench` to every benchmark.
            "--bench" => {}
            "full" => plan = Plan::full(),
            "quick" => plan = Plan::quick(),
            "--frame" => frame = Some(PathBuf::from(value()?)),
            "--perf" => perf = Some(PathBuf::from(value()?)),
            "--runs" => runs = Some(value()?.parse::<usize>().context("--runs takes a number")?),
            "--only" => {
                let names: Vec<String> = value()?.split(',').map(str::to_owned).collect();
                if let Some(bad) = names.iter().find(|n| !SCENARIOS.contains(&n.as_str())) {
                    bail!("no scenario {bad}; there are {}", SCENARIOS.join(", "));
                }
                only = Some(names);
            }
            other => bail!(
                "unknown argument {other}; usage: [full|quick] [--frame FILE] [--only {}] [--runs N] [--perf DIR]",
                SCENARIOS.join(",")
            ),
        }
    }
    if let Some(n) = runs {
        plan.runs = n.max(1);
        plan.slow_runs = n.max(1);
    }
    Ok(Options {
        plan,
        frame,
        only,
        perf,
    })
}

fn main() -> ExitCode {
    // The relay baseline is this binary run again (relay.rs): first, before
    // the benchmark's own runtime exists.
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some(storage::ARG) {
        return match storage::serve(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("storing alone failed: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if first.as_deref() == Some(relay::ARG) {
        let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
        let keep = args.next().map(PathBuf::from);
        return match relay::serve(&listen, keep.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("the relay failed: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    measure()
}

#[tokio::main]
async fn measure() -> ExitCode {
    // On a worker, not on the thread that called `block_on`: that thread does
    // not poll the I/O driver, so every socket readiness it waits for would be
    // handed over from a worker, one more thread wake-up per read (60–90 µs on
    // this VM, which the latency figure would count against the server).
    let outcome = tokio::spawn(bench())
        .await
        .unwrap_or_else(|e| Err(anyhow::anyhow!("the benchmark task failed: {e}")));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn bench() -> anyhow::Result<()> {
    let opts = options()?;
    let plan = &opts.plan;
    let wanted = |s: &str| opts.only.as_ref().is_none_or(|o| o.iter().any(|n| n == s));
    if let Some(dir) = &opts.perf {
        std::fs::create_dir_all(dir)?;
    }
    let perf = |name: &'static str| opts.perf.as_deref().map(|d| (d, name));
    let mut results = Results::default();
    eprintln!(
        "{} mode: {}",
        if plan.quick { "quick" } else { "full" },
        plan.describe()
    );
    let started = Instant::now();
    let load_before = load_averages();
    // First, while the load average still says how busy the frame benchmark,
    // which ran just before, found the machine.
    if let Some(path) = &opts.frame {
        let load = load_now();
        for v in frame_medians(path)? {
            results.add_at_load("tui_frame_ms_100k", v, load);
        }
    }

    if wanted("idle") {
        eprintln!("idle connections and reconnect, {} runs", plan.slow_runs);
        let (idle, reconnect) = idle::run(plan.idle_conns, plan.slow_runs).await?;
        idle.into_iter()
            .for_each(|v| results.add("idle_kib_per_conn", v));
        reconnect
            .into_iter()
            .for_each(|v| results.add("reconnect_10k_s", v));
    }
    if wanted("dm") {
        eprintln!("direct messages, SQLite, {} runs", plan.runs);
        for v in dm::run(plan.dm, StoreKind::Sqlite, plan.runs, perf("dm")).await? {
            results.add("dm_cpu_us", v);
        }
    }
    if wanted("instr") {
        match instructions::available() {
            Ok(()) => {
                let i = plan.instr;
                eprintln!(
                    "instructions per message under callgrind: {} pairs × {} and × {}, \
                     {} and {} one at a time",
                    i.pairs,
                    i.per_sender,
                    2 * i.per_sender,
                    i.one_at_a_time,
                    2 * i.one_at_a_time
                );
                let dm = instructions::many_in_flight(i, StoreKind::Sqlite, perf("dm")).await?;
                results.add("dm_instr", dm.message);
                results.add("search_index_instr", dm.indexing);
                let v =
                    instructions::many_in_flight(i, StoreKind::Memory, perf("dm_memory")).await?;
                results.add("dm_instr_memory_store", v.message);
                let v = instructions::one_at_a_time(i, perf("one_at_a_time")).await?;
                results.add("dm_instr_one_at_a_time", v);
                match instructions::strace_available() {
                    Ok(()) => {
                        let v = instructions::syscalls_one_at_a_time(i, perf("syscalls")).await?;
                        results.add("dm_syscalls_one_at_a_time", v);
                    }
                    Err(why) => eprintln!("system calls not counted: {why}"),
                }
                let messages = i.pairs * i.per_sender;
                eprintln!(
                    "the SQLite store alone and SQLite's floors under callgrind: {messages} \
                     and {} in commits of {}, {} and {} one at a time",
                    2 * messages,
                    storage::LOAD_PER_COMMIT,
                    i.one_at_a_time,
                    2 * i.one_at_a_time
                );
                for (form, name, one) in [
                    (
                        storage::Form::Store,
                        "store_instr",
                        "store_instr_one_at_a_time",
                    ),
                    (
                        storage::Form::Keyed,
                        "sqlite_keyed_floor_instr",
                        "sqlite_keyed_floor_instr_one_at_a_time",
                    ),
                    (
                        storage::Form::Floor,
                        "sqlite_floor_instr",
                        "sqlite_floor_instr_one_at_a_time",
                    ),
                ] {
                    let v = storage::measure(form, messages, storage::LOAD_PER_COMMIT, perf(name))
                        .await?;
                    results.add(name, v);
                    let v = storage::measure(form, i.one_at_a_time, 1, perf(one)).await?;
                    results.add(one, v);
                }
            }
            Err(why) => eprintln!("instruction counts not measured: {why}"),
        }
    }
    if wanted("dm_memory") {
        eprintln!("direct messages, memory store, {} runs", plan.runs);
        for v in dm::run(plan.dm, StoreKind::Memory, plan.runs, perf("dm_memory")).await? {
            results.add("dm_cpu_us_memory_store", v);
        }
    }
    if wanted("fanout") {
        eprintln!("group fan-out, {} runs", plan.runs);
        for v in fanout::run(plan.fanout, plan.runs, perf("fanout")).await? {
            results.add("fanout_cpu_us", v);
        }
    }
    if wanted("fanout_instr") {
        match instructions::available() {
            Ok(()) => {
                let g = plan.instr.group;
                eprintln!(
                    "instructions per group delivery under callgrind: {} members, {} senders × {} \
                     and × {}",
                    g.members,
                    g.senders,
                    g.per_sender,
                    2 * g.per_sender
                );
                // As for the cluster's count, the batches form differently
                // from run to run (up to 5% here): the median of the runs.
                for run in 0..plan.slow_runs {
                    let keep = perf("fanout_instr").filter(|_| run == 0);
                    let v = instructions::group_delivery(g, keep).await?;
                    results.add("fanout_instr", v);
                }
            }
            Err(why) => eprintln!("instructions per group delivery not measured: {why}"),
        }
    }
    if wanted("latency") {
        for (listen, names) in [
            (
                "127.0.0.1:0",
                [
                    "latency_p50_ratio_v4",
                    "latency_p99_ratio_v4",
                    "latency_p99_us_v4",
                    "latency_p50_floor_ratio_v4",
                    "latency_p99_floor_ratio_v4",
                ],
            ),
            (
                "[::1]:0",
                [
                    "latency_p50_ratio_v6",
                    "latency_p99_ratio_v6",
                    "latency_p99_us_v6",
                    "latency_p50_floor_ratio_v6",
                    "latency_p99_floor_ratio_v6",
                ],
            ),
        ] {
            eprintln!(
                "latency on {listen}, server and relay in turn, {} runs",
                plan.runs
            );
            let l =
                latency::run(listen, StoreKind::Sqlite, plan.latency_samples, plan.runs).await?;
            eprintln!(
                "latency on {listen}, the keeping relay and the relay in turn, {} runs",
                plan.runs
            );
            let (floor_p50, floor_p99) =
                latency::floor(listen, plan.latency_samples, plan.runs).await?;
            for (name, values) in
                names
                    .into_iter()
                    .zip([l.p50_ratio, l.p99_ratio, l.p99_us, floor_p50, floor_p99])
            {
                values.into_iter().for_each(|v| results.add(name, v));
            }
        }
        // What the latency is without a commit on the message's way: how
        // much of the figures above the durable store's.
        eprintln!(
            "latency on 127.0.0.1:0 with --store memory, server and relay in turn, {} runs",
            plan.runs
        );
        let l = latency::run(
            "127.0.0.1:0",
            StoreKind::Memory,
            plan.latency_samples,
            plan.runs,
        )
        .await?;
        for (name, values) in [
            ("latency_p50_ratio_v4_memory_store", l.p50_ratio),
            ("latency_p99_ratio_v4_memory_store", l.p99_ratio),
        ] {
            values.into_iter().for_each(|v| results.add(name, v));
        }
    }
    if wanted("drain") {
        eprintln!("draining queued messages, {} runs", plan.runs);
        for v in drain::run(plan.drain, plan.runs).await? {
            results.add("drain_10k_ms", v);
        }
    }
    if wanted("files") {
        eprintln!(
            "file relay and loopback TCP before each, {} runs",
            plan.slow_runs
        );
        let f = files::run(plan.file_bytes, plan.slow_runs, perf("files")).await?;
        for (name, values) in [
            ("file_relay_ratio", f.ratio),
            ("file_relay_mb_s", f.mb_s),
            ("file_relay_server_rss_mib", f.rss_mib),
            ("file_relay_protocol_mb_s", f.protocol_mb_s),
            ("sha256_mb_s", f.sha256_mb_s),
            ("file_relay_sha256_bound_ratio", f.sha256_bound_ratio),
        ] {
            values.into_iter().for_each(|v| results.add(name, v));
        }
    }
    if wanted("logins") {
        eprintln!("memory after password logins, {} runs", plan.slow_runs);
        for v in logins::memory(plan.logins, plan.slow_runs).await? {
            results.add("login_rss_mib", v);
        }
        eprintln!("logins during a sign-up flood, {} runs", plan.slow_runs);
        for v in logins::flood(plan.logins, plan.slow_runs).await? {
            results.add("login_ms_during_sign_up_flood", v);
        }
    }
    if wanted("floods") {
        eprintln!("one user flooding requests, {} runs", plan.slow_runs);
        let (ratios, growths) = floods::run(plan.floods, plan.slow_runs).await?;
        ratios
            .into_iter()
            .for_each(|v| results.add("flood_latency_ratio", v));
        growths
            .into_iter()
            .for_each(|v| results.add("create_flood_rss_mib", v));
    }
    if wanted("cluster") {
        match cluster::available() {
            Ok(()) => {
                eprintln!("two cluster nodes, {} runs", plan.runs);
                let figures = cluster::run(plan.cluster, plan.runs, perf("cluster")).await?;
                figures
                    .p99_ratio
                    .into_iter()
                    .for_each(|v| results.add("cluster_cross_node_p99_ratio", v));
                figures
                    .cpu_ratio
                    .into_iter()
                    .for_each(|v| results.add("cluster_cpu_ratio_two_nodes", v));
            }
            Err(why) => eprintln!("cluster figures not measured: {why}"),
        }
    }
    if wanted("cluster_instr") {
        match cluster::available().and_then(|()| instructions::available()) {
            Ok(()) => {
                let i = plan.cluster_instr;
                eprintln!(
                    "cluster instructions per message under callgrind: {} pairs × {} and × {}, \
                     on one node and on two, {} runs",
                    i.pairs,
                    i.per_sender,
                    2 * i.per_sender,
                    plan.slow_runs
                );
                // The batches form differently from run to run, which moves
                // one run's count by up to 5%: the median of the runs, as for
                // the timed figures.
                for run in 0..plan.slow_runs {
                    let keep = perf("cluster_instr").filter(|_| run == 0);
                    let v = cluster::instructions(i, keep).await?;
                    results.add("cluster_instr_ratio_two_nodes", v);
                }
            }
            Err(why) => eprintln!("cluster instruction counts not measured: {why}"),
        }
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());

    if plan.quick {
        println!(
            "(quick mode: small sizes, one run; the figures are not comparable with the targets)"
        );
    }
    for spec in SPECS {
        if let Some(v) = results.median(spec.name) {
            println!("{}", spec.line(v, results.load(spec.name).as_deref()));
        }
    }
    if !plan.quick && opts.only.is_none() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/BENCHMARKS.md");
        let ctx = report::Context {
            sizes: plan.describe(),
            runs: format!(
                "{} runs ({} for idle/reconnect, the file relay, the login figures, the group's \
                 and the cluster's instruction counts; one for the other counts)",
                plan.runs, plan.slow_runs
            ),
            commands: commands(),
            load: format!("{load_before} before, {} after", load_averages()),
        };
        report::write_markdown(&path, &results, &ctx)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The `tui_frame_ms_100k … target` lines the frame benchmark printed, one per run.
fn frame_medians(path: &Path) -> anyhow::Result<Vec<f64>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the frame results {}", path.display()))?;
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.contains(" target "))
        .filter_map(|l| l.strip_prefix("tui_frame_ms_100k "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect();
    if values.is_empty() {
        bail!("no tui_frame_ms_100k figure in {}", path.display());
    }
    Ok(values)
}

/// What `just bench` runs, for the report.
fn commands() -> Vec<String> {
    vec![
        "just bench   # which runs, with the open-file limit raised to the hard limit:".into(),
        "ulimit -n \"$(ulimit -Hn)\"".into(),
        "cargo bench -p classchat --bench frame   # 3 times, lines kept in a temporary file".into(),
        "cargo bench -p classchat-server --features cluster --bench load -- full --frame <that file>"
            .into(),
    ]
}
