//! "A connection that never finishes its `hello` (closed after a timeout), one
//! that opens and sends nothing, thousands of connections from one address,
//! message floods (per-user rate limit with an error), a reader that never reads."

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use classchat_common::{ClientMessage, ErrorCode, MessageId, ServerMessage};
use classchat_server::outbound::Bounds;
use classchat_server::ratelimit::Rate;

use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::support::{
    self, Next, ServerOptions, TestClient, TestServer, WAIT, conv, send_to, start_server, user,
};

// The login timeout is tested on Tokio's paused clock: the server runs in the
// test's runtime, and a connection that never speaks leaves that runtime idle,
// so the clock jumps straight to the deadline.
#[tokio::test(start_paused = true)]
async fn a_connection_that_never_says_hello_is_closed_after_the_login_timeout() {
    let server = start_server(ServerOptions::default().memory()).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let mut c = TestClient::from_stream(stream);
    let start = Instant::now();
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
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let mut c = TestClient::from_stream(stream);
    let start = Instant::now();
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

/// Opens a connection from `source`, one of the many loopback addresses Linux
/// answers on (all of 127.0.0.0/8), so the server sees several clients.
async fn connect_from(source: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    tokio::time::timeout(WAIT, socket.connect(to))
        .await
        .expect("connect within 5 s")
        .expect("connect to the test server")
}

// Five hundred connections on each side, in this one process: about a
// thousand file descriptors, and other tests run beside this one.
const SILENT: usize = 500;

// The flood runs on a real clock, since what it checks is that hundreds of real
// connections are closed on time while others chat. The timeout is short, and
// the test still takes only a few seconds.
const SHORT_LOGIN_TIMEOUT: Duration = Duration::from_secs(2);

#[tokio::test]
async fn five_hundred_connections_that_never_say_hello_are_all_closed_on_time_while_others_chat() {
    support::need_open_files(2 * SILENT as u64 + 200);
    // Accounts made with the usual timeout: a password hash on a busy machine
    // may take longer than the short one. Afterwards they resume with tokens.
    let server = TestServer::start().await;
    let mut tokens = Vec::new();
    for name in ["alice", "bob", "carol"] {
        tokens.push(server.login(name).await.token().to_owned());
    }
    let dir = server.stop().await;
    let server = start_server(
        ServerOptions::default()
            .in_dir(dir)
            .config(|c| c.login_timeout = SHORT_LOGIN_TIMEOUT),
    )
    .await;
    let mut alice = TestClient::resume(server.addr, "alice", &tokens[0]).await;
    let mut bob = TestClient::resume(server.addr, "bob", &tokens[1]).await;

    // Half of them send nothing, half start a hello and never finish the line.
    // They come from two addresses, 250 each: under the per-address cap.
    let sources: [IpAddr; 2] = [[127, 0, 0, 2].into(), [127, 0, 0, 3].into()];
    let closed = Arc::new(AtomicUsize::new(0));
    let mut silent = JoinSet::new();
    for i in 0..SILENT {
        let stream = connect_from(sources[i % 2], server.addr).await;
        let opened = Instant::now();
        let mut c = TestClient::from_stream(stream);
        if i % 4 >= 2 {
            c.send_raw(br#"{"type":"hello","version":1"#).await;
        }
        let closed = closed.clone();
        silent.spawn(async move {
            let mut seen = Vec::new();
            let deadline = opened + SHORT_LOGIN_TIMEOUT + WAIT;
            for _ in 0..10 {
                match c.next_within(deadline - Instant::now()).await {
                    Next::Line(msg) => seen.push(msg),
                    Next::Closed => break,
                    Next::Silent => panic!(
                        "connection {i} still open after {:?}: {seen:?}",
                        opened.elapsed()
                    ),
                }
            }
            closed.fetch_add(1, Ordering::Relaxed);
            (i, opened.elapsed(), seen)
        });
    }

    // Meanwhile alice and bob chat, every 20 ms, until the last one is closed.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut slowest = Duration::ZERO;
    let mut exchanged = 0;
    let give_up = Instant::now() + SHORT_LOGIN_TIMEOUT + WAIT;
    while closed.load(Ordering::Relaxed) < SILENT {
        assert!(
            Instant::now() < give_up,
            "the silent connections were not closed in time"
        );
        tick.tick().await;
        let (from, to) = if exchanged % 2 == 0 {
            (&mut alice, &mut bob)
        } else {
            (&mut bob, &mut alice)
        };
        let sent = Instant::now();
        let to_name = to.name.clone().unwrap().to_string();
        let (id, _) = from
            .send_stored(&to_name, &format!("through the noise {exchanged}"))
            .await;
        assert_eq!(to.recv_message().await.id, id);
        slowest = slowest.max(sent.elapsed());
        exchanged += 1;
    }
    eprintln!("{exchanged} messages while {SILENT} connections timed out; slowest {slowest:?}");
    assert!(exchanged >= 10, "only {exchanged} messages in the meantime");
    assert!(
        slowest < Duration::from_secs(1),
        "a message took {slowest:?}"
    );

    // Each was told why, then closed, on time.
    while let Some(done) = silent.join_next().await {
        let (i, after, seen) = done.unwrap();
        assert!(
            matches!(
                seen.as_slice(),
                [ServerMessage::Error {
                    code: ErrorCode::LoginTimeout,
                    ..
                }]
            ),
            "connection {i}: {seen:?}"
        );
        assert!(
            after + Duration::from_millis(100) >= SHORT_LOGIN_TIMEOUT
                && after < SHORT_LOGIN_TIMEOUT + Duration::from_secs(2),
            "connection {i} closed after {after:?}"
        );
    }

    // Their places are free again: 127.0.0.2 held 250 of its 256, and takes
    // ten more now. And logging in works as before.
    let mut again = Vec::new();
    for _ in 0..10 {
        let mut c = TestClient::from_stream(connect_from(sources[0], server.addr).await);
        c.send(ClientMessage::Ping).await;
        expect!(c.recv().await, ServerMessage::Pong => ());
        again.push(c);
    }
    let mut carol = TestClient::resume(server.addr, "carol", &tokens[2]).await;
    let (id, _) = carol.send_stored("alice", "made it in").await;
    assert_eq!(alice.recv_message().await.id, id);
}

// This test uses a short real interval, long enough that a busy machine still
// answers each ping in time, not Tokio's paused clock: when the runtime parks,
// the paused clock jumps to the next timer even if the park finds a socket
// ready. A `who` written just after a `pong`, once the server had read the
// pong alone, was then answered after the next ping instead of before it.
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
        c.rates.messages = Rate::per_second(1_000_000, 1_000_000);
    }))
    .await;
    let mut bob = TestClient::connect_with_small_buffer(server.addr).await;
    bob.hello().await;
    bob.send(ClientMessage::Login {
        user: user("bob"),
        password: Some(classchat_common::protocol::Secret(support::PASSWORD.into())),
        token: None,
        create: true,
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
                    reply_to: None,
                    edit: None,
                    delete: None,
                    react: None,
                    unreact: None,
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
async fn a_group_member_who_never_reads_is_dropped_without_holding_up_the_others() {
    let server = start_server(ServerOptions::default().config(|c| {
        // Room for a whole round (20 lines of 8 kB), so carol, who reads,
        // never overflows while bob, who does not, does.
        c.queue = Bounds {
            lines: 256,
            bytes: 256 * 1024,
        };
        c.rates.messages = Rate::per_second(1_000_000, 1_000_000);
    }))
    .await;
    let mut bob = TestClient::connect_with_small_buffer(server.addr).await;
    bob.hello().await;
    bob.send(ClientMessage::Login {
        user: user("bob"),
        password: Some(classchat_common::protocol::Secret(support::PASSWORD.into())),
        token: None,
        create: true,
    })
    .await;
    bob.finish_login().await;
    let token = bob.token().to_owned();
    let mut alice = server.login("alice").await;
    let mut carol = server.login("carol").await;
    let g: classchat_common::GroupName = "lab".parse().unwrap();
    alice
        .send(ClientMessage::Create {
            req: Some(1),
            group: g.clone(),
            members: Vec::new(),
            access: None,
            posting: None,
        })
        .await;
    alice
        .recv_until(1, |m| matches!(m, ServerMessage::Group { .. }))
        .await;
    for (req, who) in [(2, "bob"), (3, "carol")] {
        alice
            .send(ClientMessage::Add {
                req: Some(req),
                group: g.clone(),
                user: user(who),
            })
            .await;
        alice
            .recv_until(
                3,
                |m| matches!(m, ServerMessage::Group { req: Some(r), .. } if *r == req),
            )
            .await;
    }
    carol.recv_message().await;

    // From here on bob reads nothing, while alice writes to the group in
    // rounds and carol reads: each round reaches her at once, all the way
    // through bob falling behind and being dropped.
    let big = "z".repeat(8000);
    let mut sent = Vec::new();
    let mut dropped = false;
    let mut slowest = Duration::ZERO;
    for _ in 0..100 {
        let started = Instant::now();
        let ids: Vec<MessageId> = (0..20).map(|_| MessageId::new()).collect();
        for id in &ids {
            alice
                .send(ClientMessage::Send {
                    id: *id,
                    to: conv("#lab"),
                    body: big.clone(),
                    reply_to: None,
                    edit: None,
                    delete: None,
                    react: None,
                    unreact: None,
                })
                .await;
        }
        for id in &ids {
            let reply = alice
                .recv_until(2, |m| {
                    !matches!(
                        m,
                        ServerMessage::Presence { .. } | ServerMessage::Receipt { .. }
                    )
                })
                .await;
            expect!(reply, ServerMessage::Stored { id: got, .. } if got == *id => ());
            assert_eq!(carol.recv_message().await.id, *id);
        }
        slowest = slowest.max(started.elapsed());
        sent.extend(ids);
        let req = alice.req();
        alice
            .send(ClientMessage::Whois {
                req: Some(req),
                user: user("bob"),
            })
            .await;
        let reply = alice
            .recv_until(2, |m| matches!(m, ServerMessage::User { .. }))
            .await;
        if !expect!(reply, ServerMessage::User { online, .. } => online) {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "a member who reads nothing was never dropped");
    assert!(
        slowest < Duration::from_secs(2),
        "a round of 20 messages took {slowest:?} to reach carol"
    );

    // Nothing was lost for bob either: it all comes on his next login, in order.
    drop(bob);
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    let got: Vec<MessageId> = bob
        .caught_up
        .iter()
        .filter(|m| m.event.is_none())
        .map(|m| m.id)
        .collect();
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
    support::need_open_files(2200);
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
#[tokio::test]
async fn a_flood_is_refused_with_rate_limited_and_a_retry_time_and_others_are_unaffected() {
    // One message a second after a burst of five: however slowly this machine
    // runs, the sixth of six pipelined messages comes too soon.
    let server = start_server(ServerOptions::default().memory().config(|c| {
        c.rates.messages = Rate::per_second(1, 5);
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
