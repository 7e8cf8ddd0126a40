//! The hub's in-memory model: a cache of the store's state plus what only lives
//! while the server runs (sessions, rate buckets). Only the hub's task touches it.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use classchat_common::protocol::{FileCounts, FileState};
use classchat_common::{Conv as ConvName, GroupName, OfferId, Timestamp, Username};

use super::{Refusal, SessionId};
use crate::idmap::IdMap;
use crate::outbound::Outbound;
use crate::ratelimit::{Buckets, Rates};
use crate::store::{
    ConvId, ConvKind, FileRecord, MemberRecord, Snapshot, TokenHash, UserId, UserRecord,
};
use classchat_common::ErrorCode;

/// Resume tokens kept per user; logging in on an eleventh device retires the oldest.
pub const TOKENS_PER_USER: usize = 10;

#[derive(Debug)]
pub struct User {
    pub id: UserId,
    pub name: Username,
    pub password_hash: Arc<str>,
    pub created: Timestamp,
    pub last_seen: Option<Timestamp>,
    pub convs: Vec<ConvId>,
    pub sessions: Vec<SessionId>,
    pub tokens: VecDeque<TokenHash>,
    /// What the user may still ask for, class by class.
    pub limits: Buckets,
    /// Lines to send at each login until acknowledged, oldest first.
    pub notices: Vec<Notice>,
    /// On how many other nodes of a cluster the user is connected.
    pub remote: u16,
}

impl User {
    /// An account as the hub keeps it: nobody connected, nothing joined yet.
    pub fn new(u: UserRecord, limits: Buckets) -> Self {
        Self {
            id: u.id,
            name: u.name,
            password_hash: u.password_hash.into(),
            created: u.created,
            last_seen: u.last_seen,
            convs: Vec::new(),
            sessions: Vec::new(),
            tokens: VecDeque::new(),
            limits,
            notices: Vec::new(),
            remote: 0,
        }
    }

    pub fn online(&self) -> bool {
        !self.sessions.is_empty() || self.remote > 0
    }

    /// When the user was last connected, for someone asking now: nothing while
    /// they are online. Every user has logged in at least once (that is how
    /// accounts are made), so the fallback is only for a database from before
    /// logins were recorded.
    pub fn seen(&self) -> Option<Timestamp> {
        if self.online() {
            None
        } else {
            self.last_seen.or(Some(self.created))
        }
    }
}

/// Notices kept per user; a hundred-and-first retires the oldest.
pub const NOTICES_PER_USER: usize = 100;

/// What a user must still be told about a group they are no longer in.
#[derive(Debug, Clone)]
pub struct Notice {
    pub id: i64,
    pub group: GroupName,
    pub seq: u64,
    pub line: Bytes,
}

#[derive(Debug)]
pub struct Member {
    pub user: UserId,
    pub joined_seq: u64,
    pub joined_at: Timestamp,
    pub delivered: u64,
    pub read: u64,
    /// The newest message this member sent, as far as this run knows (after a
    /// restart: the conversation's last, which errs toward sending a receipt).
    pub last_sent: u64,
    /// Cursors changed in this batch and not yet written.
    pub dirty: bool,
    /// Groups: a moderator.
    pub moderator: bool,
}

#[derive(Debug)]
pub struct Conv {
    pub id: ConvId,
    pub kind: ConvKind,
    pub created: Timestamp,
    pub last_seq: u64,
    pub last_ts: Option<Timestamp>,
    pub members: Vec<Member>,
    /// Groups: who is banned (few, so a list).
    pub banned: Vec<UserId>,
    /// Groups: the pinned messages, in the order pinned.
    pub pins: Vec<u64>,
}

impl Conv {
    /// A conversation as stored, before its members are added.
    pub fn new(
        id: ConvId,
        kind: ConvKind,
        created: Timestamp,
        last_seq: u64,
        last_ts: Option<Timestamp>,
    ) -> Self {
        Self {
            id,
            kind,
            created,
            last_seq,
            last_ts,
            members: Vec::new(),
            banned: Vec::new(),
            pins: Vec::new(),
        }
    }

    pub fn is_banned(&self, user: UserId) -> bool {
        self.banned.contains(&user)
    }

    pub fn member(&self, user: UserId) -> Option<&Member> {
        self.members.iter().find(|m| m.user == user)
    }

    pub fn member_mut(&mut self, user: UserId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.user == user)
    }

    /// Moves on to message `seq`, which `sender` sent through another node
    /// of a cluster: the sender's cursors follow if they were up to date
    /// (that node wrote them).
    pub fn mirror_send(&mut self, sender: UserId, seq: u64, ts: Timestamp) {
        self.last_seq = seq;
        self.last_ts = Some(ts);
        if let Some(m) = self.member_mut(sender) {
            m.last_sent = seq;
            if m.delivered + 1 == seq {
                m.delivered = seq;
            }
            if m.read + 1 == seq {
                m.read = seq;
            }
        }
    }
}

#[derive(Debug)]
pub struct Session {
    pub user: UserId,
    pub outbound: Outbound,
    /// Lines a batch is releasing to this session, pushed to `outbound` at once.
    pub staged: Vec<Bytes>,
    /// About as many lines as the last batches released to this session:
    /// the room `staged` starts with, so that a busy session's lines are not
    /// copied each time the vector doubles (the vector itself goes to the
    /// connection with its lines).
    pub staged_last: u32,
}

#[derive(Debug, Default)]
pub struct State {
    // Keyed by server-assigned ids: see `idmap` for why these hash cheaply.
    pub users: IdMap<UserId, User>,
    pub by_name: HashMap<Username, UserId>,
    pub tokens: HashMap<TokenHash, UserId>,
    pub convs: IdMap<ConvId, Conv>,
    pub directs: IdMap<(UserId, UserId), ConvId>,
    pub groups: HashMap<GroupName, ConvId>,
    pub sessions: IdMap<SessionId, Session>,
    pub online: BTreeSet<Username>,
    /// File offers still open (or being uploaded), and the bytes they hold.
    pub offers: HashMap<OfferId, Offer>,
    pub file_bytes: u64,
    /// When each user last said they were typing in each conversation.
    pub typists: IdMap<(UserId, ConvId), Instant>,
    next_session: u64,
}

/// A file offer as the hub tracks it.
#[derive(Debug, Clone)]
pub struct Offer {
    pub id: OfferId,
    pub conv: ConvId,
    pub sender: UserId,
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub created: Timestamp,
    pub expires: Timestamp,
    /// Its message in the conversation; 0 while still uploading.
    pub seq: u64,
    pub recipients: Vec<(UserId, FileState)>,
    /// The node of a cluster holding its bytes, when another one; `None`:
    /// this one, which alone counts them against its disk and deletes them.
    pub node: Option<String>,
    /// Posted while its bytes are still arriving (an `offer` with `stream`):
    /// recipients may download what has come; it cannot be over until the
    /// upload is.
    pub growing: bool,
}

impl Offer {
    /// Not posted yet: its upload is under way and nobody sees it.
    pub fn uploading(&self) -> bool {
        self.seq == 0
    }

    /// Whether its bytes are on this node.
    pub fn here(&self) -> bool {
        self.node.is_none()
    }

    /// An offer as stored.
    pub fn from_record(f: FileRecord) -> Self {
        Self {
            id: f.id,
            conv: f.conv,
            sender: f.sender,
            name: f.name,
            size: f.size,
            sha256: f.sha256,
            created: f.created,
            expires: f.expires,
            seq: f.seq,
            recipients: f.recipients,
            node: f.node,
            growing: false,
        }
    }

    pub fn state_of(&self, user: UserId) -> Option<FileState> {
        self.recipients
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, s)| *s)
    }

    /// Over once nobody is still to decide or to download.
    pub fn settled(&self) -> bool {
        !self.uploading()
            && !self.growing
            && self
                .recipients
                .iter()
                .all(|(_, s)| !matches!(s, FileState::Pending | FileState::Accepted))
    }

    pub fn counts(&self) -> FileCounts {
        FileCounts::tally(self.recipients.iter().map(|(_, state)| *state))
    }
}

/// The two members of a direct conversation, in the order the store keys them.
pub fn direct_key(a: UserId, b: UserId) -> (UserId, UserId) {
    (a.min(b), a.max(b))
}

impl State {
    /// `user`'s membership of `conv`, when both exist.
    pub fn member_mut(&mut self, conv: ConvId, user: UserId) -> Option<&mut Member> {
        self.convs.get_mut(&conv).and_then(|c| c.member_mut(user))
    }

    pub fn from_snapshot(snap: Snapshot, rates: &Rates) -> Self {
        let mut state = State::default();
        state.load(snap, rates);
        state
    }

    /// Replaces everything persistent with `snap`, keeping the sessions of users
    /// that still exist.
    pub fn load(&mut self, snap: Snapshot, rates: &Rates) {
        let now = Instant::now();
        let sessions = std::mem::take(&mut self.sessions);
        self.users.clear();
        self.by_name.clear();
        self.tokens.clear();
        self.convs.clear();
        self.directs.clear();
        self.groups.clear();
        self.online.clear();
        for u in snap.users {
            self.by_name.insert(u.name.clone(), u.id);
            self.users
                .insert(u.id, User::new(u, Buckets::full(rates, now)));
        }
        for (hash, user) in snap.tokens {
            if let Some(u) = self.users.get_mut(&user) {
                u.tokens.push_back(hash);
                self.tokens.insert(hash, user);
            }
        }
        for c in snap.convs {
            match &c.kind {
                ConvKind::Direct { a, b } => {
                    self.directs.insert(direct_key(*a, *b), c.id);
                }
                ConvKind::Group { name, .. } => {
                    self.groups.insert(name.clone(), c.id);
                }
            }
            self.convs.insert(
                c.id,
                Conv::new(c.id, c.kind, c.created, c.last_seq, c.last_ts),
            );
        }
        for m in snap.members {
            self.add_member_in_memory(&m);
        }
        for (conv, seq) in snap.pins {
            if let Some(c) = self.convs.get_mut(&conv) {
                c.pins.push(seq);
            }
        }
        for (conv, user) in snap.bans {
            if let Some(c) = self.convs.get_mut(&conv) {
                c.banned.push(user);
            }
        }
        for n in snap.notices {
            if let Some(u) = self.users.get_mut(&n.user) {
                u.notices.push(Notice {
                    id: n.id,
                    group: n.group,
                    seq: n.seq,
                    // Stored as the JSON object; a line ends in a newline.
                    line: Bytes::from(n.line + "\n"),
                });
            }
        }
        // Uploads in progress live only here; they survive a reload, and so
        // does knowing which posted offers are still growing.
        let growing: Vec<OfferId> = self
            .offers
            .values()
            .filter(|o| o.growing)
            .map(|o| o.id)
            .collect();
        let uploading: Vec<Offer> = self
            .offers
            .drain()
            .map(|(_, o)| o)
            .filter(Offer::uploading)
            .collect();
        self.file_bytes = uploading.iter().map(|o| o.size).sum();
        for o in uploading {
            self.offers.insert(o.id, o);
        }
        for f in snap.files {
            if f.node.is_none() {
                self.file_bytes += f.size;
            }
            self.offers.insert(f.id, Offer::from_record(f));
        }
        for id in growing {
            if let Some(o) = self.offers.get_mut(&id) {
                o.growing = true;
            }
        }
        for (id, session) in sessions {
            if let Some(u) = self.users.get_mut(&session.user) {
                u.sessions.push(id);
                self.online.insert(u.name.clone());
                self.sessions.insert(id, session);
            } else {
                session.outbound.close(crate::outbound::Closed::Dropped);
            }
        }
    }

    pub fn add_member_in_memory(&mut self, m: &MemberRecord) {
        let Some(conv) = self.convs.get_mut(&m.conv) else {
            return;
        };
        conv.members.push(Member {
            user: m.user,
            joined_seq: m.joined_seq,
            joined_at: m.joined_at,
            delivered: m.delivered,
            read: m.read,
            last_sent: conv.last_seq,
            dirty: false,
            moderator: m.moderator,
        });
        if let Some(u) = self.users.get_mut(&m.user) {
            u.convs.push(m.conv);
        }
    }

    pub fn next_session_id(&mut self) -> SessionId {
        self.next_session += 1;
        SessionId(self.next_session)
    }

    pub fn user_id(&self, name: &Username) -> Result<UserId, Refusal> {
        self.by_name.get(name).copied().ok_or_else(|| {
            Refusal::new(
                ErrorCode::UnknownUser,
                format!("there is no user named {name}"),
            )
        })
    }

    pub fn name(&self, user: UserId) -> Option<&Username> {
        self.users.get(&user).map(|u| &u.name)
    }

    /// `name` as its owner spelled it when it was created, if it exists.
    pub fn canonical(&self, name: &ConvName) -> ConvName {
        match name {
            ConvName::User(user) => self
                .by_name
                .get(user)
                .and_then(|id| self.name(*id))
                .map_or_else(|| name.clone(), |n| ConvName::User(n.clone())),
            ConvName::Group(group) => self
                .groups
                .get(group)
                .and_then(|id| self.convs.get(id))
                .and_then(|c| match &c.kind {
                    ConvKind::Group { name, .. } => Some(ConvName::Group(name.clone())),
                    ConvKind::Direct { .. } => None,
                })
                .unwrap_or_else(|| name.clone()),
        }
    }

    /// How `viewer` names conversation `conv`: the other user, or `#group`.
    pub fn conv_name(&self, conv: &Conv, viewer: UserId) -> Option<ConvName> {
        match &conv.kind {
            ConvKind::Direct { a, b } => {
                let other = if *a == viewer { *b } else { *a };
                self.name(other).cloned().map(ConvName::User)
            }
            ConvKind::Group { name, .. } => Some(ConvName::Group(name.clone())),
        }
    }

    /// The conversation `viewer` means by `name`, if it exists and they belong to it.
    pub fn find_conv(&self, viewer: UserId, name: &ConvName) -> Result<Option<ConvId>, Refusal> {
        match name {
            ConvName::User(other) => {
                let other = self.user_id(other)?;
                Ok(self.directs.get(&direct_key(viewer, other)).copied())
            }
            ConvName::Group(group) => {
                let id = self.groups.get(group).copied().ok_or_else(|| {
                    Refusal::new(
                        ErrorCode::UnknownGroup,
                        format!("there is no group named #{group}"),
                    )
                })?;
                let is_member = self
                    .convs
                    .get(&id)
                    .is_some_and(|c| c.member(viewer).is_some());
                if !is_member {
                    return Err(Refusal::new(
                        ErrorCode::NotMember,
                        format!("you are not a member of #{group}"),
                    ));
                }
                Ok(Some(id))
            }
        }
    }

    /// The outbound queues of every session of `user`.
    pub fn outbounds(&self, user: UserId) -> impl Iterator<Item = (SessionId, &Outbound)> {
        self.users
            .get(&user)
            .into_iter()
            .flat_map(|u| u.sessions.iter())
            .filter_map(|sid| self.sessions.get(sid).map(|s| (*sid, &s.outbound)))
    }
}
