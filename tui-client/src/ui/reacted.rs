//! Who reacted to a message, and how (`w` on a selected message): each kind
//! with how many gave it, then who did, in the order they did; `↑`/`↓`
//! scroll a long list.

use classchat_common::Conv;
use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::popup::frame_box;
use crate::layout::inner;
use crate::layout::reactions::{self, who_shown};
use crate::model::Model;
use crate::text;
use crate::theme::Theme;

pub fn render(
    model: &Model,
    conv: &Conv,
    seq: u64,
    scroll: u16,
    theme: &Theme,
    frame: &mut Frame<'_>,
) {
    let area = frame.area();
    let (lines, boxed) = who_shown(model, theme, (area.width, area.height));
    frame.render_widget(Clear, boxed);
    // Name the message by its words, not its number.
    let room = usize::from(boxed.width).saturating_sub(4);
    let title = match reactions::message(model, conv, seq) {
        Some((_, e)) => reactions::title("Reactions to ", e, room),
        None => "Reactions".to_owned(),
    };
    let rows = usize::from(inner(boxed).height);
    let keys = if lines.len() > rows {
        "↑↓ scroll · Esc close"
    } else {
        "Esc close"
    };
    let footer = format!(" {} ", text::fit_clauses(keys, room));
    let block = frame_box(&title, theme, &footer);
    let inside = block.inner(boxed);
    frame.render_widget(block, boxed);
    if lines.is_empty() {
        let none = Line::styled("Nobody has reacted to it (any more).", theme.hint);
        frame.render_widget(Paragraph::new(none), inside);
        return;
    }
    let limit = lines.len().saturating_sub(rows);
    let scroll = u16::try_from(usize::from(scroll).min(limit)).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inside);
}
