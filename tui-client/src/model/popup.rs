//! The state of each popup, and of the login form.

use classchat_common::protocol::{Counts, GroupInfo, MemberInfo, MemberState};
use classchat_common::{Conv, GroupName, Username};
use ratatui_textarea::TextArea;

use super::input_area;

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
    /// A group's members (`/members`).
    Members {
        group: GroupName,
        owner: Username,
        members: Vec<MemberInfo>,
        selected: usize,
    },
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
}

impl LoginForm {
    pub fn new(server: &str, user: &str) -> Self {
        let field = |placeholder: &str, value: &str| {
            let mut area = input_area(placeholder);
            area.set_wrap_mode(ratatui_textarea::WrapMode::None);
            area.insert_str(value);
            area
        };
        let mut password = field("new name? this becomes its password", "");
        password.set_mask_char('•');
        Self {
            server: field("host:port, e.g. localhost:12345 or [::1]:12345", server),
            field: if user.is_empty() { 1 } else { 2 },
            user: field("your user name", user),
            password,
            error: None,
            busy: false,
        }
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
