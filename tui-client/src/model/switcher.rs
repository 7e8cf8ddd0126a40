//! What the switcher (`Ctrl+K`) lists for a query: the key handler opens the
//! item chosen and the view draws the list, so both read it from here.

use classchat_common::Conv;

use super::Model;
use crate::commands::COMMANDS;
use crate::text;

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
pub fn items(model: &Model, query: &str) -> Vec<Item> {
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
