//! Accepting connections and stopping cleanly.
//!
//! [`Server::open`] opens the store and starts the hub; [`Server::run`] takes
//! listeners that are already bound (tests bind port 0) and a shutdown future.
//! Shutdown stops accepting, tells every session to close with
//! `server_shutdown`, waits for them, lets the hub commit its last batch, and
//! returns.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use classchat_common::{ErrorCode, ServerMessage};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Hasher;
use crate::blobs::Blobs;
use crate::config::{Config, StoreKind};
use crate::gate::{Full, Gate};
use crate::hub::{Hub, HubConfig, HubTask};
use crate::roster::Roster;
use crate::session::{self, Context};
use crate::store::memory::MemoryStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Roster(#[from] crate::roster::RosterError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[cfg(feature = "cluster")]
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error("cannot listen on {addr}: {cause}")]
    Bind { addr: SocketAddr, cause: io::Error },
}

/// Opens `--store postgres`, in a server built with it.
async fn open_postgres(config: &Config) -> Result<Box<dyn Store>, StoreError> {
    let Some(url) = &config.postgres else {
        return Err(StoreError::Settings(
            "--store postgres needs --postgres URL (or CLASSCHAT_POSTGRES)".into(),
        ));
    };
    #[cfg(feature = "cluster")]
    {
        let node = config.cluster.as_ref().map(|c| c.node.as_str());
        let store = crate::store::postgres::PostgresStore::open(url, node).await?;
        tracing::info!("opened the PostgreSQL database");
        Ok(Box::new(store))
    }
    #[cfg(not(feature = "cluster"))]
    {
        let _ = url;
        Err(StoreError::Settings(
            "this classchat-server was built without PostgreSQL; build it with \
             `cargo build --release -p classchat-server --features cluster`"
                .into(),
        ))
    }
}

/// Connects a node of a cluster to NATS (`--nats`), before anything else is
/// opened: a node that cannot reach the others must not serve on its own.
#[cfg(feature = "cluster")]
async fn connect_cluster(config: &Config) -> Result<Option<crate::cluster::Link>, ServerError> {
    let Some(cluster) = &config.cluster else {
        return Ok(None);
    };
    if config.store != StoreKind::Postgres {
        return Err(StoreError::Settings(
            "a node of a cluster (--nats) keeps everything in PostgreSQL: add --store postgres"
                .into(),
        )
        .into());
    }
    let link = crate::cluster::Link::connect(cluster).await?;
    tracing::info!(node = %cluster.node, nats = %cluster.nats, "connected to the cluster's NATS");
    Ok(Some(link))
}

/// Without the `cluster` feature there is no NATS: asking for it is refused.
#[cfg(not(feature = "cluster"))]
async fn connect_cluster(
    config: &Config,
) -> Result<Option<tokio::task::JoinHandle<()>>, ServerError> {
    if config.cluster.is_some() {
        return Err(StoreError::Settings(
            "this classchat-server was built without cluster mode; build it with \
             `cargo build --release -p classchat-server --features cluster`"
                .into(),
        )
        .into());
    }
    Ok(None)
}

/// A server with its store open and its hub running, ready to accept.
#[derive(Debug)]
pub struct Server {
    ctx: Arc<Context>,
    hub_task: HubTask,
    tls: Option<crate::tls::ServerTls>,
    tls_listeners: Vec<TcpListener>,
    /// With the memory store, files live in a temporary folder, gone with the server.
    _scratch: Option<tempfile::TempDir>,
    /// A node of a cluster: the task publishing its last events to the others.
    publisher: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    pub async fn open(config: Config) -> Result<Self, ServerError> {
        // Checked first: a bad roster should stop the start before anything is opened.
        let roster = match &config.roster {
            Some(path) => {
                let (roster, names) = Roster::open(path.clone())?;
                tracing::info!(roster = %path.display(), names, "only the names on the roster may create accounts");
                Some(roster)
            }
            None => None,
        };
        let link = connect_cluster(&config).await?;
        let store: Box<dyn Store> = match config.store {
            StoreKind::Sqlite => {
                let store = SqliteStore::open(&config.data_dir, config.sync)?;
                tracing::info!(path = %store.path().display(), sync = ?config.sync, "opened the database");
                Box::new(store)
            }
            StoreKind::Memory => {
                tracing::warn!("using the memory store: nothing will survive a restart");
                Box::new(MemoryStore::new())
            }
            StoreKind::Postgres => open_postgres(&config).await?,
        };
        let (files_dir, scratch) = match config.store {
            StoreKind::Sqlite => (config.data_dir.join("files"), None),
            StoreKind::Postgres => {
                crate::owner_only::create_dir(&config.data_dir).map_err(|cause| {
                    StoreError::DataDir {
                        path: config.data_dir.display().to_string(),
                        cause,
                    }
                })?;
                (config.data_dir.join("files"), None)
            }
            StoreKind::Memory => {
                let scratch = tempfile::Builder::new()
                    .prefix("classchat-files-")
                    .tempdir()
                    .map_err(|cause| StoreError::DataDir {
                        path: std::env::temp_dir().display().to_string(),
                        cause,
                    })?;
                (scratch.path().to_path_buf(), Some(scratch))
            }
        };
        let blobs = Blobs::open(files_dir.clone()).map_err(|cause| StoreError::DataDir {
            path: files_dir.display().to_string(),
            cause,
        })?;
        #[cfg(feature = "cluster")]
        let blobs = match &link {
            Some(link) => blobs.with_remote(link.fetcher()),
            None => blobs,
        };
        let hub_config = HubConfig {
            rates: config.rates,
            max_owned_groups: config.max_owned_groups,
            max_memberships: config.max_memberships,
            max_open_offers: config.max_open_offers,
            max_batch: 1024,
            max_file: config.max_file,
            file_quota: config.file_quota,
            user_file_quota: config.user_file_quota,
            file_ttl: config.file_ttl,
            blobs: blobs.clone(),
            bus: None,
        };
        #[cfg(feature = "cluster")]
        let hub_config = HubConfig {
            bus: link
                .as_ref()
                .map(|l| l.bus.clone() as Arc<dyn crate::hub::remote::Bus>),
            ..hub_config
        };
        let tls = match &config.tls {
            Some(source) => {
                let tls = crate::tls::load(source, &config.data_dir)?;
                tracing::info!(
                    cert = %tls.cert_path.display(),
                    "TLS certificate fingerprint (SHA-256) {}",
                    tls.fingerprint
                );
                Some(tls)
            }
            None => None,
        };
        let hasher = Hasher::new(config.hash_concurrency)?;
        let (hub, hub_task) = Hub::start(store, hub_config).await?;
        let shutdown = CancellationToken::new();
        let throttle = Arc::new(crate::throttle::Throttle::default());
        let sign_ups = Arc::new(crate::auth::signups::SignUps::new(config.sign_ups));
        #[cfg(feature = "cluster")]
        let publisher = match link {
            Some(link) => {
                let guards = crate::cluster::Guards {
                    throttle: throttle.clone(),
                    sign_ups: sign_ups.clone(),
                };
                guards.share_with(&link.bus);
                let started = link.start(hub.clone(), blobs.clone(), guards, shutdown.clone());
                Some(started.await?)
            }
            None => None,
        };
        #[cfg(not(feature = "cluster"))]
        let publisher = link;
        let ctx = Arc::new(Context {
            hub,
            hasher,
            sign_ups,
            config,
            blobs,
            throttle,
            roster,
            shutdown,
            tickets: Default::default(),
        });
        Ok(Self {
            ctx,
            hub_task,
            tls,
            tls_listeners: Vec::new(),
            _scratch: scratch,
            publisher,
        })
    }

    /// The TLS certificate's fingerprint, when TLS is configured.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.fingerprint.as_str())
    }

    /// Listeners that speak TLS (needs `config.tls`); served by `run` beside the plain ones.
    pub fn with_tls_listeners(mut self, listeners: Vec<TcpListener>) -> Self {
        self.tls_listeners = listeners;
        self
    }

    /// Serves `listeners` until `shutdown` resolves, then stops in order.
    pub async fn run(self, listeners: Vec<TcpListener>, shutdown: impl Future<Output = ()>) {
        let tracker = TaskTracker::new();
        let gate = Gate::new(
            self.ctx.config.max_connections,
            self.ctx.config.max_per_address,
        );
        for listener in listeners {
            tracker.spawn(accept_loop(
                listener,
                self.ctx.clone(),
                tracker.clone(),
                gate.clone(),
                None,
            ));
        }
        let acceptor = self.tls.as_ref().map(|t| t.acceptor.clone());
        for listener in self.tls_listeners {
            tracker.spawn(accept_loop(
                listener,
                self.ctx.clone(),
                tracker.clone(),
                gate.clone(),
                acceptor.clone(),
            ));
        }
        tracker.spawn(sweep_offers(self.ctx.clone()));
        // `classchat-server backup` asks here: no other process may open
        // the database while the server has it.
        #[cfg(unix)]
        if self.ctx.config.store == StoreKind::Sqlite {
            tracker.spawn(crate::admin::serve(
                self.ctx.config.data_dir.clone(),
                self.ctx.hub.reader().clone(),
                self.ctx.shutdown.clone(),
            ));
        }
        shutdown.await;
        tracing::info!("shutting down");
        self.ctx.shutdown.cancel();
        tracker.close();
        tracker.wait().await;
        drop(self.ctx);
        self.hub_task.join().await;
        if let Some(publisher) = self.publisher {
            // The other nodes hear that this one is leaving; NATS being
            // away must not hold the stop up.
            let _ = tokio::time::timeout(Duration::from_secs(2), publisher).await;
        }
        tracing::info!("stopped");
    }
}

/// Binds `addr` with a deep backlog. An IPv6 wildcard address also accepts IPv4
/// (dual stack) unless `v6_only` is set.
pub fn bind(addr: SocketAddr, v6_only: bool) -> Result<TcpListener, ServerError> {
    let err = |cause| ServerError::Bind { addr, cause };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .map_err(err)?;
    if addr.is_ipv6() {
        socket.set_only_v6(v6_only).map_err(err)?;
    }
    socket.set_reuse_address(true).map_err(err)?;
    socket.set_nonblocking(true).map_err(err)?;
    socket.bind(&addr.into()).map_err(err)?;
    socket.listen(4096).map_err(err)?;
    TcpListener::from_std(socket.into()).map_err(err)
}

async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<Context>,
    tracker: TaskTracker,
    gate: Gate,
    tls: Option<TlsAcceptor>,
) {
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            () = ctx.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(conn) => {
                backoff = Duration::from_millis(5);
                conn
            }
            Err(e) => {
                // Out of file descriptors and similar: wait instead of spinning.
                tracing::warn!("accept failed: {e}; pausing {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let ticket = match gate.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(full) => {
                // Said in plain text: a TLS client sees a failed handshake instead.
                tracker.spawn(refuse(stream, full));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        keep_little_unsent(&stream);
        let ctx = ctx.clone();
        let tls = tls.clone();
        tracker.spawn(session::run(stream, peer, ctx, tls, ticket));
    }
}

/// Bytes the kernel may hold for a connection beyond what is in flight.
const NOTSENT_LOWAT: u32 = 128 * 1024;

/// Keeps the kernel from taking more than [`NOTSENT_LOWAT`] unsent bytes for a
/// connection (Linux: `TCP_NOTSENT_LOWAT`). Otherwise a send buffer grown to
/// megabytes takes a whole catch-up at once and wakes the writer again only
/// when a third of it has drained: a client reading slowly would look
/// stalled for longer than the write timeout while it reads steadily. With
/// it, every write makes visible progress as the client reads, the kernel
/// holds little for each slow reader, and what is in flight is not limited.
fn keep_little_unsent(stream: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) = socket2::SockRef::from(stream).set_tcp_notsent_lowat(NOTSENT_LOWAT) {
        tracing::debug!("cannot set TCP_NOTSENT_LOWAT: {e}");
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = (stream, NOTSENT_LOWAT);
}

/// Asks the hub once a minute to end offers past their expiry.
async fn sweep_offers(ctx: Arc<Context>) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = ctx.shutdown.cancelled() => return,
            _ = every.tick() => {
                if ctx.hub.send(crate::hub::Command::Sweep).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn refuse(mut stream: TcpStream, full: Full) {
    let why = match full {
        Full::Server => "the server is full; try again later",
        Full::Address => "too many connections from your address; close some and try again",
    };
    let line = ServerMessage::error(ErrorCode::ServerBusy, why).to_line();
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&line)).await;
}
