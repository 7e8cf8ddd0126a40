//! Text that terminals draw at widths of their own (flags, emoji with
//! selectors or skin tones, spacing marks): the screen a terminal shows after
//! frame upon frame of it is the screen ratatui believes it shows, with nothing
//! left behind on the rows around it.

use classchat_common::ServerMessage;
use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;

use crate::fixtures::terminal::{Tty, rows};
use crate::fixtures::*;
use crate::model::Model;

/// alice talking with bob, who has sent `plain-0` to `plain-11`, then `body`.
fn bob_sent(body: &str) -> Model {
    let mut model = connected_model(100, 30);
    let fx = server(
        &mut model,
        ServerMessage::Conversations {
            req: None,
            conversations: vec![summary("bob", 13, 13, 0)],
            total: 1,
        },
    );
    let mut history: Vec<_> = (0..12)
        .map(|n| chat("bob", n + 1, "bob", at(0, 10, 1), &format!("plain-{n}")))
        .collect();
    history.push(chat("bob", 13, "bob", at(0, 10, 2), body));
    answer_history(&mut model, &fx, history, false);
    model
}

fn frame(model: &Model) -> Buffer {
    draw(model).backend().buffer().clone()
}

/// The frames as bob's next messages arrive, each moving the rows up one.
fn frames_as_more_arrive(mut model: Model) -> Vec<Buffer> {
    let mut frames = vec![frame(&model)];
    for n in 12..15 {
        let m = chat("bob", n + 2, "bob", at(0, 10, 3), &format!("plain-{n}"));
        server(&mut model, ServerMessage::Message(m));
        frames.push(frame(&model));
    }
    frames
}

fn terminal_after(frames: &[Buffer]) -> Vec<String> {
    Tty::after(&frames.iter().collect::<Vec<_>>()).rows()
}

#[test]
fn a_flag_message_is_drawn_as_its_letters_and_leaves_nothing_on_the_rows_below() {
    let body = "🇺🇸 flag 🇺🇸🇺🇸";
    let frames = frames_as_more_arrive(bob_sent(body));
    let last = frames.last().expect("frames");
    assert_eq!(terminal_after(&frames), rows(last));
    let shown = rows(last).join("\n");
    assert!(shown.contains("bob: [US] flag [US][US]"), "{shown}");
    for n in 12..15 {
        let row = format!("bob: plain-{n} ");
        let line = rows(last)
            .into_iter()
            .find(|l| l.contains(&row))
            .expect("the row is on screen");
        let after = &line[line.find(&row).map_or(0, |at| at + row.len())..];
        assert!(
            after.trim_end_matches([' ', '│']).is_empty(),
            "nothing after plain-{n}: {line:?}"
        );
    }
    snapshot!(bob_sent(body));
}

#[test]
fn spacing_marks_and_emoji_of_uncertain_width_leave_nothing_behind() {
    // Past the end of the `plain-N` rows that take its place, where their
    // cells are blank.
    let body = "..................... कि ि น้ำ ❤\u{FE0F} 👍\u{1F3FD} 1\u{FE0F}\u{20E3} \u{FF76}\u{FF9E} end";
    let frames = frames_as_more_arrive(bob_sent(body));
    let last = frames.last().expect("frames");
    assert_eq!(terminal_after(&frames), rows(last));
}

#[test]
fn a_draft_with_a_flag_and_emoji_is_drawn_in_the_cells_ratatui_counts() {
    let mut model = bob_sent("hello");
    let mut frames = vec![frame(&model)];
    // Past the end of the placeholder that takes its place.
    let draft = format!("{} 🇺🇸 ❤\u{FE0F} 👍\u{1F3FD} कि ok", ".".repeat(60));
    type_text(&mut model, &draft);
    frames.push(frame(&model));
    // Sent: the input shows its placeholder again.
    press(&mut model, plain(KeyCode::Enter));
    frames.push(frame(&model));
    let last = frames.last().expect("frames");
    assert_eq!(terminal_after(&frames), rows(last));
}
