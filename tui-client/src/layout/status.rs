//! What the status line says, and an error too long for it, wrapped into the
//! rows it takes above the input: the view draws them, and the screen's split
//! (`screen_areas`) leaves room for them. Who is typing in the open
//! conversation is said right after its name; it is left out of the measure
//! that decides where an error goes, so that someone typing never moves the
//! screen's rows, and an error on the status line hides it.

use classchat_common::Username;

use crate::model::{LinkState, Model};
use crate::text::{self, width};

/// The most lines an error takes above the input.
const ERROR_LINES_MAX: usize = 3;

/// The current error, wrapped to `wrap_cols`, when it does not fit in a status
/// line `status_cols` wide beside what is always shown there; `None` when it
/// fits (or there is none).
pub fn error_lines(model: &Model, status_cols: u16, wrap_cols: u16) -> Option<Vec<String>> {
    let notice = model.notice.as_ref().filter(|n| n.error)?;
    let text = text::clean_line(&notice.text);
    let (parts, _) = parts(model, status_cols, false);
    let left = format!(" {} ", parts.join(" · "));
    // Fits, or the link part says it already ("disconnected: why").
    if width(&left) + width(&text) + 2 <= usize::from(status_cols) || left.contains(&*text) {
        return None;
    }
    // A space on either side, as in the status line.
    let room = usize::from(wrap_cols).saturating_sub(2).max(1);
    let mut lines = text::wrap(&text, room);
    if lines.len() > ERROR_LINES_MAX {
        lines.truncate(ERROR_LINES_MAX);
        if let Some(last) = lines.last_mut() {
            *last = text::truncate(&format!("{last} …"), room).into_owned();
        }
    }
    Some(lines)
}

/// What the left of the status line says, part by part, for a line
/// `width_cols` wide (with who is typing, if `with_typing`); and apart, the
/// unread hint shown when the list is hidden.
pub fn parts(model: &Model, width_cols: u16, with_typing: bool) -> (Vec<String>, Option<String>) {
    let ascii = model.look.ascii;
    let link = match &model.link {
        LinkState::Connected => format!("{} connected", if ascii { "*" } else { "●" }),
        LinkState::Connecting => format!("{} connecting", if ascii { "~" } else { "◌" }),
        LinkState::Reconnecting { attempt, at, .. } => {
            let secs = ((at.as_millis() - model.now.as_millis()).max(0) + 999) / 1000;
            let when = if secs == 0 {
                "now".to_owned()
            } else {
                format!("in {secs}s")
            };
            format!(
                "{} reconnecting {when} (attempt {attempt})",
                if ascii { "~" } else { "◌" }
            )
        }
        LinkState::LoggedOut(why) | LinkState::Failed(why) => {
            let what = if matches!(model.link, LinkState::LoggedOut(_)) {
                "logged out"
            } else {
                "disconnected"
            };
            format!(
                "{} {what}: {}",
                if ascii { "x" } else { "✗" },
                text::clean_line(why)
            )
        }
    };
    let mut parts = vec![link];
    // Who you are is the first thing to go when room is short.
    if let Some(me) = model
        .me
        .as_ref()
        .filter(|_| width_cols >= crate::layout::NARROW)
    {
        parts.push(text::clean_line(me.as_str()).into_owned());
    }
    // With the list hidden (narrow terminal), say what waits elsewhere.
    let elsewhere: u64 = model
        .convs
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != model.selected)
        .map(|(_, c)| c.unread)
        .sum();
    let list_hidden = width_cols < crate::layout::NARROW;
    // Counts of who is online are left out while the link is down.
    let live = model.presence_is_live();
    let total = (live && model.online_total > 0).then(|| format!("{} online", model.online_total));
    match model.current() {
        Some(c) => {
            parts.push(text::clean_line(&c.conv.to_string()).into_owned());
            // Before what else the line says, which gives way to it when short.
            parts.extend(typing(model).filter(|_| with_typing));
            match c.online_members().filter(|_| live) {
                Some((online, all)) => parts.push(format!("{online}/{all} online")),
                None => parts.extend(total),
            }
        }
        None => parts.extend(total),
    }
    let running = |up: bool| {
        model
            .transfers
            .iter()
            .filter(|t| t.progress.upload == up && !t.progress.state.is_over())
            .count()
    };
    let (up, down) = (running(true), running(false));
    if up + down > 0 {
        let (u, d) = if ascii {
            ("up ", "down ")
        } else {
            ("↑", "↓")
        };
        let mut files = Vec::new();
        if up > 0 {
            files.push(format!("{u}{up}"));
        }
        if down > 0 {
            files.push(format!("{d}{down}"));
        }
        parts.push(files.join(" "));
    }
    let offers = model.offers.waiting(&model.transfers, model.now).count();
    if offers > 0 {
        let key = model
            .keymap
            .keys(crate::keymap::Action::Offers)
            .first()
            .map_or_else(|| "/files".to_owned(), ToString::to_string);
        let plural = if offers == 1 { "" } else { "s" };
        parts.push(format!("{offers} file offer{plural} ({key})"));
    }
    let hint = (list_hidden && elsewhere > 0).then(|| format!("{elsewhere} unread (Alt+A)"));
    (parts, hint)
}

/// Who is typing in the open conversation, in words: `alice is typing…`,
/// `alice and bob are typing…`, `3 people are typing…`.
pub fn typing(model: &Model) -> Option<String> {
    let names = model.current()?.typing.at(model.now);
    let name = |u: &Username| text::clean_line(u.as_str()).into_owned();
    match names.as_slice() {
        [] => None,
        [one] => Some(format!("{} is typing…", name(one))),
        [one, two] => Some(format!("{} and {} are typing…", name(one), name(two))),
        all => Some(format!("{} people are typing…", all.len())),
    }
}
