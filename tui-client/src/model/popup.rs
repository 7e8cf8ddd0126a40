//! The state of each popup, and of the login form.

use std::path::Path;

use classchat_common::protocol::{Counts, GroupInfo, MemberInfo, MemberState};
use classchat_common::{Conv, GroupName, OfferId, Username};
use ratatui_textarea::TextArea;

use super::{Picker, input_area};

#[derive(Debug)]
pub enum Popup {
    /// Every key and command, from the same tables the handlers use.
    Help { scroll: u16 },
    /// `Ctrl+K`: jump to a person, a group or a command by typing part of it.
    Switcher {
        query: Box<TextArea<'static>>,
        selected: usize,
    },
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
    /// A group's members (`/members`).
    Members {
        group: GroupName,
        owner: Username,
        members: Vec<MemberInfo>,
        selected: usize,
    },
    /// `/sendfile` without a path: choose the file.
    Picker(Box<Picker>),
    /// A file offered to you: accept, save elsewhere, decline, or decide later.
    Offer {
        offer: OfferId,
        /// "Save as": the folder being typed, prefilled with the download folder.
        save_as: Option<Box<TextArea<'static>>>,
    },
    /// `Ctrl+T`: every upload and download of this run.
    Transfers { selected: usize },
    /// `/passwd`: change your password.
    Password(Box<PasswordChange>),
}

/// The current password, the new one and the new one again; none is shown.
#[derive(Debug)]
pub struct PasswordChange {
    pub fields: [TextArea<'static>; 3],
    /// 0 current, 1 new, 2 new again.
    pub field: usize,
    pub error: Option<String>,
    /// Sent; waiting for the server's answer.
    pub busy: bool,
}

const PASSWORD_CHANGE_HINTS: [&str; 3] = ["your password now", "the new one", "the new one again"];

impl PasswordChange {
    pub fn new() -> Self {
        Self {
            fields: PASSWORD_CHANGE_HINTS.map(password_field),
            field: 0,
            error: None,
            busy: false,
        }
    }

    /// Empties `field`, to be typed afresh.
    pub fn clear(&mut self, field: usize) {
        if let (Some(area), Some(hint)) =
            (self.fields.get_mut(field), PASSWORD_CHANGE_HINTS.get(field))
        {
            *area = password_field(hint);
        }
    }

    pub fn value(&self, field: usize) -> String {
        self.fields
            .get(field)
            .map(|f| f.lines().join(""))
            .unwrap_or_default()
    }
}

impl Default for PasswordChange {
    fn default() -> Self {
        Self::new()
    }
}

impl Popup {
    pub fn switcher() -> Self {
        let mut query = input_area("type to find a person, group or command");
        query.set_wrap_mode(ratatui_textarea::WrapMode::None);
        Popup::Switcher {
            query: Box::new(query),
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

    /// The one-line folder input of "save as", holding `dir`.
    pub fn folder_input(dir: &Path, home: Option<&Path>) -> TextArea<'static> {
        let mut area = input_area("a folder; Enter saves the file there");
        area.set_wrap_mode(ratatui_textarea::WrapMode::None);
        area.insert_str(crate::layout::files::shown_path(dir, home));
        area
    }
}

fn password_field(placeholder: &str) -> TextArea<'static> {
    let mut area = input_area(placeholder);
    area.set_wrap_mode(ratatui_textarea::WrapMode::None);
    area.set_mask_char('•');
    area
}

/// The form shown when the client starts without a user name or password.
#[derive(Debug)]
pub struct LoginForm {
    pub server: TextArea<'static>,
    pub user: TextArea<'static>,
    pub password: TextArea<'static>,
    /// 0 server, 1 user, 2 password.
    pub field: usize,
    pub error: Option<String>,
    pub busy: bool,
    /// Logging in again after the server refused the password: only the
    /// password can change, and the running client takes it.
    pub again: bool,
}

impl LoginForm {
    pub fn new(server: &str, user: &str) -> Self {
        let field = |placeholder: &str, value: &str| {
            let mut area = input_area(placeholder);
            area.set_wrap_mode(ratatui_textarea::WrapMode::None);
            area.insert_str(value);
            area
        };
        Self {
            server: field("host:port, e.g. localhost:12345 or [::1]:12345", server),
            field: if user.is_empty() { 1 } else { 2 },
            user: field("your user name", user),
            password: password_field("new name? this becomes its password"),
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
        self.password = password_field("your password");
    }

    pub fn fields(&self) -> [&TextArea<'static>; 3] {
        [&self.server, &self.user, &self.password]
    }

    pub fn current_mut(&mut self) -> &mut TextArea<'static> {
        match self.field {
            0 => &mut self.server,
            1 => &mut self.user,
            _ => &mut self.password,
        }
    }

    pub fn value(area: &TextArea<'_>) -> String {
        area.lines().join("").trim().to_owned()
    }
}
