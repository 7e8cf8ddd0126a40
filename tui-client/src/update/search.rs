//! The search popup: `/search words` opens it searching, `Ctrl+F` opens it
//! empty to type the words in. Enter searches for what is typed, or, once
//! the results are for it, goes to the chosen message: its conversation
//! opens there, loading older pages until the message is in (as the pins
//! popup goes to a pinned message). Moving onto the last result asks for
//! the next page. Only the answer to the page asked for last counts: one to
//! an older search is dropped, and a refusal of it is said as a notice.

use classchat_common::protocol::{ChatMessage, Req};
use classchat_common::{ClientMessage, Conv};
use crossterm::event::{KeyCode, KeyEvent};

use crate::commands::SearchWords;
use crate::keymap::Action;
use crate::layout::search::page;
use crate::message::Effect;
use crate::model::{Asked, Model, Popup, Search};

/// Opens the popup: searching for `words` (from `before`, a reply's `next`,
/// if given) in `within` or every conversation, or empty, to type them in.
pub fn open(
    model: &mut Model,
    words: Option<SearchWords>,
    within: Option<Conv>,
    before: Option<String>,
    fx: &mut Vec<Effect>,
) {
    let typed = words.as_ref().map_or("", SearchWords::as_str);
    let mut search = Search::new(typed, within);
    if let Some(words) = words {
        let req = ask(model, &words, search.within.clone(), before, fx);
        search.start(words, req);
    }
    model.popup = Some(Popup::Search(Box::new(search)));
}

/// Asks for a page of `words`; its number.
fn ask(
    model: &mut Model,
    words: &SearchWords,
    within: Option<Conv>,
    before: Option<String>,
    fx: &mut Vec<Effect>,
) -> Req {
    let req = model.ask(Asked::Search);
    fx.push(Effect::Ask(ClientMessage::Search {
        req: Some(req),
        words: words.as_str().to_owned(),
        conv: within,
        before,
        limit: None,
    }));
    req
}

/// Keys over the popup: `↑`/`↓`, `PgUp`/`PgDn` choose; Enter searches or
/// goes; anything else edits the words.
pub fn key(model: &mut Model, key: KeyEvent, action: Option<Action>, fx: &mut Vec<Effect>) {
    let size = model.size;
    let Some(Popup::Search(s)) = model.popup.as_mut() else {
        return;
    };
    let last = s.found.len().saturating_sub(1);
    let page = page(size, s);
    match key.code {
        KeyCode::Up => s.selected = s.selected.saturating_sub(1),
        KeyCode::PageUp => s.selected = s.selected.saturating_sub(page),
        KeyCode::Down => s.selected = (s.selected + 1).min(last),
        KeyCode::PageDown => s.selected = (s.selected + page).min(last),
        KeyCode::Enter => return enter(model, fx),
        _ => {
            s.query.key(key, action);
            return;
        }
    }
    if matches!(key.code, KeyCode::Down | KeyCode::PageDown) {
        more(model, fx);
    }
}

pub fn paste(model: &mut Model, text: &str) {
    if let Some(Popup::Search(s)) = model.popup.as_mut() {
        s.query.paste(text);
    }
}

/// On the last result, with more to come and none asked for: the next page.
fn more(model: &mut Model, fx: &mut Vec<Effect>) {
    let Some(Popup::Search(s)) = &model.popup else {
        return;
    };
    let at_end = s.selected + 1 >= s.found.len();
    let (Some(words), Some(next), None, true) = (&s.words, &s.next, s.waiting, at_end) else {
        return;
    };
    let (words, next, within) = (words.clone(), next.clone(), s.within.clone());
    let req = ask(model, &words, within, Some(next), fx);
    if let Some(Popup::Search(s)) = model.popup.as_mut() {
        s.waiting = Some(req);
    }
}

/// Enter: a search for the words typed, if they are not those of the
/// results (or nothing was found: it may be there now); else the chosen
/// message, in its conversation.
fn enter(model: &mut Model, fx: &mut Vec<Effect>) {
    let Some(Popup::Search(s)) = &model.popup else {
        return;
    };
    if let Some(m) = s.chosen().filter(|_| !s.edited()) {
        let (conv, seq) = (m.conv.clone(), m.seq);
        model.popup = None;
        return go_to(model, &conv, seq, fx);
    }
    if s.waiting.is_some() && !s.edited() {
        return;
    }
    let words = match SearchWords::parse(&s.query.text()) {
        Ok(words) => words,
        Err(why) => return model.notify(why.to_string(), true),
    };
    let within = s.within.clone();
    let req = ask(model, &words, within, None, fx);
    if let Some(Popup::Search(s)) = model.popup.as_mut() {
        s.start(words, req);
    }
}

/// Opens `conv` at message `seq`, selected. A group left since the search
/// is not made again.
fn go_to(model: &mut Model, conv: &Conv, seq: u64, fx: &mut Vec<Effect>) {
    let index = match (conv, model.find(conv)) {
        (_, Some(i)) => i,
        (Conv::User(_), None) => model.conversation(conv),
        (Conv::Group(_), None) => {
            return model.notify(format!("you are no longer in {conv}"), true);
        }
    };
    super::selection::show_message(model, index, seq, fx);
}

/// A page of results: listed if it is the one the popup waits for.
pub fn found(
    model: &mut Model,
    req: Option<Req>,
    messages: Vec<ChatMessage>,
    next: Option<String>,
) {
    if let Some(Popup::Search(s)) = model.popup.as_mut() {
        s.add_page(req, messages, next);
    }
}

/// The server refused page `req` (too fast, or words it does not take):
/// said as other refusals are, if that page is still wanted.
pub fn refused(model: &mut Model, req: Option<Req>, message: &str) {
    let wanted = match model.popup.as_mut() {
        Some(Popup::Search(s)) => s.refused(req),
        _ => false,
    };
    if wanted {
        model.notify(crate::text::clean_line(message).into_owned(), true);
    }
}
