//! `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` (RFC 6455 §4.1, §4.2.2).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The GUID appended to the key before hashing (RFC 6455 §1.3, §4.2.2).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Key` for a 16-byte nonce: its base64 encoding (RFC 6455 §4.1, client
/// requirement 7). The nonce must be freshly and randomly chosen for each connection; the caller draws
/// it.
pub fn generate_key(nonce: [u8; 16]) -> String {
    STANDARD.encode(nonce)
}

/// The `Sec-WebSocket-Accept` for a key as sent: base64(SHA-1(key + [`GUID`])) (RFC 6455 §4.2.2,
/// item 5.4).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_vector() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(
            generate_key(*b"the sample nonce"),
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
    }

    #[test]
    fn generated_key_decodes_to_16_bytes() {
        for nonce in [
            [0u8; 16],
            [0xff; 16],
            core::array::from_fn(|i| i as u8 * 17),
        ] {
            let key = generate_key(nonce);
            assert_eq!(key.len(), 24);
            assert_eq!(STANDARD.decode(&key).unwrap(), nonce);
        }
    }

    #[test]
    fn accept_is_28_chars_and_depends_on_key() {
        let a = accept_key(b"AAAAAAAAAAAAAAAAAAAAAA==");
        let b = accept_key(b"AAAAAAAAAAAAAAAAAAAAAQ==");
        assert_eq!(a.len(), 28);
        assert_ne!(a, b);
    }
}
