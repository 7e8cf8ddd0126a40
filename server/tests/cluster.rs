//! Several nodes: real `classchat-server` binaries on one throwaway
//! PostgreSQL and one throwaway NATS server, clients on either node.
//!
//! Each test has a database and a cluster name (the prefix of its NATS
//! subjects) of its own, so the tests run in parallel on the binary's one
//! PostgreSQL and one NATS server without hearing each other.

#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;
#[allow(dead_code, reason = "a few of the file tests' fixtures serve here")]
#[path = "files/fixtures.rs"]
mod fixtures;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use classchat_common::limits::{FILE_CHUNK_BYTES, FILE_WINDOW};
use classchat_common::protocol::{ChatMessage, Quote};
use classchat_common::protocol::{FileState, GroupEvent};
use classchat_common::{ClientMessage, ErrorCode, MessageId, ServerMessage, Timestamp};
use futures::{SinkExt, StreamExt};
use support::binary;
use support::cluster::{Cluster, Node, next_message_slowly, try_login, wait_until_online};
use support::{PASSWORD, TestClient, conv, nats, postgres, user};
use tempfile::TempDir;
use tokio::sync::{oneshot, watch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_crosses_nodes_with_its_receipts_and_presence() {
    let cluster = Cluster::new("c_direct");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    wait_until_online(&mut alice, "bob").await;
    wait_until_online(&mut bob, "alice").await;

    // Bob's account was made on n2: n1 finds it in PostgreSQL.
    let (id, stored) = alice.send_stored("bob", "hello from n1").await;
    let (seq, of, online) =
        expect!(stored, ServerMessage::Stored { seq, of, online, .. } => (seq, of, online));
    assert_eq!((seq, of, online), (1, 1, 1), "bob counts as online on n2");
    let m = bob.recv_message().await;
    assert_eq!(
        (m.conv, m.seq, m.id, m.from, m.body.as_str()),
        (conv("alice"), 1, id, user("alice"), "hello from n1")
    );

    bob.send(ClientMessage::Ack {
        conv: conv("alice"),
        seq: 1,
    })
    .await;
    let receipt = alice
        .recv_until(20, |m| matches!(m, ServerMessage::Receipt { .. }))
        .await;
    assert_eq!(
        receipt,
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
    let receipt = alice
        .recv_until(20, |m| matches!(m, ServerMessage::Receipt { .. }))
        .await;
    expect!(receipt, ServerMessage::Receipt { delivered: 1, read: 1, .. } => ());

    // And back, in the same conversation, numbered on from n1's message.
    let (_, stored) = bob.send_stored("alice", "hello from n2").await;
    expect!(stored, ServerMessage::Stored { seq: 2, .. } => ());
    let m = alice.recv_message().await;
    assert_eq!(
        (m.seq, m.from, m.body.as_str()),
        (2, user("bob"), "hello from n2")
    );

    // Bob leaves n2: alice, on n1, sees him go.
    bob.bye().await;
    let gone = alice
        .recv_until(20, |m| matches!(m, ServerMessage::Presence { .. }))
        .await;
    expect!(gone, ServerMessage::Presence { online: false, last_seen: Some(_), .. } => ());
    drop(n1);
    drop(n2);
}

/// A node where nobody in a conversation is connected moves it on from each
/// message's head alone, never reading its body; someone who comes to that
/// node later finds it where it is, counted right, and hears what follows
/// live, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_nobody_on_a_node_is_in_moves_on_there_all_the_same() {
    let cluster = Cluster::new("c_unseen");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    let mut carol = TestClient::login(n2.addr, "carol", PASSWORD).await;
    wait_until_online(&mut alice, "carol").await;

    // n2 comes to know both conversations while bob and carol are on it.
    alice.send_stored("bob", "m1").await;
    assert_eq!(bob.recv_message().await.seq, 1);
    alice.send_stored("carol", "hello").await;
    assert_eq!(carol.recv_message().await.body, "hello");

    // Then bob moves to n1, and nobody in his conversation with alice is on
    // n2: it reads only the heads of what they say.
    bob.bye().await;
    let mut bob = TestClient::login(n1.addr, "bob", PASSWORD).await;
    for i in 2..=5u64 {
        let (_, stored) = alice.send_stored("bob", &format!("m{i}")).await;
        expect!(stored, ServerMessage::Stored { seq, .. } => assert_eq!(seq, i));
        assert_eq!(bob.recv_message().await.seq, i);
    }
    bob.send(ClientMessage::Ack {
        conv: conv("alice"),
        seq: 5,
    })
    .await;
    bob.send(ClientMessage::Read {
        req: None,
        conv: conv("alice"),
        seq: Some(3),
    })
    .await;
    let receipt = alice
        .recv_until(
            20,
            |m| matches!(m, ServerMessage::Receipt { read, .. } if *read == 3),
        )
        .await;
    expect!(receipt, ServerMessage::Receipt { delivered: 5, read: 3, .. } => ());
    // n1 publishes in commit order and n2 takes in in that order: once carol
    // has this, n2 has taken in everything before it.
    alice.send_stored("carol", "after").await;
    assert_eq!(carol.recv_message().await.body, "after");

    bob.bye().await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    bob.send(ClientMessage::Conversations { req: Some(7) })
        .await;
    let listed = bob
        .recv_until(20, |m| matches!(m, ServerMessage::Conversations { .. }))
        .await;
    let listed =
        expect!(listed, ServerMessage::Conversations { conversations, .. } => conversations);
    let summary = listed
        .iter()
        .find(|c| c.conv == conv("alice"))
        .expect("bob's conversation with alice, on n2");
    assert_eq!(
        (
            summary.last_seq,
            summary.delivered,
            summary.read,
            summary.unread
        ),
        (5, 5, 3, 2)
    );

    // The next message reaches bob on n2 at once, numbered on, and nothing
    // of what he had comes again.
    let (_, stored) = alice.send_stored("bob", "m6").await;
    expect!(stored, ServerMessage::Stored { seq: 6, online: 1, .. } => ());
    let m = bob.recv_message().await;
    assert_eq!((m.seq, m.body.as_str()), (6, "m6"));
    drop(n1);
    drop(n2);
}

/// Senders on both nodes into one group as fast as they can: every member,
/// on either node, gets every message once, in PostgreSQL's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_written_from_both_nodes_reaches_everyone_in_one_order() {
    const EACH: usize = 150;
    let cluster = Cluster::new("c_group");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    let mut carol = TestClient::login(n1.addr, "carol", PASSWORD).await;
    let mut dave = TestClient::login(n2.addr, "dave", PASSWORD).await;
    fixtures::make_group(&mut alice, "cs101", &["bob", "carol", "dave"]).await;
    // Each member, on either node, hears of the group up to dave's joining.
    let dave_added = GroupEvent::Added { user: user("dave") };
    for c in [&mut bob, &mut carol, &mut dave] {
        heard(c, dave_added.clone()).await;
    }

    let send_all = |mut c: TestClient, who: &'static str| {
        tokio::spawn(async move {
            for i in 0..EACH {
                let (_, msg) = support::send_to("#cs101", &format!("{who} {i}"));
                c.send(msg).await;
            }
            c
        })
    };
    let alice = send_all(alice, "alice");
    let bob = send_all(bob, "bob");
    let receive_all = |mut c: TestClient| {
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            for _ in 0..2 * EACH {
                seqs.push(c.recv_message().await.seq);
            }
            seqs
        })
    };
    let carol = receive_all(carol);
    let dave = receive_all(dave);
    let carol = tokio::time::timeout(Duration::from_secs(60), carol)
        .await
        .expect("carol gets every message")
        .unwrap();
    let dave = tokio::time::timeout(Duration::from_secs(60), dave)
        .await
        .expect("dave gets every message")
        .unwrap();
    let stored: Vec<u64> = cluster
        .value(
            "SELECT string_agg(m.seq::text, ',' ORDER BY m.seq) FROM messages m
             JOIN convs c ON c.id = m.conv_id WHERE c.group_name = 'cs101' AND m.seq > 4",
        )
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(stored, (5..5 + 2 * EACH as u64).collect::<Vec<_>>());
    assert_eq!(carol, stored, "carol, on n1, in PostgreSQL's order");
    assert_eq!(dave, stored, "dave, on n2, in PostgreSQL's order");
    alice.await.unwrap();
    bob.await.unwrap();
    drop((n1, n2));
}

/// What one round of the kill test saw from alice's side.
struct Round {
    sent: Vec<(MessageId, String)>,
    stored: HashMap<MessageId, u64>,
}

/// Messages alice keeps sent but unanswered: a kill always finds some in flight.
const WINDOW: usize = 100;
/// `stored` replies she sees from a node before it is killed.
const KILL_AFTER: usize = 150;

/// Alice sends to carol through `node` until `KILL_AFTER` are stored, then
/// the node is killed with SIGKILL.
async fn send_until_killed(node: Node, alice: TestClient, round: usize) -> Round {
    let (mut sink, mut stream) = alice.into_framed().split();
    let (answered, mut answered_rx) = watch::channel(0usize);
    let writer = tokio::spawn(async move {
        let mut sent = Vec::new();
        for i in 0..100_000 {
            if i >= WINDOW
                && (sink.flush().await.is_err()
                    || answered_rx.wait_for(|n| i - n < WINDOW).await.is_err())
            {
                break;
            }
            let (id, body) = (MessageId::new(), format!("round {round} message {i}"));
            let send = ClientMessage::Send {
                id,
                to: conv("carol"),
                body: body.clone(),
                reply_to: None,
                edit: None,
                delete: None,
                react: None,
                unreact: None,
            };
            if sink.feed(send.to_line()).await.is_err() {
                break;
            }
            sent.push((id, body));
        }
        sent
    });
    let (kill, killed) = oneshot::channel();
    let reader = tokio::spawn(async move {
        let mut kill = Some(kill);
        let mut stored = HashMap::new();
        let mut receipts = 0;
        while let Some(Ok(line)) = stream.next().await {
            let msg = ServerMessage::decode(&line).unwrap();
            if let ServerMessage::Receipt { delivered, .. } = msg {
                assert!(
                    delivered >= receipts,
                    "a receipt went back from {receipts} to {delivered}"
                );
                receipts = delivered;
            }
            if let ServerMessage::Stored { id, seq, .. } = msg {
                assert!(stored.insert(id, seq).is_none(), "{id} stored twice");
                answered.send_replace(stored.len());
                if stored.len() == KILL_AFTER
                    && let Some(kill) = kill.take()
                {
                    let _ = kill.send(());
                }
            }
        }
        stored
    });
    tokio::time::timeout(Duration::from_secs(30), killed)
        .await
        .expect("messages are stored within 30 s")
        .unwrap();
    node.kill().await;
    let stored = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .unwrap()
        .unwrap();
    let sent = tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.len() < sent.len(),
        "the kill came while messages were in flight"
    );
    Round { sent, stored }
}

/// n1 is killed with SIGKILL under load, several times. Alice, on n1, moves
/// to n2 and sends again what was not answered; carol stays on n2 the whole
/// time and never reconnects. Every message answered `stored` reaches carol
/// once, in order, at the sequence number alice was told, including what n1
/// committed and never got to tell n2; carol acknowledges as she reads, the
/// receipts alice gets never go back, and carol's cursor ends at the last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_node_under_load_loses_nothing_acknowledged() {
    const ROUNDS: usize = 3;
    let cluster = Cluster::new("c_kill");
    let n2 = cluster.start("n2").await;
    let mut n1 = cluster.start("n1").await;
    let carol = TestClient::login(n2.addr, "carol", PASSWORD).await;
    let alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let alice_token = alice.token().to_owned();
    drop(alice);

    // Carol reads everything live, on n2, from start to end, and
    // acknowledges each message as her client does.
    let (mut carol_sink, mut carol_stream) = carol.into_framed().split();
    let (got_tx, mut got_rx) = watch::channel(Vec::<(MessageId, u64)>::new());
    let carol_reader = tokio::spawn(async move {
        while let Some(Ok(line)) = carol_stream.next().await {
            if let ServerMessage::Message(m) = ServerMessage::decode(&line).unwrap() {
                got_tx.send_modify(|got| got.push((m.id, m.seq)));
                let ack = ClientMessage::Ack {
                    conv: m.conv,
                    seq: m.seq,
                };
                if carol_sink.send(ack.to_line()).await.is_err() {
                    break;
                }
            }
        }
    });

    let mut sent = Vec::new();
    let mut stored = HashMap::new();
    for round in 0..ROUNDS {
        let alice = TestClient::resume(n1.addr, "alice", &alice_token).await;
        let r = send_until_killed(n1, alice, round).await;
        // On to the surviving node, with what had no answer.
        let mut alice = TestClient::resume(n2.addr, "alice", &alice_token).await;
        let unanswered: Vec<&(MessageId, String)> = r
            .sent
            .iter()
            .filter(|(id, _)| !r.stored.contains_key(id))
            .collect();
        for (id, body) in &unanswered {
            alice
                .send(ClientMessage::Send {
                    id: *id,
                    to: conv("carol"),
                    body: body.clone(),
                    reply_to: None,
                    edit: None,
                    delete: None,
                    react: None,
                    unreact: None,
                })
                .await;
        }
        // Her catch-up comes first: her own messages that n1 stored and
        // never answered, WINDOW of them at most, and presence changes. On a
        // busy machine more may come: n2 holds n1's events for a conversation
        // it is still reading from PostgreSQL, and releases them when the read
        // is back, each of her own messages echoed to her new session there
        // (as to any other device of hers). So before each `stored` there may
        // be as many lines as she has sent, and only of these kinds.
        let hers: HashSet<MessageId> = sent.iter().chain(&r.sent).map(|(id, _)| *id).collect();
        let mut others = 0;
        for _ in &unanswered {
            let (id, seq) = loop {
                match alice.recv().await {
                    ServerMessage::Stored { id, seq, .. } => break (id, seq),
                    ServerMessage::Message(m) => assert!(
                        m.from.as_str() == "alice" && hers.contains(&m.id),
                        "alice on n2 got a message she did not send: {m:?}"
                    ),
                    ServerMessage::Receipt { .. } | ServerMessage::Presence { .. } => {}
                    other => panic!("alice on n2, before her `stored`: {other:?}"),
                }
                others += 1;
                assert!(
                    others <= hers.len() + 2 * WINDOW,
                    "alice on n2: {others} lines and no `stored`"
                );
            };
            stored.insert(id, seq);
        }
        for (id, seq) in &r.stored {
            assert_eq!(
                stored.insert(*id, *seq).unwrap_or(*seq),
                *seq,
                "a seq moved"
            );
        }
        sent.extend(r.sent);
        alice.bye().await;
        // The same node id comes back: the killed one holds it no longer.
        n1 = cluster.start("n1").await;
    }
    assert_eq!(stored.len(), sent.len(), "every message sent was stored");

    // Carol, who never moved, got every one of them once, in order.
    let waited = tokio::time::timeout(
        Duration::from_secs(20),
        got_rx.wait_for(|got| got.len() >= sent.len()),
    )
    .await
    .map(|got| got.map(|got| got.clone()));
    let Ok(Ok(got)) = waited else {
        panic!(
            "carol got {} of {} messages\nn2's log:\n{}",
            got_rx.borrow().len(),
            sent.len(),
            n2.log()
        )
    };
    let seqs: Vec<u64> = got.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        seqs,
        (1..=sent.len() as u64).collect::<Vec<_>>(),
        "once each, in order"
    );
    for (id, seq) in &got {
        assert_eq!(stored.get(id), Some(seq), "delivered where alice was told");
    }
    let ids: HashSet<MessageId> = got.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), sent.len());
    assert_eq!(
        cluster.value("SELECT count(*) FROM messages"),
        sent.len().to_string(),
        "PostgreSQL holds each once"
    );
    // Her cursor reached the last message and stayed there, whatever the
    // kills did to what the nodes had in memory.
    let mut delivered = String::new();
    for _ in 0..100 {
        delivered = cluster.value(
            "SELECT m.delivered_seq FROM members m JOIN users u ON u.id = m.user_id
             WHERE u.name = 'carol'",
        );
        if delivered == sent.len().to_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivered, sent.len().to_string(), "carol's cursor");
    carol_reader.abort();
    drop((n1, n2));
}

/// NATS killed mid-conversation and started again: every node goes on
/// storing, what is said on one node still reaches the other (read from
/// PostgreSQL), and once NATS is back it all flows as before, each message
/// once and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_going_away_delays_messages_across_nodes_but_loses_none() {
    const EACH: u64 = 20;
    let mut own = nats::Own::start();
    let cluster = Cluster::on_nats("c_nats", own.url());
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    wait_until_online(&mut bob, "alice").await;

    let mut seqs = Vec::new();
    for phase in ["before", "without NATS", "after"] {
        if phase == "without NATS" {
            own.kill();
        }
        for i in 0..EACH {
            let (_, stored) = alice.send_stored("bob", &format!("{phase} {i}")).await;
            expect!(stored, ServerMessage::Stored { .. } => ());
        }
        for i in 0..EACH {
            let m = next_message_slowly(&mut bob).await;
            assert_eq!(m.body, format!("{phase} {i}"), "n2's log:\n{}", n2.log());
            seqs.push(m.seq);
        }
        if phase == "without NATS" {
            assert!(n1.log().contains("lost NATS"), "{}", n1.log());
            own.start_again();
            // n1 is heard again: alice shows online once more.
            wait_until_online(&mut bob, "alice").await;
        }
    }
    assert_eq!(
        seqs,
        (1..=3 * EACH).collect::<Vec<_>>(),
        "once each, in order"
    );
    // And the other way, over the NATS that came back.
    bob.send_stored("alice", "all well").await;
    assert_eq!(alice.recv_message().await.body, "all well");
    drop((n1, n2));
}

/// A group file offered on n1 to members on n2: bob downloads it from n1,
/// byte for byte, carol declines it, alice sees both, and n1 deletes the file
/// once nobody is left to decide (which carol decided on n2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_offered_on_one_node_is_downloaded_on_the_other() {
    let cluster = Cluster::new("c_files");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    let mut carol = TestClient::login(n2.addr, "carol", PASSWORD).await;
    fixtures::make_group(&mut alice, "lab", &["bob", "carol"]).await;
    // Several download windows' worth, and a short last chunk.
    let size = (3 * FILE_WINDOW * FILE_CHUNK_BYTES + 1234) as u64;
    let content = fixtures::Content::new(15, size);
    let up = fixtures::ready(&mut alice, "#lab", "data.bin", &content).await;
    let (_, seq) = fixtures::upload(&mut alice, &up, &content).await;
    let n1_files = cluster.root.path().join("n1").join("files");
    assert_eq!(fixtures::stored_files(&n1_files), [up.offer.to_string()]);
    for c in [&mut bob, &mut carol] {
        let m = fixtures::offer_message(c).await;
        assert_eq!((m.seq, m.file.map(|f| f.offer)), (seq, Some(up.offer)));
    }

    let (state, _) = fixtures::download(&mut bob, up.offer, &content).await;
    assert_eq!(state, FileState::Received);
    for expected in [FileState::Accepted, FileState::Received] {
        let (who, state, _) = fixtures::status(&mut alice).await;
        assert_eq!((who.as_str(), state), ("bob", expected));
    }
    let declined = fixtures::decline(&mut carol, up.offer).await;
    expect!(declined, ServerMessage::FileStatus { state: FileState::Declined, .. } => ());
    let (who, state, counts) = fixtures::status(&mut alice).await;
    assert_eq!((who.as_str(), state), ("carol", FileState::Declined));
    assert_eq!(counts, fixtures::counts(1, 1, 1, 2));

    // Settled on n2; n1, which has the bytes, deletes them.
    for _ in 0..200 {
        if fixtures::stored_files(&n1_files).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        fixtures::stored_files(&n1_files).is_empty(),
        "n1 deleted the file"
    );
    let over = fixtures::ask(&mut bob, |req| ClientMessage::Accept {
        req,
        offer: up.offer,
        bulk: false,
    })
    .await;
    expect!(over, ServerMessage::Error { code: ErrorCode::FileGone, .. } => ());
    drop((n1, n2));
}

/// Wrong passwords tried on both nodes count together, as on one server: five
/// are free on n1, the sixth, on n2, makes the next attempt there wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_on_one_node_slow_logins_on_the_other() {
    let cluster = Cluster::new("c_throttle");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    TestClient::login(n1.addr, "alice", PASSWORD)
        .await
        .bye()
        .await;
    for _ in 0..5 {
        let wrong = try_login(n1.addr, "alice", "not her password").await;
        expect!(wrong, ServerMessage::Error { code: ErrorCode::BadPassword, .. } => ());
    }
    // What n1 saw reaches n2 through NATS within milliseconds.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sixth = try_login(n2.addr, "alice", "not her password").await;
    expect!(sixth, ServerMessage::Error { code: ErrorCode::BadPassword, .. } => ());
    let right = try_login(n2.addr, "alice", PASSWORD).await;
    expect!(right, ServerMessage::Error { code: ErrorCode::LoginThrottled, .. } => ());
    drop((n1, n2));
}

/// Alice connected to both nodes at once has one allowance of messages, not
/// one per node: a burst of 10 lets about 10 through in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_on_two_nodes_has_one_rate_limit() {
    const EACH: usize = 12;
    let cluster = Cluster::new("c_rates").with_limits(&["--rate", "1", "--burst", "10"]);
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    TestClient::login(n1.addr, "bob", PASSWORD)
        .await
        .bye()
        .await;
    let here = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let there = TestClient::login(n2.addr, "alice", PASSWORD).await;
    // Each node hears within a second that she is on the other one too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let burst = |mut c: TestClient, node: &'static str| {
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..EACH {
                let (id, msg) = support::send_to("bob", &format!("{node} {i}"));
                c.send(msg).await;
                ids.push(id);
            }
            let mut stored = 0;
            for id in ids {
                let answer = c
                    .recv_until(2 * EACH, |m| {
                        matches!(m, ServerMessage::Stored { id: of, .. } if *of == id)
                            || matches!(m, ServerMessage::Error { id: Some(of), .. } if *of == id)
                    })
                    .await;
                match answer {
                    ServerMessage::Stored { .. } => stored += 1,
                    ServerMessage::Error {
                        code: ErrorCode::RateLimited,
                        ..
                    } => {}
                    other => panic!("{other:?}"),
                }
            }
            stored
        })
    };
    let (one, two) = (burst(here, "n1"), burst(there, "n2"));
    let stored = one.await.unwrap() + two.await.unwrap();
    // 10 of the burst, and what the rate of 1/s refills meanwhile.
    assert!(
        (8..=14).contains(&stored),
        "{stored} of {} stored",
        2 * EACH
    );
    drop((n1, n2));
}

/// Sign-ups from one address count on every node: with three allowed, two
/// on n1 and one on n2 use them up, and the next, on n2, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_from_one_address_count_on_every_node() {
    let cluster = Cluster::new("c_signups").with_limits(&["--rate-limit", "sign-ups=1/h,3"]);
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    for name in ["s1", "s2"] {
        TestClient::login(n1.addr, name, PASSWORD).await.bye().await;
    }
    // What n1 counted reaches n2 through NATS within milliseconds.
    tokio::time::sleep(Duration::from_millis(300)).await;
    TestClient::login(n2.addr, "s3", PASSWORD).await.bye().await;
    let refused = try_login(n2.addr, "s4", PASSWORD).await;
    expect!(refused, ServerMessage::Error { code: ErrorCode::RateLimited, .. } => ());
    drop((n1, n2));
}

/// The same new name signed up on both nodes at once, many times over: each
/// name gets one account. With one password (one person on two devices) both
/// are logged in to it, one of them told it was created; with two (two people)
/// the loser is told the password is wrong, as on one server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_name_signed_up_on_both_nodes_at_once_is_one_account() {
    const NAMES: usize = 24;
    // Each lost race is a wrong password from this address: fewer than the
    // login throttle lets pass.
    const TWO_PEOPLE: usize = 4;
    let cluster = Cluster::new("c_signup");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let created = |m: &ServerMessage| matches!(m, ServerMessage::LoggedIn { created: true, .. });
    for i in 0..NAMES {
        let name = format!("student{i}");
        let two_people = i % (NAMES / TWO_PEOPLE) == 0;
        let passwords = match two_people {
            true => ["password on n1", "password on n2"],
            false => ["one password", "one password"],
        };
        let (one, two) = tokio::join!(
            try_login(n1.addr, &name, passwords[0]),
            try_login(n2.addr, &name, passwords[1]),
        );
        let (winner, loser, password) = match (created(&one), created(&two)) {
            (true, false) => (n1.addr, &two, passwords[0]),
            (false, true) => (n2.addr, &one, passwords[1]),
            _ => panic!("{name}: n1 said {one:?}, n2 said {two:?}"),
        };
        match two_people {
            true => expect!(loser, ServerMessage::Error { code: ErrorCode::BadPassword, .. } => ()),
            false => expect!(loser, ServerMessage::LoggedIn { created: false, .. } => ()),
        }
        // The account works on both nodes with the winning password.
        for addr in [n1.addr, n2.addr, winner] {
            let again = try_login(addr, &name, password).await;
            expect!(again, ServerMessage::LoggedIn { created: false, .. } => ());
        }
    }
    assert_eq!(
        cluster.value("SELECT count(*) FROM users"),
        NAMES.to_string(),
        "one account per name"
    );
    drop((n1, n2));
}

/// Sends `body` to `to` and waits both for its `stored` and for `to`'s
/// message `heard` (which may come first); returns the sequence number sent.
async fn send_and_hear(c: &mut TestClient, to: &str, body: &str, heard: &str) -> u64 {
    let (id, msg) = support::send_to(to, body);
    c.send(msg).await;
    let (mut stored, mut got) = (None, false);
    for _ in 0..40 {
        match c.recv_within(Duration::from_secs(20)).await {
            ServerMessage::Stored { id: of, seq, .. } if of == id => stored = Some(seq),
            ServerMessage::Message(m) if m.body == heard => got = true,
            ServerMessage::Presence { .. } | ServerMessage::Receipt { .. } => {}
            other => panic!("sending {body:?}, got {other:?}"),
        }
        if let (Some(seq), true) = (stored, got) {
            return seq;
        }
    }
    panic!("sending {body:?}: stored {stored:?}, heard {got}");
}

/// An account made on n2 is written to from n1 before n1 has heard of it
/// (NATS is away, so it never does): n1 finds it in PostgreSQL and opens the
/// conversation, and n2 delivers the message once it reads it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_made_elsewhere_can_be_written_to_before_this_node_hears_of_it() {
    const ROUNDS: usize = 3;
    let mut own = nats::Own::start();
    let cluster = Cluster::on_nats("c_fresh", own.url());
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    own.kill();
    for round in 0..ROUNDS {
        let name = format!("fresh{round}");
        let mut fresh = TestClient::login(n2.addr, &name, PASSWORD).await;
        let (id, stored) = alice.send_stored(&name, "welcome").await;
        expect!(stored, ServerMessage::Stored { seq: 1, .. } => ());
        assert_eq!(next_message_slowly(&mut fresh).await.id, id);
    }
    drop((n1, n2));
}

/// A group made on n2 is deleted through n1 before n1 has heard of it (NATS
/// is away): n1 finds it in PostgreSQL, with its members, and deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_made_elsewhere_can_be_deleted_before_this_node_hears_of_it() {
    let mut own = nats::Own::start();
    let cluster = Cluster::on_nats("c_delete", own.url());
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    TestClient::login(n2.addr, "bob", PASSWORD)
        .await
        .bye()
        .await;
    let mut alice_here = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut alice_there = TestClient::login(n2.addr, "alice", PASSWORD).await;
    own.kill();
    fixtures::make_group(&mut alice_there, "lab", &["bob"]).await;
    let deleted = fixtures::ask(&mut alice_here, |req| ClientMessage::Delete {
        req,
        group: fixtures::group("lab"),
    })
    .await;
    expect!(deleted, ServerMessage::GroupDeleted { .. } => ());
    assert_eq!(
        cluster.value("SELECT count(*) FROM convs WHERE group_name IS NOT NULL"),
        "0"
    );
    drop((n1, n2));
}

/// Alice on n1 and bob on n2 make a group of one name at the same moment,
/// and write to each other for the first time at the same moment, round after
/// round: one group each time (the other is told it exists), one direct
/// conversation holding both first messages, and no request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_conversations_started_on_both_nodes_at_once_are_one() {
    const ROUNDS: usize = 10;
    let cluster = Cluster::new("c_create");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    for round in 0..ROUNDS {
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        let mut alice = TestClient::login(n1.addr, &a, PASSWORD).await;
        let mut bob = TestClient::login(n2.addr, &b, PASSWORD).await;
        let group = format!("study{round}");
        let create = |req| ClientMessage::Create {
            req,
            group: fixtures::group(&group),
            members: Vec::new(),
            access: None,
            posting: None,
        };
        let (one, two) = tokio::join!(
            fixtures::ask(&mut alice, create),
            fixtures::ask(&mut bob, create)
        );
        let made = |m: &ServerMessage| matches!(m, ServerMessage::Group { .. });
        let exists = |m: &ServerMessage| {
            matches!(
                m,
                ServerMessage::Error {
                    code: ErrorCode::GroupExists,
                    ..
                }
            )
        };
        assert!(
            (made(&one) && exists(&two)) || (exists(&one) && made(&two)),
            "#{group}: n1 said {one:?}, n2 said {two:?}"
        );

        let (to_b, to_a) = (format!("hi {b}"), format!("hi {a}"));
        let (one, two) = tokio::join!(
            send_and_hear(&mut alice, &b, &to_b, &to_a),
            send_and_hear(&mut bob, &a, &to_a, &to_b)
        );
        let mut seqs = [one, two];
        seqs.sort_unstable();
        assert_eq!(seqs, [1, 2], "round {round}: one conversation");
    }
    assert_eq!(
        cluster.value("SELECT count(*) FROM convs WHERE dm_a IS NOT NULL"),
        ROUNDS.to_string()
    );
    drop((n1, n2));
}

/// A file offered while NATS was away: the recipient on the other node hears
/// of the offer from PostgreSQL, and once NATS is back accepts it (his node
/// finds the offer in PostgreSQL, since nobody told it) and downloads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_made_while_nats_was_away_is_found_and_downloaded() {
    let mut own = nats::Own::start();
    let cluster = Cluster::on_nats("c_offer", own.url());
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    wait_until_online(&mut alice, "bob").await;
    own.kill();
    let content = fixtures::Content::new(3, 300_000);
    let up = fixtures::ready(&mut alice, "bob", "notes.bin", &content).await;
    fixtures::upload(&mut alice, &up, &content).await;
    let m = next_message_slowly(&mut bob).await;
    assert_eq!(m.file.map(|f| f.offer), Some(up.offer));
    own.start_again();
    // Both nodes say when they are back on NATS (bounded: 20 s).
    for _ in 0..200 {
        let back = |n: &Node| n.log().matches("connected to NATS").count() >= 2;
        if back(&n1) && back(&n2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (state, _) = fixtures::download(&mut bob, up.offer, &content).await;
    assert_eq!(state, FileState::Received);
    drop((n1, n2));
}

/// A killed node's users go offline on the others within a few seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_users_go_offline_elsewhere() {
    let cluster = Cluster::new("c_presence");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    alice.send_stored("bob", "before the kill").await;
    bob.recv_message().await;
    wait_until_online(&mut bob, "alice").await;
    n1.kill().await;
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        bob.recv_until(20, |m| matches!(m, ServerMessage::Presence { .. }))
            .await
    })
    .await
    .expect("alice goes offline within 10 s");
    expect!(gone, ServerMessage::Presence { online: false, last_seen: Some(_), .. } => ());
    drop(alice);
    drop(n2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_id_already_running_is_refused() {
    let cluster = Cluster::new("c_ids");
    let n1 = cluster.start("n1").await;
    let log = cluster.try_start("n1").await.refused();
    assert!(log.contains("node \"n1\" is already running"), "{log}");
    // Nor does a single server start on the cluster's database.
    let mut single = binary::server_command(&cluster.root.path().join("single"));
    single.args(["--store", "postgres", "--postgres", &cluster.database]);
    let log = binary::launch(single).await.refused();
    assert!(log.contains("is using this PostgreSQL database"), "{log}");
    drop(n1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_needs_postgres_and_a_reachable_nats() {
    let root = TempDir::new().unwrap();
    let mut sqlite = binary::server_command(root.path());
    sqlite.args(["--nats", &nats::server().url(), "--node-id", "n1"]);
    let log = binary::launch(sqlite).await.refused();
    assert!(log.contains("add --store postgres"), "{log}");

    let unreachable = format!("nats://127.0.0.1:{}", free_port());
    let mut command = binary::server_command(root.path());
    command
        .args([
            "--store",
            "postgres",
            "--postgres",
            &postgres::database("c_nonats"),
        ])
        .args(["--nats", &unreachable, "--node-id", "n1"]);
    let log = binary::launch(command).await.refused();
    assert!(log.contains("cannot reach NATS"), "{log}");
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// Waits (a few messages at most) for `event` to reach `c`.
async fn heard(c: &mut TestClient, event: GroupEvent) {
    for _ in 0..10 {
        if c.recv_message().await.event == Some(event.clone()) {
            return;
        }
    }
    panic!("{event:?} never came");
}

/// How a group is run, decided on one node, holds on the other: a ban, an
/// announcement group, a moderator, a lifted ban.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_bans_roles_and_rules_hold_on_every_node() {
    use classchat_common::protocol::{Posting, Role};
    let cluster = Cluster::new("c_rules");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    let mut carol = TestClient::login(n2.addr, "carol", PASSWORD).await;
    fixtures::make_group(&mut alice, "lab", &["bob", "carol"]).await;
    heard(
        &mut carol,
        GroupEvent::Added {
            user: user("carol"),
        },
    )
    .await;

    // Removed on n1: banned on n2.
    let kicked = fixtures::ask(&mut alice, |req| ClientMessage::Kick {
        req,
        group: fixtures::group("lab"),
        user: user("bob"),
    })
    .await;
    expect!(kicked, ServerMessage::Group { .. } => ());
    let kicked = GroupEvent::Kicked {
        user: user("bob"),
        banned: true,
    };
    heard(&mut bob, kicked.clone()).await;
    let join = |req| ClientMessage::Join {
        req,
        group: fixtures::group("lab"),
    };
    let refused = fixtures::ask(&mut bob, join).await;
    expect!(refused, ServerMessage::Error { code: ErrorCode::Banned, .. } => ());

    // An announcement group made on n1: carol, a member on n2, may not post
    // until she is made a moderator there.
    let made = fixtures::ask(&mut alice, |req| ClientMessage::Settings {
        req,
        group: fixtures::group("lab"),
        access: None,
        posting: Some(Posting::Moderators),
    })
    .await;
    expect!(made, ServerMessage::Group { .. } => ());
    heard(&mut carol, kicked).await;
    heard(
        &mut carol,
        GroupEvent::Posting {
            posting: Posting::Moderators,
        },
    )
    .await;
    let (_, msg) = support::send_to("#lab", "may I?");
    carol.send(msg).await;
    let refused = carol
        .recv_until(10, |m| matches!(m, ServerMessage::Error { .. }))
        .await;
    expect!(refused, ServerMessage::Error { code: ErrorCode::NotModerator, .. } => ());
    let made = fixtures::ask(&mut alice, |req| ClientMessage::Role {
        req,
        group: fixtures::group("lab"),
        user: user("carol"),
        role: Role::Moderator,
    })
    .await;
    expect!(made, ServerMessage::Group { .. } => ());
    heard(
        &mut carol,
        GroupEvent::Role {
            user: user("carol"),
            role: Role::Moderator,
        },
    )
    .await;
    carol.send_stored("#lab", "now I may").await;
    for _ in 0..10 {
        if alice.recv_message().await.body == "now I may" {
            break;
        }
    }

    // Lifted on n1; bob, told nothing (he is out), may join on n2 at once:
    // n2 reads what it missed of the group before it answers.
    let lifted = fixtures::ask(&mut alice, |req| ClientMessage::Unban {
        req,
        group: fixtures::group("lab"),
        user: user("bob"),
    })
    .await;
    expect!(lifted, ServerMessage::Group { .. } => ());
    let joined = fixtures::ask(&mut bob, join).await;
    expect!(joined, ServerMessage::Group { .. } => ());
    drop((n1, n2));
}

/// Sends a message that must be stored; its sequence number.
async fn stored_seq(c: &mut TestClient, (id, msg): (MessageId, ClientMessage)) -> u64 {
    c.send(msg).await;
    let reply = c
        .recv_until(20, |m| {
            matches!(m, ServerMessage::Stored { id: got, .. } if *got == id)
                || matches!(m, ServerMessage::Error { id: Some(got), .. } if *got == id)
        })
        .await;
    expect!(reply, ServerMessage::Stored { seq, .. } => seq)
}

/// A reply on one node quotes a message written on the other; an edit and a
/// deletion made on one node reach the other, and history on either shows
/// the message as it is now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_edits_and_deletions_cross_nodes() {
    let cluster = Cluster::new("c_changes");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    alice.send_stored("bob", "meet at 3").await;
    assert_eq!(bob.recv_message().await.seq, 1);
    let change = |reply_to: Option<u64>, edit: Option<u64>, delete: Option<u64>, body: &str| {
        let id = MessageId::new();
        let msg = ClientMessage::Send {
            id,
            to: conv(if edit.is_some() || delete.is_some() {
                "bob"
            } else {
                "alice"
            }),
            body: body.to_owned(),
            reply_to,
            edit,
            delete,
            react: None,
            unreact: None,
        };
        (id, msg)
    };
    assert_eq!(
        stored_seq(&mut bob, change(Some(1), None, None, "ok")).await,
        2
    );
    let reply = alice.recv_message().await;
    let quote = reply.reply.expect("a quote");
    assert_eq!(
        (quote.seq, quote.from.as_str(), quote.text.as_str()),
        (1, "alice", "meet at 3")
    );

    assert_eq!(
        stored_seq(&mut alice, change(None, Some(1), None, "meet at 4")).await,
        3
    );
    let edit = bob.recv_message().await;
    assert_eq!((edit.edit, edit.body.as_str()), (Some(1), "meet at 4"));
    assert_eq!(
        stored_seq(&mut alice, change(None, None, Some(1), "")).await,
        4
    );
    let deleted = bob.recv_message().await;
    assert_eq!(deleted.delete, Some(1));
    // n2 answers bob's history from PostgreSQL: the tombstone, the quote.
    bob.send(ClientMessage::History {
        req: Some(9),
        conv: conv("alice"),
        before: None,
        after: None,
        limit: None,
    })
    .await;
    let page = bob
        .recv_until(20, |m| matches!(m, ServerMessage::History { .. }))
        .await;
    let page = expect!(page, ServerMessage::History { messages, .. } => messages);
    assert!(page[0].deleted && page[0].body.is_empty());
    assert!(page[1].reply.as_ref().is_some_and(|q| q.deleted));
    drop((n1, n2));
}

/// What `alice` sends to `to`: a text, a reply to message `target`, a
/// reaction to it and an edit of it.
fn changes_of(to: &str, target: u64, round: usize) -> Vec<(MessageId, ClientMessage)> {
    let send = |body: String, reply_to, react, edit| {
        let id = MessageId::new();
        let msg = ClientMessage::Send {
            id,
            to: conv(to),
            body,
            reply_to,
            edit,
            delete: None,
            react,
            unreact: None,
        };
        (id, msg)
    };
    vec![
        send(format!("text {round}"), None, None, None),
        send(format!("reply {round}"), Some(target), None, None),
        send(["👍", "🎉"][round % 2].to_owned(), None, Some(target), None),
        send(format!("edited {round}"), None, None, Some(target)),
    ]
}

/// A message crossing nodes reads on the other node exactly as on the node
/// that stored it, whichever way it came: as the line that node encoded
/// (nobody on the other node is its sender), or rebuilt there from the
/// message itself (its sender is connected there too, and has their own
/// copy). Replies, reactions and edits, in a group and a direct
/// conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_reads_the_same_on_either_node_whichever_way_it_came() {
    let cluster = Cluster::new("c_same");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut carol = TestClient::login(n1.addr, "carol", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    fixtures::make_group(&mut alice, "study", &["bob", "carol"]).await;
    let carol_added = GroupEvent::Added {
        user: user("carol"),
    };
    for c in [&mut bob, &mut carol] {
        heard(c, carol_added.clone()).await;
    }
    wait_until_online(&mut alice, "bob").await;
    let group_first = stored_seq(&mut alice, support::send_to("#study", "meet at 3")).await;
    assert_eq!(carol.recv_message().await, bob.recv_message().await);
    let direct_first = stored_seq(&mut alice, support::send_to("bob", "lunch?")).await;
    bob.recv_message().await;

    let mut direct = Vec::new();
    let mut alice_on_n2 = None;
    for round in 0..2 {
        if round == 1 {
            // Alice connected to n2 as well: n2 now rebuilds her messages.
            let mut second = TestClient::login(n2.addr, "alice", PASSWORD).await;
            wait_until_online(&mut bob, "alice").await;
            second.expect_nothing_pending().await;
            alice_on_n2 = Some(second);
        }
        for change in changes_of("#study", group_first, round) {
            stored_seq(&mut alice, change).await;
            let here = carol.recv_message().await;
            let there = bob.recv_message().await;
            assert_eq!(here, there, "round {round}");
            if let Some(second) = &mut alice_on_n2 {
                let echo = second.recv_message().await;
                assert_eq!((echo.seq, echo.body), (there.seq, there.body));
                assert!(echo.counts.is_some());
            }
        }
        for change in changes_of("bob", direct_first, round) {
            stored_seq(&mut alice, change).await;
            let m = bob.recv_message().await;
            assert_eq!(m.from.as_str(), "alice");
            if let Some(second) = &mut alice_on_n2 {
                assert_eq!(second.recv_message().await.seq, m.seq);
            }
            direct.push(m);
        }
    }
    // Each round's direct messages, but for what makes them each one.
    let as_made = |m: &ChatMessage, round: usize| ChatMessage {
        seq: 0,
        id: MessageId::from_bytes([0; 16]),
        ts: Timestamp::from_millis(0),
        body: match m.react {
            Some(_) => String::new(),
            None => m.body.replace(&round.to_string(), "N"),
        },
        // The quote is of the message as it is now: edited in round 0.
        reply: m.reply.clone().map(|q| {
            Box::new(Quote {
                text: String::new(),
                ..*q
            })
        }),
        ..m.clone()
    };
    let (first, second) = direct.split_at(4);
    for (a, b) in first.iter().zip(second) {
        assert_eq!(as_made(a, 0), as_made(b, 1));
    }
    assert!(
        second[1]
            .reply
            .as_ref()
            .is_some_and(|q| q.seq == direct_first)
    );
    drop((n1, n2));
}

/// A search on one node finds what was said through the other, and stops
/// finding a group's messages once the searcher has left it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_on_one_node_finds_what_was_said_on_the_other() {
    let cluster = Cluster::new("c_search");
    let n1 = cluster.start("n1").await;
    let n2 = cluster.start("n2").await;
    let mut alice = TestClient::login(n1.addr, "alice", PASSWORD).await;
    let mut bob = TestClient::login(n2.addr, "bob", PASSWORD).await;
    fixtures::make_group(&mut alice, "lab", &["bob"]).await;
    alice.send_stored("bob", "the exam is on Friday").await;
    alice.send_stored("#lab", "lab exam notes are up").await;
    // The direct conversation is new to n2, which reads it from PostgreSQL
    // first: its message may come after the group's.
    let mut heard = 0;
    for _ in 0..10 {
        if heard == 2 {
            break;
        }
        heard += usize::from(bob.recv_message().await.body.contains("exam"));
    }
    assert_eq!(heard, 2, "both messages reach bob");

    let search = async |c: &mut TestClient| {
        let req = c.req();
        c.send(ClientMessage::Search {
            req: Some(req),
            words: "exam".into(),
            conv: None,
            before: None,
            limit: None,
        })
        .await;
        let reply = c.recv_until(20, |m| m.req() == Some(req)).await;
        let found = expect!(reply, ServerMessage::Search { messages, .. } => messages);
        found
            .into_iter()
            .map(|m| (m.conv.to_string(), m.body))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        search(&mut bob).await,
        [
            ("#lab".to_owned(), "lab exam notes are up".to_owned()),
            ("alice".to_owned(), "the exam is on Friday".to_owned()),
        ]
    );
    let req = bob.req();
    bob.send(ClientMessage::Leave {
        req: Some(req),
        group: classchat_common::GroupName::new("lab").unwrap(),
    })
    .await;
    bob.recv_until(20, |m| m.req() == Some(req)).await;
    assert_eq!(
        search(&mut bob).await,
        [("alice".to_owned(), "the exam is on Friday".to_owned())]
    );
    drop((n1, n2));
}
