//! The login form: server, user name, password.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::popup::centered;
use crate::model::LoginForm;
use crate::theme::Theme;

const LABELS: [&str; 3] = ["Server", "Name", "Password"];

pub fn render(form: &LoginForm, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let boxed = centered(area, 60, 13);
    frame.render_widget(Clear, boxed);
    let block = Block::bordered()
        .title(Span::styled(" ClassChat — log in ", theme.title))
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
    let status = if form.busy {
        Line::styled("connecting…", theme.info)
    } else if let Some(e) = &form.error {
        Line::styled(crate::text::clean_line(e).into_owned(), theme.error)
    } else {
        Line::styled(
            "A new name creates an account with this password.",
            theme.hint,
        )
    };
    let bottom = inner.y + inner.height.saturating_sub(3);
    // Two lines, wrapped: the reason is at the end of a long error.
    frame.render_widget(
        Paragraph::new(status).wrap(Wrap { trim: true }),
        Rect::new(inner.x + 1, bottom, inner.width.saturating_sub(2), 2),
    );
    let keys = Line::styled(
        "Enter next / log in · Tab next field · Esc quit",
        theme.hint,
    );
    frame.render_widget(
        Paragraph::new(keys),
        Rect::new(inner.x + 1, bottom + 2, inner.width.saturating_sub(2), 1),
    );
}
