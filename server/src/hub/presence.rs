//! Accounts, connections coming and going, and the presence events they cause:
//! `presence` to the people who share a conversation with them, and to
//! everyone the count of who is online (`online`).

use std::collections::HashSet;
use std::time::Instant;

use classchat_common::{ServerMessage, Timestamp, Username};
use tokio::sync::oneshot;

use super::remote::Event;
use super::state::{Session, TOKENS_PER_USER, User};
use super::worker::{Batch, Effect, Worker};
use super::{Account, Attached, CatchUp, Created, SessionId};
use crate::outbound::{Closed, Outbound};
use crate::ratelimit::Buckets;
use crate::store::{TokenHash, UserId, UserRecord};

/// Every connection is told the count of who is online at most this often: a
/// class logging in at once (or 10,000 clients after a restart) costs each
/// connection a line a second, not a line per login.
const ONLINE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Worker {
    /// When every connection is next to be told how many are online: `None`
    /// while the count they were told is still true.
    pub(super) fn online_due(&self) -> Option<tokio::time::Instant> {
        let (told, at) = self.online_told;
        if self.state.online.len() == told {
            return None;
        }
        Some(at.map_or_else(tokio::time::Instant::now, |at| at + ONLINE_EVERY))
    }

    /// Tells every connection how many are online, if that changed and it is
    /// time. `presence` goes only to people who share a conversation; without
    /// this a client could not count the others who came or went.
    pub(super) fn tell_online(&mut self) {
        let Some(due) = self.online_due() else {
            return;
        };
        let now = tokio::time::Instant::now();
        if due > now {
            return;
        }
        let total = self.state.online.len();
        self.online_told = (total, Some(now));
        let line = ServerMessage::Online { total }.to_line();
        let everyone: Vec<SessionId> = self.state.sessions.keys().copied().collect();
        let effects = vec![Effect::Shared(line, 0..everyone.len())];
        self.release(effects, &everyone);
    }

    pub(super) fn find_account(
        &mut self,
        b: &mut Batch,
        name: &Username,
        reply: oneshot::Sender<Option<Account>>,
    ) {
        let account = self.account(name);
        b.reply(reply, account);
    }

    fn account(&self, name: &Username) -> Option<Account> {
        let id = self.state.by_name.get(name)?;
        let u = self.state.users.get(id)?;
        Some(Account {
            id: u.id,
            name: u.name.clone(),
            password_hash: u.password_hash.clone(),
        })
    }

    pub(super) fn create_account(
        &mut self,
        b: &mut Batch,
        name: Username,
        password_hash: String,
        reply: oneshot::Sender<Created>,
    ) {
        if let Some(existing) = self.account(&name) {
            b.reply(reply, Created::Exists(existing));
            return;
        }
        let now = Timestamp::now();
        let id = match self.store.create_user(&name, &password_hash, now) {
            Ok(id) => id,
            Err(e) => return b.fail(e),
        };
        tracing::info!(user = %name, "account created");
        self.announce(b, || Event::User {
            id: id.0,
            name: name.clone(),
            pw_hash: password_hash.clone(),
            created: now,
            retire_but: None,
        });
        self.state.by_name.insert(name.clone(), id);
        let record = UserRecord {
            id,
            name: name.clone(),
            password_hash,
            created: now,
            last_seen: None,
        };
        let limits = Buckets::full(&self.config.rates, Instant::now());
        self.state.users.insert(id, User::new(record, limits));
        b.reply(reply, Created::New(id, name));
    }

    pub(super) fn resume(
        &mut self,
        b: &mut Batch,
        name: &Username,
        token: &TokenHash,
        reply: oneshot::Sender<Option<UserId>>,
    ) {
        let user = self
            .state
            .tokens
            .get(token)
            .copied()
            .filter(|id| self.state.by_name.get(name) == Some(id));
        b.reply(reply, user);
    }

    pub(super) fn attach(
        &mut self,
        b: &mut Batch,
        user: UserId,
        outbound: Outbound,
        new_token: Option<TokenHash>,
        reply: oneshot::Sender<Attached>,
    ) {
        if let Some(token) = new_token {
            self.add_token(b, user, token);
        }
        let session = self.state.next_session_id();
        let Some(u) = self.state.users.get_mut(&user) else {
            outbound.close(Closed::Dropped);
            return;
        };
        let first = u.sessions.is_empty();
        // Already connected to another node of the cluster: not new.
        let came = first && u.remote == 0;
        u.sessions.push(session);
        if first && let Some(c) = &mut self.cluster {
            c.presence_changed = true;
        }
        let name = u.name.clone();
        let convs = u.convs.clone();
        if first {
            // Recorded at login too, so a crash while online still leaves a
            // truthful "last seen".
            let now = Timestamp::now();
            u.last_seen = Some(now);
            if let Err(e) = self.store.set_last_seen(user, now) {
                b.fail(e);
            }
            self.state.online.insert(name.clone());
        }
        self.state.sessions.insert(
            session,
            Session {
                user,
                outbound,
                staged: Vec::new(),
                staged_last: 0,
            },
        );

        // Everything committed before this point goes out as catch-up; anything
        // stored from here on is delivered live, so the two never overlap.
        let mut catch_up = Vec::new();
        for conv_id in convs {
            let Some(conv) = self.state.convs.get(&conv_id) else {
                continue;
            };
            let Some(m) = conv.member(user) else { continue };
            if conv.last_seq <= m.delivered {
                continue;
            }
            if let Some(conv_name) = self.state.conv_name(conv, user) {
                catch_up.push(CatchUp {
                    conv_id,
                    conv: conv_name,
                    after: m.delivered,
                    upto: conv.last_seq,
                });
            }
        }
        if came {
            let msg = ServerMessage::Presence {
                user: name.clone(),
                online: true,
                last_seen: None,
            };
            self.tell_contacts(b, user, &msg);
        }
        let notices = self.notices_of(user);
        b.reply(
            reply,
            Attached {
                session,
                user,
                name,
                catch_up,
                notices,
            },
        );
    }

    pub(super) fn set_password(
        &mut self,
        b: &mut Batch,
        user: UserId,
        password_hash: String,
        keep: TokenHash,
        reply: oneshot::Sender<()>,
    ) {
        if let Err(e) = self.store.set_password(user, &password_hash) {
            return b.fail(e);
        }
        let Some(u) = self.state.users.get_mut(&user) else {
            return;
        };
        if self.cluster.is_some() {
            b.events.push(Event::User {
                id: user.0,
                name: u.name.clone(),
                pw_hash: password_hash.clone(),
                created: u.created,
                retire_but: Some(keep),
            });
        }
        u.password_hash = password_hash.into();
        let retired: Vec<TokenHash> = u.tokens.iter().filter(|t| **t != keep).copied().collect();
        u.tokens.retain(|t| *t == keep);
        tracing::info!(user = %u.name, "password changed");
        for token in retired {
            self.state.tokens.remove(&token);
            if let Err(e) = self.store.remove_token(&token) {
                return b.fail(e);
            }
        }
        b.reply(reply, ());
    }

    fn add_token(&mut self, b: &mut Batch, user: UserId, token: TokenHash) {
        if let Err(e) = self.store.add_token(user, &token, Timestamp::now()) {
            return b.fail(e);
        }
        self.announce(b, || Event::Token {
            user: user.0,
            hash: token,
        });
        let Some(u) = self.state.users.get_mut(&user) else {
            return;
        };
        u.tokens.push_back(token);
        self.state.tokens.insert(token, user);
        while u.tokens.len() > TOKENS_PER_USER {
            let Some(old) = u.tokens.pop_front() else {
                break;
            };
            self.state.tokens.remove(&old);
            if let Err(e) = self.store.remove_token(&old) {
                return b.fail(e);
            }
        }
    }

    pub(super) fn detach(&mut self, b: &mut Batch, session: SessionId) {
        let Some(s) = self.state.sessions.remove(&session) else {
            return;
        };
        s.outbound.close(Closed::Dropped);
        let Some(u) = self.state.users.get_mut(&s.user) else {
            return;
        };
        u.sessions.retain(|&id| id != session);
        if !u.sessions.is_empty() {
            return;
        }
        if let Some(c) = &mut self.cluster {
            c.presence_changed = true;
        }
        // Still connected to another node of the cluster: not gone.
        if u.remote > 0 {
            return;
        }
        let now = Timestamp::now();
        u.last_seen = Some(now);
        let name = u.name.clone();
        self.state.online.remove(&name);
        if let Err(e) = self.store.set_last_seen(s.user, now) {
            return b.fail(e);
        }
        let msg = ServerMessage::Presence {
            user: name,
            online: false,
            last_seen: Some(now),
        };
        self.tell_contacts(b, s.user, &msg);
    }

    /// Sends `msg` once to every online session of everyone who shares a
    /// conversation with `user`.
    pub(super) fn tell_contacts(&self, b: &mut Batch, user: UserId, msg: &ServerMessage) {
        let Some(u) = self.state.users.get(&user) else {
            return;
        };
        let mut seen = HashSet::new();
        let mut line = None;
        for conv in u.convs.iter().filter_map(|c| self.state.convs.get(c)) {
            for m in &conv.members {
                if m.user == user || !seen.insert(m.user) {
                    continue;
                }
                for (sid, _) in self.state.outbounds(m.user) {
                    let line = line.get_or_insert_with(|| msg.to_line());
                    b.line(sid, line.clone());
                }
            }
        }
    }
}
