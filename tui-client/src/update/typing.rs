//! "alice is typing…", both ways. Out: as you edit the draft, the others are
//! told, at most once every `TYPING_EVERY_MS` per conversation; never for a
//! command, where you may not post, while disconnected, or with `typing =
//! false`. In: who is typing in each conversation, shown (by the status line)
//! until `TYPING_SHOWN_MS` after their last `typing`, and no longer once they
//! send something or go offline.

use classchat_common::{ClientMessage, Conv, Username};
use ratatui_textarea::TextArea;

use crate::message::Effect;
use crate::model::{LinkState, Model};

/// The draft of the open conversation changed.
pub fn edited(model: &mut Model, fx: &mut Vec<Effect>) {
    if !model.tell_typing || model.link != LinkState::Connected {
        return;
    }
    let now = model.now;
    let Some(conv) = model.current_mut() else {
        return;
    };
    if conv.may_post() && is_text(&conv.draft) && conv.typing.say(now) {
        fx.push(Effect::Ask(ClientMessage::Typing {
            to: conv.conv.clone(),
        }));
    }
}

/// Whether the draft is a message being written: something typed, and not a
/// command (`//` starts a message that begins with `/`).
fn is_text(draft: &TextArea<'_>) -> bool {
    let lines = draft.lines();
    let first = lines.first().map_or("", String::as_str);
    let command = first.starts_with('/') && !first.starts_with("//");
    !command && lines.iter().any(|l| !l.trim().is_empty())
}

/// `typing` from the server: `user` is typing in `conv` (one of yours; a
/// conversation the client does not list is not made for it).
pub fn heard(model: &mut Model, conv: &Conv, user: &Username) {
    if model.me.as_ref() == Some(user) {
        return;
    }
    let now = model.now;
    if let Some(i) = model.find(conv) {
        model.convs[i].typing.heard(user, now);
    }
}

/// `user` went offline: typing nowhere.
pub fn gone(model: &mut Model, user: &Username) {
    for c in &mut model.convs {
        c.typing.stopped(user);
    }
}

/// The clock moved: those whose time is up are no longer shown.
pub fn expire(model: &mut Model) {
    let now = model.now;
    for c in &mut model.convs {
        c.typing.expire(now);
    }
}
