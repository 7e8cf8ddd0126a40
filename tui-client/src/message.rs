//! What happens to the UI ([`Msg`], the input of `update`) and what the UI asks
//! the outside world to do ([`Effect`], its output). `update` never performs I/O;
//! the run loop carries out effects.

use classchat_common::protocol::Secret;
use classchat_common::{ClientMessage, Conv, MessageId, Timestamp, Username};
use crossterm::event::{KeyEvent, MouseEvent};

use crate::client::Event;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
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
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Queue a message in the client's outbox.
    Send {
        id: MessageId,
        to: Conv,
        body: String,
    },
    /// Send a request.
    Ask(ClientMessage),
    /// Ring the terminal bell.
    Bell,
    /// Try to log in with what the form says.
    Login {
        server: String,
        user: String,
        password: Secret,
    },
    Quit,
}
