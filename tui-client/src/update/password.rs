//! `/passwd`: the form that changes your password, and the server's answer.

use classchat_common::ClientMessage;
use classchat_common::protocol::Secret;
use crossterm::event::{KeyCode, KeyEvent};

use crate::keymap::Action;
use crate::message::Effect;
use crate::model::{Asked, Model, PasswordChange, Popup};

pub fn open(model: &mut Model) {
    let form = PasswordChange::new(model.min_password);
    model.popup = Some(Popup::Password(Box::new(form)));
}

pub fn key(model: &mut Model, key: KeyEvent, action: Option<Action>, fx: &mut Vec<Effect>) {
    if action == Some(Action::Close) {
        model.popup = None;
        return;
    }
    let Some(Popup::Password(form)) = model.popup.as_mut() else {
        return;
    };
    if form.busy {
        return;
    }
    match key.code {
        KeyCode::Tab | KeyCode::Down => form.field = (form.field + 1) % 3,
        KeyCode::BackTab | KeyCode::Up => form.field = (form.field + 2) % 3,
        KeyCode::Enter if form.field < 2 => form.field += 1,
        KeyCode::Enter => submit(model, fx),
        _ => {
            if let Some(field) = form.fields.get_mut(form.field) {
                field.key(key, action);
            }
        }
    }
}

pub fn paste(form: &mut PasswordChange, text: &str) {
    if let Some(field) = form.fields.get_mut(form.field) {
        field.paste(text);
    }
}

fn submit(model: &mut Model, fx: &mut Vec<Effect>) {
    let Some(Popup::Password(form)) = model.popup.as_mut() else {
        return;
    };
    let (old, new, again) = (form.value(0), form.value(1), form.value(2));
    let short = short_password(&new, form.min_password);
    let problem = if old.is_empty() {
        Some((0, "type the password you have now".to_owned()))
    } else if new.is_empty() {
        Some((1, "type the new password".to_owned()))
    } else if let Some(short) = short {
        Some((1, short))
    } else if new != again {
        Some((
            2,
            "the new password and its repeat differ; type it again".to_owned(),
        ))
    } else {
        None
    };
    if let Some((field, why)) = problem {
        if field == 1 {
            // The new one is typed afresh, and its repeat with it.
            form.clear(1);
            form.clear(2);
        }
        form.field = field;
        form.error = Some(why);
        return;
    }
    form.busy = true;
    form.error = None;
    let req = model.ask(Asked::Password);
    fx.push(Effect::Ask(ClientMessage::Password {
        req: Some(req),
        old: Secret(old),
        new: Secret(new),
    }));
}

/// Why `password` cannot be a new password on a server that takes at least
/// `min` characters, if it cannot: said before sending, not after a refusal.
pub fn short_password(password: &str, min: usize) -> Option<String> {
    let n = password.chars().count();
    (n < min).then(|| format!("too short: at least {min} characters, and this one has {n}"))
}

/// `password_changed`: the form closes, and the client logs in with the new
/// password from now on if it ever has to.
pub fn changed(model: &mut Model, fx: &mut Vec<Effect>) {
    if let Some(Popup::Password(form)) = model.popup.take_if(|p| matches!(p, Popup::Password(_))) {
        fx.push(Effect::Password(Secret(form.value(1))));
    }
    model.notify(
        "password changed; your other logins will ask for the new one",
        false,
    );
}

/// The change was refused: the form says why and lets the current password be
/// typed again. Answers whether the form was there to say it.
pub fn refused(model: &mut Model, why: &str) -> bool {
    let Some(Popup::Password(form)) = model.popup.as_mut() else {
        return false;
    };
    form.busy = false;
    form.error = Some(why.to_owned());
    form.clear(0);
    form.field = 0;
    true
}
