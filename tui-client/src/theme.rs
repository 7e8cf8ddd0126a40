//! Colours and text styles. Two themes: colour, and monochrome for `NO_COLOR`
//! (or `theme = "mono"`), where only bold, dim, italic and reverse are used.
//! Every state also has its own symbol or word, so none depends on colour.
//!
//! A highlight ([`Theme::selected`]) is laid over every span of a line, so it
//! sets the text's colour as well as the background's: the grey of a timestamp
//! on a grey highlight could not be read. In monochrome it is reverse video
//! without dim, since dim text reversed is a dim background behind the text.

use ratatui::style::{Color, Modifier, Style};

use crate::tracker::Stage;

#[derive(Debug, Clone)]
pub struct Theme {
    pub color: bool,
    pub time: Style,
    pub body: Style,
    pub me: Style,
    pub mention: Style,
    /// A searched word in a message found (on the chosen row: underlined,
    /// over the highlight).
    pub found: Style,
    pub event: Style,
    /// The quote line above a reply.
    pub quote: Style,
    /// "message deleted", in place of a deleted message's text.
    pub tombstone: Style,
    /// A kind of reaction under a message (`👍 2`), and one you gave: bold
    /// as well as coloured, so that it still stands out on a highlight.
    pub reaction: Style,
    pub reaction_mine: Style,
    pub separator: Style,
    pub new_marker: Style,
    pub selected: Style,
    pub border: Style,
    pub border_focused: Style,
    pub title: Style,
    pub list_item: Style,
    pub list_selected: Style,
    pub unread: Style,
    pub online: Style,
    pub offline: Style,
    pub status_bar: Style,
    pub status_ok: Style,
    pub status_warn: Style,
    pub error: Style,
    pub info: Style,
    pub hint: Style,
    pub popup: Style,
}

const NAME_COLORS: [Color; 6] = [
    Color::Cyan,
    Color::Magenta,
    Color::Yellow,
    Color::LightBlue,
    Color::LightGreen,
    Color::LightRed,
];

impl Theme {
    pub fn new(color: bool) -> Self {
        let plain = Style::default();
        let bold = plain.add_modifier(Modifier::BOLD);
        let dim = plain.add_modifier(Modifier::DIM);
        let reverse = plain.add_modifier(Modifier::REVERSED);
        if !color {
            return Theme {
                color,
                time: dim,
                body: plain,
                me: bold,
                mention: bold.add_modifier(Modifier::UNDERLINED),
                found: bold.add_modifier(Modifier::UNDERLINED),
                event: dim.add_modifier(Modifier::ITALIC),
                quote: dim,
                tombstone: dim.add_modifier(Modifier::ITALIC),
                reaction: plain,
                reaction_mine: bold,
                separator: dim,
                new_marker: bold,
                selected: reverse.remove_modifier(Modifier::DIM),
                border: dim,
                border_focused: plain,
                title: bold,
                list_item: plain,
                list_selected: reverse,
                unread: bold,
                online: bold,
                offline: dim,
                status_bar: reverse,
                status_ok: reverse,
                status_warn: reverse.add_modifier(Modifier::BOLD),
                error: bold,
                info: plain,
                hint: dim,
                popup: plain,
            };
        }
        Theme {
            color,
            time: Style::new().fg(Color::DarkGray),
            body: plain,
            me: Style::new().fg(Color::Green),
            mention: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            found: Style::new()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            event: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
            quote: Style::new().fg(Color::DarkGray),
            tombstone: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
            reaction: Style::new().fg(Color::Gray),
            reaction_mine: Style::new()
                .fg(Color::LightCyan)
                .add_modifier(Modifier::BOLD),
            separator: Style::new().fg(Color::DarkGray),
            new_marker: Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            selected: Style::new().bg(Color::Blue).fg(Color::White),
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            title: bold,
            list_item: plain,
            list_selected: Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            unread: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            online: Style::new().fg(Color::Green),
            offline: Style::new().fg(Color::DarkGray),
            status_bar: Style::new().bg(Color::Blue).fg(Color::White),
            status_ok: Style::new()
                .bg(Color::Blue)
                .fg(Color::LightGreen)
                .add_modifier(Modifier::BOLD),
            status_warn: Style::new()
                .bg(Color::Blue)
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            error: Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            info: Style::new().fg(Color::Cyan),
            hint: Style::new().fg(Color::DarkGray),
            popup: plain,
        }
    }

    /// A stable colour per user name, so a conversation is easy to follow.
    pub fn name(&self, name: &str) -> Style {
        if !self.color {
            return Style::default().add_modifier(Modifier::BOLD);
        }
        let hash = name.bytes().fold(0u32, |h, b| {
            h.wrapping_mul(31)
                .wrapping_add(u32::from(b.to_ascii_lowercase()))
        });
        Style::new().fg(NAME_COLORS[hash as usize % NAME_COLORS.len()])
    }

    pub fn marker(&self, stage: Stage) -> Style {
        if !self.color {
            return match stage {
                Stage::Read => Style::default().add_modifier(Modifier::BOLD),
                Stage::Failed => Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED),
                _ => Style::default().add_modifier(Modifier::DIM),
            };
        }
        match stage {
            Stage::Sending => Style::new().fg(Color::DarkGray),
            Stage::Stored => Style::new().fg(Color::Gray),
            Stage::Delivered => Style::new().fg(Color::Gray),
            Stage::Read => Style::new()
                .fg(Color::LightBlue)
                .add_modifier(Modifier::BOLD),
            Stage::Failed => Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
        }
    }
}
