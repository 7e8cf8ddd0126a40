//! Other users of the machine cannot read the server's data: what it makes is
//! owner-only whatever the umask, and a data directory found open to others
//! is named at start with the command that closes it.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

#[allow(
    dead_code,
    reason = "the file tests' fixtures; these tests use only the upload helpers"
)]
#[path = "files/fixtures.rs"]
mod fixtures;

use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use classchat_server::tls::TlsSource;
use fixtures::{Content, ready, stored_files, upload};
use support::binary::{launch, server_command};
use support::{ServerOptions, start_server};

/// The umask most systems start with, set here so a file made without an
/// explicit mode shows up as readable by all (and the tests cannot pass
/// because whoever runs them has a strict umask).
fn usual_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
}

/// The permission bits of `path`, which must exist, in octal as `chmod` takes them.
fn mode(path: &Path) -> String {
    let meta =
        std::fs::metadata(path).unwrap_or_else(|e| panic!("{} should exist: {e}", path.display()));
    format!("{:03o}", meta.permissions().mode() & 0o777)
}

#[tokio::test]
async fn messages_files_and_the_tls_key_are_made_for_the_owner_alone() {
    usual_umask();
    let parent = tempfile::TempDir::new().unwrap();
    // Not there yet: the server makes it.
    let data = parent.path().join("data");
    let configured = data.clone();
    let server = start_server(
        ServerOptions::default()
            .sqlite()
            .in_dir(parent)
            .config(move |c| {
                c.data_dir = configured;
                c.tls = Some(TlsSource::SelfSigned);
            }),
    )
    .await;
    server.login("bob").await.bye().await;
    let mut alice = server.login("alice").await;
    alice.send_stored("bob", "the exam answers").await;
    let content = Content::new(7, 1000);
    let up = ready(&mut alice, "bob", "answers.pdf", &content).await;
    upload(&mut alice, &up, &content).await;

    // Checked while the server runs, when the WAL and the admin socket exist.
    let files = data.join("files");
    let offered = stored_files(&files);
    assert_eq!(offered.len(), 1, "one offered file: {offered:?}");
    for dir in [&data, &files, &data.join("tls")] {
        assert_eq!(mode(dir), "700", "{}", dir.display());
    }
    // SQLite keeps the WAL index on the heap: the server holds the database
    // for itself (`unix-excl`), so there is no shared-memory file to guard.
    assert!(!data.join("classchat.db-shm").exists());
    let mut private: Vec<PathBuf> = [
        "classchat.db",
        "classchat.db-wal",
        "admin.sock",
        "classchat.lock",
        "tls/key.pem",
    ]
    .iter()
    .map(|name| data.join(name))
    .collect();
    private.push(files.join(&offered[0]));
    for file in &private {
        assert_eq!(mode(file), "600", "{}", file.display());
    }
}

/// Runs the real `classchat-server` on `data_dir` until it listens, stops it,
/// and returns what it logged.
async fn log_of_a_start(data_dir: &Path) -> String {
    let (mut child, _, log) = launch(server_command(data_dir)).await.listening();
    child.kill().await.unwrap();
    log.whole().await
}

#[tokio::test]
async fn a_data_directory_others_can_read_is_named_at_start_with_the_fix_and_left_as_it_is() {
    usual_umask();
    let parent = tempfile::TempDir::new().unwrap();
    let data = parent.path().join("data");
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(&data)
        .unwrap();
    let log = log_of_a_start(&data).await;
    let fix = format!("chmod 700 {}", data.display());
    assert!(
        log.lines().any(|l| l.contains("WARN") && l.contains(&fix)),
        "a warning with `{fix}`:\n{log}"
    );
    assert!(
        !log.contains("chmod 600"),
        "the database it made is private:\n{log}"
    );
    assert_eq!(mode(&data), "755", "the operator's mode is not changed");
}

#[tokio::test]
async fn a_data_directory_the_server_made_itself_starts_without_a_warning() {
    usual_umask();
    let parent = tempfile::TempDir::new().unwrap();
    let log = log_of_a_start(&parent.path().join("data")).await;
    assert!(!log.contains("chmod"), "no warning:\n{log}");
}
