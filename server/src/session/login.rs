//! The start of a session: `hello`, then `login` with a password or a token.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use classchat_common::limits::{MAX_PASSWORD_BYTES, PROTOCOL_VERSION};
use classchat_common::protocol::Secret;
use classchat_common::{ClientMessage, ErrorCode, FrameError, ServerMessage, Username};

use super::Context;
use super::conn::Conn;
use crate::auth::{self, token_hash};
use crate::hub::{Command, Created, HubGone, Refusal};
use crate::store::{TokenHash, UserId};

/// Who logged in, and the token to give them.
#[derive(Debug)]
pub struct Identity {
    pub user: UserId,
    pub created: bool,
    pub token: Secret,
    /// Set when the token is new and the hub must remember it.
    pub new_token: Option<TokenHash>,
}

/// Why the handshake ended without a login.
#[derive(Debug)]
pub enum Ending {
    /// Close with this error.
    Refused(Box<ServerMessage>),
    /// The client went away, or the server is stopping.
    Gone,
    /// Not a chat connection: a bulk one, whose first line this is.
    Bulk(Box<ClientMessage>),
}

impl Ending {
    pub fn refused(msg: ServerMessage) -> Self {
        Ending::Refused(Box::new(msg))
    }
}

/// Reads lines until `hello` and a successful `login`, answering everything
/// else with the error that says what was expected.
pub async fn handshake(
    conn: &mut Conn,
    ctx: &Context,
    address: IpAddr,
) -> Result<Identity, Ending> {
    let mut said_hello = false;
    loop {
        let line = match conn.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => return Err(Ending::Gone),
            Err(FrameError::TooLong { limit }) => return Err(Ending::refused(too_long(limit))),
            Err(FrameError::Io(_)) => return Err(Ending::Gone),
        };
        let msg = match ClientMessage::decode(&line) {
            Ok(msg) => msg,
            Err(e) => {
                reply(conn, e.to_message()).await?;
                continue;
            }
        };
        // A refusal names the request it refuses, as every refusal does.
        let refusal = |code: ErrorCode, why: String| ServerMessage::Error {
            req: msg.req(),
            id: msg.message_id(),
            offer: None,
            code,
            message: why,
            retry_after_ms: None,
        };
        match msg {
            ClientMessage::Hello { version, .. } if !said_hello => {
                if version != PROTOCOL_VERSION {
                    return Err(Ending::refused(ServerMessage::error(
                        ErrorCode::UnsupportedVersion,
                        format!(
                            "this server speaks protocol version {PROTOCOL_VERSION}, not {version}"
                        ),
                    )));
                }
                said_hello = true;
                let welcome = ServerMessage::Welcome {
                    version: PROTOCOL_VERSION,
                    server: format!("classchat-server/{}", env!("CARGO_PKG_VERSION")),
                    limits: ctx.config.limits(),
                };
                reply(conn, welcome).await?;
            }
            // A bulk connection: its first line says so, with no `hello`.
            ClientMessage::Put { .. } | ClientMessage::Get { .. } if !said_hello => {
                return Err(Ending::Bulk(Box::new(msg)));
            }
            ClientMessage::Ping => reply(conn, ServerMessage::Pong).await?,
            ClientMessage::Bye => return Err(Ending::refused(ServerMessage::Bye)),
            ClientMessage::Pong => {}
            _ if !said_hello => {
                let e = refusal(
                    ErrorCode::HelloRequired,
                    format!(
                        "say hello first: {{\"type\":\"hello\",\"version\":{PROTOCOL_VERSION}}}"
                    ),
                );
                reply(conn, e).await?;
            }
            ClientMessage::Hello { .. } => {
                let e = ServerMessage::error(ErrorCode::AlreadyLoggedIn, "hello was already said");
                reply(conn, e).await?;
            }
            ClientMessage::Login {
                user,
                password,
                token,
                create,
            } => match login(ctx, address, &user, password, token, create).await? {
                Ok(identity) => return Ok(identity),
                Err(refusal) => reply(conn, refusal).await?,
            },
            _ => {
                let e = refusal(
                    ErrorCode::LoginRequired,
                    "log in first: {\"type\":\"login\",\"user\":\"NAME\",\"password\":\"PASSWORD\"}"
                        .to_owned(),
                );
                reply(conn, e).await?;
            }
        }
    }
}

pub fn too_long(limit: usize) -> ServerMessage {
    ServerMessage::error(
        ErrorCode::FrameTooLong,
        format!("a line may be at most {limit} bytes; closing the connection"),
    )
}

async fn reply(conn: &mut Conn, msg: ServerMessage) -> Result<(), Ending> {
    conn.send(&msg).await.map_err(|_| Ending::Gone)
}

/// One login attempt: `Ok(Err(..))` is a refusal the client may answer by trying again.
async fn login(
    ctx: &Context,
    address: IpAddr,
    name: &Username,
    password: Option<Secret>,
    token: Option<Secret>,
    create: bool,
) -> Result<Result<Identity, ServerMessage>, Ending> {
    let account = name.key();
    if let Some(wait) = ctx.throttle.wait(&account, address, Instant::now()) {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let why = format!(
            "too many wrong passwords for {name} or from your address; try again in {} s",
            wait.as_secs().max(1)
        );
        let refusal = Refusal::new(ErrorCode::LoginThrottled, why).retry_after(ms);
        return Ok(Err(refusal.to_message(None, None)));
    }
    if let Some(token) = token {
        let hash = token_hash(&token.0);
        let name = name.clone();
        return Ok(
            match ctx
                .hub
                .ask(|reply| Command::Resume {
                    name,
                    token: hash,
                    reply,
                })
                .await
                .map_err(|HubGone| Ending::refused(ctx.unavailable(None)))?
            {
                Some(user) => Ok(Identity {
                    user,
                    created: false,
                    token,
                    new_token: None,
                }),
                None => {
                    // Guessing tokens is guessing passwords.
                    ctx.throttle.failed(&account, address, Instant::now());
                    Err(ServerMessage::error(
                        ErrorCode::BadToken,
                        "that resume token is not valid for this user; log in with the password",
                    ))
                }
            },
        );
    }
    let Some(Secret(password)) = password else {
        return Ok(Err(ServerMessage::error(
            ErrorCode::BadRequest,
            "login needs a \"password\" (or a \"token\" from an earlier login)",
        )));
    };
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Ok(Err(ServerMessage::error(
            ErrorCode::BadRequest,
            format!("a password must be 1 to {MAX_PASSWORD_BYTES} bytes"),
        )));
    }
    let hasher_failed = |e: auth::AuthError| {
        tracing::error!(user = %name, "password hashing failed: {e}");
        Ending::refused(ServerMessage::error(
            ErrorCode::Internal,
            "the server could not check the password",
        ))
    };
    let lookup = name.clone();
    let existing = ctx
        .hub
        .ask(|reply| Command::FindAccount {
            name: lookup,
            reply,
        })
        .await
        .map_err(|HubGone| Ending::refused(ctx.unavailable(None)))?;
    let (user, created, hash) = match existing {
        Some(account) => (account.id, false, account.password_hash),
        None => {
            // Before the password is hashed: a refused sign-up costs nothing.
            if !create {
                return Ok(Err(ServerMessage::error(
                    ErrorCode::UnknownUser,
                    format!(
                        "there is no account {name} yet; log in with \"create\":true to make it \
                         with this password"
                    ),
                )));
            }
            let min = ctx.config.min_password;
            if password.chars().count() < min {
                return Ok(Err(ServerMessage::error(
                    ErrorCode::BadRequest,
                    format!("a new account's password must be at least {min} characters"),
                )));
            }
            if let Err(wait) = ctx.sign_ups.take(address, Instant::now()) {
                tracing::info!(user = %name, %address, "sign-up refused: too many from this address");
                return Ok(Err(too_many_sign_ups(ctx, wait)));
            }
            if let Some(refusal) = sign_up_refusal(ctx, name).await {
                return Ok(Err(refusal));
            }
            let hash = ctx
                .hasher
                .hash(address, password.clone())
                .await
                .map_err(hasher_failed)?;
            let name = name.clone();
            match ctx
                .hub
                .ask(|reply| Command::CreateAccount {
                    name,
                    password_hash: hash,
                    reply,
                })
                .await
                .map_err(|HubGone| Ending::refused(ctx.unavailable(None)))?
            {
                Created::New(user, _) => return Ok(Ok(fresh_identity(user, true)?)),
                Created::Exists(account) => (account.id, false, account.password_hash),
            }
        }
    };
    if !ctx
        .hasher
        .verify(address, password, hash)
        .await
        .map_err(hasher_failed)?
    {
        tracing::info!(user = %name, %address, "wrong password");
        ctx.throttle.failed(&account, address, Instant::now());
        return Ok(Err(ServerMessage::error(
            ErrorCode::BadPassword,
            format!("wrong password for {name}"),
        )));
    }
    ctx.throttle.succeeded(&account);
    Ok(Ok(fresh_identity(user, created)?))
}

/// The refusal of a sign-up over the address's allowance, `wait` before the next.
fn too_many_sign_ups(ctx: &Context, wait: Duration) -> ServerMessage {
    let rate = ctx.config.sign_ups;
    let secs = wait.as_secs().max(1);
    let when = if secs < 120 {
        format!("{secs} s")
    } else {
        format!("{} min", secs.div_ceil(60))
    };
    let why = format!(
        "too many new accounts from your address (at most {}); \
         log in to an account you already have, or try again in {when}",
        rate.describe()
    );
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    Refusal::new(ErrorCode::RateLimited, why)
        .retry_after(ms)
        .to_message(None, None)
}

/// Why `name`, which has no account, may not create one; `None` if it may.
async fn sign_up_refusal(ctx: &Context, name: &Username) -> Option<ServerMessage> {
    let roster = ctx.roster.as_ref()?;
    let why = match roster.admits(name).await {
        Ok(true) => return None,
        Ok(false) => format!(
            "there is no account {name}, and only the names on this server's roster can create one; \
             check the spelling, or ask whoever runs the server to add you"
        ),
        Err(e) => {
            tracing::error!("refusing a sign-up: {e}");
            "the server cannot read its roster, so it cannot create accounts now; tell whoever runs it"
                .to_owned()
        }
    };
    tracing::info!(user = %name, "sign-up refused: not on the roster");
    Some(ServerMessage::error(ErrorCode::SignUpClosed, why))
}

fn fresh_identity(user: UserId, created: bool) -> Result<Identity, Ending> {
    let (token, hash) = auth::new_token().map_err(|e| {
        tracing::error!("cannot make a token: {e}");
        Ending::refused(ServerMessage::error(
            ErrorCode::Internal,
            "the server could not make a login token",
        ))
    })?;
    Ok(Identity {
        user,
        created,
        token: Secret(token),
        new_token: Some(hash),
    })
}
