//! Keys and the mouse: the key table first, then the login form and typing;
//! keys over a popup go to `popup.rs`, keys on a selected message to
//! `selection.rs`.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::{files, input, select, selection, typing};
use crate::keymap::Action;
use crate::layout::{self, Ctx};
use crate::message::Effect;
use crate::model::{Focus, Model, Popup, Scroll, field};
use crate::text;
use crate::theme::Theme;

/// Lines the mouse wheel scrolls.
const WHEEL_LINES: usize = 3;

pub fn on_key(model: &mut Model, key: KeyEvent, fx: &mut Vec<Effect>) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    let action = model.keymap.action(&key);
    if action == Some(Action::Quit) {
        return super::confirm::quit(model, fx);
    }
    if model.login.is_some() {
        return login_key(model, key, action, fx);
    }
    if model.popup.is_some() {
        return super::popup::key(model, key, action, fx);
    }
    if let Focus::Messages(i) = model.focus
        && selection::key(model, key, action, i, fx)
    {
        return;
    }
    match action {
        Some(Action::Help) => model.popup = Some(Popup::Help { scroll: 0 }),
        Some(Action::NextConversation) => step(model, 1),
        Some(Action::PrevConversation) => step(model, -1),
        Some(Action::Jump(n)) => select(model, usize::from(n) - 1),
        Some(Action::NextUnread) => next_unread(model),
        Some(Action::Switcher) => model.popup = Some(Popup::switcher()),
        Some(Action::Search) => super::search::open(model, None, None, None, fx),
        Some(Action::Offers) => files::open_offers(model),
        Some(Action::Transfers) => files::open_transfers(model),
        Some(Action::PageUp) => page(model, true),
        Some(Action::PageDown) => page(model, false),
        Some(Action::Bottom) => {
            if let Some(c) = model.current_mut() {
                c.scroll = Scroll::Bottom;
            }
        }
        Some(Action::SelectMessages) => start_selection(model),
        Some(Action::Send) => input::submit(model, fx),
        Some(Action::NewLine) => {
            model.input_mut().insert_newline();
            typing::edited(model, fx);
        }
        Some(Action::Complete) => {
            if input::complete(model) {
                typing::edited(model, fx);
            }
        }
        Some(Action::RecallPrevious) if model.recall.is_some() || model.input().is_empty() => {
            input::recall(model, true);
        }
        Some(Action::RecallNext) if model.recall.is_some() => input::recall(model, false),
        Some(Action::Close) if model.current().is_some_and(|c| c.composing.is_some()) => {
            // A reply becomes plain text again; an edit gives back the draft
            // that was there before it.
            if let Some(c) = model.current_mut() {
                selection::stop_composing(c);
            }
            model.completion = None;
        }
        Some(Action::Close) => {
            // Esc never touches the draft.
            model.notice = None;
            model.completion = None;
        }
        _ if key.code == KeyCode::Char('?')
            && !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
            && model.input().is_empty() =>
        {
            model.popup = Some(Popup::Help { scroll: 0 });
        }
        _ => {
            if edit(model, |input| field::edit(input, key, action)) {
                typing::edited(model, fx);
            }
        }
    }
}

/// A burst of keys, each doing what it would alone; but characters that would
/// only be typed into the draft go in as one edit, so a long burst costs one
/// pass over the draft rather than one per character.
pub fn on_typed(model: &mut Model, keys: &[KeyEvent], fx: &mut Vec<Effect>) {
    let mut text = String::new();
    for key in keys {
        match key.code {
            KeyCode::Char(c) if types_into_draft(model, key, text.is_empty()) => text.push(c),
            _ => {
                type_into_draft(model, &mut text, fx);
                on_key(model, *key, fx);
            }
        }
    }
    type_into_draft(model, &mut text, fx);
}

/// Whether `on_key` would only type `key`'s character into the draft;
/// `nothing_held` says no character of the burst is waiting to go in first.
fn types_into_draft(model: &Model, key: &KeyEvent, nothing_held: bool) -> bool {
    let KeyCode::Char(c) = key.code else {
        return false;
    };
    key.kind != KeyEventKind::Release
        && key.modifiers.difference(KeyModifiers::SHIFT).is_empty()
        && model.login.is_none()
        && model.popup.is_none()
        && model.focus == Focus::Input
        && model.keymap.action(key).is_none()
        && !(c == '?' && nothing_held && model.input().is_empty())
}

fn type_into_draft(model: &mut Model, text: &mut String, fx: &mut Vec<Effect>) {
    if !text.is_empty() {
        edit(model, |input| input.insert_str(&*text));
        text.clear();
        typing::edited(model, fx);
    }
}

/// A key on the draft: whatever was being completed or recalled is over.
/// Returns whether the text changed.
fn edit(
    model: &mut Model,
    change: impl FnOnce(&mut ratatui_textarea::TextArea<'static>) -> bool,
) -> bool {
    let changed = change(model.input_mut());
    model.completion = None;
    model.recall = None;
    changed
}

fn step(model: &mut Model, by: isize) {
    let n = model.convs.len();
    if n == 0 {
        return;
    }
    let current = model.selected.unwrap_or(0) as isize;
    let next = (current + by).rem_euclid(n as isize) as usize;
    select(model, next);
}

fn next_unread(model: &mut Model) {
    let n = model.convs.len();
    let start = model.selected.map_or(0, |s| s + 1);
    let found = (0..n)
        .map(|k| (start + k) % n)
        .find(|&i| model.convs[i].unread > 0);
    match found {
        Some(i) => select(model, i),
        None => model.notify("nothing unread", false),
    }
}

fn page(model: &mut Model, up: bool) {
    let theme = Theme::new(model.look.color);
    let area = layout::model_areas(model).message_lines();
    // A page keeps two lines of the previous one, to read on from.
    let lines = usize::from(area.height).saturating_sub(2).max(1);
    if up {
        return scroll_by(model, &theme, area, -(lines as isize));
    }
    let Some(i) = model.selected else { return };
    let ctx = Ctx::new(model, &theme, &model.convs[i].conv, area.width);
    let scroll = layout::page_down(&model.convs[i], &ctx, usize::from(area.height), lines);
    model.convs[i].scroll = scroll;
}

pub fn scroll_by(model: &mut Model, theme: &Theme, area: ratatui::layout::Rect, lines: isize) {
    let Some(i) = model.selected else { return };
    let ctx = Ctx::new(model, theme, &model.convs[i].conv, area.width);
    let conv = &model.convs[i];
    let scroll = if lines < 0 {
        layout::scroll_up(conv, &ctx, usize::from(area.height), lines.unsigned_abs())
    } else {
        layout::scroll_down(conv, &ctx, lines.unsigned_abs())
    };
    model.convs[i].scroll = scroll;
}

fn start_selection(model: &mut Model) {
    let theme = Theme::new(model.look.color);
    let area = layout::model_areas(model).message_lines();
    let Some(conv) = model.current() else { return };
    let ctx = Ctx::new(model, &theme, &conv.conv, area.width);
    if let Some(bottom) = layout::visible(conv, &ctx, usize::from(area.height), None).bottom {
        model.focus = Focus::Messages(bottom);
    }
}

fn login_key(model: &mut Model, key: KeyEvent, action: Option<Action>, fx: &mut Vec<Effect>) {
    let Some(form) = model.login.as_mut() else {
        return;
    };
    if form.busy {
        return;
    }
    let fields = form.fields().len();
    match key.code {
        // Logging in again: the server and the name are not to change.
        KeyCode::Tab | KeyCode::Down | KeyCode::BackTab | KeyCode::Up if form.again => {}
        KeyCode::Tab | KeyCode::Down => form.field = (form.field + 1) % fields,
        KeyCode::BackTab | KeyCode::Up => form.field = (form.field + fields - 1) % fields,
        KeyCode::Enter if form.field + 1 < fields => form.field += 1,
        KeyCode::Enter => super::login::submit(model, fx),
        KeyCode::Esc => {
            model.quit = true;
            fx.push(Effect::Quit);
        }
        _ => {
            let changed = form.current_mut().key(key, action);
            // Another server or name: whether it has an account is not known.
            if changed && form.field < 2 {
                form.repeat = None;
            }
        }
    }
}

pub fn on_paste(model: &mut Model, text: &str, fx: &mut Vec<Effect>) {
    if let Some(form) = model.login.as_mut() {
        if form.current_mut().paste(text) && form.field < 2 {
            form.repeat = None;
        }
        return;
    }
    match model.popup.as_mut() {
        Some(Popup::Switcher { query, selected }) => {
            query.paste(text);
            *selected = 0;
            return;
        }
        Some(Popup::Picker(p)) => {
            p.filter.paste(text);
            p.selected = 0;
            return;
        }
        Some(Popup::Offer {
            save_as: Some(folder),
            ..
        }) => {
            folder.paste(text);
            return;
        }
        Some(Popup::Password(form)) => return super::password::paste(form, text),
        Some(Popup::Search(_)) => return super::search::paste(model, text),
        _ => {}
    }
    // What the draft cannot show (tag characters, fillers…) is not sent unseen.
    let text = text::without_invisible(text);
    let pasted = model
        .input_mut()
        .insert_str(text.replace("\r\n", "\n").replace('\r', "\n"));
    if pasted {
        typing::edited(model, fx);
    }
}

pub fn on_mouse(model: &mut Model, mouse: MouseEvent, _fx: &mut Vec<Effect>) {
    if model.login.is_some() || model.popup.is_some() {
        return;
    }
    let areas = layout::model_areas(model);
    let inside = |r: ratatui::layout::Rect| {
        mouse.column >= r.x
            && mouse.column < r.x + r.width
            && mouse.row >= r.y
            && mouse.row < r.y + r.height
    };
    let theme = Theme::new(model.look.color);
    match mouse.kind {
        MouseEventKind::ScrollUp if inside(areas.messages) => {
            scroll_by(
                model,
                &theme,
                areas.message_lines(),
                -(WHEEL_LINES as isize),
            );
        }
        MouseEventKind::ScrollDown if inside(areas.messages) => {
            scroll_by(model, &theme, areas.message_lines(), WHEEL_LINES as isize);
        }
        MouseEventKind::Down(MouseButton::Left) => {
            if let Some(list) = areas.list.filter(|l| inside(*l)) {
                let rows = layout::inner(list);
                let offset =
                    layout::list_offset(model.selected.unwrap_or(0), usize::from(rows.height));
                let row = usize::from(mouse.row.saturating_sub(rows.y));
                if mouse.row >= rows.y && offset + row < model.convs.len() {
                    select(model, offset + row);
                }
            }
        }
        _ => {}
    }
}
