//! AWS Signature Version 4 for the load generator: header signing of whole requests, and the
//! per-chunk signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` bodies. Written against the AWS
//! documentation; whether it is right is decided by the servers accepting it.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

type HmacSha256 = Hmac<Sha256>;

/// Hex SHA-256 of the empty string (the "previous hash" slot of a chunk string-to-sign).
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";

pub fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// S3's URI encoding: unreserved characters stay, everything else is %XX (upper case); `/` stays
/// when `keep_slash` (object key paths).
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Canonical (and sent) query string: parameters encoded, sorted by name then value.
pub fn canonical_query(params: &[(&str, String)]) -> String {
    let mut enc: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    enc.sort();
    enc.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub struct Signer {
    pub access_key: String,
    secret_key: String,
    pub region: String,
    /// (yyyymmdd, signing key) of the last day used.
    key_cache: Mutex<Option<(String, [u8; 32])>>,
}

/// What a signed request carries: the `Authorization` value, and what a streaming body needs to
/// sign its chunks.
pub struct Signature {
    pub authorization: String,
    pub seed_signature: String,
    pub amz_date: String,
    pub scope: String,
    pub signing_key: [u8; 32],
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str, region: &str) -> Self {
        Signer {
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            region: region.to_string(),
            key_cache: Mutex::new(None),
        }
    }

    fn signing_key(&self, date: &str) -> [u8; 32] {
        let mut cache = self.key_cache.lock().unwrap();
        if let Some((d, k)) = cache.as_ref() {
            if d == date {
                return *k;
            }
        }
        let k_date = hmac(format!("AWS4{}", self.secret_key).as_bytes(), date.as_bytes());
        let k_region = hmac(&k_date, self.region.as_bytes());
        let k_service = hmac(&k_region, b"s3");
        let k = hmac(&k_service, b"aws4_request");
        *cache = Some((date.to_string(), k));
        k
    }

    /// Sign a request. `headers` are (lower-case name, value) pairs that are all signed; they must
    /// include `host`, `x-amz-date` (equal to `amz_date`) and `x-amz-content-sha256` (equal to
    /// `payload_hash`).
    pub fn sign(
        &self,
        method: &str,
        canonical_uri: &str,
        canonical_query: &str,
        headers: &[(String, String)],
        payload_hash: &str,
        amz_date: &str,
    ) -> Signature {
        let mut hs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.trim())).collect();
        hs.sort();
        let mut canonical_headers = String::new();
        for (n, v) in &hs {
            canonical_headers.push_str(n);
            canonical_headers.push(':');
            canonical_headers.push_str(v);
            canonical_headers.push('\n');
        }
        let signed_headers = hs.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(";");
        let canonical_request = format!(
            "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
        );
        let date = &amz_date[..8];
        let scope = format!("{date}/{}/s3/aws4_request", self.region);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            sha256_hex(canonical_request.as_bytes())
        );
        let signing_key = self.signing_key(date);
        let signature = hex::encode(hmac(&signing_key, string_to_sign.as_bytes()));
        Signature {
            authorization: format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                self.access_key
            ),
            seed_signature: signature,
            amz_date: amz_date.to_string(),
            scope,
            signing_key,
        }
    }
}

/// Signature of one aws-chunked chunk, given the previous chunk's (or the seed) signature and the
/// hex SHA-256 of the chunk's data.
pub fn chunk_signature(
    signing_key: &[u8; 32],
    amz_date: &str,
    scope: &str,
    prev_signature: &str,
    chunk_sha256_hex: &str,
) -> String {
    let sts =
        format!("AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{prev_signature}\n{EMPTY_SHA256}\n{chunk_sha256_hex}");
    hex::encode(hmac(signing_key, sts.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The GET example of the AWS SigV4 documentation for S3 ("GET Object", range request).
    #[test]
    fn aws_documented_get_object_example() {
        let s = Signer::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-east-1",
        );
        let headers = vec![
            ("host".to_string(), "examplebucket.s3.amazonaws.com".to_string()),
            ("range".to_string(), "bytes=0-9".to_string()),
            ("x-amz-content-sha256".to_string(), EMPTY_SHA256.to_string()),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
        ];
        let sig = s.sign("GET", "/test.txt", "", &headers, EMPTY_SHA256, "20130524T000000Z");
        assert_eq!(
            sig.seed_signature,
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// The aws-chunked example of the AWS documentation (64 KiB chunks of 'a', 66560 bytes).
    #[test]
    fn aws_documented_chunk_signatures() {
        let s = Signer::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-east-1",
        );
        let headers = vec![
            ("content-encoding".to_string(), "aws-chunked".to_string()),
            ("content-length".to_string(), "66824".to_string()),
            ("host".to_string(), "s3.amazonaws.com".to_string()),
            ("x-amz-content-sha256".to_string(), STREAMING_PAYLOAD.to_string()),
            ("x-amz-date".to_string(), "20130524T000000Z".to_string()),
            ("x-amz-decoded-content-length".to_string(), "66560".to_string()),
            ("x-amz-storage-class".to_string(), "REDUCED_REDUNDANCY".to_string()),
        ];
        let sig = s.sign(
            "PUT",
            "/examplebucket/chunkObject.txt",
            "",
            &headers,
            STREAMING_PAYLOAD,
            "20130524T000000Z",
        );
        assert_eq!(
            sig.seed_signature,
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
        );
        let chunk1 = vec![b'a'; 65536];
        let c1 = chunk_signature(
            &sig.signing_key,
            &sig.amz_date,
            &sig.scope,
            &sig.seed_signature,
            &sha256_hex(&chunk1),
        );
        assert_eq!(c1, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
        let chunk2 = vec![b'a'; 1024];
        let c2 = chunk_signature(&sig.signing_key, &sig.amz_date, &sig.scope, &c1, &sha256_hex(&chunk2));
        assert_eq!(c2, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
        let c3 = chunk_signature(&sig.signing_key, &sig.amz_date, &sig.scope, &c2, EMPTY_SHA256);
        assert_eq!(c3, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
    }

    #[test]
    fn query_is_sorted_and_encoded() {
        let q = canonical_query(&[
            ("versions", String::new()),
            ("key-marker", "a b/c".into()),
            ("max-keys", "5".into()),
        ]);
        assert_eq!(q, "key-marker=a%20b%2Fc&max-keys=5&versions=");
    }
}
