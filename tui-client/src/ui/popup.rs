//! Popups: help, the switcher, who read a message, groups, members.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::commands::COMMANDS;
use crate::layout::ago;
use crate::model::{Model, Popup};
use crate::text::{self, width};
use crate::theme::Theme;
use crate::update::switcher_items;

/// A `w`×`h` box in the middle of `area`, shrunk to fit.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn frame_box<'a>(title: &str, theme: &Theme, footer: &'a str) -> Block<'a> {
    Block::bordered()
        .title(Span::styled(format!(" {title} "), theme.title))
        .title_bottom(Span::styled(footer, theme.hint))
        .border_style(theme.border_focused)
        .style(theme.popup)
}

pub fn render(model: &Model, popup: &Popup, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    match popup {
        Popup::Help { scroll } => help(model, *scroll, theme, area, frame),
        Popup::Switcher { query, selected } => {
            let boxed = centered(area, 56, 16);
            frame.render_widget(Clear, boxed);
            let block = frame_box("Go to", theme, " ↑↓ choose · Enter go · Esc close ");
            let inner = block.inner(boxed);
            frame.render_widget(block, boxed);
            let q = query.lines().join("");
            frame.render_widget(
                Paragraph::new(Span::styled("> ", theme.title)),
                Rect::new(inner.x, inner.y, 2, 1),
            );
            frame.render_widget(
                &**query,
                Rect::new(inner.x + 2, inner.y, inner.width.saturating_sub(2), 1),
            );
            let items = switcher_items(model, &q);
            let rows = usize::from(inner.height.saturating_sub(2));
            let chosen = (*selected).min(items.len().saturating_sub(1));
            let first = chosen.saturating_sub(rows.saturating_sub(1));
            let lines: Vec<Line<'_>> = items
                .iter()
                .enumerate()
                .skip(first)
                .take(rows)
                .map(|(i, item)| {
                    let label = text::clean_line(&item.label()).into_owned();
                    let kind = match item {
                        crate::update::Item::Conv(c) if model.find(c).is_some() => "",
                        crate::update::Item::Conv(c) if c.is_group() => "  join",
                        crate::update::Item::Conv(_) => "  new",
                        crate::update::Item::Command(_) => "  command",
                    };
                    let style = if i == chosen {
                        theme.list_selected
                    } else {
                        theme.list_item
                    };
                    Line::from(vec![
                        Span::styled(label, style),
                        Span::styled(kind, theme.hint),
                    ])
                })
                .collect();
            let list = Rect::new(
                inner.x,
                inner.y + 2,
                inner.width,
                inner.height.saturating_sub(2),
            );
            if lines.is_empty() {
                frame.render_widget(
                    Paragraph::new(Line::styled("nothing matches", theme.hint)),
                    list,
                );
            } else {
                frame.render_widget(Paragraph::new(lines), list);
            }
        }
        Popup::ReadBy {
            conv,
            seq,
            counts,
            members,
        } => {
            let h = u16::try_from(members.len())
                .unwrap_or(u16::MAX)
                .saturating_add(5)
                .min(22);
            let boxed = centered(area, 50, h);
            frame.render_widget(Clear, boxed);
            let block = frame_box(&format!("Message {seq} in {conv}"), theme, " Esc close ");
            let inner = block.inner(boxed);
            frame.render_widget(block, boxed);
            let ascii = model.look.ascii;
            let mut lines = vec![
                Line::from(format!(
                    "delivered to {}/{} · read by {}/{}",
                    counts.delivered, counts.of, counts.read, counts.of
                )),
                Line::raw(""),
            ];
            for m in members {
                let (mark, state, style) = match (m.read, m.delivered) {
                    (true, _) => (if ascii { "[read]" } else { "●" }, "read", theme.online),
                    (false, true) => (
                        if ascii { "[++]" } else { "✓✓" },
                        "received, not read yet",
                        theme.list_item,
                    ),
                    _ => (
                        if ascii { "[+]" } else { "✓" },
                        "not received yet",
                        theme.hint,
                    ),
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{mark:>6} "), style),
                    Span::styled(
                        format!("{:<16} ", text::clean_line(m.user.as_str())),
                        theme.title,
                    ),
                    Span::styled(state, style),
                ]));
            }
            if members.is_empty() {
                lines.push(Line::styled(
                    "nobody else was in the conversation",
                    theme.hint,
                ));
            }
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Popup::Groups { groups, selected } => {
            let h = u16::try_from(groups.len())
                .unwrap_or(u16::MAX)
                .saturating_add(4)
                .min(24);
            let boxed = centered(area, 64, h.max(6));
            frame.render_widget(Clear, boxed);
            let block = frame_box(
                &format!("Groups ({})", groups.len()),
                theme,
                " Enter open or join · Esc close ",
            );
            let inner = block.inner(boxed);
            frame.render_widget(block, boxed);
            if groups.is_empty() {
                let none = Line::styled("no groups yet — /create <name> makes one", theme.hint);
                frame.render_widget(Paragraph::new(none), inner);
                return;
            }
            let rows = usize::from(inner.height);
            let first = selected.saturating_sub(rows.saturating_sub(1));
            let lines: Vec<Line<'_>> = groups
                .iter()
                .enumerate()
                .skip(first)
                .take(rows)
                .map(|(i, g)| {
                    let style = if i == *selected {
                        theme.list_selected
                    } else {
                        theme.list_item
                    };
                    let name = text::truncate(&text::clean_line(g.group.as_str()), 20).into_owned();
                    let members = format!(
                        "{} member{}",
                        g.members,
                        if g.members == 1 { "" } else { "s" }
                    );
                    let member = if g.member { "joined" } else { "" };
                    Line::from(vec![
                        Span::styled(format!("#{name:<20} "), style),
                        Span::styled(
                            format!("owner {:<14} ", text::clean_line(g.owner.as_str())),
                            theme.hint,
                        ),
                        Span::styled(format!("{members:<11} "), theme.list_item),
                        Span::styled(member, theme.online),
                    ])
                })
                .collect();
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Popup::Members {
            group,
            owner,
            members,
            selected,
        } => {
            let h = u16::try_from(members.len())
                .unwrap_or(u16::MAX)
                .saturating_add(2)
                .min(24);
            let boxed = centered(area, 56, h.max(5));
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
                    let style = if i == *selected {
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
    }
}

fn help(model: &Model, scroll: u16, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let boxed = centered(area, 84, 40);
    frame.render_widget(Clear, boxed);
    let block = frame_box("Help", theme, " ↑↓ scroll · Esc close ");
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    let key_width = model
        .keymap
        .help_rows()
        .iter()
        .map(|(k, _)| width(k))
        .max()
        .unwrap_or(10)
        .min(28);
    let mut lines = vec![Line::styled("Keys", theme.title)];
    for (keys, what) in model.keymap.help_rows() {
        lines.push(row(&keys, key_width, what, theme.info));
    }
    lines.push(row(
        "↑↓ i r Esc",
        key_width,
        "while selecting messages: move, who read it, retry, back",
        theme.info,
    ));
    lines.push(row(
        "mouse",
        key_width,
        "click a conversation to open it; the wheel scrolls",
        theme.info,
    ));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Commands (Tab completes; start with // to send a line beginning with /)",
        theme.title,
    ));
    let usage_width = COMMANDS.iter().map(|s| width(s.usage)).max().unwrap_or(10);
    for spec in COMMANDS {
        lines.push(row(spec.usage, usage_width, spec.summary, theme.info));
    }
    lines.push(Line::raw(""));
    let ascii = model.look.ascii;
    let legend = if ascii {
        "Your messages: [..] sending · [+] stored · [++] delivered · [read] read · [failed]"
    } else {
        "Your messages: ◌ sending · ✓ stored · ✓✓ delivered · ● read · ✗ failed (groups: ✓✓ 2/3)"
    };
    lines.push(Line::styled(legend, theme.hint));
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

fn row(left: &str, w: usize, right: &str, style: Style) -> Line<'static> {
    let pad = w.saturating_sub(width(left));
    Line::from(vec![
        Span::styled(format!("  {left}{}  ", " ".repeat(pad)), style),
        Span::raw(right.to_owned()),
    ])
}
