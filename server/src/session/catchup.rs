//! Sending a reconnecting client everything that arrived while it was away.
//!
//! The hub hands over, per conversation, the range between what the user's
//! clients last acknowledged and what was stored before this session attached;
//! anything stored later reaches the session live, so nothing is sent twice and
//! nothing falls in between. Pages are read on Tokio's blocking pool, not in the hub.

use std::collections::VecDeque;

use classchat_common::{ErrorCode, ServerMessage};

use super::conn::Conn;
use super::history::chat_message;
use super::{Context, End};
use crate::hub::Attached;

/// Messages read and written per round.
const PAGE: usize = 512;

pub async fn send(conn: &mut Conn, ctx: &Context, me: &Attached) -> Result<(), End> {
    let mut sent = 0u64;
    for range in &me.catch_up {
        let mut after = range.after;
        while after < range.upto {
            let reader = ctx.hub.reader().clone();
            let (conv, upto) = (range.conv_id, range.upto);
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
            let Some(last) = page.last() else { break };
            after = last.seq;
            let mut lines: VecDeque<_> = page
                .into_iter()
                .filter(|m| m.sender != me.user)
                .map(|m| {
                    ServerMessage::Message(chat_message(range.conv.clone(), m, None)).to_line()
                })
                .collect();
            sent += lines.len() as u64;
            conn.write_lines(&mut lines).await.map_err(|_| End::Gone)?;
        }
    }
    conn.send(&ServerMessage::Synced { messages: sent })
        .await
        .map_err(|_| End::Gone)
}

fn unavailable() -> End {
    End::close(ServerMessage::error(
        ErrorCode::StorageFailed,
        "the server could not read your waiting messages; they are kept, reconnect later",
    ))
}
