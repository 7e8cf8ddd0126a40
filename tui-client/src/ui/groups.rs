//! The `/groups` popup: every group, its owner, how many are in it, and
//! whether you are (or may not join: banned, or invite-only). When the popup
//! is narrow the owner goes first, then the member count, and long names are
//! cut; whether you are in a group always shows, in words.

use classchat_common::protocol::{Access, GroupInfo};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::text::{self, width};
use crate::theme::Theme;

/// Columns a name is cut to while there is room for every column.
const NAME_COLS: usize = 20;
/// Columns of the owner's name, after `owner `.
const OWNER_COLS: usize = 14;
/// Columns of `12 members`.
const MEMBERS_COLS: usize = 11;
/// What says you are in a group; the words that say you may not join one
/// are as wide.
const JOINED: &str = "joined";
const BANNED: &str = "banned";
const INVITE: &str = "invite";
/// Fewer columns than this for a name, and the member count goes instead.
const NAME_COLS_MIN: usize = 8;

/// Which columns a row shows, and how wide the name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    name: usize,
    owner: bool,
    members: bool,
}

impl Columns {
    /// The columns that fit in `room`: all of them if they can, then without
    /// the owner, then without the member count; the name takes what is left,
    /// up to the longest name (`longest`).
    fn fitting(room: usize, longest: usize) -> Self {
        // `#name ` · `owner carol ` · `3 members ` · `joined`
        let members = MEMBERS_COLS + 1;
        let all = NAME_COLS + 2 + "owner ".len() + OWNER_COLS + 1 + members + JOINED.len();
        if room >= all {
            return Columns {
                name: NAME_COLS,
                owner: true,
                members: true,
            };
        }
        let left = room.saturating_sub(2 + JOINED.len());
        if left >= members + NAME_COLS_MIN {
            return Columns {
                name: (left - members).min(longest.max(NAME_COLS_MIN)),
                owner: false,
                members: true,
            };
        }
        Columns {
            name: left.max(1),
            owner: false,
            members: false,
        }
    }
}

pub fn render(
    groups: &[GroupInfo],
    selected: usize,
    theme: &Theme,
    area: Rect,
    frame: &mut Frame<'_>,
) {
    let h = u16::try_from(groups.len())
        .unwrap_or(u16::MAX)
        .saturating_add(4)
        .min(24);
    let boxed = centered(area, 64, h.max(6));
    frame.render_widget(Clear, boxed);
    let keys = "Enter open or join · Esc close";
    let footer = format!(
        " {} ",
        text::fit_clauses(keys, usize::from(boxed.width).saturating_sub(4))
    );
    let block = frame_box(&format!("Groups ({})", groups.len()), theme, &footer);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    if groups.is_empty() {
        let none = Line::styled("no groups yet — /create <name> makes one", theme.hint);
        frame.render_widget(Paragraph::new(none), inner);
        return;
    }
    let longest = groups
        .iter()
        .map(|g| width(&text::clean_line(g.group.as_str())))
        .max()
        .unwrap_or(0);
    let columns = Columns::fitting(usize::from(inner.width), longest);
    let rows = usize::from(inner.height);
    let first = selected.saturating_sub(rows.saturating_sub(1));
    let lines: Vec<Line<'_>> = groups
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, g)| {
            let style = if i == selected {
                theme.list_selected
            } else {
                theme.list_item
            };
            let name =
                text::truncate(&text::clean_line(g.group.as_str()), columns.name).into_owned();
            let w = columns.name;
            let mut spans = vec![Span::styled(format!("#{name:<w$} "), style)];
            if columns.owner {
                spans.push(Span::styled(
                    format!("owner {:<OWNER_COLS$} ", text::clean_line(g.owner.as_str())),
                    theme.hint,
                ));
            }
            if columns.members {
                let plural = if g.members == 1 { "" } else { "s" };
                let members = format!("{} member{plural}", g.members);
                spans.push(Span::styled(
                    format!("{members:<MEMBERS_COLS$} "),
                    theme.list_item,
                ));
            }
            if g.member {
                spans.push(Span::styled(JOINED, theme.online));
            } else if g.banned {
                spans.push(Span::styled(BANNED, theme.error));
            } else if g.access == Access::Invite {
                spans.push(Span::styled(INVITE, theme.hint));
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_go_owner_first_then_the_member_count() {
        let all = Columns::fitting(62, 22);
        assert_eq!((all.name, all.owner, all.members), (20, true, true));
        // 50 columns: room for the longest name whole, without the owner.
        let fifty = Columns::fitting(48, 22);
        assert_eq!((fifty.name, fifty.owner, fifty.members), (22, false, true));
        let thirty = Columns::fitting(28, 22);
        assert_eq!(
            (thirty.name, thirty.owner, thirty.members),
            (8, false, true)
        );
        let twenty = Columns::fitting(18, 22);
        assert_eq!(
            (twenty.name, twenty.owner, twenty.members),
            (10, false, false)
        );
    }
}
