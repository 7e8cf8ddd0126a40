//! Nodes of a cluster for the tests: real `classchat-server` binaries on the
//! test binary's throwaway PostgreSQL (a database of their own) and a NATS
//! server, with a cluster name (the prefix of its NATS subjects) of their
//! own, so that tests run in parallel without hearing each other.

use std::net::SocketAddr;
use std::time::Duration;

use classchat_common::protocol::ChatMessage;
use classchat_common::{ClientMessage, ServerMessage};
use tempfile::TempDir;
use tokio::process::Child;

use super::binary::{self, Started};
use super::{TestClient, nats, postgres, user};

/// One node: the real binary.
pub struct Node {
    id: String,
    child: Child,
    pub addr: SocketAddr,
    log: binary::ServerLog,
}

/// A test that fails shows what its nodes logged.
impl Drop for Node {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- node {} logged:\n{}", self.id, self.log());
        }
    }
}

/// A cluster of a test: its database, its NATS subjects, its nodes' folders.
pub struct Cluster {
    name: String,
    pub database: String,
    nats: String,
    pub root: TempDir,
    limits: Vec<String>,
}

impl Cluster {
    /// A cluster on the test binary's NATS server.
    pub fn new(name: &str) -> Self {
        Self::on_nats(name, nats::server().url())
    }

    pub fn on_nats(name: &str, nats: String) -> Self {
        Self {
            name: name.to_owned(),
            database: postgres::database(name),
            nats,
            root: TempDir::new().unwrap(),
            limits: ["--rate", "1000000", "--burst", "1000000"]
                .map(String::from)
                .to_vec(),
        }
    }

    /// Nodes started from now on have these rate options instead of rates
    /// too high to matter.
    pub fn with_limits(mut self, limits: &[&str]) -> Self {
        self.limits = limits.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn command(&self, id: &str) -> tokio::process::Command {
        let data_dir = self.root.path().join(id);
        let mut command = binary::server_command(&data_dir);
        command
            .args(["--store", "postgres", "--postgres", &self.database])
            .args(["--nats", &self.nats, "--node-id", id])
            .args(["--cluster-name", &self.name])
            .args(&self.limits);
        command
    }

    pub async fn start(&self, id: &str) -> Node {
        let (child, addr, log) = binary::launch(self.command(id)).await.listening();
        Node {
            id: id.to_owned(),
            child,
            addr,
            log,
        }
    }

    pub async fn try_start(&self, id: &str) -> Started {
        binary::launch(self.command(id)).await
    }

    /// One value `sql` selects from the cluster's database.
    pub fn value(&self, sql: &str) -> String {
        postgres::server().value(&self.database, sql)
    }
}

impl Node {
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    pub fn log(&self) -> String {
        self.log.so_far()
    }
}

/// Asks `client` who is online until `name` is among them (presence crosses
/// nodes within a second or so).
pub async fn wait_until_online(client: &mut TestClient, name: &str) {
    for attempt in 0..50u64 {
        client
            .send(ClientMessage::Who {
                req: Some(1000 + attempt),
            })
            .await;
        let online = loop {
            if let ServerMessage::Who { online, .. } = client.recv().await {
                break online;
            }
        };
        if online.contains(&user(name)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} never shown online on the other node");
}

/// One login attempt on `addr`: the server's answer to it.
pub async fn try_login(addr: SocketAddr, name: &str, password: &str) -> ServerMessage {
    let mut c = TestClient::connect(addr).await;
    c.hello().await;
    c.send(super::login_with_password(name, password)).await;
    c.recv_within(Duration::from_secs(20)).await
}

/// The next chat message for `client`, skipping presence and receipts,
/// waiting up to 20 s (what crosses nodes without NATS is read from
/// PostgreSQL every two seconds).
pub async fn next_message_slowly(client: &mut TestClient) -> ChatMessage {
    for _ in 0..20 {
        match client.recv_within(Duration::from_secs(20)).await {
            ServerMessage::Message(m) => return m,
            ServerMessage::Presence { .. } | ServerMessage::Receipt { .. } => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
    panic!("no message among 20 presence changes and receipts");
}
