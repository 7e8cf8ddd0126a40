//! The search popup (`/search`, `Ctrl+F`): the words typed, the search they
//! last ran, and the messages found so far, newest first, a page at a time.

use classchat_common::Conv;
use classchat_common::protocol::{ChatMessage, Req};

use super::Field;
use crate::commands::SearchWords;

#[derive(Debug)]
pub struct Search {
    /// What is typed; Enter searches for it when it is not what was searched.
    pub query: Field,
    /// What `found` is for: `None` until a search is sent (and again after
    /// the server refused the first page).
    pub words: Option<SearchWords>,
    /// The one conversation searched (`--in`), or all of yours.
    pub within: Option<Conv>,
    /// Newest first, each with its conversation; pages are appended.
    pub found: Vec<ChatMessage>,
    /// Where the next page starts, while there is one.
    pub next: Option<String>,
    /// The page asked for and not yet answered: any other answer is for an
    /// older search, and is ignored.
    pub waiting: Option<Req>,
    pub selected: usize,
}

impl Search {
    /// The popup with `typed` in its field, nothing searched yet.
    pub fn new(typed: &str, within: Option<Conv>) -> Self {
        Self {
            query: Field::new("words to find").holding(typed),
            words: None,
            within,
            found: Vec::new(),
            next: None,
            waiting: None,
            selected: 0,
        }
    }

    /// Whether the field holds something else than what was searched: Enter
    /// searches rather than going to a result.
    pub fn edited(&self) -> bool {
        let typed = self.query.text();
        self.words
            .as_ref()
            .is_none_or(|w| w.as_str() != typed.trim())
    }

    /// A new search for `words`, page one asked for as `req`.
    pub fn start(&mut self, words: SearchWords, req: Req) {
        self.words = Some(words);
        self.found.clear();
        self.next = None;
        self.selected = 0;
        self.waiting = Some(req);
    }

    /// Page `req` arrived: its messages go after those found before (one
    /// found already is not listed twice). `false` if it is not the page
    /// waited for.
    pub fn add_page(
        &mut self,
        req: Option<Req>,
        messages: Vec<ChatMessage>,
        next: Option<String>,
    ) -> bool {
        if req.is_none() || req != self.waiting {
            return false;
        }
        self.waiting = None;
        for m in messages {
            let known = self
                .found
                .iter()
                .any(|f| f.seq == m.seq && f.conv == m.conv);
            if !known {
                self.found.push(m);
            }
        }
        self.next = next;
        true
    }

    /// The server refused page `req`: `false` if it was not the one waited
    /// for. A refused first page leaves nothing searched, so Enter tries
    /// again; a refused later page leaves `next`, so moving on asks again.
    pub fn refused(&mut self, req: Option<Req>) -> bool {
        if req.is_none() || req != self.waiting {
            return false;
        }
        self.waiting = None;
        if self.found.is_empty() {
            self.words = None;
        }
        true
    }

    /// The message chosen.
    pub fn chosen(&self) -> Option<&ChatMessage> {
        self.found.get(self.selected)
    }
}
