//! The input bar: the open conversation's draft (or the lobby's, for commands).
//! In reply or edit mode its top edge says which message the draft is for;
//! while a message is selected, the hint under it says what keys do to it.
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

use crate::layout::{self, changes::TOMBSTONE};
use crate::model::{Composing, Conversation, Focus, Model};
use crate::text;
use crate::theme::Theme;
use crate::tracker::Stage;

pub fn render(model: &Model, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let selecting = matches!(model.focus, Focus::Messages(_));
    let may_post = model.current().is_none_or(Conversation::may_post);
    let composing = model.current().and_then(|c| c.composing.as_ref());
    let hint = if selecting {
        selection_hint(model)
    } else if let Some(Composing::Reply(_)) = composing {
        "Enter send the reply · Esc cancel the reply · Alt+Enter new line".into()
    } else if let Some(Composing::Edit { .. }) = composing {
        "Enter save the edit · Esc cancel the edit · Alt+Enter new line".into()
    } else if !may_post {
        "Enter run a command · Tab complete · F1 help".into()
    } else if area.width >= 60 {
        "Enter send · Alt+Enter new line · Tab complete · F1 help".into()
    } else {
        "F1 help".into()
    };
    // A space either side, inside the corners.
    let room = usize::from(area.width).saturating_sub(4);
    let hint = format!(" {} ", text::fit_clauses(&hint, room));
    let mut block = Block::bordered()
        .title_bottom(Span::styled(hint, theme.hint))
        .border_style(if selecting {
            theme.border
        } else {
            theme.border_focused
        });
    if let Some(composing) = composing {
        block = block.title(Span::styled(composing_title(composing, room), theme.info));
    }
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

/// What the keys do on the selected message, after when it was edited:
/// only the keys that apply to it.
fn selection_hint(model: &Model) -> String {
    let (conv, entry) = match (model.current(), model.focus) {
        (Some(c), Focus::Messages(at)) => (c, c.entries.get(at)),
        _ => return "↑↓ move · Esc back".into(),
    };
    let mut items: Vec<String> = Vec::new();
    if let Some(e) = entry {
        if let Some(at) = e.edited.filter(|_| !e.deleted) {
            items.push(format!("edited {}", layout::clock(at, model.tz)));
        }
        items.push("↑↓ move".into());
        let failed = e.status.is_some_and(|s| s.stage == Stage::Failed);
        if e.mine && failed {
            items.push("r retry".into());
        } else if !e.deleted && e.quote().is_some() && conv.may_post() {
            items.push("r reply".into());
        }
        if conv.may_edit(e) {
            items.push("e edit".into());
        }
        if conv.may_delete(e) {
            items.push("d delete".into());
        }
        if conv.may_pin(e) {
            let pinned = e.seq.is_some_and(|seq| conv.pins.contains(seq));
            items.push(if pinned { "p unpin" } else { "p pin" }.into());
        }
        if e.takes_reactions() {
            items.push("+ react".into());
        }
        if e.reply.is_some() {
            items.push("g go to the quote".into());
        }
        if !conv.shown_reactions(e).is_empty() {
            items.push("w who reacted".into());
        }
        if e.mine && e.seq.is_some() && e.event.is_none() && !e.deleted {
            items.push("i who read it".into());
        }
    } else {
        items.push("↑↓ move".into());
    }
    items.push("Esc back".into());
    items.join(" · ")
}

/// ` Replying to alice: how it begins… ` or ` Editing your message `, on the
/// bar's top edge, `room` columns at most.
fn composing_title(composing: &Composing, room: usize) -> String {
    let said = match composing {
        Composing::Reply(quote) => {
            let what = if quote.deleted {
                TOMBSTONE
            } else {
                quote.text.as_str()
            };
            format!(
                "Replying to {}: {what}",
                text::clean_line(quote.from.as_str())
            )
        }
        Composing::Edit { .. } => "Editing your message".into(),
    };
    format!(" {} ", text::truncate(&said, room))
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
