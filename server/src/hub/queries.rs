//! Questions about the state: who is online, one user, who has read a message,
//! and what a session may read of a conversation or search.

use classchat_common::limits::WHO_MAX;
use classchat_common::protocol::{ConvSummary, Counts, MemberState, Req};
use classchat_common::{Conv as ConvName, ErrorCode, MessageId, ServerMessage, Username};
use tokio::sync::oneshot;

use super::state::Conv;
use super::worker::{Batch, INDEX_AT_SEARCH, Worker};
use super::{HistoryView, MemberView, Refusal, SessionId};
use crate::store::{ConvId, ConvKind};

fn counts(conv: &Conv, sender: crate::store::UserId, seq: u64) -> Counts {
    super::tally(
        conv.members
            .iter()
            .map(|m| (m.user, m.joined_seq, m.delivered, m.read)),
        sender,
        seq,
    )
}

impl Worker {
    pub(super) fn who(&self, b: &mut Batch, session: SessionId, req: Option<Req>) {
        let online: Vec<Username> = self.state.online.iter().take(WHO_MAX).cloned().collect();
        let total = self.state.online.len();
        b.message(session, &ServerMessage::Who { req, online, total });
    }

    pub(super) fn whois(
        &self,
        b: &mut Batch,
        session: SessionId,
        req: Option<Req>,
        name: &Username,
    ) {
        let reply = match self.state.user_id(name) {
            Ok(id) => match self.state.users.get(&id) {
                Some(u) => ServerMessage::User {
                    req,
                    user: u.name.clone(),
                    online: u.online(),
                    last_seen: u.seen(),
                    since: u.created,
                },
                None => return,
            },
            Err(r) => ServerMessage::error_for(req, r.code, r.message),
        };
        b.message(session, &reply);
    }

    pub(super) fn read_by(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        req: Option<Req>,
        id: MessageId,
    ) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let unknown = || {
            ServerMessage::error_for(
                req,
                ErrorCode::UnknownMessage,
                format!("you have not sent a message with id {id}"),
            )
        };
        // A failed lookup answers this request only; it must not undo the
        // batch's writes for everyone else.
        let found = match self.store.find_message(user, id) {
            Ok(found) => found,
            Err(e) => {
                tracing::error!("read_by lookup failed: {e}");
                let why = "the server could not look that message up; try again later";
                return b.message(
                    session,
                    &ServerMessage::error_for(req, ErrorCode::StorageFailed, why),
                );
            }
        };
        let Some(at) = found else {
            return b.message(session, &unknown());
        };
        let Some(conv) = self.state.convs.get(&at.conv) else {
            return b.message(session, &unknown());
        };
        let Some(conv_name) = self.state.conv_name(conv, user) else {
            return;
        };
        if conv.member(user).is_none() {
            let why = format!("you are no longer a member of {conv_name}");
            return b.message(
                session,
                &ServerMessage::error_for(req, ErrorCode::NotMember, why),
            );
        }
        let mut members: Vec<MemberState> = conv
            .members
            .iter()
            .filter(|m| m.user != user && m.joined_seq < at.seq)
            .filter_map(|m| {
                Some(MemberState {
                    user: self.state.name(m.user)?.clone(),
                    delivered: m.delivered >= at.seq,
                    read: m.read >= at.seq,
                })
            })
            .collect();
        members.sort_by(|a, b| a.user.cmp(&b.user));
        let reply = ServerMessage::ReadBy {
            req,
            id,
            conv: conv_name,
            seq: at.seq,
            counts: counts(conv, user, at.seq),
            members,
        };
        b.message(session, &reply);
    }

    pub(super) fn conversations(
        &self,
        b: &mut Batch,
        session: SessionId,
        reply: oneshot::Sender<Result<Vec<(ConvId, ConvSummary)>, Refusal>>,
    ) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let Some(u) = self.state.users.get(&user) else {
            return;
        };
        let mut list: Vec<(ConvId, ConvSummary)> = u
            .convs
            .iter()
            .filter_map(|id| {
                let conv = self.state.convs.get(id)?;
                let me = conv.member(user)?;
                let mut summary = ConvSummary {
                    conv: self.state.conv_name(conv, user)?,
                    last_seq: conv.last_seq,
                    last_ts: conv.last_ts,
                    delivered: me.delivered,
                    read: me.read,
                    unread: 0,
                    online: None,
                    last_seen: None,
                    members: None,
                    owner: None,
                    posting: None,
                    role: None,
                    pinned: Vec::new(),
                };
                match &conv.kind {
                    ConvKind::Direct { a, b } => {
                        let other = self.state.users.get(if *a == user { b } else { a })?;
                        summary.online = Some(other.online());
                        summary.last_seen = other.seen();
                    }
                    ConvKind::Group { owner, rules, .. } => {
                        summary.members = Some(conv.members.len() as u32);
                        summary.owner = self.state.name(*owner).cloned();
                        summary.posting = Some(rules.posting);
                        summary.role = self.role(*id, user);
                        summary.pinned = conv.pins.clone();
                    }
                }
                Some((*id, summary))
            })
            .collect();
        list.sort_by(|a, b| {
            b.1.last_ts
                .cmp(&a.1.last_ts)
                .then_with(|| a.1.conv.cmp(&b.1.conv))
        });
        b.reply(reply, Ok(list));
    }

    pub(super) fn history(
        &self,
        b: &mut Batch,
        session: SessionId,
        conv: &ConvName,
        reply: oneshot::Sender<Result<HistoryView, Refusal>>,
    ) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let view = self.state.find_conv(user, conv).map(|found| {
            let Some(c) = found.and_then(|id| self.state.convs.get(&id)) else {
                return HistoryView {
                    conv_id: None,
                    conv: self.state.canonical(conv),
                    last_seq: 0,
                    members: Vec::new(),
                };
            };
            HistoryView {
                conv_id: Some(c.id),
                conv: self
                    .state
                    .conv_name(c, user)
                    .unwrap_or_else(|| conv.clone()),
                last_seq: c.last_seq,
                members: c
                    .members
                    .iter()
                    .map(|m| MemberView {
                        user: m.user,
                        joined: m.joined_seq,
                        delivered: m.delivered,
                        read: m.read,
                    })
                    .collect(),
            }
        });
        b.reply(reply, view);
    }

    /// The conversations a search of `session`'s user reads (see
    /// [`Command::Search`]).
    pub(super) fn search(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        conv: Option<&ConvName>,
        reply: oneshot::Sender<Result<Vec<(ConvId, ConvName)>, Refusal>>,
    ) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        if self.store.search_backlog()
            && let Err(e) = self.store.index_for_search(INDEX_AT_SEARCH)
        {
            // Found as far as indexed; the rest is tried again when idle.
            tracing::warn!("indexing for search failed: {e}");
        }
        let convs = match conv {
            Some(name) => self.state.find_conv(user, name).map(|found| {
                found
                    .and_then(|id| self.state.convs.get(&id))
                    .and_then(|c| Some((c.id, self.state.conv_name(c, user)?)))
                    .into_iter()
                    .collect()
            }),
            None => Ok(self
                .state
                .users
                .get(&user)
                .into_iter()
                .flat_map(|u| &u.convs)
                .filter_map(|id| {
                    let c = self.state.convs.get(id)?;
                    c.member(user)?;
                    Some((c.id, self.state.conv_name(c, user)?))
                })
                .collect()),
        };
        b.reply(reply, convs);
    }
}
