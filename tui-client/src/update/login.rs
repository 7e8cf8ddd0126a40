//! The login form's Enter and the answers to it: log in to an account that
//! exists; once the server says the name has none, create it, but only with
//! the password typed twice and as long as the server asks.

use classchat_common::protocol::Secret;

use super::password::short_password;
use crate::message::Effect;
use crate::model::Model;

/// Enter on the form's last field.
pub fn submit(model: &mut Model, fx: &mut Vec<Effect>) {
    let Some(form) = model.login.as_mut() else {
        return;
    };
    let server = form.server.text().trim().to_owned();
    let user = form.name();
    let password = form.password.text();
    let problem = if server.is_empty() {
        Some((0, "say which server (host:port)".to_owned()))
    } else if user.is_empty() {
        Some((1, "say who you are".to_owned()))
    } else if password.is_empty() {
        Some((2, "type your password".to_owned()))
    } else if let Some(repeat) = &form.repeat {
        // A new account's password: checked here, before anything is sent.
        short_password(&password, form.min_password)
            .or_else(|| {
                (repeat.text() != password)
                    .then(|| "the two passwords differ; type the password twice again".to_owned())
            })
            .map(|why| (2, why))
    } else {
        None
    };
    if let Some((field, why)) = problem {
        if field == 2
            && let Some(repeat) = form.repeat.as_mut()
        {
            // Neither can be seen, so neither can be fixed: both afresh.
            repeat.clear();
            form.password.clear();
        }
        form.field = field;
        form.error = Some(why);
        return;
    }
    form.busy = true;
    form.error = None;
    if form.again {
        fx.push(Effect::Password(Secret(password)));
    } else {
        fx.push(Effect::Login {
            server,
            user,
            password: Secret(password),
            create: form.repeat.is_some(),
        });
    }
}

/// The server has no account of the name tried: the form asks for the
/// password again, saying that continuing creates the account.
pub fn no_account(model: &mut Model, min_password: usize) {
    if let Some(form) = model.login.as_mut() {
        form.no_account(min_password);
    }
}

pub fn failed(model: &mut Model, why: String) {
    if let Some(form) = model.login.as_mut() {
        form.busy = false;
        form.error = Some(why);
    }
}
