//! How replies, edits and deletions look in a conversation: the quote on a
//! reply's first line, above its text; the tombstone of a deleted message;
//! and the word after an edited one (or one of yours on its way).

use classchat_common::limits::QUOTE_CHARS;
use classchat_common::protocol::Quote;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{Ctx, TIME_WIDTH};
use crate::model::{Change, Conversation, Entry};
use crate::text;

/// What a deleted message shows in place of its text.
pub const TOMBSTONE: &str = "message deleted";

/// A reply's first line: `10:02 bob: ↳ carol: how the quoted message begins…`
/// (`who` is the author's name as the line shows it), cut at the pane's edge.
/// The reply's text goes under it.
pub fn quote_line(time: &str, who: Span<'static>, quote: &Quote, ctx: &Ctx<'_>) -> Line<'static> {
    let arrow = if ctx.look.ascii { ">" } else { "↳" };
    let from = text::clean_line(quote.from.as_str());
    let (said, style) = if quote.deleted {
        (TOMBSTONE.to_owned(), ctx.theme.tombstone)
    } else if quote.text.chars().count() >= QUOTE_CHARS {
        // The server sends the start of a longer text.
        (format!("{}…", quote.text), ctx.theme.quote)
    } else {
        (quote.text.clone(), ctx.theme.quote)
    };
    let room = ctx
        .width
        .saturating_sub(TIME_WIDTH + text::width(&who.content) + 1)
        .max(1);
    let shown = text::truncate(&format!("{arrow} {from}: {said}"), room).into_owned();
    Line::from(vec![
        Span::styled(format!("{time} "), ctx.theme.time),
        who,
        Span::raw(" "),
        Span::styled(shown, style),
    ])
}

/// The word after a message's text: `(edited)`, or for one of yours whose
/// edit or deletion is on its way, `(editing…)` or `(deleting…)`.
pub fn revision(conv: &Conversation, e: &Entry) -> Option<&'static str> {
    if e.deleted {
        return None;
    }
    let pending = e.seq.and_then(|seq| conv.pending_change(seq));
    match pending {
        Some(Change::Edit { .. }) => Some("(editing…)"),
        Some(Change::Delete { .. }) => Some("(deleting…)"),
        Some(Change::React { .. } | Change::Unreact { .. }) | None => e.edited.map(|_| "(edited)"),
    }
}

/// Gives the end of the line's last span, `suffix`, a style of its own (the
/// word after an edited message, wrapped with its text).
pub fn style_suffix(line: &mut Vec<Span<'static>>, suffix: &str, style: Style) {
    let Some(last) = line.last_mut() else { return };
    let Some(head) = last.content.strip_suffix(suffix) else {
        return;
    };
    let head = head.to_owned();
    let body = last.style;
    *last = Span::styled(head, body);
    line.push(Span::styled(suffix.to_owned(), style));
}
