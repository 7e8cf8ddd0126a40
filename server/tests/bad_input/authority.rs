//! "Posing as another user, sending to groups one is not in, renaming or kicking
//! without owning, reading another conversation's history or receipts,
//! acknowledging someone else's messages."

use classchat_common::protocol::{Counts, MemberState, Req, Secret};
use classchat_common::{ClientMessage, ErrorCode, GroupName, MessageId, OfferId, ServerMessage};

use crate::support::{
    self, ServerOptions, TestClient, TestServer, conv, send_to, start_server, user,
};

fn group(name: &str) -> GroupName {
    name.parse().expect("a valid group name")
}

/// Sends a request with a fresh `req` and returns its answer, passing over
/// presence changes, receipts and chat messages (group events).
async fn ask(
    c: &mut TestClient,
    request: impl FnOnce(Option<Req>) -> ClientMessage,
) -> ServerMessage {
    let req = c.req();
    c.send(request(Some(req))).await;
    c.recv_until(20, |m| m.req() == Some(req)).await
}

/// The answer must be an error with `code` that says something.
#[track_caller]
fn assert_refused(answer: &ServerMessage, code: ErrorCode) -> String {
    match answer {
        ServerMessage::Error {
            code: got, message, ..
        } if *got == code => {
            assert!(!message.is_empty(), "an error says what happened");
            message.clone()
        }
        other => panic!("expected {code:?}, got {other:?}"),
    }
}

/// `owner` creates `#g` and adds `members`, each of whom reads the event.
async fn make_group(owner: &mut TestClient, g: &str, members: &mut [&mut TestClient]) {
    let created = ask(owner, |req| ClientMessage::Create {
        req,
        group: group(g),
        members: Vec::new(),
        access: None,
        posting: None,
    })
    .await;
    expect!(created, ServerMessage::Group { .. } => ());
    for m in members {
        let name = m.name.clone().expect("logged in");
        let added = ask(owner, |req| ClientMessage::Add {
            req,
            group: group(g),
            user: name,
        })
        .await;
        expect!(added, ServerMessage::Group { .. } => ());
        let event = m.recv_message().await;
        assert!(event.event.is_some(), "{event:?}");
    }
}

/// The newest `seq` in `conv` as `c` sees it, from its history.
async fn newest_seq(c: &mut TestClient, conv_name: &str) -> u64 {
    let page = ask(c, |req| ClientMessage::History {
        req,
        conv: conv(conv_name),
        before: None,
        after: None,
        limit: None,
    })
    .await;
    let messages = expect!(page, ServerMessage::History { messages, .. } => messages);
    messages.last().map_or(0, |m| m.seq)
}

async fn read_by(c: &mut TestClient, id: MessageId) -> ServerMessage {
    ask(c, |req| ClientMessage::ReadBy { req, id }).await
}

/// Who has received and read `id`, as its sender sees it.
async fn receipts(c: &mut TestClient, id: MessageId) -> (Counts, Vec<MemberState>) {
    let answer = read_by(c, id).await;
    expect!(answer, ServerMessage::ReadBy { counts, members, .. } => (counts, members))
}

#[tokio::test]
async fn posing_as_another_user_is_refused_and_the_real_one_chats_on_untouched() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut mallory = server.login("mallory").await;

    // Claiming to be alice in a message changes nothing: the server stamps it.
    let id = MessageId::new();
    let forged = format!(
        r#"{{"type":"send","id":"{id}","to":"bob","body":"it's me, alice","from":"alice","user":"alice","conv":"alice","seq":1}}"#
    );
    mallory.send_raw(format!("{forged}\n").as_bytes()).await;
    expect!(mallory.recv().await, ServerMessage::Stored { id: got, .. } if got == id => ());
    let m = bob.recv_message().await;
    assert_eq!((m.from, m.conv), (user("mallory"), conv("mallory")));

    // Logging in again as alice on a logged-in connection, or saying hello again.
    mallory
        .send(ClientMessage::Login {
            user: user("alice"),
            password: Some(Secret(support::PASSWORD.into())),
            token: None,
            create: true,
        })
        .await;
    mallory.recv_error(ErrorCode::AlreadyLoggedIn).await;
    mallory
        .send(ClientMessage::Hello {
            version: 1,
            client: None,
        })
        .await;
    mallory.recv_error(ErrorCode::AlreadyLoggedIn).await;

    // On a new connection: alice's name with a guessed password, or with
    // mallory's own resume token.
    let mut impostor = server.connect().await;
    impostor.hello().await;
    impostor
        .send(ClientMessage::Login {
            user: user("alice"),
            password: Some(Secret("password123".into())),
            token: None,
            create: true,
        })
        .await;
    impostor.recv_error(ErrorCode::BadPassword).await;
    let stolen = mallory.token().to_owned();
    impostor
        .send(ClientMessage::Login {
            user: user("alice"),
            password: None,
            token: Some(Secret(stolen)),
            create: true,
        })
        .await;
    impostor.recv_error(ErrorCode::BadToken).await;
    // Still not logged in: nothing but login is answered.
    impostor.send(ClientMessage::Who { req: Some(1) }).await;
    impostor.recv_error(ErrorCode::LoginRequired).await;

    // Alice heard nothing of any of it and chats on; her password still works.
    alice.expect_nothing_pending().await;
    let (id, _) = alice.send_stored("bob", "all quiet here").await;
    let m = bob.recv_message().await;
    assert_eq!((m.id, m.from), (id, user("alice")));
    let again = server.login("alice").await;
    assert!(!again.created, "the same account");
}

#[tokio::test]
async fn an_outsider_cannot_send_or_offer_to_a_group_and_its_members_see_nothing() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut mallory = server.login("mallory").await;
    make_group(&mut alice, "g", &mut [&mut bob]).await;
    let before = newest_seq(&mut alice, "#g").await;

    let (id, send) = send_to("#g", "let me in");
    mallory.send(send).await;
    let e = mallory.recv_error(ErrorCode::NotMember).await;
    expect!(e, ServerMessage::Error { id: Some(got), .. } if got == id => ());
    let answer = ask(&mut mallory, |req| ClientMessage::Offer {
        req,
        to: conv("#g"),
        name: "payload.sh".into(),
        size: 10,
        sha256: "0".repeat(64),
        stream: false,
    })
    .await;
    assert_refused(&answer, ErrorCode::NotMember);
    // Nor can he reach the group through a name that only looks like it.
    let (_, send) = send_to("#G", "case games");
    mallory.send(send).await;
    mallory.recv_error(ErrorCode::NotMember).await;

    // The members saw nothing, and no sequence number was used up.
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
    let (id, stored) = alice.send_stored("#g", "members only").await;
    expect!(stored, ServerMessage::Stored { seq, .. } if seq == before + 1 => ());
    let m = bob.recv_message().await;
    assert_eq!((m.id, m.seq), (id, before + 1));
}

#[tokio::test]
async fn another_conversations_history_and_receipts_stay_private() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut mallory = server.login("mallory").await;
    make_group(&mut alice, "g", &mut [&mut bob]).await;
    let (direct, _) = alice.send_stored("bob", "just between us").await;
    bob.recv_message().await;
    let (grouped, _) = alice.send_stored("#g", "members only").await;
    bob.recv_message().await;
    let alice_sees = receipts(&mut alice, direct).await;

    // The only conversations mallory can name are his own, which are empty.
    for name in ["alice", "bob", "ALICE"] {
        let page = ask(&mut mallory, |req| ClientMessage::History {
            req,
            conv: conv(name),
            before: None,
            after: None,
            limit: None,
        })
        .await;
        let messages = expect!(page, ServerMessage::History { messages, .. } => messages);
        assert!(messages.is_empty(), "{name}: {messages:?}");
    }
    let page = ask(&mut mallory, |req| ClientMessage::History {
        req,
        conv: conv("#g"),
        before: None,
        after: Some(0),
        limit: None,
    })
    .await;
    assert_refused(&page, ErrorCode::NotMember);
    let read = ask(&mut mallory, |req| ClientMessage::Read {
        req,
        conv: conv("#g"),
        seq: None,
    })
    .await;
    assert_refused(&read, ErrorCode::NotMember);
    // Receipts of someone else's messages are as unknown as messages never sent.
    for id in [direct, grouped, MessageId::new()] {
        let answer = read_by(&mut mallory, id).await;
        assert_refused(&answer, ErrorCode::UnknownMessage);
    }
    let list = ask(&mut mallory, |req| ClientMessage::Conversations { req }).await;
    let conversations =
        expect!(list, ServerMessage::Conversations { conversations, .. } => conversations);
    assert!(conversations.is_empty(), "{conversations:?}");
    let files = ask(&mut mallory, |req| ClientMessage::Files { req }).await;
    expect!(files, ServerMessage::Files { incoming, outgoing, .. } if incoming.is_empty() && outgoing.is_empty() => ());
    let offer = OfferId::new();
    let answer = ask(&mut mallory, |req| ClientMessage::Accept {
        req,
        offer,
        bulk: false,
    })
    .await;
    assert_refused(&answer, ErrorCode::UnknownOffer);

    // Nothing mallory did changed what alice sees or sent her anything.
    alice.expect_nothing_pending().await;
    assert_eq!(receipts(&mut alice, direct).await, alice_sees);
}

#[tokio::test]
async fn acknowledging_someone_elses_messages_moves_only_your_own_cursor() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let bob = server.login("bob").await;
    let bob_token = bob.token().to_owned();
    let mut carol = server.login("carol").await;
    let mut mallory = server.login("mallory").await;
    make_group(&mut alice, "g", &mut [&mut carol]).await;
    bob.bye().await;
    // Bob is away: three messages wait for him.
    let mut waiting = Vec::new();
    for i in 1..=3 {
        let (id, stored) = alice.send_stored("bob", &format!("for later {i}")).await;
        expect!(stored, ServerMessage::Stored { online: 0, .. } => ());
        waiting.push(id);
    }
    let (grouped, _) = alice.send_stored("#g", "who has seen this?").await;
    carol.recv_message().await;
    let group_before = receipts(&mut alice, grouped).await;

    // Mallory acknowledges and marks read everything he can name, as far as
    // it goes: none of it is his, and none of it is answered.
    for name in ["alice", "bob", "carol", "#g", "#G"] {
        mallory
            .send(ClientMessage::Ack {
                conv: conv(name),
                seq: u64::MAX,
            })
            .await;
    }
    mallory.expect_nothing_pending().await;
    for name in ["alice", "bob"] {
        let marked = ask(&mut mallory, |req| ClientMessage::Read {
            req,
            conv: conv(name),
            seq: Some(u64::MAX),
        })
        .await;
        expect!(marked, ServerMessage::ReadMarked { seq: 0, .. } => ());
    }
    // Alice acknowledging and reading her own messages to bob is not bob's doing.
    alice
        .send(ClientMessage::Ack {
            conv: conv("bob"),
            seq: 3,
        })
        .await;
    let marked = ask(&mut alice, |req| ClientMessage::Read {
        req,
        conv: conv("bob"),
        seq: Some(3),
    })
    .await;
    expect!(marked, ServerMessage::ReadMarked { .. } => ());

    // Nobody's receipts moved, and no receipt was sent.
    alice.expect_nothing_pending().await;
    carol.expect_nothing_pending().await;
    let (counts, members) = receipts(&mut alice, waiting[2]).await;
    let nothing_yet = Counts {
        delivered: 0,
        read: 0,
        of: 1,
    };
    assert_eq!(counts, nothing_yet);
    assert_eq!(
        members,
        [MemberState {
            user: user("bob"),
            delivered: false,
            read: false,
        }]
    );
    assert_eq!(receipts(&mut alice, grouped).await, group_before);

    // Bob still gets all three when he comes back; his own ack is what counts.
    let mut bob = TestClient::resume(server.addr, "bob", &bob_token).await;
    let got: Vec<MessageId> = bob.caught_up.iter().map(|m| m.id).collect();
    assert_eq!(got, waiting);
    bob.send(ClientMessage::Ack {
        conv: conv("alice"),
        seq: 3,
    })
    .await;
    let receipt = alice
        .recv_until(2, |m| matches!(m, ServerMessage::Receipt { .. }))
        .await;
    expect!(receipt, ServerMessage::Receipt { user: u, delivered: 3, .. } if u == user("bob") => ());
}

/// Renaming, adding, kicking, handing over and deleting without owning are in
/// `server/tests/groups.rs` (`members_and_outsiders_alike_are_refused_what_only_the_owner_may_do`);
/// this checks the same from the owner's side: nothing reaches the members.
#[tokio::test]
async fn renaming_or_kicking_without_owning_leaves_the_group_and_its_members_alone() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    make_group(&mut alice, "g", &mut [&mut bob, &mut carol]).await;
    let before = newest_seq(&mut alice, "#g").await;

    let why = assert_refused(
        &ask(&mut bob, |req| ClientMessage::Rename {
            req,
            group: group("g"),
            to: group("bobs"),
        })
        .await,
        ErrorCode::NotOwner,
    );
    assert!(why.contains("alice"), "names the owner: {why}");
    assert_refused(
        &ask(&mut bob, |req| ClientMessage::Kick {
            req,
            group: group("g"),
            user: user("carol"),
        })
        .await,
        ErrorCode::NotModerator,
    );

    // No event reached anyone, carol is still in, and the group still has its name.
    alice.expect_nothing_pending().await;
    carol.expect_nothing_pending().await;
    assert_eq!(newest_seq(&mut carol, "#g").await, before);
    let (id, _) = alice.send_stored("#g", "still ours").await;
    assert_eq!(carol.recv_message().await.id, id);
    assert_eq!(bob.recv_message().await.id, id);
}
