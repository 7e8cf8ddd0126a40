//! What happens to the UI ([`Msg`], the input of `update`) and what the UI asks
//! the outside world to do ([`Effect`], its output). `update` never performs I/O;
//! the run loop carries out effects.

use classchat_common::protocol::Secret;
use std::path::PathBuf;

use classchat_common::{ClientMessage, Conv, MessageId, OfferId, Timestamp, Username};
use crossterm::event::{KeyEvent, MouseEvent};

use crate::client::Event;
use crate::outbox::Target;

#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one short-lived value per event, moved once into `update` and never \
              stored; boxing `Net` would allocate for every server message"
)]
pub enum Msg {
    Key(KeyEvent),
    /// Keys that type characters, come in one burst (text pasted into a
    /// terminal without bracketed paste arrives so): each does what it would
    /// alone.
    Typed(Vec<KeyEvent>),
    Mouse(MouseEvent),
    Paste(String),
    Resize(u16, u16),
    /// The terminal window gained (`true`) or lost focus.
    Focus(bool),
    /// Once a second, and before anything time-dependent is shown.
    Tick(Timestamp),
    Net(Event),
    /// The login form's attempt succeeded.
    LoggedIn {
        user: Username,
        server: String,
    },
    /// The login form's attempt failed; the reason is shown in the form.
    LoginFailed(String),
    /// The login form's name has no account on the server, which takes
    /// passwords of at least `min_password` characters (0: it did not say).
    NoAccount {
        min_password: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Queue a message in the client's outbox: text, or a reply, an edit or a
    /// deletion (`target`).
    Send {
        id: MessageId,
        to: Conv,
        body: String,
        target: Option<Target>,
    },
    /// Send a request.
    Ask(ClientMessage),
    /// Offer the file at `path`; `local` names the transfer until the server does.
    SendFile {
        local: u64,
        to: Conv,
        path: PathBuf,
    },
    /// Download an offered file into `dir` (the download folder when `None`).
    AcceptFile {
        offer: OfferId,
        conv: Conv,
        dir: Option<PathBuf>,
    },
    /// Stop a transfer, or withdraw an offer of ours.
    CancelTransfer {
        local: Option<u64>,
        offer: Option<OfferId>,
    },
    /// Ring the terminal bell.
    Bell,
    /// A desktop notification through the terminal (OSC 777) saying `text`:
    /// the client's own words, made of user and group names only.
    Desktop(String),
    /// Try to log in with what the form says; `create` makes the account if
    /// the name has none.
    Login {
        server: String,
        user: String,
        password: Secret,
        create: bool,
    },
    /// Give the running client the password the user typed again.
    Password(Secret),
    Quit,
}
