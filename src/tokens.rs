//! Random tokens and their encodings, shared by the accounts, the storage
//! layer and the web layer (which all sit above this module).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// URL-safe base64 without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// A random token, URL-safe, 32 bytes of entropy.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    b64(&b)
}

/// What the database keeps of a token: its SHA-256, so that a leaked table
/// gives no usable link.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    b64(&Sha256::digest(token.as_bytes()))
}

/// Whether two secrets are equal, in a time that tells nothing about them
/// (their digests are compared, so not even their lengths leak).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}
