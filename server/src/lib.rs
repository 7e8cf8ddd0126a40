//! The ClassChat server.
//!
//! Layout, in the order a message travels:
//! - [`server`]: binds nothing itself; takes bound listeners, accepts
//!   connections, caps their number, and shuts everything down in order.
//! - [`session`]: one connection: `hello`, login, catch-up, then lines ↔ requests.
//! - [`outbound`]: each connection's bounded queue of lines to write.
//! - [`hub`]: the single owner of state (accounts, conversations, cursors, who is
//!   online); routes messages and commits them in batches.
//! - [`store`]: the durable storage trait, with SQLite, PostgreSQL and in-memory stores.
//! - `cluster` (`--features cluster`): a node's link to the others through NATS.
//! - [`blobs`]: the bytes of offered files, one per offer; the only code that
//!   knows the files folder.
//! - [`auth`]: argon2id password hashing off the async threads, resume tokens.
//! - [`admin`]: what an operator does to a stopped server's data (a new password).
//! - [`ratelimit`]: token buckets per user and kind of request (messages, group
//!   changes, history, queries, answers to offers, password changes).
//! - [`config`]: settings, and the defaults the command line shows.
//! - [`gate`], [`throttle`]: connections per address; slowed password guessing.
//! - [`roster`]: who may create an account, when sign-up is limited to a list.
//! - [`idmap`]: cheap hash maps for the ids the server assigns.
//! - [`owner_only`]: folders and files only the server's user may open, and the
//!   warning when the data directory is open to others.

pub mod admin;
pub mod auth;
pub mod blobs;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod config;
pub mod gate;
pub mod hub;
pub mod idmap;
pub mod outbound;
pub mod owner_only;
pub mod ratelimit;
pub mod roster;
pub mod server;
pub mod session;
pub mod store;
pub mod throttle;
pub mod tls;

pub use config::{Config, StoreKind};
pub use server::{Server, ServerError};
