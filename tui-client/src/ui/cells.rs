//! The frame's last pass: each character in the cell a terminal puts it in.
//!
//! ratatui keeps a whole grapheme cluster in one cell and counts the cells
//! after it, up to the cluster's width, as hidden: it never writes them. A
//! terminal that places characters one by one (tmux 3.3a, xterm, VTE) puts each
//! visible character of the cluster in cells of its own: `कि` is `क` in one
//! cell and `ि` in the next. When that row changes later and the "hidden" cell
//! is blank both before and after, ratatui leaves it alone and the terminal
//! keeps the old character there, a stray glyph. [`spread`] puts each visible
//! character of such a cluster in a cell of its own, so that ratatui's buffer
//! says cell by cell what the terminal shows, and a terminal that joins
//! clusters still gets the same characters in the same order. Marks of no
//! width stay with the character before them; invisible characters, which
//! some terminals would join to the next cell's character, are left out.
//!
//! Text from other people arrives here already of certain width
//! (`text::clean`). For what is drawn as typed, such as the draft, a cluster
//! whose characters are wider than its cells (an emoji with a skin tone) keeps
//! those that fit, and one whose characters are narrower (`❤️`, which
//! unicode-width counts two columns and many terminals draw in one) is padded
//! with blanks, so that every terminal that places characters one by one
//! still fills exactly the cells ratatui counts.

use classchat_common::text::{Class, class};
use ratatui::buffer::{Buffer, CellWidth};
use unicode_width::UnicodeWidthChar;

use crate::text::spacing_sound_mark;

/// Spreads every cell of `buffer` whose cluster a terminal draws in cells of
/// more than one character.
pub fn spread(buffer: &mut Buffer) {
    let area = buffer.area;
    for y in area.top()..area.bottom() {
        let mut x = area.left();
        while x < area.right() {
            let symbol = buffer[(x, y)].symbol();
            let cells = symbol.cell_width().max(1);
            if symbol.len() > 1 && !is_one_character(symbol) {
                let pieces = pieces(symbol, cells);
                let style = buffer[(x, y)].style();
                let mut at = x;
                for (piece, w) in pieces {
                    if let Some(cell) = buffer.cell_mut((at, y)) {
                        cell.set_symbol(&piece).set_style(style);
                    }
                    at += w;
                }
            }
            x = x.saturating_add(cells);
        }
    }
}

/// Whether `symbol` is one visible character and marks of no width, as wide
/// as a terminal draws it: nothing to spread.
fn is_one_character(symbol: &str) -> bool {
    let mut visible = 0;
    for c in symbol.chars() {
        if class(c) == Class::Invisible || spacing_sound_mark(c) != c {
            return false;
        }
        if c.width().unwrap_or(0) > 0 {
            visible += 1;
        }
    }
    visible <= 1 && symbol.cell_width() == symbol.chars().map(char_width).sum::<u16>()
}

fn char_width(c: char) -> u16 {
    c.width()
        .map_or(0, |w| u16::try_from(w).unwrap_or(u16::MAX))
}

/// `symbol`'s characters, one visible character and the marks after it to a
/// piece, with the cells each takes: as many pieces as fit in `cells`, and
/// blanks for what they leave.
fn pieces(symbol: &str, cells: u16) -> Vec<(String, u16)> {
    let mut pieces: Vec<(String, u16)> = Vec::new();
    let mut leading = String::new();
    for c in symbol.chars() {
        if class(c) == Class::Invisible {
            continue;
        }
        let c = spacing_sound_mark(c);
        let w = char_width(c);
        match pieces.last_mut() {
            Some((piece, _)) if w == 0 => piece.push(c),
            None if w == 0 => leading.push(c),
            _ => {
                let mut piece = std::mem::take(&mut leading);
                piece.push(c);
                pieces.push((piece, w));
            }
        }
    }
    let mut used = 0;
    let mut fitted: Vec<(String, u16)> = pieces
        .into_iter()
        .take_while(|&(_, w)| {
            used += w;
            used <= cells
        })
        .collect();
    let filled: u16 = fitted.iter().map(|&(_, w)| w).sum();
    fitted.extend((filled..cells).map(|_| (" ".to_owned(), 1)));
    fitted
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Style};

    use super::*;

    fn row(text: &str, width: u16) -> Buffer {
        let mut buffer = Buffer::empty(Rect::new(0, 0, width, 1));
        buffer.set_string(0, 0, text, Style::new().fg(Color::Cyan));
        spread(&mut buffer);
        buffer
    }

    fn symbols(buffer: &Buffer) -> Vec<&str> {
        buffer.content.iter().map(|c| c.symbol()).collect()
    }

    #[test]
    fn each_visible_character_of_a_cluster_gets_the_cell_a_terminal_puts_it_in() {
        assert_eq!(symbols(&row("कि.", 4)), ["क", "ि", ".", " "]);
        assert_eq!(symbols(&row("🇺🇸", 3)), ["🇺", "🇸", " "]);
        assert_eq!(symbols(&row("น้ำ", 3)), ["น\u{E49}", "ำ", " "]);
        let spread = row("कि", 2);
        assert!(spread.content.iter().all(|c| c.fg == Color::Cyan));
    }

    #[test]
    fn one_character_with_its_marks_stays_as_it_is() {
        assert_eq!(symbols(&row("e\u{301}漢", 3)), ["e\u{301}", "漢", " "]);
    }

    #[test]
    fn a_cluster_drawn_narrower_or_wider_than_it_is_counted_fills_its_cells_exactly() {
        // ❤️: two cells counted, one drawn by terminals that ignore U+FE0F.
        assert_eq!(
            symbols(&row("\u{2764}\u{FE0F}|", 3)),
            ["\u{2764}", " ", "|"]
        );
        // 👍🏽: two cells counted, four drawn by terminals that draw both.
        assert_eq!(symbols(&row("👍\u{1F3FD}|", 3)), ["👍", " ", "|"]);
        // ZWJ sequence: the joiner is left out, what fits is kept.
        assert_eq!(symbols(&row("👨\u{200D}👩|", 3)), ["👨", " ", "|"]);
        // ﾞ: counted two cells by ratatui, drawn in one; its spacing form is two.
        assert_eq!(
            symbols(&row("\u{FF76}\u{FF9E}|", 4)),
            ["\u{FF76}", "\u{309B}", " ", "|"]
        );
    }
}
