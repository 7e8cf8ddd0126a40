//! `search`: messages with every word asked, in the conversations the user
//! belongs to now, newest first, paged; as stored now (edits found by their new
//! text, deleted messages not at all), through the real server on each store.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use classchat_common::protocol::ChatMessage;
use classchat_common::{ClientMessage, ErrorCode, GroupName, MessageId, ServerMessage};
use classchat_server::ratelimit::Rate;
use support::{ServerOptions, TestClient, TestServer, conv, start_server, user};

/// One page of a search: the messages (as `(conv, seq, body)`) and `next`.
type Page = (Vec<(String, u64, String)>, Option<String>);

async fn ask(
    c: &mut TestClient,
    words: &str,
    within: Option<&str>,
    before: Option<String>,
    limit: Option<u32>,
) -> ServerMessage {
    let req = c.req();
    c.send(ClientMessage::Search {
        req: Some(req),
        words: words.into(),
        conv: within.map(conv),
        before,
        limit,
    })
    .await;
    c.recv_until(20, |m| m.req() == Some(req)).await
}

async fn found_messages(
    c: &mut TestClient,
    words: &str,
    within: Option<&str>,
    before: Option<String>,
    limit: Option<u32>,
) -> (Vec<ChatMessage>, Option<String>) {
    let reply = ask(c, words, within, before, limit).await;
    expect!(reply, ServerMessage::Search { messages, next, .. } => (messages, next))
}

async fn search(c: &mut TestClient, words: &str) -> Page {
    page(c, words, None, None, None).await
}

async fn page(
    c: &mut TestClient,
    words: &str,
    within: Option<&str>,
    before: Option<String>,
    limit: Option<u32>,
) -> Page {
    let (messages, next) = found_messages(c, words, within, before, limit).await;
    let rows = messages
        .into_iter()
        .map(|m| (m.conv.to_string(), m.seq, m.body))
        .collect();
    (rows, next)
}

async fn refused(c: &mut TestClient, words: &str, within: Option<&str>, before: Option<&str>) {
    let reply = ask(c, words, within, before.map(Into::into), None).await;
    let (code, message) =
        expect!(reply, ServerMessage::Error { code, message, .. } => (code, message));
    assert!(!message.is_empty());
    assert!(
        matches!(
            code,
            ErrorCode::BadRequest
                | ErrorCode::UnknownGroup
                | ErrorCode::UnknownUser
                | ErrorCode::NotMember
        ),
        "{code:?}: {message}"
    );
}

async fn create(owner: &mut TestClient, g: &str, members: &[&str]) {
    let req = owner.req();
    owner
        .send(ClientMessage::Create {
            req: Some(req),
            group: GroupName::new(g).unwrap(),
            members: members.iter().map(|m| user(m)).collect(),
            access: None,
            posting: None,
        })
        .await;
    owner
        .recv_until(10, |m| matches!(m, ServerMessage::Group { .. }))
        .await;
}

async fn stored_seq(c: &mut TestClient, to: &str, body: &str) -> u64 {
    let reply = c.send_stored(to, body).await.1;
    expect!(reply, ServerMessage::Stored { seq, .. } => seq)
}

/// Sends a change of message `seq` (an edit, or with `delete` a deletion).
async fn change(c: &mut TestClient, to: &str, body: &str, seq: u64, delete: bool) {
    let id = MessageId::new();
    c.send(ClientMessage::Send {
        id,
        to: conv(to),
        body: body.into(),
        reply_to: None,
        edit: (!delete).then_some(seq),
        delete: delete.then_some(seq),
        react: None,
        unreact: None,
    })
    .await;
    let reply = c
        .recv_until(20, |m| {
            matches!(m, ServerMessage::Stored { id: got, .. } if *got == id)
                || matches!(m, ServerMessage::Error { id: Some(got), .. } if *got == id)
        })
        .await;
    assert!(matches!(reply, ServerMessage::Stored { .. }), "{reply:?}");
}

fn row(conv: &str, seq: u64, body: &str) -> (String, u64, String) {
    (conv.into(), seq, body.into())
}

async fn a_search_finds_what_the_user_may_read_as_it_is_now(server: TestServer) {
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;

    stored_seq(&mut alice, "bob", "The exam moves to Friday").await;
    stored_seq(&mut bob, "alice", "exams are hard; lunch?").await;
    create(&mut carol, "lab", &["alice"]).await;
    let lab_exam = stored_seq(&mut carol, "#lab", "lab exam on friday at 3").await;
    stored_seq(&mut alice, "#lab", "no exam today, EXAMINATION tomorrow").await;
    // Not alice's: she is in neither.
    stored_seq(&mut carol, "bob", "the exam answers are friday's secret").await;
    stored_seq(&mut bob, "carol", "ok").await;

    // Every word, as the start of a word, any case; newest first; each
    // message named as the searcher names its conversation.
    assert_eq!(
        search(&mut alice, "EXAM fri").await,
        (
            vec![
                row("#lab", lab_exam, "lab exam on friday at 3"),
                row("bob", 1, "The exam moves to Friday"),
            ],
            None
        )
    );
    assert_eq!(
        search(&mut bob, "fri exam").await.0,
        [
            row("carol", 1, "the exam answers are friday's secret"),
            row("alice", 1, "The exam moves to Friday"),
        ]
    );
    assert_eq!(
        search(&mut alice, "xam").await.0,
        [],
        "a word inside another is not found"
    );
    assert_eq!(search(&mut alice, "secret").await.0, []);

    // Pages: `next` continues where a page ended, and the last has none.
    let (first, next) = page(&mut alice, "exam", None, None, Some(2)).await;
    assert_eq!(first.len(), 2);
    let next = next.expect("more than one page");
    let (rest, end) = page(&mut alice, "exam", None, Some(next), Some(2)).await;
    assert_eq!(end, None);
    let mut all = first;
    all.extend(rest);
    assert_eq!(
        all,
        [
            row("#lab", lab_exam + 1, "no exam today, EXAMINATION tomorrow"),
            row("#lab", lab_exam, "lab exam on friday at 3"),
            row("bob", 2, "exams are hard; lunch?"),
            row("bob", 1, "The exam moves to Friday"),
        ]
    );

    // One conversation only.
    assert_eq!(
        page(&mut alice, "exam", Some("bob"), None, None).await.0,
        [
            row("bob", 2, "exams are hard; lunch?"),
            row("bob", 1, "The exam moves to Friday"),
        ]
    );
    assert_eq!(
        page(&mut alice, "exam", Some("carol"), None, None).await.0,
        [],
        "no DM yet"
    );

    // An edit is found by its new text only; a deleted message not at all.
    change(&mut alice, "bob", "The exam moves to Monday", 1, false).await;
    let (found, _) = found_messages(&mut alice, "monday", None, None, None).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].body, "The exam moves to Monday");
    assert!(found[0].edited.is_some(), "marked edited");
    assert_eq!(
        search(&mut alice, "friday").await.0,
        [row("#lab", lab_exam, "lab exam on friday at 3")]
    );
    change(&mut carol, "#lab", "", lab_exam, true).await;
    assert_eq!(search(&mut alice, "friday").await.0, []);
    assert_eq!(search(&mut carol, "lab friday").await.0, []);

    // A member who leaves finds nothing of the group any more.
    assert_eq!(search(&mut alice, "examination").await.0.len(), 1);
    let req = alice.req();
    alice
        .send(ClientMessage::Leave {
            req: Some(req),
            group: GroupName::new("lab").unwrap(),
        })
        .await;
    alice.recv_until(10, |m| m.req() == Some(req)).await;
    assert_eq!(search(&mut alice, "examination").await.0, []);
    refused(&mut alice, "exam", Some("#lab"), None).await;
    assert_eq!(search(&mut carol, "examination").await.0.len(), 1);

    // A deleted group's messages are found by no one.
    let req = carol.req();
    carol
        .send(ClientMessage::Delete {
            req: Some(req),
            group: GroupName::new("lab").unwrap(),
        })
        .await;
    carol.recv_until(10, |m| m.req() == Some(req)).await;
    assert_eq!(search(&mut carol, "examination").await.0, []);

    // What is not a search is refused with a reason.
    refused(&mut alice, "👍 ?!", None, None).await;
    refused(&mut alice, "", None, None).await;
    refused(&mut alice, &"word ".repeat(60), None, None).await;
    refused(&mut alice, "exam", None, Some("not a cursor")).await;
    refused(&mut alice, "exam", Some("#nowhere"), None).await;
    refused(&mut alice, "exam", Some("nobody"), None).await;
    alice.expect_nothing_pending().await;
}

/// Searches as fast as the test makes them (the default is 1 a second).
fn searching_freely(options: ServerOptions) -> ServerOptions {
    options.config(|c| c.rates.search = Rate::per_second(1000, 1000))
}

#[tokio::test]
async fn search_with_the_default_store() {
    let server = start_server(searching_freely(ServerOptions::default())).await;
    a_search_finds_what_the_user_may_read_as_it_is_now(server).await;
}

#[tokio::test]
async fn search_in_memory_on_ipv6() {
    let server = start_server(searching_freely(ServerOptions::default().memory().ipv6())).await;
    a_search_finds_what_the_user_may_read_as_it_is_now(server).await;
}

/// Each search may read many messages: a user has ten at once, then one a
/// second, and the refusal says when to try again.
#[tokio::test]
async fn searches_beyond_the_allowance_are_refused_with_when_to_retry() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    for _ in 0..10 {
        search(&mut alice, "anything").await;
    }
    let reply = ask(&mut alice, "anything", None, None, None).await;
    let (code, retry) = expect!(
        reply,
        ServerMessage::Error { code, retry_after_ms, .. } => (code, retry_after_ms)
    );
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(retry.is_some_and(|ms| ms > 0 && ms <= 1000), "{retry:?}");
}

/// SQLite indexes in bulk, off each message's path: what was stored before a
/// restart is found after it, whether or not it was indexed before; and the
/// words of a deleted message, or edited out of one, leave the index itself.
#[tokio::test]
async fn the_sqlite_index_survives_a_restart_and_forgets_deleted_words() {
    let server = start_server(searching_freely(ServerOptions::default().sqlite())).await;
    server.login("bob").await.bye().await;
    let mut alice = server.login("alice").await;
    stored_seq(&mut alice, "bob", "zebra one").await;
    // Indexed now, by this search.
    assert_eq!(search(&mut alice, "zebra").await.0.len(), 1);
    stored_seq(&mut alice, "bob", "zebra two").await;
    let gone = stored_seq(&mut alice, "bob", "zebra three and a quokka").await;
    alice.bye().await;

    let server = server.restart().await;
    let mut alice = server.login("alice").await;
    assert_eq!(
        search(&mut alice, "zebra").await.0,
        [
            row("bob", 3, "zebra three and a quokka"),
            row("bob", 2, "zebra two"),
            row("bob", 1, "zebra one"),
        ]
    );
    change(&mut alice, "bob", "", gone, true).await;
    assert_eq!(search(&mut alice, "quokka").await.0, []);
    // An edit takes the old words out and puts the new ones in.
    change(&mut alice, "bob", "zebra deux", 2, false).await;
    assert_eq!(search(&mut alice, "two").await.0, []);
    assert_eq!(
        search(&mut alice, "deux").await.0,
        [row("bob", 2, "zebra deux")]
    );
    alice.bye().await;

    let dir = server.stop().await;
    let conn = rusqlite::Connection::open(dir.path().join("classchat.db")).unwrap();
    conn.execute_batch("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, search, 'row')")
        .unwrap();
    let terms: Vec<String> = conn
        .prepare("SELECT term FROM temp.words ORDER BY term")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        terms,
        ["deux", "one", "zebra"],
        "the deleted and edited-out words are gone"
    );
}
