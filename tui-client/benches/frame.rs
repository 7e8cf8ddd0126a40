//! How long one frame takes with a 100,000-message conversation open (target:
//! ≤ 2 ms, docs/BENCHMARKS.md). Run with `cargo bench -p classchat --bench frame`; prints
//! the median, p99 and worst of many frames, at the bottom and scrolled up.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark reports its figures on stdout"
)]

use std::time::{Duration, Instant};

use chrono::FixedOffset;
use classchat_client::keymap::Keymap;
use classchat_client::model::{Conversation, Entry, LinkState, Look, Model, Reactions, Scroll};
use classchat_client::ui;
use classchat_common::{Conv, MessageId, Timestamp, Username};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const MESSAGES: u64 = 100_000;
const FRAMES: usize = 500;

fn model(width: u16, height: u16) -> Model {
    let now = Timestamp::from_millis(1_795_000_000_000);
    let utc = FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!("0 is a valid offset"));
    let look = Look {
        ascii: false,
        color: true,
    };
    let mut model = Model::new("localhost:12345".into(), now, utc, look, Keymap::default());
    let me: Username = "alice"
        .parse()
        .unwrap_or_else(|_| unreachable!("a valid name"));
    let bob: Username = "bob"
        .parse()
        .unwrap_or_else(|_| unreachable!("a valid name"));
    model.me = Some(me.clone());
    model.size = (width, height);
    model.link = LinkState::Connected;
    let conv: Conv = Conv::User(bob.clone());
    let mut c = Conversation::new(conv);
    c.opened = true;
    c.more_older = false;
    for seq in 1..=MESSAGES {
        let mine = seq % 3 == 0;
        let body = if seq % 7 == 0 {
            format!(
                "message {seq}: a longer line that has to wrap across the pane, with 漢字 and emoji 🎉 so widths matter"
            )
        } else {
            format!("message {seq}")
        };
        c.entries.push(Entry {
            seq: Some(seq),
            id: MessageId::from_bytes(u128::from(seq).to_be_bytes()),
            from: if mine { me.clone() } else { bob.clone() },
            ts: Timestamp::from_millis(now.as_millis() - ((MESSAGES - seq) as i64) * 30_000),
            body,
            event: None,
            file: None,
            mine,
            status: None,
            failure: None,
            mentions_me: false,
            reply: None,
            edited: None,
            deleted: false,
            reactions: Reactions::default(),
        });
    }
    c.last_seq = MESSAGES;
    model.convs.push(c);
    model.selected = Some(0);
    model
}

fn measure(label: &str, model: &Model, width: u16, height: u16) -> Duration {
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(e) => panic!("cannot make a test terminal: {e}"),
    };
    let mut times = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        let start = Instant::now();
        if let Err(e) = terminal.draw(|frame| ui::view(model, frame)) {
            panic!("drawing failed: {e}");
        }
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    let p99 = times[times.len() * 99 / 100];
    println!(
        "tui_frame_ms_100k {label:<10} median {:.3} ms  p99 {:.3} ms  worst {:.3} ms  ({FRAMES} frames, {width}x{height})",
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
    median
}

fn main() {
    let (w, h) = (120, 40);
    let mut model = model(w, h);
    let bottom = measure("bottom", &model, w, h);
    model.convs[0].scroll = Scroll::At {
        seq: MESSAGES / 2,
        skip: 0,
    };
    let middle = measure("scrolled", &model, w, h);
    let worst = bottom.max(middle);
    let verdict = if worst <= Duration::from_millis(2) {
        "PASS"
    } else {
        "MISS"
    };
    println!(
        "tui_frame_ms_100k {:.3} ms target 2 ms {verdict}",
        worst.as_secs_f64() * 1e3
    );
}
