//! `flood_latency_ratio` and `create_flood_rss_mib`: one user flooding every kind of request it may, and what that costs everyone else.
//!
//! The flooder writes batches of requests as fast as the server takes them and
//! reads every answer (most are `rate_limited`), so the server does all the
//! work a flood makes it do, without a slow reader to drop.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::BytesMut;
use classchat_common::{ClientMessage, Conv, GroupName, Username};
use hdrhistogram::Histogram;
use tempfile::TempDir;

use crate::client::Conn;
use crate::latency;
use crate::seed;
use crate::server::{ServerProcess, StoreKind};
use crate::traffic::{self, Frames};

/// How big the scenario is.
#[derive(Debug, Clone, Copy)]
pub struct FloodPlan {
    /// Latency samples before and during the flood.
    pub samples: usize,
    /// How long the `create` flood runs.
    pub create_secs: u64,
}

/// Requests written per batch before the flooder reads the answers.
const BATCH: usize = 240;

/// Per run: the pair's p99 during the flood over its p99 idle, and the
/// server's memory growth after a `create` flood, in MiB.
pub async fn run(plan: FloodPlan, runs: usize) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let (mut ratios, mut growths) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for run in 0..runs {
        let dir = TempDir::new()?;
        let names = vec![
            "fa".to_owned(),
            "fb".to_owned(),
            "mallory".to_owned(),
            "victim".to_owned(),
        ];
        let accounts = seed::seed(dir.path(), &names).await?;
        let mut server = ServerProcess::start(dir.path(), "127.0.0.1:0", StoreKind::Sqlite).await?;
        let mut conns = traffic::login_all(server.addr, &accounts).await?;
        let (Some(victim), Some(mut mallory), Some(mut b), Some(mut a)) =
            (conns.pop(), conns.pop(), conns.pop(), conns.pop())
        else {
            bail!("four connections expected");
        };
        let to_a: Conv = names[0].parse().context("a user name")?;
        let done = Arc::new(AtomicBool::new(false));
        let victim_reader = tokio::spawn(drain(victim, done.clone()));
        let (lab, victim_name) = (
            group("lab")?,
            Username::new("victim").context("a user name")?,
        );
        mallory
            .ask(|req| ClientMessage::Create {
                req,
                group: lab,
                members: vec![victim_name],
                access: None,
                posting: None,
            })
            .await?;
        let stop = Arc::new(AtomicBool::new(false));

        let warm = Frames::new(&names[1], plan.samples)?;
        for i in 0..plan.samples.min(200) {
            latency::sample(&mut a, &mut b, &to_a, warm.line(i)).await?;
        }
        let idle = p99(&mut a, &mut b, &to_a, &names[1], plan.samples).await?;

        let requests = Arc::new(AtomicU64::new(0));
        let flooder = tokio::spawn(flood(mallory, stop.clone(), requests.clone(), Mix::All));
        let flooded = p99(&mut a, &mut b, &to_a, &names[1], plan.samples).await?;
        stop.store(true, Ordering::Relaxed);
        let mallory = flooder.await.context("the flooder panicked")??;
        let ratio = flooded / idle;
        eprintln!(
            "  run {}: the pair's p99 {idle:.0} µs idle, {flooded:.0} µs while one user sent {} \
             requests of every kind: {ratio:.2}×",
            run + 1,
            requests.load(Ordering::Relaxed)
        );
        ratios.push(ratio);

        // Only `create`, each with the victim in it, for the whole time.
        let before = server.status_kib("VmRSS")?;
        stop.store(false, Ordering::Relaxed);
        requests.store(0, Ordering::Relaxed);
        let flooder = tokio::spawn(flood(mallory, stop.clone(), requests.clone(), Mix::Create));
        tokio::time::sleep(Duration::from_secs(plan.create_secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mallory = flooder.await.context("the flooder panicked")??;
        server.check_alive()?;
        let after = server.status_kib("VmRSS")?;
        done.store(true, Ordering::Relaxed);
        let growth = after.saturating_sub(before) as f64 / 1024.0;
        eprintln!(
            "  run {}: {} `create` requests in {} s: server RSS {before} KiB → {after} KiB, {growth:.2} MiB",
            run + 1,
            requests.load(Ordering::Relaxed),
            plan.create_secs
        );
        growths.push(growth);
        let victim = victim_reader
            .await
            .context("the victim's reader panicked")??;
        drop((a, b, mallory, victim));
        server.stop().await?;
    }
    Ok((ratios, growths))
}

fn group(name: &str) -> anyhow::Result<GroupName> {
    name.parse().context("a group name")
}

/// The p99 of `samples` one-way latencies from `a` to `b` (named `to_b`), in µs.
async fn p99(
    a: &mut Conn,
    b: &mut Conn,
    to_a: &Conv,
    to_b: &str,
    samples: usize,
) -> anyhow::Result<f64> {
    let frames = Frames::new(to_b, samples)?;
    let mut hist =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).context("a latency histogram")?;
    for i in 0..samples {
        let took = latency::sample(a, b, to_a, frames.line(i)).await?;
        hist.record(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1))
            .context("a latency out of the histogram's range")?;
    }
    Ok(hist.value_at_quantile(0.99) as f64 / 1e3)
}

/// What the flooder sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// Group changes, `create` with a victim, queries and history, in turn.
    All,
    /// `create` with a victim, nothing else.
    Create,
}

/// Writes batches of requests until told to stop, reading every answer.
async fn flood(
    mut conn: Conn,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    mix: Mix,
) -> anyhow::Result<Conn> {
    let victim = Username::new("victim").context("a user name")?;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut batch = BytesMut::new();
        let mut waiting = HashSet::with_capacity(BATCH);
        for _ in 0..BATCH {
            let req = Some(conn.req());
            n += 1;
            let kind = if mix == Mix::Create { 2 } else { n % 6 };
            let msg = match kind {
                0 => ClientMessage::Join {
                    req,
                    group: group("lab")?,
                },
                1 => ClientMessage::Leave {
                    req,
                    group: group("lab")?,
                },
                2 => ClientMessage::Create {
                    req,
                    group: group(&format!("f{n}"))?,
                    members: vec![victim.clone()],
                    access: None,
                    posting: None,
                },
                3 => ClientMessage::Who { req },
                4 => ClientMessage::Groups { req },
                _ => ClientMessage::History {
                    req,
                    conv: "#lab".parse().context("a conversation")?,
                    before: None,
                    after: None,
                    limit: Some(200),
                },
            };
            waiting.extend(req);
            batch.extend_from_slice(&msg.to_line());
        }
        conn.send(&batch).await?;
        while !waiting.is_empty() {
            let line = conn.line().await?;
            if let Some(req) = req_of(&line) {
                waiting.remove(&req);
            }
        }
        sent.fetch_add(BATCH as u64, Ordering::Relaxed);
    }
    Ok(conn)
}

/// The `req` of an answer, found without parsing the line: the flooder shares
/// the benchmark's two cores with the pair it disturbs, so it must cost
/// little itself (a `history` page is tens of kilobytes of JSON). No line the
/// server sends has `"req":` anywhere but at its top level.
fn req_of(line: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"req\":";
    let at = line.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&line[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// Reads everything `conn` is sent until told to stop.
async fn drain(mut conn: Conn, done: Arc<AtomicBool>) -> anyhow::Result<Conn> {
    while !done.load(Ordering::Relaxed) {
        // Cancel-safe: what was read stays in the connection's buffer.
        if let Ok(line) = tokio::time::timeout(Duration::from_millis(100), conn.line()).await {
            line?;
        }
    }
    Ok(conn)
}
