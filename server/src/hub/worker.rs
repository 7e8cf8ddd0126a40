//! The hub's task: take a batch of commands, apply it, commit, release its effects.
//!
//! The hub is one Tokio task, not a thread of its own: a session that sends it
//! a command wakes it on the same runtime worker, so an idle server carries a
//! message from one socket to another without handing it between threads. Its
//! storage calls block that worker briefly (a WAL commit without fsync takes
//! tens of microseconds); with `--sync full`, where each commit waits for the
//! disk, the commit runs in `block_in_place` so the worker's other tasks move on.

use bytes::Bytes;
use classchat_common::protocol::Req;
use classchat_common::{ErrorCode, MessageId, OfferId, ServerMessage};
use tokio::sync::mpsc;

use super::state::State;
use super::{Command, HubConfig, Request, SessionId};
use crate::outbound::Closed;
use crate::store::{ConvId, Snapshot, Store, StoreError, UserId};

/// Something a batch produced, released only once the batch is committed.
pub enum Effect {
    /// A line for one connection.
    Line(SessionId, Bytes),
    /// A reply to a waiting session (a oneshot send, boxed).
    Reply(Box<dyn FnOnce() + Send>),
    /// A file to delete once the batch is committed (an offer that is over).
    Remove(std::path::PathBuf),
    /// A connection must stop sending an offer's file to its user, who is no
    /// longer a recipient.
    StopDownload(SessionId, OfferId),
}

/// Who to tell when a batch they were part of could not be stored.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub session: SessionId,
    pub req: Option<Req>,
    pub id: Option<MessageId>,
}

#[derive(Default)]
pub struct Batch {
    pub effects: Vec<Effect>,
    pub origins: Vec<Origin>,
    /// Members whose cursors changed, written once just before the commit.
    pub dirty: Vec<(ConvId, UserId)>,
    /// Completed uploads this batch turns into offers: if it cannot be
    /// stored, their senders are told and their files deleted.
    pub uploads: Vec<(SessionId, OfferId)>,
    pub failed: Option<StoreError>,
}

impl Batch {
    pub fn line(&mut self, to: SessionId, line: Bytes) {
        self.effects.push(Effect::Line(to, line));
    }

    pub fn message(&mut self, to: SessionId, msg: &ServerMessage) {
        self.line(to, msg.to_line());
    }

    pub fn reply<T: Send + 'static>(&mut self, to: tokio::sync::oneshot::Sender<T>, value: T) {
        self.effects.push(Effect::Reply(Box::new(move || {
            // The session may have gone meanwhile; nothing to do then.
            let _ = to.send(value);
        })));
    }

    /// Records a storage failure; the whole batch will be rolled back.
    pub fn fail(&mut self, e: StoreError) {
        if self.failed.is_none() {
            self.failed = Some(e);
        }
    }
}

pub struct Worker {
    pub(super) state: State,
    pub(super) store: Box<dyn Store>,
    pub(super) config: HubConfig,
    /// Sessions whose queue overflowed while effects were released; detached
    /// before the next batch.
    overflowed: Vec<SessionId>,
    /// Commits wait for the disk and the runtime can run other tasks
    /// elsewhere meanwhile (a multi-threaded one).
    commit_aside: bool,
}

impl Worker {
    /// `multi_threaded`: the runtime the hub runs on has other workers, which
    /// can take over while a commit waits for the disk.
    pub fn new(
        store: Box<dyn Store>,
        snapshot: Snapshot,
        config: HubConfig,
        multi_threaded: bool,
    ) -> Self {
        Self {
            commit_aside: store.commit_waits_for_disk() && multi_threaded,
            state: State::from_snapshot(snapshot, config.rate),
            store,
            config,
            overflowed: Vec::new(),
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut commands = Vec::with_capacity(self.config.max_batch);
        loop {
            if self.overflowed.is_empty() {
                match rx.recv().await {
                    Some(c) => commands.push(c),
                    None => break,
                }
            }
            // Let the sessions this worker has already woken run first: what
            // they send joins this batch, so one commit covers it (under load,
            // a batch per command would cost a commit per command).
            tokio::task::yield_now().await;
            while commands.len() < self.config.max_batch {
                match rx.try_recv() {
                    Ok(c) => commands.push(c),
                    Err(_) => break,
                }
            }
            let mut batch = Batch::default();
            for session in std::mem::take(&mut self.overflowed) {
                self.detach(&mut batch, session);
            }
            for command in commands.drain(..) {
                self.apply(&mut batch, command);
            }
            if let Err(fatal) = self.finish(batch) {
                tracing::error!("the hub is stopping: {fatal}");
                break;
            }
        }
        self.store.rollback();
        for session in self.state.sessions.values() {
            session.outbound.close(Closed::Dropped);
        }
        tracing::debug!("hub stopped");
    }

    fn apply(&mut self, b: &mut Batch, command: Command) {
        match command {
            Command::FindAccount { name, reply } => self.find_account(b, &name, reply),
            Command::CreateAccount {
                name,
                password_hash,
                reply,
            } => self.create_account(b, name, password_hash, reply),
            Command::Resume { name, token, reply } => self.resume(b, &name, &token, reply),
            Command::SetPassword {
                user,
                password_hash,
                keep,
                reply,
            } => self.set_password(b, user, password_hash, keep, reply),
            Command::Attach {
                user,
                outbound,
                new_token,
                reply,
            } => self.attach(b, user, outbound, new_token, reply),
            Command::Detach { session } => self.detach(b, session),
            Command::History {
                session,
                conv,
                reply,
            } => self.history(b, session, &conv, reply),
            Command::Conversations { session, reply } => self.conversations(b, session, reply),
            Command::Flush { reply } => b.reply(reply, ()),
            Command::FileOffer {
                session,
                offer,
                reply,
            } => self.file_offer(b, session, offer, reply),
            Command::FileUploaded { session, offer } => {
                b.uploads.push((session, offer));
                self.file_uploaded(b, session, offer);
            }
            Command::FileAborted { offer } => self.file_aborted(offer),
            Command::FileAccept {
                session,
                offer,
                reply,
            } => self.file_accept(b, session, offer, reply),
            Command::FileWithdraw {
                session,
                req,
                offer,
            } => {
                b.origins.push(Origin {
                    session,
                    req,
                    id: None,
                });
                self.file_withdraw(b, session, req, offer);
            }
            Command::Sweep => self.sweep(b),
            Command::Request { session, request } => {
                if !self.state.sessions.contains_key(&session) {
                    return;
                }
                match request {
                    Request::Send { id, to, body } => {
                        b.origins.push(Origin {
                            session,
                            req: None,
                            id: Some(id),
                        });
                        self.send(b, session, id, &to, &body);
                    }
                    Request::Ack { conv, seq } => self.ack(b, session, &conv, seq),
                    Request::Read { req, conv, seq } => {
                        b.origins.push(Origin {
                            session,
                            req,
                            id: None,
                        });
                        self.read(b, session, req, &conv, seq);
                    }
                    Request::Who { req } => {
                        b.origins.push(Origin {
                            session,
                            req,
                            id: None,
                        });
                        self.who(b, session, req);
                    }
                    Request::Whois { req, user } => {
                        b.origins.push(Origin {
                            session,
                            req,
                            id: None,
                        });
                        self.whois(b, session, req, &user);
                    }
                    Request::ReadBy { req, id } => {
                        b.origins.push(Origin {
                            session,
                            req,
                            id: None,
                        });
                        self.read_by(b, session, req, id);
                    }
                    Request::FileDecision {
                        req,
                        offer,
                        decision,
                    } => {
                        b.origins.push(Origin {
                            session,
                            req,
                            id: None,
                        });
                        self.file_decision(b, session, req, offer, decision);
                    }
                    Request::Files { req } => self.files(b, session, req),
                    Request::Group { req, op } => {
                        b.origins.push(Origin {
                            session,
                            req,
                            id: None,
                        });
                        self.group(b, session, req, op);
                    }
                }
            }
        }
    }

    /// Commits the batch and releases its effects, or rolls it back, tells
    /// everyone involved, and reloads the state from what was really stored.
    fn finish(&mut self, mut b: Batch) -> Result<(), StoreError> {
        if b.failed.is_none() {
            self.write_cursors(&mut b);
        }
        let outcome = match b.failed.take() {
            Some(e) => Err(e),
            None if self.commit_aside => tokio::task::block_in_place(|| self.store.commit()),
            None => self.store.commit(),
        };
        match outcome {
            Ok(()) => {
                self.release(b.effects);
                Ok(())
            }
            Err(e) => {
                tracing::error!(
                    "could not store a batch of {} requests: {e}",
                    b.origins.len()
                );
                self.store.rollback();
                let snapshot = self.store.load()?;
                self.state.load(snapshot, self.config.rate);
                let mut lines: Vec<Effect> = b
                    .origins
                    .iter()
                    .map(|o| {
                        let msg = ServerMessage::Error {
                            req: o.req,
                            id: o.id,
                            offer: None,
                            code: ErrorCode::StorageFailed,
                            message: "the server could not store this; nothing was saved, try again later"
                                .into(),
                            retry_after_ms: Some(1000),
                        };
                        Effect::Line(o.session, msg.to_line())
                    })
                    .collect();
                for (session, offer) in b.uploads {
                    // Still uploading: the batch did not get as far as this one.
                    if self.state.offers.contains_key(&offer) {
                        continue;
                    }
                    let why = "the server could not store the file; it was not offered";
                    let msg =
                        ServerMessage::offer_error(None, offer, ErrorCode::StorageFailed, why);
                    lines.push(Effect::Line(session, msg.to_line()));
                    lines.push(Effect::Remove(
                        self.config.files_dir.join(offer.to_string()),
                    ));
                }
                // Replies are dropped unsent: their sessions see the hub refuse.
                self.release(lines);
                Ok(())
            }
        }
    }

    fn write_cursors(&mut self, b: &mut Batch) {
        for (conv, user) in std::mem::take(&mut b.dirty) {
            let Some(m) = self
                .state
                .convs
                .get_mut(&conv)
                .and_then(|c| c.member_mut(user))
            else {
                continue;
            };
            if !m.dirty {
                continue;
            }
            m.dirty = false;
            if let Err(e) = self.store.set_cursors(conv, user, m.delivered, m.read) {
                b.fail(e);
                return;
            }
        }
    }

    /// Hands the batch's lines to the connections and runs its replies. Lines
    /// are gathered per session and pushed with one lock and one wake-up each
    /// (a group message makes a line for every member, and a busy batch several
    /// for each); a reply first pushes everything gathered before it, so a
    /// session still sees lines and replies in the order they were made.
    fn release(&mut self, effects: Vec<Effect>) {
        let mut staged = Vec::new();
        for effect in effects {
            match effect {
                Effect::Line(to, line) => {
                    let Some(session) = self.state.sessions.get_mut(&to) else {
                        continue;
                    };
                    if session.staged.is_empty() {
                        staged.push(to);
                    }
                    session.staged.push(line);
                }
                Effect::Reply(send) => {
                    self.push_staged(&mut staged);
                    send();
                }
                Effect::StopDownload(to, offer) => {
                    if let Some(session) = self.state.sessions.get(&to) {
                        session.outbound.stop_download(offer);
                    }
                }
                Effect::Remove(path) => match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!("cannot delete {}: {e}", path.display()),
                },
            }
        }
        self.push_staged(&mut staged);
    }

    fn push_staged(&mut self, staged: &mut Vec<SessionId>) {
        for to in staged.drain(..) {
            let Some(session) = self.state.sessions.get_mut(&to) else {
                continue;
            };
            let lines = std::mem::take(&mut session.staged);
            if session.outbound.push_all(lines).is_err() && !self.overflowed.contains(&to) {
                self.overflowed.push(to);
            }
        }
    }
}
