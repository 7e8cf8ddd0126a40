//! The server's settings, with the defaults the command line starts from.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use classchat_common::limits;
use classchat_common::protocol::Limits;

use crate::outbound::Bounds;
use crate::ratelimit::Rate;
use crate::store::sqlite::SyncLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// SQLite in the data directory; survives restarts and crashes.
    Sqlite,
    /// Memory only; everything is lost when the server stops.
    Memory,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub store: StoreKind,
    pub sync: SyncLevel,
    /// Messages per second per user, and the burst allowed above it.
    pub rate: Rate,
    /// Time a new connection has to say `hello` and log in.
    pub login_timeout: Duration,
    /// Silence after which a connection is pinged; as long again and it is closed.
    pub ping_interval: Duration,
    /// How long one write to a client may stall before the client is dropped.
    pub write_timeout: Duration,
    /// Bound of each connection's queue of unsent lines.
    pub queue: Bounds,
    /// Connections accepted at once; more are told `server_busy` and closed.
    pub max_connections: usize,
    /// Connections from one address at once (IPv4-mapped IPv6 counts as IPv4).
    pub max_per_address: usize,
    /// TLS, when listeners for it are given.
    pub tls: Option<crate::tls::TlsSource>,
    /// Password hashes computed at once.
    pub hash_concurrency: usize,
    /// The largest file one may offer, all offered files together, and what
    /// one user's open offers may hold.
    pub max_file: u64,
    pub file_quota: u64,
    pub user_file_quota: u64,
    /// How long an offer waits for its recipients.
    pub file_ttl: Duration,
    /// When set, only the names in this file may create accounts.
    pub roster: Option<PathBuf>,
}

impl Config {
    /// Defaults for a server keeping its data in `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            store: StoreKind::Sqlite,
            sync: SyncLevel::Normal,
            rate: Rate {
                per_sec: 30,
                burst: 100,
            },
            login_timeout: Duration::from_secs(limits::LOGIN_TIMEOUT_SECS),
            ping_interval: Duration::from_secs(limits::PING_SECS),
            write_timeout: Duration::from_secs(20),
            queue: Bounds {
                lines: 8192,
                bytes: 8 << 20,
            },
            max_connections: 20_000,
            max_per_address: 256,
            tls: None,
            hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_file: limits::MAX_FILE_BYTES,
            file_quota: 20 << 30,
            user_file_quota: 4 << 30,
            file_ttl: Duration::from_secs(7 * 24 * 3600),
            roster: None,
        }
    }

    /// What `welcome` announces.
    pub fn limits(&self) -> Limits {
        Limits {
            max_frame: limits::MAX_FRAME_BYTES,
            max_body: limits::MAX_BODY_BYTES,
            max_name: limits::MAX_NAME_LEN,
            history_page: limits::HISTORY_PAGE_MAX,
            rate_per_sec: self.rate.per_sec,
            rate_burst: self.rate.burst,
            ping_secs: self.ping_interval.as_secs(),
            max_file: self.max_file,
            file_chunk: limits::FILE_CHUNK_BYTES,
            file_window: limits::FILE_WINDOW,
        }
    }
}

/// The default listening address: every interface, IPv6 and IPv4 alike.
pub fn default_listen() -> SocketAddr {
    SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, limits::DEFAULT_PORT))
}
