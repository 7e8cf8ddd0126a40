//! TLS end to end: the client pins a self-signed server's certificate on first
//! use, talks over TLS, and refuses a different certificate later.

#![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

use std::path::Path;
use std::time::Duration;

use classchat_client::client::{Backoff, Client, ClientOptions, StartError};
use classchat_client::connection::ConnectError;
use classchat_client::tls::Trust;
use classchat_common::ClientMessage;
use classchat_common::ServerMessage;
use classchat_common::protocol::Secret;
use classchat_server::config::StoreKind;

mod support;
use support::TestServer;

/// A memory-store server speaking TLS only, with a self-signed certificate
/// kept in `data_dir`, on `at` (a free port if none).
async fn tls_server(data_dir: &Path, at: Option<std::net::SocketAddr>) -> TestServer {
    let at = at.map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
    TestServer::start_tls(&at, data_dir, |c| c.store = StoreKind::Memory).await
}

fn options(addr: std::net::SocketAddr, user: &str, trust: Trust) -> ClientOptions {
    ClientOptions {
        server: addr.to_string().parse().unwrap(),
        user: user.parse().unwrap(),
        password: Some(Secret("tls-password".into())),
        create: true,
        logins: None,
        unsent: None,
        backoff: Backoff::default(),
        tls: Some(trust),
    }
}

#[tokio::test]
async fn a_tls_client_pins_the_certificate_and_refuses_a_changed_one() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_servers.json");
    let pin = || Trust::Pin {
        known: known.clone(),
        replace: false,
    };
    let mut server = tls_server(&dir.path().join("one"), None).await;
    let (addr, fingerprint) = (server.addr, server.fingerprint.clone().unwrap());

    // First use: trusted and remembered.
    let (client, mut events, session) = Client::start(options(addr, "alice", pin())).await.unwrap();
    assert_eq!(session.user.as_str(), "alice");
    let pinned = std::fs::read_to_string(&known).unwrap();
    assert!(pinned.contains(&fingerprint), "{pinned}");
    client
        .request(ClientMessage::Who { req: Some(1) })
        .await
        .unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = events.recv().await {
            if let classchat_client::client::Event::Server(ServerMessage::Who { online, .. }) =
                event
            {
                return online;
            }
        }
        Vec::new()
    })
    .await
    .unwrap();
    assert_eq!(answered.len(), 1, "spoke the protocol over TLS");
    client.quit().await;
    server.stop().await;

    // Same address, another certificate: refused, with both fingerprints.
    let mut server = tls_server(&dir.path().join("two"), Some(addr)).await;
    let other = server.fingerprint.clone().unwrap();
    assert_ne!(other, fingerprint);
    match Client::start(options(addr, "alice", pin())).await {
        Err(StartError::Connect {
            cause:
                ConnectError::CertificateChanged {
                    pinned, presented, ..
                },
            ..
        }) => {
            assert_eq!((pinned, presented), (fingerprint.clone(), other.clone()));
        }
        Err(e) => panic!("expected a changed-certificate refusal, got: {e}"),
        Ok(_) => panic!("a changed certificate was accepted"),
    }
    let message = match Client::start(options(addr, "alice", pin())).await {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    };
    assert!(message.contains("--trust-new-certificate"), "{message}");

    // The user accepts the new certificate: it is pinned from now on.
    let replace = Trust::Pin {
        known: known.clone(),
        replace: true,
    };
    let (client, _, _) = Client::start(options(addr, "alice", replace))
        .await
        .unwrap();
    client.quit().await;
    assert!(std::fs::read_to_string(&known).unwrap().contains(&other));
    let (client, _, _) = Client::start(options(addr, "alice", pin())).await.unwrap();
    client.quit().await;
    server.stop().await;
}

#[tokio::test]
async fn a_tls_client_can_trust_a_ca_file_instead() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = tls_server(&dir.path().join("srv"), None).await;
    let addr = server.addr;
    // The self-signed certificate is its own CA; it names "localhost".
    let ca = dir.path().join("srv/tls/cert.pem");
    let mut opts = options(addr, "bob", Trust::Ca(ca.clone()));
    opts.server = format!("localhost:{}", addr.port()).parse().unwrap();
    let (client, _, _) = Client::start(opts).await.unwrap();
    client.quit().await;
    // Under a name the certificate does not carry, verification fails.
    let wrong = options(addr, "bob", Trust::Ca(ca));
    assert!(Client::start(wrong).await.is_err());
    server.stop().await;
}

#[tokio::test]
async fn tls_to_a_plain_port_says_that_the_port_is_plain() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start_with("127.0.0.1:0", &dir.path().join("server"), |c| {
        c.store = StoreKind::Memory;
    })
    .await;
    let addr = server.addr;

    let pin = Trust::Pin {
        known: dir.path().join("known_servers.json"),
        replace: false,
    };
    let message = match Client::start(options(addr, "alice", pin)).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("TLS to a plain port worked"),
    };
    assert!(
        message.contains("plain port") && message.contains("without --tls"),
        "{message}"
    );
    server.stop().await;
}
