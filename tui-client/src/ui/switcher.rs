//! The switcher (`Ctrl+K`): the query typed, and what it matches (the list is
//! made in `model/switcher.rs`, which the key handler reads too).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::model::switcher::{self, Item};
use crate::model::{Field, Model};
use crate::text;
use crate::theme::Theme;

pub fn render(model: &Model, query: &Field, selected: usize, theme: &Theme, frame: &mut Frame<'_>) {
    let boxed = centered(frame.area(), 56, 16);
    frame.render_widget(Clear, boxed);
    let block = frame_box("Go to", theme, " ↑↓ choose · Enter go · Esc close ");
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    frame.render_widget(
        Paragraph::new(Span::styled("> ", theme.title)),
        Rect::new(inner.x, inner.y, 2, 1),
    );
    frame.render_widget(
        query,
        Rect::new(inner.x + 2, inner.y, inner.width.saturating_sub(2), 1),
    );
    let items = switcher::items(model, &query.text());
    let rows = usize::from(inner.height.saturating_sub(2));
    let chosen = selected.min(items.len().saturating_sub(1));
    let first = chosen.saturating_sub(rows.saturating_sub(1));
    let lines: Vec<Line<'_>> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, item)| {
            let label = text::clean_line(&item.label()).into_owned();
            let kind = match item {
                Item::Conv(c) if model.find(c).is_some() => "",
                Item::Conv(c) if c.is_group() => "  join",
                Item::Conv(_) => "  new",
                Item::Command(_) => "  command",
            };
            let style = if i == chosen {
                theme.list_selected
            } else {
                theme.list_item
            };
            Line::from(vec![
                Span::styled(label, style),
                Span::styled(kind, theme.hint),
            ])
        })
        .collect();
    let list = Rect::new(
        inner.x,
        inner.y + 2,
        inner.width,
        inner.height.saturating_sub(2),
    );
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("nothing matches", theme.hint)),
            list,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), list);
    }
}
