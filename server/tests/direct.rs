//! Direct messages between two users: stored, delivered, read, refused, paged
//! through, retried; and who is online.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use classchat_common::limits::MAX_BODY_BYTES;
use classchat_common::protocol::{Counts, MemberState};
use classchat_common::{ClientMessage, ErrorCode, MessageId, ServerMessage, Timestamp};
use support::{ServerOptions, TestClient, TestServer, conv, send_to, start_server, user};

/// Whether `ts` is a server timestamp from the last minute.
fn recent(ts: Timestamp) -> bool {
    let age = Timestamp::now().as_millis() - ts.as_millis();
    (0..60_000).contains(&age)
}

async fn a_direct_message_is_stored_delivered_and_read(server: TestServer) {
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;

    let (id, send) = send_to("bob", "hello bob");
    alice.send(send).await;
    let (seq, ts) = expect!(alice.recv().await, ServerMessage::Stored {
        id: got, conv: c, seq, ts, of: 1, online: 1, last_seen: None, duplicate: false
    } if got == id && c == conv("bob") => (seq, ts));
    assert_eq!(seq, 1, "the first message of a conversation is seq 1");
    assert!(recent(ts));

    let m = expect!(bob.recv().await, ServerMessage::Message(m) => m);
    assert_eq!(
        (m.conv, m.seq, m.id, m.from, m.ts, m.body.as_str()),
        (conv("alice"), 1, id, user("alice"), ts, "hello bob")
    );
    assert_eq!(m.counts, None);

    bob.send(ClientMessage::Ack {
        conv: conv("alice"),
        seq: 1,
    })
    .await;
    let delivered = alice.recv().await;
    assert_eq!(
        delivered,
        ServerMessage::Receipt {
            conv: conv("bob"),
            user: user("bob"),
            joined: 0,
            delivered: 1,
            read: 0
        }
    );

    bob.send(ClientMessage::Read {
        req: Some(5),
        conv: conv("alice"),
        seq: None,
    })
    .await;
    assert_eq!(
        bob.recv().await,
        ServerMessage::ReadMarked {
            req: Some(5),
            conv: conv("alice"),
            seq: 1
        }
    );
    let read = alice.recv().await;
    assert_eq!(
        read,
        ServerMessage::Receipt {
            conv: conv("bob"),
            user: user("bob"),
            joined: 0,
            delivered: 1,
            read: 1
        }
    );

    // And back the other way, in the same conversation.
    let (reply_id, stored) = bob.send_stored("alice", "hi alice").await;
    expect!(stored, ServerMessage::Stored { seq: 2, online: 1, .. } => ());
    let m = alice.recv_message().await;
    assert_eq!(
        (m.conv, m.seq, m.id, m.from),
        (conv("bob"), 2, reply_id, user("bob"))
    );
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_direct_message_is_stored_delivered_and_read_on_ipv4() {
    a_direct_message_is_stored_delivered_and_read(TestServer::start().await).await;
}

#[tokio::test]
async fn a_direct_message_is_stored_delivered_and_read_on_ipv6() {
    a_direct_message_is_stored_delivered_and_read(
        start_server(ServerOptions::default().ipv6()).await,
    )
    .await;
}

#[tokio::test]
async fn a_message_to_an_offline_user_says_so_with_their_last_seen_time() {
    let server = TestServer::start().await;
    let bob = server.login("bob").await;
    let bob_token = bob.token().to_owned();
    bob.bye().await;

    let mut alice = server.login("alice").await;
    let (id, send) = send_to("bob", "are you there?");
    alice.send(send).await;
    let last_seen = expect!(alice.recv().await, ServerMessage::Stored {
        id: got, of: 1, online: 0, last_seen: Some(t), ..
    } if got == id => t);
    assert!(recent(last_seen));

    let bob = TestClient::resume(server.addr, "bob", &bob_token).await;
    assert_eq!(bob.synced, 1);
    assert_eq!(bob.caught_up.len(), 1);
    assert_eq!(
        (bob.caught_up[0].id, bob.caught_up[0].body.as_str()),
        (id, "are you there?")
    );
}

#[tokio::test]
async fn a_message_to_a_name_without_an_account_is_refused_with_unknown_user_and_its_id() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let (id, send) = send_to("nobody", "hello?");
    alice.send(send).await;
    let refused = alice.recv_error(ErrorCode::UnknownUser).await;
    expect!(refused, ServerMessage::Error { id: Some(got), .. } if got == id => ());

    let (id, send) = send_to("#nogroup", "hello?");
    alice.send(send).await;
    let refused = alice.recv_error(ErrorCode::UnknownGroup).await;
    expect!(refused, ServerMessage::Error { id: Some(got), .. } if got == id => ());
}

#[tokio::test]
async fn empty_and_too_long_bodies_are_refused_with_bad_body() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let too_long_ascii = "x".repeat(MAX_BODY_BYTES + 1);
    // The limit is in bytes: 4097 two-byte characters are over it.
    let too_long_utf8 = "é".repeat(MAX_BODY_BYTES / 2 + 1);
    for body in ["", "   \n\t", &too_long_ascii, &too_long_utf8] {
        let (id, send) = send_to("bob", body);
        alice.send(send).await;
        let refused = alice.recv_error(ErrorCode::BadBody).await;
        expect!(refused, ServerMessage::Error { id: Some(got), .. } if got == id => ());
    }
    let longest = "é".repeat(MAX_BODY_BYTES / 2);
    let (id, _) = alice.send_stored("bob", &longest).await;
    let m = bob.recv_message().await;
    assert_eq!((m.id, m.seq, m.body.len()), (id, 1, MAX_BODY_BYTES));
}

#[tokio::test]
async fn a_message_to_yourself_is_refused() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("Alice").await;
    for to in ["Alice", "alice"] {
        let (id, send) = send_to(to, "note to self");
        alice.send(send).await;
        let refused = alice.recv_error(ErrorCode::BadRequest).await;
        expect!(refused, ServerMessage::Error { id: Some(got), .. } if got == id => ());
    }
}

#[tokio::test]
async fn the_sender_and_timestamp_are_the_servers_never_the_clients() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    server.login("mallory").await;
    let id = MessageId::new();
    let line = format!(
        r#"{{"type":"send","id":"{id}","to":"bob","body":"trust me","from":"mallory","ts":"2001-01-01T00:00:00.000Z","seq":99}}"#
    );
    alice.send_raw(format!("{line}\n").as_bytes()).await;
    expect!(alice.recv().await, ServerMessage::Stored { id: got, seq: 1, .. } if got == id => ());
    let m = bob.recv_message().await;
    assert_eq!((m.from, m.seq, m.conv), (user("alice"), 1, conv("alice")));
    assert!(recent(m.ts), "the server stamps the time: {}", m.ts);
}

#[tokio::test]
async fn history_pages_back_and_forward_and_counts_show_on_your_own_messages() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    for i in 1..=10 {
        alice.send_stored("bob", &format!("message {i}")).await;
        assert_eq!(bob.recv_message().await.seq, i);
    }
    bob.send(ClientMessage::Ack {
        conv: conv("alice"),
        seq: 6,
    })
    .await;
    expect!(alice.recv().await, ServerMessage::Receipt { delivered: 6, read: 0, .. } => ());
    bob.send(ClientMessage::Read {
        req: None,
        conv: conv("alice"),
        seq: Some(3),
    })
    .await;
    expect!(bob.recv().await, ServerMessage::ReadMarked { seq: 3, .. } => ());
    expect!(alice.recv().await, ServerMessage::Receipt { delivered: 6, read: 3, .. } => ());
    bob.send_stored("alice", "bob's turn").await;
    assert_eq!(alice.recv_message().await.seq, 11);

    let page =
        async |c: &mut TestClient, before: Option<u64>, after: Option<u64>, limit: Option<u32>| {
            let req = c.req();
            let other = if c.name == Some(user("alice")) {
                "bob"
            } else {
                "alice"
            };
            c.send(ClientMessage::History {
                req: Some(req),
                conv: conv(other),
                before,
                after,
                limit,
            })
            .await;
            let (messages, more) = expect!(c.recv().await, ServerMessage::History {
            req: Some(r), messages, more, ..
        } if r == req => (messages, more));
            let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
            (messages, seqs, more)
        };

    let (newest, seqs, more) = page(&mut alice, None, None, Some(4)).await;
    assert_eq!((seqs, more), (vec![8, 9, 10, 11], true));
    assert!(newest.iter().all(|m| m.conv == conv("bob")));
    let (_, seqs, more) = page(&mut alice, Some(8), None, Some(4)).await;
    assert_eq!((seqs, more), (vec![4, 5, 6, 7], true));
    let (oldest, seqs, more) = page(&mut alice, Some(4), None, Some(4)).await;
    assert_eq!((seqs, more), (vec![1, 2, 3], false));
    assert_eq!(oldest[0].body, "message 1");
    let (_, seqs, more) = page(&mut alice, None, Some(2), Some(3)).await;
    assert_eq!((seqs, more), (vec![3, 4, 5], true));
    let (_, seqs, more) = page(&mut alice, None, Some(8), Some(5)).await;
    assert_eq!((seqs, more), (vec![9, 10, 11], false));
    let (_, seqs, more) = page(&mut alice, None, Some(11), None).await;
    assert_eq!((seqs, more), (vec![], false));

    // Counts: on alice's own messages only, as far as bob has got.
    let (all, seqs, more) = page(&mut alice, None, None, None).await;
    assert_eq!((seqs, more), ((1..=11).collect::<Vec<_>>(), false));
    for m in &all {
        let expected = match m.seq {
            1..=3 => Some(Counts {
                delivered: 1,
                read: 1,
                of: 1,
            }),
            4..=6 => Some(Counts {
                delivered: 1,
                read: 0,
                of: 1,
            }),
            7..=10 => Some(Counts {
                delivered: 0,
                read: 0,
                of: 1,
            }),
            _ => None,
        };
        assert_eq!(m.counts, expected, "seq {}", m.seq);
    }
    // Bob sees the same conversation under alice's name, with counts on his message.
    let (all, _, _) = page(&mut bob, None, None, None).await;
    assert!(all.iter().all(|m| m.conv == conv("alice")));
    assert_eq!(
        all.iter()
            .filter(|m| m.counts.is_some())
            .map(|m| m.seq)
            .collect::<Vec<_>>(),
        vec![11]
    );
}

#[tokio::test]
async fn history_refuses_unknown_conversations_and_contradictory_pages() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    server.login("carol").await;

    alice
        .send(ClientMessage::History {
            req: Some(1),
            conv: conv("nobody"),
            before: None,
            after: None,
            limit: None,
        })
        .await;
    let e = alice.recv_error(ErrorCode::UnknownUser).await;
    expect!(e, ServerMessage::Error { req: Some(1), .. } => ());
    alice
        .send(ClientMessage::History {
            req: Some(2),
            conv: conv("#nogroup"),
            before: None,
            after: None,
            limit: None,
        })
        .await;
    alice.recv_error(ErrorCode::UnknownGroup).await;
    alice
        .send(ClientMessage::History {
            req: Some(3),
            conv: conv("carol"),
            before: Some(5),
            after: Some(1),
            limit: None,
        })
        .await;
    let e = alice.recv_error(ErrorCode::BadRequest).await;
    expect!(e, ServerMessage::Error { req: Some(3), .. } => ());
    // A conversation that exists only in name is empty, not an error.
    alice
        .send(ClientMessage::History {
            req: Some(4),
            conv: conv("carol"),
            before: None,
            after: None,
            limit: None,
        })
        .await;
    let reply = alice.recv().await;
    assert_eq!(
        reply,
        ServerMessage::History {
            req: Some(4),
            conv: conv("carol"),
            messages: vec![],
            more: false
        }
    );
}

async fn a_retry_with_the_same_id_is_stored_once(server: TestServer) {
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    server.login("carol").await;
    alice.send_stored("bob", "first").await;
    assert_eq!(bob.recv_message().await.seq, 1);

    let (id, send) = send_to("bob", "second");
    alice.send(send.clone()).await;
    let seq = expect!(alice.recv().await, ServerMessage::Stored { id: got, seq, duplicate: false, .. } if got == id => seq);
    assert_eq!(seq, 2);
    assert_eq!(bob.recv_message().await.id, id);

    // The retry, and a "retry" whose body and recipient changed: both are the original.
    alice.send(send).await;
    expect!(alice.recv().await, ServerMessage::Stored { id: got, seq: 2, duplicate: true, .. } if got == id => ());
    alice
        .send(ClientMessage::Send {
            id,
            to: conv("carol"),
            body: "changed".into(),
            reply_to: None,
            edit: None,
            delete: None,
            react: None,
            unreact: None,
        })
        .await;
    expect!(alice.recv().await, ServerMessage::Stored { id: got, seq: 2, duplicate: true, conv: c, .. } if got == id && c == conv("bob") => ());

    alice.send_stored("bob", "third").await;
    assert_eq!(
        bob.recv_message().await.seq,
        3,
        "bob got the retried message only once"
    );
    bob.expect_nothing_pending().await;

    alice
        .send(ClientMessage::History {
            req: Some(1),
            conv: conv("bob"),
            before: None,
            after: None,
            limit: None,
        })
        .await;
    let messages = expect!(alice.recv().await, ServerMessage::History { messages, .. } => messages);
    let bodies: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["first", "second", "third"]);
    assert_eq!(messages.iter().filter(|m| m.id == id).count(), 1);
}

#[tokio::test]
async fn a_resent_id_is_checked_against_its_destination_before_it_counts_as_a_duplicate() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    server.login("bob").await;
    server.login("carol").await;
    let (id, _) = alice.send_stored("bob", "first").await;
    let resend = |to: &str| ClientMessage::Send {
        id,
        to: conv(to),
        body: "first".into(),
        reply_to: None,
        edit: None,
        delete: None,
        react: None,
        unreact: None,
    };
    // PROTOCOL.md §2.3 and §6.5: where a message may not go, a resend may not
    // go either, whatever was stored under its id before.
    for (to, code) in [
        ("nobody", ErrorCode::UnknownUser),
        ("alice", ErrorCode::BadRequest),
        ("#nosuch", ErrorCode::UnknownGroup),
    ] {
        alice.send(resend(to)).await;
        let refused = alice.recv_error(code).await;
        expect!(refused, ServerMessage::Error { id: Some(got), .. } if got == id => ());
    }
    alice
        .send(ClientMessage::Create {
            req: Some(1),
            group: "lab".parse().unwrap(),
            members: Vec::new(),
            access: None,
            posting: None,
        })
        .await;
    alice
        .recv_until(5, |m| matches!(m, ServerMessage::Group { .. }))
        .await;
    let (in_lab, _) = alice.send_stored("#lab", "in the lab").await;
    alice
        .send(ClientMessage::Leave {
            req: Some(2),
            group: "lab".parse().unwrap(),
        })
        .await;
    alice
        .recv_until(5, |m| matches!(m, ServerMessage::Group { .. }))
        .await;
    alice
        .send(ClientMessage::Send {
            id: in_lab,
            to: conv("#lab"),
            body: "in the lab".into(),
            reply_to: None,
            edit: None,
            delete: None,
            react: None,
            unreact: None,
        })
        .await;
    expect!(alice.recv_error(ErrorCode::NotMember).await, ServerMessage::Error { id: Some(got), .. } if got == in_lab => ());

    // To someone it may go to, the resend is the original, and opens no
    // empty conversation with carol.
    alice.send(resend("carol")).await;
    expect!(alice.recv().await, ServerMessage::Stored { id: got, duplicate: true, conv: c, .. } if got == id && c == conv("bob") => ());
    alice
        .send(ClientMessage::Conversations { req: Some(3) })
        .await;
    let listed = expect!(alice.recv().await, ServerMessage::Conversations { conversations, .. } => conversations);
    let names: Vec<String> = listed.iter().map(|c| c.conv.to_string()).collect();
    assert_eq!(names, ["bob"]);
}

#[tokio::test]
async fn a_retry_with_the_same_id_is_stored_once_with_sqlite() {
    a_retry_with_the_same_id_is_stored_once(TestServer::start().await).await;
}

#[tokio::test]
async fn a_retry_with_the_same_id_is_stored_once_in_memory() {
    a_retry_with_the_same_id_is_stored_once(start_server(ServerOptions::default().memory()).await)
        .await;
}

#[tokio::test]
async fn who_lists_the_online_and_whois_tells_online_or_last_seen() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let bob = server.login("Bob").await;

    alice.send(ClientMessage::Who { req: Some(1) }).await;
    let reply = alice.recv().await;
    assert_eq!(
        reply,
        ServerMessage::Who {
            req: Some(1),
            online: vec![user("alice"), user("Bob")],
            total: 2
        }
    );

    alice
        .send(ClientMessage::Whois {
            req: Some(2),
            user: user("bob"),
        })
        .await;
    let since = expect!(alice.recv().await, ServerMessage::User {
        req: Some(2), user: u, online: true, last_seen: None, since
    } if u.as_str() == "Bob" => since);
    assert!(recent(since));

    bob.bye().await;
    alice
        .send(ClientMessage::Whois {
            req: Some(3),
            user: user("bob"),
        })
        .await;
    let last_seen = expect!(alice.recv().await, ServerMessage::User {
        req: Some(3), online: false, last_seen: Some(t), since: s, ..
    } if s == since => t);
    assert!(last_seen >= since && recent(last_seen));
    alice.send(ClientMessage::Who { req: Some(4) }).await;
    let reply = alice.recv().await;
    assert_eq!(
        reply,
        ServerMessage::Who {
            req: Some(4),
            online: vec![user("alice")],
            total: 1
        }
    );

    alice
        .send(ClientMessage::Whois {
            req: Some(5),
            user: user("nobody"),
        })
        .await;
    let e = alice.recv_error(ErrorCode::UnknownUser).await;
    expect!(e, ServerMessage::Error { req: Some(5), .. } => ());
}

#[tokio::test]
async fn read_by_answers_for_your_own_messages_only() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let (id, _) = alice.send_stored("bob", "did you get this?").await;
    bob.recv_message().await;

    alice.send(ClientMessage::ReadBy { req: Some(1), id }).await;
    let reply = alice.recv().await;
    assert_eq!(
        reply,
        ServerMessage::ReadBy {
            req: Some(1),
            id,
            conv: conv("bob"),
            seq: 1,
            counts: Counts {
                delivered: 0,
                read: 0,
                of: 1
            },
            members: vec![MemberState {
                user: user("bob"),
                delivered: false,
                read: false
            }],
        }
    );

    bob.send(ClientMessage::Ack {
        conv: conv("alice"),
        seq: 1,
    })
    .await;
    expect!(alice.recv().await, ServerMessage::Receipt { delivered: 1, .. } => ());
    alice.send(ClientMessage::ReadBy { req: Some(2), id }).await;
    let (counts, members) = expect!(alice.recv().await, ServerMessage::ReadBy { counts, members, .. } => (counts, members));
    assert_eq!(
        counts,
        Counts {
            delivered: 1,
            read: 0,
            of: 1
        }
    );
    assert_eq!(
        members,
        vec![MemberState {
            user: user("bob"),
            delivered: true,
            read: false
        }]
    );

    // Nobody's id, and someone else's id, are both unknown to alice.
    let (bobs_id, _) = bob.send_stored("alice", "yes").await;
    alice.recv_message().await;
    for (req, unknown) in [(3, MessageId::new()), (4, bobs_id)] {
        alice
            .send(ClientMessage::ReadBy {
                req: Some(req),
                id: unknown,
            })
            .await;
        let e = alice.recv_error(ErrorCode::UnknownMessage).await;
        expect!(e, ServerMessage::Error { req: Some(r), .. } if r == req => ());
    }
}

#[tokio::test]
async fn presence_goes_to_those_who_share_a_conversation_and_no_one_else() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let bob_token = bob.token().to_owned();
    alice.send_stored("bob", "hi").await;
    bob.recv_message().await;

    bob.bye().await;
    let last_seen = expect!(alice.recv().await, ServerMessage::Presence {
        user: u, online: false, last_seen: Some(t)
    } if u == user("bob") => t);
    assert!(recent(last_seen));

    let _bob = TestClient::resume(server.addr, "bob", &bob_token).await;
    let back = alice.recv().await;
    assert_eq!(
        back,
        ServerMessage::Presence {
            user: user("bob"),
            online: true,
            last_seen: None
        }
    );

    // Carol shares nothing with alice: her coming and going is not alice's business.
    let carol = server.login("carol").await;
    carol.bye().await;
    alice.expect_nothing_pending().await;
}

/// The next `online` count `c` is told.
async fn online_count(c: &mut TestClient) -> usize {
    c.online_counts = true;
    let total = expect!(c.recv_until(20, |m| matches!(m, ServerMessage::Online { .. })).await,
        ServerMessage::Online { total } => total);
    c.online_counts = false;
    total
}

#[tokio::test]
async fn everyone_is_told_how_many_are_online_also_when_strangers_come_and_go() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    assert_eq!(online_count(&mut alice).await, 1);

    // Carol shares nothing with alice: no presence, but the count moves, as
    // `who` would say.
    let carol = server.login("carol").await;
    assert_eq!(online_count(&mut alice).await, 2);
    alice.send(ClientMessage::Who { req: Some(1) }).await;
    expect!(alice.recv().await, ServerMessage::Who { total: 2, .. } => ());
    carol.bye().await;
    assert_eq!(online_count(&mut alice).await, 1);
    alice.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_users_other_connections_see_what_one_sent_with_its_counts_and_stay_online_until_the_last_leaves()
 {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut laptop = server.login("alice").await;
    let mut phone = TestClient::resume(server.addr, "alice", laptop.token()).await;
    let mut bob = server.login("bob").await;

    let (id, _) = laptop.send_stored("bob", "from my laptop").await;
    let echo = phone.recv_message().await;
    assert_eq!(
        (echo.id, echo.conv, echo.from),
        (id, conv("bob"), user("alice"))
    );
    // As in `history`: how far it has got, so the phone can follow its receipts.
    assert_eq!(
        echo.counts,
        Some(Counts {
            delivered: 0,
            read: 0,
            of: 1
        })
    );
    let to_bob = bob.recv_message().await;
    assert_eq!(to_bob.counts, None, "counts are only on your own messages");

    bob.send(ClientMessage::Ack {
        conv: conv("alice"),
        seq: 1,
    })
    .await;
    expect!(laptop.recv().await, ServerMessage::Receipt { delivered: 1, .. } => ());
    expect!(phone.recv().await, ServerMessage::Receipt { delivered: 1, .. } => ());

    laptop.bye().await;
    bob.expect_nothing_pending().await;
    phone.bye().await;
    expect!(bob.recv().await, ServerMessage::Presence { online: false, .. } => ());
}

#[tokio::test]
async fn a_history_page_too_big_for_one_line_is_cut_short_and_says_there_is_more() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    server.login("bob").await;
    let big = "b".repeat(8000);
    for _ in 0..40 {
        alice.send_stored("bob", &big).await;
    }
    // Forty 8 kB messages do not fit in one 256 KiB line: the test client's
    // codec has the same limit, so an over-long reply would fail to decode here.
    let mut seqs = Vec::new();
    let mut before = None;
    for _ in 0..10 {
        alice
            .send(ClientMessage::History {
                req: None,
                conv: conv("bob"),
                before,
                after: None,
                limit: Some(40),
            })
            .await;
        let (messages, more) = expect!(alice.recv().await, ServerMessage::History { messages, more, .. } => (messages, more));
        assert!(!messages.is_empty());
        let page: Vec<u64> = messages.iter().map(|m| m.seq).collect();
        if seqs.is_empty() {
            assert!(
                more && page.len() < 40,
                "the first page is cut short: {page:?}"
            );
            assert_eq!(page.last(), Some(&40), "the newest messages are kept");
        }
        before = page.first().copied();
        seqs.splice(0..0, page);
        if !more {
            break;
        }
    }
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());

    // Forward pages are cut at their newest end.
    alice
        .send(ClientMessage::History {
            req: None,
            conv: conv("bob"),
            before: None,
            after: Some(0),
            limit: Some(40),
        })
        .await;
    let (messages, more) = expect!(alice.recv().await, ServerMessage::History { messages, more, .. } => (messages, more));
    assert!(more && messages.len() < 40 && messages[0].seq == 1);
}

#[tokio::test]
async fn replies_spell_names_as_the_account_was_created_whatever_the_request_said() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("Alice").await;
    let mut bob = server.login("Bob").await;
    let (_, stored) = alice.send_stored("BOB", "hi").await;
    let c = expect!(stored, ServerMessage::Stored { conv, .. } => conv);
    assert_eq!(c.to_string(), "Bob");
    let m = bob.recv_message().await;
    assert_eq!(
        (m.conv.to_string(), m.from.to_string()),
        ("Alice".to_owned(), "Alice".to_owned())
    );
    alice
        .send(ClientMessage::Whois {
            req: Some(1),
            user: user("bOb"),
        })
        .await;
    let name = expect!(alice.recv().await, ServerMessage::User { user, .. } => user);
    assert_eq!(name.to_string(), "Bob");
}
