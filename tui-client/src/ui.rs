//! The view: draws the model, changes nothing.
//!
//! Layout: [`conversations`] (the list on the left), [`messages`] (the open
//! conversation), [`input`] (the input bar), [`status`] (the bottom line),
//! [`popup`] (help, switcher, read-by, groups, members), [`picker`], [`offer`]
//! and [`transfers`] (the file popups), [`login`] (the form shown without a
//! user name). Snapshots of every screen live in `ui/snapshots`.

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
mod transfers;

use ratatui::Frame;

use crate::layout;
use crate::model::Model;
use crate::theme::Theme;

pub use popup::help_scroll_limit;

pub fn view(model: &Model, frame: &mut Frame<'_>) {
    let theme = Theme::new(model.look.color);
    let area = frame.area();
    if let Some(form) = &model.login {
        return login::render(form, &theme, area, frame);
    }
    let lines = u16::try_from(model.input().lines().len()).unwrap_or(u16::MAX);
    let areas = layout::areas((area.width, area.height), lines);
    if let Some(list) = areas.list {
        conversations::render(model, &theme, list, frame);
    }
    messages::render(model, &theme, areas.messages, frame);
    input::render(model, &theme, areas.input, frame);
    status::render(model, &theme, areas.status, frame);
    if let Some(p) = &model.popup {
        popup::render(model, p, &theme, area, frame);
    }
}
