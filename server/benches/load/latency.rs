//! `latency_p99_us_v4` and `latency_p99_us_v6`: one-way latency through an idle server, one message at a time.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use classchat_common::{ClientMessage, Conv};
use hdrhistogram::Histogram;
use tempfile::TempDir;

use crate::client::{Conn, Peek};
use crate::seed;
use crate::server::{ServerProcess, StoreKind};
use crate::traffic::{self, Frames};

/// Samples sent before the measured ones, to warm every cache and path.
const WARM_UP: usize = 200;

/// The pause between samples, so each finds the server idle.
const REST: Duration = Duration::from_millis(1);

/// p99 in µs, one value per run; also the median p50, for the log.
pub async fn run(listen: &str, samples: usize, runs: usize) -> anyhow::Result<Vec<f64>> {
    let dir = TempDir::new()?;
    let names = seed::names("l", 2);
    let accounts = seed::seed(dir.path(), &names).await?;
    let mut server = ServerProcess::start(dir.path(), listen, StoreKind::Sqlite).await?;
    let mut conns = traffic::login_all(server.addr, &accounts).await?;
    let (Some(mut b), Some(mut a)) = (conns.pop(), conns.pop()) else {
        bail!("two connections expected");
    };
    let to_a: Conv = names[0].parse().context("a user name")?;

    let warm = Frames::new(&names[1], WARM_UP)?;
    for i in 0..WARM_UP {
        sample(&mut a, &mut b, &to_a, warm.line(i)).await?;
    }
    let mut values = Vec::with_capacity(runs);
    for run in 0..runs {
        let frames = Frames::new(&names[1], samples)?;
        let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
            .context("a latency histogram")?;
        let cpu_before = server.cpu()?;
        for i in 0..samples {
            let took = sample(&mut a, &mut b, &to_a, frames.line(i)).await?;
            hist.record(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1))
                .context("a latency out of the histogram's range")?;
        }
        server.check_alive()?;
        // Printed only: what one message (with its ack and receipt) costs the
        // server when every thread was asleep before it.
        let cpu = (server.cpu()? - cpu_before).as_secs_f64() * 1e6 / samples as f64;
        let p99 = hist.value_at_quantile(0.99) as f64 / 1e3;
        eprintln!(
            "  run {}: {samples} messages on {}: p50 {:.0} µs, p99 {p99:.0} µs, max {:.0} µs; \
             server CPU {cpu:.0} µs per message",
            run + 1,
            server.addr,
            hist.value_at_quantile(0.5) as f64 / 1e3,
            hist.max() as f64 / 1e3
        );
        values.push(p99);
    }
    ping_floor(&mut a, samples).await?;
    drop((a, b));
    server.stop().await?;
    Ok(values)
}

/// For comparison, printed only: `ping` → `pong` round trips, which the
/// connection's own task answers without the hub or the store.
async fn ping_floor(a: &mut Conn, samples: usize) -> anyhow::Result<()> {
    let ping = ClientMessage::Ping.to_line();
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).context("a latency histogram")?;
    for _ in 0..samples {
        let start = Instant::now();
        a.send(&ping).await?;
        loop {
            let line = a.line().await?;
            if Peek::of(&line)?.check()?.kind == "pong" {
                break;
            }
        }
        hist.record(
            u64::try_from(start.elapsed().as_nanos())
                .unwrap_or(u64::MAX)
                .max(1),
        )
        .context("a latency out of the histogram's range")?;
        tokio::time::sleep(REST).await;
    }
    eprintln!(
        "  for comparison, ping→pong round trips (no hub, no store): p50 {:.0} µs, p99 {:.0} µs",
        hist.value_at_quantile(0.5) as f64 / 1e3,
        hist.value_at_quantile(0.99) as f64 / 1e3
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
