//! How many accounts one address may create: a burst, then a steady rate per hour.
//!
//! Every sign-up costs the server an argon2 hash and an account that stays, and
//! needs nothing but a new name, so the wrong-password throttle never sees it.
//! A class behind one NAT address signs up together at the start of term, so
//! the burst is generous and the rate slow. An address's record is forgotten
//! once its allowance has grown back to full: it then says nothing a fresh
//! record would not.
//!
//! The nodes of a cluster share it: each sign-up is told to the others
//! ([`SignUps::share_with`]), which take it from their allowance too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::hub::remote::{Bus, Event};
use crate::ratelimit::{Bucket, Rate};

/// Records kept before the ones back at full allowance are swept.
const SWEEP_AT: usize = 10_000;

/// Each address's remaining allowance.
#[derive(Debug)]
pub struct SignUps {
    rate: Rate,
    // Held for one lookup and update, never across anything that waits.
    left: Mutex<HashMap<IpAddr, Bucket>>,
    /// The other nodes of a cluster, told of every sign-up.
    others: OnceLock<Arc<dyn Bus>>,
}

impl SignUps {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            left: Mutex::default(),
            others: OnceLock::new(),
        }
    }

    /// Tells `bus` of every sign-up from now on.
    pub fn share_with(&self, bus: Arc<dyn Bus>) {
        let _ = self.others.set(bus);
    }

    /// Takes one sign-up from `address`'s allowance, or says how long until
    /// there is one.
    pub fn take(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        self.take_here(address, now)?;
        if let Some(bus) = self.others.get() {
            bus.publish(vec![Event::SignedUp { address }]);
        }
        Ok(())
    }

    /// A sign-up from `address` that another node took.
    pub fn taken_elsewhere(&self, address: IpAddr, now: Instant) {
        // Nothing left here either: it waits as long.
        let _ = self.take_here(address, now);
    }

    fn take_here(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut left = self.left.lock().unwrap_or_else(PoisonError::into_inner);
        if left.len() >= SWEEP_AT {
            // An allowance untouched this long is full again: its record says
            // nothing a fresh one would not.
            let refill = self.rate.refill();
            left.retain(|_, b| now.saturating_duration_since(b.last_taken()) < refill);
        }
        left.entry(address.to_canonical())
            .or_insert_with(|| Bucket::full(self.rate, now))
            .take(self.rate, 1, now)
            .map_err(Duration::from_millis)
    }

    #[cfg(test)]
    fn records(&self) -> usize {
        self.left.lock().map_or(0, |l| l.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOURLY: Rate = Rate::per_hour(60, 3);

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_burst_passes_then_one_sign_up_a_minute_at_sixty_an_hour() {
        let s = SignUps::new(HOURLY);
        let t0 = Instant::now();
        for _ in 0..3 {
            s.take(ip("10.0.0.1"), t0).unwrap();
        }
        assert_eq!(s.take(ip("10.0.0.1"), t0), Err(Duration::from_secs(60)));
        // Another address has its own allowance.
        assert!(s.take(ip("10.0.0.2"), t0).is_ok());
        let later = t0 + Duration::from_secs(60);
        assert!(s.take(ip("10.0.0.1"), later).is_ok());
        assert!(s.take(ip("10.0.0.1"), later).is_err());
    }

    #[test]
    fn an_ipv4_mapped_address_shares_the_allowance_of_its_ipv4_form() {
        let s = SignUps::new(HOURLY);
        let t0 = Instant::now();
        for _ in 0..3 {
            s.take(ip("::ffff:10.0.0.1"), t0).unwrap();
        }
        assert!(s.take(ip("10.0.0.1"), t0).is_err());
    }

    #[test]
    fn addresses_back_at_full_allowance_are_forgotten_when_the_table_is_large() {
        let s = SignUps::new(HOURLY);
        let t0 = Instant::now();
        for i in 0..SWEEP_AT as u32 {
            s.take(IpAddr::from((0x0a00_0000 + i).to_be_bytes()), t0)
                .unwrap();
        }
        assert_eq!(s.records(), SWEEP_AT);
        // Three minutes on, every allowance has grown back: all are swept.
        s.take(ip("192.0.2.1"), t0 + Duration::from_secs(180))
            .unwrap();
        assert_eq!(s.records(), 1);
    }
}
