//! The ClassChat client.
//!
//! Layout:
//! - [`address`], [`config`]: where the server is; settings and saved logins in
//!   the platform directories.
//! - [`connection`]: one connection (TCP, or TLS with [`tls`]) through `hello` and `login`.
//! - [`client`]: the task that keeps the connection, with the [`outbox`] of
//!   unconfirmed messages and the [`tracker`] of their delivery status.
//! - [`commands`]: the slash-command parser shared by every front end.
//! - [`pipe`]: the scriptable front end (commands on stdin, JSON on stdout).
//! - The terminal UI, in the Elm style: [`model`] (all state), [`message`]
//!   (what happens, and the effects asked for), [`update`] (the only place state
//!   changes), [`ui`] (draws, changes nothing), with [`keymap`], [`layout`]
//!   (geometry both sides share), [`text`] (sanitising and wrapping) and
//!   [`theme`]; [`app`] runs the loop and owns the terminal. In tests,
//!   `fixtures` builds the demo model (fixed clock, fixed people) that the
//!   update tests and the screen snapshots start from.

pub mod address;
pub mod app;
pub mod client;
pub mod commands;
pub mod config;
pub mod connection;
#[cfg(test)]
pub mod fixtures;
pub mod keymap;
pub mod layout;
pub mod message;
pub mod model;
pub mod outbox;
pub mod pipe;
pub mod text;
pub mod theme;
pub mod tls;
pub mod tracker;
pub mod ui;
pub mod update;
