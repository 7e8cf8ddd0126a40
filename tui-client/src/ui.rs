//! The view: draws the model, changes nothing.
//!
//! Layout: [`conversations`] (the list on the left), [`messages`] (the open
//! conversation), [`input`] (the input bar), [`status`] (the bottom line, and
//! an error too long for it, on lines of its own above the input),
//! [`popup`] (which popup draws, and their frame), one file per popup:
//! [`help`], [`switcher`], [`read_by`], [`who`], [`members`], [`groups`],
//! [`pins`], [`search`], [`react`] (the reaction picker), [`reacted`] (who reacted how),
//! [`confirm`] (the question before a destructive action or a quit), the file popups [`picker`], [`offer`] and [`transfers`], and
//! [`password`]; [`login`] (the form shown without a user name); [`cells`]
//! last, so that each cell holds what a terminal draws there. Snapshots of
//! every screen live in `ui/snapshots`.

mod cells;
mod confirm;
mod conversations;
mod groups;
mod help;
mod input;
mod login;
mod members;
mod messages;
mod offer;
mod password;
mod picker;
mod pins;
mod popup;
mod react;
mod reacted;
mod read_by;
mod search;
mod status;
mod switcher;

/// Renders a test's model at its size and compares it with the test's
/// snapshot in `ui/snapshots` (for every `tests*` module below).
#[cfg(test)]
macro_rules! snapshot {
    ($model:expr) => {
        insta::assert_snapshot!(crate::fixtures::draw(&$model).backend())
    };
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cells;
#[cfg(test)]
mod tests_confirm;
#[cfg(test)]
mod tests_files;
#[cfg(test)]
mod tests_groups;
#[cfg(test)]
mod tests_input;
#[cfg(test)]
mod tests_long;
#[cfg(test)]
mod tests_narrow;
#[cfg(test)]
mod tests_notices;
#[cfg(test)]
mod tests_pins;
#[cfg(test)]
mod tests_reactions;
#[cfg(test)]
mod tests_replies;
#[cfg(test)]
mod tests_search;
#[cfg(test)]
mod tests_signup;
#[cfg(test)]
mod tests_theme;
#[cfg(test)]
mod tests_typing;
mod transfers;
mod who;

use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::layout;
use crate::model::Model;
use crate::theme::Theme;

pub fn view(model: &Model, frame: &mut Frame<'_>) {
    draw(model, frame);
    // Last, so that whatever drew a cell, the terminal shows what ratatui counts.
    cells::spread(frame.buffer_mut());
}

fn draw(model: &Model, frame: &mut Frame<'_>) {
    let theme = Theme::new(model.look.color);
    let area = frame.area();
    if let Some(form) = &model.login {
        return login::render(form, &theme, area, frame);
    }
    let areas = layout::screen_areas(model, (area.width, area.height));
    if let Some(list) = areas.list {
        conversations::render(model, &theme, list, frame);
    }
    // An error too long for the status line, on the rows the split left for it.
    if let Some(below) = areas.error
        && let Some(error) = layout::status::error_lines(model, area.width, areas.messages.width)
    {
        let lines: Vec<Line<'_>> = error
            .into_iter()
            .map(|l| Line::styled(format!(" {l}"), theme.error))
            .collect();
        frame.render_widget(Paragraph::new(lines), below);
    }
    messages::render(model, &theme, areas.messages, frame);
    input::render(model, &theme, areas.input, frame);
    status::render(model, &theme, areas.status, areas.error.is_some(), frame);
    if let Some(p) = &model.popup {
        popup::render(model, p, &theme, area, frame);
    }
}
