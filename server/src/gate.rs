//! How many connections may be open: in all, and from one address. An
//! IPv4-mapped IPv6 address (`::ffff:10.0.0.5`) counts as the IPv4 address it
//! carries, so a dual-stack listener cannot be used to double the allowance.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Server,
    Address,
}

#[derive(Debug, Clone)]
pub struct Gate {
    // Held for one map update per connection opened or closed.
    counts: Arc<Mutex<Counts>>,
    max_total: usize,
    max_per_address: usize,
}

/// An admitted connection; dropping it frees its place. Held for the
/// connection's whole life, so it keeps only what freeing the place needs.
#[derive(Debug)]
pub struct Ticket {
    counts: Arc<Mutex<Counts>>,
    address: IpAddr,
}

impl Gate {
    pub fn new(max_total: usize, max_per_address: usize) -> Self {
        Self {
            counts: Arc::default(),
            max_total,
            max_per_address: max_per_address.max(1),
        }
    }

    pub fn admit(&self, address: IpAddr) -> Result<Ticket, Full> {
        let address = address.to_canonical();
        let Ok(mut counts) = self.counts.lock() else {
            return Err(Full::Server);
        };
        if counts.total >= self.max_total {
            return Err(Full::Server);
        }
        let mine = counts.by_address.entry(address).or_default();
        if *mine >= self.max_per_address {
            return Err(Full::Address);
        }
        *mine += 1;
        counts.total += 1;
        Ok(Ticket {
            counts: self.counts.clone(),
            address,
        })
    }

    pub fn open(&self) -> usize {
        self.counts.lock().map_or(0, |c| c.total)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.total = counts.total.saturating_sub(1);
            if let Some(n) = counts.by_address.get_mut(&self.address) {
                *n -= 1;
                if *n == 0 {
                    counts.by_address.remove(&self.address);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_cannot_take_more_than_its_share_and_mapped_ipv4_counts_as_ipv4() {
        let gate = Gate::new(100, 2);
        let v4: IpAddr = "10.0.0.5".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.5".parse().unwrap();
        let a = gate.admit(v4).unwrap();
        let _b = gate.admit(mapped).unwrap();
        assert_eq!(gate.admit(v4).unwrap_err(), Full::Address);
        assert!(gate.admit("10.0.0.6".parse().unwrap()).is_ok());
        drop(a);
        assert!(gate.admit(mapped).is_ok());
    }

    #[test]
    fn the_total_is_capped_too() {
        let gate = Gate::new(1, 10);
        let _a = gate.admit("10.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(
            gate.admit("10.0.0.2".parse().unwrap()).unwrap_err(),
            Full::Server
        );
        assert_eq!(gate.open(), 1);
    }
}
