//! `classchat-server`: parses arguments, sets up logging, binds, runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use classchat_common::Username;
use classchat_server::admin;
use classchat_server::config::{Config, StoreKind, default_listen};
use classchat_server::ratelimit::Rate;
use classchat_server::server::{Server, bind};
use classchat_server::store::sqlite::SyncLevel;
use classchat_server::tls::TlsSource;

/// The ClassChat server: direct messages, groups and offline delivery for a class or a team.
#[derive(Debug, Parser)]
#[command(name = "classchat-server", version)]
struct Args {
    /// Without a command, serve.
    #[command(subcommand)]
    command: Option<Admin>,

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

    /// SQLite durability: `normal` survives a crash of the server process,
    /// `full` also survives power failure (one fsync per batch of messages).
    #[arg(long, value_enum, default_value_t = SyncLevel::Normal)]
    sync: SyncLevel,

    /// Messages a user may send per second, sustained.
    #[arg(long, default_value_t = 30, value_name = "N")]
    rate: u32,

    /// Messages a user may send in a burst above the sustained rate.
    #[arg(long, default_value_t = 100, value_name = "N")]
    burst: u32,

    /// Connections served at once; more are told the server is busy.
    #[arg(long, default_value_t = 20_000, value_name = "N")]
    max_connections: usize,

    /// Connections from one address at once (IPv4-mapped IPv6 counts as IPv4).
    #[arg(long, default_value_t = 256, value_name = "N")]
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
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    max_file_mib: u64,

    /// Room for offered files, all together, in MiB.
    #[arg(long, default_value_t = 20 * 1024, value_name = "MIB")]
    file_quota_mib: u64,

    /// Room for one user's open offers (uploading, or waiting for recipients), in MiB.
    #[arg(long, default_value_t = 4 * 1024, value_name = "MIB")]
    user_file_quota_mib: u64,

    /// Days an offer waits for its recipients before it expires.
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    file_days: u64,

    /// Only the names in FILE (one per line; `#` starts a comment) may create
    /// accounts; it is read again at every sign-up. Without it, the first
    /// login with a new name creates the account.
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,
}

/// What an operator does to the data while the server is stopped.
#[derive(Debug, clap::Subcommand)]
enum Admin {
    /// Give an account a new random password, printed here, and retire its
    /// saved logins. Stop the server first; start it again after.
    ResetPassword {
        /// The account's name (any case).
        user: Username,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person watching; a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut args = Args::parse();
    if let Some(admin) = args.command.take() {
        return match run_admin(admin, args.data_dir) {
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
fn run_admin(admin: Admin, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let dir = data_dir(dir)?;
    match admin {
        Admin::ResetPassword { user } => {
            let (user, password) = admin::reset_password(&dir, &user)?;
            println!("new password for {user}: {password}");
            println!(
                "{user}'s saved logins no longer work: each of {user}'s clients asks for this password."
            );
        }
    }
    Ok(())
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let mut config = Config::new(data_dir(args.data_dir)?);
    config.store = args.store;
    config.sync = args.sync;
    config.rate = Rate {
        per_sec: args.rate.max(1),
        burst: args.burst.max(1),
    };
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

    let addrs = if args.listen.is_empty() {
        vec![default_listen()]
    } else {
        args.listen
    };
    let tls_addrs = match (config.tls.is_some(), args.tls_listen.is_empty()) {
        (true, true) => vec![SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 12346))],
        (true, false) => args.tls_listen,
        (false, true) => Vec::new(),
        (false, false) => anyhow::bail!(
            "--tls-listen needs a certificate: --tls-cert and --tls-key, or --tls-self-signed"
        ),
    };
    let server = Server::open(config)?;
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

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
