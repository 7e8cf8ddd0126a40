//! The update function without a terminal: keys, server events and the rules
//! `after` keeps, driven through `update` on the demo model.
//!
//! Layout: [`keys`] (the key table, the mouse, popups, the login form),
//! [`fields`] (every text field edits alike), [`signup`] (the login form's
//! two steps to a new account, the shortest password),
//! [`reading`] (unread counts, marking read, loading older history), [`typing`]
//! (drafts, sending, commands, completion), [`server`] (status markers, the
//! connection, notices, the bell), [`files`] (the picker, offers, transfers),
//! [`who`] (the `/who` list), [`notices`] (news about you, how long notices
//! stay), [`refused`] (messages the server refuses), [`long`] (a message over
//! the limit or taller than the pane, bursts of typed keys), [`areas`] (update
//! and the view counting the same rows), [`popups`] (typing over a popup goes
//! to the input), [`confirm`] (the actions that ask first), [`shown`] (what
//! the screen says stays true: the online count, notices about how things
//! stand, offline recipients, how offers went), [`groups`] (roles, bans,
//! settings and announcement groups), [`replies`] (replies, edits and
//! deletions: change lines, the keys, going to a quote), [`typists`] (telling
//! others you type, and who is typing here), [`mentions`] (`@` completion,
//! the bell and desktop notifications), [`pins`] (pinned messages: where
//! they come from, `p`, the `/pins` popup), [`reactions`] (reaction lines,
//! the picker, your reactions stored or refused, who reacted), [`search`]
//! (the search popup: pages, older answers, refusals, going to a result).
//! This file holds the helpers they share.

mod areas;
mod confirm;
mod fields;
mod files;
mod groups;
mod keys;
mod long;
mod mentions;
mod notices;
mod pins;
mod popups;
mod reactions;
mod reading;
mod refused;
mod replies;
mod search;
mod server;
mod shown;
mod signup;
mod typing;
mod typists;
mod who;

use classchat_common::protocol::ChatMessage;
use classchat_common::{ClientMessage, MessageId, ServerMessage, Timestamp};

use crate::fixtures::*;
use crate::message::Effect;
use crate::model::Model;
use crate::outbox::Target;

fn draft(model: &Model) -> String {
    model.input().lines().join("\n")
}

fn selected_name(model: &Model) -> String {
    model
        .current()
        .map(|c| c.conv.to_string())
        .unwrap_or_default()
}

fn conv_of<'a>(model: &'a Model, name: &str) -> &'a crate::model::Conversation {
    let i = model.find(&conv(name)).expect("the conversation exists");
    &model.convs[i]
}

/// The sequence numbers `fx` marks as read, by conversation.
fn reads(fx: &[Effect]) -> Vec<(String, Option<u64>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::Read { conv, seq, .. }) => Some((conv.to_string(), *seq)),
            _ => None,
        })
        .collect()
}

/// The `before` of every history request in `fx`.
fn older_requests(fx: &[Effect]) -> Vec<Option<u64>> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Ask(ClientMessage::History { before, .. }) => Some(*before),
            _ => None,
        })
        .collect()
}

/// The one message `fx` sends: its id, body and target (a reply, an edit, a
/// deletion or a reaction).
fn sent(fx: &[Effect]) -> (MessageId, String, Option<Target>) {
    let mut sends = fx.iter().filter_map(|e| match e {
        Effect::Send {
            id, body, target, ..
        } => Some((*id, body.clone(), *target)),
        _ => None,
    });
    let one = sends.next().expect("a message was sent");
    assert!(sends.next().is_none(), "only one: {fx:?}");
    one
}

fn arrives(model: &mut Model, m: ChatMessage) -> Vec<Effect> {
    server(model, ServerMessage::Message(m))
}

fn later(secs: i64) -> Timestamp {
    Timestamp::from_millis(now().as_millis() + secs * 1000)
}

/// The demo with 30 more messages in #cs101, all read: more than a screen.
fn long_cs101(w: u16, h: u16) -> Model {
    let mut model = demo_model(w, h);
    for seq in 10..40 {
        arrives(
            &mut model,
            chat("#cs101", seq, "bob", now(), &format!("line {seq}")),
        );
    }
    assert_eq!(conv_of(&model, "#cs101").read_upto, 39);
    model
}
