//! The in-memory store (`--store memory`): the same contract without a disk.
//! Everything is gone when the server stops; meant for tests, demos and measuring
//! the server without storage costs.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use classchat_common::protocol::FileState;
use classchat_common::{GroupName, MessageId, OfferId, Timestamp, Username};

use crate::idmap::IdMap;

use super::client_key::{ClientKeys, ClientMap};
use super::search::{Cursor, Query};

use super::{
    Appended, ConvId, ConvKind, ConvRecord, FileRecord, MemberRecord, MessageKind, MessageRef,
    NewMessage, NoticeRecord, OfferOutcome, Pending, Quoted, Reader, Result, Snapshot, Store,
    StoreError, StoredMessage, Target, TokenHash, UserId, UserRecord,
};

#[derive(Debug, Default)]
struct Data {
    users: Vec<UserRecord>,
    tokens: HashMap<TokenHash, UserId>,
    convs: Vec<ConvRecord>,
    members: IdMap<(ConvId, UserId), MemberRecord>,
    bans: std::collections::BTreeSet<(ConvId, UserId)>,
    /// In the order pinned.
    pins: Vec<(ConvId, u64)>,
    /// In the order given.
    reactions: Vec<(ConvId, u64, UserId, String)>,
    messages: IdMap<ConvId, Log>,
    by_client_id: ClientMap<MessageRef>,
    client_keys: ClientKeys,
    /// Deleted conversations leave holes, so ids come from a counter.
    last_conv: i64,
    /// File offers, and whether each is over.
    files: HashMap<OfferId, (FileRecord, bool)>,
    /// Notices by id, which counts up.
    notices: std::collections::BTreeMap<i64, NoticeRecord>,
    last_notice: i64,
}

impl Data {
    fn user_name(&self, id: UserId) -> Option<&Username> {
        usize::try_from(id.0 - 1)
            .ok()
            .and_then(|i| self.users.get(i))
            .map(|u| &u.name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    // Readers and the hub share the data; the lock is held for single map
    // operations or one page copy, never across anything that waits.
    data: Arc<RwLock<Data>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> Result<std::sync::RwLockWriteGuard<'_, Data>> {
        self.data
            .write()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))
    }

    fn snapshot(&self) -> Result<Snapshot> {
        let d = self
            .data
            .read()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))?;
        let convs = d
            .convs
            .iter()
            .map(|c| {
                let log = d.messages.get(&c.id);
                ConvRecord {
                    last_seq: log.map_or(0, |m| m.len() as u64),
                    last_ts: log.and_then(|m| m.last()).map(|m| m.ts),
                    ..c.clone()
                }
            })
            .collect();
        Ok(Snapshot {
            users: d.users.clone(),
            tokens: d.tokens.iter().map(|(h, u)| (*h, *u)).collect(),
            convs,
            members: d.members.values().copied().collect(),
            bans: d.bans.iter().copied().collect(),
            pins: d.pins.clone(),
            files: d
                .files
                .values()
                .filter(|(_, closed)| !closed)
                .map(|(f, _)| f.clone())
                .collect(),
            notices: d.notices.values().cloned().collect(),
        })
    }
}

impl Store for MemoryStore {
    fn load(&mut self) -> Pending<'_, Snapshot> {
        Box::pin(std::future::ready(self.snapshot()))
    }
    fn create_user(
        &mut self,
        name: &Username,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<UserId> {
        let mut d = self.write()?;
        let id = UserId(d.users.len() as i64 + 1);
        d.users.push(UserRecord {
            id,
            name: name.clone(),
            password_hash: password_hash.to_owned(),
            created: now,
            last_seen: None,
        });
        Ok(id)
    }

    fn set_last_seen(&mut self, user: UserId, at: Timestamp) -> Result<()> {
        let mut d = self.write()?;
        if let Some(u) = d.users.iter_mut().find(|u| u.id == user) {
            u.last_seen = Some(at);
        }
        Ok(())
    }

    fn set_password(&mut self, user: UserId, password_hash: &str) -> Result<()> {
        let mut d = self.write()?;
        if let Some(u) = d.users.iter_mut().find(|u| u.id == user) {
            u.password_hash = password_hash.to_owned();
        }
        Ok(())
    }

    fn add_token(&mut self, user: UserId, token: &TokenHash, _now: Timestamp) -> Result<()> {
        self.write()?.tokens.insert(*token, user);
        Ok(())
    }

    fn remove_token(&mut self, token: &TokenHash) -> Result<()> {
        self.write()?.tokens.remove(token);
        Ok(())
    }

    fn create_conv(&mut self, kind: &ConvKind, now: Timestamp) -> Result<ConvId> {
        let mut d = self.write()?;
        d.last_conv += 1;
        let id = ConvId(d.last_conv);
        d.convs.push(ConvRecord {
            id,
            kind: kind.clone(),
            created: now,
            last_seq: 0,
            last_ts: None,
        });
        Ok(id)
    }

    fn add_member(&mut self, m: &MemberRecord) -> Result<()> {
        self.write()?.members.insert((m.conv, m.user), *m);
        Ok(())
    }

    fn remove_member(&mut self, conv: ConvId, user: UserId) -> Result<()> {
        self.write()?.members.remove(&(conv, user));
        Ok(())
    }

    fn update_group(&mut self, conv: ConvId, kind: &ConvKind) -> Result<()> {
        let mut d = self.write()?;
        if let Some(c) = d.convs.iter_mut().find(|c| c.id == conv) {
            c.kind = kind.clone();
        }
        Ok(())
    }

    fn set_moderator(&mut self, conv: ConvId, user: UserId, moderator: bool) -> Result<()> {
        if let Some(m) = self.write()?.members.get_mut(&(conv, user)) {
            m.moderator = moderator;
        }
        Ok(())
    }

    fn set_pinned(&mut self, conv: ConvId, seq: u64, pinned: bool) -> Result<()> {
        let mut d = self.write()?;
        d.pins.retain(|p| *p != (conv, seq));
        if pinned {
            d.pins.push((conv, seq));
        }
        Ok(())
    }

    fn set_banned(&mut self, conv: ConvId, user: UserId, banned: bool) -> Result<()> {
        let mut d = self.write()?;
        if banned {
            d.bans.insert((conv, user));
        } else {
            d.bans.remove(&(conv, user));
        }
        Ok(())
    }

    fn delete_conv(&mut self, conv: ConvId) -> Result<()> {
        let mut d = self.write()?;
        d.convs.retain(|c| c.id != conv);
        d.members.retain(|(c, _), _| *c != conv);
        d.bans.retain(|(c, _)| *c != conv);
        d.pins.retain(|(c, _)| *c != conv);
        d.reactions.retain(|r| r.0 != conv);
        d.messages.remove(&conv);
        d.by_client_id.retain(|_, r| r.conv != conv);
        d.files.retain(|_, (f, _)| f.conv != conv);
        Ok(())
    }

    fn add_notice(&mut self, user: UserId, group: &GroupName, seq: u64, line: &str) -> Result<i64> {
        let mut d = self.write()?;
        d.last_notice += 1;
        let id = d.last_notice;
        d.notices.insert(
            id,
            NoticeRecord {
                id,
                user,
                group: group.clone(),
                seq,
                line: line.to_owned(),
            },
        );
        Ok(id)
    }

    fn remove_notice(&mut self, id: i64) -> Result<()> {
        self.write()?.notices.remove(&id);
        Ok(())
    }

    fn set_cursors(&mut self, conv: ConvId, user: UserId, delivered: u64, read: u64) -> Result<()> {
        if let Some(m) = self.write()?.members.get_mut(&(conv, user)) {
            m.delivered = delivered;
            m.read = read;
        }
        Ok(())
    }

    fn append(&mut self, msg: &NewMessage<'_>) -> Result<Appended> {
        let mut d = self.write()?;
        let key = d.client_keys.key(msg.sender, msg.id);
        if let Some(existing) = d.by_client_id.get(&key) {
            return Ok(Appended::Duplicate(*existing));
        }
        let sender_name = d
            .user_name(msg.sender)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("no user {}", msg.sender.0)))?;
        let log = d.messages.entry(msg.conv).or_default();
        if msg.seq != log.len() as u64 + 1 {
            return Err(StoreError::Corrupt(format!(
                "sequence number {} out of order in conversation {}",
                msg.seq, msg.conv.0
            )));
        }
        log.push(StoredMessage {
            seq: msg.seq,
            id: msg.id,
            sender: msg.sender,
            sender_name,
            ts: msg.ts,
            kind: msg.kind,
            body: msg.body.to_owned(),
            refers: msg.refers,
            edited: None,
            quoted: None,
            reactions: Vec::new(),
        });
        d.by_client_id.insert(
            key,
            MessageRef {
                conv: msg.conv,
                seq: msg.seq,
                ts: msg.ts,
            },
        );
        Ok(Appended::New)
    }

    fn add_file(&mut self, file: &FileRecord) -> Result<()> {
        self.write()?.files.insert(file.id, (file.clone(), false));
        Ok(())
    }

    fn set_file_state(&mut self, offer: OfferId, user: UserId, state: FileState) -> Result<()> {
        if let Some((f, _)) = self.write()?.files.get_mut(&offer) {
            match f.recipients.iter_mut().find(|(u, _)| *u == user) {
                Some(entry) => entry.1 = state,
                None => f.recipients.push((user, state)),
            }
        }
        Ok(())
    }

    fn close_file(&mut self, offer: OfferId) -> Result<()> {
        if let Some((_, closed)) = self.write()?.files.get_mut(&offer) {
            *closed = true;
        }
        Ok(())
    }

    fn file_closed(&mut self, offer: OfferId) -> Result<bool> {
        Ok(self
            .write()?
            .files
            .get(&offer)
            .is_some_and(|(_, closed)| *closed))
    }

    fn message_at(&mut self, conv: ConvId, seq: u64) -> Result<Option<Target>> {
        let d = self.write()?;
        let at = usize::try_from(seq.saturating_sub(1)).unwrap_or(usize::MAX);
        Ok(d.messages
            .get(&conv)
            .and_then(|log| log.get(at).filter(|_| seq > 0))
            .map(|m| Target {
                sender: m.sender,
                kind: m.kind,
                body: m.body.clone(),
                reactions: d
                    .reactions
                    .iter()
                    .filter(|r| r.0 == conv && r.1 == seq)
                    .map(|r| (r.2, r.3.clone()))
                    .collect(),
            }))
    }

    fn set_reaction(
        &mut self,
        conv: ConvId,
        seq: u64,
        user: UserId,
        emoji: &str,
        on: bool,
    ) -> Result<()> {
        let mut d = self.write()?;
        let this = |r: &(ConvId, u64, UserId, String)| {
            r.0 == conv && r.1 == seq && r.2 == user && r.3 == emoji
        };
        if !on {
            d.reactions.retain(|r| !this(r));
        } else if !d.reactions.iter().any(this) {
            d.reactions.push((conv, seq, user, emoji.to_owned()));
        }
        Ok(())
    }

    fn edit_message(&mut self, conv: ConvId, seq: u64, body: &str, at: Timestamp) -> Result<()> {
        let mut d = self.write()?;
        if let Some(m) = d.messages.get_mut(&conv).and_then(|log| at_mut(log, seq)) {
            m.body = body.to_owned();
            m.edited = Some(at);
        }
        Ok(())
    }

    fn erase_message(&mut self, conv: ConvId, seq: u64) -> Result<()> {
        let mut d = self.write()?;
        let Some(log) = d.messages.get_mut(&conv) else {
            return Ok(());
        };
        if let Some(m) = at_mut(log, seq) {
            m.body.clear();
            m.kind = MessageKind::Deleted;
            m.edited = None;
        }
        for m in log.iter_mut() {
            if m.kind == MessageKind::Edit && m.refers == Some(seq) {
                m.body.clear();
            }
        }
        d.reactions.retain(|r| !(r.0 == conv && r.1 == seq));
        Ok(())
    }

    fn find_message(&mut self, sender: UserId, id: MessageId) -> Result<Option<MessageRef>> {
        let d = self.write()?;
        Ok(d.by_client_id.get(&d.client_keys.key(sender, id)).copied())
    }

    fn commit(&mut self) -> Pending<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn rollback(&mut self) -> Pending<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn reader(&self) -> Arc<dyn Reader> {
        Arc::new(self.clone())
    }

    /// Left to the process's exit. Every message stays in memory until the
    /// server stops; freeing them one by one (about 370 instructions each,
    /// most of them the allocator taking back memory another thread gave
    /// out) only made the stop take longer.
    fn close(self: Box<Self>) {
        std::mem::forget(self);
    }
}

impl Reader for MemoryStore {
    fn search(
        &self,
        query: &Query,
        convs: &[ConvId],
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<(ConvId, StoredMessage)>> {
        // There is no index in memory: every text message of `convs` is read.
        let d = self
            .data
            .read()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))?;
        let mut found: Vec<(ConvId, &StoredMessage)> = convs
            .iter()
            .filter_map(|conv| Some((*conv, d.messages.get(conv)?)))
            .flat_map(|(conv, log)| log.iter().map(move |m| (conv, m)))
            .filter(|(conv, m)| {
                m.kind == MessageKind::Text
                    && before.is_none_or(|c| c.passes(m.ts, *conv, m.seq))
                    && query.matches(&m.body)
            })
            .collect();
        found.sort_unstable_by(|(ca, a), (cb, b)| (b.ts, cb, b.seq).cmp(&(a.ts, ca, a.seq)));
        Ok(found
            .into_iter()
            .take(limit)
            .filter_map(|(conv, m)| Some((conv, with_quote(d.messages.get(&conv)?, m))))
            .collect())
    }

    fn offer_outcome(&self, offer: OfferId) -> Result<Option<OfferOutcome>> {
        let d = self
            .data
            .read()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))?;
        Ok(d.files.get(&offer).map(|(f, closed)| OfferOutcome {
            over: *closed,
            recipients: f.recipients.clone(),
        }))
    }

    fn count_unread(&self, conv: ConvId, after: u64, user: UserId) -> Result<u64> {
        let d = self
            .data
            .read()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))?;
        let start = usize::try_from(after).unwrap_or(usize::MAX);
        Ok(d.messages.get(&conv).map_or(0, |log| {
            log.iter_from(start)
                .filter(|m| m.sender != user && m.kind == MessageKind::Text)
                .count() as u64
        }))
    }

    fn range(
        &self,
        conv: ConvId,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        let d = self
            .data
            .read()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))?;
        let Some(log) = d.messages.get(&conv) else {
            return Ok(Vec::new());
        };
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(log.len());
        let end = usize::try_from(upto).unwrap_or(usize::MAX).min(log.len());
        let mut page: Vec<StoredMessage> = log
            .between(start, end)
            .take(limit)
            .map(|m| with_quote(log, m))
            .collect();
        with_reactions(&d, conv, &mut page);
        Ok(page)
    }

    fn before(&self, conv: ConvId, before: u64, limit: usize) -> Result<Vec<StoredMessage>> {
        let d = self
            .data
            .read()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))?;
        let Some(log) = d.messages.get(&conv) else {
            return Ok(Vec::new());
        };
        let end = usize::try_from(before.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(log.len());
        let mut page: Vec<StoredMessage> = log
            .between(end.saturating_sub(limit), end)
            .map(|m| with_quote(log, m))
            .collect();
        with_reactions(&d, conv, &mut page);
        Ok(page)
    }
}

/// Message `seq` of a conversation's log (`seq` is index + 1).
fn at_mut(log: &mut Log, seq: u64) -> Option<&mut StoredMessage> {
    log.get_mut(usize::try_from(seq.checked_sub(1)?).ok()?)
}

/// `m`, and for a reply the message it answers as it is now.
fn with_quote(log: &Log, m: &StoredMessage) -> StoredMessage {
    let quoted = match (m.kind, m.refers) {
        (MessageKind::Text, Some(seq)) => usize::try_from(seq.saturating_sub(1))
            .ok()
            .and_then(|i| log.get(i))
            .map(|q| Box::new(Quoted::of(q.sender_name.clone(), q.kind, &q.body))),
        _ => None,
    };
    StoredMessage {
        quoted,
        ..m.clone()
    }
}

/// Gives each message of a page its reactions.
fn with_reactions(d: &Data, conv: ConvId, page: &mut [StoredMessage]) {
    let rows = d
        .reactions
        .iter()
        .filter(|r| r.0 == conv)
        .filter_map(|r| Some((r.1, r.3.clone(), d.user_name(r.2)?.clone())))
        .collect();
    super::attach_reactions(page, rows);
}

/// How many messages a block of a [`Log`] holds.
const BLOCK: usize = 512;

/// A conversation's messages in sequence order (`seq` is index + 1), in
/// blocks of [`BLOCK`]: a long log grows by a block at a time, never by
/// copying what it holds into an allocation twice the size.
#[derive(Debug, Default)]
struct Log {
    blocks: Vec<Vec<StoredMessage>>,
}

impl Log {
    fn len(&self) -> usize {
        self.blocks
            .last()
            .map_or(0, |last| (self.blocks.len() - 1) * BLOCK + last.len())
    }

    fn push(&mut self, m: StoredMessage) {
        match self.blocks.last_mut() {
            Some(last) if last.len() < BLOCK => last.push(m),
            // The first block grows as a vector does, so that a short
            // conversation holds no more than it needs.
            Some(_) => {
                let mut block = Vec::with_capacity(BLOCK);
                block.push(m);
                self.blocks.push(block);
            }
            None => self.blocks.push(vec![m]),
        }
    }

    fn get(&self, i: usize) -> Option<&StoredMessage> {
        self.blocks.get(i / BLOCK)?.get(i % BLOCK)
    }

    fn get_mut(&mut self, i: usize) -> Option<&mut StoredMessage> {
        self.blocks.get_mut(i / BLOCK)?.get_mut(i % BLOCK)
    }

    fn last(&self) -> Option<&StoredMessage> {
        self.blocks.last()?.last()
    }

    fn iter(&self) -> impl Iterator<Item = &StoredMessage> {
        self.blocks.iter().flatten()
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut StoredMessage> {
        self.blocks.iter_mut().flatten()
    }

    /// Messages `start..end` by index (none when `end <= start`).
    fn between(&self, start: usize, end: usize) -> impl Iterator<Item = &StoredMessage> {
        self.iter_from(start).take(end.saturating_sub(start))
    }

    fn iter_from(&self, start: usize) -> impl Iterator<Item = &StoredMessage> {
        let first = self.blocks.get(start / BLOCK);
        let first = first
            .and_then(|b| b.get(start % BLOCK..))
            .unwrap_or_default();
        first
            .iter()
            .chain(self.blocks.iter().skip(start / BLOCK + 1).flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64) -> StoredMessage {
        StoredMessage {
            seq,
            id: MessageId::new(),
            sender: UserId(1),
            sender_name: Username::new("ann").unwrap(),
            ts: Timestamp::from_millis(seq as i64),
            kind: MessageKind::Text,
            body: format!("message {seq}"),
            refers: None,
            edited: None,
            quoted: None,
            reactions: Vec::new(),
        }
    }

    fn seqs<'a>(it: impl Iterator<Item = &'a StoredMessage>) -> Vec<u64> {
        it.map(|m| m.seq).collect()
    }

    #[test]
    fn a_log_in_blocks_reads_as_one_sequence() {
        let mut log = Log::default();
        let mut flat = Vec::new();
        for seq in 1..=(2 * BLOCK as u64 + 7) {
            log.push(message(seq));
            flat.push(seq);
            assert_eq!(log.len(), flat.len());
            assert_eq!(log.last().map(|m| m.seq), Some(seq));
        }
        assert_eq!(seqs(log.iter()), flat);
        let edges = [
            0,
            1,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            2 * BLOCK,
            flat.len(),
            flat.len() + 3,
        ];
        for start in edges {
            assert_eq!(seqs(log.iter_from(start)), flat[start.min(flat.len())..]);
            assert_eq!(log.get(start).map(|m| m.seq), flat.get(start).copied());
            for end in edges {
                let want = flat.get(start..end.min(flat.len())).unwrap_or_default();
                assert_eq!(seqs(log.between(start, end)), want, "{start}..{end}");
            }
        }
        if let Some(m) = log.get_mut(BLOCK) {
            m.body = "edited".into();
        }
        assert_eq!(
            log.iter().nth(BLOCK).map(|m| m.body.as_str()),
            Some("edited")
        );
        assert_eq!(log.blocks.len(), 3);
        assert!(log.blocks.iter().skip(1).all(|b| b.capacity() == BLOCK));
    }
}
