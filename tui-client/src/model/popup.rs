//! The state of each popup, and of the login form.
//!
//! No popup opens by itself over what the user is typing: one that takes
//! single-letter keys as actions (an offer, a list) opens only on a key or
//! command the user gave for it, and a character that is not one of its own
//! keys closes it and goes to the input (`update/popup.rs`).

use std::path::Path;

use super::{Confirm, Field, Picker, Search};
use classchat_common::protocol::{Counts, GroupInfo, MemberInfo, MemberState};
use classchat_common::{Conv, GroupName, OfferId, Username};

#[derive(Debug)]
pub enum Popup {
    /// Every key and command, from the same tables the handlers use.
    Help { scroll: u16 },
    /// `Ctrl+K`: jump to a person, a group or a command by typing part of it.
    Switcher { query: Box<Field>, selected: usize },
    /// Who has received and read one of your messages.
    ReadBy {
        conv: Conv,
        seq: u64,
        counts: Counts,
        members: Vec<MemberState>,
    },
    /// Every group (`/groups`); Enter opens or joins the selected one.
    Groups {
        groups: Vec<GroupInfo>,
        selected: usize,
    },
    /// Who is online (`/who`): the names the server listed, sorted, and how
    /// many are online in all; Enter opens a conversation with the chosen one.
    Who {
        online: Vec<Username>,
        total: usize,
        selected: usize,
    },
    /// A group's members (`/members`), then who is banned (told to the
    /// owner and moderators only); `selected` goes through both.
    Members {
        group: GroupName,
        owner: Username,
        members: Vec<MemberInfo>,
        banned: Vec<Username>,
        selected: usize,
    },
    /// A group's pinned messages (`/pins`), in the order pinned; Enter goes
    /// to the chosen one in the conversation.
    Pins { group: GroupName, selected: usize },
    /// `/search` or `Ctrl+F`: messages found by their words, newest first;
    /// Enter goes to the chosen one in its conversation.
    Search(Box<Search>),
    /// `+` on a selected message: the reactions to give it, numbered; one
    /// you gave already is taken back.
    React {
        conv: Conv,
        seq: u64,
        selected: usize,
    },
    /// `w` on a selected message: each kind of reaction to it, with who
    /// gave it.
    Reactions { conv: Conv, seq: u64, scroll: u16 },
    /// `/sendfile` without a path: choose the file.
    Picker(Box<Picker>),
    /// A file offered to you: accept, save elsewhere, decline, or decide later.
    Offer {
        offer: OfferId,
        /// "Save as": the folder being typed, prefilled with the download folder.
        save_as: Option<Box<Field>>,
    },
    /// `Ctrl+T`: every upload and download of this run.
    Transfers { selected: usize },
    /// `/passwd`: change your password.
    Password(Box<PasswordChange>),
    /// A question before a destructive action (`/delete`, declining an offer)
    /// or before quitting with work unfinished: `y` goes ahead, `n` or Esc
    /// do nothing.
    Confirm(Confirm),
}

/// The current password, the new one and the new one again; none is shown.
#[derive(Debug)]
pub struct PasswordChange {
    pub fields: [Field; 3],
    /// 0 current, 1 new, 2 new again.
    pub field: usize,
    /// The shortest new password the server takes (0: it did not say), shown
    /// before anything is sent.
    pub min_password: usize,
    pub error: Option<String>,
    /// Sent; waiting for the server's answer.
    pub busy: bool,
}

const PASSWORD_CHANGE_HINTS: [&str; 3] = ["your password now", "the new one", "the new one again"];

impl PasswordChange {
    pub fn new(min_password: usize) -> Self {
        Self {
            fields: PASSWORD_CHANGE_HINTS.map(Field::masked),
            field: 0,
            min_password,
            error: None,
            busy: false,
        }
    }

    /// Empties `field`, to be typed afresh.
    pub fn clear(&mut self, field: usize) {
        if let Some(area) = self.fields.get_mut(field) {
            area.clear();
        }
    }

    pub fn value(&self, field: usize) -> String {
        self.fields.get(field).map(Field::text).unwrap_or_default()
    }
}

impl Popup {
    pub fn switcher() -> Self {
        Popup::Switcher {
            query: Box::new(Field::new("type to find a person, group or command")),
            selected: 0,
        }
    }

    /// The `/who` list: `online` sorted, and `total` online in all (the
    /// server lists at most a page of them).
    pub fn who(mut online: Vec<Username>, total: usize) -> Self {
        online.sort();
        online.dedup();
        Popup::Who {
            total: total.max(online.len()),
            online,
            selected: 0,
        }
    }

    pub fn offer(offer: OfferId) -> Self {
        Popup::Offer {
            offer,
            save_as: None,
        }
    }

    /// The folder field of "save as", holding `dir`.
    pub fn folder_input(dir: &Path, home: Option<&Path>) -> Field {
        Field::new("a folder; Enter saves the file there")
            .holding(&crate::layout::files::shown_path(dir, home))
    }
}

/// The form shown when the client starts without a user name or password.
///
/// Signing up takes two steps, so a misspelt name does not quietly become a
/// second account: the first try logs in only to an account that exists. If
/// the server has none of that name, the form says so, with the shortest
/// password the server takes, and asks for the password again ([`repeat`]);
/// only a matching, long enough repeat logs in creating the account.
///
/// [`repeat`]: LoginForm::repeat
#[derive(Debug)]
pub struct LoginForm {
    pub server: Field,
    pub user: Field,
    pub password: Field,
    /// The password again: there once the server said the name has no
    /// account, gone as soon as the server or the name is changed.
    pub repeat: Option<Field>,
    /// The shortest password the server takes for a new account, as it
    /// announced (0: it did not say).
    pub min_password: usize,
    /// 0 server, 1 user, 2 password, 3 the password again.
    pub field: usize,
    pub error: Option<String>,
    pub busy: bool,
    /// Logging in again after the server refused the password: only the
    /// password can change, and the running client takes it.
    pub again: bool,
}

impl LoginForm {
    pub fn new(server: &str, user: &str) -> Self {
        Self {
            server: Field::new("host:port, e.g. localhost:12345 or [::1]:12345").holding(server),
            field: if user.is_empty() { 1 } else { 2 },
            user: Field::new("your user name").holding(user),
            password: Field::masked("your password"),
            repeat: None,
            min_password: 0,
            error: None,
            busy: false,
            again: false,
        }
    }

    /// The form for logging in again as `user` on `server`, saying why.
    pub fn again(server: &str, user: &str, why: String) -> Self {
        let mut form = Self::new(server, user);
        form.refused(why);
        form.field = 2;
        form.again = true;
        form
    }

    /// The password was refused: say why, and let it be typed afresh.
    pub fn refused(&mut self, why: String) {
        self.busy = false;
        self.error = Some(why);
        self.password.clear();
    }

    /// The server has no account of this name: ask for the password again,
    /// to create it.
    pub fn no_account(&mut self, min_password: usize) {
        self.busy = false;
        self.error = None;
        self.min_password = min_password;
        self.repeat = Some(Field::masked("the same password again"));
        self.field = 3;
    }

    /// The name as typed, without the spaces around it.
    pub fn name(&self) -> String {
        self.user.text().trim().to_owned()
    }

    pub fn fields(&self) -> Vec<&Field> {
        let mut fields = vec![&self.server, &self.user, &self.password];
        fields.extend(self.repeat.as_ref());
        fields
    }

    pub fn current_mut(&mut self) -> &mut Field {
        match (self.field, self.repeat.as_mut()) {
            (0, _) => &mut self.server,
            (1, _) => &mut self.user,
            (3, Some(repeat)) => repeat,
            _ => &mut self.password,
        }
    }
}
