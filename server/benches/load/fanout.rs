//! `fanout_cpu_us`: server CPU per delivery in a 100-member group.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use classchat_common::{ClientMessage, GroupName};
use tempfile::TempDir;

use crate::seed;
use crate::server::{ServerProcess, StoreKind};
use crate::traffic::{self, Frames, Part};

#[derive(Debug, Clone, Copy)]
pub struct FanoutPlan {
    pub members: usize,
    pub senders: usize,
    pub per_sender: usize,
}

const GROUP: &str = "bench";

/// CPU µs per delivery, one value per run.
pub async fn run(
    plan: FanoutPlan,
    runs: usize,
    perf: Option<(&Path, &str)>,
) -> anyhow::Result<Vec<f64>> {
    let dir = TempDir::new()?;
    let names = seed::names("m", plan.members);
    let accounts = seed::seed(dir.path(), &names).await?;
    let mut server = ServerProcess::start(dir.path(), "127.0.0.1:0", StoreKind::Sqlite).await?;
    let mut conns = traffic::login_all(server.addr, &accounts).await?;

    let group = GroupName::new(GROUP).context("the group name")?;
    let (owner, others) = conns.split_first_mut().context("no members")?;
    owner
        .ask(|req| ClientMessage::Create {
            req,
            group: group.clone(),
            members: Vec::new(),
            access: None,
            posting: None,
        })
        .await?;
    for member in others.iter_mut() {
        member
            .ask(|req| ClientMessage::Join {
                req,
                group: group.clone(),
            })
            .await?;
    }
    // Everyone reads the join events before the clock starts.
    for conn in &mut conns {
        conn.settle().await?;
    }

    let conv = format!("#{GROUP}");
    let parts = |count: usize| -> anyhow::Result<Vec<Part>> {
        (0..plan.members)
            .map(|i| {
                let sender = i < plan.senders;
                let others = (plan.senders - usize::from(sender)) * count;
                Ok(Part {
                    frames: if sender {
                        Some(Arc::new(Frames::new(&conv, count)?))
                    } else {
                        None
                    },
                    expect: others as u64,
                })
            })
            .collect()
    };
    conns = traffic::round(conns, &parts(plan.per_sender.min(100))?).await?;

    let mut values = Vec::with_capacity(runs);
    for run in 0..runs {
        let parts = parts(plan.per_sender)?;
        let m =
            traffic::measured_round(&mut server, conns, &parts, perf.filter(|_| run == 0)).await?;
        conns = m.conns;
        let messages = plan.senders * plan.per_sender;
        let deliveries = (messages * (plan.members - 1)) as f64;
        let per = m.cpu.as_secs_f64() * 1e6 / deliveries;
        eprintln!(
            "  run {}: {messages} messages, {deliveries} deliveries in {:.2} s ({:.0}/s), server CPU {:.2} s: {per:.3} µs each",
            run + 1,
            m.wall.as_secs_f64(),
            deliveries / m.wall.as_secs_f64(),
            m.cpu.as_secs_f64()
        );
        values.push(per);
    }
    drop(conns);
    server.stop().await?;
    Ok(values)
}
