//! argon2id into memory the caller keeps: new PHC strings, and checks of stored ones.
//!
//! The argon2 crate's own `hash_password` allocates its 19 MiB of blocks for
//! every call and frees them after; glibc then keeps them in per-thread arenas,
//! which is how 60 logins grew a server to 864 MB. Here the blocks are a
//! [`Memory`] that a hashing thread owns and reuses, so what hashing holds is
//! fixed: one buffer per thread.
//!
//! The strings are the standard PHC form the crate writes
//! (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), so databases from before keep
//! working and the crate can check what this writes.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::AuthError;

/// Bytes of hash written for a new password (the crate's default).
const OUTPUT_LEN: usize = Params::DEFAULT_OUTPUT_LEN;

/// Bytes of salt for a new password (the PHC recommendation).
const SALT_LEN: usize = Salt::RECOMMENDED_LENGTH;

/// The blocks argon2 works in, allocated on first use at the size new hashes
/// need, then reused. An idle server never touches them.
#[derive(Default)]
pub struct Memory {
    blocks: Vec<Block>,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Memory({} KiB)", self.blocks.len())
    }
}

impl Memory {
    /// The blocks for `params`. A stored hash that needs more than new hashes
    /// do is refused rather than given a bigger buffer: this server writes only
    /// the default parameters, so such a hash came from elsewhere, and growing
    /// would make the memory hashing holds depend on the database instead of
    /// on the thread count. `reset-password` gives the account a hash that fits.
    fn blocks(&mut self, params: &Params) -> Result<&mut [Block], AuthError> {
        let need = params.block_count();
        let have = Params::DEFAULT.block_count();
        if need > have {
            return Err(AuthError::TooMuchMemory {
                kib: params.m_cost(),
                limit_kib: have,
            });
        }
        if self.blocks.is_empty() {
            self.blocks = vec![Block::new(); have];
        }
        Ok(&mut self.blocks[..need])
    }
}

/// The argon2id hash of `password` with a fresh salt, in PHC form.
pub fn hash(password: &[u8], memory: &mut Memory) -> Result<String, AuthError> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| AuthError::Random(e.to_string()))?;
    let params = Params::DEFAULT;
    let mut out = [0u8; OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, &mut out, memory.blocks(&params)?)
        .map_err(|e| AuthError::Hasher(e.to_string()))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(hasher_error)?,
        salt: Some(Salt::new(&salt).map_err(hasher_error)?),
        hash: Some(Output::new(&out).map_err(hasher_error)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` is the one the PHC string `stored` was made from.
pub fn verify(password: &[u8], stored: &str, memory: &mut Memory) -> Result<bool, AuthError> {
    let phc = PasswordHash::new(stored).map_err(stored_error)?;
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return Err(AuthError::StoredHash("no salt or no hash".into()));
    };
    let algorithm = Algorithm::try_from(phc.algorithm.as_str()).map_err(stored_error)?;
    // As the crate does: a string without a version is the current one.
    let version = phc
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(stored_error)?
        .unwrap_or_default();
    // Takes the output length from the stored hash too.
    let params = Params::try_from(&phc).map_err(stored_error)?;
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password, salt, &mut *out, memory.blocks(&params)?)
        .map_err(|e| AuthError::Hasher(e.to_string()))?;
    // `Output`'s equality is constant-time: how much matched does not leak.
    Ok(Output::new(out).map_err(hasher_error)? == *expected)
}

fn hasher_error(e: impl std::fmt::Display) -> AuthError {
    AuthError::Hasher(e.to_string())
}

fn stored_error(e: impl std::fmt::Display) -> AuthError {
    AuthError::StoredHash(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn a_new_hash_is_a_standard_phc_string_the_argon2_crate_accepts() {
        let mut memory = Memory::default();
        let phc = hash(b"correct horse", &mut memory).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
    }

    #[test]
    fn a_hash_the_argon2_crate_wrote_earlier_still_verifies() {
        let old = Argon2::default()
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        let mut memory = Memory::default();
        assert!(verify(b"correct horse", &old, &mut memory).unwrap());
        assert!(!verify(b"correct hors", &old, &mut memory).unwrap());
    }

    #[test]
    fn one_buffer_serves_hashes_with_other_parameters_that_fit_in_it() {
        let small = Params::new(1024, 1, 2, Some(16)).unwrap();
        let argon = Argon2::new(Algorithm::Argon2i, Version::V0x10, small);
        let old = argon.hash_password(b"pw").unwrap().to_string();
        let mut memory = Memory::default();
        assert!(verify(b"pw", &old, &mut memory).unwrap());
        assert!(!verify(b"pv", &old, &mut memory).unwrap());
        let new = hash(b"pw", &mut memory).unwrap();
        assert!(verify(b"pw", &new, &mut memory).unwrap());
    }

    #[test]
    fn a_stored_hash_needing_more_memory_than_a_thread_holds_is_refused() {
        let big = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                   c29tZWhhc2hzb21laGFzaHNvbWVoYXNoc29tZWhhc2g";
        let mut memory = Memory::default();
        match verify(b"pw", big, &mut memory) {
            Err(AuthError::TooMuchMemory {
                kib: 65536,
                limit_kib,
            }) => assert_eq!(limit_kib, 19456),
            other => panic!("expected TooMuchMemory, got {other:?}"),
        }
    }

    #[test]
    fn a_damaged_stored_hash_is_an_error_not_a_wrong_password() {
        let mut memory = Memory::default();
        for bad in [
            "",
            "plain text",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
        ] {
            assert!(
                matches!(
                    verify(b"pw", bad, &mut memory),
                    Err(AuthError::StoredHash(_))
                ),
                "{bad:?}"
            );
        }
    }
}
