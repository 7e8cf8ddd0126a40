//! One connection, from `hello` to close.
//!
//! A session logs in ([`login`]), attaches to the hub, sends what waited while
//! the user was away ([`catchup`]), then loops: lines from the client become hub
//! requests, lines the hub queued for this connection are written out, and a
//! silent client is pinged and eventually dropped. Everything that answers a
//! request goes through the hub; only history pages are read here, off the hub
//! thread ([`history`]).

mod bulk;
mod catchup;
pub(crate) mod conn;
pub(crate) mod history;
mod login;
mod password;
mod search;
mod transfer;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use classchat_common::protocol::Req;
use classchat_common::{ClientMessage, ErrorCode, FrameError, ServerMessage, Timestamp};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::auth::Hasher;
use crate::config::Config;
use crate::gate::Ticket;
use crate::hub::{Attached, Backlog, Command, Decision, Hub, HubGone, Request, Sending};
use crate::outbound::{Closed, Outbound};
use catchup::CatchUp;
use conn::Conn;
use login::Ending;
use transfer::Transfers;

/// What every session shares.
#[derive(Debug)]
pub struct Context {
    pub hub: Hub,
    pub hasher: Hasher,
    /// Accounts each address may still create.
    pub sign_ups: Arc<crate::auth::signups::SignUps>,
    pub config: Config,
    /// Where offered files' bytes are kept.
    pub blobs: crate::blobs::Blobs,
    /// Wrong passwords per account and per address.
    pub throttle: Arc<crate::throttle::Throttle>,
    /// Who may create an account, when sign-up is limited.
    pub roster: Option<crate::roster::Roster>,
    pub shutdown: CancellationToken,
    /// Tokens for files' bytes on connections of their own.
    pub tickets: bulk::Tickets,
}

impl Context {
    /// What to say when the hub did not answer a request: either the server is
    /// stopping, or the batch the request was in could not be stored.
    pub fn unavailable(&self, req: Option<Req>) -> ServerMessage {
        if self.shutdown.is_cancelled() {
            return shutdown_message();
        }
        ServerMessage::error_for(
            req,
            ErrorCode::StorageFailed,
            "the server could not complete that (its storage failed); try again in a moment",
        )
    }
}

/// Serves one connection until it closes; `ticket` holds its place among
/// the server's connections until then.
///
/// The login phase (TLS handshake, `hello`, `login`, attaching) runs in a
/// boxed future of its own, gone once the loop starts: it takes far more
/// room than an idle session needs, and a task is as large as its largest
/// state. The rest is one `async` block that holds what a logged-in session
/// needs and nothing twice (an `async fn` would keep its arguments, a
/// wrapper around it its captures, for the session's whole life).
pub fn run(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Context>,
    tls: Option<TlsAcceptor>,
    ticket: Ticket,
) -> impl Future<Output = ()> + Send {
    let login = Box::pin(establish(stream, peer, ctx.clone(), tls));
    async move {
        let Some(Ready {
            mut conn,
            attached,
            login,
            outbound,
            logged_in,
        }) = login.await
        else {
            return;
        };
        let session = attached.session;
        let mut transfers = Transfers::new(session);
        // A shutdown ends the loop: waiting for the client (the loop's own
        // arm), or stuck writing to one that stopped reading (the connection
        // gives up the write, and nothing more is written to it).
        let end = match conn.write_line(logged_in).await {
            Ok(()) => {
                let here = Here {
                    ctx: &ctx,
                    me: &attached,
                    login: &login,
                    outbound: &outbound,
                };
                serve(&mut conn, here, &mut transfers).await
            }
            Err(_) => End::Gone,
        };
        outbound.unshare();
        Box::pin(finish(conn, &ctx, &attached, &login, transfers, end)).await;
        drop(ticket);
    }
}

/// After the loop: uploads cut short leave no file behind and free their
/// room, the hub forgets the session, and the last line is written.
async fn finish(
    conn: Conn,
    ctx: &Context,
    attached: &Attached,
    login: &password::Login,
    mut transfers: Transfers,
    end: End,
) {
    transfers.close(ctx).await;
    // Detach before the last line, so a reconnect never races the old session.
    let _ = ctx
        .hub
        .send(Command::Detach {
            session: attached.session,
        })
        .await;
    tracing::debug!(user = %attached.name, address = %login.address, ?end, "disconnected");
    match end {
        End::Close(msg) => conn.close_with(&msg).await,
        End::Gone => {}
    }
}

/// A connection logged in and attached to the hub, with its `logged_in`
/// line still to write.
struct Ready {
    conn: Conn,
    attached: Attached,
    login: password::Login,
    outbound: Outbound,
    logged_in: Bytes,
}

/// TLS, `hello` and `login` within the login time, then attaching to the
/// hub; `None` when the connection ended there (refused, gone, or a bulk
/// connection, served here to its end).
async fn establish(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Context>,
    tls: Option<TlsAcceptor>,
) -> Option<Ready> {
    let ctx = &*ctx;
    // The TLS handshake, `hello` and `login` all fit in one login time.
    let deadline = Instant::now() + ctx.config.login_timeout;
    let mut conn = match tls {
        None => Conn::new(stream, ctx.config.write_timeout, ctx.shutdown.clone()),
        // A failed handshake has nobody to tell (the peer does not speak TLS,
        // or gave up).
        Some(acceptor) => match tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => Conn::tls(stream, ctx.config.write_timeout, ctx.shutdown.clone()),
            Ok(Err(e)) => {
                tracing::debug!(%peer, "TLS handshake failed: {e}");
                return None;
            }
            Err(_) => return None,
        },
    };
    let handshake = tokio::select! {
        biased;
        () = ctx.shutdown.cancelled() => Err(Ending::refused(shutdown_message())),
        r = tokio::time::timeout_at(deadline, Box::pin(login::handshake(&mut conn, ctx, peer.ip()))) => {
            r.unwrap_or_else(|_| Err(Ending::refused(ServerMessage::error(
                ErrorCode::LoginTimeout,
                format!("no hello and login within {} seconds; closing", ctx.config.login_timeout.as_secs()),
            ))))
        }
    };
    let identity = match handshake {
        Ok(identity) => identity,
        Err(Ending::Refused(msg)) => {
            conn.close_with(&msg).await;
            return None;
        }
        Err(Ending::Gone) => return None,
        Err(Ending::Bulk(first)) => {
            // Boxed too: it is larger than the rest of a login.
            let bulk = Box::pin(bulk::serve(conn, ctx, peer, *first));
            tokio::select! {
                biased;
                () = ctx.shutdown.cancelled() => {}
                () = bulk => {}
            }
            return None;
        }
    };
    let outbound = Outbound::new(ctx.config.queue);
    let attached = ctx
        .hub
        .ask(|reply| Command::Attach {
            user: identity.user,
            outbound: outbound.clone(),
            new_token: identity.new_token,
            reply,
        })
        .await;
    let Ok(attached) = attached else {
        conn.close_with(&ctx.unavailable(None)).await;
        return None;
    };
    tracing::debug!(user = %attached.name, %peer, "logged in");
    let login = password::Login {
        token: crate::auth::token_hash(&identity.token.0),
        address: peer.ip(),
    };
    let logged_in = ServerMessage::LoggedIn {
        user: attached.name.clone(),
        created: identity.created,
        token: identity.token,
        server_time: Timestamp::now(),
    }
    .to_line();
    Some(Ready {
        conn,
        attached,
        login,
        outbound,
        logged_in,
    })
}

impl End {
    fn close(msg: ServerMessage) -> Self {
        End::Close(Box::new(msg))
    }
}

/// What a logged-in session's loop works with, besides its connection and
/// transfers (which it changes).
#[derive(Debug, Clone, Copy)]
struct Here<'a> {
    ctx: &'a Context,
    me: &'a Attached,
    login: &'a password::Login,
    outbound: &'a Outbound,
}

/// How the request loop ended.
#[derive(Debug)]
enum End {
    /// Send this and close.
    Close(Box<ServerMessage>),
    /// Nothing more to say (the client left, or cannot be written to).
    Gone,
}

fn shutdown_message() -> ServerMessage {
    ServerMessage::error(
        ErrorCode::ServerShutdown,
        "the server is shutting down; reconnect in a moment",
    )
}

async fn serve(conn: &mut Conn, here: Here<'_>, transfers: &mut Transfers) -> End {
    let Here {
        ctx, me, outbound, ..
    } = here;
    // Boxed, and gone once `synced` is written: an idle session holds none of it.
    let mut catch_up = Some(Box::new(CatchUp::new(me)));
    let mut last_heard = Instant::now();
    let mut pinged = false;
    let idle = tokio::time::sleep(ctx.config.ping_interval);
    tokio::pin!(idle);
    // Set while the client is made to wait after a refusal for its rate:
    // nothing is read until it ends (boxed: rarely there).
    let mut hold: Option<Pin<Box<tokio::time::Sleep>>> = None;
    // Whether the hub may write to the socket while the loop waits: once the
    // catch-up is over (live lines wait behind it), on plain TCP.
    let mut shared = false;
    // The server stopping wakes a session that waits. Made once and kept:
    // made afresh for every wait, it put itself on the token's list of
    // waiters and took itself off again each time, about 300 instructions a
    // message; and polled last (see the `select!`).
    let shutdown = ctx.shutdown.cancelled();
    tokio::pin!(shutdown);
    loop {
        // Looked at first on every round, so that a client that never stops
        // sending hears that the server is stopping as soon as one that waits.
        if ctx.shutdown.is_cancelled() {
            return End::close(shutdown_message());
        }
        if let Some(ms) = outbound.take_hold() {
            hold = Some(Box::pin(tokio::time::sleep(Duration::from_millis(ms))));
        }
        if catch_up.as_ref().is_some_and(|c| !c.has_lines())
            && let Some(end) = Box::pin(next_page(conn, here, transfers, &mut catch_up)).await
        {
            return end;
        }
        let catching_up = catch_up.is_some();
        if !shared
            && !catching_up
            && let Some(socket) = conn.shared_socket()
        {
            outbound.share(socket);
            shared = true;
        }
        let can_read = hold.is_none() && catch_up.as_ref().is_none_or(|c| !c.holding_enough());
        let catch_up_lines = catch_up.as_ref().is_some_and(|c| c.has_lines());
        if shared {
            outbound.release();
        }
        // What woke the loop; handled after the `select!`, so that nothing
        // of the wait is kept while a line is handled or written.
        let wake = tokio::select! {
            biased;
            () = outbound.ready(), if !catching_up => Wake::Queued,
            line = conn.next_line(), if can_read => Wake::Line(line),
            () = async { if let Some(h) = hold.as_mut() { h.as_mut().await } }, if hold.is_some() => Wake::Unheld,
            () = std::future::ready(()), if catch_up_lines => Wake::CatchUpLines,
            // Boxed once it runs: its future would otherwise be part of every
            // idle session's state.
            chunk = async { Box::pin(transfers.next_chunk()).await }, if transfers.can_send() => Wake::Chunk(chunk),
            () = &mut idle => Wake::Idle,
            // Last: polled only when nothing above is ready, that is when the
            // session is about to wait (the round's start looks every time).
            () = &mut shutdown => Wake::Shutdown,
        };
        if shared {
            outbound.claim();
        }
        match wake {
            Wake::Shutdown => return End::close(shutdown_message()),
            Wake::Queued => {
                if let Some(end) = write_queued(conn, outbound, transfers, ctx).await {
                    return end;
                }
            }
            Wake::Line(line) => {
                let line = match line {
                    Ok(Some(line)) => line,
                    Ok(None) => {
                        // The client closed only its sending side (`nc -N` does at the
                        // end of its input) and may still read: answer what it sent.
                        if !catching_up
                            && Box::pin(ctx.hub.ask(|reply| Command::Flush { reply }))
                                .await
                                .is_ok()
                        {
                            let (mut lines, _) = outbound.take();
                            let _ = Box::pin(conn.write_lines(&mut lines)).await;
                        }
                        return End::Gone;
                    }
                    Err(FrameError::Io(_)) => return End::Gone,
                    Err(FrameError::TooLong { limit }) => {
                        return End::close(login::too_long(limit));
                    }
                };
                last_heard = Instant::now();
                pinged = false;
                if let Some(c) = catch_up.as_mut() {
                    if let Some(end) = Box::pin(during_catch_up(ctx, me, c, line)).await {
                        return end;
                    }
                    continue;
                }
                if let Some(answering) = take_line(conn, here, transfers, &line)
                    && let Some(end) = answering.await
                {
                    return end;
                }
            }
            Wake::Unheld => hold = None,
            Wake::CatchUpLines => {
                let mut lines = catch_up.as_mut().map(|c| c.slice()).unwrap_or_default();
                if Box::pin(conn.write_lines(&mut lines)).await.is_err() {
                    return End::Gone;
                }
                // A client that takes what is written is there, even if it
                // says nothing while it reads a long catch-up.
                last_heard = Instant::now();
            }
            Wake::Chunk(chunk) => {
                if let Some(line) = chunk
                    && Box::pin(conn.write_line(line)).await.is_err()
                {
                    return End::Gone;
                }
            }
            Wake::Idle => {
                let ping = ctx.config.ping_interval;
                let silent = last_heard.elapsed();
                if silent < ping {
                    idle.as_mut().reset(last_heard + ping);
                } else if !pinged {
                    pinged = true;
                    if Box::pin(conn.send(&ServerMessage::Ping)).await.is_err() {
                        return End::Gone;
                    }
                    idle.as_mut().reset(Instant::now() + ping);
                } else {
                    return End::close(ServerMessage::error(
                        ErrorCode::IdleTimeout,
                        format!("nothing heard for {} seconds; closing", silent.as_secs()),
                    ));
                }
            }
        }
    }
}

/// What woke a session's loop.
enum Wake {
    Shutdown,
    /// The hub queued lines (or stopped a download, or let go).
    Queued,
    Line(Result<Option<Bytes>, FrameError>),
    /// The wait after a refusal for the client's rate is over.
    Unheld,
    /// The catch-up has lines to write.
    CatchUpLines,
    /// A download's next chunk, if it had one.
    Chunk(Option<Bytes>),
    /// Nothing heard for a while.
    Idle,
}

/// A line read during the catch-up: an `ack` moves the cursor at once, so
/// a link that drops halfway keeps what it acknowledged; `pong` needs
/// nothing; everything else waits for `synced`. `Some` ends the session.
async fn during_catch_up(
    ctx: &Context,
    me: &Attached,
    catch_up: &mut CatchUp,
    line: Bytes,
) -> Option<End> {
    match ClientMessage::decode(&line) {
        Ok(ClientMessage::Ack { conv, seq }) => {
            let ack = Request::Ack { conv, seq };
            if ctx.hub.request(me.session, ack).await.is_err() {
                return Some(End::close(ctx.unavailable(None)));
            }
        }
        _ => {
            catch_up.held_bytes += line.len();
            catch_up.held.push_back(line);
        }
    }
    None
}

/// Writes what the hub queued for this connection; `Some` ends the session.
async fn write_queued(
    conn: &mut Conn,
    outbound: &Outbound,
    transfers: &mut Transfers,
    ctx: &Context,
) -> Option<End> {
    let (mut lines, closed) = outbound.take();
    for offer in outbound.take_stops() {
        lines.extend(transfers.stop_download(ctx, offer));
    }
    // Nearly always the socket takes it all at once. Waiting for a slow
    // reader takes a future of a few hundred bytes, boxed so that it is not
    // part of every idle session's state.
    if conn.write_now(&mut lines).is_err()
        || (!lines.is_empty() && Box::pin(conn.write_lines(&mut lines)).await.is_err())
    {
        return Some(End::Gone);
    }
    match closed {
        Some(Closed::Overflow) => Some(End::close(ServerMessage::error(
            ErrorCode::SlowConsumer,
            "you fell too far behind reading; closing. Nothing is lost: reconnect to catch up",
        ))),
        Some(Closed::Dropped) => Some(End::close(shutdown_message())),
        None => None,
    }
}

/// Writes a reply (nothing, if it is empty); a hub that did not answer ends the session.
async fn answer(
    conn: &mut Conn,
    ctx: &Context,
    req: Option<Req>,
    reply: Result<Bytes, HubGone>,
) -> Option<End> {
    match reply {
        Ok(line) if line.is_empty() => None,
        Ok(line) => conn.write_line(line).await.err().map(|_| End::Gone),
        Err(HubGone) if ctx.shutdown.is_cancelled() => Some(End::close(ctx.unavailable(None))),
        // The request's batch could not be stored: say so, and carry on.
        Err(HubGone) => conn
            .send(&ctx.unavailable(req))
            .await
            .err()
            .map(|_| End::Gone),
    }
}

/// Reads the catch-up's next page; once there is none, writes `synced`,
/// answers the lines that came meanwhile, and ends the catch-up.
async fn next_page(
    conn: &mut Conn,
    at: Here<'_>,
    transfers: &mut Transfers,
    catch_up: &mut Option<Box<CatchUp>>,
) -> Option<End> {
    let Here { ctx, me, .. } = at;
    let c = catch_up.as_mut()?;
    let synced = match c.refill(ctx, me).await {
        Ok(None) => return None,
        Ok(Some(synced)) => synced,
        Err(end) => return Some(end),
    };
    let held = std::mem::take(&mut c.held);
    *catch_up = None;
    if conn.write_line(synced).await.is_err() {
        return Some(End::Gone);
    }
    for line in held {
        if let Some(answering) = take_line(conn, at, transfers, &line)
            && let Some(end) = answering.await
        {
            return Some(end);
        }
    }
    None
}

/// Writes one message; a client that cannot be written to ends the session.
async fn send(conn: &mut Conn, msg: &ServerMessage) -> Option<End> {
    conn.send(msg).await.err().map(|_| End::Gone)
}

/// `bye`: the answers to what came before it go out first, then `bye`.
async fn bye(conn: &mut Conn, ctx: &Context, outbound: &Outbound) -> Option<End> {
    if ctx.hub.ask(|reply| Command::Flush { reply }).await.is_err() {
        return Some(End::close(ctx.unavailable(None)));
    }
    let (mut lines, _) = outbound.take();
    if conn.write_lines(&mut lines).await.is_err() {
        return Some(End::Gone);
    }
    Some(End::close(ServerMessage::Bye))
}

/// What is left of handling a line once [`take_line`] returns: its answer,
/// to wait for; `Some` from it ends the session.
type Answering<'a> = Pin<Box<dyn Future<Output = Option<End>> + Send + 'a>>;

/// Handles one line from the client, as far as it can without waiting.
///
/// A request for the hub, the usual line, is handed over then and there,
/// leaving nothing to wait for. The rest is boxed: answering takes a future
/// of about a kilobyte, which would otherwise be part of every idle
/// session's state (so would anything this kept across a wait).
fn take_line<'a>(
    conn: &'a mut Conn,
    at: Here<'a>,
    transfers: &'a mut Transfers,
    line: &[u8],
) -> Option<Answering<'a>> {
    let ctx = at.ctx;
    match route(line) {
        Routed::Hub(request) => {
            let command = Command::Request {
                session: at.me.session,
                request,
            };
            match ctx.hub.try_send(command) {
                Ok(()) => None,
                Err(Backlog::Full(command)) => Some(Box::pin(async move {
                    let sent = ctx.hub.send(command).await;
                    sent.err().map(|HubGone| End::close(ctx.unavailable(None)))
                })),
                Err(Backlog::Gone) => Some(Box::pin(std::future::ready(Some(End::close(
                    ctx.unavailable(None),
                ))))),
            }
        }
        Routed::Here(msg) => Some(Box::pin(handle(conn, at, transfers, msg))),
        Routed::Refused(refused) => Some(Box::pin(async move { send(conn, &refused).await })),
    }
}

/// Where a line from the client goes: most become a request for the hub
/// (sorted here, without waiting, so that the usual line takes no future of
/// its own), the rest the session answers itself ([`handle`]).
enum Routed {
    Hub(Request),
    Here(ClientMessage),
    /// Boxed: rare, and far larger than the rest.
    Refused(Box<ServerMessage>),
}

fn route(line: &[u8]) -> Routed {
    match ClientMessage::decode(line) {
        Ok(msg) => sort(msg),
        Err(e) => Routed::Refused(Box::new(e.to_message())),
    }
}

fn sort(msg: ClientMessage) -> Routed {
    // Exhaustive, like the hub's own dispatch: a new `ClientMessage` does not
    // compile until it is given a place here or in [`handle`].
    Routed::Hub(match msg {
        // Answered by the hub, in the order they came.
        ClientMessage::Send {
            id,
            to,
            body,
            reply_to,
            edit,
            delete,
            react,
            unreact,
        } => {
            let what = match (reply_to, edit, delete, react, unreact) {
                (reply, None, None, None, None) => Sending::New(reply),
                (None, Some(seq), None, None, None) => Sending::Edit(seq),
                (None, None, Some(seq), None, None) => Sending::Delete(seq),
                (None, None, None, Some(seq), None) => Sending::React(seq),
                (None, None, None, None, Some(seq)) => Sending::Unreact(seq),
                _ => {
                    let why = "a send may reply, edit, delete, react or unreact: one of them, \
                               not two";
                    let refused = ServerMessage::Error {
                        req: None,
                        id: Some(id),
                        offer: None,
                        code: ErrorCode::BadRequest,
                        message: why.into(),
                        retry_after_ms: None,
                    };
                    return Routed::Refused(Box::new(refused));
                }
            };
            Request::Send { id, to, body, what }
        }
        ClientMessage::Ack { conv, seq } => Request::Ack { conv, seq },
        ClientMessage::Typing { to } => Request::Typing { to },
        ClientMessage::Read { req, conv, seq } => Request::Read { req, conv, seq },
        ClientMessage::Who { req } => Request::Who { req },
        ClientMessage::Whois { req, user } => Request::Whois { req, user },
        ClientMessage::ReadBy { req, id } => Request::ReadBy { req, id },
        ClientMessage::Files { req } => Request::Files { req },
        ClientMessage::Create {
            req,
            group,
            members,
            access,
            posting,
        } => Request::Create {
            req,
            group,
            members,
            access,
            posting,
        },
        ClientMessage::Join { req, group } => Request::Join { req, group },
        ClientMessage::Leave { req, group } => Request::Leave { req, group },
        ClientMessage::Groups { req } => Request::Groups { req },
        ClientMessage::Members { req, group } => Request::Members { req, group },
        ClientMessage::Rename { req, group, to } => Request::Rename { req, group, to },
        ClientMessage::Add { req, group, user } => Request::Add { req, group, user },
        ClientMessage::Kick { req, group, user } => Request::Kick { req, group, user },
        ClientMessage::Owner { req, group, user } => Request::Owner { req, group, user },
        ClientMessage::Delete { req, group } => Request::Delete { req, group },
        ClientMessage::Unban { req, group, user } => Request::Unban { req, group, user },
        ClientMessage::Pin { req, group, seq } => Request::Pin {
            req,
            group,
            seq,
            pinned: true,
        },
        ClientMessage::Unpin { req, group, seq } => Request::Pin {
            req,
            group,
            seq,
            pinned: false,
        },
        ClientMessage::Role {
            req,
            group,
            user,
            role,
        } => Request::Role {
            req,
            group,
            user,
            role,
        },
        ClientMessage::Settings {
            req,
            group,
            access,
            posting,
        } => Request::Settings {
            req,
            group,
            access,
            posting,
        },
        // Answered by the session itself.
        ClientMessage::History { .. }
        | ClientMessage::Search { .. }
        | ClientMessage::Offer { .. }
        | ClientMessage::Chunk { .. }
        | ClientMessage::Accept { .. }
        | ClientMessage::FileAck { .. }
        | ClientMessage::Received { .. }
        | ClientMessage::Decline { .. }
        | ClientMessage::Cancel { .. }
        | ClientMessage::Conversations { .. }
        | ClientMessage::Ping
        | ClientMessage::Pong
        | ClientMessage::Bye
        | ClientMessage::Password { .. }
        | ClientMessage::Hello { .. }
        | ClientMessage::Login { .. }
        | ClientMessage::Put { .. }
        | ClientMessage::Get { .. } => return Routed::Here(msg),
    })
}

/// Answers a line the session handles itself (see [`route`]).
async fn handle(
    conn: &mut Conn,
    at: Here<'_>,
    transfers: &mut Transfers,
    msg: ClientMessage,
) -> Option<End> {
    let Here { ctx, me, .. } = at;
    let session = me.session;
    match msg {
        ClientMessage::History {
            req,
            conv,
            before,
            after,
            limit,
        } => {
            let page = history::Page {
                req,
                conv,
                before,
                after,
                limit,
            };
            let reply = Box::pin(history::answer(ctx, session, me.user, page)).await;
            answer(conn, ctx, req, reply).await
        }
        ClientMessage::Search {
            req,
            words,
            conv,
            before,
            limit,
        } => {
            let ask = search::Ask {
                req,
                words,
                conv,
                before,
                limit,
            };
            let reply = Box::pin(search::answer(ctx, session, ask)).await;
            answer(conn, ctx, req, reply).await
        }
        ClientMessage::Offer {
            req,
            to,
            name,
            size,
            sha256,
            stream,
        } => {
            let new = crate::hub::NewOffer {
                to,
                name,
                size,
                sha256,
                stream,
            };
            let reply = Box::pin(transfers.offer(ctx, session, req, new)).await;
            answer(conn, ctx, req, reply).await
        }
        ClientMessage::Chunk {
            offer,
            offset,
            data,
        } => {
            let reply = Box::pin(transfers.chunk(ctx, session, offer, offset, &data)).await;
            answer(conn, ctx, None, reply).await
        }
        ClientMessage::Accept { req, offer, bulk } => {
            let reply = Box::pin(transfers.accept(ctx, session, req, offer, bulk)).await;
            answer(conn, ctx, req, reply).await
        }
        ClientMessage::FileAck { offer, received } => {
            transfers.ack(offer, received);
            None
        }
        ClientMessage::Received { req, offer } => {
            let reply = transfers.decide(ctx, session, req, offer, Decision::Received);
            answer(conn, ctx, req, reply.await.map(Option::unwrap_or_default)).await
        }
        ClientMessage::Decline { req, offer } => {
            let reply = transfers.decide(ctx, session, req, offer, Decision::Declined);
            answer(conn, ctx, req, reply.await.map(Option::unwrap_or_default)).await
        }
        ClientMessage::Cancel { req, offer } => {
            let reply = Box::pin(transfers.cancel(ctx, session, &me.name, req, offer))
                .await
                .map(Option::unwrap_or_default);
            answer(conn, ctx, req, reply).await
        }
        ClientMessage::Conversations { req } => {
            let reply = Box::pin(history::conversations(ctx, session, me.user, req)).await;
            answer(conn, ctx, req, reply).await
        }
        ClientMessage::Ping => send(conn, &ServerMessage::Pong).await,
        ClientMessage::Pong => None,
        ClientMessage::Bye => bye(conn, ctx, at.outbound).await,
        ClientMessage::Password { req, old, new } => {
            let reply = Box::pin(password::change(ctx, me, at.login, req, old, new)).await;
            send(conn, &reply).await
        }
        ClientMessage::Hello { .. } | ClientMessage::Login { .. } => {
            let e = "this connection is already logged in";
            send(conn, &ServerMessage::error(ErrorCode::AlreadyLoggedIn, e)).await
        }
        ClientMessage::Put { .. } | ClientMessage::Get { .. } => {
            let e =
                "put and get are the first line of a connection of their own (PROTOCOL.md §11.7)";
            send(conn, &ServerMessage::error(ErrorCode::BadRequest, e)).await
        }
        // `route` gives these to the hub before a line gets here; listed, so
        // that a new message is placed on one side or the other.
        hub_bound @ (ClientMessage::Send { .. }
        | ClientMessage::Ack { .. }
        | ClientMessage::Typing { .. }
        | ClientMessage::Read { .. }
        | ClientMessage::Who { .. }
        | ClientMessage::Whois { .. }
        | ClientMessage::ReadBy { .. }
        | ClientMessage::Files { .. }
        | ClientMessage::Create { .. }
        | ClientMessage::Join { .. }
        | ClientMessage::Leave { .. }
        | ClientMessage::Groups { .. }
        | ClientMessage::Members { .. }
        | ClientMessage::Rename { .. }
        | ClientMessage::Add { .. }
        | ClientMessage::Kick { .. }
        | ClientMessage::Owner { .. }
        | ClientMessage::Delete { .. }
        | ClientMessage::Unban { .. }
        | ClientMessage::Pin { .. }
        | ClientMessage::Unpin { .. }
        | ClientMessage::Role { .. }
        | ClientMessage::Settings { .. }) => match sort(hub_bound) {
            Routed::Hub(request) => Box::pin(ctx.hub.request(session, request))
                .await
                .err()
                .map(|HubGone| End::close(ctx.unavailable(None))),
            Routed::Refused(refused) => send(conn, &refused).await,
            Routed::Here(_) => None,
        },
    }
}
