//! How a server's TLS certificate is named to people: the SHA-256 of its DER
//! encoding, as colon-separated upper-case hex pairs. The server prints it at
//! start; the client pins it and shows it when it changes.

use sha2::{Digest, Sha256};

/// `AB:CD:…` (32 pairs) for a DER-encoded certificate.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let pairs: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_32_colon_separated_hex_pairs() {
        let f = fingerprint(b"certificate");
        assert_eq!(f.len(), 32 * 3 - 1);
        assert!(f.split(':').all(|p| {
            p.len() == 2
                && p.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        }));
        assert_ne!(f, fingerprint(b"another"));
    }
}
