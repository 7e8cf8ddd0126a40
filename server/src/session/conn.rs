//! Bytes ↔ lines for one connection.
//!
//! Reading waits for the socket to become readable before it allocates a buffer,
//! and gives the buffer back whenever it is empty, so ten thousand idle
//! connections hold no read buffers at all. Writing takes whole batches of
//! already-encoded lines and hands them to the kernel with vectored writes.
//!
//! A plain TCP socket is shared (`Arc`): once a session is live, the hub may
//! write lines to it itself while the session's task waits (see
//! [`crate::outbound`]), so a line to an idle client costs no wake-up of the
//! task and no hop to another thread.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Read as _};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use classchat_common::{FrameError, LineCodec, ServerMessage};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

/// How much room to make for each read.
const READ_CHUNK: usize = 4096;

/// Lines handed to one vectored write at most (the kernel takes up to 1024).
const MAX_IOVECS: usize = 256;
/// Up to this many, the lines' slices are made in a smaller array.
const FEW_IOVECS: usize = 8;

/// The connection underneath: plain TCP, or TLS over it.
enum Link {
    Plain(Arc<TcpStream>),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Link::Plain(_) => "Plain",
            Link::Tls(_) => "Tls",
        })
    }
}

#[derive(Debug)]
pub struct Conn {
    link: Link,
    buf: BytesMut,
    codec: LineCodec,
    eof: bool,
    write_timeout: Duration,
    /// Ends a wait for a client that is not reading (the server stopping).
    stop: CancellationToken,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the client stopped reading for {0:?}")]
    Stalled(Duration),
    #[error("the server is stopping")]
    Stopping,
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Conn {
    /// A connection whose waits for a client that is not reading end when
    /// `stop` is cancelled (the server is shutting down).
    pub fn new(stream: TcpStream, write_timeout: Duration, stop: CancellationToken) -> Self {
        Self::with_link(Link::Plain(Arc::new(stream)), write_timeout, stop)
    }

    /// A connection over TLS (the handshake already done).
    pub fn tls(
        stream: tokio_rustls::server::TlsStream<TcpStream>,
        write_timeout: Duration,
        stop: CancellationToken,
    ) -> Self {
        Self::with_link(Link::Tls(Box::new(stream)), write_timeout, stop)
    }

    fn with_link(link: Link, write_timeout: Duration, stop: CancellationToken) -> Self {
        Self {
            link,
            buf: BytesMut::new(),
            codec: LineCodec::default(),
            eof: false,
            write_timeout,
            stop,
        }
    }

    /// The socket, for the hub to write to while the session waits; `None`
    /// over TLS, whose writes must go through its session.
    pub fn shared_socket(&self) -> Option<Arc<TcpStream>> {
        match &self.link {
            Link::Plain(stream) => Some(stream.clone()),
            Link::Tls(_) => None,
        }
    }

    /// The next line from the client; `None` once it has closed its side.
    /// Cancel-safe: bytes already read stay in the buffer for the next call.
    pub async fn next_line(&mut self) -> Result<Option<Bytes>, FrameError> {
        loop {
            if let Some(line) = self.codec.decode(&mut self.buf)? {
                return Ok(Some(line));
            }
            if self.eof {
                return self.codec.decode_eof(&mut self.buf);
            }
            match &mut self.link {
                Link::Plain(stream) => {
                    if self.buf.is_empty() {
                        // Idle: hold no memory while waiting.
                        self.buf = BytesMut::new();
                    }
                    // Polled in place: a `readable()` future would sit in
                    // every idle session's state.
                    std::future::poll_fn(|cx| stream.poll_read_ready(cx)).await?;
                    let read = if self.buf.is_empty() {
                        // A fresh read mostly holds a line or two: read into the
                        // thread's scratch chunk and keep only what came, so ten
                        // thousand clients logging in at once do not each take
                        // (and leave the heap fragmented by) a whole read chunk.
                        // The chunk is reused, not zeroed for every read.
                        thread_local! {
                            static CHUNK: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_CHUNK]);
                        }
                        CHUNK.with_borrow_mut(|chunk| {
                            let read = try_read_drained(stream, chunk);
                            if let Ok(n) = read {
                                self.buf.extend_from_slice(&chunk[..n]);
                            }
                            read
                        })
                    } else {
                        self.buf.reserve(READ_CHUNK);
                        stream.try_read_buf(&mut self.buf)
                    };
                    match read {
                        Ok(0) => self.eof = true,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                // TLS decrypts into its own buffers; reading is cancel-safe too,
                // since unread plaintext stays there.
                Link::Tls(stream) => {
                    self.buf.reserve(READ_CHUNK);
                    if stream.read_buf(&mut self.buf).await? == 0 {
                        self.eof = true;
                    }
                }
            }
        }
    }

    pub async fn send(&mut self, msg: &ServerMessage) -> Result<(), WriteError> {
        self.write_line(msg.to_line()).await
    }

    pub async fn write_line(&mut self, line: Bytes) -> Result<(), WriteError> {
        self.write_lines(&mut VecDeque::from([line])).await
    }

    /// Writes what the socket takes at once, without waiting (nothing on a
    /// TLS connection, whose writes go through its session): the rest stays
    /// in `lines`, for [`Conn::write_lines`].
    pub fn write_now(&mut self, lines: &mut VecDeque<Bytes>) -> io::Result<()> {
        match &self.link {
            Link::Plain(stream) => try_write_lines(stream, lines),
            Link::Tls(_) => Ok(()),
        }
    }

    /// Writes every line, giving up if the client stops reading: when one
    /// write makes no progress for the write timeout. A slow reader that keeps
    /// reading is never cut off, however long the whole takes.
    pub async fn write_lines(&mut self, lines: &mut VecDeque<Bytes>) -> Result<(), WriteError> {
        if let Link::Plain(stream) = &self.link {
            // Nearly always the socket takes everything at once: try that
            // before arming the stall timer.
            try_write_lines(stream, lines)?;
            if lines.is_empty() {
                return Ok(());
            }
        }
        let limit = self.write_timeout;
        let (link, stop) = (&mut self.link, &self.stop);
        let write = async {
            match link {
                Link::Plain(stream) => write_all_plain(stream, lines, limit).await,
                Link::Tls(stream) => {
                    write_all_lines(stream.as_mut(), lines, limit).await?;
                    tokio::time::timeout(limit, stream.flush())
                        .await
                        .map_err(|_| WriteError::Stalled(limit))?
                        .map_err(WriteError::Io)
                }
            }
        };
        // A server stopping does not wait out the write timeout of a client
        // that stopped reading.
        let written = tokio::select! {
            biased;
            written = write => written,
            () = stop.cancelled() => Err(WriteError::Stopping),
        };
        written
    }

    /// Raw bytes from the client (a bulk connection's upload): first what
    /// came after the line already read, then from the socket; 0 once the
    /// client has closed its side. Gives up when nothing comes for `idle`.
    pub async fn read_raw(&mut self, out: &mut [u8], idle: Duration) -> io::Result<usize> {
        if !self.buf.is_empty() {
            let n = out.len().min(self.buf.len());
            out[..n].copy_from_slice(&self.buf[..n]);
            self.buf.advance(n);
            return Ok(n);
        }
        if self.eof {
            return Ok(0);
        }
        let read = async {
            match &mut self.link {
                Link::Plain(stream) => loop {
                    stream.readable().await?;
                    match stream.try_read(out) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        read => break read,
                    }
                },
                Link::Tls(stream) => stream.read(out).await,
            }
        };
        tokio::time::timeout(idle, read)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the client went silent"))?
    }

    /// Raw bytes to the client (a bulk connection's download); each write
    /// must make progress within the write timeout.
    pub async fn write_raw(&mut self, mut bytes: &[u8]) -> Result<(), WriteError> {
        let limit = self.write_timeout;
        while !bytes.is_empty() {
            let write = async {
                match &mut self.link {
                    Link::Plain(stream) => loop {
                        stream.writable().await?;
                        match stream.try_write(bytes) {
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                            wrote => break wrote,
                        }
                    },
                    Link::Tls(stream) => stream.write(bytes).await,
                }
            };
            let n = tokio::time::timeout(limit, write)
                .await
                .map_err(|_| WriteError::Stalled(limit))??;
            if n == 0 {
                return Err(io::Error::from(io::ErrorKind::WriteZero).into());
            }
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Flushes and closes the sending side, waiting for it at most the write
    /// timeout (a bulk connection's end).
    pub async fn finish(mut self) {
        let limit = self.write_timeout;
        let _ = tokio::time::timeout(limit, async {
            match &mut self.link {
                Link::Plain(stream) => shut_down(stream),
                Link::Tls(stream) => stream.shutdown().await,
            }
        })
        .await;
    }

    /// Sends a last line (best effort, briefly) and closes the connection.
    pub async fn close_with(mut self, msg: &ServerMessage) {
        let line = msg.to_line();
        async fn last<W: AsyncWrite + Unpin>(stream: &mut W, line: &[u8]) -> io::Result<()> {
            stream.write_all(line).await?;
            stream.shutdown().await
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            match &mut self.link {
                Link::Plain(stream) => {
                    let mut lines = VecDeque::from([line]);
                    match write_all_plain(stream, &mut lines, Duration::from_secs(2)).await {
                        Ok(()) => shut_down(stream),
                        Err(_) => Ok(()),
                    }
                }
                Link::Tls(stream) => last(stream.as_mut(), &line).await,
            }
        })
        .await;
    }
}

/// One read, as [`TcpStream::try_read`], except that a read which did not
/// fill `buf` took all the socket had, so the stream is marked not readable
/// at once: `try_read` would learn it from one more read answered `EAGAIN`,
/// a system call per wake-up. Bytes that arrive after the read make the
/// socket readable again (epoll reports each arrival, and Tokio clears only
/// the readiness it saw before the read), so none is missed.
fn try_read_drained(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let socket = socket2::SockRef::from(stream);
    let mut short = None;
    let read = stream.try_io(Interest::READABLE, || {
        let n = (&*socket).read(buf)?;
        if n > 0 && n < buf.len() {
            short = Some(n);
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    });
    match (read, short) {
        (Err(e), Some(n)) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
        (read, _) => read,
    }
}

/// Closes the sending side of a shared socket (the others may still hold it).
fn shut_down(stream: &TcpStream) -> io::Result<()> {
    socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write)
}

/// Writes every line to a plain socket; each write must make progress
/// within `limit`.
async fn write_all_plain(
    stream: &TcpStream,
    lines: &mut VecDeque<Bytes>,
    limit: Duration,
) -> Result<(), WriteError> {
    loop {
        try_write_lines(stream, lines)?;
        if lines.is_empty() {
            return Ok(());
        }
        tokio::time::timeout(limit, stream.writable())
            .await
            .map_err(|_| WriteError::Stalled(limit))??;
    }
}

/// Writes what the socket takes without waiting; the rest stays in `lines`.
pub(crate) fn try_write_lines(stream: &TcpStream, lines: &mut VecDeque<Bytes>) -> io::Result<()> {
    while !lines.is_empty() {
        // Most writes are of a line or three: the slices for them are
        // filled in a few stores, not 256 (4 KiB) each time.
        let wrote = if lines.len() <= FEW_IOVECS {
            try_write_vectored::<FEW_IOVECS>(stream, lines)
        } else {
            try_write_vectored::<MAX_IOVECS>(stream, lines)
        };
        match wrote {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => consume(lines, written),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One vectored write of the first `N` lines at most.
fn try_write_vectored<const N: usize>(
    stream: &TcpStream,
    lines: &VecDeque<Bytes>,
) -> io::Result<usize> {
    let mut slices = [IoSlice::new(&[]); N];
    let mut n = 0;
    for (slot, line) in slices.iter_mut().zip(lines.iter()) {
        *slot = IoSlice::new(line);
        n += 1;
    }
    stream.try_write_vectored(&slices[..n])
}

/// Writes every line; each write must make progress within `limit`.
async fn write_all_lines<W: AsyncWrite + Unpin>(
    stream: &mut W,
    lines: &mut VecDeque<Bytes>,
    limit: Duration,
) -> Result<(), WriteError> {
    while !lines.is_empty() {
        let slices: Vec<IoSlice<'_>> = lines
            .iter()
            .take(MAX_IOVECS)
            .map(|l| IoSlice::new(l))
            .collect();
        let written = tokio::time::timeout(limit, stream.write_vectored(&slices))
            .await
            .map_err(|_| WriteError::Stalled(limit))??;
        drop(slices);
        if written == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero).into());
        }
        consume(lines, written);
    }
    Ok(())
}

/// Drops the first `written` bytes of `lines`.
fn consume(lines: &mut VecDeque<Bytes>, mut written: usize) {
    while written > 0 {
        let Some(front) = lines.front_mut() else {
            break;
        };
        if written >= front.len() {
            written -= front.len();
            lines.pop_front();
        } else {
            front.advance(written);
            written = 0;
        }
    }
}
