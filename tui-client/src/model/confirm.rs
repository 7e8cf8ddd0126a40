//! Questions asked before an action that cannot be undone or that stops work
//! in progress, and the unfinished work that quitting would stop.

use classchat_common::{Conv, GroupName, OfferId};

use super::Model;
use crate::tracker::Stage;

/// What a confirmation popup asks before doing. Nothing happens until the
/// user answers `y`: the action waits here, not in the key handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// `/delete`: the group and its whole history, for every member. `typed`
    /// is the command, given back to the input if the server refuses it.
    Delete { group: GroupName, typed: String },
    /// Declining a file offer from its popup: it is for good, since only the
    /// sender can offer the file again.
    Decline(OfferId),
    /// Deleting message `seq` of `conv` for everyone (`d` on a selected
    /// message, or `/unsend`).
    Unsend { conv: Conv, seq: u64 },
    /// Quitting while transfers run or messages are still sending.
    Quit,
}

/// What quitting now would leave unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unfinished {
    /// Uploads and downloads still running: quitting stops them.
    pub transfers: usize,
    /// Messages of yours the server has not confirmed (`◌`), edits and
    /// deletions among them: they are kept in `unsent.json` and sent at the
    /// next start, not lost.
    pub sending: usize,
}

impl Unfinished {
    pub fn of(model: &Model) -> Self {
        Self {
            transfers: model
                .transfers
                .iter()
                .filter(|t| !t.progress.state.is_over())
                .count(),
            sending: model
                .convs
                .iter()
                .map(|c| {
                    let texts = c
                        .entries
                        .iter()
                        .filter(|e| e.mine && e.status.is_some_and(|s| s.stage == Stage::Sending));
                    texts.count() + c.changing.len()
                })
                .sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.transfers == 0 && self.sending == 0
    }
}
