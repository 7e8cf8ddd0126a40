//! Who is online (`/who`): the names listed, sorted, and how many more are
//! online than the server listed.

use classchat_common::Username;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::frame_box;
use crate::layout::popup::{who_box, who_page};
use crate::model::Model;
use crate::text;
use crate::theme::Theme;

pub fn render(
    model: &Model,
    online: &[Username],
    total: usize,
    selected: usize,
    theme: &Theme,
    frame: &mut Frame<'_>,
) {
    let area = frame.area();
    let more = total.saturating_sub(online.len());
    let boxed = who_box(area, online.len(), more > 0);
    frame.render_widget(Clear, boxed);
    // The close key as bound, from the same table the key handler reads.
    let close = model
        .keymap
        .keys(crate::keymap::Action::Close)
        .first()
        .map_or_else(|| "Esc".to_owned(), ToString::to_string);
    let footer = format!(" ↑↓ PgUp/PgDn · Enter message · {close} close ");
    let block = frame_box(&format!("{total} online"), theme, &footer);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    if online.is_empty() {
        let none = Line::styled("nobody is online", theme.hint);
        frame.render_widget(Paragraph::new(none), inner);
        return;
    }
    let rows = who_page((area.width, area.height), online.len(), more > 0);
    let first = selected.saturating_sub(rows.saturating_sub(1));
    let dot = if model.look.ascii { "+" } else { "●" };
    let mut lines: Vec<Line<'_>> = online
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, user)| {
            let style = if i == selected {
                theme.list_selected
            } else {
                theme.list_item
            };
            let you = if model.me.as_ref() == Some(user) {
                " (you)"
            } else {
                ""
            };
            Line::from(vec![
                Span::styled(format!("{dot} "), theme.online),
                Span::styled(text::clean_line(user.as_str()).into_owned(), style),
                Span::styled(you, theme.hint),
            ])
        })
        .collect();
    if more > 0 {
        lines.resize(rows, Line::raw(""));
        lines.push(Line::styled(format!("and {more} more"), theme.hint));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
