//! Bad input, slow and silent clients, floods: each gets a clear error (or is
//! closed), nothing is lost, and everyone else is served as before.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use std::time::Duration;

use classchat_common::limits::MAX_FRAME_BYTES;
use classchat_common::{ClientMessage, ErrorCode, MessageId, ServerMessage};
use classchat_server::outbound::Bounds;
use classchat_server::ratelimit::Rate;
use support::{
    Next, ServerOptions, TestClient, TestServer, WAIT, conv, send_to, start_server, user,
};

/// Writes `total` bytes of one endless line in chunks, until the server stops taking them.
async fn write_endless_line(c: &mut TestClient, total: usize) {
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..total / chunk.len() {
        if c.try_send_raw(&chunk).await.is_err() {
            return;
        }
    }
}

/// The last thing before the close must be the `frame_too_long` error.
fn assert_closed_with_frame_too_long(last: &[ServerMessage]) {
    assert!(
        matches!(
            last,
            [
                ..,
                ServerMessage::Error {
                    code: ErrorCode::FrameTooLong,
                    ..
                }
            ]
        ),
        "expected frame_too_long before the close, got {last:?}"
    );
}

#[tokio::test]
async fn an_over_long_line_gets_frame_too_long_and_a_close_while_others_chat_on() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut mallory = server.login("mallory").await;

    let attack = tokio::spawn(async move {
        write_endless_line(&mut mallory, 2 << 20).await;
        mallory.expect_closed().await
    });
    for i in 0..20 {
        let (id, _) = alice.send_stored("bob", &format!("still here {i}")).await;
        assert_eq!(bob.recv_message().await.id, id);
    }
    let last = tokio::time::timeout(WAIT, attack)
        .await
        .expect("closed within 5 s")
        .unwrap();
    assert_closed_with_frame_too_long(&last);
    bob.send_stored("alice", "and still chatting").await;
    alice.recv_message().await;
}

#[tokio::test]
async fn an_over_long_line_before_login_is_refused_the_same_way() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut c = server.connect().await;
    write_endless_line(&mut c, 2 << 20).await;
    assert_closed_with_frame_too_long(&c.expect_closed().await);
}

#[tokio::test]
async fn a_line_of_exactly_the_frame_limit_is_read_and_answered() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let prefix = br#"{"type":"who","req":3,"padding":""#;
    let suffix = br#""}"#;
    let mut line = prefix.to_vec();
    line.resize(MAX_FRAME_BYTES - suffix.len(), b' ');
    line.extend_from_slice(suffix);
    assert_eq!(line.len(), MAX_FRAME_BYTES);
    line.push(b'\n');
    alice.send_raw(&line).await;
    expect!(alice.recv().await, ServerMessage::Who { req: Some(3), .. } => ());
}

#[tokio::test]
async fn a_line_split_into_single_bytes_is_decoded_like_any_other() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut bob = server.login("bob").await;
    let mut c = server.connect().await;
    c.stream().set_nodelay(true).unwrap();
    let hello = ClientMessage::Hello {
        version: 1,
        client: None,
    }
    .to_line();
    let (id, send) = send_to("bob", "one byte at a time");
    let login = ClientMessage::Login {
        user: user("alice"),
        password: Some(classchat_common::protocol::Secret(support::PASSWORD.into())),
        token: None,
    };
    for &b in hello.iter() {
        c.send_raw(&[b]).await;
    }
    expect!(c.recv().await, ServerMessage::Welcome { .. } => ());
    for &b in login.to_line().iter() {
        c.send_raw(&[b]).await;
    }
    c.finish_login().await;
    for &b in send.to_line().iter() {
        c.send_raw(&[b]).await;
    }
    expect!(c.recv().await, ServerMessage::Stored { id: got, .. } if got == id => ());
    assert_eq!(bob.recv_message().await.body, "one byte at a time");

    // And the other way round: several lines in one write, with CRLF and blank lines.
    c.send_raw(b"{\"type\":\"who\",\"req\":1}\r\n\n\r\n{\"type\":\"who\",\"req\":2}\n")
        .await;
    expect!(c.recv().await, ServerMessage::Who { req: Some(1), .. } => ());
    expect!(c.recv().await, ServerMessage::Who { req: Some(2), .. } => ());
    c.expect_nothing_pending().await;
}

/// Each bad line gets its error; the connection stays open for the next.
async fn each_bad_line_gets_its_error(c: &mut TestClient, cases: &[(&[u8], ErrorCode)]) {
    for (line, code) in cases {
        let mut bytes = line.to_vec();
        bytes.push(b'\n');
        c.send_raw(&bytes).await;
        let e = c.recv().await;
        let message =
            expect!(e, ServerMessage::Error { code: got, message, .. } if got == *code => message);
        assert!(
            message.len() <= 400,
            "error messages stay short: {} bytes",
            message.len()
        );
    }
}

#[tokio::test]
async fn malformed_lines_get_an_error_naming_the_problem_and_the_connection_stays_open() {
    let server = start_server(ServerOptions::default().memory()).await;
    let nested = format!(
        "{{\"type\":\"who\",\"x\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let huge_type = format!("{{\"type\":\"{}\"}}", "x".repeat(100_000));
    let cases: Vec<(&[u8], ErrorCode)> = vec![
        (b"\xff\xfe\xfd", ErrorCode::InvalidUtf8),
        (
            b"{\"type\":\"who\",\"x\":\"\xc3\x28\"}",
            ErrorCode::InvalidUtf8,
        ),
        (b"not json at all", ErrorCode::BadJson),
        (b"{\"type\":", ErrorCode::BadJson),
        (b"{\"type\":\"who\"", ErrorCode::BadJson),
        (b"[1,2,3]", ErrorCode::BadJson),
        (b"{\"type\":\"who\"}}", ErrorCode::BadJson),
        (nested.as_bytes(), ErrorCode::BadJson),
        (b"{\"type\":\"teleport\"}", ErrorCode::UnknownType),
        (huge_type.as_bytes(), ErrorCode::UnknownType),
        (b"{\"type\":42}", ErrorCode::BadRequest),
        (b"{\"body\":\"no type\"}", ErrorCode::BadRequest),
        (b"{\"type\":\"send\"}", ErrorCode::BadRequest),
        (
            b"{\"type\":\"send\",\"id\":\"42\",\"to\":\"bob\",\"body\":\"x\"}",
            ErrorCode::BadRequest,
        ),
        (
            b"{\"type\":\"send\",\"id\":\"0193a0b0-0000-7000-8000-000000000000\",\"to\":\"bob\"}",
            ErrorCode::BadRequest,
        ),
        (
            b"{\"type\":\"whois\",\"user\":\"no spaces allowed\"}",
            ErrorCode::InvalidName,
        ),
        (
            b"{\"type\":\"whois\",\"user\":\"\\u202eevil\"}",
            ErrorCode::InvalidName,
        ),
    ];

    // Before login...
    let mut c = server.connect().await;
    each_bad_line_gets_its_error(&mut c, &cases).await;
    c.hello().await;
    each_bad_line_gets_its_error(&mut c, &cases).await;
    c.send(ClientMessage::Login {
        user: user("alice"),
        password: Some(classchat_common::protocol::Secret(support::PASSWORD.into())),
        token: None,
    })
    .await;
    c.finish_login().await;
    // ...and after.
    each_bad_line_gets_its_error(&mut c, &cases).await;
    c.expect_nothing_pending().await;
}

#[tokio::test]
async fn huge_and_negative_numbers_are_refused_or_clamped_without_harm() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.send_stored("bob", "one").await;
    bob.recv_message().await;

    let cases: Vec<(&[u8], ErrorCode)> = vec![
        (
            b"{\"type\":\"ack\",\"conv\":\"alice\",\"seq\":1e400}",
            ErrorCode::BadJson,
        ),
        (
            b"{\"type\":\"ack\",\"conv\":\"alice\",\"seq\":99999999999999999999999999}",
            ErrorCode::BadRequest,
        ),
        (
            b"{\"type\":\"ack\",\"conv\":\"alice\",\"seq\":-1}",
            ErrorCode::BadRequest,
        ),
        (
            b"{\"type\":\"ack\",\"conv\":\"alice\",\"seq\":1.5}",
            ErrorCode::BadRequest,
        ),
        (
            b"{\"type\":\"history\",\"conv\":\"alice\",\"limit\":4294967296}",
            ErrorCode::BadRequest,
        ),
        (
            b"{\"type\":\"who\",\"req\":18446744073709551616}",
            ErrorCode::BadRequest,
        ),
        (
            b"{\"type\":\"hello\",\"version\":4294967296}",
            ErrorCode::BadRequest,
        ),
    ];
    each_bad_line_gets_its_error(&mut bob, &cases).await;

    // The largest numbers that fit are clamped to what exists.
    let max = u64::MAX;
    bob.send_raw(format!("{{\"type\":\"ack\",\"conv\":\"alice\",\"seq\":{max}}}\n").as_bytes())
        .await;
    expect!(alice.recv().await, ServerMessage::Receipt { delivered: 1, read: 0, .. } => ());
    bob.send(ClientMessage::Read {
        req: Some(max),
        conv: conv("alice"),
        seq: Some(max),
    })
    .await;
    assert_eq!(
        bob.recv().await,
        ServerMessage::ReadMarked {
            req: Some(max),
            conv: conv("alice"),
            seq: 1
        }
    );
    for (before, after) in [(Some(max), None), (None, Some(max)), (Some(0), None)] {
        bob.send(ClientMessage::History {
            req: Some(1),
            conv: conv("alice"),
            before,
            after,
            limit: Some(u32::MAX),
        })
        .await;
        let messages =
            expect!(bob.recv().await, ServerMessage::History { messages, .. } => messages);
        let expected = usize::from(before == Some(max));
        assert_eq!(
            messages.len(),
            expected,
            "before {before:?} after {after:?}"
        );
    }
    bob.send(ClientMessage::Whois {
        req: Some(max),
        user: user("alice"),
    })
    .await;
    expect!(bob.recv().await, ServerMessage::User { req: Some(r), online: true, .. } if r == max => ());

    // The next message still gets the next number.
    let (_, stored) = alice.send_stored("bob", "two").await;
    expect!(stored, ServerMessage::Stored { seq: 2, .. } => ());
    assert_eq!(bob.recv_message().await.seq, 2);
}

#[tokio::test]
async fn a_flood_is_refused_with_rate_limited_and_a_retry_time_and_others_are_unaffected() {
    // One message a second after a burst of five: however slowly this machine
    // runs, the sixth of six pipelined messages comes too soon.
    let server = start_server(ServerOptions::default().memory().config(|c| {
        c.rate = Rate {
            per_sec: 1,
            burst: 5,
        };
    }))
    .await;
    let mut alice = server.login("alice").await;
    let mut carol = server.login("carol").await;
    let mut bob = server.login("bob").await;

    let sends: Vec<(MessageId, ClientMessage)> = (0..6)
        .map(|i| send_to("bob", &format!("flood {i}")))
        .collect();
    for (_, send) in &sends {
        alice.send(send.clone()).await;
    }
    for (i, (id, _)) in sends.iter().enumerate().take(5) {
        let seq = i as u64 + 1;
        expect!(alice.recv().await, ServerMessage::Stored { id: got, seq: s, .. } if got == *id && s == seq => ());
    }
    let (limited_id, limited) = &sends[5];
    let wait = expect!(alice.recv().await, ServerMessage::Error {
        id: Some(got), code: ErrorCode::RateLimited, retry_after_ms: Some(ms), ..
    } if got == *limited_id => ms);
    assert!((1..=1000).contains(&wait), "retry after {wait} ms");

    // Carol has her own allowance.
    let (carols, _) = carol.send_stored("bob", "not part of the flood").await;
    let mut got = Vec::new();
    for _ in 0..6 {
        got.push(bob.recv_message().await.id);
    }
    let mut expected: Vec<MessageId> = sends[..5].iter().map(|(id, _)| *id).collect();
    expected.push(carols);
    assert_eq!(got, expected, "the refused message was not delivered");
    bob.expect_nothing_pending().await;

    // The rate limiter runs on the real clock, so waiting as told is real time.
    tokio::time::sleep(Duration::from_millis(wait)).await;
    alice.send(limited.clone()).await;
    expect!(alice.recv().await, ServerMessage::Stored { id: got, seq: 6, duplicate: false, .. } if got == *limited_id => ());
    assert_eq!(bob.recv_message().await.id, *limited_id);
}

// The login timeout is tested on Tokio's paused clock: the server runs in the
// test's runtime, and a connection that never speaks leaves that runtime idle,
// so the clock jumps straight to the deadline. This works because nothing
// before the deadline waits on the hub's thread or a password hash; a test that
// logs in cannot use the paused clock, since the clock would jump ahead while
// the runtime waits for the hub thread (see the idle test below).
#[tokio::test(start_paused = true)]
async fn a_connection_that_never_says_hello_is_closed_after_the_login_timeout() {
    let server = start_server(ServerOptions::default().memory()).await;
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut c = TestClient::from_stream(stream);
    let start = tokio::time::Instant::now();
    let e = c.recv_within(Duration::from_secs(3600)).await;
    let waited = start.elapsed();
    expect!(e, ServerMessage::Error { code: ErrorCode::LoginTimeout, .. } => ());
    let limit = Duration::from_secs(classchat_common::limits::LOGIN_TIMEOUT_SECS);
    assert!(
        waited >= limit && waited < limit + Duration::from_secs(1),
        "closed after {waited:?}"
    );
    assert!(matches!(
        c.next_within(Duration::from_secs(3600)).await,
        Next::Closed
    ));
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_says_hello_but_never_logs_in_is_closed_after_the_login_timeout() {
    let server = start_server(ServerOptions::default().memory()).await;
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut c = TestClient::from_stream(stream);
    let start = tokio::time::Instant::now();
    c.hello().await;
    // Pings keep nothing alive before login.
    c.send(ClientMessage::Ping).await;
    expect!(c.recv().await, ServerMessage::Pong => ());
    let e = c.recv_within(Duration::from_secs(3600)).await;
    expect!(e, ServerMessage::Error { code: ErrorCode::LoginTimeout, .. } => ());
    let waited = start.elapsed();
    let limit = Duration::from_secs(classchat_common::limits::LOGIN_TIMEOUT_SECS);
    assert!(
        waited >= limit && waited < limit + Duration::from_secs(1),
        "closed after {waited:?}"
    );
    assert!(matches!(
        c.next_within(Duration::from_secs(3600)).await,
        Next::Closed
    ));
}

// The idle timeout comes after a login, which waits on the hub's own thread and
// on password hashing; Tokio's paused clock would jump ahead during those waits
// (it only sees its own runtime idle), so this test uses a short real interval,
// long enough that a busy machine still answers each ping in time.
#[tokio::test]
async fn a_silent_client_is_pinged_then_closed_and_one_that_answers_stays() {
    let server = start_server(ServerOptions::default().memory().config(|c| {
        c.ping_interval = Duration::from_secs(1);
    }))
    .await;
    let mut silent = server.login("silent").await;
    let mut lively = server.login("lively").await;

    for _ in 0..2 {
        expect!(lively.recv().await, ServerMessage::Ping => ());
        lively.send(ClientMessage::Pong).await;
    }
    lively.expect_nothing_pending().await;

    // Meanwhile the silent one was pinged once, then closed.
    expect!(silent.recv().await, ServerMessage::Ping => ());
    let last = silent.expect_closed().await;
    assert!(
        matches!(
            last.as_slice(),
            [ServerMessage::Error {
                code: ErrorCode::IdleTimeout,
                ..
            }]
        ),
        "got {last:?}"
    );
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_without_slowing_the_sender_and_loses_nothing() {
    let server = start_server(ServerOptions::default().config(|c| {
        c.queue = Bounds {
            lines: 64,
            bytes: 64 * 1024,
        };
        c.rate = Rate {
            per_sec: 1_000_000,
            burst: 1_000_000,
        };
    }))
    .await;
    let mut bob = TestClient::connect_with_small_buffer(server.addr).await;
    bob.hello().await;
    bob.send(ClientMessage::Login {
        user: user("bob"),
        password: Some(classchat_common::protocol::Secret(support::PASSWORD.into())),
        token: None,
    })
    .await;
    bob.finish_login().await;
    let token = bob.token().to_owned();
    let mut alice = server.login("alice").await;

    // From here on bob reads nothing. Alice sends big messages in rounds until
    // the server gives up on him; every one must be stored without delay.
    let big = "z".repeat(8000);
    let mut sent = Vec::new();
    let mut dropped = false;
    for _ in 0..100 {
        let ids: Vec<MessageId> = (0..20)
            .map(|_| {
                let (id, _) = send_to("bob", &big);
                id
            })
            .collect();
        for id in &ids {
            alice
                .send(ClientMessage::Send {
                    id: *id,
                    to: conv("bob"),
                    body: big.clone(),
                })
                .await;
        }
        for id in &ids {
            let reply = alice
                .recv_until(2, |m| !matches!(m, ServerMessage::Presence { .. }))
                .await;
            expect!(reply, ServerMessage::Stored { id: got, .. } if got == *id => ());
        }
        sent.extend(ids);
        let req = alice.req();
        alice
            .send(ClientMessage::Whois {
                req: Some(req),
                user: user("bob"),
            })
            .await;
        let reply = alice
            .recv_until(2, |m| !matches!(m, ServerMessage::Presence { .. }))
            .await;
        if !expect!(reply, ServerMessage::User { online, .. } => online) {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "a client that reads nothing was never dropped");
    // Alice carries on as before; bob is simply offline now.
    for i in 0..20 {
        let (id, stored) = alice
            .send_stored("bob", &format!("after the drop {i}"))
            .await;
        expect!(stored, ServerMessage::Stored { online: 0, .. } => ());
        sent.push(id);
    }

    // Bob's connection is closed once he looks: whatever was in flight, then the end.
    let before_close = bob.expect_closed().await;
    for msg in &before_close {
        assert!(
            matches!(
                msg,
                ServerMessage::Message(_)
                    | ServerMessage::Error {
                        code: ErrorCode::SlowConsumer,
                        ..
                    }
            ),
            "unexpected {msg:?}"
        );
    }
    // Nothing was lost: everything comes on the next login, in order.
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    let got: Vec<MessageId> = bob.caught_up.iter().map(|m| m.id).collect();
    assert_eq!(got.len(), sent.len());
    assert_eq!(got, sent);
}

#[tokio::test]
async fn connections_beyond_the_limit_are_told_the_server_is_busy() {
    let server = start_server(ServerOptions::default().memory().config(|c| {
        c.max_connections = 3;
    }))
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut c = server.connect().await;
        c.hello().await;
        open.push(c);
    }
    let mut extra = server.connect().await;
    let last = extra.expect_closed().await;
    assert!(
        matches!(
            last.as_slice(),
            [ServerMessage::Error {
                code: ErrorCode::ServerBusy,
                ..
            }]
        ),
        "got {last:?}"
    );
    for c in &mut open {
        c.send(ClientMessage::Ping).await;
        expect!(c.recv().await, ServerMessage::Pong => ());
    }

    // A place frees up when a connection ends; the server notices the close
    // on its own time, so try again a bounded number of times.
    drop(open.pop());
    for attempt in 0.. {
        let mut c = server.connect().await;
        c.send(ClientMessage::Hello {
            version: 1,
            client: None,
        })
        .await;
        match c.next_within(WAIT).await {
            Next::Line(ServerMessage::Welcome { .. }) => break,
            Next::Line(ServerMessage::Error {
                code: ErrorCode::ServerBusy,
                ..
            })
            | Next::Closed
                if attempt < 100 =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_thousand_idle_connections_from_one_address_do_not_disturb_a_conversation() {
    // Above the per-address cap, which has a test of its own.
    let server = start_server(
        ServerOptions::default()
            .memory()
            .config(|c| c.max_per_address = 2000),
    )
    .await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut idle = Vec::new();
    for i in 0..1000 {
        let mut c = server.connect().await;
        if i % 2 == 0 {
            c.send(ClientMessage::Hello {
                version: 1,
                client: None,
            })
            .await;
        }
        idle.push(c);
    }
    for i in 0..10 {
        let (id, _) = alice
            .send_stored("bob", &format!("over the noise {i}"))
            .await;
        assert_eq!(bob.recv_message().await.id, id);
    }
    // Every one of them was accepted and is being served.
    for c in idle.iter_mut().step_by(97) {
        c.send(ClientMessage::Ping).await;
        let reply = c.recv_until(1, |m| matches!(m, ServerMessage::Pong)).await;
        assert_eq!(reply, ServerMessage::Pong);
    }
}

#[tokio::test]
async fn a_client_that_half_closes_still_gets_the_answers_to_what_it_sent() {
    let server = start_server(ServerOptions::default().memory()).await;
    server.login("bob").await;
    let mut alice = server.login("alice").await;
    let (id, send) = send_to("bob", "sent just before hanging up");
    alice.send(send).await;
    alice.send(ClientMessage::Who { req: Some(9) }).await;
    alice.half_close().await;
    let last = alice.expect_closed().await;
    assert!(
        matches!(
            last.as_slice(),
            [ServerMessage::Stored { id: got, .. }, ServerMessage::Who { req: Some(9), .. }] if *got == id
        ),
        "got {last:?}"
    );
}

#[tokio::test]
async fn a_refused_line_names_the_request_it_answers_when_it_can() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let id = MessageId::new();
    alice
        .send_raw(format!("{{\"type\":\"send\",\"id\":\"{id}\",\"to\":\"bob\"}}\n").as_bytes())
        .await;
    let e = alice.recv_error(ErrorCode::BadRequest).await;
    expect!(e, ServerMessage::Error { id: Some(got), .. } if got == id => ());
    alice.send_raw(b"{\"type\":\"history\",\"req\":7}\n").await;
    let e = alice.recv_error(ErrorCode::BadRequest).await;
    expect!(e, ServerMessage::Error { req: Some(7), .. } => ());
    alice
        .send_raw(b"{\"type\":\"whois\",\"req\":8,\"user\":\"no such name!\"}\n")
        .await;
    let e = alice.recv_error(ErrorCode::InvalidName).await;
    expect!(e, ServerMessage::Error { req: Some(8), .. } => ());
}

#[tokio::test]
async fn one_address_cannot_hold_more_connections_than_its_share() {
    let server = start_server(
        ServerOptions::default()
            .memory()
            .config(|c| c.max_per_address = 20),
    )
    .await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut held = Vec::new();
    for _ in 0..18 {
        held.push(server.connect().await);
    }
    // The 21st connection from 127.0.0.1 is told why and closed.
    let mut refused = server.connect().await;
    match refused.recv().await {
        ServerMessage::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::ServerBusy);
            assert!(message.contains("your address"), "{message}");
        }
        other => panic!("expected server_busy, got {other:?}"),
    }
    // Those already in keep chatting.
    let (id, _) = alice.send_stored("bob", "still here").await;
    assert_eq!(bob.recv_message().await.id, id);
    // A place freed is a place taken.
    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut c = server.connect().await;
        c.send(ClientMessage::Ping).await;
        if matches!(c.recv().await, ServerMessage::Pong) {
            again = Some(c);
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(again.is_some(), "a freed place was never given out again");
}
