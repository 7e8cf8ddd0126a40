//! Starting a real server on a loopback port, and clients against it.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use classchat_client::address::ServerAddr;
use classchat_client::client::{Backoff, Client, ClientOptions, Event, Session};
use classchat_client::keymap::Keymap;
use classchat_client::message::Msg;
use classchat_client::model::{Look, Model};
use classchat_client::tracker::Status;
use classchat_common::protocol::{ChatMessage, Secret};
use classchat_common::{MessageId, ServerMessage, Timestamp};
use classchat_server::config::{Config, StoreKind};
use classchat_server::server::{Server, bind};
use classchat_server::tls::TlsSource;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub mod relay;

/// A server running in this process until stopped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The certificate's fingerprint when it speaks TLS (then only TLS).
    pub fingerprint: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A SQLite server on `addr` (port 0 picks one) keeping its data in `data_dir`.
    pub async fn start(addr: &str, data_dir: &Path) -> TestServer {
        Self::start_with(addr, data_dir, |_| {}).await
    }

    /// As [`TestServer::start`], with settings changed by `configure`.
    pub async fn start_with(
        addr: &str,
        data_dir: &Path,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        let listener = bind(addr.parse().unwrap(), false).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config::new(data_dir.to_path_buf());
        config.store = StoreKind::Sqlite;
        configure(&mut config);
        let server = Server::open(config).await.unwrap();
        let fingerprint = server.tls_fingerprint().map(str::to_owned);
        let (server, plain) = match fingerprint {
            Some(_) => (server.with_tls_listeners(vec![listener]), Vec::new()),
            None => (server, vec![listener]),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(plain, async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            data_dir: data_dir.to_path_buf(),
            fingerprint,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// As [`TestServer::start_with`], speaking TLS only, with a self-signed
    /// certificate made in `data_dir` (its fingerprint in `fingerprint`).
    pub async fn start_tls(
        addr: &str,
        data_dir: &Path,
        configure: impl FnOnce(&mut Config),
    ) -> TestServer {
        Self::start_with(addr, data_dir, |config| {
            config.tls = Some(TlsSource::SelfSigned);
            configure(config);
        })
        .await
    }

    /// Stops it and waits until the store is closed.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .unwrap()
                .unwrap();
        }
    }

    pub fn server_addr(&self) -> ServerAddr {
        self.addr.to_string().parse().unwrap()
    }
}

pub fn options(server: &TestServer, user: &str) -> ClientOptions {
    ClientOptions {
        server: server.server_addr(),
        user: user.parse().unwrap(),
        password: Some(Secret(format!("{user}-password"))),
        create: true,
        logins: None,
        unsent: None,
        backoff: Backoff {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(400),
        },
        tls: None,
    }
}

pub async fn connect(server: &TestServer, user: &str) -> (Client, mpsc::Receiver<Event>, Session) {
    Client::start(options(server, user)).await.unwrap()
}

/// The next event that `pick` accepts, skipping others; panics after 10 s.
pub async fn expect<T>(
    events: &mut mpsc::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("the client stopped while waiting for {what}"));
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

/// The next status of message `id` that `pick` accepts, skipping other events.
pub async fn status_of(
    events: &mut mpsc::Receiver<Event>,
    what: &str,
    id: MessageId,
    pick: impl Fn(&Status) -> bool,
) -> Status {
    expect(events, what, |e| match e {
        Event::Status(u) if u.id == id && pick(&u.status) => Some(u.status),
        _ => None,
    })
    .await
}

/// The next chat message to arrive, skipping other events.
pub async fn next_chat(events: &mut mpsc::Receiver<Event>, what: &str) -> ChatMessage {
    expect(events, what, |e| match e {
        Event::Server(ServerMessage::Message(m)) => Some(m.clone()),
        _ => None,
    })
    .await
}

/// The terminal UI of one client, fed its events as the app feeds them (the
/// requests it makes in return are not sent) and drawn into a test backend.
pub struct Ui {
    pub model: Model,
}

impl Ui {
    pub fn new() -> Self {
        let utc = chrono::FixedOffset::east_opt(0).unwrap();
        let look = Look {
            ascii: false,
            color: false,
        };
        let mut model = Model::new(
            "test".into(),
            Timestamp::now(),
            utc,
            look,
            Keymap::default(),
        );
        model.size = (100, 30);
        Ui { model }
    }

    pub fn feed(&mut self, event: &Event) {
        classchat_client::update::update(&mut self.model, Msg::Net(event.clone()));
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        let (w, h) = self.model.size;
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        terminal
            .draw(|frame| classchat_client::ui::view(&self.model, frame))
            .unwrap();
        let buffer = terminal.backend().buffer();
        buffer
            .content
            .chunks(usize::from(w))
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The status line: the screen's last row.
    pub fn status_line(&self) -> String {
        self.screen().lines().last().unwrap_or_default().to_owned()
    }
}

/// The next event `pick` accepts, fed to `ui` with every event skipped on the way.
pub async fn shown<T>(
    events: &mut mpsc::Receiver<Event>,
    ui: &mut Ui,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    expect(events, what, |e| {
        ui.feed(e);
        pick(e)
    })
    .await
}
