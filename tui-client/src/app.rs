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
use tokio::time::Interval;

use crate::address::ServerAddr;
use crate::client::{Action, Backoff, Client, ClientOptions, Event, Session, StartError};
use crate::config::{Logins, Paths, Settings};
use crate::connection::ConnectError;
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

/// A login attempt's outcome: the client task with its events, what the login
/// said and the server's address; or the message that tells `update` why not.
pub type LoginResult = Result<(Client, mpsc::Receiver<Event>, Session, String), Msg>;

/// Terminal events read and not yet taken, at most; when full, the reader
/// waits and the terminal keeps the rest.
const TERMINAL_QUEUE: usize = 4096;
/// Terminal events taken in one turn, at most, so that a long burst of keys
/// still shows progress.
const TURN_EVENTS_MAX: usize = 4096;
/// Network events taken in one turn besides the one that woke the loop, at
/// most, so that a flood of them still lets the screen be drawn.
const TURN_NET_MAX: usize = 256;
/// How often the terminal reader looks whether the run loop is still there.
const READER_CHECK: Duration = Duration::from_millis(200);
/// Actions waiting for room in the client task's channel. Once this many
/// wait and a client task is there to make room, the loop reads no more of
/// the terminal until it has: keys wait in the reader's queue, then in the
/// terminal, and none is lost; only what the turn that filled it had already
/// taken in goes past it. The network is still read, so that the client task
/// is never left waiting on the loop while the loop waits on it, and the few
/// actions an event asks for still go in. With no client task (before the
/// first login, or once it has stopped) nothing would make room, so the
/// keyboard stays live, to log in or to quit, and a new action is dropped
/// instead, with a warning in the log.
const WAITING_MAX: usize = 1024;

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
    let size = terminal.size()?;
    let mut model = first_model(&options, (size.width, size.height));
    let mut wiring = Wiring::new(options);
    model.login = Some(wiring.first_login());
    let (terminal_tx, mut terminal_events) = mpsc::channel(TERMINAL_QUEUE);
    read_terminal(terminal_tx);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        terminal.draw(|frame| ui::view(&model, frame))?;
        let Some(msgs) = wiring.next(&mut terminal_events, &mut tick).await? else {
            break;
        };
        let mut effects = Vec::new();
        for msg in msgs {
            effects.extend(update::update(&mut model, msg));
        }
        wiring.take_net(&mut model, &mut effects);
        for effect in effects {
            wiring.carry_out(effect, &mut model);
        }
        wiring.hand_over();
        if model.quit {
            break;
        }
    }
    wiring.quit().await;
    Ok(())
}

/// The model before anything has happened: the terminal's size and the folders.
fn first_model(options: &AppOptions, size: (u16, u16)) -> Model {
    let tz = chrono::Local::now().offset().fix();
    let mut model = Model::new(
        options.server.clone(),
        Timestamp::now(),
        tz,
        options.look,
        options.keymap.clone(),
    );
    model.size = size;
    model.tell_typing = options.settings.typing;
    model.notify_with = options.settings.notify;
    model.download_dir = options.download_dir.clone();
    model.home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    // The picker starts where the client was started, as a shell would.
    model.picker_dir = std::env::current_dir()
        .ok()
        .or_else(|| model.home.clone())
        .unwrap_or_else(|| ".".into());
    model
}

/// What the run loop keeps besides the model and the terminal: the client
/// task once logged in, the actions waiting for room in its channel, and the
/// login attempts under way.
struct Wiring {
    options: AppOptions,
    logins: Logins,
    login_tx: mpsc::Sender<LoginResult>,
    login_rx: mpsc::Receiver<LoginResult>,
    client: Option<Client>,
    net: Option<mpsc::Receiver<Event>>,
    /// At most [`WAITING_MAX`], as the constant says.
    waiting: VecDeque<Action>,
}

impl Wiring {
    fn new(options: AppOptions) -> Self {
        let (login_tx, login_rx) = mpsc::channel(2);
        Wiring {
            logins: Logins::new(options.paths.logins_file()),
            options,
            login_tx,
            login_rx,
            client: None,
            net: None,
            waiting: VecDeque::new(),
        }
    }

    /// The login form, already trying when the command line gives a name and
    /// a password (or there is a saved login for the name): it only shows if
    /// that fails. A password given on the command line or in the environment
    /// is a script's: a new name gets an account at once, as it always has.
    /// One typed in the form asks first.
    fn first_login(&self) -> LoginForm {
        let options = &self.options;
        let name = options.user.as_ref().map(ToString::to_string);
        let mut form = LoginForm::new(&options.server, name.as_deref().unwrap_or_default());
        if let Some(user) = name {
            let saved = self.logins.token(&user, &normalized(&options.server));
            if options.password.is_some() || saved.is_some() {
                form.busy = true;
                self.log_in(options.server.clone(), user, options.password.clone(), true);
            }
        }
        form
    }

    fn log_in(&self, server: String, user: String, password: Option<Secret>, create: bool) {
        spawn_login(
            server,
            user,
            password,
            create,
            self.options.tls.clone(),
            self.logins.clone(),
            self.login_tx.clone(),
        );
    }

    /// Whether a client task is there to take the waiting actions.
    fn client_alive(&self) -> bool {
        self.client.is_some() && self.net.is_some()
    }

    /// Whether the loop takes in the terminal's events ([`WAITING_MAX`]).
    fn reads_terminal(&self) -> bool {
        self.waiting.len() < WAITING_MAX || !self.client_alive()
    }

    /// Waits until something happens, and says it as messages, with whatever
    /// else the terminal has already delivered; `None` once the terminal is gone.
    async fn next(
        &mut self,
        terminal: &mut mpsc::Receiver<std::io::Result<TermEvent>>,
        tick: &mut Interval,
    ) -> anyhow::Result<Option<Vec<Msg>>> {
        let reading = self.reads_terminal();
        let mut arrived: Vec<TermEvent> = Vec::new();
        let woke = tokio::select! {
            event = terminal.recv(), if reading => match event {
                Some(event) => {
                    arrived.push(event?);
                    None
                }
                None => return Ok(None),
            },
            event = next_net(&mut self.net) => match event {
                Some(event) => Some(Msg::Net(event)),
                None => {
                    self.net = None;
                    None
                }
            },
            result = self.login_rx.recv() => self.logged_in(result),
            _ = tick.tick() => Some(Msg::Tick(Timestamp::now())),
        };
        // Whatever else the terminal has already delivered goes in before the
        // next frame: text typed or pasted key by key costs a frame per burst,
        // not one per key.
        while reading
            && arrived.len() < TURN_EVENTS_MAX
            && let Ok(event) = terminal.try_recv()
        {
            arrived.push(event?);
        }
        Ok(Some(woke.into_iter().chain(messages(arrived)).collect()))
    }

    fn logged_in(&mut self, result: Option<LoginResult>) -> Option<Msg> {
        match result? {
            Ok((client, events, session, server)) => {
                save_settings(&self.options.paths, &server, &session.user);
                self.client = Some(client);
                self.net = Some(events);
                Some(Msg::LoggedIn {
                    user: session.user,
                    server,
                })
            }
            Err(failed) => Some(failed),
        }
    }

    /// Takes what else the network has already delivered (a turn's worth at
    /// most) through `update` before drawing again.
    fn take_net(&mut self, model: &mut Model, effects: &mut Vec<Effect>) {
        let Some(rx) = self.net.as_mut() else {
            return;
        };
        for _ in 0..TURN_NET_MAX {
            let Ok(event) = rx.try_recv() else { break };
            effects.extend(update::update(model, Msg::Net(event)));
        }
    }

    fn carry_out(&mut self, effect: Effect, model: &mut Model) {
        let action = match effect {
            Effect::Send {
                id,
                to,
                body,
                target,
            } => Action::Send {
                id,
                to,
                body,
                target,
            },
            Effect::Ask(request) => Action::Request(request),
            Effect::Password(password) => Action::Password(password),
            Effect::SendFile { local, to, path } => Action::SendFile { local, to, path },
            Effect::AcceptFile { offer, conv, dir } => Action::Accept {
                offer,
                conv: Some(conv),
                dir: dir.unwrap_or_else(|| model.download_dir.clone()),
            },
            Effect::CancelTransfer { local, offer } => Action::CancelTransfer { local, offer },
            Effect::Bell => return to_terminal(b"\x07"),
            Effect::Desktop(text) => return to_terminal(&desktop_notification(&text)),
            Effect::Login {
                server,
                user,
                password,
                create,
            } => return self.log_in(server, user, Some(password), create),
            Effect::Quit => {
                model.quit = true;
                return;
            }
        };
        if self.waiting.len() >= WAITING_MAX && !self.client_alive() {
            tracing::warn!(
                "an action was dropped: {WAITING_MAX} wait already, and no client task takes them"
            );
            return;
        }
        self.waiting.push_back(action);
    }

    /// Hands the waiting actions to the client task, in order, while its
    /// channel has room; a full channel means the task is busy, and the rest
    /// wait for the next turn.
    fn hand_over(&mut self) {
        let Some(client) = &self.client else {
            return;
        };
        while let Some(action) = self.waiting.pop_front() {
            if let Err(action) = client.try_act(action) {
                self.waiting.push_front(action);
                break;
            }
        }
    }

    async fn quit(self) {
        if let Some(client) = self.client {
            client.quit().await;
        }
    }
}

/// Writes a control sequence to the terminal, beside what ratatui draws (it
/// moves no cursor and draws nothing).
fn to_terminal(bytes: &[u8]) {
    let mut out = std::io::stdout();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

/// `ESC ] 777 ; notify ; ClassChat ; text BEL`, the desktop notification of
/// urxvt, foot, kitty, WezTerm, Ghostty and others (a terminal without it
/// ignores it). `text` is the client's own, made of names the protocol keeps
/// to a safe alphabet; anything else is dropped all the same, so that no
/// byte could end the sequence or start another.
fn desktop_notification(text: &str) -> Vec<u8> {
    let text: String = text
        .chars()
        .filter(|c| !c.is_control() && *c != ';' && !classchat_common::text::is_live(*c))
        .collect();
    format!("\x1b]777;notify;ClassChat;{text}\x07").into_bytes()
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
    create: bool,
    tls: Option<crate::tls::Trust>,
    logins: Logins,
    done: mpsc::Sender<LoginResult>,
) {
    tokio::spawn(async move {
        let result = try_login(server, user, password, create, tls, logins).await;
        let _ = done.send(result).await;
    });
}

/// One login attempt, as the form (or the command line) asks for it: with
/// `create`, a name without an account gets one.
pub async fn try_login(
    server: String,
    user: String,
    password: Option<Secret>,
    create: bool,
    tls: Option<crate::tls::Trust>,
    logins: Logins,
) -> LoginResult {
    let addr: ServerAddr = server
        .parse()
        .map_err(|e| Msg::LoginFailed(format!("{e}")))?;
    let user: Username = user.parse().map_err(|e| Msg::LoginFailed(format!("{e}")))?;
    let options = ClientOptions {
        server: addr.clone(),
        user,
        password,
        create,
        unsent: Some(logins.unsent()),
        logins: Some(logins),
        backoff: Backoff::default(),
        tls,
    };
    let (client, events, session) = Client::start(options).await.map_err(failed)?;
    Ok((client, events, session, addr.to_string()))
}

/// What `update` hears of a login that failed.
fn failed(e: StartError) -> Msg {
    match e {
        StartError::Connect {
            cause: ConnectError::NoAccount { min_password, .. },
            ..
        } => Msg::NoAccount { min_password },
        e => Msg::LoginFailed(e.to_string()),
    }
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
    use classchat_common::ClientMessage;

    use super::*;
    use crate::fixtures::blank_model;

    fn options(dir: &std::path::Path) -> AppOptions {
        AppOptions {
            server: "localhost:12345".into(),
            user: None,
            password: None,
            download_dir: dir.join("downloads"),
            tls: None,
            paths: Paths {
                config_file: dir.join("config.toml"),
                data_dir: dir.join("data"),
            },
            settings: Settings::default(),
            look: Look {
                ascii: false,
                color: true,
            },
            keymap: Keymap::default(),
        }
    }

    fn ask(n: u64) -> Effect {
        Effect::Ask(ClientMessage::Who { req: Some(n) })
    }

    fn asked(action: &Action) -> Option<u64> {
        match action {
            Action::Request(ClientMessage::Who { req }) => *req,
            _ => None,
        }
    }

    #[test]
    fn a_busy_client_task_pauses_the_keyboard_once_the_waiting_queue_is_full_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut model = blank_model(90, 30);
        let mut wiring = Wiring::new(options(dir.path()));
        let (actions, mut taken) = mpsc::channel(1);
        let (_events_tx, events) = mpsc::channel(1);
        wiring.client = Some(Client::over(actions));
        wiring.net = Some(events);
        let sent = WAITING_MAX as u64 + 1;
        for n in 0..sent {
            wiring.carry_out(ask(n), &mut model);
            wiring.hand_over();
        }
        // One in the channel, the rest waiting: the queue is full.
        assert_eq!(wiring.waiting.len(), WAITING_MAX);
        assert!(!wiring.reads_terminal());
        // The client task takes one; the next goes over, in order.
        assert_eq!(taken.try_recv().ok().as_ref().and_then(asked), Some(0));
        wiring.hand_over();
        assert!(wiring.reads_terminal());
        let mut order = Vec::new();
        while let Ok(action) = taken.try_recv() {
            order.extend(asked(&action));
            wiring.hand_over();
        }
        assert_eq!(order, (1..sent).collect::<Vec<_>>());
    }

    #[test]
    fn with_no_client_task_the_keyboard_stays_live_and_the_queue_stays_within_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut model = blank_model(90, 30);
        let mut wiring = Wiring::new(options(dir.path()));
        for n in 0..WAITING_MAX as u64 + 10 {
            wiring.carry_out(ask(n), &mut model);
            wiring.hand_over();
        }
        assert_eq!(wiring.waiting.len(), WAITING_MAX);
        assert!(wiring.reads_terminal());
        assert_eq!(wiring.waiting.pop_front().as_ref().and_then(asked), Some(0));
    }

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
    fn a_desktop_notification_is_one_osc_777_sequence_whatever_its_text_holds() {
        assert_eq!(
            desktop_notification("alice mentioned you in #cs101"),
            b"\x1b]777;notify;ClassChat;alice mentioned you in #cs101\x07"
        );
        let hostile = desktop_notification("a\x07b\x1b]0;x;y\u{9c}z\u{202e}");
        assert_eq!(hostile, b"\x1b]777;notify;ClassChat;ab]0xyz\x07");
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
