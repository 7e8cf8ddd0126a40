//! `--store postgres` on its own: what the rest of the suite cannot show by
//! running against PostgreSQL (`CLASSCHAT_TEST_STORE=postgres`, see the
//! README): the database's own rows and a second server on one database.
//! PostgreSQL going away under traffic is in postgres_restart.rs, which
//! stops its own PostgreSQL.
//!
//! Each test binary starts its own throwaway PostgreSQL (support/postgres.rs).

#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[macro_use]
mod support;

use classchat_common::{ClientMessage, ServerMessage};
use classchat_server::{Config, Server, StoreKind};
use support::postgres;
use support::{ServerOptions, TestClient, conv, start_server};

fn pg_options() -> ServerOptions {
    ServerOptions::default().postgres()
}

/// The database a test server uses, for psql.
fn database_of(server: &support::TestServer) -> String {
    let url = postgres::database_for(&server.data_path());
    url.rsplit("dbname=").next().unwrap().to_owned()
}

#[tokio::test]
async fn messages_cursors_and_resends_are_kept_in_postgresql_across_a_restart() {
    let server = start_server(pg_options()).await;
    let db = database_of(&server);
    let bob = server.login("bob").await;
    let token = bob.token().to_owned();
    bob.bye().await;
    let mut alice = server.login("alice").await;
    let mut sent = Vec::new();
    for i in 0..40 {
        let (id, stored) = alice.send_stored("bob", &format!("note {i}")).await;
        let ServerMessage::Stored { seq, .. } = stored else {
            unreachable!()
        };
        sent.push((id, seq));
    }
    let pg = postgres::server();
    assert_eq!(pg.value(&db, "SELECT count(*) FROM messages"), "40");
    assert_eq!(pg.value(&db, "SELECT max(last_seq) FROM convs"), "40");
    alice.bye().await;

    let server = server.restart().await;
    let mut bob = TestClient::resume(server.addr, "bob", &token).await;
    assert_eq!(bob.caught_up.len(), 40, "everything sent while away");
    bob.send(ClientMessage::Ack {
        conv: conv("alice"),
        seq: 40,
    })
    .await;
    bob.send(ClientMessage::Read {
        req: None,
        conv: conv("alice"),
        seq: Some(25),
    })
    .await;
    bob.bye().await;

    // A resend after the restart is the message already stored, not a new one.
    let mut alice = server.login("alice").await;
    let (first_id, first) = sent[0];
    alice
        .send(ClientMessage::Send {
            id: first_id,
            to: conv("bob"),
            body: "note 0".into(),
            reply_to: None,
            edit: None,
            delete: None,
            react: None,
            unreact: None,
        })
        .await;
    let again = alice
        .recv_until(5, |m| matches!(m, ServerMessage::Stored { .. }))
        .await;
    let ServerMessage::Stored { seq, duplicate, .. } = again else {
        unreachable!()
    };
    assert!(duplicate, "the resend is said to be a duplicate");
    assert_eq!(seq, first, "at the seq it was first stored at");
    assert_eq!(pg.value(&db, "SELECT count(*) FROM messages"), "40");
    alice.bye().await;
    let server = server.restart().await;
    assert_eq!(
        pg.value(
            &db,
            "SELECT delivered_seq || ' ' || read_seq FROM members m JOIN users u ON u.id = m.user_id \
             WHERE u.name = 'bob'"
        ),
        "40 25"
    );
    let bob = TestClient::resume(server.addr, "bob", &token).await;
    assert!(bob.caught_up.is_empty(), "nothing twice after the ack");
}

#[tokio::test]
async fn a_second_server_on_the_same_database_is_refused_at_start() {
    let first = start_server(pg_options()).await;
    let other_dir = tempfile::TempDir::new().unwrap();
    let mut config = Config::new(other_dir.path().to_path_buf());
    config.store = StoreKind::Postgres;
    config.postgres = Some(postgres::database_for(&first.data_path()));
    let err = Server::open(config).await.unwrap_err().to_string();
    assert!(
        err.contains("another classchat-server is using this PostgreSQL database"),
        "{err}"
    );
    // The first one is untouched.
    first.login("alice").await.bye().await;
}

#[tokio::test]
async fn without_a_url_postgres_says_what_it_needs() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut config = Config::new(dir.path().to_path_buf());
    config.store = StoreKind::Postgres;
    let err = Server::open(config).await.unwrap_err().to_string();
    assert!(err.contains("--postgres URL"), "{err}");
}
