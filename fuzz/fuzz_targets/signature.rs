//! Detached signatures and keyrings: any signature is verified or refused
//! against a real key, and any text is read as a keyring or refused.
#![no_main]

use std::sync::OnceLock;

use epr_storage::signature::{KeyKind, Keyring, SecretKey, generate_key, sign_detached};
use libfuzzer_sys::fuzz_target;

const DATA: &[u8] = b"the bytes of a package zip";

/// A keyring of one Ed25519 key, and a valid signature of DATA by it.
fn keyring() -> &'static (Keyring, String) {
    static KEYS: OnceLock<(Keyring, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (secret, public) = generate_key("Fuzz <fuzz@example.com>", KeyKind::Ed25519)
            .expect("a key is generated");
        let secret = SecretKey::from_armored(&secret, None).expect("the key reads back");
        let signature = sign_detached(&secret, DATA).expect("DATA is signed");
        (Keyring::from_armored(&public).expect("the keyring reads back"), signature)
    })
}

fuzz_target!(|bytes: &[u8]| {
    let (keyring, _) = keyring();
    let _ = keyring.verify(DATA, bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = Keyring::from_armored(text);
    }
});
