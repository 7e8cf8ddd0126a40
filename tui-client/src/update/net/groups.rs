//! Groups as the server answers about them: the reply to a group command, a
//! group deleted, the `/groups` list, a group's members; and what a membership
//! event says to you.

use classchat_common::protocol::{Access, GroupEvent, GroupInfo, MemberInfo, Posting, Role};
use classchat_common::{Conv, GroupName, Username};

use crate::model::{Asked, Model, Popup};
use crate::text;
use crate::update::select;

/// `group`: the group after a `create`, `join`, `leave`, `rename`, `add`,
/// `kick`, `owner`, `unban`, `role` or `settings` of yours.
pub fn reply(model: &mut Model, info: &GroupInfo, asked: Option<Asked>) {
    model.known_groups.insert(info.group.clone());
    let conv = Conv::Group(info.group.clone());
    if info.member {
        let i = model.conversation(&conv);
        let c = &mut model.convs[i];
        c.members = Some(info.members);
        c.owner = Some(info.owner.clone());
        c.access = Some(info.access);
        c.set_rules(Some(info.posting), info.role);
        c.pins.set(&info.pinned);
        if matches!(asked, Some(Asked::Command(_))) {
            select(model, i);
        }
    } else {
        model.remove(&conv);
    }
    let Some(Asked::Command(typed)) = asked else {
        return;
    };
    let owner = text::clean_line(info.owner.as_str()).into_owned();
    let done = typed
        .split_whitespace()
        .next()
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_ascii_lowercase();
    if matches!(done.as_str(), "pin" | "unpin") {
        let n = info.pinned.len();
        let plural = if n == 1 { "" } else { "s" };
        let news = format!(
            "{done}: #{} · {n} pinned message{plural} (/pins)",
            info.group
        );
        return model.notify_about(&conv, news, false);
    }
    let invite = match info.access {
        Access::Invite => " · invite-only",
        Access::Open => "",
    };
    let announcements = match info.posting {
        Posting::Moderators => " · announcements",
        Posting::Everyone => "",
    };
    // Says how the group stands, so it goes once the group changes again.
    model.notify_state(
        &conv,
        format!(
            "{done}: #{} · owner {owner} · {} members{invite}{announcements}",
            info.group, info.members
        ),
    );
}

/// `group_deleted`: the answer to your `/delete`.
pub fn deleted(model: &mut Model, group: &GroupName) {
    let conv = Conv::Group(group.clone());
    model.remove(&conv);
    model.known_groups.remove(group);
    model.notify_about(&conv, format!("#{group} was deleted"), false);
}

/// `groups`: every group, for the `/groups` list.
pub fn listed(model: &mut Model, groups: Vec<GroupInfo>) {
    model
        .known_groups
        .extend(groups.iter().map(|g| g.group.clone()));
    for g in groups.iter().filter(|g| g.member) {
        if let Some(i) = model.find(&Conv::Group(g.group.clone())) {
            model.convs[i].pins.set(&g.pinned);
        }
    }
    model.popup = Some(Popup::Groups {
        groups,
        selected: 0,
    });
}

/// A `members` reply.
pub struct Roster {
    pub group: GroupName,
    pub owner: Username,
    pub members: Vec<MemberInfo>,
    pub total: usize,
    /// Told to the owner and moderators only.
    pub banned: Vec<Username>,
}

/// `members`: asked quietly when a group is opened, or by `/members`.
pub fn members(model: &mut Model, roster: Roster, asked: Option<&Asked>) {
    let Roster {
        group,
        owner,
        members,
        total,
        banned,
    } = roster;
    model
        .known_users
        .extend(members.iter().map(|m| m.user.clone()));
    for m in &members {
        super::presence::noted(model, &m.user, m.online);
    }
    let me = model.me.clone();
    if let Some(i) = model.find(&Conv::Group(group.clone())) {
        let c = &mut model.convs[i];
        // `total`, not the list's length: the list stops at the first 1000.
        c.members = Some(u32::try_from(total).unwrap_or(u32::MAX));
        c.owner = Some(owner.clone());
        c.roster = Some(members.clone());
        let mine = members.iter().find(|m| Some(&m.user) == me.as_ref());
        c.set_rules(None, mine.map(role_of));
        if c.sees_bans() {
            c.banned.clone_from(&banned);
        }
    }
    if !matches!(asked, Some(Asked::Quiet | Asked::Roster(_))) {
        model.popup = Some(Popup::Members {
            group,
            owner,
            members,
            banned,
            selected: 0,
        });
    }
}

fn role_of(m: &MemberInfo) -> Role {
    match (m.owner, m.moderator) {
        (true, _) => Role::Owner,
        (false, true) => Role::Moderator,
        (false, false) => Role::Member,
    }
}

/// Whether `event` makes you a member: you joined (from another of your
/// clients), or someone added you.
pub fn brings_me_in(event: &GroupEvent, actor: &Username, me: &Username) -> bool {
    match event {
        GroupEvent::Joined => actor == me,
        GroupEvent::Added { user } => user == me,
        _ => false,
    }
}

/// What a group event says to you, when it is about you and someone else did it.
pub fn news_for_me(
    event: &GroupEvent,
    actor: &Username,
    me: &Username,
    conv: &Conv,
) -> Option<String> {
    if actor == me {
        return None;
    }
    match event {
        GroupEvent::Added { user } if user == me => Some(format!(
            "{} added you to {conv}",
            text::clean_line(actor.as_str())
        )),
        // Handed over, or inherited when the owner left: either way it is yours.
        GroupEvent::Owner { user } if user == me => {
            Some(format!("you are now the owner of {conv}"))
        }
        GroupEvent::Role {
            user,
            role: Role::Moderator,
        } if user == me => Some(format!(
            "{} made you a moderator of {conv}",
            text::clean_line(actor.as_str())
        )),
        GroupEvent::Role { user, .. } if user == me => {
            Some(format!("you are no longer a moderator of {conv}"))
        }
        _ => None,
    }
}
