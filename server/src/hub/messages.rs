//! Sending, acknowledging and reading messages, and the receipts that follow.
//!
//! Receipts are cursors, not per-message events: a member's "delivered up to N,
//! read up to M" covers every earlier message, so a member catching up on a
//! thousand messages causes one receipt, not a thousand. A receipt goes only to
//! members who may have sent something the moved cursor now covers.

use std::time::Instant;

use bytes::Bytes;
use classchat_common::limits::MAX_BODY_BYTES;
use classchat_common::protocol::{ChatMessage, Req};
use classchat_common::{Conv as ConvName, ErrorCode, MessageId, ServerMessage, Timestamp};

use super::state::{Conv, direct_key};
use super::worker::{Batch, Worker};
use super::{Refusal, SessionId};
use crate::store::{
    Appended, ConvId, ConvKind, MemberRecord, MessageKind, MessageRef, NewMessage, UserId,
};

impl Worker {
    pub(super) fn send(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        id: MessageId,
        to: &ConvName,
        body: &str,
    ) {
        let refuse = |b: &mut Batch, r: Refusal, retry_after_ms: Option<u64>| {
            b.message(
                session,
                &ServerMessage::Error {
                    req: None,
                    id: Some(id),
                    offer: None,
                    code: r.code,
                    message: r.message,
                    retry_after_ms,
                },
            );
        };
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let Some(from) = self.state.name(user).cloned() else {
            return;
        };
        if body.trim().is_empty() || body.len() > MAX_BODY_BYTES {
            let why = if body.trim().is_empty() {
                "a message cannot be empty".to_owned()
            } else {
                format!(
                    "a message can be at most {MAX_BODY_BYTES} bytes; this one is {}",
                    body.len()
                )
            };
            return refuse(b, Refusal::new(ErrorCode::BadBody, why), None);
        }
        let limited = self
            .state
            .users
            .get_mut(&user)
            .and_then(|u| u.bucket.take(self.config.rate, Instant::now()).err());
        if let Some(wait_ms) = limited {
            let why = format!(
                "too many messages: at most {} a second; try again in {wait_ms} ms",
                self.config.rate.per_sec
            );
            return refuse(b, Refusal::new(ErrorCode::RateLimited, why), Some(wait_ms));
        }
        let conv_id = match self.conv_for_send(b, user, to) {
            Ok(Some(id)) => id,
            Ok(None) => return,
            Err(r) => {
                // A resend of a message stored before (say, before its sender
                // left the group) still gets its original `stored`.
                return match self.store.find_message(user, id) {
                    Ok(Some(existing)) => self.reply_stored(b, session, user, id, existing, true),
                    _ => refuse(b, r, None),
                };
            }
        };
        let Some(seq) = self.state.convs.get(&conv_id).map(|c| c.last_seq + 1) else {
            return;
        };
        let ts = Timestamp::now();
        let appended = self.store.append(&NewMessage {
            conv: conv_id,
            seq,
            id,
            sender: user,
            ts,
            kind: MessageKind::Text,
            body,
        });
        match appended {
            Err(e) => b.fail(e),
            Ok(Appended::Duplicate(existing)) => {
                self.reply_stored(b, session, user, id, existing, true);
            }
            Ok(Appended::New) => {
                self.advance_after_send(b, conv_id, user, seq, ts);
                if let Some(conv) = self.state.convs.get(&conv_id) {
                    let msg = ChatMessage {
                        conv: to.clone(),
                        seq,
                        id,
                        from,
                        ts,
                        body: body.to_owned(),
                        event: None,
                        file: None,
                        counts: None,
                    };
                    self.echo_to_own_sessions(b, conv, user, session, &msg);
                    self.fan_out(b, conv, Some(user), msg);
                }
                let stored = MessageRef {
                    conv: conv_id,
                    seq,
                    ts,
                };
                self.reply_stored(b, session, user, id, stored, false);
            }
        }
    }

    /// The conversation a message to `to` goes into, creating a direct one on
    /// first use. `Ok(None)`: storage failed and the batch is already marked.
    pub(super) fn conv_for_send(
        &mut self,
        b: &mut Batch,
        user: UserId,
        to: &ConvName,
    ) -> Result<Option<ConvId>, Refusal> {
        if let Some(id) = self.state.find_conv(user, to)? {
            return Ok(Some(id));
        }
        let ConvName::User(name) = to else {
            return Err(Refusal::new(
                ErrorCode::UnknownGroup,
                format!("there is no group named {to}"),
            ));
        };
        let other = self.state.user_id(name)?;
        if other == user {
            return Err(Refusal::new(
                ErrorCode::BadRequest,
                "you cannot send a message to yourself",
            ));
        }
        let (a, b_) = direct_key(user, other);
        let now = Timestamp::now();
        let kind = ConvKind::Direct { a, b: b_ };
        let id = match self.store.create_conv(&kind, now) {
            Ok(id) => id,
            Err(e) => {
                b.fail(e);
                return Ok(None);
            }
        };
        self.state.convs.insert(
            id,
            Conv {
                id,
                kind,
                created: now,
                last_seq: 0,
                last_ts: None,
                members: Vec::new(),
            },
        );
        self.state.directs.insert((a, b_), id);
        for member in [a, b_] {
            let record = MemberRecord {
                conv: id,
                user: member,
                joined_seq: 0,
                joined_at: now,
                delivered: 0,
                read: 0,
            };
            if let Err(e) = self.store.add_member(&record) {
                b.fail(e);
                return Ok(None);
            }
            self.state.add_member_in_memory(&record);
        }
        Ok(Some(id))
    }

    /// After `user` stored `seq`: the conversation moves on, and the sender's own
    /// cursors follow if they were up to date (your own message is not unread).
    pub(super) fn advance_after_send(
        &mut self,
        b: &mut Batch,
        conv_id: ConvId,
        user: UserId,
        seq: u64,
        ts: Timestamp,
    ) {
        let Some(conv) = self.state.convs.get_mut(&conv_id) else {
            return;
        };
        conv.last_seq = seq;
        conv.last_ts = Some(ts);
        let Some(m) = conv.member_mut(user) else {
            return;
        };
        m.last_sent = seq;
        let mut moved = false;
        if m.delivered + 1 == seq {
            m.delivered = seq;
            moved = true;
        }
        if m.read + 1 == seq {
            m.read = seq;
            moved = true;
        }
        if moved && !m.dirty {
            m.dirty = true;
            b.dirty.push((conv_id, user));
        }
    }

    /// Sends `msg` to every session of every member except `skip`, naming the
    /// conversation as each member sees it. A group message is encoded once.
    /// Sends `msg` to every member's sessions but those of `sender` (who
    /// gets their copy from [`Self::echo_to_own_sessions`]), encoding it once
    /// per way of naming the conversation.
    pub(super) fn fan_out(
        &self,
        b: &mut Batch,
        conv: &Conv,
        sender: Option<UserId>,
        msg: ChatMessage,
    ) {
        // Every member names a group alike; the two sides of a direct
        // conversation name it after each other.
        let group = matches!(conv.kind, ConvKind::Group { .. });
        let mut wrapped = ServerMessage::Message(msg);
        let mut cached: Option<(ConvName, Bytes)> = None;
        for m in conv.members.iter().filter(|m| Some(m.user) != sender) {
            let mut sessions = self.state.outbounds(m.user).peekable();
            if sessions.peek().is_none() {
                continue;
            }
            let line = match &cached {
                Some((_, line)) if group => line.clone(),
                Some((v, line)) if self.state.conv_name(conv, m.user).as_ref() == Some(v) => {
                    line.clone()
                }
                _ => {
                    let Some(view) = self.state.conv_name(conv, m.user) else {
                        continue;
                    };
                    if let ServerMessage::Message(inner) = &mut wrapped {
                        inner.conv = view.clone();
                    }
                    let line = wrapped.to_line();
                    cached = Some((view, line.clone()));
                    line
                }
            };
            for (sid, _) in sessions {
                b.line(sid, line.clone());
            }
        }
    }

    /// A message its sender's other sessions (another device, a script)
    /// see too, with `counts` as in `history`: how far it has got, so they can
    /// follow its receipts like the session that sent it.
    fn echo_to_own_sessions(
        &self,
        b: &mut Batch,
        conv: &Conv,
        user: UserId,
        session: SessionId,
        msg: &ChatMessage,
    ) {
        let mut others = self
            .state
            .outbounds(user)
            .filter(|(sid, _)| *sid != session)
            .peekable();
        if others.peek().is_none() {
            return;
        }
        let Some(view) = self.state.conv_name(conv, user) else {
            return;
        };
        let members = conv
            .members
            .iter()
            .map(|m| (m.user, m.joined_seq, m.delivered, m.read));
        let echo = ServerMessage::Message(ChatMessage {
            conv: view,
            counts: Some(super::tally(members, user, msg.seq)),
            ..msg.clone()
        });
        let line = echo.to_line();
        for (sid, _) in others {
            b.line(sid, line.clone());
        }
    }

    fn reply_stored(
        &self,
        b: &mut Batch,
        session: SessionId,
        user: UserId,
        id: MessageId,
        at: MessageRef,
        duplicate: bool,
    ) {
        let Some(conv) = self.state.convs.get(&at.conv) else {
            return;
        };
        let Some(conv_name) = self.state.conv_name(conv, user) else {
            return;
        };
        let audience = conv
            .members
            .iter()
            .filter(|m| m.user != user && m.joined_seq < at.seq);
        let (mut of, mut online, mut last_seen) = (0, 0, None);
        for m in audience {
            of += 1;
            if let Some(u) = self.state.users.get(&m.user) {
                if u.online() {
                    online += 1;
                } else if matches!(conv.kind, ConvKind::Direct { .. }) {
                    last_seen = u.seen();
                }
            }
        }
        b.message(
            session,
            &ServerMessage::Stored {
                id,
                conv: conv_name,
                seq: at.seq,
                ts: at.ts,
                of,
                online,
                last_seen,
                duplicate,
            },
        );
    }

    pub(super) fn ack(&mut self, b: &mut Batch, session: SessionId, conv: &ConvName, seq: u64) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        // An acknowledgement for a conversation one has just left (its last
        // message is one's own `left`) is not worth an error: nothing to move.
        let Ok(Some(conv_id)) = self.state.find_conv(user, conv) else {
            return;
        };
        let Some(c) = self.state.convs.get_mut(&conv_id) else {
            return;
        };
        let last = c.last_seq;
        let Some(m) = c.member_mut(user) else { return };
        let new = seq.min(last);
        if new <= m.delivered {
            return;
        }
        let floor = m.delivered;
        m.delivered = new;
        if !m.dirty {
            m.dirty = true;
            b.dirty.push((conv_id, user));
        }
        self.send_receipts(b, conv_id, user, floor, Some(session));
    }

    pub(super) fn read(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        req: Option<Req>,
        conv: &ConvName,
        seq: Option<u64>,
    ) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let conv_id = match self.state.find_conv(user, conv) {
            Ok(Some(id)) => id,
            Ok(None) => {
                let done = ServerMessage::ReadMarked {
                    req,
                    conv: self.state.canonical(conv),
                    seq: 0,
                };
                return b.message(session, &done);
            }
            Err(r) => return b.message(session, &ServerMessage::error_for(req, r.code, r.message)),
        };
        let Some(c) = self.state.convs.get_mut(&conv_id) else {
            return;
        };
        let last = c.last_seq;
        let Some(m) = c.member_mut(user) else { return };
        let new = seq.unwrap_or(m.delivered).min(last);
        let floor = m.read;
        let moved = new > m.read;
        if moved {
            m.read = new;
            m.delivered = m.delivered.max(new);
            if !m.dirty {
                m.dirty = true;
                b.dirty.push((conv_id, user));
            }
        }
        let marked = m.read;
        b.message(
            session,
            &ServerMessage::ReadMarked {
                req,
                conv: self.state.canonical(conv),
                seq: marked,
            },
        );
        if moved {
            self.send_receipts(b, conv_id, user, floor, Some(session));
        }
    }

    /// Tells members who may have sent something after `floor` (and the reader's
    /// other sessions) where `reader`'s cursors are now.
    fn send_receipts(
        &self,
        b: &mut Batch,
        conv_id: ConvId,
        reader: UserId,
        floor: u64,
        skip: Option<SessionId>,
    ) {
        let Some(conv) = self.state.convs.get(&conv_id) else {
            return;
        };
        let (Some(me), Some(name)) = (conv.member(reader), self.state.name(reader)) else {
            return;
        };
        let mut cached: Option<(ConvName, Bytes)> = None;
        for m in &conv.members {
            if m.user != reader && m.last_sent <= floor {
                continue;
            }
            for (sid, _) in self.state.outbounds(m.user) {
                if Some(sid) == skip {
                    continue;
                }
                let Some(view) = self.state.conv_name(conv, m.user) else {
                    continue;
                };
                let line = match &cached {
                    Some((v, line)) if *v == view => line.clone(),
                    _ => {
                        let line = ServerMessage::Receipt {
                            conv: view.clone(),
                            user: name.clone(),
                            joined: me.joined_seq,
                            delivered: me.delivered,
                            read: me.read,
                        }
                        .to_line();
                        cached = Some((view, line.clone()));
                        line
                    }
                };
                b.line(sid, line);
            }
        }
    }
}
