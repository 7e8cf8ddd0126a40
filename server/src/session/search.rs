//! Answering `search`: the hub names the conversations the user may read (and
//! has the index catch up), the store finds the messages, on Tokio's blocking
//! pool rather than in the hub.

use bytes::Bytes;
use classchat_common::limits::{MAX_FRAME_BYTES, SEARCH_PAGE_DEFAULT, SEARCH_PAGE_MAX};
use classchat_common::protocol::Req;
use classchat_common::{Conv, ErrorCode, ServerMessage};

use super::Context;
use super::history::chat_message;
use crate::hub::{Command, HubGone, SessionId};
use crate::store::search::{Cursor, Query};
use crate::store::{ConvId, StoredMessage};

#[derive(Debug)]
pub struct Ask {
    pub req: Option<Req>,
    pub words: String,
    pub conv: Option<Conv>,
    pub before: Option<String>,
    pub limit: Option<u32>,
}

/// The encoded reply to one `search` request.
pub async fn answer(ctx: &Context, session: SessionId, ask: Ask) -> Result<Bytes, HubGone> {
    let Ask {
        req,
        words,
        conv,
        before,
        limit,
    } = ask;
    let refuse =
        |message: &str| Ok(ServerMessage::error_for(req, ErrorCode::BadRequest, message).to_line());
    let query = match Query::parse(&words) {
        Ok(query) => query,
        Err(why) => return refuse(&why),
    };
    let before = match before.as_deref().map(Cursor::decode) {
        None => None,
        Some(Some(cursor)) => Some(cursor),
        Some(None) => return refuse("\"before\" is not a \"next\" this server gave"),
    };
    let limit = limit
        .unwrap_or(SEARCH_PAGE_DEFAULT)
        .clamp(1, SEARCH_PAGE_MAX) as usize;
    let convs = ctx
        .hub
        .ask(|reply| Command::Search {
            session,
            conv,
            reply,
        })
        .await?;
    let convs = match convs {
        Ok(convs) => convs,
        Err(r) => return Ok(r.answer(req, None, None).to_line()),
    };
    let reader = ctx.hub.reader().clone();
    let ids: Vec<ConvId> = convs.iter().map(|(id, _)| *id).collect();
    // One extra row tells whether there is more.
    let found = tokio::task::spawn_blocking(move || reader.search(&query, &ids, before, limit + 1))
        .await
        .map_err(|_| HubGone)?;
    let mut rows = match found {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!("search failed: {e}");
            let e = ServerMessage::error_for(
                req,
                ErrorCode::StorageFailed,
                "the server could not search now",
            );
            return Ok(e.to_line());
        }
    };
    let mut more = rows.len() > limit;
    rows.truncate(limit);
    loop {
        let line = page(req, &convs, &rows, more).to_line();
        if line.len() <= MAX_FRAME_BYTES || rows.len() <= 1 {
            return Ok(line);
        }
        // Too big for one frame: send fewer, and say where to go on.
        more = true;
        rows.truncate(rows.len() - rows.len().div_ceil(4));
    }
}

/// One reply: the messages, each named by its conversation as the user names
/// it, and where the next page starts.
fn page(
    req: Option<Req>,
    convs: &[(ConvId, Conv)],
    rows: &[(ConvId, StoredMessage)],
    more: bool,
) -> ServerMessage {
    let messages = rows
        .iter()
        .filter_map(|(id, m)| {
            let (_, conv) = convs.iter().find(|(c, _)| c == id)?;
            Some(chat_message(conv.clone(), m.clone(), None))
        })
        .collect();
    let next = rows.last().filter(|_| more).map(|(conv, m)| {
        Cursor {
            ts: m.ts,
            conv: *conv,
            seq: m.seq,
        }
        .encode()
    });
    ServerMessage::Search {
        req,
        messages,
        next,
    }
}
