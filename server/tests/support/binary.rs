//! The real `classchat-server` binary, started from a test: what an operator
//! sees of it is its exit status, its log, and its data directory.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How a start of the real binary ended.
#[allow(clippy::large_enum_variant, reason = "one short-lived value per start")]
pub enum Started {
    Listening {
        child: Child,
        addr: SocketAddr,
        /// Its log so far, and as it goes on.
        log: Arc<Mutex<String>>,
    },
    Exited {
        status: ExitStatus,
        log: String,
    },
}

impl Started {
    pub fn listening(self) -> (Child, SocketAddr, Arc<Mutex<String>>) {
        match self {
            Started::Listening { child, addr, log } => (child, addr, log),
            Started::Exited { status, log } => {
                panic!("classchat-server exited ({status}) instead of listening:\n{log}")
            }
        }
    }

    pub fn refused(self) -> String {
        match self {
            Started::Exited { status, log } => {
                assert!(!status.success(), "it exits with a failure status:\n{log}");
                log
            }
            Started::Listening { log, .. } => {
                panic!(
                    "classchat-server started instead of refusing to:\n{}",
                    log.lock().unwrap()
                )
            }
        }
    }
}

pub fn server_command(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_classchat-server"));
    command.args(server_args(data_dir));
    command
}

pub fn server_args(data_dir: &Path) -> Vec<String> {
    vec![
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ]
}

/// Runs `command` until the server it starts listens (its address is read
/// from its log) or exits.
pub async fn launch(command: Command) -> Started {
    let (mut child, mut lines, log, addr) = until_listening(command).await;
    match addr {
        Some(addr) => {
            let log = Arc::new(Mutex::new(log));
            let more = log.clone();
            // Keep reading, so the server never blocks on a full pipe.
            tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = more.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
            Started::Listening { child, addr, log }
        }
        None => {
            let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .expect("classchat-server exits after closing its log")
                .unwrap();
            Started::Exited { status, log }
        }
    }
}

/// Runs `command` until the server listens, then stops reading its log:
/// every line it logs after that meets a closed pipe.
pub async fn launch_then_stop_reading_its_log(command: Command) -> (Child, SocketAddr) {
    let (child, lines, log, addr) = until_listening(command).await;
    drop(lines);
    let addr = addr.unwrap_or_else(|| panic!("classchat-server did not listen:\n{log}"));
    (child, addr)
}

/// Starts `command` and reads its log until it says where it listens (or
/// ends): the child, the rest of its log, the log so far and the address.
async fn until_listening(
    mut command: Command,
) -> (
    Child,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    String,
    Option<SocketAddr>,
) {
    let mut child = command
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start classchat-server");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if let Some(rest) = line.split("listening on ").nth(1) {
                let addr: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
                    .collect();
                return Some(addr.parse::<SocketAddr>().unwrap());
            }
        }
        None
    })
    .await
    .expect("classchat-server listens or exits within 30 s");
    (child, lines, log, addr)
}
