//! Property tests of the tracker: whatever order receipts, duplicates and
//! refusals come in, a status never moves back, every change is reported, and
//! the statuses end where the members' final cursors put them.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

const CONVS: [&str; 4] = ["bob", "carol", "#cs101", "#lab"];
/// `Alice` is you, spelled differently: her receipts come from your other devices.
const USERS: [&str; 4] = ["bob", "carol", "dave", "Alice"];

fn me() -> Username {
    Username::new("alice").expect("a valid name")
}

fn conv_at(i: usize) -> Conv {
    CONVS[i].parse().expect("a valid conversation")
}

fn user_at(i: usize) -> Username {
    USERS[i].parse().expect("a valid name")
}

/// One of your messages: where the server stores it and for how many.
#[derive(Debug, Clone)]
struct Sent {
    id: MessageId,
    conv: usize,
    seq: u64,
    of: u32,
}

#[derive(Debug, Clone)]
enum Event {
    Stored(usize),
    Failed(usize),
    Receipt {
        conv: usize,
        user: usize,
        joined: u64,
        delivered: u64,
        read: u64,
    },
    Counts(usize, Counts),
    Rename(usize, usize),
}

/// Up to eight messages with distinct sequence numbers in their conversation.
fn sent() -> impl Strategy<Value = Vec<Sent>> {
    prop::collection::vec((0..CONVS.len(), 1..4u32), 1..8).prop_map(|picks| {
        let mut next = [0u64; CONVS.len()];
        picks
            .into_iter()
            .enumerate()
            .map(|(i, (conv, of))| {
                next[conv] += 1 + i as u64 % 3;
                Sent {
                    id: MessageId::from_bytes([i as u8 + 1; 16]),
                    conv,
                    seq: next[conv],
                    of,
                }
            })
            .collect()
    })
}

fn event(messages: usize, renames: bool) -> impl Strategy<Value = Event> {
    let msg = 0..messages;
    let cursor = 0..24u64;
    let counts = (0..5u32, 0..5u32, 0..5u32).prop_map(|(delivered, read, of)| Counts {
        delivered,
        read,
        of,
    });
    let rename_weight = u32::from(renames);
    prop_oneof![
        3 => msg.clone().prop_map(Event::Stored),
        1 => msg.clone().prop_map(Event::Failed),
        8 => (0..CONVS.len(), 0..USERS.len(), 0..6u64, cursor.clone(), cursor).prop_map(
            |(conv, user, joined, delivered, read)| Event::Receipt {
                conv,
                user,
                joined,
                delivered,
                read,
            }
        ),
        2 => (msg, counts).prop_map(|(m, c)| Event::Counts(m, c)),
        rename_weight => (0..CONVS.len(), 0..CONVS.len()).prop_map(|(a, b)| Event::Rename(a, b)),
    ]
}

fn scenario(renames: bool) -> impl Strategy<Value = (Vec<Sent>, Vec<Event>)> {
    sent().prop_flat_map(move |sent| {
        let events = prop::collection::vec(event(sent.len(), renames), 0..40);
        (Just(sent), events)
    })
}

/// Feeds `event` to the tracker, returning the updates it reported.
fn apply(t: &mut Tracker, sent: &[Sent], names: &[Conv], event: &Event) -> Vec<Update> {
    match event {
        Event::Stored(m) => {
            let s = &sent[*m];
            t.stored(s.id, &names[s.conv], s.seq, s.of)
                .into_iter()
                .collect()
        }
        Event::Failed(m) => {
            let s = &sent[*m];
            t.failed(s.id, &names[s.conv]).into_iter().collect()
        }
        Event::Receipt {
            conv,
            user,
            joined,
            delivered,
            read,
        } => t.receipt(&names[*conv], &user_at(*user), *joined, *delivered, *read),
        Event::Counts(m, counts) => {
            let s = &sent[*m];
            t.counts(s.id, &names[s.conv], s.seq, *counts)
                .into_iter()
                .collect()
        }
        Event::Rename(_, _) => Vec::new(),
    }
}

/// `now` is `before` or further along, never anything less.
fn moved_forward(before: Option<Status>, now: Option<Status>) -> bool {
    match (before, now) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(b), Some(n)) if b.stage == Stage::Failed => n == b,
        (Some(b), Some(n)) => {
            n.stage >= b.stage
                && (n.stage != Stage::Failed || b.stage == Stage::Sending)
                && n.delivered >= b.delivered
                && n.read >= b.read
                && n.of >= b.of
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn a_status_never_moves_backwards_and_every_change_is_reported(
        (sent, events) in scenario(true),
    ) {
        let mut t = Tracker::new(me());
        let mut names: Vec<Conv> = (0..CONVS.len()).map(conv_at).collect();
        for event in &events {
            let before: Vec<Option<Status>> = sent.iter().map(|s| t.status(s.id)).collect();
            let updates = match event {
                Event::Rename(a, b) if names[*a].is_group() && names[*b].is_group() => {
                    // A group takes the name of one that no longer exists.
                    let fresh: Conv = format!("#{}{}", CONVS[*b].trim_start_matches('#'), a)
                        .parse()
                        .expect("a valid group");
                    t.rename(&names[*a], &fresh);
                    names[*a] = fresh;
                    Vec::new()
                }
                _ => apply(&mut t, &sent, &names, event),
            };
            for (s, before) in sent.iter().zip(before) {
                let now = t.status(s.id);
                prop_assert!(moved_forward(before, now), "{:?} → {:?} after {:?}", before, now, event);
                let reported: Vec<&Update> = updates.iter().filter(|u| u.id == s.id).collect();
                if now == before {
                    prop_assert!(reported.is_empty(), "{:?} reported without a change", s.id);
                } else {
                    prop_assert_eq!(reported.len(), 1, "{:?} changed once, reported once", s.id);
                    let u = reported[0];
                    prop_assert_eq!(Some(u.status), now);
                    prop_assert_eq!(&u.conv, &names[s.conv]);
                }
            }
        }
    }

    #[test]
    fn statuses_end_where_the_final_cursors_put_them_whatever_the_order(
        (sent, events) in scenario(false),
        joined in prop::collection::vec(0..6u64, CONVS.len() * USERS.len()),
    ) {
        let mut t = Tracker::new(me());
        let names: Vec<Conv> = (0..CONVS.len()).map(conv_at).collect();
        // Each member joined once; receipts only move their cursors.
        let mut cursors: HashMap<(usize, usize), (u64, u64)> = HashMap::new();
        for event in &events {
            let event = match event {
                Event::Receipt { conv, user, delivered, read, .. } => {
                    let joined = joined[conv * USERS.len() + user];
                    let c = cursors.entry((*conv, *user)).or_default();
                    *c = (c.0.max(*delivered).max(*read), c.1.max(*read));
                    Event::Receipt { conv: *conv, user: *user, joined, delivered: *delivered, read: *read }
                }
                // The server's counts from history, and renames, are checked above.
                Event::Counts(..) | Event::Rename(..) => continue,
                other => other.clone(),
            };
            apply(&mut t, &sent, &names, &event);
        }
        for s in &sent {
            let Some(status) = t.status(s.id) else { continue };
            if status.stage == Stage::Failed {
                continue;
            }
            let mut counts = Counts { delivered: 0, read: 0, of: s.of };
            for ((conv, user), (delivered, read)) in &cursors {
                if *conv != s.conv || user_at(*user) == me() || joined[conv * USERS.len() + user] >= s.seq {
                    continue;
                }
                counts.delivered += u32::from(*delivered >= s.seq);
                counts.read += u32::from(*read >= s.seq);
            }
            counts.delivered = counts.delivered.min(s.of);
            counts.read = counts.read.min(s.of);
            prop_assert_eq!(status, Status::from_counts(counts), "{:?}", s);
        }
    }
}
