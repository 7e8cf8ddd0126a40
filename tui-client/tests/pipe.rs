//! Pipe mode, in process and as the real `classchat` binary.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

use std::process::Stdio;
use std::time::Duration;

use classchat_client::pipe::{self, PipeOptions};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

mod support;
use support::{TestServer, connect};

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

async fn run_pipe(server: &TestServer, user: &str, input: &str, wait: Duration) -> Vec<Value> {
    lines(&run_pipe_raw(server, user, input, wait).await)
}

/// What pipe mode wrote, byte for byte.
async fn run_pipe_raw(server: &TestServer, user: &str, input: &str, wait: Duration) -> Vec<u8> {
    let (client, events, session) = connect(server, user).await;
    let mut out = Vec::new();
    let options = PipeOptions {
        download_dir: server.data_dir.join("downloads"),
        wait,
        answer_timeout: Duration::from_secs(10),
    };
    pipe::run(
        client,
        events,
        &session,
        "test",
        input.as_bytes(),
        &mut out,
        options,
    )
    .await
    .unwrap();
    out
}

#[tokio::test]
async fn hostile_text_reaches_a_script_intact_and_a_terminal_inert() {
    // ANSI CSI and OSC (title, clipboard), BEL, BS, DEL, a C1 CSI, a bidi
    // override, a zero-width space, fillers, and " NO, AT 6" in tag
    // characters: nothing a terminal may act on or hide.
    let hidden: String = " NO, AT 6"
        .chars()
        .filter_map(|c| char::from_u32(0xE0000 + u32::from(c)))
        .collect();
    let hostile = format!(
        "pwn\x1b[2J\x1b]0;owned\x07\x1b]52;c;Y3VybA==\x07\x08\x7f\u{9b}31m \u{202E}gnp.exe\u{200B}! \
         meet\u{34F}\u{3164}\u{115F} at 5{hidden}"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    run_pipe(&server, "bob", "", Duration::ZERO).await;
    let sent = run_pipe(
        &server,
        "alice",
        &format!("/msg bob {hostile}\n"),
        Duration::ZERO,
    )
    .await;
    assert_eq!(of_type(&sent, "stored").len(), 1, "{sent:?}");

    // History is a command with a reply, so pipe mode waits for it.
    let out = run_pipe_raw(&server, "bob", "/history alice\n", Duration::ZERO).await;
    let text = String::from_utf8(out.clone()).unwrap();
    let live: Vec<char> = text
        .chars()
        .filter(|&c| c != '\n' && classchat_client::text::is_live(c))
        .collect();
    assert!(live.is_empty(), "written raw: {live:?}");
    // A tag character is beyond U+FFFF: JSON spells it as a surrogate pair.
    assert!(
        text.contains(r"at 5\udb40\udc20\udb40\udc4e\udb40\udc4f"),
        "{text}"
    );
    let events = lines(&out);
    let history = of_type(&events, "history");
    assert_eq!(history.len(), 1, "{events:?}");
    assert_eq!(
        history[0]["messages"][0]["body"], hostile,
        "the same text once decoded"
    );
    server.stop().await;
}

#[tokio::test]
async fn pipe_mode_answers_every_command_with_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    run_pipe(&server, "bob", "", Duration::ZERO).await;

    let input =
        "/msg bob one\n/msg bob two\n\n/who\n/whois bob\n/fly\nhello\n/history bob\n/help\n";
    let out = run_pipe(&server, "alice", input, Duration::ZERO).await;
    assert_eq!(out[0]["type"], "connected");
    let stored = of_type(&out, "stored");
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|s| s["online"] == 0 && s["last_seen"].is_string())
    );
    assert_eq!(
        of_type(&out, "who")[0]["online"],
        serde_json::json!(["alice"])
    );
    assert_eq!(of_type(&out, "user")[0]["online"], false);
    let errors = of_type(&out, "command_error");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown command /fly")
    );
    let history = of_type(&out, "history");
    let bodies: Vec<_> = history[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(bodies, ["one", "two"]);
    assert!(
        of_type(&out, "help")[0]["commands"]
            .as_array()
            .unwrap()
            .len()
            >= 8
    );

    // Bob's next pipe prints both, in order, with sender and timestamp.
    let out = run_pipe(&server, "bob", "", Duration::from_millis(300)).await;
    let messages = of_type(&out, "message");
    assert_eq!(messages.len(), 2);
    for (m, body) in messages.iter().zip(["one", "two"]) {
        assert_eq!(
            (m["from"].as_str(), m["body"].as_str()),
            (Some("alice"), Some(body))
        );
        assert!(m["ts"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(of_type(&out, "synced")[0]["messages"], 2);
    server.stop().await;
}

#[tokio::test]
async fn a_msg_over_the_announced_limit_is_a_command_error_and_is_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    run_pipe(&server, "bob", "", Duration::ZERO).await;
    let (_, _, session) = connect(&server, "alice").await;
    let limit = session.limits.max_body;

    let over = format!("/msg bob {}", "x".repeat(limit + 1));
    let fits = format!("/msg bob {}", "y".repeat(limit));
    let input = format!("{over}\n{fits}\n/msg bob after\n");
    let out = run_pipe(&server, "alice", &input, Duration::ZERO).await;
    let refused = of_type(&out, "command_error");
    assert_eq!(refused.len(), 1, "{out:?}");
    assert_eq!(refused[0]["input"], over.as_str());
    let why = refused[0]["message"].as_str().unwrap();
    assert!(
        why.contains(&format!("{} bytes", limit + 1)) && why.contains(&format!("limit is {limit}")),
        "{why}"
    );
    assert_eq!(
        of_type(&out, "error"),
        Vec::<&Value>::new(),
        "nothing refused by the server"
    );
    assert_eq!(
        of_type(&out, "stored").len(),
        2,
        "the lines after it still go"
    );

    let out = run_pipe(&server, "bob", "", Duration::from_millis(300)).await;
    let lengths: Vec<usize> = of_type(&out, "message")
        .iter()
        .map(|m| m["body"].as_str().unwrap().len())
        .collect();
    assert_eq!(lengths, [limit, "after".len()]);
    server.stop().await;
}

/// The `seq` of each `stored` line in `out`, in order.
fn stored_seqs(out: &[Value]) -> Vec<u64> {
    of_type(out, "stored")
        .iter()
        .map(|s| s["seq"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn replies_edits_and_deletions_are_answered_like_messages_and_reach_the_other_side() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    run_pipe(&server, "bob", "", Duration::ZERO).await;

    let out = run_pipe(&server, "alice", "/msg bob lab at 3\n", Duration::ZERO).await;
    let [first] = stored_seqs(&out)[..] else {
        panic!("{out:?}")
    };
    let input = format!("/reply bob {first} or at 4?\n/edit bob {first} lab at 4\n");
    let out = run_pipe(&server, "alice", &input, Duration::ZERO).await;
    let [reply, edit] = stored_seqs(&out)[..] else {
        panic!("{out:?}")
    };
    assert!(first < reply && reply < edit, "each takes a seq of its own");
    let followed = |id: &Value| of_type(&out, "status").iter().any(|s| &s["id"] == id);
    let stored = of_type(&out, "stored");
    assert!(followed(&stored[0]["id"]), "a reply is followed: {out:?}");
    assert!(!followed(&stored[1]["id"]), "an edit is not: {out:?}");

    // bob was away: the catch-up brings the message as it is now, the reply
    // quoting it, and the edit as a line of its own naming what it changes.
    let out = run_pipe(&server, "bob", "", Duration::from_millis(300)).await;
    let messages = of_type(&out, "message");
    let by_seq = |seq: u64| {
        *messages
            .iter()
            .find(|m| m["seq"] == seq)
            .unwrap_or_else(|| panic!("message {seq} in {messages:?}"))
    };
    assert_eq!(by_seq(first)["body"], "lab at 4");
    assert!(by_seq(first)["edited"].is_string());
    assert_eq!(by_seq(reply)["reply"]["seq"], first);
    assert_eq!(
        (&by_seq(edit)["edit"], &by_seq(edit)["body"]),
        (&Value::from(first), &Value::from("lab at 4"))
    );

    // Refusals count as answers too: pipe mode does not wait for more.
    let input = format!("/unsend bob {reply}\n/edit bob 999 nothing there\n");
    let out = run_pipe(&server, "alice", &input, Duration::ZERO).await;
    let [unsend] = stored_seqs(&out)[..] else {
        panic!("{out:?}")
    };
    let refused = of_type(&out, "error");
    assert_eq!(refused.len(), 1, "{out:?}");
    assert_eq!(refused[0]["code"], "unknown_message");

    let out = run_pipe(&server, "bob", "", Duration::from_millis(300)).await;
    let deletion = of_type(&out, "message")
        .into_iter()
        .find(|m| m["seq"] == unsend)
        .cloned()
        .unwrap_or_else(|| panic!("the deletion in {out:?}"));
    assert_eq!(
        (&deletion["delete"], &deletion["body"]),
        (&Value::from(reply), &Value::from(""))
    );

    // Only its author edits a message; only they (or a group's owner or
    // moderators) delete it.
    let input = format!("/edit alice {first} lab at 5\n/unsend alice {first}\n");
    let out = run_pipe(&server, "bob", &input, Duration::ZERO).await;
    let codes: Vec<&Value> = of_type(&out, "error").iter().map(|e| &e["code"]).collect();
    assert_eq!(codes, ["not_author", "not_author"], "{out:?}");
    server.stop().await;
}

/// Runs the real binary with its own config and data directories.
/// The real `classchat` with `args`, its settings and data under `home`, and
/// `CLASSCHAT_PASSWORD` set only if `env_password` is given; output piped.
fn classchat_command(
    home: &std::path::Path,
    args: &[&str],
    env_password: Option<&str>,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_classchat"));
    cmd.args(args)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("CLASSCHAT_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(pw) = env_password {
        cmd.env("CLASSCHAT_PASSWORD", pw);
    }
    cmd
}

async fn classchat(
    home: &std::path::Path,
    args: &[&str],
    env_password: Option<&str>,
    input: &str,
) -> (i32, Vec<Value>, String) {
    let mut child = classchat_command(home, args, env_password).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("classchat did not exit")
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    (
        code,
        lines(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_binary_logs_in_remembers_the_login_and_refuses_a_wrong_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", &dir.path().join("server")).await;
    let addr = server.addr.to_string();
    let home = dir.path();

    let (code, out, err) = classchat(
        home,
        &["--server", &addr, "--user", "alice", "pipe"],
        Some("s3cret-password"),
        "/who\n",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(of_type(&out, "who").len(), 1);

    // The token saved by the first run logs in without a password.
    let (code, out, err) = classchat(
        home,
        &["--server", &addr, "--user", "alice", "pipe"],
        None,
        "/whois alice\n",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(of_type(&out, "user")[0]["online"], true);

    let (code, out, err) = classchat(
        home,
        &[
            "--server",
            &addr,
            "--user",
            "alice",
            "--password",
            "wrong",
            "pipe",
        ],
        None,
        "/who\n",
    )
    .await;
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("wrong password for alice"), "{err}");

    server.stop().await;
    let (code, _, err) = classchat(
        home,
        &["--server", &addr, "--user", "alice", "pipe"],
        Some("s3cret-password"),
        "/who\n",
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("cannot connect"), "{err}");
}

#[tokio::test]
async fn a_user_who_never_logged_in_is_asked_for_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = classchat(
        dir.path(),
        &["--server", "127.0.0.1:9", "--user", "zed", "pipe"],
        None,
        "",
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("no password for zed"), "{err}");
}

#[tokio::test]
async fn the_binary_says_why_a_name_off_the_roster_cannot_sign_up() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("class.txt");
    std::fs::write(&roster, "alice\n").unwrap();
    let mut server = TestServer::start_with("127.0.0.1:0", &dir.path().join("server"), |c| {
        c.roster = Some(roster);
    })
    .await;
    let addr = server.addr.to_string();

    let alice = ["--server", &addr, "--user", "alice", "pipe"];
    let (code, _, err) = classchat(dir.path(), &alice, Some("roster-password"), "").await;
    assert_eq!(code, 0, "{err}");
    let mallory = ["--server", &addr, "--user", "mallory", "pipe"];
    let (code, out, err) = classchat(dir.path(), &mallory, Some("roster-password"), "/who\n").await;
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("only the names on this server's roster"),
        "{err}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_running_pipe_whose_password_was_reset_exits_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let mut server = TestServer::start("127.0.0.1:0", &data).await;
    let addr = server.addr.to_string();
    let args = ["--server", &addr, "--user", "alice", "pipe", "--wait", "60"];
    let mut child = classchat_command(dir.path(), &args, Some("before-the-reset"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut first),
    )
    .await
    .expect("the pipe logs in")
    .unwrap();
    assert!(first.contains("\"connected\""), "{first}");

    server.stop().await;
    classchat_server::admin::reset_password(&data, &"alice".parse().unwrap()).unwrap();
    let mut server = TestServer::start(&addr, &data).await;

    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the pipe exits instead of waiting for a password nobody can type")
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot log in again: wrong password for alice"),
        "{err}"
    );
    server.stop().await;
}

#[tokio::test]
async fn pipe_mode_changes_the_password_and_never_prints_one_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let input = "/passwd only-one\n/passwd\n/passwd wrong much-better\n/passwd alice-password much-better\n";
    let raw = run_pipe_raw(&server, "alice", input, Duration::from_millis(300)).await;
    let text = String::from_utf8_lossy(&raw);
    for secret in ["only-one", "wrong", "much-better", "alice-password"] {
        assert!(!text.contains(secret), "{secret} printed:\n{text}");
    }
    let out = lines(&raw);
    let refused = of_type(&out, "command_error");
    assert_eq!(refused.len(), 2, "{out:?}");
    assert_eq!(refused[0]["input"], "/passwd ***");
    let errors = of_type(&out, "error");
    assert_eq!(errors.len(), 1, "{out:?}");
    assert_eq!(errors[0]["code"], "bad_password");
    assert_eq!(of_type(&out, "password_changed").len(), 1, "{out:?}");

    // The next login needs the new one.
    let mut options = support::options(&server, "alice");
    options.password = Some(classchat_common::protocol::Secret("much-better".into()));
    classchat_client::client::Client::start(options)
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_script_runs_an_announcement_group_with_roles_bans_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    for user in ["alice", "bob"] {
        run_pipe(&server, user, "", Duration::ZERO).await;
    }

    let script = "/create news alice bob --announce\n/mod news bob\n/msg #news Exam on Friday\n";
    let out = run_pipe(&server, "carol", script, Duration::ZERO).await;
    let groups = of_type(&out, "group");
    assert_eq!(groups.len(), 2, "{out:?}");
    assert_eq!(
        (&groups[0]["access"], &groups[0]["posting"]),
        (&"invite".into(), &"moderators".into()),
        "invite-only, as created with members"
    );
    assert_eq!(of_type(&out, "stored").len(), 1, "{out:?}");

    // alice reads; bob, a moderator, posts.
    let out = run_pipe(&server, "alice", "/msg #news hi\n", Duration::ZERO).await;
    let refused = of_type(&out, "error");
    assert_eq!(refused.len(), 1, "{out:?}");
    assert_eq!(refused[0]["code"], "not_moderator");
    let out = run_pipe(
        &server,
        "bob",
        "/msg #news Lab moved to C3\n",
        Duration::ZERO,
    )
    .await;
    assert_eq!(of_type(&out, "stored").len(), 1, "{out:?}");

    // carol removes alice (a ban), sees the ban, lifts it, and opens the group.
    let script = "/kick news alice\n/members news\n/unban news alice\n\
                  /access news open\n/posting news everyone\n";
    let out = run_pipe(&server, "carol", script, Duration::ZERO).await;
    assert_eq!(
        of_type(&out, "members")[0]["banned"],
        serde_json::json!(["alice"]),
        "{out:?}"
    );
    let groups = of_type(&out, "group");
    assert_eq!(groups.len(), 4, "{out:?}");
    assert_eq!(
        (&groups[3]["access"], &groups[3]["posting"]),
        (&"open".into(), &"everyone".into())
    );

    let out = run_pipe(
        &server,
        "alice",
        "/join news\n/msg #news thanks\n",
        Duration::ZERO,
    )
    .await;
    assert_eq!(of_type(&out, "stored").len(), 1, "{out:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_script_sees_who_is_typing_as_a_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    run_pipe(&server, "bob", "", Duration::ZERO).await;
    // A conversation to type in (the server drops `typing` anywhere else).
    run_pipe(&server, "alice", "/msg bob hi\n", Duration::ZERO).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;

    // Pipe mode has no command for it: alice's client says it while bob's
    // script is running.
    let typist = async {
        support::expect(&mut alice_events, "bob online", |e| match e {
            classchat_client::client::Event::Server(
                classchat_common::ServerMessage::Presence { user, online, .. },
            ) => (user.as_str() == "bob" && *online).then_some(()),
            _ => None,
        })
        .await;
        alice
            .request(classchat_common::ClientMessage::Typing {
                to: "bob".parse().unwrap(),
            })
            .await
            .unwrap();
    };
    let (out, ()) = tokio::join!(run_pipe(&server, "bob", "", Duration::from_secs(2)), typist);
    let typing = of_type(&out, "typing");
    assert_eq!(typing.len(), 1, "{out:?}");
    assert_eq!(
        (&typing[0]["conv"], &typing[0]["user"]),
        (&"alice".into(), &"alice".into())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_script_pins_and_unpins_a_message_and_is_told_pins_lists_them_on_screen_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let out = run_pipe(
        &server,
        "carol",
        "/create lab\n/msg #lab read the rules first\n",
        Duration::ZERO,
    )
    .await;
    let seq = of_type(&out, "stored")[0]["seq"].as_u64().unwrap();

    let script = format!("/pin lab {seq}\n/pins lab\n/unpin #lab {seq}\n/unpin lab {seq}\n");
    let out = run_pipe(&server, "carol", &script, Duration::ZERO).await;
    let groups = of_type(&out, "group");
    assert_eq!(groups.len(), 2, "{out:?}");
    assert_eq!(groups[0]["pinned"], serde_json::json!([seq]));
    assert!(groups[1].get("pinned").is_none(), "none left: {out:?}");
    let events: Vec<&Value> = of_type(&out, "message")
        .into_iter()
        .filter_map(|m| m.get("event"))
        .collect();
    assert_eq!(
        events,
        [
            &serde_json::json!({"kind": "pinned", "seq": seq}),
            &serde_json::json!({"kind": "unpinned", "seq": seq})
        ]
    );
    let refused = of_type(&out, "command_error");
    assert_eq!(refused.len(), 1, "{out:?}");
    assert_eq!(refused[0]["input"], "/pins lab");
    assert_eq!(
        of_type(&out, "error")[0]["code"],
        "bad_request",
        "not pinned"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_script_reacts_and_takes_a_reaction_back_answered_like_an_edit() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    run_pipe(&server, "bob", "", Duration::ZERO).await;
    let out = run_pipe(&server, "alice", "/msg bob lab at 3\n", Duration::ZERO).await;
    let [first] = stored_seqs(&out)[..] else {
        panic!("{out:?}")
    };

    // Two reactions, one taken back, once too often; and one with a space,
    // which never leaves.
    let input = format!(
        "/react alice {first} 👍\n/react alice {first} 🎉\n/unreact alice {first} 🎉\n\
         /unreact alice {first} 🎉\n/react alice {first} no way\n"
    );
    let out = run_pipe(&server, "bob", &input, Duration::ZERO).await;
    assert_eq!(stored_seqs(&out).len(), 3, "{out:?}");
    let followed = |id: &Value| of_type(&out, "status").iter().any(|s| &s["id"] == id);
    assert!(
        of_type(&out, "stored").iter().all(|s| !followed(&s["id"])),
        "nobody follows who read a reaction: {out:?}"
    );
    let codes: Vec<&Value> = of_type(&out, "error").iter().map(|e| &e["code"]).collect();
    assert_eq!(codes, ["bad_request"], "{out:?}");
    let local = of_type(&out, "command_error");
    assert_eq!(local.len(), 1, "{out:?}");
    assert!(
        local[0]["message"]
            .as_str()
            .unwrap()
            .contains("without spaces"),
        "{out:?}"
    );

    // alice was away: each reaction arrives as a line of its own naming the
    // message, with the emoji as its body; her message's history carries
    // what stands.
    let out = run_pipe(
        &server,
        "alice",
        "/history bob\n",
        Duration::from_millis(300),
    )
    .await;
    let lines: Vec<(Option<u64>, Option<u64>, &str)> = of_type(&out, "message")
        .iter()
        .filter(|m| m["seq"].as_u64() > Some(first))
        .map(|m| {
            (
                m["react"].as_u64(),
                m["unreact"].as_u64(),
                m["body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (Some(first), None, "👍"),
            (Some(first), None, "🎉"),
            (None, Some(first), "🎉"),
        ],
        "{out:?}"
    );
    let history = of_type(&out, "history");
    let message = history[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["seq"] == first)
        .unwrap_or_else(|| panic!("message {first} in {history:?}"));
    assert_eq!(
        message["reactions"],
        serde_json::json!([{"emoji": "👍", "users": ["bob"]}])
    );
    server.stop().await;
}

/// The bodies of a `search` reply's messages, in its order.
fn found_bodies(reply: &Value) -> Vec<&str> {
    reply["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_script_searches_page_by_page_and_every_search_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    run_pipe(&server, "bob", "", Duration::ZERO).await;
    let mut script: String = (1..=22)
        .map(|n| format!("/msg bob exam note {n}\n"))
        .collect();
    script.push_str("/msg bob nothing to see\n/create lab bob\n/msg #lab the Exam room moved\n");
    let out = run_pipe(&server, "alice", &script, Duration::ZERO).await;
    assert_eq!(stored_seqs(&out).len(), 24, "{out:?}");

    // Newest first across conversations, each named as alice names it; 20
    // to a page, with `next` while there are more.
    let script = "/search EXAM\n/search --in bob exam 22\n";
    let out = run_pipe(&server, "alice", script, Duration::ZERO).await;
    let found = of_type(&out, "search");
    assert_eq!(found.len(), 2, "{out:?}");
    let first = found_bodies(found[0]);
    assert_eq!(first.len(), 20, "{first:?}");
    assert_eq!(
        first[..3],
        ["the Exam room moved", "exam note 22", "exam note 21"]
    );
    assert_eq!(first[19], "exam note 4");
    assert_eq!(found[0]["messages"][0]["conv"], "#lab");
    assert_eq!(found[0]["messages"][1]["conv"], "bob");
    let next = found[0]["next"].as_str().unwrap().to_owned();
    assert_eq!(found_bodies(found[1]), ["exam note 22"], "--in bob");
    assert!(found[1].get("next").is_none());

    // The next page from `next`; and three refusals, each answered (the
    // script ends): one never sent, two the server's.
    let script = format!(
        "/search --before {next} exam\n/search 👍\n/search --before yesterday exam\n\
         /search --in #nowhere exam\n"
    );
    let out = run_pipe(&server, "alice", &script, Duration::ZERO).await;
    let found = of_type(&out, "search");
    assert_eq!(found.len(), 1, "{out:?}");
    assert_eq!(
        found_bodies(found[0]),
        ["exam note 3", "exam note 2", "exam note 1"]
    );
    assert!(found[0].get("next").is_none(), "the last page");
    let local = of_type(&out, "command_error");
    assert_eq!(local.len(), 1, "{out:?}");
    assert_eq!(local[0]["input"], "/search 👍");
    assert!(
        local[0]["message"]
            .as_str()
            .unwrap()
            .contains("a search needs a word of letters or digits"),
        "{out:?}"
    );
    let codes: Vec<&Value> = of_type(&out, "error").iter().map(|e| &e["code"]).collect();
    assert_eq!(codes, ["bad_request", "unknown_group"], "{out:?}");

    // A group left is not searched, what was said while in it included.
    let out = run_pipe(
        &server,
        "bob",
        "/leave lab\n/search room\n/search exam 22\n",
        Duration::ZERO,
    )
    .await;
    let found = of_type(&out, "search");
    assert_eq!(found.len(), 2, "{out:?}");
    assert_eq!(found_bodies(found[0]), Vec::<&str>::new());
    assert_eq!(found_bodies(found[1]), ["exam note 22"], "as bob names it");
    assert_eq!(found[1]["messages"][0]["conv"], "alice");
    server.stop().await;
}
