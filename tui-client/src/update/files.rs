//! Files: the picker, offers arriving and being answered, the transfers view,
//! what the server and the client task say about files, and Tab completion of
//! paths and offer ids.

use std::path::{Path, PathBuf};

use classchat_common::files::{human_size, safe_name};
use classchat_common::protocol::{ChatMessage, FileCounts, FileState, OfferSummary};
use classchat_common::{ClientMessage, Conv, OfferId, Username};
use crossterm::event::{KeyCode, KeyEvent};

use crate::client::{Progress, TransferState};
use crate::keymap::Action;
use crate::layout::files::{shown_path, typed_path};
use crate::message::Effect;
use crate::model::picker::{self, Kind};
use crate::model::{Asked, Model, Picker, Popup};
use crate::text;

/// How a key reads in notices: as bound, or the command that does the same.
fn key_for(model: &Model, action: Action, fallback: &str) -> String {
    model
        .keymap
        .keys(action)
        .first()
        .map_or_else(|| fallback.to_owned(), ToString::to_string)
}

fn shown_name(name: &str) -> String {
    text::clean_line(&safe_name(name)).into_owned()
}

// ---- sending -------------------------------------------------------------------

pub fn open_picker(model: &mut Model, to: Conv) {
    let dir = model.picker_dir.clone();
    model.popup = Some(Popup::Picker(Box::new(Picker::open(to, &dir))));
}

/// Offers the file at `path` to `to`.
pub fn send(model: &mut Model, to: Conv, path: PathBuf, fx: &mut Vec<Effect>) {
    let name = path
        .file_name()
        .map(|n| shown_name(&n.to_string_lossy()))
        .unwrap_or_default();
    let local = crate::client::transfer_number();
    let key = key_for(model, Action::Transfers, "Ctrl+T");
    model.notify(
        format!(
            "sending {name} to {} — {key} shows progress",
            text::clean_line(&to.to_string())
        ),
        false,
    );
    fx.push(Effect::SendFile { local, to, path });
}

/// Keys while the picker shows.
pub fn picker_key(model: &mut Model, key: KeyEvent, action: Option<Action>, fx: &mut Vec<Effect>) {
    let Some(Popup::Picker(p)) = model.popup.as_mut() else {
        return;
    };
    let rows = p.visible().len();
    match key.code {
        _ if action == Some(Action::Close) => model.popup = None,
        KeyCode::Up => p.selected = p.selected.saturating_sub(1),
        KeyCode::Down => p.selected = (p.selected + 1).min(rows.saturating_sub(1)),
        KeyCode::PageUp => p.selected = p.selected.saturating_sub(10),
        KeyCode::PageDown => p.selected = (p.selected + 10).min(rows.saturating_sub(1)),
        KeyCode::Backspace if p.query().is_empty() => p.go_up(),
        KeyCode::Enter if p.typed(model.home.as_deref()).is_some() => {
            let Some(path) = p.typed(model.home.as_deref()) else {
                return;
            };
            if path.is_dir() {
                p.go(path);
            } else if path.is_file() {
                let to = p.to.clone();
                picked(model, to, path, fx);
            }
            // Anything else: the picker already says nothing is there.
        }
        KeyCode::Enter => {
            let Some(item) = p.chosen().cloned() else {
                return;
            };
            match item.kind {
                Kind::Up => p.go_up(),
                Kind::Folder => {
                    let into = p.dir.join(&item.name);
                    p.go(into);
                }
                Kind::File => {
                    let (to, path) = (p.to.clone(), p.dir.join(&item.name));
                    picked(model, to, path, fx);
                }
            }
        }
        _ => {
            if p.filter.key(key, action) {
                p.selected = 0;
            }
        }
    }
}

/// A file was chosen in the picker: close it, start there next time, send.
fn picked(model: &mut Model, to: Conv, path: PathBuf, fx: &mut Vec<Effect>) {
    model.popup = None;
    if let Some(dir) = path.parent() {
        model.picker_dir = dir.to_path_buf();
    }
    send(model, to, path, fx);
}

// ---- offers to you ---------------------------------------------------------------

/// A file offer came in a live `message`: remember it and announce it. It
/// never opens the offer popup by itself: whatever the user is typing at that
/// moment would land in the popup, where single letters accept or decline.
/// The notice, the status line's count and the line under the offer all say
/// which key answers it (`Ctrl+O`), and nothing is asked until it is pressed.
pub fn offer_arrived(model: &mut Model, m: &ChatMessage) {
    let (Some(me), Some(file)) = (model.me.clone(), m.file.as_ref()) else {
        return;
    };
    if m.from == me {
        model.offers.sent.entry(file.offer).or_default();
        return;
    }
    // Caught up on after this connection's `files` reply, which did not list it:
    // it was answered meanwhile.
    if model.syncing
        && model
            .offers
            .listed
            .as_ref()
            .is_some_and(|open| !open.contains(&file.offer))
    {
        return;
    }
    if !model.offers.arrived(file, &m.conv, &m.from) || file.expires <= model.now {
        return;
    }
    let key = key_for(model, Action::Offers, "/files");
    model.notify(
        format!(
            "{} offers {} ({}) — {key} to answer",
            text::clean_line(m.from.as_str()),
            shown_name(&file.name),
            human_size(file.size)
        ),
        false,
    );
}

/// An offer popup whose offer was forgotten (a `files` listing said it is
/// over) would show nothing yet take the keys: close it.
pub fn tidy(model: &mut Model) {
    if let Some(Popup::Offer { offer, .. }) = &model.popup
        && model.offers.get(*offer).is_none()
    {
        model.popup = None;
    }
}

/// `Ctrl+O`: the oldest offer still waiting for an answer.
pub fn open_offers(model: &mut Model) {
    let first = model
        .offers
        .waiting(&model.transfers, model.now)
        .next()
        .map(|o| o.file.offer);
    match first {
        Some(offer) => model.popup = Some(Popup::offer(offer)),
        None => model.notify("no file offers wait for an answer", false),
    }
}

/// The waiting offer `by` places after (or before) `from`, round the end.
fn step_offer(model: &Model, from: OfferId, by: isize) -> Option<OfferId> {
    let waiting: Vec<OfferId> = model
        .offers
        .waiting(&model.transfers, model.now)
        .map(|o| o.file.offer)
        .collect();
    if waiting.is_empty() {
        return None;
    }
    let at = waiting.iter().position(|o| *o == from);
    let n = waiting.len() as isize;
    let next = match at {
        Some(i) => (i as isize + by).rem_euclid(n),
        None => 0,
    };
    waiting.get(next as usize).copied()
}

/// Keys while an offer shows.
pub fn offer_key(model: &mut Model, key: KeyEvent, action: Option<Action>, fx: &mut Vec<Effect>) {
    let Some(Popup::Offer { offer, save_as }) = model.popup.as_mut() else {
        return;
    };
    let offer = *offer;
    if let Some(folder) = save_as {
        match key.code {
            _ if action == Some(Action::Close) => {
                if let Some(Popup::Offer { save_as, .. }) = model.popup.as_mut() {
                    *save_as = None;
                }
            }
            KeyCode::Enter => {
                let typed = folder.text();
                let dir = if typed.trim().is_empty() {
                    model.download_dir.clone()
                } else {
                    typed_path(&typed, model.home.as_deref())
                };
                model.popup = None;
                accept(model, offer, Some(dir), fx);
            }
            _ => {
                folder.key(key, action);
            }
        }
        return;
    }
    match key.code {
        KeyCode::Char('a') | KeyCode::Enter => {
            model.popup = None;
            accept(model, offer, None, fx);
        }
        KeyCode::Char('s') => {
            let input = Popup::folder_input(&model.download_dir, model.home.as_deref());
            if let Some(Popup::Offer { save_as, .. }) = model.popup.as_mut() {
                *save_as = Some(Box::new(input));
            }
        }
        // Declining is for good: it asks first.
        KeyCode::Char('d') => super::confirm::decline(model, offer),
        KeyCode::Char('l') => model.popup = None,
        _ if action == Some(Action::Close) => model.popup = None,
        KeyCode::Tab | KeyCode::Down | KeyCode::Char('n') => {
            if let Some(next) = step_offer(model, offer, 1) {
                model.popup = Some(Popup::offer(next));
            }
        }
        KeyCode::BackTab | KeyCode::Up | KeyCode::Char('p') => {
            if let Some(next) = step_offer(model, offer, -1) {
                model.popup = Some(Popup::offer(next));
            }
        }
        _ => {}
    }
}

/// Downloads `offer` into `dir` (the download folder when `None`).
pub fn accept(model: &mut Model, offer: OfferId, dir: Option<PathBuf>, fx: &mut Vec<Effect>) {
    let known = model.offers.get_mut(offer).map(|o| {
        o.asked = true;
        (o.conv.clone(), shown_name(&o.file.name))
    });
    let (conv, name) = match known {
        Some(known) => known,
        // Not heard of here (say, typed from another device's list): the open
        // conversation is the best guess of where it is.
        None => match model.current() {
            Some(c) => (c.conv.clone(), "the file".to_owned()),
            None => {
                return model.notify(
                    "unknown offer: open the conversation it is in, or see /files",
                    true,
                );
            }
        },
    };
    let folder = shown_path(
        dir.as_deref().unwrap_or(&model.download_dir),
        model.home.as_deref(),
    );
    let key = key_for(model, Action::Transfers, "Ctrl+T");
    model.notify(
        format!("downloading {name} into {folder} — {key} shows progress"),
        false,
    );
    fx.push(Effect::AcceptFile { offer, conv, dir });
}

/// Refuses `offer`; `typed` is the command that asked, to give back if it fails.
pub fn decline(model: &mut Model, offer: OfferId, typed: Option<String>, fx: &mut Vec<Effect>) {
    let req = model.ask(typed.map_or(Asked::Quiet, Asked::Command));
    if let Some(o) = model.offers.get_mut(offer) {
        o.state = FileState::Declined;
        o.asked = false;
    }
    fx.push(Effect::Ask(ClientMessage::Decline {
        req: Some(req),
        offer,
    }));
}

/// What the `file_status` fields say.
pub struct Status {
    pub offer: OfferId,
    pub name: String,
    pub user: Username,
    pub state: FileState,
    pub counts: FileCounts,
}

/// `file_status`: your own answer confirmed, or a recipient of your offer decided.
pub fn on_status(model: &mut Model, s: &Status) {
    let name = shown_name(&s.name);
    if model.me.as_ref() == Some(&s.user) {
        if let Some(o) = model.offers.get_mut(s.offer) {
            o.state = s.state;
            let conv = o.conv.clone();
            match s.state {
                FileState::Declined => model.notify(format!("declined {name}"), false),
                // Cancelled for you alone: you left its group, or were removed.
                FileState::Cancelled if model.find(&conv).is_none() => {
                    let conv = text::clean_line(&conv.to_string()).into_owned();
                    model.notify(
                        format!(
                            "{name} is no longer offered to you: you are not in {conv} any more"
                        ),
                        false,
                    );
                }
                FileState::Cancelled => {
                    model.notify(format!("{name} was withdrawn by its sender"), false);
                }
                _ => {}
            }
        } else if s.state == FileState::Cancelled {
            model.offers.sent.entry(s.offer).or_default().withdrawn = true;
            model.notify(format!("withdrew {name}"), false);
        }
        return;
    }
    model.offers.sent.entry(s.offer).or_default().counts = Some(s.counts);
    let who = text::clean_line(s.user.as_str()).into_owned();
    let c = s.counts;
    let text = match s.state {
        FileState::Accepted => format!("{who} accepted {name}"),
        FileState::Declined => format!("{who} declined {name}"),
        FileState::Received if c.of > 1 => {
            format!("{who} received {name} ({}/{})", c.received, c.of)
        }
        FileState::Received => format!("{who} received {name}"),
        FileState::Expired => format!("{who} did not answer about {name} in time"),
        FileState::Pending | FileState::Cancelled => return,
    };
    model.notify(text, false);
}

/// `files`: which offers are open. Asked at every connect (quietly), or by `/files`.
pub fn on_files(
    model: &mut Model,
    incoming: Vec<OfferSummary>,
    outgoing: &[OfferSummary],
    asked: Option<&Asked>,
) {
    model.offers.listing(incoming, outgoing);
    if !matches!(asked, Some(Asked::Command(_))) {
        return;
    }
    let first = model
        .offers
        .waiting(&model.transfers, model.now)
        .next()
        .map(|o| o.file.offer);
    // Asked for, so it opens; but not over what was typed or opened since the
    // command went, where the next letters would answer the offer.
    if let Some(offer) = first {
        if model.popup.is_none() && model.input().is_empty() {
            model.popup = Some(Popup::offer(offer));
        } else {
            let key = key_for(model, Action::Offers, "/files");
            model.notify(format!("file offers wait for you — {key} to answer"), false);
        }
        return;
    }
    let yours = match outgoing.len() {
        0 => String::new(),
        1 => "; 1 offer of yours is open".into(),
        n => format!("; {n} offers of yours are open"),
    };
    model.notify(format!("no file offers wait for you{yours}"), false);
}

/// Offers in a page of `history`, each with how it stands now (`outcome`): the
/// lines under them follow, also for offers answered while this client was
/// away or on another of your devices.
pub fn outcomes(model: &mut Model, messages: &[ChatMessage]) {
    let Some(me) = model.me.clone() else { return };
    for m in messages {
        let Some(file) = &m.file else { continue };
        let Some(outcome) = file.outcome.as_deref() else {
            continue;
        };
        if m.from != me {
            if let Some(state) = outcome.state {
                model.offers.outcome(file, &m.conv, &m.from, state);
            }
            continue;
        }
        let c = outcome.counts;
        let sent = model.offers.sent.entry(file.offer).or_default();
        sent.counts = Some(c);
        // Over with answers missing: it ran out, or you withdrew it (perhaps
        // on another device), which only the clock tells apart.
        if outcome.over && c.accepted + c.declined < c.of && !sent.withdrawn {
            if file.expires <= model.now {
                sent.expired = true;
            } else {
                sent.withdrawn = true;
            }
        }
    }
}

/// A transfer moved on: record it, and say so when one ends.
pub fn on_progress(model: &mut Model, progress: Progress) {
    let Some(at) = model.track(progress) else {
        return;
    };
    let p = model.transfers[at].progress.clone();
    let name = text::clean_line(&p.name).into_owned();
    match &p.state {
        TransferState::Saved { path } => {
            if let Some(o) = p.offer.and_then(|o| model.offers.get_mut(o)) {
                o.state = FileState::Received;
                o.asked = false;
            }
            let shown = shown_path(path, model.home.as_deref());
            model.notify(format!("saved {name} to {shown}"), false);
        }
        TransferState::Failed { reason } => {
            let reason = text::clean_line(reason).into_owned();
            model.notify(format!("{name}: {reason}"), true);
        }
        TransferState::Uploaded => {
            model.notify(format!("{name} is sent — waiting for answers"), false);
        }
        TransferState::Cancelled => model.notify(format!("{name}: cancelled"), false),
        _ => {}
    }
}

// ---- the transfers view ------------------------------------------------------------

/// `Ctrl+T`: opens on the first transfer still running, else the newest.
pub fn open_transfers(model: &mut Model) {
    let selected = model
        .transfers
        .iter()
        .position(|t| !t.progress.state.is_over())
        .unwrap_or(model.transfers.len().saturating_sub(1));
    model.popup = Some(Popup::Transfers { selected });
}

pub fn transfers_key(
    model: &mut Model,
    key: KeyEvent,
    action: Option<Action>,
    fx: &mut Vec<Effect>,
) {
    let last = model.transfers.len().saturating_sub(1);
    let Some(Popup::Transfers { selected }) = model.popup.as_mut() else {
        return;
    };
    match key.code {
        _ if action == Some(Action::Close) => model.popup = None,
        KeyCode::Up => *selected = selected.saturating_sub(1),
        KeyCode::Down => *selected = (*selected + 1).min(last),
        KeyCode::Char('c') | KeyCode::Delete => {
            let at = *selected;
            let Some(t) = model.transfers.get(at) else {
                return;
            };
            let p = &t.progress;
            if p.state.is_over() {
                let hint = match (&p.state, p.offer) {
                    (TransferState::Uploaded, Some(offer)) => {
                        format!("it is sent; /cancel {offer} withdraws the offer")
                    }
                    _ => "it is over".to_owned(),
                };
                model.notify(format!("nothing to cancel: {hint}"), false);
                return;
            }
            fx.push(Effect::CancelTransfer {
                local: p.local,
                offer: p.offer,
            });
        }
        _ => {}
    }
}

// ---- Tab completion -------------------------------------------------------------

/// Paths that `word` starts, folders with a trailing `/` (only folders when
/// `folders_only`). Hidden entries only when the name typed starts with `.`.
pub fn path_candidates(word: &str, home: Option<&Path>, folders_only: bool) -> Vec<String> {
    if word == "~" && home.is_some() {
        return vec!["~/".into()];
    }
    let (dir_part, prefix) = match word.rfind('/') {
        Some(i) => word.split_at(i + 1),
        None => ("", word),
    };
    let dir = if dir_part.is_empty() {
        PathBuf::from(".")
    } else {
        typed_path(dir_part, home)
    };
    let Ok(items) = picker::load(&dir) else {
        return Vec::new();
    };
    let lower = prefix.to_lowercase();
    items
        .into_iter()
        .filter(|i| i.kind != Kind::Up && (!i.hidden() || prefix.starts_with('.')))
        .filter(|i| !folders_only || i.kind == Kind::Folder)
        .filter(|i| i.name.to_lowercase().starts_with(&lower))
        .map(|i| {
            let slash = if i.kind == Kind::Folder { "/" } else { "" };
            format!("{dir_part}{}{slash}", i.name)
        })
        .filter(|c| c != word)
        .collect()
}

/// Offer ids for `/accept`, `/decline` (offers waiting for you) and `/cancel`
/// (transfers running, and your open offers), matched by id or by file name.
pub fn offer_candidates(model: &Model, word: &str, command: &str) -> Vec<String> {
    let lower = word.to_lowercase();
    let mut offers: Vec<(OfferId, String)> = Vec::new();
    if command == "cancel" {
        for t in model
            .transfers
            .iter()
            .filter(|t| !t.progress.state.is_over())
        {
            if let Some(offer) = t.progress.offer {
                offers.push((offer, t.progress.name.clone()));
            }
        }
        for (offer, sent) in &model.offers.sent {
            if !sent.withdrawn && !offers.iter().any(|(o, _)| o == offer) {
                offers.push((*offer, String::new()));
            }
        }
    } else {
        offers.extend(
            model
                .offers
                .waiting(&model.transfers, model.now)
                .map(|o| (o.file.offer, o.file.name.clone())),
        );
    }
    offers
        .into_iter()
        .filter(|(offer, name)| {
            offer.to_string().starts_with(&lower) || name.to_lowercase().starts_with(&lower)
        })
        .map(|(offer, _)| offer.to_string())
        .filter(|c| c != word)
        .collect()
}
