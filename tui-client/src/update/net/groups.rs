//! Groups as the server answers about them: the reply to a group command, a
//! group deleted, the `/groups` list, a group's members; and what a membership
//! event says to you.

use classchat_common::protocol::{GroupEvent, GroupInfo, MemberInfo};
use classchat_common::{Conv, GroupName, Username};

use crate::model::{Asked, Model, Popup};
use crate::text;
use crate::update::select;

/// `group`: the group after a `create`, `join`, `leave`, `rename`, `add`,
/// `kick` or `owner` of yours.
pub fn reply(model: &mut Model, info: &GroupInfo, asked: Option<Asked>) {
    model.known_groups.insert(info.group.clone());
    let conv = Conv::Group(info.group.clone());
    if info.member {
        let i = model.conversation(&conv);
        model.convs[i].members = Some(info.members);
        model.convs[i].owner = Some(info.owner.clone());
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
        .to_owned();
    // Says how the group stands, so it goes once the group changes again.
    model.notify_state(
        &conv,
        format!(
            "{done}: #{} · owner {owner} · {} members",
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
    model.popup = Some(Popup::Groups {
        groups,
        selected: 0,
    });
}

/// `members`: asked quietly when a group is opened, or by `/members`.
pub fn members(
    model: &mut Model,
    group: GroupName,
    owner: Username,
    members: Vec<MemberInfo>,
    total: usize,
    asked: Option<&Asked>,
) {
    model
        .known_users
        .extend(members.iter().map(|m| m.user.clone()));
    if let Some(i) = model.find(&Conv::Group(group.clone())) {
        let c = &mut model.convs[i];
        // `total`, not the list's length: the list stops at the first 1000.
        c.members = Some(u32::try_from(total).unwrap_or(u32::MAX));
        c.owner = Some(owner.clone());
        c.roster = Some(members.clone());
    }
    if asked != Some(&Asked::Quiet) {
        model.popup = Some(Popup::Members {
            group,
            owner,
            members,
            selected: 0,
        });
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
        _ => None,
    }
}
