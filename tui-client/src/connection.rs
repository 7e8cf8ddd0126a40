//! Opening one connection: TCP, `hello`, `login`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use classchat_common::limits::PROTOCOL_VERSION;
use classchat_common::protocol::{Limits, Secret};
use classchat_common::{ClientMessage, ErrorCode, FrameError, LineCodec, ServerMessage, Username};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::address::ServerAddr;
use crate::tls::Trust;

/// A byte stream to the server: plain TCP, or TLS over it.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + std::fmt::Debug> Stream for T {}

/// A connection speaking lines of the protocol.
pub type Transport = Framed<Box<dyn Stream>, LineCodec>;

/// How long connecting and logging in may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// How long one of the server's addresses may take to accept before the
/// next one is tried: a machine that is down answers nothing at all.
const CONNECT_EACH: Duration = Duration::from_secs(4);

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to {addr}: {cause}")]
    Unreachable { addr: String, cause: io::Error },
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
    /// Logging in without `create`, to a name that has no account.
    #[error("there is no account named {user} on this server")]
    NoAccount {
        user: Username,
        /// The shortest password the server takes for a new account (its
        /// `welcome` said), for the form that asks whether to create it.
        min_password: usize,
    },
    #[error("the server closed the connection during login")]
    Closed,
    #[error("the server did not answer within {0:?}")]
    Timeout(Duration),
    #[error(
        "the TLS certificate of {server} has changed\n  pinned:    {pinned}\n  presented: {presented}\n\
         If the server's administrator replaced it, accept the new one with --trust-new-certificate \
         (or delete the server's line in {known}). Otherwise someone may be intercepting the connection."
    )]
    CertificateChanged {
        server: String,
        pinned: String,
        presented: String,
        known: String,
    },
    #[error("TLS with {server} failed: {cause}")]
    Tls { server: String, cause: String },
    #[error("the server said something unexpected: {0}")]
    Protocol(String),
}

impl ConnectError {
    /// Whether only another password can help: the server refused the one
    /// given, or a saved login, or will not make an account of this name.
    pub fn needs_password(&self) -> bool {
        matches!(
            self,
            ConnectError::Refused {
                code: ErrorCode::BadPassword | ErrorCode::BadToken | ErrorCode::SignUpClosed,
                ..
            }
        )
    }

    /// Whether trying again unchanged cannot help (a wrong password, say).
    pub fn is_permanent(&self) -> bool {
        // A changed certificate needs the user; other TLS failures (a server
        // restarting mid-handshake) may pass. An account gone stays gone.
        matches!(
            self,
            ConnectError::CertificateChanged { .. } | ConnectError::NoAccount { .. }
        ) || matches!(
            self,
            ConnectError::Refused {
                code: ErrorCode::BadPassword
                    | ErrorCode::BadToken
                    | ErrorCode::SignUpClosed
                    | ErrorCode::UnsupportedVersion
                    | ErrorCode::InvalidName
                    | ErrorCode::BadRequest,
                ..
            }
        )
    }
}

/// How to prove who we are.
#[derive(Debug, Clone)]
pub enum Proof {
    Password(Secret),
    Token(Secret),
}

/// A logged-in connection.
#[derive(Debug)]
pub struct Established {
    pub transport: Transport,
    pub limits: Limits,
    /// The user name as the server spells it.
    pub user: Username,
    pub token: Secret,
    pub created: bool,
    /// The server's address this connection reached: a bulk connection for
    /// a file must reach the same one (in a cluster, the node that issued
    /// its token).
    pub peer: Option<SocketAddr>,
}

/// Connects and logs in as `user`. With `create`, a name without an account
/// gets one (with the password); without, it is [`ConnectError::NoAccount`].
pub async fn connect(
    addr: &ServerAddr,
    user: &Username,
    proof: &Proof,
    create: bool,
    tls: Option<&Trust>,
) -> Result<Established, ConnectError> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(addr, user, proof, create, tls))
        .await
        .unwrap_or(Err(ConnectError::Timeout(HANDSHAKE_TIMEOUT)))
}

/// Opens a TCP connection to one of the addresses `addr` names. Several (a
/// cluster's nodes, given one by one or behind one DNS name) are tried from
/// a random one on, so that clients spread over the nodes, and the next one
/// is tried when one refuses or stays silent, so that a client whose node
/// died reaches another at its next attempt.
async fn open(addr: &ServerAddr) -> Result<TcpStream, ConnectError> {
    let unreachable = |cause| ConnectError::Unreachable {
        addr: addr.to_string(),
        cause,
    };
    let mut addrs: Vec<SocketAddr> = Vec::new();
    let mut unresolved = None;
    for endpoint in addr.endpoints() {
        match tokio::net::lookup_host(endpoint).await {
            Ok(found) => addrs.extend(found),
            Err(e) => unresolved = Some(e),
        }
    }
    if let (true, Some(e)) = (addrs.is_empty(), unresolved) {
        return Err(unreachable(e));
    }
    if addrs.len() > 1 {
        let start = getrandom::u32().map_or(0, |r| r as usize % addrs.len());
        addrs.rotate_left(start);
    }
    first_answering(addrs).await.map_err(unreachable)
}

/// A connection to the first of `addrs` that accepts one.
async fn first_answering(addrs: Vec<SocketAddr>) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for a in addrs {
        match tokio::time::timeout(CONNECT_EACH, TcpStream::connect(a)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(e)) => last = e,
            Err(_) => {
                last = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{a} did not answer within {}s", CONNECT_EACH.as_secs()),
                );
            }
        }
    }
    Err(last)
}

async fn handshake(
    addr: &ServerAddr,
    user: &Username,
    proof: &Proof,
    create: bool,
    tls: Option<&Trust>,
) -> Result<Established, ConnectError> {
    let stream = open(addr).await?;
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok();
    let stream: Box<dyn Stream> = match tls {
        None => Box::new(stream),
        Some(trust) => Box::new(secure(stream, addr, trust).await?),
    };
    let mut transport = Framed::new(stream, LineCodec::default());
    let hello = ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        client: Some(format!("classchat/{}", env!("CARGO_PKG_VERSION"))),
    };
    send(&mut transport, &hello).await?;
    let limits = match next(&mut transport).await? {
        ServerMessage::Welcome { limits, .. } => limits,
        other => return Err(unexpected(other)),
    };
    let (password, token) = match proof {
        Proof::Password(p) => (Some(p.clone()), None),
        Proof::Token(t) => (None, Some(t.clone())),
    };
    let login = ClientMessage::Login {
        user: user.clone(),
        password,
        token,
        create,
    };
    send(&mut transport, &login).await?;
    match next(&mut transport).await? {
        ServerMessage::Error {
            code: ErrorCode::UnknownUser,
            ..
        } if !create => Err(ConnectError::NoAccount {
            user: user.clone(),
            min_password: limits.min_password,
        }),
        ServerMessage::LoggedIn {
            user,
            token,
            created,
            ..
        } => Ok(Established {
            transport,
            limits,
            user,
            token,
            created,
            peer,
        }),
        other => Err(unexpected(other)),
    }
}

/// A bulk connection for a file's bytes (PROTOCOL.md §11.7): to `peer`, the
/// address the chat connection reached, over TLS when that one is.
pub async fn open_bulk(
    peer: SocketAddr,
    addr: &ServerAddr,
    tls: Option<&Trust>,
) -> Result<Box<dyn Stream>, ConnectError> {
    let stream = tokio::time::timeout(CONNECT_EACH, TcpStream::connect(peer))
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
        .map_err(|cause| ConnectError::Unreachable {
            addr: peer.to_string(),
            cause,
        })?;
    let _ = stream.set_nodelay(true);
    Ok(match tls {
        None => Box::new(stream),
        Some(trust) => Box::new(secure(stream, addr, trust).await?),
    })
}

/// The TLS handshake, with the server's certificate checked as `trust` says.
async fn secure(
    stream: TcpStream,
    addr: &ServerAddr,
    trust: &Trust,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ConnectError> {
    let server = addr.to_string();
    let setup = crate::tls::client(addr, trust).map_err(|e| ConnectError::Tls {
        server: server.clone(),
        cause: e.to_string(),
    })?;
    let connector = tokio_rustls::TlsConnector::from(setup.config.clone());
    match connector.connect(setup.name.clone(), stream).await {
        Ok(stream) => {
            setup.remember(addr);
            Ok(stream)
        }
        Err(e) => Err(match (setup.changed(), &setup.known) {
            (Some((pinned, presented)), Some(known)) => ConnectError::CertificateChanged {
                server,
                pinned,
                presented,
                known: known.display().to_string(),
            },
            _ => ConnectError::Tls {
                cause: if answered_in_plain_text(&e) {
                    format!(
                        "{e}: {server} answered in plain text, so this looks like a plain \
                         port; connect without --tls, or to the server's --tls-listen port"
                    )
                } else {
                    e.to_string()
                },
                server,
            },
        }),
    }
}

/// Whether the TLS handshake failed because the other side does not speak
/// TLS at all (a plain ClassChat port answers the hello with a line of JSON).
fn answered_in_plain_text(e: &io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidMessage(_)))
}

async fn send(transport: &mut Transport, msg: &ClientMessage) -> Result<(), ConnectError> {
    transport.send(msg.to_line()).await.map_err(|e| match e {
        FrameError::Io(e) => ConnectError::Protocol(e.to_string()),
        FrameError::TooLong { .. } => ConnectError::Protocol(e.to_string()),
    })
}

/// The next message that matters, answering pings on the way.
async fn next(transport: &mut Transport) -> Result<ServerMessage, ConnectError> {
    loop {
        let line = match transport.next().await {
            Some(Ok(line)) => line,
            Some(Err(e)) => return Err(ConnectError::Protocol(e.to_string())),
            None => return Err(ConnectError::Closed),
        };
        let msg = ServerMessage::decode(&line).map_err(|e| ConnectError::Protocol(e.message))?;
        match msg {
            ServerMessage::Ping => send(transport, &ClientMessage::Pong).await?,
            ServerMessage::Pong => {}
            msg => return Ok(msg),
        }
    }
}

fn unexpected(msg: ServerMessage) -> ConnectError {
    match msg {
        ServerMessage::Error { code, message, .. } => ConnectError::Refused { code, message },
        other => ConnectError::Protocol(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use tokio::net::TcpListener;

    /// A name with several addresses, one of them dead (a killed node):
    /// the client connects to the one that listens, whichever it tries first.
    #[tokio::test]
    async fn the_address_that_listens_is_reached_past_a_dead_one() {
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        let alive = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let alive_addr = alive.local_addr().unwrap();
        for addrs in [vec![dead_addr, alive_addr], vec![alive_addr, dead_addr]] {
            let stream = first_answering(addrs).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap(), alive_addr);
            alive.accept().await.unwrap();
        }
        let err = first_answering(vec![dead_addr]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }

    /// A cluster's nodes given one by one, one of them dead.
    #[tokio::test]
    async fn a_list_of_nodes_is_tried_past_a_dead_one() {
        let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead_port = dead.local_addr().unwrap().port();
        drop(dead);
        let alive = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = alive.local_addr().unwrap().port();
        let addr: ServerAddr = format!("127.0.0.1:{dead_port},localhost:{port}")
            .parse()
            .unwrap();
        for _ in 0..8 {
            let stream = open(&addr).await.unwrap();
            assert_eq!(stream.peer_addr().unwrap().port(), port);
            alive.accept().await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_name_is_resolved_to_every_address_it_has() {
        let alive = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = alive.local_addr().unwrap().port();
        // `localhost` may also be ::1, where nothing listens on this port.
        for _ in 0..8 {
            let stream = open(&format!("localhost:{port}").parse().unwrap())
                .await
                .unwrap();
            assert_eq!(stream.peer_addr().unwrap().port(), port);
            alive.accept().await.unwrap();
        }
    }
}
