//! Keys and the mouse: the key table first, then popups, message selection, the
//! login form, and typing.

use classchat_common::protocol::Secret;
use classchat_common::{ClientMessage, Conv, MessageId};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::{files, input, select};
use crate::commands::COMMANDS;
use crate::keymap::Action;
use crate::layout::{self, Ctx};
use crate::message::Effect;
use crate::model::{Asked, Entry, Focus, LoginForm, Model, Popup, Scroll};
use crate::text;
use crate::theme::Theme;
use crate::tracker::Stage;

/// Lines the mouse wheel scrolls.
const WHEEL_LINES: usize = 3;

pub fn on_key(model: &mut Model, key: KeyEvent, fx: &mut Vec<Effect>) {
    if key.kind == KeyEventKind::Release {
        return;
    }
    let action = model.keymap.action(&key);
    if action == Some(Action::Quit) {
        model.quit = true;
        fx.push(Effect::Quit);
        return;
    }
    if model.login.is_some() {
        return login_key(model, key, fx);
    }
    if model.popup.is_some() {
        return popup_key(model, key, action, fx);
    }
    if let Focus::Messages(i) = model.focus
        && selection_key(model, key, action, i, fx)
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
        }
        Some(Action::Complete) => input::complete(model),
        Some(Action::RecallPrevious) if model.recall.is_some() || model.input().is_empty() => {
            input::recall(model, true);
        }
        Some(Action::RecallNext) if model.recall.is_some() => input::recall(model, false),
        Some(Action::DeleteToStart) => edit(model, |input| {
            input.delete_line_by_head();
        }),
        Some(Action::Undo) => edit(model, |input| {
            input.undo();
        }),
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
        _ => edit(model, |input| {
            input.input(key);
        }),
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
                type_into_draft(model, &mut text);
                on_key(model, *key, fx);
            }
        }
    }
    type_into_draft(model, &mut text);
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

fn type_into_draft(model: &mut Model, text: &mut String) {
    if !text.is_empty() {
        edit(model, |input| {
            input.insert_str(&*text);
        });
        text.clear();
    }
}

/// A change to the draft: whatever was being completed or recalled is over.
fn edit(model: &mut Model, change: impl FnOnce(&mut ratatui_textarea::TextArea<'static>)) {
    change(model.input_mut());
    model.completion = None;
    model.recall = None;
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

fn scroll_by(model: &mut Model, theme: &Theme, area: ratatui::layout::Rect, lines: isize) {
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

/// Keys while a message is selected; `false` lets the key fall through.
fn selection_key(
    model: &mut Model,
    key: KeyEvent,
    action: Option<Action>,
    at: usize,
    fx: &mut Vec<Effect>,
) -> bool {
    let Some(index) = model.selected else {
        model.focus = Focus::Input;
        return false;
    };
    let count = model.convs[index].entries.len();
    match (key.code, action) {
        (_, Some(Action::Close)) => model.focus = Focus::Input,
        (KeyCode::Up, _) | (_, Some(Action::SelectMessages)) => {
            move_selection(model, index, at.saturating_sub(1));
        }
        (KeyCode::Down, _) if at + 1 >= count => model.focus = Focus::Input,
        (KeyCode::Down, _) => move_selection(model, index, at + 1),
        (KeyCode::Char('i') | KeyCode::Enter, _) => read_by(model, index, at, fx),
        (KeyCode::Char('r'), _) => retry(model, index, at, fx),
        (KeyCode::Char(_), None) => {
            model.focus = Focus::Input;
            return false;
        }
        _ => return false,
    }
    true
}

fn move_selection(model: &mut Model, index: usize, to: usize) {
    model.focus = Focus::Messages(to);
    let theme = Theme::new(model.look.color);
    let area = layout::model_areas(model).message_lines();
    let conv = &model.convs[index];
    let ctx = Ctx::new(model, &theme, &conv.conv, area.width);
    let shown = layout::visible(conv, &ctx, usize::from(area.height), None);
    let h = layout::entry_lines(conv, to, &ctx, false).len() as isize;
    if shown
        .top
        .is_some_and(|top| to < top || (to == top && !shown.reached_top))
    {
        scroll_by(model, &theme, area, -h);
    } else if shown.bottom.is_some_and(|bottom| to >= bottom) {
        scroll_by(model, &theme, area, h);
    }
}

fn read_by(model: &mut Model, index: usize, at: usize, fx: &mut Vec<Effect>) {
    let Some(entry) = model.convs[index].entries.get(at) else {
        return;
    };
    if !entry.mine || entry.seq.is_none() || entry.event.is_some() {
        model.notify("read receipts are shown for your own sent messages", false);
        return;
    }
    let id = entry.id;
    let req = model.ask(Asked::Quiet);
    fx.push(Effect::Ask(ClientMessage::ReadBy { req: Some(req), id }));
}

fn retry(model: &mut Model, index: usize, at: usize, fx: &mut Vec<Effect>) {
    let conv = &mut model.convs[index];
    let failed = conv
        .entries
        .get(at)
        .is_some_and(|e| e.mine && e.status.is_some_and(|s| s.stage == Stage::Failed));
    if !failed {
        model.notify("only a failed message can be retried", false);
        return;
    }
    let old = conv.entries.remove(at);
    let id = MessageId::new();
    let to = conv.conv.clone();
    conv.entries
        .push(Entry::sending(id, old.from, &old.body, model.now));
    conv.scroll = Scroll::Bottom;
    model.focus = Focus::Input;
    fx.push(Effect::Send {
        id,
        to,
        body: old.body,
    });
}

fn popup_key(model: &mut Model, key: KeyEvent, action: Option<Action>, fx: &mut Vec<Effect>) {
    match model.popup {
        Some(Popup::Picker(_)) => return files::picker_key(model, key, action, fx),
        Some(Popup::Offer { .. }) => return files::offer_key(model, key, action, fx),
        Some(Popup::Transfers { .. }) => return files::transfers_key(model, key, action, fx),
        Some(Popup::Password(_)) => return super::password::key(model, key, action, fx),
        _ => {}
    }
    if action == Some(Action::Close) {
        model.popup = None;
        return;
    }
    let help_limit = match model.popup {
        Some(Popup::Help { .. }) => crate::ui::help_scroll_limit(model, model.size),
        _ => 0,
    };
    let Some(popup) = model.popup.as_mut() else {
        return;
    };
    match popup {
        Popup::Help { scroll } => match key.code {
            KeyCode::Down | KeyCode::PageDown => {
                let step = if key.code == KeyCode::Down { 1 } else { 10 };
                *scroll = scroll.saturating_add(step).min(help_limit);
            }
            KeyCode::Up | KeyCode::PageUp => {
                *scroll = scroll.saturating_sub(if key.code == KeyCode::Up { 1 } else { 10 });
            }
            _ => model.popup = None,
        },
        Popup::Switcher { query, selected } => match key.code {
            KeyCode::Up => *selected = selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Tab => {
                // Stop at the last item, so the one shown chosen is the one Enter opens.
                let query = query.lines().join("");
                let last = switcher_items(model, &query).len().saturating_sub(1);
                if let Some(Popup::Switcher { selected, .. }) = model.popup.as_mut() {
                    *selected = (*selected + 1).min(last);
                }
            }
            KeyCode::Enter => {
                let query = query.lines().join("");
                let pick = switcher_items(model, &query)
                    .into_iter()
                    .nth(match &model.popup {
                        Some(Popup::Switcher { selected, .. }) => *selected,
                        _ => 0,
                    });
                model.popup = None;
                if let Some(item) = pick {
                    open_item(model, item, fx);
                }
            }
            _ => {
                query.input(key);
                *selected = 0;
            }
        },
        Popup::Groups { groups, selected } => match key.code {
            KeyCode::Up => *selected = selected.saturating_sub(1),
            KeyCode::Down => *selected = (*selected + 1).min(groups.len().saturating_sub(1)),
            KeyCode::Enter => {
                let pick = groups.get(*selected).cloned();
                model.popup = None;
                if let Some(g) = pick {
                    if g.member {
                        let i = model.conversation(&Conv::Group(g.group));
                        select(model, i);
                    } else {
                        let text = format!("/join {}", g.group);
                        let req = model.ask(Asked::Command(text));
                        fx.push(Effect::Ask(ClientMessage::Join {
                            req: Some(req),
                            group: g.group,
                        }));
                    }
                }
            }
            _ => {}
        },
        Popup::Members {
            members, selected, ..
        } => match key.code {
            KeyCode::Up => *selected = selected.saturating_sub(1),
            KeyCode::Down => *selected = (*selected + 1).min(members.len().saturating_sub(1)),
            KeyCode::Enter => {
                let pick = members.get(*selected).map(|m| m.user.clone());
                model.popup = None;
                if let Some(user) = pick.filter(|u| Some(u) != model.me.as_ref()) {
                    let i = model.conversation(&Conv::User(user));
                    select(model, i);
                }
            }
            _ => {}
        },
        Popup::Who {
            online,
            total,
            selected,
        } => {
            let page = crate::ui::who_page(model.size, online.len(), *total > online.len());
            let last = online.len().saturating_sub(1);
            match key.code {
                KeyCode::Up => *selected = selected.saturating_sub(1),
                KeyCode::Down => *selected = (*selected + 1).min(last),
                KeyCode::PageUp => *selected = selected.saturating_sub(page),
                KeyCode::PageDown => *selected = (*selected + page).min(last),
                KeyCode::Enter => {
                    // As `/msg name` without text: open (or start) the conversation.
                    let pick = online.get(*selected).cloned();
                    model.popup = None;
                    if let Some(user) = pick.filter(|u| Some(u) != model.me.as_ref()) {
                        let i = model.conversation(&Conv::User(user));
                        select(model, i);
                    }
                }
                _ => {}
            }
        }
        Popup::ReadBy { .. } => model.popup = None,
        Popup::Picker(_) | Popup::Offer { .. } | Popup::Transfers { .. } | Popup::Password(_) => {}
    }
}

/// Something the switcher can jump to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Conv(Conv),
    Command(&'static str),
}

impl Item {
    pub fn label(&self) -> String {
        match self {
            Item::Conv(c) => c.to_string(),
            Item::Command(name) => format!("/{name}"),
        }
    }
}

/// What the switcher offers for `query`, best match first: conversations, then
/// everyone and every group heard of, then commands.
pub fn switcher_items(model: &Model, query: &str) -> Vec<Item> {
    let mut items: Vec<Item> = model
        .convs
        .iter()
        .map(|c| Item::Conv(c.conv.clone()))
        .collect();
    for user in &model.known_users {
        let conv = Conv::User(user.clone());
        if Some(user) != model.me.as_ref() && !items.contains(&Item::Conv(conv.clone())) {
            items.push(Item::Conv(conv));
        }
    }
    for group in &model.known_groups {
        let conv = Conv::Group(group.clone());
        if !items.contains(&Item::Conv(conv.clone())) {
            items.push(Item::Conv(conv));
        }
    }
    items.extend(COMMANDS.iter().map(|s| Item::Command(s.name)));
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return items;
    }
    let mut scored: Vec<(usize, usize, Item)> = items
        .into_iter()
        .enumerate()
        .filter_map(|(order, item)| {
            text::fuzzy_score(&item.label().to_lowercase(), &query).map(|s| (s, order, item))
        })
        .collect();
    scored.sort_by_key(|(score, order, _)| (*score, *order));
    scored.into_iter().map(|(_, _, item)| item).collect()
}

fn open_item(model: &mut Model, item: Item, fx: &mut Vec<Effect>) {
    match item {
        Item::Conv(conv) => {
            if let Conv::Group(g) = &conv
                && model.find(&conv).is_none()
            {
                // A group heard of but not joined: ask to join it.
                let text = format!("/join {g}");
                let req = model.ask(Asked::Command(text));
                fx.push(Effect::Ask(ClientMessage::Join {
                    req: Some(req),
                    group: g.clone(),
                }));
                return;
            }
            let i = model.conversation(&conv);
            select(model, i);
        }
        Item::Command(name) => {
            let text = format!("/{name} ");
            input::replace_text(model.input_mut(), &text);
        }
    }
}

fn login_key(model: &mut Model, key: KeyEvent, fx: &mut Vec<Effect>) {
    let Some(form) = model.login.as_mut() else {
        return;
    };
    if form.busy {
        return;
    }
    match key.code {
        // Logging in again: the server and the name are not to change.
        KeyCode::Tab | KeyCode::Down | KeyCode::BackTab | KeyCode::Up if form.again => {}
        KeyCode::Tab | KeyCode::Down => form.field = (form.field + 1) % 3,
        KeyCode::BackTab | KeyCode::Up => form.field = (form.field + 2) % 3,
        KeyCode::Enter if form.field < 2 => form.field += 1,
        KeyCode::Enter => {
            let server = LoginForm::value(&form.server);
            let user = LoginForm::value(&form.user);
            let password = form.password.lines().join("");
            let problem = if server.is_empty() {
                Some("say which server (host:port)")
            } else if user.is_empty() {
                Some("say who you are")
            } else if password.is_empty() {
                Some("type your password (a new name gets an account with it)")
            } else {
                None
            };
            if let Some(problem) = problem {
                form.error = Some(problem.into());
                return;
            }
            form.busy = true;
            form.error = None;
            if form.again {
                fx.push(Effect::Password(Secret(password)));
            } else {
                fx.push(Effect::Login {
                    server,
                    user,
                    password: Secret(password),
                });
            }
        }
        KeyCode::Esc => {
            model.quit = true;
            fx.push(Effect::Quit);
        }
        _ => {
            form.current_mut().input(key);
        }
    }
}

pub fn on_paste(model: &mut Model, text: &str) {
    if let Some(form) = model.login.as_mut() {
        form.current_mut()
            .insert_str(text.replace(['\n', '\r'], ""));
        return;
    }
    match model.popup.as_mut() {
        Some(Popup::Switcher { query, .. }) => {
            query.insert_str(text.replace(['\n', '\r'], " "));
            return;
        }
        Some(Popup::Picker(p)) => {
            p.filter.insert_str(text.replace(['\n', '\r'], ""));
            p.selected = 0;
            return;
        }
        Some(Popup::Offer {
            save_as: Some(folder),
            ..
        }) => {
            folder.insert_str(text.replace(['\n', '\r'], ""));
            return;
        }
        Some(Popup::Password(form)) => return super::password::paste(form, text),
        _ => {}
    }
    // What the draft cannot show (tag characters, fillers…) is not sent unseen.
    let text = text::without_invisible(text);
    model
        .input_mut()
        .insert_str(text.replace("\r\n", "\n").replace('\r', "\n"));
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
