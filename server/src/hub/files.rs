//! File offers: who may offer what to whom, each recipient's decision, and the
//! sender told of each one. The bytes never pass through here: sessions stream
//! them to and from the files folder, and ask the hub only at the turning points.
//!
//! An offer becomes a message in its conversation once its upload is complete
//! and verified, so it reaches offline recipients, survives restarts and shows in
//! history like any message. An offer that streams is posted as soon as its
//! upload begins instead, so that recipients may download while the bytes
//! arrive; it stays open at least until its upload ends, and an upload that
//! fails withdraws it. Its file is deleted once every recipient has
//! received or declined it, when the sender withdraws it, or when it expires.

use classchat_common::files::human_size;
use classchat_common::protocol::{ChatMessage, FileInfo, FileState, OfferSummary, Recipient, Req};
use classchat_common::{Conv as ConvName, ErrorCode, MessageId, OfferId, ServerMessage, Timestamp};
use tokio::sync::oneshot;

use super::remote::{Body, Event, Head};
use super::state::Offer;
use super::worker::{Batch, Effect, Worker};
use super::{Accepted, NewOffer, Offered, Refusal, SessionId};
use crate::ratelimit::Class;
use crate::store::{
    Appended, ConvId, FileRecord, MessageKind, NewMessage, StoreError, StoredFile, UserId,
};

/// Offers listed per direction in one `files` reply at most.
const FILES_MAX: usize = 400;

/// How long after its expiry another node's offer is ended here, when the
/// node holding it has not ended it (it is gone).
const REMOTE_GRACE_MS: i64 = 3_600_000;

/// What a recipient tells the hub about an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Downloaded and verified.
    Received,
    Declined,
    /// Stopped a download; the offer stays open (the answer says where it stands).
    Stopped,
}

impl Worker {
    pub(super) fn file_offer(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        new: NewOffer,
        reply: oneshot::Sender<Result<Offered, Refusal>>,
    ) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let NewOffer {
            to,
            name,
            size,
            sha256,
            stream,
        } = new;
        match self.check_offer(b, session, user, &to, size, &sha256) {
            Ok(Some(conv)) => {
                let offer = Offer {
                    id: OfferId::new(),
                    conv,
                    sender: user,
                    name,
                    size,
                    sha256: sha256.to_ascii_lowercase(),
                    created: Timestamp::now(),
                    expires: Timestamp::now(),
                    seq: 0,
                    recipients: Vec::new(),
                    node: None,
                    growing: false,
                };
                let id = offer.id;
                self.state.file_bytes += size;
                self.state.offers.insert(id, offer);
                let name = self
                    .state
                    .convs
                    .get(&conv)
                    .and_then(|c| self.state.conv_name(c, user));
                let offered = Offered {
                    id,
                    conv: name.unwrap_or(to),
                    // Another node could not follow the bytes as they come.
                    stream: stream && size > 0 && self.cluster.is_none(),
                };
                b.reply(reply, Ok(offered));
            }
            Ok(None) => {}
            Err(refusal) => b.reply(reply, Err(refusal)),
        }
    }

    /// The conversation an offer goes to, if it may be made. `Ok(None)`: storage
    /// failed and the batch is already marked.
    fn check_offer(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        user: UserId,
        to: &ConvName,
        size: u64,
        sha256: &str,
    ) -> Result<Option<ConvId>, Refusal> {
        if sha256.len() != 64 || !sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Refusal::new(
                ErrorCode::BadRequest,
                "sha256 must be 64 hexadecimal digits",
            ));
        }
        let max = self.config.max_file;
        if size > max {
            let why = format!(
                "the file is {}; this server takes files up to {}",
                human_size(size),
                human_size(max)
            );
            return Err(Refusal::new(ErrorCode::FileTooLarge, why));
        }
        let (mut held, mut open) = (0u64, 0usize);
        for o in self.state.offers.values().filter(|o| o.sender == user) {
            held += o.size;
            open += 1;
        }
        if open >= self.config.max_open_offers {
            let why = format!(
                "you have {open} open offers, the most one user may have; withdraw one or wait until they are collected"
            );
            return Err(Refusal::new(ErrorCode::QuotaExceeded, why).retry_after(60_000));
        }
        if held + size > self.config.user_file_quota {
            let why = format!(
                "your open offers hold {} of the {} one user may have; withdraw one or wait until they are collected",
                human_size(held),
                human_size(self.config.user_file_quota)
            );
            return Err(Refusal::new(ErrorCode::QuotaExceeded, why).retry_after(60_000));
        }
        if self.state.file_bytes + size > self.config.file_quota {
            let why = "the server has no room for more files right now; try again once some offers are collected";
            return Err(Refusal::new(ErrorCode::QuotaExceeded, why).retry_after(60_000));
        }
        if let Err(limited) = self.take(session, Class::Messages, 1) {
            let wait_ms = limited.retry_after_ms.unwrap_or(1000);
            let why = format!("too many messages and offers; try again in {wait_ms} ms");
            return Err(Refusal::new(ErrorCode::RateLimited, why).retry_after(wait_ms));
        }
        self.conv_for_send(b, user, to)
    }

    /// The upload of a streaming offer began: the offer is posted now.
    pub(super) fn file_post(&mut self, b: &mut Batch, session: SessionId, offer: OfferId) {
        self.post_offer(b, session, offer, true);
    }

    pub(super) fn file_uploaded(&mut self, b: &mut Batch, session: SessionId, offer: OfferId) {
        let posted = self
            .state
            .offers
            .get(&offer)
            .filter(|o| o.growing)
            .map(|o| (o.sender, o.conv, o.seq));
        let Some((sender, conv, seq)) = posted else {
            return self.post_offer(b, session, offer, false);
        };
        // A streaming offer, posted when its upload began: now it is whole.
        if self.state.sessions.get(&session).map(|s| s.user) != Some(sender) {
            return;
        }
        if let Some(o) = self.state.offers.get_mut(&offer) {
            o.growing = false;
        }
        let name = self
            .state
            .convs
            .get(&conv)
            .and_then(|c| self.state.conv_name(c, sender));
        if let Some(conv) = name {
            b.message(session, &ServerMessage::Uploaded { offer, conv, seq });
        }
        if self.state.offers.get(&offer).is_some_and(Offer::settled) {
            self.close_offer(b, offer);
        }
    }

    /// Makes an offer a message in its conversation: stored, delivered,
    /// counted. `growing`: its upload has only begun (a streaming offer), and
    /// `uploaded` waits for its end; otherwise the sender is told now.
    fn post_offer(&mut self, b: &mut Batch, session: SessionId, offer: OfferId, growing: bool) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return self.file_aborted(b, offer);
        };
        let gone = move |b: &mut Batch, code: ErrorCode, why: &str| {
            b.effects.push(Effect::Remove(offer));
            b.message(session, &ServerMessage::offer_error(None, offer, code, why));
        };
        let Some(o) = self.state.offers.get(&offer).cloned() else {
            // Its conversation was deleted while the file was on its way.
            let why = "the conversation this file was for no longer exists; it was not offered";
            return gone(b, ErrorCode::UnknownOffer, why);
        };
        if !o.uploading() || o.sender != user {
            // Not this session's upload to post; its file is left alone.
            return;
        }
        let Some(conv) = self.state.convs.get(&o.conv) else {
            self.file_aborted(b, offer);
            let why = "the conversation this file was for no longer exists; it was not offered";
            return gone(b, ErrorCode::UnknownOffer, why);
        };
        if conv.member(user).is_none() {
            // The sender left the group while uploading.
            self.file_aborted(b, offer);
            let why = "you are no longer in that conversation; the file was not offered";
            return gone(b, ErrorCode::NotMember, why);
        }
        let seq = conv.last_seq + 1;
        let recipients: Vec<(UserId, FileState)> = conv
            .members
            .iter()
            .filter(|m| m.user != user)
            .map(|m| (m.user, FileState::Pending))
            .collect();
        let now = Timestamp::now();
        let ttl = i64::try_from(self.config.file_ttl.as_millis()).unwrap_or(i64::MAX);
        let info = FileInfo {
            offer,
            name: o.name.clone(),
            size: o.size,
            sha256: o.sha256.clone(),
            expires: Timestamp::from_millis(now.as_millis().saturating_add(ttl)),
            outcome: None,
        };
        let from = self.sender_name(user);
        let text = format!("{from} offers {} ({})", o.name, human_size(o.size));
        let record = FileRecord {
            id: offer,
            conv: o.conv,
            sender: user,
            name: o.name.clone(),
            size: o.size,
            sha256: o.sha256.clone(),
            created: now,
            expires: info.expires,
            seq,
            recipients: recipients.clone(),
            node: None,
        };
        // One id for the stored message and the live one, so a client that gets
        // both (live, then again in a catch-up) recognises the duplicate.
        let id = MessageId::new();
        let body = match self.store_offer(id, seq, user, now, &info, &text, &record) {
            Ok(body) => body,
            Err(e) => return b.fail(e),
        };
        self.announce(b, || Event::Message {
            head: Head {
                conv: o.conv.0,
                seq,
                sender: user.0,
                ts: now,
                kind: MessageKind::File as i64,
            },
            line: None,
            body: Body {
                id,
                sender_name: from.clone(),
                body,
                refers: None,
                quoted: None,
            },
        });
        if let Some(c) = &self.cluster {
            b.events.push(Event::offer(&record, c.bus.node()));
        }
        if let Some(stored) = self.state.offers.get_mut(&offer) {
            stored.seq = seq;
            stored.created = now;
            stored.expires = info.expires;
            stored.recipients = recipients;
            stored.growing = growing;
        }
        self.advance_after_send(b, o.conv, user, seq, now);
        let Some(conv) = self.state.convs.get(&o.conv) else {
            return;
        };
        let Some(conv_name) = self.state.conv_name(conv, user) else {
            return;
        };
        let msg = ChatMessage {
            file: Some(info),
            ..ChatMessage::new(conv_name.clone(), seq, id, from, now, text)
        };
        self.fan_out(b, conv, None, msg);
        if !growing {
            b.message(
                session,
                &ServerMessage::Uploaded {
                    offer,
                    conv: conv_name,
                    seq,
                },
            );
        }
        if self.state.offers.get(&offer).is_some_and(Offer::settled) {
            // Nobody to send it to (a group of one): nothing to keep.
            self.close_offer(b, offer);
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one offer's facts, written together"
    )]
    fn store_offer(
        &mut self,
        id: MessageId,
        seq: u64,
        sender: UserId,
        now: Timestamp,
        info: &FileInfo,
        text: &str,
        record: &FileRecord,
    ) -> Result<String, StoreError> {
        let body = StoredFile {
            file: info.clone(),
            text: text.to_owned(),
        };
        let body = serde_json::to_string(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let appended = self.store.append(&NewMessage {
            conv: record.conv,
            seq,
            id,
            sender,
            ts: now,
            kind: MessageKind::File,
            body: &body,
            refers: None,
        })?;
        if appended != Appended::New {
            return Err(StoreError::Corrupt(
                "a fresh message id was already stored".into(),
            ));
        }
        self.store.add_file(record)?;
        Ok(body)
    }

    /// An upload failed or was cancelled. Unposted, its offer is forgotten;
    /// posted (streaming), it is withdrawn from everyone still waiting.
    pub(super) fn file_aborted(&mut self, b: &mut Batch, offer: OfferId) {
        match self.state.offers.get(&offer) {
            Some(o) if o.uploading() => {
                self.state.file_bytes -= o.size;
                self.state.offers.remove(&offer);
            }
            Some(o) if o.growing => {
                tracing::info!(%offer, name = %o.name, "a streaming offer's upload failed; withdrawn");
                self.end_offer(b, offer, FileState::Cancelled);
            }
            _ => {}
        }
    }

    /// Ends an offer for everyone who had not decided, marking them `state`.
    fn end_offer(&mut self, b: &mut Batch, offer: OfferId, state: FileState) {
        if self.end_waiting(b, offer, state) {
            self.close_offer(b, offer);
        }
    }

    /// Marks every recipient still `pending` or `accepted` `state`, telling
    /// them and the sender; `false` if storing it failed (the batch is marked).
    fn end_waiting(&mut self, b: &mut Batch, offer: OfferId, state: FileState) -> bool {
        let waiting: Vec<UserId> = self
            .state
            .offers
            .get(&offer)
            .into_iter()
            .flat_map(|o| &o.recipients)
            .filter(|(_, now)| matches!(now, FileState::Pending | FileState::Accepted))
            .map(|(user, _)| *user)
            .collect();
        for recipient in waiting {
            if let Err(e) = self.set_state(b, offer, recipient, state, Some(recipient)) {
                b.fail(e);
                return false;
            }
        }
        true
    }

    pub(super) fn file_accept(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        offer: OfferId,
        reply: oneshot::Sender<Result<Accepted, Refusal>>,
    ) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let state = match self.recipient_state(user, offer) {
            Ok(state) => state,
            Err(refusal) => return b.reply(reply, Err(refusal)),
        };
        let Some(o) = self.state.offers.get(&offer).cloned() else {
            return;
        };
        match state {
            FileState::Pending => {
                if let Err(e) = self.set_state(b, offer, user, FileState::Accepted, None) {
                    return b.fail(e);
                }
                self.status_to_others(b, session, offer, user, FileState::Accepted);
            }
            FileState::Accepted | FileState::Received => {}
            FileState::Declined | FileState::Cancelled | FileState::Expired => {
                return b.reply(reply, Err(gone(state)));
            }
        }
        let info = FileInfo {
            offer,
            name: o.name,
            size: o.size,
            sha256: o.sha256,
            expires: o.expires,
            outcome: None,
        };
        b.reply(reply, Ok(Accepted { info, node: o.node }));
    }

    pub(super) fn file_decision(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        req: Option<Req>,
        offer: OfferId,
        decision: Decision,
    ) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let refuse = |b: &mut Batch, r: Refusal| {
            b.message(
                session,
                &ServerMessage::offer_error(req, offer, r.code, r.message),
            );
        };
        let state = match self.recipient_state(user, offer) {
            Ok(state) => state,
            Err(refusal) => return refuse(b, refusal),
        };
        let next = match (decision, state) {
            (_, FileState::Cancelled | FileState::Expired) => return refuse(b, gone(state)),
            (Decision::Received, FileState::Accepted) if self.growing(offer) => {
                let why = "the sender's upload is not complete yet; download the whole file first";
                return refuse(b, Refusal::new(ErrorCode::BadRequest, why));
            }
            (Decision::Received, FileState::Accepted | FileState::Received) => FileState::Received,
            (Decision::Received, _) => {
                let why = "accept the offer and download it before saying it was received";
                return refuse(b, Refusal::new(ErrorCode::BadRequest, why));
            }
            (Decision::Declined, FileState::Pending | FileState::Accepted) => FileState::Declined,
            (Decision::Declined, FileState::Received) => {
                return refuse(
                    b,
                    Refusal::new(ErrorCode::BadRequest, "you already received that file"),
                );
            }
            (_, current) => current,
        };
        if next != state
            && let Err(e) = self.set_state(b, offer, user, next, None)
        {
            return b.fail(e);
        }
        self.status_to(b, session, req, offer, user, next);
        if next != state {
            self.status_to_others(b, session, offer, user, next);
        }
        if self.state.offers.get(&offer).is_some_and(Offer::settled) {
            self.close_offer(b, offer);
        }
    }

    pub(super) fn file_withdraw(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        req: Option<Req>,
        offer: OfferId,
    ) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        if !self.state.offers.contains_key(&offer) {
            // Over (or never there): say which, as `decline` would.
            if let Err(r) = self.recipient_state(user, offer) {
                b.message(session, &r.to_message(req, Some(offer)));
            }
            return;
        }
        if self
            .state
            .offers
            .get(&offer)
            .is_some_and(|o| o.sender != user)
        {
            // A recipient cancelling: it only stops a download.
            return self.file_decision(b, session, req, offer, Decision::Stopped);
        }
        let Some(o) = self
            .state
            .offers
            .get(&offer)
            .filter(|o| o.sender == user && !o.uploading())
            .cloned()
        else {
            let why = format!("you have no open offer {offer}");
            return b.message(
                session,
                &ServerMessage::offer_error(req, offer, ErrorCode::UnknownOffer, why),
            );
        };
        if o.growing {
            // Its upload runs on another connection of the sender's (a
            // `cancel` there ends both): the offer ends with it, not before.
            let why = "that offer's upload is still running on another of your connections; cancel it there, or withdraw the offer once it is complete";
            return b.message(
                session,
                &ServerMessage::offer_error(req, offer, ErrorCode::BadRequest, why),
            );
        }
        if self.end_waiting(b, offer, FileState::Cancelled) {
            self.status_to(b, session, req, offer, user, FileState::Cancelled);
            self.close_offer(b, offer);
        }
    }

    pub(super) fn files(&self, b: &mut Batch, session: SessionId, req: Option<Req>) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let (mut incoming, mut outgoing) = (Vec::new(), Vec::new());
        for o in self.state.offers.values().filter(|o| !o.uploading()) {
            let Some(conv) = self
                .state
                .convs
                .get(&o.conv)
                .and_then(|c| self.state.conv_name(c, user))
            else {
                continue;
            };
            let summary = |state, recipients| OfferSummary {
                file: FileInfo {
                    offer: o.id,
                    name: o.name.clone(),
                    size: o.size,
                    sha256: o.sha256.clone(),
                    expires: o.expires,
                    outcome: None,
                },
                conv: conv.clone(),
                from: self.sender_name(o.sender),
                state,
                recipients,
            };
            if o.sender == user {
                let recipients = o
                    .recipients
                    .iter()
                    .map(|(u, s)| Recipient {
                        user: self.sender_name(*u),
                        state: *s,
                    })
                    .collect();
                outgoing.push(summary(None, recipients));
            } else if let Some(state) = o
                .state_of(user)
                .filter(|s| matches!(s, FileState::Pending | FileState::Accepted))
            {
                incoming.push(summary(Some(state), Vec::new()));
            }
        }
        incoming.sort_by_key(|s| s.file.expires);
        outgoing.sort_by_key(|s| s.file.expires);
        // Soonest to expire first; the rest would not fit in one line.
        let more = incoming.len() > FILES_MAX || outgoing.len() > FILES_MAX;
        incoming.truncate(FILES_MAX);
        outgoing.truncate(FILES_MAX);
        b.message(
            session,
            &ServerMessage::Files {
                req,
                incoming,
                outgoing,
                more,
            },
        );
    }

    /// Offers past their expiry end: whoever had not decided is marked
    /// expired. Offers of this node whose file is missing end too: their
    /// upload was cut short by a stop after they were posted (streaming), or
    /// the file was deleted under the server.
    pub(super) fn sweep(&mut self, b: &mut Batch) {
        let now = Timestamp::now();
        let expired: Vec<OfferId> = self
            .state
            .offers
            .values()
            .filter(|o| !o.uploading() && !o.growing && o.expires <= now)
            // Another node's offers end there, and this node hears of it;
            // unless that node is gone for good, which an hour says.
            .filter(|o| {
                o.here() || o.expires.as_millis().saturating_add(REMOTE_GRACE_MS) <= now.as_millis()
            })
            .map(|o| o.id)
            .collect();
        for offer in expired {
            if let Some(o) = self.state.offers.get(&offer) {
                tracing::info!(%offer, name = %o.name, "offer expired");
            }
            self.end_offer(b, offer, FileState::Expired);
        }
        let missing: Vec<OfferId> = self
            .state
            .offers
            .values()
            .filter(|o| o.here() && !o.uploading() && !o.growing)
            .filter(|o| !self.config.blobs.has(o.id))
            .map(|o| o.id)
            .collect();
        for offer in missing {
            if let Some(o) = self.state.offers.get(&offer) {
                tracing::warn!(%offer, name = %o.name, "an offer's file is missing; withdrawn");
            }
            self.end_offer(b, offer, FileState::Cancelled);
        }
    }

    fn growing(&self, offer: OfferId) -> bool {
        self.state.offers.get(&offer).is_some_and(|o| o.growing)
    }

    /// `user` left (or was removed from) conversation `conv`: offers there no
    /// longer wait for them.
    pub(super) fn drop_recipient(
        &mut self,
        b: &mut Batch,
        conv: ConvId,
        user: UserId,
    ) -> Result<(), StoreError> {
        let open: Vec<(OfferId, bool)> = self
            .state
            .offers
            .values()
            .filter(|o| o.conv == conv)
            .filter_map(|o| match o.state_of(user) {
                Some(FileState::Pending) => Some((o.id, false)),
                Some(FileState::Accepted) => Some((o.id, true)),
                _ => None,
            })
            .collect();
        for (offer, accepted) in open {
            if accepted {
                // Whatever their connections are still downloading stops there.
                for (session, _) in self.state.outbounds(user) {
                    b.effects.push(Effect::StopDownload(session, offer));
                }
            }
            self.set_state(b, offer, user, FileState::Cancelled, Some(user))?;
            if self.state.offers.get(&offer).is_some_and(Offer::settled) {
                self.close_offer(b, offer);
            }
        }
        Ok(())
    }

    /// Forgets offers of a conversation that is being deleted.
    pub(super) fn drop_conv_offers(&mut self, b: &mut Batch, conv: ConvId) {
        let gone: Vec<OfferId> = self
            .state
            .offers
            .values()
            .filter(|o| o.conv == conv)
            .map(|o| o.id)
            .collect();
        for offer in gone {
            if let Some(o) = self.state.offers.remove(&offer)
                && o.here()
            {
                self.state.file_bytes -= o.size;
                if !o.uploading() {
                    b.effects.push(Effect::Remove(offer));
                }
            }
        }
    }

    /// Where `user` stands with `offer`, or why they cannot act on it.
    fn recipient_state(&mut self, user: UserId, offer: OfferId) -> Result<FileState, Refusal> {
        match self.state.offers.get(&offer) {
            // Expired offers end at the next sweep; until then they are already over.
            Some(o)
                if !o.uploading()
                    && o.expires <= Timestamp::now()
                    && o.state_of(user).is_some() =>
            {
                Err(gone(FileState::Expired))
            }
            // Withdrawn from them when they left (or were removed from) its group.
            Some(o)
                if !o.uploading()
                    && o.state_of(user) == Some(FileState::Cancelled)
                    && self
                        .state
                        .convs
                        .get(&o.conv)
                        .is_none_or(|c| c.member(user).is_none()) =>
            {
                Err(Refusal::new(
                    ErrorCode::FileGone,
                    "you are no longer in the conversation that offer was made in",
                ))
            }
            Some(o) if !o.uploading() => o.state_of(user).ok_or_else(|| {
                Refusal::new(
                    ErrorCode::NotRecipient,
                    format!("offer {offer} is not addressed to you"),
                )
            }),
            Some(_) => Err(Refusal::new(
                ErrorCode::UnknownOffer,
                format!("offer {offer} is still being uploaded"),
            )),
            None => {
                let closed = self.store.file_closed(offer).unwrap_or(false);
                Err(if closed {
                    Refusal::new(ErrorCode::FileGone, format!("offer {offer} is over"))
                } else {
                    Refusal::new(
                        ErrorCode::UnknownOffer,
                        format!("there is no offer {offer}"),
                    )
                })
            }
        }
    }

    /// Records a recipient's state and tells the sender (and `also`, if given).
    fn set_state(
        &mut self,
        b: &mut Batch,
        offer: OfferId,
        user: UserId,
        state: FileState,
        also: Option<UserId>,
    ) -> Result<(), StoreError> {
        self.store.set_file_state(offer, user, state)?;
        self.announce(b, || Event::FileState {
            offer,
            user: user.0,
            state,
        });
        self.state_here(b, offer, user, state, also);
        Ok(())
    }

    /// Takes in a recipient's state, decided here or on another node, and
    /// tells the sender's connections here (and `also`'s).
    pub(super) fn state_here(
        &mut self,
        b: &mut Batch,
        offer: OfferId,
        user: UserId,
        state: FileState,
        also: Option<UserId>,
    ) {
        let Some(o) = self.state.offers.get_mut(&offer) else {
            return;
        };
        if let Some(entry) = o.recipients.iter_mut().find(|(u, _)| *u == user) {
            entry.1 = state;
        }
        let o = o.clone();
        let targets: Vec<UserId> = std::iter::once(o.sender).chain(also).collect();
        for target in targets {
            let Some(line) = self.status_line(&o, None, target, user, state) else {
                continue;
            };
            let sessions: Vec<SessionId> =
                self.state.outbounds(target).map(|(sid, _)| sid).collect();
            for sid in sessions {
                b.line(sid, line.clone());
            }
        }
    }

    /// A `file_status` for `session` (answering `req`).
    fn status_to(
        &self,
        b: &mut Batch,
        session: SessionId,
        req: Option<Req>,
        offer: OfferId,
        about: UserId,
        state: FileState,
    ) {
        let Some(viewer) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        if let Some(line) = self
            .state
            .offers
            .get(&offer)
            .and_then(|o| self.status_line(o, req, viewer, about, state))
        {
            b.line(session, line);
        }
    }

    /// Tells `user`'s other connections of a decision made on `session`, so
    /// a second client stops asking about an offer the first one answered.
    fn status_to_others(
        &self,
        b: &mut Batch,
        session: SessionId,
        offer: OfferId,
        user: UserId,
        state: FileState,
    ) {
        let Some(o) = self.state.offers.get(&offer) else {
            return;
        };
        let mut others = self
            .state
            .outbounds(user)
            .map(|(sid, _)| sid)
            .filter(|sid| *sid != session)
            .peekable();
        if others.peek().is_none() {
            return;
        }
        let Some(line) = self.status_line(o, None, user, user, state) else {
            return;
        };
        for sid in others {
            b.line(sid, line.clone());
        }
    }

    fn status_line(
        &self,
        o: &Offer,
        req: Option<Req>,
        viewer: UserId,
        about: UserId,
        state: FileState,
    ) -> Option<bytes::Bytes> {
        let conv = self
            .state
            .convs
            .get(&o.conv)
            .and_then(|c| self.state.conv_name(c, viewer))?;
        let msg = ServerMessage::FileStatus {
            req,
            offer: o.id,
            conv,
            name: o.name.clone(),
            user: self.sender_name(about),
            state,
            counts: o.counts(),
        };
        Some(msg.to_line())
    }

    /// The offer is over: forget it and, once committed, delete its file
    /// (on the node that has it).
    fn close_offer(&mut self, b: &mut Batch, offer: OfferId) {
        if let Err(e) = self.store.close_file(offer) {
            return b.fail(e);
        }
        self.announce(b, || Event::OfferClosed { offer });
        self.closed_here(b, offer);
    }

    /// Forgets an offer that is over, here or on another node.
    pub(super) fn closed_here(&mut self, b: &mut Batch, offer: OfferId) {
        if let Some(o) = self.state.offers.remove(&offer)
            && o.here()
        {
            self.state.file_bytes -= o.size;
            b.effects.push(Effect::Remove(offer));
        }
    }

    fn sender_name(&self, user: UserId) -> classchat_common::Username {
        self.state
            .name(user)
            .cloned()
            .unwrap_or_else(classchat_common::Username::ghost)
    }
}

fn gone(state: FileState) -> Refusal {
    let why = match state {
        FileState::Declined => "you declined that offer",
        FileState::Cancelled => "the sender withdrew that offer",
        FileState::Expired => "that offer expired",
        _ => "that offer is over",
    };
    Refusal::new(ErrorCode::FileGone, why)
}
