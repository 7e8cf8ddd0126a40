//! Reactions from the keyboard: `+` on a selected message opens the picker,
//! where a digit or Enter gives a reaction (or takes back one you gave, as a
//! second tap does in any chat app); `w` shows who reacted how. A reaction
//! goes out like an edit (`input::send`) and shows at once, laid over the
//! message's reactions until the server stores it; a refusal takes it off
//! again and says why (`net/changes.rs`).

use classchat_common::Conv;
use classchat_common::limits::REACTIONS_MAX;
use crossterm::event::{KeyCode, KeyEvent};

use crate::layout::reactions;
use crate::message::Effect;
use crate::model::{Model, Popup};
use crate::outbox::Target;

/// `+` on entry `at` of conversation `index`: the picker.
pub fn open_picker(model: &mut Model, index: usize, at: usize) {
    let c = &model.convs[index];
    let Some(seq) = c
        .entries
        .get(at)
        .filter(|e| e.takes_reactions())
        .and_then(|e| e.seq)
    else {
        return model.notify(
            "only a stored message or file offer, not deleted, takes reactions",
            false,
        );
    };
    model.popup = Some(Popup::React {
        conv: c.conv.clone(),
        seq,
        selected: 0,
    });
}

/// `w` on entry `at` of conversation `index`: who reacted how.
pub fn show_who(model: &mut Model, index: usize, at: usize) {
    let c = &model.convs[index];
    let Some(seq) = c
        .entries
        .get(at)
        .filter(|e| !c.shown_reactions(e).is_empty())
        .and_then(|e| e.seq)
    else {
        return model.notify("nobody has reacted to this message (+ reacts)", false);
    };
    model.popup = Some(Popup::Reactions {
        conv: c.conv.clone(),
        seq,
        scroll: 0,
    });
}

/// Keys over the picker: `↑`/`↓` choose, Enter or a digit picks, `+` closes.
pub fn picker_key(model: &mut Model, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(Popup::React {
        conv,
        seq,
        selected,
    }) = &model.popup
    else {
        return;
    };
    let (conv, seq, chosen) = (conv.clone(), *seq, *selected);
    let rows = reactions::picker_choices(model, &conv, seq);
    let last = rows.len().saturating_sub(1);
    let pick = match key.code {
        KeyCode::Up | KeyCode::Left => return select(model, chosen.saturating_sub(1)),
        KeyCode::Down | KeyCode::Right => return select(model, (chosen + 1).min(last)),
        KeyCode::Enter => rows.get(chosen),
        KeyCode::Char('+') => None,
        KeyCode::Char(c) => match rows.iter().find(|r| r.key == Some(c)) {
            Some(row) => Some(row),
            // A digit with no reaction under it does nothing.
            None => return,
        },
        _ => return,
    };
    let emoji = pick.map(|row| row.emoji.clone());
    model.popup = None;
    if let Some(emoji) = emoji {
        toggle(model, &conv, seq, emoji, fx);
    }
}

fn select(model: &mut Model, to: usize) {
    if let Some(Popup::React { selected, .. }) = model.popup.as_mut() {
        *selected = to;
    }
}

/// Gives your reaction `emoji` to message `seq` of `conv`, or takes it back
/// if you gave it (as far as this client knows: the server has the last word).
fn toggle(model: &mut Model, conv: &Conv, seq: u64, emoji: String, fx: &mut Vec<Effect>) {
    let Some(me) = model.me.clone() else { return };
    let Some(index) = model.find(conv) else {
        return;
    };
    let c = &model.convs[index];
    let Some(e) = c.loaded(seq).filter(|e| e.takes_reactions()) else {
        return model.notify("that message was deleted: it takes no reactions", false);
    };
    let shown = c.shown_reactions(e);
    let target = if shown.gave(&emoji, &me) {
        Target::Unreact(seq)
    } else if !shown.has(&emoji) && shown.full() {
        let why = format!(
            "a message takes at most {REACTIONS_MAX} kinds of reaction: add yours to one it has"
        );
        return model.notify(why, false);
    } else {
        Target::React(seq)
    };
    super::input::send(model, index, emoji, Some(target), fx);
}

/// Keys over the who-reacted popup: `↑`/`↓` scroll, anything else closes it.
pub fn who_key(model: &mut Model, key: KeyEvent) {
    let limit = reactions::who_scroll_limit(model, model.size);
    let Some(Popup::Reactions { scroll, .. }) = model.popup.as_mut() else {
        return;
    };
    match key.code {
        KeyCode::Down | KeyCode::PageDown => {
            let step = if key.code == KeyCode::Down { 1 } else { 10 };
            *scroll = scroll.saturating_add(step).min(limit);
        }
        KeyCode::Up | KeyCode::PageUp => {
            *scroll = scroll.saturating_sub(if key.code == KeyCode::Up { 1 } else { 10 });
        }
        _ => model.popup = None,
    }
}
