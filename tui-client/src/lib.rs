//! The ClassChat client.
//!
//! Layout:
//! - [`address`], [`config`]: where the server is; settings and saved logins in
//!   the platform directories.
//! - [`connection`]: one TCP connection through `hello` and `login`.
//! - [`client`]: the task that keeps the connection, with the [`outbox`] of
//!   unconfirmed messages and the [`tracker`] of their delivery status.
//! - [`commands`]: the slash-command parser shared by every front end.
//! - [`pipe`]: the scriptable front end (commands on stdin, JSON on stdout).

pub mod address;
pub mod client;
pub mod commands;
pub mod config;
pub mod connection;
pub mod outbox;
pub mod pipe;
pub mod text;
pub mod tracker;
