//! Popups: which one draws, and the frame they share. Each popup draws in a
//! file of its own: [`super::help`], [`super::switcher`], [`super::read_by`],
//! [`super::who`], [`super::members`], [`super::groups`], [`super::pins`],
//! [`super::confirm`], the reaction picker [`super::react`] and who reacted
//! [`super::reacted`], [`super::search`],
//! and the file popups ([`super::picker`], [`super::offer`],
//! [`super::transfers`]) and the password form.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;
use unicode_segmentation::UnicodeSegmentation;

pub(super) use crate::layout::popup::centered;
use crate::model::{Model, Popup};
use crate::text::width;
use crate::theme::Theme;

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
        Popup::Help { scroll } => super::help::render(model, *scroll, theme, frame),
        Popup::Who {
            online,
            total,
            selected,
        } => super::who::render(model, online, *total, *selected, theme, frame),
        Popup::Password(form) => super::password::render(form, theme, area, frame),
        Popup::Switcher { query, selected } => {
            super::switcher::render(model, query, *selected, theme, frame);
        }
        Popup::ReadBy {
            conv,
            seq,
            counts,
            members,
        } => super::read_by::render(model, conv, *seq, counts, members, theme, frame),
        Popup::Groups { groups, selected } => {
            super::groups::render(groups, *selected, theme, area, frame);
        }
        Popup::Members {
            group,
            owner,
            members,
            banned,
            selected,
        } => {
            let roster = super::members::Roster {
                group,
                owner,
                members,
                banned,
            };
            super::members::render(model, &roster, *selected, theme, frame);
        }
        Popup::Confirm(confirm) => super::confirm::render(model, confirm, theme, frame),
        Popup::Pins { group, selected } => {
            super::pins::render(model, group, *selected, theme, frame);
        }
        Popup::React {
            conv,
            seq,
            selected,
        } => super::react::render(model, conv, *seq, *selected, theme, frame),
        Popup::Reactions { conv, seq, scroll } => {
            super::reacted::render(model, conv, *seq, *scroll, theme, frame);
        }
        Popup::Search(search) => super::search::render(model, search, theme, frame),
    }
}

/// `line` cut to `cols` columns, with `…` where it was cut (also where a
/// span ends exactly at the edge and more followed).
pub(super) fn fit(line: Line<'_>, cols: usize) -> Line<'_> {
    let total: usize = line.spans.iter().map(|s| width(&s.content)).sum();
    if total <= cols {
        return line;
    }
    // What is kept leaves a column for the `…`.
    let mut left = cols.saturating_sub(1);
    let style = line.style;
    let mut spans = Vec::new();
    for span in line.spans {
        let w = width(&span.content);
        if w <= left {
            left -= w;
            spans.push(span);
            continue;
        }
        let mut cut = String::new();
        for g in span.content.graphemes(true) {
            let gw = width(g);
            if gw > left {
                break;
            }
            cut.push_str(g);
            left -= gw;
        }
        cut.push('…');
        spans.push(Span::styled(cut, span.style));
        break;
    }
    Line::from(spans).style(style)
}
