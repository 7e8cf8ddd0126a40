//! Hash maps keyed by ids the server hands out itself (users, conversations, sessions).
//!
//! Routing a message looks up the sender, the conversation and every member's
//! sessions, so these lookups are the hub's innermost loop. The standard
//! SipHash guards against keys an attacker picks to collide; these keys are
//! row ids and counters the server assigns, so a multiply-and-rotate hash (as
//! rustc's FxHash) is safe here and several times cheaper. Maps keyed by
//! anything a client chooses (names, message ids, tokens) keep SipHash;
//! a message id is hashed once however often it is looked up
//! ([`crate::store::client_key`]).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` for server-assigned integer ids.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// FxHash's mixing step: rotate, xor the next word in, multiply.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

const K: u64 = 0xf135_7aea_2e62_a9c5;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(26) ^ word).wrapping_mul(K);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // hashbrown takes the bucket from the low bits and a tag from the top
        // seven: an odd multiplier keeps consecutive ids apart in the low bits
        // and mixes them well into the top ones.
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn sequential_ids_spread_over_buckets_and_tags() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let mut low = std::collections::HashSet::new();
        let mut top = std::collections::HashSet::new();
        for id in 1..=1024i64 {
            let h = build.hash_one(id);
            low.insert(h & 1023);
            top.insert(h >> 57);
        }
        assert!(low.len() > 600, "only {} distinct low bits", low.len());
        assert_eq!(top.len(), 128);
    }

    #[test]
    fn a_map_finds_what_it_holds() {
        let mut map: IdMap<(i64, i64), u32> = IdMap::default();
        for a in 0..100 {
            map.insert((a, a + 1), a as u32);
        }
        assert_eq!(map.get(&(42, 43)), Some(&42));
        assert_eq!(map.get(&(43, 42)), None);
    }
}
