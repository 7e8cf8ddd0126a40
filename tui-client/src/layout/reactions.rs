//! How reactions look: the line under a message (`👍 2  🎉 1`, the kinds you
//! gave in a style of their own), the rows of the picker (`+` on a selected
//! message) and the lines of the who-reacted popup (`w`), with that popup's
//! size, which the key handler scrolls by and the view draws by. A kind is
//! cleaned here, where it is shown; the model keeps it as the server spells it.

use classchat_common::{Conv, Username};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::popup::centered;
use super::{Ctx, TIME_WIDTH, inner};
use crate::model::{Conversation, Entry, Model, Popup, Reactions};
use crate::text::{self, width};
use crate::theme::Theme;

/// Columns between two kinds on the line under a message.
const GAP: usize = 2;
/// The who-reacted popup's size at most.
const WHO_SIZE: (u16, u16) = (60, 22);
/// The picker's width, and how many of its rows show at most.
const PICKER_WIDTH: u16 = 36;
const PICKER_ROWS: usize = 10;
/// The picker's column of kinds at most: a short word longer than this is cut.
pub const PICKER_KIND_COLS: usize = 12;

/// A kind as it is shown: cleaned, and something even if nothing of it is
/// left to see.
fn shown(emoji: &str) -> String {
    let clean = text::clean_line(emoji);
    if clean.trim().is_empty() {
        "?".to_owned()
    } else {
        clean.into_owned()
    }
}

/// The lines under message `e` that show its reactions, if it has any:
/// each kind with how many gave it, as many to a line as fit beside the
/// time's column.
pub fn under(conv: &Conversation, e: &Entry, ctx: &Ctx<'_>) -> Vec<Line<'static>> {
    let reactions = conv.shown_reactions(e);
    let room = ctx.width.saturating_sub(TIME_WIDTH).max(1);
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for kind in reactions.iter() {
        let chip = format!("{} {}", shown(&kind.emoji), kind.users.len());
        let chip = text::truncate(&chip, room).into_owned();
        let w = width(&chip);
        if used > 0 && used + GAP + w > room {
            lines.push(indented(std::mem::take(&mut spans)));
            used = 0;
        }
        if used > 0 {
            spans.push(Span::raw(" ".repeat(GAP)));
            used += GAP;
        }
        let mine = ctx.me.is_some_and(|me| kind.users.contains(me));
        let style = if mine {
            ctx.theme.reaction_mine
        } else {
            ctx.theme.reaction
        };
        spans.push(Span::styled(chip, style));
        used += w;
    }
    if !spans.is_empty() {
        lines.push(indented(spans));
    }
    lines
}

/// `spans` under the message's text, past the time's column.
fn indented(mut spans: Vec<Span<'static>>) -> Line<'static> {
    spans.insert(0, Span::raw(" ".repeat(TIME_WIDTH)));
    Line::from(spans)
}

/// The message a reaction popup is about, while it is loaded.
pub fn message<'a>(
    model: &'a Model,
    conv: &Conv,
    seq: u64,
) -> Option<(&'a Conversation, &'a Entry)> {
    let c = &model.convs[model.find(conv)?];
    Some((c, c.loaded(seq)?))
}

/// A popup's title naming message `e` by its words, `room` columns at most:
/// `{lead}“how it begins…”`, the quotation marks kept whole.
pub fn title(lead: &str, e: &Entry, room: usize) -> String {
    match e.quote() {
        Some(q) => {
            let words = room.saturating_sub(width(lead) + 2).max(1);
            let title = format!("{lead}“{}”", text::truncate(&q.text, words));
            text::truncate(&title, room).into_owned()
        }
        None => text::truncate(lead.trim_end_matches([' ', ':']), room).into_owned(),
    }
}

/// One row of the picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The digit that picks it (the first nine have one).
    pub key: Option<char>,
    /// The kind as the server spells it, and as it is shown.
    pub emoji: String,
    pub shown: String,
    /// How many gave it, and whether you are one of them.
    pub count: usize,
    pub mine: bool,
}

/// The picker's rows for `reactions`: the usual kinds, then the others the
/// message has.
pub fn choices(reactions: &Reactions, me: Option<&Username>) -> Vec<Choice> {
    reactions
        .choices()
        .into_iter()
        .enumerate()
        .map(|(i, emoji)| {
            let count = reactions
                .iter()
                .find(|k| k.emoji == emoji)
                .map_or(0, |k| k.users.len());
            Choice {
                key: u32::try_from(i + 1)
                    .ok()
                    .and_then(|n| char::from_digit(n, 10)),
                shown: shown(&emoji),
                mine: me.is_some_and(|me| reactions.gave(&emoji, me)),
                emoji,
                count,
            }
        })
        .collect()
}

/// The picker's rows for message `seq` of `conv` as it stands (the usual
/// kinds alone once it is gone).
pub fn picker_choices(model: &Model, conv: &Conv, seq: u64) -> Vec<Choice> {
    let me = model.me.as_ref();
    match message(model, conv, seq) {
        Some((c, e)) => choices(&c.shown_reactions(e), me),
        None => choices(&Reactions::default(), me),
    }
}

/// The picker on a screen of `area`, for `rows` choices.
pub fn picker_box(area: Rect, rows: usize) -> Rect {
    let h = u16::try_from(rows.clamp(1, PICKER_ROWS))
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    centered(area, PICKER_WIDTH, h)
}

/// The who-reacted popup's lines, `cols` wide: each kind with how many gave
/// it, then who did, in the order they did (you as "you"), wrapped under
/// itself.
pub fn who_lines(
    reactions: &Reactions,
    me: Option<&Username>,
    theme: &Theme,
    cols: usize,
) -> Vec<Line<'static>> {
    let chips: Vec<String> = reactions
        .iter()
        .map(|k| format!("{} {}", shown(&k.emoji), k.users.len()))
        .collect();
    let lead = chips
        .iter()
        .map(|c| width(c))
        .max()
        .unwrap_or(0)
        .min(cols / 2)
        + GAP;
    let room = cols.saturating_sub(lead).max(1);
    let mut lines = Vec::new();
    for (kind, chip) in reactions.iter().zip(&chips) {
        let mine = me.is_some_and(|me| kind.users.contains(me));
        let names: Vec<String> = kind
            .users
            .iter()
            .map(|u| {
                if Some(u) == me {
                    "you".to_owned()
                } else {
                    text::clean_line(u.as_str()).into_owned()
                }
            })
            .collect();
        let style: Style = if mine {
            theme.reaction_mine
        } else {
            theme.reaction
        };
        for (n, part) in text::wrap(&names.join(", "), room).into_iter().enumerate() {
            let left = if n == 0 {
                let chip = text::truncate(chip, lead - GAP).into_owned();
                let pad = lead.saturating_sub(width(&chip));
                Span::styled(format!("{chip}{}", " ".repeat(pad)), style)
            } else {
                Span::raw(" ".repeat(lead))
            };
            lines.push(Line::from(vec![left, Span::styled(part, theme.body)]));
        }
    }
    lines
}

/// The who-reacted popup on a screen of `area`, for `lines` lines.
pub fn who_box(area: Rect, lines: usize) -> Rect {
    let h = u16::try_from(lines.max(1))
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(WHO_SIZE.1);
    centered(area, WHO_SIZE.0, h)
}

/// The who-reacted popup's lines on a screen of `size`, and the box it is
/// drawn in, for the message it is about (none once that is gone).
pub fn who_shown(model: &Model, theme: &Theme, size: (u16, u16)) -> (Vec<Line<'static>>, Rect) {
    let area = Rect::new(0, 0, size.0, size.1);
    let cols = usize::from(inner(centered(area, WHO_SIZE.0, WHO_SIZE.1)).width);
    let lines = match &model.popup {
        Some(Popup::Reactions { conv, seq, .. }) => message(model, conv, *seq)
            .map(|(c, e)| who_lines(&c.shown_reactions(e), model.me.as_ref(), theme, cols))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let boxed = who_box(area, lines.len());
    (lines, boxed)
}

/// How far the who-reacted popup scrolls on a screen of `size`: until its
/// last line shows.
pub fn who_scroll_limit(model: &Model, size: (u16, u16)) -> u16 {
    let (lines, boxed) = who_shown(model, &Theme::new(false), size);
    let rows = usize::from(inner(boxed).height);
    u16::try_from(lines.len().saturating_sub(rows)).unwrap_or(u16::MAX)
}
