//! The task behind [`Client`](super::Client): serve a connection, and when it is
//! lost, reconnect and carry on where it stopped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use classchat_common::protocol::{ChatMessage, GroupEvent, Limits, Req, Secret};
use classchat_common::{
    ClientMessage, Conv, ErrorCode, FrameError, MessageId, OfferId, ServerMessage, Username,
};
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::bulk::{self, BulkEvent};
use super::refresh::Held;
use super::transfers::{Hashed, Progress, TransferState, Transfers};
use super::{Action, ClientOptions, Event, Link};
use crate::config::UnsentMessage;
use crate::connection::{self, ConnectError, Established, Proof, Transport};
use crate::outbox::{Outbox, Pace, Target};
use crate::tracker::{Tracker, Update};

/// Messages sent and not yet confirmed, at most, on one connection.
const WINDOW: usize = 256;

/// Received messages after which acknowledgements go out even mid-burst.
const ACK_EVERY: usize = 256;

/// Request ids the task uses for itself, far above any an app would pick.
const OWN_REQ_BASE: Req = 1 << 52;

/// How a connection ended.
enum Ended {
    Quit(Option<oneshot::Sender<()>>),
    Lost(String),
}

pub struct Actor {
    options: ClientOptions,
    /// The user name as the server spells it.
    user: Username,
    actions: mpsc::Receiver<Action>,
    events: mpsc::Sender<Event>,
    token: Secret,
    outbox: Outbox,
    /// Whether the unsent-messages file holds something of ours.
    unsent_kept: bool,
    tracker: Tracker,
    /// Requests not yet answered, resent after a reconnect.
    requests: BTreeMap<Req, ClientMessage>,
    /// The highest sequence number received per conversation; anything at or
    /// below it is a duplicate.
    seen: HashMap<Conv, u64>,
    /// Acknowledgements not yet sent, per conversation.
    acks: HashMap<Conv, u64>,
    unacked: usize,
    /// What the server announced on the current connection.
    limits: Limits,
    /// Silence after which the server is presumed gone.
    silence: Duration,
    /// Connections made so far; from the second on, what may have moved
    /// meanwhile is read back.
    connections: u32,
    /// What this client holds, to know what to read back after a reconnect.
    held: Held,
    /// This task's own requests (the conversation list and the history pages
    /// it reads back).
    own_requests: HashSet<Req>,
    next_own_req: Req,
    transfers: Transfers,
    /// Files hashed on blocking threads, ready to offer.
    hashed_tx: mpsc::Sender<Hashed>,
    hashed_rx: mpsc::Receiver<Hashed>,
    /// When each transfer last reported progress (reports are spaced out).
    reported: HashMap<TransferKey, Instant>,
    /// What the bulk connections of transfers say (`bulk.rs`).
    bulk_tx: mpsc::Sender<BulkEvent>,
    bulk_rx: mpsc::Receiver<BulkEvent>,
    /// The address the chat connection reached, where bulk connections go.
    peer: Option<std::net::SocketAddr>,
}

/// A transfer, before and after the server names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TransferKey {
    Local(u64),
    Offer(OfferId),
}

/// Progress reports per transfer, at most this often (state changes always go).
const REPORT_EVERY: Duration = Duration::from_millis(200);

impl Actor {
    pub fn new(
        options: ClientOptions,
        actions: mpsc::Receiver<Action>,
        events: mpsc::Sender<Event>,
        first: &Established,
    ) -> Self {
        let (hashed_tx, hashed_rx) = mpsc::channel(16);
        // Each event of a download holds up to 256 KiB: a few in the queue
        // keep the disk busy without holding much.
        let (bulk_tx, bulk_rx) = mpsc::channel(8);
        Self {
            user: first.user.clone(),
            tracker: Tracker::new(first.user.clone()),
            token: first.token.clone(),
            limits: first.limits.clone(),
            options,
            actions,
            events,
            outbox: Outbox::new(WINDOW),
            unsent_kept: false,
            requests: BTreeMap::new(),
            seen: HashMap::new(),
            acks: HashMap::new(),
            unacked: 0,
            silence: Duration::from_secs(30),
            connections: 0,
            held: Held::default(),
            own_requests: HashSet::new(),
            next_own_req: OWN_REQ_BASE,
            transfers: Transfers::default(),
            hashed_tx,
            hashed_rx,
            reported: HashMap::new(),
            bulk_tx,
            bulk_rx,
            peer: None,
        }
    }

    pub async fn run(mut self, first: Established) {
        let mut next = Some(first);
        loop {
            let established = match next.take() {
                Some(established) => established,
                None => match self.reconnect().await {
                    Some(established) => established,
                    None => return,
                },
            };
            self.adopt(&established);
            match self.serve(established.transport).await {
                Ended::Quit(done) => {
                    self.keep_unsent();
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
                Ended::Lost(reason) => {
                    tracing::info!("connection lost: {reason}");
                    self.outbox.connection_lost();
                    self.keep_unsent();
                    self.acks.clear();
                    self.unacked = 0;
                    for progress in self.transfers.connection_lost().await {
                        self.report(progress, true).await;
                    }
                }
            }
        }
    }

    fn adopt(&mut self, established: &Established) {
        self.peer = established.peer;
        self.token = established.token.clone();
        self.user = established.user.clone();
        if let Some(logins) = &self.options.logins {
            let server = self.options.server.to_string();
            if let Err(e) = logins.save(established.user.as_str(), &server, &established.token.0) {
                tracing::warn!("cannot save the login token: {e}");
            }
        }
        self.limits = established.limits.clone();
        let limits = &established.limits;
        self.outbox.set_pace(
            Pace {
                per_sec: limits.rate_per_sec,
                burst: limits.rate_burst,
            },
            Instant::now(),
        );
        self.silence = Duration::from_secs(limits.ping_secs.saturating_mul(2).max(10) + 10);
    }

    /// Puts back in the outbox what the last run could not get stored, and
    /// shows it as sending.
    async fn restore_unsent(&mut self) {
        let Some(unsent) = &self.options.unsent else {
            return;
        };
        let restored = unsent.load(self.user.as_str(), &self.options.server.to_string());
        self.unsent_kept = !restored.is_empty();
        for m in restored {
            if self.outbox.iter().any(|p| p.id == m.id) {
                continue;
            }
            self.outbox
                .push(m.id, m.to.clone(), m.body.clone(), m.target);
            self.emit(Event::Unsent(m)).await;
        }
    }

    /// Writes down what the server has not stored yet, so that quitting or
    /// losing the connection (and then quitting) does not lose it.
    fn keep_unsent(&mut self) {
        let Some(unsent) = &self.options.unsent else {
            return;
        };
        if self.outbox.is_empty() && !self.unsent_kept {
            return;
        }
        let messages: Vec<UnsentMessage> = self
            .outbox
            .iter()
            .map(|p| UnsentMessage {
                id: p.id,
                to: p.to.clone(),
                body: p.body.clone(),
                target: p.target,
            })
            .collect();
        let server = self.options.server.to_string();
        match unsent.save(self.user.as_str(), &server, messages) {
            Ok(()) => self.unsent_kept = !self.outbox.is_empty(),
            Err(e) => tracing::warn!("cannot keep the unsent messages: {e}"),
        }
    }

    fn forget_unsent_when_all_stored(&mut self) {
        if self.unsent_kept && self.outbox.is_empty() {
            self.keep_unsent();
        }
    }

    async fn emit(&self, event: Event) {
        // The app may have gone away; then there is nobody to tell.
        let _ = self.events.send(event).await;
    }

    async fn serve(&mut self, mut transport: Transport) -> Ended {
        self.emit(Event::Link(Link::Connected {
            user: self.user.clone(),
            limits: self.limits.clone(),
        }))
        .await;
        if self.connections == 0 {
            self.restore_unsent().await;
        }
        let pending: Vec<ClientMessage> = self.requests.values().cloned().collect();
        for request in pending {
            if let Err(e) = transport.feed(request.to_line()).await {
                return Ended::Lost(e.to_string());
            }
        }
        if let Err(e) = self.pump(&mut transport).await {
            return Ended::Lost(e);
        }
        self.connections += 1;
        if self.connections > 1
            && let Err(e) = self.refresh(&mut transport).await
        {
            return Ended::Lost(e);
        }
        let mut last_heard = Instant::now();
        loop {
            let wake = self.outbox.next_wakeup();
            let quiet_until = last_heard + self.silence;
            tokio::select! {
                biased;
                line = transport.next() => {
                    let line = match line {
                        Some(Ok(line)) => line,
                        Some(Err(FrameError::TooLong { limit })) => {
                            return Ended::Lost(format!("the server sent a line over {limit} bytes"));
                        }
                        Some(Err(FrameError::Io(e))) => return Ended::Lost(e.to_string()),
                        None => return Ended::Lost("the server closed the connection".into()),
                    };
                    last_heard = Instant::now();
                    match ServerMessage::decode(&line) {
                        Ok(msg) => {
                            if let Err(e) = self.on_server(&mut transport, msg).await {
                                return Ended::Lost(e);
                            }
                        }
                        Err(e) => tracing::warn!("ignoring a line from the server: {}", e.message),
                    }
                    if self.unacked >= ACK_EVERY
                        && let Err(e) = self.flush_acks(&mut transport).await
                    {
                        return Ended::Lost(e);
                    }
                }
                () = std::future::ready(()), if !self.acks.is_empty() => {
                    // Nothing more to read right now: acknowledge what arrived.
                    if let Err(e) = self.flush_acks(&mut transport).await {
                        return Ended::Lost(e);
                    }
                }
                action = self.actions.recv() => match action {
                    Some(Action::Send { id, to, body, target }) => {
                        self.outbox.push(id, to, body, target);
                        if let Err(e) = self.pump(&mut transport).await {
                            return Ended::Lost(e);
                        }
                    }
                    Some(Action::Request(msg)) => {
                        if let Some(req) = msg.req() {
                            self.requests.insert(req, msg.clone());
                        }
                        if let Err(e) = transport.send(msg.to_line()).await {
                            return Ended::Lost(e.to_string());
                        }
                    }
                    Some(Action::SendFile { local, to, path }) => {
                        let progress = self.transfers.send_file(local, to, path, self.hashed_tx.clone());
                        self.report(progress, true).await;
                    }
                    Some(Action::Accept { offer, conv, dir }) => {
                        let accept = self.transfers.accept(offer, conv, dir);
                        if let Err(e) = transport.send(accept.to_line()).await {
                            return Ended::Lost(e.to_string());
                        }
                    }
                    Some(Action::CancelTransfer { local, offer }) => {
                        let (stop, progress) = self.transfers.cancel(local, offer).await;
                        if let Some(progress) = progress {
                            self.report(progress, true).await;
                        }
                        if let Some(stop) = stop
                            && let Err(e) = transport.send(stop.to_line()).await
                        {
                            return Ended::Lost(e.to_string());
                        }
                    }
                    Some(Action::Password(password)) => self.options.password = Some(password),
                    Some(Action::Quit(done)) => {
                        let _ = self.flush_acks(&mut transport).await;
                        let _ = transport.send(ClientMessage::Bye.to_line()).await;
                        return Ended::Quit(Some(done));
                    }
                    None => {
                        let _ = self.flush_acks(&mut transport).await;
                        return Ended::Quit(None);
                    }
                },
                Some(hashed) = self.hashed_rx.recv() => {
                    let (offer, progress) = self.transfers.hashed(hashed);
                    self.report(progress, true).await;
                    if let Some(offer) = offer
                        && let Err(e) = transport.send(offer.to_line()).await
                    {
                        return Ended::Lost(e.to_string());
                    }
                }
                Some(event) = self.bulk_rx.recv() => {
                    if let Err(e) = self.on_bulk(&mut transport, event).await {
                        return Ended::Lost(e);
                    }
                }
                chunk = self.transfers.next_chunk(), if self.transfers.can_upload() => match chunk {
                    Some(Ok(chunk)) => {
                        if let Err(e) = transport.send(chunk.to_line()).await {
                            return Ended::Lost(e.to_string());
                        }
                    }
                    Some(Err(progress)) => self.report(progress, true).await,
                    None => {}
                },
                () = sleep_until(wake) => {
                    if let Err(e) = self.pump(&mut transport).await {
                        return Ended::Lost(e);
                    }
                }
                () = tokio::time::sleep_until(quiet_until) => {
                    return Ended::Lost(format!("nothing heard from the server for {:?}", self.silence));
                }
            }
        }
    }

    /// Tells the app about a transfer: every change of state, and progress at
    /// most every `REPORT_EVERY`.
    async fn report(&mut self, progress: Progress, always: bool) {
        let key = match progress.offer {
            Some(offer) => TransferKey::Offer(offer),
            None => TransferKey::Local(progress.local.unwrap_or_default()),
        };
        let now = Instant::now();
        let due = self
            .reported
            .get(&key)
            .is_none_or(|t| now.duration_since(*t) >= REPORT_EVERY);
        if !(always || due || progress.state.is_over()) {
            return;
        }
        if progress.state.is_over() {
            self.reported.remove(&key);
        } else {
            self.reported.insert(key, now);
        }
        self.emit(Event::Transfer(progress)).await;
    }

    /// Puts every message the outbox lets go on the wire.
    async fn pump(&mut self, transport: &mut Transport) -> Result<(), String> {
        let now = Instant::now();
        let mut any = false;
        while let Some(p) = self.outbox.next_to_send(now) {
            transport
                .feed(p.message().to_line())
                .await
                .map_err(|e| e.to_string())?;
            any = true;
        }
        if any {
            transport.flush().await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Receipts, decisions on offers and messages sent or acknowledged by your
    /// other devices while disconnected were not sent to us: ask for the
    /// conversation list, and read back from history what it shows has moved
    /// (`read_back`, once it comes).
    async fn refresh(&mut self, transport: &mut Transport) -> Result<(), String> {
        self.own_requests.clear();
        let req = self.own_req();
        transport
            .send(ClientMessage::Conversations { req: Some(req) }.to_line())
            .await
            .map_err(|e| e.to_string())
    }

    /// The conversation list after a reconnect (`listed`: each one's newest
    /// `seq`): ask for what to read back in each.
    async fn read_back(
        &mut self,
        transport: &mut Transport,
        listed: &[(Conv, u64)],
    ) -> Result<(), String> {
        for (conv, after) in self.held.plan(listed, &self.tracker.unsettled()) {
            self.read_page(transport, conv, after).await?;
        }
        transport.flush().await.map_err(|e| e.to_string())
    }

    fn own_req(&mut self) -> Req {
        self.next_own_req += 1;
        self.own_requests.insert(self.next_own_req);
        self.next_own_req
    }

    /// Asks for the page of `conv` after `after` (the first of several, when
    /// much has happened).
    async fn read_page(
        &mut self,
        transport: &mut Transport,
        conv: Conv,
        after: u64,
    ) -> Result<(), String> {
        let msg = ClientMessage::History {
            req: Some(self.own_req()),
            conv,
            before: None,
            after: Some(after),
            limit: Some(classchat_common::limits::HISTORY_PAGE_MAX),
        };
        transport
            .feed(msg.to_line())
            .await
            .map_err(|e| e.to_string())
    }

    /// A page this task read back: statuses move, offers show how they went,
    /// the app fills in what it missed, and the next page is asked for.
    async fn page_read_back(
        &mut self,
        transport: &mut Transport,
        conv: Conv,
        messages: Vec<ChatMessage>,
        more: bool,
    ) -> Result<(), String> {
        for update in self.follow(&conv, &messages) {
            self.emit(Event::Status(update)).await;
        }
        if let (true, Some(last)) = (more, messages.last()) {
            self.read_page(transport, conv.clone(), last.seq).await?;
            transport.flush().await.map_err(|e| e.to_string())?;
        }
        if !messages.is_empty() {
            self.emit(Event::Refreshed { conv, messages }).await;
        }
        Ok(())
    }

    async fn flush_acks(&mut self, transport: &mut Transport) -> Result<(), String> {
        for (conv, seq) in self.acks.drain() {
            transport
                .feed(ClientMessage::Ack { conv, seq }.to_line())
                .await
                .map_err(|e| e.to_string())?;
        }
        self.unacked = 0;
        transport.flush().await.map_err(|e| e.to_string())
    }

    /// One arm per kind of server message, and no catch-all: a new kind does
    /// not compile until it is given a place here.
    async fn on_server(
        &mut self,
        transport: &mut Transport,
        msg: ServerMessage,
    ) -> Result<(), String> {
        match msg {
            ServerMessage::Ping => return send(transport, &ClientMessage::Pong).await,
            // Only bulk connections carry these (`bulk.rs`).
            ServerMessage::Pong
            | ServerMessage::Transfer { .. }
            | ServerMessage::TransferDone { .. } => {}
            ServerMessage::Message(m) => self.on_message(m).await,
            ServerMessage::Stored {
                id,
                ref conv,
                seq,
                of,
                ..
            } => {
                let update = self.stored(id, conv, seq, of);
                self.emit_with(msg, update).await;
                return self.pump(transport).await;
            }
            ServerMessage::Receipt {
                ref conv,
                ref user,
                joined,
                delivered,
                read,
            } => {
                let updates = self.tracker.receipt(conv, user, joined, delivered, read);
                self.emit_with(msg, updates).await;
            }
            ServerMessage::UploadReady {
                req: Some(req),
                offer,
                chunk,
                window,
                ref token,
                ..
            } => {
                let progress = self.transfers.upload_ready(req, offer, chunk, window);
                self.report_any(progress, true).await;
                if let (Some(token), Some(target)) = (token, self.bulk_target())
                    && let Some((task, path, size)) = self.transfers.bulk_upload(offer)
                {
                    let transfer = bulk::Transfer {
                        target,
                        token: token.clone(),
                        offer,
                        task,
                        size,
                        tx: self.bulk_tx.clone(),
                    };
                    bulk::put(transfer, path);
                }
            }
            ServerMessage::ChunkAck { offer, received } => {
                let progress = self.transfers.chunk_ack(offer, received);
                self.report_any(progress, false).await;
            }
            ServerMessage::Uploaded { offer, .. } => {
                let progress = self.transfers.uploaded(offer);
                self.report_any(progress, true).await;
                self.emit(Event::Server(msg)).await;
            }
            ServerMessage::Download {
                req: Some(req),
                ref file,
                ..
            } => {
                let answer = self.transfers.download(req, file).await;
                if let ServerMessage::Download {
                    token: Some(token), ..
                } = &msg
                    && let Some(target) = self.bulk_target()
                    && let Some((task, from, size)) = self.transfers.bulk_download(file.offer)
                    && from < size
                {
                    let transfer = bulk::Transfer {
                        target,
                        token: token.clone(),
                        offer: file.offer,
                        task,
                        size,
                        tx: self.bulk_tx.clone(),
                    };
                    bulk::get(transfer, from);
                }
                return self.downloading(transport, answer, true).await;
            }
            ServerMessage::FileChunk {
                offer,
                offset,
                ref data,
            } => {
                // Chunks of a download stopped meanwhile are dropped.
                if self.transfers.downloading(offer) {
                    let answer = self.transfers.file_chunk(offer, offset, data).await;
                    return self.downloading(transport, answer, false).await;
                }
            }
            ServerMessage::Error {
                req,
                offer,
                ref message,
                ..
            } if offer.is_some() || req.is_some_and(transfer_req) => {
                for progress in self.transfers.refused(req, offer, message).await {
                    self.report(progress, true).await;
                }
                // The app asked for none of the transfer task's own requests.
                if offer.is_some() || req.is_none_or(|r| !transfer_req(r)) {
                    self.emit(Event::Server(msg)).await;
                }
            }
            ServerMessage::Error {
                id: Some(id),
                code,
                retry_after_ms,
                ..
            } if code.is_transient() => self.retry(id, code, retry_after_ms).await,
            ServerMessage::Error { id: Some(id), .. } => {
                let update = self.failed(id);
                self.emit_with(msg, update).await;
                return self.pump(transport).await;
            }
            ServerMessage::Error { req: Some(req), .. } if self.own_requests.remove(&req) => {}
            ServerMessage::History {
                req: Some(req),
                conv,
                messages,
                more,
            } if self.own_requests.remove(&req) => {
                return self.page_read_back(transport, conv, messages, more).await;
            }
            ServerMessage::History {
                ref conv,
                ref messages,
                ..
            } => {
                let updates = self.page_seen(conv, messages);
                self.pass_with(msg, updates).await;
            }
            ServerMessage::Conversations {
                req: Some(req),
                ref conversations,
                ..
            } if self.own_requests.remove(&req) => {
                let listed: Vec<(Conv, u64)> = conversations
                    .iter()
                    .map(|s| (s.conv.clone(), s.last_seq))
                    .collect();
                return self.read_back(transport, &listed).await;
            }
            // Replies and news for the app alone.
            ServerMessage::Welcome { .. }
            | ServerMessage::LoggedIn { .. }
            | ServerMessage::PasswordChanged { .. }
            | ServerMessage::Synced { .. }
            | ServerMessage::Presence { .. }
            | ServerMessage::Online { .. }
            | ServerMessage::Typing { .. }
            | ServerMessage::Who { .. }
            | ServerMessage::User { .. }
            | ServerMessage::ReadBy { .. }
            | ServerMessage::Group { .. }
            | ServerMessage::GroupDeleted { .. }
            | ServerMessage::Groups { .. }
            | ServerMessage::Members { .. }
            | ServerMessage::Conversations { .. }
            | ServerMessage::UploadReady { .. }
            | ServerMessage::Download { .. }
            | ServerMessage::FileStatus { .. }
            | ServerMessage::Files { .. }
            | ServerMessage::ReadMarked { .. }
            | ServerMessage::Search { .. }
            | ServerMessage::Error { .. }
            | ServerMessage::Bye => self.pass_with(msg, None).await,
        }
        Ok(())
    }

    /// Your message `id` is stored as `seq` in `conv`, for `of` recipients.
    /// An edit or a deletion is not followed: it shows in the message it changes.
    fn stored(&mut self, id: MessageId, conv: &Conv, seq: u64, of: u32) -> Option<Update> {
        let sent = self.outbox.remove(id);
        self.forget_unsent_when_all_stored();
        self.held.holds(conv, seq);
        if sent.is_some_and(|p| p.target.is_some_and(Target::changes)) {
            return None;
        }
        self.tracker.stored(id, conv, seq, of)
    }

    /// Your message `id` was refused for good: it leaves the outbox. (An
    /// edit or a deletion has no status to mark failed; the error says it.)
    fn failed(&mut self, id: MessageId) -> Option<Update> {
        let update = self
            .outbox
            .remove(id)
            .filter(|p| !p.target.is_some_and(Target::changes))
            .and_then(|p| self.tracker.failed(id, &p.to));
        self.forget_unsent_when_all_stored();
        update
    }

    /// The server asked for message `id` again later (rate limited, busy).
    async fn retry(&mut self, id: MessageId, code: ErrorCode, retry_after_ms: Option<u64>) {
        let retry_in_ms = retry_after_ms.unwrap_or(1000);
        self.outbox
            .retry_at(id, Instant::now() + Duration::from_millis(retry_in_ms));
        let retrying = Event::Retrying {
            id,
            code,
            retry_in_ms,
        };
        self.emit(retrying).await;
    }

    /// A page the app asked for: the tracker follows our messages in it (from
    /// before this client started, or sent elsewhere), and what it holds is noted.
    fn page_seen(&mut self, conv: &Conv, messages: &[ChatMessage]) -> Vec<Update> {
        for m in messages {
            self.held.saw(conv, m);
        }
        self.follow(conv, messages)
    }

    /// Tells the app `msg`, which answers its request if it has a `req`, then
    /// the status changes it brought.
    async fn pass_with(&mut self, msg: ServerMessage, updates: impl IntoIterator<Item = Update>) {
        if let Some(req) = msg.req() {
            self.requests.remove(&req);
        }
        self.emit_with(msg, updates).await;
    }

    async fn report_any(&mut self, progress: Option<Progress>, always: bool) {
        if let Some(progress) = progress {
            self.report(progress, always).await;
        }
    }

    /// A message: acknowledged (duplicates too: the server resends until it
    /// hears), and unless it is a duplicate, handed to the app.
    async fn on_message(&mut self, m: ChatMessage) {
        if let Some(GroupEvent::Renamed { old, new }) = &m.event {
            self.renamed(&Conv::Group(old.clone()), &Conv::Group(new.clone()));
        }
        let ack = self.acks.entry(m.conv.clone()).or_default();
        *ack = (*ack).max(m.seq);
        self.unacked += 1;
        let seen = self.seen.entry(m.conv.clone()).or_default();
        if m.seq <= *seen {
            return;
        }
        *seen = m.seq;
        self.held.saw(&m.conv, &m);
        // Sent by another of our connections: follow it as if sent here.
        let update = m
            .counts
            .filter(|_| !changes(&m))
            .and_then(|c| self.tracker.counts(m.id, &m.conv, m.seq, c));
        let deleted = matches!(m.event, Some(GroupEvent::Deleted)).then(|| m.conv.clone());
        self.emit_with(ServerMessage::Message(m), update).await;
        // A group of the same name made later numbers its messages from 1:
        // they are not duplicates of these. (Its acknowledgement still goes.)
        if let Some(conv) = deleted {
            self.seen.remove(&conv);
            self.held.forget(&conv);
        }
    }

    /// Tells the app `msg`, then the status changes it brought.
    async fn emit_with(&self, msg: ServerMessage, updates: impl IntoIterator<Item = Update>) {
        self.emit(Event::Server(msg)).await;
        for update in updates {
            self.emit(Event::Status(update)).await;
        }
    }

    /// Where bulk connections go: the server the chat connection reached.
    fn bulk_target(&self) -> Option<bulk::Target> {
        Some(bulk::Target {
            peer: self.peer?,
            addr: self.options.server.clone(),
            tls: self.options.tls.clone(),
        })
    }

    /// What a transfer's bulk connection says.
    async fn on_bulk(&mut self, transport: &mut Transport, event: BulkEvent) -> Result<(), String> {
        match event {
            BulkEvent::Sent { offer, task, bytes } => {
                let progress = self.transfers.bulk_sent(offer, task, bytes);
                self.report_any(progress, false).await;
            }
            BulkEvent::Bytes { offer, task, data } => {
                let answer = self.transfers.bulk_bytes(offer, task, &data).await;
                return self.downloading(transport, answer, false).await;
            }
            BulkEvent::Ended {
                offer,
                task,
                outcome,
            } => {
                if self.transfers.downloading(offer) {
                    let (replies, progress) = self
                        .transfers
                        .bulk_download_ended(offer, task, outcome)
                        .await;
                    // A `cancel`, or an `accept` again for chunks instead.
                    for reply in replies {
                        send(transport, &reply).await?;
                    }
                    self.report_any(progress, true).await;
                } else {
                    let (stop, progress) = self.transfers.bulk_upload_ended(offer, task, outcome);
                    if let Some(stop) = stop {
                        send(transport, &stop).await?;
                    }
                    self.report_any(progress, true).await;
                }
            }
        }
        Ok(())
    }

    /// Sends what a download step answers (acknowledgements, `received`) and
    /// reports its progress.
    async fn downloading(
        &mut self,
        transport: &mut Transport,
        answer: Option<(Vec<ClientMessage>, Progress)>,
        always: bool,
    ) -> Result<(), String> {
        let Some((replies, progress)) = answer else {
            return Ok(());
        };
        for reply in replies {
            transport
                .feed(reply.to_line())
                .await
                .map_err(|e| e.to_string())?;
        }
        transport.flush().await.map_err(|e| e.to_string())?;
        self.report(progress, always).await;
        Ok(())
    }

    /// Hands the tracker the counts a page of history gives our own messages.
    fn follow(&mut self, conv: &Conv, messages: &[ChatMessage]) -> Vec<Update> {
        messages
            .iter()
            .filter(|m| !changes(m))
            .filter_map(|m| {
                let counts = m.counts?;
                self.tracker.counts(m.id, conv, m.seq, counts)
            })
            .collect()
    }

    /// What was known under a group's old name now goes by its new one.
    fn renamed(&mut self, old: &Conv, new: &Conv) {
        if let Some(seen) = self.seen.remove(old) {
            let now = self.seen.entry(new.clone()).or_default();
            *now = (*now).max(seen);
        }
        if let Some(ack) = self.acks.remove(old) {
            let now = self.acks.entry(new.clone()).or_default();
            *now = (*now).max(ack);
        }
        self.held.rename(old, new);
        self.tracker.rename(old, new);
    }

    /// Waits out the backoff and tries again until connected, the app quits, or
    /// trying cannot help. Meanwhile the app's actions are queued. A refused
    /// password waits, without retrying, for the app to give another.
    async fn reconnect(&mut self) -> Option<Established> {
        let mut attempt = 0u32;
        let mut reason = String::from("the connection was lost");
        let mut proof = Proof::Token(self.token.clone());
        let mut needs_password = false;
        loop {
            let deadline = if needs_password {
                None
            } else {
                attempt += 1;
                let retry_in = self.options.backoff.next(attempt);
                self.emit(Event::Link(Link::Reconnecting {
                    attempt,
                    retry_in,
                    reason: reason.clone(),
                }))
                .await;
                Some(Instant::now() + retry_in)
            };
            loop {
                tokio::select! {
                    () = sleep_until(deadline) => break,
                    action = self.actions.recv() => match action {
                        Some(Action::Send { id, to, body, target }) => {
                            self.outbox.push(id, to, body, target);
                            self.keep_unsent();
                        }
                        Some(Action::Request(msg)) => {
                            if let Some(req) = msg.req() {
                                self.requests.insert(req, msg);
                            }
                        }
                        Some(Action::SendFile { local, to, path }) => {
                            // Hashing can start now; the offer goes once connected.
                            let progress = self.transfers.send_file(local, to, path, self.hashed_tx.clone());
                            self.report(progress, true).await;
                        }
                        Some(Action::Accept { offer, conv, .. }) => {
                            let progress = Progress {
                                local: None,
                                offer: Some(offer),
                                upload: false,
                                name: String::new(),
                                conv,
                                bytes: 0,
                                size: 0,
                                elapsed_ms: 0,
                                state: TransferState::Failed {
                                    reason: "not connected; accept it again once reconnected".into(),
                                },
                            };
                            self.report(progress, true).await;
                        }
                        Some(Action::CancelTransfer { local, offer }) => {
                            if let (_, Some(progress)) = self.transfers.cancel(local, offer).await {
                                self.report(progress, true).await;
                            }
                        }
                        Some(Action::Password(password)) => {
                            self.options.password = Some(password.clone());
                            proof = Proof::Password(password);
                            if needs_password {
                                needs_password = false;
                                break;
                            }
                        }
                        Some(Action::Quit(done)) => {
                            self.keep_unsent();
                            let _ = done.send(());
                            return None;
                        }
                        None => return None,
                    },
                }
            }
            match connection::connect(
                &self.options.server,
                &self.options.user,
                &proof,
                // The account was there when the first login made or found it.
                false,
                self.options.tls.as_ref(),
            )
            .await
            {
                Ok(established) => return Some(established),
                Err(ConnectError::Refused {
                    code: ErrorCode::BadToken,
                    ..
                }) if matches!(proof, Proof::Token(_)) && self.options.password.is_some() => {
                    if let Some(password) = &self.options.password {
                        proof = Proof::Password(password.clone());
                    }
                    reason = "the saved login expired; logging in with the password".into();
                }
                Err(e) if e.needs_password() => {
                    needs_password = true;
                    self.emit(Event::Link(Link::NeedsPassword {
                        reason: e.to_string(),
                    }))
                    .await;
                }
                Err(e) if e.is_permanent() => {
                    self.emit(Event::Fatal(format!("cannot log in again: {e}")))
                        .await;
                    return None;
                }
                Err(e) => reason = e.to_string(),
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn send(transport: &mut Transport, msg: &ClientMessage) -> Result<(), String> {
    transport
        .send(msg.to_line())
        .await
        .map_err(|e| e.to_string())
}

/// Whether `m` edits or deletes another message: nobody follows who received
/// or read such a line.
fn changes(m: &ChatMessage) -> bool {
    m.edit.is_some() || m.delete.is_some()
}

/// Whether `req` is one the transfer machinery made (`accept`, `offer`).
fn transfer_req(req: Req) -> bool {
    req >= super::transfers::TRANSFER_REQ_BASE
}
