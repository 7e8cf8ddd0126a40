//! The `/passwd` form: three masked fields, the shortest password the server
//! takes, what went wrong, the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::model::PasswordChange;
use crate::text;
use crate::theme::Theme;

const LABELS: [&str; 3] = ["Now", "New", "New again"];

pub fn render(form: &PasswordChange, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let boxed = centered(area, 60, 12);
    frame.render_widget(Clear, boxed);
    let block = frame_box(
        "Change your password",
        theme,
        " Tab next · Enter change · Esc cancel ",
    );
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    for (i, field) in form.fields.iter().enumerate() {
        let y = inner.y + 1 + 2 * i as u16;
        if y >= inner.y + inner.height {
            break;
        }
        let style = if form.field == i {
            theme.title
        } else {
            theme.hint
        };
        frame.render_widget(
            Paragraph::new(Span::styled(format!("{:>10} ", LABELS[i]), style)),
            Rect::new(inner.x, y, 11, 1),
        );
        frame.render_widget(
            field,
            Rect::new(inner.x + 11, y, inner.width.saturating_sub(12), 1),
        );
    }
    let (status, style) = match (&form.error, form.busy) {
        (_, true) => ("changing…".to_owned(), theme.info),
        (Some(e), false) => (text::clean_line(e).into_owned(), theme.error),
        (None, false) if form.min_password > 0 => (
            format!(
                "At least {} characters. Your other logins will ask for the new one.",
                form.min_password
            ),
            theme.hint,
        ),
        (None, false) => (
            "Your other logins will ask for the new one.".to_owned(),
            theme.hint,
        ),
    };
    let y = inner.y + 7;
    if y < inner.y + inner.height {
        let width = usize::from(inner.width.saturating_sub(2));
        let lines: Vec<Line<'_>> = text::wrap(&status, width)
            .into_iter()
            .map(|l| Line::styled(l, style))
            .collect();
        let height = (inner.y + inner.height).saturating_sub(y);
        frame.render_widget(
            Paragraph::new(lines),
            Rect::new(inner.x + 1, y, inner.width.saturating_sub(2), height),
        );
    }
}
