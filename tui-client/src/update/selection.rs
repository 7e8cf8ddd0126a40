//! Keys while a message is selected (`Alt+Up`): move, see who read it, retry
//! a failed one, reply, edit, delete, pin (in `pins.rs`), react and see who
//! reacted (in `reactions.rs`), and go to the
//! message a reply quotes, loading older pages (a bounded number) until it is
//! there; the pins popup goes to a message the same way.

use classchat_common::limits::HISTORY_PAGE_MAX;
use classchat_common::{ClientMessage, MessageId};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::input::replace_text;
use crate::keymap::Action;
use crate::layout::{self, Ctx};
use crate::message::Effect;
use crate::model::{Asked, Composing, Conversation, Entry, Focus, Model, Scroll, Seek};
use crate::outbox::Target;
use crate::theme::Theme;
use crate::tracker::Stage;

/// Older pages a jump to a quoted message may load before giving up.
const SEEK_PAGES: u8 = 25;

/// A key while entry `at` is selected; `false` lets the key fall through.
pub fn key(
    model: &mut Model,
    key: KeyEvent,
    action: Option<Action>,
    at: usize,
    fx: &mut Vec<Effect>,
) -> bool {
    let Some(index) = model.selected else {
        model.focus = Focus::Input;
        return false;
    };
    let conv = &model.convs[index];
    let count = conv.entries.len();
    let entry = conv.entries.get(at);
    let is_reply = entry.is_some_and(|e| e.reply.is_some());
    let failed = entry.is_some_and(is_failed);
    let letter = |c: char| {
        key.code == KeyCode::Char(c)
            && !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    };
    match (key.code, action) {
        (_, Some(Action::Close)) => model.focus = Focus::Input,
        (KeyCode::Up, _) | (_, Some(Action::SelectMessages)) => {
            move_selection(model, index, at.saturating_sub(1));
        }
        (KeyCode::Down, _) if at + 1 >= count => model.focus = Focus::Input,
        (KeyCode::Down, _) => move_selection(model, index, at + 1),
        (KeyCode::Enter, _) if is_reply => go_to_quote(model, index, at, fx),
        (KeyCode::Enter, _) => read_by(model, index, at, fx),
        _ if letter('i') => read_by(model, index, at, fx),
        _ if letter('g') => go_to_quote(model, index, at, fx),
        _ if letter('r') && failed => retry(model, index, at, fx),
        _ if letter('r') => reply(model, index, at),
        _ if letter('e') => edit(model, index, at),
        (KeyCode::Delete, _) => delete(model, index, at),
        _ if letter('d') => delete(model, index, at),
        _ if letter('p') => super::pins::toggle(model, index, at, fx),
        _ if letter('+') => super::reactions::open_picker(model, index, at),
        _ if letter('w') => super::reactions::show_who(model, index, at),
        (KeyCode::Char(_), None) => {
            model.focus = Focus::Input;
            return false;
        }
        _ => return false,
    }
    true
}

fn is_failed(e: &Entry) -> bool {
    e.mine && e.status.is_some_and(|s| s.stage == Stage::Failed)
}

pub fn move_selection(model: &mut Model, index: usize, to: usize) {
    model.focus = Focus::Messages(to);
    let theme = Theme::new(model.look.color);
    let area = layout::model_areas(model).message_lines();
    let conv = &model.convs[index];
    let ctx = Ctx::new(model, &theme, &conv.conv, area.width);
    let shown = layout::visible(conv, &ctx, usize::from(area.height), None);
    let h = layout::entry_lines(conv, to, &ctx, false).len() as isize;
    if shown
        .top
        .is_some_and(|top| to < top || (to == top && !shown.reached_top))
    {
        super::keys::scroll_by(model, &theme, area, -h);
    } else if shown.bottom.is_some_and(|bottom| to >= bottom) {
        super::keys::scroll_by(model, &theme, area, h);
    }
}

fn read_by(model: &mut Model, index: usize, at: usize, fx: &mut Vec<Effect>) {
    let Some(entry) = model.convs[index].entries.get(at) else {
        return;
    };
    if !entry.mine || entry.seq.is_none() || entry.event.is_some() || entry.deleted {
        model.notify("read receipts are shown for your own sent messages", false);
        return;
    }
    let id = entry.id;
    let req = model.ask(Asked::Quiet);
    fx.push(Effect::Ask(ClientMessage::ReadBy { req: Some(req), id }));
}

/// `r` on a failed message of yours: it goes again, as a new message (a
/// reply still quoting what it answered).
fn retry(model: &mut Model, index: usize, at: usize, fx: &mut Vec<Effect>) {
    let conv = &mut model.convs[index];
    let old = conv.entries.remove(at);
    let id = MessageId::new();
    let to = conv.conv.clone();
    let target = old.reply.as_ref().map(|q| Target::Reply(q.seq));
    conv.entries.push(Entry {
        reply: old.reply,
        ..Entry::sending(id, old.from, &old.body, model.now)
    });
    conv.scroll = Scroll::Bottom;
    model.focus = Focus::Input;
    fx.push(Effect::Send {
        id,
        to,
        body: old.body,
        target,
    });
}

/// Whether you may write in `conv` (not so for a plain member of an
/// announcement group); says why not when not.
fn may_write(model: &mut Model, index: usize) -> bool {
    let conv = &model.convs[index];
    if conv.may_post() {
        return true;
    }
    let why = format!(
        "only the owner and moderators post in {}; you may read and use commands",
        conv.conv
    );
    let conv = conv.conv.clone();
    model.notify_about(&conv, why, true);
    false
}

/// `r`: the draft becomes a reply to the message (Esc makes it plain again).
fn reply(model: &mut Model, index: usize, at: usize) {
    let quote = model.convs[index]
        .entries
        .get(at)
        .filter(|e| !e.deleted)
        .and_then(Entry::quote);
    let Some(quote) = quote else {
        return model.notify(
            "only a message that is stored and not deleted can be answered",
            false,
        );
    };
    if !may_write(model, index) {
        return;
    }
    let conv = &mut model.convs[index];
    stop_composing(conv);
    conv.composing = Some(Composing::Reply(Box::new(quote)));
    model.focus = Focus::Input;
}

/// `e`: the draft holds the message's text to change (Esc gives back what
/// was typed before).
fn edit(model: &mut Model, index: usize, at: usize) {
    let conv = &model.convs[index];
    let editable = conv
        .entries
        .get(at)
        .filter(|e| e.mine && e.is_live_text())
        .and_then(|e| Some((e.seq?, e.body.clone())));
    let Some((seq, body)) = editable else {
        return model.notify("only your own text messages can be edited", false);
    };
    if !may_write(model, index) {
        return;
    }
    let conv = &mut model.convs[index];
    stop_composing(conv);
    let kept = conv.draft.lines().join("\n");
    replace_text(&mut conv.draft, &body);
    conv.composing = Some(Composing::Edit { seq, kept });
    model.focus = Focus::Input;
    model.completion = None;
    model.recall = None;
}

/// `d` or Delete: asks first, then deletes the message for everyone. Yours,
/// or any in a group you own or moderate.
fn delete(model: &mut Model, index: usize, at: usize) {
    let conv = &model.convs[index];
    let Some(e) = conv.entries.get(at) else {
        return;
    };
    let Some(seq) = e.seq.filter(|_| e.is_live_text()) else {
        return model.notify("only a text message that is stored can be deleted", false);
    };
    if !conv.may_delete(e) {
        let why = if conv.conv.is_group() {
            "only its author, the owner or a moderator can delete someone's message"
        } else {
            "you can delete only your own messages"
        };
        return model.notify(why, false);
    }
    let conv = conv.conv.clone();
    super::confirm::unsend(model, conv, seq);
}

/// The draft goes back to plain text; an edit gives back what was typed before.
pub fn stop_composing(conv: &mut Conversation) {
    if let Some(Composing::Edit { kept, .. }) = conv.composing.take() {
        replace_text(&mut conv.draft, &kept);
    }
}

/// `g`, or Enter on a reply: selects the message it quotes.
fn go_to_quote(model: &mut Model, index: usize, at: usize, fx: &mut Vec<Effect>) {
    let quoted = model.convs[index]
        .entries
        .get(at)
        .and_then(|e| e.reply.as_ref())
        .map(|q| q.seq);
    match quoted {
        Some(seq) => go_to(model, index, seq, SEEK_PAGES, fx),
        None => model.notify("this message is not a reply", false),
    }
}

/// Opens conversation `index` at message `seq`, selected: as [`go_to`], once
/// the conversation's newest page is there if it was never opened.
pub fn show_message(model: &mut Model, index: usize, seq: u64, fx: &mut Vec<Effect>) {
    super::select(model, index);
    let conv = &mut model.convs[index];
    if conv.opened {
        return go_to(model, index, seq, SEEK_PAGES, fx);
    }
    // `after` asks for the newest page; its arrival takes the next step (`seek_on`).
    conv.seeking = Some(Seek {
        seq,
        pages_left: SEEK_PAGES,
    });
}

/// Selects message `seq` of conversation `index`, showing it at the top of
/// the pane. One not loaded yet is looked for in older pages, at most
/// `pages_left` more of them.
fn go_to(model: &mut Model, index: usize, seq: u64, pages_left: u8, fx: &mut Vec<Effect>) {
    let conv = &mut model.convs[index];
    conv.seeking = None;
    if let Ok(at) = conv.search(seq) {
        return reveal(model, index, at);
    }
    let oldest = conv.oldest_seq().filter(|&oldest| oldest > seq);
    let Some(oldest) = oldest.filter(|_| conv.more_older && pages_left > 0) else {
        return model.notify("that message is no longer in the history", false);
    };
    conv.seeking = Some(Seek {
        seq,
        pages_left: pages_left - 1,
    });
    if conv.loading {
        // The page on its way takes the next step (`seek_on`).
        return;
    }
    conv.loading = true;
    let name = conv.conv.clone();
    // Enough to reach it in one page when the server allows it.
    let limit = u32::try_from(oldest - seq + 1)
        .unwrap_or(u32::MAX)
        .min(HISTORY_PAGE_MAX);
    let req = model.ask(Asked::Older(name.clone()));
    fx.push(Effect::Ask(ClientMessage::History {
        req: Some(req),
        conv: name,
        before: Some(oldest),
        after: None,
        limit: Some(limit),
    }));
}

/// A page of conversation `index` arrived: if a quoted message was being
/// looked for there, go on (it may be loaded now). Moving to another
/// conversation meanwhile gives the search up.
pub fn seek_on(model: &mut Model, index: usize, fx: &mut Vec<Effect>) {
    let Some(seek) = model.convs[index].seeking.take() else {
        return;
    };
    if model.selected == Some(index) {
        go_to(model, index, seek.seq, seek.pages_left, fx);
    }
}

/// Selects entry `at`, scrolled so that it is at the top of the pane, with
/// what followed it under it.
fn reveal(model: &mut Model, index: usize, at: usize) {
    model.focus = Focus::Messages(at);
    let theme = Theme::new(model.look.color);
    let area = layout::model_areas(model).message_lines();
    let conv = &model.convs[index];
    let ctx = Ctx::new(model, &theme, &conv.conv, area.width);
    let scroll = layout::from_the_top(conv, &ctx, usize::from(area.height), at);
    model.convs[index].scroll = scroll;
}
