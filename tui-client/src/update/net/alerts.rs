//! The bell and desktop notifications: what rings, and how (`notify` in the
//! settings: the bell, a desktop notification, or nothing).
//!
//! A mention of you rings unless you are looking at it, in a muted
//! conversation too: `/mute` quiets a conversation's chatter, not someone
//! calling you by name. A direct message rings while the terminal window is in
//! the background, unless muted. Only what arrives live: never the catch-up
//! after a reconnect, and one conversation rings at most once every few
//! seconds, so a burst is one ring. A desktop notification says who and
//! where, in the client's own words, never what was written.

use classchat_common::{Conv, Username};

use crate::config::Notify;
use crate::message::Effect;
use crate::model::Model;

/// One conversation rings at most once in this long.
const ALERT_EVERY_MS: i64 = 5_000;

/// A new unread message from `from` arrived live in conversation `i`.
pub fn arrived(
    model: &mut Model,
    i: usize,
    from: &Username,
    mentions_me: bool,
    fx: &mut Vec<Effect>,
) {
    if model.notify_with == Notify::Off || model.syncing {
        return;
    }
    let conv = &model.convs[i];
    let looking = model.selected == Some(i) && model.terminal_focused && model.popup.is_none();
    let wanted = if mentions_me {
        !looking
    } else {
        !conv.conv.is_group() && !model.terminal_focused && !model.muted.contains(&conv.conv)
    };
    let now = model.now;
    let rang_lately = conv
        .alerted
        .is_some_and(|at| now.as_millis() - at.as_millis() < ALERT_EVERY_MS);
    if !wanted || rang_lately {
        return;
    }
    let text = said(from, &conv.conv, mentions_me);
    model.convs[i].alerted = Some(now);
    fx.push(match model.notify_with {
        Notify::Desktop => Effect::Desktop(text),
        Notify::Bell | Notify::Off => Effect::Bell,
    });
}

/// What a desktop notification says: names only, which the protocol keeps to
/// letters, digits, `_`, `-` and `.`.
fn said(from: &Username, conv: &Conv, mentions_me: bool) -> String {
    match (conv, mentions_me) {
        (Conv::Group(_), _) => format!("{from} mentioned you in {conv}"),
        (Conv::User(_), true) => format!("{from} mentioned you"),
        (Conv::User(_), false) => format!("{from} sent you a message"),
    }
}
