//! The terminal UI's run loop. It owns the terminal; turns key presses, mouse,
//! focus and resize events, the client task's events and a once-a-second tick
//! into [`Msg`]s for `update`; draws; and carries out the [`Effect`]s `update`
//! returns. Nothing here waits on the network: actions go to the client task
//! through its channel, and a login attempt runs in a task of its own.

use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

use chrono::Offset;
use classchat_common::protocol::Secret;
use classchat_common::{Timestamp, Username};
use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture, Event as TermEvent, EventStream,
};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc;

use crate::address::ServerAddr;
use crate::client::{Action, Backoff, Client, ClientOptions, Event, Session};
use crate::config::{Logins, Paths, Settings};
use crate::keymap::Keymap;
use crate::message::{Effect, Msg};
use crate::model::{LoginForm, Look, Model};
use crate::{ui, update};

/// How the UI was started.
#[derive(Debug)]
pub struct AppOptions {
    pub server: String,
    pub user: Option<Username>,
    pub password: Option<Secret>,
    /// Where accepted files go unless the user picks another folder.
    pub download_dir: std::path::PathBuf,
    /// TLS and how the server's certificate is trusted; `None` for plain TCP.
    pub tls: Option<crate::tls::Trust>,
    pub paths: Paths,
    pub settings: Settings,
    pub look: Look,
    pub keymap: Keymap,
}

type LoginResult = Result<(Client, mpsc::Receiver<Event>, Session, String), String>;

pub async fn run(options: AppOptions) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    // ratatui's hook restores the screen on a panic; the modes we add go too.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(
            std::io::stdout(),
            DisableMouseCapture,
            DisableFocusChange,
            DisableBracketedPaste
        );
        previous(info);
    }));
    let _ = crossterm::execute!(
        std::io::stdout(),
        EnableMouseCapture,
        EnableFocusChange,
        EnableBracketedPaste
    );
    let result = run_loop(&mut terminal, options).await;
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableMouseCapture,
        DisableFocusChange,
        DisableBracketedPaste
    );
    ratatui::restore();
    result
}

async fn run_loop(terminal: &mut DefaultTerminal, options: AppOptions) -> anyhow::Result<()> {
    let tz = chrono::Local::now().offset().fix();
    let mut model = Model::new(
        options.server.clone(),
        Timestamp::now(),
        tz,
        options.look,
        options.keymap.clone(),
    );
    let size = terminal.size()?;
    model.size = (size.width, size.height);
    model.download_dir = options.download_dir.clone();
    model.home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    // The picker starts where the client was started, as a shell would.
    model.picker_dir = std::env::current_dir()
        .ok()
        .or_else(|| model.home.clone())
        .unwrap_or_else(|| ".".into());
    let user = options
        .user
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut form = LoginForm::new(&options.server, &user);
    let (login_tx, mut login_rx) = mpsc::channel::<LoginResult>(2);
    let logins = Logins::new(options.paths.logins_file());
    // With a name and a password (or a saved login), connect at once; the form
    // only shows if that fails.
    if let Some(user) = &options.user {
        let saved = logins.token(user.as_str(), &normalized(&options.server));
        if options.password.is_some() || saved.is_some() {
            form.busy = true;
            spawn_login(
                options.server.clone(),
                user.to_string(),
                options.password.clone(),
                options.tls.clone(),
                logins.clone(),
                login_tx.clone(),
            );
        }
    }
    model.login = Some(form);

    let mut client: Option<Client> = None;
    let mut net: Option<mpsc::Receiver<Event>> = None;
    let mut waiting: VecDeque<Action> = VecDeque::new();
    let mut terminal_events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        terminal.draw(|frame| ui::view(&model, frame))?;
        let msg = tokio::select! {
            event = terminal_events.next() => match event {
                Some(Ok(event)) => match from_terminal(event) {
                    Some(msg) => msg,
                    None => continue,
                },
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            event = next_net(&mut net) => match event {
                Some(event) => Msg::Net(event),
                None => {
                    net = None;
                    continue;
                }
            },
            result = login_rx.recv() => match result {
                Some(Ok((c, events, session, server))) => {
                    save_settings(&options.paths, &server, &session.user);
                    client = Some(c);
                    net = Some(events);
                    Msg::LoggedIn { user: session.user, server }
                }
                Some(Err(why)) => Msg::LoginFailed(why),
                None => continue,
            },
            _ = tick.tick() => Msg::Tick(Timestamp::now()),
        };
        let mut effects = update::update(&mut model, msg);
        // Take whatever else the network has already delivered before drawing again.
        if let Some(rx) = net.as_mut() {
            for _ in 0..256 {
                let Ok(event) = rx.try_recv() else { break };
                effects.extend(update::update(&mut model, Msg::Net(event)));
            }
        }
        for effect in effects {
            match effect {
                Effect::Send { id, to, body } => waiting.push_back(Action::Send { id, to, body }),
                Effect::Ask(request) => waiting.push_back(Action::Request(request)),
                Effect::Bell => {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
                }
                Effect::Login {
                    server,
                    user,
                    password,
                } => {
                    spawn_login(
                        server,
                        user,
                        Some(password),
                        options.tls.clone(),
                        logins.clone(),
                        login_tx.clone(),
                    );
                }
                Effect::Password(password) => waiting.push_back(Action::Password(password)),
                Effect::SendFile { local, to, path } => {
                    waiting.push_back(Action::SendFile { local, to, path });
                }
                Effect::AcceptFile { offer, conv, dir } => {
                    let dir = dir.unwrap_or_else(|| model.download_dir.clone());
                    waiting.push_back(Action::Accept {
                        offer,
                        conv: Some(conv),
                        dir,
                    });
                }
                Effect::CancelTransfer { local, offer } => {
                    waiting.push_back(Action::CancelTransfer { local, offer });
                }
                Effect::Quit => model.quit = true,
            }
        }
        if let Some(c) = &client {
            // A full channel means the client task is busy; what does not fit
            // waits here, in order, for the next turn.
            while let Some(action) = waiting.pop_front() {
                if let Err(action) = c.try_act(action) {
                    waiting.push_front(action);
                    break;
                }
            }
        }
        if model.quit {
            break;
        }
    }
    if let Some(c) = client {
        c.quit().await;
    }
    Ok(())
}

async fn next_net(net: &mut Option<mpsc::Receiver<Event>>) -> Option<Event> {
    match net {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn from_terminal(event: TermEvent) -> Option<Msg> {
    Some(match event {
        TermEvent::Key(key) => Msg::Key(key),
        TermEvent::Mouse(mouse) => Msg::Mouse(mouse),
        TermEvent::Paste(text) => Msg::Paste(text),
        TermEvent::Resize(w, h) => Msg::Resize(w, h),
        TermEvent::FocusGained => Msg::Focus(true),
        TermEvent::FocusLost => Msg::Focus(false),
    })
}

/// The server address as the saved logins key it.
fn normalized(server: &str) -> String {
    server
        .parse::<ServerAddr>()
        .map_or_else(|_| server.to_owned(), |a| a.to_string())
}

fn spawn_login(
    server: String,
    user: String,
    password: Option<Secret>,
    tls: Option<crate::tls::Trust>,
    logins: Logins,
    done: mpsc::Sender<LoginResult>,
) {
    tokio::spawn(async move {
        let result = async {
            let addr: ServerAddr = server.parse().map_err(|e| format!("{e}"))?;
            let user: Username = user.parse().map_err(|e| format!("{e}"))?;
            let options = ClientOptions {
                server: addr.clone(),
                user,
                password,
                logins: Some(logins),
                backoff: Backoff::default(),
                tls,
            };
            let (client, events, session) =
                Client::start(options).await.map_err(|e| e.to_string())?;
            Ok((client, events, session, addr.to_string()))
        }
        .await;
        let _ = done.send(result).await;
    });
}

/// Remembers the server and name for next time; never the password.
fn save_settings(paths: &Paths, server: &str, user: &Username) {
    let mut settings = Settings::load(&paths.config_file).unwrap_or_default();
    if settings.server.as_deref() == Some(server) && settings.user.as_deref() == Some(user.as_str())
    {
        return;
    }
    settings.server = Some(server.to_owned());
    settings.user = Some(user.to_string());
    if let Err(e) = settings.save(&paths.config_file) {
        tracing::warn!("cannot save the settings: {e}");
    }
}
