//! `fanout_cpu_us`: server CPU per delivery in a 100-member group (its
//! instructions, `fanout_instr`, are counted in [`crate::instructions`]).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use classchat_common::{ClientMessage, GroupName};
use tempfile::TempDir;

use crate::client::Conn;
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

/// The first connection creates the group and the others join it; everyone
/// has read the join events when this returns.
pub async fn group(conns: &mut [Conn]) -> anyhow::Result<()> {
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
    for conn in conns.iter_mut() {
        conn.settle().await?;
    }
    Ok(())
}

/// The group's round for [`traffic::round`]: the first `plan.senders`
/// members each send `count` messages, and everyone reads what the others
/// sent.
pub fn parts(plan: FanoutPlan, count: usize) -> anyhow::Result<Vec<Part>> {
    let conv = format!("#{GROUP}");
    (0..plan.members)
        .map(|i| {
            let sender = i < plan.senders;
            Ok(Part {
                frames: if sender {
                    Some(Arc::new(Frames::new(&conv, count)?))
                } else {
                    None
                },
                expect: ((plan.senders - usize::from(sender)) * count) as u64,
            })
        })
        .collect()
}

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

    group(&mut conns).await?;
    conns = traffic::round(conns, &parts(plan, plan.per_sender.min(100))?).await?;

    let mut values = Vec::with_capacity(runs);
    for run in 0..runs {
        let round = parts(plan, plan.per_sender)?;
        let m =
            traffic::measured_round(&mut server, conns, &round, perf.filter(|_| run == 0)).await?;
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
