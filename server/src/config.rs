//! The server's settings, with the defaults the command line starts from:
//! each default is written once, in [`defaults`], and read by both
//! [`Config::new`] and the command line's options and help.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use classchat_common::limits;
use classchat_common::protocol::Limits;

use crate::outbound::Bounds;
use crate::ratelimit::{DEFAULT_RATES, Rate, Rates};
use crate::store::sqlite::SyncLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// SQLite in the data directory; survives restarts and crashes.
    Sqlite,
    /// Memory only; everything is lost when the server stops.
    Memory,
    /// A PostgreSQL database (`--postgres URL`); files stay in the data
    /// directory. Needs a server built with `--features cluster`.
    Postgres,
}

/// How a node of a cluster reaches the others.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub nats: String,
    /// Unique among the nodes; a node whose id is in use is refused.
    pub node: String,
    /// Prefix of every NATS subject, so that two clusters can share a NATS server.
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub store: StoreKind,
    /// The database of [`StoreKind::Postgres`]: a URL or key=value settings.
    pub postgres: Option<String>,
    /// A node of a cluster: the NATS server the nodes talk through, and how
    /// this node is named among them (`--nats`, `--node-id`).
    pub cluster: Option<ClusterConfig>,
    pub sync: SyncLevel,
    /// What each user may ask for how often: messages, group changes, queries…
    pub rates: Rates,
    /// Groups one user may own at once.
    pub max_owned_groups: usize,
    /// Groups one user may be a member of at once, however they got in
    /// (joining, or being added by others).
    pub max_memberships: usize,
    /// Open file offers (and uploads) one user may have at once, whatever
    /// their size.
    pub max_open_offers: usize,
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
    /// Threads that hash passwords, each holding one 19 MiB argon2 buffer for
    /// good: password hashing never holds more than this many buffers.
    pub hash_concurrency: usize,
    /// Accounts one address may create at once, and after that.
    pub sign_ups: Rate,
    /// The largest file one may offer, all offered files together, and what
    /// one user's open offers may hold.
    pub max_file: u64,
    pub file_quota: u64,
    pub user_file_quota: u64,
    /// How long an offer waits for its recipients.
    pub file_ttl: Duration,
    /// When set, only the names in this file may create accounts.
    pub roster: Option<PathBuf>,
    /// The shortest password a new account or a password change may have,
    /// in characters; announced in `welcome`.
    pub min_password: usize,
}

impl Config {
    /// Defaults for a server keeping its data in `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            store: StoreKind::Sqlite,
            postgres: None,
            cluster: None,
            sync: SyncLevel::Normal,
            rates: DEFAULT_RATES,
            max_owned_groups: defaults::MAX_OWNED_GROUPS,
            max_memberships: defaults::MAX_MEMBERSHIPS,
            max_open_offers: defaults::MAX_OPEN_OFFERS,
            login_timeout: Duration::from_secs(limits::LOGIN_TIMEOUT_SECS),
            ping_interval: Duration::from_secs(limits::PING_SECS),
            write_timeout: Duration::from_secs(20),
            queue: Bounds {
                lines: 8192,
                bytes: 8 << 20,
            },
            max_connections: defaults::MAX_CONNECTIONS,
            max_per_address: defaults::MAX_PER_ADDRESS,
            tls: None,
            hash_concurrency: defaults::hash_threads(),
            sign_ups: defaults::SIGN_UPS,
            max_file: defaults::MAX_FILE_MIB << 20,
            file_quota: defaults::FILE_QUOTA_MIB << 20,
            user_file_quota: defaults::USER_FILE_QUOTA_MIB << 20,
            file_ttl: Duration::from_secs(defaults::FILE_DAYS * 24 * 3600),
            roster: None,
            min_password: limits::MIN_PASSWORD_CHARS,
        }
    }

    /// What `welcome` announces.
    pub fn limits(&self) -> Limits {
        Limits {
            max_frame: limits::MAX_FRAME_BYTES,
            max_body: limits::MAX_BODY_BYTES,
            max_name: limits::MAX_NAME_LEN,
            min_password: self.min_password,
            history_page: limits::HISTORY_PAGE_MAX,
            // Announced whole: a client pacing itself rounds down.
            rate_per_sec: self.rates.messages.per_sec as u32,
            rate_burst: self.rates.messages.burst,
            ping_secs: self.ping_interval.as_secs(),
            max_file: self.max_file,
            file_chunk: limits::FILE_CHUNK_BYTES,
            file_window: limits::FILE_WINDOW,
        }
    }
}

/// Every default that an option can change, written once.
pub mod defaults {
    use crate::ratelimit::Rate;

    pub const MAX_CONNECTIONS: usize = 20_000;
    pub const MAX_PER_ADDRESS: usize = 256;
    /// Enough for an instructor's sections and teams.
    pub const MAX_OWNED_GROUPS: usize = 200;
    /// Far more than a student is ever in; a bound on what others can do to them.
    pub const MAX_MEMBERSHIPS: usize = 500;
    pub const MAX_OPEN_OFFERS: usize = 100;
    /// A class behind one NAT address signs up together at the start of term.
    pub const SIGN_UPS: Rate = Rate::per_hour(100, 100);
    /// 1 GiB, as `common` announces by default.
    pub const MAX_FILE_MIB: u64 = classchat_common::limits::MAX_FILE_BYTES >> 20;
    pub const FILE_QUOTA_MIB: u64 = 20 * 1024;
    pub const USER_FILE_QUOTA_MIB: u64 = 4 * 1024;
    pub const FILE_DAYS: u64 = 7;
    pub const TLS_PORT: u16 = 12346;

    /// Threads that hash passwords: two keep logins quick; more would only
    /// add 19 MiB each, and take cores the message workers need.
    pub fn hash_threads() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get().min(2))
    }
}

/// The default listening address: every interface, IPv6 and IPv4 alike.
pub fn default_listen() -> SocketAddr {
    SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, limits::DEFAULT_PORT))
}
