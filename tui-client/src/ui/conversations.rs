//! The conversation list: groups then people, with `Alt+N` numbers, presence,
//! unread counts (`99+` at most) and `!` for mentions.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::layout::{self, ago};
use crate::model::{Conversation, Model};
use crate::text::{self, width};
use crate::theme::Theme;
use classchat_common::Conv;

pub fn render(model: &Model, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let block = Block::bordered()
        .title(Span::styled(" Conversations ", theme.title))
        .border_style(theme.border);
    let inner = layout::inner(area);
    frame.render_widget(block, area);
    if model.convs.is_empty() {
        let hint = Paragraph::new(vec![
            Line::styled("none yet", theme.hint),
            Line::styled("/msg <user> <text>", theme.hint),
            Line::styled("/join <group>", theme.hint),
        ]);
        frame.render_widget(hint, inner);
        return;
    }
    let rows = usize::from(inner.height);
    let offset = layout::list_offset(model.selected.unwrap_or(0), rows);
    let lines: Vec<Line<'_>> = model
        .convs
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows)
        .map(|(i, c)| row(model, theme, i, c, usize::from(inner.width)))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row<'a>(
    model: &Model,
    theme: &Theme,
    i: usize,
    c: &Conversation,
    width_cols: usize,
) -> Line<'a> {
    let selected = model.selected == Some(i);
    let number = if i < 9 {
        format!("{} ", i + 1)
    } else {
        "  ".into()
    };
    let online = c.online.filter(|_| model.presence_is_live());
    let (dot, dot_style) = match (&c.conv, online) {
        (Conv::Group(_), _) => ("#", theme.list_item),
        (Conv::User(_), Some(true)) => (if model.look.ascii { "+" } else { "●" }, theme.online),
        (Conv::User(_), _) => (if model.look.ascii { "-" } else { "○" }, theme.offline),
    };
    let name = match &c.conv {
        Conv::Group(g) => text::clean_line(g.as_str()).into_owned(),
        Conv::User(u) => text::clean_line(u.as_str()).into_owned(),
    };
    let (right, right_style) = if c.unread > 0 {
        let count = if c.unread > 99 {
            "99+".to_owned()
        } else {
            c.unread.to_string()
        };
        let mark = if c.mention { " !" } else { "" };
        (format!("{count}{mark}"), theme.unread)
    } else if let (Conv::User(_), Some(false), Some(seen)) = (&c.conv, c.online, c.last_seen) {
        (ago(seen, model.now).replace(" ago", ""), theme.hint)
    } else if model.muted.contains(&c.conv) {
        ("muted".into(), theme.hint)
    } else {
        (String::new(), theme.hint)
    };
    let fixed = width(&number) + width(dot) + 1;
    let room = width_cols.saturating_sub(fixed + width(&right) + 1);
    let name = text::truncate(&name, room).into_owned();
    let pad = width_cols.saturating_sub(fixed + width(&name) + width(&right));
    let base = if selected {
        theme.list_selected
    } else {
        theme.list_item
    };
    let name_style = if c.unread > 0 && !selected {
        theme.unread
    } else {
        base
    };
    Line::from(vec![
        Span::styled(number, base.patch(theme.hint)),
        Span::styled(format!("{dot} "), if selected { base } else { dot_style }),
        Span::styled(name, name_style),
        Span::styled(" ".repeat(pad), base),
        Span::styled(right, if selected { base } else { right_style }),
    ])
    .style(base)
}
