//! The client core against the real server: a conversation, statuses, reconnects.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

use classchat_client::client::{Action, Client, ClientOptions, Event, Link};
use classchat_client::config::Unsent;
use classchat_client::tracker::Stage;
use classchat_common::protocol::Secret;
use classchat_common::{ClientMessage, Conv, ServerMessage};

mod support;
use support::{TestServer, Ui, connect, expect, next_chat, options, shown, status_of};

fn conv(s: &str) -> Conv {
    s.parse().unwrap()
}

#[tokio::test]
async fn two_users_chat_and_the_sender_sees_stored_delivered_then_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;

    let id = alice.send(conv("bob"), "hi bob".into()).await.unwrap();
    let stored = expect(&mut alice_events, "stored", |e| match e {
        Event::Status(u) if u.id == id => Some(u.status.stage),
        _ => None,
    })
    .await;
    assert_eq!(stored, Stage::Stored);

    let received = expect(&mut bob_events, "the message", |e| match e {
        Event::Server(ServerMessage::Message(m)) => Some(m.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (received.body.as_str(), received.from.as_str(), received.id),
        ("hi bob", "alice", id)
    );
    // Bob's client acknowledges by itself: alice sees it delivered, not read.
    let delivered = expect(&mut alice_events, "delivered", |e| match e {
        Event::Status(u) if u.id == id => Some(u.status.stage),
        _ => None,
    })
    .await;
    assert_eq!(delivered, Stage::Delivered);

    bob.request(ClientMessage::Read {
        req: Some(1),
        conv: conv("alice"),
        seq: None,
    })
    .await
    .unwrap();
    let read = expect(&mut alice_events, "read", |e| match e {
        Event::Status(u) if u.id == id => Some(u.status),
        _ => None,
    })
    .await;
    assert_eq!((read.stage, read.read, read.of), (Stage::Read, 1, 1));

    // And the other way round, full duplex.
    bob.send(conv("alice"), "hi alice".into()).await.unwrap();
    let back = expect(&mut alice_events, "the reply", |e| match e {
        Event::Server(ServerMessage::Message(m)) => Some(m.body.clone()),
        _ => None,
    })
    .await;
    assert_eq!(back, "hi alice");
    server.stop().await;
}

#[tokio::test]
async fn messages_typed_while_the_server_is_down_go_out_in_order_after_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("[::1]:0", dir.path()).await;
    let addr = server.addr;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    alice.send(conv("bob"), "before".into()).await.unwrap();
    expect(&mut bob_events, "the first message", |e| match e {
        Event::Server(ServerMessage::Message(m)) => Some(m.seq),
        _ => None,
    })
    .await;

    server.stop().await;
    expect(&mut alice_events, "reconnecting", |e| {
        matches!(e, Event::Link(Link::Reconnecting { .. })).then_some(())
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            alice
                .send(conv("bob"), format!("while down {i}"))
                .await
                .unwrap(),
        );
    }

    let mut server = TestServer::start(&addr.to_string(), dir.path()).await;
    for id in &ids {
        expect(&mut alice_events, "stored after the restart", |e| match e {
            Event::Status(u) if u.id == *id && u.status.stage >= Stage::Stored => Some(()),
            _ => None,
        })
        .await;
    }
    let mut bodies = Vec::new();
    while bodies.len() < ids.len() {
        let body = expect(&mut bob_events, "the queued messages", |e| match e {
            Event::Server(ServerMessage::Message(m)) => Some(m.body.clone()),
            _ => None,
        })
        .await;
        bodies.push(body);
    }
    let expected: Vec<String> = (0..20).map(|i| format!("while down {i}")).collect();
    assert_eq!(bodies, expected, "in order, none lost, none doubled");

    // Nothing else arrives: no duplicates of what was already received.
    bob.request(ClientMessage::Who { req: Some(7) })
        .await
        .unwrap();
    let extra = expect(&mut bob_events, "the who reply", |e| match e {
        Event::Server(ServerMessage::Message(m)) => Some(Some(m.body.clone())),
        Event::Server(ServerMessage::Who { .. }) => Some(None),
        _ => None,
    })
    .await;
    assert_eq!(extra, None);
    server.stop().await;
}

#[tokio::test]
async fn messages_typed_while_the_server_is_down_survive_quitting_and_go_out_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let unsent = Unsent::new(dir.path().join("client/unsent.json"));
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let addr = server.addr;
    connect(&server, "bob").await.0.quit().await;
    let with_unsent = |server: &TestServer| ClientOptions {
        unsent: Some(unsent.clone()),
        ..options(server, "alice")
    };
    let (alice, mut alice_events, _) = Client::start(with_unsent(&server)).await.unwrap();
    server.stop().await;
    expect(&mut alice_events, "reconnecting", |e| {
        matches!(e, Event::Link(Link::Reconnecting { .. })).then_some(())
    })
    .await;
    let mut ids = Vec::new();
    for body in ["pending one", "pending two"] {
        ids.push(alice.send(conv("bob"), body.into()).await.unwrap());
    }
    alice.quit().await;
    let key = options(&server, "alice").server.to_string();
    assert_eq!(unsent.load("alice", &key).len(), 2, "kept on disk");

    // The next start, once the server is back, shows them as sending and sends them.
    let mut server = TestServer::start(&addr.to_string(), dir.path()).await;
    let (_alice, mut alice_events, _) = Client::start(with_unsent(&server)).await.unwrap();
    for id in &ids {
        let shown = expect(&mut alice_events, "the unsent message", |e| match e {
            Event::Unsent(m) => Some(m.id),
            _ => None,
        })
        .await;
        assert_eq!(shown, *id, "in the order typed");
    }
    for id in &ids {
        status_of(&mut alice_events, "stored at last", *id, |s| {
            s.stage >= Stage::Stored
        })
        .await;
    }
    assert!(
        unsent.load("alice", &key).is_empty(),
        "and forgotten once stored"
    );
    let (_bob, mut bob_events, _) = connect(&server, "bob").await;
    let mut bodies = Vec::new();
    while bodies.len() < 2 {
        bodies.push(next_chat(&mut bob_events, "alice's messages").await.body);
    }
    assert_eq!(bodies, ["pending one", "pending two"]);
    server.stop().await;
}

#[tokio::test]
async fn a_message_to_a_missing_user_fails_and_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let (alice, mut events, _) = connect(&server, "alice").await;
    let id = alice.send(conv("nobody"), "hello?".into()).await.unwrap();
    let code = expect(&mut events, "the refusal", |e| match e {
        Event::Server(ServerMessage::Error {
            id: Some(got),
            code,
            ..
        }) if *got == id => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(code, classchat_common::ErrorCode::UnknownUser);
    let stage = expect(&mut events, "failed", |e| match e {
        Event::Status(u) if u.id == id => Some(u.status.stage),
        _ => None,
    })
    .await;
    assert_eq!(stage, Stage::Failed);
    server.stop().await;
}

#[tokio::test]
async fn a_read_receipt_missed_while_disconnected_is_caught_up_after_reconnecting() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let addr = server.addr;
    connect(&server, "bob").await.0.quit().await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let id = alice
        .send(conv("bob"), "read me later".into())
        .await
        .unwrap();
    expect(&mut alice_events, "stored", |e| match e {
        Event::Status(u) if u.id == id => Some(()),
        _ => None,
    })
    .await;
    server.stop().await;

    // While alice cannot reach the server on her port, bob reads on another.
    let mut elsewhere = TestServer::start("127.0.0.1:0", dir.path()).await;
    let (bob, mut bob_events, _) = connect(&elsewhere, "bob").await;
    expect(&mut bob_events, "the message", |e| match e {
        Event::Server(ServerMessage::Message(_)) => Some(()),
        _ => None,
    })
    .await;
    bob.request(ClientMessage::Read {
        req: Some(1),
        conv: conv("alice"),
        seq: None,
    })
    .await
    .unwrap();
    expect(&mut bob_events, "read_marked", |e| match e {
        Event::Server(ServerMessage::ReadMarked { seq, .. }) => (*seq == 1).then_some(()),
        _ => None,
    })
    .await;
    bob.quit().await;
    elsewhere.stop().await;

    let mut server = TestServer::start(&addr.to_string(), dir.path()).await;
    let stage = expect(&mut alice_events, "read, after reconnecting", |e| match e {
        Event::Status(u) if u.id == id && u.status.stage == Stage::Read => Some(u.status.stage),
        _ => None,
    })
    .await;
    assert_eq!(stage, Stage::Read);
    server.stop().await;
}

#[tokio::test]
async fn a_message_sent_before_the_client_started_moves_on_when_it_is_delivered_and_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    connect(&server, "bob").await.0.quit().await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let id = alice
        .send(conv("bob"), "are you around".into())
        .await
        .unwrap();
    status_of(&mut alice_events, "stored", id, |_| true).await;
    alice.quit().await;

    // A new start of alice's client knows the message only from history.
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    alice
        .request(ClientMessage::History {
            req: Some(1),
            conv: conv("bob"),
            before: None,
            after: None,
            limit: None,
        })
        .await
        .unwrap();
    expect(&mut alice_events, "the page", |e| match e {
        Event::Server(ServerMessage::History { messages, .. }) => {
            messages.iter().any(|m| m.id == id).then_some(())
        }
        _ => None,
    })
    .await;
    let (bob, _bob_events, _) = connect(&server, "bob").await;
    let delivered = status_of(&mut alice_events, "delivered", id, |s| {
        s.stage > Stage::Stored
    })
    .await
    .stage;
    assert_eq!(delivered, Stage::Delivered);
    bob.request(ClientMessage::Read {
        req: Some(1),
        conv: conv("alice"),
        seq: None,
    })
    .await
    .unwrap();
    let read = status_of(&mut alice_events, "read", id, |s| s.stage > Stage::Stored)
        .await
        .stage;
    assert_eq!(read, Stage::Read);
    server.stop().await;
}

#[tokio::test]
async fn what_another_device_sent_while_this_one_was_away_is_filled_in_after_reconnecting() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let addr = server.addr;
    let (laptop, mut laptop_events, _) = connect(&server, "alice").await;
    let mut ui = Ui::new();
    let (bob, _bob_events, _) = connect(&server, "bob").await;
    bob.send(conv("alice"), "before".into()).await.unwrap();
    shown(&mut laptop_events, &mut ui, "bob's message", |e| match e {
        Event::Server(ServerMessage::Message(m)) => Some(m.seq),
        _ => None,
    })
    .await;
    bob.quit().await;
    server.stop().await;

    // The laptop cannot reach the server on its port; the phone can, on another.
    let mut elsewhere = TestServer::start("127.0.0.1:0", dir.path()).await;
    let (phone, _phone_events, _) = connect(&elsewhere, "alice").await;
    phone
        .send(conv("bob"), "from the phone".into())
        .await
        .unwrap();
    phone.quit().await;
    elsewhere.stop().await;

    // No catch-up brings the phone's own message: the laptop reads it back.
    let mut server = TestServer::start(&addr.to_string(), dir.path()).await;
    let bodies = shown(
        &mut laptop_events,
        &mut ui,
        "the phone's message",
        |e| match e {
            Event::Refreshed { messages, .. } => {
                Some(messages.iter().map(|m| m.body.clone()).collect::<Vec<_>>())
            }
            _ => None,
        },
    )
    .await;
    assert_eq!(bodies, ["from the phone"]);
    let screen = ui.screen();
    assert!(
        screen.contains("bob: before") && screen.contains("alice: from the phone"),
        "{screen}"
    );
    laptop.quit().await;
    server.stop().await;
}

#[tokio::test]
async fn a_message_sent_from_another_connection_moves_on_here_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    connect(&server, "bob").await.0.quit().await;
    let (laptop, _laptop_events, _) = connect(&server, "alice").await;
    let (_phone, mut phone_events, _) = connect(&server, "alice").await;
    let id = laptop
        .send(conv("bob"), "from the laptop".into())
        .await
        .unwrap();
    let echo = next_chat(&mut phone_events, "the laptop's message").await;
    assert_eq!(echo.id, id);
    let (_bob, _bob_events, _) = connect(&server, "bob").await;
    let delivered = status_of(&mut phone_events, "delivered, on the phone", id, |s| {
        s.stage > Stage::Stored
    })
    .await
    .stage;
    assert_eq!(delivered, Stage::Delivered);
    server.stop().await;
}

#[tokio::test]
async fn group_receipts_reach_the_sender_member_by_member() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let (carol, mut carol_events, _) = connect(&server, "carol").await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    let group: classchat_common::GroupName = "cs101".parse().unwrap();
    carol
        .request(ClientMessage::Create {
            req: Some(1),
            group: group.clone(),
            members: Vec::new(),
            access: None,
            posting: None,
        })
        .await
        .unwrap();
    expect(&mut carol_events, "created", |e| {
        matches!(e, Event::Server(ServerMessage::Group { .. })).then_some(())
    })
    .await;
    for (client, events) in [(&alice, &mut alice_events), (&bob, &mut bob_events)] {
        client
            .request(ClientMessage::Join {
                req: Some(1),
                group: group.clone(),
            })
            .await
            .unwrap();
        expect(events, "joined", |e| {
            matches!(e, Event::Server(ServerMessage::Group { .. })).then_some(())
        })
        .await;
    }

    let id = carol
        .send(conv("#cs101"), "homework is out".into())
        .await
        .unwrap();
    let delivered_to_both = expect(&mut carol_events, "delivered 2/2", |e| match e {
        Event::Status(u) if u.id == id && u.status.delivered == 2 => Some(u.status),
        _ => None,
    })
    .await;
    assert_eq!(
        (delivered_to_both.stage, delivered_to_both.of),
        (Stage::Delivered, 2)
    );

    alice
        .request(ClientMessage::Read {
            req: Some(2),
            conv: conv("#cs101"),
            seq: None,
        })
        .await
        .unwrap();
    let one = expect(&mut carol_events, "read 1/2", |e| match e {
        Event::Status(u) if u.id == id && u.status.read == 1 => Some(u.status.stage),
        _ => None,
    })
    .await;
    assert_eq!(one, Stage::Delivered, "read by one of two is not read yet");
    bob.request(ClientMessage::Read {
        req: Some(2),
        conv: conv("#cs101"),
        seq: None,
    })
    .await
    .unwrap();
    let both = expect(&mut carol_events, "read 2/2", |e| match e {
        Event::Status(u) if u.id == id && u.status.read == 2 => Some(u.status.stage),
        _ => None,
    })
    .await;
    assert_eq!(both, Stage::Read);
    server.stop().await;
}

#[tokio::test]
async fn history_pages_back_to_the_first_message_without_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    connect(&server, "bob").await.0.quit().await;
    let mut last = None;
    for i in 0..120 {
        last = Some(
            alice
                .send(conv("bob"), format!("message {i}"))
                .await
                .unwrap(),
        );
    }
    let last = last.unwrap();
    expect(&mut alice_events, "the last one stored", |e| match e {
        Event::Status(u) if u.id == last => Some(()),
        _ => None,
    })
    .await;

    let mut seqs = Vec::new();
    let mut before = None;
    for page in 0..10 {
        alice
            .request(ClientMessage::History {
                req: Some(100 + page),
                conv: conv("bob"),
                before,
                after: None,
                limit: Some(50),
            })
            .await
            .unwrap();
        let (messages, more) = expect(&mut alice_events, "a page", |e| match e {
            Event::Server(ServerMessage::History {
                req,
                messages,
                more,
                ..
            }) if *req == Some(100 + page) => Some((messages.clone(), *more)),
            _ => None,
        })
        .await;
        before = messages.first().map(|m| m.seq);
        seqs.splice(0..0, messages.iter().map(|m| m.seq));
        if !more {
            break;
        }
    }
    assert_eq!(seqs, (1..=120).collect::<Vec<u64>>());
    server.stop().await;
}

#[tokio::test]
async fn after_a_password_reset_the_client_waits_for_the_new_password_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let addr = server.addr;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (_bob, mut bob_events, _) = connect(&server, "bob").await;

    server.stop().await;
    expect(&mut alice_events, "reconnecting", |e| {
        matches!(e, Event::Link(Link::Reconnecting { .. })).then_some(())
    })
    .await;
    let id = alice
        .send(conv("bob"), "typed while the server was down".into())
        .await
        .unwrap();
    // The operator resets alice's password while the server is stopped.
    let (_, password) =
        classchat_server::admin::reset_password(dir.path(), &"alice".parse().unwrap()).unwrap();
    let mut server = TestServer::start(&addr.to_string(), dir.path()).await;

    // Her saved login and her old password are refused: the client asks.
    let reason = expect(
        &mut alice_events,
        "a request for the password",
        |e| match e {
            Event::Link(Link::NeedsPassword { reason }) => Some(reason.clone()),
            Event::Link(Link::Connected { .. }) => panic!("connected with the old password"),
            _ => None,
        },
    )
    .await;
    assert!(reason.contains("wrong password for alice"), "{reason}");

    alice
        .act(Action::Password(Secret("not it either".into())))
        .await
        .unwrap();
    expect(&mut alice_events, "asked again after a wrong one", |e| {
        matches!(e, Event::Link(Link::NeedsPassword { .. })).then_some(())
    })
    .await;

    alice.act(Action::Password(Secret(password))).await.unwrap();
    expect(&mut alice_events, "connected with the new password", |e| {
        matches!(e, Event::Link(Link::Connected { .. })).then_some(())
    })
    .await;
    expect(
        &mut alice_events,
        "what she typed meanwhile is stored",
        |e| match e {
            Event::Status(u) if u.id == id && u.status.stage >= Stage::Stored => Some(()),
            _ => None,
        },
    )
    .await;
    let body = expect(&mut bob_events, "and delivered", |e| match e {
        Event::Server(ServerMessage::Message(m)) => Some(m.body.clone()),
        _ => None,
    })
    .await;
    assert_eq!(body, "typed while the server was down");
    server.stop().await;
}

#[tokio::test]
async fn alices_status_line_counts_everyone_who_logs_in_after_her_as_who_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let mut ui = Ui::new();
    shown(&mut alice_events, &mut ui, "alice alone", |e| match e {
        Event::Server(ServerMessage::Online { total: 1 }) => Some(()),
        _ => None,
    })
    .await;
    assert!(
        ui.status_line().contains("· 1 online"),
        "{}",
        ui.status_line()
    );

    // bob and carol share no conversation with her: no presence reaches her.
    let (bob, _bob_events, _) = connect(&server, "bob").await;
    let (carol, _carol_events, _) = connect(&server, "carol").await;
    shown(&mut alice_events, &mut ui, "three online", |e| match e {
        Event::Server(ServerMessage::Online { total: 3 }) => Some(()),
        _ => None,
    })
    .await;
    assert!(
        ui.status_line().contains("· 3 online"),
        "{}",
        ui.status_line()
    );
    alice
        .request(ClientMessage::Who { req: Some(1) })
        .await
        .unwrap();
    let total = expect(&mut alice_events, "who", |e| match e {
        Event::Server(ServerMessage::Who { total, .. }) => Some(*total),
        _ => None,
    })
    .await;
    assert_eq!(total, 3);

    carol.quit().await;
    shown(&mut alice_events, &mut ui, "two online", |e| match e {
        Event::Server(ServerMessage::Online { total: 2 }) => Some(()),
        _ => None,
    })
    .await;
    assert!(
        ui.status_line().contains("· 2 online"),
        "{}",
        ui.status_line()
    );
    bob.quit().await;
    alice.quit().await;
    server.stop().await;
}

#[tokio::test]
async fn a_group_made_again_under_a_deleted_ones_name_is_heard_from_its_first_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start("127.0.0.1:0", dir.path()).await;
    let (alice, mut alice_events, _) = connect(&server, "alice").await;
    let (bob, mut bob_events, _) = connect(&server, "bob").await;
    let lab: classchat_common::GroupName = "lab".parse().unwrap();
    let create = |req| ClientMessage::Create {
        req: Some(req),
        group: lab.clone(),
        members: vec!["alice".parse().unwrap()],
        access: None,
        posting: None,
    };
    let answered = |req| {
        move |e: &Event| match e {
            Event::Server(ServerMessage::Group { req: Some(r), .. })
            | Event::Server(ServerMessage::GroupDeleted { req: Some(r), .. }) => {
                (*r == req).then_some(())
            }
            _ => None,
        }
    };
    bob.request(create(1)).await.unwrap();
    expect(&mut bob_events, "created", answered(1)).await;
    for body in ["one", "two", "three"] {
        bob.send(conv("#lab"), body.into()).await.unwrap();
        assert_eq!(said(&mut alice_events, body).await, body);
    }
    bob.request(ClientMessage::Delete {
        req: Some(2),
        group: lab.clone(),
    })
    .await
    .unwrap();
    expect(&mut bob_events, "deleted", answered(2)).await;
    bob.request(create(3)).await.unwrap();
    expect(&mut bob_events, "created again", answered(3)).await;
    bob.send(conv("#lab"), "fresh start".into()).await.unwrap();
    // Its seq 1 is no duplicate of the old group's 1.
    assert_eq!(
        said(&mut alice_events, "the new group's message").await,
        "fresh start"
    );
    alice.quit().await;
    bob.quit().await;
    server.stop().await;
}

/// The body of the next text message (not a group event) to arrive.
async fn said(events: &mut tokio::sync::mpsc::Receiver<Event>, what: &str) -> String {
    expect(events, what, |e| match e {
        Event::Server(ServerMessage::Message(m)) if m.event.is_none() => Some(m.body.clone()),
        _ => None,
    })
    .await
}
