//! A group's pinned messages: their sequence numbers in the order pinned, as
//! `group` replies, `conversations` summaries and `pinned`/`unpinned` events
//! say; and copies of those not among the loaded messages, fetched one by one
//! for the pins popup (there is no request that lists them). A copy is kept
//! apart from the conversation's messages, which stay one unbroken run.

use std::collections::BTreeMap;

use super::{Conversation, Entry};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    seqs: Vec<u64>,
    fetched: BTreeMap<u64, Fetched>,
}

/// A pinned message not loaded with the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Asked for; the page is on its way.
    Asked,
    Got(Box<Entry>),
    /// The server has no such message (any more).
    Missing,
}

impl Pins {
    /// The pinned messages' sequence numbers, in the order pinned.
    pub fn seqs(&self) -> &[u64] {
        &self.seqs
    }

    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    pub fn contains(&self, seq: u64) -> bool {
        self.seqs.contains(&seq)
    }

    /// The list as the server last gave it whole.
    pub fn set(&mut self, seqs: &[u64]) {
        self.seqs = seqs.to_vec();
        self.forget_unpinned();
    }

    pub fn pin(&mut self, seq: u64) {
        if !self.contains(seq) {
            self.seqs.push(seq);
        }
    }

    pub fn unpin(&mut self, seq: u64) {
        self.seqs.retain(|&s| s != seq);
        self.forget_unpinned();
    }

    /// What is known of pinned message `seq` apart from the loaded ones.
    pub fn fetched(&self, seq: u64) -> Option<&Fetched> {
        self.fetched.get(&seq)
    }

    /// Notes what a fetch of `seq` brought (or that one is on its way).
    pub fn note(&mut self, seq: u64, fetched: Fetched) {
        if self.contains(seq) {
            self.fetched.insert(seq, fetched);
        }
    }

    /// The fetched copy of `seq`, to change with an edit or a deletion.
    pub fn copy_mut(&mut self, seq: u64) -> Option<&mut Entry> {
        match self.fetched.get_mut(&seq) {
            Some(Fetched::Got(entry)) => Some(entry),
            _ => None,
        }
    }

    fn forget_unpinned(&mut self) {
        let seqs = &self.seqs;
        self.fetched.retain(|seq, _| seqs.contains(seq));
    }
}

impl Entry {
    /// Whether it can be pinned: a stored text message or file offer, not
    /// deleted (an event, an edit or a deletion cannot).
    pub fn is_pinnable(&self) -> bool {
        self.seq.is_some() && self.event.is_none() && !self.deleted
    }
}

impl Conversation {
    /// Whether you may pin or unpin `e`: in a group you own or moderate.
    pub fn may_pin(&self, e: &Entry) -> bool {
        self.moderates() && e.is_pinnable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_keep_the_order_pinned_and_copies_go_with_their_pin() {
        let mut pins = Pins::default();
        pins.set(&[7, 3]);
        pins.pin(12);
        pins.pin(3);
        assert_eq!(pins.seqs(), [7, 3, 12]);
        pins.note(3, Fetched::Missing);
        pins.note(40, Fetched::Asked);
        assert_eq!(pins.fetched(40), None, "only pinned messages are fetched");
        pins.unpin(3);
        assert_eq!((pins.seqs(), pins.fetched(3)), (&[7, 12][..], None));
    }
}
