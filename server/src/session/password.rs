//! `password`: a logged-in user changes their own password.

use std::net::IpAddr;
use std::time::Instant;

use classchat_common::limits::MAX_PASSWORD_BYTES;
use classchat_common::protocol::{Req, Secret};
use classchat_common::{ErrorCode, ServerMessage};

use super::Context;
use crate::hub::{Attached, Command, Refusal};
use crate::store::TokenHash;

/// How this connection logged in: what a password change keeps and throttles.
#[derive(Debug)]
pub struct Login {
    /// The token this connection's client holds; the change leaves it valid.
    pub token: TokenHash,
    pub address: IpAddr,
}

/// The answer to `password`. A wrong current password counts against the
/// account and the address as at login, so a session left open is no easier
/// a place to guess from.
pub async fn change(
    ctx: &Context,
    me: &Attached,
    login: &Login,
    req: Option<Req>,
    old: Secret,
    new: Secret,
) -> ServerMessage {
    // Each change hashes twice; counted before anything is hashed.
    match ctx
        .hub
        .ask(|reply| Command::Take {
            session: me.session,
            class: crate::ratelimit::Class::Password,
            reply,
        })
        .await
    {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => return refusal.to_message(req, None),
        Err(_) => return ctx.unavailable(req),
    }
    let account = me.name.key();
    if let Some(wait) = ctx.throttle.wait(&account, login.address, Instant::now()) {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let why = format!(
            "too many wrong passwords for {}; try again in {} s",
            me.name,
            wait.as_secs().max(1)
        );
        return Refusal::new(ErrorCode::LoginThrottled, why)
            .retry_after(ms)
            .to_message(req, None);
    }
    let min = ctx.config.min_password;
    if new.0.chars().count() < min.max(1) || new.0.len() > MAX_PASSWORD_BYTES {
        return ServerMessage::error_for(
            req,
            ErrorCode::BadRequest,
            format!(
                "a new password must be at least {} characters and at most {MAX_PASSWORD_BYTES} bytes",
                min.max(1)
            ),
        );
    }
    let name = me.name.clone();
    let Ok(Some(current)) = ctx
        .hub
        .ask(|reply| Command::FindAccount { name, reply })
        .await
    else {
        return ctx.unavailable(req);
    };
    let hasher_failed = |e: crate::auth::AuthError| {
        tracing::error!(user = %me.name, "password hashing failed: {e}");
        ServerMessage::error_for(
            req,
            ErrorCode::Internal,
            "the server could not check the password",
        )
    };
    let old_ok = match ctx
        .hasher
        .verify(login.address, old.0, current.password_hash.clone())
        .await
    {
        Ok(ok) => ok,
        Err(e) => return hasher_failed(e),
    };
    if !old_ok {
        // Not "is `new` already the password?" either: that would let one
        // request test two guesses.
        ctx.throttle.failed(&account, login.address, Instant::now());
        return ServerMessage::error_for(
            req,
            ErrorCode::BadPassword,
            "that is not your current password",
        );
    }
    ctx.throttle.succeeded(&account);
    let password_hash = match ctx.hasher.hash(login.address, new.0).await {
        Ok(hash) => hash,
        Err(e) => return hasher_failed(e),
    };
    let user = me.user;
    let keep = login.token;
    match ctx
        .hub
        .ask(|reply| Command::SetPassword {
            user,
            password_hash,
            keep,
            reply,
        })
        .await
    {
        Ok(()) => ServerMessage::PasswordChanged { req },
        Err(_) => ctx.unavailable(req),
    }
}
