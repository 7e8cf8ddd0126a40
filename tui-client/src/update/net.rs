//! What the client task reports: messages, receipts, replies, the connection.

use classchat_common::protocol::{ChatMessage, ConvSummary, GroupEvent};
use classchat_common::{ClientMessage, Conv, ServerMessage, Timestamp};

use super::files;
use super::{input::replace_text, select};
use crate::client::{Event, Link};
use crate::message::Effect;
use crate::model::{Asked, Entry, LinkState, Model, Popup};
use crate::text;
use crate::tracker::Update;

pub fn on_event(model: &mut Model, event: Event, fx: &mut Vec<Effect>) {
    match event {
        Event::Server(msg) => on_server(model, msg, fx),
        Event::Status(update) => on_status(model, &update),
        Event::Retrying { .. } => {}
        Event::Transfer(progress) => files::on_progress(model, progress),
        Event::Link(Link::Connected { user }) => {
            model.link = LinkState::Connected;
            // Logged in again with the password typed in the form.
            if model.login.as_ref().is_some_and(|f| f.again) {
                model.login = None;
            }
            model.syncing = true;
            // Whatever went wrong with the old connection is over.
            if model.notice.as_ref().is_some_and(|n| n.error) {
                model.notice = None;
            }
            model.me.get_or_insert(user);
            // Refresh the list (unread counts, presence) on every (re)connect.
            let req = model.ask(Asked::Quiet);
            fx.push(Effect::Ask(ClientMessage::Conversations { req: Some(req) }));
            let req = model.ask(Asked::Quiet);
            fx.push(Effect::Ask(ClientMessage::Who { req: Some(req) }));
            // Offers that waited for us (Ctrl+O answers them, also after a restart).
            model.offers.listed = None;
            let req = model.ask(Asked::Quiet);
            fx.push(Effect::Ask(ClientMessage::Files { req: Some(req) }));
        }
        Event::Link(Link::Reconnecting {
            attempt,
            retry_in,
            reason,
        }) => {
            let at = Timestamp::from_millis(model.now.as_millis() + retry_in.as_millis() as i64);
            model.link = LinkState::Reconnecting {
                attempt,
                at,
                reason,
            };
        }
        Event::Link(Link::NeedsPassword { reason }) => {
            model.link = LinkState::LoggedOut(reason.clone());
            match model.login.as_mut() {
                // The password typed again was refused too.
                Some(form) if form.again => form.refused(reason),
                _ => {
                    let user = model
                        .me
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    // Nothing was typed yet: the login this client kept stopped
                    // working (the password was changed or reset, say).
                    let why = format!("the server no longer takes your saved login: {reason}");
                    model.login = Some(crate::model::LoginForm::again(&model.server, &user, why));
                }
            }
        }
        Event::Fatal(why) => {
            model.notify(why.clone(), true);
            model.link = LinkState::Failed(why);
        }
    }
}

fn on_status(model: &mut Model, update: &Update) {
    let Some(i) = model.find(&update.conv) else {
        return;
    };
    if let Some(entry) = model.convs[i].by_id_mut(update.id) {
        match entry.status.as_mut() {
            Some(status) => {
                status.advance(update.status);
            }
            None => entry.status = Some(update.status),
        }
    }
}

fn on_server(model: &mut Model, msg: ServerMessage, fx: &mut Vec<Effect>) {
    let asked = msg.req().and_then(|req| model.asked.remove(&req));
    match msg {
        ServerMessage::Message(m) => on_message(model, &m, fx),
        ServerMessage::PasswordChanged { .. } => super::password::changed(model, fx),
        ServerMessage::Error { message, .. }
            if asked == Some(Asked::Password)
                && super::password::refused(model, &text::clean_line(&message)) => {}
        ServerMessage::Stored {
            id, conv, seq, ts, ..
        } => {
            if let Some(i) = model.find(&conv) {
                model.convs[i].stored(id, seq, ts);
            }
        }
        ServerMessage::Receipt {
            conv, user, read, ..
        } => {
            // Our own cursor, moved by another of our devices.
            if Some(&user) == model.me.as_ref()
                && let Some(i) = model.find(&conv)
            {
                model.convs[i].mark_read(read);
            }
        }
        ServerMessage::Presence {
            user,
            online,
            last_seen,
        } => {
            // Keep the count in step between `who` refreshes.
            if online && model.online.insert(user.clone()) {
                model.online_total += 1;
            } else if !online && model.online.remove(&user) {
                model.online_total = model.online_total.saturating_sub(1);
            }
            for c in &mut model.convs {
                if c.conv == Conv::User(user.clone()) {
                    c.online = Some(online);
                    c.last_seen = last_seen;
                }
                for m in c.roster.iter_mut().flatten().filter(|m| m.user == user) {
                    m.online = online;
                    m.last_seen = last_seen;
                }
            }
        }
        ServerMessage::Conversations { conversations, .. } => {
            on_conversations(model, conversations);
        }
        ServerMessage::History {
            conv,
            messages,
            more,
            ..
        } => {
            let Some(me) = model.me.clone() else { return };
            let Some(i) = model.find(&conv) else { return };
            let entries: Vec<Entry> = messages
                .iter()
                .map(|m| Entry::from_message(m, &me))
                .collect();
            let c = &mut model.convs[i];
            c.loading = false;
            c.more_older = more;
            match asked {
                Some(Asked::Older(_)) => c.prepend(entries),
                _ => {
                    for e in entries {
                        c.insert(e);
                    }
                }
            }
            if c.unread > 0 {
                c.unread = c.unread.max(c.count_unread());
            }
        }
        ServerMessage::Who { online, total, .. } => {
            model.known_users.extend(online.iter().cloned());
            model.online = online.into_iter().collect();
            model.online_total = total;
        }
        ServerMessage::User {
            user,
            online,
            last_seen,
            ..
        } => {
            model.known_users.insert(user.clone());
            if let Some(i) = model.find(&Conv::User(user.clone())) {
                model.convs[i].online = Some(online);
                model.convs[i].last_seen = last_seen;
            }
            if asked == Some(Asked::Quiet) {
                return;
            }
            let name = text::clean_line(user.as_str()).into_owned();
            let text = match (online, last_seen) {
                (true, _) => format!("{name} is online"),
                (false, Some(t)) => {
                    format!("{name} was last seen {}", crate::layout::ago(t, model.now))
                }
                (false, None) => format!("{name} is offline"),
            };
            model.notify(text, false);
        }
        ServerMessage::ReadBy {
            conv,
            seq,
            counts,
            members,
            ..
        } => {
            model.popup = Some(Popup::ReadBy {
                conv,
                seq,
                counts,
                members,
            });
        }
        ServerMessage::ReadMarked { conv, seq, .. } => {
            if let Some(i) = model.find(&conv) {
                model.convs[i].mark_read(seq);
            }
        }
        ServerMessage::Group { info, .. } => {
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
            if let Some(Asked::Command(text)) = asked {
                let owner = text::clean_line(info.owner.as_str()).into_owned();
                let done = text
                    .split_whitespace()
                    .next()
                    .unwrap_or("/")
                    .trim_start_matches('/')
                    .to_owned();
                model.notify(
                    format!(
                        "{done}: #{} · owner {owner} · {} members",
                        info.group, info.members
                    ),
                    false,
                );
            }
        }
        ServerMessage::GroupDeleted { group, .. } => {
            model.remove(&Conv::Group(group.clone()));
            model.known_groups.remove(&group);
            model.notify(format!("#{group} was deleted"), false);
        }
        ServerMessage::Groups { groups, .. } => {
            model
                .known_groups
                .extend(groups.iter().map(|g| g.group.clone()));
            model.popup = Some(Popup::Groups {
                groups,
                selected: 0,
            });
        }
        ServerMessage::Members {
            group,
            owner,
            members,
            ..
        } => {
            model
                .known_users
                .extend(members.iter().map(|m| m.user.clone()));
            if let Some(i) = model.find(&Conv::Group(group.clone())) {
                let c = &mut model.convs[i];
                c.members = Some(members.len() as u32);
                c.owner = Some(owner.clone());
                c.roster = Some(members.clone());
            }
            if asked != Some(Asked::Quiet) {
                model.popup = Some(Popup::Members {
                    group,
                    owner,
                    members,
                    selected: 0,
                });
            }
        }
        ServerMessage::Error { message, id, .. } => {
            if id.is_none()
                && let Some(Asked::Command(text)) = &asked
                && model.input().is_empty()
            {
                // The command failed: give the typed text back to fix it.
                replace_text(model.input_mut(), text);
            }
            if let Some(Asked::Older(conv) | Asked::Recent(conv)) = &asked
                && let Some(i) = model.find(conv)
            {
                model.convs[i].loading = false;
            }
            model.notify(text::clean_line(&message).into_owned(), true);
        }
        ServerMessage::FileStatus {
            offer,
            name,
            user,
            state,
            counts,
            ..
        } => files::on_status(
            model,
            &files::Status {
                offer,
                name,
                user,
                state,
                counts,
            },
        ),
        ServerMessage::Files {
            incoming, outgoing, ..
        } => files::on_files(model, incoming, &outgoing, asked.as_ref()),
        ServerMessage::Uploaded { offer, .. } => {
            model.offers.sent.entry(offer).or_default();
        }
        ServerMessage::Synced { messages } => {
            model.syncing = false;
            if messages > 0 {
                let plural = if messages == 1 { "" } else { "s" };
                model.notify(
                    format!("{messages} message{plural} arrived while you were away"),
                    false,
                );
            }
        }
        _ => {}
    }
}

fn on_message(model: &mut Model, m: &ChatMessage, fx: &mut Vec<Effect>) {
    on_chat(model, m, fx);
    if m.file.is_some() {
        files::offer_arrived(model, m);
    }
}

fn on_chat(model: &mut Model, m: &ChatMessage, fx: &mut Vec<Effect>) {
    let Some(me) = model.me.clone() else { return };
    match &m.event {
        Some(GroupEvent::Renamed { old, new }) => {
            model.rename(&Conv::Group(old.clone()), &Conv::Group(new.clone()));
        }
        Some(GroupEvent::Kicked { user }) if *user == me => {
            model.remove(&m.conv);
            model.notify(
                format!(
                    "{} removed you from {}",
                    text::clean_line(m.from.as_str()),
                    m.conv
                ),
                true,
            );
            return;
        }
        Some(GroupEvent::Deleted) => {
            model.remove(&m.conv);
            model.notify(text::clean_line(&m.body).into_owned(), false);
            return;
        }
        _ => {}
    }
    if let Conv::User(u) = &m.conv {
        model.known_users.insert(u.clone());
    }
    model.known_users.insert(m.from.clone());
    let i = model.conversation(&m.conv);
    if model.selected.is_none() {
        select(model, i);
    }
    if let Some(event) = &m.event
        && model.convs[i].last_seq < m.seq
    {
        // Whether the member the event brings in is online: the one added, or
        // the one who joined.
        let member = match event {
            GroupEvent::Added { user } => user,
            _ => &m.from,
        };
        let online = model.online.contains(member) || *member == me;
        model.convs[i].apply_event(event, &m.from, online, m.ts);
    }
    let entry = Entry::from_message(m, &me);
    let (unread_kind, mentions_me) = (entry.is_unread_kind(), entry.mentions_me);
    let conv = &mut model.convs[i];
    let seq = m.seq;
    if !conv.insert(entry) || !unread_kind || seq <= conv.read_upto {
        return;
    }
    conv.unread += 1;
    conv.mention |= mentions_me;
    // What arrives while nobody is looking gets a `── N new ──` line above it.
    let looking = model.selected == Some(i)
        && model.terminal_focused
        && model.popup.is_none()
        && !model.syncing;
    if !looking {
        let conv = &mut model.convs[i];
        conv.new_marker = match conv.new_marker {
            Some((after, n)) if seq > after => Some((after, n + 1)),
            Some(marker) => Some(marker),
            None => Some((seq - 1, 1)),
        };
    }
    // Unread as far as the user knows; `after` clears it at once if it is on screen.
    let direct = !m.conv.is_group();
    if (direct || mentions_me) && !model.terminal_focused && !model.muted.contains(&m.conv) {
        fx.push(Effect::Bell);
    }
}

fn on_conversations(model: &mut Model, list: Vec<ConvSummary>) {
    let first = list.first().map(|s| s.conv.clone());
    for s in list {
        if let Conv::User(u) = &s.conv {
            model.known_users.insert(u.clone());
        }
        let i = model.conversation(&s.conv);
        let c = &mut model.convs[i];
        c.read_upto = c.read_upto.max(s.read);
        c.last_seq = c.last_seq.max(s.last_seq);
        c.last_ts = c.last_ts.max(s.last_ts);
        if !c.opened {
            c.unread = s.unread;
        }
        c.online = s.online;
        c.last_seen = s.last_seen;
        c.members = s.members;
        c.owner = s.owner;
    }
    if model.selected.is_none()
        && let Some(conv) = first
        && let Some(i) = model.find(&conv)
    {
        select(model, i);
    }
}
