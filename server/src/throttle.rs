//! Slowing down password guessing: after a few wrong passwords for one account,
//! or from one address, each further attempt must wait, longer every time (up to
//! five minutes). A right password clears the account's record. Records of the
//! quiet are forgotten, so the table stays small.
//!
//! The nodes of a cluster share what they see: each wrong password and each
//! right one is told to the others ([`Throttle::share_with`]), which record it
//! as their own, so that a guesser spreading attempts over the nodes waits as
//! on one server.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::hub::remote::{Bus, Event};

/// Wrong passwords allowed before waits begin.
const FREE_ATTEMPTS: u32 = 5;
/// The longest wait.
const MAX_WAIT: Duration = Duration::from_secs(300);
/// A record untouched this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(900);
/// Records kept before old ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    until: Instant,
    last: Instant,
}

#[derive(Debug, Default)]
pub struct Throttle {
    // Held for a lookup or an update, never across anything that waits.
    records: Mutex<HashMap<Key, Record>>,
    /// The other nodes of a cluster, told of every attempt.
    others: OnceLock<Arc<dyn Bus>>,
}

impl Throttle {
    /// How long `account` from `address` must still wait before trying, if at all.
    pub fn wait(&self, account: &str, address: IpAddr, now: Instant) -> Option<Duration> {
        let records = self.records.lock().ok()?;
        [
            Key::Account(account.to_owned()),
            Key::Address(address.to_canonical()),
        ]
        .iter()
        .filter_map(|k| records.get(k))
        .map(|r| r.until.saturating_duration_since(now))
        .filter(|d| !d.is_zero())
        .max()
    }

    /// Tells `bus` of every attempt from now on.
    pub fn share_with(&self, bus: Arc<dyn Bus>) {
        let _ = self.others.set(bus);
    }

    pub fn failed(&self, account: &str, address: IpAddr, now: Instant) {
        self.failed_elsewhere(account, address, now);
        if let Some(bus) = self.others.get() {
            bus.publish(vec![Event::LoginFailed {
                account: account.to_owned(),
                address,
            }]);
        }
    }

    pub fn succeeded(&self, account: &str) {
        self.succeeded_elsewhere(account);
        if let Some(bus) = self.others.get() {
            bus.publish(vec![Event::LoginSucceeded {
                account: account.to_owned(),
            }]);
        }
    }

    /// A wrong password another node saw.
    pub fn failed_elsewhere(&self, account: &str, address: IpAddr, now: Instant) {
        let Ok(mut records) = self.records.lock() else {
            return;
        };
        if records.len() >= SWEEP_AT {
            records.retain(|_, r| now.saturating_duration_since(r.last) < FORGET_AFTER);
        }
        for key in [
            Key::Account(account.to_owned()),
            Key::Address(address.to_canonical()),
        ] {
            let r = records.entry(key).or_insert(Record {
                failures: 0,
                until: now,
                last: now,
            });
            if now.saturating_duration_since(r.last) >= FORGET_AFTER {
                r.failures = 0;
            }
            r.failures += 1;
            r.last = now;
            if r.failures > FREE_ATTEMPTS {
                let doubling = (r.failures - FREE_ATTEMPTS - 1).min(16);
                r.until = now + Duration::from_secs(1 << doubling).min(MAX_WAIT);
            }
        }
    }

    /// A right password another node saw.
    pub fn succeeded_elsewhere(&self, account: &str) {
        if let Ok(mut records) = self.records.lock() {
            records.remove(&Key::Account(account.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_mistakes_are_free_then_waits_double() {
        let t = Throttle::default();
        let ip: IpAddr = "10.1.1.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..FREE_ATTEMPTS {
            assert_eq!(t.wait("alice", ip, t0), None);
            t.failed("alice", ip, t0);
        }
        assert_eq!(t.wait("alice", ip, t0), None);
        t.failed("alice", ip, t0);
        assert_eq!(t.wait("alice", ip, t0), Some(Duration::from_secs(1)));
        t.failed("alice", ip, t0);
        assert_eq!(t.wait("alice", ip, t0), Some(Duration::from_secs(2)));
        // The address is slowed for other accounts too.
        assert!(t.wait("bob", ip, t0).is_some());
        // And the account from other addresses.
        assert!(t.wait("alice", "10.9.9.9".parse().unwrap(), t0).is_some());
    }

    #[test]
    fn the_right_password_clears_the_account() {
        let t = Throttle::default();
        let ip: IpAddr = "10.1.1.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..10 {
            t.failed("alice", ip, t0);
        }
        t.succeeded("alice");
        assert!(t.wait("alice", "10.2.2.2".parse().unwrap(), t0).is_none());
    }
}
