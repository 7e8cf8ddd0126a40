//! Signing up through the login form against the real server: a misspelt name
//! is not made into an account unless the user confirms it with the password
//! typed again; the form's keys go through the real `update`, its logins
//! through the app's real login attempt.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

use classchat_client::app::try_login;
use classchat_client::client::Event;
use classchat_client::config::Logins;
use classchat_client::message::{Effect, Msg};
use classchat_client::model::LoginForm;
use classchat_common::protocol::Secret;
use classchat_common::{ClientMessage, ErrorCode, ServerMessage};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

mod support;
use support::{TestServer, Ui, connect, expect};

/// The login form of a client with no saved login, on `server`.
fn form_on(server: &TestServer) -> Ui {
    let mut ui = Ui::new();
    ui.model.login = Some(LoginForm::new(&server.addr.to_string(), ""));
    ui
}

fn key(ui: &mut Ui, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    classchat_client::update::update(&mut ui.model, Msg::Key(KeyEvent::new(code, modifiers)))
}

/// Types `text` and presses Enter; what Enter asked for.
fn enter(ui: &mut Ui, text: &str) -> Vec<Effect> {
    for c in text.chars() {
        key(ui, KeyCode::Char(c), KeyModifiers::NONE);
    }
    key(ui, KeyCode::Enter, KeyModifiers::NONE)
}

/// Carries out the login `fx` asks for, as the app does, and tells the form
/// how it went; whether it logged in, and whether that made the account.
async fn log_in(ui: &mut Ui, fx: Vec<Effect>, logins: &Logins) -> Option<bool> {
    let [
        Effect::Login {
            server,
            user,
            password,
            create,
        },
    ] = <[Effect; 1]>::try_from(fx).unwrap()
    else {
        panic!("a login");
    };
    let tried = try_login(server, user, Some(password), create, None, logins.clone()).await;
    let (msg, created) = match tried {
        Ok((client, _, session, server)) => {
            client.quit().await;
            let msg = Msg::LoggedIn {
                user: session.user,
                server,
            };
            (msg, Some(session.created))
        }
        Err(msg) => (msg, None),
    };
    classchat_client::update::update(&mut ui.model, msg);
    created
}

#[tokio::test]
async fn a_misspelt_name_is_not_created_and_a_new_one_only_once_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let logins = Logins::new(dir.path().join("client/logins.json"));
    let (alice, mut alice_events, _) = connect(&server, "alice").await;

    // alice misspells her name: the server has no alcie, and says so.
    let mut ui = form_on(&server);
    enter(&mut ui, "alcie");
    let fx = enter(&mut ui, "alice-password");
    assert_eq!(log_in(&mut ui, fx, &logins).await, None, "not logged in");
    let screen = ui.screen();
    assert!(
        screen.contains("No account named alcie on this server yet")
            && screen.contains("8 characters"),
        "{screen}"
    );
    alice
        .request(ClientMessage::Whois {
            req: Some(1),
            user: "alcie".parse().unwrap(),
        })
        .await
        .unwrap();
    let code = expect(&mut alice_events, "whois alcie answered", |e| match e {
        Event::Server(ServerMessage::Error {
            req: Some(1), code, ..
        }) => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(code, ErrorCode::UnknownUser, "alcie was not created");

    // She sees it, fixes the name, and logs in to her own account.
    key(&mut ui, KeyCode::BackTab, KeyModifiers::NONE);
    key(&mut ui, KeyCode::BackTab, KeyModifiers::NONE);
    key(&mut ui, KeyCode::Char('u'), KeyModifiers::CONTROL);
    enter(&mut ui, "alice");
    let fx = enter(&mut ui, "");
    assert_eq!(log_in(&mut ui, fx, &logins).await, Some(false));
    assert!(ui.model.login.is_none(), "logged in");

    // carol is new: the repeat that differs sends nothing; the same one creates her.
    let mut ui = form_on(&server);
    enter(&mut ui, "carol");
    let fx = enter(&mut ui, "carol-password");
    assert_eq!(log_in(&mut ui, fx, &logins).await, None);
    let differs = enter(&mut ui, "carol-passwrod");
    assert_eq!(differs, [], "a repeat that differs sends nothing");
    enter(&mut ui, "carol-password");
    let fx = enter(&mut ui, "carol-password");
    assert!(
        matches!(fx.as_slice(), [Effect::Login { create: true, password, .. }] if *password == Secret("carol-password".into())),
        "{fx:?}"
    );
    assert_eq!(log_in(&mut ui, fx, &logins).await, Some(true), "created");
    server.stop().await;
}
