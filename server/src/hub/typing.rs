//! "alice is typing…": passed on to the other members at once, never stored,
//! and at most once every [`TYPING_EVERY_MS`] per user and conversation, so a
//! client that says it on every keystroke costs the server one line in a
//! hundred, not one in one.

use std::time::{Duration, Instant};

use classchat_common::limits::TYPING_EVERY_MS;
use classchat_common::{Conv as ConvName, ServerMessage};

use super::SessionId;
use super::remote::Event;
use super::worker::{Batch, Worker};
use crate::store::{ConvId, UserId};

/// Kept per user and conversation until this old; then forgotten.
const TYPING_EVERY: Duration = Duration::from_millis(TYPING_EVERY_MS);

/// Beyond this many remembered typists, the stale are forgotten.
const TYPISTS_KEPT: usize = 4096;

impl Worker {
    /// A session's `typing`: ignored where its user may not post (not a
    /// member, or a member of an announcement group), or said too recently.
    pub(super) fn typing(&mut self, b: &mut Batch, session: SessionId, to: &ConvName) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let Ok(super::messages::Destination::Conv(conv)) = self.destination(user, to) else {
            return;
        };
        let now = Instant::now();
        let typists = &mut self.state.typists;
        if typists
            .get(&(user, conv))
            .is_some_and(|&at| now.duration_since(at) < TYPING_EVERY)
        {
            return;
        }
        if typists.len() >= TYPISTS_KEPT {
            typists.retain(|_, at| now.duration_since(*at) < TYPING_EVERY);
        }
        typists.insert((user, conv), now);
        self.announce(b, || Event::Typing {
            conv: conv.0,
            user: user.0,
        });
        self.tell_typing(b, conv, user);
    }

    /// Tells the members of `conv` connected here, but `user`, that `user`
    /// is typing in it.
    pub(super) fn tell_typing(&self, b: &mut Batch, conv: ConvId, user: UserId) {
        let (Some(c), Some(name)) = (self.state.convs.get(&conv), self.state.name(user)) else {
            return;
        };
        let mut line = None;
        for m in c.members.iter().filter(|m| m.user != user) {
            let mut sessions = self.state.outbounds(m.user).peekable();
            if sessions.peek().is_none() {
                continue;
            }
            // A group's name is the same for every member; a direct
            // conversation is named after the other one.
            let encoded = match (&line, self.state.conv_name(c, m.user)) {
                (Some((ConvName::Group(_), l)), _) => bytes::Bytes::clone(l),
                (_, Some(view)) => {
                    let l = ServerMessage::Typing {
                        conv: view.clone(),
                        user: name.clone(),
                    }
                    .to_line();
                    line = Some((view, l.clone()));
                    l
                }
                (_, None) => continue,
            };
            for (sid, _) in sessions {
                b.line(sid, encoded.clone());
            }
        }
    }
}
