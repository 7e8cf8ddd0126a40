//! Pinned messages: `p` on a selected message pins or unpins it (the owner
//! and moderators of a group; anyone else is told so, and nothing is sent);
//! `/pins` lists a group's pinned messages in a popup, fetching those not
//! loaded one by one (`history` after `seq - 1`, one message: there is no
//! request that lists them); Enter there goes to the message in the
//! conversation, loading older pages as a jump to a quote does.

use classchat_common::limits::PINS_MAX;
use classchat_common::protocol::ChatMessage;
use classchat_common::{ClientMessage, Conv, GroupName};
use crossterm::event::{KeyCode, KeyEvent};

use super::selection;
use crate::message::Effect;
use crate::model::{Asked, Change, Entry, Fetched, Model, Popup};

/// `p` on entry `at` of conversation `index`: pins it, or unpins it if pinned.
pub fn toggle(model: &mut Model, index: usize, at: usize, fx: &mut Vec<Effect>) {
    let conv = &model.convs[index];
    let Conv::Group(group) = &conv.conv else {
        return model.notify("only messages in a group can be pinned", false);
    };
    if !conv.moderates() {
        let why = format!(
            "only the owner and moderators of {} pin messages",
            conv.conv
        );
        return model.notify(why, false);
    }
    let Some(seq) = conv
        .entries
        .get(at)
        .filter(|e| e.is_pinnable())
        .and_then(|e| e.seq)
    else {
        return model.notify(
            "only a stored message or file offer, not deleted, can be pinned",
            false,
        );
    };
    let pinned = conv.pins.contains(seq);
    if !pinned && conv.pins.len() >= PINS_MAX {
        let why = format!(
            "{} has {PINS_MAX} pinned messages, the most it may: unpin one first (/pins)",
            conv.conv
        );
        return model.notify(why, false);
    }
    let group = group.clone();
    // The `pinned` event shows it; the `group` reply only confirms it.
    let req = Some(model.ask(Asked::Quiet));
    fx.push(Effect::Ask(if pinned {
        ClientMessage::Unpin { req, group, seq }
    } else {
        ClientMessage::Pin { req, group, seq }
    }));
}

/// `/pins [group]`: the popup of the group's pinned messages (the open
/// group's without a name).
pub fn open(model: &mut Model, group: Option<GroupName>, fx: &mut Vec<Effect>) {
    let group = match (group, model.current().map(|c| &c.conv)) {
        (Some(g), _) => g,
        (None, Some(Conv::Group(g))) => g.clone(),
        (None, _) => {
            return model.notify("say which group: /pins <group> (or open the group)", true);
        }
    };
    let conv = Conv::Group(group.clone());
    let Some(index) = model.find(&conv) else {
        return model.notify(format!("you are not in {conv}: /join {group} first"), true);
    };
    model.popup = Some(Popup::Pins { group, selected: 0 });
    fetch(model, index, true, fx);
}

/// While the pins popup is open, each of its messages is loaded or on its way
/// (a pin made meanwhile is fetched too).
pub fn keep_fetched(model: &mut Model, fx: &mut Vec<Effect>) {
    let Some(Popup::Pins { group, .. }) = &model.popup else {
        return;
    };
    if let Some(index) = model.find(&Conv::Group(group.clone())) {
        fetch(model, index, false, fx);
    }
}

/// Asks for each pinned message of conversation `index` that is neither
/// loaded nor fetched nor on its way; `again` asks once more for those the
/// server did not have last time.
fn fetch(model: &mut Model, index: usize, again: bool, fx: &mut Vec<Effect>) {
    let c = &model.convs[index];
    let wanted: Vec<u64> = c
        .pins
        .seqs()
        .iter()
        .copied()
        .filter(|&seq| c.search(seq).is_err())
        .filter(|&seq| match c.pins.fetched(seq) {
            None => true,
            Some(Fetched::Missing) => again,
            Some(Fetched::Asked | Fetched::Got(_)) => false,
        })
        .collect();
    let conv = c.conv.clone();
    for seq in wanted {
        let req = model.ask(Asked::Pinned {
            conv: conv.clone(),
            seq,
        });
        model.convs[index].pins.note(seq, Fetched::Asked);
        fx.push(Effect::Ask(ClientMessage::History {
            req: Some(req),
            conv: conv.clone(),
            before: None,
            after: Some(seq - 1),
            limit: Some(1),
        }));
    }
}

/// The page asked for pinned message `seq` of `conv`: it holds the message,
/// or the server has no such message any more.
pub fn fetched(model: &mut Model, conv: &Conv, seq: u64, messages: &[ChatMessage]) {
    let Some(me) = model.me.clone() else { return };
    let Some(i) = model.find(conv) else { return };
    let found = messages
        .iter()
        .find(|m| m.seq == seq && Change::of(m).is_none());
    let fetched = match found {
        Some(m) => Fetched::Got(Box::new(Entry::from_message(m, &me))),
        None => Fetched::Missing,
    };
    model.convs[i].pins.note(seq, fetched);
}

/// Asking for pinned message `seq` of `conv` failed.
pub fn missing(model: &mut Model, conv: &Conv, seq: u64) {
    if let Some(i) = model.find(conv) {
        model.convs[i].pins.note(seq, Fetched::Missing);
    }
}

/// Keys over the pins popup: `↑`/`↓` choose, Enter goes to the message.
pub fn popup_key(model: &mut Model, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(Popup::Pins { group, selected }) = &model.popup else {
        return;
    };
    let (chosen, conv) = (*selected, Conv::Group(group.clone()));
    let Some(index) = model.find(&conv) else {
        model.popup = None;
        return;
    };
    let seqs = model.convs[index].pins.seqs();
    let last = seqs.len().saturating_sub(1);
    let pick = seqs.get(chosen).copied();
    let moved = match key.code {
        KeyCode::Up => chosen.saturating_sub(1),
        KeyCode::Down => (chosen + 1).min(last),
        KeyCode::Enter => {
            model.popup = None;
            if let Some(seq) = pick {
                selection::show_message(model, index, seq, fx);
            }
            return;
        }
        _ => return,
    };
    if let Some(Popup::Pins { selected, .. }) = model.popup.as_mut() {
        *selected = moved;
    }
}
