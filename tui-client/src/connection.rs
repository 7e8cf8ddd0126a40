//! Opening one connection: TCP, `hello`, `login`.

use std::io;
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

async fn handshake(
    addr: &ServerAddr,
    user: &Username,
    proof: &Proof,
    create: bool,
    tls: Option<&Trust>,
) -> Result<Established, ConnectError> {
    let stream = TcpStream::connect((addr.host.as_str(), addr.port))
        .await
        .map_err(|cause| ConnectError::Unreachable {
            addr: addr.to_string(),
            cause,
        })?;
    let _ = stream.set_nodelay(true);
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
        }),
        other => Err(unexpected(other)),
    }
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
