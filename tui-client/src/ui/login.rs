//! The login form: server, user name, password.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::popup::centered;
use crate::model::LoginForm;
use crate::text;
use crate::theme::Theme;

const LABELS: [&str; 3] = ["Server", "Name", "Password"];

/// The form's size without an error: three fields, the status and the keys.
const WIDTH: u16 = 60;
const HEIGHT: u16 = 11;
/// How wide the form may grow to show a long error (a certificate's
/// fingerprint is 95 columns, with its label 108).
const MAX_WIDTH: u16 = 112;

pub fn render(form: &LoginForm, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let (status, style) = if form.busy {
        ("connecting…".into(), theme.info)
    } else if let Some(e) = &form.error {
        // Kept as the lines it was written in: a changed certificate's error
        // puts each fingerprint on its own line.
        (text::clean(e), theme.error)
    } else {
        (
            "A new name creates an account with this password.".into(),
            theme.hint,
        )
    };
    let widest = status.lines().map(text::width).max().unwrap_or(0);
    let width = u16::try_from(widest + 4)
        .unwrap_or(u16::MAX)
        .clamp(WIDTH, MAX_WIDTH)
        .min(area.width);
    let status: Vec<Line<'_>> = text::wrap(&status, usize::from(width.saturating_sub(4)))
        .into_iter()
        .map(|l| Line::styled(l, style))
        .collect();
    let status_height = u16::try_from(status.len().max(2)).unwrap_or(u16::MAX);
    let boxed = centered(area, width, HEIGHT + status_height);
    frame.render_widget(Clear, boxed);
    let title = if form.again {
        " ClassChat — log in again "
    } else {
        " ClassChat — log in "
    };
    let block = Block::bordered()
        .title(Span::styled(title, theme.title))
        .border_style(theme.border_focused);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    for (i, field) in form.fields().into_iter().enumerate() {
        let y = inner.y + 1 + 2 * i as u16;
        if y >= inner.y + inner.height {
            break;
        }
        let focused = form.field == i;
        let label = format!("{:>9} ", LABELS[i]);
        let label_style = if focused { theme.title } else { theme.hint };
        frame.render_widget(
            Paragraph::new(Span::styled(label, label_style)),
            Rect::new(inner.x, y, 10, 1),
        );
        let value = Rect::new(inner.x + 10, y, inner.width.saturating_sub(11), 1);
        frame.render_widget(field, value);
    }
    // Below the fields, above the keys: as much of the status as fits.
    let top = (inner.y + 8).min(inner.y + inner.height);
    let keys_at = (inner.y + inner.height).saturating_sub(1).max(top);
    frame.render_widget(
        Paragraph::new(status),
        Rect::new(
            inner.x + 1,
            top,
            inner.width.saturating_sub(2),
            keys_at.saturating_sub(top),
        ),
    );
    let keys = if form.again {
        "Enter log in · Esc quit"
    } else {
        "Enter next / log in · Tab next field · Esc quit"
    };
    let keys = Line::styled(keys, theme.hint);
    frame.render_widget(
        Paragraph::new(keys),
        Rect::new(inner.x + 1, keys_at, inner.width.saturating_sub(2), 1),
    );
}
