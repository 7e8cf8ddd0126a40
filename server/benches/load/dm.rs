//! `dm_cpu_us` and `dm_cpu_us_memory_store`: server CPU per direct message delivered, many pairs at once.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tempfile::TempDir;

use crate::seed::{self, Account};
use crate::server::{Profile, ServerProcess, StoreKind};
use crate::traffic::{self, Frames, Part};

#[derive(Debug, Clone, Copy)]
pub struct DmPlan {
    pub pairs: usize,
    pub per_sender: usize,
}

/// CPU µs per delivered message, one value per run.
pub async fn run(
    plan: DmPlan,
    store: StoreKind,
    runs: usize,
    perf: Option<(&Path, &str)>,
) -> anyhow::Result<Vec<f64>> {
    let dir = TempDir::new()?;
    let mut names = seed::names("s", plan.pairs);
    names.extend(seed::names("r", plan.pairs));
    let accounts: Vec<Account> = match store {
        StoreKind::Sqlite => seed::seed(dir.path(), &names).await?,
        StoreKind::Memory => seed::by_password(&names),
    };
    let mut server = ServerProcess::start(dir.path(), "127.0.0.1:0", store).await?;
    let mut conns = traffic::login_all(server.addr, &accounts).await?;

    // Each sender writes to its own receiver; receivers only read.
    let parts = |count: usize| -> anyhow::Result<Vec<Part>> {
        let mut parts = Vec::with_capacity(2 * plan.pairs);
        for r in &names[plan.pairs..] {
            parts.push(Part {
                frames: Some(Arc::new(Frames::new(r, count)?)),
                expect: 0,
            });
        }
        for _ in 0..plan.pairs {
            parts.push(Part {
                frames: None,
                expect: count as u64,
            });
        }
        Ok(parts)
    };
    // Warm-up: creates the conversations and fills the caches.
    conns = traffic::round(conns, &parts(plan.per_sender.min(200))?).await?;

    let mut values = Vec::with_capacity(runs);
    for run in 0..runs {
        let parts = parts(plan.per_sender)?;
        let profile = match perf {
            Some((dir, name)) if run == 0 => Some(Profile::start(dir, name, server.pid)?),
            _ => None,
        };
        let (cpu0, t0) = (server.cpu()?, Instant::now());
        conns = traffic::round(conns, &parts).await?;
        let (cpu1, wall) = (server.cpu()?, t0.elapsed());
        if let Some(p) = profile {
            p.stop().await?;
        }
        server.check_alive()?;
        let messages = (plan.pairs * plan.per_sender) as f64;
        let per = (cpu1 - cpu0).as_secs_f64() * 1e6 / messages;
        eprintln!(
            "  run {}: {messages} messages in {:.2} s ({:.0}/s), server CPU {:.2} s: {per:.3} µs each",
            run + 1,
            wall.as_secs_f64(),
            messages / wall.as_secs_f64(),
            (cpu1 - cpu0).as_secs_f64()
        );
        values.push(per);
    }
    drop(conns);
    server.stop().await?;
    Ok(values)
}
