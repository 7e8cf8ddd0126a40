//! The reaction picker (`+` on a selected message): the usual reactions
//! numbered 1 to 8, then the other kinds the message has; each with how many
//! gave it, and `you` on those you gave, which picking takes back.

use classchat_common::Conv;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::frame_box;
use crate::layout::reactions::{self, Choice, PICKER_KIND_COLS, picker_box, picker_choices};
use crate::model::Model;
use crate::text::{self, width};
use crate::theme::Theme;

pub fn render(
    model: &Model,
    conv: &Conv,
    seq: u64,
    selected: usize,
    theme: &Theme,
    frame: &mut Frame<'_>,
) {
    let message = reactions::message(model, conv, seq);
    let rows = picker_choices(model, conv, seq);
    let boxed = picker_box(frame.area(), rows.len());
    frame.render_widget(Clear, boxed);
    // Whose message, and how it begins: the picker may cover it.
    let room = usize::from(boxed.width).saturating_sub(4);
    let title = match message {
        Some((_, e)) if e.mine => reactions::title("React to your ", e, room),
        Some((_, e)) => {
            let lead = format!("React to {}: ", text::clean_line(e.from.as_str()));
            reactions::title(&lead, e, room)
        }
        None => "React".to_owned(),
    };
    let footer = format!(" {} ", text::fit_clauses("1–8 pick · Esc close", room));
    let block = frame_box(&title, theme, &footer);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    let emoji_cols = rows
        .iter()
        .map(|r| width(&r.shown))
        .max()
        .unwrap_or(2)
        .min(PICKER_KIND_COLS);
    let shown = usize::from(inner.height).max(1);
    let first = selected.saturating_sub(shown - 1);
    let lines: Vec<Line<'_>> = rows
        .iter()
        .enumerate()
        .skip(first)
        .take(shown)
        .map(|(i, row)| {
            let line = row_line(row, emoji_cols, usize::from(inner.width), theme);
            if i == selected {
                let spans = line
                    .spans
                    .into_iter()
                    .map(|s| {
                        let style = s.style.patch(theme.list_selected);
                        s.style(style)
                    })
                    .collect::<Vec<_>>();
                Line::from(spans).style(theme.list_selected)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// ` 1  👍  2 · you`, padded to `cols` so that a highlight is a whole band.
fn row_line(row: &Choice, emoji_cols: usize, cols: usize, theme: &Theme) -> Line<'static> {
    let key = row.key.unwrap_or(' ');
    let emoji_style = if row.mine {
        theme.reaction_mine
    } else {
        theme.body
    };
    let emoji = text::truncate(&row.shown, emoji_cols).into_owned();
    let pad = emoji_cols.saturating_sub(width(&emoji));
    let mut spans = vec![
        Span::styled(format!(" {key}  "), theme.info),
        Span::styled(format!("{emoji}{}", " ".repeat(pad)), emoji_style),
    ];
    let count = (row.count > 0).then(|| format!("  {}", row.count));
    let said = [count.as_deref(), row.mine.then_some(" · you")]
        .into_iter()
        .flatten()
        .collect::<String>();
    if !said.is_empty() {
        let style = if row.mine {
            theme.reaction_mine
        } else {
            theme.hint
        };
        spans.push(Span::styled(said, style));
    }
    let used: usize = spans.iter().map(|s| width(&s.content)).sum();
    spans.push(Span::raw(" ".repeat(cols.saturating_sub(used))));
    Line::from(spans)
}
