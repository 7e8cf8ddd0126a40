//! "Over-long lines, lines split at every byte boundary, invalid UTF-8, malformed
//! or deeply nested JSON, unknown message types, huge numbers, missing fields."

use classchat_common::limits::MAX_FRAME_BYTES;
use classchat_common::{ClientMessage, ErrorCode, MessageId, ServerMessage};

use crate::support::{
    self, ServerOptions, TestClient, TestServer, WAIT, conv, send_to, start_server, user,
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
    // Characters of two, three and four bytes are cut inside too.
    let body = "one byte at a time: déjà vu, 漢字, 👍";
    let (id, send) = send_to("bob", body);
    let login = ClientMessage::Login {
        user: user("alice"),
        password: Some(classchat_common::protocol::Secret(support::PASSWORD.into())),
        token: None,
        create: true,
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
    assert_eq!(bob.recv_message().await.body, body);

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
async fn bad_lines_between_good_ones_in_one_write_lose_none_of_the_good_ones() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let good: Vec<(MessageId, ClientMessage)> = (1..=4)
        .map(|i| send_to("bob", &format!("good {i}")))
        .collect();
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bad: [(&[u8], ErrorCode); 5] = [
        (b"\xc3\x28 not utf-8", ErrorCode::InvalidUtf8),
        (b"{\"type\":\"send\",", ErrorCode::BadJson),
        (b"{\"type\":\"shout\"}", ErrorCode::UnknownType),
        (b"{\"type\":\"send\",\"to\":\"bob\"}", ErrorCode::BadRequest),
        (nested.as_bytes(), ErrorCode::BadJson),
    ];
    let mut write = Vec::new();
    for (i, (_, send)) in good.iter().enumerate() {
        write.extend_from_slice(&send.to_line());
        if let Some((line, _)) = bad.get(i) {
            write.extend_from_slice(line);
            write.push(b'\n');
        }
    }
    write.extend_from_slice(bad[4].0);
    write.push(b'\n');
    alice.send_raw(&write).await;

    // Errors are answered at once and `stored` after the commit, so the two
    // kinds interleave as they will; within each kind the order is kept.
    let (mut stored, mut errors) = (Vec::new(), Vec::new());
    for _ in 0..good.len() + bad.len() {
        match alice.recv().await {
            ServerMessage::Stored { id, seq, .. } => stored.push((id, seq)),
            ServerMessage::Error { code, .. } => errors.push(code),
            other => panic!("unexpected {other:?}"),
        }
    }
    let expected: Vec<(MessageId, u64)> = good
        .iter()
        .zip(1..)
        .map(|((id, _), seq)| (*id, seq))
        .collect();
    assert_eq!(stored, expected);
    assert_eq!(errors, bad.map(|(_, code)| code));
    for (id, _) in &good {
        assert_eq!(bob.recv_message().await.id, *id);
    }
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
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
        create: true,
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
