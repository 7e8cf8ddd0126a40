//! Sending, acknowledging and reading messages, and the receipts that follow.
//!
//! Receipts are cursors, not per-message events: a member's "delivered up to N,
//! read up to M" covers every earlier message, so a member catching up on a
//! thousand messages causes one receipt, not a thousand. A receipt goes only to
//! members who may have sent something the moved cursor now covers.

use bytes::Bytes;
use classchat_common::limits::{MAX_BODY_BYTES, REACTION_BYTES, REACTIONS_MAX};
use classchat_common::protocol::{ChatMessage, GroupEvent, Posting, Quote, Req, Role};
use classchat_common::text::is_blank;
use classchat_common::{
    Conv as ConvName, ErrorCode, MessageId, ServerMessage, Timestamp, Username,
};

use super::remote::{Body, Event, Head, Line};
use super::state::{Conv, direct_key};
use super::worker::{Batch, Worker};
use super::{Refusal, Sending, SessionId};
use crate::ratelimit::Class;
use crate::store::{
    Appended, ConvId, ConvKind, MemberRecord, MessageKind, MessageRef, NewMessage, Quoted,
    StoreError, UserId,
};

/// Where a message goes.
pub(super) enum Destination {
    /// An existing conversation of the sender's.
    Conv(ConvId),
    /// A direct conversation with this user, not opened yet.
    NewDirect(UserId),
}

impl Worker {
    pub(super) fn send(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        id: MessageId,
        conv_name: ConvName,
        text: String,
        what: Sending,
    ) {
        let to = &conv_name;
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
        // A deletion's body is not kept, whatever it says.
        let body = if matches!(what, Sending::Delete(_)) {
            ""
        } else {
            text.as_str()
        };
        if matches!(what, Sending::React(_) | Sending::Unreact(_))
            && (is_blank(body)
                || body.len() > REACTION_BYTES
                || body.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            let why = format!(
                "a reaction is one emoji or a short word: at most {REACTION_BYTES} bytes, \
                 without spaces"
            );
            return refuse(b, Refusal::new(ErrorCode::BadBody, why), None);
        }
        if !matches!(what, Sending::Delete(_)) && (is_blank(body) || body.len() > MAX_BODY_BYTES) {
            let why = if is_blank(body) {
                "a message needs something visible; this one is empty or only spaces, \
                 line breaks and invisible characters"
                    .to_owned()
            } else {
                format!(
                    "a message can be at most {MAX_BODY_BYTES} bytes; this one is {}",
                    body.len()
                )
            };
            return refuse(b, Refusal::new(ErrorCode::BadBody, why), None);
        }
        if let Err(limited) = self.take(session, Class::Messages, 1) {
            let wait_ms = limited.retry_after_ms.unwrap_or(1000);
            let why = format!(
                "too many messages: at most {} a second; try again in {wait_ms} ms",
                self.config.rates.messages.per_sec
            );
            return refuse(b, Refusal::new(ErrorCode::RateLimited, why), Some(wait_ms));
        }
        // The destination is checked before the duplicate (PROTOCOL.md §6.5):
        // a resend to a group one has left is refused like a first attempt.
        // Deleting one's own message, and reacting, are allowed where one
        // may not post (an announcement group's members react).
        let posting = matches!(what, Sending::New(_) | Sending::Edit(_));
        let conv_id = match self.route(user, to, posting) {
            Ok(Destination::Conv(id)) => id,
            Ok(Destination::NewDirect(other)) => {
                // The id may be that of a message stored elsewhere; then no
                // empty conversation is opened for the resend.
                match self.store.find_message(user, id) {
                    Ok(Some(existing)) => {
                        return self.reply_stored(b, session, user, id, existing, true);
                    }
                    Ok(None) => {}
                    Err(e) => return b.fail(e),
                }
                if what != Sending::New(None) {
                    let why = format!("you have no messages with {to} yet");
                    return refuse(b, Refusal::new(ErrorCode::UnknownMessage, why), None);
                }
                match self.open_direct(b, user, other) {
                    Some(id) => id,
                    None => return,
                }
            }
            Err(r) => return refuse(b, r, None),
        };
        // A change is checked against the message it changes, unless it is
        // a resend of one already stored.
        let mut quote = None;
        if let Some(target) = what.refers() {
            match self.store.find_message(user, id) {
                Ok(Some(existing)) => {
                    return self.reply_stored(b, session, user, id, existing, true);
                }
                Ok(None) => {}
                Err(e) => return b.fail(e),
            }
            match self.may_refer(conv_id, user, to, target, what, body) {
                Ok(q) => quote = q,
                Err(Ok(r)) => return refuse(b, r, None),
                Err(Err(e)) => return b.fail(e),
            }
        }
        let Some(seq) = self.state.convs.get(&conv_id).map(|c| c.last_seq + 1) else {
            return;
        };
        let ts = Timestamp::now();
        let kind = match what {
            Sending::New(_) => MessageKind::Text,
            Sending::Edit(_) => MessageKind::Edit,
            Sending::Delete(_) => MessageKind::Delete,
            Sending::React(_) => MessageKind::React,
            Sending::Unreact(_) => MessageKind::Unreact,
        };
        let refers = what.refers();
        let appended = self.store.append(&NewMessage {
            conv: conv_id,
            seq,
            id,
            sender: user,
            ts,
            kind,
            body,
            refers,
        });
        let changed = match (&appended, what) {
            (Ok(Appended::New), Sending::Edit(target)) => {
                self.store.edit_message(conv_id, target, body, ts)
            }
            (Ok(Appended::New), Sending::Delete(target)) => {
                self.store.erase_message(conv_id, target)
            }
            (Ok(Appended::New), Sending::React(target)) => {
                self.store.set_reaction(conv_id, target, user, body, true)
            }
            (Ok(Appended::New), Sending::Unreact(target)) => {
                self.store.set_reaction(conv_id, target, user, body, false)
            }
            _ => Ok(()),
        };
        if let Err(e) = changed {
            return b.fail(e);
        }
        match appended {
            Err(e) => b.fail(e),
            Ok(Appended::Duplicate(existing)) => {
                self.reply_stored(b, session, user, id, existing, true);
            }
            Ok(Appended::New) => {
                // Where the message's event is, for the line to go with it.
                let event = b.events.len();
                self.announce(b, || Event::Message {
                    head: Head {
                        conv: conv_id.0,
                        seq,
                        sender: user.0,
                        ts,
                        kind: kind as i64,
                    },
                    line: None,
                    body: Body {
                        id,
                        sender_name: from.clone(),
                        body: body.to_owned(),
                        refers,
                        quoted: quote.clone(),
                    },
                });
                self.advance_after_send(b, conv_id, user, seq, ts);
                if let Some(conv) = self.state.convs.get(&conv_id) {
                    // The request's own name and text, moved, not copied.
                    let body = if matches!(what, Sending::Delete(_)) {
                        String::new()
                    } else {
                        text
                    };
                    let msg = ChatMessage {
                        conv: conv_name,
                        seq,
                        id,
                        from,
                        ts,
                        body,
                        event: None,
                        file: None,
                        counts: None,
                        reply: quote.zip(refers).map(|(q, seq)| {
                            Box::new(Quote {
                                seq,
                                from: q.sender_name,
                                text: q.text,
                                deleted: q.deleted,
                            })
                        }),
                        edit: match what {
                            Sending::Edit(target) => Some(target),
                            _ => None,
                        },
                        delete: match what {
                            Sending::Delete(target) => Some(target),
                            _ => None,
                        },
                        react: match what {
                            Sending::React(target) => Some(target),
                            _ => None,
                        },
                        unreact: match what {
                            Sending::Unreact(target) => Some(target),
                            _ => None,
                        },
                        reactions: Vec::new(),
                        edited: None,
                        deleted: false,
                    };
                    self.echo_to_own_sessions(b, conv, user, Some(session), &msg);
                    if !self.clustered() {
                        self.fan_out(b, conv, Some(user), msg);
                    } else if let Some(line) = self.fan_out_everywhere(b, conv, user, msg)
                        && let Some(Event::Message { line: slot, .. }) = b.events.get_mut(event)
                    {
                        *slot = Some(Line(line));
                    }
                }
                let stored = MessageRef {
                    conv: conv_id,
                    seq,
                    ts,
                };
                self.reply_stored(b, session, user, id, stored, false);
                // A deleted message is no longer pinned.
                if let Sending::Delete(target) = what
                    && self
                        .state
                        .convs
                        .get(&conv_id)
                        .is_some_and(|c| c.pins.contains(&target))
                {
                    let unpinned = self.set_pinned(conv_id, target, false).and_then(|()| {
                        self.record_event(b, conv_id, user, GroupEvent::Unpinned { seq: target })
                    });
                    if let Err(e) = unpinned {
                        b.fail(e);
                    }
                }
            }
        }
    }

    /// Whether `user` may reply to, edit or delete message `target` of
    /// `conv`; for a reply, what it quotes. `Err(Ok)`: refused; `Err(Err)`:
    /// storage failed.
    fn may_refer(
        &mut self,
        conv: ConvId,
        user: UserId,
        to: &ConvName,
        target: u64,
        what: Sending,
        body: &str,
    ) -> Result<Option<Box<Quoted>>, Result<Refusal, StoreError>> {
        let unknown = |why: String| Err(Ok(Refusal::new(ErrorCode::UnknownMessage, why)));
        let found = match self.store.message_at(conv, target) {
            Ok(found) => found,
            Err(e) => return Err(Err(e)),
        };
        let Some(t) = found else {
            return unknown(format!("{to} has no message {target}"));
        };
        if t.kind == MessageKind::Deleted {
            return unknown(format!("message {target} of {to} was deleted"));
        }
        let not_author = |why: String| Err(Ok(Refusal::new(ErrorCode::NotAuthor, why)));
        match what {
            Sending::New(_) => match t.kind {
                MessageKind::Text | MessageKind::File => {
                    let name = self
                        .state
                        .name(t.sender)
                        .cloned()
                        .unwrap_or_else(Username::ghost);
                    Ok(Some(Box::new(Quoted::of(name, t.kind, &t.body))))
                }
                _ => not_author(format!("message {target} of {to} is not one to reply to")),
            },
            Sending::Edit(_) if t.kind != MessageKind::Text => {
                not_author(format!("message {target} of {to} is not a text message"))
            }
            Sending::Edit(_) if t.sender != user => {
                not_author("you may edit only your own messages".to_owned())
            }
            Sending::Delete(_) if t.kind != MessageKind::Text => not_author(format!(
                "message {target} of {to} is not a text message (withdraw a file offer with cancel)"
            )),
            Sending::Delete(_)
                if t.sender != user
                    && !matches!(self.role(conv, user), Some(Role::Owner | Role::Moderator)) =>
            {
                not_author(
                    "you may delete only your own messages, or any in a group you own or moderate"
                        .to_owned(),
                )
            }
            Sending::React(_) | Sending::Unreact(_)
                if !matches!(t.kind, MessageKind::Text | MessageKind::File) =>
            {
                not_author(format!("message {target} of {to} is not one to react to"))
            }
            Sending::React(_) if t.reactions.iter().any(|(u, e)| *u == user && e == body) => {
                let why = format!("you reacted {body} to message {target} already");
                Err(Ok(Refusal::new(ErrorCode::BadRequest, why)))
            }
            Sending::React(_)
                if !t.reactions.iter().any(|(_, e)| e == body)
                    && distinct(&t.reactions) >= REACTIONS_MAX =>
            {
                let why = format!(
                    "message {target} has {REACTIONS_MAX} kinds of reaction, the most one may; \
                     add to one of them"
                );
                Err(Ok(Refusal::new(ErrorCode::BadRequest, why)))
            }
            Sending::Unreact(_) if !t.reactions.iter().any(|(u, e)| *u == user && e == body) => {
                let why = format!("you have not reacted {body} to message {target}");
                Err(Ok(Refusal::new(ErrorCode::BadRequest, why)))
            }
            Sending::Edit(_) | Sending::Delete(_) | Sending::React(_) | Sending::Unreact(_) => {
                Ok(None)
            }
        }
    }

    /// Where a message (or a file offer) from `user` to `to` goes, or why it
    /// may not: not a member, or a member of an announcement group who does
    /// not moderate it.
    pub(super) fn destination(&self, user: UserId, to: &ConvName) -> Result<Destination, Refusal> {
        self.route(user, to, true)
    }

    /// [`Self::destination`]; `posting`: whether the announcement rule applies.
    fn route(&self, user: UserId, to: &ConvName, posting: bool) -> Result<Destination, Refusal> {
        if let Some(id) = self.state.find_conv(user, to)? {
            if posting
                && matches!(to, ConvName::Group(_))
                && self.rules(id).posting == Posting::Moderators
                && self.role(id, user) == Some(Role::Member)
            {
                let why =
                    format!("only the owner and moderators post in {to}, an announcement group");
                return Err(Refusal::new(ErrorCode::NotModerator, why));
            }
            return Ok(Destination::Conv(id));
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
        Ok(Destination::NewDirect(other))
    }

    /// The conversation a message to `to` goes into, creating a direct one on
    /// first use. `Ok(None)`: storage failed and the batch is already marked.
    pub(super) fn conv_for_send(
        &mut self,
        b: &mut Batch,
        user: UserId,
        to: &ConvName,
    ) -> Result<Option<ConvId>, Refusal> {
        Ok(match self.destination(user, to)? {
            Destination::Conv(id) => Some(id),
            Destination::NewDirect(other) => self.open_direct(b, user, other),
        })
    }

    /// Opens the direct conversation of `user` and `other`; `None` if storage
    /// failed (the batch is marked).
    fn open_direct(&mut self, b: &mut Batch, user: UserId, other: UserId) -> Option<ConvId> {
        let (a, b_) = direct_key(user, other);
        let now = Timestamp::now();
        let kind = ConvKind::Direct { a, b: b_ };
        let id = match self.store.create_conv(&kind, now) {
            Ok(id) => id,
            Err(e) => {
                b.fail(e);
                return None;
            }
        };
        self.state
            .convs
            .insert(id, Conv::new(id, kind, now, 0, None));
        self.state.directs.insert((a, b_), id);
        for member in [a, b_] {
            let record = MemberRecord {
                conv: id,
                user: member,
                joined_seq: 0,
                joined_at: now,
                delivered: 0,
                read: 0,
                moderator: false,
            };
            if let Err(e) = self.store.add_member(&record) {
                b.fail(e);
                return None;
            }
            self.state.add_member_in_memory(&record);
        }
        Some(id)
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
        b.released.entry(conv_id).or_insert(conv.last_seq);
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

    /// Sends `msg` to every member's sessions but those of `sender` (who
    /// gets their copy from [`Self::echo_to_own_sessions`]), encoding it once
    /// per way of naming the conversation: a group's members all name it
    /// alike, so they get one line as one effect; the two sides of a direct
    /// conversation name it after each other.
    pub(super) fn fan_out(
        &self,
        b: &mut Batch,
        conv: &Conv,
        sender: Option<UserId>,
        msg: ChatMessage,
    ) {
        self.deliver(b, conv, sender, msg, false);
    }

    /// As [`Self::fan_out`], for a message `sender` sent on this node of a
    /// cluster: the line is also encoded when a member it goes to is
    /// connected to another node, and returned for the message's event, so
    /// that the other nodes send it as it is. Every member but the sender
    /// sees the same line (a group's name, or in a direct conversation the
    /// sender's).
    pub(super) fn fan_out_everywhere(
        &self,
        b: &mut Batch,
        conv: &Conv,
        sender: UserId,
        msg: ChatMessage,
    ) -> Option<Bytes> {
        self.deliver(b, conv, Some(sender), msg, true)
    }

    fn deliver(
        &self,
        b: &mut Batch,
        conv: &Conv,
        sender: Option<UserId>,
        msg: ChatMessage,
        elsewhere: bool,
    ) -> Option<Bytes> {
        let members = conv
            .members
            .iter()
            .filter(|m| Some(m.user) != sender)
            .filter_map(|m| self.state.users.get(&m.user));
        let mut wrapped = ServerMessage::Message(msg);
        // The line with the conversation named `view`.
        let mut named = |view: ConvName| {
            if let ServerMessage::Message(inner) = &mut wrapped {
                inner.conv = view;
            }
            wrapped.to_line()
        };
        let mut shipped = None;
        if let ConvKind::Group { name, .. } = &conv.kind {
            let from = b.targets.len();
            let mut wanted = false;
            for u in members {
                b.targets.extend_from_slice(&u.sessions);
                wanted |= u.remote > 0;
            }
            let wanted = elsewhere && wanted;
            if b.targets.len() > from || wanted {
                let line = named(ConvName::Group(name.clone()));
                if wanted {
                    shipped = Some(line.clone());
                }
                b.shared(line, from);
            }
            return shipped;
        }
        for u in members {
            let wanted = elsewhere && u.remote > 0;
            if u.sessions.is_empty() && !wanted {
                continue;
            }
            let Some(view) = self.state.conv_name(conv, u.id) else {
                continue;
            };
            let line = named(view);
            if wanted {
                shipped = Some(line.clone());
            }
            let from = b.targets.len();
            b.targets.extend_from_slice(&u.sessions);
            b.shared(line, from);
        }
        shipped
    }

    /// A message its sender's other sessions (another device, a script)
    /// see too, with `counts` as in `history`: how far it has got, so they can
    /// follow its receipts like the session that sent it.
    pub(super) fn echo_to_own_sessions(
        &self,
        b: &mut Batch,
        conv: &Conv,
        user: UserId,
        sender_session: Option<SessionId>,
        msg: &ChatMessage,
    ) {
        let mut others = self
            .state
            .outbounds(user)
            .filter(|(sid, _)| Some(*sid) != sender_session)
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
        if let ConvName::Group(group) = conv {
            self.clear_notices(b, user, group, Some(seq));
        }
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
            b.cursors_now = true;
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
    /// other sessions) where `reader`'s cursors are now, on every node.
    fn send_receipts(
        &self,
        b: &mut Batch,
        conv_id: ConvId,
        reader: UserId,
        floor: u64,
        skip: Option<SessionId>,
    ) {
        if self.clustered()
            && let Some(me) = self
                .state
                .convs
                .get(&conv_id)
                .and_then(|c| c.member(reader))
        {
            b.events.push(Event::Cursor {
                conv: conv_id.0,
                user: reader.0,
                delivered: me.delivered,
                read: me.read,
                floor,
            });
        }
        self.receipts_here(b, conv_id, reader, floor, skip);
    }

    /// [`Self::send_receipts`] to this node's connections.
    pub(super) fn receipts_here(
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

/// How many kinds of reaction a message has.
fn distinct(reactions: &[(UserId, String)]) -> usize {
    let mut kinds: Vec<&str> = reactions.iter().map(|(_, e)| e.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds.len()
}
