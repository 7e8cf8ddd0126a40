//! The transfers view: every upload and download of this run, two lines each —
//! what and with whom, where it stands; then a bar, percent, rate and time left.

use classchat_common::Conv;
use classchat_common::files::human_size;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::client::TransferState;
use crate::layout::files::{answers, bar, duration, percent, state_text};
use crate::model::{Model, Transfer};
use crate::text::{self, width};
use crate::theme::Theme;

/// Cells of the progress bar, brackets included.
const BAR: usize = 26;

pub fn render(model: &Model, selected: usize, theme: &Theme, area: Rect, frame: &mut Frame<'_>) {
    let n = model.transfers.len();
    let h = u16::try_from((n * 2).max(1))
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let boxed = centered(area, 90, h);
    frame.render_widget(Clear, boxed);
    let block = frame_box(
        &format!("Transfers ({n})"),
        theme,
        " ↑↓ choose · c cancel · Esc close ",
    );
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    if n == 0 {
        let none = Line::styled(
            "no transfers yet — /sendfile <user|#group> offers a file",
            theme.hint,
        );
        frame.render_widget(Paragraph::new(none), inner);
        return;
    }
    let per_screen = (usize::from(inner.height) / 2).max(1);
    let chosen = selected.min(n - 1);
    let first = chosen.saturating_sub(per_screen - 1);
    let w = usize::from(inner.width);
    let lines: Vec<Line<'_>> = model
        .transfers
        .iter()
        .enumerate()
        .skip(first)
        .take(per_screen)
        .flat_map(|(i, t)| rows(model, t, i == chosen, w, theme))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn rows(model: &Model, t: &Transfer, chosen: bool, w: usize, theme: &Theme) -> [Line<'static>; 2] {
    let p = &t.progress;
    let ascii = model.look.ascii;
    let mark = match (chosen, ascii) {
        (false, _) => " ",
        (true, false) => "›",
        (true, true) => ">",
    };
    let arrow = match (p.upload, ascii) {
        (true, false) => "↑",
        (false, false) => "↓",
        (true, true) => "up",
        (false, true) => "dn",
    };
    let name = match p.offer.and_then(|o| model.offers.get(o)) {
        _ if !p.name.is_empty() => p.name.clone(),
        Some(o) => o.file.name.clone(),
        None => "a file".to_owned(),
    };
    let name = text::truncate(&text::clean_line(&name), 32).into_owned();
    let peer = peer(model, t);
    let left = format!("{mark} {arrow} {name}  {peer}");
    let state = match (&p.state, p.offer.and_then(|o| model.offers.sent.get(&o))) {
        (TransferState::Uploaded, Some(sent)) => format!("sent — {}", answers(sent)),
        _ => state_text(p, model.home.as_deref()),
    };
    let room = w.saturating_sub(width(&left) + 2);
    let state = text::truncate(&state, room).into_owned();
    let pad = w.saturating_sub(width(&left) + width(&state));
    let name_style = if chosen {
        theme.list_selected
    } else {
        theme.list_item
    };
    let state_style = match &p.state {
        TransferState::Failed { .. } => theme.error,
        _ => theme.hint,
    };
    let first = Line::from(vec![
        Span::styled(left, name_style),
        Span::raw(" ".repeat(pad)),
        Span::styled(state, state_style),
    ]);
    let mut figures = format!("{:>3}%  ", percent(p));
    let complete = matches!(
        p.state,
        TransferState::Uploaded | TransferState::Saved { .. }
    );
    if complete || p.bytes >= p.size {
        figures.push_str(&human_size(p.size));
    } else {
        figures.push_str(&format!(
            "{} of {}",
            human_size(p.bytes),
            human_size(p.size)
        ));
    }
    if !p.state.is_over() && p.bytes > 0 {
        figures.push_str(&format!("  {}/s", human_size(t.rate())));
        if let Some(eta) = t.eta_secs() {
            figures.push_str(&format!("  {} left", duration(eta)));
        }
    }
    // A narrow view gives up bar before figures: the time left matters more.
    let bar_width = w.saturating_sub(5 + width(&figures)).clamp(8, BAR);
    let second = Line::from(vec![
        Span::raw("    "),
        Span::styled(bar(p, bar_width, ascii), theme.online),
        Span::styled(format!(" {figures}"), theme.list_item),
    ]);
    [first, second]
}

/// `to bob`, `to #cs101`, `from alice`, `from alice in #cs101`.
fn peer(model: &Model, t: &Transfer) -> String {
    let p = &t.progress;
    let conv = p
        .conv
        .as_ref()
        .map(|c| text::clean_line(&c.to_string()).into_owned());
    if p.upload {
        return conv.map(|c| format!("to {c}")).unwrap_or_default();
    }
    let from = p
        .offer
        .and_then(|o| model.offers.get(o))
        .map(|o| text::clean_line(o.from.as_str()).into_owned());
    match (from, &p.conv) {
        (Some(from), Some(Conv::Group(_))) => {
            format!("from {from} in {}", conv.unwrap_or_default())
        }
        (Some(from), _) => format!("from {from}"),
        (None, Some(Conv::User(u))) => format!("from {}", text::clean_line(u.as_str())),
        (None, Some(Conv::Group(_))) => format!("in {}", conv.unwrap_or_default()),
        (None, None) => String::new(),
    }
}
