//! Replies, edits and deletions as a conversation holds them. An edit, a
//! deletion or a reaction arrives as a line of the conversation with a `seq`
//! of its own (a "change line"); it is not shown as a line but applied to the
//! message it names, and an edit or a deletion to the quote of every loaded
//! reply to that message too. A message not loaded needs nothing: history
//! brings it as it stands now. Reactions themselves are kept in
//! [`super::reactions`].

use classchat_common::limits::QUOTE_CHARS;
use classchat_common::protocol::{ChatMessage, Quote};
use classchat_common::{Timestamp, Username};

use super::{Conversation, Entry, mentions};
use crate::outbox::Target;
use crate::text;

/// What a change line does to the message it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Its text is now `body` (cleaned).
    Edit { seq: u64, body: String },
    /// It is gone; a tombstone stays in its place, without reactions.
    Delete { seq: u64 },
    /// `user` reacted `emoji` (as the server spells it) to it.
    React {
        seq: u64,
        emoji: String,
        user: Username,
    },
    /// `user` took their reaction `emoji` back off it.
    Unreact {
        seq: u64,
        emoji: String,
        user: Username,
    },
}

impl Change {
    /// The change `m` makes, if it is a change line.
    pub fn of(m: &ChatMessage) -> Option<Self> {
        let (emoji, user) = (m.body.clone(), m.from.clone());
        if let Some(seq) = m.react {
            return Some(Change::React { seq, emoji, user });
        }
        if let Some(seq) = m.unreact {
            return Some(Change::Unreact { seq, emoji, user });
        }
        match (m.edit, m.delete) {
            (_, Some(seq)) => Some(Change::Delete { seq }),
            (Some(seq), None) => Some(Change::Edit {
                seq,
                body: text::clean(&m.body).into_owned(),
            }),
            (None, None) => None,
        }
    }

    /// The change a message of yours (`me`) sent with `target` makes, if it
    /// makes one.
    pub fn sent(target: Target, body: &str, me: &Username) -> Option<Self> {
        let (emoji, user) = (body.to_owned(), me.clone());
        match target {
            Target::Reply(_) => None,
            Target::Edit(seq) => Some(Change::Edit {
                seq,
                body: text::clean(body).into_owned(),
            }),
            Target::Delete(seq) => Some(Change::Delete { seq }),
            Target::React(seq) => Some(Change::React { seq, emoji, user }),
            Target::Unreact(seq) => Some(Change::Unreact { seq, emoji, user }),
        }
    }

    /// The message it changes.
    pub fn seq(&self) -> u64 {
        match self {
            Change::Edit { seq, .. }
            | Change::Delete { seq }
            | Change::React { seq, .. }
            | Change::Unreact { seq, .. } => *seq,
        }
    }

    /// Whether it gives or takes back a reaction (and so leaves the text
    /// and the quotes of the message alone).
    pub fn is_reaction(&self) -> bool {
        matches!(self, Change::React { .. } | Change::Unreact { .. })
    }
}

/// What the draft of a conversation goes out as, besides plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Composing {
    /// A reply quoting this message.
    Reply(Box<Quote>),
    /// New text for message `seq` of yours. `kept` is the draft that was
    /// there before; it comes back once the edit is sent or given up.
    Edit { seq: u64, kept: String },
}

/// A quoted message to go to once older pages bring it: how many more pages
/// may be asked for before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seek {
    pub seq: u64,
    pub pages_left: u8,
}

/// A quote as the server sent it, made safe to show.
pub(super) fn cleaned(q: &Quote) -> Quote {
    Quote {
        seq: q.seq,
        from: q.from.clone(),
        text: quote_text(&text::clean_line(&q.text)),
        deleted: q.deleted,
    }
}

/// How much of a text a quote carries, as the server cuts it.
fn quote_text(text: &str) -> String {
    text.chars().take(QUOTE_CHARS).collect()
}

impl Entry {
    /// The quote a reply to this message carries (`None` while it has no
    /// `seq`, or for a group event, which nobody answers).
    pub fn quote(&self) -> Option<Quote> {
        if self.event.is_some() {
            return None;
        }
        let text = match &self.file {
            Some(file) => text::clean_line(&file.name).into_owned(),
            None => text::clean_line(&self.body).into_owned(),
        };
        Some(Quote {
            seq: self.seq?,
            from: self.from.clone(),
            text: quote_text(&text),
            deleted: self.deleted,
        })
    }

    /// Whether it is a stored text message, not deleted: what its author may
    /// edit, and what may be deleted.
    pub fn is_live_text(&self) -> bool {
        self.seq.is_some() && self.event.is_none() && self.file.is_none() && !self.deleted
    }

    /// Applies `change`, made at `ts`; whether it changed anything. A deleted
    /// message stays deleted, and an edit older than the text shown (a page
    /// that already has the newer text) is not undone.
    fn take(&mut self, change: &Change, ts: Timestamp, me: &Username) -> bool {
        if self.deleted || self.event.is_some() {
            return false;
        }
        match change {
            Change::React { .. } | Change::Unreact { .. } => {
                return self.reactions.apply(change);
            }
            Change::Edit { body, .. } => {
                if self.file.is_some() || self.edited.is_some_and(|shown| shown > ts) {
                    return false;
                }
                self.body.clone_from(body);
                self.edited = Some(ts);
                self.mentions_me = !self.mine && mentions(body, me);
            }
            Change::Delete { .. } => {
                self.deleted = true;
                self.body.clear();
                self.file = None;
                self.reply = None;
                self.edited = None;
                self.mentions_me = false;
                self.reactions.clear();
            }
        }
        true
    }
}

/// `quote` after `change` to the message it quotes.
fn requote(quote: &mut Quote, change: &Change) {
    match change {
        Change::Edit { body, .. } if !quote.deleted => {
            quote.text = quote_text(&text::clean_line(body));
        }
        Change::Edit { .. } | Change::React { .. } | Change::Unreact { .. } => {}
        Change::Delete { .. } => {
            quote.deleted = true;
            quote.text.clear();
        }
    }
}

impl Conversation {
    /// Change line `line`, made at `ts`: applied to the message it names if
    /// that is loaded, and to the quotes of replies to it (the draft's too).
    /// It never counts as unread; a deleted message that was unread no
    /// longer does either. A fetched copy of a pinned message follows it too.
    pub fn apply(&mut self, line: u64, change: &Change, ts: Timestamp, me: &Username) {
        self.last_seq = self.last_seq.max(line);
        self.last_change = self.last_change.max(line);
        let target = change.seq();
        if let Some(copy) = self.pins.copy_mut(target) {
            copy.take(change, ts, me);
        }
        if change.is_reaction() {
            // Nothing quotes a reaction, and none counts as unread.
            if let Ok(at) = self.search(target) {
                self.entries[at].take(change, ts, me);
            }
            return;
        }
        let replies_from = match self.search(target) {
            Ok(at) => {
                let read_upto = self.read_upto;
                let entry = &mut self.entries[at];
                let was_unread = entry.is_unread_kind() && target > read_upto;
                if !entry.take(change, ts, me) {
                    return;
                }
                if was_unread && !entry.is_unread_kind() {
                    self.unread = self.unread.saturating_sub(1);
                    self.mention &= self.unread > 0;
                }
                at + 1
            }
            // Replies come after what they answer.
            Err(at) => at,
        };
        let quotes = self.entries[replies_from..]
            .iter_mut()
            .filter_map(|e| e.reply.as_deref_mut())
            .chain(match self.composing.as_mut() {
                Some(Composing::Reply(q)) => Some(q.as_mut()),
                _ => None,
            });
        for quote in quotes.filter(|q| q.seq == target) {
            requote(quote, change);
        }
    }

    /// How far reading `seq` reads: past the edits and deletions after it
    /// when it is the newest message loaded, since they have no line of
    /// their own to be read on.
    pub fn read_through(&self, seq: u64) -> u64 {
        if self.newest_seq() == Some(seq) {
            seq.max(self.last_change)
        } else {
            seq
        }
    }

    /// Whether you may edit `e`: your own text (where you may post).
    pub fn may_edit(&self, e: &Entry) -> bool {
        e.mine && e.is_live_text() && self.may_post()
    }

    /// Whether you may delete `e`: your own text, or any in a group you own
    /// or moderate.
    pub fn may_delete(&self, e: &Entry) -> bool {
        e.is_live_text() && (e.mine || self.moderates())
    }

    /// The quote a reply to loaded message `seq` carries.
    pub fn quote(&self, seq: u64) -> Option<Quote> {
        let at = self.search(seq).ok()?;
        self.entries[at].quote()
    }

    /// Your newest edit or deletion of message `seq` not stored yet, if any
    /// (a reaction on its way is not one: it shows among the message's).
    pub fn pending_change(&self, seq: u64) -> Option<&Change> {
        self.changing
            .iter()
            .rev()
            .map(|(_, change)| change)
            .find(|change| change.seq() == seq && !change.is_reaction())
    }
}

#[cfg(test)]
mod tests {
    use classchat_common::MessageId;

    use super::*;

    fn me() -> Username {
        "me".parse().unwrap()
    }

    fn ts(secs: i64) -> Timestamp {
        Timestamp::from_millis(secs * 1000)
    }

    fn text(seq: u64, from: &str, body: &str) -> Entry {
        let m = ChatMessage::new(
            "#g".parse().unwrap(),
            seq,
            MessageId::new(),
            from.parse().unwrap(),
            ts(seq as i64),
            body.into(),
        );
        Entry::from_message(&m, &me())
    }

    fn reply(seq: u64, from: &str, body: &str, to: &Entry) -> Entry {
        Entry {
            reply: to.quote().map(Box::new),
            ..text(seq, from, body)
        }
    }

    fn edit(seq: u64, body: &str) -> Change {
        Change::Edit {
            seq,
            body: body.into(),
        }
    }

    #[test]
    fn an_edit_changes_the_text_and_the_quotes_of_replies() {
        let mut c = Conversation::new("#g".parse().unwrap());
        let first = text(1, "bob", "lab at 3");
        c.insert(reply(2, "carol", "ok", &first));
        c.insert(first);
        c.apply(3, &edit(1, "lab at 4"), ts(30), &me());
        assert_eq!(c.entries[0].body, "lab at 4");
        assert_eq!(c.entries[0].edited, Some(ts(30)));
        let quote = c.entries[1].reply.as_deref().unwrap();
        assert_eq!((quote.seq, quote.text.as_str()), (1, "lab at 4"));
        assert_eq!((c.entries.len(), c.last_seq, c.last_change), (2, 3, 3));
    }

    #[test]
    fn a_deletion_leaves_a_tombstone_and_deleted_quotes() {
        let mut c = Conversation::new("#g".parse().unwrap());
        let first = text(1, "bob", "oops, wrong group");
        c.insert(reply(2, "carol", "?", &first));
        c.insert(first);
        c.apply(3, &Change::Delete { seq: 1 }, ts(30), &me());
        let gone = &c.entries[0];
        assert!(gone.deleted && gone.body.is_empty() && gone.edited.is_none());
        let quote = c.entries[1].reply.as_deref().unwrap();
        assert!(quote.deleted && quote.text.is_empty());
        // Nothing brings it back: not an edit, not the deletion again.
        c.apply(4, &edit(1, "back"), ts(40), &me());
        c.apply(3, &Change::Delete { seq: 1 }, ts(30), &me());
        assert!(c.entries[0].deleted && c.entries[0].body.is_empty());
    }

    #[test]
    fn a_change_to_a_message_not_loaded_still_reaches_the_replies_that_are() {
        let mut c = Conversation::new("#g".parse().unwrap());
        let old = text(1, "bob", "first draft");
        c.insert(reply(5, "carol", "agreed", &old));
        c.apply(6, &edit(1, "second draft"), ts(60), &me());
        assert_eq!(c.entries[0].reply.as_deref().unwrap().text, "second draft");
        assert_eq!(c.entries.len(), 1, "no line of its own");
    }

    #[test]
    fn an_edit_older_than_the_text_shown_does_not_undo_it() {
        let mut c = Conversation::new("#g".parse().unwrap());
        c.insert(Entry {
            edited: Some(ts(50)),
            ..text(1, "bob", "third version")
        });
        c.apply(3, &edit(1, "second version"), ts(40), &me());
        assert_eq!(c.entries[0].body, "third version");
    }

    #[test]
    fn deleting_an_unread_message_takes_it_off_the_unread_count() {
        let mut c = Conversation::new("#g".parse().unwrap());
        for seq in 1..=3 {
            c.insert(text(seq, "bob", "x"));
        }
        c.unread = c.count_unread();
        c.apply(4, &Change::Delete { seq: 2 }, ts(40), &me());
        c.apply(5, &edit(3, "y"), ts(50), &me());
        assert_eq!((c.unread, c.count_unread()), (2, 2));
    }

    #[test]
    fn reading_the_newest_message_reads_the_changes_after_it() {
        let mut c = Conversation::new("#g".parse().unwrap());
        c.insert(text(1, "bob", "x"));
        c.insert(text(2, "bob", "y"));
        c.apply(3, &edit(1, "z"), ts(30), &me());
        assert_eq!(c.read_through(1), 1);
        assert_eq!(c.read_through(2), 3);
    }

    #[test]
    fn an_edit_that_names_you_counts_as_a_mention() {
        let mut c = Conversation::new("#g".parse().unwrap());
        c.insert(text(1, "bob", "who has the key?"));
        c.apply(2, &edit(1, "me, do you have the key?"), ts(20), &me());
        assert!(c.entries[0].mentions_me);
    }
}
