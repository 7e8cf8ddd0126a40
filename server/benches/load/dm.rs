//! `dm_cpu_us` and `dm_cpu_us_memory_store`: server CPU per direct message delivered, many pairs at once.

use std::path::Path;

use tempfile::TempDir;

use crate::seed::{self, Account};
use crate::server::{ServerProcess, StoreKind};
use crate::traffic;

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
    let parts = |count: usize| traffic::pairs(&names[plan.pairs..], count);
    // Warm-up: creates the conversations and fills the caches.
    conns = traffic::round(conns, &parts(plan.per_sender.min(200))?).await?;

    let mut values = Vec::with_capacity(runs);
    for run in 0..runs {
        let parts = parts(plan.per_sender)?;
        let m =
            traffic::measured_round(&mut server, conns, &parts, perf.filter(|_| run == 0)).await?;
        conns = m.conns;
        let messages = (plan.pairs * plan.per_sender) as f64;
        let per = m.cpu.as_secs_f64() * 1e6 / messages;
        eprintln!(
            "  run {}: {messages} messages in {:.2} s ({:.0}/s), server CPU {:.2} s: {per:.3} µs each",
            run + 1,
            m.wall.as_secs_f64(),
            messages / m.wall.as_secs_f64(),
            m.cpu.as_secs_f64()
        );
        values.push(per);
    }
    drop(conns);
    server.stop().await?;
    Ok(values)
}
