//! Where things are on screen, and how a conversation's messages become lines.
//!
//! Both `update` and the view use these functions: scrolling, mouse clicks and
//! the read-marking rule need to know exactly which lines are on screen, so the
//! geometry is computed in one place and never guessed twice.
//!
//! Rendering a conversation never looks at more messages than fit on screen:
//! lines are built from the scroll anchor upward until the pane is full, so a
//! conversation of a hundred thousand messages draws as fast as one of ten.
//!
//! [`files`] words file messages and transfers for both the message list and
//! the transfers view; [`changes`] draws quotes, tombstones and `(edited)`;
//! [`reactions`] the reactions under a message, and the rows of the reaction
//! picker and of the who-reacted popup;
//! [`status`] words the status line and an error too long
//! for it; [`input`] counts the rows the draft wraps into; [`popup`] places
//! popups and sizes the who list's pages; [`help`] makes the help text and
//! says how far it scrolls; [`pins`] words the pins popup's rows and the
//! title's pin marker; [`search`] sizes the search popup and words its rows.

pub mod changes;
pub mod files;
pub mod help;
pub mod input;
pub mod pins;
pub mod popup;
pub mod reactions;
pub mod search;
pub mod status;

use std::path::Path;

use chrono::{Datelike, FixedOffset};
use classchat_common::{Conv, Timestamp, Username};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::keymap::{Action, Combo};
use crate::model::{Conversation, Entry, Look, Model, Offers, Scroll, Transfer};
use crate::text::{self, width};
use crate::theme::Theme;
use crate::tracker::{Stage, Status};

/// Below this width the conversation list is hidden.
pub const NARROW: u16 = 72;
/// The conversation list's width when shown.
pub const LIST_WIDTH: u16 = 24;
/// The most rows the input grows to; a longer draft scrolls inside it.
pub const INPUT_MAX_LINES: u16 = 5;
/// Rows of the message pane (borders included) an error above the input leaves.
const MESSAGE_ROWS_MIN: u16 = 5;
/// Columns taken by `HH:MM ` before every message.
pub(crate) const TIME_WIDTH: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// The conversation list (with its border), unless the terminal is narrow.
    pub list: Option<Rect>,
    /// The open conversation (with its border).
    pub messages: Rect,
    /// Rows under the message pane, above the input, for an error too long
    /// for the status line.
    pub error: Option<Rect>,
    pub input: Rect,
    pub status: Rect,
}

impl Areas {
    /// The inside of the message pane, where message lines go.
    pub fn message_lines(&self) -> Rect {
        inner(self.messages)
    }
}

pub fn inner(r: Rect) -> Rect {
    Rect {
        x: r.x.saturating_add(1),
        y: r.y.saturating_add(1),
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}

/// The screen split for a terminal of `size`, with an input of `input_rows`.
fn split(size: (u16, u16), input_rows: u16) -> Areas {
    let (w, h) = size;
    let input_h = input_rows.clamp(1, INPUT_MAX_LINES) + 2;
    let status = Rect::new(0, h.saturating_sub(1), w, 1.min(h));
    let input = Rect::new(
        0,
        h.saturating_sub(1 + input_h),
        w,
        input_h.min(h.saturating_sub(1)),
    );
    let top_h = h.saturating_sub(1 + input_h);
    let (list, messages) = if w >= NARROW {
        (
            Some(Rect::new(0, 0, LIST_WIDTH, top_h)),
            Rect::new(LIST_WIDTH, 0, w - LIST_WIDTH, top_h),
        )
    } else {
        (None, Rect::new(0, 0, w, top_h))
    };
    Areas {
        list,
        messages,
        error: None,
        input,
        status,
    }
}

/// The columns the draft wraps at in a terminal `terminal_width` wide: the
/// input bar's inside.
pub fn input_width(terminal_width: u16) -> u16 {
    terminal_width.saturating_sub(2)
}

/// The most rows the input bar shows inside on a terminal of `size`: fewer
/// than [`INPUT_MAX_LINES`] on a terminal too short for them.
pub fn input_rows_most(size: (u16, u16)) -> u16 {
    inner(split(size, INPUT_MAX_LINES).input).height
}

/// Where everything goes for `model` on a terminal of `size`: the input as tall
/// as its draft's wrapped rows (at most [`INPUT_MAX_LINES`]), and an error too
/// long for the status line on rows taken from the bottom of the message pane,
/// while a few rows of messages remain. The view draws into these areas and
/// `update` pages, marks read and loads older history by them, so both count
/// the same rows.
pub fn screen_areas(model: &Model, size: (u16, u16)) -> Areas {
    let rows = input::rows(
        model.input(),
        input_width(size.0),
        usize::from(INPUT_MAX_LINES),
    );
    let mut areas = split(size, u16::try_from(rows).unwrap_or(INPUT_MAX_LINES));
    let Some(error) = status::error_lines(model, size.0, areas.messages.width) else {
        return areas;
    };
    let rows = u16::try_from(error.len())
        .unwrap_or(u16::MAX)
        .min(areas.messages.height.saturating_sub(MESSAGE_ROWS_MIN));
    if rows > 0 {
        areas.messages.height -= rows;
        areas.error = Some(Rect {
            y: areas.messages.y + areas.messages.height,
            height: rows,
            ..areas.messages
        });
    }
    areas
}

/// The areas for the model's current size, input and error.
pub fn model_areas(model: &Model) -> Areas {
    screen_areas(model, model.size)
}

/// The first conversation shown in a list of `rows` rows, so that the selected
/// one is always visible.
pub fn list_offset(selected: usize, rows: usize) -> usize {
    selected.saturating_sub(rows.saturating_sub(1))
}

/// What is needed to turn entries into lines.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub width: usize,
    pub look: Look,
    pub theme: &'a Theme,
    pub tz: FixedOffset,
    pub now: Timestamp,
    pub group: bool,
    /// What file messages say depends on the offers and this run's transfers.
    pub offers: &'a Offers,
    pub transfers: &'a [Transfer],
    /// The key that answers offers, as bound.
    pub answer_key: Option<Combo>,
    pub home: Option<&'a Path>,
    /// You, once logged in: the reactions you gave stand out.
    pub me: Option<&'a Username>,
}

impl<'a> Ctx<'a> {
    pub fn new(model: &'a Model, theme: &'a Theme, conv: &Conv, width: u16) -> Self {
        Ctx {
            width: usize::from(width),
            look: model.look,
            theme,
            tz: model.tz,
            now: model.now,
            group: conv.is_group(),
            offers: &model.offers,
            transfers: &model.transfers,
            answer_key: model.keymap.keys(Action::Offers).first().copied(),
            home: model.home.as_deref(),
            me: model.me.as_ref(),
        }
    }
}

/// The status marker for one of your messages. Each stage has its own symbol, so
/// nothing depends on colour alone.
pub fn marker(status: Status, group: bool, ascii: bool) -> String {
    let counted = |symbol: &str, k: u32| {
        if group && status.of > 0 {
            format!("{symbol} {k}/{}", status.of)
        } else {
            symbol.to_owned()
        }
    };
    match (status.stage, ascii) {
        (Stage::Failed, false) => "✗ failed".into(),
        (Stage::Failed, true) => "[failed]".into(),
        (Stage::Sending, false) => "◌".into(),
        (Stage::Sending, true) => "[..]".into(),
        _ if status.read > 0 => counted(if ascii { "[read]" } else { "●" }, status.read),
        _ if status.delivered > 0 => counted(if ascii { "[++]" } else { "✓✓" }, status.delivered),
        (_, false) => "✓".into(),
        (_, true) => "[+]".into(),
    }
}

fn local_day(ts: Timestamp, tz: FixedOffset) -> chrono::NaiveDate {
    ts.to_datetime().with_timezone(&tz).date_naive()
}

/// `HH:MM` in the display time zone.
pub fn clock(ts: Timestamp, tz: FixedOffset) -> String {
    ts.to_datetime()
        .with_timezone(&tz)
        .format("%H:%M")
        .to_string()
}

/// "5m ago", "3h ago", "2d ago", or a date.
pub fn ago(then: Timestamp, now: Timestamp) -> String {
    let secs = (now.as_millis() - then.as_millis()).max(0) / 1000;
    match secs {
        0..60 => "just now".into(),
        60..3600 => format!("{}m ago", secs / 60),
        3600..86_400 => format!("{}h ago", secs / 3600),
        86_400..2_592_000 => format!("{}d ago", secs / 86_400),
        _ => then.to_datetime().format("%Y-%m-%d").to_string(),
    }
}

fn day_label(ts: Timestamp, ctx: &Ctx<'_>) -> String {
    let day = local_day(ts, ctx.tz);
    let today = local_day(ctx.now, ctx.tz);
    if day == today {
        "Today".into()
    } else if Some(day) == today.pred_opt() {
        "Yesterday".into()
    } else if day.year() == today.year() {
        day.format("%A %-d %B").to_string()
    } else {
        day.format("%-d %B %Y").to_string()
    }
}

fn rule(label: &str, width: usize, style: Style) -> Line<'static> {
    let label = format!(" {label} ");
    let side = width.saturating_sub(width_of(&label)) / 2;
    let right = width.saturating_sub(side + width_of(&label));
    Line::from(Span::styled(
        format!("{}{label}{}", "─".repeat(side), "─".repeat(right)),
        style,
    ))
}

fn width_of(s: &str) -> usize {
    width(s)
}

/// The lines entry `i` of `conv` takes, separators above it included.
pub fn entry_lines(
    conv: &Conversation,
    i: usize,
    ctx: &Ctx<'_>,
    selected: bool,
) -> Vec<Line<'static>> {
    let Some(e) = conv.entries.get(i) else {
        return Vec::new();
    };
    let prev = i.checked_sub(1).and_then(|p| conv.entries.get(p));
    let mut lines = Vec::new();
    if prev.is_none_or(|p| local_day(p.ts, ctx.tz) != local_day(e.ts, ctx.tz)) {
        lines.push(rule(&day_label(e.ts, ctx), ctx.width, ctx.theme.separator));
    }
    if let Some((_, count)) = conv.new_marker
        && conv.first_new() == Some(i)
    {
        lines.push(rule(
            &format!("{count} new"),
            ctx.width,
            ctx.theme.new_marker,
        ));
    }
    let time = clock(e.ts, ctx.tz);
    if e.event.is_some() {
        let body = text::wrap(
            &format!("· {}", e.body),
            ctx.width.saturating_sub(TIME_WIDTH).max(1),
        );
        for (n, part) in body.into_iter().enumerate() {
            let lead = if n == 0 {
                format!("{time} ")
            } else {
                " ".repeat(TIME_WIDTH)
            };
            lines.push(Line::from(vec![
                Span::styled(lead, ctx.theme.time),
                Span::styled(part, ctx.theme.event),
            ]));
        }
        return highlight(lines, selected, ctx);
    }
    let name = text::clean_line(e.from.as_str()).into_owned();
    let name_style = if e.mine {
        ctx.theme.me
    } else {
        ctx.theme.name(&name)
    }
    .add_modifier(Modifier::BOLD);
    // A reply's first line names who wrote it and what it answers; its text
    // starts under that.
    if let Some(quote) = &e.reply {
        let who = Span::styled(format!("{name}:"), name_style);
        lines.push(changes::quote_line(&time, who, quote, ctx));
    }
    // A tombstone has nothing left to follow.
    let status = e.status.filter(|_| !e.deleted);
    let mark = status.map(|s| marker(s, ctx.group, ctx.look.ascii));
    let mark_w = mark.as_deref().map_or(0, |m| width_of(m) + 1);
    let room = ctx.width.saturating_sub(TIME_WIDTH + mark_w).max(1);
    let body = match &e.file {
        _ if e.deleted => changes::TOMBSTONE.to_owned(),
        Some(file) => files::label(file, ctx.look.ascii),
        None => e.body.clone(),
    };
    let revision = changes::revision(conv, e);
    let named = e.reply.is_none();
    let mut shown = if named {
        format!("{name}: {body}")
    } else {
        body
    };
    if let Some(word) = revision {
        shown = format!("{shown} {word}");
    }
    let wrapped = text::wrap(&shown, room);
    let body_style = if e.deleted {
        ctx.theme.tombstone
    } else if e.mentions_me {
        ctx.theme.mention
    } else {
        ctx.theme.body
    };
    // The marker ends the message, so that the newest one's shows at the
    // bottom of the pane even when the message is taller than the pane.
    let last = wrapped.len().saturating_sub(1);
    for (n, part) in wrapped.into_iter().enumerate() {
        let used = TIME_WIDTH + width_of(&part);
        let mut spans = Vec::new();
        if n == 0 && named {
            spans.push(Span::styled(format!("{time} "), ctx.theme.time));
            let split = part.len().min(name.len() + 1);
            let (who, rest) = part.split_at(split.min(part.len()));
            spans.push(Span::styled(who.to_owned(), name_style));
            spans.push(Span::styled(rest.to_owned(), body_style));
        } else {
            spans.push(Span::raw(" ".repeat(TIME_WIDTH)));
            spans.push(Span::styled(part, body_style));
        }
        if n == last
            && let Some(word) = revision
        {
            changes::style_suffix(&mut spans, word, ctx.theme.hint);
        }
        if n == last
            && let (Some(mark), Some(status)) = (&mark, status)
        {
            let pad = ctx.width.saturating_sub(used + width_of(mark));
            spans.push(Span::raw(" ".repeat(pad)));
            spans.push(Span::styled(mark.clone(), ctx.theme.marker(status.stage)));
        }
        lines.push(Line::from(spans));
    }
    if let Some(note) = files::note(e, ctx) {
        let room = ctx.width.saturating_sub(TIME_WIDTH + 2).max(1);
        for part in text::wrap(&note, room) {
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(TIME_WIDTH + 2)),
                Span::styled(part, ctx.theme.hint),
            ]));
        }
    }
    lines.extend(reactions::under(conv, e, ctx));
    highlight(lines, selected, ctx)
}

/// Lays the highlight over every span, not only the line: a span's own colour
/// would otherwise stay, on a background it may not be readable on. Each line
/// is padded to the pane's width, so that the highlight is a whole band.
fn highlight(lines: Vec<Line<'static>>, selected: bool, ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    if !selected {
        return lines;
    }
    let style = ctx.theme.selected;
    lines
        .into_iter()
        .map(|mut line| {
            let rest = ctx.width.saturating_sub(width(&line.to_string()));
            if rest > 0 {
                line.spans.push(Span::raw(" ".repeat(rest)));
            }
            for span in &mut line.spans {
                span.style = span.style.patch(style);
            }
            line.patch_style(style)
        })
        .collect()
}

/// The lines on screen, top to bottom, and what they show.
#[derive(Debug, Default)]
pub struct Visible {
    pub lines: Vec<Line<'static>>,
    /// Index of the lowest entry on screen (partly or wholly).
    pub bottom: Option<usize>,
    /// Index of the highest entry on screen.
    pub top: Option<usize>,
    /// The first line of the first loaded entry is on screen.
    pub reached_top: bool,
}

/// The anchor of `scroll` as (entry index, lines of it hidden below the edge).
pub fn anchor(conv: &Conversation, scroll: Scroll) -> Option<(usize, usize)> {
    let last = conv.entries.len().checked_sub(1)?;
    match scroll {
        Scroll::Bottom => Some((last, 0)),
        Scroll::At { seq, skip } => match conv.search(seq) {
            Ok(i) => Some((i, skip)),
            Err(i) => Some((i.min(last), 0)),
        },
        // Unsent messages are at the end, where the search starts; one stored
        // since has moved into its place, usually near the end too.
        Scroll::Unsent { id, skip } => match conv.entries.iter().rposition(|e| e.id == id) {
            Some(i) => Some((i, skip)),
            None => Some((last, 0)),
        },
    }
}

/// Fills `height` lines from the scroll anchor upward.
pub fn visible(
    conv: &Conversation,
    ctx: &Ctx<'_>,
    height: usize,
    selected: Option<usize>,
) -> Visible {
    visible_at(conv, conv.scroll, ctx, height, selected)
}

/// The same, as if scrolled to `scroll`.
pub fn visible_at(
    conv: &Conversation,
    scroll: Scroll,
    ctx: &Ctx<'_>,
    height: usize,
    selected: Option<usize>,
) -> Visible {
    let mut v = Visible::default();
    let Some((start, skip)) = anchor(conv, scroll) else {
        v.reached_top = true;
        return v;
    };
    let mut stack: Vec<Vec<Line<'static>>> = Vec::new();
    let mut filled = 0;
    let mut i = start;
    loop {
        let mut lines = entry_lines(conv, i, ctx, selected == Some(i));
        if i == start {
            lines.truncate(lines.len().saturating_sub(skip));
            v.bottom = Some(i);
        }
        filled += lines.len();
        v.top = Some(i);
        stack.push(lines);
        if filled >= height || i == 0 {
            // The first entry filling the pane exactly is the top too: scrolling
            // up stops there, and older history must load from there.
            v.reached_top = i == 0 && filled <= height;
            break;
        }
        i -= 1;
    }
    let mut all: Vec<Line<'static>> = stack.into_iter().rev().flatten().collect();
    if all.len() > height {
        all.drain(..all.len() - height);
        v.reached_top = false;
    }
    v.lines = all;
    v
}

/// The scroll position `lines` further up (older), stopping once the first
/// loaded message is at the top of the pane.
pub fn scroll_up(conv: &Conversation, ctx: &Ctx<'_>, height: usize, lines: usize) -> Scroll {
    let Some((mut i, mut skip)) = anchor(conv, conv.scroll) else {
        return Scroll::Bottom;
    };
    skip += lines;
    loop {
        let h = entry_lines(conv, i, ctx, false).len();
        if skip < h || i == 0 {
            skip = skip.min(h.saturating_sub(1));
            break;
        }
        skip -= h;
        i -= 1;
    }
    let scroll = at(conv, i, skip);
    // Never leave empty rows above the first message.
    let shown = visible_at(conv, scroll, ctx, height, None);
    if shown.reached_top && shown.lines.len() < height {
        return scroll_down_from(conv, scroll, ctx, height - shown.lines.len());
    }
    scroll
}

/// The scroll position that shows entry `first` at the top of the pane (with
/// the lines drawn above it, such as `── N new ──`), or the bottom if
/// everything from it on fits.
pub fn from_the_top(conv: &Conversation, ctx: &Ctx<'_>, height: usize, first: usize) -> Scroll {
    let mut filled = 0;
    for i in first..conv.entries.len() {
        filled += entry_lines(conv, i, ctx, false).len();
        if filled >= height {
            return at(conv, i, filled - height);
        }
    }
    Scroll::Bottom
}

/// The scroll position `lines` further down (newer); back to following the
/// newest message at the end.
pub fn scroll_down(conv: &Conversation, ctx: &Ctx<'_>, lines: usize) -> Scroll {
    scroll_down_from(conv, conv.scroll, ctx, lines)
}

/// A page further down, `lines` long; or the bottom, once no more than a pane
/// (`height`) is left below: the page that reaches the end shows it and
/// follows the newest message again, even when a message that came in
/// meanwhile made the way down longer than the way up was.
pub fn page_down(conv: &Conversation, ctx: &Ctx<'_>, height: usize, lines: usize) -> Scroll {
    if hidden_below(conv, ctx, height) <= height {
        return Scroll::Bottom;
    }
    scroll_down(conv, ctx, lines)
}

/// The lines below the pane, counted only until there are more than `limit`.
fn hidden_below(conv: &Conversation, ctx: &Ctx<'_>, limit: usize) -> usize {
    let Some((i, skip)) = anchor(conv, conv.scroll) else {
        return 0;
    };
    let mut below = skip;
    for j in i + 1..conv.entries.len() {
        if below > limit {
            break;
        }
        below += entry_lines(conv, j, ctx, false).len();
    }
    below
}

fn scroll_down_from(conv: &Conversation, from: Scroll, ctx: &Ctx<'_>, lines: usize) -> Scroll {
    let Some((mut i, skip)) = anchor(conv, from) else {
        return Scroll::Bottom;
    };
    let last = conv.entries.len() - 1;
    let mut skip = skip as isize - lines as isize;
    while skip < 0 {
        if i >= last {
            return Scroll::Bottom;
        }
        i += 1;
        skip += entry_lines(conv, i, ctx, false).len() as isize;
    }
    if i >= last && skip == 0 {
        return Scroll::Bottom;
    }
    at(conv, i, skip as usize)
}

fn at(conv: &Conversation, i: usize, skip: usize) -> Scroll {
    let Some(e) = conv.entries.get(i) else {
        return Scroll::Bottom;
    };
    if i + 1 == conv.entries.len() && skip == 0 {
        return Scroll::Bottom;
    }
    match e.seq {
        Some(seq) => Scroll::At { seq, skip },
        None => Scroll::Unsent { id: e.id, skip },
    }
}

/// The newest stored message on screen, for the read-marking rule.
pub fn newest_visible_seq(conv: &Conversation, ctx: &Ctx<'_>, height: usize) -> Option<u64> {
    let v = visible(conv, ctx, height, None);
    let bottom = v.bottom?;
    let top = v.top.unwrap_or(bottom);
    conv.entries[top..=bottom]
        .iter()
        .rev()
        .find_map(|e: &Entry| e.seq)
}
