//! Digests of stored content: MD5 (`ETag`), SHA-256 (integrity record and evidence), BLAKE3 (what
//! GET and scrub verify: several times faster than SHA-256 per core), and the S3 flexible checksums
//! (CRC32, CRC32C, CRC64NVME, SHA1, SHA256). Also what the client *claimed* (`ExpectedDigests`) and
//! the comparison of the two, which runs before anything is committed.

use http::HeaderMap;

/// S3 flexible checksum algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ChecksumAlgorithm {
    #[serde(rename = "CRC32")]
    Crc32,
    #[serde(rename = "CRC32C")]
    Crc32c,
    #[serde(rename = "CRC64NVME")]
    Crc64Nvme,
    #[serde(rename = "SHA1")]
    Sha1,
    #[serde(rename = "SHA256")]
    Sha256,
}

impl ChecksumAlgorithm {
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// `CRC32`, `CRC32C`, … as in `x-amz-sdk-checksum-algorithm` and XML.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// Case-insensitive parse of an algorithm name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(name))
    }

    /// `x-amz-checksum-crc32`, … (lower case).
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Raw digest length in bytes (used to validate base64 values).
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }
}

/// A running checksum of one algorithm.
pub enum Hasher {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Crc64Nvme(crc64fast_nvme::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub fn new(alg: ChecksumAlgorithm) -> Self {
        use sha1::Digest as _;
        match alg {
            ChecksumAlgorithm::Crc32 => Hasher::Crc32(crc32fast::Hasher::new()),
            ChecksumAlgorithm::Crc32c => Hasher::Crc32c(0),
            ChecksumAlgorithm::Crc64Nvme => Hasher::Crc64Nvme(crc64fast_nvme::Digest::new()),
            ChecksumAlgorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        use sha1::Digest as _;
        match self {
            Hasher::Crc32(h) => h.update(data),
            Hasher::Crc32c(c) => *c = crc32c::crc32c_append(*c, data),
            Hasher::Crc64Nvme(h) => h.write(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// Big-endian raw digest bytes, as S3 base64-encodes them.
    pub fn finish(self) -> Vec<u8> {
        use sha1::Digest as _;
        match self {
            Hasher::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            Hasher::Crc32c(c) => c.to_be_bytes().to_vec(),
            Hasher::Crc64Nvme(h) => h.sum64().to_be_bytes().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// Base64 (standard, padded) as S3 uses for checksums and Content-MD5.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decode standard base64; `None` if malformed.
pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()
}

/// Digests computed over the bytes actually received, in one pass.
pub struct IngestDigests {
    md5: md5::Md5,
    sha256: sha2::Sha256,
    blake3: Box<blake3::Hasher>,
    extra: Option<(ChecksumAlgorithm, Hasher)>,
    len: u64,
}

/// Result of [`IngestDigests::finish`].
#[derive(Debug, Clone)]
pub struct ComputedDigests {
    pub md5: [u8; 16],
    pub sha256: [u8; 32],
    /// BLAKE3 of the content: the digest verify-on-read and scrub check (see [`Verify`]).
    pub blake3: [u8; 32],
    /// The flexible checksum that will be stored with the version: `(algorithm, base64)`.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
    pub len: u64,
}

impl IngestDigests {
    /// Hash MD5 + SHA-256 always, plus `extra` when a flexible checksum is to be stored.
    pub fn new(extra: Option<ChecksumAlgorithm>) -> Self {
        use sha2::Digest as _;
        IngestDigests {
            md5: md5::Md5::new(),
            sha256: sha2::Sha256::new(),
            blake3: Box::new(blake3::Hasher::new()),
            extra: extra.map(|a| (a, Hasher::new(a))),
            len: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        self.md5.update(data);
        self.update_all_but_md5(data);
    }

    /// Every digest but MD5 (and the length): for `auth::hashing`, which hashes the MD5 of a large
    /// body on a thread of its own (MD5 is the slowest of them) and hands it back with
    /// [`IngestDigests::finish_with_md5`]. Every digest other than MD5 belongs here.
    pub fn update_all_but_md5(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        self.sha256.update(data);
        self.blake3.update(data);
        if let Some((_, h)) = &mut self.extra {
            h.update(data);
        }
        self.len += data.len() as u64;
    }

    /// The MD5 state so far, taken out to be continued elsewhere (the state left behind is fresh:
    /// finish with [`IngestDigests::finish_with_md5`]).
    pub fn take_md5(&mut self) -> md5::Md5 {
        std::mem::take(&mut self.md5)
    }

    /// Finish with the MD5 state taken by [`IngestDigests::take_md5`] and continued elsewhere.
    pub fn finish_with_md5(mut self, md5: md5::Md5) -> ComputedDigests {
        self.md5 = md5;
        self.finish()
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn finish(self) -> ComputedDigests {
        use sha2::Digest as _;
        ComputedDigests {
            md5: self.md5.finalize().into(),
            sha256: self.sha256.finalize().into(),
            blake3: *self.blake3.finalize().as_bytes(),
            checksum: self.extra.map(|(a, h)| (a, b64(&h.finish()))),
            len: self.len,
        }
    }
}

/// The digest a stored blob is checked against when it is read whole (GET's verify-on-read, scrub):
/// BLAKE3 when the record has one, else SHA-256 (records written before BLAKE3 was recorded keep
/// verifying). SHA-256 stays the record's evidence digest either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// Hex BLAKE3 recorded at PUT.
    Blake3(String),
    /// Hex SHA-256 (older records).
    Sha256(String),
}

impl Verify {
    /// The digest to verify from a record's hex `blake3` and `sha256` fields (empty: not recorded);
    /// `None` when neither is recorded.
    pub fn of(blake3: &str, sha256: &str) -> Option<Verify> {
        if !blake3.is_empty() {
            Some(Verify::Blake3(blake3.to_string()))
        } else if !sha256.is_empty() {
            Some(Verify::Sha256(sha256.to_string()))
        } else {
            None
        }
    }

    /// `BLAKE3` or `SHA-256`, for messages and alarms.
    pub fn name(&self) -> &'static str {
        match self {
            Verify::Blake3(_) => "BLAKE3",
            Verify::Sha256(_) => "SHA-256",
        }
    }

    /// The recorded hex digest.
    pub fn hex(&self) -> &str {
        match self {
            Verify::Blake3(h) | Verify::Sha256(h) => h,
        }
    }

    /// A running hasher of this algorithm.
    pub fn hasher(&self) -> VerifyHasher {
        match self {
            Verify::Blake3(_) => VerifyHasher::blake3(),
            Verify::Sha256(_) => VerifyHasher::sha256(),
        }
    }
}

/// A running BLAKE3 or SHA-256 (see [`Verify`]).
#[derive(Clone)]
pub enum VerifyHasher {
    Blake3(Box<blake3::Hasher>),
    Sha256(sha2::Sha256),
}

impl VerifyHasher {
    /// A BLAKE3 hasher.
    pub fn blake3() -> Self {
        VerifyHasher::Blake3(Box::new(blake3::Hasher::new()))
    }

    /// A SHA-256 hasher.
    pub fn sha256() -> Self {
        use sha2::Digest as _;
        VerifyHasher::Sha256(sha2::Sha256::new())
    }

    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        match self {
            VerifyHasher::Blake3(h) => {
                h.update(data);
            }
            VerifyHasher::Sha256(h) => h.update(data),
        }
    }

    /// Hex digest of everything hashed.
    pub fn finish_hex(self) -> String {
        use sha2::Digest as _;
        match self {
            VerifyHasher::Blake3(h) => h.finalize().to_hex().to_string(),
            VerifyHasher::Sha256(h) => hex::encode(h.finalize()),
        }
    }

    /// Hex digest so far, and start again from nothing (consecutive ranges, as scrub hashes parts).
    pub fn finish_reset_hex(&mut self) -> String {
        let fresh = match self {
            VerifyHasher::Blake3(_) => VerifyHasher::blake3(),
            VerifyHasher::Sha256(_) => VerifyHasher::sha256(),
        };
        std::mem::replace(self, fresh).finish_hex()
    }
}

/// What the request's signature says about its body, as far as digests go: the signed hex SHA-256 of a
/// raw body, and whether the body is aws-chunked (its decoded length then comes from
/// `x-amz-decoded-content-length`). `auth::PayloadMode` converts into it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignedBody<'a> {
    pub sha256_hex: Option<&'a str>,
    pub aws_chunked: bool,
}

/// Why the digests a client claimed for a body are malformed or do not match what arrived. The
/// `Display` text is the message the client reads; `gateway::errors` picks the S3 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// `Content-MD5` is not base64 of 16 bytes.
    #[error("The Content-MD5 you specified is not valid base64 of a 16-byte MD5")]
    BadContentMd5,
    /// More than one `x-amz-checksum-*` (header, or header and trailer).
    #[error("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")]
    SeveralChecksums,
    /// An `x-amz-checksum-*` header that is not base64 of the algorithm's digest length.
    #[error("Value for {} header is invalid.", .alg.header_name())]
    BadChecksumValue {
        /// The header's algorithm.
        alg: ChecksumAlgorithm,
    },
    /// `x-amz-trailer` names no supported checksum.
    #[error("The value specified in the x-amz-trailer header is not supported: {name}")]
    UnsupportedTrailer {
        /// The trailer named (lower-case).
        name: String,
    },
    /// `x-amz-sdk-checksum-algorithm` names no supported algorithm.
    #[error("Checksum algorithm provided is unsupported: {name}")]
    UnsupportedAlgorithm {
        /// The name sent.
        name: String,
    },
    /// `x-amz-sdk-checksum-algorithm` differs from the checksum actually sent.
    #[error("x-amz-sdk-checksum-algorithm says {} but the request carries a {} checksum", .sdk.as_str(), .sent.as_str())]
    SdkAlgorithmConflict {
        /// What `x-amz-sdk-checksum-algorithm` says.
        sdk: ChecksumAlgorithm,
        /// The checksum header or trailer sent.
        sent: ChecksumAlgorithm,
    },
    /// `x-amz-decoded-content-length` is not a number.
    #[error("x-amz-decoded-content-length is not a number")]
    DecodedLengthNotNumber,
    /// The body's length differs from the one announced.
    #[error("You did not provide the number of bytes specified: expected {expected}, received {received}")]
    LengthMismatch {
        /// The announced length.
        expected: u64,
        /// The length received.
        received: u64,
    },
    /// The body does not hash to the signed `x-amz-content-sha256`.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    Sha256Mismatch,
    /// The body does not hash to `Content-MD5`.
    #[error("The Content-MD5 you specified did not match what we received.")]
    Md5Mismatch,
    /// A checksum trailer announced in `x-amz-trailer` did not arrive.
    #[error("The request declared trailer {} but it was not sent", .alg.header_name())]
    MissingTrailer {
        /// The announced algorithm.
        alg: ChecksumAlgorithm,
    },
    /// The body does not match the flexible checksum sent.
    #[error("The {} you specified did not match the calculated checksum.", .alg.header_name())]
    ChecksumMismatch {
        /// The checksum's algorithm.
        alg: ChecksumAlgorithm,
    },
    /// The checksum to compare was not computed (a caller bug).
    #[error("checksum algorithm was not computed")]
    NotComputed,
}

/// What the client claimed about the body, parsed and validated from the request head before the body
/// is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedDigests {
    /// `Content-MD5`, decoded.
    pub content_md5: Option<[u8; 16]>,
    /// Signed hex SHA-256 of the body (`x-amz-content-sha256` as a hex value).
    pub sha256_hex: Option<String>,
    /// `x-amz-checksum-*` header value (base64).
    pub checksum_header: Option<(ChecksumAlgorithm, String)>,
    /// A checksum announced in `x-amz-trailer`, to arrive after the body.
    pub trailer_checksum: Option<ChecksumAlgorithm>,
    /// `x-amz-decoded-content-length` (aws-chunked) or `Content-Length` of a raw body.
    pub decoded_length: Option<u64>,
    /// `x-amz-sdk-checksum-algorithm` without a value: store (and return) a checksum of this kind.
    pub sdk_algorithm: Option<ChecksumAlgorithm>,
}

impl ExpectedDigests {
    /// Parse and validate every digest header. Errors: malformed `Content-MD5` → `InvalidDigest`;
    /// more than one `x-amz-checksum-*` header, unknown algorithm, malformed base64, or
    /// `x-amz-sdk-checksum-algorithm` naming another algorithm → `InvalidRequest`.
    pub fn from_headers<'a>(headers: &HeaderMap, payload: impl Into<SignedBody<'a>>) -> Result<Self, DigestError> {
        let payload = payload.into();
        let mut out = ExpectedDigests::default();
        if let Some(v) = headers.get("content-md5") {
            let raw = v
                .to_str()
                .ok()
                .and_then(b64_decode)
                .filter(|d| d.len() == 16)
                .ok_or(DigestError::BadContentMd5)?;
            let mut md5 = [0u8; 16];
            md5.copy_from_slice(&raw);
            out.content_md5 = Some(md5);
        }
        if let Some(h) = payload.sha256_hex {
            out.sha256_hex = Some(h.to_ascii_lowercase());
        }
        for alg in ChecksumAlgorithm::ALL {
            if let Some(v) = headers.get(alg.header_name()) {
                if out.checksum_header.is_some() {
                    return Err(DigestError::SeveralChecksums);
                }
                let s = v.to_str().unwrap_or("").trim().to_string();
                let ok = b64_decode(&s).is_some_and(|d| d.len() == alg.digest_len());
                if !ok {
                    return Err(DigestError::BadChecksumValue { alg });
                }
                out.checksum_header = Some((alg, s));
            }
        }
        if let Some(t) = headers.get("x-amz-trailer") {
            let name = t.to_str().unwrap_or("").trim().to_ascii_lowercase();
            let alg = ChecksumAlgorithm::ALL
                .into_iter()
                .find(|a| a.header_name() == name)
                .ok_or_else(|| DigestError::UnsupportedTrailer { name: name.clone() })?;
            if out.checksum_header.is_some() {
                return Err(DigestError::SeveralChecksums);
            }
            out.trailer_checksum = Some(alg);
        }
        if let Some(sdk) = headers.get("x-amz-sdk-checksum-algorithm") {
            let name = sdk.to_str().unwrap_or("");
            let alg = ChecksumAlgorithm::parse(name)
                .ok_or_else(|| DigestError::UnsupportedAlgorithm { name: name.to_string() })?;
            out.sdk_algorithm = Some(alg);
            let declared = out.checksum_header.as_ref().map(|c| c.0).or(out.trailer_checksum);
            if let Some(d) = declared {
                if d != alg {
                    return Err(DigestError::SdkAlgorithmConflict { sdk: alg, sent: d });
                }
            }
        }
        let decoded = headers.get("x-amz-decoded-content-length");
        if payload.aws_chunked {
            if let Some(v) = decoded {
                out.decoded_length = Some(
                    v.to_str()
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or(DigestError::DecodedLengthNotNumber)?,
                );
            }
        } else if let Some(v) = headers.get(http::header::CONTENT_LENGTH) {
            out.decoded_length = v.to_str().ok().and_then(|s| s.parse().ok());
        }
        Ok(out)
    }

    /// The flexible checksum the client asked for, if any (header, trailer, or only named).
    pub fn algorithm(&self) -> Option<ChecksumAlgorithm> {
        self.checksum_header
            .as_ref()
            .map(|c| c.0)
            .or(self.trailer_checksum)
            .or(self.sdk_algorithm)
    }

    /// Whether the client sent any digest of the content that we can verify.
    pub fn has_client_digest(&self) -> bool {
        self.content_md5.is_some()
            || self.sha256_hex.is_some()
            || self.checksum_header.is_some()
            || self.trailer_checksum.is_some()
    }

    /// Compare what was received with what was claimed. `trailers` are the (lower-case name, value)
    /// pairs that arrived after the body. Nothing may be committed unless this returns `Ok`.
    pub fn verify(&self, computed: &ComputedDigests, trailers: &[(String, String)]) -> Result<(), DigestError> {
        if let Some(n) = self.decoded_length {
            if n != computed.len {
                return Err(DigestError::LengthMismatch {
                    expected: n,
                    received: computed.len,
                });
            }
        }
        if let Some(h) = &self.sha256_hex {
            if *h != hex::encode(computed.sha256) {
                return Err(DigestError::Sha256Mismatch);
            }
        }
        if let Some(md5) = &self.content_md5 {
            if *md5 != computed.md5 {
                return Err(DigestError::Md5Mismatch);
            }
        }
        let claimed = if let Some((alg, v)) = &self.checksum_header {
            Some((*alg, v.clone()))
        } else if let Some(alg) = self.trailer_checksum {
            let v = trailers
                .iter()
                .find(|(k, _)| k == alg.header_name())
                .map(|(_, v)| v.trim().to_string());
            match v {
                Some(v) => Some((alg, v)),
                None => return Err(DigestError::MissingTrailer { alg }),
            }
        } else {
            None
        };
        if let Some((alg, v)) = claimed {
            match &computed.checksum {
                Some((calg, cv)) if *calg == alg && *cv == v => {}
                Some((calg, _)) if *calg == alg => return Err(DigestError::ChecksumMismatch { alg }),
                _ => return Err(DigestError::NotComputed),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_vector() {
        let mut h = Hasher::new(ChecksumAlgorithm::Crc32);
        h.update(b"hello world");
        assert_eq!(b64(&h.finish()), "DUoRhQ==");
    }

    #[test]
    fn ingest_records_blake3_beside_sha256() {
        use sha2::Digest as _;
        let mut d = IngestDigests::new(None);
        d.update(b"hello ");
        d.update(b"world");
        let c = d.finish();
        assert_eq!(c.sha256, <[u8; 32]>::from(sha2::Sha256::digest(b"hello world")));
        assert_eq!(
            hex::encode(c.blake3),
            "d74981efa70a0c880b8d8c1985d075dbcbf679b99a5f9914e5aaf96b831a9e24"
        );
    }

    #[test]
    fn verify_prefers_blake3_and_falls_back_to_sha256() {
        let v = Verify::of("b3", "s2").unwrap();
        assert_eq!((v.name(), v.hex()), ("BLAKE3", "b3"));
        let v = Verify::of("", "s2").unwrap();
        assert_eq!((v.name(), v.hex()), ("SHA-256", "s2"));
        assert_eq!(Verify::of("", ""), None);
        for v in [Verify::Blake3(String::new()), Verify::Sha256(String::new())] {
            let mut h = v.hasher();
            h.update(b"ab");
            let first = h.finish_reset_hex();
            h.update(b"ab");
            assert_eq!(h.clone().finish_hex(), first);
            let mut one = v.hasher();
            one.update(b"a");
            one.update(b"b");
            assert_eq!(one.finish_hex(), first);
        }
    }

    #[test]
    fn md5_mismatch_is_bad_digest() {
        let mut headers = HeaderMap::new();
        headers.insert("content-md5", b64(&[0u8; 16]).parse().unwrap());
        let exp = ExpectedDigests::from_headers(&headers, SignedBody::default()).unwrap();
        let mut d = IngestDigests::new(None);
        d.update(b"abc");
        let err = exp.verify(&d.finish(), &[]).unwrap_err();
        assert_eq!(err, DigestError::Md5Mismatch);
    }

    #[test]
    fn two_checksum_headers_refused() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-checksum-crc32", "DUoRhQ==".parse().unwrap());
        headers.insert("x-amz-checksum-crc32c", "yZRlqg==".parse().unwrap());
        let err = ExpectedDigests::from_headers(&headers, SignedBody::default()).unwrap_err();
        assert_eq!(err, DigestError::SeveralChecksums);
    }
}
