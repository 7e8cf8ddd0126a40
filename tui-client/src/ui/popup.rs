//! Popups: help, the switcher, who read a message, who is online, members;
//! groups and the file popups draw in their own files and are routed from here.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::commands::COMMANDS;
use crate::layout::{self, ago};
use crate::model::{Model, Popup};
use crate::text::{self, width};
use crate::theme::Theme;
use crate::update::switcher_items;

/// A `w`×`h` box in the middle of `area`, shrunk to fit.
pub(super) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub(super) fn frame_box<'a>(title: &str, theme: &Theme, footer: &'a str) -> Block<'a> {
    Block::bordered()
        .title(Span::styled(format!(" {title} "), theme.title))
        .title_bottom(Span::styled(footer, theme.hint))
        .border_style(theme.border_focused)
        .style(theme.popup)
}

pub fn render(model: &Model, popup: &Popup, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    match popup {
        Popup::Picker(p) => super::picker::render(model, p, theme, area, frame),
        Popup::Offer { offer, save_as } => {
            super::offer::render(model, *offer, save_as.as_deref(), theme, area, frame);
        }
        Popup::Transfers { selected } => {
            super::transfers::render(model, *selected, theme, area, frame);
        }
        Popup::Help { scroll } => help(model, *scroll, theme, area, frame),
        Popup::Who {
            online,
            total,
            selected,
        } => who(model, online, *total, *selected, theme, area, frame),
        Popup::Password(form) => super::password::render(form, theme, area, frame),
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
            // Name the message by its words, not its number.
            let words = model
                .find(conv)
                .and_then(|i| {
                    model.convs[i]
                        .search(*seq)
                        .ok()
                        .map(|at| &model.convs[i].entries[at])
                })
                .map(|e| text::truncate(&text::clean_line(&e.body), 28).into_owned());
            let title = match words {
                Some(words) => format!("“{words}” in {conv}"),
                None => format!("Message {seq} in {conv}"),
            };
            let block = frame_box(&title, theme, " Esc close ");
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
            super::groups::render(groups, *selected, theme, area, frame);
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

/// The who popup's size at most.
const WHO_SIZE: (u16, u16) = (48, 24);

/// The who popup on a screen of `area`, for `names` names and, if `more`, a
/// line saying how many more are online than listed.
fn who_box(area: Rect, names: usize, more: bool) -> Rect {
    let lines = names.max(1) + usize::from(more);
    let h = u16::try_from(lines)
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(WHO_SIZE.1);
    centered(area, WHO_SIZE.0, h)
}

/// How many names the who popup shows at once on a screen of `size`: what
/// PgUp and PgDn move by.
pub fn who_page(size: (u16, u16), names: usize, more: bool) -> usize {
    let inner = layout::inner(who_box(Rect::new(0, 0, size.0, size.1), names, more));
    usize::from(inner.height)
        .saturating_sub(usize::from(more))
        .max(1)
}

fn who(
    model: &Model,
    online: &[classchat_common::Username],
    total: usize,
    selected: usize,
    theme: &Theme,
    area: Rect,
    frame: &mut Frame<'_>,
) {
    let more = total.saturating_sub(online.len());
    let boxed = who_box(area, online.len(), more > 0);
    frame.render_widget(Clear, boxed);
    // The close key as bound, from the same table the key handler reads.
    let close = model
        .keymap
        .keys(crate::keymap::Action::Close)
        .first()
        .map_or_else(|| "Esc".to_owned(), ToString::to_string);
    let footer = format!(" ↑↓ PgUp/PgDn · Enter message · {close} close ");
    let block = frame_box(&format!("{total} online"), theme, &footer);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    if online.is_empty() {
        let none = Line::styled("nobody is online", theme.hint);
        frame.render_widget(Paragraph::new(none), inner);
        return;
    }
    let rows = who_page((area.width, area.height), online.len(), more > 0);
    let first = selected.saturating_sub(rows.saturating_sub(1));
    let dot = if model.look.ascii { "+" } else { "●" };
    let mut lines: Vec<Line<'_>> = online
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, user)| {
            let style = if i == selected {
                theme.list_selected
            } else {
                theme.list_item
            };
            let you = if model.me.as_ref() == Some(user) {
                " (you)"
            } else {
                ""
            };
            Line::from(vec![
                Span::styled(format!("{dot} "), theme.online),
                Span::styled(text::clean_line(user.as_str()).into_owned(), style),
                Span::styled(you, theme.hint),
            ])
        })
        .collect();
    if more > 0 {
        lines.resize(rows, Line::raw(""));
        lines.push(Line::styled(format!("and {more} more"), theme.hint));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The help popup's size at most.
const HELP_SIZE: (u16, u16) = (90, 44);

/// How far the help can scroll on a screen of `size`: until its last line shows.
pub fn help_scroll_limit(model: &Model, size: (u16, u16)) -> u16 {
    let area = Rect::new(0, 0, size.0, size.1);
    let inner = layout::inner(centered(area, HELP_SIZE.0, HELP_SIZE.1));
    let lines = help_lines(model, &Theme::new(false), usize::from(inner.width)).len();
    u16::try_from(lines.saturating_sub(usize::from(inner.height))).unwrap_or(u16::MAX)
}

fn help(model: &Model, scroll: u16, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
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

/// The help text, generated from the key table and the command table.
pub fn help_lines(model: &Model, theme: &Theme, width_cols: usize) -> Vec<Line<'static>> {
    let rows = model.keymap.help_rows();
    let key_width = rows
        .iter()
        .map(|(k, _)| width(k))
        .max()
        .unwrap_or(10)
        .min(28);
    let mut lines = vec![Line::styled("Keys", theme.title)];
    for (keys, what) in &rows {
        lines.extend(row(keys, key_width, what, theme.info, width_cols));
    }
    // The text field's own keys, which the table above does not rebind.
    let editing = "delete the word before the cursor; start, end of the line";
    lines.extend(row(
        "Ctrl+W, Ctrl+A/E",
        key_width,
        editing,
        theme.info,
        width_cols,
    ));
    let selecting = "while selecting messages: move, who read it, retry, back";
    lines.extend(row(
        "↑↓ i r Esc",
        key_width,
        selecting,
        theme.info,
        width_cols,
    ));
    let mouse = "click a conversation to open it; the wheel scrolls";
    lines.extend(row("mouse", key_width, mouse, theme.info, width_cols));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Commands (Tab completes; // sends a line starting with /)",
        theme.title,
    ));
    let usage_width = COMMANDS
        .iter()
        .map(|s| width(s.usage))
        .max()
        .unwrap_or(10)
        .min(28);
    for spec in COMMANDS {
        lines.extend(row(
            spec.usage,
            usage_width,
            spec.summary,
            theme.info,
            width_cols,
        ));
    }
    lines.push(Line::raw(""));
    let legend = if model.look.ascii {
        "Your messages: [..] sending · [+] stored · [++] delivered · [read] read · [failed] (groups: [++ 2/3])"
    } else {
        "Your messages: ◌ sending · ✓ stored · ✓✓ delivered · ● read · ✗ failed (groups: ✓✓ 2/3)"
    };
    for part in text::wrap(legend, width_cols.max(10)) {
        lines.push(Line::styled(part, theme.hint));
    }
    lines
}

/// A two-column help row; the right column wraps under itself.
fn row(left: &str, w: usize, right: &str, style: Style, total: usize) -> Vec<Line<'static>> {
    let lead = w.max(width(left)) + 4;
    let parts = text::wrap(right, total.saturating_sub(lead).max(10));
    parts
        .into_iter()
        .enumerate()
        .map(|(n, part)| {
            let left_cell = if n == 0 {
                format!("  {left}{}  ", " ".repeat(w.saturating_sub(width(left))))
            } else {
                " ".repeat(lead)
            };
            Line::from(vec![Span::styled(left_cell, style), Span::raw(part)])
        })
        .collect()
}
