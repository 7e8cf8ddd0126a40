//! Which key does what. One table, read both by the key handler and by the help
//! popup, so the help can never disagree with the keys. The config file's
//! `[keys]` section can rebind any action by its name.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    NextConversation,
    PrevConversation,
    NextUnread,
    Switcher,
    /// The search popup: find messages by their words.
    Search,
    /// Open the oldest file offer that waits for an answer.
    Offers,
    /// The transfers view.
    Transfers,
    /// `Alt+1..9`: the conversation with that number.
    Jump(u8),
    PageUp,
    PageDown,
    Bottom,
    /// Start moving through messages (to reply, edit, delete, react to, see
    /// who read one, or retry it).
    SelectMessages,
    Send,
    NewLine,
    Complete,
    RecallPrevious,
    RecallNext,
    /// Delete from the cursor back to the start of the line, as a shell does.
    DeleteToStart,
    Undo,
    Close,
}

impl Action {
    /// Whether it edits text: these work in every text field alike
    /// (`model/field.rs`), and the help lists them apart, once.
    pub fn edits_text(self) -> bool {
        matches!(self, Action::DeleteToStart | Action::Undo)
    }
}

/// The editing keys that come with the text area (`ratatui-textarea`) and
/// cannot be rebound, for the help beside the rebindable ones.
pub const FIXED_EDITING_KEYS: &[(&str, &str)] = &[
    ("Ctrl+W", "delete the word before the cursor"),
    (
        "Ctrl+A / Ctrl+E",
        "start / end of the line (also Home / End)",
    ),
    ("Ctrl+← / Ctrl+→", "a word back / on"),
];

/// Rebindable actions: the name used in `[keys]`, and what the help says.
pub const ACTIONS: &[(Action, &str, &str)] = &[
    (Action::Quit, "quit", "quit"),
    (Action::Help, "help", "show this help"),
    (
        Action::NextConversation,
        "next_conversation",
        "next conversation",
    ),
    (
        Action::PrevConversation,
        "previous_conversation",
        "previous conversation",
    ),
    (
        Action::NextUnread,
        "next_unread",
        "next conversation with unread messages",
    ),
    (
        Action::Switcher,
        "switcher",
        "find a person, group or command",
    ),
    (
        Action::Search,
        "search",
        "search messages in your conversations; Enter goes to one",
    ),
    (Action::Offers, "offers", "answer file offers"),
    (
        Action::Transfers,
        "transfers",
        "file transfers: progress, cancel",
    ),
    (
        Action::PageUp,
        "page_up",
        "scroll up (older messages load as you go)",
    ),
    (Action::PageDown, "page_down", "scroll down"),
    (Action::Bottom, "bottom", "jump to the newest message"),
    (
        Action::SelectMessages,
        "select_messages",
        "select messages: r reply, e edit, d delete, p pin, + react, i who read it, Esc back",
    ),
    (Action::Send, "send", "send the message or command"),
    (Action::NewLine, "new_line", "new line in the message"),
    (
        Action::Complete,
        "complete",
        "complete a command, user or group name",
    ),
    (
        Action::RecallPrevious,
        "recall_previous",
        "previous sent line (in an empty input)",
    ),
    (Action::RecallNext, "recall_next", "next sent line"),
    (
        Action::DeleteToStart,
        "delete_to_start",
        "delete to the start of the line (Ctrl+Y puts it back)",
    ),
    (
        Action::Undo,
        "undo",
        "undo the last edit (Ctrl+R redoes it)",
    ),
    (
        Action::Close,
        "close",
        "close the popup, leave message selection, stop replying or editing \
         (never loses the draft)",
    ),
];

/// A key with its modifiers, as written in the config file: `ctrl-n`,
/// `alt-enter`, `f1`, `pageup`, `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Combo {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Combo {
    const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            ctrl: false,
            alt: false,
        }
    }

    const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    const fn alt(code: KeyCode) -> Self {
        Self {
            code,
            ctrl: false,
            alt: true,
        }
    }

    fn of(key: &KeyEvent) -> Self {
        let code = match key.code {
            // Shift is part of the character itself ('N', '?').
            KeyCode::Char(c)
                if key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Self {
            code,
            ctrl: key.modifiers.contains(KeyModifiers::CONTROL),
            alt: key.modifiers.contains(KeyModifiers::ALT),
        }
    }
}

impl fmt::Display for Combo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl+")?;
        }
        if self.alt {
            f.write_str("Alt+")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.ctrl || self.alt => write!(f, "{}", c.to_ascii_uppercase()),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::Up => f.write_str("Up"),
            KeyCode::Down => f.write_str("Down"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown key {0:?} (examples: ctrl-n, alt-enter, f1, pageup)")]
    Key(String),
    #[error("unknown action {0:?} in [keys]; the actions are listed by the help (F1)")]
    Action(String),
}

impl FromStr for Combo {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::Key(s.to_owned());
        let lower = s.trim().to_ascii_lowercase();
        let mut combo = Combo::plain(KeyCode::Null);
        let mut rest = lower.as_str();
        loop {
            if let Some(r) = rest
                .strip_prefix("ctrl-")
                .or_else(|| rest.strip_prefix("ctrl+"))
            {
                combo.ctrl = true;
                rest = r;
            } else if let Some(r) = rest
                .strip_prefix("alt-")
                .or_else(|| rest.strip_prefix("alt+"))
            {
                combo.alt = true;
                rest = r;
            } else {
                break;
            }
        }
        combo.code = match rest {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            f if f.len() > 1 && f.starts_with('f') => {
                KeyCode::F(f[1..].parse().map_err(|_| bad())?)
            }
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        Ok(combo)
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(Combo, Action)>,
}

impl Default for Keymap {
    fn default() -> Self {
        let mut bindings = vec![
            (Combo::ctrl('c'), Action::Quit),
            (Combo::plain(KeyCode::F(1)), Action::Help),
            (Combo::ctrl('n'), Action::NextConversation),
            (Combo::ctrl('p'), Action::PrevConversation),
            (Combo::alt(KeyCode::Char('a')), Action::NextUnread),
            (Combo::ctrl('k'), Action::Switcher),
            (Combo::ctrl('f'), Action::Search),
            (Combo::ctrl('o'), Action::Offers),
            (Combo::ctrl('t'), Action::Transfers),
            (Combo::plain(KeyCode::PageUp), Action::PageUp),
            (Combo::plain(KeyCode::PageDown), Action::PageDown),
            (
                Combo {
                    code: KeyCode::End,
                    ctrl: true,
                    alt: false,
                },
                Action::Bottom,
            ),
            (Combo::alt(KeyCode::Up), Action::SelectMessages),
            (Combo::plain(KeyCode::Enter), Action::Send),
            (Combo::alt(KeyCode::Enter), Action::NewLine),
            (Combo::plain(KeyCode::Tab), Action::Complete),
            (Combo::plain(KeyCode::Up), Action::RecallPrevious),
            (Combo::plain(KeyCode::Down), Action::RecallNext),
            (Combo::ctrl('u'), Action::DeleteToStart),
            (Combo::ctrl('z'), Action::Undo),
            (Combo::plain(KeyCode::Esc), Action::Close),
        ];
        for n in 1..=9u8 {
            bindings.push((
                Combo::alt(KeyCode::Char(char::from(b'0' + n))),
                Action::Jump(n),
            ));
        }
        Self { bindings }
    }
}

impl Keymap {
    /// The defaults with `[keys]` from the config applied: `action = "key"`.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<Self, KeyError> {
        let mut map = Self::default();
        for (name, key) in overrides {
            let action = ACTIONS
                .iter()
                .find(|(_, n, _)| n == name)
                .map(|(a, _, _)| *a)
                .ok_or_else(|| KeyError::Action(name.clone()))?;
            let combo: Combo = key.parse()?;
            map.bindings.retain(|(c, a)| *a != action && *c != combo);
            map.bindings.push((combo, action));
        }
        Ok(map)
    }

    pub fn action(&self, key: &KeyEvent) -> Option<Action> {
        let combo = Combo::of(key);
        self.bindings
            .iter()
            .find(|(c, _)| *c == combo)
            .map(|(_, a)| *a)
    }

    /// The keys bound to `action`, for the help.
    pub fn keys(&self, action: Action) -> Vec<Combo> {
        self.bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(c, _)| *c)
            .collect()
    }

    /// Help rows: keys as text and what they do, in the order of
    /// [`ACTIONS`]; the editing keys are in [`Keymap::editing_rows`].
    pub fn help_rows(&self) -> Vec<(String, &'static str)> {
        let mut rows: Vec<(String, &'static str)> = ACTIONS
            .iter()
            .filter(|(action, _, _)| !action.edits_text())
            .map(|(action, _, help)| {
                let keys: Vec<String> =
                    self.keys(*action).iter().map(ToString::to_string).collect();
                let mut keys = keys.join(", ");
                if *action == Action::Help {
                    keys.push_str(", ? (empty input)");
                }
                (keys, *help)
            })
            .collect();
        let jumps = (1..=9).all(|n| !self.keys(Action::Jump(n)).is_empty());
        if jumps {
            rows.insert(5, ("Alt+1..9".into(), "open conversation 1 to 9"));
        }
        rows
    }

    /// Help rows of the keys that edit text, the same in every text field:
    /// the rebindable ones, then [`FIXED_EDITING_KEYS`].
    pub fn editing_rows(&self) -> Vec<(String, &'static str)> {
        let rebindable = ACTIONS
            .iter()
            .filter(|(action, _, _)| action.edits_text())
            .map(|(action, _, help)| {
                let keys: Vec<String> =
                    self.keys(*action).iter().map(ToString::to_string).collect();
                (keys.join(", "), *help)
            });
        let fixed = FIXED_EDITING_KEYS
            .iter()
            .map(|(keys, help)| ((*keys).to_owned(), *help));
        rebindable.chain(fixed).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn the_default_keys_do_what_the_brief_says() {
        let map = Keymap::default();
        let cases = [
            (key(KeyCode::Char('c'), KeyModifiers::CONTROL), Action::Quit),
            (
                key(KeyCode::Char('n'), KeyModifiers::CONTROL),
                Action::NextConversation,
            ),
            (
                key(
                    KeyCode::Char('N'),
                    KeyModifiers::CONTROL | KeyModifiers::SHIFT,
                ),
                Action::NextConversation,
            ),
            (
                key(KeyCode::Char('p'), KeyModifiers::CONTROL),
                Action::PrevConversation,
            ),
            (key(KeyCode::Char('3'), KeyModifiers::ALT), Action::Jump(3)),
            (
                key(KeyCode::Char('a'), KeyModifiers::ALT),
                Action::NextUnread,
            ),
            (
                key(KeyCode::Char('k'), KeyModifiers::CONTROL),
                Action::Switcher,
            ),
            (
                key(KeyCode::Char('f'), KeyModifiers::CONTROL),
                Action::Search,
            ),
            (
                key(KeyCode::Char('o'), KeyModifiers::CONTROL),
                Action::Offers,
            ),
            (
                key(KeyCode::Char('t'), KeyModifiers::CONTROL),
                Action::Transfers,
            ),
            (key(KeyCode::F(1), KeyModifiers::NONE), Action::Help),
            (key(KeyCode::PageUp, KeyModifiers::NONE), Action::PageUp),
            (key(KeyCode::Enter, KeyModifiers::ALT), Action::NewLine),
            (key(KeyCode::Esc, KeyModifiers::NONE), Action::Close),
        ];
        for (k, action) in cases {
            assert_eq!(map.action(&k), Some(action), "{k:?}");
        }
        assert_eq!(
            map.action(&key(KeyCode::Char('x'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn the_config_can_rebind_an_action_and_the_help_follows() {
        let overrides = BTreeMap::from([("next_conversation".to_owned(), "ctrl-j".to_owned())]);
        let map = Keymap::with_overrides(&overrides).unwrap();
        assert_eq!(
            map.action(&key(KeyCode::Char('j'), KeyModifiers::CONTROL)),
            Some(Action::NextConversation)
        );
        assert_eq!(
            map.action(&key(KeyCode::Char('n'), KeyModifiers::CONTROL)),
            None
        );
        let rows = map.help_rows();
        assert!(
            rows.iter()
                .any(|(keys, help)| keys == "Ctrl+J" && *help == "next conversation")
        );
    }

    #[test]
    fn bad_overrides_are_reported() {
        let bad_action = BTreeMap::from([("fly".to_owned(), "f2".to_owned())]);
        assert!(matches!(
            Keymap::with_overrides(&bad_action),
            Err(KeyError::Action(_))
        ));
        let bad_key = BTreeMap::from([("quit".to_owned(), "hyper-q".to_owned())]);
        assert!(matches!(
            Keymap::with_overrides(&bad_key),
            Err(KeyError::Key(_))
        ));
    }

    #[test]
    fn the_editing_keys_are_listed_once_apart_from_the_others() {
        let map = Keymap::default();
        let keys = |rows: Vec<(String, &str)>| -> Vec<String> {
            rows.into_iter().map(|(k, _)| k).collect()
        };
        let editing = keys(map.editing_rows());
        let others = keys(map.help_rows());
        for key in ["Ctrl+U", "Ctrl+Z", "Ctrl+W"] {
            assert!(editing.iter().any(|k| k == key), "{key} in {editing:?}");
            assert!(
                !others.iter().any(|k| k.contains(key)),
                "{key} in {others:?}"
            );
        }
    }

    #[test]
    fn every_action_has_a_key_and_a_help_line() {
        let map = Keymap::default();
        for (action, _, help) in ACTIONS {
            assert!(!map.keys(*action).is_empty(), "{action:?}");
            assert!(!help.is_empty());
        }
    }
}
