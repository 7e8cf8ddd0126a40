//! The file picker: the folder, the filter, and its entries (folders first).

use classchat_common::files::human_size;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::layout::files::shown_path;
use crate::model::picker::Kind;
use crate::model::{Model, Picker};
use crate::text::{self, width};
use crate::theme::Theme;

pub fn render(model: &Model, p: &Picker, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let boxed = centered(area, 64, 20);
    frame.render_widget(Clear, boxed);
    let title = format!("Send a file to {}", text::clean_line(&p.to.to_string()));
    let footer = if boxed.width >= 64 {
        " ↑↓ choose · Enter open or send · / or ~ types a path · Esc "
    } else {
        " ↑↓ · Enter open or send · Esc cancel "
    };
    let block = frame_box(&title, theme, footer);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    if inner.height < 4 {
        return;
    }
    let w = usize::from(inner.width);
    // The end of a long path says most: keep it, cut the start.
    let folder = shown_path(&p.dir, model.home.as_deref());
    let folder = if width(&folder) > w {
        let tail: String = folder
            .chars()
            .rev()
            .scan(1, |used, c| {
                *used += width(c.encode_utf8(&mut [0; 4]));
                (*used <= w).then_some(c)
            })
            .collect();
        format!("…{}", tail.chars().rev().collect::<String>())
    } else {
        folder
    };
    frame.render_widget(
        Paragraph::new(Line::styled(folder, theme.title)),
        Rect::new(inner.x, inner.y, inner.width, 1),
    );
    frame.render_widget(
        Paragraph::new(Span::styled("> ", theme.title)),
        Rect::new(inner.x, inner.y + 1, 2, 1),
    );
    frame.render_widget(
        &p.filter,
        Rect::new(inner.x + 2, inner.y + 1, inner.width.saturating_sub(2), 1),
    );
    let list = Rect::new(
        inner.x,
        inner.y + 3,
        inner.width,
        inner.height.saturating_sub(3),
    );
    if let Some(error) = &p.error {
        let lines = vec![
            Line::styled(
                format!("cannot read this folder: {}", text::clean_line(error)),
                theme.error,
            ),
            Line::styled("Backspace goes up a folder", theme.hint),
        ];
        frame.render_widget(Paragraph::new(lines), list);
        return;
    }
    if let Some(path) = p.typed(model.home.as_deref()) {
        let shown = shown_path(&path, model.home.as_deref());
        let (note, style) = if path.is_dir() {
            (format!("Enter opens {shown}"), theme.hint)
        } else if path.is_file() {
            (format!("Enter sends {shown}"), theme.hint)
        } else {
            (format!("no file or folder at {shown}"), theme.error)
        };
        frame.render_widget(Paragraph::new(Line::styled(note, style)), list);
        return;
    }
    let items = p.visible();
    if items.is_empty() {
        let query = p.query();
        let note = if query.is_empty() {
            "this folder is empty".to_owned()
        } else {
            format!("nothing matches “{}”", text::clean_line(&query))
        };
        frame.render_widget(Paragraph::new(Line::styled(note, theme.hint)), list);
        return;
    }
    let rows = usize::from(list.height);
    let chosen = p.selected.min(items.len() - 1);
    let first = chosen.saturating_sub(rows.saturating_sub(1));
    let mark = if model.look.ascii { ">" } else { "›" };
    let lines: Vec<Line<'_>> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, item)| {
            let (name, right) = match item.kind {
                Kind::Up => ("..".to_owned(), "up a folder".to_owned()),
                Kind::Folder => (format!("{}/", item.name), "folder".to_owned()),
                Kind::File => (item.name.clone(), human_size(item.size)),
            };
            let lead = if i == chosen { mark } else { " " };
            let room = w.saturating_sub(2 + width(&right) + 2);
            let name = text::truncate(&text::clean_line(&name), room).into_owned();
            let pad = w.saturating_sub(2 + width(&name) + width(&right));
            let style = if i == chosen {
                theme.list_selected
            } else {
                theme.list_item
            };
            Line::from(vec![
                Span::styled(format!("{lead} "), theme.title),
                Span::styled(name, style),
                Span::raw(" ".repeat(pad)),
                Span::styled(right, theme.hint),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), list);
}
