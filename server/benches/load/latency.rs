//! `latency_p50_ratio_v4` … `latency_p99_floor_ratio_v6`: one-way latency through an idle server, one message at a time, over a minimal Tokio relay's measured in turn with it; and the floor under it, a keeping relay's (the same relay committing each line to SQLite first) over the relay's, measured the same way.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use classchat_common::{ClientMessage, Conv};
use hdrhistogram::Histogram;
use tempfile::TempDir;

use crate::client::{Conn, Peek};
use crate::relay::RelayProcess;
use crate::seed;
use crate::server::{ServerProcess, StoreKind};
use crate::traffic::{self, Frames};

/// Samples sent before the measured ones, to warm every cache and path.
const WARM_UP: usize = 200;

/// The pause between samples, so each finds the server idle.
const REST: Duration = Duration::from_millis(1);

/// One value per run of each figure.
#[derive(Debug, Default)]
pub struct Latency {
    /// The server's p50 over the relay's.
    pub p50_ratio: Vec<f64>,
    /// The server's p99 over the relay's.
    pub p99_ratio: Vec<f64>,
    /// The server's p99 in µs.
    pub p99_us: Vec<f64>,
}

/// The server (on `store`) and the relay both listen on `listen`; each of
/// their samples is taken in turn with one of the other's, so both see the
/// same machine.
pub async fn run(
    listen: &str,
    store: StoreKind,
    samples: usize,
    runs: usize,
) -> anyhow::Result<Latency> {
    let dir = TempDir::new()?;
    let names = seed::names("l", 2);
    let accounts = match store {
        StoreKind::Sqlite => seed::seed(dir.path(), &names).await?,
        StoreKind::Memory => seed::by_password(&names),
    };
    let mut server = ServerProcess::start(dir.path(), listen, store).await?;
    let mut conns = traffic::login_all(server.addr, &accounts).await?;
    let (Some(mut b), Some(mut a)) = (conns.pop(), conns.pop()) else {
        bail!("two connections expected");
    };
    let to_a: Conv = names[0].parse().context("a user name")?;
    let relay = RelayProcess::start(listen, None).await?;
    let mut ends = (
        Conn::connect(relay.addr).await?,
        Conn::connect(relay.addr).await?,
    );
    // The relay's lines: the same `send`s and an `ack` as long as the server's.
    let ack = ClientMessage::Ack {
        conv: to_a.clone(),
        seq: (WARM_UP + runs * samples) as u64,
    }
    .to_line();

    let warm = Frames::new(&names[1], WARM_UP)?;
    for i in 0..WARM_UP {
        sample(&mut a, &mut b, &to_a, warm.line(i)).await?;
        relay_sample(&mut ends, warm.line(i), &ack).await?;
    }
    let mut figures = Latency::default();
    for run in 0..runs {
        let frames = Frames::new(&names[1], samples)?;
        let (mut hist, mut relay_hist) = (histogram()?, histogram()?);
        let (cpu_before, relay_cpu_before) = (server.cpu()?, relay.cpu()?);
        for i in 0..samples {
            let took = sample(&mut a, &mut b, &to_a, frames.line(i)).await?;
            record(&mut hist, took)?;
            let took = relay_sample(&mut ends, frames.line(i), &ack).await?;
            record(&mut relay_hist, took)?;
        }
        server.check_alive()?;
        // Printed only: what one round costs each when every thread was
        // asleep before it.
        let per_round = |cpu: Duration| cpu.as_secs_f64() * 1e6 / samples as f64;
        let cpu = per_round(server.cpu()? - cpu_before);
        let relay_cpu = per_round(relay.cpu()? - relay_cpu_before);
        let (ours, relay_q) = (Quantiles::of(&hist), Quantiles::of(&relay_hist));
        let ratios = ours.over(&relay_q);
        eprintln!(
            "  run {}: {samples} messages on {}: {ours}, server CPU {cpu:.0} µs per message; \
             relay on {}: {relay_q}, relay CPU {relay_cpu:.0} µs per round; ratios {}",
            run + 1,
            server.addr,
            relay.addr,
            ratios
        );
        figures.p50_ratio.push(ratios.p50);
        figures.p99_ratio.push(ratios.p99);
        figures.p99_us.push(ours.p99);
    }
    drop(ends);
    relay.stop().await?;
    ping_floor(&mut a, samples).await?;
    drop((a, b));
    server.stop().await?;
    Ok(figures)
}

/// The keeping relay ([`crate::relay::Keeper`]) and the relay, both on
/// `listen`, measured as [`run`] measures the server and the relay: each
/// keeping relay's sample in turn with one of the relay's, the same lines.
/// Their p50 ratios and p99 ratios, one a run: the least a commit before
/// delivery puts on the server's.
pub async fn floor(
    listen: &str,
    samples: usize,
    runs: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let dir = TempDir::new()?;
    let name = seed::names("l", 1).remove(0);
    let to_a: Conv = name.parse().context("a user name")?;
    let keeping = RelayProcess::start(listen, Some(dir.path())).await?;
    let relay = RelayProcess::start(listen, None).await?;
    let mut kept_ends = (
        Conn::connect(keeping.addr).await?,
        Conn::connect(keeping.addr).await?,
    );
    let mut ends = (
        Conn::connect(relay.addr).await?,
        Conn::connect(relay.addr).await?,
    );
    let ack = ClientMessage::Ack {
        conv: to_a,
        seq: (WARM_UP + runs * samples) as u64,
    }
    .to_line();
    let warm = Frames::new(&name, WARM_UP)?;
    for i in 0..WARM_UP {
        relay_sample(&mut kept_ends, warm.line(i), &ack).await?;
        relay_sample(&mut ends, warm.line(i), &ack).await?;
    }
    let (mut p50_ratios, mut p99_ratios) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let frames = Frames::new(&name, samples)?;
        let (mut kept_hist, mut relay_hist) = (histogram()?, histogram()?);
        for i in 0..samples {
            let took = relay_sample(&mut kept_ends, frames.line(i), &ack).await?;
            record(&mut kept_hist, took)?;
            let took = relay_sample(&mut ends, frames.line(i), &ack).await?;
            record(&mut relay_hist, took)?;
        }
        let (kept, relay_q) = (Quantiles::of(&kept_hist), Quantiles::of(&relay_hist));
        let ratios = kept.over(&relay_q);
        eprintln!(
            "  run {}: {samples} lines through the keeping relay on {}: {kept}; \
             relay on {}: {relay_q}; ratios {}",
            run + 1,
            keeping.addr,
            relay.addr,
            ratios
        );
        p50_ratios.push(ratios.p50);
        p99_ratios.push(ratios.p99);
    }
    drop((kept_ends, ends));
    keeping.stop().await?;
    relay.stop().await?;
    Ok((p50_ratios, p99_ratios))
}

/// One run's samples, in µs.
#[derive(Debug, Clone, Copy)]
struct Quantiles {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Quantiles {
    fn of(hist: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / 1e3;
        Self {
            p50: us(hist.value_at_quantile(0.5)),
            p99: us(hist.value_at_quantile(0.99)),
            max: us(hist.max()),
        }
    }

    /// These over `baseline`'s: the p50 ratio and the p99 ratio.
    fn over(&self, baseline: &Self) -> Ratios {
        Ratios {
            p50: self.p50 / baseline.p50,
            p99: self.p99 / baseline.p99,
        }
    }
}

/// One run's p50 and p99 over a baseline's.
#[derive(Debug, Clone, Copy)]
struct Ratios {
    p50: f64,
    p99: f64,
}

impl std::fmt::Display for Ratios {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p50 {:.2}×, p99 {:.2}×", self.p50, self.p99)
    }
}

impl std::fmt::Display for Quantiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
            self.p50, self.p99, self.max
        )
    }
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).context("a latency histogram")
}

fn record(hist: &mut Histogram<u64>, took: Duration) -> anyhow::Result<()> {
    hist.record(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1))
        .context("a latency out of the histogram's range")
}

/// One line through the relay, as [`sample`] sends one through the server:
/// the time from writing `line` at one end to reading it at the other (and
/// looking into it, as the server's receiver does); then the other end
/// writes `ack` back, the first reads it, and both rest.
async fn relay_sample(
    (a, b): &mut (Conn, Conn),
    line: &[u8],
    ack: &[u8],
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    a.send(line).await?;
    let there = b.line().await?;
    ensure!(Peek::of(&there)?.kind == "send", "the relay changed a line");
    let took = start.elapsed();
    b.send(ack).await?;
    let back = a.line().await?;
    ensure!(Peek::of(&back)?.kind == "ack", "the relay changed a line");
    tokio::time::sleep(REST).await;
    Ok(took)
}

/// For comparison, printed only: `ping` → `pong` round trips, which the
/// connection's own task answers without the hub or the store.
async fn ping_floor(a: &mut Conn, samples: usize) -> anyhow::Result<()> {
    let ping = ClientMessage::Ping.to_line();
    let mut hist = histogram()?;
    for _ in 0..samples {
        let start = Instant::now();
        a.send(&ping).await?;
        loop {
            let line = a.line().await?;
            if Peek::of(&line)?.check()?.kind == "pong" {
                break;
            }
        }
        record(&mut hist, start.elapsed())?;
        tokio::time::sleep(REST).await;
    }
    eprintln!(
        "  for comparison, ping→pong round trips (no hub, no store): {}",
        Quantiles::of(&hist)
    );
    Ok(())
}

/// One message from `a` to `b`: the time from writing it to reading it. Then
/// `b` acknowledges and `a` reads `stored` and the receipt, and both rest.
pub async fn sample(
    a: &mut Conn,
    b: &mut Conn,
    to_a: &Conv,
    line: &[u8],
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    a.send(line).await?;
    let seq = loop {
        let line = b.line().await?;
        let peek = Peek::of(&line)?.check()?;
        if peek.kind == "message" {
            break peek.seq.context("a message without seq")?;
        }
    };
    let took = start.elapsed();
    b.send(
        &ClientMessage::Ack {
            conv: to_a.clone(),
            seq,
        }
        .to_line(),
    )
    .await?;
    loop {
        let line = a.line().await?;
        let peek = Peek::of(&line)?.check()?;
        if peek.kind == "receipt" && peek.delivered >= Some(seq) {
            break;
        }
    }
    tokio::time::sleep(REST).await;
    Ok(took)
}
