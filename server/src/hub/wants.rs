//! What a batch may ask its store, read off its commands before they are
//! applied ([`crate::store::Wants`]).
//!
//! Each count is an upper bound and each list may hold more than is asked:
//! the store only has to be ready. What must be exact is the other way: a
//! lookup the batch makes that is not gathered here would be answered
//! without the store's data, so every store call that reads during a batch
//! has its line below (and a test in `store/postgres.rs`'s suite that a
//! resend is still found).

use classchat_common::Conv;

use super::Command;
use super::Request;
use super::messages::Destination;
use super::worker::Worker;
use crate::store::{UserId, Wants};

impl Worker {
    pub(super) fn wants(&self, commands: &[Command]) -> Wants {
        let mut wants = Wants::default();
        for command in commands {
            match command {
                Command::CreateAccount { .. } => wants.users += 1,
                Command::FileOffer { session, offer, .. } => {
                    if let Some(user) = self.user_of(*session) {
                        wants.convs += self.opens_direct(user, &offer.to);
                    }
                }
                Command::FileAccept { offer, .. } | Command::FileWithdraw { offer, .. } => {
                    if !self.state.offers.contains_key(offer) {
                        wants.offers.push(*offer);
                    }
                }
                Command::Request { session, request } => {
                    let Some(user) = self.user_of(*session) else {
                        continue;
                    };
                    self.request_wants(&mut wants, user, request);
                }
                Command::FindAccount { .. }
                | Command::Resume { .. }
                | Command::SetPassword { .. }
                | Command::Attach { .. }
                | Command::Detach { .. }
                | Command::History { .. }
                | Command::FileUploaded { .. }
                | Command::FileAborted { .. }
                | Command::Sweep
                | Command::Flush { .. }
                | Command::Conversations { .. }
                | Command::Take { .. } => {}
            }
        }
        wants
    }

    fn request_wants(&self, wants: &mut Wants, user: UserId, request: &Request) {
        match request {
            Request::Send { id, to, .. } => {
                wants.messages.push((user, *id));
                wants.convs += self.opens_direct(user, to);
            }
            Request::ReadBy { id, .. } => wants.messages.push((user, *id)),
            Request::FileDecision { offer, .. } => {
                if !self.state.offers.contains_key(offer) {
                    wants.offers.push(*offer);
                }
            }
            Request::Create { .. } => wants.convs += 1,
            Request::Kick { .. } => wants.notices += 1,
            Request::Delete { group, .. } => {
                wants.notices += self
                    .state
                    .groups
                    .get(group)
                    .and_then(|id| self.state.convs.get(id))
                    .map_or(0, |c| c.members.len());
            }
            Request::Ack { .. }
            | Request::Read { .. }
            | Request::Who { .. }
            | Request::Whois { .. }
            | Request::Files { .. }
            | Request::Join { .. }
            | Request::Leave { .. }
            | Request::Groups { .. }
            | Request::Members { .. }
            | Request::Rename { .. }
            | Request::Add { .. }
            | Request::Owner { .. } => {}
        }
    }

    fn user_of(&self, session: super::SessionId) -> Option<UserId> {
        self.state.sessions.get(&session).map(|s| s.user)
    }

    /// 1 if a message from `user` to `to` would open a direct conversation.
    fn opens_direct(&self, user: UserId, to: &Conv) -> usize {
        usize::from(matches!(
            self.destination(user, to),
            Ok(Destination::NewDirect(_))
        ))
    }
}
