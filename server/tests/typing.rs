//! "alice is typing…": passed on at once to the other members, never stored,
//! thinned out, and not sent where the typist may not post.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use classchat_common::protocol::Posting;
use classchat_common::{ClientMessage, GroupName, ServerMessage};
use support::{ServerOptions, TestClient, conv, start_server, user};

fn typing(to: &str) -> ClientMessage {
    ClientMessage::Typing { to: conv(to) }
}

/// The next line that is not presence, which must be `typing`.
async fn next_typing(c: &mut TestClient) -> (String, String) {
    let got = c
        .recv_until(5, |m| {
            !matches!(
                m,
                ServerMessage::Presence { .. } | ServerMessage::Online { .. }
            )
        })
        .await;
    expect!(got, ServerMessage::Typing { conv, user } => (conv.to_string(), user.to_string()))
}

#[tokio::test]
async fn typing_reaches_the_others_once_in_a_while_and_is_never_stored() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut alice_phone = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.send_stored("bob", "hi").await;
    bob.recv_message().await;
    alice_phone.recv_message().await;

    // Every keystroke says so; bob hears it once.
    for _ in 0..20 {
        alice.send(typing("bob")).await;
    }
    assert_eq!(
        next_typing(&mut bob).await,
        ("alice".into(), "alice".into())
    );
    alice.send_stored("bob", "there").await;
    let next = bob
        .recv_until(5, |m| {
            !matches!(
                m,
                ServerMessage::Presence { .. } | ServerMessage::Online { .. }
            )
        })
        .await;
    expect!(next, ServerMessage::Message(m) if m.body == "there" => ());
    // Alice's other device is not told she is typing.
    let next = alice_phone
        .recv_until(5, |m| {
            !matches!(
                m,
                ServerMessage::Presence { .. } | ServerMessage::Online { .. }
            )
        })
        .await;
    expect!(next, ServerMessage::Message(m) if m.body == "there" => ());

    // Nothing of it is kept: history holds the two messages only.
    bob.send(typing("alice")).await;
    assert_eq!(next_typing(&mut alice).await, ("bob".into(), "bob".into()));
    let req = bob.req();
    bob.send(ClientMessage::History {
        req: Some(req),
        conv: conv("alice"),
        before: None,
        after: None,
        limit: None,
    })
    .await;
    let page = bob
        .recv_until(5, |m| matches!(m, ServerMessage::History { .. }))
        .await;
    expect!(page, ServerMessage::History { messages, .. } if messages.len() == 2 => ());
}

#[tokio::test]
async fn typing_goes_to_a_groups_members_and_not_from_who_may_not_post() {
    let server = start_server(ServerOptions::default().memory()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let mut mallory = server.login("mallory").await;
    alice
        .send(ClientMessage::Create {
            req: Some(1),
            group: GroupName::new("news").unwrap(),
            members: vec![user("bob"), user("carol")],
            access: None,
            posting: Some(Posting::Moderators),
        })
        .await;
    alice
        .recv_until(10, |m| matches!(m, ServerMessage::Group { .. }))
        .await;
    // Bob hears of his addition and carol's; carol of hers.
    bob.recv_message().await;
    bob.recv_message().await;
    carol.recv_message().await;

    // Not a member, or a member who may not post here: nobody hears it,
    // and the typist is not answered either.
    mallory.send(typing("#news")).await;
    bob.send(typing("#news")).await;
    alice.send(typing("#news")).await;
    for c in [&mut bob, &mut carol] {
        assert_eq!(next_typing(c).await, ("#news".into(), "alice".into()));
    }
    mallory.send_stored("bob", "still here").await;
    let next = bob
        .recv_until(5, |m| {
            !matches!(
                m,
                ServerMessage::Presence { .. } | ServerMessage::Online { .. }
            )
        })
        .await;
    expect!(next, ServerMessage::Message(m) if m.body == "still here" => ());
    // Alice, the owner, was not told of bob's typing either.
    bob.send_stored("alice", "done").await;
    let next = alice
        .recv_until(5, |m| {
            !matches!(
                m,
                ServerMessage::Presence { .. } | ServerMessage::Online { .. }
            )
        })
        .await;
    expect!(next, ServerMessage::Message(m) if m.body == "done" => ());
}
