//! The actions that ask first: `/delete` (a group and its history, for every
//! member), deleting a message for everyone (`d` on it, or `/unsend`),
//! declining a file offer from its popup (for good), and quitting while
//! transfers run or messages are still sending. The question is a
//! popup; only `y` (or, for quitting, the quit key again) goes ahead, so no
//! key typed by accident can do what cannot be undone.

use classchat_common::{ClientMessage, Conv, GroupName, OfferId};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::files;
use crate::keymap::Action;
use crate::message::Effect;
use crate::model::{Asked, Confirm, Model, Popup, Unfinished};
use crate::outbox::Target;

/// `Ctrl+C` or `/quit`: at once when nothing is left unfinished; otherwise the
/// question, which `y` or the quit key pressed again answers. The login form
/// always quits at once: it has nothing of its own to lose.
pub fn quit(model: &mut Model, fx: &mut Vec<Effect>) {
    let asked = matches!(model.popup, Some(Popup::Confirm(Confirm::Quit)));
    if asked || model.login.is_some() || Unfinished::of(model).is_empty() {
        model.quit = true;
        fx.push(Effect::Quit);
        return;
    }
    model.popup = Some(Popup::Confirm(Confirm::Quit));
}

/// `/delete group`: asks before anything is sent. `typed` is the command, to
/// give back if the server refuses it.
pub fn delete(model: &mut Model, group: GroupName, typed: String) {
    model.popup = Some(Popup::Confirm(Confirm::Delete { group, typed }));
}

/// `d` on a selected message, or `/unsend`: asks before deleting message
/// `seq` of `conv` for everyone.
pub fn unsend(model: &mut Model, conv: Conv, seq: u64) {
    model.popup = Some(Popup::Confirm(Confirm::Unsend { conv, seq }));
}

/// `d` in the offer popup: asks before declining for good.
pub fn decline(model: &mut Model, offer: OfferId) {
    model.popup = Some(Popup::Confirm(Confirm::Decline(offer)));
}

/// Keys while a question shows: `y` goes ahead; `n` or Esc go back (to the
/// offer, for a decline). Anything else does nothing here: a character is
/// typed into the input instead (`popup.rs`), which also closes the question.
pub fn key(model: &mut Model, key: KeyEvent, action: Option<Action>, fx: &mut Vec<Effect>) {
    let Some(Popup::Confirm(confirm)) = &model.popup else {
        return;
    };
    let confirm = confirm.clone();
    let plain = key.modifiers.difference(KeyModifiers::SHIFT).is_empty();
    match key.code {
        KeyCode::Char('y' | 'Y') if plain => {
            model.popup = None;
            go(model, confirm, fx);
        }
        KeyCode::Char('n' | 'N') if plain => back(model, &confirm),
        _ if action == Some(Action::Close) => back(model, &confirm),
        _ => {}
    }
}

fn go(model: &mut Model, confirm: Confirm, fx: &mut Vec<Effect>) {
    match confirm {
        Confirm::Delete { group, typed } => {
            let req = model.ask(Asked::Command(typed));
            fx.push(Effect::Ask(ClientMessage::Delete {
                req: Some(req),
                group,
            }));
        }
        Confirm::Decline(offer) => files::decline(model, offer, None, fx),
        Confirm::Unsend { conv, seq } => {
            let index = model.conversation(&conv);
            let target = Some(Target::Delete(seq));
            super::input::send(model, index, String::new(), target, fx);
        }
        Confirm::Quit => {
            model.quit = true;
            fx.push(Effect::Quit);
        }
    }
}

fn back(model: &mut Model, confirm: &Confirm) {
    model.popup = match confirm {
        Confirm::Decline(offer) => Some(Popup::offer(*offer)),
        Confirm::Delete { .. } | Confirm::Unsend { .. } | Confirm::Quit => None,
    };
}
