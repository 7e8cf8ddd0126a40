//! Password hashing, sign-up allowances and resume tokens.
//!
//! Passwords are hashed with argon2id (the crate's default parameters: 19 MiB,
//! 2 passes). Hashing is deliberately slow and memory-hungry, so it runs on a
//! small fixed pool of threads ([`pool`]), never on the workers that move
//! messages, each thread reusing one buffer ([`argon`]): what hashing holds is
//! threads × 19 MiB, however many log in. Jobs are taken fairly across client
//! addresses, so one address flooding sign-ups delays another user's login by
//! about one hash, not by the whole flood; and each address may create only so
//! many accounts ([`signups`]).
//!
//! A resume token is 32 random bytes given to the client after a login; the
//! server keeps only its SHA-256. Presenting it later logs in without a password
//! hash, so a whole class reconnecting after a restart costs next to nothing.

mod argon;
mod pool;
pub mod signups;

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::store::TokenHash;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the password hasher is unavailable: {0}")]
    Hasher(String),
    #[error("the random number generator failed: {0}")]
    Random(String),
    #[error(
        "a stored password hash cannot be read ({0}); give the account a new password with `classchat-server reset-password`"
    )]
    StoredHash(String),
    #[error(
        "a stored password hash needs {kib} KiB to check, more than the {limit_kib} KiB a hashing thread holds; \
         give the account a new password with `classchat-server reset-password`"
    )]
    TooMuchMemory { kib: u32, limit_kib: usize },
}

/// The hashing threads: a cheap handle.
#[derive(Debug, Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: pool::Pool,
}

impl Hasher {
    /// Starts `threads` hashing threads (at least one). Dropping the last
    /// handle ends them, and waits for the hash each may have in hand.
    pub fn new(threads: usize) -> Result<Self, AuthError> {
        Ok(Self {
            inner: Arc::new(Inner {
                pool: pool::Pool::start(threads)?,
            }),
        })
    }

    /// A PHC string (`$argon2id$v=19$...`) for a new password, hashed in
    /// `address`'s turn.
    pub async fn hash(&self, address: IpAddr, password: String) -> Result<String, AuthError> {
        self.run(address, move |memory| {
            argon::hash(password.as_bytes(), memory)
        })
        .await
    }

    /// Whether `password` matches the stored PHC string, checked in `address`'s turn.
    pub async fn verify(
        &self,
        address: IpAddr,
        password: String,
        hash: Arc<str>,
    ) -> Result<bool, AuthError> {
        self.run(address, move |memory| {
            argon::verify(password.as_bytes(), &hash, memory)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        address: IpAddr,
        f: impl FnOnce(&mut argon::Memory) -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        let (reply, answer) = oneshot::channel();
        let work: pool::Work = Box::new(move |memory| {
            // Whoever asked gave up (the login timed out, the client left):
            // the hash would be thrown away, so it is not computed.
            if !reply.is_closed() {
                let _ = reply.send(f(memory));
            }
        });
        self.inner.pool.run(address, work).await?;
        answer
            .await
            .map_err(|_| AuthError::Hasher("a hashing thread failed".into()))?
    }
}

/// The argon2id hash of `password`, in PHC form, for a one-off outside the
/// server (`reset-password`, benchmark seeding). Slow and allocates its own
/// 19 MiB: never call it on the async threads or per login.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    argon::hash(password.as_bytes(), &mut argon::Memory::default())
}

/// A random password to read out or copy: four groups of four letters and
/// digits, without the ones that look alike (`0`/`o`, `1`/`l`/`i`), ≈ 79 bits.
pub fn new_password() -> Result<String, AuthError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    // Bytes at or above this would favour the first letters.
    let fair = u8::try_from(256 - 256 % ALPHABET.len()).unwrap_or(u8::MAX);
    let mut out = String::with_capacity(19);
    let mut taken = 0;
    while taken < 16 {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| AuthError::Random(e.to_string()))?;
        for b in raw.into_iter().filter(|&b| b < fair) {
            if taken == 16 {
                break;
            }
            if taken > 0 && taken % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            taken += 1;
        }
    }
    Ok(out)
}

/// A fresh token for the client, and the hash the server keeps.
pub fn new_token() -> Result<(String, TokenHash), AuthError> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| AuthError::Random(e.to_string()))?;
    let token = URL_SAFE_NO_PAD.encode(raw);
    let hash = token_hash(&token);
    Ok((token, hash))
}

pub fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here() -> IpAddr {
        IpAddr::from([127, 0, 0, 1])
    }

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let hasher = Hasher::new(2).unwrap();
        let hash: Arc<str> = hasher
            .hash(here(), "correct horse".into())
            .await
            .unwrap()
            .into();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify(here(), "correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!hasher.verify(here(), "wrong".into(), hash).await.unwrap());
    }

    #[tokio::test]
    async fn the_one_off_hash_and_the_pool_agree() {
        let hasher = Hasher::new(1).unwrap();
        let hash: Arc<str> = hash_password("correct horse").unwrap().into();
        assert!(
            hasher
                .verify(here(), "correct horse".into(), hash)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_damaged_stored_hash_is_an_error_the_caller_sees() {
        let hasher = Hasher::new(1).unwrap();
        let result = hasher
            .verify(here(), "pw".into(), "not a hash".into())
            .await;
        assert!(
            matches!(result, Err(AuthError::StoredHash(_))),
            "{result:?}"
        );
    }

    #[test]
    fn new_passwords_are_four_groups_of_four_unambiguous_characters() {
        let a = new_password().unwrap();
        let b = new_password().unwrap();
        assert_ne!(a, b);
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(groups.len(), 4, "{a}");
        assert!(groups.iter().all(|g| g.len() == 4), "{a}");
        assert!(
            a.chars()
                .all(|c| c == '-' || "abcdefghjkmnpqrstuvwxyz23456789".contains(c)),
            "{a}"
        );
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, ha) = new_token().unwrap();
        let (b, hb) = new_token().unwrap();
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert_eq!(token_hash(&a), ha);
        assert_eq!(a.len(), 43);
    }
}
