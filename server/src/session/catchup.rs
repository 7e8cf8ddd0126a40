//! Sending a reconnecting client everything that arrived while it was away.
//!
//! The hub hands over, per conversation, the range between what the user's
//! clients last acknowledged and what was stored before this session attached;
//! anything stored later reaches the session live, so nothing is sent twice and
//! nothing falls in between. Pages are read on Tokio's blocking pool, not in the
//! hub, and written a slice at a time by the session's loop, which reads the
//! client's `ack`s in between: a slow link that keeps reading is never cut off,
//! and what it acknowledged stays acknowledged if it drops halfway.

use std::collections::VecDeque;

use bytes::Bytes;
use classchat_common::{ErrorCode, ServerMessage};

use super::history::chat_message;
use super::{Context, End};
use crate::hub::{Attached, CatchUp as Range};

/// Messages read from storage per page.
const PAGE: usize = 512;

/// The most bytes of lines held back during a catch-up.
const HELD_MAX: usize = 1 << 20;

/// Bytes written per turn of the session's loop, between reads of the client's
/// lines: about a second of a slow link's worth.
const SLICE: usize = 64 * 1024;

/// Where a session is in its catch-up.
#[derive(Debug, Default)]
pub struct CatchUp {
    /// Ranges not read yet; the first may be partly read.
    ranges: VecDeque<Range>,
    /// Read, not written yet.
    lines: VecDeque<Bytes>,
    /// Messages sent, for `synced`.
    sent: u64,
    /// Lines other than `ack` that came meanwhile, answered after `synced`
    /// (PROTOCOL.md §3), and the bytes they hold.
    pub held: VecDeque<Bytes>,
    pub held_bytes: usize,
}

impl CatchUp {
    /// The catch-up of `me`: first the notices about groups they are no
    /// longer in, then every range.
    pub fn new(me: &Attached) -> Self {
        Self {
            ranges: me.catch_up.iter().cloned().collect(),
            lines: me.notices.iter().cloned().collect(),
            sent: me.notices.len() as u64,
            ..Self::default()
        }
    }

    /// Lines are ready to be written.
    pub fn has_lines(&self) -> bool {
        !self.lines.is_empty()
    }

    /// Whether the lines held back fill their room: then the session stops
    /// reading until `synced` (the client's acks wait in the socket meanwhile).
    pub fn holding_enough(&self) -> bool {
        self.held_bytes >= HELD_MAX
    }

    /// Reads the next page when everything read has been written. Once nothing
    /// is left, returns the `synced` line to write.
    pub async fn refill(&mut self, ctx: &Context, me: &Attached) -> Result<Option<Bytes>, End> {
        while self.lines.is_empty() {
            let Some(range) = self.ranges.front_mut() else {
                return Ok(Some(
                    ServerMessage::Synced {
                        messages: self.sent,
                    }
                    .to_line(),
                ));
            };
            if range.after >= range.upto {
                self.ranges.pop_front();
                continue;
            }
            let reader = ctx.hub.reader().clone();
            let (conv, after, upto) = (range.conv_id, range.after, range.upto);
            let page =
                tokio::task::spawn_blocking(move || reader.range(conv, after, upto, PAGE)).await;
            let page = match page {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    tracing::error!("catch-up read failed: {e}");
                    return Err(unavailable());
                }
                Err(_) => return Err(unavailable()),
            };
            let Some(last) = page.last() else {
                self.ranges.pop_front();
                continue;
            };
            range.after = last.seq;
            let name = range.conv.clone();
            self.lines.extend(
                page.into_iter()
                    .filter(|m| m.sender != me.user)
                    .map(|m| ServerMessage::Message(chat_message(name.clone(), m, None)).to_line()),
            );
            self.sent += self.lines.len() as u64;
        }
        Ok(None)
    }

    /// The next lines to write, about [`SLICE`] bytes of them (at least one).
    pub fn slice(&mut self) -> VecDeque<Bytes> {
        let mut bytes = 0;
        let mut n = 0;
        for line in &self.lines {
            if n > 0 && bytes + line.len() > SLICE {
                break;
            }
            bytes += line.len();
            n += 1;
        }
        self.lines.drain(..n).collect()
    }
}

fn unavailable() -> End {
    End::close(ServerMessage::error(
        ErrorCode::StorageFailed,
        "the server could not read your waiting messages; they are kept, reconnect later",
    ))
}
