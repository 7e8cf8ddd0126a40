//! Signing up on screen: the login form when the name has no account yet,
//! when the two passwords differ, while it creates the account, and the
//! `/passwd` form naming the shortest password the server takes.

use crossterm::event::KeyCode;

use crate::fixtures::*;
use crate::message::Msg;

/// The form after trying alcie, which has no account, on a server that takes
/// passwords of at least 8 characters.
fn alcie_has_no_account() -> crate::model::Model {
    let mut model = login_model(80, 24);
    submit(&mut model, "alcie");
    submit(&mut model, "correct horse");
    press(&mut model, Msg::NoAccount { min_password: 8 });
    model
}

#[test]
fn a_name_without_an_account_asks_for_the_password_again_before_creating_it() {
    snapshot!(alcie_has_no_account());
}

#[test]
fn the_login_form_says_when_the_two_passwords_differ() {
    let mut model = alcie_has_no_account();
    submit(&mut model, "correct hose");
    snapshot!(model);
}

#[test]
fn the_login_form_says_a_new_password_is_too_short_before_sending_it() {
    let mut model = login_model(80, 24);
    submit(&mut model, "alcie");
    submit(&mut model, "hunter2");
    press(&mut model, Msg::NoAccount { min_password: 8 });
    submit(&mut model, "hunter2");
    snapshot!(model);
}

#[test]
fn the_login_form_creating_the_account_says_connecting() {
    let mut model = alcie_has_no_account();
    submit(&mut model, "correct horse");
    snapshot!(model);
}

#[test]
fn the_password_form_names_the_shortest_password_the_server_takes() {
    let mut model = demo_model(90, 30);
    submit(&mut model, "/passwd");
    type_text(&mut model, "old one");
    press(&mut model, plain(KeyCode::Tab));
    snapshot!(model);
}
