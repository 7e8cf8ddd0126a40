//! Groups: creating, joining, leaving, and what its owner and moderators may do.
//!
//! The rules:
//! - Anyone may create a group (becoming its owner and first member), list all
//!   groups and see any group's members.
//! - Who may join: anyone, in an `open` group; in an `invite` group only those
//!   the owner or a moderator adds. A group created with members is `invite`
//!   unless its creator says otherwise; one created alone is `open`.
//! - Moderators (members the owner names) and the owner add members and
//!   remove them. Removing bans: the removed user can neither join nor be added
//!   until the owner lifts the ban. A moderator cannot remove the owner or
//!   another moderator.
//! - Only the owner renames the group, changes its rules and its members'
//!   roles, lifts bans, hands it over and deletes it. Everyone else is refused
//!   with `not_owner` (`not_moderator` for what moderators may do).
//! - Who may post: every member, or (an announcement group) only the owner and
//!   moderators; checked where messages and offers are sent.
//! - When the owner leaves, ownership passes to the longest-standing moderator,
//!   or the longest-standing member if there is none. When the last member
//!   leaves, the group is kept, with its history and its owner, until the owner
//!   deletes it.
//! - Members read the whole history, including what was said before they joined
//!   (a late student can read earlier announcements). Who leaves or is removed can
//!   no longer read or send.
//! - Every change is a message in the group's history with an `event`, seen by
//!   every member (and by whoever was removed, if connected).

use classchat_common::protocol::{
    Access, ChatMessage, GroupEvent, GroupInfo, MemberInfo, Posting, Req, Role,
};
use classchat_common::{
    Conv as ConvName, ErrorCode, GroupName, MessageId, ServerMessage, Timestamp, Username,
};

use super::remote::{Body, Event, Head};
use super::state::{Conv, Member};
use super::worker::{Batch, Worker};
use super::{Refusal, SessionId};
use crate::store::{
    Appended, ConvId, ConvKind, MemberRecord, MessageKind, NewMessage, Rules, StoreError,
    StoredEvent, UserId,
};
use classchat_common::limits::{CREATE_MEMBERS_MAX, LIST_MAX, PINS_MAX};

/// Why a group request did not go through.
pub(super) enum Failure {
    Refused(Refusal),
    Store(StoreError),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Failure::Refused(r)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

pub(super) type Outcome = Result<ServerMessage, Failure>;

impl Worker {
    /// Sends a group request's answer, or its refusal; a storage failure
    /// fails the whole batch.
    pub(super) fn answer_group(
        &mut self,
        b: &mut Batch,
        session: SessionId,
        req: Option<Req>,
        outcome: Outcome,
    ) {
        match outcome {
            Ok(reply) => b.message(session, &reply),
            Err(Failure::Refused(r)) => {
                b.message(session, &ServerMessage::error_for(req, r.code, r.message));
            }
            Err(Failure::Store(e)) => b.fail(e),
        }
    }

    pub(super) fn create_group(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: GroupName,
        members: &[Username],
        (access, posting): (Option<Access>, Option<Posting>),
    ) -> Outcome {
        if members.len() > CREATE_MEMBERS_MAX {
            return Err(Refusal::new(
                ErrorCode::BadRequest,
                format!(
                    "a group can be created with at most {CREATE_MEMBERS_MAX} members; add the rest after"
                ),
            )
            .into());
        }
        // Every name is checked before anything is made: one unknown name and
        // there is no group, rather than half of one.
        let mut joining: Vec<UserId> = Vec::with_capacity(members.len());
        for name in members {
            let id = self.state.user_id(name)?;
            if id != user && !joining.contains(&id) {
                joining.push(id);
            }
        }
        if let Some(existing) = self
            .state
            .groups
            .get(&group)
            .and_then(|id| self.group_name(*id))
        {
            return Err(Refusal::new(
                ErrorCode::GroupExists,
                format!("a group named #{existing} already exists"),
            )
            .into());
        }
        let owned = self.owned_groups(user);
        if owned >= self.config.max_owned_groups {
            let why = format!(
                "you own {owned} groups, the most one user may; delete one (or hand it over) first"
            );
            return Err(Refusal::new(ErrorCode::QuotaExceeded, why).into());
        }
        self.room_for_membership(user, user)?;
        for &member in &joining {
            self.room_for_membership(user, member)?;
        }
        let now = Timestamp::now();
        let rules = Rules {
            access: access.unwrap_or(if joining.is_empty() {
                Access::Open
            } else {
                Access::Invite
            }),
            posting: posting.unwrap_or_default(),
        };
        let kind = ConvKind::Group {
            name: group.clone(),
            owner: user,
            rules,
        };
        let id = self.store.create_conv(&kind, now)?;
        self.state
            .convs
            .insert(id, Conv::new(id, kind, now, 0, None));
        self.state.groups.insert(group, id);
        self.add_member(b, id, user, now)?;
        self.record_event(b, id, user, GroupEvent::Created)?;
        for member in joining {
            self.add_member(b, id, member, now)?;
            let name = self.user_name(member);
            self.record_event(b, id, user, GroupEvent::Added { user: name })?;
        }
        Ok(self.info_reply(id, user, req))
    }

    pub(super) fn join_group(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
    ) -> Outcome {
        let id = self.group_id(group)?;
        if self.is_member(id, user) {
            return Err(Refusal::new(
                ErrorCode::AlreadyMember,
                format!("you are already a member of #{group}"),
            )
            .into());
        }
        if self.is_banned(id, user) {
            return Err(self.banned(id, "you are", group).into());
        }
        if self.rules(id).access == Access::Invite {
            let why = format!(
                "#{group} is invite-only: its owner ({}) or a moderator must add you",
                self.owner_name(id)
            );
            return Err(Refusal::new(ErrorCode::InviteOnly, why).into());
        }
        self.room_for_membership(user, user)?;
        self.add_member(b, id, user, Timestamp::now())?;
        self.record_event(b, id, user, GroupEvent::Joined)?;
        Ok(self.info_reply(id, user, req))
    }

    pub(super) fn leave_group(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
    ) -> Outcome {
        let id = self.group_id(group)?;
        if !self.is_member(id, user) {
            return Err(not_member_self(group).into());
        }
        self.record_event(b, id, user, GroupEvent::Left)?;
        self.remove_member(id, user)?;
        self.drop_recipient(b, id, user)?;
        if self.owner(id) == Some(user)
            && let Some(heir) = self.heir(id)
        {
            self.set_owner(id, heir)?;
            let heir_name = self.user_name(heir);
            self.record_event(b, id, user, GroupEvent::Owner { user: heir_name })?;
        }
        Ok(self.info_reply(id, user, req))
    }

    pub(super) fn rename_group(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
        to: GroupName,
    ) -> Outcome {
        let id = self.owned_group(user, group, "rename it")?;
        if let Some(&other) = self.state.groups.get(&to).filter(|&&other| other != id) {
            // Named with its own spelling, as `create` names it.
            let existing = self.group_name(other).unwrap_or_else(|| to.clone());
            let why = format!("a group named #{existing} already exists");
            return Err(Refusal::new(ErrorCode::GroupExists, why).into());
        }
        let old = self.group_name(id).unwrap_or_else(|| group.clone());
        self.update_kind(id, |name, _, _| *name = to.clone())?;
        self.state.groups.remove(&old);
        self.state.groups.insert(to.clone(), id);
        self.record_event(b, id, user, GroupEvent::Renamed { old, new: to })?;
        Ok(self.info_reply(id, user, req))
    }

    pub(super) fn add_to_group(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
        target: &Username,
    ) -> Outcome {
        let (id, _) = self.moderated_group(user, group, "add members")?;
        let target_id = self.state.user_id(target)?;
        if self.is_member(id, target_id) {
            let name = self.user_name(target_id);
            return Err(Refusal::new(
                ErrorCode::AlreadyMember,
                format!("{name} is already a member of #{group}"),
            )
            .into());
        }
        if self.is_banned(id, target_id) {
            let who = format!("{} is", self.user_name(target_id));
            return Err(self.banned(id, &who, group).into());
        }
        self.room_for_membership(user, target_id)?;
        self.add_member(b, id, target_id, Timestamp::now())?;
        let name = self.user_name(target_id);
        self.record_event(b, id, user, GroupEvent::Added { user: name })?;
        Ok(self.info_reply(id, user, req))
    }

    pub(super) fn kick_from_group(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
        target: &Username,
    ) -> Outcome {
        let (id, role) = self.moderated_group(user, group, "remove members")?;
        let target_id = self.state.user_id(target)?;
        if target_id == user {
            return Err(Refusal::new(
                ErrorCode::BadRequest,
                "you cannot remove yourself; use leave",
            )
            .into());
        }
        if !self.is_member(id, target_id) {
            return Err(not_member_other(&self.user_name(target_id), group).into());
        }
        let target_role = self.role(id, target_id);
        if role == Role::Moderator && target_role != Some(Role::Member) {
            let whom = if target_role == Some(Role::Owner) {
                "its owner"
            } else {
                "a moderator"
            };
            let why = format!(
                "only the owner of #{group} ({}) can remove {whom}",
                self.owner_name(id)
            );
            return Err(Refusal::new(ErrorCode::NotOwner, why).into());
        }
        let name = self.user_name(target_id);
        // Recorded while they are still a member, so their connections see it
        // too; kept for them until acknowledged, since no catch-up will hold it.
        let event = GroupEvent::Kicked {
            user: name,
            banned: true,
        };
        if let Some(kicked) = self.record_event(b, id, user, event)? {
            self.notify(target_id, &kicked)?;
        }
        self.remove_member(id, target_id)?;
        self.drop_recipient(b, id, target_id)?;
        self.set_banned(id, target_id, true)?;
        Ok(self.info_reply(id, user, req))
    }

    /// Pins message `seq` of a group, or unpins it.
    pub(super) fn pin(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
        seq: u64,
        pinned: bool,
    ) -> Outcome {
        let to_do = if pinned {
            "pin messages"
        } else {
            "unpin messages"
        };
        let (id, _) = self.moderated_group(user, group, to_do)?;
        let pins = self
            .state
            .convs
            .get(&id)
            .map(|c| c.pins.clone())
            .unwrap_or_default();
        let bad = |why: String| Err(Refusal::new(ErrorCode::BadRequest, why).into());
        if !pinned {
            if !pins.contains(&seq) {
                return bad(format!("message {seq} of #{group} is not pinned"));
            }
            self.set_pinned(id, seq, false)?;
            self.record_event(b, id, user, GroupEvent::Unpinned { seq })?;
            return Ok(self.info_reply(id, user, req));
        }
        if pins.contains(&seq) {
            return bad(format!("message {seq} of #{group} is pinned already"));
        }
        if pins.len() >= PINS_MAX {
            return bad(format!(
                "#{group} has {PINS_MAX} pinned messages, the most a group may; unpin one first"
            ));
        }
        match self.store.message_at(id, seq)? {
            Some(t) if matches!(t.kind, MessageKind::Text | MessageKind::File) => {}
            Some(t) if t.kind == MessageKind::Deleted => {
                let why = format!("message {seq} of #{group} was deleted");
                return Err(Refusal::new(ErrorCode::UnknownMessage, why).into());
            }
            Some(_) => return bad(format!("message {seq} of #{group} is not one to pin")),
            None => {
                let why = format!("#{group} has no message {seq}");
                return Err(Refusal::new(ErrorCode::UnknownMessage, why).into());
            }
        }
        self.set_pinned(id, seq, true)?;
        self.record_event(b, id, user, GroupEvent::Pinned { seq })?;
        Ok(self.info_reply(id, user, req))
    }

    /// Pins or unpins message `seq`, in memory and in the store.
    pub(super) fn set_pinned(
        &mut self,
        id: ConvId,
        seq: u64,
        pinned: bool,
    ) -> Result<(), StoreError> {
        self.store.set_pinned(id, seq, pinned)?;
        if let Some(conv) = self.state.convs.get_mut(&id) {
            conv.pins.retain(|p| *p != seq);
            if pinned {
                conv.pins.push(seq);
            }
        }
        Ok(())
    }

    pub(super) fn unban(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
        target: &Username,
    ) -> Outcome {
        let id = self.owned_group(user, group, "lift a ban")?;
        let target_id = self.state.user_id(target)?;
        let name = self.user_name(target_id);
        if !self.is_banned(id, target_id) {
            let why = format!("{name} is not banned from #{group}");
            return Err(Refusal::new(ErrorCode::BadRequest, why).into());
        }
        self.set_banned(id, target_id, false)?;
        self.record_event(b, id, user, GroupEvent::Unbanned { user: name })?;
        Ok(self.info_reply(id, user, req))
    }

    pub(super) fn set_role(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
        target: &Username,
        role: Role,
    ) -> Outcome {
        let id = self.owned_group(user, group, "change roles")?;
        let target_id = self.state.user_id(target)?;
        let name = self.user_name(target_id);
        if role == Role::Owner {
            let why = "to make someone the owner, hand the group over (owner)";
            return Err(Refusal::new(ErrorCode::BadRequest, why).into());
        }
        match self.role(id, target_id) {
            None => return Err(not_member_other(&name, group).into()),
            Some(Role::Owner) => {
                let why = format!("{name} owns #{group}");
                return Err(Refusal::new(ErrorCode::BadRequest, why).into());
            }
            // Already so: nothing to record.
            Some(now) if now == role => return Ok(self.info_reply(id, user, req)),
            Some(_) => {}
        }
        self.set_moderator(id, target_id, role == Role::Moderator)?;
        self.record_event(b, id, user, GroupEvent::Role { user: name, role })?;
        Ok(self.info_reply(id, user, req))
    }

    pub(super) fn change_rules(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
        access: Option<Access>,
        posting: Option<Posting>,
    ) -> Outcome {
        if access.is_none() && posting.is_none() {
            let why = "say what to change: access, posting, or both";
            return Err(Refusal::new(ErrorCode::BadRequest, why).into());
        }
        let id = self.owned_group(user, group, "change who may join or post")?;
        let old = self.rules(id);
        if let Some(access) = access.filter(|a| *a != old.access) {
            self.update_kind(id, |_, _, rules| rules.access = access)?;
            self.record_event(b, id, user, GroupEvent::Access { access })?;
        }
        if let Some(posting) = posting.filter(|p| *p != old.posting) {
            self.update_kind(id, |_, _, rules| rules.posting = posting)?;
            self.record_event(b, id, user, GroupEvent::Posting { posting })?;
        }
        Ok(self.info_reply(id, user, req))
    }

    pub(super) fn hand_over_group(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
        target: &Username,
    ) -> Outcome {
        let id = self.owned_group(user, group, "hand it over")?;
        let target_id = self.state.user_id(target)?;
        if target_id == user {
            return Err(
                Refusal::new(ErrorCode::BadRequest, format!("you already own #{group}")).into(),
            );
        }
        if !self.is_member(id, target_id) {
            return Err(not_member_other(&self.user_name(target_id), group).into());
        }
        self.set_owner(id, target_id)?;
        let name = self.user_name(target_id);
        self.record_event(b, id, user, GroupEvent::Owner { user: name })?;
        Ok(self.info_reply(id, user, req))
    }

    pub(super) fn delete_group(
        &mut self,
        b: &mut Batch,
        user: UserId,
        req: Option<Req>,
        group: &GroupName,
    ) -> Outcome {
        let id = self.owned_group(user, group, "delete it")?;
        let name = self.group_name(id).unwrap_or_else(|| group.clone());
        // Told to every connected member, though nothing of the group is kept;
        // kept for each member but the owner until acknowledged.
        if let Some(conv) = self.state.convs.get(&id) {
            let msg = ChatMessage::group_event(
                &name,
                conv.last_seq + 1,
                MessageId::new(),
                self.user_name(user),
                Timestamp::now(),
                GroupEvent::Deleted,
            );
            let others: Vec<UserId> = conv
                .members
                .iter()
                .map(|m| m.user)
                .filter(|&m| m != user)
                .collect();
            self.fan_out(b, conv, None, msg.clone());
            self.announce(b, || Event::Deleted {
                conv: id.0,
                seq: msg.seq,
                id: msg.id,
                actor: user.0,
                actor_name: msg.from.clone(),
                ts: msg.ts,
            });
            for member in others {
                self.notify(member, &msg)?;
            }
        }
        self.store.delete_conv(id)?;
        self.drop_conv_offers(b, id);
        if let Some(conv) = self.state.convs.remove(&id) {
            for m in conv.members {
                if let Some(u) = self.state.users.get_mut(&m.user) {
                    u.convs.retain(|c| *c != id);
                }
            }
        }
        self.state.groups.remove(&name);
        Ok(ServerMessage::GroupDeleted { req, group: name })
    }

    pub(super) fn list_groups(&self, user: UserId, req: Option<Req>) -> ServerMessage {
        let mut groups: Vec<GroupInfo> = self
            .state
            .groups
            .values()
            .filter_map(|id| self.info(*id, user))
            .collect();
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        let total = groups.len();
        groups.truncate(LIST_MAX);
        ServerMessage::Groups { req, groups, total }
    }

    pub(super) fn list_members(
        &self,
        viewer: UserId,
        req: Option<Req>,
        group: &GroupName,
    ) -> Outcome {
        let id = self.group_id(group)?;
        let Some(conv) = self.state.convs.get(&id) else {
            return Err(unknown_group(group).into());
        };
        let owner = self.owner(id);
        // Who is banned is the owner's and moderators' business.
        let moderates = owner == Some(viewer) || self.role(id, viewer) == Some(Role::Moderator);
        let mut banned: Vec<Username> = if moderates {
            conv.banned.iter().map(|u| self.user_name(*u)).collect()
        } else {
            Vec::new()
        };
        banned.sort();
        banned.truncate(LIST_MAX);
        let mut members: Vec<MemberInfo> = conv
            .members
            .iter()
            .filter_map(|m| {
                let u = self.state.users.get(&m.user)?;
                Some(MemberInfo {
                    user: u.name.clone(),
                    owner: owner == Some(m.user),
                    moderator: m.moderator && owner != Some(m.user),
                    online: u.online(),
                    last_seen: u.seen(),
                    joined: m.joined_at,
                })
            })
            .collect();
        members.sort_by(|a, b| a.user.cmp(&b.user));
        let total = members.len();
        members.truncate(LIST_MAX);
        Ok(ServerMessage::Members {
            req,
            group: self.group_name(id).unwrap_or_else(|| group.clone()),
            owner: owner.map_or_else(Username::ghost, |o| self.user_name(o)),
            members,
            total,
            banned,
        })
    }

    /// Stores a membership event in the group's history and sends it to every
    /// connected member.
    pub(super) fn record_event(
        &mut self,
        b: &mut Batch,
        id: ConvId,
        actor: UserId,
        event: GroupEvent,
    ) -> Result<Option<ChatMessage>, StoreError> {
        let (Some(seq), Some(group)) = (
            self.state.convs.get(&id).map(|c| c.last_seq + 1),
            self.group_name(id),
        ) else {
            return Ok(None);
        };
        let text = event.describe(&self.user_name(actor), &group);
        let stored = StoredEvent {
            event: event.clone(),
            text: text.clone(),
        };
        let stored =
            serde_json::to_string(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let msg = ChatMessage {
            event: Some(event),
            ..ChatMessage::new(
                ConvName::Group(group.clone()),
                seq,
                MessageId::new(),
                self.user_name(actor),
                Timestamp::now(),
                text,
            )
        };
        let appended = self.store.append(&NewMessage {
            conv: id,
            seq,
            id: msg.id,
            sender: actor,
            ts: msg.ts,
            kind: MessageKind::Event,
            body: &stored,
            refers: None,
        })?;
        if appended != Appended::New {
            return Err(StoreError::Corrupt(
                "a fresh event id was already stored".into(),
            ));
        }
        self.announce(b, || Event::Message {
            head: Head {
                conv: id.0,
                seq,
                sender: actor.0,
                ts: msg.ts,
                kind: MessageKind::Event as i64,
            },
            line: None,
            body: Body {
                id: msg.id,
                sender_name: msg.from.clone(),
                body: stored.clone(),
                refers: None,
                quoted: None,
            },
        });
        self.advance_after_send(b, id, actor, seq, msg.ts);
        if let Some(conv) = self.state.convs.get(&id) {
            self.fan_out(b, conv, None, msg.clone());
        }
        Ok(Some(msg))
    }

    fn add_member(
        &mut self,
        b: &mut Batch,
        id: ConvId,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let Some(last) = self.state.convs.get(&id).map(|c| c.last_seq) else {
            return Ok(());
        };
        // A newcomer starts with nothing unread: earlier messages are history to
        // page through, not a flood to deliver.
        let record = MemberRecord {
            conv: id,
            user,
            joined_seq: last,
            joined_at: now,
            delivered: last,
            read: last,
            moderator: false,
        };
        self.store.add_member(&record)?;
        self.state.add_member_in_memory(&record);
        // In again: what took them out before is old news.
        if let Some(group) = self.group_name(id) {
            self.clear_notices(b, user, &group, None);
        }
        Ok(())
    }

    fn remove_member(&mut self, id: ConvId, user: UserId) -> Result<(), StoreError> {
        self.store.remove_member(id, user)?;
        if let Some(conv) = self.state.convs.get_mut(&id) {
            conv.members.retain(|m| m.user != user);
        }
        if let Some(u) = self.state.users.get_mut(&user) {
            u.convs.retain(|c| *c != id);
        }
        Ok(())
    }

    /// A new owner: who owns a group moderates it by owning it, so they are
    /// no moderator besides.
    fn set_owner(&mut self, id: ConvId, new: UserId) -> Result<(), StoreError> {
        self.update_kind(id, |_, owner, _| *owner = new)?;
        if self.state.member_mut(id, new).is_some_and(|m| m.moderator) {
            self.set_moderator(id, new, false)?;
        }
        Ok(())
    }

    /// Changes a group's name, owner or rules, in memory and in the store.
    fn update_kind(
        &mut self,
        id: ConvId,
        change: impl FnOnce(&mut GroupName, &mut UserId, &mut Rules),
    ) -> Result<(), StoreError> {
        let Some(conv) = self.state.convs.get_mut(&id) else {
            return Ok(());
        };
        let ConvKind::Group { name, owner, rules } = &mut conv.kind else {
            return Ok(());
        };
        change(name, owner, rules);
        self.store.update_group(id, &conv.kind)
    }

    fn set_moderator(
        &mut self,
        id: ConvId,
        user: UserId,
        moderator: bool,
    ) -> Result<(), StoreError> {
        self.store.set_moderator(id, user, moderator)?;
        if let Some(m) = self.state.member_mut(id, user) {
            m.moderator = moderator;
        }
        Ok(())
    }

    fn set_banned(&mut self, id: ConvId, user: UserId, banned: bool) -> Result<(), StoreError> {
        self.store.set_banned(id, user, banned)?;
        if let Some(conv) = self.state.convs.get_mut(&id) {
            conv.banned.retain(|u| *u != user);
            if banned {
                conv.banned.push(user);
            }
        }
        Ok(())
    }

    /// Who owns the group after its owner leaves: the longest-standing
    /// moderator, or the longest-standing member (by join time, then by when
    /// they entered the history).
    fn heir(&self, id: ConvId) -> Option<UserId> {
        self.state
            .convs
            .get(&id)?
            .members
            .iter()
            .min_by_key(|m: &&Member| (!m.moderator, m.joined_at, m.joined_seq, m.user))
            .map(|m| m.user)
    }

    fn group_id(&self, group: &GroupName) -> Result<ConvId, Refusal> {
        self.state
            .groups
            .get(group)
            .copied()
            .ok_or_else(|| unknown_group(group))
    }

    /// The group, if `user` owns or moderates it, with their role; otherwise
    /// the refusal naming the owner.
    fn moderated_group(
        &self,
        user: UserId,
        group: &GroupName,
        to_do: &str,
    ) -> Result<(ConvId, Role), Refusal> {
        let id = self.group_id(group)?;
        match self.role(id, user) {
            Some(role @ (Role::Owner | Role::Moderator)) => Ok((id, role)),
            _ if self.owner(id) == Some(user) => Ok((id, Role::Owner)),
            _ => Err(Refusal::new(
                ErrorCode::NotModerator,
                format!(
                    "only the owner of #{group} ({}) and its moderators can {to_do}",
                    self.owner_name(id)
                ),
            )),
        }
    }

    /// The group, if `user` owns it; otherwise the refusal naming the owner.
    fn owned_group(&self, user: UserId, group: &GroupName, to_do: &str) -> Result<ConvId, Refusal> {
        let id = self.group_id(group)?;
        match self.owner(id) {
            Some(owner) if owner == user => Ok(id),
            owner => {
                let owner = owner
                    .map(|o| self.user_name(o).to_string())
                    .unwrap_or_default();
                Err(Refusal::new(
                    ErrorCode::NotOwner,
                    format!("only the owner of #{group} ({owner}) can {to_do}"),
                ))
            }
        }
    }

    /// How many groups `user` owns, whether or not they are still in them.
    /// A scan of every group: creating one is rate-limited, and rare.
    fn owned_groups(&self, user: UserId) -> usize {
        self.state
            .groups
            .values()
            .filter(|id| self.owner(**id) == Some(user))
            .count()
    }

    /// Whether `member` may be in one more group, joining or added by `actor`.
    fn room_for_membership(&self, actor: UserId, member: UserId) -> Result<(), Refusal> {
        let Some(u) = self.state.users.get(&member) else {
            return Ok(());
        };
        let groups = u
            .convs
            .iter()
            .filter_map(|c| self.state.convs.get(c))
            .filter(|c| matches!(c.kind, ConvKind::Group { .. }))
            .count();
        let max = self.config.max_memberships;
        if groups < max {
            return Ok(());
        }
        let why = if actor == member {
            format!("you are in {groups} groups, the most one user may be in; leave one first")
        } else {
            format!(
                "{} is in {groups} groups, the most one user may be in",
                u.name
            )
        };
        Err(Refusal::new(ErrorCode::QuotaExceeded, why))
    }

    /// A member's role; `None` for who is not a member.
    pub(super) fn role(&self, id: ConvId, user: UserId) -> Option<Role> {
        let conv = self.state.convs.get(&id)?;
        let member = conv.member(user)?;
        Some(match &conv.kind {
            ConvKind::Group { owner, .. } if *owner == user => Role::Owner,
            _ if member.moderator => Role::Moderator,
            _ => Role::Member,
        })
    }

    pub(super) fn rules(&self, id: ConvId) -> Rules {
        match self.state.convs.get(&id).map(|c| &c.kind) {
            Some(ConvKind::Group { rules, .. }) => *rules,
            _ => Rules::default(),
        }
    }

    fn is_banned(&self, id: ConvId, user: UserId) -> bool {
        self.state.convs.get(&id).is_some_and(|c| c.is_banned(user))
    }

    /// The refusal of a banned user ("you are", "bob is").
    fn banned(&self, id: ConvId, who_is: &str, group: &GroupName) -> Refusal {
        let why = format!(
            "{who_is} banned from #{group}; only its owner ({}) can lift the ban",
            self.owner_name(id)
        );
        Refusal::new(ErrorCode::Banned, why)
    }

    fn owner_name(&self, id: ConvId) -> Username {
        self.owner(id)
            .map_or_else(Username::ghost, |o| self.user_name(o))
    }

    fn owner(&self, id: ConvId) -> Option<UserId> {
        match &self.state.convs.get(&id)?.kind {
            ConvKind::Group { owner, .. } => Some(*owner),
            ConvKind::Direct { .. } => None,
        }
    }

    fn group_name(&self, id: ConvId) -> Option<GroupName> {
        match &self.state.convs.get(&id)?.kind {
            ConvKind::Group { name, .. } => Some(name.clone()),
            ConvKind::Direct { .. } => None,
        }
    }

    fn is_member(&self, id: ConvId, user: UserId) -> bool {
        self.state
            .convs
            .get(&id)
            .is_some_and(|c| c.member(user).is_some())
    }

    /// A user's name; user ids in the hub always belong to a known account, so
    /// the fallback never shows.
    fn user_name(&self, user: UserId) -> Username {
        self.state
            .name(user)
            .cloned()
            .unwrap_or_else(Username::ghost)
    }

    fn info(&self, id: ConvId, viewer: UserId) -> Option<GroupInfo> {
        let conv = self.state.convs.get(&id)?;
        let ConvKind::Group { name, owner, rules } = &conv.kind else {
            return None;
        };
        Some(GroupInfo {
            group: name.clone(),
            owner: self.user_name(*owner),
            members: conv.members.len() as u32,
            member: conv.member(viewer).is_some(),
            created: conv.created,
            access: rules.access,
            posting: rules.posting,
            role: self.role(id, viewer),
            banned: conv.is_banned(viewer),
            pinned: conv.pins.clone(),
        })
    }

    fn info_reply(&self, id: ConvId, viewer: UserId, req: Option<Req>) -> ServerMessage {
        match self.info(id, viewer) {
            Some(info) => ServerMessage::Group { req, info },
            None => ServerMessage::error_for(req, ErrorCode::Internal, "the group vanished"),
        }
    }
}

fn unknown_group(group: &GroupName) -> Refusal {
    Refusal::new(
        ErrorCode::UnknownGroup,
        format!("there is no group named #{group}"),
    )
}

fn not_member_self(group: &GroupName) -> Refusal {
    Refusal::new(
        ErrorCode::NotMember,
        format!("you are not a member of #{group}"),
    )
}

fn not_member_other(user: &Username, group: &GroupName) -> Refusal {
    Refusal::new(
        ErrorCode::NotMember,
        format!("{user} is not a member of #{group}"),
    )
}
