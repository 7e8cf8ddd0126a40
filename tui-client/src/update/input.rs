//! The input bar: Enter sends text (a reply, in reply mode), an edit (in edit
//! mode) or runs a command, Tab completes, Up and Down recall what was sent
//! before.

use classchat_common::{Conv, MessageId};
use ratatui_textarea::TextArea;

use super::{files, select, selection};
use crate::commands::{self, Arg, COMMANDS, Command, CommandError, Intent, Spec, TooLong};
use crate::layout::files::typed_path;
use crate::message::Effect;
use crate::model::{Asked, Change, Completion, Composing, Entry, Model, Popup, Scroll, input_area};
use crate::outbox::Target;

/// Sent lines kept for recall.
const RECALL_MAX: usize = 200;

/// Replaces what an input holds, keeping its placeholder.
pub fn replace_text(area: &mut TextArea<'static>, text: &str) {
    let placeholder = area.placeholder_text().to_owned();
    let mask = area.mask_char();
    let mut fresh = input_area(&placeholder);
    if let Some(mask) = mask {
        fresh.set_mask_char(mask);
    }
    fresh.insert_str(text);
    *area = fresh;
}

fn remember(model: &mut Model, text: &str) {
    if model.sent.back().map(String::as_str) != Some(text) {
        model.sent.push_back(text.to_owned());
        if model.sent.len() > RECALL_MAX {
            model.sent.pop_front();
        }
    }
    model.recall = None;
}

/// Enter: a slash command runs; anything else goes to the open conversation.
/// A command that cannot be parsed, or a message too long to send, leaves the
/// text in place with the reason.
pub fn submit(model: &mut Model, fx: &mut Vec<Effect>) {
    model.completion = None;
    let text = model.input().lines().join("\n");
    let editing = model.current().and_then(|c| match c.composing {
        Some(Composing::Edit { seq, .. }) => Some(seq),
        _ => None,
    });
    if let Some(seq) = editing {
        return submit_edit(model, seq, text, fx);
    }
    if text.trim().is_empty() {
        return;
    }
    // `//` sends a message that starts with `/`.
    if let Some(rest) = text.strip_prefix("//") {
        let body = format!("/{rest}");
        return send_here(model, &text, body, fx);
    }
    if !text.starts_with('/') {
        return send_here(model, &text, text.clone(), fx);
    }
    // Up recalls what was typed, which goes to whatever is open then.
    let typed = text.clone();
    let text = fill_in_open(model, text);
    let command = match commands::parse(&text) {
        // Passwords typed in the input would show, and stay in what Up recalls.
        Ok(Command::Passwd { change: Some(_) }) | Err(CommandError::Usage { .. })
            if is_passwd(&text) =>
        {
            replace_text(model.input_mut(), "");
            return model.notify(
                "type /passwd alone: a form asks for the passwords without showing them",
                true,
            );
        }
        Ok(command) => command,
        Err(e) => {
            let hint = match e {
                CommandError::Unknown(_) => {
                    format!("{e} (start with // to send a message beginning with /)")
                }
                _ => e.to_string(),
            };
            model.notify(hint, true);
            return;
        }
    };
    if let Command::Msg { body, .. } | Command::Reply { body, .. } | Command::Edit { body, .. } =
        &command
        && refuse_too_long(model, body)
    {
        return;
    }
    if let Command::Msg { to, .. }
    | Command::Reply { to, .. }
    | Command::Edit { to, .. }
    | Command::SendFile { to, .. } = &command
        && refuse_posting(model, to)
    {
        return;
    }
    replace_text(model.input_mut(), "");
    remember(model, &typed);
    run(model, command, text, fx);
}

/// `/sendfile` alone offers a file in the open conversation, and `/members`
/// alone lists the open group's members: the conversation is filled in here,
/// since the parser (and so pipe mode, which has no open conversation) wants
/// it named.
fn fill_in_open(model: &Model, text: String) -> String {
    let alone = text.trim();
    match model.current().map(|c| &c.conv) {
        Some(conv) if alone.eq_ignore_ascii_case("/sendfile") => format!("/sendfile {conv}"),
        Some(Conv::Group(group)) if alone.eq_ignore_ascii_case("/members") => {
            format!("/members {group}")
        }
        _ => text,
    }
}

fn is_passwd(text: &str) -> bool {
    text.split_whitespace()
        .next()
        .is_some_and(|c| c.eq_ignore_ascii_case("/passwd"))
}

fn run(model: &mut Model, command: Command, text: String, fx: &mut Vec<Effect>) {
    match command {
        Command::Msg { to, body } => {
            let index = model.conversation(&to);
            select(model, index);
            send(model, index, body, None, fx);
        }
        Command::Unsend { to, seq } => super::confirm::unsend(model, to, seq),
        Command::History { conv, .. } => {
            // The conversation view is the history: open it and scroll back.
            let index = model.conversation(&conv);
            select(model, index);
        }
        Command::Mute => {
            let Some(conv) = model.current().map(|c| c.conv.clone()) else {
                return model.notify("open a conversation to mute it", true);
            };
            if model.muted.remove(&conv) {
                model.notify(format!("{conv}: bell on"), false);
            } else {
                model.notify(format!("{conv}: muted (no bell)"), false);
                model.muted.insert(conv);
            }
        }
        Command::Search {
            words,
            conv,
            before,
        } => super::search::open(model, Some(words), conv, before, fx),
        Command::Decline { offer } => files::decline(model, offer, Some(text), fx),
        Command::Delete { group } => super::confirm::delete(model, group, text),
        other => {
            let req = model.ask(Asked::Command(text));
            let intent = other.into_intent(req);
            if !matches!(intent, Intent::Ask(_)) {
                // Nothing goes to the server under this number.
                model.asked.remove(&req);
            }
            match intent {
                Intent::Ask(request) => fx.push(Effect::Ask(request)),
                Intent::Help => model.popup = Some(Popup::Help { scroll: 0 }),
                Intent::Quit => super::confirm::quit(model, fx),
                Intent::Send { to, body, target } => {
                    let index = model.conversation(&to);
                    send(model, index, body, target, fx);
                }
                Intent::Mute => {}
                Intent::PasswordForm => super::password::open(model),
                Intent::Pins { group } => super::pins::open(model, group, fx),
                Intent::SendFile {
                    to,
                    path: Some(path),
                } => {
                    let path = typed_path(&path.to_string_lossy(), model.home.as_deref());
                    files::send(model, to, path, fx);
                }
                Intent::SendFile { to, path: None } => files::open_picker(model, to),
                Intent::Accept { offer, dir } => {
                    let dir = dir.map(|d| typed_path(&d.to_string_lossy(), model.home.as_deref()));
                    files::accept(model, offer, dir, fx);
                }
                Intent::Cancel { offer } => fx.push(Effect::CancelTransfer {
                    local: None,
                    offer: Some(offer),
                }),
            }
        }
    }
}

fn send_here(model: &mut Model, typed: &str, body: String, fx: &mut Vec<Effect>) {
    let Some(index) = model.selected else {
        model.notify(
            "no conversation is open: use /msg <user> <text>, or Ctrl+K to pick one",
            true,
        );
        return;
    };
    let to = model.convs[index].conv.clone();
    if refuse_too_long(model, &body) || refuse_posting(model, &to) {
        return;
    }
    replace_text(model.input_mut(), "");
    remember(model, typed);
    let conv = &mut model.convs[index];
    let target = match &conv.composing {
        Some(Composing::Reply(quote)) => Some(Target::Reply(quote.seq)),
        _ => None,
    };
    if target.is_some() {
        // The next message is plain again.
        conv.composing = None;
    }
    send(model, index, body, target, fx);
}

/// Enter in edit mode: the draft is the message's new text. The draft typed
/// before the edit comes back; an unchanged text sends nothing.
fn submit_edit(model: &mut Model, seq: u64, text: String, fx: &mut Vec<Effect>) {
    let Some(index) = model.selected else { return };
    if text.trim().is_empty() {
        let why = "an edit cannot be empty: Esc keeps the message as it is (d on it deletes it)";
        return model.notify(why, true);
    }
    if refuse_too_long(model, &text) {
        return;
    }
    let conv = &mut model.convs[index];
    let unchanged = conv
        .search(seq)
        .is_ok_and(|at| conv.entries[at].body == text);
    selection::stop_composing(conv);
    if !unchanged {
        send(model, index, text, Some(Target::Edit(seq)), fx);
    }
}

/// Where you may not post (an announcement group, to a plain member), what
/// you would post is refused here rather than by the server: the text stays
/// in the input, and the notice says why. Returns whether it was refused.
fn refuse_posting(model: &mut Model, to: &Conv) -> bool {
    let Some(i) = model.find(to) else {
        return false;
    };
    if model.convs[i].may_post() {
        return false;
    }
    let why = format!("only the owner and moderators post in {to}; you may read and use commands");
    model.notify_about(to, why, true);
    true
}

/// A body over the limit the server announced would be refused, so it is not
/// sent at all: the text stays in the input to be shortened, and the notice
/// says by how much. Returns whether it was refused.
fn refuse_too_long(model: &mut Model, body: &str) -> bool {
    let Err(too_long) = TooLong::check(body, model.max_body) else {
        return false;
    };
    model.notify(too_long.to_string(), true);
    true
}

/// Asks for a message to be sent, and shows it: text (a reply with the
/// quote of what it answers) as sending at the end of its conversation; an
/// edit or a deletion as waiting to change its message once stored; a
/// reaction on its message at once.
pub fn send(
    model: &mut Model,
    index: usize,
    body: String,
    target: Option<Target>,
    fx: &mut Vec<Effect>,
) {
    let Some(me) = model.me.clone() else { return };
    let id = MessageId::new();
    let conv = &mut model.convs[index];
    match target.and_then(|t| Change::sent(t, &body, &me)) {
        Some(change) => conv.changing.push((id, change)),
        None => {
            let reply = target.and_then(|t| conv.quote(t.seq()));
            conv.entries.push(Entry {
                reply: reply.map(Box::new),
                ..Entry::sending(id, me, &body, model.now)
            });
            conv.scroll = Scroll::Bottom;
        }
    }
    fx.push(Effect::Send {
        id,
        to: conv.conv.clone(),
        body,
        target,
    });
}

/// Up (`back`) and Down through what was sent before.
pub fn recall(model: &mut Model, back: bool) {
    let n = model.sent.len();
    if n == 0 {
        return;
    }
    let next = match (model.recall, back) {
        (None, true) => Some(n - 1),
        (None, false) => None,
        (Some(i), true) => Some(i.saturating_sub(1)),
        (Some(i), false) if i + 1 < n => Some(i + 1),
        (Some(_), false) => None,
    };
    let text = next
        .and_then(|i| model.sent.get(i))
        .cloned()
        .unwrap_or_default();
    replace_text(model.input_mut(), &text);
    model.recall = next;
}

/// Tab: completes the word before the cursor: a command, then user and group
/// names as the command's arguments expect; in text, user names (`@na` to
/// `@name`: the people of the conversation first). Pressing Tab again cycles
/// through the candidates. Returns whether the text changed.
pub fn complete(model: &mut Model) -> bool {
    let ratatui_textarea::DataCursor(row, col) = model.input().cursor();
    let Some(line) = model.input().lines().get(row).cloned() else {
        return false;
    };
    let before: String = line.chars().take(col).collect();
    let start = path_start(&before)
        .unwrap_or_else(|| before.rfind(char::is_whitespace).map_or(0, |i| i + 1));
    let word = &before[start..];

    if let Some(done) = model
        .completion
        .as_mut()
        .filter(|c| c.start == start && c.candidates.get(c.index).is_some_and(|w| w == word))
    {
        done.index = (done.index + 1) % done.candidates.len();
        let next = done.candidates[done.index].clone();
        put_word(model, word, &next);
        return true;
    }
    let candidates = candidates(model, &before, start, word);
    match candidates.len() {
        0 => {
            model.completion = None;
            return false;
        }
        1 => {
            // A folder is completed into, to go on typing the rest of the path.
            let only = if candidates[0].ends_with('/') {
                candidates[0].clone()
            } else {
                format!("{} ", candidates[0])
            };
            model.completion = None;
            put_word(model, word, &only);
        }
        _ => {
            let first = candidates[0].clone();
            model.completion = Some(Completion {
                candidates,
                index: 0,
                start,
            });
            put_word(model, word, &first);
        }
    }
    true
}

/// User names that complete `word` in a message's text: `@na` (or `na`) to
/// `@name` (`name`). The people of `here` come first (a group's members, the
/// other one of a direct conversation), then everyone else the client knows
/// of; never you. A bare `@` lists the people of `here`.
fn mentions(model: &Model, here: Option<&Conv>, word: &str) -> Vec<String> {
    let (at, bare) = match word.strip_prefix('@') {
        Some(bare) => ("@", bare),
        None if word.is_empty() => return Vec::new(),
        None => ("", word),
    };
    let bare = bare.to_lowercase();
    let place = here.and_then(|c| model.find(c)).map(|i| &model.convs[i]);
    let mut people: Vec<&classchat_common::Username> = match place.map(|c| &c.conv) {
        Some(Conv::User(u)) => vec![u],
        _ => place
            .and_then(|c| c.roster.as_ref())
            .map(|r| r.iter().map(|m| &m.user).collect())
            .unwrap_or_default(),
    };
    if !bare.is_empty() {
        people.extend(model.known_users.iter());
    }
    let mut seen = std::collections::HashSet::new();
    people
        .into_iter()
        .filter(|u| Some(*u) != model.me.as_ref() && seen.insert(*u))
        .map(ToString::to_string)
        .filter(|u| u.to_lowercase().starts_with(&bare) && format!("{at}{u}") != word)
        .map(|u| format!("{at}{u}"))
        .collect()
}

/// Where a path argument starts in `before`, if the cursor is in one: a path
/// is the rest of the line, spaces and all.
fn path_start(before: &str) -> Option<usize> {
    let rest = before.strip_prefix('/')?;
    let name_end = rest.find(char::is_whitespace)?;
    let spec = commands::spec(&rest[..name_end].to_ascii_lowercase())?;
    let k = spec.args.iter().position(|a| *a == Arg::Path)?;
    let spaces = |at: usize| {
        let s = &before[at..];
        s.len() - s.trim_start().len()
    };
    let mut at = 1 + name_end;
    for _ in 0..k {
        at += spaces(at);
        at += before[at..].find(char::is_whitespace)?;
    }
    let gap = spaces(at);
    (gap > 0).then_some(at + gap)
}

fn put_word(model: &mut Model, old: &str, new: &str) {
    let area = model.input_mut();
    for _ in 0..old.chars().count() {
        area.delete_char();
    }
    area.insert_str(new);
}

/// Which of `spec`'s arguments `word` is, after the words in `typed`
/// (the command's among them). Options (`--x`) may come anywhere after the
/// first argument and are not counted; a list of users, or a message's text,
/// goes on as long as the line does.
fn arg_at(spec: &Spec, typed: &str, word: &str) -> Option<Arg> {
    let flags = spec.args.iter().find_map(|a| match a {
        Arg::Flags(f) => Some(*f),
        _ => None,
    });
    let is_flag = |w: &str| flags.is_some() && w.starts_with("--");
    let index = typed
        .split_whitespace()
        .skip(1)
        .filter(|w| !is_flag(w))
        .count();
    if let Some(f) = flags
        && index > 0
        && word.starts_with('-')
    {
        return Some(Arg::Flags(f));
    }
    let mut positional = spec.args.iter().filter(|a| !matches!(a, Arg::Flags(_)));
    let last = positional
        .clone()
        .next_back()
        .filter(|a| matches!(a, Arg::Users | Arg::Text));
    positional.nth(index).or(last).copied()
}

fn candidates(model: &Model, before: &str, start: usize, word: &str) -> Vec<String> {
    let lower = word.to_lowercase();
    let matching = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|n| n.to_lowercase().starts_with(&lower) && n != word)
            .collect()
    };
    let users = || -> Vec<String> {
        model
            .known_users
            .iter()
            .filter(|u| Some(*u) != model.me.as_ref())
            .map(ToString::to_string)
            .collect()
    };
    let groups = |hash: bool| -> Vec<String> {
        model
            .known_groups
            .iter()
            .map(|g| if hash { format!("#{g}") } else { g.to_string() })
            .collect()
    };
    if !before.starts_with('/') {
        return mentions(model, model.current().map(|c| &c.conv), word);
    }
    if start == 0 {
        return matching(COMMANDS.iter().map(|s| format!("/{}", s.name)).collect());
    }
    let mut words = before[1..].split_whitespace();
    let Some(spec) = words.next().and_then(commands::spec) else {
        return Vec::new();
    };
    match arg_at(spec, &before[..start], word) {
        Some(Arg::Conv) => {
            let mut all = groups(true);
            all.extend(users());
            matching(all)
        }
        Some(Arg::User | Arg::Users) => matching(users()),
        Some(Arg::Path) => {
            files::path_candidates(word, model.home.as_deref(), spec.name == "accept")
        }
        Some(Arg::Offer) => files::offer_candidates(model, word, spec.name),
        // `/msg #lab see you @ca`: the people of the conversation named first.
        Some(Arg::Text) if word.starts_with('@') => {
            let named = before[1..]
                .split_whitespace()
                .nth(1)
                .and_then(|w| w.parse::<Conv>().ok());
            mentions(model, named.as_ref(), word)
        }
        Some(Arg::Choice(words) | Arg::Flags(words)) => {
            matching(words.iter().map(ToString::to_string).collect())
        }
        Some(Arg::Group) => {
            let bare = word.strip_prefix('#').unwrap_or(word).to_lowercase();
            groups(false)
                .into_iter()
                .filter(|g| g.to_lowercase().starts_with(&bare) && g != word)
                .map(|g| {
                    if word.starts_with('#') {
                        format!("#{g}")
                    } else {
                        g
                    }
                })
                .collect()
        }
        _ => Vec::new(),
    }
}
