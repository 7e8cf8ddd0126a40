//! What an operator does to a server's data directory from the command line:
//! `classchat-server reset-password NAME` and `classchat-server backup FILE`.
//!
//! `reset-password` opens the database itself, so it takes the data
//! directory's lock like a server does: while a server runs on the directory
//! it refuses, since the server keeps accounts in memory and would not see the
//! change. `backup` asks a running server to make the copy, on the socket the
//! server listens on in its data directory (`admin.sock`; the directory is
//! the owner's alone): the server holds the database for itself
//! (`store/sqlite.rs`, `vfs`). With no server running it makes the copy
//! itself.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use classchat_common::Username;

use crate::auth::{self, AuthError};
use crate::store::sqlite::{SqliteStore, SyncLevel};
use crate::store::{Reader, Store as _, StoreError};

/// The socket a running server answers operators' commands on, in its data
/// directory.
pub const SOCKET: &str = "admin.sock";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("there is no database in {0}; pass the server's --data-dir")]
    NoDatabase(PathBuf),
    #[error("there is no account {0}")]
    NoAccount(Username),
    #[error("{0} already exists; a backup never replaces a file")]
    Exists(PathBuf),
    #[error("a backup's path must be UTF-8 without line breaks: {0}")]
    BadPath(PathBuf),
    #[error("the server could not make the backup: {0}")]
    Server(String),
    #[error("cannot talk to the server on {path}: {cause}")]
    Socket {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Gives `name` a new random password, which it answers with the account's
/// name as spelled. The account's saved logins (resume tokens) stop working,
/// so every client it is logged in on asks for the new password.
pub fn reset_password(data_dir: &Path, name: &Username) -> Result<(Username, String), AdminError> {
    // Never make an empty database where the operator meant an existing one.
    if !data_dir.join("classchat.db").exists() {
        return Err(AdminError::NoDatabase(data_dir.to_path_buf()));
    }
    let mut store = SqliteStore::open(data_dir, SyncLevel::Full)?;
    let password = auth::new_password()?;
    let hash = auth::hash_password(&password)?;
    match store.reset_password(name, &hash)? {
        Some(spelled) => Ok((spelled, password)),
        None => Err(AdminError::NoAccount(name.clone())),
    }
}

/// Writes a consistent copy of the database in `data_dir` to `to` (a new
/// file), and answers where, made absolute. A running server makes it while
/// it goes on serving; with none running, this does, holding the directory's
/// lock meanwhile. Offered files (`files/`) are not in it.
pub fn backup(data_dir: &Path, to: &Path) -> Result<PathBuf, AdminError> {
    let bad_path = || AdminError::BadPath(to.to_path_buf());
    let to = std::path::absolute(to).map_err(|_| bad_path())?;
    let text = to
        .to_str()
        .filter(|t| !t.contains(['\n', '\r']))
        .ok_or_else(bad_path)?;
    if to.exists() {
        return Err(AdminError::Exists(to));
    }
    let socket = data_dir.join(SOCKET);
    #[cfg(unix)]
    if let Ok(stream) = std::os::unix::net::UnixStream::connect(&socket) {
        let failed = |cause| AdminError::Socket {
            path: socket.clone(),
            cause,
        };
        // The copy takes about a second per gigabyte; an hour is a hung server.
        stream
            .set_read_timeout(Some(Duration::from_secs(3600)))
            .map_err(failed)?;
        (&stream)
            .write_all(format!("backup {text}\n").as_bytes())
            .map_err(failed)?;
        let mut reply = String::new();
        BufReader::new(&stream)
            .read_line(&mut reply)
            .map_err(failed)?;
        let reply = reply.trim_end();
        if reply == "ok" {
            return Ok(to);
        }
        let why = reply
            .strip_prefix("error ")
            .map_or_else(|| format!("it answered {reply:?}"), str::to_owned);
        return Err(AdminError::Server(why));
    }
    // No server answers: never make an empty database where the operator
    // meant an existing one, and hold the lock while copying.
    if !data_dir.join("classchat.db").exists() {
        return Err(AdminError::NoDatabase(data_dir.to_path_buf()));
    }
    let store = SqliteStore::open(data_dir, SyncLevel::Full)?;
    store.reader().backup(&to)?;
    Ok(to)
}

/// Answers operators' commands on [`SOCKET`] in `dir` until `stop`: one
/// line, `backup /absolute/path`, answered `ok` or `error <why>`.
#[cfg(unix)]
pub async fn serve(
    dir: PathBuf,
    reader: Arc<dyn Reader>,
    stop: tokio_util::sync::CancellationToken,
) {
    let path = dir.join(SOCKET);
    // The data directory is locked to this server, so a socket left there
    // is a stopped one's.
    let _ = std::fs::remove_file(&path);
    // Owner-only, like everything in the directory (which is too).
    let bound = tokio::net::UnixListener::bind(&path).and_then(|listener| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok(listener)
    });
    let listener = match bound {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e,
                "no admin socket: `classchat-server backup` cannot reach this server");
            return;
        }
    };
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        // One at a time: an operator's commands are few.
        answer(stream, &reader).await;
    }
    let _ = std::fs::remove_file(&path);
}

#[cfg(unix)]
async fn answer(stream: tokio::net::UnixStream, reader: &Arc<dyn Reader>) {
    use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut read = tokio::io::BufReader::new(read.take(4096));
    let asked = tokio::time::timeout(Duration::from_secs(10), read.read_line(&mut line)).await;
    if !matches!(asked, Ok(Ok(n)) if n > 0) {
        return;
    }
    let reply = match line.trim_end_matches(['\n', '\r']).split_once(' ') {
        Some(("backup", to)) if Path::new(to).is_absolute() => {
            let (reader, to) = (reader.clone(), PathBuf::from(to));
            let made = tokio::task::spawn_blocking(move || reader.backup(&to).map(|()| to)).await;
            match made {
                Ok(Ok(to)) => {
                    tracing::info!(to = %to.display(), "backup written");
                    "ok\n".to_owned()
                }
                Ok(Err(e)) => format!("error {e}\n"),
                Err(e) => format!("error {e}\n"),
            }
        }
        _ => "error the server knows one command: backup /absolute/path\n".to_owned(),
    };
    let _ = write.write_all(reply.as_bytes()).await;
}
