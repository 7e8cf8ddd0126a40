//! The `/pins` popup: a group's pinned messages in the order pinned, one row
//! each (when, who, how it begins), cut at the popup's edge; Enter goes to the
//! chosen one in the conversation.

use classchat_common::{Conv, GroupName};
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, fit, frame_box};
use crate::layout::changes::TOMBSTONE;
use crate::layout::pins::{self, Said};
use crate::model::Model;
use crate::text::{self, width};
use crate::theme::Theme;

/// The popup's size at most.
const SIZE: (u16, u16) = (72, 20);

pub fn render(
    model: &Model,
    group: &GroupName,
    selected: usize,
    theme: &Theme,
    frame: &mut Frame<'_>,
) {
    let conv = model
        .find(&Conv::Group(group.clone()))
        .map(|i| &model.convs[i]);
    let rows = conv.map_or_else(Vec::new, |c| pins::rows(c, model.look, model.now, model.tz));
    let h = u16::try_from(rows.len().max(2))
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(SIZE.1);
    let boxed = centered(frame.area(), SIZE.0, h);
    frame.render_widget(Clear, boxed);
    let name = text::clean_line(group.as_str());
    let title = format!("Pinned in #{name} · {}", rows.len());
    let keys = "Enter go to it · Esc close";
    let footer = format!(
        " {} ",
        text::fit_clauses(keys, usize::from(boxed.width).saturating_sub(4))
    );
    let block = frame_box(&title, theme, &footer);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    if rows.is_empty() {
        let none = vec![
            Line::styled("No pinned messages.", theme.info),
            Line::styled(
                "The owner and moderators pin one with p on a selected message.",
                theme.hint,
            ),
        ];
        let none = none
            .into_iter()
            .map(|l| fit(l, usize::from(inner.width)))
            .collect::<Vec<_>>();
        frame.render_widget(Paragraph::new(none), inner);
        return;
    }
    let when_cols = rows
        .iter()
        .filter_map(|r| r.when.as_deref().map(width))
        .max()
        .unwrap_or(0);
    let shown = usize::from(inner.height);
    let first = selected.saturating_sub(shown.saturating_sub(1));
    let lines: Vec<Line<'_>> = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(shown)
        .map(|(i, row)| {
            let chosen = i == selected;
            let pick = |style| if chosen { theme.list_selected } else { style };
            let when = row.when.as_deref().unwrap_or_default();
            let mut spans = vec![Span::styled(
                format!("{when:<when_cols$} "),
                pick(theme.time),
            )];
            if let Some(from) = &row.from {
                spans.push(Span::styled(format!("{from}: "), pick(theme.name(from))));
            }
            let (said, style) = match &row.said {
                Said::Text(t) => (t.clone(), theme.body),
                Said::Deleted => (TOMBSTONE.to_owned(), theme.tombstone),
                Said::Loading => (format!("message {} loading…", row.seq), theme.hint),
                Said::Missing => (
                    format!("message {} is no longer in the history", row.seq),
                    theme.hint,
                ),
            };
            spans.push(Span::styled(said, pick(style)));
            let line = fit(Line::from(spans), usize::from(inner.width));
            if chosen {
                line.style(theme.list_selected)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
