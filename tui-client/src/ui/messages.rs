//! The open conversation: its title, the lines the layout says are on screen,
//! and on its bottom edge how many new messages wait below them.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::keymap::Action;
use crate::layout::{self, Ctx, ago};
use crate::model::{Conversation, Focus, Model, Scroll};
use crate::text;
use crate::theme::Theme;
use classchat_common::Conv;
use classchat_common::protocol::Posting;

pub fn render(model: &Model, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let inner = layout::inner(area);
    let Some(conv) = model.current() else {
        let block = Block::bordered().border_style(theme.border);
        frame.render_widget(block, area);
        let welcome = vec![
            Line::styled("No conversation is open.", theme.title),
            Line::raw(""),
            Line::raw("  /msg <user> <text>   start a conversation"),
            Line::raw("  /groups              see the groups, Enter to join one"),
            Line::raw("  /create <group>      make a group of your own"),
            Line::raw("  Ctrl+K               find a person, group or command"),
            Line::raw("  F1                   every key and command"),
        ];
        frame.render_widget(Paragraph::new(welcome).wrap(Wrap { trim: false }), inner);
        return;
    };
    let muted = if model.muted.contains(&conv.conv) {
        " muted "
    } else {
        ""
    };
    let title = match &conv.conv {
        Conv::Group(g) => {
            let mut t = vec![format!("#{}", text::clean_line(g.as_str()))];
            if conv.posting == Some(Posting::Moderators) {
                t.push("announcements".to_owned());
            }
            t.extend(layout::pins::marker(conv.pins.len(), model.look));
            if let Some(n) = conv.members {
                t.push(format!("{n} member{}", if n == 1 { "" } else { "s" }));
            }
            if let Some(owner) = &conv.owner {
                t.push(format!("owner {}", text::clean_line(owner.as_str())));
            }
            // Inside the corners, a space either side and the mute mark:
            // what does not fit goes a whole item at a time, owner first,
            // then the member count, then the pins.
            let room = usize::from(area.width).saturating_sub(4 + muted.len());
            format!(" {} ", text::fit_clauses(&t.join(" · "), room))
        }
        Conv::User(u) => {
            let presence = match (conv.online, conv.last_seen) {
                (Some(true), _) if model.presence_is_live() => "online".to_owned(),
                (Some(true), _) => String::new(),
                (_, Some(seen)) => format!("last seen {}", ago(seen, model.now)),
                _ => String::new(),
            };
            let name = text::clean_line(u.as_str());
            if presence.is_empty() {
                format!(" {name} ")
            } else {
                format!(" {name} · {presence} ")
            }
        }
    };
    let focused = matches!(model.focus, Focus::Messages(_));
    let mut block = Block::bordered()
        .title(Span::styled(title, theme.title))
        .title(Span::styled(muted, theme.hint))
        .border_style(if focused {
            theme.border_focused
        } else {
            theme.border
        });
    if let Some(below) = new_below(model, conv, theme) {
        block = block.title_bottom(below);
    }
    frame.render_widget(block, area);

    let ctx = Ctx::new(model, theme, &conv.conv, inner.width);
    let selected = match model.focus {
        Focus::Messages(i) => Some(i),
        Focus::Input => None,
    };
    let height = usize::from(inner.height);
    let shown = layout::visible(conv, &ctx, height, selected);
    let mut lines = shown.lines;
    if conv.entries.is_empty() {
        let note = if conv.loading {
            "loading…"
        } else {
            "No messages yet. Say hello!"
        };
        lines = vec![Line::styled(note, theme.hint)];
    } else if conv.loading && shown.reached_top {
        // Older history is on its way: say so in place of the top line.
        if lines.len() >= height && !lines.is_empty() {
            lines.remove(0);
        }
        lines.insert(0, Line::styled("loading older messages…", theme.hint));
    } else if !conv.more_older && shown.reached_top && lines.len() < height {
        lines.insert(
            0,
            Line::styled("· beginning of the conversation ·", theme.hint),
        );
    }
    // Short conversations sit at the bottom, next to the input, like any chat.
    let pad = height.saturating_sub(lines.len());
    let mut all = vec![Line::raw(""); pad];
    all.extend(lines);
    frame.render_widget(Paragraph::new(all), inner);
}

/// `↓ 3 new below (PgDn)`, right on the pane's bottom edge, while the pane is
/// scrolled up and messages from others wait unread below the screen. It sits
/// on the border, not on a line of the pane, so what is on screen (and so
/// what counts as read) stays exactly what the layout says.
fn new_below(model: &Model, conv: &Conversation, theme: &Theme) -> Option<Line<'static>> {
    if conv.scroll == Scroll::Bottom {
        return None;
    }
    let (lowest, _) = layout::anchor(conv, conv.scroll)?;
    let count = conv.unread_after(lowest);
    if count == 0 {
        return None;
    }
    let arrow = if model.look.ascii { "v" } else { "↓" };
    let key = model
        .keymap
        .keys(Action::PageDown)
        .first()
        .map(|k| format!(" ({k})"))
        .unwrap_or_default();
    Some(
        Line::styled(
            format!(" {arrow} {count} new below{key} "),
            theme.new_marker,
        )
        .right_aligned(),
    )
}
