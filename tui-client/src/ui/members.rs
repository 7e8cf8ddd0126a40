//! A group's members (`/members`): presence or when each was last seen, who
//! owns it and who moderates it; then, for the owner and moderators, who is
//! banned from it.

use classchat_common::protocol::MemberInfo;
use classchat_common::{GroupName, Username};
use ratatui::Frame;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::layout::ago;
use crate::model::Model;
use crate::text::{self, width};
use crate::theme::Theme;

/// What the popup lists, as the `members` reply said it.
pub struct Roster<'a> {
    pub group: &'a GroupName,
    pub owner: &'a Username,
    pub members: &'a [MemberInfo],
    pub banned: &'a [Username],
}

/// Columns of the name (with its role) while every name fits in them.
const NAME_COLS: usize = 18;

/// One row: a marker, the name with its role, and how the user stands.
struct Row {
    marker: (&'static str, Style),
    name: String,
    state: (String, Style),
}

pub fn render(
    model: &Model,
    roster: &Roster<'_>,
    selected: usize,
    theme: &Theme,
    frame: &mut Frame<'_>,
) {
    let rows = rows(model, roster, theme);
    let h = u16::try_from(rows.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(24);
    let boxed = centered(frame.area(), 56, h.max(5));
    frame.render_widget(Clear, boxed);
    let mut title = format!(
        "#{} · {} members",
        text::clean_line(roster.group.as_str()),
        roster.members.len()
    );
    if !roster.banned.is_empty() {
        title.push_str(&format!(" · {} banned", roster.banned.len()));
    }
    let block = frame_box(&title, theme, " Enter message · Esc close ");
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    let shown = usize::from(inner.height);
    let first = selected.saturating_sub(shown.saturating_sub(1));
    // A space at least between the longest name and its state.
    let cols = rows
        .iter()
        .map(|r| width(&r.name) + 1)
        .max()
        .unwrap_or(0)
        .max(NAME_COLS);
    let lines: Vec<Line<'_>> = rows
        .into_iter()
        .enumerate()
        .skip(first)
        .take(shown)
        .map(|(i, row)| {
            let style = if i == selected {
                theme.list_selected
            } else {
                theme.list_item
            };
            let (marker, marker_style) = row.marker;
            let (state, state_style) = row.state;
            Line::from(vec![
                Span::styled(format!("{marker} "), marker_style),
                Span::styled(format!("{:<cols$}", row.name), style),
                Span::styled(state, state_style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The members, then the banned, in the order `selected` counts them.
fn rows(model: &Model, roster: &Roster<'_>, theme: &Theme) -> Vec<Row> {
    let ascii = model.look.ascii;
    let members = roster.members.iter().map(|m| {
        let marker = if m.online {
            (if ascii { "+" } else { "●" }, theme.online)
        } else {
            (if ascii { "-" } else { "○" }, theme.offline)
        };
        let seen = match (m.online, m.last_seen) {
            (true, _) => "online".to_owned(),
            (false, Some(t)) => format!("last seen {}", ago(t, model.now)),
            (false, None) => "offline".to_owned(),
        };
        let role = if m.user == *roster.owner {
            " (owner)"
        } else if m.moderator {
            " (moderator)"
        } else {
            ""
        };
        Row {
            marker,
            name: format!("{}{role}", text::clean_line(m.user.as_str())),
            state: (seen, theme.hint),
        }
    });
    let banned = roster.banned.iter().map(|user| Row {
        marker: (if ascii { "x" } else { "✕" }, theme.error),
        name: text::clean_line(user.as_str()).into_owned(),
        state: ("banned".to_owned(), theme.error),
    });
    members.chain(banned).collect()
}
