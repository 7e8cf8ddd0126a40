//! What a reconnect reads back from `history`, conversation by conversation:
//! what this client missed (messages another of your devices sent or
//! acknowledged, which no catch-up brings), the counts of your messages not
//! yet read by everyone (the tracker's), and how file offers not yet over went.

use std::collections::{BTreeSet, HashMap};

use classchat_common::Conv;
use classchat_common::protocol::ChatMessage;

#[derive(Debug, Default)]
pub struct Held {
    /// The newest `seq` this client has of each conversation.
    newest: HashMap<Conv, u64>,
    /// Offers (yours and to you) not known to be over, by `seq`.
    open_offers: HashMap<Conv, BTreeSet<u64>>,
}

impl Held {
    /// `m` reached the app: live, in catch-up, or in a page of `history`
    /// (whose offers say whether they are over).
    pub fn saw(&mut self, conv: &Conv, m: &ChatMessage) {
        self.holds(conv, m.seq);
        let Some(file) = &m.file else { return };
        if file.outcome.as_ref().is_some_and(|o| o.over) {
            if let Some(open) = self.open_offers.get_mut(conv) {
                open.remove(&m.seq);
                if open.is_empty() {
                    self.open_offers.remove(conv);
                }
            }
        } else {
            self.open_offers
                .entry(conv.clone())
                .or_default()
                .insert(m.seq);
        }
    }

    /// The app holds message `seq` of `conv` (one of yours, once stored).
    pub fn holds(&mut self, conv: &Conv, seq: u64) {
        let newest = self.newest.entry(conv.clone()).or_default();
        *newest = (*newest).max(seq);
    }

    /// A group got a new name; its numbering goes on.
    pub fn rename(&mut self, old: &Conv, new: &Conv) {
        if let Some(n) = self.newest.remove(old) {
            let now = self.newest.entry(new.clone()).or_default();
            *now = (*now).max(n);
        }
        if let Some(seqs) = self.open_offers.remove(old) {
            self.open_offers
                .entry(new.clone())
                .or_default()
                .extend(seqs);
        }
    }

    /// A group was deleted: nothing of it is left to read back, and a new
    /// group of the same name numbers its messages from 1 again.
    pub fn forget(&mut self, conv: &Conv) {
        self.newest.remove(conv);
        self.open_offers.remove(conv);
    }

    /// Where to read each conversation back from (the `after` of `history`):
    /// `listed` is the server's newest `seq` of each conversation, `unsettled`
    /// the oldest message of yours the tracker still follows in each. One this
    /// client never held anything of is left for the app to load when opened.
    pub fn plan(&self, listed: &[(Conv, u64)], unsettled: &[(Conv, u64)]) -> Vec<(Conv, u64)> {
        let mut after: HashMap<Conv, u64> = HashMap::new();
        let mut from = |conv: &Conv, seq: u64| {
            let at = after.entry(conv.clone()).or_insert(seq);
            *at = (*at).min(seq);
        };
        for (conv, last) in listed {
            if let Some(&newest) = self.newest.get(conv)
                && *last > newest
            {
                from(conv, newest);
            }
        }
        for (conv, oldest) in unsettled {
            from(conv, oldest.saturating_sub(1));
        }
        for (conv, seqs) in &self.open_offers {
            if let Some(first) = seqs.first() {
                from(conv, first.saturating_sub(1));
            }
        }
        after.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests may panic on unexpected errors")]

    use classchat_common::protocol::{FileCounts, FileInfo, FileOutcome};
    use classchat_common::{MessageId, OfferId, Timestamp};

    use super::*;

    fn conv(name: &str) -> Conv {
        name.parse().unwrap()
    }

    fn message(seq: u64) -> ChatMessage {
        ChatMessage::new(
            conv("bob"),
            seq,
            MessageId::new(),
            "bob".parse().unwrap(),
            Timestamp::from_millis(0),
            String::new(),
        )
    }

    fn offer(seq: u64, over: Option<bool>) -> ChatMessage {
        ChatMessage {
            file: Some(FileInfo {
                offer: OfferId::new(),
                name: "notes.pdf".into(),
                size: 1,
                sha256: String::new(),
                expires: Timestamp::from_millis(0),
                outcome: over.map(|over| {
                    Box::new(FileOutcome {
                        counts: FileCounts::default(),
                        state: None,
                        over,
                    })
                }),
            }),
            ..message(seq)
        }
    }

    #[test]
    fn a_conversation_is_read_back_from_the_oldest_thing_that_may_have_moved() {
        let mut held = Held::default();
        for seq in 1..=9 {
            held.saw(&conv("bob"), &message(seq));
        }
        held.saw(&conv("bob"), &offer(4, None));
        held.saw(&conv("carol"), &message(5));
        let plan = |held: &Held, unsettled: &[(Conv, u64)]| {
            let mut plan = held.plan(&[(conv("bob"), 9), (conv("carol"), 7)], unsettled);
            plan.sort_by_key(|(c, _)| c.to_string());
            plan
        };
        assert_eq!(
            plan(&held, &[(conv("bob"), 6)]),
            [(conv("bob"), 3), (conv("carol"), 5)],
            "bob: the open offer (4); carol: what was sent past 5 elsewhere"
        );
        held.saw(&conv("bob"), &offer(4, Some(true)));
        assert_eq!(
            plan(&held, &[(conv("bob"), 6)]),
            [(conv("bob"), 5), (conv("carol"), 5)],
            "the offer is over: only the unsettled message (6) is left"
        );
        assert_eq!(plan(&held, &[]), [(conv("carol"), 5)]);
    }

    #[test]
    fn a_conversation_never_held_is_not_read_back() {
        let held = Held::default();
        assert!(held.plan(&[(conv("dave"), 40)], &[]).is_empty());
    }
}
