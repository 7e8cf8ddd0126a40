//! Fixtures shared by the server's integration tests: the real server on a
//! loopback port 0, and a client that speaks the raw protocol line by line.
//!
//! Every wait is bounded: a reply that does not come fails the test with a
//! message naming what was awaited, instead of hanging the suite.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixtures"
)]

pub mod binary;
#[cfg(feature = "cluster")]
pub mod cluster;
#[cfg(feature = "cluster")]
pub mod nats;
#[cfg(feature = "cluster")]
pub mod postgres;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use classchat_common::limits::PROTOCOL_VERSION;
use classchat_common::protocol::{ChatMessage, Secret};
use classchat_common::{
    ClientMessage, Conv, ErrorCode, LineCodec, MessageId, ServerMessage, Username,
};
use classchat_server::server::ServerError;
use classchat_server::store::StoreError;
use classchat_server::{Config, Server, StoreKind};
use futures::{SinkExt, StreamExt};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::codec::Framed;

/// How long a reply may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// Logins hash passwords with argon2, which is slow in a debug build and queues
/// behind other tests' logins on a busy machine.
pub const LOGIN_WAIT: Duration = Duration::from_secs(30);

/// The password every fixture user has.
pub const PASSWORD: &str = "correct horse battery staple";

/// This process's soft and hard limits on open files, from /proc (Linux).
fn open_files_limits() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line.split_whitespace().skip(3).map(str::parse);
    Some((numbers.next()?.ok()?, numbers.next()?.ok()?))
}

/// Lifts this process's soft limit on open files to its hard limit, once, and
/// returns the limit in force. Tests that hold a thousand connections have
/// both ends of each in this process, and many systems start processes at
/// 1024; `prlimit` (util-linux) raises it without unsafe code or a new crate.
pub fn raise_open_files_limit() -> Option<u64> {
    static RAISED: std::sync::Once = std::sync::Once::new();
    RAISED.call_once(|| {
        if let Some((soft, hard)) = open_files_limits()
            && soft < hard
        {
            let _ = std::process::Command::new("prlimit")
                .arg(format!("--pid={}", std::process::id()))
                .arg(format!("--nofile={hard}:{hard}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    });
    open_files_limits().map(|(soft, _)| soft)
}

/// Fails, saying why, unless `n` files may be open at once.
pub fn need_open_files(n: u64) {
    if let Some(limit) = raise_open_files_limit() {
        assert!(
            limit >= n,
            "this test needs about {n} open files, and `ulimit -n` is {limit} (the hard limit \
             too, or `prlimit` is missing): raise it to run the tests"
        );
    }
}

/// Unwraps one variant of a message, or fails naming what came instead.
macro_rules! expect {
    ($value:expr, $pat:pat $(if $guard:expr)? => $out:expr) => {
        match $value {
            $pat $(if $guard)? => $out,
            other => panic!("expected {}, got {other:?}", stringify!($pat $(if $guard)?)),
        }
    };
}

/// `login` with a password.
pub fn login_with_password(name: &str, password: &str) -> ClientMessage {
    ClientMessage::Login {
        user: user(name),
        password: Some(Secret(password.into())),
        token: None,
        create: true,
    }
}

/// `login` with a resume token.
pub fn login_with_token(name: &str, token: &str) -> ClientMessage {
    ClientMessage::Login {
        user: user(name),
        password: None,
        token: Some(Secret(token.into())),
        create: true,
    }
}

pub fn user(name: &str) -> Username {
    Username::new(name).expect("a valid user name")
}

pub fn conv(name: &str) -> Conv {
    name.parse().expect("a valid conversation name")
}

/// A `send` with a fresh id.
pub fn send_to(to: &str, body: &str) -> (MessageId, ClientMessage) {
    let id = MessageId::new();
    let msg = ClientMessage::Send {
        id,
        to: conv(to),
        body: body.to_owned(),
        reply_to: None,
        edit: None,
        delete: None,
        react: None,
        unreact: None,
    };
    (id, msg)
}

/// Settings changed after the defaults are filled in.
type Configure = Box<dyn FnOnce(&mut Config) + Send>;

/// How to start a test server.
pub struct ServerOptions {
    ipv6: bool,
    dual_stack: bool,
    store: StoreKind,
    data_dir: Option<TempDir>,
    configure: Option<Configure>,
    /// Opening again a data directory a server of this process just closed.
    reopening: bool,
}

/// The store test servers use unless a test asks for one:
/// `CLASSCHAT_TEST_STORE=postgres` runs the suite against PostgreSQL (in a
/// build with `--features cluster`), anything else against SQLite.
pub fn default_store() -> StoreKind {
    match std::env::var("CLASSCHAT_TEST_STORE").as_deref() {
        #[cfg(feature = "cluster")]
        Ok("postgres") => StoreKind::Postgres,
        #[cfg(not(feature = "cluster"))]
        Ok("postgres") => {
            panic!("CLASSCHAT_TEST_STORE=postgres needs the tests built with --features cluster")
        }
        _ => StoreKind::Sqlite,
    }
}

/// The command-line options that put a `classchat-server` binary with its
/// data in `data_dir` on the suite's default store (see [`default_store`]).
pub fn store_args(data_dir: &std::path::Path) -> Vec<String> {
    match default_store() {
        #[cfg(feature = "cluster")]
        StoreKind::Postgres => vec![
            "--store".into(),
            "postgres".into(),
            "--postgres".into(),
            postgres::database_for(data_dir),
        ],
        _ => {
            let _ = data_dir;
            Vec::new()
        }
    }
}

impl Default for ServerOptions {
    /// The default store (SQLite, or what `CLASSCHAT_TEST_STORE` says) in a
    /// fresh temporary directory, on 127.0.0.1.
    fn default() -> Self {
        Self {
            ipv6: false,
            dual_stack: false,
            store: default_store(),
            data_dir: None,
            configure: None,
            reopening: false,
        }
    }
}

impl ServerOptions {
    /// Listen on `[::1]` instead of `127.0.0.1`.
    pub fn ipv6(mut self) -> Self {
        self.ipv6 = true;
        self
    }

    /// Listen on `[::]` for IPv6 and IPv4 alike, as the server does by default.
    pub fn dual_stack(mut self) -> Self {
        self.dual_stack = true;
        self
    }

    pub fn memory(mut self) -> Self {
        self.store = StoreKind::Memory;
        self
    }

    /// SQLite, whatever the suite's default store: for tests of SQLite's
    /// own files and recovery.
    pub fn sqlite(mut self) -> Self {
        self.store = StoreKind::Sqlite;
        self
    }

    /// PostgreSQL: a database of its own on the test binary's throwaway
    /// PostgreSQL server.
    #[cfg(feature = "cluster")]
    pub fn postgres(mut self) -> Self {
        self.store = StoreKind::Postgres;
        self
    }

    /// Reuse a data directory, e.g. one a stopped server left behind.
    /// Reopens `dir`, which a stopped server used: a start that finds the
    /// directory still locked tries again for a moment (see `start_server`).
    pub fn in_dir(mut self, dir: TempDir) -> Self {
        self.data_dir = Some(dir);
        self.reopening = true;
        self
    }

    /// Changes settings after the defaults are filled in.
    pub fn config(mut self, f: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        self.configure = Some(Box::new(f));
        self
    }
}

/// A server running inside the test's runtime. Dropping it stops it.
pub struct TestServer {
    pub addr: SocketAddr,
    /// What it keeps its data in; a restart keeps it there.
    pub store: StoreKind,
    data_dir: Option<TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

pub async fn start_server(options: ServerOptions) -> TestServer {
    let data_dir = match options.data_dir {
        Some(dir) => dir,
        None => TempDir::new().expect("a temporary data directory"),
    };
    let ip = match (options.dual_stack, options.ipv6) {
        (true, _) => "[::]:0",
        (false, true) => "[::1]:0",
        (false, false) => "127.0.0.1:0",
    };
    let listener = classchat_server::server::bind(ip.parse().expect("an address"), false)
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    let mut config = Config::new(data_dir.path().to_path_buf());
    config.store = options.store;
    #[cfg(feature = "cluster")]
    if options.store == StoreKind::Postgres {
        config.postgres = Some(postgres::database_for(data_dir.path()));
    }
    if let Some(configure) = options.configure {
        configure(&mut config);
    }
    // A server just stopped has closed its lock on the data directory, but
    // another test of this binary forking a server binary at that moment
    // holds a copy of it until the child's exec closes it: a reopening tries
    // again for a moment (bounded: 5 s).
    let mut tries = 0;
    let server = loop {
        match Server::open(config.clone()).await {
            Err(ServerError::Store(StoreError::InUse(_))) if options.reopening && tries < 250 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            opened => break opened.expect("the server opens its store"),
        }
    };
    let (shutdown, stop) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(vec![listener], async move {
        // A dropped sender stops the server too.
        let _ = stop.await;
    }));
    TestServer {
        addr,
        store: options.store,
        data_dir: Some(data_dir),
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

impl TestServer {
    pub async fn start() -> Self {
        start_server(ServerOptions::default()).await
    }

    /// Stops the server cleanly and hands back its data directory.
    pub async fn stop(mut self) -> TempDir {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("the server stops within 15 s")
                .expect("the server task does not panic");
        }
        self.data_dir.take().expect("the data directory")
    }

    /// Stops the server and starts a new one on the same data directory.
    pub async fn restart(self) -> Self {
        let ipv6 = self.addr.is_ipv6();
        let store = self.store;
        let dir = self.stop().await;
        let mut options = ServerOptions::default().in_dir(dir);
        options.store = store;
        start_server(if ipv6 { options.ipv6() } else { options }).await
    }

    pub async fn connect(&self) -> TestClient {
        TestClient::connect(self.addr).await
    }

    /// The data directory the server is using.
    pub fn data_path(&self) -> std::path::PathBuf {
        self.data_dir
            .as_ref()
            .expect("the data directory")
            .path()
            .to_path_buf()
    }

    /// A client logged in as `name` (created on first use) with [`PASSWORD`].
    pub async fn login(&self, name: &str) -> TestClient {
        TestClient::login(self.addr, name, PASSWORD).await
    }
}

/// What the next read of a connection gave.
#[derive(Debug)]
#[allow(clippy::large_enum_variant, reason = "short-lived values in tests")]
pub enum Next {
    Line(ServerMessage),
    /// The server closed the connection (or reset it).
    Closed,
    /// Nothing arrived in time.
    Silent,
}

/// One raw protocol connection.
#[derive(Debug)]
pub struct TestClient {
    framed: Framed<TcpStream, LineCodec>,
    /// Lines read ahead (during login) and not yet handed out.
    backlog: VecDeque<ServerMessage>,
    /// Set by the login helpers.
    pub name: Option<Username>,
    pub token: Option<String>,
    pub created: bool,
    /// What arrived between `logged_in` and `synced`.
    pub caught_up: Vec<ChatMessage>,
    /// The count `synced` announced.
    pub synced: u64,
    /// Whether `online` counts are handed out; by default they are skipped,
    /// since they come whenever anyone logs in or out.
    pub online_counts: bool,
    next_req: u64,
}

impl TestClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("connect within 5 s")
            .expect("connect to the test server");
        Self::from_stream(stream)
    }

    /// Connects with a small kernel receive buffer, so a client that stops
    /// reading fills up quickly.
    pub async fn connect_with_small_buffer(addr: SocketAddr) -> Self {
        let socket = if addr.is_ipv6() {
            TcpSocket::new_v6()
        } else {
            TcpSocket::new_v4()
        }
        .expect("a socket");
        socket.set_recv_buffer_size(4096).expect("set SO_RCVBUF");
        let stream = tokio::time::timeout(WAIT, socket.connect(addr))
            .await
            .expect("connect within 5 s")
            .expect("connect to the test server");
        Self::from_stream(stream)
    }

    /// Wraps a connection the test opened itself.
    pub fn from_stream(stream: TcpStream) -> Self {
        Self {
            framed: Framed::new(stream, LineCodec::default()),
            backlog: VecDeque::new(),
            online_counts: false,
            name: None,
            token: None,
            created: false,
            caught_up: Vec::new(),
            synced: 0,
            next_req: 1,
        }
    }

    /// Connects, says hello, logs in with a password and reads up to `synced`.
    pub async fn login(addr: SocketAddr, name: &str, password: &str) -> Self {
        let mut c = Self::connect(addr).await;
        c.hello().await;
        c.send(login_with_password(name, password)).await;
        c.finish_login().await;
        c
    }

    /// Connects, says hello, and logs in with a resume token (no password hash).
    pub async fn resume(addr: SocketAddr, name: &str, token: &str) -> Self {
        let mut c = Self::connect(addr).await;
        c.hello().await;
        c.send(login_with_token(name, token)).await;
        c.finish_login().await;
        c
    }

    /// Sends `hello` and checks the `welcome`.
    pub async fn hello(&mut self) {
        self.send(ClientMessage::Hello {
            version: PROTOCOL_VERSION,
            client: Some("classchat-server tests".into()),
        })
        .await;
        let welcome = self.recv().await;
        let version = expect!(welcome, ServerMessage::Welcome { version, .. } => version);
        assert_eq!(version, PROTOCOL_VERSION);
    }

    /// Reads `logged_in`, then everything up to `synced`.
    pub async fn finish_login(&mut self) {
        let reply = self.recv_within(LOGIN_WAIT).await;
        let (name, created, token) = expect!(
            reply,
            ServerMessage::LoggedIn { user, created, token, .. } => (user, created, token)
        );
        self.name = Some(name);
        self.created = created;
        self.token = Some(token.0);
        let mut others = VecDeque::new();
        // Bounded by what a test queues: a few thousand messages at most.
        for _ in 0..100_000 {
            match self.recv().await {
                ServerMessage::Message(m) => self.caught_up.push(m),
                ServerMessage::Synced { messages } => {
                    self.synced = messages;
                    self.backlog = others;
                    return;
                }
                other => others.push_back(other),
            }
        }
        panic!("no synced after 100000 lines");
    }

    /// The framed connection, for tests that read and write from separate tasks.
    pub fn into_framed(self) -> Framed<TcpStream, LineCodec> {
        assert!(self.backlog.is_empty(), "unread lines: {:?}", self.backlog);
        self.framed
    }

    pub fn stream(&self) -> &TcpStream {
        self.framed.get_ref()
    }

    pub fn token(&self) -> &str {
        self.token.as_deref().expect("logged in")
    }

    /// A request id no earlier request of this client used.
    pub fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    pub async fn send(&mut self, msg: ClientMessage) {
        self.send_line(msg.to_line()).await;
    }

    pub async fn send_line(&mut self, line: Bytes) {
        tokio::time::timeout(WAIT, self.framed.send(line))
            .await
            .expect("the server takes a line within 5 s")
            .expect("write to the server");
    }

    /// Writes bytes exactly as given: half lines, bad UTF-8, anything.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.try_send_raw(bytes).await.expect("write to the server");
    }

    /// Like [`send_raw`](Self::send_raw), for writes that may meet a closed connection.
    pub async fn try_send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = self.framed.get_mut();
        tokio::time::timeout(WAIT, async {
            stream.write_all(bytes).await?;
            stream.flush().await
        })
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the server took no bytes for 5 s"))?
    }

    /// Closes the sending half only, as `nc -N` does at the end of its input.
    pub async fn half_close(&mut self) {
        self.framed
            .get_mut()
            .shutdown()
            .await
            .expect("shut down the write half");
    }

    /// The next line, however long it takes up to `wait`, or the end of the
    /// connection; `online` counts only if [`online_counts`](Self::online_counts).
    pub async fn next_within(&mut self, wait: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = self.next_line_until(deadline).await;
            if self.online_counts || !matches!(next, Next::Line(ServerMessage::Online { .. })) {
                return next;
            }
        }
    }

    async fn next_line_until(&mut self, deadline: tokio::time::Instant) -> Next {
        if let Some(msg) = self.backlog.pop_front() {
            return Next::Line(msg);
        }
        match tokio::time::timeout_at(deadline, self.framed.next()).await {
            Err(_) => Next::Silent,
            Ok(None) => Next::Closed,
            Ok(Some(Err(e))) => match e {
                classchat_common::FrameError::Io(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::BrokenPipe
                    ) =>
                {
                    Next::Closed
                }
                e => panic!("reading from the server failed: {e}"),
            },
            Ok(Some(Ok(line))) => match ServerMessage::decode(&line) {
                Ok(msg) => Next::Line(msg),
                Err(e) => {
                    panic!("the server sent a line that is not a server message ({e}): {line:?}")
                }
            },
        }
    }

    /// The next message; fails if none comes within [`WAIT`] or the connection ends.
    pub async fn recv(&mut self) -> ServerMessage {
        self.recv_within(WAIT).await
    }

    pub async fn recv_within(&mut self, wait: Duration) -> ServerMessage {
        match self.next_within(wait).await {
            Next::Line(msg) => msg,
            Next::Closed => panic!(
                "{}: the server closed the connection while a message was awaited",
                self.who()
            ),
            Next::Silent => panic!("{}: no message from the server within {wait:?}", self.who()),
        }
    }

    /// Skips messages until one matches, failing after `max` others.
    pub async fn recv_until(
        &mut self,
        max: usize,
        mut matches: impl FnMut(&ServerMessage) -> bool,
    ) -> ServerMessage {
        let mut skipped = Vec::new();
        while skipped.len() <= max {
            let msg = self.recv().await;
            if matches(&msg) {
                return msg;
            }
            skipped.push(msg);
        }
        panic!("{}: no matching message among {skipped:#?}", self.who());
    }

    /// The next message, which must be an error with `code`.
    pub async fn recv_error(&mut self, code: ErrorCode) -> ServerMessage {
        let msg = self.recv().await;
        match &msg {
            ServerMessage::Error {
                code: got, message, ..
            } => {
                assert_eq!(*got, code, "{}: wrong error code ({message})", self.who());
                assert!(!message.is_empty(), "an error says what happened");
            }
            other => panic!("{}: expected error {code:?}, got {other:?}", self.who()),
        }
        msg
    }

    /// Reads until the server closes the connection, within [`WAIT`], and
    /// returns what came before the end.
    pub async fn expect_closed(&mut self) -> Vec<ServerMessage> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut seen = Vec::new();
        for _ in 0..100_000 {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Next::Line(msg) => seen.push(msg),
                Next::Closed => return seen,
                Next::Silent => panic!(
                    "{}: the connection is still open after {WAIT:?}; got {seen:?}",
                    self.who()
                ),
            }
        }
        panic!(
            "{}: the connection did not close after 100000 lines",
            self.who()
        );
    }

    /// Proves nothing else is queued for this client: the hub answers requests
    /// in order, so a `who` reply that comes next means nothing was before it.
    pub async fn expect_nothing_pending(&mut self) {
        let req = self.req();
        self.send(ClientMessage::Who { req: Some(req) }).await;
        let msg = self.recv().await;
        assert!(
            matches!(msg, ServerMessage::Who { req: Some(r), .. } if r == req),
            "{}: expected nothing before the who reply, got {msg:?}",
            self.who()
        );
    }

    /// Sends a message and waits for its `stored`, skipping presence and receipts.
    pub async fn send_stored(&mut self, to: &str, body: &str) -> (MessageId, ServerMessage) {
        let (id, msg) = send_to(to, body);
        self.send(msg).await;
        let stored = self
            .recv_until(20, |m| {
                matches!(m, ServerMessage::Stored { id: got, .. } if *got == id)
                    || matches!(m, ServerMessage::Error { id: Some(got), .. } if *got == id)
            })
            .await;
        assert!(
            matches!(stored, ServerMessage::Stored { .. }),
            "not stored: {stored:?}"
        );
        (id, stored)
    }

    /// Waits for a message from the server, skipping presence and receipts.
    pub async fn recv_message(&mut self) -> ChatMessage {
        let msg = self
            .recv_until(20, |m| {
                matches!(m, ServerMessage::Message(_))
                    || !matches!(
                        m,
                        ServerMessage::Presence { .. } | ServerMessage::Receipt { .. }
                    )
            })
            .await;
        expect!(msg, ServerMessage::Message(m) => m)
    }

    /// Says `bye` and waits for the server to close.
    pub async fn bye(mut self) {
        self.send(ClientMessage::Bye).await;
        let rest = self.expect_closed().await;
        assert!(
            matches!(rest.last(), Some(ServerMessage::Bye)),
            "{}: bye is answered with bye, got {rest:?}",
            self.who()
        );
    }

    fn who(&self) -> String {
        self.name
            .as_ref()
            .map_or_else(|| "client".to_owned(), ToString::to_string)
    }
}
