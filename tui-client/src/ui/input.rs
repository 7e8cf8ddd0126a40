//! The input bar: the open conversation's draft (or the lobby's, for commands).
//!
//! The bar is as tall as the draft's wrapped rows ([`layout::screen_areas`]);
//! the text area wraps the draft and scrolls to keep the cursor in view. An
//! empty draft's placeholder and the hint under the bar lose whole items when
//! the bar is narrow, never the end of a word.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui_textarea::{TextArea, WrapMode};

use crate::layout;
use crate::model::{Conversation, Focus, Model};
use crate::text;
use crate::theme::Theme;

pub fn render(model: &Model, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let selecting = matches!(model.focus, Focus::Messages(_));
    let may_post = model.current().is_none_or(Conversation::may_post);
    let hint = if selecting {
        "↑↓ move · i who read it · r retry · Esc back"
    } else if !may_post {
        "Enter run a command · Tab complete · F1 help"
    } else if area.width >= 60 {
        "Enter send · Alt+Enter new line · Tab complete · F1 help"
    } else {
        "F1 help"
    };
    // A space either side, inside the corners.
    let room = usize::from(area.width).saturating_sub(4);
    let hint = format!(" {} ", text::fit_clauses(hint, room));
    let block = Block::bordered()
        .title_bottom(Span::styled(hint, theme.hint))
        .border_style(if selecting {
            theme.border
        } else {
            theme.border_focused
        });
    frame.render_widget(block, area);
    let inner = layout::inner(area);
    let input = model.input();
    let placeholder = input.placeholder_text();
    if !input.is_empty() || placeholder.is_empty() {
        frame.render_widget(input, inner);
        return cursor_past_the_edge(input, inner, frame);
    }
    // The text area would cut its placeholder at the edge; drawn here the way
    // it draws it (the cursor, then the text), it is cut at a clause.
    let room = usize::from(inner.width).saturating_sub(1);
    let fitted = text::fit_clauses(placeholder, room);
    let mut shown = input.placeholder().clone();
    shown.lines = vec![Line::from(vec![
        Span::styled(" ", input.cursor_style()),
        Span::raw(fitted),
    ])];
    frame.render_widget(Paragraph::new(shown), inner);
}

/// The text area draws its cursor in the cell after the text: when the text
/// fills its row exactly, that cell is past the edge and the cursor is cut off
/// until the next key. Shown on the row's last cell instead, as a terminal
/// shows its own cursor at the end of a full line.
fn cursor_past_the_edge(input: &TextArea<'_>, inner: Rect, frame: &mut Frame<'_>) {
    let cursor = input.screen_cursor();
    let Some(last) = inner.width.checked_sub(1) else {
        return;
    };
    if input.wrap_mode() == WrapMode::None || cursor.col <= usize::from(last) {
        return;
    }
    let row = cursor
        .row
        .checked_sub(usize::from(input.scroll_offset().0))
        .and_then(|r| u16::try_from(r).ok())
        .filter(|&r| r < inner.height);
    if let Some(row) = row
        && let Some(cell) = frame.buffer_mut().cell_mut((inner.x + last, inner.y + row))
    {
        cell.set_style(input.cursor_style());
    }
}
