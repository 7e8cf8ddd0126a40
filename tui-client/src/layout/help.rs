//! The help text, generated from the key table and the command table, and how
//! far it scrolls: the key handler stops scrolling where the view shows the
//! last line, so both count the lines here.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::popup::help_inner;
use crate::commands::COMMANDS;
use crate::model::Model;
use crate::text::{self, width};
use crate::theme::Theme;

/// The keys on a selected message (`select_messages` starts selecting).
const SELECTION_KEYS: &[(&str, &str)] = &[
    ("↑↓ Esc", "on a selected message: move, back to the input"),
    (
        "r",
        "reply to it, quoting it (a failed one of yours: send it again); Esc cancels",
    ),
    (
        "e",
        "edit your message; Esc gives back what you were typing",
    ),
    (
        "d, Delete",
        "delete it for everyone (yours, or any in a group you own or moderate); asks first",
    ),
    (
        "p",
        "pin it, or unpin it (the owner and moderators of a group); /pins lists them",
    ),
    (
        "+",
        "react to it: 1–8 or Enter picks a reaction, one you gave already is taken back",
    ),
    ("w", "who reacted to it, and how"),
    (
        "g",
        "go to the message a reply quotes, loading older history (Enter too, on a reply)",
    ),
    ("i", "who has received and read your message (Enter too)"),
];

/// How far the help can scroll on a screen of `size`: until its last line shows.
pub fn help_scroll_limit(model: &Model, size: (u16, u16)) -> u16 {
    let inside = help_inner(Rect::new(0, 0, size.0, size.1));
    let lines = help_lines(model, &Theme::new(false), usize::from(inside.width)).len();
    u16::try_from(lines.saturating_sub(usize::from(inside.height))).unwrap_or(u16::MAX)
}

/// The help text, generated from the key table and the command table.
pub fn help_lines(model: &Model, theme: &Theme, width_cols: usize) -> Vec<Line<'static>> {
    let rows = model.keymap.help_rows();
    let editing = model.keymap.editing_rows();
    let key_width = rows
        .iter()
        .chain(&editing)
        .map(|(k, _)| width(k))
        .max()
        .unwrap_or(10)
        .min(28);
    let mut lines = vec![Line::styled("Keys", theme.title)];
    for (keys, what) in &rows {
        lines.extend(row(keys, key_width, what, theme.info, width_cols));
    }
    for (keys, what) in SELECTION_KEYS {
        lines.extend(row(keys, key_width, what, theme.info, width_cols));
    }
    let mouse = "click a conversation to open it; the wheel scrolls";
    lines.extend(row("mouse", key_width, mouse, theme.info, width_cols));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "In any text field (the message, forms, filters, save as)",
        theme.title,
    ));
    for (keys, what) in &editing {
        lines.extend(row(keys, key_width, what, theme.info, width_cols));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Commands (Tab completes; // sends a line starting with /)",
        theme.title,
    ));
    let usage_width = COMMANDS
        .iter()
        .map(|s| width(s.usage))
        .max()
        .unwrap_or(10)
        .min(28);
    for spec in COMMANDS {
        lines.extend(row(
            spec.usage,
            usage_width,
            spec.summary,
            theme.info,
            width_cols,
        ));
    }
    lines.push(Line::raw(""));
    let legend = if model.look.ascii {
        "Your messages: [..] sending · [+] stored · [++] delivered · [read] read · [failed] (groups: [++ 2/3])"
    } else {
        "Your messages: ◌ sending · ✓ stored · ✓✓ delivered · ● read · ✗ failed (groups: ✓✓ 2/3)"
    };
    for part in text::wrap(legend, width_cols.max(10)) {
        lines.push(Line::styled(part, theme.hint));
    }
    lines
}

/// A two-column help row; the right column wraps under itself. A left
/// column wider than `w` has a line of its own, and the right column starts
/// under it, so it keeps its width.
fn row(left: &str, w: usize, right: &str, style: Style, total: usize) -> Vec<Line<'static>> {
    let lead = w + 4;
    let parts = text::wrap(right, total.saturating_sub(lead).max(10));
    let own_line = width(left) > w;
    let first = own_line.then(|| Line::styled(format!("  {left}"), style));
    let rows = parts.into_iter().enumerate().map(|(n, part)| {
        let left_cell = if n == 0 && !own_line {
            format!("  {left}{}  ", " ".repeat(w - width(left)))
        } else {
            " ".repeat(lead)
        };
        Line::from(vec![Span::styled(left_cell, style), Span::raw(part)])
    });
    first.into_iter().chain(rows).collect()
}
