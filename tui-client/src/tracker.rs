//! How far each of your messages has got: sending → stored → delivered → read.
//!
//! The server reports members' cursors ("bob has received up to 12, read up to
//! 9"), not per-message events. The tracker keeps those cursors per conversation
//! and turns them into a status for each of your messages it knows, counting in
//! groups only the members who were there when the message was sent. A status
//! only ever moves forward.

use std::collections::{BTreeMap, HashMap};

use classchat_common::protocol::Counts;
use classchat_common::{Conv, MessageId, Username};
use serde::Serialize;

/// The stage of one of your messages. Ordered: later stages compare greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Sending,
    Stored,
    /// Every recipient's client has it.
    Delivered,
    /// Every recipient has seen it.
    Read,
    /// Refused by the server; will not be retried.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Status {
    pub stage: Stage,
    pub delivered: u32,
    pub read: u32,
    pub of: u32,
}

impl Status {
    pub const SENDING: Status = Status {
        stage: Stage::Sending,
        delivered: 0,
        read: 0,
        of: 0,
    };

    pub fn from_counts(c: Counts) -> Self {
        let stage = if c.of > 0 && c.read >= c.of {
            Stage::Read
        } else if c.of > 0 && c.delivered >= c.of {
            Stage::Delivered
        } else {
            Stage::Stored
        };
        Status {
            stage,
            delivered: c.delivered,
            read: c.read,
            of: c.of,
        }
    }

    /// Moves toward `newer` without ever going back; true if anything changed.
    /// `Failed` is final, and nothing that was stored can fail afterwards.
    pub fn advance(&mut self, newer: Status) -> bool {
        if self.stage == Stage::Failed
            || (newer.stage == Stage::Failed && self.stage > Stage::Sending)
        {
            return false;
        }
        let merged = Status {
            stage: self.stage.max(newer.stage),
            delivered: self.delivered.max(newer.delivered),
            read: self.read.max(newer.read),
            of: self.of.max(newer.of),
        };
        let changed = merged != *self;
        *self = merged;
        changed
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    joined: u64,
    delivered: u64,
    read: u64,
}

#[derive(Debug, Clone)]
struct Mine {
    conv: Conv,
    seq: u64,
    status: Status,
}

/// A status change worth telling about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    pub id: MessageId,
    pub conv: Conv,
    pub seq: u64,
    #[serde(flatten)]
    pub status: Status,
}

#[derive(Debug)]
pub struct Tracker {
    me: Username,
    cursors: HashMap<Conv, HashMap<Username, Cursor>>,
    mine: HashMap<MessageId, Mine>,
    /// Your stored messages per conversation, by sequence number.
    by_seq: HashMap<Conv, BTreeMap<u64, MessageId>>,
}

impl Tracker {
    pub fn new(me: Username) -> Self {
        Self {
            me,
            cursors: HashMap::new(),
            mine: HashMap::new(),
            by_seq: HashMap::new(),
        }
    }

    pub fn status(&self, id: MessageId) -> Option<Status> {
        self.mine.get(&id).map(|m| m.status)
    }

    /// The server stored message `id` as `seq` in `conv`, for `of` recipients.
    pub fn stored(&mut self, id: MessageId, conv: &Conv, seq: u64, of: u32) -> Option<Update> {
        let mut status = Status {
            stage: Stage::Stored,
            delivered: 0,
            read: 0,
            of,
        };
        let counted = self.count(conv, seq, of);
        status.advance(counted);
        self.by_seq.entry(conv.clone()).or_default().insert(seq, id);
        let mine = self.mine.entry(id).or_insert(Mine {
            conv: conv.clone(),
            seq,
            status: Status::SENDING,
        });
        mine.advance_to(status).then(|| mine.update(id))
    }

    /// The server refused message `id` for good.
    pub fn failed(&mut self, id: MessageId, conv: &Conv) -> Option<Update> {
        let mine = self.mine.entry(id).or_insert(Mine {
            conv: conv.clone(),
            seq: 0,
            status: Status::SENDING,
        });
        let failed = Status {
            stage: Stage::Failed,
            ..Status::SENDING
        };
        mine.advance_to(failed).then(|| mine.update(id))
    }

    /// A member's cursors moved; returns the messages of yours whose status changed.
    pub fn receipt(
        &mut self,
        conv: &Conv,
        user: &Username,
        joined: u64,
        delivered: u64,
        read: u64,
    ) -> Vec<Update> {
        if *user == self.me {
            return Vec::new();
        }
        let cursor = self
            .cursors
            .entry(conv.clone())
            .or_default()
            .entry(user.clone())
            .or_default();
        let floor = cursor.read.min(cursor.delivered);
        cursor.joined = joined;
        cursor.delivered = cursor.delivered.max(delivered).max(read);
        cursor.read = cursor.read.max(read);
        let top = cursor.delivered;
        // Nothing moved (a repeated or stale receipt): an empty range, which
        // `BTreeMap::range` would panic on.
        if top <= floor {
            return Vec::new();
        }
        let Some(ids) = self.by_seq.get(conv) else {
            return Vec::new();
        };
        let touched: Vec<(u64, MessageId)> = ids
            .range(floor + 1..=top)
            .map(|(s, id)| (*s, *id))
            .collect();
        let mut updates = Vec::new();
        for (seq, id) in touched {
            let Some(of) = self.mine.get(&id).map(|m| m.status.of) else {
                continue;
            };
            let counted = self.count(conv, seq, of);
            if let Some(mine) = self.mine.get_mut(&id)
                && mine.advance_to(counted)
            {
                updates.push(mine.update(id));
            }
        }
        // Read by everyone is final: stop looking at those.
        if let Some(ids) = self.by_seq.get_mut(conv) {
            for u in updates.iter().filter(|u| u.status.stage == Stage::Read) {
                ids.remove(&u.seq);
            }
        }
        updates
    }

    /// Conversations holding messages of yours that not everyone has read yet,
    /// with the oldest such sequence number.
    pub fn unsettled(&self) -> Vec<(Conv, u64)> {
        self.by_seq
            .iter()
            .filter_map(|(conv, ids)| Some((conv.clone(), *ids.keys().next()?)))
            .collect()
    }

    /// The server's counts for message `id` (`seq` in `conv`) of yours, from
    /// `history` or from its copy sent to this connection when another of your
    /// connections sent it. One this tracker did not know (sent before a
    /// restart, or elsewhere) is followed from here on like one sent here,
    /// unless everyone has read it already.
    pub fn counts(
        &mut self,
        id: MessageId,
        conv: &Conv,
        seq: u64,
        counts: Counts,
    ) -> Option<Update> {
        let mut status = Status::from_counts(counts);
        // Receipts heard since the server counted.
        status.advance(self.count(conv, seq, counts.of));
        let adopted = !self.mine.contains_key(&id);
        let mine = match self.mine.get_mut(&id) {
            Some(mine) if mine.seq == seq => mine,
            Some(_) => return None,
            None if status.stage == Stage::Read => return None,
            None => {
                self.by_seq.entry(conv.clone()).or_default().insert(seq, id);
                self.mine.entry(id).or_insert(Mine {
                    conv: conv.clone(),
                    seq,
                    status: Status {
                        stage: Stage::Stored,
                        of: counts.of,
                        ..Status::SENDING
                    },
                })
            }
        };
        let update = (mine.advance_to(status) || adopted).then(|| mine.update(id));
        if mine.status.stage == Stage::Read
            && let Some(ids) = self.by_seq.get_mut(conv)
        {
            ids.remove(&seq);
        }
        update
    }

    /// A group was renamed: its messages and cursors carry over to the new name.
    pub fn rename(&mut self, old: &Conv, new: &Conv) {
        if let Some(cursors) = self.cursors.remove(old) {
            self.cursors.insert(new.clone(), cursors);
        }
        if let Some(ids) = self.by_seq.remove(old) {
            self.by_seq.insert(new.clone(), ids);
        }
        for mine in self.mine.values_mut().filter(|m| m.conv == *old) {
            mine.conv = new.clone();
        }
    }

    fn count(&self, conv: &Conv, seq: u64, of: u32) -> Status {
        let mut c = Counts {
            delivered: 0,
            read: 0,
            of,
        };
        for cursor in self.cursors.get(conv).into_iter().flat_map(|m| m.values()) {
            if cursor.joined < seq {
                c.delivered += u32::from(cursor.delivered >= seq);
                c.read += u32::from(cursor.read >= seq);
            }
        }
        c.delivered = c.delivered.min(of);
        c.read = c.read.min(of);
        Status::from_counts(c)
    }
}

impl Mine {
    fn advance_to(&mut self, status: Status) -> bool {
        self.status.advance(status)
    }

    fn update(&self, id: MessageId) -> Update {
        Update {
            id,
            conv: self.conv.clone(),
            seq: self.seq,
            status: self.status,
        }
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Username {
        s.parse().unwrap()
    }

    fn conv(s: &str) -> Conv {
        s.parse().unwrap()
    }

    #[test]
    fn a_direct_message_goes_stored_delivered_read() {
        let mut t = Tracker::new(name("alice"));
        let id = MessageId::new();
        let bob = conv("bob");
        assert_eq!(
            t.stored(id, &bob, 3, 1).unwrap().status.stage,
            Stage::Stored
        );
        let up = t.receipt(&bob, &name("bob"), 0, 3, 0);
        assert_eq!(up[0].status.stage, Stage::Delivered);
        let up = t.receipt(&bob, &name("bob"), 0, 3, 3);
        assert_eq!(up[0].status.stage, Stage::Read);
        assert_eq!(up[0].status.read, 1);
    }

    #[test]
    fn one_receipt_covers_every_earlier_message() {
        let mut t = Tracker::new(name("alice"));
        let bob = conv("bob");
        let ids: Vec<_> = (1..=5)
            .map(|s| {
                let id = MessageId::new();
                t.stored(id, &bob, s, 1);
                id
            })
            .collect();
        let up = t.receipt(&bob, &name("bob"), 0, 5, 5);
        assert_eq!(up.len(), 5);
        assert!(
            ids.iter()
                .all(|id| t.status(*id).unwrap().stage == Stage::Read)
        );
    }

    #[test]
    fn group_counts_grow_member_by_member_and_ignore_late_joiners() {
        let mut t = Tracker::new(name("alice"));
        let g = conv("#cs101");
        let id = MessageId::new();
        t.stored(id, &g, 10, 2);
        let up = t.receipt(&g, &name("bob"), 1, 10, 0);
        assert_eq!(
            (up[0].status.stage, up[0].status.delivered, up[0].status.of),
            (Stage::Stored, 1, 2)
        );
        // dave joined after message 10: his cursor does not count for it.
        assert!(t.receipt(&g, &name("dave"), 12, 12, 12).is_empty());
        let up = t.receipt(&g, &name("carol"), 1, 10, 10);
        assert_eq!(up[0].status.stage, Stage::Delivered);
        t.receipt(&g, &name("bob"), 1, 10, 10);
        let s = t.status(id).unwrap();
        assert_eq!((s.stage, s.read, s.of), (Stage::Read, 2, 2));
    }

    #[test]
    fn a_status_never_moves_backwards() {
        let mut s = Status::SENDING;
        assert!(s.advance(Status {
            stage: Stage::Read,
            delivered: 1,
            read: 1,
            of: 1
        }));
        assert!(!s.advance(Status {
            stage: Stage::Stored,
            delivered: 0,
            read: 0,
            of: 1
        }));
        assert!(!s.advance(Status {
            stage: Stage::Failed,
            ..Status::SENDING
        }));
        assert_eq!(s.stage, Stage::Read);
    }

    #[test]
    fn counts_read_back_from_history_settle_what_was_missed_offline() {
        let mut t = Tracker::new(name("alice"));
        let id = MessageId::new();
        t.stored(id, &conv("bob"), 7, 1);
        assert_eq!(t.unsettled(), [(conv("bob"), 7)]);
        let up = t
            .counts(
                id,
                &conv("bob"),
                7,
                Counts {
                    delivered: 1,
                    read: 1,
                    of: 1,
                },
            )
            .unwrap();
        assert_eq!(up.status.stage, Stage::Read);
        assert!(t.unsettled().is_empty());
    }

    #[test]
    fn a_message_sent_elsewhere_is_followed_from_its_counts_on() {
        // Sent before a restart, or by another of alice's connections: this
        // tracker never saw it stored, only its counts.
        let mut t = Tracker::new(name("alice"));
        let id = MessageId::new();
        let g = conv("#lab");
        let none_yet = Counts {
            delivered: 0,
            read: 0,
            of: 2,
        };
        let up = t.counts(id, &g, 9, none_yet).unwrap();
        assert_eq!((up.status.stage, up.status.of), (Stage::Stored, 2));
        assert_eq!(t.unsettled(), [(g.clone(), 9)]);
        let up = t.receipt(&g, &name("bob"), 1, 9, 0);
        assert_eq!((up[0].id, up[0].status.delivered), (id, 1));
        assert_eq!(up[0].status.stage, Stage::Stored, "carol has not got it");
        let up = t.receipt(&g, &name("carol"), 1, 9, 9);
        assert_eq!(
            (up[0].status.stage, up[0].status.delivered),
            (Stage::Delivered, 2)
        );
        let up = t.receipt(&g, &name("bob"), 1, 9, 9);
        assert_eq!(up[0].status.stage, Stage::Read);
        assert!(t.unsettled().is_empty());
    }

    #[test]
    fn a_message_everyone_has_read_is_not_followed() {
        let mut t = Tracker::new(name("alice"));
        let read = Counts {
            delivered: 1,
            read: 1,
            of: 1,
        };
        assert_eq!(t.counts(MessageId::new(), &conv("bob"), 3, read), None);
        assert!(t.unsettled().is_empty());
        assert!(t.receipt(&conv("bob"), &name("bob"), 0, 5, 5).is_empty());
    }

    #[test]
    fn a_renamed_group_keeps_its_statuses() {
        let mut t = Tracker::new(name("alice"));
        let id = MessageId::new();
        t.stored(id, &conv("#old"), 4, 1);
        t.rename(&conv("#old"), &conv("#new"));
        let up = t.receipt(&conv("#new"), &name("bob"), 0, 4, 4);
        assert_eq!(
            (up[0].conv.to_string(), up[0].status.stage),
            ("#new".into(), Stage::Read)
        );
    }

    #[test]
    fn a_repeated_or_stale_receipt_changes_nothing() {
        let mut t = Tracker::new(name("alice"));
        let id = MessageId::new();
        let bob = conv("bob");
        t.stored(id, &bob, 1, 1);
        assert_eq!(t.receipt(&bob, &name("bob"), 0, 5, 5).len(), 1);
        assert!(t.receipt(&bob, &name("bob"), 0, 5, 5).is_empty());
        assert!(t.receipt(&bob, &name("bob"), 0, 0, 0).is_empty());
        assert_eq!(t.status(id).unwrap().stage, Stage::Read);
    }

    #[test]
    fn your_own_receipts_from_another_device_change_nothing() {
        let mut t = Tracker::new(name("alice"));
        t.stored(MessageId::new(), &conv("bob"), 1, 1);
        assert!(t.receipt(&conv("bob"), &name("Alice"), 0, 1, 1).is_empty());
    }
}
