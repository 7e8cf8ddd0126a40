//! A lean protocol client for the load generator: pre-serialized lines out, lines in with only the fields a scenario needs peeked at.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use anyhow::{Context as _, bail};
use bytes::{Bytes, BytesMut};
use classchat_common::limits::PROTOCOL_VERSION;
use classchat_common::protocol::{Req, Secret};
use classchat_common::{ClientMessage, Username};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Room made for each read.
const READ_CHUNK: usize = 64 * 1024;

/// The fields of a server line the scenarios look at; the rest is skipped
/// without being copied.
#[derive(Debug, Deserialize)]
pub struct Peek<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    pub req: Option<Req>,
    pub seq: Option<u64>,
    pub delivered: Option<u64>,
    pub messages: Option<u64>,
    pub offset: Option<u64>,
    #[serde(borrow)]
    pub conv: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub token: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub offer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub state: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub file: Option<FilePeek<'a>>,
    #[serde(default)]
    pub stream: bool,
}

#[derive(Debug, Deserialize)]
pub struct FilePeek<'a> {
    #[serde(borrow)]
    pub offer: Cow<'a, str>,
}

impl<'a> Peek<'a> {
    pub fn of(line: &'a [u8]) -> anyhow::Result<Self> {
        serde_json::from_slice(line).with_context(|| {
            format!(
                "the server sent a line the benchmark cannot read: {}",
                String::from_utf8_lossy(&line[..line.len().min(200)])
            )
        })
    }

    /// Fails on an `error` line, quoting it.
    pub fn check(self) -> anyhow::Result<Self> {
        if self.kind == "error" {
            bail!(
                "the server refused: {} ({})",
                self.message.as_deref().unwrap_or("?"),
                self.code.as_deref().unwrap_or("?")
            );
        }
        Ok(self)
    }
}

/// How a benchmark user proves who it is.
#[derive(Debug, Clone)]
pub enum Proof {
    Password(String),
    Token(String),
}

/// `hello` and `login`, serialized once.
pub fn login_lines(user: &str, proof: &Proof) -> anyhow::Result<Bytes> {
    let user = Username::new(user).context("a benchmark user name")?;
    let (password, token) = match proof {
        Proof::Password(p) => (Some(Secret(p.clone())), None),
        Proof::Token(t) => (None, Some(Secret(t.clone()))),
    };
    let hello = ClientMessage::Hello {
        version: PROTOCOL_VERSION,
        client: Some("classchat-bench".into()),
    }
    .to_line();
    let login = ClientMessage::Login {
        user,
        password,
        token,
        create: true,
    }
    .to_line();
    let mut both = BytesMut::with_capacity(hello.len() + login.len());
    both.extend_from_slice(&hello);
    both.extend_from_slice(&login);
    Ok(both.freeze())
}

/// What a login ended with.
#[derive(Debug)]
pub struct Synced {
    /// Messages the catch-up held.
    pub messages: u64,
    /// The last of them: its conversation and sequence number.
    pub newest: Option<(String, u64)>,
}

/// One connection.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    /// How far `buf` has been searched for a newline.
    scanned: usize,
    next_req: Req,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        Self::over(stream)
    }

    fn over(stream: TcpStream) -> anyhow::Result<Self> {
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: BytesMut::new(),
            scanned: 0,
            next_req: 1,
        })
    }

    /// Connects from `local` (e.g. 127.0.0.2, to be another address on loopback).
    pub async fn connect_from(addr: SocketAddr, local: IpAddr) -> anyhow::Result<Self> {
        let socket = match local {
            IpAddr::V4(_) => TcpSocket::new_v4(),
            IpAddr::V6(_) => TcpSocket::new_v6(),
        }?;
        socket
            .bind(SocketAddr::new(local, 0))
            .with_context(|| format!("cannot bind a client socket to {local}"))?;
        let stream = socket
            .connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr} from {local}"))?;
        Self::over(stream)
    }

    /// Connects, says hello, logs in, and reads until `synced`.
    pub async fn login(addr: SocketAddr, lines: &[u8]) -> anyhow::Result<(Self, Synced)> {
        let mut conn = Self::connect(addr).await?;
        conn.send(lines).await?;
        let synced = conn.until_synced().await?;
        Ok((conn, synced))
    }

    /// As [`Conn::login`], from the address `local`.
    pub async fn login_from(
        addr: SocketAddr,
        local: IpAddr,
        lines: &[u8],
    ) -> anyhow::Result<(Self, Synced)> {
        let mut conn = Self::connect_from(addr, local).await?;
        conn.send(lines).await?;
        let synced = conn.until_synced().await?;
        Ok((conn, synced))
    }

    /// Reads `welcome`, `logged_in`, the catch-up and `synced`.
    pub async fn until_synced(&mut self) -> anyhow::Result<Synced> {
        let mut logged_in = false;
        let mut messages = 0;
        let mut newest = None;
        loop {
            let line = self.line().await?;
            let peek = Peek::of(&line)?.check()?;
            match &*peek.kind {
                "logged_in" => logged_in = peek.token.is_some(),
                "message" => {
                    messages += 1;
                    if let (Some(conv), Some(seq)) = (peek.conv, peek.seq) {
                        newest = Some((conv.into_owned(), seq));
                    }
                }
                "synced" => {
                    if !logged_in {
                        bail!("synced before logged_in");
                    }
                    if peek.messages != Some(messages) {
                        bail!(
                            "synced says {:?} messages, {messages} arrived",
                            peek.messages
                        );
                    }
                    return Ok(Synced { messages, newest });
                }
                _ => {}
            }
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream
            .write_all(bytes)
            .await
            .context("cannot write to the server")
    }

    pub fn req(&mut self) -> Req {
        self.next_req += 1;
        self.next_req
    }

    /// A whole line already read, without waiting.
    pub fn buffered(&mut self) -> Option<Bytes> {
        let at = self.buf[self.scanned..].iter().position(|&b| b == b'\n');
        let Some(at) = at else {
            self.scanned = self.buf.len();
            return None;
        };
        let end = self.scanned + at;
        self.scanned = 0;
        let mut line = self.buf.split_to(end + 1);
        line.truncate(end);
        Some(line.freeze())
    }

    /// Reads what the socket has (waiting for at least a byte).
    pub async fn fill(&mut self) -> anyhow::Result<()> {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
            self.buf.reserve(READ_CHUNK);
        }
        let n = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .context("cannot read from the server")?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }

    /// The next line, waiting for it.
    pub async fn line(&mut self) -> anyhow::Result<Bytes> {
        loop {
            if let Some(line) = self.buffered() {
                return Ok(line);
            }
            self.fill().await?;
        }
    }

    /// Sends a request with a fresh `req` and reads until its answer, which it
    /// returns; everything queued for this connection before it is read first,
    /// so afterwards the connection is quiet.
    pub async fn ask(
        &mut self,
        request: impl FnOnce(Option<Req>) -> ClientMessage,
    ) -> anyhow::Result<Bytes> {
        let req = self.req();
        self.send(&request(Some(req)).to_line()).await?;
        loop {
            let line = self.line().await?;
            let peek = Peek::of(&line)?;
            if peek.req == Some(req) {
                peek.check()?;
                return Ok(line);
            }
        }
    }

    /// Waits until the server has dealt with everything sent so far and this
    /// connection has read everything the server queued for it.
    pub async fn settle(&mut self) -> anyhow::Result<()> {
        self.ask(|req| ClientMessage::Who { req }).await.map(drop)
    }

    /// Lets go of the read buffer (an idle connection holds nothing).
    pub fn shrink(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
            self.scanned = 0;
        }
    }
}
