//! The terminal UI's run loop. It owns the terminal; turns key presses, mouse,
//! focus and resize events, the client task's events and a once-a-second tick
//! into [`Msg`]s for `update`; draws; and carries out the [`Effect`]s `update`
//! returns. Nothing here waits on the network: actions go to the client task
//! through its channel, and a login attempt runs in a task of its own. The
//! terminal is read on a thread of its own, so that everything it has already
//! delivered is taken in before the next frame is drawn.

use std::collections::VecDeque;
use std::io::Write;
use std::time::Duration;

use chrono::Offset;
use classchat_common::protocol::Secret;
use classchat_common::{Timestamp, Username};
use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers,
};
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

/// Terminal events read and not yet taken, at most; when full, the reader
/// waits and the terminal keeps the rest.
const TERMINAL_QUEUE: usize = 4096;
/// Terminal events taken in one turn, at most, so that a long burst of keys
/// still shows progress.
const TURN_EVENTS_MAX: usize = 4096;
/// How often the terminal reader looks whether the run loop is still there.
const READER_CHECK: Duration = Duration::from_millis(200);

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
    let (terminal_tx, mut terminal_events) = mpsc::channel(TERMINAL_QUEUE);
    read_terminal(terminal_tx);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        terminal.draw(|frame| ui::view(&model, frame))?;
        let mut arrived: Vec<TermEvent> = Vec::new();
        let msg = tokio::select! {
            event = terminal_events.recv() => match event {
                Some(event) => {
                    arrived.push(event?);
                    None
                }
                None => break,
            },
            event = next_net(&mut net) => match event {
                Some(event) => Some(Msg::Net(event)),
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
                    Some(Msg::LoggedIn { user: session.user, server })
                }
                Some(Err(why)) => Some(Msg::LoginFailed(why)),
                None => continue,
            },
            _ = tick.tick() => Some(Msg::Tick(Timestamp::now())),
        };
        // Whatever else the terminal has already delivered goes in before the
        // next frame: text typed or pasted key by key costs a frame per burst,
        // not one per key.
        while arrived.len() < TURN_EVENTS_MAX
            && let Ok(event) = terminal_events.try_recv()
        {
            arrived.push(event?);
        }
        let mut effects = Vec::new();
        for msg in msg.into_iter().chain(messages(arrived)) {
            effects.extend(update::update(&mut model, msg));
        }
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

/// Reads the terminal on a thread of its own (crossterm's reads block) until
/// the run loop is gone.
fn read_terminal(events: mpsc::Sender<std::io::Result<TermEvent>>) {
    std::thread::spawn(move || {
        while !events.is_closed() {
            match crossterm::event::poll(READER_CHECK) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    let _ = events.blocking_send(Err(e));
                    return;
                }
            }
            let event = crossterm::event::read();
            let failed = event.is_err();
            if events.blocking_send(event).is_err() || failed {
                return;
            }
        }
    });
}

async fn next_net(net: &mut Option<mpsc::Receiver<Event>>) -> Option<Event> {
    match net {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The terminal's events as messages, in order, each run of typed characters
/// in one [`Msg::Typed`]: a terminal without bracketed paste (or `tmux
/// send-keys`) delivers pasted text one key at a time.
fn messages(events: Vec<TermEvent>) -> Vec<Msg> {
    let mut msgs = Vec::new();
    let mut run: Vec<KeyEvent> = Vec::new();
    for event in events {
        match event {
            TermEvent::Key(key) if is_typing(&key) => run.push(key),
            other => {
                end_run(&mut run, &mut msgs);
                msgs.push(from_terminal(other));
            }
        }
    }
    end_run(&mut run, &mut msgs);
    msgs
}

fn end_run(run: &mut Vec<KeyEvent>, msgs: &mut Vec<Msg>) {
    match run.len() {
        0 => {}
        1 => msgs.extend(run.drain(..).map(Msg::Key)),
        _ => msgs.push(Msg::Typed(std::mem::take(run))),
    }
}

/// A key that types a character, if anything (the keymap decides in `update`).
fn is_typing(key: &KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char(_))
        && key.kind != KeyEventKind::Release
        && key.modifiers.difference(KeyModifiers::SHIFT).is_empty()
}

fn from_terminal(event: TermEvent) -> Msg {
    match event {
        TermEvent::Key(key) => Msg::Key(key),
        TermEvent::Mouse(mouse) => Msg::Mouse(mouse),
        TermEvent::Paste(text) => Msg::Paste(text),
        TermEvent::Resize(w, h) => Msg::Resize(w, h),
        TermEvent::FocusGained => Msg::Focus(true),
        TermEvent::FocusLost => Msg::Focus(false),
    }
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
                unsent: Some(logins.unsent()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> TermEvent {
        TermEvent::Key(KeyEvent::new(code, modifiers))
    }

    fn shape(msgs: &[Msg]) -> Vec<String> {
        msgs.iter()
            .map(|m| match m {
                Msg::Typed(keys) => format!("typed {}", keys.len()),
                Msg::Key(k) => format!("key {:?}", k.code),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_burst_of_typed_keys_becomes_one_message_and_other_events_keep_their_place() {
        let mut events: Vec<TermEvent> = "Hi there"
            .chars()
            .map(|c| key(KeyCode::Char(c), KeyModifiers::SHIFT))
            .collect();
        events.push(key(KeyCode::Enter, KeyModifiers::NONE));
        events.push(key(KeyCode::Char('k'), KeyModifiers::CONTROL));
        events.push(key(KeyCode::Char('x'), KeyModifiers::NONE));
        events.push(TermEvent::FocusLost);
        events.extend(
            "ok".chars()
                .map(|c| key(KeyCode::Char(c), KeyModifiers::NONE)),
        );
        assert_eq!(
            shape(&messages(events)),
            [
                "typed 8",
                "key Enter",
                "key Char('k')",
                "key Char('x')",
                "Focus(false)",
                "typed 2"
            ]
        );
    }
}
