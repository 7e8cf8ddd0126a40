//! One conversation as the UI holds it: its messages in sequence order, where it
//! is scrolled to, what is unread, the draft being typed into it, and for a
//! group who is in it and what you may do there. [`changes`] applies edits,
//! deletions and reactions to the messages loaded, and holds what the draft
//! is for; [`reactions`] holds each message's reactions; [`pins`] holds a
//! group's pinned messages; [`typists`] who is typing.

mod changes;
mod pins;
mod reactions;
mod typists;

use classchat_common::protocol::{
    Access, ChatMessage, FileInfo, GroupEvent, MemberInfo, Posting, Quote, Role,
};
use classchat_common::{Conv, MessageId, Timestamp, Username};
use ratatui_textarea::TextArea;

pub use changes::{Change, Composing, Seek};
pub use pins::{Fetched, Pins};
pub use reactions::Reactions;
pub use typists::Typists;

use crate::text;
use crate::tracker::{Stage, Status};

/// One line of the conversation: a message, or a group event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `None` while the message is still being sent.
    pub seq: Option<u64>,
    pub id: MessageId,
    pub from: Username,
    pub ts: Timestamp,
    /// Already cleaned of anything a terminal would interpret.
    pub body: String,
    pub event: Option<GroupEvent>,
    pub mine: bool,
    /// Set on a file offer.
    pub file: Option<FileInfo>,
    /// For your own messages: how far they have got.
    pub status: Option<Status>,
    /// Why the server refused this message of yours, shown under it.
    pub failure: Option<String>,
    pub mentions_me: bool,
    /// A reply: the message it answers, as it stands now (cleaned).
    pub reply: Option<Box<Quote>>,
    /// When its text was last edited.
    pub edited: Option<Timestamp>,
    /// Deleted: a tombstone, with nothing of the message left.
    pub deleted: bool,
    /// Who reacted how, as the server has stored it.
    pub reactions: Reactions,
}

impl Entry {
    pub fn from_message(m: &ChatMessage, me: &Username) -> Self {
        let mine = m.from == *me;
        let body = if m.deleted {
            String::new()
        } else {
            text::clean(&m.body).into_owned()
        };
        let mentions_me = !mine && m.event.is_none() && !m.deleted && mentions(&body, me);
        Entry {
            seq: Some(m.seq),
            id: m.id,
            from: m.from.clone(),
            ts: m.ts,
            body,
            event: m.event.clone(),
            file: m.file.clone(),
            mine,
            // A file offer's line under it says how it stands instead.
            status: (mine && m.file.is_none()).then(|| {
                m.counts.map_or(
                    Status {
                        stage: Stage::Stored,
                        ..Status::SENDING
                    },
                    Status::from_counts,
                )
            }),
            failure: None,
            mentions_me,
            reply: m.reply.as_deref().map(changes::cleaned).map(Box::new),
            edited: m.edited.filter(|_| !m.deleted),
            deleted: m.deleted,
            reactions: if m.deleted {
                Reactions::default()
            } else {
                Reactions::from_server(&m.reactions)
            },
        }
    }

    /// A message of yours that has not reached the server yet.
    pub fn sending(id: MessageId, from: Username, body: &str, now: Timestamp) -> Self {
        Entry {
            seq: None,
            id,
            from,
            ts: now,
            body: text::clean(body).into_owned(),
            event: None,
            file: None,
            mine: true,
            status: Some(Status::SENDING),
            failure: None,
            mentions_me: false,
            reply: None,
            edited: None,
            deleted: false,
            reactions: Reactions::default(),
        }
    }

    /// Counts toward unread: someone else's text, not deleted.
    pub fn is_unread_kind(&self) -> bool {
        !self.mine && self.event.is_none() && !self.deleted
    }
}

/// Whether `body` mentions `me`: `@name`, or the name as a whole word.
pub fn mentions(body: &str, me: &Username) -> bool {
    let name = me.as_str();
    let lower = body.to_ascii_lowercase();
    let target = name.to_ascii_lowercase();
    lower.match_indices(&target).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + target.len()..].chars().next();
        let boundary =
            |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
        boundary(before) && boundary(after)
    })
}

/// Where the message list is scrolled to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    /// Following the newest message.
    Bottom,
    /// The entry with sequence number `seq` is the lowest on screen, with its
    /// last `skip` lines hidden below the edge.
    At { seq: u64, skip: usize },
    /// The same for a message of yours that has no sequence number: still
    /// being sent, or refused.
    Unsent { id: MessageId, skip: usize },
}

#[derive(Debug)]
pub struct Conversation {
    pub conv: Conv,
    /// Stored messages in sequence order, then messages still being sent.
    pub entries: Vec<Entry>,
    pub unread: u64,
    pub mention: bool,
    /// Your read cursor as last sent or heard.
    pub read_upto: u64,
    pub last_seq: u64,
    pub last_ts: Option<Timestamp>,
    /// `── N new ──` goes after this sequence number, while the conversation is open.
    pub new_marker: Option<(u64, u64)>,
    /// Opened with unread messages: once they are loaded, scroll so the
    /// first of them is at the top, not the newest at the bottom.
    pub open_at_new: bool,
    pub scroll: Scroll,
    /// The newest page has been asked for.
    pub opened: bool,
    /// Whether older messages exist on the server, and whether a page is on its way.
    pub more_older: bool,
    pub loading: bool,
    pub draft: TextArea<'static>,
    /// Direct conversations: the other user's presence (`None`: not known yet,
    /// and `presence_asked` says whether it was asked for).
    pub online: Option<bool>,
    pub presence_asked: bool,
    pub last_seen: Option<Timestamp>,
    /// Direct conversations: you were told the other user is offline, and
    /// are not told again until they have been back.
    pub told_offline: bool,
    /// Groups: member count and owner, and the members themselves once asked
    /// for (kept current by presence and membership events).
    pub members: Option<u32>,
    pub owner: Option<Username>,
    pub roster: Option<Vec<MemberInfo>>,
    /// Groups: who may join and who may post, and your role (`None`: not
    /// told yet). Set through [`Conversation::set_rules`], which keeps the
    /// draft's hint saying whether you may post.
    pub access: Option<Access>,
    pub posting: Option<Posting>,
    pub role: Option<Role>,
    /// Groups: who is banned, sorted, as the server tells the owner and
    /// moderators (empty for anyone else).
    pub banned: Vec<Username>,
    /// Your edits, deletions and reactions the server has not stored yet, by
    /// the id they were sent with; each changes its message once stored
    /// (reactions show at once, laid over the message's).
    pub changing: Vec<(MessageId, Change)>,
    /// What the draft is for besides plain text: a reply, an edit.
    pub composing: Option<Composing>,
    /// A quoted message being looked for in older pages.
    pub seeking: Option<Seek>,
    /// The newest edit or deletion heard of: lines with no place on screen,
    /// which the read cursor passes over once the messages before them are read.
    pub last_change: u64,
    /// Groups: the pinned messages.
    pub pins: Pins,
    /// Who is typing here, and when you last said you were.
    pub typing: Typists,
    /// When the bell rang (or a desktop notification went) for this
    /// conversation last, so that a burst rings once.
    pub alerted: Option<Timestamp>,
}

/// How a conversation stands, as notices describe it: a group's size, owner
/// and rules, or whether the other person is online and since when they are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub members: Option<u32>,
    pub owner: Option<Username>,
    pub access: Option<Access>,
    pub posting: Option<Posting>,
    pub online: Option<bool>,
    pub last_seen: Option<Timestamp>,
}

/// What an empty draft says: where Enter sends it, or, where you may not
/// post, that only commands go from here (the title above names the group).
fn hint(conv: &Conv, may_post: bool) -> String {
    if may_post {
        let name = text::clean_line(&conv.to_string()).into_owned();
        format!("Message {name} — Enter sends, Alt+Enter new line")
    } else {
        "Only the owner and moderators post here — commands still work (/help)".to_owned()
    }
}

/// Whether someone with `role` may post under `posting`: not known counts as
/// yes (the server has the last word).
pub fn may_post(posting: Option<Posting>, role: Option<Role>) -> bool {
    posting != Some(Posting::Moderators) || role != Some(Role::Member)
}

impl Conversation {
    pub fn new(conv: Conv) -> Self {
        let hint = hint(&conv, true);
        Self {
            conv,
            entries: Vec::new(),
            unread: 0,
            mention: false,
            read_upto: 0,
            last_seq: 0,
            last_ts: None,
            new_marker: None,
            open_at_new: false,
            scroll: Scroll::Bottom,
            opened: false,
            more_older: true,
            loading: false,
            draft: super::input_area(&hint),
            online: None,
            presence_asked: false,
            last_seen: None,
            told_offline: false,
            members: None,
            owner: None,
            roster: None,
            access: None,
            posting: None,
            role: None,
            banned: Vec::new(),
            changing: Vec::new(),
            composing: None,
            seeking: None,
            last_change: 0,
            pins: Pins::default(),
            typing: Typists::default(),
            alerted: None,
        }
    }

    /// The conversation goes by a new name (a group renamed): so does the
    /// empty draft's hint.
    pub fn retitle(&mut self, conv: Conv) {
        self.conv = conv;
        self.refresh_hint();
    }

    /// Whether you may post here, as far as the client knows.
    pub fn may_post(&self) -> bool {
        may_post(self.posting, self.role)
    }

    /// Who may post and your role, as the server last said (`None` leaves
    /// what was known).
    pub fn set_rules(&mut self, posting: Option<Posting>, role: Option<Role>) {
        if posting.is_some() {
            self.posting = posting;
        }
        if role.is_some() {
            self.role = role;
        }
        if !self.sees_bans() {
            // Nobody tells you of bans any more: what you knew goes stale.
            self.banned.clear();
        }
        self.refresh_hint();
    }

    /// Whether you are told who is banned: the owner and moderators are.
    pub fn sees_bans(&self) -> bool {
        self.moderates()
    }

    /// Whether you own or moderate this group.
    pub fn moderates(&self) -> bool {
        self.conv.is_group() && matches!(self.role, Some(Role::Owner | Role::Moderator))
    }

    fn refresh_hint(&mut self) {
        let hint = hint(&self.conv, self.may_post());
        if self.draft.placeholder_text() != hint {
            self.draft.set_placeholder_text(hint);
        }
    }

    pub fn facts(&self) -> Facts {
        Facts {
            members: self.members,
            owner: self.owner.clone(),
            access: self.access,
            posting: self.posting,
            online: self.online,
            last_seen: self.last_seen,
        }
    }

    /// Follows a group event into the roster, count, owner, bans, rules and
    /// your role. `me` is who you are; `online` whether the member the event
    /// brings in is, at `at`.
    pub fn apply_event(
        &mut self,
        event: &GroupEvent,
        actor: &Username,
        me: &Username,
        online: bool,
        at: Timestamp,
    ) {
        let joined = |user: &Username| MemberInfo {
            user: user.clone(),
            owner: false,
            moderator: false,
            online,
            last_seen: None,
            joined: at,
        };
        let mine = |user: &Username| (user == me).then_some(Role::Member);
        match event {
            GroupEvent::Joined => {
                self.add_member(joined(actor));
                self.set_rules(None, mine(actor));
            }
            GroupEvent::Added { user } => {
                self.add_member(joined(user));
                self.unban(user);
                self.set_rules(None, mine(user));
            }
            GroupEvent::Left => self.remove_member(actor),
            GroupEvent::Kicked { user, banned } => {
                self.remove_member(user);
                if *banned && self.sees_bans() && !self.banned.contains(user) {
                    self.banned.push(user.clone());
                    self.banned.sort();
                }
            }
            GroupEvent::Unbanned { user } => self.unban(user),
            GroupEvent::Role { user, role } => {
                for m in self.roster.iter_mut().flatten().filter(|m| m.user == *user) {
                    m.moderator = *role == Role::Moderator;
                }
                if user == me {
                    self.set_rules(None, Some(*role));
                }
            }
            GroupEvent::Owner { user } => {
                self.owner = Some(user.clone());
                for m in self.roster.iter_mut().flatten() {
                    m.owner = m.user == *user;
                    m.moderator &= !m.owner;
                }
                // Handed over by you, perhaps from another of your clients:
                // you stay a member (a reply, when there is one, says more).
                let role = if user == me {
                    Some(Role::Owner)
                } else if self.role == Some(Role::Owner) {
                    Some(Role::Member)
                } else {
                    None
                };
                self.set_rules(None, role);
            }
            GroupEvent::Access { access } => self.access = Some(*access),
            GroupEvent::Posting { posting } => self.set_rules(Some(*posting), None),
            GroupEvent::Pinned { seq } => self.pins.pin(*seq),
            GroupEvent::Unpinned { seq } => self.pins.unpin(*seq),
            GroupEvent::Created | GroupEvent::Renamed { .. } | GroupEvent::Deleted => {}
        }
    }

    fn unban(&mut self, user: &Username) {
        self.banned.retain(|b| b != user);
    }

    fn add_member(&mut self, member: MemberInfo) {
        if let Some(roster) = self.roster.as_mut() {
            if roster.iter().any(|m| m.user == member.user) {
                return;
            }
            roster.push(member);
            roster.sort_by(|a, b| a.user.cmp(&b.user));
        }
        self.members = self.members.map(|n| n + 1);
    }

    fn remove_member(&mut self, user: &Username) {
        if let Some(roster) = self.roster.as_mut() {
            roster.retain(|m| m.user != *user);
        }
        self.members = self.members.map(|n| n.saturating_sub(1));
    }

    /// Online members out of all, once the roster is known.
    pub fn online_members(&self) -> Option<(usize, usize)> {
        let roster = self.roster.as_ref()?;
        Some((roster.iter().filter(|m| m.online).count(), roster.len()))
    }

    /// How many entries are stored (the rest are still being sent).
    pub fn stored_len(&self) -> usize {
        self.entries.partition_point(|e| e.seq.is_some())
    }

    /// Loaded message `seq`.
    pub fn loaded(&self, seq: u64) -> Option<&Entry> {
        self.search(seq).ok().map(|at| &self.entries[at])
    }

    /// Where `seq` is, or would go, among the stored entries.
    pub fn search(&self, seq: u64) -> Result<usize, usize> {
        self.entries[..self.stored_len()].binary_search_by_key(&Some(seq), |e| e.seq)
    }

    pub fn oldest_seq(&self) -> Option<u64> {
        self.entries.first().and_then(|e| e.seq)
    }

    pub fn newest_seq(&self) -> Option<u64> {
        self.entries[..self.stored_len()].last().and_then(|e| e.seq)
    }

    /// Adds a stored message, once: a duplicate only refreshes what it knows, and
    /// a message of ours that was still sending moves into its place. Returns
    /// whether it was new.
    pub fn insert(&mut self, entry: Entry) -> bool {
        let Some(seq) = entry.seq else {
            self.entries.push(entry);
            return true;
        };
        self.last_seq = self.last_seq.max(seq);
        if self.last_ts.is_none_or(|t| t < entry.ts) {
            self.last_ts = Some(entry.ts);
        }
        match self.search(seq) {
            Ok(at) => {
                let existing = &mut self.entries[at];
                if let (Some(old), Some(new)) = (existing.status.as_mut(), entry.status) {
                    old.advance(new);
                }
                false
            }
            Err(at) => {
                let pending = self.entries[self.stored_len()..]
                    .iter()
                    .position(|e| e.id == entry.id);
                if let Some(p) = pending {
                    let mut sent = self.entries.remove(self.stored_len() + p);
                    sent.seq = Some(seq);
                    sent.ts = entry.ts;
                    if let (Some(old), Some(new)) = (sent.status.as_mut(), entry.status) {
                        old.advance(new);
                    }
                    self.entries.insert(at, sent);
                    return false;
                }
                self.entries.insert(at, entry);
                true
            }
        }
    }

    /// Puts a page of older messages (oldest first) in front of what is loaded.
    pub fn prepend(&mut self, older: Vec<Entry>) {
        let fits_in_front = match (self.oldest_seq(), older.last().and_then(|e| e.seq)) {
            (Some(first), Some(last_of_page)) => last_of_page < first,
            _ => false,
        };
        if fits_in_front {
            // One move of the whole list instead of one per message.
            self.entries.splice(0..0, older);
        } else {
            for e in older {
                self.insert(e);
            }
        }
    }

    /// Our message `id` was stored as `seq` (an edit or a deletion of ours
    /// changes its message now).
    pub fn stored(&mut self, id: MessageId, seq: u64, ts: Timestamp, me: &Username) {
        if let Some(at) = self.changing.iter().position(|(sent, _)| *sent == id) {
            let (_, change) = self.changing.remove(at);
            return self.apply(seq, &change, ts, me);
        }
        let start = self.stored_len();
        if let Some(p) = self.entries[start..].iter().position(|e| e.id == id) {
            let mut entry = self.entries.remove(start + p);
            entry.seq = Some(seq);
            entry.ts = ts;
            self.insert(entry);
        }
    }

    /// The newest entry with this id (searched from the end, where ours usually are).
    pub fn by_id_mut(&mut self, id: MessageId) -> Option<&mut Entry> {
        self.entries.iter_mut().rev().find(|e| e.id == id)
    }

    /// The entry the `── N new ──` line goes above: the first message from
    /// someone else after the marker.
    pub fn first_new(&self) -> Option<usize> {
        let (after, _) = self.new_marker?;
        let from = match self.search(after) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        self.entries[from..self.stored_len()]
            .iter()
            .position(Entry::is_unread_kind)
            .map(|p| from + p)
    }

    /// Messages from others after the read cursor, among those loaded.
    pub fn count_unread(&self) -> u64 {
        let from = match self.search(self.read_upto) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        self.entries[from..self.stored_len()]
            .iter()
            .filter(|e| e.is_unread_kind())
            .count() as u64
    }

    /// Messages from others after entry `index` still unread: those below the
    /// screen when `index` is the lowest entry on it. Only the unread, at the
    /// end, are looked at.
    pub fn unread_after(&self, index: usize) -> u64 {
        self.entries[..self.stored_len()]
            .iter()
            .enumerate()
            .rev()
            .take_while(|(i, e)| *i > index && e.seq.is_some_and(|seq| seq > self.read_upto))
            .filter(|(_, e)| e.is_unread_kind())
            .count() as u64
    }

    /// Moves the read cursor; unread counts and mention marks follow.
    pub fn mark_read(&mut self, seq: u64) {
        if seq <= self.read_upto {
            return;
        }
        self.read_upto = seq;
        self.unread = self.count_unread();
        if self.unread == 0 {
            self.mention = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: u64, from: &str, body: &str) -> Entry {
        Entry {
            seq: Some(seq),
            id: MessageId::new(),
            from: from.parse().unwrap(),
            ts: Timestamp::from_millis(seq as i64 * 1000),
            body: body.into(),
            event: None,
            file: None,
            mine: from == "me",
            status: None,
            failure: None,
            mentions_me: false,
            reply: None,
            edited: None,
            deleted: false,
            reactions: Reactions::default(),
        }
    }

    #[test]
    fn entries_stay_in_sequence_order_without_duplicates() {
        let mut c = Conversation::new("bob".parse().unwrap());
        for seq in [3, 1, 2, 3, 1] {
            c.insert(msg(seq, "bob", "x"));
        }
        let seqs: Vec<_> = c.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn a_sent_message_moves_from_sending_into_its_place() {
        let mut c = Conversation::new("bob".parse().unwrap());
        c.insert(msg(1, "bob", "hi"));
        let id = MessageId::new();
        c.insert(Entry::sending(
            id,
            "me".parse().unwrap(),
            "hello",
            Timestamp::from_millis(5),
        ));
        c.insert(msg(2, "bob", "still there?"));
        assert_eq!(c.entries.last().unwrap().id, id, "sending stays at the end");
        c.stored(id, 3, Timestamp::from_millis(9), &"me".parse().unwrap());
        assert_eq!(
            c.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3)]
        );
        assert_eq!(c.entries[2].id, id);
    }

    #[test]
    fn reading_clears_unread_and_mentions() {
        let mut c = Conversation::new("#g".parse().unwrap());
        for seq in 1..=4 {
            c.insert(msg(seq, if seq == 2 { "me" } else { "bob" }, "x"));
        }
        c.unread = c.count_unread();
        c.mention = true;
        assert_eq!(c.unread, 3);
        c.mark_read(3);
        assert_eq!((c.unread, c.mention), (1, true));
        c.mark_read(4);
        assert_eq!((c.unread, c.mention), (0, false));
    }

    #[test]
    fn unread_after_counts_only_the_unread_from_others_past_the_entry() {
        let mut c = Conversation::new("#g".parse().unwrap());
        for seq in 1..=6 {
            c.insert(msg(seq, if seq == 5 { "me" } else { "bob" }, "x"));
        }
        c.insert(Entry::sending(
            MessageId::new(),
            "me".parse().unwrap(),
            "on its way",
            Timestamp::from_millis(9),
        ));
        c.read_upto = 2;
        // Entries 3, 4 and 6 are unread; 5 is mine.
        assert_eq!(c.unread_after(0), 3);
        assert_eq!(c.unread_after(2), 2, "seq 3 is the entry itself");
        assert_eq!(c.unread_after(3), 1);
        assert_eq!(c.unread_after(5), 0);
        c.mark_read(4);
        assert_eq!(c.unread_after(0), 1);
    }

    #[test]
    fn mentions_need_the_name_as_a_word() {
        let me: Username = "ann".parse().unwrap();
        assert!(mentions("hey @ann, look", &me));
        assert!(mentions("Ann: lunch?", &me));
        assert!(!mentions("annual report", &me));
        assert!(!mentions("joann said", &me));
    }
}
