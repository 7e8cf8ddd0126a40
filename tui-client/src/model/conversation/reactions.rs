//! Reactions as a conversation holds them: each message's kinds in the order
//! first given, with who gave each in the order they did. A reaction line
//! (`react` or `unreact`) is a change line like an edit: it gives or takes one
//! member's one kind, so applying it twice (a page overlapping what came live,
//! a catch-up after a reconnect) leaves the same set. Lines are applied in
//! `seq` order through to the newest, so whatever a replay passes through, it
//! ends where the server's state is. Your own reactions not stored yet show at
//! once, laid over the message's (`Conversation::shown_reactions`), and drop
//! out if the server refuses them.

use std::borrow::Cow;

use classchat_common::Username;
use classchat_common::limits::REACTIONS_MAX;
use classchat_common::protocol::Reaction;

use super::{Change, Conversation, Entry};
use crate::commands::REACTIONS;

/// The reactions to one message. A kind is spelled as the server spells it,
/// which is what takes it back; it is cleaned only to be shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reactions(Vec<Reaction>);

impl Reactions {
    /// The `reactions` of a message in `history` or catch-up. A kind named
    /// twice is one kind, a user named twice in it one user, and a kind
    /// nobody gave is none.
    pub fn from_server(list: &[Reaction]) -> Self {
        let mut reactions = Reactions::default();
        for kind in list {
            for user in &kind.users {
                reactions.give(&kind.emoji, user);
            }
        }
        reactions
    }

    /// `user` gave `emoji`; whether that is news.
    pub fn give(&mut self, emoji: &str, user: &Username) -> bool {
        match self.0.iter_mut().find(|k| k.emoji == emoji) {
            Some(kind) if kind.users.contains(user) => false,
            Some(kind) => {
                kind.users.push(user.clone());
                true
            }
            None => {
                self.0.push(Reaction {
                    emoji: emoji.to_owned(),
                    users: vec![user.clone()],
                });
                true
            }
        }
    }

    /// `user` took `emoji` back; whether they had given it. A kind nobody
    /// gives any more goes.
    pub fn take(&mut self, emoji: &str, user: &Username) -> bool {
        let Some(at) = self.0.iter().position(|k| k.emoji == emoji) else {
            return false;
        };
        let users = &mut self.0[at].users;
        let before = users.len();
        users.retain(|u| u != user);
        let taken = users.len() < before;
        if users.is_empty() {
            self.0.remove(at);
        }
        taken
    }

    /// Whether `user` gave `emoji`.
    pub fn gave(&self, emoji: &str, user: &Username) -> bool {
        self.0
            .iter()
            .any(|k| k.emoji == emoji && k.users.contains(user))
    }

    /// Whether anyone gave `emoji`.
    pub fn has(&self, emoji: &str) -> bool {
        self.0.iter().any(|k| k.emoji == emoji)
    }

    /// Whether one more kind would be too many for the server.
    pub fn full(&self) -> bool {
        self.0.len() >= REACTIONS_MAX
    }

    pub fn iter(&self) -> impl Iterator<Item = &Reaction> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Applies a reaction line; whether it changed anything (any other
    /// change changes nothing here).
    pub(super) fn apply(&mut self, change: &Change) -> bool {
        match change {
            Change::React { emoji, user, .. } => self.give(emoji, user),
            Change::Unreact { emoji, user, .. } => self.take(emoji, user),
            Change::Edit { .. } | Change::Delete { .. } => false,
        }
    }

    /// What the picker offers: the usual reactions, then the other kinds
    /// the message has, to join.
    pub fn choices(&self) -> Vec<String> {
        let usual = REACTIONS.iter().map(|&e| e.to_owned());
        let others = self
            .0
            .iter()
            .map(|k| k.emoji.clone())
            .filter(|e| !REACTIONS.contains(&e.as_str()));
        usual.chain(others).collect()
    }
}

impl Entry {
    /// Whether it takes reactions: a stored text message or file offer, not
    /// deleted.
    pub fn takes_reactions(&self) -> bool {
        self.seq.is_some() && self.event.is_none() && !self.deleted
    }
}

impl Conversation {
    /// The reactions `e` shows: its own, with your reactions to it that the
    /// server has not stored yet laid over them in the order you gave them.
    /// A deleted message shows none.
    pub fn shown_reactions<'a>(&'a self, e: &'a Entry) -> Cow<'a, Reactions> {
        let Some(seq) = e.seq.filter(|_| !e.deleted) else {
            return Cow::Owned(Reactions::default());
        };
        let mut pending = self
            .changing
            .iter()
            .map(|(_, change)| change)
            .filter(|c| c.is_reaction() && c.seq() == seq)
            .peekable();
        if pending.peek().is_none() {
            return Cow::Borrowed(&e.reactions);
        }
        let mut shown = e.reactions.clone();
        for change in pending {
            shown.apply(change);
        }
        Cow::Owned(shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> Username {
        name.parse().unwrap()
    }

    fn kinds(r: &Reactions) -> Vec<(String, Vec<String>)> {
        r.iter()
            .map(|k| {
                let users = k.users.iter().map(ToString::to_string).collect();
                (k.emoji.clone(), users)
            })
            .collect()
    }

    #[test]
    fn giving_twice_is_giving_once_and_taking_back_the_last_removes_the_kind() {
        let mut r = Reactions::default();
        assert!(r.give("👍", &user("bob")));
        assert!(r.give("🎉", &user("carol")));
        assert!(r.give("👍", &user("carol")));
        assert!(!r.give("👍", &user("Bob")), "names are one in any case");
        assert_eq!(
            kinds(&r),
            [
                ("👍".into(), vec!["bob".into(), "carol".into()]),
                ("🎉".into(), vec!["carol".into()])
            ]
        );
        assert!(r.take("🎉", &user("carol")));
        assert!(!r.take("🎉", &user("carol")), "not given any more");
        assert!(!r.take("😂", &user("bob")));
        assert_eq!(
            kinds(&r),
            [("👍".into(), vec!["bob".into(), "carol".into()])]
        );
    }

    #[test]
    fn a_list_from_the_server_keeps_its_order_and_loses_what_is_repeated_or_empty() {
        let list = [
            Reaction {
                emoji: "🎉".into(),
                users: vec![user("carol"), user("bob"), user("carol")],
            },
            Reaction {
                emoji: "👀".into(),
                users: Vec::new(),
            },
            Reaction {
                emoji: "🎉".into(),
                users: vec![user("dave")],
            },
        ];
        assert_eq!(
            kinds(&Reactions::from_server(&list)),
            [(
                "🎉".into(),
                vec!["carol".into(), "bob".into(), "dave".into()]
            )]
        );
    }

    #[test]
    fn the_picker_offers_the_usual_reactions_then_the_others_the_message_has() {
        let mut r = Reactions::default();
        r.give("🚀", &user("bob"));
        r.give("👍", &user("bob"));
        let choices = r.choices();
        assert_eq!(choices.len(), REACTIONS.len() + 1);
        assert_eq!(choices[..REACTIONS.len()], *REACTIONS);
        assert_eq!(choices.last().map(String::as_str), Some("🚀"));
    }
}
