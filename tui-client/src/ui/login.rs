//! The login form: server, user name, password, and the password again when
//! the name has no account yet.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::popup::centered;
use crate::model::LoginForm;
use crate::text;
use crate::theme::Theme;

const LABELS: [&str; 4] = ["Server", "Name", "Password", "Again"];

/// The form's width, unless an error needs more.
const WIDTH: u16 = 60;
/// Its rows besides the fields (two each) and the status (two or more): the
/// borders, the row above the fields, the one below them, the keys.
const FRAME_ROWS: u16 = 5;
/// How wide the form may grow to show a long error (a certificate's
/// fingerprint is 95 columns, with its label 108).
const MAX_WIDTH: u16 = 112;

pub fn render(form: &LoginForm, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let status = status(form, theme);
    // An error keeps the lines it was written in, and the form widens for
    // them; anything else wraps.
    let widest = form
        .error
        .as_deref()
        .filter(|_| !form.busy)
        .map(|e| text::clean(e).lines().map(text::width).max().unwrap_or(0))
        .unwrap_or(0);
    let width = u16::try_from(widest + 4)
        .unwrap_or(u16::MAX)
        .clamp(WIDTH, MAX_WIDTH)
        .min(area.width);
    let status: Vec<Line<'_>> = status
        .into_iter()
        .flat_map(|(s, style)| {
            text::wrap(&s, usize::from(width.saturating_sub(4)))
                .into_iter()
                .map(move |l| Line::styled(l, style))
        })
        .collect();
    let fields = form.fields();
    let fields_height = 2 * u16::try_from(fields.len()).unwrap_or(u16::MAX);
    let status_height = u16::try_from(status.len().max(2)).unwrap_or(u16::MAX);
    let boxed = centered(area, width, FRAME_ROWS + fields_height + status_height);
    frame.render_widget(Clear, boxed);
    let title = if form.again {
        " ClassChat — log in again "
    } else if form.repeat.is_some() {
        " ClassChat — create an account "
    } else {
        " ClassChat — log in "
    };
    let block = Block::bordered()
        .title(Span::styled(title, theme.title))
        .border_style(theme.border_focused);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    for (i, field) in fields.into_iter().enumerate() {
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
    let top = (inner.y + 2 + fields_height).min(inner.y + inner.height);
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
    } else if form.repeat.is_some() {
        "Enter create the account · Tab next field · Esc quit"
    } else {
        "Enter next / log in · Tab next field · Esc quit"
    };
    let keys = Line::styled(keys, theme.hint);
    frame.render_widget(
        Paragraph::new(keys),
        Rect::new(inner.x + 1, keys_at, inner.width.saturating_sub(2), 1),
    );
}

/// What the form says under its fields, a paragraph per part.
fn status(form: &LoginForm, theme: &Theme) -> Vec<(String, Style)> {
    let mut parts = Vec::new();
    if let Some(creating) = form.repeat.is_some().then(|| new_account(form)) {
        parts.push((creating, theme.info));
    }
    if form.busy {
        parts.push(("connecting…".into(), theme.info));
    } else if let Some(e) = &form.error {
        // Kept as the lines it was written in: a changed certificate's error
        // puts each fingerprint on its own line.
        parts.push((text::clean(e).into_owned(), theme.error));
    } else if parts.is_empty() {
        parts.push((
            "A new name? You are asked before an account is made.".into(),
            theme.hint,
        ));
    }
    parts
}

/// The name has no account: continuing creates it.
fn new_account(form: &LoginForm) -> String {
    let least = match form.min_password {
        0 => String::new(),
        n => format!(" (at least {n} characters)"),
    };
    format!(
        "No account named {} on this server yet. Continuing creates it: type the password \
         again to confirm{least}. A typo? Change the name above.",
        text::clean_line(&form.name())
    )
}
