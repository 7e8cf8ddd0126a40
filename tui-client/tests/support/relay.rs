//! A TCP relay in front of the server that lets the first connection (the
//! client's chat connection) through untouched and does to each later one,
//! the client's bulk connections, what a bad network or a proxy would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What happens to bulk connections.
#[derive(Debug, Clone, Copy)]
pub enum Bulk {
    /// Each is closed as soon as it is accepted, as by a proxy that lets
    /// one connection through.
    Refuse,
    /// The first is cut once this many bytes have passed it, either way;
    /// later ones go through.
    CutFirstAfter(u64),
}

/// The first line each way of one bulk connection: what the client said and
/// what the server answered.
#[derive(Debug, Clone, Default)]
pub struct Opening {
    pub client: String,
    pub server: String,
}

pub struct Relay {
    pub addr: SocketAddr,
    /// Every bulk connection so far, in the order they came.
    pub bulk: Arc<Mutex<Vec<Opening>>>,
    task: JoinHandle<()>,
}

impl Relay {
    pub async fn start(server: SocketAddr, policy: Bulk) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let bulk: Arc<Mutex<Vec<Opening>>> = Arc::default();
        let seen = bulk.clone();
        let task = tokio::spawn(async move {
            let mut accepted = 0u32;
            while let Ok((client, _)) = listener.accept().await {
                accepted += 1;
                let limit = match (accepted, policy) {
                    (1, _) => u64::MAX,
                    (_, Bulk::Refuse) => {
                        seen.lock().unwrap().push(Opening::default());
                        drop(client);
                        continue;
                    }
                    (2, Bulk::CutFirstAfter(n)) => n,
                    (_, Bulk::CutFirstAfter(_)) => u64::MAX,
                };
                let record = (accepted > 1).then(|| {
                    let mut all = seen.lock().unwrap();
                    all.push(Opening::default());
                    (seen.clone(), all.len() - 1)
                });
                tokio::spawn(relay(client, server, limit, record));
            }
        });
        Relay { addr, bulk, task }
    }

    /// The bulk connections' openings so far.
    pub fn openings(&self) -> Vec<Opening> {
        self.bulk.lock().unwrap().clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Record = Option<(Arc<Mutex<Vec<Opening>>>, usize)>;

async fn relay(client: TcpStream, server: SocketAddr, limit: u64, record: Record) {
    let Ok(upstream) = TcpStream::connect(server).await else {
        return;
    };
    let (client_in, client_out) = client.into_split();
    let (server_in, server_out) = upstream.into_split();
    let passed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Whichever way ends first (or reaches the limit) ends both: dropping
    // the halves closes the sockets, as a cut link would.
    tokio::select! {
        () = pipe(client_in, server_out, &passed, limit, &record, true) => {}
        () = pipe(server_in, client_out, &passed, limit, &record, false) => {}
    }
}

async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    passed: &std::sync::atomic::AtomicU64,
    limit: u64,
    record: &Record,
    from_client: bool,
) {
    use std::sync::atomic::Ordering;
    let mut buf = vec![0u8; 64 * 1024];
    let mut first: Option<Vec<u8>> = record.as_ref().map(|_| Vec::new());
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let (Some(line), Some((all, at))) = (first.as_mut(), record) {
            line.extend_from_slice(&buf[..n]);
            if let Some(end) = line.iter().position(|&b| b == b'\n') {
                let text = String::from_utf8_lossy(&line[..end]).into_owned();
                let mut all = all.lock().unwrap();
                if from_client {
                    all[*at].client = text;
                } else {
                    all[*at].server = text;
                }
                first = None;
            }
        }
        let before = passed.fetch_add(n as u64, Ordering::Relaxed);
        let allowed = usize::try_from(limit.saturating_sub(before)).map_or(n, |left| left.min(n));
        if to.write_all(&buf[..allowed]).await.is_err() || allowed < n {
            return;
        }
    }
    let _ = to.shutdown().await;
}
