//! The hub's task: take a batch of commands, apply it, commit, release its effects.
//!
//! The hub is one Tokio task, not a thread of its own: a session that sends it
//! a command wakes it on the same runtime worker, so an idle server carries a
//! message from one socket to another without handing it between threads.
//!
//! A batch runs in three steps: the store learns what the batch may ask
//! ([`Store::prefetch`], which waits only for a store across a network), the
//! commands are applied against memory (store calls there never wait), and the
//! batch is committed ([`Store::commit`]). SQLite's calls block this worker
//! briefly (a WAL commit without fsync takes tens of microseconds; with
//! `--sync full` the store commits in `block_in_place`).

use bytes::Bytes;
use classchat_common::protocol::Req;
use classchat_common::{ErrorCode, MessageId, OfferId, ServerMessage};
use tokio::sync::mpsc;

use super::remote::{Cluster, Event};
use super::state::State;
use super::{Command, HubConfig, Refusal, Request, SessionId};
use crate::idmap::IdMap;
use crate::outbound::Closed;
use crate::ratelimit::Class;
use crate::store::{ConvId, Snapshot, Store, StoreError, UserId};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The longest a session stops reading after a refusal for its rate: long
/// enough that a flood costs little, short enough that a client that only
/// overshot its burst carries on at once.
const MAX_HOLD_MS: u64 = 1000;

/// How many stored messages the search index takes in, at most, before a
/// search is answered: some 50 ms of the hub's time, which every other
/// request waits for. After a larger burst the newest messages are found a
/// moment later, once the hub has caught up between batches.
pub(super) const INDEX_AT_SEARCH: usize = 10_000;

/// Stored messages are indexed for search in bulk, off each message's path
/// ([`Store::search_backlog`]): once the hub has been idle this long, or
/// once the oldest has waited this long while the hub was busy (then between
/// batches), a few thousand at a time.
const INDEX_WHEN_IDLE: Duration = Duration::from_secs(1);
const INDEX_AT_THE_LATEST: Duration = Duration::from_secs(10);
const INDEX_AT_ONCE: usize = 2_000;

/// The longest an acknowledgement waits to be written. Delivered cursors
/// moved by `ack`s (and a sender's own, by sending) are written together once
/// this long has passed since the first of them, not in the batch that moved
/// them: a message round then commits once (the message) instead of twice,
/// and writes two database pages instead of three. An abrupt stop (`kill -9`,
/// a power cut) may forget the acknowledgements of this last moment; those
/// messages come once more in the next catch-up, and clients drop them as
/// duplicates by `seq` (PROTOCOL.md §6.4). A graceful stop writes them, and a
/// batch that moves a read cursor (`read`) writes every waiting cursor at
/// once. A node of a cluster does not wait (another node may load the member
/// from the database).
pub const CURSORS_WITHIN: Duration = Duration::from_secs(1);

/// When the search index catches up (see [`INDEX_WHEN_IDLE`]).
#[derive(Debug, Default)]
struct Indexing {
    /// When the hub last had a command.
    busy: Option<tokio::time::Instant>,
    /// Since when messages have waited to be indexed.
    behind: Option<tokio::time::Instant>,
    /// The last batch was indexing, and found more: go on while idle.
    going: bool,
}

impl Indexing {
    /// Indexing failed: try again in a second, not at once.
    fn failed(&mut self) {
        let now = tokio::time::Instant::now();
        (self.busy, self.behind, self.going) = (Some(now), Some(now), false);
    }

    /// Whether messages have waited [`INDEX_AT_THE_LATEST`] to be indexed.
    fn overdue(&self, now: tokio::time::Instant) -> bool {
        self.behind
            .is_some_and(|since| since + INDEX_AT_THE_LATEST <= now)
    }

    /// When to index next, after a batch; `None` when nothing waits.
    fn due(&mut self, behind: bool, had_commands: bool) -> Option<tokio::time::Instant> {
        let now = tokio::time::Instant::now();
        if had_commands {
            self.busy = Some(now);
            self.going = false;
        }
        if !behind {
            self.behind = None;
            return None;
        }
        let since = *self.behind.get_or_insert(now);
        if self.going {
            return Some(now);
        }
        let idle = self.busy.map_or(now, |at| at + INDEX_WHEN_IDLE);
        Some(idle.min(since + INDEX_AT_THE_LATEST))
    }
}

/// Something a batch produced, released only once the batch is committed.
pub enum Effect {
    /// A line for one connection.
    Line(SessionId, Bytes),
    /// One line for several connections (a message to a group): those in
    /// this range of the batch's [`Batch::targets`]. A group of a hundred
    /// costs one effect and a hundred ids, not a hundred effects.
    Shared(Bytes, std::ops::Range<usize>),
    /// A reply to a waiting session (a oneshot send, boxed).
    Reply(Box<dyn FnOnce() + Send>),
    /// An offer's file to delete once the batch is committed (the offer is over).
    Remove(OfferId),
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
    /// The connections of the batch's [`Effect::Shared`] lines.
    pub targets: Vec<SessionId>,
    pub origins: Vec<Origin>,
    /// Members whose cursors changed, written once just before the commit.
    pub dirty: Vec<(ConvId, UserId)>,
    /// A read cursor moved: the batch's cursors are written now, not later
    /// (see [`CURSORS_WITHIN`]).
    pub cursors_now: bool,
    /// Completed uploads this batch turns into offers: if it cannot be
    /// stored, their senders are told and their files deleted.
    pub uploads: Vec<(SessionId, OfferId)>,
    pub failed: Option<StoreError>,
    /// Each conversation's last sequence number before this batch added to
    /// it (what the node had released), for a batch that fails.
    pub released: IdMap<ConvId, u64>,
    /// What the other nodes of a cluster are told once this is committed.
    pub events: Vec<Event>,
}

impl Batch {
    pub fn line(&mut self, to: SessionId, line: Bytes) {
        self.effects.push(Effect::Line(to, line));
    }

    /// `line` for the sessions added to [`Self::targets`] since it had
    /// `from` of them, as one effect (none if no session was added).
    pub fn shared(&mut self, line: Bytes, from: usize) {
        let to = self.targets.len();
        if to > from {
            self.effects.push(Effect::Shared(line, from..to));
        }
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
    /// How many were online when every connection was last told, and when.
    pub(super) online_told: (usize, Option<tokio::time::Instant>),
    /// What a node of a cluster keeps besides; `None` for a single server.
    pub(super) cluster: Option<Cluster>,
    indexing: Indexing,
    /// Members whose moved cursors wait to be written (see
    /// [`CURSORS_WITHIN`]), and when they are.
    cursors: Vec<(ConvId, UserId)>,
    cursors_due: Option<tokio::time::Instant>,
    /// The last batch's vectors and map, emptied, for the next batch: grown
    /// afresh each batch, they were copied every time they doubled.
    spare_effects: Vec<Effect>,
    spare_targets: Vec<SessionId>,
    spare_origins: Vec<Origin>,
    spare_released: IdMap<ConvId, u64>,
}

/// The most effects whose room is kept from one batch for the next.
const SPARE_EFFECTS: usize = 4096;

/// The most targets whose room is kept from one batch for the next: a batch
/// of a thousand messages to a group of a hundred has a hundred thousand
/// (at most 1 MiB kept; a batch to larger groups grows it afresh).
const SPARE_TARGETS: usize = 1 << 17;

/// The most room a session's staged lines start with (see
/// [`super::state::Session::staged_last`]).
const STAGED_ROOM: usize = 1024;

impl Worker {
    pub fn new(store: Box<dyn Store>, snapshot: Snapshot, config: HubConfig) -> Self {
        Self {
            state: State::from_snapshot(snapshot, &config.rates),
            store,
            overflowed: Vec::new(),
            online_told: (0, None),
            cluster: config.bus.clone().map(Cluster::new),
            config,
            indexing: Indexing::default(),
            cursors: Vec::new(),
            cursors_due: None,
            spare_effects: Vec::new(),
            spare_targets: Vec::new(),
            spare_origins: Vec::new(),
            spare_released: IdMap::default(),
        }
    }

    /// Where the hub's own later commands go (a node's gap reads).
    pub fn hear_back(&mut self, to_hub: mpsc::WeakSender<Command>) {
        if let Some(c) = &mut self.cluster {
            c.to_hub = Some(to_hub);
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut commands = Vec::with_capacity(self.config.max_batch);
        let mut index_due = self.indexing.due(self.store.search_backlog(), false);
        let mut busy = false;
        // One timer for what is due without a command: telling how many are
        // online, writing waiting cursors, indexing. It is set again only for
        // an earlier time; a later one is found when it goes off. (Indexing
        // is due a second after the last command, a time that moves with
        // every batch: a timer set for each would cost a round a timer
        // registered and cancelled, and a wake-up of the runtime's driver.)
        let timer = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(timer);
        let mut armed: Option<tokio::time::Instant> = None;
        loop {
            let mut index = false;
            let wake = [self.online_due(), self.cursors_due, index_due]
                .into_iter()
                .flatten()
                .min();
            if let Some(at) = wake
                && armed.is_none_or(|armed| at < armed)
            {
                timer.as_mut().reset(at);
                armed = Some(at);
            }
            if self.overflowed.is_empty() {
                tokio::select! {
                    // Commands first: indexing waits for a moment without any.
                    biased;
                    c = rx.recv() => match c {
                        Some(c) => commands.push(c),
                        None => break,
                    },
                    // Nothing came, but something may be due: the batch
                    // writes waiting cursors and tells who is online if so.
                    () = &mut timer, if armed.is_some() => {
                        armed = None;
                        index = index_due.is_some_and(|at| at <= tokio::time::Instant::now());
                    }
                }
            }
            // Under load that never stops the timer never wins the
            // `select!`: the oldest waiting message is indexed all the same.
            index = index || self.indexing.overdue(tokio::time::Instant::now());
            // Under load (the last batch had several commands), let the
            // sessions this worker has already woken run first: what they
            // send joins this batch, so one commit covers it (a batch per
            // command would cost a commit per command). Idle, a command goes
            // at once: the yield would batch nothing, and costs a round a
            // wake-up of the runtime's other worker and a system call or two.
            if busy {
                tokio::task::yield_now().await;
            }
            while commands.len() < self.config.max_batch {
                match rx.try_recv() {
                    Ok(c) => commands.push(c),
                    Err(_) => break,
                }
            }
            let mut batch = Batch {
                effects: std::mem::take(&mut self.spare_effects),
                targets: std::mem::take(&mut self.spare_targets),
                origins: std::mem::take(&mut self.spare_origins),
                released: std::mem::take(&mut self.spare_released),
                // About one event a command (a message, a moved cursor):
                // grown as it went, the vector was copied every time it
                // doubled.
                events: Vec::with_capacity(if self.clustered() { commands.len() } else { 0 }),
                ..Batch::default()
            };
            if self.store.needs_prefetch() {
                let wants = self.wants(&commands);
                match self.store.prefetch(&wants).await {
                    Ok(learned) => self.learn(&mut batch, learned),
                    // Applied all the same, against memory, so that everyone
                    // involved hears why; the batch is then rolled back.
                    Err(e) => batch.fail(e),
                }
            }
            for session in std::mem::take(&mut self.overflowed) {
                self.detach(&mut batch, session);
            }
            let had_commands = !commands.is_empty();
            busy = commands.len() > 1;
            for command in commands.drain(..) {
                self.apply(&mut batch, command);
            }
            if index {
                match self.store.index_for_search(INDEX_AT_ONCE) {
                    Ok(more) => self.indexing.going = more,
                    // Tried again in a second; a failing disk fails the
                    // batches meanwhile, which say so.
                    Err(e) => {
                        tracing::warn!("indexing for search failed: {e}");
                        self.indexing.failed();
                    }
                }
            }
            if let Err(fatal) = self.finish(batch).await {
                tracing::error!("the hub is stopping: {fatal}");
                break;
            }
            if let Some(presence) = self.presence_event()
                && let Some(c) = &self.cluster
            {
                c.bus.publish(vec![presence]);
            }
            self.tell_online();
            index_due = self.indexing.due(self.store.search_backlog(), had_commands);
        }
        self.flush_cursors().await;
        if let Some(c) = &self.cluster {
            // The other nodes show this node's users offline now, not after
            // the silence that a killed node leaves.
            let node = c.bus.node().to_owned();
            c.bus.publish(vec![Event::Leaving { node }]);
        }
        if let Err(e) = self.store.rollback().await {
            tracing::warn!("could not roll back at stop: {e}");
        }
        for session in self.state.sessions.values() {
            session.outbound.close(Closed::Dropped);
        }
        self.store.close();
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
            } => match self.take(session, Class::History, 1) {
                Ok(()) => self.history(b, session, &conv, reply),
                Err(refusal) => b.reply(reply, Err(refusal)),
            },
            Command::Search {
                session,
                conv,
                reply,
            } => match self.take(session, Class::Search, 1) {
                Ok(()) => self.search(b, session, conv.as_ref(), reply),
                Err(refusal) => b.reply(reply, Err(refusal)),
            },
            Command::Conversations { session, reply } => {
                match self.take(session, Class::Queries, 1) {
                    Ok(()) => self.conversations(b, session, reply),
                    Err(refusal) => b.reply(reply, Err(refusal)),
                }
            }
            Command::Take {
                session,
                class,
                reply,
            } => {
                let taken = self.take(session, class, 1);
                b.reply(reply, taken);
            }
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
            Command::FilePost { session, offer } => self.file_post(b, session, offer),
            Command::FileAborted { offer } => self.file_aborted(b, offer),
            Command::FileAccept {
                session,
                offer,
                reply,
            } => match self.take(session, Class::Files, 1) {
                Ok(()) => self.file_accept(b, session, offer, reply),
                Err(refusal) => b.reply(reply, Err(refusal)),
            },
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
                match self.take(session, Class::Files, 1) {
                    Ok(()) => self.file_withdraw(b, session, req, offer),
                    Err(refusal) => b.message(session, &refusal.answer(req, None, Some(offer))),
                }
            }
            Command::Sweep => self.sweep(b),
            Command::Remote(published) => self.incoming(b, published),
            Command::Filled(filled) => self.filled(b, *filled),
            Command::Versions(versions) => self.versions(versions),
            Command::Tick => self.tick(b),
            Command::Request { session, request } => self.request(b, session, request),
        }
    }

    /// One request of a logged-in session: counted against its user's
    /// allowance, then handled. Exhaustive on purpose, like
    /// [`Request::answers`] and [`Request::cost`]: a new request does not
    /// compile until it has a handler and a place in the rate limits.
    fn request(&mut self, b: &mut Batch, session: SessionId, request: Request) {
        let Some(user) = self.state.sessions.get(&session).map(|s| s.user) else {
            return;
        };
        let answers = request.answers();
        if let Some((req, id)) = answers {
            b.origins.push(Origin { session, req, id });
        }
        if let Some((class, cost)) = request.cost()
            && let Err(refusal) = self.take(session, class, cost)
        {
            let (req, id) = answers.unwrap_or_default();
            let offer = match &request {
                Request::FileDecision { offer, .. } => Some(*offer),
                _ => None,
            };
            return b.message(session, &refusal.answer(req, id, offer));
        }
        let req = answers.and_then(|(req, _)| req);
        // The group requests answer with the group, or a refusal, alike.
        let outcome = match request {
            Request::Send { id, to, body, what } => {
                return self.send(b, session, id, to, body, what);
            }
            Request::Ack { conv, seq } => return self.ack(b, session, &conv, seq),
            Request::Typing { to } => return self.typing(b, session, &to),
            Request::Read { req, conv, seq } => return self.read(b, session, req, &conv, seq),
            Request::Who { req } => return self.who(b, session, req),
            Request::Whois { req, user } => return self.whois(b, session, req, &user),
            Request::ReadBy { req, id } => return self.read_by(b, session, req, id),
            Request::Files { req } => return self.files(b, session, req),
            Request::FileDecision {
                req,
                offer,
                decision,
            } => return self.file_decision(b, session, req, offer, decision),
            Request::Create {
                req,
                group,
                members,
                access,
                posting,
            } => self.create_group(b, user, req, group, &members, (access, posting)),
            Request::Join { req, group } => self.join_group(b, user, req, &group),
            Request::Leave { req, group } => self.leave_group(b, user, req, &group),
            Request::Groups { req } => Ok(self.list_groups(user, req)),
            Request::Members { req, group } => self.list_members(user, req, &group),
            Request::Rename { req, group, to } => self.rename_group(b, user, req, &group, to),
            Request::Add {
                req,
                group,
                user: target,
            } => self.add_to_group(b, user, req, &group, &target),
            Request::Kick {
                req,
                group,
                user: target,
            } => self.kick_from_group(b, user, req, &group, &target),
            Request::Owner {
                req,
                group,
                user: target,
            } => self.hand_over_group(b, user, req, &group, &target),
            Request::Delete { req, group } => self.delete_group(b, user, req, &group),
            Request::Unban {
                req,
                group,
                user: target,
            } => self.unban(b, user, req, &group, &target),
            Request::Pin {
                req,
                group,
                seq,
                pinned,
            } => self.pin(b, user, req, &group, seq, pinned),
            Request::Role {
                req,
                group,
                user: target,
                role,
            } => self.set_role(b, user, req, &group, &target, role),
            Request::Settings {
                req,
                group,
                access,
                posting,
            } => self.change_rules(b, user, req, &group, access, posting),
        };
        self.answer_group(b, session, req, outcome);
    }

    /// Takes `cost` from the allowance for `class` of the user of `session`,
    /// or says how long to wait. A refused session also stops reading its
    /// client's lines for that long (at most [`MAX_HOLD_MS`]): a flood meets
    /// backpressure, instead of costing the server a refusal per line.
    pub(super) fn take(
        &mut self,
        session: SessionId,
        class: Class,
        cost: u32,
    ) -> Result<(), Refusal> {
        let Some(s) = self.state.sessions.get(&session) else {
            return Ok(());
        };
        let Some(u) = self.state.users.get_mut(&s.user) else {
            return Ok(());
        };
        let rates = &self.config.rates;
        // A user connected to several nodes of a cluster has a bucket on
        // each: each takes as many times the cost, so that together they
        // allow what one bucket would.
        let cost = cost.saturating_mul(1 + u32::from(u.remote));
        let taken = u.limits.take(rates, class, cost, Instant::now());
        if let Err(wait_ms) = taken {
            s.outbound.hold_reading(wait_ms.min(MAX_HOLD_MS));
        }
        taken.map_err(|wait_ms| {
            let why = format!(
                "too many {} (at most {}); try again in {wait_ms} ms",
                class.describe(),
                rates.of(class).describe()
            );
            Refusal::new(ErrorCode::RateLimited, why).retry_after(wait_ms)
        })
    }

    /// Commits the batch and releases its effects, or rolls it back, tells
    /// everyone involved, and reloads the state from what was really stored.
    async fn finish(&mut self, mut b: Batch) -> Result<(), StoreError> {
        if b.failed.is_none() {
            self.cursors.append(&mut b.dirty);
            let now = tokio::time::Instant::now();
            // The deadline stays set when a `read` writes the cursors before
            // it: a timer is armed at most once a second, not once a round
            // (arming one wakes the runtime's driver).
            let due = self.cursors_due.is_some_and(|due| due <= now);
            if due {
                self.cursors_due = None;
            }
            // A node of a cluster writes them at once: another node may
            // load the same member from the database at any moment.
            if b.cursors_now || due || self.clustered() {
                self.write_cursors(&mut b);
            } else if !self.cursors.is_empty() && self.cursors_due.is_none() {
                self.cursors_due = Some(now + CURSORS_WITHIN);
            }
        }
        let outcome = match b.failed.take() {
            Some(e) => Err(e),
            None => self.store.commit().await,
        };
        match outcome {
            Ok(()) => {
                if let Some(c) = &self.cluster
                    && !b.events.is_empty()
                {
                    c.bus.publish(std::mem::take(&mut b.events));
                }
                let spare = self.release(b.effects, &b.targets);
                if spare.capacity() <= SPARE_EFFECTS {
                    self.spare_effects = spare;
                }
                if b.targets.capacity() <= SPARE_TARGETS {
                    b.targets.clear();
                    self.spare_targets = b.targets;
                }
                // About one origin, and at most one conversation, a command
                // (a map rounds its room up).
                if b.origins.capacity() <= 2 * self.config.max_batch {
                    b.origins.clear();
                    self.spare_origins = b.origins;
                }
                if b.released.capacity() <= 2 * self.config.max_batch {
                    b.released.clear();
                    self.spare_released = b.released;
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(
                    "could not store a batch of {} requests: {e}",
                    b.origins.len()
                );
                if let Err(e) = self.store.rollback().await {
                    tracing::warn!("could not roll back: {e}");
                }
                let lines: Vec<Effect> = b
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
                // Said before the state is read again, which waits as long as
                // the database is away.
                self.release(lines, &[]);
                // What this node released stays its sequencers' place: a
                // cluster's other nodes may have stored more, which is read
                // and released in order, not skipped.
                let released: HashMap<ConvId, u64> = self
                    .state
                    .convs
                    .values()
                    .map(|c| (c.id, b.released.get(&c.id).copied().unwrap_or(c.last_seq)))
                    .collect();
                // Cursors of earlier batches that waited are not in the
                // store: kept, to be written when due.
                let waiting: Vec<(ConvId, UserId, u64, u64)> = std::mem::take(&mut self.cursors)
                    .into_iter()
                    .filter_map(|(conv, user)| {
                        let m = self.state.member_mut(conv, user)?;
                        m.dirty.then_some((conv, user, m.delivered, m.read))
                    })
                    .collect();
                let snapshot = self.reload().await?;
                self.state.load(snapshot, &self.config.rates);
                for (conv, user, delivered, read) in waiting {
                    if let Some(m) = self.state.member_mut(conv, user) {
                        m.delivered = m.delivered.max(delivered);
                        m.read = m.read.max(read);
                        m.dirty = true;
                        self.cursors.push((conv, user));
                    }
                }
                let clustered = self.clustered();
                for c in self.state.convs.values_mut() {
                    match released.get(&c.id) {
                        Some(&seq) => c.last_seq = c.last_seq.min(seq),
                        None if clustered => c.last_seq = 0,
                        None => {}
                    }
                }
                self.restore_remote_presence();
                let mut lines = Vec::new();
                for (session, offer) in b.uploads {
                    // Still uploading: the batch did not get as far as this one.
                    if self.state.offers.contains_key(&offer) {
                        continue;
                    }
                    let why = "the server could not store the file; it was not offered";
                    let msg =
                        ServerMessage::offer_error(None, offer, ErrorCode::StorageFailed, why);
                    lines.push(Effect::Line(session, msg.to_line()));
                    lines.push(Effect::Remove(offer));
                }
                // Replies are dropped unsent: their sessions see the hub refuse.
                self.release(lines, &[]);
                Ok(())
            }
        }
    }

    /// What the store really holds, after a batch failed. A store that can
    /// come back (a database across a network) is waited for, with requests
    /// queueing meanwhile; for an embedded one a failure to read is the end.
    async fn reload(&mut self) -> Result<Snapshot, StoreError> {
        let mut wait = Duration::from_millis(100);
        loop {
            match self.store.load().await {
                Ok(snapshot) => return Ok(snapshot),
                Err(e) if self.store.may_come_back() => {
                    tracing::error!("cannot read the store ({e}); trying again in {wait:?}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes the cursors that moved into the batch's transaction.
    fn write_cursors(&mut self, b: &mut Batch) {
        for (conv, user) in std::mem::take(&mut self.cursors) {
            let Some(m) = self.state.member_mut(conv, user) else {
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

    /// Writes the cursors still waiting (see [`CURSORS_WITHIN`]), at a
    /// graceful stop.
    async fn flush_cursors(&mut self) {
        if self.cursors.is_empty() {
            return;
        }
        let mut b = Batch::default();
        self.write_cursors(&mut b);
        let written = match b.failed {
            Some(e) => Err(e),
            None => self.store.commit().await,
        };
        if let Err(e) = written {
            tracing::warn!("could not write the last acknowledgements at stop: {e}");
        }
    }

    /// Hands the batch's lines to the connections and runs its replies. Lines
    /// are gathered per session and pushed with one lock and one wake-up each
    /// (a group message makes a line for every member, and a busy batch several
    /// for each); a reply first pushes everything gathered before it, so a
    /// session still sees lines and replies in the order they were made.
    ///
    /// Returns `effects`, empty, for its room to be used again.
    pub(super) fn release(
        &mut self,
        mut effects: Vec<Effect>,
        targets: &[SessionId],
    ) -> Vec<Effect> {
        let mut staged = Vec::new();
        for effect in effects.drain(..) {
            match effect {
                Effect::Line(to, line) => self.stage(&mut staged, to, line),
                Effect::Shared(line, range) => {
                    // The last target takes the line itself: the first clone
                    // of a line makes its buffer shared, an allocation that
                    // a line for one connection (a direct message) need not.
                    let targets = targets.get(range).unwrap_or_default();
                    if let Some((&last, rest)) = targets.split_last() {
                        for &to in rest {
                            self.stage(&mut staged, to, line.clone());
                        }
                        self.stage(&mut staged, last, line);
                    }
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
                Effect::Remove(offer) => self.config.blobs.remove(offer),
            }
        }
        self.push_staged(&mut staged);
        effects
    }

    /// Adds `line` to what `to` is sent when the lines are pushed; `staged`
    /// lists the sessions with lines waiting.
    fn stage(&mut self, staged: &mut Vec<SessionId>, to: SessionId, line: Bytes) {
        let Some(session) = self.state.sessions.get_mut(&to) else {
            return;
        };
        if session.staged.is_empty() {
            staged.push(to);
            let room = (session.staged_last as usize).min(STAGED_ROOM);
            session.staged.reserve_exact(room);
        }
        session.staged.push(line);
    }

    fn push_staged(&mut self, staged: &mut Vec<SessionId>) {
        for to in staged.drain(..) {
            let Some(session) = self.state.sessions.get_mut(&to) else {
                continue;
            };
            let lines = std::mem::take(&mut session.staged);
            // The largest of late, fading: batches of one burst vary in size.
            let len = u32::try_from(lines.len()).unwrap_or(u32::MAX);
            session.staged_last = len.max(session.staged_last - session.staged_last / 4);
            if session.outbound.push_all(lines).is_err() && !self.overflowed.contains(&to) {
                self.overflowed.push(to);
            }
        }
    }
}

#[cfg(test)]
mod indexing_tests {
    use super::{INDEX_AT_THE_LATEST, INDEX_WHEN_IDLE, Indexing};
    use tokio::time::{Duration, Instant, advance};

    /// Indexing waits for a second without commands, or at most ten seconds
    /// while commands keep coming; once going, it goes on while idle.
    #[tokio::test(start_paused = true)]
    async fn indexing_waits_for_a_quiet_moment_but_not_forever() {
        let mut i = Indexing::default();
        assert_eq!(i.due(false, true), None, "nothing to index");
        let start = Instant::now();
        assert_eq!(i.due(true, true), Some(start + INDEX_WHEN_IDLE));
        for _ in 0..30 {
            advance(Duration::from_millis(500)).await;
            let due = i.due(true, true).unwrap();
            assert!(due <= start + INDEX_AT_THE_LATEST, "busy, but not forever");
            let overdue = Instant::now() >= start + INDEX_AT_THE_LATEST;
            assert_eq!(i.overdue(Instant::now()), overdue);
        }
        assert_eq!(i.due(true, true), Some(start + INDEX_AT_THE_LATEST));
        assert!(
            i.overdue(Instant::now()),
            "due even if a command comes first"
        );
        i.going = true;
        assert_eq!(i.due(true, false), Some(Instant::now()), "idle: on at once");
        assert_eq!(i.due(false, false), None);
        let now = Instant::now();
        assert_eq!(i.due(true, true), Some(now + INDEX_WHEN_IDLE), "a new wait");

        // Long behind, idle, and failing: once a second, not in a loop.
        advance(Duration::from_secs(60)).await;
        i.going = true;
        i.failed();
        assert_eq!(i.due(true, false), Some(Instant::now() + INDEX_WHEN_IDLE));
    }
}
