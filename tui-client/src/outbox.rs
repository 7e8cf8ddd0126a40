//! Messages the user sent that the server has not yet confirmed as stored.
//!
//! Every message keeps the id it was given when typed, so resending it after a
//! reconnect (or after the server said "too fast") can never store it twice. The
//! outbox sends in the order messages were typed: a message waiting to be
//! retried holds back the ones behind it. It also paces itself to the rate the
//! server announced, so a script pouring lines in is not refused. Replies,
//! edits, deletions and reactions are messages too ([`Target`]): they queue,
//! go out and are resent like any other.

use std::collections::VecDeque;
use std::time::Duration;

use classchat_common::{ClientMessage, Conv, MessageId};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// What a message does to another message of its conversation: the one of
/// `send`'s `reply_to`, `edit`, `delete`, `react` and `unreact` it sets (at
/// most one, which this type cannot get wrong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A reply quoting message `seq`.
    Reply(u64),
    /// New text (the body) for message `seq`, one of yours.
    Edit(u64),
    /// The end of message `seq` (the body is empty).
    Delete(u64),
    /// Your reaction (the body, an emoji) to message `seq`.
    React(u64),
    /// Your reaction (the body) taken back off message `seq`.
    Unreact(u64),
}

impl Target {
    /// The message it is about.
    pub fn seq(self) -> u64 {
        match self {
            Target::Reply(seq)
            | Target::Edit(seq)
            | Target::Delete(seq)
            | Target::React(seq)
            | Target::Unreact(seq) => seq,
        }
    }

    /// Whether it changes another message rather than being one to read (an
    /// edit, a deletion or a reaction): nobody follows who received or read it.
    pub fn changes(self) -> bool {
        !matches!(self, Target::Reply(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: MessageId,
    pub to: Conv,
    pub body: String,
    pub target: Option<Target>,
    in_flight: bool,
    not_before: Option<Instant>,
}

impl Pending {
    /// The `send` that puts it on the wire (the same every time it goes).
    pub fn message(&self) -> ClientMessage {
        let [mut reply_to, mut edit, mut delete, mut react, mut unreact] = [None; 5];
        match self.target {
            None => {}
            Some(Target::Reply(seq)) => reply_to = Some(seq),
            Some(Target::Edit(seq)) => edit = Some(seq),
            Some(Target::Delete(seq)) => delete = Some(seq),
            Some(Target::React(seq)) => react = Some(seq),
            Some(Target::Unreact(seq)) => unreact = Some(seq),
        }
        ClientMessage::Send {
            id: self.id,
            to: self.to.clone(),
            body: self.body.clone(),
            reply_to,
            edit,
            delete,
            react,
            unreact,
        }
    }
}

/// Sends allowed per second and in a burst, as the server announced them.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub per_sec: u32,
    pub burst: u32,
}

#[derive(Debug)]
pub struct Outbox {
    entries: VecDeque<Pending>,
    /// Messages sent and not yet answered, at most.
    window: usize,
    pace: Option<Pace>,
    tokens: f64,
    refilled: Instant,
}

impl Outbox {
    pub fn new(window: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            window: window.max(1),
            pace: None,
            tokens: 0.0,
            refilled: Instant::now(),
        }
    }

    /// Adopts the server's rate (from its `welcome`), starting with a full burst.
    pub fn set_pace(&mut self, pace: Pace, now: Instant) {
        // Stay a little under the server's limit so clock skew never trips it.
        let pace = Pace {
            per_sec: (pace.per_sec * 9 / 10).max(1),
            burst: (pace.burst * 9 / 10).max(1),
        };
        self.pace = Some(pace);
        self.tokens = f64::from(pace.burst);
        self.refilled = now;
    }

    pub fn push(&mut self, id: MessageId, to: Conv, body: String, target: Option<Target>) {
        self.entries.push_back(Pending {
            id,
            to,
            body,
            target,
            in_flight: false,
            not_before: None,
        });
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Pending> {
        self.entries.iter()
    }

    /// The next message to put on the wire now, if order, window and pace allow;
    /// it is marked as in flight.
    pub fn next_to_send(&mut self, now: Instant) -> Option<Pending> {
        let in_flight = self.entries.iter().filter(|p| p.in_flight).count();
        if in_flight >= self.window {
            return None;
        }
        let entry = self.entries.iter_mut().find(|p| !p.in_flight)?;
        if entry.not_before.is_some_and(|t| t > now) {
            return None;
        }
        if let Some(pace) = self.pace {
            let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
            self.tokens =
                (self.tokens + elapsed * f64::from(pace.per_sec)).min(f64::from(pace.burst));
            self.refilled = now;
            if self.tokens < 1.0 {
                return None;
            }
            self.tokens -= 1.0;
        }
        entry.in_flight = true;
        entry.not_before = None;
        Some(entry.clone())
    }

    /// When something held back by a retry delay or the pace may go.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let first = self.entries.iter().find(|p| !p.in_flight)?;
        let pace_at = self.pace.filter(|_| self.tokens < 1.0).map(|pace| {
            // Rounded up to the millisecond, so the token is surely there by then.
            let missing = 1.0 - self.tokens;
            let ms = (missing / f64::from(pace.per_sec) * 1000.0).ceil() as u64;
            self.refilled + Duration::from_millis(ms.max(1))
        });
        match (first.not_before, pace_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// The server stored it (or refused it for good): it leaves the outbox.
    pub fn remove(&mut self, id: MessageId) -> Option<Pending> {
        let at = self.entries.iter().position(|p| p.id == id)?;
        self.entries.remove(at)
    }

    /// The server asked for it again later (rate limit, storage trouble).
    pub fn retry_at(&mut self, id: MessageId, at: Instant) {
        if let Some(p) = self.entries.iter_mut().find(|p| p.id == id) {
            p.in_flight = false;
            p.not_before = Some(at);
        }
    }

    /// The connection was lost: nothing is in flight any more, all goes again.
    pub fn connection_lost(&mut self) {
        for p in &mut self.entries {
            p.in_flight = false;
        }
    }

    pub fn has_in_flight(&self) -> bool {
        self.entries.iter().any(|p| p.in_flight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(s: &str) -> Conv {
        s.parse().unwrap()
    }

    fn outbox_with(n: usize) -> (Outbox, Vec<MessageId>) {
        let mut o = Outbox::new(100);
        let ids: Vec<MessageId> = (0..n).map(|_| MessageId::new()).collect();
        for (i, id) in ids.iter().enumerate() {
            o.push(*id, conv("bob"), format!("m{i}"), None);
        }
        (o, ids)
    }

    #[test]
    fn messages_go_out_in_order_and_leave_when_stored() {
        let (mut o, ids) = outbox_with(3);
        let now = Instant::now();
        let sent: Vec<_> = std::iter::from_fn(|| o.next_to_send(now))
            .map(|p| p.id)
            .collect();
        assert_eq!(sent, ids);
        assert!(o.remove(ids[1]).is_some());
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn after_a_lost_connection_everything_unconfirmed_is_resent_with_the_same_ids() {
        let (mut o, ids) = outbox_with(3);
        let now = Instant::now();
        while o.next_to_send(now).is_some() {}
        o.remove(ids[0]);
        o.connection_lost();
        let resent: Vec<_> = std::iter::from_fn(|| o.next_to_send(now))
            .map(|p| p.id)
            .collect();
        assert_eq!(resent, &ids[1..]);
    }

    #[test]
    fn a_message_waiting_for_its_retry_holds_back_the_ones_behind_it() {
        let (mut o, ids) = outbox_with(2);
        let now = Instant::now();
        while o.next_to_send(now).is_some() {}
        let later = now + Duration::from_millis(300);
        o.retry_at(ids[0], later);
        o.retry_at(ids[1], now);
        assert_eq!(o.next_to_send(now), None);
        assert_eq!(o.next_wakeup(), Some(later));
        assert_eq!(o.next_to_send(later).map(|p| p.id), Some(ids[0]));
        assert_eq!(o.next_to_send(later).map(|p| p.id), Some(ids[1]));
    }

    #[test]
    fn the_window_limits_how_many_are_unanswered_at_once() {
        let mut o = Outbox::new(2);
        for _ in 0..5 {
            o.push(MessageId::new(), conv("bob"), "x".into(), None);
        }
        let now = Instant::now();
        assert_eq!(std::iter::from_fn(|| o.next_to_send(now)).count(), 2);
    }

    #[test]
    fn replies_edits_deletions_and_reactions_go_out_as_send_with_their_one_field() {
        let mut o = Outbox::new(10);
        let targets = [
            Target::Reply(3),
            Target::Edit(4),
            Target::Delete(5),
            Target::React(6),
            Target::Unreact(7),
        ];
        for target in targets {
            o.push(MessageId::new(), conv("#g"), "x".into(), Some(target));
        }
        o.push(MessageId::new(), conv("#g"), "plain".into(), None);
        let fields: Vec<_> = o
            .iter()
            .map(|p| match p.message() {
                ClientMessage::Send {
                    reply_to,
                    edit,
                    delete,
                    react,
                    unreact,
                    ..
                } => [reply_to, edit, delete, react, unreact],
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            fields,
            [
                [Some(3), None, None, None, None],
                [None, Some(4), None, None, None],
                [None, None, Some(5), None, None],
                [None, None, None, Some(6), None],
                [None, None, None, None, Some(7)],
                [None; 5],
            ]
        );
    }

    #[test]
    fn sending_is_paced_below_the_servers_rate() {
        let (mut o, _) = outbox_with(50);
        let now = Instant::now();
        o.set_pace(
            Pace {
                per_sec: 10,
                burst: 10,
            },
            now,
        );
        let burst = std::iter::from_fn(|| o.next_to_send(now)).count();
        assert_eq!(burst, 9);
        let wake = o.next_wakeup().unwrap();
        assert!(wake > now && wake <= now + Duration::from_millis(200));
        assert!(o.next_to_send(wake).is_some());
    }
}
