//! Edits, deletions and reactions from the server's side: a change line
//! arriving (live or in the catch-up), the change lines of a page, and one of
//! yours refused.

use classchat_common::protocol::ChatMessage;
use classchat_common::{MessageId, Timestamp, Username};

use super::replace_text;
use crate::model::{Change, Composing, Entry, Model};

/// A change line, live or in the catch-up: applied to the message it names.
/// It is no line of its own, so it is never unread, never rings, and never
/// opens a conversation; its author has stopped typing.
pub fn arrived(model: &mut Model, m: &ChatMessage, change: &Change, me: &Username) {
    if let Some(i) = model.find(&m.conv) {
        let c = &mut model.convs[i];
        c.apply(m.seq, change, m.ts, me);
        // What was being typed was the edit.
        c.typing.stopped(&m.from);
    }
}

/// A page's messages to show, and its change lines (seq, change, time) in
/// order, to apply after them.
pub fn split(
    messages: &[ChatMessage],
    me: &Username,
) -> (Vec<Entry>, Vec<(u64, Change, Timestamp)>) {
    let mut entries = Vec::with_capacity(messages.len());
    let mut changes = Vec::new();
    for m in messages {
        match Change::of(m) {
            Some(change) => changes.push((m.seq, change, m.ts)),
            None => entries.push(Entry::from_message(m, me)),
        }
    }
    (entries, changes)
}

/// The server refused edit, deletion or reaction `id` of yours (whether it
/// was one). A refused edit's text comes back to its conversation's input,
/// in edit mode, when that input is free, so that it can be fixed and sent
/// again; a refused reaction is no longer shown.
pub fn refused(model: &mut Model, id: MessageId, message: &str) -> bool {
    let found = model.convs.iter().enumerate().find_map(|(i, c)| {
        let at = c.changing.iter().position(|(sent, _)| *sent == id)?;
        Some((i, at))
    });
    let Some((i, at)) = found else {
        return false;
    };
    let c = &mut model.convs[i];
    let (_, change) = c.changing.remove(at);
    let conv = c.conv.clone();
    let free = c.composing.is_none() && c.draft.is_empty();
    let said = match change {
        Change::Delete { .. } => format!("the message was not deleted: {message}"),
        Change::Edit { seq, body } if free => {
            replace_text(&mut c.draft, &body);
            c.composing = Some(Composing::Edit {
                seq,
                kept: String::new(),
            });
            format!("the edit was refused: {message} — it is back in the input")
        }
        Change::Edit { .. } => format!("the edit was refused: {message}"),
        Change::React { .. } => format!("the reaction was refused: {message}"),
        Change::Unreact { .. } => format!("the reaction was not taken back: {message}"),
    };
    model.notify_about(&conv, said, true);
    true
}
