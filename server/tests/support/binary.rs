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
        log: ServerLog,
    },
    Exited {
        status: ExitStatus,
        log: String,
    },
}

/// A running server's log: what it has written so far, read on as it goes
/// (so the server never blocks on a full pipe).
pub struct ServerLog {
    text: Arc<Mutex<String>>,
    reader: tokio::task::JoinHandle<()>,
}

impl ServerLog {
    /// Everything logged up to now.
    pub fn so_far(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    /// The whole log of a server that has exited, read to its end: its last
    /// lines may still be in the pipe when its exit is seen.
    pub async fn whole(self) -> String {
        tokio::time::timeout(Duration::from_secs(10), self.reader)
            .await
            .expect("the log ends once the server has exited")
            .unwrap();
        self.text.lock().unwrap().clone()
    }
}

impl Started {
    pub fn listening(self) -> (Child, SocketAddr, ServerLog) {
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
                    log.so_far()
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
            let text = Arc::new(Mutex::new(log));
            let more = text.clone();
            let reader = tokio::spawn(async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = more.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
            Started::Listening {
                child,
                addr,
                log: ServerLog { text, reader },
            }
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
