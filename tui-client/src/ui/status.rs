//! The bottom line: connection, who you are, where you are, who is online; and
//! the latest notice. An error that does not fit there gets lines of its own
//! above the input ([`crate::layout::status::error_lines`]), so its reason is
//! never cut off.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::layout::status::parts;
use crate::model::{LinkState, Model};
use crate::text::{self, width};
use crate::theme::Theme;

/// The status line; `error_above` says the current error has lines of its own
/// above the input, so it is not repeated here.
pub fn render(model: &Model, theme: &Theme, area: Rect, error_above: bool, frame: &mut Frame<'_>) {
    let (mut parts, hint) = parts(model, area.width);
    let link_style = if matches!(model.link, LinkState::Connected) {
        theme.status_ok
    } else {
        theme.status_warn
    };
    let notice = model.notice.as_ref().filter(|n| !(n.error && error_above));
    // An error shown here goes before the unread hint: its reason matters now.
    if let Some(hint) = hint.filter(|_| notice.is_none_or(|n| !n.error)) {
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
    let line = Line::from(vec![
        Span::styled(link_part.to_owned(), link_style),
        Span::styled(rest.to_owned(), theme.status_bar),
        Span::styled(" ".repeat(pad), theme.status_bar),
        Span::styled(right, right_style),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.status_bar), area);
}

/// Byte length of the connection part at the start of the left text.
fn parts_first_len(left: &str) -> usize {
    left.find(" · ").map_or(left.len(), |i| i)
}
