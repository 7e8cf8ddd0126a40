//! `classchat`: parses arguments, sets up logging to a file, starts a front end.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{CommandFactory as _, Parser, Subcommand};
use clap_complete::Shell;
use classchat_client::address::ServerAddr;
use classchat_client::app::{self, AppOptions};
use classchat_client::client::{Backoff, Client, ClientOptions};
use classchat_client::config::{Logins, Paths, Settings};
use classchat_client::keymap::Keymap;
use classchat_client::model::Look;
use classchat_client::pipe::{self, PipeOptions};
use classchat_client::tls::Trust;
use classchat_common::Username;
use classchat_common::protocol::Secret;

/// ClassChat: chat for a class or a team, in the terminal.
///
/// Without a command, the full-screen terminal client starts; `pipe` runs the
/// same slash commands from stdin instead and prints every event as a JSON line.
///
/// Settings are read from config.toml in the config directory
/// (~/.config/classchat/ on Linux); the options here win over it. The client
/// writes that file too: after each login in the terminal UI it saves the server
/// and the user name there, never the password. Saved logins, messages not yet
/// stored, pinned certificates and the log (classchat.log; CLASSCHAT_LOG=debug
/// for more) are in the data directory (~/.local/share/classchat/). The
/// password may also come from CLASSCHAT_PASSWORD; NO_COLOR turns colour off.
#[derive(Debug, Parser)]
#[command(name = "classchat", version)]
struct Cli {
    /// The server: host[:port], an IPv4 address, or [IPv6]:port; a cluster's nodes separated by commas
    /// [default: from the config file, else localhost:12345]
    #[arg(long, global = true, value_name = "ADDR")]
    server: Option<String>,

    /// Your user name [default: from the config file]
    #[arg(long, global = true, value_name = "NAME")]
    user: Option<String>,

    /// Your password; the first login with a new name creates the account.
    /// Without it, a login saved by an earlier run is used.
    #[arg(
        long,
        global = true,
        env = "CLASSCHAT_PASSWORD",
        hide_env_values = true,
        value_name = "PW"
    )]
    password: Option<String>,

    /// Where accepted files are saved [default: the config file's
    /// download_dir, else ~/Downloads/ClassChat, or downloads in the data
    /// directory where there is no ~/Downloads]
    #[arg(long, global = true, value_name = "DIR")]
    download_dir: Option<std::path::PathBuf>,

    /// Connect with TLS. The server's certificate is pinned on first use
    /// (kept in known_servers.json in the data directory); a changed one is
    /// refused. TLS servers listen on port 12346 by default.
    #[arg(long, global = true)]
    tls: bool,

    /// With --tls: trust certificates signed by the CA in this PEM file
    /// instead of pinning.
    #[arg(long, global = true, value_name = "FILE")]
    tls_ca: Option<std::path::PathBuf>,

    /// With --tls: accept (and pin) the certificate the server presents now,
    /// replacing the one pinned before.
    #[arg(long, global = true)]
    trust_new_certificate: bool,

    /// Without a mode, the full-screen terminal UI starts.
    #[command(subcommand)]
    mode: Option<Mode>,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// No screen: run slash commands from stdin, print every event as a JSON line.
    Pipe {
        /// Seconds to keep printing events after every command was answered.
        #[arg(long, default_value_t = 0.0, value_name = "SECS")]
        wait: f64,
    },
    /// Print a completion script for your shell, e.g. `classchat completions
    /// bash > ~/.local/share/bash-completion/completions/classchat`.
    Completions { shell: Shell },
    /// Print the man page: this help as roff, e.g. `classchat man >
    /// ~/.local/share/man/man1/classchat.1`.
    Man,
}

/// Exit codes: 1 cannot connect or log in (or lost the login), 3 answers never came.
fn main() -> ExitCode {
    let mut cli = Cli::parse();
    let pipe_wait = match cli.mode.take() {
        Some(Mode::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "classchat", &mut script);
            return to_stdout(&script);
        }
        Some(Mode::Man) => {
            return match classchat_common::manual::man_page(&Cli::command()) {
                Ok(page) => to_stdout(&page),
                Err(e) => fail(&format!("cannot make the man page: {e}")),
            };
        }
        Some(Mode::Pipe { wait }) => Some(wait),
        None => None,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start: {e}")),
    };
    match runtime.block_on(run(cli, pipe_wait)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classchat: {e:#}");
            let code = match e.downcast_ref::<pipe::PipeError>() {
                Some(pipe::PipeError::Unanswered { .. }) => 3,
                _ => 1,
            };
            ExitCode::from(code)
        }
    }
}

/// `completions` and `man`: what clap made from [`Cli`], on stdout.
fn to_stdout(text: &[u8]) -> ExitCode {
    match std::io::Write::write_all(&mut std::io::stdout(), text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write the output: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("classchat: {message}");
    ExitCode::FAILURE
}

/// The terminal UI, or pipe mode when `pipe_wait` is given.
async fn run(cli: Cli, pipe_wait: Option<f64>) -> anyhow::Result<()> {
    let paths = Paths::platform()?;
    init_logging(&paths);
    let settings = Settings::load(&paths.config_file)?;
    let server = cli
        .server
        .clone()
        .or_else(|| settings.server.clone())
        .unwrap_or_else(|| "localhost".into());
    let user = cli.user.clone().or_else(|| settings.user.clone());
    let password = cli.password.clone().map(Secret);
    let tls = (cli.tls || cli.tls_ca.is_some() || settings.tls).then(|| match cli.tls_ca.clone() {
        Some(ca) => Trust::Ca(ca),
        None => Trust::Pin {
            known: paths.known_servers_file(),
            replace: cli.trust_new_certificate,
        },
    });
    let download_dir = cli
        .download_dir
        .clone()
        .or_else(|| settings.download_dir.clone())
        .unwrap_or_else(|| paths.default_download_dir());
    match pipe_wait {
        Some(wait) => pipe_mode(&paths, &server, user, password, tls, download_dir, wait).await,
        None => {
            let user = user
                .map(|u| u.parse::<Username>())
                .transpose()
                .context("--user")?;
            let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && settings.theme.as_deref() != Some("mono");
            let keymap = Keymap::with_overrides(&settings.keys)
                .with_context(|| format!("in {}", paths.config_file.display()))?;
            let options = AppOptions {
                server,
                user,
                password,
                download_dir,
                tls,
                look: Look {
                    ascii: settings.ascii,
                    color,
                },
                keymap,
                settings,
                paths,
            };
            app::run(options).await
        }
    }
}

async fn pipe_mode(
    paths: &Paths,
    server: &str,
    user: Option<String>,
    password: Option<Secret>,
    tls: Option<Trust>,
    download_dir: std::path::PathBuf,
    wait: f64,
) -> anyhow::Result<()> {
    let server: ServerAddr = server.parse()?;
    let Some(user) = user else {
        bail!(
            "say who you are with --user NAME (or set user in {})",
            paths.config_file.display()
        );
    };
    let user: Username = user.parse().context("--user")?;
    let options = ClientOptions {
        server: server.clone(),
        user,
        password,
        // A script logs in as before: a new name gets an account.
        create: true,
        logins: Some(Logins::new(paths.logins_file())),
        // A script's unsent lines are its own business, not the next run's.
        unsent: None,
        backoff: Backoff::default(),
        tls,
    };
    let (client, events, session) = Client::start(options).await?;
    let pipe_options = PipeOptions {
        download_dir,
        wait: Duration::from_secs_f64(wait.max(0.0)),
        answer_timeout: Duration::from_secs(60),
    };
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    pipe::run(
        client,
        events,
        &session,
        &server.to_string(),
        stdin,
        tokio::io::stdout(),
        pipe_options,
    )
    .await?;
    Ok(())
}

/// Logs go to `classchat.log` in the data directory, never to the terminal.
/// `CLASSCHAT_LOG` sets the filter (default `info`).
fn init_logging(paths: &Paths) {
    let filter = std::env::var("CLASSCHAT_LOG").unwrap_or_else(|_| "info".into());
    let file = std::fs::create_dir_all(&paths.data_dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(paths.data_dir.join("classchat.log"))
    });
    if let Ok(file) = file {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .init();
    }
}
