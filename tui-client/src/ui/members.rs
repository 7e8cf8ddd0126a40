//! A group's members (`/members`): presence or when each was last seen, and
//! who owns it.

use classchat_common::protocol::MemberInfo;
use classchat_common::{GroupName, Username};
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::layout::ago;
use crate::model::Model;
use crate::text;
use crate::theme::Theme;

pub fn render(
    model: &Model,
    group: &GroupName,
    owner: &Username,
    members: &[MemberInfo],
    selected: usize,
    theme: &Theme,
    frame: &mut Frame<'_>,
) {
    let h = u16::try_from(members.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(24);
    let boxed = centered(frame.area(), 56, h.max(5));
    frame.render_widget(Clear, boxed);
    let title = format!(
        "#{} · {} members",
        text::clean_line(group.as_str()),
        members.len()
    );
    let block = frame_box(&title, theme, " Enter message · Esc close ");
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    let rows = usize::from(inner.height);
    let first = selected.saturating_sub(rows.saturating_sub(1));
    let ascii = model.look.ascii;
    let lines: Vec<Line<'_>> = members
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, m)| {
            let (dot, dot_style) = if m.online {
                (if ascii { "+" } else { "●" }, theme.online)
            } else {
                (if ascii { "-" } else { "○" }, theme.offline)
            };
            let style = if i == selected {
                theme.list_selected
            } else {
                theme.list_item
            };
            let seen = match (m.online, m.last_seen) {
                (true, _) => "online".to_owned(),
                (false, Some(t)) => format!("last seen {}", ago(t, model.now)),
                (false, None) => "offline".to_owned(),
            };
            let role = if m.user == *owner { " (owner)" } else { "" };
            Line::from(vec![
                Span::styled(format!("{dot} "), dot_style),
                Span::styled(
                    format!(
                        "{:<18}",
                        format!("{}{role}", text::clean_line(m.user.as_str()))
                    ),
                    style,
                ),
                Span::styled(seen, theme.hint),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
