//! Text fields: [`edit`], what a key does to any of them (the message input,
//! the login and password forms, "save as", the picker's filter, the
//! switcher's query, the search's words), and [`Field`], the one-line field
//! of forms and popups.
//!
//! One function decides for every field, so the keys cannot drift apart: a
//! form once took Ctrl+U as ratatui-textarea's undo while the input bar took it
//! as "delete to the start", and "save as" took it as nothing at all.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use ratatui_textarea::{TextArea, WrapMode};

use super::input_area;
use crate::keymap::Action;

/// What `key` (bound to `action`, if it is) does to the text in `area`;
/// whether the text changed. The key table's editing actions come first
/// (`Ctrl+U` deletes to the start of the line, `Ctrl+Z` undoes); then the text
/// area's own keys: characters, Backspace, Delete, the arrows, Ctrl+W,
/// Ctrl+A/E, Ctrl+Y (puts back what was deleted), Ctrl+R (redoes). A key bound
/// to anything else edits nothing (`Ctrl+K` opens the switcher, it does not
/// cut the line), except the cursor keys, which always move the cursor. The
/// help lists these keys from `keymap.rs` (`Action::edits_text`,
/// `FIXED_EDITING_KEYS`).
pub fn edit(area: &mut TextArea<'static>, key: KeyEvent, action: Option<Action>) -> bool {
    match action {
        Some(Action::DeleteToStart) => area.delete_line_by_head(),
        Some(Action::Undo) => area.undo(),
        Some(_) if !moves_cursor(&key) => false,
        _ => area.input(key),
    }
}

fn moves_cursor(key: &KeyEvent) -> bool {
    matches!(
        key.code,
        KeyCode::Left | KeyCode::Right | KeyCode::Up | KeyCode::Down | KeyCode::Home | KeyCode::End
    )
}

/// Keys that would make a second line, or a tab, in a one-line field: the
/// forms and popups use them to move between fields and rows instead.
fn breaks_line(key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    matches!(
        key.code,
        KeyCode::Enter | KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down
    ) || matches!(key.code, KeyCode::Char('\n' | '\r'))
        || (ctrl && matches!(key.code, KeyCode::Char('m' | 'j')))
}

/// A one-line text field; a password's shows a dot for each character.
#[derive(Debug)]
pub struct Field {
    area: TextArea<'static>,
}

impl Field {
    /// An empty field showing `placeholder`.
    pub fn new(placeholder: &str) -> Self {
        let mut area = input_area(placeholder);
        area.set_wrap_mode(WrapMode::None);
        Field { area }
    }

    /// An empty field whose text is never shown.
    pub fn masked(placeholder: &str) -> Self {
        let mut field = Self::new(placeholder);
        field.area.set_mask_char('•');
        field
    }

    /// The field holding `text`, the cursor after it.
    pub fn holding(mut self, text: &str) -> Self {
        self.area.insert_str(text);
        self
    }

    pub fn text(&self) -> String {
        self.area.lines().join("")
    }

    pub fn is_empty(&self) -> bool {
        self.area.is_empty()
    }

    /// Empties it, to be typed afresh (its placeholder and mask stay).
    pub fn clear(&mut self) {
        let mut fresh = Self::new(self.area.placeholder_text());
        if let Some(mask) = self.area.mask_char() {
            fresh.area.set_mask_char(mask);
        }
        *self = fresh;
    }

    /// A key typed into it, as [`edit`] says, but never a second line;
    /// whether the text changed.
    pub fn key(&mut self, key: KeyEvent, action: Option<Action>) -> bool {
        !breaks_line(&key) && edit(&mut self.area, key, action)
    }

    /// Pasted text, without its line breaks; whether the text changed.
    pub fn paste(&mut self, text: &str) -> bool {
        let text = text.replace(['\n', '\r'], "");
        !text.is_empty() && self.area.insert_str(text)
    }
}

impl Widget for &Field {
    fn render(self, area: Rect, buf: &mut Buffer) {
        self.area.render(area, buf);
    }
}
