//! `drain_10k_ms`: a user comes back to 10,000 queued messages; the time until all have arrived.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use classchat_common::{ClientMessage, Conv};
use tempfile::TempDir;

use crate::client::{self, Conn, Peek};
use crate::seed;
use crate::server::{ServerProcess, StoreKind};
use crate::traffic::{self, Frames, Part};

/// Milliseconds from connect to `synced`, one value per run.
pub async fn run(queued: usize, runs: usize) -> anyhow::Result<Vec<f64>> {
    let dir = TempDir::new()?;
    let names = seed::names("d", 2);
    let accounts = seed::seed(dir.path(), &names).await?;
    let mut server = ServerProcess::start(dir.path(), "127.0.0.1:0", StoreKind::Sqlite).await?;
    let mut sender = traffic::login_all(server.addr, &accounts[..1])
        .await?
        .pop()
        .context("the sender's connection")?;
    let login = client::login_lines(&accounts[1].name, &accounts[1].proof)?;

    let mut values = Vec::with_capacity(runs);
    for run in 0..runs {
        // The receiver is offline: everything waits for it.
        let part = Part {
            frames: Some(Arc::new(Frames::new(&accounts[1].name, queued)?)),
            expect: 0,
        };
        traffic::play(&mut sender, &part).await?;

        let start = Instant::now();
        let (mut receiver, synced) = Conn::login(server.addr, &login).await?;
        let took = start.elapsed();
        if synced.messages != queued as u64 {
            bail!("{} messages waited, {queued} were sent", synced.messages);
        }
        server.check_alive()?;
        eprintln!(
            "  run {}: {queued} queued messages arrived in {:.1} ms",
            run + 1,
            took.as_secs_f64() * 1e3
        );
        values.push(took.as_secs_f64() * 1e3);

        // Acknowledge them all and leave, so the next run starts empty.
        let (conv, seq) = synced.newest.context("no newest message")?;
        let conv: Conv = conv.parse().context("a conversation name")?;
        receiver
            .send(&ClientMessage::Ack { conv, seq }.to_line())
            .await?;
        receiver.send(&ClientMessage::Bye.to_line()).await?;
        loop {
            let line = receiver.line().await?;
            if Peek::of(&line)?.check()?.kind == "bye" {
                break;
            }
        }
    }
    drop(sender);
    server.stop().await?;
    Ok(values)
}
