//! Who has received and read one of your messages (`i` on a selected message).

use classchat_common::Conv;
use classchat_common::protocol::{Counts, MemberState};
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::model::Model;
use crate::text;
use crate::theme::Theme;

pub fn render(
    model: &Model,
    conv: &Conv,
    seq: u64,
    counts: &Counts,
    members: &[MemberState],
    theme: &Theme,
    frame: &mut Frame<'_>,
) {
    let h = u16::try_from(members.len())
        .unwrap_or(u16::MAX)
        .saturating_add(5)
        .min(22);
    let boxed = centered(frame.area(), 50, h);
    frame.render_widget(Clear, boxed);
    // Name the message by its words, not its number.
    let words = model
        .find(conv)
        .and_then(|i| {
            model.convs[i]
                .search(seq)
                .ok()
                .map(|at| &model.convs[i].entries[at])
        })
        .map(|e| text::truncate(&text::clean_line(&e.body), 28).into_owned());
    let title = match words {
        Some(words) => format!("“{words}” in {conv}"),
        None => format!("Message {seq} in {conv}"),
    };
    let block = frame_box(&title, theme, " Esc close ");
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    let ascii = model.look.ascii;
    let mut lines = vec![
        Line::from(format!(
            "delivered to {}/{} · read by {}/{}",
            counts.delivered, counts.of, counts.read, counts.of
        )),
        Line::raw(""),
    ];
    for m in members {
        let (mark, state, style) = match (m.read, m.delivered) {
            (true, _) => (if ascii { "[read]" } else { "●" }, "read", theme.online),
            (false, true) => (
                if ascii { "[++]" } else { "✓✓" },
                "received, not read yet",
                theme.list_item,
            ),
            _ => (
                if ascii { "[+]" } else { "✓" },
                "not received yet",
                theme.hint,
            ),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark:>6} "), style),
            Span::styled(
                format!("{:<16} ", text::clean_line(m.user.as_str())),
                theme.title,
            ),
            Span::styled(state, style),
        ]));
    }
    if members.is_empty() {
        lines.push(Line::styled(
            "nobody else was in the conversation",
            theme.hint,
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
