//! Every theme keeps every text of the selected message readable: in colour
//! the highlight sets the text's colour with the background's, in monochrome
//! (`theme = "mono"`, `NO_COLOR`) it is reverse video without dim.

use crossterm::event::KeyCode;
use ratatui::buffer::{Buffer, Cell, CellWidth};
use ratatui::style::{Color, Modifier};

use crate::fixtures::*;
use crate::layout;
use crate::model::{Focus, Model};
use crate::theme::Theme;

/// A colour as xterm draws it by default, in sRGB; `None` for the terminal's
/// own (`Reset`), which no contrast can be worked out for.
fn rgb(color: Color) -> Option<[u8; 3]> {
    Some(match color {
        Color::Black => [0, 0, 0],
        Color::Red => [205, 0, 0],
        Color::Green => [0, 205, 0],
        Color::Yellow => [205, 205, 0],
        Color::Blue => [0, 0, 238],
        Color::Magenta => [205, 0, 205],
        Color::Cyan => [0, 205, 205],
        Color::Gray => [229, 229, 229],
        Color::DarkGray => [127, 127, 127],
        Color::LightRed => [255, 0, 0],
        Color::LightGreen => [0, 255, 0],
        Color::LightYellow => [255, 255, 0],
        Color::LightBlue => [92, 92, 255],
        Color::LightMagenta => [255, 0, 255],
        Color::LightCyan => [0, 255, 255],
        Color::White => [255, 255, 255],
        Color::Rgb(r, g, b) => [r, g, b],
        _ => return None,
    })
}

/// WCAG's contrast ratio, from 1 (the same) to 21 (black on white).
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let luminance = |c: [u8; 3]| {
        let [r, g, b] = c.map(|v| {
            let v = f64::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        });
        0.2126 * r + 0.7152 * g + 0.0722 * b
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// Why the text of `cell` cannot be read, if it cannot.
fn unreadable(cell: &Cell, color: bool) -> Option<String> {
    let what = format!(
        "{:?} fg {:?} bg {:?} {:?}",
        cell.symbol(),
        cell.fg,
        cell.bg,
        cell.modifier
    );
    if !color {
        let reversed = cell.modifier.contains(Modifier::REVERSED);
        return (!reversed || cell.modifier.contains(Modifier::DIM)).then_some(what);
    }
    match (rgb(cell.fg), rgb(cell.bg)) {
        (Some(fg), Some(bg)) if contrast(fg, bg) >= 4.5 => None,
        _ => Some(what),
    }
}

/// Whether `cell` has the selection's highlight, whatever it is.
fn highlighted(cell: &Cell, color: bool) -> bool {
    let selected = Theme::new(color).selected;
    match selected.bg {
        Some(bg) => cell.bg == bg,
        None => cell.modifier.contains(selected.add_modifier),
    }
}

/// The rows of the message pane with the highlight, as (row, cells), less
/// the cells a wide character hides (ratatui never draws those).
fn selected_rows<'a>(model: &Model, buffer: &'a Buffer) -> Vec<(u16, Vec<&'a Cell>)> {
    let pane = layout::model_areas(model).message_lines();
    let shown = |y: u16| {
        let mut hidden = 0;
        (pane.left()..pane.right())
            .map(move |x| &buffer[(x, y)])
            .filter(move |cell| {
                let drawn = hidden == 0;
                hidden = usize::from(cell.symbol().cell_width())
                    .max(hidden)
                    .saturating_sub(1);
                drawn
            })
            .collect::<Vec<_>>()
    };
    (pane.top()..pane.bottom())
        .map(|y| (y, shown(y)))
        // The first cell: a failed message's marker is reversed too.
        .filter(|(_, cells)| {
            cells
                .first()
                .is_some_and(|c| highlighted(c, model.look.color))
        })
        .collect()
}

/// The demo in `color` or not, with each message selected in turn from the
/// newest (as `Alt+Up`, then `Up`) to the oldest; how many were.
fn each_selection(color: bool, mut check: impl FnMut(&Model)) -> usize {
    let mut model = demo_model(90, 30);
    model.look.color = color;
    press(&mut model, alt(KeyCode::Up));
    let mut selected = 0;
    while let Focus::Messages(at) = model.focus {
        check(&model);
        selected += 1;
        press(&mut model, plain(KeyCode::Up));
        if model.focus == Focus::Messages(at) {
            break;
        }
    }
    selected
}

#[test]
fn every_text_of_the_selected_message_is_readable_in_every_theme() {
    for color in [true, false] {
        let selected = each_selection(color, |model| {
            let terminal = draw(model);
            let rows = selected_rows(model, terminal.backend().buffer());
            assert!(
                !rows.is_empty(),
                "a message is highlighted:\n{}",
                screen(model)
            );
            let bad: Vec<String> = rows
                .iter()
                .flat_map(|(_, cells)| cells.iter().filter_map(|c| unreadable(c, color)))
                .collect();
            assert_eq!(
                bad,
                Vec::<String>::new(),
                "colour {color}:\n{}",
                screen(model)
            );
        });
        assert!(selected > 5, "{selected} messages selected");
    }
}

/// The selected rows, each as runs of one style: `[fg on bg MODIFIERS] text`.
fn styled_selection(color: bool) -> String {
    let mut model = demo_model(90, 30);
    model.look.color = color;
    // alice's "Sure, uploading them now": time, name, text and marker.
    press(&mut model, alt(KeyCode::Up));
    press(&mut model, plain(KeyCode::Up));
    press(&mut model, plain(KeyCode::Up));
    let terminal = draw(&model);
    let mut out = String::new();
    for (_, cells) in selected_rows(&model, terminal.backend().buffer()) {
        let mut runs: Vec<(String, String)> = Vec::new();
        for cell in cells {
            let style = format!("{:?} on {:?} {:?}", cell.fg, cell.bg, cell.modifier);
            match runs.last_mut() {
                Some((last, text)) if *last == style => text.push_str(cell.symbol()),
                _ => runs.push((style, cell.symbol().to_owned())),
            }
        }
        for (style, text) in runs {
            out.push_str(&format!("[{style}] {text:?}\n"));
        }
    }
    out
}

#[test]
fn in_colour_the_selected_message_is_white_on_blue_time_and_marker_too() {
    insta::assert_snapshot!(styled_selection(true));
}

#[test]
fn in_mono_the_selected_message_is_reverse_video_without_dim() {
    insta::assert_snapshot!(styled_selection(false));
}
