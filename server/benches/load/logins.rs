//! `login_rss_mib` and `login_ms_during_sign_up_flood`: what password logins cost the server's memory, and how long one user's login waits while another address floods sign-ups.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tempfile::TempDir;
use tokio::sync::Semaphore;

use crate::client::{self, Conn, Proof};
use crate::seed;
use crate::server::{ServerProcess, StoreKind};

/// The flooding address; the server listens on it too.
const FLOODER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Another user's address: Linux routes all of 127/8 to loopback.
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// The pause between the other user's logins.
const BETWEEN: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy)]
pub struct LoginPlan {
    /// Password logins (each a sign-up) for the memory figure …
    pub logins: usize,
    /// … this many at once.
    pub parallel: usize,
    /// Connections the flooding address keeps signing up on.
    pub flood_conns: usize,
    /// The other user's logins measured during the flood.
    pub samples: usize,
}

/// The server's RSS in MiB after `plan.logins` sign-ups, one value per run.
pub async fn memory(plan: LoginPlan, runs: usize) -> anyhow::Result<Vec<f64>> {
    let mut values = Vec::with_capacity(runs);
    for run in 0..runs {
        let dir = TempDir::new()?;
        let mut server = ServerProcess::start(dir.path(), "127.0.0.1:0", StoreKind::Sqlite).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = server.status_kib("VmRSS")?;
        let names = seed::names(&format!("m{run}x"), plan.logins);
        let permits = Arc::new(Semaphore::new(plan.parallel.max(1)));
        let t0 = Instant::now();
        let mut tasks = Vec::with_capacity(names.len());
        for name in names {
            let permit = permits.clone().acquire_owned().await?;
            let lines = client::login_lines(&name, &Proof::Password(seed::PASSWORD.into()))?;
            let addr = server.addr;
            tasks.push(tokio::spawn(async move {
                Conn::login(addr, &lines).await?;
                drop(permit);
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await.context("a login task panicked")??;
        }
        let took = t0.elapsed();
        // The complaint is memory that stays, so read it after a rest.
        tokio::time::sleep(Duration::from_secs(1)).await;
        server.check_alive()?;
        let after = server.status_kib("VmRSS")?;
        let peak = server.status_kib("VmHWM")?;
        let mib = after as f64 / 1024.0;
        eprintln!(
            "  run {}: {} sign-ups, {} at a time, in {:.1} s; server RSS {before} KiB → {after} KiB \
             (peak {peak} KiB): {mib:.1} MiB",
            run + 1,
            plan.logins,
            plan.parallel,
            took.as_secs_f64()
        );
        values.push(mib);
        server.stop().await?;
    }
    Ok(values)
}

/// The slowest of the other user's logins, in ms, one value per run.
pub async fn flood(plan: LoginPlan, runs: usize) -> anyhow::Result<Vec<f64>> {
    let mut values = Vec::with_capacity(runs);
    for run in 0..runs {
        let dir = TempDir::new()?;
        let mut server = ServerProcess::start(dir.path(), "127.0.0.1:0", StoreKind::Sqlite).await?;
        let other = client::login_lines("other", &Proof::Password(seed::PASSWORD.into()))?;
        // Signs up before the flood; every measured login is a password check.
        Conn::login_from(server.addr, OTHER, &other).await?;

        let started = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let flooders: Vec<_> = (0..plan.flood_conns)
            .map(|i| {
                let counts = [started.clone(), done.clone(), refused.clone()];
                tokio::spawn(flood_one(server.addr, format!("f{run}x{i:03}x"), counts))
            })
            .collect();
        // Every flooding connection has a sign-up waiting, and a second has passed.
        while started.load(Ordering::Relaxed) < plan.flood_conns {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;

        let (mut worst, mut total, mut failed) = (Duration::ZERO, Duration::ZERO, Vec::new());
        for _ in 0..plan.samples {
            let t0 = Instant::now();
            // A login the server gave up on (`login_timeout`) counts with its time.
            if let Err(e) = Conn::login_from(server.addr, OTHER, &other).await {
                failed.push(format!("{e:#}"));
            }
            let took = t0.elapsed();
            worst = worst.max(took);
            total += took;
            tokio::time::sleep(BETWEEN).await;
        }
        let (signed_up, refused) = (
            done.load(Ordering::Relaxed),
            refused.load(Ordering::Relaxed),
        );
        server.check_alive()?;
        for flooder in &flooders {
            flooder.abort();
        }
        for flooder in flooders {
            // An aborted flooder is the expected end; one that failed is not.
            if let Ok(Err(e)) = flooder.await {
                return Err(e.context("a flooding connection failed"));
            }
        }
        let ms = worst.as_secs_f64() * 1e3;
        eprintln!(
            "  run {}: {} logins from {OTHER} while {FLOODER} signed up on {} connections \
             ({signed_up} sign-ups done, {refused} refused or timed out): mean {:.0} ms, \
             max {ms:.0} ms{}",
            run + 1,
            plan.samples,
            plan.flood_conns,
            total.as_secs_f64() * 1e3 / plan.samples.max(1) as f64,
            if failed.is_empty() {
                String::new()
            } else {
                format!("; {} failed: {}", failed.len(), failed.join("; "))
            }
        );
        values.push(ms);
        server.stop().await?;
    }
    Ok(values)
}

/// One flooding connection after another, each signing up a new name, until
/// aborted; counts connections that asked, sign-ups done, and sign-ups the
/// server refused or gave up on (a flood longer than the login time has those).
async fn flood_one(
    addr: SocketAddr,
    prefix: String,
    [started, done, refused]: [Arc<AtomicUsize>; 3],
) -> anyhow::Result<()> {
    for n in 0usize.. {
        let lines = client::login_lines(
            &format!("{prefix}{n}"),
            &Proof::Password(seed::PASSWORD.into()),
        )?;
        let mut conn = Conn::connect_from(addr, FLOODER).await?;
        conn.send(&lines).await?;
        if n == 0 {
            started.fetch_add(1, Ordering::Relaxed);
        }
        match conn.until_synced().await {
            Ok(_) => done.fetch_add(1, Ordering::Relaxed),
            Err(_) => refused.fetch_add(1, Ordering::Relaxed),
        };
    }
    Ok(())
}
