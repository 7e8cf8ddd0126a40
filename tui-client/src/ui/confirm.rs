//! The confirmation popup: the question, with what answering yes does spelled
//! out (how many members lose a group's history, which message goes for
//! everyone, which file is declined for good, what a quit would stop), and
//! the keys that answer it.

use classchat_common::files::{human_size, safe_name};
use classchat_common::{Conv, OfferId};
use ratatui::Frame;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::popup::{centered, frame_box};
use crate::keymap::Action;
use crate::layout::files::percent;
use crate::model::{Confirm, Model, Unfinished};
use crate::text;
use crate::theme::Theme;

/// The popup's width at most.
const WIDTH: u16 = 64;

/// What the popup says: its title, the question, what yes does, and the keys.
struct Question {
    title: String,
    ask: String,
    then: Vec<String>,
    keys: String,
}

pub fn render(model: &Model, confirm: &Confirm, theme: &Theme, frame: &mut Frame<'_>) {
    let q = question(model, confirm);
    let area = frame.area();
    let room = usize::from(WIDTH.min(area.width).saturating_sub(4)).max(10);
    let mut lines = vec![Line::raw("")];
    lines.extend(
        text::wrap(&q.ask, room)
            .into_iter()
            .map(|l| Line::styled(format!(" {l}"), theme.title)),
    );
    for then in &q.then {
        lines.extend(
            text::wrap(then, room)
                .into_iter()
                .map(|l| Line::styled(format!(" {l}"), theme.list_item)),
        );
    }
    lines.push(Line::raw(""));
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let boxed = centered(area, WIDTH, h);
    frame.render_widget(Clear, boxed);
    let block = frame_box(&q.title, theme, &q.keys);
    let inner = block.inner(boxed);
    frame.render_widget(block, boxed);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn question(model: &Model, confirm: &Confirm) -> Question {
    match confirm {
        Confirm::Delete { group, .. } => {
            let name = format!("#{}", text::clean_line(group.as_str()));
            let members = model
                .find(&Conv::Group(group.clone()))
                .and_then(|i| model.convs[i].members);
            let whom = match members {
                Some(n) if n > 1 => format!(" for all {n} members"),
                Some(_) => String::new(),
                None => " for all its members".to_owned(),
            };
            Question {
                title: format!("Delete {name}?"),
                ask: format!("Delete {name} and its history{whom}?"),
                then: vec!["Its messages go for everyone, and this cannot be undone.".into()],
                keys: " y delete it · n/Esc keep it ".into(),
            }
        }
        Confirm::Decline(offer) => decline(model, *offer),
        Confirm::Unsend { conv, seq } => unsend(model, conv, *seq),
        Confirm::Quit => quit(model),
    }
}

fn unsend(model: &Model, conv: &Conv, seq: u64) -> Question {
    let entry = model
        .find(conv)
        .map(|i| &model.convs[i])
        .and_then(|c| c.search(seq).ok().map(|at| &c.entries[at]));
    let what = match entry {
        Some(e) => {
            let words = text::clean_line(&e.body);
            let words = text::truncate(&words, 40);
            // Cut after a word, the cut shows against it.
            let words = match words.strip_suffix(" …") {
                Some(head) => format!("{head}…"),
                None => words.into_owned(),
            };
            let from = text::clean_line(e.from.as_str());
            format!("“{words}” from {from}")
        }
        None => format!("Message {seq}"),
    };
    let whom = if conv.is_group() {
        format!("everyone in {}", text::clean_line(&conv.to_string()))
    } else {
        "you both".to_owned()
    };
    Question {
        title: "Delete the message?".into(),
        ask: "Delete this message for everyone?".into(),
        then: vec![format!(
            "{what} goes for {whom}, and this cannot be undone."
        )],
        keys: " y delete it · n/Esc keep it ".into(),
    }
}

fn decline(model: &Model, offer: OfferId) -> Question {
    let (file, from) = match model.offers.get(offer) {
        Some(o) => (
            format!(
                "{} ({})",
                text::clean_line(&safe_name(&o.file.name)),
                human_size(o.file.size)
            ),
            text::clean_line(o.from.as_str()).into_owned(),
        ),
        None => ("the file".to_owned(), "its sender".to_owned()),
    };
    Question {
        title: "Decline the file?".into(),
        ask: format!("Decline {file} from {from}?"),
        then: vec![format!(
            "This is for good: only {from} can offer it to you again."
        )],
        keys: " y decline · n/Esc back to the offer ".into(),
    }
}

fn quit(model: &Model) -> Question {
    let left = Unfinished::of(model);
    let mut then = Vec::new();
    let running = model
        .transfers
        .iter()
        .find(|t| !t.progress.state.is_over())
        .map(|t| &t.progress);
    match (left.transfers, running) {
        (0, _) | (_, None) => {}
        (1, Some(p)) => then.push(format!(
            "{} is still {} ({}%): quitting stops it.",
            text::clean_line(&safe_name(&p.name)),
            if p.upload { "uploading" } else { "downloading" },
            percent(p)
        )),
        (n, _) => then.push(format!(
            "{n} file transfers are still running: quitting stops them."
        )),
    }
    let mark = if model.look.ascii { "[..]" } else { "◌" };
    match left.sending {
        0 => {}
        1 => then.push(format!(
            "A message is still sending ({mark}): it is kept, and sent when you start ClassChat again."
        )),
        n => then.push(format!(
            "{n} messages are still sending ({mark}): they are kept, and sent when you start ClassChat again."
        )),
    }
    if then.is_empty() {
        // Everything finished while the question showed.
        then.push("Nothing is left unfinished now.".into());
    }
    let quit_key = model
        .keymap
        .keys(Action::Quit)
        .first()
        .map_or_else(|| "Ctrl+C".to_owned(), ToString::to_string);
    Question {
        title: "Quit?".into(),
        ask: "Quit ClassChat now?".into(),
        then,
        keys: format!(" y or {quit_key} quit · n/Esc stay "),
    }
}
