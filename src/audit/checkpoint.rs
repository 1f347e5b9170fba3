//! Signed checkpoints of the audit chain. A checkpoint names a chain position (`seq`) and the hash
//! of the record there, the time, and an ed25519 signature over exactly those. Copied off the box,
//! it later proves that the log up to `seq` was not rewritten: `audit verify --checkpoint FILE`
//! fails if the record at `seq` no longer hashes to `head` or is gone.
//!
//! Key file: 64 hex characters (the 32-byte ed25519 seed), or a PKCS#8 PEM `PRIVATE KEY` as made by
//! `openssl genpkey -algorithm ed25519`. `wormgate audit keygen` writes the hex form.

use super::error::{CheckpointError, SigningKeyError};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Domain separation for the signed message.
const CONTEXT: &str = "wormgate-audit-checkpoint/v1";

/// DER prefix of a PKCS#8 ed25519 private key (RFC 8410); the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A signed chain position.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    /// Always `wormgate-audit-checkpoint/v1`.
    pub format: String,
    /// Chain length covered (the seq of the last covered record).
    pub seq: u64,
    /// Hash of record `seq` (the chain head at signing time).
    pub head: String,
    /// When it was signed (RFC 3339, guarded clock).
    pub time: String,
    /// Hex ed25519 public key.
    pub public_key: String,
    /// Hex ed25519 signature over [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    /// The exact bytes that are signed.
    pub fn message(seq: u64, head: &str, time: &str) -> String {
        format!("{CONTEXT}\nseq={seq}\nhead={head}\ntime={time}\n")
    }

    /// Sign (seq, head) at `time`.
    pub fn sign(key: &SigningKey, seq: u64, head: &str, time: &str) -> Checkpoint {
        let sig = key.sign(Self::message(seq, head, time).as_bytes());
        Checkpoint {
            format: CONTEXT.into(),
            seq,
            head: head.to_string(),
            time: time.to_string(),
            public_key: hex::encode(key.verifying_key().to_bytes()),
            signature: hex::encode(sig.to_bytes()),
        }
    }

    /// Check the signature against the embedded public key.
    pub fn verify_signature(&self) -> Result<(), CheckpointError> {
        if self.format != CONTEXT {
            return Err(CheckpointError::UnknownFormat(self.format.clone()));
        }
        let pk: [u8; 32] = hex::decode(&self.public_key)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or(CheckpointError::PublicKeyEncoding)?;
        let vk = VerifyingKey::from_bytes(&pk).map_err(CheckpointError::PublicKey)?;
        let sig: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or(CheckpointError::SignatureEncoding)?;
        vk.verify(
            Self::message(self.seq, &self.head, &self.time).as_bytes(),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| CheckpointError::BadSignature)
    }

    /// Read a checkpoint file.
    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let text = std::fs::read_to_string(path).map_err(|source| CheckpointError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| CheckpointError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Store under `<audit dir>/checkpoints/` (never overwriting); returns the path.
    pub fn store(&self, audit_dir: &Path) -> std::io::Result<PathBuf> {
        let dir = audit_dir.join("checkpoints");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("checkpoint-{:012}.json", self.seq));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
                f.write_all(b"\n")?;
                f.sync_all()?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        Ok(path)
    }

    /// The newest stored checkpoint, if any.
    pub fn latest(audit_dir: &Path) -> Option<Checkpoint> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(audit_dir.join("checkpoints"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files.last().and_then(|p| Checkpoint::load(p).ok())
    }
}

/// Load a signing key (hex seed or PKCS#8 PEM).
pub fn load_signing_key(path: &Path) -> Result<SigningKey, SigningKeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| SigningKeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_signing_key(&text).map_err(|e| SigningKeyError::InFile {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Parse a key in either accepted form.
pub fn parse_signing_key(text: &str) -> Result<SigningKey, SigningKeyError> {
    let t = text.trim();
    if t.starts_with("-----BEGIN") {
        use base64::Engine;
        if !t.starts_with("-----BEGIN PRIVATE KEY-----") {
            return Err(SigningKeyError::PemKind);
        }
        let body: String = t
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("");
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(SigningKeyError::PemBody)?;
        if der.len() != 48 || der[..16] != PKCS8_ED25519_PREFIX {
            return Err(SigningKeyError::NotEd25519);
        }
        let seed: [u8; 32] = der[16..].try_into().map_err(|_| SigningKeyError::NotEd25519)?;
        return Ok(SigningKey::from_bytes(&seed));
    }
    let seed: [u8; 32] = hex::decode(t)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(SigningKeyError::Encoding)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Make a new key from the operating system's randomness.
pub fn generate_signing_key() -> std::io::Result<SigningKey> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Hex public key of a signing key.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_tamper() {
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let c = Checkpoint::sign(&k, 42, "ab", "2030-01-01T00:00:00.000Z");
        c.verify_signature().unwrap();
        let mut bad = c.clone();
        bad.seq = 41;
        assert!(bad.verify_signature().is_err());
        let mut bad = c.clone();
        bad.head = "ac".into();
        assert!(bad.verify_signature().is_err());
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let mut bad = c;
        bad.public_key = public_key_hex(&other);
        assert!(bad.verify_signature().is_err());
    }

    #[test]
    fn key_forms() {
        let hexkey = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
        let k = parse_signing_key(hexkey).unwrap();
        // RFC 8032 test vector 1 public key.
        assert_eq!(
            public_key_hex(&k),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        use base64::Engine;
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&hex::decode(hexkey).unwrap());
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        );
        assert_eq!(parse_signing_key(&pem).unwrap().to_bytes(), k.to_bytes());
        assert!(parse_signing_key("zz").is_err());
    }
}
