//! The bottom line: connection, who you are, where you are, who is typing
//! there, who is online; and the latest notice. An error that does not fit
//! there gets lines of its own above the input
//! ([`crate::layout::status::error_lines`]), so its reason is never cut off.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::layout::status::{parts, typing};
use crate::model::{LinkState, Model};
use crate::text::{self, width};
use crate::theme::Theme;

/// The status line; `error_above` says the current error has lines of its own
/// above the input, so it is not repeated here. Who is typing shows unless an
/// error is on the line.
pub fn render(model: &Model, theme: &Theme, area: Rect, error_above: bool, frame: &mut Frame<'_>) {
    let notice = model.notice.as_ref().filter(|n| !(n.error && error_above));
    let error_here = notice.is_some_and(|n| n.error);
    let (mut parts, hint) = parts(model, area.width, !error_here);
    let typing = typing(model).filter(|_| !error_here);
    let link_style = if matches!(model.link, LinkState::Connected) {
        theme.status_ok
    } else {
        theme.status_warn
    };
    // An error shown here goes before the unread hint: its reason matters now.
    if let Some(hint) = hint.filter(|_| !error_here) {
        parts.push(hint);
    }
    let left = format!(" {} ", parts.join(" · "));
    let right = match notice {
        Some(n) => format!(" {} ", text::clean_line(&n.text)),
        None => String::new(),
    };
    let right_style = match notice {
        Some(n) if n.error => theme.status_warn,
        _ => theme.status_bar,
    };
    let total = usize::from(area.width);
    let left = text::truncate(&left, total).into_owned();
    let room = total.saturating_sub(width(&left));
    let right = text::truncate(&right, room).into_owned();
    let pad = total.saturating_sub(width(&left) + width(&right));
    let link_len = parts_first_len(&left);
    let (link_part, rest) = left.split_at(link_len.min(left.len()));
    let mut spans = vec![Span::styled(link_part.to_owned(), link_style)];
    // Who is typing in italics, as far as the line shows it.
    match typing.and_then(|t| rest.find(&t).map(|at| (at, t.len()))) {
        Some((at, len)) => {
            let (before, after) = rest.split_at(at);
            let (typing, after) = after.split_at(len);
            spans.push(Span::styled(before.to_owned(), theme.status_bar));
            spans.push(Span::styled(
                typing.to_owned(),
                theme.status_bar.add_modifier(Modifier::ITALIC),
            ));
            spans.push(Span::styled(after.to_owned(), theme.status_bar));
        }
        None => spans.push(Span::styled(rest.to_owned(), theme.status_bar)),
    }
    spans.push(Span::styled(" ".repeat(pad), theme.status_bar));
    spans.push(Span::styled(right, right_style));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.status_bar),
        area,
    );
}

/// Byte length of the connection part at the start of the left text.
fn parts_first_len(left: &str) -> usize {
    left.find(" · ").map_or(left.len(), |i| i)
}
