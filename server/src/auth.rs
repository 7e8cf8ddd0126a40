//! Password hashing and resume tokens.
//!
//! Passwords are hashed with argon2id (the crate's default parameters: 19 MiB,
//! 2 passes). Hashing is deliberately slow, so it runs on Tokio's blocking
//! threads, never on the workers that move messages, and a semaphore bounds how
//! many run at once: a burst of logins queues instead of eating every core.
//!
//! A resume token is 32 random bytes given to the client after a login; the
//! server keeps only its SHA-256. Presenting it later logs in without a password
//! hash, so a whole class reconnecting after a restart costs next to nothing.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::store::TokenHash;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the password hasher is unavailable: {0}")]
    Hasher(String),
    #[error("the random number generator failed: {0}")]
    Random(String),
}

/// Runs argon2 off the async workers, a bounded number at a time.
#[derive(Debug, Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// A PHC string (`$argon2id$v=19$...`) for a new account.
    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        self.run(move || hash_password(&password)).await
    }

    /// Whether `password` matches the stored PHC string.
    pub async fn verify(&self, password: String, hash: Arc<str>) -> Result<bool, AuthError> {
        self.run(move || {
            let parsed = PasswordHash::new(&hash).map_err(|e| AuthError::Hasher(e.to_string()))?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AuthError::Hasher(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| AuthError::Hasher(e.to_string()))?
    }
}

/// The argon2id hash of `password`, in PHC form. Slow on purpose: call it off
/// the async threads (as [`Hasher`] does).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hasher(e.to_string()))
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

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let hasher = Hasher::new(2);
        let hash: Arc<str> = hasher.hash("correct horse".into()).await.unwrap().into();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify("correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!hasher.verify("wrong".into(), hash).await.unwrap());
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
