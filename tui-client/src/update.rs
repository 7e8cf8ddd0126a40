//! The only place the model changes: `update(model, msg)` applies one message
//! and returns the effects for the run loop to carry out.
//!
//! Layout: [`keys`] (keyboard, mouse, the login form's keys), [`selection`]
//! (keys on a selected message: reply, edit, delete, pin, react, go to a
//! quote, who read it, retry), [`login`] (what the login form sends, and the answers),
//! [`popup`] (keys over a popup), [`confirm`] (the actions that ask first:
//! `/delete`, deleting a message, declining an offer, quitting with work
//! unfinished), [`input`] (what Enter, Tab and Up do in the input bar, and
//! what a reply or an edit sends), [`net`] (what the server said), [`files`] (the file
//! picker, offers, transfers), [`password`] (the `/passwd` form), [`typing`]
//! (telling others you type; who is typing here), [`pins`] (pinning, and the
//! `/pins` popup), [`reactions`] (the reaction picker, who reacted),
//! [`search`] (the search popup: asking page by page, going to a result). This
//! file holds the rules that apply after every message: keep the input bar
//! full of the draft, open the selected conversation, mark what is on screen
//! as read, fetch older history when the top is reached.

mod confirm;
mod files;
mod input;
mod keys;
mod login;
mod net;
mod password;
mod pins;
mod popup;
mod reactions;
mod search;
mod selection;
#[cfg(test)]
mod tests;
mod typing;

use classchat_common::limits::HISTORY_PAGE_DEFAULT;
use classchat_common::{ClientMessage, Timestamp};

use crate::layout::{self, Ctx};
use crate::message::{Effect, Msg};
use crate::model::{Asked, Focus, Model, Scroll};
use crate::theme::Theme;

pub use input::replace_text;

/// Refresh who is online this often.
const WHO_EVERY_MS: i64 = 60_000;

pub fn update(model: &mut Model, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Key(key) => keys::on_key(model, key, &mut fx),
        Msg::Typed(keys) => keys::on_typed(model, &keys, &mut fx),
        Msg::Mouse(mouse) => keys::on_mouse(model, mouse, &mut fx),
        Msg::Paste(text) => keys::on_paste(model, &text, &mut fx),
        Msg::Resize(w, h) => model.size = (w, h),
        Msg::Focus(focused) => model.terminal_focused = focused,
        Msg::Tick(now) => tick(model, now, &mut fx),
        Msg::Net(event) => net::on_event(model, event, &mut fx),
        Msg::LoggedIn { user, server } => {
            model.login = None;
            model.me = Some(user);
            model.server = server;
        }
        Msg::LoginFailed(why) => login::failed(model, why),
        Msg::NoAccount { min_password } => login::no_account(model, min_password),
    }
    after(model, &mut fx);
    fx
}

fn tick(model: &mut Model, now: Timestamp, fx: &mut Vec<Effect>) {
    let minute_turned = now.as_millis() / WHO_EVERY_MS != model.now.as_millis() / WHO_EVERY_MS;
    model.now = now;
    model.age_notices();
    typing::expire(model);
    if minute_turned && model.me.is_some() && model.link == crate::model::LinkState::Connected {
        let req = model.ask(Asked::Quiet);
        fx.push(Effect::Ask(ClientMessage::Who { req: Some(req) }));
    }
}

/// A direct conversation that appeared mid-session does not know whether the
/// other user is online; ask once (presence events keep it current after that).
fn ask_presence(model: &mut Model, fx: &mut Vec<Effect>) {
    if model.link != crate::model::LinkState::Connected {
        return;
    }
    let unknown: Vec<classchat_common::Username> = model
        .convs
        .iter_mut()
        .filter(|c| c.online.is_none() && !c.presence_asked)
        .filter_map(|c| {
            c.presence_asked = true;
            match &c.conv {
                classchat_common::Conv::User(u) => Some(u.clone()),
                classchat_common::Conv::Group(_) => None,
            }
        })
        .collect();
    for user in unknown {
        let req = model.ask(Asked::Quiet);
        fx.push(Effect::Ask(ClientMessage::Whois {
            req: Some(req),
            user,
        }));
    }
}

/// The input bar shows as much of the draft as it can: no empty rows under
/// the draft while rows of it are hidden above.
fn fill_input(model: &mut Model) {
    let width = layout::input_width(model.size.0);
    let most = layout::input_rows_most(model.size);
    let up = layout::input::rows_to_pull_down(model.input(), width, most);
    let up = i16::try_from(up).unwrap_or(i16::MAX);
    if up == 0 {
        return;
    }
    let input = model.input_mut();
    let cursor = input.cursor();
    input.scroll((-up, 0));
    // Scrolling moves the cursor into the rows the text area showed last; the
    // cursor was in view already, so it goes back where it was.
    if input.cursor() != cursor
        && let (Ok(row), Ok(col)) = (u16::try_from(cursor.0), u16::try_from(cursor.1))
    {
        input.move_cursor(ratatui_textarea::CursorMove::Jump(row, col));
    }
}

/// Opens `index` as the current conversation.
pub fn select(model: &mut Model, index: usize) {
    if index >= model.convs.len() {
        return;
    }
    if model.selected != Some(index) {
        model.previous = model.current().map(|c| c.conv.clone());
    }
    model.selected = Some(index);
    model.focus = Focus::Input;
    model.completion = None;
    model.recall = None;
    let conv = &mut model.convs[index];
    conv.new_marker = (conv.unread > 0).then_some((conv.read_upto, conv.unread));
    conv.open_at_new = conv.new_marker.is_some();
    conv.scroll = Scroll::Bottom;
}

/// The rules that hold after every change.
fn after(model: &mut Model, fx: &mut Vec<Effect>) {
    if model.login.is_some() {
        return;
    }
    fill_input(model);
    if model.me.is_none() {
        return;
    }
    model.forget_untrue_notices();
    files::tidy(model);
    ask_presence(model, fx);
    pins::keep_fetched(model, fx);
    let Some(index) = model.selected else { return };
    let theme = Theme::new(model.look.color);
    let area = layout::model_areas(model).message_lines();
    let height = usize::from(area.height);
    let conv = &model.convs[index];
    let ctx = Ctx::new(model, &theme, &conv.conv, area.width);

    if !conv.opened {
        let conv_name = conv.conv.clone();
        if let classchat_common::Conv::Group(group) = &conv_name {
            let req = model.ask(Asked::Quiet);
            fx.push(Effect::Ask(ClientMessage::Members {
                req: Some(req),
                group: group.clone(),
            }));
        }
        let req = model.ask(Asked::Recent(conv_name.clone()));
        let conv = &mut model.convs[index];
        conv.opened = true;
        conv.loading = true;
        fx.push(Effect::Ask(ClientMessage::History {
            req: Some(req),
            conv: conv_name,
            before: None,
            after: None,
            limit: Some(HISTORY_PAGE_DEFAULT),
        }));
        return;
    }

    // Opened with more unread than fit: start at the first of them, so none
    // is marked read without having been on screen.
    if conv.open_at_new && !conv.loading {
        let scroll = conv.first_new().map_or(Scroll::Bottom, |first| {
            layout::from_the_top(conv, &ctx, height, first)
        });
        let conv = &mut model.convs[index];
        conv.open_at_new = false;
        if conv.scroll == Scroll::Bottom {
            conv.scroll = scroll;
        }
        return after(model, fx);
    }

    // A message counts as read only when it is on screen, in a focused terminal,
    // with nothing covering it.
    let on_screen = model.terminal_focused && model.popup.is_none();
    let newest = if on_screen {
        layout::newest_visible_seq(conv, &ctx, height).map(|seq| conv.read_through(seq))
    } else {
        None
    };
    let top_reached =
        !conv.loading && conv.more_older && layout::visible(conv, &ctx, height, None).reached_top;
    let oldest = conv.oldest_seq();
    let conv_name = conv.conv.clone();

    if let Some(seq) = newest.filter(|&s| s > model.convs[index].read_upto) {
        model.convs[index].mark_read(seq);
        let req = model.ask(Asked::Quiet);
        fx.push(Effect::Ask(ClientMessage::Read {
            req: Some(req),
            conv: conv_name.clone(),
            seq: Some(seq),
        }));
    }
    if top_reached && let Some(before) = oldest {
        let req = model.ask(Asked::Older(conv_name.clone()));
        model.convs[index].loading = true;
        fx.push(Effect::Ask(ClientMessage::History {
            req: Some(req),
            conv: conv_name,
            before: Some(before),
            after: None,
            limit: Some(HISTORY_PAGE_DEFAULT),
        }));
    }
}
