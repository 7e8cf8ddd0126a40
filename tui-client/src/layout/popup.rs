//! Where popups go: a box centred on the screen, and the sizes of the popups
//! whose keys depend on how much they show (PgUp/PgDn in the who list, how far
//! the help scrolls), so the key handler and the view measure them alike.

use ratatui::layout::Rect;

use super::inner;

/// The who popup's size at most.
const WHO_SIZE: (u16, u16) = (48, 24);

/// The help popup's size at most.
pub const HELP_SIZE: (u16, u16) = (90, 44);

/// A `w`×`h` box in the middle of `area`, shrunk to fit.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// The who popup on a screen of `area`, for `names` names and, if `more`, a
/// line saying how many more are online than listed.
pub fn who_box(area: Rect, names: usize, more: bool) -> Rect {
    let lines = names.max(1) + usize::from(more);
    let h = u16::try_from(lines)
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(WHO_SIZE.1);
    centered(area, WHO_SIZE.0, h)
}

/// How many names the who popup shows at once on a screen of `size`: what
/// PgUp and PgDn move by.
pub fn who_page(size: (u16, u16), names: usize, more: bool) -> usize {
    let inside = inner(who_box(Rect::new(0, 0, size.0, size.1), names, more));
    usize::from(inside.height)
        .saturating_sub(usize::from(more))
        .max(1)
}

/// The inside of the help popup on a screen of `area`.
pub fn help_inner(area: Rect) -> Rect {
    inner(centered(area, HELP_SIZE.0, HELP_SIZE.1))
}
