//! Signing up is hard to get wrong: the login form logs in only to an account
//! that exists until the user confirms a new one with the password typed
//! twice, and a new password shorter than the server takes is refused by the
//! form (also in `/passwd`) before anything is sent.

use classchat_common::ClientMessage;
use crossterm::event::KeyCode;

use super::*;
use crate::message::Msg;
use crate::model::{LoginForm, Popup};

fn form(model: &Model) -> &LoginForm {
    model.login.as_ref().expect("the login form")
}

/// What the screen says, its wrapped lines joined again (box sides left out).
fn said(model: &Model) -> String {
    let rows: Vec<String> = screen(model)
        .lines()
        .map(|l| l.trim_matches(|c: char| c == ' ' || c == '│').to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    rows.join(" ")
}

/// The logins `fx` asks for: the name, the password and whether it creates.
fn logins(fx: &[Effect]) -> Vec<(String, String, bool)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Login {
                user,
                password,
                create,
                ..
            } => Some((user.clone(), password.0.clone(), *create)),
            _ => None,
        })
        .collect()
}

/// The form after trying `name` with `password`, and the server saying the
/// name has no account (passwords of at least 8 characters).
fn no_account_for(name: &str, password: &str) -> Model {
    let mut model = login_model(80, 24);
    submit(&mut model, name);
    let fx = submit(&mut model, password);
    assert_eq!(
        logins(&fx),
        [(name.to_owned(), password.to_owned(), false)],
        "the first try never creates an account"
    );
    press(&mut model, Msg::NoAccount { min_password: 8 });
    model
}

#[test]
fn a_name_without_an_account_is_created_only_once_the_password_is_typed_twice() {
    let mut model = no_account_for("alcie", "correct horse");
    let f = form(&model);
    assert!(!f.busy && f.error.is_none());
    assert!(f.repeat.is_some(), "a field for the password again");
    assert_eq!(f.field, 3, "and the cursor in it");
    let shown = said(&model);
    for says in [
        "No account named alcie on this server yet",
        "Continuing creates it: type the password again to confirm (at least 8 characters)",
    ] {
        assert!(shown.contains(says), "{says}:\n{shown}");
    }

    let fx = submit(&mut model, "correct horse");
    assert_eq!(
        logins(&fx),
        [("alcie".to_owned(), "correct horse".to_owned(), true)]
    );
    assert!(form(&model).busy);
}

#[test]
fn a_repeat_that_differs_sends_nothing_and_both_are_typed_afresh() {
    let mut model = no_account_for("alcie", "correct horse");
    let fx = submit(&mut model, "correct hose");
    assert_eq!(fx, []);
    let f = form(&model);
    assert!(f.error.as_deref().is_some_and(|e| e.contains("differ")));
    assert!(f.password.is_empty() && f.repeat.as_ref().is_some_and(|r| r.is_empty()));
    assert_eq!(f.field, 2, "back to the password");

    submit(&mut model, "battery staple");
    let fx = submit(&mut model, "battery staple");
    assert_eq!(
        logins(&fx),
        [("alcie".to_owned(), "battery staple".to_owned(), true)]
    );
}

#[test]
fn a_new_password_shorter_than_the_server_takes_is_refused_by_the_form() {
    let mut model = no_account_for("alcie", "hunter2");
    let fx = submit(&mut model, "hunter2");
    assert_eq!(fx, [], "nothing is sent for the server to refuse");
    let error = form(&model).error.clone().unwrap_or_default();
    assert!(
        error.contains("at least 8 characters") && error.contains("has 7"),
        "{error}"
    );
}

#[test]
fn changing_the_name_after_no_account_logs_in_to_an_existing_one_again() {
    let mut model = no_account_for("alcie", "correct horse");
    press(&mut model, plain(KeyCode::BackTab));
    press(&mut model, plain(KeyCode::BackTab));
    assert_eq!(form(&model).field, 1, "on the name");
    press(&mut model, ctrl('u'));
    type_text(&mut model, "alice");
    assert!(
        form(&model).repeat.is_none(),
        "the question was about alcie"
    );
    press(&mut model, plain(KeyCode::Enter));
    let fx = press(&mut model, plain(KeyCode::Enter));
    assert_eq!(
        logins(&fx),
        [("alice".to_owned(), "correct horse".to_owned(), false)]
    );
}

#[test]
fn a_server_that_names_no_minimum_is_not_said_to_have_one() {
    let mut model = login_model(80, 24);
    submit(&mut model, "alcie");
    submit(&mut model, "pw");
    press(&mut model, Msg::NoAccount { min_password: 0 });
    let shown = said(&model);
    assert!(shown.contains("No account named alcie"), "{shown}");
    assert!(!shown.contains("at least"), "{shown}");
    let fx = submit(&mut model, "pw");
    assert_eq!(logins(&fx), [("alcie".to_owned(), "pw".to_owned(), true)]);
}

// ---- /passwd --------------------------------------------------------------------

#[test]
fn passwd_shows_the_shortest_password_and_refuses_a_shorter_one_itself() {
    let mut model = demo_model(90, 30);
    submit(&mut model, "/passwd");
    let shown = said(&model);
    assert!(shown.contains("At least 8 characters"), "{shown}");

    submit(&mut model, "old one");
    submit(&mut model, "hunter2");
    let fx = submit(&mut model, "hunter2");
    assert_eq!(fx, [], "nothing is sent for the server to refuse");
    let Some(Popup::Password(form)) = &model.popup else {
        panic!("the form stays");
    };
    assert!(
        form.error
            .as_deref()
            .is_some_and(|e| e.contains("at least 8 characters")),
        "{:?}",
        form.error
    );
    assert_eq!(form.field, 1, "the new one is typed again");
    assert!(form.value(1).is_empty() && form.value(2).is_empty());

    submit(&mut model, "hunter22");
    let fx = submit(&mut model, "hunter22");
    assert!(
        matches!(fx.as_slice(), [Effect::Ask(ClientMessage::Password { new, .. })] if new.0 == "hunter22"),
        "{fx:?}"
    );
}
