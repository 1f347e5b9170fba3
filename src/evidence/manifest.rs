//! The signed manifest of an evidence bundle and the tar it travels in. The manifest
//! (`MANIFEST.json`) lists the name, size and SHA-256 of every other file of the bundle; the
//! signature (`MANIFEST.sig`) is an ed25519 signature with the audit checkpoint key over the exact
//! bytes of `MANIFEST.json` (domain-separated like checkpoints, see `audit::checkpoint`), so the
//! bundle can be checked anywhere without trusting the machine that made it: `wormgate evidence
//! verify` recomputes every hash and size, refuses missing and extra files, and checks the signature
//! against the key inside the bundle and, when the examiner gives one, against the key they expect.
//!
//! Signing over the bytes as shipped (not a re-serialisation) means no canonical-JSON rules are
//! needed: the verifier hashes what it received.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{Read, Write};

/// Name of the manifest inside the bundle.
pub const MANIFEST_NAME: &str = "MANIFEST.json";
/// Name of the detached signature inside the bundle.
pub const SIGNATURE_NAME: &str = "MANIFEST.sig";
/// Format tag of the manifest (and domain separation of the signed message).
pub const MANIFEST_FORMAT: &str = "wormgate-evidence-manifest/v1";

/// Why a bundle could not be made or read (a bundle that reads but does not verify is a
/// [`VerifyOutcome`] with problems, not an error).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Writing or reading the tar failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The manifest could not be serialised.
    #[error("cannot encode the manifest: {0}")]
    Encode(#[source] serde_json::Error),
    /// Two members would have the same name (a bug in the caller).
    #[error("two bundle files are named {0}")]
    DuplicateName(String),
}

/// One listed file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Path inside the tar.
    pub name: String,
    /// Length in bytes.
    pub size: u64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
}

/// `MANIFEST.json`: what the bundle is and every file in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// When the bundle was made (RFC 3339).
    pub created: String,
    /// The period of the audit export: inclusive lower bound (RFC 3339), if any.
    pub since: Option<String>,
    /// The period of the audit export: exclusive upper bound (RFC 3339), if any.
    pub until: Option<String>,
    /// The bucket the bundle is restricted to, if any.
    pub bucket: Option<String>,
    /// Where the evidence was read (a data directory, or a running gateway's admin API).
    pub source: String,
    /// Hex ed25519 public key of the signer (the audit checkpoint key).
    pub public_key: String,
    /// Every file of the bundle except `MANIFEST.json` and `MANIFEST.sig`, in tar order.
    pub files: Vec<FileEntry>,
}

/// `MANIFEST.sig`: the signature over the bytes of `MANIFEST.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestSignature {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Hex ed25519 public key (the same as the manifest's).
    pub public_key: String,
    /// Hex ed25519 signature over [`signed_message`] of the manifest bytes.
    pub signature: String,
}

/// What the manifest describes besides the files.
#[derive(Debug, Clone, Default)]
pub struct ManifestHeader {
    /// See [`Manifest::created`].
    pub created: String,
    /// See [`Manifest::since`].
    pub since: Option<String>,
    /// See [`Manifest::until`].
    pub until: Option<String>,
    /// See [`Manifest::bucket`].
    pub bucket: Option<String>,
    /// See [`Manifest::source`].
    pub source: String,
}

/// One file of a bundle, in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Path inside the tar.
    pub name: String,
    /// Content.
    pub bytes: Vec<u8>,
}

impl Member {
    /// A member from a name and content.
    pub fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Member {
        Member {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// The bytes that are signed: the format tag, a newline, then the manifest exactly as shipped.
pub fn signed_message(manifest_bytes: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(MANIFEST_FORMAT.len() + 1 + manifest_bytes.len());
    m.extend_from_slice(MANIFEST_FORMAT.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(manifest_bytes);
    m
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Build the manifest of `files`, sign it with `key`, and return the files followed by
/// `MANIFEST.json` and `MANIFEST.sig` (the order they go into the tar).
pub fn seal(files: Vec<Member>, header: ManifestHeader, key: &SigningKey) -> Result<Vec<Member>, ManifestError> {
    let mut seen = BTreeSet::new();
    for f in &files {
        if f.name == MANIFEST_NAME || f.name == SIGNATURE_NAME || !seen.insert(f.name.as_str()) {
            return Err(ManifestError::DuplicateName(f.name.clone()));
        }
    }
    let public_key = hex::encode(key.verifying_key().to_bytes());
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        created: header.created,
        since: header.since,
        until: header.until,
        bucket: header.bucket,
        source: header.source,
        public_key: public_key.clone(),
        files: files
            .iter()
            .map(|f| FileEntry {
                name: f.name.clone(),
                size: f.bytes.len() as u64,
                sha256: sha256_hex(&f.bytes),
            })
            .collect(),
    };
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(ManifestError::Encode)?;
    manifest_bytes.push(b'\n');
    let sig = key.sign(&signed_message(&manifest_bytes));
    let signature = ManifestSignature {
        format: MANIFEST_FORMAT.into(),
        public_key,
        signature: hex::encode(sig.to_bytes()),
    };
    let mut sig_bytes = serde_json::to_vec_pretty(&signature).map_err(ManifestError::Encode)?;
    sig_bytes.push(b'\n');
    let mut out = files;
    out.push(Member::new(MANIFEST_NAME, manifest_bytes));
    out.push(Member::new(SIGNATURE_NAME, sig_bytes));
    Ok(out)
}

/// Write `members` as a tar (regular files, mode 0644, owner 0, modification time `mtime` seconds
/// since the epoch so the same evidence gives the same bytes).
pub fn write_tar(members: &[Member], mtime: u64, out: impl Write) -> Result<(), ManifestError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| ManifestError::Io { what, source }
    };
    let mut b = tar::Builder::new(out);
    for m in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(m.bytes.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, &m.name, m.bytes.as_slice())
            .map_err(io(&format!("cannot add {} to the tar", m.name)))?;
    }
    b.into_inner()
        .map_err(io("cannot finish the tar"))?
        .flush()
        .map_err(io("cannot write the tar"))
}

/// One entry read from a tar.
#[derive(Debug, Clone)]
pub struct TarEntry {
    /// Path inside the tar.
    pub name: String,
    /// Whether it is a regular file (anything else is refused by [`verify`]).
    pub regular: bool,
    /// Content (empty for non-regular entries).
    pub bytes: Vec<u8>,
}

/// Read every entry of a tar into memory.
pub fn read_tar(input: impl Read) -> Result<Vec<TarEntry>, ManifestError> {
    let io = |what: &'static str| {
        move |source| ManifestError::Io {
            what: what.to_string(),
            source,
        }
    };
    let mut a = tar::Archive::new(input);
    let mut out = Vec::new();
    for e in a.entries().map_err(io("not a readable tar"))? {
        let mut e = e.map_err(io("damaged tar entry"))?;
        let name = e
            .path()
            .map_err(io("bad name in the tar"))?
            .to_string_lossy()
            .into_owned();
        let regular = e.header().entry_type().is_file();
        let mut bytes = Vec::new();
        if regular {
            e.read_to_end(&mut bytes).map_err(io("cannot read a tar entry"))?;
        }
        out.push(TarEntry { name, regular, bytes });
    }
    Ok(out)
}

/// Which key the signature was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyCheck {
    /// Only the key inside the bundle: proves the bundle is intact, not who made it.
    Embedded,
    /// The key the examiner expected (given with `--public-key`).
    Expected,
}

/// The result of checking a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyOutcome {
    /// No problem found.
    pub ok: bool,
    /// Files listed in the manifest and found intact.
    pub files_ok: usize,
    /// Files listed in the manifest.
    pub files_listed: usize,
    /// The signer's public key (from the manifest), if it could be read.
    pub signed_by: Option<String>,
    /// What the signature was checked against.
    pub key_check: KeyCheck,
    /// Everything that is wrong, one line each.
    pub problems: Vec<String>,
    /// The manifest, when it could be read.
    #[serde(skip)]
    pub manifest: Option<Manifest>,
}

impl VerifyOutcome {
    /// The report `wormgate evidence verify` prints.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for p in &self.problems {
            let _ = writeln!(s, "PROBLEM: {p}");
        }
        if let Some(m) = &self.manifest {
            let _ = writeln!(
                s,
                "bundle made {} from {}; period {} .. {}{}",
                m.created,
                m.source,
                m.since.as_deref().unwrap_or("(start)"),
                m.until.as_deref().unwrap_or("(end)"),
                m.bucket.as_deref().map(|b| format!("; bucket {b}")).unwrap_or_default()
            );
        }
        if let Some(k) = &self.signed_by {
            let _ = writeln!(s, "signed by {k}");
        }
        let key = match self.key_check {
            KeyCheck::Embedded => "the key inside the bundle only (give --public-key to prove who signed it)",
            KeyCheck::Expected => "the expected public key",
        };
        if self.ok {
            let _ = writeln!(
                s,
                "OK: {} of {} files match the manifest; the signature is valid, checked against {key}",
                self.files_ok, self.files_listed
            );
        } else {
            let _ = writeln!(
                s,
                "FAILED: {} of {} files match the manifest; {} problem(s) listed above",
                self.files_ok,
                self.files_listed,
                self.problems.len()
            );
        }
        s
    }
}

fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    hex::decode(s.trim()).ok().and_then(|v| v.try_into().ok())
}

/// Check a bundle read with [`read_tar`]: the manifest and its signature (against the embedded
/// key, and `expected_key` — hex ed25519 public key — when given), every listed file present with
/// its size and SHA-256, nothing unlisted, no duplicate or non-file entries.
pub fn verify(entries: &[TarEntry], expected_key: Option<&str>) -> VerifyOutcome {
    let mut out = VerifyOutcome {
        ok: false,
        files_ok: 0,
        files_listed: 0,
        signed_by: None,
        key_check: if expected_key.is_some() {
            KeyCheck::Expected
        } else {
            KeyCheck::Embedded
        },
        problems: Vec::new(),
        manifest: None,
    };
    let mut by_name: BTreeMap<&str, &TarEntry> = BTreeMap::new();
    for e in entries {
        if !e.regular {
            out.problems.push(format!(
                "{}: not a regular file (links and directories are not allowed)",
                e.name
            ));
        } else if by_name.insert(e.name.as_str(), e).is_some() {
            out.problems
                .push(format!("{}: appears more than once in the tar", e.name));
        }
    }
    let (Some(manifest_entry), Some(sig_entry)) = (by_name.get(MANIFEST_NAME), by_name.get(SIGNATURE_NAME)) else {
        for n in [MANIFEST_NAME, SIGNATURE_NAME] {
            if !by_name.contains_key(n) {
                out.problems.push(format!(
                    "{n} is missing: not a wormgate evidence bundle, or it was stripped"
                ));
            }
        }
        return out;
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_entry.bytes) {
        Ok(m) => m,
        Err(e) => {
            out.problems.push(format!("{MANIFEST_NAME} does not parse: {e}"));
            return out;
        }
    };
    if manifest.format != MANIFEST_FORMAT {
        out.problems
            .push(format!("{MANIFEST_NAME}: unknown format '{}'", manifest.format));
    }
    out.signed_by = Some(manifest.public_key.clone());
    check_signature(
        &mut out,
        &manifest,
        &manifest_entry.bytes,
        &sig_entry.bytes,
        expected_key,
    );
    out.files_listed = manifest.files.len();
    let mut listed = BTreeSet::new();
    for f in &manifest.files {
        if !listed.insert(f.name.as_str()) {
            out.problems
                .push(format!("{}: listed more than once in the manifest", f.name));
            continue;
        }
        if f.name == MANIFEST_NAME || f.name == SIGNATURE_NAME {
            out.problems.push(format!(
                "{}: the manifest must not list itself or its signature",
                f.name
            ));
            continue;
        }
        let Some(e) = by_name.get(f.name.as_str()) else {
            out.problems
                .push(format!("{}: missing (listed in the manifest, not in the tar)", f.name));
            continue;
        };
        let size = e.bytes.len() as u64;
        let sha = sha256_hex(&e.bytes);
        if size != f.size {
            out.problems.push(format!(
                "{}: size {size} bytes, the manifest says {} (truncated or appended to)",
                f.name, f.size
            ));
        } else if !sha.eq_ignore_ascii_case(&f.sha256) {
            out.problems.push(format!(
                "{}: content changed: SHA-256 {sha}, the manifest says {}",
                f.name, f.sha256
            ));
        } else {
            out.files_ok += 1;
        }
    }
    for name in by_name.keys() {
        if *name != MANIFEST_NAME && *name != SIGNATURE_NAME && !listed.contains(name) {
            out.problems
                .push(format!("{name}: extra file, not listed in the manifest (added)"));
        }
    }
    out.manifest = Some(manifest);
    out.ok = out.problems.is_empty();
    out
}

fn check_signature(
    out: &mut VerifyOutcome,
    manifest: &Manifest,
    manifest_bytes: &[u8],
    sig_bytes: &[u8],
    expected_key: Option<&str>,
) {
    let sig: ManifestSignature = match serde_json::from_slice(sig_bytes) {
        Ok(s) => s,
        Err(e) => {
            out.problems.push(format!("{SIGNATURE_NAME} does not parse: {e}"));
            return;
        }
    };
    if !sig.public_key.eq_ignore_ascii_case(&manifest.public_key) {
        out.problems.push(format!(
            "{SIGNATURE_NAME} names key {}, the manifest {}",
            sig.public_key, manifest.public_key
        ));
    }
    if let Some(k) = expected_key {
        if !k.trim().eq_ignore_ascii_case(&manifest.public_key) {
            out.problems.push(format!(
                "signed by {}, not by the expected key {}",
                manifest.public_key,
                k.trim()
            ));
        }
    }
    let Some(vk) = parse_hex::<32>(&manifest.public_key).and_then(|pk| VerifyingKey::from_bytes(&pk).ok()) else {
        out.problems
            .push(format!("{MANIFEST_NAME}: public_key is not a valid ed25519 key"));
        return;
    };
    let Some(s) = parse_hex::<64>(&sig.signature) else {
        out.problems
            .push(format!("{SIGNATURE_NAME}: signature is not 64 hex bytes"));
        return;
    };
    if vk
        .verify(&signed_message(manifest_bytes), &Signature::from_bytes(&s))
        .is_err()
    {
        out.problems.push(format!(
            "signature does not verify: {MANIFEST_NAME} was altered or not signed by its key"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SigningKey {
        SigningKey::from_bytes(&[b; 32])
    }

    fn sealed() -> Vec<Member> {
        let files = vec![
            Member::new("INDEX.md", b"# index\n".to_vec()),
            Member::new("audit/export.jsonl", b"{\"seq\":1}\n".to_vec()),
            Member::new("empty.txt", Vec::new()),
        ];
        let header = ManifestHeader {
            created: "2030-01-01T00:00:00.000Z".into(),
            source: "test".into(),
            ..Default::default()
        };
        seal(files, header, &key(7)).unwrap()
    }

    fn roundtrip(members: &[Member]) -> Vec<TarEntry> {
        let mut tar = Vec::new();
        write_tar(members, 1_900_000_000, &mut tar).unwrap();
        read_tar(tar.as_slice()).unwrap()
    }

    fn pk(b: u8) -> String {
        hex::encode(key(b).verifying_key().to_bytes())
    }

    #[test]
    fn intact_bundle_verifies_with_embedded_and_expected_key() {
        let e = roundtrip(&sealed());
        let v = verify(&e, None);
        assert!(v.ok, "{:?}", v.problems);
        assert_eq!((v.files_ok, v.files_listed), (3, 3));
        assert_eq!(v.key_check, KeyCheck::Embedded);
        let v = verify(&e, Some(&pk(7).to_uppercase()));
        assert!(v.ok, "{:?}", v.problems);
        assert_eq!(v.key_check, KeyCheck::Expected);
        assert!(v.render().contains("OK: 3 of 3 files match"), "{}", v.render());
        assert!(v.render().contains("against the expected public key"), "{}", v.render());
    }

    #[test]
    fn tampered_file_detected() {
        let mut m = sealed();
        m[1].bytes[3] ^= 1;
        let v = verify(&roundtrip(&m), None);
        assert!(!v.ok);
        assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
        assert!(
            v.problems[0].contains("audit/export.jsonl: content changed"),
            "{:?}",
            v.problems
        );
        let mut m = sealed();
        m[0].bytes.push(b'x');
        let v = verify(&roundtrip(&m), None);
        assert!(v.problems[0].contains("INDEX.md: size 9 bytes"), "{:?}", v.problems);
    }

    #[test]
    fn missing_and_extra_files_detected() {
        let mut m = sealed();
        m.remove(2);
        let v = verify(&roundtrip(&m), None);
        assert!(!v.ok);
        assert!(v.problems[0].contains("empty.txt: missing"), "{:?}", v.problems);
        let mut m = sealed();
        m.insert(0, Member::new("planted.txt", b"x".to_vec()));
        let v = verify(&roundtrip(&m), None);
        assert!(!v.ok);
        assert!(v.problems[0].contains("planted.txt: extra file"), "{:?}", v.problems);
        // The same name twice: the examiner could be shown either copy.
        let mut m = sealed();
        m.push(Member::new("INDEX.md", b"# other\n".to_vec()));
        let v = verify(&roundtrip(&m), None);
        assert!(
            v.problems.iter().any(|p| p.contains("more than once in the tar")),
            "{:?}",
            v.problems
        );
        // No manifest at all.
        let m: Vec<Member> = sealed().into_iter().filter(|m| m.name != MANIFEST_NAME).collect();
        let v = verify(&roundtrip(&m), None);
        assert!(!v.ok);
        assert!(v.problems[0].contains("MANIFEST.json is missing"), "{:?}", v.problems);
    }

    #[test]
    fn wrong_key_and_altered_manifest_detected() {
        let e = roundtrip(&sealed());
        let v = verify(&e, Some(&pk(8)));
        assert!(!v.ok);
        assert!(v.problems[0].contains("not by the expected key"), "{:?}", v.problems);

        // Re-sign the same files with another key: intact against its own key, refused against the
        // examiner's.
        let files: Vec<Member> = sealed()
            .into_iter()
            .filter(|m| m.name != MANIFEST_NAME && m.name != SIGNATURE_NAME)
            .collect();
        let forged = seal(files, ManifestHeader::default(), &key(9)).unwrap();
        assert!(verify(&roundtrip(&forged), None).ok);
        assert!(!verify(&roundtrip(&forged), Some(&pk(7))).ok);

        // An edited manifest (a hash replaced to cover a changed file) breaks the signature.
        let mut m = sealed();
        m[1].bytes[3] ^= 1;
        let new_sha = sha256_hex(&m[1].bytes);
        let idx = m.iter().position(|x| x.name == MANIFEST_NAME).unwrap();
        let mut man: Manifest = serde_json::from_slice(&m[idx].bytes).unwrap();
        man.files[1].sha256 = new_sha;
        let mut bytes = serde_json::to_vec_pretty(&man).unwrap();
        bytes.push(b'\n');
        m[idx].bytes = bytes;
        let v = verify(&roundtrip(&m), None);
        assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
        assert!(v.problems[0].contains("signature does not verify"), "{:?}", v.problems);

        // A signature file naming another key than the manifest.
        let mut m = sealed();
        let idx = m.iter().position(|x| x.name == SIGNATURE_NAME).unwrap();
        let mut sig: ManifestSignature = serde_json::from_slice(&m[idx].bytes).unwrap();
        sig.public_key = pk(8);
        m[idx].bytes = serde_json::to_vec(&sig).unwrap();
        assert!(!verify(&roundtrip(&m), None).ok);
    }

    #[test]
    fn seal_refuses_duplicate_and_reserved_names() {
        let dup = vec![Member::new("a", b"1".to_vec()), Member::new("a", b"2".to_vec())];
        assert!(matches!(
            seal(dup, ManifestHeader::default(), &key(1)),
            Err(ManifestError::DuplicateName(n)) if n == "a"
        ));
        let reserved = vec![Member::new(MANIFEST_NAME, b"{}".to_vec())];
        assert!(seal(reserved, ManifestHeader::default(), &key(1)).is_err());
    }

    #[test]
    fn same_evidence_same_bytes() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_tar(&sealed(), 5, &mut a).unwrap();
        write_tar(&sealed(), 5, &mut b).unwrap();
        assert_eq!(a, b);
        assert!(read_tar(&b"not a tar at all"[..]).map_or(true, |e| verify(&e, None).problems.len() == 2));
    }
}
