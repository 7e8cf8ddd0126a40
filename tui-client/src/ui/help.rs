//! The help popup: every key and command, from the tables the handlers read
//! (the lines are made in `layout/help.rs`, which also says how far they scroll).

use ratatui::Frame;
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::layout::help::help_lines;
use crate::layout::popup::HELP_SIZE;
use crate::model::Model;
use crate::theme::Theme;

pub fn render(model: &Model, scroll: u16, theme: &Theme, frame: &mut Frame<'_>) {
    let area = frame.area();
    let boxed = centered(area, HELP_SIZE.0, HELP_SIZE.1);
    frame.render_widget(Clear, boxed);
    let block = frame_box("Help", theme, " ↑↓ PgUp PgDn scroll · Esc close ");
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    let lines = help_lines(model, theme, usize::from(inner.width));
    // Never scroll past the last line.
    let most = lines.len().saturating_sub(usize::from(inner.height));
    let scroll = usize::from(scroll).min(most) as u16;
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}
