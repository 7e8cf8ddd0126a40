//! Everything the terminal UI knows, in one place. Only `update` changes it;
//! the view only reads it.
//!
//! Layout: [`conversation`] (one conversation: its messages, scroll position,
//! draft, unread state), [`popup`] (the state of each popup and the login
//! form), [`field`] (text fields: the keys that edit them, the one-line
//! field), [`offers`] (file offers to you and from you), [`picker`] (the file
//! picker's folder and filter), [`search`] (the search popup's words and what
//! it found), [`switcher`] (what `Ctrl+K` lists) and
//! [`confirm`] (questions before destructive actions, and the unfinished work
//! a quit would stop). This file holds the [`Model`] that ties them together,
//! with the file transfers of this run.

pub mod confirm;
pub mod conversation;
pub mod field;
pub mod offers;
pub mod picker;
pub mod popup;
pub mod search;
pub mod switcher;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::PathBuf;

use chrono::FixedOffset;
use classchat_common::limits::MAX_BODY_BYTES;
use classchat_common::protocol::Req;
use classchat_common::{Conv, GroupName, Timestamp, Username};
use ratatui::style::{Modifier, Style};
use ratatui_textarea::TextArea;

pub use confirm::{Confirm, Unfinished};
pub use conversation::{
    Change, Composing, Conversation, Entry, Facts, Fetched, Pins, Reactions, Scroll, Seek, Typists,
};
pub use field::Field;
pub use offers::{Incoming, Offers, Sent};
pub use picker::Picker;
pub use popup::{LoginForm, PasswordChange, Popup};
pub use search::Search;

use crate::client::{Progress, TransferState};
use crate::config::Notify;
use crate::keymap::Keymap;

/// Whether we are connected, for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Connected,
    /// The next attempt is at `at` (wall-clock milliseconds).
    Reconnecting {
        attempt: u32,
        at: Timestamp,
        reason: String,
    },
    /// The client gave up (for example the certificate changed).
    Failed(String),
    /// The server refused the password or saved login; the client waits for
    /// the user to type the password again (the login form is open).
    LoggedOut(String),
}

/// How things look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Plain ASCII status markers instead of `✓✓`-style symbols.
    pub ascii: bool,
    /// Colours on (off with `NO_COLOR` or `theme = "mono"`).
    pub color: bool,
}

/// How long news stays in the status bar.
const NOTICE_MS: i64 = 8_000;
/// How long an error stays (Esc puts it away sooner).
const ERROR_MS: i64 = 20_000;
/// An error stays at least this long, whatever else happens: other news waits
/// behind it, and a reconnect does not sweep it away.
const ERROR_READ_MS: i64 = 5_000;

/// A line for the status bar, shown from `since` until `until`. Newer news
/// about the same thing replaces it at once; other news waits while it is an
/// error too young to have been read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
    /// The conversation it is about, if any.
    pub about: Option<Conv>,
    /// What the text says of how `about` stands (a group's size and owner,
    /// whether someone is online), as it stood when the notice was posted:
    /// once that changes the text is no longer true, and the notice goes.
    pub describes: Option<Facts>,
    pub since: Timestamp,
    pub until: Timestamp,
}

impl Notice {
    /// Whether it has been up long enough to be read (only errors need it).
    pub fn read_by(&self, now: Timestamp) -> bool {
        !self.error || now.as_millis() - self.since.as_millis() >= ERROR_READ_MS
    }

    fn same_subject(&self, other: &Notice) -> bool {
        self.about.is_some() && self.about == other.about
    }
}

/// Where the keyboard goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// Typing in the input bar.
    Input,
    /// Moving through the messages of the open conversation; the index is into
    /// its entries.
    Messages(usize),
}

/// What an outstanding request was for, so its answer lands in the right place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// An older page of a conversation.
    Older(Conv),
    /// The newest page, when a conversation is first opened.
    Recent(Conv),
    /// A slash command; its text comes back to the input if it fails.
    Command(String),
    /// Background bookkeeping (who is online, the conversation list).
    Quiet,
    /// A group's members asked again, quietly, to learn whether someone just
    /// added is online: one at a time per group, so a hundred added at once
    /// ask once or twice, not a hundred times.
    Roster(GroupName),
    /// A password change from the `/passwd` form.
    Password,
    /// Pinned message `seq` of `conv`, for the pins popup.
    Pinned { conv: Conv, seq: u64 },
    /// A page of the search popup's results (the popup knows which page it
    /// waits for).
    Search,
}

#[derive(Debug)]
pub struct Model {
    /// Who we are, once logged in; `None` while the login form shows.
    pub me: Option<Username>,
    pub server: String,
    pub login: Option<LoginForm>,
    pub link: LinkState,
    /// Between connecting and `synced`: what arrives now waited while we were away.
    pub syncing: bool,
    /// The longest message body the server takes, in bytes, as it announced
    /// when the connection was made; the protocol's default until then.
    pub max_body: usize,
    /// The shortest new password the server takes, in characters, as it
    /// announced when the connection was made (0: it did not say).
    pub min_password: usize,
    /// Groups first, then people, each in name order: stable, so `Alt+1..9`
    /// always mean the same conversations.
    pub convs: Vec<Conversation>,
    /// Index into `convs`.
    pub selected: Option<usize>,
    /// The conversation open before the selected one, to go back to if the
    /// selected one turns out never to have existed (`/msg nobody`).
    pub previous: Option<Conv>,
    pub focus: Focus,
    pub popup: Option<Popup>,
    pub notice: Option<Notice>,
    /// News that came while an unread error was shown; it follows the error.
    pub notice_next: Option<Notice>,
    /// Input for when no conversation is open (commands only).
    pub lobby_input: TextArea<'static>,
    /// Lines sent, newest last, for `Up` to recall.
    pub sent: VecDeque<String>,
    /// Position while recalling with `Up`/`Down`.
    pub recall: Option<usize>,
    /// Tab completion in progress: the candidates and which one is shown.
    pub completion: Option<Completion>,
    /// Whether the terminal window has focus (read marking and bells depend on it).
    pub terminal_focused: bool,
    pub muted: HashSet<Conv>,
    /// Whether the others are told when you type (`typing` in the settings).
    pub tell_typing: bool,
    /// How a mention of you (or a direct message, in the background) is
    /// made known (`notify` in the settings).
    pub notify_with: Notify,
    /// Users known to be online, and everyone we have heard of (for completion).
    pub online: BTreeSet<Username>,
    /// How many are online in all, as the server last counted them (`who`,
    /// `online`): the only source of the status line's "N online".
    pub online_total: usize,
    pub known_users: BTreeSet<Username>,
    pub known_groups: BTreeSet<GroupName>,
    pub asked: HashMap<Req, Asked>,
    pub next_req: Req,
    pub size: (u16, u16),
    /// The time as of the last tick; everything time-dependent reads this.
    pub now: Timestamp,
    /// The time zone timestamps are shown in.
    pub tz: FixedOffset,
    pub look: Look,
    pub keymap: Keymap,
    /// File transfers of this run, newest last.
    pub transfers: Vec<Transfer>,
    /// Where accepted files go unless another folder is picked.
    pub download_dir: PathBuf,
    /// File offers to you and from you.
    pub offers: Offers,
    /// The user's home folder: shown as `~`, and `~/` in typed paths means it.
    pub home: Option<PathBuf>,
    /// Where the file picker opens: the folder last chosen from, at first the
    /// folder the client was started in.
    pub picker_dir: PathBuf,
    pub quit: bool,
}

/// One upload or download, as last reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub progress: Progress,
}

impl Transfer {
    /// Bytes per second so far.
    pub fn rate(&self) -> u64 {
        let ms = self.progress.elapsed_ms.max(1);
        self.progress.bytes.saturating_mul(1000) / ms
    }

    /// Seconds left at the rate so far, if it can be told.
    pub fn eta_secs(&self) -> Option<u64> {
        let rate = self.rate();
        (rate > 0).then(|| self.progress.size.saturating_sub(self.progress.bytes) / rate)
    }

    fn same(&self, p: &Progress) -> bool {
        let a = &self.progress;
        (a.upload == p.upload && a.offer.is_some() && a.offer == p.offer)
            || (a.upload && p.upload && a.local.is_some() && a.local == p.local)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub candidates: Vec<String>,
    pub index: usize,
    /// Byte offset in the input line where the completed word starts.
    pub start: usize,
}

/// A text area set up the way every input in the client is.
pub fn input_area(placeholder: &str) -> TextArea<'static> {
    let mut area = TextArea::default();
    area.set_placeholder_text(placeholder);
    // Modifiers instead of the widget's default colours (dark grey, light blue):
    // the theme is not known here, and with NO_COLOR nothing may be coloured.
    area.set_placeholder_style(Style::default().add_modifier(Modifier::DIM));
    area.set_selection_style(Style::default().add_modifier(Modifier::REVERSED));
    area.set_cursor_line_style(Style::default());
    area.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    area
}

impl Model {
    pub fn new(
        server: String,
        now: Timestamp,
        tz: FixedOffset,
        look: Look,
        keymap: Keymap,
    ) -> Self {
        Self {
            me: None,
            server,
            login: None,
            link: LinkState::Connecting,
            syncing: false,
            max_body: MAX_BODY_BYTES,
            min_password: 0,
            convs: Vec::new(),
            selected: None,
            previous: None,
            focus: Focus::Input,
            popup: None,
            notice: None,
            notice_next: None,
            lobby_input: input_area("Type /help for commands, or /msg <user> <text>"),
            sent: VecDeque::new(),
            recall: None,
            completion: None,
            terminal_focused: true,
            muted: HashSet::new(),
            tell_typing: true,
            notify_with: Notify::Bell,
            online: BTreeSet::new(),
            online_total: 0,
            known_users: BTreeSet::new(),
            known_groups: BTreeSet::new(),
            asked: HashMap::new(),
            next_req: 0,
            size: (80, 24),
            now,
            tz,
            look,
            keymap,
            transfers: Vec::new(),
            download_dir: PathBuf::from("."),
            offers: Offers::default(),
            home: None,
            picker_dir: PathBuf::from("."),
            quit: false,
        }
    }

    /// Records a transfer's progress (a new one, or the next report of one).
    /// A late report never undoes a final state nor moves the bytes back; a
    /// download accepted again after it failed or was stopped starts afresh.
    /// Returns where the transfer is in `transfers` if its state changed.
    pub fn track(&mut self, progress: Progress) -> Option<usize> {
        let Some(at) = self.transfers.iter().position(|t| t.same(&progress)) else {
            self.transfers.push(Transfer { progress });
            return Some(self.transfers.len() - 1);
        };
        let t = &mut self.transfers[at];
        let old = &t.progress;
        let restarted = matches!(
            old.state,
            TransferState::Failed { .. } | TransferState::Cancelled
        ) && !progress.upload
            && progress.state == TransferState::Downloading
            && progress.bytes == 0;
        if old.state.is_over() && !progress.state.is_over() && !restarted {
            return None;
        }
        let changed = old.state != progress.state;
        let mut next = progress;
        if !restarted && !next.state.is_over() && old.state == next.state {
            next.bytes = next.bytes.max(old.bytes);
            next.elapsed_ms = next.elapsed_ms.max(old.elapsed_ms);
        }
        // A refusal may know only the offer: keep what was known of the rest.
        if next.name.is_empty() {
            next.name.clone_from(&old.name);
        }
        if next.size == 0 {
            next.size = old.size;
        }
        if next.conv.is_none() {
            next.conv.clone_from(&old.conv);
        }
        if next.local.is_none() {
            next.local = old.local;
        }
        if next.offer.is_none() {
            next.offer = old.offer;
        }
        t.progress = next;
        changed.then_some(at)
    }

    pub fn current(&self) -> Option<&Conversation> {
        self.selected.and_then(|i| self.convs.get(i))
    }

    pub fn current_mut(&mut self) -> Option<&mut Conversation> {
        self.selected.and_then(|i| self.convs.get_mut(i))
    }

    pub fn find(&self, conv: &Conv) -> Option<usize> {
        self.convs.iter().position(|c| c.conv == *conv)
    }

    /// The conversation `conv`, made (in its sorted place) if new.
    pub fn conversation(&mut self, conv: &Conv) -> usize {
        match self.find(conv) {
            Some(i) => i,
            None => self.place(Conversation::new(conv.clone())),
        }
    }

    /// Inserts a conversation where the order puts it, keeping the selection on
    /// the conversation it was on.
    fn place(&mut self, conv: Conversation) -> usize {
        let at = self
            .convs
            .iter()
            .position(|c| sort_key(&c.conv) > sort_key(&conv.conv))
            .unwrap_or(self.convs.len());
        match &conv.conv {
            Conv::User(u) => {
                self.known_users.insert(u.clone());
            }
            Conv::Group(g) => {
                self.known_groups.insert(g.clone());
            }
        }
        self.convs.insert(at, conv);
        if let Some(sel) = self.selected.as_mut()
            && *sel >= at
        {
            *sel += 1;
        }
        at
    }

    /// A group got a new name: its conversation moves, messages, draft and all.
    pub fn rename(&mut self, old: &Conv, new: &Conv) {
        let Some(at) = self.find(old) else { return };
        let was_selected = self.selected == Some(at);
        let mut conv = self.convs.remove(at);
        if let Some(sel) = self.selected.as_mut()
            && *sel > at
        {
            *sel -= 1;
        }
        if let Conv::Group(g) = old {
            self.known_groups.remove(g);
        }
        // Notices that describe it under its old name go with the old name
        // (`forget_untrue_notices` no longer finds it).
        conv.retitle(new.clone());
        let placed = self.place(conv);
        if was_selected {
            self.selected = Some(placed);
        }
        // The pins popup lists the group under its new name.
        if let (Some(Popup::Pins { group, .. }), Conv::Group(old), Conv::Group(new)) =
            (self.popup.as_mut(), old, new)
            && group == old
        {
            group.clone_from(new);
        }
        // So do the reaction popups, about a message of it.
        if let Some(Popup::React { conv, .. } | Popup::Reactions { conv, .. }) = self.popup.as_mut()
            && conv == old
        {
            conv.clone_from(new);
        }
        // And the messages found in it.
        if let Some(Popup::Search(search)) = self.popup.as_mut() {
            let convs = search.within.iter_mut();
            for conv in convs.chain(search.found.iter_mut().map(|m| &mut m.conv)) {
                if conv == old {
                    conv.clone_from(new);
                }
            }
        }
    }

    /// Forgets a conversation (a group left, deleted, or one we were removed from).
    pub fn remove(&mut self, conv: &Conv) {
        let Some(at) = self.find(conv) else { return };
        self.convs.remove(at);
        self.selected = match self.selected {
            Some(sel) if sel > at => Some(sel - 1),
            Some(sel) if sel == at => {
                (!self.convs.is_empty()).then(|| at.min(self.convs.len() - 1))
            }
            other => other,
        };
        self.focus = Focus::Input;
    }

    /// The input the keyboard types into now.
    pub fn input(&self) -> &TextArea<'static> {
        match self.current() {
            Some(c) => &c.draft,
            None => &self.lobby_input,
        }
    }

    /// Who is online is known only while connected: what the client heard
    /// before the link dropped may no longer be true, so it is not shown.
    pub fn presence_is_live(&self) -> bool {
        matches!(self.link, LinkState::Connected)
    }

    pub fn input_mut(&mut self) -> &mut TextArea<'static> {
        match self.selected.and_then(|i| self.convs.get_mut(i)) {
            Some(c) => &mut c.draft,
            None => &mut self.lobby_input,
        }
    }

    pub fn ask(&mut self, why: Asked) -> Req {
        self.next_req += 1;
        self.asked.insert(self.next_req, why);
        self.next_req
    }

    pub fn notify(&mut self, text: impl Into<String>, error: bool) {
        self.post(None, None, text.into(), error);
    }

    /// A notice about `conv`: it replaces older news about the same conversation
    /// (say "removed you from #g" by "added you to #g").
    pub fn notify_about(&mut self, conv: &Conv, text: impl Into<String>, error: bool) {
        self.post(Some(conv.clone()), None, text.into(), error);
    }

    /// A notice saying how `conv` stands now ("kick: #lab · owner alice · 2
    /// members", "bob is offline"): it goes as soon as that is no longer so.
    pub fn notify_state(&mut self, conv: &Conv, text: impl Into<String>) {
        let describes = self.find(conv).map(|i| self.convs[i].facts());
        self.post(Some(conv.clone()), describes, text.into(), false);
    }

    /// Notices whose conversation no longer stands as they say go (the next
    /// one waiting takes the place of the one shown).
    pub fn forget_untrue_notices(&mut self) {
        let untrue = |n: &Option<Notice>| {
            n.as_ref().is_some_and(|n| {
                n.describes.as_ref().is_some_and(|said| {
                    let now = n.about.as_ref().and_then(|c| self.find(c));
                    now.map(|i| self.convs[i].facts()).as_ref() != Some(said)
                })
            })
        };
        let (next_untrue, shown_untrue) = (untrue(&self.notice_next), untrue(&self.notice));
        if next_untrue {
            self.notice_next = None;
        }
        if shown_untrue {
            self.notice = None;
            self.age_notices();
        }
    }

    fn post(&mut self, about: Option<Conv>, describes: Option<Facts>, text: String, error: bool) {
        let notice = self.stamped(Notice {
            text,
            error,
            about,
            describes,
            since: self.now,
            until: self.now,
        });
        if let Some(shown) = self.notice.as_mut() {
            // Nothing new (a second request failing for the same reason): the
            // notice that says it, and perhaps more, stays.
            if shown.error == notice.error && shown.text.contains(&notice.text) {
                shown.until = shown.until.max(notice.until);
                return;
            }
            if !notice.error && !shown.same_subject(&notice) && !shown.read_by(self.now) {
                self.notice_next = Some(notice);
                return;
            }
        }
        if self
            .notice_next
            .as_ref()
            .is_some_and(|next| next.same_subject(&notice))
        {
            self.notice_next = None;
        }
        self.notice = Some(notice);
    }

    /// `notice` shown from now on, for as long as its kind stays.
    fn stamped(&self, notice: Notice) -> Notice {
        let stay = if notice.error { ERROR_MS } else { NOTICE_MS };
        Notice {
            since: self.now,
            until: Timestamp::from_millis(self.now.as_millis() + stay),
            ..notice
        }
    }

    /// After the clock moved: a notice whose time is up goes, and news that
    /// waited behind an error takes its place once the error has been read.
    pub fn age_notices(&mut self) {
        let now = self.now;
        if self.notice.as_ref().is_some_and(|n| n.until <= now) {
            self.notice = None;
        }
        if self.notice.as_ref().is_none_or(|n| n.read_by(now))
            && let Some(next) = self.notice_next.take()
        {
            self.notice = Some(self.stamped(next));
        }
    }

    /// The connection is back: errors already read are over (what went wrong
    /// with the old connection is no longer true); one just shown stays to be read.
    pub fn forget_read_errors(&mut self) {
        if self
            .notice
            .as_ref()
            .is_some_and(|n| n.error && n.read_by(self.now))
        {
            self.notice = None;
            self.age_notices();
        }
    }
}

/// Groups before people, then by name.
fn sort_key(conv: &Conv) -> (bool, String) {
    match conv {
        Conv::Group(g) => (false, g.key()),
        Conv::User(u) => (true, u.key()),
    }
}
