//! The offer popup: who offers what, its size and checksum, when it expires,
//! where it would be saved; or the "save as" folder being typed.

use classchat_common::files::{human_size, safe_name};
use classchat_common::protocol::FileState;
use classchat_common::{Conv, OfferId, Timestamp};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::layout::files::shown_path;
use crate::layout::{Ctx, files};
use crate::model::{Field, Model};
use crate::text;
use crate::theme::Theme;

/// Columns before each value.
const LABEL: usize = 12;

pub fn render(
    model: &Model,
    offer: OfferId,
    save_as: Option<&Field>,
    theme: &Theme,
    area: Rect,
    frame: &mut Frame<'_>,
) {
    let Some(o) = model.offers.get(offer) else {
        return;
    };
    let waiting: Vec<OfferId> = model
        .offers
        .waiting(&model.transfers, model.now)
        .map(|w| w.file.offer)
        .collect();
    let title = match waiting.iter().position(|w| *w == offer) {
        Some(i) if waiting.len() > 1 => format!("File offer {} of {}", i + 1, waiting.len()),
        _ => "File offer".to_owned(),
    };
    let footer = if save_as.is_some() {
        " Enter save there · Esc back "
    } else if waiting.len() > 1 {
        " a/Enter accept · s save as · d decline · l/Esc later · Tab next "
    } else {
        " a/Enter accept · s save as · d decline · l/Esc later "
    };
    let from = text::clean_line(o.from.as_str()).into_owned();
    let headline = match &o.conv {
        Conv::Group(g) => format!("{from} offers a file to #{}", text::clean_line(g.as_str())),
        Conv::User(_) => format!("{from} offers you a file"),
    };
    let row = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("  {label:<w$}", w = LABEL - 2), theme.hint),
            Span::styled(value, theme.list_item),
        ])
    };
    let sha = o.file.sha256.as_str();
    let (sha_a, sha_b) = sha.split_at(sha.len().min(32));
    let mut lines = vec![
        Line::styled(headline, theme.title),
        Line::raw(""),
        row(
            "name",
            text::clean_line(&safe_name(&o.file.name)).into_owned(),
        ),
        row(
            "size",
            if o.file.size < 1000 {
                format!("{} bytes", o.file.size)
            } else {
                format!(
                    "{} ({} bytes)",
                    human_size(o.file.size),
                    grouped(o.file.size)
                )
            },
        ),
        row("SHA-256", text::clean_line(sha_a).into_owned()),
    ];
    if !sha_b.is_empty() {
        lines.push(row("", text::clean_line(sha_b).into_owned()));
    }
    lines.push(row("expires", expiry(o.file.expires, model)));
    if !waiting.contains(&offer) {
        // Answered already (this popup stayed open, or was opened from a list).
        let ctx = Ctx::new(model, theme, &o.conv, 60);
        let state = model
            .convs
            .iter()
            .flat_map(|c| c.entries.iter())
            .find(|e| e.file.as_ref().is_some_and(|f| f.offer == offer))
            .and_then(|e| files::note(e, &ctx))
            .unwrap_or_else(|| answered(o.state).to_owned());
        lines.push(row("status", state));
    }
    let save_at = lines.len();
    match save_as {
        Some(_) => {
            lines.push(row("save in", String::new()));
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(LABEL)),
                Span::styled(
                    "type a folder (~ is your home); it is made if missing",
                    theme.hint,
                ),
            ]));
        }
        None => lines.push(row(
            "saves to",
            shown_path(&model.download_dir, model.home.as_deref()),
        )),
    }
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let boxed = centered(area, 72, h);
    frame.render_widget(Clear, boxed);
    let block = frame_box(&title, theme, footer);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    let save_row = inner.y + u16::try_from(save_at).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some(input) = save_as
        && save_row < inner.y + inner.height
    {
        let x = inner.x + LABEL as u16;
        let input_area = Rect::new(x, save_row, inner.width.saturating_sub(LABEL as u16), 1);
        frame.render_widget(input, input_area);
    }
}

/// `in 7 days (28 Nov 10:30)`.
fn expiry(at: Timestamp, model: &Model) -> String {
    let secs = (at.as_millis() - model.now.as_millis()) / 1000;
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    // To the nearest unit: an offer made a minute ago expires "in 7 days".
    let left = match secs {
        ..=0 => return "expired".into(),
        1..3600 => plural(((secs + 30) / 60).max(1), "minute"),
        3600..86_400 => plural((secs + 1800) / 3600, "hour"),
        _ => plural((secs + 43_200) / 86_400, "day"),
    };
    let date = at
        .to_datetime()
        .with_timezone(&model.tz)
        .format("%-d %b %H:%M");
    format!("in {left} ({date})")
}

fn answered(state: FileState) -> &'static str {
    match state {
        FileState::Pending => "waiting",
        FileState::Accepted => "accepted",
        FileState::Declined => "declined",
        FileState::Received => "received",
        FileState::Cancelled => "withdrawn by the sender",
        FileState::Expired => "expired",
    }
}

/// `1234567` as `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
