//! `classchat-server reset-password`, run as an operator would: the real
//! binary on a stopped server's data directory.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use std::path::Path;
use std::process::Output;

use classchat_common::ErrorCode;
use support::{
    PASSWORD, ServerOptions, TestClient, TestServer, login_with_password, login_with_token,
    start_server,
};

fn reset_password(data_dir: &Path, name: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_classchat-server"))
        .args(["reset-password", name, "--data-dir"])
        .arg(data_dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run classchat-server reset-password")
}

fn backup(data_dir: &Path, to: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_classchat-server"))
        .arg("backup")
        .arg(to)
        .arg("--data-dir")
        .arg(data_dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run classchat-server backup")
}

/// `classchat-server backup` from another thread, so that the server under
/// test, on this test's runtime, can answer it.
async fn backup_of(data_dir: &Path, to: &Path) -> Output {
    let (data_dir, to) = (data_dir.to_path_buf(), to.to_path_buf());
    tokio::task::spawn_blocking(move || backup(&data_dir, &to))
        .await
        .unwrap()
}

/// The bodies of the messages in the database file `db`, in order.
fn bodies(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.prepare("SELECT body FROM messages ORDER BY conv_id, seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The server holds its database for itself while it runs, so a running
/// server makes the copy, and goes on serving; with the server stopped the
/// command makes it itself. An existing file is never replaced.
#[tokio::test]
async fn a_backup_is_made_by_the_running_server_or_without_one() {
    let server = start_server(ServerOptions::default().sqlite()).await;
    server.login("bob").await.bye().await;
    let mut alice = server.login("alice").await;
    alice.send_stored("bob", "kept in the backup").await;

    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("copy.db");
    let made = backup_of(&server.data_path(), &copy).await;
    let said = String::from_utf8_lossy(&made.stdout);
    assert!(
        made.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert_eq!(said.trim(), format!("backup written to {}", copy.display()));
    assert_eq!(bodies(&copy), ["kept in the backup"]);

    let again = backup_of(&server.data_path(), &copy).await;
    assert!(!again.status.success());
    let why = String::from_utf8_lossy(&again.stderr);
    assert!(why.contains("already exists"), "{why}");

    let nowhere = out.path().join("no such folder").join("copy.db");
    let failed = backup_of(&server.data_path(), &nowhere).await;
    assert!(!failed.status.success());
    let why = String::from_utf8_lossy(&failed.stderr);
    assert!(
        why.contains("the server could not make the backup"),
        "{why}"
    );

    alice.send_stored("bob", "after the backup").await;
    alice.bye().await;
    let dir = server.stop().await;
    assert!(
        !dir.path().join("admin.sock").exists(),
        "a stopped server leaves no socket"
    );
    let cold = out.path().join("cold.db");
    let made = backup_of(dir.path(), &cold).await;
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert_eq!(bodies(&cold), ["kept in the backup", "after the backup"]);
}

async fn refused_login(server: &TestServer, name: &str, password: &str) {
    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_password(name, password)).await;
    c.recv_error(ErrorCode::BadPassword).await;
}

#[tokio::test]
async fn a_reset_password_replaces_the_old_one_and_retires_saved_logins() {
    let server = start_server(ServerOptions::default().sqlite()).await;
    let alice = server.login("Alice").await;
    let token = alice.token().to_owned();
    alice.bye().await;
    let dir = server.stop().await;

    let out = reset_password(dir.path(), "ALICE");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("new password for Alice: "))
        .expect("the new password, under the account's own spelling")
        .to_owned();
    assert_eq!(password.len(), 19, "{password}");

    let server = start_server(ServerOptions::default().sqlite().in_dir(dir)).await;
    refused_login(&server, "alice", PASSWORD).await;
    let again = TestClient::login(server.addr, "alice", &password).await;
    assert!(!again.created, "the same account, with its history");
    again.bye().await;

    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_token("alice", &token)).await;
    c.recv_error(ErrorCode::BadToken).await;
}

#[tokio::test]
async fn a_reset_is_refused_while_a_server_runs_for_a_name_without_account_and_in_an_empty_folder()
{
    let server = start_server(ServerOptions::default().sqlite()).await;
    server.login("bob").await.bye().await;
    let dir = server.stop().await;

    let running = start_server(ServerOptions::default().sqlite().in_dir(dir)).await;
    let out = reset_password(&running.data_path(), "bob");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("another classchat-server"), "{stderr}");
    let stays = TestClient::login(running.addr, "bob", PASSWORD).await;
    stays.bye().await;
    let dir = running.stop().await;

    let out = reset_password(dir.path(), "zed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("there is no account zed"), "{stderr}");

    let empty = tempfile::TempDir::new().unwrap();
    let out = reset_password(empty.path(), "bob");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("there is no database in"), "{stderr}");
    assert!(
        !empty.path().join("classchat.db").exists(),
        "no database is made where there was none"
    );
}
