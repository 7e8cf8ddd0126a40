//! Answering `history`: the hub says what the session may read, the page is read
//! here, on Tokio's blocking pool rather than in the hub.

use bytes::Bytes;
use classchat_common::limits::{
    CONVERSATIONS_MAX, HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, MAX_FRAME_BYTES,
};
use classchat_common::protocol::{ChatMessage, Counts, FileCounts, FileOutcome, Quote, Req};
use classchat_common::{Conv, ErrorCode, OfferId, ServerMessage};

use super::Context;
use crate::hub::{Command, HubGone, SessionId};
use std::collections::HashMap;

use crate::store::{
    MessageKind, OfferOutcome, Reader, StoreError, StoredEvent, StoredFile, StoredMessage, UserId,
};

#[derive(Debug)]
pub struct Page {
    pub req: Option<Req>,
    pub conv: Conv,
    pub before: Option<u64>,
    pub after: Option<u64>,
    pub limit: Option<u32>,
}

/// A stored message as the protocol shows it. A group event's sentence is
/// made again with the group's current name (PROTOCOL.md §10.13), so events
/// from before a rename do not name a group that no longer exists.
pub fn chat_message(conv: Conv, m: StoredMessage, counts: Option<Counts>) -> ChatMessage {
    let (mut event, mut file) = (None, None);
    let (mut edit, mut delete, mut deleted) = (None, None, false);
    let (mut react, mut unreact) = (None, None);
    let reply = match (m.kind, m.refers, m.quoted) {
        (MessageKind::Text, Some(seq), Some(q)) => Some(Box::new(Quote {
            seq,
            from: q.sender_name,
            text: q.text,
            deleted: q.deleted,
        })),
        _ => None,
    };
    let body = match m.kind {
        MessageKind::Event => match serde_json::from_str::<StoredEvent>(&m.body) {
            Ok(stored) => {
                let text = match &conv {
                    Conv::Group(group) => stored.event.describe(&m.sender_name, group),
                    Conv::User(_) => stored.text,
                };
                event = Some(stored.event);
                text
            }
            Err(_) => m.body,
        },
        MessageKind::File => match serde_json::from_str::<StoredFile>(&m.body) {
            Ok(stored) => {
                file = Some(stored.file);
                stored.text
            }
            Err(_) => m.body,
        },
        MessageKind::Text => m.body,
        MessageKind::Edit => {
            edit = m.refers;
            m.body
        }
        MessageKind::Delete => {
            delete = m.refers;
            String::new()
        }
        MessageKind::Deleted => {
            deleted = true;
            String::new()
        }
        MessageKind::React => {
            react = m.refers;
            m.body
        }
        MessageKind::Unreact => {
            unreact = m.refers;
            m.body
        }
    };
    ChatMessage {
        conv,
        seq: m.seq,
        id: m.id,
        from: m.sender_name,
        ts: m.ts,
        body,
        event,
        file,
        counts,
        reply,
        edit,
        delete,
        edited: m.edited,
        deleted,
        react,
        unreact,
        reactions: m.reactions,
    }
}

/// The encoded reply to one `history` request.
pub async fn answer(
    ctx: &Context,
    session: SessionId,
    user: UserId,
    page: Page,
) -> Result<Bytes, HubGone> {
    let Page {
        req,
        conv,
        before,
        after,
        limit,
    } = page;
    if before.is_some() && after.is_some() {
        let e = "give \"before\" or \"after\", not both";
        return Ok(ServerMessage::error_for(req, ErrorCode::BadRequest, e).to_line());
    }
    let view = ctx
        .hub
        .ask(|reply| Command::History {
            session,
            conv,
            reply,
        })
        .await?;
    let view = match view {
        Ok(view) => view,
        Err(r) => return Ok(r.answer(req, None, None).to_line()),
    };
    let Some(conv_id) = view.conv_id else {
        let empty = ServerMessage::History {
            req,
            conv: view.conv,
            messages: Vec::new(),
            more: false,
        };
        return Ok(empty.to_line());
    };
    let limit = limit
        .unwrap_or(HISTORY_PAGE_DEFAULT)
        .clamp(1, HISTORY_PAGE_MAX) as usize;
    let reader = ctx.hub.reader().clone();
    let rows = tokio::task::spawn_blocking(move || {
        let rows = match after {
            // One extra row tells whether there is more.
            Some(after) => reader.range(conv_id, after, u64::MAX, limit + 1),
            None => reader.before(conv_id, before.unwrap_or(u64::MAX), limit + 1),
        }?;
        let outcomes = offer_outcomes(reader.as_ref(), &rows)?;
        Ok::<_, StoreError>((rows, outcomes))
    })
    .await;
    let (mut rows, outcomes) = match rows {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => {
            tracing::error!("history read failed: {e}");
            let e = ServerMessage::error_for(
                req,
                ErrorCode::StorageFailed,
                "the server could not read that history",
            );
            return Ok(e.to_line());
        }
        Err(_) => return Err(HubGone),
    };
    let forward = after.is_some();
    let mut more = rows.len() > limit;
    if more {
        let extra = rows.len() - limit;
        trim_far_end(&mut rows, forward, extra);
    }
    loop {
        let messages = rows
            .iter()
            .map(|m| {
                let counts = (m.sender == user && m.kind == MessageKind::Text)
                    .then(|| view.counts(user, m.seq));
                let mut msg = chat_message(view.conv.clone(), m.clone(), counts);
                if let Some(file) = msg.file.as_mut()
                    && let Some(o) = outcomes.get(&file.offer)
                {
                    file.outcome = Some(Box::new(FileOutcome {
                        counts: FileCounts::tally(o.recipients.iter().map(|(_, s)| *s)),
                        state: o
                            .recipients
                            .iter()
                            .find(|(u, _)| *u == user)
                            .map(|(_, s)| *s),
                        over: o.over,
                    }));
                }
                msg
            })
            .collect();
        let line = ServerMessage::History {
            req,
            conv: view.conv.clone(),
            messages,
            more,
        }
        .to_line();
        if line.len() <= MAX_FRAME_BYTES || rows.len() <= 1 {
            return Ok(line);
        }
        // Too big for one frame: send fewer, and say there is more.
        more = true;
        let drop = rows.len().div_ceil(4);
        trim_far_end(&mut rows, forward, drop);
    }
}

/// Where each offer among `rows` stands now.
fn offer_outcomes(
    reader: &dyn Reader,
    rows: &[StoredMessage],
) -> Result<HashMap<OfferId, OfferOutcome>, StoreError> {
    let mut outcomes = HashMap::new();
    for m in rows.iter().filter(|m| m.kind == MessageKind::File) {
        let Ok(stored) = serde_json::from_str::<StoredFile>(&m.body) else {
            continue;
        };
        if let Some(outcome) = reader.offer_outcome(stored.file.offer)? {
            outcomes.insert(stored.file.offer, outcome);
        }
    }
    Ok(outcomes)
}

/// Drops `n` rows from the end away from where the page starts: the oldest for
/// backward pages, the newest for forward ones.
fn trim_far_end(rows: &mut Vec<StoredMessage>, forward: bool, n: usize) {
    if forward {
        rows.truncate(rows.len() - n);
    } else {
        rows.drain(..n);
    }
}

/// The encoded reply to `conversations`: the hub's list, with unread counts
/// read from storage.
pub async fn conversations(
    ctx: &Context,
    session: SessionId,
    user: UserId,
    req: Option<Req>,
) -> Result<Bytes, HubGone> {
    let mut list = match ctx
        .hub
        .ask(|reply| Command::Conversations { session, reply })
        .await?
    {
        Ok(list) => list,
        Err(r) => return Ok(r.answer(req, None, None).to_line()),
    };
    // Most recent first: what does not fit in one reply is the oldest.
    let total = list.len();
    list.truncate(CONVERSATIONS_MAX);
    let reader = ctx.hub.reader().clone();
    let counted = tokio::task::spawn_blocking(move || {
        list.into_iter()
            .map(|(id, mut summary)| {
                if summary.last_seq > summary.read {
                    summary.unread = reader.count_unread(id, summary.read, user)?;
                }
                Ok(summary)
            })
            .collect::<Result<Vec<_>, StoreError>>()
    })
    .await;
    Ok(match counted {
        Ok(Ok(conversations)) => ServerMessage::Conversations {
            req,
            conversations,
            total,
        }
        .to_line(),
        Ok(Err(e)) => {
            tracing::error!("counting unread messages failed: {e}");
            ServerMessage::error_for(
                req,
                ErrorCode::StorageFailed,
                "the server could not read your conversations",
            )
            .to_line()
        }
        Err(_) => return Err(HubGone),
    })
}
