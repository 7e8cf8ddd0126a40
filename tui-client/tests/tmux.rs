//! The real `classchat` binary, full screen in tmux, against the real server:
//! what one user types appears on the other's screen.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod support;
use support::TestServer;

/// A tmux server of our own (its own socket), killed when the test ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn new() -> Self {
        Tmux {
            socket: format!("classchat-test-{}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `classchat` as `user` in a window of its own.
    fn client(&self, first: bool, user: &str, server: &str, home: &Path) {
        let command = format!(
            "env XDG_CONFIG_HOME={cfg} XDG_DATA_HOME={data} TERM=xterm-256color {bin} --server {server} --user {user} --password {user}-password",
            cfg = home.join(user).join("config").display(),
            data = home.join(user).join("data").display(),
            bin = env!("CARGO_BIN_EXE_classchat"),
        );
        if first {
            self.run(&[
                "new-session",
                "-d",
                "-s",
                "smoke",
                "-n",
                user,
                "-x",
                "100",
                "-y",
                "30",
                &command,
            ]);
        } else {
            self.run(&["new-window", "-t", "smoke", "-n", user, &command]);
        }
    }

    fn screen(&self, user: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", &format!("smoke:{user}")])
    }

    fn keys(&self, user: &str, keys: &[&str]) {
        let target = format!("smoke:{user}");
        let mut args = vec!["send-keys", "-t", target.as_str()];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Waits (at most 15 s) until `user`'s screen shows `text`.
    async fn wait_for(&self, user: &str, text: &str) -> String {
        for _ in 0..150 {
            let screen = self.screen(user);
            if screen.contains(text) {
                return screen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{user}'s screen never showed {text:?}; it shows:\n{}",
            self.screen(user)
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

#[tokio::test]
async fn a_message_typed_in_one_terminal_appears_on_the_other() {
    if !Tmux::available() {
        eprintln!("skipping: tmux is not installed (CI has it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let addr = server.addr.to_string();
    let tmux = Tmux::new();
    tmux.client(true, "alice", &addr, dir.path());
    tmux.client(false, "bob", &addr, dir.path());
    tmux.wait_for("alice", "● connected · alice").await;
    tmux.wait_for("bob", "● connected · bob").await;

    tmux.keys("alice", &["/msg bob hello from a real terminal", "Enter"]);
    let bob = tmux
        .wait_for("bob", "alice: hello from a real terminal")
        .await;
    assert!(
        bob.contains("alice"),
        "bob's conversation list names alice:\n{bob}"
    );

    // Bob's screen shows it, so alice sees it read.
    let alice = tmux.wait_for("alice", "●│").await;
    assert!(alice.contains("hello from a real terminal"), "{alice}");

    tmux.keys("bob", &["hi alice", "Enter"]);
    tmux.wait_for("alice", "bob: hi alice").await;

    tmux.keys("alice", &["C-c"]);
    tmux.keys("bob", &["C-c"]);
    server.stop().await;
}
