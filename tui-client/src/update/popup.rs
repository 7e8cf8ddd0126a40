//! Keys while a popup shows. A popup answers only to its own keys: a character
//! typed over a list (who, members, groups, pins, transfers, an offer, the
//! help, who read or reacted to a message, the reaction picker but for its
//! digits) is meant for the input, so the popup closes and the
//! character is typed there; a `/` starts a command. Nothing typed is lost and
//! no letter turns into an action the user did not see coming. The file
//! popups, the password form and the confirmations handle their own keys in
//! `files.rs`, `password.rs` and `confirm.rs`; the pins, reaction and search
//! popups in `pins.rs`, `reactions.rs` and `search.rs`.

use classchat_common::{ClientMessage, Conv};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{files, input, keys, select};
use crate::keymap::Action;
use crate::layout::help::help_scroll_limit;
use crate::layout::popup::who_page;
use crate::message::Effect;
use crate::model::switcher::{self, Item};
use crate::model::{Asked, Focus, Model, Popup};

pub fn key(model: &mut Model, key: KeyEvent, action: Option<Action>, fx: &mut Vec<Effect>) {
    if let Some(popup) = &model.popup
        && typed_char(&key, action).is_some_and(|c| !takes_char(popup, c))
    {
        model.popup = None;
        model.focus = Focus::Input;
        return keys::on_key(model, key, fx);
    }
    match model.popup {
        Some(Popup::Picker(_)) => return files::picker_key(model, key, action, fx),
        Some(Popup::Offer { .. }) => return files::offer_key(model, key, action, fx),
        Some(Popup::Transfers { .. }) => return files::transfers_key(model, key, action, fx),
        Some(Popup::Password(_)) => return super::password::key(model, key, action, fx),
        Some(Popup::Confirm(_)) => return super::confirm::key(model, key, action, fx),
        _ => {}
    }
    if action == Some(Action::Close) {
        model.popup = None;
        return;
    }
    match model.popup {
        Some(Popup::Help { .. }) => help_key(model, key),
        Some(Popup::Switcher { .. }) => switcher_key(model, key, action, fx),
        Some(Popup::Groups { .. }) => groups_key(model, key, fx),
        Some(Popup::Members { .. }) => members_key(model, key),
        Some(Popup::Who { .. }) => who_key(model, key),
        Some(Popup::Pins { .. }) => super::pins::popup_key(model, key, fx),
        Some(Popup::Search(_)) => super::search::key(model, key, action, fx),
        Some(Popup::React { .. }) => super::reactions::picker_key(model, key, fx),
        Some(Popup::Reactions { .. }) => super::reactions::who_key(model, key),
        Some(Popup::ReadBy { .. }) => model.popup = None,
        _ => {}
    }
}

/// The character `key` types, if it types one (Shift aside, no modifier, and
/// not bound to an action).
fn typed_char(key: &KeyEvent, action: Option<Action>) -> Option<char> {
    match key.code {
        KeyCode::Char(c)
            if action.is_none() && key.modifiers.difference(KeyModifiers::SHIFT).is_empty() =>
        {
            Some(c)
        }
        _ => None,
    }
}

/// Whether `popup` takes the character `c` itself. A popup with a text field
/// (the switcher's query, the search's words, the picker's filter, the
/// password form, "save as")
/// takes what is typed; any other popup only its own letters. Every popup is
/// named, so a new one has to say which it is.
fn takes_char(popup: &Popup, c: char) -> bool {
    match popup {
        // A query starting with `/` is a command: it goes to the input, where
        // it can be run with its arguments.
        Popup::Switcher { query, .. } => !(c == '/' && query.is_empty()),
        Popup::Search(search) => !(c == '/' && search.query.is_empty()),
        Popup::Picker(_)
        | Popup::Password(_)
        | Popup::Offer {
            save_as: Some(_), ..
        } => true,
        // Accept, save as, decline (which asks first), later, next, previous.
        Popup::Offer { save_as: None, .. } => "asdlnp".contains(c),
        Popup::Transfers { .. } => c == 'c',
        Popup::Confirm(_) => "yYnN".contains(c),
        // `?` opened the help; it closes it too.
        Popup::Help { .. } => c == '?',
        // A digit picks a reaction; `+` opened the picker, and closes it.
        Popup::React { .. } => c.is_ascii_digit() || c == '+',
        Popup::Reactions { .. }
        | Popup::ReadBy { .. }
        | Popup::Groups { .. }
        | Popup::Members { .. }
        | Popup::Who { .. }
        | Popup::Pins { .. } => false,
    }
}

fn help_key(model: &mut Model, key: KeyEvent) {
    let limit = help_scroll_limit(model, model.size);
    let Some(Popup::Help { scroll }) = model.popup.as_mut() else {
        return;
    };
    match key.code {
        KeyCode::Down | KeyCode::PageDown => {
            let step = if key.code == KeyCode::Down { 1 } else { 10 };
            *scroll = scroll.saturating_add(step).min(limit);
        }
        KeyCode::Up | KeyCode::PageUp => {
            *scroll = scroll.saturating_sub(if key.code == KeyCode::Up { 1 } else { 10 });
        }
        _ => model.popup = None,
    }
}

fn switcher_key(model: &mut Model, key: KeyEvent, action: Option<Action>, fx: &mut Vec<Effect>) {
    let Some(Popup::Switcher { query, selected }) = model.popup.as_mut() else {
        return;
    };
    let typed = query.text();
    match key.code {
        KeyCode::Up => *selected = selected.saturating_sub(1),
        KeyCode::Down | KeyCode::Tab => {
            // Stop at the last item, so the one shown chosen is the one Enter opens.
            let chosen = *selected;
            let last = switcher::items(model, &typed).len().saturating_sub(1);
            if let Some(Popup::Switcher { selected, .. }) = model.popup.as_mut() {
                *selected = (chosen + 1).min(last);
            }
        }
        KeyCode::Enter => {
            let chosen = *selected;
            let pick = switcher::items(model, &typed).into_iter().nth(chosen);
            model.popup = None;
            if let Some(item) = pick {
                open_item(model, item, fx);
            }
        }
        _ => {
            if query.key(key, action) {
                *selected = 0;
            }
        }
    }
}

fn open_item(model: &mut Model, item: Item, fx: &mut Vec<Effect>) {
    match item {
        Item::Conv(conv) => {
            if let Conv::Group(g) = &conv
                && model.find(&conv).is_none()
            {
                // A group heard of but not joined: ask to join it.
                let text = format!("/join {g}");
                let req = model.ask(Asked::Command(text));
                fx.push(Effect::Ask(ClientMessage::Join {
                    req: Some(req),
                    group: g.clone(),
                }));
                return;
            }
            let i = model.conversation(&conv);
            select(model, i);
        }
        Item::Command(name) => {
            let text = format!("/{name} ");
            input::replace_text(model.input_mut(), &text);
        }
    }
}

fn groups_key(model: &mut Model, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(Popup::Groups { groups, selected }) = model.popup.as_mut() else {
        return;
    };
    match key.code {
        KeyCode::Up => *selected = selected.saturating_sub(1),
        KeyCode::Down => *selected = (*selected + 1).min(groups.len().saturating_sub(1)),
        KeyCode::Enter => {
            let pick = groups.get(*selected).cloned();
            model.popup = None;
            let Some(g) = pick else { return };
            if g.member {
                let i = model.conversation(&Conv::Group(g.group));
                select(model, i);
            } else {
                let text = format!("/join {}", g.group);
                let req = model.ask(Asked::Command(text));
                fx.push(Effect::Ask(ClientMessage::Join {
                    req: Some(req),
                    group: g.group,
                }));
            }
        }
        _ => {}
    }
}

fn members_key(model: &mut Model, key: KeyEvent) {
    let Some(Popup::Members {
        members,
        banned,
        selected,
        ..
    }) = model.popup.as_mut()
    else {
        return;
    };
    let rows = members.len() + banned.len();
    match key.code {
        KeyCode::Up => *selected = selected.saturating_sub(1),
        KeyCode::Down => *selected = (*selected + 1).min(rows.saturating_sub(1)),
        KeyCode::Enter => {
            let pick = members
                .iter()
                .map(|m| &m.user)
                .chain(banned.iter())
                .nth(*selected)
                .cloned();
            model.popup = None;
            message(model, pick);
        }
        _ => {}
    }
}

fn who_key(model: &mut Model, key: KeyEvent) {
    let size = model.size;
    let Some(Popup::Who {
        online,
        total,
        selected,
    }) = model.popup.as_mut()
    else {
        return;
    };
    let page = who_page(size, online.len(), *total > online.len());
    let last = online.len().saturating_sub(1);
    match key.code {
        KeyCode::Up => *selected = selected.saturating_sub(1),
        KeyCode::Down => *selected = (*selected + 1).min(last),
        KeyCode::PageUp => *selected = selected.saturating_sub(page),
        KeyCode::PageDown => *selected = (*selected + page).min(last),
        KeyCode::Enter => {
            let pick = online.get(*selected).cloned();
            model.popup = None;
            message(model, pick);
        }
        _ => {}
    }
}

/// As `/msg name` without text: opens (or starts) the conversation with the
/// person chosen from a list, unless that is you.
fn message(model: &mut Model, pick: Option<classchat_common::Username>) {
    if let Some(user) = pick.filter(|u| Some(u) != model.me.as_ref()) {
        let i = model.conversation(&Conv::User(user));
        select(model, i);
    }
}
