//! "Floods of every other request that writes or fans out (join/leave, create
//! with members, add, rename, password) and of heavy reads (history, read_by):
//! rate-limited too. Nothing one user does grows the server's memory without
//! bound (groups, offers, password hashing included)."

use std::collections::HashSet;

use classchat_common::protocol::{Req, Secret};
use classchat_common::{ClientMessage, Conv, ErrorCode, GroupName, OfferId, ServerMessage};
use classchat_server::ratelimit::Rate;

use crate::support::{ServerOptions, TestClient, conv, start_server, user};

fn group(name: &str) -> GroupName {
    name.parse().expect("a valid group name")
}

/// Writes every line at once, as one burst.
async fn burst(c: &mut TestClient, messages: &[ClientMessage]) {
    let mut bytes = Vec::new();
    for m in messages {
        bytes.extend_from_slice(&m.to_line());
    }
    c.send_raw(&bytes).await;
}

/// Reads until each of `reqs` is answered: the answers that were not errors,
/// and the `retry_after_ms` of each `rate_limited` refusal.
async fn answers(c: &mut TestClient, reqs: &HashSet<Req>) -> (Vec<ServerMessage>, Vec<u64>) {
    let (mut ok, mut limited) = (Vec::new(), Vec::new());
    let mut left = reqs.clone();
    for _ in 0..(reqs.len() * 4 + 100) {
        if left.is_empty() {
            break;
        }
        let msg = c.recv().await;
        let Some(req) = msg.req().filter(|r| left.contains(r)) else {
            continue;
        };
        left.remove(&req);
        match msg {
            ServerMessage::Error {
                code: ErrorCode::RateLimited,
                retry_after_ms,
                message,
                ..
            } => {
                assert!(message.contains("try again"), "{message}");
                limited.push(retry_after_ms.expect("rate_limited says when to retry"));
            }
            other => ok.push(other),
        }
    }
    assert!(left.is_empty(), "unanswered: {left:?}");
    (ok, limited)
}

/// Makes the `i`-th request of a flood, with its `req`.
type MakeRequest = Box<dyn FnMut(Option<Req>, usize) -> ClientMessage>;

/// `n` requests made by `make`, each with a fresh `req`.
fn requests(
    c: &mut TestClient,
    n: usize,
    mut make: impl FnMut(Option<Req>, usize) -> ClientMessage,
) -> (Vec<ClientMessage>, HashSet<Req>) {
    let mut reqs = HashSet::new();
    let messages = (0..n)
        .map(|i| {
            let req = c.req();
            reqs.insert(req);
            make(Some(req), i)
        })
        .collect();
    (messages, reqs)
}

#[tokio::test]
async fn a_burst_of_joins_and_leaves_stores_at_most_the_allowance_and_the_members_see_no_more() {
    let server = start_server(ServerOptions::default()).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut mallory = server.login("mallory").await;
    alice
        .send(ClientMessage::Create {
            req: Some(1),
            group: group("lab"),
            members: vec![user("bob")],
            // Open, so that mallory may join.
            access: Some(classchat_common::protocol::Access::Open),
            posting: None,
        })
        .await;
    alice
        .recv_until(5, |m| matches!(m, ServerMessage::Group { .. }))
        .await;
    bob.recv_message().await;

    // 2,500 join and leave pairs written in one go, as the trial did.
    let (flood, reqs) = requests(&mut mallory, 5_000, |req, i| {
        if i % 2 == 0 {
            ClientMessage::Join {
                req,
                group: group("lab"),
            }
        } else {
            ClientMessage::Leave {
                req,
                group: group("lab"),
            }
        }
    });
    burst(&mut mallory, &flood).await;
    let (done, limited) = answers(&mut mallory, &reqs).await;
    let allowance = classchat_server::ratelimit::Rates::default().changes.burst as usize;
    let groups = done
        .iter()
        .filter(|m| matches!(m, ServerMessage::Group { .. }))
        .count();
    // A few more may trickle in as the allowance refills while the burst is read.
    assert!(
        groups >= allowance && groups <= allowance + 10,
        "{groups} joins and leaves went through"
    );
    assert!(limited.len() >= 5_000 - allowance - 10);
    assert!(
        limited.iter().all(|&ms| ms > 0 && ms <= 60_000),
        "{limited:?}"
    );

    // What bob sees, and what the history keeps, is what went through.
    let events = {
        let req = bob.req();
        bob.send(ClientMessage::History {
            req: Some(req),
            conv: conv("#lab"),
            before: None,
            after: Some(0),
            limit: Some(200),
        })
        .await;
        match bob
            .recv_until(2 * allowance + 50, |m| m.req() == Some(req))
            .await
        {
            ServerMessage::History { messages, more, .. } => {
                assert!(!more);
                messages.len()
            }
            other => panic!("{other:?}"),
        }
    };
    // created, added bob, and then mallory's changes.
    assert_eq!(events, 2 + groups);

    // Sending is counted apart: mallory may still talk.
    let (_, stored) = mallory.send_stored("alice", "sorry").await;
    assert!(matches!(stored, ServerMessage::Stored { .. }));
}

#[tokio::test]
async fn every_kind_of_request_that_writes_or_reads_a_lot_has_its_own_allowance() {
    const BURST: u32 = 10;
    let options = ServerOptions::default().memory().config(|c| {
        let slow = Rate::per_minute(1, BURST);
        c.rates.changes = slow;
        c.rates.history = slow;
        c.rates.queries = slow;
        c.rates.files = slow;
        c.rates.password = Rate::per_minute(1, 3);
    });
    let server = start_server(options).await;
    let mut alice = server.login("alice").await;
    let _bob = server.login("bob").await;
    alice.send_stored("bob", "hello").await;

    let b = BURST as usize;
    let cases: Vec<(&str, usize, MakeRequest)> = vec![
        (
            "group changes",
            b,
            Box::new(|req, i| ClientMessage::Create {
                req,
                group: group(&format!("g{i}")),
                members: Vec::new(),
                access: None,
                posting: None,
            }),
        ),
        (
            "history",
            b,
            Box::new(|req, _| ClientMessage::History {
                req,
                conv: conv("bob"),
                before: None,
                after: None,
                limit: Some(1),
            }),
        ),
        (
            "queries",
            b,
            Box::new(|req, i| match i % 7 {
                0 => ClientMessage::Who { req },
                1 => ClientMessage::Whois {
                    req,
                    user: user("bob"),
                },
                2 => ClientMessage::Groups { req },
                3 => ClientMessage::Members {
                    req,
                    group: group("g0"),
                },
                4 => ClientMessage::Files { req },
                5 => ClientMessage::Conversations { req },
                _ => ClientMessage::ReadBy {
                    req,
                    id: classchat_common::MessageId::new(),
                },
            }),
        ),
        (
            "answers to offers",
            b,
            Box::new(|req, i| {
                let offer = OfferId::new();
                match i % 4 {
                    0 => ClientMessage::Accept {
                        req,
                        offer,
                        bulk: false,
                    },
                    1 => ClientMessage::Decline { req, offer },
                    2 => ClientMessage::Received { req, offer },
                    _ => ClientMessage::Cancel { req, offer },
                }
            }),
        ),
        (
            "password changes",
            3,
            Box::new(|req, _| ClientMessage::Password {
                req,
                old: Secret("not it".into()),
                new: Secret("new one".into()),
            }),
        ),
    ];
    for (what, allowance, make) in cases {
        let (flood, reqs) = requests(&mut alice, allowance + 5, make);
        burst(&mut alice, &flood).await;
        let (done, limited) = answers(&mut alice, &reqs).await;
        assert_eq!(done.len(), allowance, "{what}: {done:?}");
        assert_eq!(limited.len(), 5, "{what}");
        assert!(
            limited.iter().all(|&ms| ms > 1_000),
            "{what}: one a minute, so seconds to wait: {limited:?}"
        );
    }
    // Messages have an allowance of their own, untouched by all of that.
    alice.send_stored("bob", "still here").await;
}

#[tokio::test]
async fn a_user_can_be_put_into_no_more_groups_than_the_limit_by_anyone() {
    let options = ServerOptions::default().memory().config(|c| {
        c.max_memberships = 3;
        c.rates.changes = Rate::per_second(1000, 1000);
    });
    let server = start_server(options).await;
    let mut mallory = server.login("mallory").await;
    let mut victim = server.login("victim").await;
    let mut created = 0;
    for i in 0..6 {
        let req = mallory.req();
        mallory
            .send(ClientMessage::Create {
                req: Some(req),
                group: group(&format!("trap{i}")),
                members: vec![user("victim")],
                access: None,
                posting: None,
            })
            .await;
        match mallory.recv_until(10, |m| m.req() == Some(req)).await {
            ServerMessage::Group { .. } => {
                created += 1;
                // Out again, so that only the victim's groups pile up.
                let req = mallory.req();
                mallory
                    .send(ClientMessage::Leave {
                        req: Some(req),
                        group: group(&format!("trap{i}")),
                    })
                    .await;
                mallory.recv_until(10, |m| m.req() == Some(req)).await;
            }
            ServerMessage::Error { code, message, .. } => {
                assert_eq!(code, ErrorCode::QuotaExceeded, "{message}");
                assert!(message.contains("victim is in 3 groups"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 3, "no group is made without its members");

    // Adding to an existing group, or joining one, is held to the same limit.
    let req = mallory.req();
    mallory
        .send(ClientMessage::Create {
            req: Some(req),
            group: group("plain"),
            members: Vec::new(),
            access: None,
            posting: None,
        })
        .await;
    mallory.recv_until(10, |m| m.req() == Some(req)).await;
    let req = mallory.req();
    mallory
        .send(ClientMessage::Add {
            req: Some(req),
            group: group("plain"),
            user: user("victim"),
        })
        .await;
    let refused = mallory.recv_until(10, |m| m.req() == Some(req)).await;
    assert!(
        matches!(
            refused,
            ServerMessage::Error {
                code: ErrorCode::QuotaExceeded,
                ..
            }
        ),
        "{refused:?}"
    );
    let req = victim.req();
    victim
        .send(ClientMessage::Join {
            req: Some(req),
            group: group("plain"),
        })
        .await;
    let refused = victim.recv_until(20, |m| m.req() == Some(req)).await;
    match refused {
        ServerMessage::Error {
            code: ErrorCode::QuotaExceeded,
            message,
            ..
        } => assert!(message.contains("leave one first"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn one_user_owns_no_more_groups_than_the_limit_even_after_leaving_them() {
    let options = ServerOptions::default().memory().config(|c| {
        c.max_owned_groups = 2;
        c.rates.changes = Rate::per_second(1000, 1000);
    });
    let server = start_server(options).await;
    let mut mallory = server.login("mallory").await;
    let ask = async |c: &mut TestClient, make: &dyn Fn(Option<Req>) -> ClientMessage| {
        let req = c.req();
        c.send(make(Some(req))).await;
        c.recv_until(10, |m| m.req() == Some(req)).await
    };
    for g in ["a", "b"] {
        let made = ask(&mut mallory, &|req| ClientMessage::Create {
            req,
            group: group(g),
            members: Vec::new(),
            access: None,
            posting: None,
        })
        .await;
        assert!(matches!(made, ServerMessage::Group { .. }), "{made:?}");
        // Leaving an empty group keeps it, and its owner (PROTOCOL.md §10.1).
        let left = ask(&mut mallory, &|req| ClientMessage::Leave {
            req,
            group: group(g),
        })
        .await;
        assert!(matches!(left, ServerMessage::Group { .. }), "{left:?}");
    }
    let refused = ask(&mut mallory, &|req| ClientMessage::Create {
        req,
        group: group("c"),
        members: Vec::new(),
        access: None,
        posting: None,
    })
    .await;
    match refused {
        ServerMessage::Error {
            code: ErrorCode::QuotaExceeded,
            message,
            ..
        } => assert!(message.contains("you own 2 groups"), "{message}"),
        other => panic!("{other:?}"),
    }
    // Deleting one makes room again.
    let deleted = ask(&mut mallory, &|req| ClientMessage::Delete {
        req,
        group: group("a"),
    })
    .await;
    assert!(
        matches!(deleted, ServerMessage::GroupDeleted { .. }),
        "{deleted:?}"
    );
    let made = ask(&mut mallory, &|req| ClientMessage::Create {
        req,
        group: group("c"),
        members: Vec::new(),
        access: None,
        posting: None,
    })
    .await;
    assert!(matches!(made, ServerMessage::Group { .. }), "{made:?}");
}

#[tokio::test]
async fn open_offers_are_limited_in_number_however_small_their_files() {
    let options = ServerOptions::default()
        .memory()
        .config(|c| c.max_open_offers = 3);
    let server = start_server(options).await;
    let mut mallory = server.login("mallory").await;
    let _bob = server.login("bob").await;
    let mut ready = 0;
    for _ in 0..5 {
        let req = mallory.req();
        mallory
            .send(ClientMessage::Offer {
                req: Some(req),
                to: Conv::User(user("bob")),
                name: "empty.txt".into(),
                size: 1,
                sha256: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb".into(),
                stream: false,
            })
            .await;
        match mallory.recv_until(10, |m| m.req() == Some(req)).await {
            ServerMessage::UploadReady { .. } => ready += 1,
            ServerMessage::Error {
                code: ErrorCode::QuotaExceeded,
                message,
                ..
            } => assert!(message.contains("3 open offers"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ready, 3);
}
