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
                Command::CreateAccount { name, .. } => {
                    wants.users += 1;
                    self.want_name(&mut wants, name);
                }
                Command::FindAccount { name, .. } => self.want_name(&mut wants, name),
                Command::Resume { name, token, .. } => {
                    self.want_name(&mut wants, name);
                    if self.clustered() && !self.state.tokens.contains_key(token) {
                        wants.tokens.push(*token);
                    }
                }
                Command::FileOffer { session, offer, .. } => {
                    if let Some(user) = self.user_of(*session) {
                        self.want_conv(&mut wants, user, &offer.to);
                    }
                }
                Command::FileUploaded { offer, .. } | Command::FilePost { offer, .. } => {
                    if let Some(o) = self.state.offers.get(offer) {
                        self.want_lock(&mut wants, o.conv);
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
                Command::SetPassword { .. }
                | Command::Attach { .. }
                | Command::Detach { .. }
                | Command::History { .. }
                | Command::Search { .. }
                | Command::FileAborted { .. }
                | Command::Sweep
                | Command::Flush { .. }
                | Command::Conversations { .. }
                | Command::Take { .. }
                | Command::Remote(_)
                | Command::Filled(_)
                | Command::Versions(_)
                | Command::Tick => {}
            }
        }
        // Locked in id order, once each.
        wants.locks.sort_unstable();
        wants.locks.dedup_by_key(|(conv, _)| *conv);
        wants
    }

    fn request_wants(&self, wants: &mut Wants, user: UserId, request: &Request) {
        match request {
            Request::Send { id, to, what, .. } => {
                wants.messages.push((user, *id));
                self.want_conv(wants, user, to);
                if let Some(seq) = what.refers()
                    && let Ok(Some(conv)) = self.state.find_conv(user, to)
                {
                    wants.refs.push((conv, seq));
                }
            }
            Request::ReadBy { id, .. } => wants.messages.push((user, *id)),
            Request::FileDecision { offer, .. } => {
                if !self.state.offers.contains_key(offer) {
                    wants.offers.push(*offer);
                }
            }
            Request::Create { group, members, .. } => {
                wants.convs += 1;
                self.want_group(wants, group);
                for name in members {
                    self.want_name(wants, name);
                }
            }
            Request::Kick { group, user, .. } => {
                wants.notices += 1;
                self.want_group(wants, group);
                self.want_name(wants, user);
            }
            Request::Delete { group, .. } => {
                wants.notices += self
                    .state
                    .groups
                    .get(group)
                    .and_then(|id| self.state.convs.get(id))
                    .map_or(0, |c| c.members.len());
                self.want_group(wants, group);
            }
            Request::Rename { group, to, .. } => {
                self.want_group(wants, group);
                self.want_group(wants, to);
            }
            Request::Pin { group, seq, .. } => {
                self.want_group(wants, group);
                if let Some(&conv) = self.state.groups.get(group) {
                    wants.refs.push((conv, *seq));
                }
            }
            Request::Join { group, .. }
            | Request::Leave { group, .. }
            | Request::Settings { group, .. } => {
                self.want_group(wants, group);
            }
            Request::Add { group, user, .. }
            | Request::Owner { group, user, .. }
            | Request::Unban { group, user, .. }
            | Request::Role { group, user, .. } => {
                self.want_group(wants, group);
                self.want_name(wants, user);
            }
            Request::Whois { user, .. } => self.want_name(wants, user),
            Request::Ack { .. }
            | Request::Typing { .. }
            | Request::Read { .. }
            | Request::Who { .. }
            | Request::Files { .. }
            | Request::Groups { .. }
            | Request::Members { .. } => {}
        }
    }

    /// A message from `user` to `to` may open a direct conversation, or add
    /// to one that a node of a cluster must lock.
    fn want_conv(&self, wants: &mut Wants, user: UserId, to: &Conv) {
        match self.destination(user, to) {
            Ok(Destination::NewDirect(_)) => {
                wants.convs += 1;
                self.want_direct(wants, user, to);
            }
            Ok(Destination::Conv(id)) => self.want_lock(wants, id),
            Err(_) => {
                if let Conv::Group(group) = to {
                    // Perhaps joined, or made a moderator, on another node:
                    // the prefetch brings what memory missed.
                    self.want_group(wants, group);
                }
                if let Conv::User(name) = to {
                    // Perhaps an account made on another node, which the
                    // prefetch finds: then a conversation with it opens.
                    self.want_name(wants, name);
                    if self.clustered() {
                        wants.convs += 1;
                        self.want_direct(wants, user, to);
                    }
                }
            }
        }
    }

    /// A direct conversation between `user` and `to` that the batch may open.
    fn want_direct(&self, wants: &mut Wants, user: UserId, to: &Conv) {
        if let (true, Some(me), Conv::User(other)) = (self.clustered(), self.state.name(user), to) {
            wants.directs.push((me.clone(), other.clone()));
        }
    }

    /// An account a node of a cluster may not know yet.
    fn want_name(&self, wants: &mut Wants, name: &classchat_common::Username) {
        if self.clustered() && !self.state.by_name.contains_key(name) {
            wants.names.push(name.clone());
        }
    }

    fn want_group(&self, wants: &mut Wants, group: &classchat_common::GroupName) {
        match self.state.groups.get(group) {
            Some(&id) => self.want_lock(wants, id),
            None if self.clustered() => wants.groups.push(group.clone()),
            None => {}
        }
    }

    fn want_lock(&self, wants: &mut Wants, conv: crate::store::ConvId) {
        if !self.clustered() {
            return;
        }
        if let Some(c) = self.state.convs.get(&conv) {
            wants.locks.push((conv, c.last_seq));
        }
    }

    fn user_of(&self, session: super::SessionId) -> Option<UserId> {
        self.state.sessions.get(&session).map(|s| s.user)
    }
}
