//! The view: draws the model, changes nothing.
//!
//! Layout: [`conversations`] (the list on the left), [`messages`] (the open
//! conversation), [`input`] (the input bar), [`status`] (the bottom line, and
//! an error too long for it, on lines of its own above the input),
//! [`popup`] (help, switcher, read-by, groups, who is online, members),
//! [`picker`], [`offer`] and [`transfers`] (the file popups), [`login`] (the
//! form shown without a user name). Snapshots of every screen live in
//! `ui/snapshots`.

mod conversations;
mod input;
mod login;
mod messages;
mod offer;
mod password;
mod picker;
mod popup;
mod status;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_long;
#[cfg(test)]
mod tests_notices;
mod transfers;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::layout;
use crate::model::Model;
use crate::theme::Theme;

pub use popup::{help_scroll_limit, who_page};

/// Rows of the message pane (borders included) an error above the input leaves.
const MESSAGE_ROWS_MIN: u16 = 5;

pub fn view(model: &Model, frame: &mut Frame<'_>) {
    let theme = Theme::new(model.look.color);
    let area = frame.area();
    if let Some(form) = &model.login {
        return login::render(form, &theme, area, frame);
    }
    let lines = u16::try_from(model.input().lines().len()).unwrap_or(u16::MAX);
    let mut areas = layout::areas((area.width, area.height), lines);
    if let Some(list) = areas.list {
        conversations::render(model, &theme, list, frame);
    }
    // An error too long for the status line takes the bottom rows of the
    // message pane, next to the input, while a few rows of messages remain.
    let mut error_above = false;
    if let Some(error) = status::error_lines(model, area.width, areas.messages.width) {
        let rows = u16::try_from(error.len())
            .unwrap_or(u16::MAX)
            .min(areas.messages.height.saturating_sub(MESSAGE_ROWS_MIN));
        if rows > 0 {
            error_above = true;
            areas.messages.height -= rows;
            let below = Rect {
                y: areas.messages.y + areas.messages.height,
                height: rows,
                ..areas.messages
            };
            let lines: Vec<Line<'_>> = error
                .into_iter()
                .map(|l| Line::styled(format!(" {l}"), theme.error))
                .collect();
            frame.render_widget(Paragraph::new(lines), below);
        }
    }
    messages::render(model, &theme, areas.messages, frame);
    input::render(model, &theme, areas.input, frame);
    status::render(model, &theme, areas.status, error_above, frame);
    if let Some(p) = &model.popup {
        popup::render(model, p, &theme, area, frame);
    }
}
