//! `classchat-server`: parses arguments, sets up logging, binds, runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser};
use clap_complete::Shell;
use classchat_common::Username;
use classchat_server::admin;
use classchat_server::config::{ClusterConfig, Config, StoreKind, default_listen, defaults};
use classchat_server::ratelimit::{Class, DEFAULT_RATES, Rate};
use classchat_server::server::{Server, bind};
use classchat_server::store::sqlite::SyncLevel;
use classchat_server::tls::TlsSource;

/// mimalloc (without transparent huge pages, which would count megabytes of
/// untouched memory against the server): against the system allocator on
/// the same code, 8% fewer instructions per direct message (12% on the
/// memory store), and each idle connection 2.2 → 1.8 KiB, since objects of
/// one size share pages instead of fragmenting arenas. docs/BENCHMARKS.md
/// has the figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The ClassChat server: direct messages, groups and offline delivery for a class or a team.
///
/// Without a command, it serves until Ctrl-C, SIGTERM or SIGHUP, which shut it
/// down cleanly. Accounts, messages and offered files live in the data directory,
/// which one server at a time may use. Logs go to stderr (RUST_LOG=debug for more).
#[derive(Debug, Parser)]
#[command(name = "classchat-server", version)]
struct Args {
    /// Without a command, serve.
    #[command(subcommand)]
    command: Option<Command>,

    /// Address to listen on; repeat for several. The default, [::]:12345,
    /// accepts IPv6 and IPv4 clients alike.
    #[arg(long = "listen", value_name = "ADDR")]
    listen: Vec<SocketAddr>,

    /// Where the database lives [default: the platform data directory,
    /// e.g. ~/.local/share/classchat-server]
    #[arg(long, value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,

    /// Where messages are kept.
    #[arg(long, value_enum, default_value_t = StoreKind::Sqlite)]
    store: StoreKind,

    /// The PostgreSQL database for `--store postgres`, as a URL
    /// (postgresql://USER:PASSWORD@HOST:PORT/DATABASE) or key=value settings;
    /// needs a server built with `--features cluster`.
    #[arg(
        long,
        value_name = "URL",
        env = "CLASSCHAT_POSTGRES",
        hide_env_values = true
    )]
    postgres: Option<String>,

    /// Run as a node of a cluster: the NATS server the nodes talk through
    /// (nats://HOST:PORT). Needs --store postgres and --node-id.
    #[arg(long, value_name = "URL", env = "CLASSCHAT_NATS", requires = "node_id")]
    nats: Option<String>,

    /// This node's name in the cluster (letters, digits, - and _), unique
    /// among the nodes: a node whose id is in use is refused at start.
    #[arg(long, value_name = "ID", env = "CLASSCHAT_NODE_ID", requires = "nats")]
    node_id: Option<String>,

    /// Prefix of the cluster's NATS subjects, so that two clusters can share
    /// one NATS server.
    #[arg(long, value_name = "NAME", default_value = "classchat")]
    cluster_name: String,

    /// SQLite durability. `normal` survives a crash of the server process,
    /// but after a power failure, or a file system that turns read-only
    /// (ext4 errors=remount-ro), it can lose the messages acknowledged since
    /// the last checkpoint. `full` loses none, at one fsync per batch.
    #[arg(long, value_enum, default_value_t = SyncLevel::Normal)]
    sync: SyncLevel,

    /// Messages (and file offers) a user may send per second, sustained;
    /// announced to clients.
    #[arg(long, default_value_t = DEFAULT_RATES.messages.per_sec as u32, value_name = "N")]
    rate: u32,

    /// Messages a user may send in a burst above the sustained rate.
    #[arg(long, default_value_t = DEFAULT_RATES.messages.burst, value_name = "N")]
    burst: u32,

    /// How often one user may make each kind of request, as KIND=N/UNIT,BURST
    /// (UNIT s, m or h); repeat for several kinds.
    #[arg(long = "rate-limit", value_name = "KIND=RATE", long_help = rate_limit_help())]
    rate_limit: Vec<RateLimit>,

    /// Groups one user may own at once (also those they have left).
    #[arg(long, default_value_t = defaults::MAX_OWNED_GROUPS, value_name = "N")]
    max_owned_groups: usize,

    /// Groups one user may be in at once, whether they joined or others added
    /// them.
    #[arg(long, default_value_t = defaults::MAX_MEMBERSHIPS, value_name = "N")]
    max_memberships: usize,

    /// Open file offers (uploads included) one user may have at once,
    /// whatever their size.
    #[arg(long, default_value_t = defaults::MAX_OPEN_OFFERS, value_name = "N")]
    max_open_offers: usize,

    /// Connections served at once; more are told the server is busy.
    #[arg(long, default_value_t = defaults::MAX_CONNECTIONS, value_name = "N")]
    max_connections: usize,

    /// Connections from one address at once (IPv4-mapped IPv6 counts as IPv4).
    #[arg(long, default_value_t = defaults::MAX_PER_ADDRESS, value_name = "N")]
    max_per_address: usize,

    /// Address to listen on with TLS; repeat for several [default, when a
    /// certificate is configured: [::]:12346]
    #[arg(long = "tls-listen", value_name = "ADDR")]
    tls_listen: Vec<SocketAddr>,

    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    tls_cert: Option<PathBuf>,

    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Use a self-signed certificate, made in the data directory on first start
    /// and reused after; its fingerprint is logged at start.
    #[arg(long)]
    tls_self_signed: bool,

    /// The largest file one may offer, in MiB.
    #[arg(long, default_value_t = defaults::MAX_FILE_MIB, value_name = "MIB")]
    max_file_mib: u64,

    /// Room for offered files, all together, in MiB.
    #[arg(long, default_value_t = defaults::FILE_QUOTA_MIB, value_name = "MIB")]
    file_quota_mib: u64,

    /// Room for one user's open offers (uploading, or waiting for recipients), in MiB.
    #[arg(long, default_value_t = defaults::USER_FILE_QUOTA_MIB, value_name = "MIB")]
    user_file_quota_mib: u64,

    /// Days an offer waits for its recipients before it expires.
    #[arg(long, default_value_t = defaults::FILE_DAYS, value_name = "DAYS")]
    file_days: u64,

    /// Only the names in FILE (one per line; `#` starts a comment) may create
    /// accounts; it is read again at every sign-up. Without it, the first
    /// login with a new name creates the account.
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,

    /// The shortest password a new account, or a password change, may have,
    /// in characters; announced to clients, which say so before the server
    /// refuses. Existing passwords keep working.
    #[arg(long, default_value_t = classchat_common::limits::MIN_PASSWORD_CHARS, value_name = "N")]
    min_password: usize,

    /// Threads that hash passwords; each holds 19 MiB for good [default: the
    /// number of cores, at most 2]
    #[arg(long, value_name = "N")]
    hash_threads: Option<usize>,
}

/// One `--rate-limit`: a kind of request and how often it may come.
#[derive(Debug, Clone)]
struct RateLimit {
    kind: Kind,
    rate: Rate,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Per user, all their connections together.
    User(Class),
    /// Accounts created, per address.
    SignUps,
}

impl std::str::FromStr for RateLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, rate) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?}: write KIND=N/UNIT,BURST, e.g. changes=2/s,100"))?;
        let kind = match name.trim() {
            "sign-ups" => Kind::SignUps,
            name => Kind::User(
                Class::ALL
                    .into_iter()
                    .find(|c| c.name() == name)
                    .ok_or_else(|| format!("no kind of request {name:?}; see --help"))?,
            ),
        };
        Ok(Self {
            kind,
            rate: rate.parse()?,
        })
    }
}

/// `--rate-limit`'s help, with every kind and its default.
fn rate_limit_help() -> String {
    let mut help = String::from(
        "How often one user (all their connections together) may make each kind of \
         request, as KIND=N/UNIT,BURST: N a second (s), minute (m) or hour (h) sustained, \
         BURST at once. Repeat for several kinds. Above it a request is refused \
         `rate_limited`, saying when to retry. The kinds and their defaults:\n",
    );
    for class in Class::ALL {
        help.push_str(&format!(
            "\n  {:<10} {} ({})",
            class.name(),
            DEFAULT_RATES.of(class).describe(),
            class.describe()
        ));
    }
    help.push_str(&format!(
        "\n  {:<10} {} (accounts created, per address)",
        "sign-ups",
        defaults::SIGN_UPS.describe()
    ));
    help.push_str("\n\n`messages` is also set by --rate and --burst.");
    help
}

/// What runs instead of the server: an operator's work on the data, and the
/// program's own documentation.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Give an account a new random password, printed here, and retire its
    /// saved logins. Stop the server first; start it again after.
    ResetPassword {
        /// The account's name (any case).
        user: Username,
    },
    /// Copy the database, consistently, to FILE (a new file): a running
    /// server makes the copy while it goes on serving; with none running,
    /// this command does. Copy the data directory's `files/` beside it.
    Backup {
        /// Where the copy goes; an existing file is never replaced.
        file: PathBuf,
    },
    /// Print a completion script for your shell, e.g. `classchat-server
    /// completions bash > ~/.local/share/bash-completion/completions/classchat-server`.
    Completions { shell: Shell },
    /// Print the man page: this help as roff, e.g. `classchat-server man >
    /// ~/.local/share/man/man1/classchat-server.1`.
    Man,
}

fn main() -> ExitCode {
    // A second line of defence: what the server makes on purpose is
    // owner-only by its own mode (`owner_only`); this covers whatever it makes
    // without one (SQLite's other journals, a file added later). It costs
    // nothing, as the server makes nothing meant for other users.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // A log nobody reads any more (the `tee` of a closed terminal, a
        // `| head` that ended) must not stop the server: tracing would say so
        // with `eprintln!`, which panics when stderr is gone.
        .log_internal_errors(false)
        // Colours only for a person watching; a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut args = Args::parse();
    if let Some(command) = args.command.take() {
        return match run_command(command, args.data_dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("classchat-server: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    match tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|rt| rt.block_on(serve(args)))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classchat-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `--data-dir`, or the platform's place for it.
fn data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(dir) => Ok(dir),
        None => Ok(directories::ProjectDirs::from("", "", "classchat-server")
            .context("cannot find a home directory for the data; pass --data-dir")?
            .data_dir()
            .to_path_buf()),
    }
}

#[allow(
    clippy::print_stdout,
    reason = "the new password is the command's output"
)]
fn run_command(command: Command, dir: Option<PathBuf>) -> anyhow::Result<()> {
    match command {
        Command::ResetPassword { user } => {
            let (user, password) = admin::reset_password(&data_dir(dir)?, &user)?;
            println!("new password for {user}: {password}");
            println!(
                "{user}'s saved logins no longer work: each of {user}'s clients asks for this password."
            );
        }
        Command::Backup { file } => {
            let written = admin::backup(&data_dir(dir)?, &file)?;
            println!("backup written to {}", written.display());
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Args::command(), "classchat-server", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
        }
        Command::Man => {
            let page = classchat_common::manual::man_page(&Args::command())
                .context("cannot make the man page")?;
            std::io::Write::write_all(&mut std::io::stdout(), &page)?;
        }
    }
    Ok(())
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let mut config = Config::new(data_dir(args.data_dir)?);
    config.store = args.store;
    config.postgres = args.postgres;
    if let (Some(nats), Some(node)) = (args.nats, args.node_id) {
        config.cluster = Some(ClusterConfig {
            nats,
            node,
            name: args.cluster_name,
        });
    }
    config.sync = args.sync;
    config.rates.messages = Rate::per_second(args.rate.max(1), args.burst.max(1));
    for RateLimit { kind, rate } in args.rate_limit {
        match kind {
            Kind::User(class) => config.rates.set(class, rate),
            Kind::SignUps => config.sign_ups = rate,
        }
    }
    config.max_owned_groups = args.max_owned_groups;
    config.max_memberships = args.max_memberships;
    config.max_open_offers = args.max_open_offers;
    config.max_connections = args.max_connections;
    config.max_per_address = args.max_per_address;
    config.tls = match (args.tls_cert, args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), _) => Some(TlsSource::Files { cert, key }),
        (_, _, true) => Some(TlsSource::SelfSigned),
        _ => None,
    };
    config.max_file = args.max_file_mib.saturating_mul(1 << 20);
    config.file_quota = args.file_quota_mib.saturating_mul(1 << 20);
    config.user_file_quota = args.user_file_quota_mib.saturating_mul(1 << 20);
    config.file_ttl = std::time::Duration::from_secs(args.file_days.max(1).saturating_mul(86_400));
    config.roster = args.roster;
    config.min_password = args.min_password;
    if let Some(threads) = args.hash_threads {
        config.hash_concurrency = threads.max(1);
    }

    let addrs = if args.listen.is_empty() {
        vec![default_listen()]
    } else {
        args.listen
    };
    let tls_addrs = match (config.tls.is_some(), args.tls_listen.is_empty()) {
        (true, true) => vec![SocketAddr::from((
            std::net::Ipv6Addr::UNSPECIFIED,
            defaults::TLS_PORT,
        ))],
        (true, false) => args.tls_listen,
        (false, true) => Vec::new(),
        (false, false) => anyhow::bail!(
            "--tls-listen needs a certificate: --tls-cert and --tls-key, or --tls-self-signed"
        ),
    };
    let server = Server::open(config).await?;
    let listeners = bind_all(&addrs, "")?;
    let server = server.with_tls_listeners(bind_all(&tls_addrs, " with TLS")?);
    server.run(listeners, shutdown_signal()).await;
    Ok(())
}

/// Binds every address, logging each (`how`: e.g. " with TLS"). An IPv6
/// wildcard also takes IPv4, unless IPv4 has its own address on that port.
fn bind_all(addrs: &[SocketAddr], how: &str) -> anyhow::Result<Vec<tokio::net::TcpListener>> {
    let mut listeners = Vec::with_capacity(addrs.len());
    for &addr in addrs {
        let v6_only = addrs.iter().any(|a| a.is_ipv4() && a.port() == addr.port());
        let listener = bind(addr, v6_only)?;
        let local = listener.local_addr()?;
        let dual = local.is_ipv6() && local.ip().is_unspecified() && !v6_only;
        tracing::info!(
            "listening{how} on {local}{}",
            if dual { " (IPv6 and IPv4)" } else { "" }
        );
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Resolves on Ctrl-C, SIGTERM, or SIGHUP (the terminal the server ran in
/// was closed): each stops the server as cleanly as the others.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let (term, hangup) = {
        use tokio::signal::unix::SignalKind;
        (
            unix_signal(SignalKind::terminate(), "SIGTERM"),
            unix_signal(SignalKind::hangup(), "SIGHUP"),
        )
    };
    #[cfg(not(unix))]
    let (term, hangup) = (std::future::pending::<()>(), std::future::pending::<()>());
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
        () = hangup => {}
    }
}

/// Resolves when the process receives `kind`; never if it cannot listen.
#[cfg(unix)]
async fn unix_signal(kind: tokio::signal::unix::SignalKind, name: &str) {
    match tokio::signal::unix::signal(kind) {
        Ok(mut s) => {
            s.recv().await;
            tracing::info!("{name} received");
        }
        Err(e) => {
            tracing::error!("cannot listen for {name}: {e}");
            std::future::pending::<()>().await;
        }
    }
}
