//! The real `classchat` binary, full screen in tmux, against the real server:
//! what one user types appears on the other's screen, and what arrives never
//! takes the keys the user is typing.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
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

    /// A tmux server for one test: tests run at the same time, each with its own.
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Tmux {
            socket: format!(
                "classchat-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
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

/// A real server, and alice and bob logged in to it, each in a tmux window.
struct Chat {
    dir: tempfile::TempDir,
    server: TestServer,
    tmux: Tmux,
}

impl Chat {
    /// `None` where tmux is missing: the tests say so and pass, since
    /// `cargo test` must pass with only the Rust toolchain (CI has tmux).
    async fn start() -> Option<Self> {
        if !Tmux::available() {
            eprintln!("skipping: tmux is not installed (CI has it)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
        let addr = server.addr.to_string();
        let tmux = Tmux::new();
        tmux.client(true, "alice", &addr, dir.path());
        tmux.client(false, "bob", &addr, dir.path());
        tmux.wait_for("alice", "● connected · alice").await;
        tmux.wait_for("bob", "● connected · bob").await;
        Some(Self { dir, server, tmux })
    }

    async fn stop(mut self) {
        self.tmux.keys("alice", &["C-c"]);
        self.tmux.keys("bob", &["C-c"]);
        self.server.stop().await;
        drop(self.dir);
    }
}

#[tokio::test]
async fn a_message_typed_in_one_terminal_appears_on_the_other() {
    let Some(Chat { dir, server, tmux }) = Chat::start().await else {
        return;
    };

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

    Chat { dir, server, tmux }.stop().await;
}

/// Issue 16, items 1 to 3, with the real binary: bob answers alice's message
/// with `r`; she corrects it with `e` and then deletes it with `d` and `y`.
/// Both screens follow: the quote on bob's reply changes with her message,
/// which ends as a tombstone.
#[tokio::test]
async fn a_reply_an_edit_and_a_deletion_made_with_keys_show_on_both_screens() {
    let Some(Chat { dir, server, tmux }) = Chat::start().await else {
        return;
    };

    tmux.keys("alice", &["/msg bob lab at 3", "Enter"]);
    tmux.wait_for("bob", "alice: lab at 3").await;
    tmux.keys("bob", &["M-Up"]);
    tmux.wait_for("bob", "r reply").await;
    tmux.keys("bob", &["r"]);
    tmux.wait_for("bob", "Replying to alice: lab at 3").await;
    tmux.keys("bob", &["or at 4?", "Enter"]);
    tmux.wait_for("alice", "bob: ↳ alice: lab at 3").await;
    tmux.wait_for("alice", "      or at 4?").await;

    // alice's own message is above bob's reply.
    tmux.keys("alice", &["M-Up", "Up", "e"]);
    tmux.wait_for("alice", "Editing your message").await;
    tmux.keys("alice", &["C-u", "lab at 4", "Enter"]);
    tmux.wait_for("bob", "alice: lab at 4 (edited)").await;
    tmux.wait_for("bob", "bob: ↳ alice: lab at 4").await;
    tmux.wait_for("alice", "alice: lab at 4 (edited)").await;

    tmux.keys("alice", &["M-Up", "Up", "d"]);
    tmux.wait_for("alice", "Delete this message for everyone?")
        .await;
    tmux.keys("alice", &["y"]);
    tmux.wait_for("bob", "alice: message deleted").await;
    let bob = tmux.wait_for("bob", "bob: ↳ alice: message deleted").await;
    assert!(!bob.contains("lab at"), "nothing of it is left:\n{bob}");
    tmux.wait_for("alice", "alice: message deleted").await;

    Chat { dir, server, tmux }.stop().await;
}

/// Issue 16, typing and pins, with the real binary: while alice writes in
/// the group she made, bob's status line says so, until her message arrives;
/// she pins it with `p`, and bob's `/pins` lists it.
#[tokio::test]
async fn typing_shows_on_the_other_screen_and_a_pin_made_with_p_is_listed() {
    let Some(Chat { dir, server, tmux }) = Chat::start().await else {
        return;
    };

    tmux.keys("alice", &["/create lab bob", "Enter"]);
    tmux.wait_for("bob", "alice created #lab").await;
    tmux.wait_for("alice", "Message #lab").await;
    tmux.keys("alice", &["bring a pen"]);
    tmux.wait_for("bob", "#lab · alice is typing…").await;
    tmux.keys("alice", &["Enter"]);
    let bob = tmux.wait_for("bob", "alice: bring a pen").await;
    assert!(!bob.contains("is typing"), "her message ends it:\n{bob}");

    tmux.keys("alice", &["M-Up"]);
    tmux.wait_for("alice", "p pin").await;
    tmux.keys("alice", &["p"]);
    tmux.wait_for("bob", "alice pinned a message in #lab").await;
    tmux.keys("bob", &["/pins", "Enter"]);
    let bob = tmux.wait_for("bob", "Pinned in #lab · 1").await;
    assert!(bob.contains("alice: bring a pen"), "{bob}");

    Chat { dir, server, tmux }.stop().await;
}

/// Issue 14, items 1 and 2, with the real binary. bob has alice's conversation
/// open and nothing typed when her file offer arrives; he types a question
/// and Enter: it is sent whole and the offer still waits (it used to open a
/// popup where the `d` declined the file). Then, with `/members lab` open, he
/// types `/msg #lab hello` and Enter: hello goes to #lab (it used to open a
/// conversation with the member the list had chosen).
#[tokio::test]
async fn keys_typed_as_an_offer_arrives_or_over_a_list_go_where_they_were_typed() {
    let Some(Chat { dir, server, tmux }) = Chat::start().await else {
        return;
    };
    let slides = dir.path().join("week7-slides.pdf");
    std::fs::write(&slides, b"%PDF-1.4 slides").unwrap();

    // 1. The offer arrives while bob looks at alice's conversation.
    tmux.keys("alice", &["/msg bob the slides are coming", "Enter"]);
    tmux.wait_for("bob", "alice: the slides are coming").await;
    let sendfile = format!("/sendfile bob {}", slides.display());
    tmux.keys("alice", &[&sendfile, "Enter"]);
    let bob = tmux.wait_for("bob", "Ctrl+O to accept or decline").await;
    assert!(!bob.contains("File offer"), "no popup opened:\n{bob}");
    tmux.keys("bob", &["do you have the other slides too?", "Enter"]);
    tmux.wait_for("alice", "bob: do you have the other slides too?")
        .await;
    let bob = tmux
        .wait_for("bob", "bob: do you have the other slides too?")
        .await;
    assert!(
        bob.contains("Ctrl+O to accept or decline") && !bob.contains("declined"),
        "the offer still waits for an answer:\n{bob}"
    );
    assert!(!bob.contains("File offer"), "{bob}");

    // 2. A command typed over the members list.
    tmux.keys("alice", &["/create lab bob", "Enter"]);
    tmux.wait_for("bob", "# lab").await;
    tmux.keys("bob", &["/members lab", "Enter"]);
    tmux.wait_for("bob", "#lab · 2 members ─").await;
    tmux.keys("bob", &["/msg #lab hello", "Enter"]);
    let bob = tmux.wait_for("bob", "bob: hello").await;
    assert!(
        !bob.contains("#lab · 2 members ─"),
        "the list closed:\n{bob}"
    );
    assert!(
        bob.contains("┌ #lab"),
        "#lab is the conversation open:\n{bob}"
    );
    assert!(
        !bob.contains("Message alice"),
        "no conversation with a member was opened instead:\n{bob}"
    );
    // Alt+1: groups come first in alice's list.
    tmux.keys("alice", &["M-1"]);
    tmux.wait_for("alice", "bob: hello").await;

    Chat { dir, server, tmux }.stop().await;
}

/// Searching with the real binary: bob, in alice's conversation, finds with
/// `Ctrl+F` what she said there and in #lab, newest first; Enter on the one
/// in #lab opens #lab with that message selected.
#[tokio::test]
async fn ctrl_f_finds_messages_in_every_conversation_and_enter_goes_to_one() {
    let Some(Chat { dir, server, tmux }) = Chat::start().await else {
        return;
    };
    tmux.keys("alice", &["/msg bob is the exam on Friday?", "Enter"]);
    tmux.wait_for("bob", "alice: is the exam on Friday?").await;
    tmux.keys("alice", &["/create lab bob", "Enter"]);
    tmux.wait_for("alice", "Message #lab").await;
    tmux.keys("alice", &["Exam room moved to B12", "Enter"]);
    tmux.wait_for("bob", "# lab").await;

    tmux.keys("bob", &["C-f"]);
    tmux.wait_for("bob", "Type words, then Enter").await;
    tmux.keys("bob", &["exam", "Enter"]);
    let bob = tmux.wait_for("bob", "Search: exam · 2 found").await;
    let lab = bob.find("#lab  alice: Exam room moved to B12");
    let direct = bob.find("alice alice: is the exam on Friday?");
    assert!(lab.is_some() && lab < direct, "newest first:\n{bob}");

    tmux.keys("bob", &["Enter"]);
    let bob = tmux.wait_for("bob", "r reply").await;
    assert!(!bob.contains("Search: exam"), "the popup closed:\n{bob}");
    assert!(bob.contains("┌ #lab"), "#lab is open:\n{bob}");

    Chat { dir, server, tmux }.stop().await;
}

/// Issue 14, items 7 and 9, with the real binary in tmux 3.3a. alice sends
/// `🇺🇸 flag 🇺🇸🇺🇸` among plain messages, then a line of spacing marks and
/// emoji whose widths terminals disagree on: the rows drawn below them end
/// where their own text does (each flag used to leave its second half on
/// every row below it). Then bob selects the newest message: its time is
/// light on blue, not grey on grey.
#[tokio::test]
async fn a_flag_leaves_nothing_on_the_rows_below_and_a_selected_message_is_readable() {
    let Some(Chat { dir, server, tmux }) = Chat::start().await else {
        return;
    };

    let plain = |n: u32| (format!("plain-{n}"), format!("alice: plain-{n} "));
    tmux.keys("alice", &["/msg bob plain-0", "Enter"]);
    tmux.wait_for("bob", "alice: plain-0").await;
    for n in 1..12 {
        let (text, shown) = plain(n);
        tmux.keys("alice", &[&text, "Enter"]);
        tmux.wait_for("bob", &shown).await;
    }
    tmux.keys("alice", &["🇺🇸 flag 🇺🇸🇺🇸", "Enter"]);
    tmux.wait_for("bob", "alice: [US] flag [US][US]").await;
    let (text, shown) = plain(12);
    tmux.keys("alice", &[&text, "Enter"]);
    tmux.wait_for("bob", &shown).await;
    // Past the end of the rows below it, where their cells are blank.
    let risky = "........................ कि ि น้ำ ❤\u{FE0F} 👍\u{1F3FD} ｶﾞ end";
    tmux.keys("alice", &[risky, "Enter"]);
    tmux.wait_for("bob", " end ").await;
    for n in 13..15 {
        let (text, shown) = plain(n);
        tmux.keys("alice", &[&text, "Enter"]);
        tmux.wait_for("bob", &shown).await;
    }
    let bob = tmux.screen("bob");
    for n in 0..15 {
        let (_, shown) = plain(n);
        let row = bob
            .lines()
            .find(|l| l.contains(&shown))
            .unwrap_or_else(|| panic!("plain-{n} is on screen:\n{bob}"));
        let after = &row[row.find(&shown).unwrap() + shown.len()..];
        assert!(
            after.trim_end_matches([' ', '│']).is_empty(),
            "nothing after plain-{n}: {row:?}\n{bob}"
        );
    }

    // Alt+Up selects the newest message; its row, colours and all.
    tmux.keys("bob", &["M-Up"]);
    tmux.wait_for("bob", "r reply").await;
    let coloured = tmux.run(&["capture-pane", "-e", "-p", "-t", "smoke:bob"]);
    let row = coloured
        .lines()
        .map(coloured_cells)
        .find(|cells| text_of(cells).contains("alice: plain-14"))
        .unwrap_or_else(|| panic!("{coloured}"));
    let text = text_of(&row);
    let at = text[..text.find("alice: plain-14").unwrap()]
        .chars()
        .count();
    // `HH:MM ` before the name; colour 15 is bright white, 4 blue.
    let time = &row[at - 6..at];
    assert!(
        time.iter()
            .all(|&(_, fg, bg)| fg == Some(15) && bg == Some(4)),
        "the time is white on blue: {time:?}\n{coloured}"
    );

    Chat { dir, server, tmux }.stop().await;
}

/// A row of `capture-pane -e` as its characters, each with the palette index
/// of its foreground and background colour (`None` for the terminal's own).
fn coloured_cells(row: &str) -> Vec<(char, Option<u16>, Option<u16>)> {
    let (mut fg, mut bg) = (None, None);
    let mut cells = Vec::new();
    let mut rest = row;
    while let Some(c) = rest.chars().next() {
        if let Some(sgr) = rest.strip_prefix("\x1b[") {
            let end = sgr.find('m').unwrap();
            let mut params = sgr[..end].split(';').map(|p| p.parse::<u16>().unwrap_or(0));
            while let Some(p) = params.next() {
                match p {
                    0 => (fg, bg) = (None, None),
                    30..=37 => fg = Some(p - 30),
                    90..=97 => fg = Some(p - 90 + 8),
                    40..=47 => bg = Some(p - 40),
                    100..=107 => bg = Some(p - 100 + 8),
                    39 => fg = None,
                    49 => bg = None,
                    // 38;5;N and 48;5;N: the palette; RGB is not what the themes use.
                    38 | 48 => {
                        let index = match params.next() {
                            Some(5) => params.next(),
                            _ => params.by_ref().take(3).last().map(|_| u16::MAX),
                        };
                        if p == 38 {
                            fg = index;
                        } else {
                            bg = index;
                        }
                    }
                    _ => {}
                }
            }
            rest = &sgr[end + 1..];
            continue;
        }
        cells.push((c, fg, bg));
        rest = &rest[c.len_utf8()..];
    }
    cells
}

fn text_of(cells: &[(char, Option<u16>, Option<u16>)]) -> String {
    cells.iter().map(|&(c, _, _)| c).collect()
}
