//! What the client task reports: messages, receipts, replies, the connection.
//!
//! Layout: [`groups`] (group replies and what membership events say to you),
//! [`presence`] (who is online, and telling you when what you send waits for
//! someone offline), [`changes`] (edits, deletions and reactions: arriving,
//! in pages, refused), [`alerts`] (the bell and desktop notifications). This file holds
//! the dispatch of every server message, messages and history, and refusals.

mod alerts;
mod changes;
mod groups;
mod presence;

use classchat_common::protocol::{ChatMessage, ConvSummary, GroupEvent};
use classchat_common::{ClientMessage, Conv, ErrorCode, MessageId, ServerMessage, Timestamp};

use super::files;
use super::{input::replace_text, select};
use crate::client::{Event, Link};
use crate::config::UnsentMessage;
use crate::message::Effect;
use crate::model::{Asked, Change, Entry, Focus, LinkState, Model, Popup};
use crate::text;
use crate::tracker::Update;

pub fn on_event(model: &mut Model, event: Event, fx: &mut Vec<Effect>) {
    match event {
        Event::Server(msg) => on_server(model, msg, fx),
        Event::Status(update) => on_status(model, &update),
        Event::Refreshed { conv, messages } => refreshed(model, &conv, &messages),
        Event::Retrying { .. } => {}
        Event::Transfer(progress) => files::on_progress(model, progress),
        Event::Unsent(m) => unsent(model, &m),
        Event::Link(Link::Connected { user, limits }) => {
            model.link = LinkState::Connected;
            model.max_body = limits.max_body;
            model.min_password = limits.min_password;
            // Logged in again with the password typed in the form.
            if model.login.as_ref().is_some_and(|f| f.again) {
                model.login = None;
            }
            model.syncing = true;
            // Whatever went wrong with the old connection is over, and what
            // it was asked will not be answered.
            model.forget_read_errors();
            model.asked.retain(|_, a| !matches!(a, Asked::Roster(_)));
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

/// A message typed before the client last stopped, going out again: shown as
/// sending at the end of its conversation, as when it was typed; an edit or
/// a deletion waits, as then, to change its message once stored.
fn unsent(model: &mut Model, m: &UnsentMessage) {
    let Some(me) = model.me.clone() else { return };
    let i = model.conversation(&m.to);
    let conv = &mut model.convs[i];
    if let Some(change) = m.target.and_then(|t| Change::sent(t, &m.body, &me)) {
        if conv.changing.iter().all(|(id, _)| *id != m.id) {
            conv.changing.push((m.id, change));
        }
        return;
    }
    if conv.by_id_mut(m.id).is_none() {
        let reply = m.target.and_then(|t| conv.quote(t.seq()));
        conv.entries.push(Entry {
            reply: reply.map(Box::new),
            ..Entry::sending(m.id, me, &m.body, model.now)
        });
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

/// One arm per kind of server message, and no catch-all: a new kind does not
/// compile until it is given a place here.
fn on_server(model: &mut Model, msg: ServerMessage, fx: &mut Vec<Effect>) {
    let asked = msg.req().and_then(|req| model.asked.remove(&req));
    match msg {
        ServerMessage::Message(m) => on_message(model, &m, fx),
        ServerMessage::Stored {
            id,
            conv,
            seq,
            ts,
            online,
            last_seen,
            ..
        } => {
            if let Some(i) = model.find(&conv)
                && let Some(me) = model.me.clone()
            {
                model.convs[i].stored(id, seq, ts, &me);
            }
            presence::stored(model, &conv, online, last_seen);
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
        ServerMessage::ReadMarked { conv, seq, .. } => {
            if let Some(i) = model.find(&conv) {
                model.convs[i].mark_read(seq);
            }
        }
        ServerMessage::History {
            conv,
            messages,
            more,
            ..
        } => history(model, &conv, &messages, more, asked.as_ref(), fx),
        ServerMessage::Conversations { conversations, .. } => {
            on_conversations(model, conversations);
        }
        ServerMessage::Presence {
            user,
            online,
            last_seen,
        } => {
            if !online {
                super::typing::gone(model, &user);
            }
            presence::changed(model, &user, online, last_seen);
        }
        ServerMessage::Online { total } => presence::total(model, total),
        ServerMessage::Typing { conv, user } => super::typing::heard(model, &conv, &user),
        ServerMessage::Who { online, total, .. } => {
            presence::who(model, online, total, asked.as_ref());
        }
        ServerMessage::User {
            user,
            online,
            last_seen,
            ..
        } => presence::user(model, &user, online, last_seen, asked.as_ref()),
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
        ServerMessage::Group { info, .. } => groups::reply(model, &info, asked),
        ServerMessage::GroupDeleted { group, .. } => groups::deleted(model, &group),
        ServerMessage::Groups { groups, .. } => groups::listed(model, groups),
        ServerMessage::Members {
            group,
            owner,
            members,
            total,
            banned,
            ..
        } => groups::members(
            model,
            groups::Roster {
                group,
                owner,
                members,
                total,
                banned,
            },
            asked.as_ref(),
        ),
        ServerMessage::Error { req, message, .. } if asked == Some(Asked::Search) => {
            super::search::refused(model, req, &message);
        }
        ServerMessage::Error {
            message, id, code, ..
        } => error(model, &message, id, code, asked.as_ref()),
        ServerMessage::PasswordChanged { .. } => super::password::changed(model, fx),
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
        ServerMessage::Uploaded { offer, conv, .. } => {
            model.offers.sent.entry(offer).or_default();
            presence::offered(model, &conv);
        }
        ServerMessage::Synced { messages } => synced(model, messages),
        ServerMessage::Search {
            req,
            messages,
            next,
        } => super::search::found(model, req, messages, next),
        // The connection and the client task deal with these (the login, the
        // bytes of transfers, keeping the link alive); nothing shows them.
        ServerMessage::Welcome { .. }
        | ServerMessage::LoggedIn { .. }
        | ServerMessage::UploadReady { .. }
        | ServerMessage::ChunkAck { .. }
        | ServerMessage::Download { .. }
        | ServerMessage::FileChunk { .. }
        | ServerMessage::Transfer { .. }
        | ServerMessage::TransferDone { .. }
        | ServerMessage::Ping
        | ServerMessage::Pong
        | ServerMessage::Bye => {}
    }
}

/// The catch-up is over: say how much came, unless a notice about a
/// conversation came with it (a group you were removed from, or that was
/// deleted, comes first in the catch-up, and `synced` counts it too): that
/// says more, and stays.
fn synced(model: &mut Model, messages: u64) {
    model.syncing = false;
    if messages == 0 || model.notice.as_ref().is_some_and(|n| n.about.is_some()) {
        return;
    }
    let plural = if messages == 1 { "" } else { "s" };
    model.notify(
        format!("{messages} message{plural} arrived while you were away"),
        false,
    );
}

/// A page of `conv`: the newest when it was opened, an older one as the user
/// scrolls up (or goes to a quoted message), or one typed `/history`. A
/// selected message stays selected, wherever the page puts it.
fn history(
    model: &mut Model,
    conv: &Conv,
    messages: &[ChatMessage],
    more: bool,
    asked: Option<&Asked>,
    fx: &mut Vec<Effect>,
) {
    if let Some(Asked::Pinned { seq, .. }) = asked {
        return super::pins::fetched(model, conv, *seq, messages);
    }
    let Some(me) = model.me.clone() else { return };
    let Some(i) = model.find(conv) else { return };
    let (entries, changes) = changes::split(messages, &me);
    let focused = match model.focus {
        Focus::Messages(at) if model.selected == Some(i) => {
            model.convs[i].entries.get(at).map(|e| e.id)
        }
        _ => None,
    };
    let c = &mut model.convs[i];
    c.loading = false;
    c.more_older = more;
    match asked {
        // Its edits and deletions are older than what is loaded, whose
        // messages came as they stand now: nothing to apply.
        Some(Asked::Older(_)) => c.prepend(entries),
        _ => {
            for e in entries {
                c.insert(e);
            }
            for (line, change, ts) in &changes {
                c.apply(*line, change, *ts, &me);
            }
        }
    }
    if c.unread > 0 {
        c.unread = c.unread.max(c.count_unread());
    }
    if let Some(at) = focused.and_then(|id| c.entries.iter().position(|e| e.id == id)) {
        model.focus = Focus::Messages(at);
    }
    files::outcomes(model, messages);
    super::selection::seek_on(model, i, fx);
}

/// What the client task read back after a reconnect: missed messages go in
/// their places, and offers show how they went.
fn refreshed(model: &mut Model, conv: &Conv, messages: &[ChatMessage]) {
    let Some(me) = model.me.clone() else { return };
    if messages.is_empty() {
        return;
    }
    let i = model.conversation(conv);
    let c = &mut model.convs[i];
    // In order, so the newest change to a message is the one that stays.
    for m in messages {
        match Change::of(m) {
            Some(change) => c.apply(m.seq, &change, m.ts, &me),
            None => {
                c.insert(Entry::from_message(m, &me));
            }
        }
    }
    if model.selected.is_none() {
        select(model, i);
    }
    files::outcomes(model, messages);
}

/// `error`: a request or message refused, or the connection about to close.
fn error(
    model: &mut Model,
    message: &str,
    id: Option<MessageId>,
    code: ErrorCode,
    asked: Option<&Asked>,
) {
    let message = text::clean_line(message).into_owned();
    if asked == Some(&Asked::Password) && super::password::refused(model, &message) {
        return;
    }
    if let Some(Asked::Roster(_)) = asked {
        // Bookkeeping: the roster keeps its guess until the group is opened.
        return;
    }
    if let Some(id) = id {
        return refused(model, id, code, message);
    }
    if let Some(Asked::Command(text)) = asked
        && model.input().is_empty()
    {
        // The command failed: give the typed text back to fix it.
        replace_text(model.input_mut(), text);
    }
    if let Some(Asked::Pinned { conv, seq }) = asked {
        super::pins::missing(model, conv, *seq);
    }
    if let Some(Asked::Older(conv) | Asked::Recent(conv)) = asked {
        if let Some(i) = model.find(conv) {
            model.convs[i].loading = false;
        }
        // `/history nobody`, say: the conversation only ever existed here.
        if names_nobody(code, conv)
            && let Some(back) = forget_unknown(model, conv)
        {
            return model.notify_about(conv, format!("{message}{back}"), true);
        }
    }
    model.notify(message, true);
}

/// Asks for the members of group `convs[i]` again, unless its roster was
/// never loaded (opening the group loads it) or is being asked for already.
fn ask_roster(model: &mut Model, i: usize, fx: &mut Vec<Effect>) {
    let c = &model.convs[i];
    let Conv::Group(group) = &c.conv else { return };
    if c.roster.is_none() {
        return;
    }
    let asked = Asked::Roster(group.clone());
    if model.asked.values().any(|a| *a == asked) {
        return;
    }
    let group = group.clone();
    let req = model.ask(asked);
    fx.push(Effect::Ask(ClientMessage::Members {
        req: Some(req),
        group,
    }));
}

fn on_message(model: &mut Model, m: &ChatMessage, fx: &mut Vec<Effect>) {
    on_chat(model, m, fx);
    if m.file.is_some() {
        files::offer_arrived(model, m);
    }
}

fn on_chat(model: &mut Model, m: &ChatMessage, fx: &mut Vec<Effect>) {
    let Some(me) = model.me.clone() else { return };
    if let Some(change) = Change::of(m) {
        return changes::arrived(model, m, &change, &me);
    }
    match &m.event {
        Some(GroupEvent::Renamed { old, new }) => {
            model.rename(&Conv::Group(old.clone()), &Conv::Group(new.clone()));
        }
        Some(GroupEvent::Kicked { user, banned }) if *user == me => {
            model.remove(&m.conv);
            let ban = if *banned {
                " and banned you until the owner lifts it"
            } else {
                ""
            };
            model.notify_about(
                &m.conv,
                format!(
                    "{} removed you from {}{ban}",
                    text::clean_line(m.from.as_str()),
                    m.conv
                ),
                true,
            );
            return;
        }
        Some(GroupEvent::Deleted) => {
            model.remove(&m.conv);
            model.notify_about(&m.conv, text::clean_line(&m.body).into_owned(), false);
            return;
        }
        _ => {}
    }
    if let Conv::User(u) = &m.conv {
        model.known_users.insert(u.clone());
    }
    model.known_users.insert(m.from.clone());
    let i = model.conversation(&m.conv);
    // Whoever sent something has stopped typing it.
    model.convs[i].typing.stopped(&m.from);
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
        // Who joins just now is connected: they asked to.
        let live = !model.syncing;
        let online = model.online.contains(member)
            || *member == me
            || (live && matches!(event, GroupEvent::Joined));
        if !online && live && matches!(event, GroupEvent::Added { .. }) {
            // Offline, or someone this client has heard nothing of: the
            // server's roster says which.
            ask_roster(model, i, fx);
        }
        let c = &mut model.convs[i];
        c.apply_event(event, &m.from, &me, online, m.ts);
        if c.posting.is_none() && groups::brings_me_in(event, &m.from, &me) {
            // Who may post there comes with the conversation list.
            let req = model.ask(Asked::Quiet);
            fx.push(Effect::Ask(ClientMessage::Conversations { req: Some(req) }));
        }
        if let Some(news) = groups::news_for_me(event, &m.from, &me, &m.conv) {
            model.notify_about(&m.conv, news, false);
        }
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
    alerts::arrived(model, i, &m.from, mentions_me, fx);
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
        c.set_rules(s.posting, s.role);
        c.pins.set(&s.pinned);
    }
    if model.selected.is_none()
        && let Some(conv) = first
        && let Some(i) = model.find(&conv)
    {
        select(model, i);
    }
}

/// The server refused message `id` for good. A message to someone who does not
/// exist takes its conversation with it (when nothing else was ever in it) and
/// comes back to the input; any other refusal stays in the history as failed,
/// with its reason under it.
fn refused(model: &mut Model, id: MessageId, code: ErrorCode, message: String) {
    if changes::refused(model, id, &message) {
        return;
    }
    let Some(i) = model
        .convs
        .iter()
        .position(|c| c.entries.iter().any(|e| e.id == id))
    else {
        return model.notify(message, true);
    };
    let conv = model.convs[i].conv.clone();
    if names_nobody(code, &conv)
        && let Some(back) = forget_unknown(model, &conv)
    {
        return model.notify_about(&conv, format!("{message}{back}"), true);
    }
    if let Some(entry) = model.convs[i].by_id_mut(id) {
        entry.failure = Some(message.clone());
    }
    model.notify_about(&conv, message, true);
}

/// Whether `code` says that `conv`'s user or group does not exist.
fn names_nobody(code: ErrorCode, conv: &Conv) -> bool {
    matches!(
        (code, conv),
        (ErrorCode::UnknownUser, Conv::User(_)) | (ErrorCode::UnknownGroup, Conv::Group(_))
    )
}

/// `conv` names nobody on the server. If it holds nothing the server sent, it
/// was only ever made here (by `/msg nobody hi`): it goes, and what was being
/// sent to it comes back to the input as a `/msg` to correct. Returns what the
/// notice should add, or `None` when the conversation stays.
fn forget_unknown(model: &mut Model, conv: &Conv) -> Option<String> {
    let c = &model.convs[model.find(conv)?];
    if c.stored_len() > 0 || c.last_seq > 0 {
        return None;
    }
    let unsent: Vec<&str> = c
        .entries
        .iter()
        .filter(|e| e.mine && e.seq.is_none())
        .map(|e| e.body.as_str())
        .collect();
    let line = (!unsent.is_empty()).then(|| format!("/msg {conv} {}", unsent.join("\n")));
    let was_open = model.current().is_some_and(|c| c.conv == *conv);
    model.remove(conv);
    if was_open {
        // Back to where the user was, not to whichever conversation was next
        // to this one (opening it would mark it read).
        model.selected = None;
        if let Some(i) = model.previous.clone().and_then(|p| model.find(&p)) {
            select(model, i);
        }
    }
    match conv {
        Conv::User(u) => {
            model.known_users.remove(u);
        }
        Conv::Group(g) => {
            model.known_groups.remove(g);
        }
    }
    let Some(line) = line else {
        return Some(String::new());
    };
    if model.input().is_empty() {
        replace_text(model.input_mut(), &line);
        return Some(" — your message is back in the input to correct".into());
    }
    // Never over a draft: Up in an empty input brings it back instead.
    if model.sent.back() != Some(&line) {
        model.sent.push_back(line);
    }
    Some(" — Up (in an empty input) brings your message back".into())
}
