//! Package signatures (spec/storage-and-publishing.md §5).
//!
//! # What is signed, and the format
//!
//! A package `{name}-{version}.zip` is signed by a **detached OpenPGP signature** over the
//! **exact bytes of the zip file**, stored beside it as `{name}-{version}.zip.sig`. The
//! signature is ASCII-armored (`-----BEGIN PGP SIGNATURE-----`), of type "binary document"
//! (0x00), version 4, and carries a creation time, an issuer fingerprint and an issuer key id,
//! so that `gpg --verify`, GopenPGP (elastic-package) and openpgp.js (Kibana) all name the
//! signer. Elastic signs with gpg; this module produces and checks the same kind of file.
//!
//! # What is here
//!
//! - [`SecretKey`] + [`sign_detached`]: sign with a key exported by
//!   `gpg --export-secret-keys --armor` (RSA, Ed25519, passphrase-protected or not).
//! - [`Keyring`] + [`Keyring::verify`]: check a signature against a set of public keys
//!   (`gpg --export --armor`, several blocks appended to one file, or secret keys, whose
//!   public part is used).
//! - [`generate_key`]: a fresh key pair for tests and for trying things out.
//!
//! # Verification policy
//!
//! A signature is good when it was made by a key (primary key, or a subkey validly bound to
//! it with the "sign" flag) in the keyring, over these bytes, with SHA-256 or stronger (MD5,
//! SHA-1 and RIPEMD-160 are refused, as openpgp.js does for data signatures), by a key that
//! is not revoked and had not expired when the signature was made. Trust in the keyring is
//! the caller's business: every key in it is trusted.

use pgp::armor::DearmorOptions;
use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, KeyType, PublicOrSecret,
    SecretKeyParamsBuilder, SignedPublicKey, SignedPublicSubKey, SignedSecretKey,
    SignedSecretSubKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{self, Signature, SignatureType};
use pgp::types::{
    Fingerprint, KeyDetails, KeyId, KeyVersion, Password, S2kParams, SecretParams, StringToKey, Tag,
};

/// A detached signature is a few hundred bytes; anything past this is not one, and is refused
/// before parsing so a wrong file (say, the zip itself) costs nothing.
const MAX_SIGNATURE_LEN: usize = 64 * 1024;

/// GnuPG's private S2K type for a secret key whose secret part was left out
/// (`gpg --export-secret-subkeys` writes the primary key this way).
const GNU_DUMMY_S2K: u8 = 101;

/// Errors from loading keys, signing, and generating keys.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// The text is not an OpenPGP key, or a key in it could not be read.
    #[error("cannot read the OpenPGP key: {reason}")]
    Parse { reason: String },
    /// A keyring with no public key in it.
    #[error("the keyring holds no OpenPGP public key")]
    EmptyKeyring,
    /// A secret key was expected, but none was found.
    #[error(
        "no OpenPGP secret key found{found}; export one with `gpg --export-secret-keys --armor KEYID`"
    )]
    NoSecretKey {
        /// What was found instead, if anything (e.g. " (only public keys)").
        found: String,
    },
    /// Several secret keys where one was expected.
    #[error("{count} secret keys found ({fingerprints}); give exactly one to sign with")]
    SeveralSecretKeys { count: usize, fingerprints: String },
    /// No component of the key can make signatures with the secret part at hand.
    #[error("key {fingerprint} has no secret key or subkey that can sign")]
    NoSigningKey { fingerprint: String },
    /// The key is passphrase-protected and no passphrase was given.
    #[error("key {fingerprint} is protected by a passphrase, and none was given")]
    PassphraseRequired { fingerprint: String },
    /// The passphrase does not unlock the key.
    #[error("the passphrase does not unlock key {fingerprint}")]
    WrongPassphrase { fingerprint: String },
    /// Signing failed.
    #[error("cannot sign with key {fingerprint}: {reason}")]
    Sign { fingerprint: String, reason: String },
    /// Key generation failed.
    #[error("cannot generate a key: {reason}")]
    Generate { reason: String },
}

/// Why a signature was not accepted. Every message names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not an OpenPGP signature at all, or damaged / truncated.
    #[error("not a valid OpenPGP signature: {reason}")]
    Malformed { reason: String },
    /// Made by a key that is not in the keyring.
    #[error("signed by key {issuer}, which is not in the keyring")]
    UnknownKey { issuer: String },
    /// The key is known, but the signature does not match the bytes.
    #[error(
        "BAD signature from {signer}: the data does not match the signature (the file was changed, or the signature is for another file)"
    )]
    Mismatch { signer: String },
    /// A hash algorithm that is too weak to trust.
    #[error(
        "signature from {signer} uses the weak hash algorithm {algorithm}; SHA-256 or stronger is required"
    )]
    WeakHash { signer: String, algorithm: String },
    /// A signature of a kind that does not sign a file (e.g. a key certification).
    #[error("the signature is a {kind} signature, not a signature over a file")]
    NotDataSignature { kind: String },
    /// The signing key has been revoked by its owner.
    #[error("signature from {signer}, but that key has been revoked")]
    KeyRevoked { signer: String },
    /// The signature was made after the signing key expired.
    #[error("signature from {signer} was made on {signed}, after the key expired on {expired}")]
    KeyExpired {
        signer: String,
        signed: String,
        expired: String,
    },
    /// The signature uses an algorithm or format this implementation cannot check.
    #[error("cannot check the signature from {signer}: {reason}")]
    Unsupported { signer: String, reason: String },
}

impl VerifyError {
    /// When a file has several signatures and none is good, the most telling error is shown:
    /// one about a known key beats "unknown key", which beats a format complaint.
    fn rank(&self) -> u8 {
        match self {
            VerifyError::Mismatch { .. }
            | VerifyError::KeyRevoked { .. }
            | VerifyError::KeyExpired { .. }
            | VerifyError::WeakHash { .. }
            | VerifyError::Unsupported { .. } => 3,
            VerifyError::UnknownKey { .. } => 2,
            VerifyError::NotDataSignature { .. } => 1,
            VerifyError::Malformed { .. } => 0,
        }
    }
}

/// Who made a good signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The primary key's fingerprint, uppercase hex (what `gpg --list-keys` shows).
    pub fingerprint: String,
    /// The primary user id, e.g. `Elasticsearch (Elasticsearch Signing Key) <dev_ops@...>`.
    pub user_id: Option<String>,
    /// The subkey that made the signature, when it was not the primary key.
    pub subkey_fingerprint: Option<String>,
}

/// `FINGERPRINT (user id)`, as in messages.
impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.user_id {
            Some(uid) => write!(f, "{} ({uid})", self.fingerprint),
            None => write!(f, "{}", self.fingerprint),
        }
    }
}

/// The kind of key [`generate_key`] makes: kinds that `gpg --quick-gen-key` also makes, and
/// that gpg 2.2+, GopenPGP and openpgp.js all understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA, 3072 bits (gpg's default size).
    Rsa,
    /// RSA, 2048 bits (the size of Elastic's own key; quicker to generate).
    Rsa2048,
    /// Ed25519 in the v4 "EdDSA legacy" format (algorithm 22), as gpg makes it.
    Ed25519,
}

// ---------------------------------------------------------------------------------------------
// Reading keys

/// Every key (public or secret) in `input`: ASCII-armored text with one or several
/// `-----BEGIN PGP ...-----` blocks (each may hold several keys), or binary OpenPGP data.
fn read_keys(input: &[u8]) -> Result<Vec<PublicOrSecret>, SignatureError> {
    if input.first().is_some_and(|b| b & 0x80 != 0) {
        return collect_keys(PublicOrSecret::from_bytes_many(input), "binary data");
    }
    let blocks = armored_blocks(input);
    if blocks.is_empty() {
        return Err(SignatureError::Parse {
            reason: "no `-----BEGIN PGP PUBLIC KEY BLOCK-----` or `-----BEGIN PGP PRIVATE KEY BLOCK-----` found".into(),
        });
    }
    let mut keys = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        let what = format!("armored block {} of {}", index + 1, blocks.len());
        let parsed = PublicOrSecret::from_armor_many_buf(*block).map(|(keys, _headers)| keys);
        keys.extend(collect_keys(parsed, &what)?);
    }
    Ok(keys)
}

fn collect_keys<'a>(
    parsed: pgp::errors::Result<Box<dyn Iterator<Item = pgp::errors::Result<PublicOrSecret>> + 'a>>,
    what: &str,
) -> Result<Vec<PublicOrSecret>, SignatureError> {
    let parse_error = |e: pgp::errors::Error| SignatureError::Parse {
        reason: format!("{what}: {}", short_reason(&e)),
    };
    parsed
        .map_err(parse_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(parse_error)
}

/// Splits text into its armored blocks, from a `-----BEGIN PGP` line to the matching
/// `-----END PGP` line. rPGP reads one block per call, while keyring files are often several
/// blocks appended; text outside blocks is ignored, as gpg does.
fn armored_blocks(text: &[u8]) -> Vec<&[u8]> {
    let mut blocks = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        let trimmed = line.trim_ascii_start();
        if start.is_none() && trimmed.starts_with(b"-----BEGIN PGP ") {
            start = Some(offset);
        } else if let Some(begin) = start
            && trimmed.starts_with(b"-----END PGP ")
        {
            blocks.push(&text[begin..offset + line.len()]);
            start = None;
        }
        offset += line.len();
    }
    // A block without its END line is kept so that the parser reports it as truncated.
    if let Some(begin) = start {
        blocks.push(&text[begin..]);
    }
    blocks
}

fn fingerprint_hex(fingerprint: &Fingerprint) -> String {
    format!("{fingerprint:X}")
}

fn key_id_hex(key_id: &KeyId) -> String {
    key_id.to_string().to_uppercase()
}

/// The primary user id: the one flagged primary, else the first; only user ids with a valid
/// self-signature count, so that nobody can attach a misleading name to a key.
fn primary_user_id(key: &SignedPublicKey) -> Option<String> {
    let self_signed: Vec<_> = key
        .details
        .users
        .iter()
        .filter(|user| {
            user.signatures.iter().any(|sig| {
                is_self_signature(sig, &key.primary_key)
                    && sig
                        .verify_certification(&key.primary_key, Tag::UserId, &user.id)
                        .is_ok()
            })
        })
        .collect();
    let user = self_signed
        .iter()
        .find(|user| user.is_primary())
        .or_else(|| self_signed.first())?;
    Some(String::from_utf8_lossy(user.id.id()).into_owned())
}

// ---------------------------------------------------------------------------------------------
// Signing

/// The component of a secret key that makes the signatures, unlocked.
#[derive(Clone)]
enum SigningComponent {
    Primary(packet::SecretKey),
    Subkey(packet::SecretSubkey),
}

/// A secret key ready to sign: the signing component (primary key or subkey) is already
/// unlocked with its passphrase, so signing never asks again.
#[derive(Clone)]
pub struct SecretKey {
    component: SigningComponent,
    fingerprint: String,
    user_id: Option<String>,
    public_key: SignedPublicKey,
}

impl std::fmt::Debug for SecretKey {
    // Never print secret material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("fingerprint", &self.fingerprint)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// Reads a secret key as exported by `gpg --export-secret-keys --armor` (or binary).
    ///
    /// The primary key signs when it can; otherwise the newest subkey with the "sign" flag
    /// whose secret part is present. `passphrase` unlocks it now, so a missing or wrong
    /// passphrase is reported here rather than at the first signature.
    pub fn from_armored(text: &str, passphrase: Option<&str>) -> Result<SecretKey, SignatureError> {
        let key = single_secret_key(read_keys(text.as_bytes())?)?;
        let public_key = key.to_public_key();
        let fingerprint = fingerprint_hex(&key.primary_key.fingerprint());
        let user_id = primary_user_id(&public_key);
        let component = signing_component(&key, &fingerprint)?;
        let component = unlock(component, passphrase, &fingerprint)?;
        Ok(SecretKey {
            component,
            fingerprint,
            user_id,
            public_key,
        })
    }

    /// The primary key's fingerprint, uppercase hex.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The primary user id, if the key has one.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// The matching public key, ASCII-armored (what `gpg --export --armor` would give).
    pub fn public_key_armored(&self) -> Result<String, SignatureError> {
        self.public_key
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| SignatureError::Parse {
                reason: format!("cannot armor the public key: {e}"),
            })
    }
}

fn single_secret_key(keys: Vec<PublicOrSecret>) -> Result<SignedSecretKey, SignatureError> {
    let public_count = keys.iter().filter(|k| k.is_public()).count();
    let mut secrets: Vec<SignedSecretKey> = keys
        .into_iter()
        .filter_map(|key| match key {
            PublicOrSecret::Secret(secret) => Some(secret),
            PublicOrSecret::Public(_) => None,
        })
        .collect();
    match secrets.len() {
        1 => Ok(secrets.remove(0)),
        0 => Err(SignatureError::NoSecretKey {
            found: if public_count > 0 {
                format!(" (only {public_count} public key(s))")
            } else {
                String::new()
            },
        }),
        count => Err(SignatureError::SeveralSecretKeys {
            count,
            fingerprints: secrets
                .iter()
                .map(|k| fingerprint_hex(&k.primary_key.fingerprint()))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Whether a secret key packet actually holds its secret (gpg writes stubs for keys kept
/// elsewhere, e.g. on a smartcard or left out by `--export-secret-subkeys`).
fn has_secret(params: &SecretParams) -> bool {
    let SecretParams::Encrypted(encrypted) = params else {
        return true;
    };
    let s2k = match encrypted.string_to_key_params() {
        S2kParams::Cfb { s2k, .. } | S2kParams::MalleableCfb { s2k, .. } => s2k,
        S2kParams::Aead { s2k, .. } => s2k,
        S2kParams::Unprotected | S2kParams::LegacyCfb { .. } => return true,
    };
    !matches!(s2k, StringToKey::Private { typ, .. } if *typ == GNU_DUMMY_S2K)
}

fn algorithm_can_sign(key: &impl KeyDetails) -> bool {
    use pgp::crypto::public_key::PublicKeyAlgorithm as Alg;
    matches!(
        key.algorithm(),
        Alg::RSA
            | Alg::RSASign
            | Alg::DSA
            | Alg::ECDSA
            | Alg::EdDSALegacy
            | Alg::Ed25519
            | Alg::Ed448
    )
}

/// The primary key may sign unless its self-signatures carry key flags without "sign"
/// (keys without key flags predate them, and gpg lets their primary sign).
fn primary_may_sign(key: &SignedSecretKey) -> bool {
    let flags: Vec<bool> = key
        .details
        .users
        .iter()
        .flat_map(|user| &user.signatures)
        .chain(&key.details.direct_signatures)
        .filter(|sig| is_self_signature(sig, &key.primary_key))
        .filter(|sig| has_key_flags(sig))
        .map(|sig| sig.key_flags().sign())
        .collect();
    flags.is_empty() || flags.contains(&true)
}

fn is_self_signature(sig: &Signature, key: &impl KeyDetails) -> bool {
    sig.issuer_fingerprint()
        .iter()
        .any(|fp| **fp == key.fingerprint())
        || sig
            .issuer_key_id()
            .iter()
            .any(|id| **id == key.legacy_key_id())
}

fn has_key_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|config| {
        config
            .hashed_subpackets()
            .any(|p| matches!(p.data, packet::SubpacketData::KeyFlags(_)))
    })
}

fn subkey_may_sign(subkey: &SignedSecretSubKey) -> bool {
    subkey.signatures.iter().any(|sig| sig.key_flags().sign())
}

fn signing_component(
    key: &SignedSecretKey,
    fingerprint: &str,
) -> Result<SigningComponent, SignatureError> {
    let primary = &key.primary_key;
    if primary_may_sign(key) && algorithm_can_sign(primary) && has_secret(primary.secret_params()) {
        return Ok(SigningComponent::Primary(primary.clone()));
    }
    key.secret_subkeys
        .iter()
        .filter(|sub| subkey_may_sign(sub))
        .filter(|sub| algorithm_can_sign(&sub.key) && has_secret(sub.key.secret_params()))
        .max_by_key(|sub| sub.key.created_at().as_secs())
        .map(|sub| SigningComponent::Subkey(sub.key.clone()))
        .ok_or_else(|| SignatureError::NoSigningKey {
            fingerprint: fingerprint.to_string(),
        })
}

fn unlock(
    component: SigningComponent,
    passphrase: Option<&str>,
    fingerprint: &str,
) -> Result<SigningComponent, SignatureError> {
    let encrypted = match &component {
        SigningComponent::Primary(k) => k.secret_params().is_encrypted(),
        SigningComponent::Subkey(k) => k.secret_params().is_encrypted(),
    };
    if !encrypted {
        return Ok(component);
    }
    let Some(passphrase) = passphrase else {
        return Err(SignatureError::PassphraseRequired {
            fingerprint: fingerprint.to_string(),
        });
    };
    let password = Password::from(passphrase);
    let wrong = |_| SignatureError::WrongPassphrase {
        fingerprint: fingerprint.to_string(),
    };
    match component {
        SigningComponent::Primary(mut k) => {
            k.remove_password(&password).map_err(wrong)?;
            Ok(SigningComponent::Primary(k))
        }
        SigningComponent::Subkey(mut k) => {
            k.remove_password(&password).map_err(wrong)?;
            Ok(SigningComponent::Subkey(k))
        }
    }
}

/// The key's own hash preference, but never weaker than SHA-256.
fn signing_hash(key: &impl pgp::types::SigningKey) -> HashAlgorithm {
    match key.hash_alg() {
        strong @ (HashAlgorithm::Sha256
        | HashAlgorithm::Sha384
        | HashAlgorithm::Sha512
        | HashAlgorithm::Sha3_256
        | HashAlgorithm::Sha3_512) => strong,
        _ => HashAlgorithm::Sha256,
    }
}

fn sign_with(
    key: &impl pgp::types::SigningKey,
    data: &[u8],
) -> pgp::errors::Result<DetachedSignature> {
    // The default subpackets are what gpg writes: creation time and issuer fingerprint
    // (hashed), issuer key id (unhashed).
    DetachedSignature::sign_binary_data(
        rand::thread_rng(),
        key,
        &Password::empty(),
        signing_hash(key),
        data,
    )
}

/// Signs `data` (the zip's bytes): an ASCII-armored detached signature, ready to write as
/// `{zip}.sig`.
pub fn sign_detached(key: &SecretKey, data: &[u8]) -> Result<String, SignatureError> {
    let signature = match &key.component {
        SigningComponent::Primary(k) => sign_with(k, data),
        SigningComponent::Subkey(k) => sign_with(k, data),
    };
    signature
        .and_then(|sig| sig.to_armored_string(ArmorOptions::default()))
        .map_err(|e| SignatureError::Sign {
            fingerprint: key.fingerprint.clone(),
            reason: e.to_string(),
        })
}

// ---------------------------------------------------------------------------------------------
// Verifying

/// A key that can have made a signature: a primary key or one of its subkeys.
#[derive(Debug, Clone)]
enum ComponentKey {
    Primary(packet::PublicKey),
    Subkey(packet::PublicSubkey),
}

#[derive(Debug, Clone)]
struct Component {
    key: ComponentKey,
    revoked: bool,
    /// Seconds since the epoch after which signatures are no longer valid.
    expires_at: Option<u64>,
}

impl Component {
    fn fingerprint(&self) -> Fingerprint {
        match &self.key {
            ComponentKey::Primary(k) => k.fingerprint(),
            ComponentKey::Subkey(k) => k.fingerprint(),
        }
    }

    fn key_id(&self) -> KeyId {
        match &self.key {
            ComponentKey::Primary(k) => k.legacy_key_id(),
            ComponentKey::Subkey(k) => k.legacy_key_id(),
        }
    }

    fn verify(&self, sig: &Signature, data: &[u8]) -> pgp::errors::Result<()> {
        match &self.key {
            ComponentKey::Primary(k) => sig.verify(k, data),
            ComponentKey::Subkey(k) => sig.verify(k, data),
        }
    }

    fn issued(&self, issuers: &Issuers) -> bool {
        let fingerprint = self.fingerprint();
        let key_id = self.key_id();
        issuers.is_empty()
            || issuers.fingerprints.contains(&fingerprint)
            || issuers.key_ids.contains(&key_id)
    }
}

/// One certificate (primary key with its subkeys) in the keyring.
#[derive(Debug, Clone)]
struct KeyEntry {
    fingerprint: String,
    user_id: Option<String>,
    /// The primary key first, then the subkeys that may sign.
    components: Vec<Component>,
}

/// A set of trusted public keys; a signature by any of them (or their signing subkeys) is
/// accepted.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<KeyEntry>,
}

impl Keyring {
    /// Reads every public key in ASCII-armored text: one block or several appended, each
    /// holding one or more keys (`gpg --export --armor A B`). Secret keys are accepted too, and
    /// their public part is used. No key at all is an error.
    pub fn from_armored(text: &str) -> Result<Keyring, SignatureError> {
        Keyring::from_bytes(text.as_bytes())
    }

    /// Like [`Keyring::from_armored`], and also accepts binary keys (`gpg --export`).
    pub fn from_bytes(input: &[u8]) -> Result<Keyring, SignatureError> {
        let keys: Vec<KeyEntry> = read_keys(input)?
            .into_iter()
            .map(|key| key_entry(&public_part(key)))
            .collect();
        if keys.is_empty() {
            return Err(SignatureError::EmptyKeyring);
        }
        Ok(Keyring { keys })
    }

    /// The fingerprints (uppercase hex) of the primary keys, in file order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.fingerprint.clone()).collect()
    }

    /// Checks a detached signature (armored, or binary) over `data`.
    ///
    /// When the signature file holds several signatures, one good signature is enough.
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> Result<Signer, VerifyError> {
        let signatures = parse_signatures(signature)?;
        let mut best: Option<VerifyError> = None;
        for sig in &signatures {
            match self.verify_one(sig, data) {
                Ok(signer) => return Ok(signer),
                Err(e) => {
                    if best.as_ref().is_none_or(|b| e.rank() > b.rank()) {
                        best = Some(e);
                    }
                }
            }
        }
        Err(best.unwrap_or_else(|| VerifyError::Malformed {
            reason: "no signature packet found".into(),
        }))
    }

    fn verify_one(&self, sig: &Signature, data: &[u8]) -> Result<Signer, VerifyError> {
        check_is_data_signature(sig)?;
        let issuers = Issuers::of(sig);
        let mut candidates = self
            .keys
            .iter()
            .flat_map(|entry| entry.components.iter().map(move |c| (entry, c)))
            .filter(|(_, component)| component.issued(&issuers))
            .peekable();
        if candidates.peek().is_none() {
            return Err(VerifyError::UnknownKey {
                issuer: issuers.describe(),
            });
        }
        let mut first_error = None;
        for (entry, component) in candidates {
            match check_with(entry, component, sig, data) {
                Ok(signer) => return Ok(signer),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| VerifyError::UnknownKey {
            issuer: issuers.describe(),
        }))
    }
}

/// The key id (16 hex digits) of the key that made the first signature in `signature`,
/// as the signature names it; nothing is verified (for listings: `storage list`).
pub fn signer_key_id(signature: &[u8]) -> Result<String, VerifyError> {
    let signatures = parse_signatures(signature)?;
    let Some(sig) = signatures.first() else {
        return Err(VerifyError::Malformed {
            reason: "no signature packet found".into(),
        });
    };
    let issuers = Issuers::of(sig);
    if let Some(id) = issuers.key_ids.first() {
        return Ok(key_id_hex(id));
    }
    if let Some(fp) = issuers.fingerprints.first() {
        // A v4 key's id is the low 64 bits of its fingerprint.
        let hex = fingerprint_hex(fp);
        return Ok(hex[hex.len().saturating_sub(16)..].to_string());
    }
    Err(VerifyError::Malformed {
        reason: "the signature does not name its issuer".into(),
    })
}

/// The issuer of a signature, as its subpackets name it.
struct Issuers {
    fingerprints: Vec<Fingerprint>,
    key_ids: Vec<KeyId>,
}

impl Issuers {
    fn of(sig: &Signature) -> Issuers {
        Issuers {
            fingerprints: sig.issuer_fingerprint().into_iter().cloned().collect(),
            key_ids: sig.issuer_key_id().into_iter().copied().collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.fingerprints.is_empty() && self.key_ids.is_empty()
    }

    fn describe(&self) -> String {
        if let Some(fp) = self.fingerprints.first() {
            fingerprint_hex(fp)
        } else if let Some(id) = self.key_ids.first() {
            format!("with key id {}", key_id_hex(id))
        } else {
            "(the signature does not name its issuer)".into()
        }
    }
}

fn parse_signatures(input: &[u8]) -> Result<Vec<Signature>, VerifyError> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(VerifyError::Malformed {
            reason: "the signature is empty".into(),
        });
    }
    if input.len() > MAX_SIGNATURE_LEN {
        return Err(VerifyError::Malformed {
            reason: format!(
                "{} bytes is far too large for a detached signature (at most {MAX_SIGNATURE_LEN})",
                input.len()
            ),
        });
    }
    let signatures = if input[0] & 0x80 != 0 {
        DetachedSignature::from_bytes_many(input)
            .and_then(Iterator::collect::<pgp::errors::Result<Vec<_>>>)
            .map_err(|e| VerifyError::Malformed {
                reason: short_reason(&e),
            })?
    } else {
        DetachedSignature::from_armor_many_buf_with_options(
            armored_signature_start(input)?,
            DearmorOptions::new().set_limit(MAX_SIGNATURE_LEN),
        )
        .and_then(|(signatures, _headers)| signatures.collect::<pgp::errors::Result<Vec<_>>>())
        .map_err(|e| armor_error(input, &e))?
    };
    let signatures: Vec<Signature> = signatures.into_iter().map(|s| s.signature).collect();
    if signatures.is_empty() {
        return Err(VerifyError::Malformed {
            reason: "no complete signature packet in it (is the file truncated?)".into(),
        });
    }
    Ok(signatures)
}

const BEGIN_SIGNATURE: &[u8] = b"-----BEGIN PGP SIGNATURE-----";
const END_SIGNATURE: &[u8] = b"-----END PGP SIGNATURE-----";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The armored text from its `-----BEGIN PGP SIGNATURE-----` line on; text without that line
/// is not a signature, and saying so beats the armor parser's generic complaint.
fn armored_signature_start(input: &[u8]) -> Result<&[u8], VerifyError> {
    if let Some(start) = find(input, BEGIN_SIGNATURE) {
        return Ok(&input[start..]);
    }
    let reason = match armor_label(input) {
        Some(label) => format!("it is an armored {label}, not a signature"),
        None => "no `-----BEGIN PGP SIGNATURE-----` line".into(),
    };
    Err(VerifyError::Malformed { reason })
}

/// `PGP PUBLIC KEY BLOCK` from a `-----BEGIN PGP PUBLIC KEY BLOCK-----` line, if any.
fn armor_label(input: &[u8]) -> Option<String> {
    let start = find(input, b"-----BEGIN PGP ")? + b"-----BEGIN ".len();
    let rest = &input[start..];
    let end = find(rest, b"-----").filter(|&end| end <= 40)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

fn armor_error(input: &[u8], e: &pgp::errors::Error) -> VerifyError {
    let reason = if find(input, END_SIGNATURE).is_some() {
        format!("the armored text is damaged ({})", short_reason(e))
    } else {
        "no `-----END PGP SIGNATURE-----` line, the file is truncated".into()
    };
    VerifyError::Malformed { reason }
}

/// rPGP's message, without the parser's dump of the remaining input that some errors carry.
fn short_reason(e: &pgp::errors::Error) -> String {
    const MAX: usize = 160;
    let text = e.to_string();
    let text = text.split(" Error(").next().unwrap_or_default().trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

fn check_is_data_signature(sig: &Signature) -> Result<(), VerifyError> {
    match sig.typ() {
        Some(SignatureType::Binary | SignatureType::Text) => Ok(()),
        Some(other) => Err(VerifyError::NotDataSignature {
            kind: format!("{other:?}"),
        }),
        None => Err(VerifyError::Malformed {
            reason: format!("unsupported signature version {:?}", sig.version()),
        }),
    }
}

fn check_with(
    entry: &KeyEntry,
    component: &Component,
    sig: &Signature,
    data: &[u8],
) -> Result<Signer, VerifyError> {
    let signer = signer_of(entry, component);
    let signer_text = signer.to_string();
    if let Some(hash) = sig.hash_alg()
        && matches!(
            hash,
            HashAlgorithm::Md5 | HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160
        )
    {
        return Err(VerifyError::WeakHash {
            signer: signer_text,
            algorithm: hash.to_string(),
        });
    }
    if let Err(e) = component.verify(sig, data) {
        return Err(match e {
            pgp::errors::Error::Unsupported { .. } | pgp::errors::Error::Unimplemented { .. } => {
                VerifyError::Unsupported {
                    signer: signer_text,
                    reason: short_reason(&e),
                }
            }
            _ => VerifyError::Mismatch {
                signer: signer_text,
            },
        });
    }
    // The validity of the key is only worth checking for a signature that is genuine.
    if component.revoked {
        return Err(VerifyError::KeyRevoked {
            signer: signer_text,
        });
    }
    let Some(created) = sig.created() else {
        return Err(VerifyError::Malformed {
            reason: format!("the signature from {signer_text} has no creation time"),
        });
    };
    if let Some(expires_at) = component.expires_at
        && u64::from(created.as_secs()) > expires_at
    {
        return Err(VerifyError::KeyExpired {
            signer: signer_text,
            signed: utc_date(u64::from(created.as_secs())),
            expired: utc_date(expires_at),
        });
    }
    Ok(signer)
}

fn signer_of(entry: &KeyEntry, component: &Component) -> Signer {
    Signer {
        fingerprint: entry.fingerprint.clone(),
        user_id: entry.user_id.clone(),
        subkey_fingerprint: match component.key {
            ComponentKey::Primary(_) => None,
            ComponentKey::Subkey(_) => Some(fingerprint_hex(&component.fingerprint())),
        },
    }
}

fn public_part(key: PublicOrSecret) -> SignedPublicKey {
    match key {
        PublicOrSecret::Public(public) => public,
        PublicOrSecret::Secret(secret) => secret.to_public_key(),
    }
}

/// Builds the keyring entry of a certificate: the primary key, and the subkeys whose binding
/// signatures are valid and allow signing (an unbound subkey could be attached by anyone).
/// A subkey is revoked or expired when it or its primary key is.
fn key_entry(key: &SignedPublicKey) -> KeyEntry {
    let primary = &key.primary_key;
    let primary_revoked = primary_revoked(key);
    let primary_expires_at = primary_expiry(key);
    let mut components = vec![Component {
        key: ComponentKey::Primary(primary.clone()),
        revoked: primary_revoked,
        expires_at: primary_expires_at,
    }];
    components.extend(
        key.public_subkeys
            .iter()
            .filter(|sub| sub.verify_bindings(primary).is_ok())
            .filter(|sub| newest_binding(sub).is_some_and(|sig| sig.key_flags().sign()))
            .map(|sub| {
                let subkey_expires_at =
                    newest_binding(sub).and_then(|sig| expiry(sub.key.created_at().as_secs(), sig));
                Component {
                    key: ComponentKey::Subkey(sub.key.clone()),
                    revoked: primary_revoked
                        || sub
                            .signatures
                            .iter()
                            .any(|sig| sig.typ() == Some(SignatureType::SubkeyRevocation)),
                    expires_at: [primary_expires_at, subkey_expires_at]
                        .into_iter()
                        .flatten()
                        .min(),
                }
            }),
    );
    KeyEntry {
        fingerprint: fingerprint_hex(&primary.fingerprint()),
        user_id: primary_user_id(key),
        components,
    }
}

fn newest_binding(sub: &SignedPublicSubKey) -> Option<&Signature> {
    sub.signatures
        .iter()
        .filter(|sig| sig.typ() == Some(SignatureType::SubkeyBinding))
        .max_by_key(|sig| sig.created().map(|t| t.as_secs()))
}

fn primary_revoked(key: &SignedPublicKey) -> bool {
    key.details.revocation_signatures.iter().any(|sig| {
        sig.typ() == Some(SignatureType::KeyRevocation) && sig.verify_key(&key.primary_key).is_ok()
    })
}

/// The expiry of the primary key, from its newest valid self-signature.
fn primary_expiry(key: &SignedPublicKey) -> Option<u64> {
    let primary = &key.primary_key;
    let user_sigs = key.details.users.iter().flat_map(|user| {
        user.signatures
            .iter()
            .filter(|sig| is_self_signature(sig, primary))
            .filter(move |sig| {
                sig.verify_certification(primary, Tag::UserId, &user.id)
                    .is_ok()
            })
    });
    let direct_sigs = key
        .details
        .direct_signatures
        .iter()
        .filter(|sig| sig.verify_key(primary).is_ok());
    user_sigs
        .chain(direct_sigs)
        .max_by_key(|sig| sig.created().map(|t| t.as_secs()))
        .and_then(|sig| expiry(primary.created_at().as_secs(), sig))
}

/// When a key created at `created` expires according to a self-signature; a zero or absent
/// key expiration time means never.
fn expiry(created: u32, sig: &Signature) -> Option<u64> {
    let lifetime = sig.key_expiration_time()?.as_secs();
    (lifetime != 0).then(|| u64::from(created) + u64::from(lifetime))
}

/// `YYYY-MM-DD` (UTC) for seconds since the epoch, for messages.
fn utc_date(secs: u64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let days = (secs / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

// ---------------------------------------------------------------------------------------------
// Generating keys

/// Generates a key pair: returns `(armored secret key, armored public key)`. The key is one
/// v4 primary key that certifies and signs (like `gpg --quick-gen-key UID ALGO sign never`),
/// without a passphrase and without expiry.
pub fn generate_key(user_id: &str, kind: KeyKind) -> Result<(String, String), SignatureError> {
    generate_protected_key(user_id, kind, None)
}

/// Like [`generate_key`], with the secret key locked by `passphrase` when one is given.
pub fn generate_protected_key(
    user_id: &str,
    kind: KeyKind,
    passphrase: Option<&str>,
) -> Result<(String, String), SignatureError> {
    let failed = |reason: String| SignatureError::Generate { reason };
    let key_type = match kind {
        KeyKind::Rsa => KeyType::Rsa(3072),
        KeyKind::Rsa2048 => KeyType::Rsa(2048),
        KeyKind::Ed25519 => KeyType::Ed25519Legacy,
    };
    let params = SecretKeyParamsBuilder::default()
        .version(KeyVersion::V4)
        .key_type(key_type)
        .can_certify(true)
        .can_sign(true)
        .primary_user_id(user_id.to_string())
        .preferred_hash_algorithms(
            vec![
                HashAlgorithm::Sha512,
                HashAlgorithm::Sha384,
                HashAlgorithm::Sha256,
            ]
            .into(),
        )
        .passphrase(passphrase.map(str::to_string))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let secret = params
        .generate(rand::thread_rng())
        .map_err(|e| failed(e.to_string()))?;
    let public = secret.to_public_key();
    let armor = |r: pgp::errors::Result<String>| r.map_err(|e| failed(e.to_string()));
    Ok((
        armor(secret.to_armored_string(ArmorOptions::default()))?,
        armor(public.to_armored_string(ArmorOptions::default()))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &[u8] = b"PK\x03\x04 the bytes of a package zip \x00\xff\n";

    /// Elastic's public signing key (spec §5.2), as vendored by elastic-package.
    const ELASTIC_KEY: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----

mQENBFI3HsoBCADXDtbNJnxbPqB1vDNtCsqhe49vFYsZN9IOZsZXgp7aHjh6CJBD
A+bGFOwyhbd7at35jQjWAw1O3cfYsKAmFy+Ar3LHCMkV3oZspJACTIgCrwnkic/9
CUliQe324qvObU2QRtP4Fl0zWcfb/S8UYzWXWIFuJqMvE9MaRY1bwUBvzoqavLGZ
j3SF1SPO+TB5QrHkrQHBsmX+Jda6d4Ylt8/t6CvMwgQNlrlzIO9WT+YN6zS+sqHd
1YK/aY5qhoLNhp9G/HxhcSVCkLq8SStj1ZZ1S9juBPoXV1ZWNbxFNGwOh/NYGldD
2kmBf3YgCqeLzHahsAEpvAm8TBa7Q9W21C8vABEBAAG0RUVsYXN0aWNzZWFyY2gg
KEVsYXN0aWNzZWFyY2ggU2lnbmluZyBLZXkpIDxkZXZfb3BzQGVsYXN0aWNzZWFy
Y2gub3JnPokBTgQTAQgAOAIbAwIXgBYhBEYJWsyFSFgsGiaZqdJ9ZmzYjkK0BQJk
9vrZBQsJCAcDBRUKCQgLBRYCAwEAAh4FAAoJENJ9ZmzYjkK00hoH+wYXZKgVb3Wv
4AA/+T1IAf7edwgajr58bEyqds6/4v6uZBneUaqahUqMXgLFRX5dBSrAS7bvE/jx
+BBQx+rpFGxSwvFegRevE1zAGVtpgkFQX0RpRcKSmksucSBxikR/dPn9XdJSEVa8
vPcs11V+2E5tq3LEP14zJL4MkJKQF0VJl5UUmKLS7U2F/IB5aXry9UWdMTnwNntX
kl2iDaViYF4MC6xTS24uLwND2St0Jvjt+xGEwbdBVvp+UZ/kG6IGkYM5eWGPuok/
DHvjUdwTfyO9b5xGbqn5FJ3UFOwB/nOSFXHM8rsHRT/67gHcIl8YFqSQXpIkk9D3
dCY+KieW0ue5AQ0EUjceygEIAOSVJc3DFuf3LsmUfGpUmnCqoUm76Eqqm8xynFEG
ZpczTChkwARRtckcfa/sGv376j+jk0c0Q71Uv3MnMLPGF+w3bpu8fLiPeW/cntf1
8uZ6DxJvHA/oaZZ6VPjwUGSeVydiPtZfTYsceO8Dxl3gpS6nHZ9Gsnfr/kcH9/11
Ca73HBtmGVIkOI1mZKMbANO8cewY/i7fPxShu7B0Rb3jxVNGUuiRcfRiao0gWx0U
ZGpvuHplt7loFX2cbsHFAp9WsjYEbSohb/Y0K4NkyFhL82MfbcsEwsXPhRTFgJWw
s4vpuFg/kFFlnw0NNPVP1jNJLNCsMBMEpP1A7k6MRpylNnUAEQEAAYkBNgQYAQgA
IAIbDBYhBEYJWsyFSFgsGiaZqdJ9ZmzYjkK0BQJk9vsHAAoJENJ9ZmzYjkK0hWsH
/ArKtn12HM3+41zYo9qO4rTri7+IYTjSB/JDTOusZgZLd/HCp1xQo4SI2Eur3Rtx
USMWK1LEeBzsjwDT9yVceYekrBEqUVyRMSVYj+UeZK2s4LbXm9b4jxXVtaivmkMA
jtznndrD7kmm8ak+UsZplf6p6uZS9TZ9hjwoMmw5oMaS6TZkLT4KYGWeyzHJSUBX
YikY6vssDQu4SJ07m1f4Hz81J39QOcHln5I5HTK8Rh/VUFcxNnGg9360g55wWpiF
eUTeMyoXpOtffiUhiOtbRYsmSYC0D4Fd5yJnO3n1pwnVVVsM7RAC22rc5j/Dw8dR
GIHikRcYWeXTYW7veewK5Ss=
=ftS0
-----END PGP PUBLIC KEY BLOCK-----
";

    struct TestKey {
        secret: SecretKey,
        secret_armored: String,
        public_armored: String,
    }

    fn test_key(name: &str, kind: KeyKind) -> TestKey {
        let (secret_armored, public_armored) =
            generate_key(&format!("{name} <{name}@example.com>"), kind).unwrap();
        let secret = SecretKey::from_armored(&secret_armored, None).unwrap();
        TestKey {
            secret,
            secret_armored,
            public_armored,
        }
    }

    fn round_trip(kind: KeyKind) {
        let key = test_key("alice", kind);
        let signature = sign_detached(&key.secret, DATA).unwrap();
        assert!(signature.starts_with("-----BEGIN PGP SIGNATURE-----"));
        assert!(
            signature
                .trim_end()
                .ends_with("-----END PGP SIGNATURE-----")
        );

        let keyring = Keyring::from_armored(&key.public_armored).unwrap();
        let signer = keyring.verify(DATA, signature.as_bytes()).unwrap();
        assert_eq!(signer.fingerprint, key.secret.fingerprint());
        assert_eq!(signer.user_id.as_deref(), Some("alice <alice@example.com>"));
        assert_eq!(signer.subkey_fingerprint, None);
        assert!(
            signer
                .fingerprint
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }

    #[test]
    fn rsa_round_trip() {
        round_trip(KeyKind::Rsa2048);
    }

    #[test]
    fn ed25519_round_trip() {
        round_trip(KeyKind::Ed25519);
    }

    #[test]
    fn signature_has_strong_hash_and_names_its_issuer() {
        let key = test_key("alice", KeyKind::Ed25519);
        let signature = sign_detached(&key.secret, DATA).unwrap();
        let parsed = parse_signatures(signature.as_bytes()).unwrap();
        let [sig] = parsed.as_slice() else {
            panic!("one signature expected, got {}", parsed.len());
        };
        assert_eq!(sig.typ(), Some(SignatureType::Binary));
        assert!(matches!(
            sig.hash_alg(),
            Some(HashAlgorithm::Sha256 | HashAlgorithm::Sha384 | HashAlgorithm::Sha512)
        ));
        assert!(sig.created().is_some());
        let issuer_fps: Vec<String> = sig
            .issuer_fingerprint()
            .into_iter()
            .map(fingerprint_hex)
            .collect();
        assert_eq!(issuer_fps, vec![key.secret.fingerprint().to_string()]);
        assert_eq!(sig.issuer_key_id().len(), 1);
    }

    #[test]
    fn tampered_data_is_a_mismatch_naming_the_key() {
        let key = test_key("alice", KeyKind::Ed25519);
        let signature = sign_detached(&key.secret, DATA).unwrap();
        let keyring = Keyring::from_armored(&key.public_armored).unwrap();
        let mut tampered = DATA.to_vec();
        tampered[5] ^= 1;
        let err = keyring.verify(&tampered, signature.as_bytes()).unwrap_err();
        assert!(matches!(err, VerifyError::Mismatch { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(key.secret.fingerprint()), "{message}");
        assert!(message.contains("alice@example.com"), "{message}");
        assert!(message.contains("does not match"), "{message}");

        // Appending or dropping bytes is caught too.
        let longer = [DATA, b"x"].concat();
        assert!(matches!(
            keyring.verify(&longer, signature.as_bytes()),
            Err(VerifyError::Mismatch { .. })
        ));
        assert!(matches!(
            keyring.verify(&DATA[..DATA.len() - 1], signature.as_bytes()),
            Err(VerifyError::Mismatch { .. })
        ));
    }

    #[test]
    fn other_key_is_unknown_naming_the_issuer() {
        let alice = test_key("alice", KeyKind::Ed25519);
        let bob = test_key("bob", KeyKind::Ed25519);
        let signature = sign_detached(&alice.secret, DATA).unwrap();
        let keyring = Keyring::from_armored(&bob.public_armored).unwrap();
        let err = keyring.verify(DATA, signature.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            VerifyError::UnknownKey {
                issuer: alice.secret.fingerprint().to_string()
            }
        );
        assert!(err.to_string().contains("not in the keyring"));
    }

    #[test]
    fn keyring_with_several_keys() {
        let alice = test_key("alice", KeyKind::Ed25519);
        let bob = test_key("bob", KeyKind::Rsa2048);
        let carol = test_key("carol", KeyKind::Ed25519);

        // Armored blocks appended to one file, with text around them, as people do.
        let appended = format!(
            "# trusted keys\n{}\nbob's key:\n{}",
            alice.public_armored, bob.public_armored
        );
        let keyring = Keyring::from_armored(&appended).unwrap();
        assert_eq!(
            keyring.fingerprints(),
            vec![alice.secret.fingerprint(), bob.secret.fingerprint()]
        );
        for key in [&alice, &bob] {
            let signature = sign_detached(&key.secret, DATA).unwrap();
            let signer = keyring.verify(DATA, signature.as_bytes()).unwrap();
            assert_eq!(signer.fingerprint, key.secret.fingerprint());
        }
        let by_carol = sign_detached(&carol.secret, DATA).unwrap();
        assert!(matches!(
            keyring.verify(DATA, by_carol.as_bytes()),
            Err(VerifyError::UnknownKey { .. })
        ));

        // Several keys inside one armored block (`gpg --export --armor A B`).
        let public = |k: &TestKey| {
            let (key, _) = SignedPublicKey::from_string(&k.public_armored).unwrap();
            key
        };
        let mut one_block = Vec::new();
        pgp::armor::write(
            &vec![public(&alice), public(&carol)],
            pgp::armor::BlockType::PublicKey,
            &mut one_block,
            None,
            true,
        )
        .unwrap();
        let keyring = Keyring::from_bytes(&one_block).unwrap();
        assert_eq!(keyring.fingerprints().len(), 2);
        let signer = keyring.verify(DATA, by_carol.as_bytes()).unwrap();
        assert_eq!(signer.fingerprint, carol.secret.fingerprint());
    }

    #[test]
    fn binary_keyring_and_binary_signature() {
        let key = test_key("alice", KeyKind::Ed25519);
        let (public, _) = SignedPublicKey::from_string(&key.public_armored).unwrap();
        let keyring =
            Keyring::from_bytes(&pgp::ser::Serialize::to_bytes(&public).unwrap()).unwrap();

        let armored = sign_detached(&key.secret, DATA).unwrap();
        let (signature, _) = DetachedSignature::from_string(&armored).unwrap();
        let binary = pgp::ser::Serialize::to_bytes(&signature).unwrap();
        let signer = keyring.verify(DATA, &binary).unwrap();
        assert_eq!(signer.fingerprint, key.secret.fingerprint());
    }

    #[test]
    fn secret_keys_in_a_keyring_count_as_their_public_part() {
        let key = test_key("alice", KeyKind::Ed25519);
        let keyring = Keyring::from_armored(&key.secret_armored).unwrap();
        let signature = sign_detached(&key.secret, DATA).unwrap();
        assert_eq!(
            keyring
                .verify(DATA, signature.as_bytes())
                .unwrap()
                .fingerprint,
            key.secret.fingerprint()
        );
    }

    #[test]
    fn armored_signature_survives_crlf_and_surrounding_text() {
        let key = test_key("alice", KeyKind::Ed25519);
        let keyring = Keyring::from_armored(&key.public_armored).unwrap();
        let signature = sign_detached(&key.secret, DATA).unwrap();
        let windows = format!("signed by CI\r\n{}", signature.replace('\n', "\r\n"));
        assert!(keyring.verify(DATA, windows.as_bytes()).is_ok());
    }

    #[test]
    fn empty_and_garbage_keyrings_are_errors() {
        for text in [
            "",
            "   \n",
            "hello world",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!\n",
        ] {
            let err = Keyring::from_armored(text).unwrap_err();
            assert!(
                matches!(
                    err,
                    SignatureError::Parse { .. } | SignatureError::EmptyKeyring
                ),
                "{text:?}: {err:?}"
            );
        }
        assert!(Keyring::from_bytes(&[0x99, 0x00, 0x01]).is_err());
    }

    fn malformed_reason(keyring: &Keyring, signature: &[u8]) -> String {
        match keyring.verify(DATA, signature) {
            Err(VerifyError::Malformed { reason }) => reason,
            other => panic!(
                "{:?}: expected Malformed, got {other:?}",
                String::from_utf8_lossy(signature)
            ),
        }
    }

    #[test]
    fn bad_signatures_are_clear_errors() {
        let key = test_key("alice", KeyKind::Ed25519);
        let keyring = Keyring::from_armored(&key.public_armored).unwrap();
        let signature = sign_detached(&key.secret, DATA).unwrap();

        assert!(malformed_reason(&keyring, b"").contains("empty"));
        assert!(malformed_reason(&keyring, b" \n").contains("empty"));
        assert!(malformed_reason(&keyring, b"not a signature").contains("BEGIN PGP SIGNATURE"));
        assert_eq!(
            malformed_reason(&keyring, key.public_armored.as_bytes()),
            "it is an armored PGP PUBLIC KEY BLOCK, not a signature"
        );
        assert!(malformed_reason(&keyring, &vec![b'a'; 1 << 20]).contains("too large"));

        // Cut before the END line.
        let cut = &signature.as_bytes()[..signature.len() * 2 / 3];
        let reason = malformed_reason(&keyring, cut);
        assert!(reason.contains("truncated"), "{reason}");

        // A damaged body: a short reason, without the parser's dump of the input.
        let damaged = signature.replacen("\n\n", "\n\n@@@@", 1);
        let reason = malformed_reason(&keyring, damaged.as_bytes());
        assert!(reason.contains("damaged") && reason.len() < 250, "{reason}");

        // Binary garbage, including the zip itself given as its own signature.
        malformed_reason(&keyring, DATA);
        malformed_reason(&keyring, &[0xc2, 0x05, 0x04, 0x00]);
    }

    #[test]
    fn no_input_panics() {
        let key = test_key("alice", KeyKind::Ed25519);
        let keyring = Keyring::from_armored(&key.public_armored).unwrap();
        let signature = sign_detached(&key.secret, DATA).unwrap();
        let (parsed, _) = DetachedSignature::from_string(&signature).unwrap();
        let binary = pgp::ser::Serialize::to_bytes(&parsed).unwrap();
        // Every truncation and every single-byte corruption of both forms. Some changes are
        // harmless (armor whitespace, the unhashed issuer key id), so only panics are failures.
        for sig in [signature.as_bytes(), binary.as_slice()] {
            for len in 0..sig.len() {
                let _ = keyring.verify(DATA, &sig[..len]);
            }
            for i in 0..sig.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut bad = sig.to_vec();
                    bad[i] ^= flip;
                    let _ = keyring.verify(DATA, &bad);
                }
            }
        }
        // The hashed area (after the 8-byte packet start) and the signature value are
        // protected. The value is two MPIs (r, s) whose length prefixes vary (leading zero
        // bits are dropped, and a changed bit count can be harmless), so only the last 30
        // bytes, inside s, are certain to be value bytes.
        for i in (8..30).chain(binary.len() - 30..binary.len()) {
            let mut bad = binary.clone();
            bad[i] ^= 0x01;
            assert!(
                keyring.verify(DATA, &bad).is_err(),
                "byte {i} changed and accepted"
            );
        }
        // Same for keyrings and secret keys.
        for len in (0..key.secret_armored.len()).step_by(7) {
            let _ = Keyring::from_armored(&key.secret_armored[..len]);
            let _ = SecretKey::from_armored(&key.secret_armored[..len], None);
        }
    }

    #[test]
    fn passphrase_protected_key() {
        let (secret, public) =
            generate_protected_key("dana <dana@example.com>", KeyKind::Ed25519, Some("s3cret"))
                .unwrap();
        let err = SecretKey::from_armored(&secret, None).unwrap_err();
        assert!(
            matches!(err, SignatureError::PassphraseRequired { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("passphrase"));
        let err = SecretKey::from_armored(&secret, Some("wrong")).unwrap_err();
        assert!(
            matches!(err, SignatureError::WrongPassphrase { .. }),
            "{err:?}"
        );

        let key = SecretKey::from_armored(&secret, Some("s3cret")).unwrap();
        let signature = sign_detached(&key, DATA).unwrap();
        let keyring = Keyring::from_armored(&public).unwrap();
        assert_eq!(
            keyring
                .verify(DATA, signature.as_bytes())
                .unwrap()
                .fingerprint,
            key.fingerprint()
        );
    }

    #[test]
    fn secret_key_errors() {
        let alice = test_key("alice", KeyKind::Ed25519);
        let bob = test_key("bob", KeyKind::Ed25519);
        let err = SecretKey::from_armored(&alice.public_armored, None).unwrap_err();
        assert!(matches!(err, SignatureError::NoSecretKey { .. }), "{err:?}");
        assert!(err.to_string().contains("only 1 public key"), "{err}");

        let both = format!("{}{}", alice.secret_armored, bob.secret_armored);
        let err = SecretKey::from_armored(&both, None).unwrap_err();
        assert!(
            matches!(err, SignatureError::SeveralSecretKeys { count: 2, .. }),
            "{err:?}"
        );

        assert!(SecretKey::from_armored("", None).is_err());
        // The secret key is never printed.
        let debug = format!("{:?}", alice.secret);
        assert!(
            debug.contains(alice.secret.fingerprint()) && debug.len() < 200,
            "{debug}"
        );
    }

    #[test]
    fn signing_subkey_is_used_when_the_primary_cannot_sign() {
        use pgp::composed::SubkeyParamsBuilder;
        let subkey = SubkeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_sign(true)
            .build()
            .unwrap();
        let secret = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(false)
            .primary_user_id("erin <erin@example.com>".into())
            .subkeys(vec![subkey])
            .build()
            .unwrap()
            .generate(rand::thread_rng())
            .unwrap();
        let subkey_fingerprint = fingerprint_hex(&secret.secret_subkeys[0].key.fingerprint());
        let armored_secret = secret.to_armored_string(ArmorOptions::default()).unwrap();
        let armored_public = secret
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .unwrap();

        let key = SecretKey::from_armored(&armored_secret, None).unwrap();
        let signature = sign_detached(&key, DATA).unwrap();
        let keyring = Keyring::from_armored(&armored_public).unwrap();
        let signer = keyring.verify(DATA, signature.as_bytes()).unwrap();
        assert_eq!(signer.fingerprint, key.fingerprint());
        assert_eq!(signer.subkey_fingerprint, Some(subkey_fingerprint));
        assert_eq!(signer.user_id.as_deref(), Some("erin <erin@example.com>"));
    }

    #[test]
    fn elastic_key_loads() {
        let keyring = Keyring::from_armored(ELASTIC_KEY).unwrap();
        assert_eq!(
            keyring.fingerprints(),
            vec!["46095ACC8548582C1A2699A9D27D666CD88E42B4"]
        );
        assert_eq!(
            keyring.keys[0].user_id.as_deref(),
            Some("Elasticsearch (Elasticsearch Signing Key) <dev_ops@elasticsearch.org>")
        );
        // A signature by a random key names that key, not Elastic's.
        let key = test_key("mallory", KeyKind::Ed25519);
        let signature = sign_detached(&key.secret, DATA).unwrap();
        assert!(matches!(
            keyring.verify(DATA, signature.as_bytes()),
            Err(VerifyError::UnknownKey { .. })
        ));
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_379_289_600), "2013-09-16");
    }
}
