//! The client core: one task that owns the connection, and a handle to talk to it.
//!
//! [`Client::start`] makes the first connection (so a wrong password or an
//! unreachable server is reported at once), then hands it to a task that:
//! - sends what the app asks, keeping unconfirmed messages in the [`Outbox`]
//!   and resending them with the same ids after a reconnect;
//! - acknowledges received messages (coalesced per conversation) and drops
//!   duplicates that a reconnect may bring;
//! - turns receipts into per-message [`Status`] updates with the [`Tracker`];
//! - reconnects by itself with exponential backoff and jitter, preferring the
//!   resume token over the password, and then reads back from history what
//!   moved meanwhile (`refresh`: statuses, offers, what other devices sent).
//!
//! The app never touches the network: it sends [`Action`]s and receives
//! [`Event`]s, both through bounded channels.
//!
//! [`Outbox`]: crate::outbox::Outbox
//! [`Tracker`]: crate::tracker::Tracker
//! [`Status`]: crate::tracker::Status

mod actor;
mod backoff;
mod bulk;
mod refresh;
pub mod transfers;

use std::path::PathBuf;
use std::time::Duration;

use classchat_common::protocol::{ChatMessage, Limits, Secret};
use classchat_common::{
    ClientMessage, Conv, ErrorCode, MessageId, OfferId, ServerMessage, Username,
};
use tokio::sync::{mpsc, oneshot};

pub use backoff::Backoff;

use crate::address::ServerAddr;
use crate::config::{Logins, Unsent, UnsentMessage};
use crate::connection::{self, ConnectError, Proof};
use crate::outbox::Target;
use crate::tls::Trust;
use crate::tracker::Update;
pub use transfers::{Progress, TransferState};

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub server: ServerAddr,
    pub user: Username,
    pub password: Option<Secret>,
    /// Whether the first login, with the password, may create the account if
    /// the name has none. Reconnects never do: the account was there.
    pub create: bool,
    /// Where resume tokens are kept between runs; `None` keeps them in memory.
    pub logins: Option<Logins>,
    /// Where messages not yet stored are kept when the client stops, to be
    /// sent by its next start; `None` (pipe mode) keeps them in memory only.
    pub unsent: Option<Unsent>,
    pub backoff: Backoff,
    /// TLS, and how the server's certificate is trusted; `None` for plain TCP.
    pub tls: Option<Trust>,
}

/// What the app asks of the client task.
#[derive(Debug)]
pub enum Action {
    /// Queue a message: text, or a reply, an edit or a deletion (`target`).
    Send {
        id: MessageId,
        to: Conv,
        body: String,
        target: Option<Target>,
    },
    /// Any request carrying a `req`; resent after a reconnect until answered.
    Request(ClientMessage),
    /// Offer a file: it is hashed, offered, then sent. `local` names the
    /// transfer in progress reports until the server names the offer.
    SendFile { local: u64, to: Conv, path: PathBuf },
    /// Take an offered file into `dir`.
    Accept {
        offer: OfferId,
        conv: Option<Conv>,
        dir: PathBuf,
    },
    /// Stop a transfer (an upload, a download, or withdraw an offer of yours).
    CancelTransfer {
        local: Option<u64>,
        offer: Option<OfferId>,
    },
    /// The password to log in with from now on: the answer to
    /// [`Link::NeedsPassword`].
    Password(Secret),
    /// Flush acknowledgements, say `bye`, stop.
    Quit(oneshot::Sender<()>),
}

/// The connection's state, for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Logged in; `limits` are what the server announced on this connection
    /// (a server restarted meanwhile may announce others).
    Connected { user: Username, limits: Limits },
    /// Lost; `attempt` starts at 1, the next try is in `retry_in`.
    Reconnecting {
        attempt: u32,
        retry_in: Duration,
        reason: String,
    },
    /// The server refused the password (it was reset, say) or the saved login,
    /// so trying again unchanged cannot help. Nothing is lost: the client waits,
    /// keeping what is queued, until [`Action::Password`] gives a new one.
    NeedsPassword { reason: String },
}

/// What the client task tells the app.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "server messages are nearly every event; boxing each would cost an allocation \
              per message for a value handed on at once"
)]
pub enum Event {
    /// A message from the server (duplicates and pings already removed).
    Server(ServerMessage),
    /// One of your messages moved forward.
    Status(Update),
    /// A page of `conv` read back after a reconnect, asked by nobody: messages
    /// this client missed (another of your devices sent or acknowledged them)
    /// and file offers, each with how it stands now (`file.outcome`).
    Refreshed {
        conv: Conv,
        messages: Vec<ChatMessage>,
    },
    /// The server asked for a message to be sent again later; the client will.
    Retrying {
        id: MessageId,
        code: ErrorCode,
        retry_in_ms: u64,
    },
    Link(Link),
    /// A file transfer moved on.
    Transfer(Progress),
    /// A message typed before the client last stopped that the server had not
    /// stored: it is in the outbox again and goes out with its old id.
    Unsent(UnsentMessage),
    /// The client cannot go on (for example the password was changed); it has stopped.
    Fatal(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no password for {user}: give --password, or set CLASSCHAT_PASSWORD")]
    NoPassword { user: Username },
    #[error("the saved login for {user} is no longer valid; log in with the password")]
    StaleToken { user: Username },
    #[error("cannot log in as {user} at {server}: {cause}")]
    Connect {
        user: Username,
        server: ServerAddr,
        cause: ConnectError,
    },
}

/// What the first login told us.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: Username,
    pub created: bool,
    pub limits: Limits,
}

/// A fresh number for an upload, unique in this process.
pub fn transfer_number() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A handle to the client task; cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    actions: mpsc::Sender<Action>,
}

#[cfg(test)]
impl Client {
    /// A client whose actions go to `actions`, for tests of what hands them over.
    pub fn over(actions: mpsc::Sender<Action>) -> Self {
        Client { actions }
    }
}

/// The client task stopped.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the connection task has stopped")]
pub struct Stopped;

impl Client {
    /// Connects and logs in, then starts the task that keeps the connection.
    pub async fn start(
        options: ClientOptions,
    ) -> Result<(Client, mpsc::Receiver<Event>, Session), StartError> {
        let server_key = options.server.to_string();
        let saved = options
            .logins
            .as_ref()
            .and_then(|l| l.token(options.user.as_str(), &server_key));
        let proof = match (&options.password, saved) {
            (Some(password), _) => Proof::Password(password.clone()),
            (None, Some(token)) => Proof::Token(Secret(token)),
            (None, None) => {
                return Err(StartError::NoPassword {
                    user: options.user.clone(),
                });
            }
        };
        let established = match connection::connect(
            &options.server,
            &options.user,
            &proof,
            options.create,
            options.tls.as_ref(),
        )
        .await
        {
            Ok(established) => established,
            Err(ConnectError::Refused {
                code: ErrorCode::BadToken,
                ..
            }) => {
                if let Some(logins) = &options.logins {
                    let _ = logins.forget(options.user.as_str(), &server_key);
                }
                return Err(StartError::StaleToken { user: options.user });
            }
            Err(cause) => {
                return Err(StartError::Connect {
                    user: options.user,
                    server: options.server,
                    cause,
                });
            }
        };
        let session = Session {
            user: established.user.clone(),
            created: established.created,
            limits: established.limits.clone(),
        };
        let (actions_tx, actions_rx) = mpsc::channel(256);
        let (events_tx, events_rx) = mpsc::channel(1024);
        let actor = actor::Actor::new(options, actions_rx, events_tx, &established);
        tokio::spawn(actor.run(established));
        Ok((
            Client {
                actions: actions_tx,
            },
            events_rx,
            session,
        ))
    }

    /// Starts offering the file at `path`; returns its number in progress reports.
    pub async fn send_file(&self, to: Conv, path: PathBuf) -> Result<u64, Stopped> {
        let local = transfer_number();
        self.act(Action::SendFile { local, to, path }).await?;
        Ok(local)
    }

    /// Queues a message; returns the id it will carry (also on every retry).
    pub async fn send(&self, to: Conv, body: String) -> Result<MessageId, Stopped> {
        self.send_about(to, body, None).await
    }

    /// Queues a message that answers, edits or deletes another (`target`),
    /// or plain text (`None`); returns its id, as [`Client::send`] does.
    pub async fn send_about(
        &self,
        to: Conv,
        body: String,
        target: Option<Target>,
    ) -> Result<MessageId, Stopped> {
        let id = MessageId::new();
        self.act(Action::Send {
            id,
            to,
            body,
            target,
        })
        .await?;
        Ok(id)
    }

    /// Sends a request; its answer arrives as an [`Event::Server`] with the same `req`.
    pub async fn request(&self, msg: ClientMessage) -> Result<(), Stopped> {
        self.act(Action::Request(msg)).await
    }

    /// Acknowledges what arrived, logs out, and stops the task.
    pub async fn quit(&self) {
        let (done, finished) = oneshot::channel();
        if self.act(Action::Quit(done)).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), finished).await;
        }
    }

    /// Hands over an action without waiting; gives it back if the channel is
    /// full (or the task has stopped), for the caller to try again later.
    #[allow(
        clippy::result_large_err,
        reason = "the action comes back only when the channel is full, to be tried again"
    )]
    pub fn try_act(&self, action: Action) -> Result<(), Action> {
        self.actions.try_send(action).map_err(|e| match e {
            mpsc::error::TrySendError::Full(a) | mpsc::error::TrySendError::Closed(a) => a,
        })
    }

    /// Hands over an action, waiting for room in the channel.
    pub async fn act(&self, action: Action) -> Result<(), Stopped> {
        self.actions.send(action).await.map_err(|_| Stopped)
    }
}
