//! Who is typing in a conversation, as the server's `typing` lines say, and
//! until when each is shown; and when you last said you were typing there.

use classchat_common::limits::{TYPING_EVERY_MS, TYPING_SHOWN_MS};
use classchat_common::{Timestamp, Username};

/// Those typing, in the order they started, each shown until its time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typists {
    shown: Vec<(Username, Timestamp)>,
    /// When your last `typing` here went out.
    said: Option<Timestamp>,
}

impl Typists {
    /// `user` is typing, heard at `now`: shown [`TYPING_SHOWN_MS`] from now.
    pub fn heard(&mut self, user: &Username, now: Timestamp) {
        let until = Timestamp::from_millis(now.as_millis() + ms(TYPING_SHOWN_MS));
        match self.shown.iter_mut().find(|(u, _)| u == user) {
            Some((_, at)) => *at = until,
            None => self.shown.push((user.clone(), until)),
        }
    }

    /// `user` sent something (or went offline): no longer typing.
    pub fn stopped(&mut self, user: &Username) {
        self.shown.retain(|(u, _)| u != user);
    }

    /// Forgets those whose time is up at `now`.
    pub fn expire(&mut self, now: Timestamp) {
        self.shown.retain(|(_, until)| *until > now);
    }

    /// Who is shown typing at `now`, in the order they started.
    pub fn at(&self, now: Timestamp) -> Vec<&Username> {
        self.shown
            .iter()
            .filter(|(_, until)| *until > now)
            .map(|(u, _)| u)
            .collect()
    }

    /// Whether saying "I am typing" at `now` is due: the first time, or
    /// [`TYPING_EVERY_MS`] after the last (the server drops any sooner).
    /// Returns `true` and notes the time when it is.
    pub fn say(&mut self, now: Timestamp) -> bool {
        let due = self
            .said
            .is_none_or(|at| now.as_millis() - at.as_millis() >= ms(TYPING_EVERY_MS));
        if due {
            self.said = Some(now);
        }
        due
    }
}

fn ms(millis: u64) -> i64 {
    i64::try_from(millis).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn a_typist_shows_until_five_seconds_after_the_last_line_or_until_they_stop() {
        let (alice, bob): (Username, Username) = ("alice".parse().unwrap(), "bob".parse().unwrap());
        let mut typing = Typists::default();
        typing.heard(&alice, t(0));
        typing.heard(&bob, t(1_000));
        typing.heard(&alice, t(3_000));
        assert_eq!(
            typing.at(t(4_999)),
            [&alice, &bob],
            "in the order they started"
        );
        assert_eq!(typing.at(t(6_000)), [&alice]);
        assert!(typing.at(t(8_000)).is_empty());
        typing.heard(&bob, t(9_000));
        typing.stopped(&bob);
        assert!(typing.at(t(9_000)).is_empty());
    }

    #[test]
    fn saying_you_type_is_due_every_two_seconds_at_most() {
        let mut typing = Typists::default();
        let due: Vec<bool> = [0, 500, 1_999, 2_000, 3_000, 4_100]
            .into_iter()
            .map(|ms| typing.say(t(ms)))
            .collect();
        assert_eq!(due, [true, false, false, true, false, true]);
    }
}
