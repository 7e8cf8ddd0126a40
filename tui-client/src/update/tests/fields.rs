//! Every text field edits with the same keys: the message input, the login
//! form (each of its fields, also the password again and logging in again),
//! the `/passwd` form, "save as", the picker's filter and the switcher's query.

use crossterm::event::KeyCode;

use super::*;
use crate::fixtures::files::*;
use crate::message::Msg;
use crate::model::Popup;

/// A text field: how to reach it from a fresh model, and how to read it.
struct Field {
    name: &'static str,
    open: fn() -> Model,
    text: fn(&Model) -> String,
}

fn login_text(model: &Model) -> String {
    let form = model.login.as_ref().expect("the login form");
    match form.field {
        0 => form.server.text(),
        1 => form.user.text(),
        3 => form.repeat.as_ref().expect("the repeat").text(),
        _ => form.password.text(),
    }
}

fn passwd_text(model: &Model) -> String {
    match &model.popup {
        Some(Popup::Password(form)) => form.value(form.field),
        other => panic!("the password form, not {other:?}"),
    }
}

/// The `/passwd` form with its field `n` chosen.
fn passwd_at(n: usize) -> Model {
    let mut model = demo_model(90, 30);
    submit(&mut model, "/passwd");
    for _ in 0..n {
        press(&mut model, plain(KeyCode::Tab));
    }
    model
}

fn fields() -> Vec<Field> {
    vec![
        Field {
            name: "the message input",
            open: || demo_model(90, 30),
            text: draft,
        },
        Field {
            name: "the login form's server",
            open: || {
                let mut model = login_model(80, 24);
                press(&mut model, plain(KeyCode::BackTab));
                model
            },
            text: login_text,
        },
        Field {
            name: "the login form's name",
            open: || login_model(80, 24),
            text: login_text,
        },
        Field {
            name: "the login form's password",
            open: || {
                let mut model = login_model(80, 24);
                press(&mut model, plain(KeyCode::Tab));
                model
            },
            text: login_text,
        },
        Field {
            name: "the login form's password again",
            open: || {
                let mut model = login_model(80, 24);
                submit(&mut model, "alcie");
                submit(&mut model, "correct horse");
                press(&mut model, Msg::NoAccount { min_password: 8 });
                model
            },
            text: login_text,
        },
        Field {
            name: "the password when logging in again",
            open: || {
                let mut model = demo_model(90, 30);
                press(&mut model, needs_password("wrong password for alice"));
                model
            },
            text: login_text,
        },
        Field {
            name: "/passwd's current password",
            open: || passwd_at(0),
            text: passwd_text,
        },
        Field {
            name: "/passwd's new password",
            open: || passwd_at(1),
            text: passwd_text,
        },
        Field {
            name: "/passwd's new password again",
            open: || passwd_at(2),
            text: passwd_text,
        },
        Field {
            name: "the offer's save as",
            open: || {
                let mut model = files_model(90, 30);
                let offer = file_info(1, "notes.pdf", 1_234_567);
                arrives(&mut model, file_offer("bob", 11, "bob", now(), offer));
                press(&mut model, ctrl('o'));
                press(&mut model, plain(KeyCode::Char('s')));
                model
            },
            text: |model| match &model.popup {
                Some(Popup::Offer {
                    save_as: Some(folder),
                    ..
                }) => folder.text(),
                other => panic!("save as, not {other:?}"),
            },
        },
        Field {
            name: "the picker's filter",
            open: || {
                // Only read when a folder is opened: the filter alone never is.
                let mut model = files_model(90, 30);
                submit(&mut model, "/sendfile");
                model
            },
            text: |model| match &model.popup {
                Some(Popup::Picker(p)) => p.query(),
                other => panic!("the picker, not {other:?}"),
            },
        },
        Field {
            name: "the switcher's query",
            open: || {
                let mut model = demo_model(90, 30);
                press(&mut model, ctrl('k'));
                model
            },
            text: |model| match &model.popup {
                Some(Popup::Switcher { query, .. }) => query.text(),
                other => panic!("the switcher, not {other:?}"),
            },
        },
    ]
}

/// The keys that type `text`.
fn keys_of(text: &str) -> Vec<Msg> {
    text.chars().map(|c| plain(KeyCode::Char(c))).collect()
}

#[test]
fn every_text_field_takes_the_same_editing_keys() {
    for field in fields() {
        let mut model = (field.open)();
        // Whatever the field holds at first (the server's address, the
        // download folder) stays in front of what the test types.
        let was = (field.text)(&model);
        let typed = format!("{was} hello world");
        let inside = format!("<{was} hello worl!d");
        let mut deleted: Vec<char> = inside.chars().collect();
        deleted.remove(1);
        let deleted: String = deleted.into_iter().collect();
        let steps: Vec<(&str, Vec<Msg>, String)> = vec![
            ("Ctrl+E goes to the end", vec![ctrl('e')], was.clone()),
            ("typing", keys_of(" hello world"), typed.clone()),
            (
                "Ctrl+W deletes a word",
                vec![ctrl('w')],
                format!("{was} hello "),
            ),
            ("Ctrl+Y puts it back", vec![ctrl('y')], typed.clone()),
            ("Ctrl+A goes to the start", vec![ctrl('a')], typed.clone()),
            ("typing at the start", keys_of("<"), format!("<{typed}")),
            (
                "End goes to the end",
                vec![plain(KeyCode::End)],
                format!("<{typed}"),
            ),
            (
                "Left moves back",
                vec![plain(KeyCode::Left), plain(KeyCode::Char('!'))],
                inside.clone(),
            ),
            ("Ctrl+U deletes to the start", vec![ctrl('u')], "d".into()),
            ("Ctrl+Y puts it back", vec![ctrl('y')], inside.clone()),
            ("Ctrl+Z undoes", vec![ctrl('z')], "d".into()),
            ("Ctrl+R redoes", vec![ctrl('r')], inside.clone()),
            (
                "Home, Right, Delete",
                vec![
                    plain(KeyCode::Home),
                    plain(KeyCode::Right),
                    plain(KeyCode::Delete),
                ],
                deleted,
            ),
        ];
        for (what, keys, expected) in steps {
            for key in keys {
                press(&mut model, key);
            }
            assert_eq!((field.text)(&model), expected, "{}: {what}", field.name);
        }
    }
}
