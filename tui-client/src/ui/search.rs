//! The search popup (`/search`, `Ctrl+F`): the words typed, then the
//! messages found, newest first, one row each (when, where, who, and the
//! text with the searched words marked), cut at the popup's edge; or what
//! it is doing: waiting for words, searching, or nothing found.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{fit, frame_box};
use crate::keymap::Action;
use crate::layout::search::{self, Columns, HEAD_ROWS};
use crate::model::{Model, Search};
use crate::text;
use crate::theme::Theme;

pub fn render(model: &Model, s: &Search, theme: &Theme, frame: &mut Frame<'_>) {
    let area = frame.area();
    let boxed = search::popup_box(area, s);
    frame.render_widget(Clear, boxed);
    let cols = usize::from(boxed.width).saturating_sub(4);
    // The close key as bound, from the same table the key handler reads.
    let close = model
        .keymap
        .keys(Action::Close)
        .first()
        .map_or_else(|| "Esc".to_owned(), ToString::to_string);
    let keys = if s.edited() || s.found.is_empty() {
        format!("Enter search · {close} close")
    } else {
        format!("↑↓ PgUp/PgDn · Enter go to it · {close} close")
    };
    let footer = format!(" {} ", text::fit_clauses(&keys, cols));
    let title = search::title(s);
    let block = frame_box(&text::truncate(&title, cols), theme, &footer);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    frame.render_widget(
        Paragraph::new(Span::styled("> ", theme.title)),
        Rect::new(inner.x, inner.y, 2.min(inner.width), 1.min(inner.height)),
    );
    frame.render_widget(
        &s.query,
        Rect::new(
            inner.x.saturating_add(2),
            inner.y,
            inner.width.saturating_sub(2),
            1.min(inner.height),
        ),
    );
    let list = Rect::new(
        inner.x,
        inner.y.saturating_add(HEAD_ROWS),
        inner.width,
        inner.height.saturating_sub(HEAD_ROWS),
    );
    let width = usize::from(list.width);
    let said = |line: &str, style| -> Vec<Line<'_>> {
        text::wrap(line, width.max(1))
            .into_iter()
            .map(|l| fit(Line::styled(l, style), width))
            .collect()
    };
    let lines = match &s.words {
        None => said(
            "Type words, then Enter: the messages with all of them, newest first.",
            theme.hint,
        ),
        Some(_) if s.found.is_empty() && s.waiting.is_some() => said("searching…", theme.hint),
        Some(words) if s.found.is_empty() => {
            let within = s
                .within
                .as_ref()
                .map(|c| format!(" in {}", text::clean_line(&c.to_string())))
                .unwrap_or_default();
            let words = text::clean_line(words.as_str());
            said(
                &format!("nothing found for \"{words}\"{within}"),
                theme.info,
            )
        }
        Some(words) => {
            let shown = search::page((area.width, area.height), s);
            let mut lines = rows(model, s, &words.terms(), shown, width, theme);
            let more = if s.waiting.is_some() {
                Some("searching for more…")
            } else {
                s.next.as_ref().map(|_| "↓ more")
            };
            lines.extend(more.map(|m| fit(Line::styled(m, theme.hint), width)));
            lines
        }
    };
    frame.render_widget(Paragraph::new(lines), list);
}

/// The `shown` rows around the chosen one, `width` columns each.
fn rows<'a>(
    model: &Model,
    s: &'a Search,
    terms: &[String],
    shown: usize,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let columns = Columns::of(&s.found, model.now, model.tz);
    let first = s.selected.saturating_sub(shown.saturating_sub(1));
    s.found
        .iter()
        .enumerate()
        .skip(first)
        .take(shown)
        .map(|(i, m)| {
            let row = search::row(m, terms, columns, model.now, model.tz, width);
            let chosen = i == s.selected;
            let pick = |style| if chosen { theme.list_selected } else { style };
            let mark = if chosen {
                theme.list_selected.add_modifier(Modifier::UNDERLINED)
            } else {
                theme.found
            };
            let mut spans = vec![
                Span::styled(row.when, pick(theme.time)),
                Span::styled(row.conv, pick(theme.info)),
                Span::styled(
                    row.from.clone(),
                    pick(theme.name(row.from.trim_end_matches(": "))),
                ),
            ];
            spans.extend(row.said.into_iter().map(|(piece, found)| {
                Span::styled(piece, if found { mark } else { pick(theme.body) })
            }));
            let line = fit(Line::from(spans), width);
            if chosen {
                line.style(theme.list_selected)
            } else {
                line
            }
        })
        .collect()
}
