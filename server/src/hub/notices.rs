//! Telling users at their next login what took them out of a group.
//!
//! A member who is removed, or whose group is deleted, is no longer a member:
//! the `kicked` or `deleted` event reaches their connections only if they are
//! connected, and a catch-up never holds it. So the event is also kept for
//! them as a notice, sent before every catch-up until one of their clients
//! acknowledges it (an `ack` of its group at its `seq` or later), and dropped
//! if they join the group again. At most [`NOTICES_PER_USER`] are kept.

use bytes::Bytes;
use classchat_common::protocol::ChatMessage;
use classchat_common::{Conv as ConvName, GroupName, ServerMessage};

use super::state::{NOTICES_PER_USER, Notice};
use super::worker::{Batch, Worker};
use crate::store::{StoreError, UserId};

impl Worker {
    /// Keeps `msg`, an event about group `group`, for `user` until acknowledged.
    pub(super) fn notify(&mut self, user: UserId, msg: &ChatMessage) -> Result<(), StoreError> {
        let ConvName::Group(group) = &msg.conv else {
            return Ok(());
        };
        let line = ServerMessage::Message(msg.clone()).to_line();
        let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
        let id = self.store.add_notice(user, group, msg.seq, &text)?;
        let Some(u) = self.state.users.get_mut(&user) else {
            return Ok(());
        };
        u.notices.push(Notice {
            id,
            group: group.clone(),
            seq: msg.seq,
            line,
        });
        if u.notices.len() > NOTICES_PER_USER {
            let oldest = u.notices.remove(0);
            self.store.remove_notice(oldest.id)?;
        }
        Ok(())
    }

    /// Drops `user`'s notices about `group`: those up to `upto` (acknowledged),
    /// or all of them (`None`: they are a member again).
    pub(super) fn clear_notices(
        &mut self,
        b: &mut Batch,
        user: UserId,
        group: &GroupName,
        upto: Option<u64>,
    ) {
        let Some(u) = self.state.users.get_mut(&user) else {
            return;
        };
        if !u.notices.iter().any(|n| n.group == *group) {
            return;
        }
        let mut gone = Vec::new();
        u.notices.retain(|n| {
            let done = n.group == *group && upto.is_none_or(|upto| n.seq <= upto);
            if done {
                gone.push(n.id);
            }
            !done
        });
        for id in gone {
            if let Err(e) = self.store.remove_notice(id) {
                return b.fail(e);
            }
        }
    }

    /// The lines `user` is to be sent before their catch-up.
    pub(super) fn notices_of(&self, user: UserId) -> Vec<Bytes> {
        self.state
            .users
            .get(&user)
            .map(|u| u.notices.iter().map(|n| n.line.clone()).collect())
            .unwrap_or_default()
    }
}
