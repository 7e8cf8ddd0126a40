//! Saying hello, creating accounts, logging in with a password or a resume token.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use classchat_common::limits::{MAX_BODY_BYTES, MAX_FRAME_BYTES, PROTOCOL_VERSION};
use classchat_common::protocol::Secret;
use classchat_common::{ClientMessage, ErrorCode, ServerMessage};
use classchat_server::ratelimit::Rate;
use support::{
    PASSWORD, ServerOptions, TestClient, TestServer, login_with_password, login_with_token,
    start_server, user,
};

/// The whole account life cycle, on whichever address family `server` listens.
async fn first_login_creates_the_account_and_later_ones_find_it(server: TestServer) {
    let mut c = server.connect().await;
    c.send(ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        client: None,
    })
    .await;
    let limits = expect!(c.recv().await, ServerMessage::Welcome { limits, .. } => limits);
    assert_eq!(limits.max_frame, MAX_FRAME_BYTES);
    assert_eq!(limits.max_body, MAX_BODY_BYTES);
    c.send(login_with_password("alice", PASSWORD)).await;
    c.finish_login().await;
    assert!(c.created, "the first login creates the account");
    assert_eq!(c.synced, 0);
    assert!(!c.token().is_empty());
    c.bye().await;

    let again = server.login("alice").await;
    assert!(!again.created, "the second login finds the account");
    assert_eq!(again.name, Some(user("alice")));
}

#[tokio::test]
async fn the_first_login_creates_an_account_and_the_second_finds_it_on_ipv4() {
    let server = TestServer::start().await;
    assert!(server.addr.is_ipv4());
    first_login_creates_the_account_and_later_ones_find_it(server).await;
}

#[tokio::test]
async fn the_first_login_creates_an_account_and_the_second_finds_it_on_ipv6() {
    let server = start_server(ServerOptions::default().ipv6()).await;
    assert!(server.addr.is_ipv6());
    first_login_creates_the_account_and_later_ones_find_it(server).await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_the_connection_may_try_again() {
    let server = TestServer::start().await;
    server.login("alice").await.bye().await;

    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_password("alice", "not the password"))
        .await;
    let refused = c.recv_within(support::LOGIN_WAIT).await;
    expect!(refused, ServerMessage::Error { code: ErrorCode::BadPassword, .. } => ());
    c.send(login_with_password("alice", PASSWORD)).await;
    c.finish_login().await;
    assert!(!c.created);
}

#[tokio::test]
async fn the_token_from_logged_in_logs_in_again_and_a_bogus_one_is_refused() {
    let server = TestServer::start().await;
    let alice = server.login("alice").await;
    let token = alice.token().to_owned();
    alice.bye().await;

    let resumed = TestClient::resume(server.addr, "alice", &token).await;
    assert!(!resumed.created);
    assert_eq!(resumed.token(), token, "a resumed login keeps its token");

    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_token(
        "alice",
        "bm90IGEgdG9rZW4gdGhlIHNlcnZlciBpc3N1ZWQ",
    ))
    .await;
    c.recv_error(ErrorCode::BadToken).await;
    // The refusal leaves the connection open for a proper login.
    c.send(login_with_token("alice", &token)).await;
    c.finish_login().await;
}

#[tokio::test]
async fn one_users_token_does_not_log_in_as_another() {
    let server = TestServer::start().await;
    let bob = server.login("bob").await;
    let bobs_token = bob.token().to_owned();
    server.login("alice").await.bye().await;

    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_token("alice", &bobs_token)).await;
    c.recv_error(ErrorCode::BadToken).await;
}

#[tokio::test]
async fn login_before_hello_is_answered_hello_required_and_hello_still_works() {
    let server = TestServer::start().await;
    let mut c = server.connect().await;
    c.send(login_with_password("alice", PASSWORD)).await;
    c.recv_error(ErrorCode::HelloRequired).await;
    c.send(ClientMessage::Who { req: None }).await;
    c.recv_error(ErrorCode::HelloRequired).await;
    // The refusal names the request it refuses, as every refusal does.
    c.send(ClientMessage::Who { req: Some(5) }).await;
    expect!(c.recv_error(ErrorCode::HelloRequired).await, ServerMessage::Error { req: Some(5), id: None, .. } => ());
    let (id, send) = support::send_to("bob", "hi");
    c.send(send).await;
    expect!(c.recv_error(ErrorCode::HelloRequired).await, ServerMessage::Error { req: None, id: Some(got), .. } if got == id => ());
    c.hello().await;
    c.send(login_with_password("alice", PASSWORD)).await;
    c.finish_login().await;
    assert!(c.created);
}

#[tokio::test]
async fn requests_before_login_are_answered_login_required() {
    let server = TestServer::start().await;
    let mut c = server.connect().await;
    c.hello().await;
    let (id, send) = support::send_to("bob", "hi");
    c.send(send).await;
    expect!(c.recv_error(ErrorCode::LoginRequired).await, ServerMessage::Error { req: None, id: Some(got), .. } if got == id => ());
    c.send(ClientMessage::Who { req: Some(7) }).await;
    expect!(c.recv_error(ErrorCode::LoginRequired).await, ServerMessage::Error { req: Some(7), id: None, .. } => ());
    // Ping works at any time.
    c.send(ClientMessage::Ping).await;
    expect!(c.recv().await, ServerMessage::Pong => ());
}

#[tokio::test]
async fn an_unsupported_version_is_refused_and_the_connection_closed() {
    let server = TestServer::start().await;
    let mut c = server.connect().await;
    c.send(ClientMessage::Hello {
        version: PROTOCOL_VERSION + 1,
        client: None,
    })
    .await;
    let last = c.expect_closed().await;
    assert!(
        matches!(
            last.as_slice(),
            [ServerMessage::Error {
                code: ErrorCode::UnsupportedVersion,
                ..
            }]
        ),
        "got {last:?}"
    );
}

#[tokio::test]
async fn a_second_hello_is_answered_already_logged_in_before_and_after_login() {
    let server = TestServer::start().await;
    let mut c = server.connect().await;
    c.hello().await;
    c.send(ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        client: None,
    })
    .await;
    c.recv_error(ErrorCode::AlreadyLoggedIn).await;
    c.send(login_with_password("alice", PASSWORD)).await;
    c.finish_login().await;

    c.send(ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        client: None,
    })
    .await;
    c.recv_error(ErrorCode::AlreadyLoggedIn).await;
    c.send(login_with_password("alice", PASSWORD)).await;
    c.recv_error(ErrorCode::AlreadyLoggedIn).await;
    c.expect_nothing_pending().await;
}

#[tokio::test]
async fn names_are_the_same_account_whatever_their_case_and_keep_their_first_spelling() {
    let server = TestServer::start().await;
    let alice = server.login("Alice").await;
    assert!(alice.created);
    alice.bye().await;

    let lower = server.login("alice").await;
    assert!(!lower.created, "alice is Alice");
    assert_eq!(
        lower.name.as_ref().map(ToString::to_string).as_deref(),
        Some("Alice")
    );

    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_password("ALICE", "another password"))
        .await;
    let refused = c.recv_within(support::LOGIN_WAIT).await;
    expect!(refused, ServerMessage::Error { code: ErrorCode::BadPassword, .. } => ());
}

#[tokio::test]
async fn a_login_without_password_or_with_an_invalid_name_is_refused_with_the_reason() {
    let server = TestServer::start().await;
    let mut c = server.connect().await;
    c.hello().await;
    c.send(ClientMessage::Login {
        user: user("alice"),
        password: None,
        token: None,
        create: true,
    })
    .await;
    c.recv_error(ErrorCode::BadRequest).await;
    c.send(login_with_password("alice", "")).await;
    c.recv_error(ErrorCode::BadRequest).await;
    c.send_raw(b"{\"type\":\"login\",\"user\":\"al ice\",\"password\":\"x\"}\n")
        .await;
    c.recv_error(ErrorCode::InvalidName).await;
    c.send_raw(
        format!(
            "{{\"type\":\"login\",\"user\":\"{}\",\"password\":\"x\"}}\n",
            "a".repeat(33)
        )
        .as_bytes(),
    )
    .await;
    c.recv_error(ErrorCode::InvalidName).await;
    c.send(login_with_password("alice", PASSWORD)).await;
    c.finish_login().await;
}

#[tokio::test]
async fn bye_is_answered_and_the_connection_closed() {
    let server = TestServer::start().await;
    let alice = server.login("alice").await;
    alice.bye().await;
}

#[tokio::test]
async fn a_dual_stack_listener_takes_ipv4_and_ipv6_clients_alike() {
    let server = start_server(ServerOptions::default().memory().dual_stack()).await;
    let port = server.addr.port();
    let mut v4 = TestClient::login(
        format!("127.0.0.1:{port}").parse().unwrap(),
        "alice",
        PASSWORD,
    )
    .await;
    let mut v6 = TestClient::login(format!("[::1]:{port}").parse().unwrap(), "bob", PASSWORD).await;
    let (id, _) = v4.send_stored("bob", "from IPv4").await;
    assert_eq!(v6.recv_message().await.id, id);
    let (id, _) = v6.send_stored("alice", "from IPv6").await;
    assert_eq!(v4.recv_message().await.id, id);
}

#[tokio::test]
async fn two_first_logins_racing_for_one_name_create_one_account() {
    let server = start_server(ServerOptions::default().memory()).await;
    let attempt = |name: &'static str, password: &'static str| {
        let addr = server.addr;
        tokio::spawn(async move {
            let mut c = TestClient::connect(addr).await;
            c.hello().await;
            c.send(login_with_password(name, password)).await;
            c.recv_within(support::LOGIN_WAIT).await
        })
    };
    // Same password: both get in, and exactly one of them created the account.
    let (a, b) = (attempt("alice", PASSWORD), attempt("alice", PASSWORD));
    let created: Vec<bool> = [a.await.unwrap(), b.await.unwrap()]
        .into_iter()
        .map(|reply| expect!(reply, ServerMessage::LoggedIn { created, .. } => created))
        .collect();
    assert_eq!(created.iter().filter(|c| **c).count(), 1, "{created:?}");

    // Different passwords: one creates the account, the other is refused.
    let (a, b) = (
        attempt("carol", "first password"),
        attempt("carol", "second password"),
    );
    let replies = [a.await.unwrap(), b.await.unwrap()];
    let created = replies
        .iter()
        .filter(|r| matches!(r, ServerMessage::LoggedIn { created: true, .. }))
        .count();
    let refused = replies
        .iter()
        .filter(|r| {
            matches!(
                r,
                ServerMessage::Error {
                    code: ErrorCode::BadPassword,
                    ..
                }
            )
        })
        .count();
    assert_eq!((created, refused), (1, 1), "{replies:?}");
}

/// Sends a login with a password and returns the server's answer.
async fn attempt(client: &mut TestClient, name: &str, password: &str) -> ServerMessage {
    client
        .send(ClientMessage::Login {
            user: user(name),
            password: Some(Secret(password.into())),
            token: None,
            create: true,
        })
        .await;
    client.recv().await
}

#[tokio::test]
async fn password_guessing_is_slowed_per_account_and_per_address() {
    let server = start_server(ServerOptions::default().memory()).await;
    server.login("alice").await;
    let mut guesser = server.connect().await;
    guesser.hello().await;
    for _ in 0..6 {
        let answer = attempt(&mut guesser, "alice", "guess").await;
        assert!(
            matches!(
                answer,
                ServerMessage::Error {
                    code: ErrorCode::BadPassword,
                    ..
                }
            ),
            "{answer:?}"
        );
    }
    // Now even the right password must wait, and says for how long.
    match attempt(&mut guesser, "alice", PASSWORD).await {
        ServerMessage::Error {
            code: ErrorCode::LoginThrottled,
            retry_after_ms: Some(ms),
            message,
            ..
        } => {
            assert!(ms > 0 && ms <= 2_000, "{ms}");
            assert!(message.contains("try again"), "{message}");
        }
        other => panic!("expected login_throttled, got {other:?}"),
    }
    // The address is slowed for other accounts as well.
    let answer = attempt(&mut guesser, "bob", "whatever").await;
    assert!(
        matches!(
            answer,
            ServerMessage::Error {
                code: ErrorCode::LoginThrottled,
                ..
            }
        ),
        "{answer:?}"
    );
}

// ---- sign-ups per address ----------------------------------------------------

#[tokio::test]
async fn an_address_past_its_sign_up_allowance_is_told_when_to_retry_and_may_still_log_in() {
    let server = start_server(ServerOptions::default().memory().config(|c| {
        c.sign_ups = Rate::per_hour(1, 2);
    }))
    .await;
    assert!(server.login("alice").await.created);
    assert!(server.login("bob").await.created);

    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_password("carol", PASSWORD)).await;
    match c.recv_within(support::LOGIN_WAIT).await {
        ServerMessage::Error {
            code: ErrorCode::RateLimited,
            retry_after_ms: Some(ms),
            message,
            ..
        } => {
            // One an hour: the next sign-up comes within the hour.
            assert!(ms > 60_000 && ms <= 3_600_000, "{ms}");
            assert!(message.contains("try again in"), "{message}");
            assert!(message.contains("account you already have"), "{message}");
        }
        other => panic!("expected rate_limited, got {other:?}"),
    }
    // The connection stays open, and an account that exists logs in on it.
    c.send(login_with_password("alice", PASSWORD)).await;
    c.finish_login().await;
    assert!(!c.created);
}

// ---- sign-up limited to a roster ---------------------------------------------

/// A server whose roster is the file `roster.txt` in `dir`, holding `names`.
fn with_roster(dir: &tempfile::TempDir, names: &str) -> ServerOptions {
    let path = dir.path().join("roster.txt");
    std::fs::write(&path, names).unwrap();
    ServerOptions::default().config(move |c| c.roster = Some(path))
}

#[tokio::test]
async fn with_a_roster_only_its_names_can_sign_up_and_a_name_added_counts_at_once() {
    let files = tempfile::TempDir::new().unwrap();
    let server = start_server(with_roster(&files, "# CS 101\nalice\nBob\n")).await;
    assert!(server.login("alice").await.created);
    assert!(
        server.login("bob").await.created,
        "names compare ignoring case"
    );

    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_password("mallory", PASSWORD)).await;
    let why = expect!(
        c.recv_within(support::LOGIN_WAIT).await,
        ServerMessage::Error { code: ErrorCode::SignUpClosed, message, .. } => message
    );
    assert!(why.contains("roster"), "{why}");

    // The instructor adds her; the same connection tries again and gets in.
    std::fs::write(files.path().join("roster.txt"), "alice\nbob\nmallory\n").unwrap();
    c.send(login_with_password("mallory", PASSWORD)).await;
    c.finish_login().await;
    assert!(c.created);
}

#[tokio::test]
async fn a_roster_decides_who_may_join_not_who_may_log_in() {
    let server = TestServer::start().await;
    let carol = server.login("carol").await;
    let token = carol.token().to_owned();
    carol.bye().await;
    let dir = server.stop().await;

    // Restarted with a roster that does not list carol: her account stays hers.
    let files = tempfile::TempDir::new().unwrap();
    let server = start_server(with_roster(&files, "alice\n").in_dir(dir)).await;
    assert!(!server.login("carol").await.created);
    assert!(
        !TestClient::resume(server.addr, "carol", &token)
            .await
            .created
    );

    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_password("dave", PASSWORD)).await;
    c.recv_error(ErrorCode::SignUpClosed).await;
}

#[tokio::test]
async fn a_roster_with_a_name_that_breaks_the_rules_stops_the_server_at_start() {
    let files = tempfile::TempDir::new().unwrap();
    let path = files.path().join("roster.txt");
    std::fs::write(&path, "alice\nbob smith\n").unwrap();
    let mut config = classchat_server::Config::new(files.path().join("data"));
    config.roster = Some(path);
    let err = classchat_server::Server::open(config)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2") && err.contains("bob smith"), "{err}");
}

// ---- changing one's own password ----------------------------------------------

fn change_password(req: u64, old: &str, new: &str) -> ClientMessage {
    ClientMessage::Password {
        req: Some(req),
        old: Secret(old.into()),
        new: Secret(new.into()),
    }
}

#[tokio::test]
async fn a_user_changes_their_password_and_only_this_login_keeps_its_token() {
    let server = TestServer::start().await;
    let mut laptop = server.login("alice").await;
    let phone = server.login("alice").await;
    let (laptop_token, phone_token) = (laptop.token().to_owned(), phone.token().to_owned());
    phone.bye().await;

    laptop
        .send(change_password(1, "not it", "new password"))
        .await;
    let refused = laptop.recv_error(ErrorCode::BadPassword).await;
    assert_eq!(refused.req(), Some(1));
    laptop.send(change_password(2, PASSWORD, "")).await;
    laptop.recv_error(ErrorCode::BadRequest).await;

    laptop
        .send(change_password(3, PASSWORD, "new password"))
        .await;
    expect!(laptop.recv().await, ServerMessage::PasswordChanged { req: Some(3) } => ());
    // The old one is not the current one any more, here either.
    laptop
        .send(change_password(4, PASSWORD, "newer password"))
        .await;
    laptop.recv_error(ErrorCode::BadPassword).await;
    laptop.bye().await;

    // Kept across a restart: the old password and the phone's login are gone,
    // the laptop's login and the new password work.
    let server = server.restart().await;
    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_password("alice", PASSWORD)).await;
    c.recv_error(ErrorCode::BadPassword).await;
    c.send(login_with_token("alice", &phone_token)).await;
    c.recv_error(ErrorCode::BadToken).await;
    c.send(login_with_token("alice", &laptop_token)).await;
    c.finish_login().await;
    TestClient::login(server.addr, "alice", "new password")
        .await
        .bye()
        .await;
}

#[tokio::test]
async fn guessing_the_current_password_from_an_open_session_is_throttled() {
    // Password changes have their own rate limit; here it stays out of the way.
    let options = ServerOptions::default()
        .memory()
        .config(|c| c.rates.password = Rate::per_second(100, 100));
    let server = start_server(options).await;
    let mut alice = server.login("alice").await;
    let mut throttled = None;
    for req in 1..=8 {
        alice
            .send(change_password(req, "a guess", "mine from now on"))
            .await;
        match alice.recv().await {
            ServerMessage::Error {
                code: ErrorCode::BadPassword,
                ..
            } => {}
            ServerMessage::Error {
                code: ErrorCode::LoginThrottled,
                retry_after_ms,
                ..
            } => {
                throttled = retry_after_ms;
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(throttled.is_some_and(|ms| ms > 0), "{throttled:?}");
}

// ---- telling a new name from a misspelt one, and password length ------------

fn login_without_creating(name: &str, password: &str) -> ClientMessage {
    ClientMessage::Login {
        user: user(name),
        password: Some(Secret(password.into())),
        token: None,
        create: false,
    }
}

#[tokio::test]
async fn a_login_that_may_not_create_says_the_name_has_no_account_and_may_try_again() {
    let server = start_server(ServerOptions::default().memory()).await;
    server.login("alice").await.bye().await;

    let mut c = server.connect().await;
    c.hello().await;
    // A misspelt name is not made into a second account.
    c.send(login_without_creating("alcie", PASSWORD)).await;
    let refused = c.recv_error(ErrorCode::UnknownUser).await;
    let message = expect!(refused, ServerMessage::Error { message, .. } => message);
    assert!(message.contains("no account alcie"), "{message}");
    // An existing name logs in as ever.
    c.send(login_without_creating("ALICE", PASSWORD)).await;
    c.finish_login().await;
    assert!(!c.created);
    c.bye().await;

    // Confirmed, the new name is created.
    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_without_creating("alcie", PASSWORD)).await;
    c.recv_error(ErrorCode::UnknownUser).await;
    c.send(login_with_password("alcie", PASSWORD)).await;
    c.finish_login().await;
    assert!(c.created);
}

#[tokio::test]
async fn new_passwords_have_the_announced_minimum_length_and_old_ones_keep_working() {
    let server = start_server(ServerOptions::default().config(|c| c.min_password = 3)).await;
    let mut c = server.connect().await;
    c.send(ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        client: None,
    })
    .await;
    let limits = expect!(c.recv().await, ServerMessage::Welcome { limits, .. } => limits);
    assert_eq!(limits.min_password, 3);
    c.send(login_with_password("old", "abc")).await;
    c.finish_login().await;
    c.bye().await;

    // The server now asks for the default, eight characters, of new ones.
    let dir = server.stop().await;
    let server = start_server(ServerOptions::default().in_dir(dir)).await;
    let mut c = server.connect().await;
    c.hello().await;
    c.send(login_with_password("newcomer", "seven77")).await;
    let refused = c.recv_error(ErrorCode::BadRequest).await;
    let message = expect!(refused, ServerMessage::Error { message, .. } => message);
    assert!(message.contains("at least 8 characters"), "{message}");
    // Characters, not bytes: eight accented letters are sixteen bytes, and enough.
    c.send(login_with_password("newcomer", "éééééééé")).await;
    c.finish_login().await;
    assert!(c.created);

    let mut old = TestClient::login(server.addr, "old", "abc").await;
    old.send(ClientMessage::Password {
        req: Some(1),
        old: Secret("abc".into()),
        new: Secret("short".into()),
    })
    .await;
    old.recv_error(ErrorCode::BadRequest).await;
}
