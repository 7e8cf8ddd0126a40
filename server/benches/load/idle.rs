//! `idle_kib_per_conn` and `reconnect_10k_s`: thousands of logged-in idle connections, then all of them again after a server restart.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use tempfile::TempDir;
use tokio::sync::Semaphore;

use crate::client::{self, Conn};
use crate::seed;
use crate::server::{ServerProcess, StoreKind};

/// Logins in flight at once (a real storm is spread by the clients' jittered backoff).
const IN_FLIGHT: usize = 512;

/// Per run: KiB of server memory per idle connection, and seconds for all of
/// them to log back in after a restart.
pub async fn run(conns: usize, runs: usize) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    check_fd_limit(conns)?;
    let dir = TempDir::new()?;
    let names = seed::names("i", conns);
    let accounts = seed::seed(dir.path(), &names).await?;
    let logins: Vec<Bytes> = accounts
        .iter()
        .map(|a| client::login_lines(&a.name, &a.proof))
        .collect::<anyhow::Result<_>>()?;
    let logins = Arc::new(logins);

    let (mut idle, mut reconnect) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for run in 0..runs {
        let server = ServerProcess::start(dir.path(), "127.0.0.1:0", StoreKind::Sqlite).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = server.status_kib("VmRSS")?;
        let t0 = Instant::now();
        let open = connect_all(server.addr, &logins).await?;
        let logged_in = t0.elapsed();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = server.status_kib("VmRSS")?;
        let kib = after.saturating_sub(before) as f64 / conns as f64;
        eprintln!(
            "  run {}: {conns} logged in in {:.2} s; server RSS {before} KiB → {after} KiB: {kib:.2} KiB each",
            run + 1,
            logged_in.as_secs_f64()
        );
        idle.push(kib);

        // Restart on the same port; every client comes back with its token.
        let listen = format!("127.0.0.1:{}", server.addr.port());
        server.stop().await?;
        drop(open);
        let t0 = Instant::now();
        let server = ServerProcess::start(dir.path(), &listen, StoreKind::Sqlite).await?;
        let started = t0.elapsed();
        let open = connect_all(server.addr, &logins).await?;
        let secs = t0.elapsed().as_secs_f64();
        eprintln!(
            "  run {}: restarted (listening after {:.2} s), all {conns} back in {secs:.2} s",
            run + 1,
            started.as_secs_f64()
        );
        reconnect.push(secs);
        server.stop().await?;
        drop(open);
    }
    Ok((idle, reconnect))
}

/// Logs every account in, `IN_FLIGHT` at a time, and keeps the connections.
async fn connect_all(addr: SocketAddr, logins: &Arc<Vec<Bytes>>) -> anyhow::Result<Vec<Conn>> {
    let permits = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = Vec::with_capacity(logins.len());
    for i in 0..logins.len() {
        let permit = permits.clone().acquire_owned().await?;
        let logins = logins.clone();
        tasks.push(tokio::spawn(async move {
            let (mut conn, _) = Conn::login(addr, &logins[i]).await?;
            conn.shrink();
            drop(permit);
            anyhow::Ok(conn)
        }));
    }
    let mut open = Vec::with_capacity(tasks.len());
    for task in tasks {
        open.push(task.await.context("a login task panicked")??);
    }
    Ok(open)
}

/// The benchmark and the server each hold one descriptor per connection.
fn check_fd_limit(conns: usize) -> anyhow::Result<()> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    match soft {
        Some(n) if n < conns + 256 => bail!(
            "{conns} connections need more open files than the limit of {n}: \
             run `ulimit -n {}` first (`just bench` does)",
            conns + 1024
        ),
        _ => Ok(()),
    }
}
