//! The protocol both ClassChat sides agree on.
//!
//! Layout:
//! - [`limits`]: every size, count and timing the protocol promises, defined once.
//! - [`names`]: validated user and group names, and [`names::Conv`], the way a
//!   conversation is written on the wire (`bob` or `#cs101`).
//! - [`ids`]: message ids chosen by clients, and server timestamps.
//! - [`error`]: the error codes a server may answer with.
//! - [`protocol`]: [`ClientMessage`] and [`ServerMessage`], one JSON object per line.
//! - [`codec`]: newline-delimited framing with a maximum frame size.
//! - [`text`]: which characters a screen acts on, reorders or hides, and
//!   what text counts as blank.
//! - [`files`]: safe file names, the same on both sides.
//! - `manual` (feature `manual`): a program's man page from its clap definitions.
//! - `proptests` (tests only): property tests across the modules, with
//!   strategies that generate every message.

pub mod codec;
pub mod error;
pub mod files;
pub mod ids;
pub mod limits;
#[cfg(feature = "manual")]
pub mod manual;
pub mod names;
#[cfg(test)]
mod proptests;
pub mod protocol;
pub mod text;
pub mod tls;

pub use codec::{FrameError, LineCodec};
pub use error::ErrorCode;
pub use ids::{MessageId, OfferId, Timestamp};
pub use names::{Conv, GroupName, NameError, Username};
pub use protocol::{ClientMessage, DecodeError, ServerMessage};
