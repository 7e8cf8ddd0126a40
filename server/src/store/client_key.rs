//! Maps keyed by a message's client id, as the stores find resends by it.
//!
//! A client picks its message ids, so these maps keep SipHash (keyed for the
//! process), which no one can make collide without knowing the key. What
//! they save is hashing the same id more than once: a [`ClientKey`] carries
//! its SipHash, worked out once from the sender and the id in one write, so
//! looking an id up and then inserting it, or a map growing, never hashes it
//! again.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

use classchat_common::MessageId;

use super::UserId;

/// A map from client ids to `V`.
pub type ClientMap<V> = HashMap<ClientKey, V, BuildHasherDefault<Prehashed>>;

/// A set of client ids.
pub type ClientSet = HashSet<ClientKey, BuildHasherDefault<Prehashed>>;

/// Makes [`ClientKey`]s with one SipHash key, so keys made by the same
/// `ClientKeys` can meet in a map.
#[derive(Debug, Default, Clone)]
pub struct ClientKeys(RandomState);

impl ClientKeys {
    pub fn key(&self, sender: UserId, id: MessageId) -> ClientKey {
        // One write of the sender and the id together: SipHash pays for
        // each write apart from the bytes it hashes.
        let mut bytes = [0; 24];
        bytes[..8].copy_from_slice(&sender.0.to_le_bytes());
        bytes[8..].copy_from_slice(id.as_bytes());
        let mut hasher = self.0.build_hasher();
        hasher.write(&bytes);
        ClientKey {
            hash: hasher.finish(),
            sender,
            id,
        }
    }
}

/// A message's sender and client id, with its SipHash worked out once.
#[derive(Debug, Clone, Copy)]
pub struct ClientKey {
    hash: u64,
    sender: UserId,
    id: MessageId,
}

impl PartialEq for ClientKey {
    fn eq(&self, other: &Self) -> bool {
        (self.sender, self.id) == (other.sender, other.id)
    }
}

impl Eq for ClientKey {}

impl Hash for ClientKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Hashes a [`ClientKey`] to the hash it carries.
#[derive(Debug, Default)]
pub struct Prehashed(u64);

impl Hasher for Prehashed {
    fn write(&mut self, bytes: &[u8]) {
        // Only `ClientKey` is hashed here, and it writes one `u64`.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_by_its_sender_and_id_only() {
        let keys = ClientKeys::default();
        let id = MessageId::new();
        let mut map = ClientMap::default();
        map.insert(keys.key(UserId(1), id), 1);
        map.insert(keys.key(UserId(2), id), 2);
        assert_eq!(map.get(&keys.key(UserId(1), id)), Some(&1));
        assert_eq!(map.get(&keys.key(UserId(2), id)), Some(&2));
        assert_eq!(map.get(&keys.key(UserId(1), MessageId::new())), None);
        let set: ClientSet = [keys.key(UserId(1), id)].into_iter().collect();
        assert!(set.contains(&keys.key(UserId(1), id)));
        assert!(!set.contains(&keys.key(UserId(2), id)));
    }

    #[test]
    fn keys_from_two_makers_hash_apart() {
        // Each maker has its own SipHash key: ids hash differently in each
        // process, so no one can work out ids that collide.
        let id = MessageId::new();
        let (a, b) = (ClientKeys::default(), ClientKeys::default());
        let hashes = |k: ClientKey| k.hash;
        assert_ne!(hashes(a.key(UserId(1), id)), hashes(b.key(UserId(1), id)));
    }
}
