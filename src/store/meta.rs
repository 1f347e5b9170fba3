//! The catalog in sled: buckets, versions (newest first per key), multipart uploads and gateway state.
//! Writers apply their change, then await one shared flush (group commit) before the client hears
//! success.

use super::records::{decode, encode, BucketRecord, PartRecord, UploadRecord, VersionRecord};
use crate::lock::Expired;
use crate::s3::error::{S3Error, S3Result};
use sled::Transactional;
use sled::Tree;
use tokio::sync::{mpsc, oneshot};

/// A version as read from the catalog: decoded, or present but corrupt (fail closed).
#[derive(Debug, Clone)]
pub enum VersionEntry {
    Ok(Box<VersionRecord>),
    Corrupt { key: String, seq: u64 },
}

impl VersionEntry {
    pub fn seq(&self) -> u64 {
        match self {
            VersionEntry::Ok(r) => r.seq,
            VersionEntry::Corrupt { seq, .. } => *seq,
        }
    }
    pub fn key(&self) -> &str {
        match self {
            VersionEntry::Ok(r) => &r.key,
            VersionEntry::Corrupt { key, .. } => key,
        }
    }
}

/// The sled catalog.
#[derive(Clone)]
pub struct Catalog {
    db: sled::Db,
    buckets: Tree,
    versions: Tree,
    uploads: Tree,
    parts: Tree,
    state: Tree,
    flusher: mpsc::UnboundedSender<oneshot::Sender<Result<(), String>>>,
}

const WATERMARK_KEY: &[u8] = b"clock.watermark_ms";

/// Sled key of a version: `bucket \0 key \0 (u64::MAX - seq)` so the newest version of a key sorts first.
pub fn version_key(bucket: &str, key: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + key.len() + 10);
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k.extend_from_slice(&(u64::MAX - seq).to_be_bytes());
    k
}

/// Prefix of all versions of one key.
pub fn key_prefix(bucket: &str, key: &str) -> Vec<u8> {
    let mut k = bucket_prefix(bucket);
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k
}

/// Prefix of all versions in a bucket.
pub fn bucket_prefix(bucket: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(bucket.len() + 1);
    k.extend_from_slice(bucket.as_bytes());
    k.push(0);
    k
}

/// Split a version sled key back into (object key, seq).
fn split_version_key(bucket_len: usize, raw: &[u8]) -> Option<(String, u64)> {
    if raw.len() < bucket_len + 1 + 1 + 8 {
        return None;
    }
    let rest = &raw[bucket_len + 1..raw.len() - 9];
    let inv = u64::from_be_bytes(raw[raw.len() - 8..].try_into().ok()?);
    Some((String::from_utf8(rest.to_vec()).ok()?, u64::MAX - inv))
}

/// Version ids: 16 hex digits of creation microseconds + 16 hex digits of a catalog sequence number
/// that sled never hands out twice. Unique, time-ordered, never reused, and the seq can be read back.
pub fn make_version_id(created_us: i64, seq: u64) -> String {
    format!("{:016x}{:016x}", created_us.max(0), seq)
}

/// Parse a version id back into its seq. `None` when it is not one of ours.
pub fn parse_version_id(id: &str) -> Option<u64> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    u64::from_str_radix(&id[16..], 16).ok()
}

impl Catalog {
    /// Open (or create) the catalog at `path` and start the group-commit flusher.
    pub fn open(path: &std::path::Path) -> S3Result<Self> {
        let db = sled::Config::new().path(path).flush_every_ms(Some(500)).open()?;
        let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<Result<(), String>>>();
        let flush_db = db.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut waiters = vec![first];
                while let Ok(w) = rx.try_recv() {
                    waiters.push(w);
                }
                let res = flush_db.flush_async().await.map(|_| ()).map_err(|e| e.to_string());
                for w in waiters {
                    let _ = w.send(res.clone());
                }
            }
        });
        Ok(Catalog {
            buckets: db.open_tree("buckets")?,
            versions: db.open_tree("versions")?,
            uploads: db.open_tree("uploads")?,
            parts: db.open_tree("parts")?,
            state: db.open_tree("state")?,
            db,
            flusher: tx,
        })
    }

    /// Open synchronously for offline tools (no runtime flusher needed: they flush directly).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Wait until everything applied so far is on disk (shared flush).
    pub async fn durable(&self) -> S3Result<()> {
        let (tx, rx) = oneshot::channel();
        self.flusher
            .send(tx)
            .map_err(|_| S3Error::internal("catalog flusher stopped"))?;
        rx.await
            .map_err(|_| S3Error::internal("catalog flusher stopped"))?
            .map_err(|e| S3Error::internal(format!("catalog flush failed: {e}")))
    }

    /// A fresh, never reused sequence number.
    pub fn next_seq(&self) -> S3Result<u64> {
        Ok(self.db.generate_id()? + 1)
    }

    pub fn watermark_ms(&self) -> S3Result<i64> {
        Ok(self
            .state
            .get(WATERMARK_KEY)?
            .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes))
            .unwrap_or(0))
    }

    /// Persist a clock watermark (never lowers it).
    pub fn store_watermark(&self, ms: i64) -> S3Result<()> {
        self.state.fetch_and_update(WATERMARK_KEY, |old| {
            let old_ms = old.and_then(|v| v.try_into().ok().map(i64::from_be_bytes)).unwrap_or(0);
            Some(old_ms.max(ms).to_be_bytes().to_vec())
        })?;
        Ok(())
    }

    /// Small key/value state for other modules (audit head, alarms).
    pub fn state(&self) -> &Tree {
        &self.state
    }

    pub fn uploads(&self) -> &Tree {
        &self.uploads
    }

    // ---- buckets ----

    pub fn bucket(&self, name: &str) -> S3Result<Option<BucketRecord>> {
        match self.buckets.get(name.as_bytes())? {
            None => Ok(None),
            Some(raw) => decode(&raw)
                .map(Some)
                .ok_or_else(|| S3Error::internal(format!("bucket record of {name} does not decode"))),
        }
    }

    pub fn list_buckets(&self) -> S3Result<Vec<BucketRecord>> {
        let mut out = Vec::new();
        for item in self.buckets.iter() {
            let (_, v) = item?;
            if let Some(b) = decode::<BucketRecord>(&v) {
                out.push(b);
            }
        }
        Ok(out)
    }

    /// Create a bucket if absent. Returns false if it already existed.
    pub async fn create_bucket(&self, rec: &BucketRecord) -> S3Result<bool> {
        let res = self
            .buckets
            .compare_and_swap(rec.name.as_bytes(), None as Option<&[u8]>, Some(encode(rec)))?;
        if res.is_err() {
            return Ok(false);
        }
        self.durable().await?;
        Ok(true)
    }

    pub async fn update_bucket(&self, rec: &BucketRecord) -> S3Result<()> {
        self.buckets.insert(rec.name.as_bytes(), encode(rec))?;
        self.durable().await
    }

    pub async fn delete_bucket(&self, name: &str) -> S3Result<()> {
        self.buckets.remove(name.as_bytes())?;
        self.durable().await
    }

    /// Whether any version or delete marker exists in the bucket.
    pub fn bucket_has_versions(&self, bucket: &str) -> S3Result<bool> {
        Ok(self
            .versions
            .scan_prefix(bucket_prefix(bucket))
            .next()
            .transpose()?
            .is_some())
    }

    // ---- versions ----

    fn entry(&self, bucket: &str, raw_key: &[u8], raw: &[u8]) -> VersionEntry {
        match decode::<VersionRecord>(raw) {
            Some(r) => VersionEntry::Ok(Box::new(r)),
            None => {
                let (key, seq) = split_version_key(bucket.len(), raw_key).unwrap_or_default();
                VersionEntry::Corrupt { key, seq }
            }
        }
    }

    /// The newest version (or marker) of a key.
    pub fn latest(&self, bucket: &str, key: &str) -> S3Result<Option<VersionEntry>> {
        match self.versions.scan_prefix(key_prefix(bucket, key)).next() {
            None => Ok(None),
            Some(item) => {
                let (k, v) = item?;
                Ok(Some(self.entry(bucket, &k, &v)))
            }
        }
    }

    /// One specific version by seq.
    pub fn version(&self, bucket: &str, key: &str, seq: u64) -> S3Result<Option<VersionEntry>> {
        let k = version_key(bucket, key, seq);
        Ok(self.versions.get(&k)?.map(|v| self.entry(bucket, &k, &v)))
    }

    /// Commit a new version and wait for it to be durable.
    pub async fn put_version(&self, rec: &VersionRecord) -> S3Result<()> {
        self.versions
            .insert(version_key(&rec.bucket, &rec.key, rec.seq), encode(rec))?;
        self.durable().await
    }

    /// Replace the record of an existing version (retention / legal hold / tags only: the caller
    /// holds a `Permit` for it).
    pub async fn update_version(&self, rec: &VersionRecord) -> S3Result<()> {
        self.versions
            .insert(version_key(&rec.bucket, &rec.key, rec.seq), encode(rec))?;
        self.durable().await
    }

    /// Remove a delete marker (never locked).
    pub async fn remove_delete_marker(&self, bucket: &str, key: &str, seq: u64) -> S3Result<()> {
        self.versions.remove(version_key(bucket, key, seq))?;
        self.durable().await
    }

    /// Remove an expired data version's record. Needs the `Expired` proof from `lock::decide`.
    pub async fn remove_expired_version(&self, bucket: &str, key: &str, seq: u64, _proof: &Expired) -> S3Result<()> {
        self.versions.remove(version_key(bucket, key, seq))?;
        self.durable().await
    }

    /// Iterate all versions of a bucket in key order (ascending), newest first within a key, starting
    /// at `from` (bytes after the bucket prefix: an object key, inclusive).
    pub fn scan_versions<'a>(
        &'a self,
        bucket: &'a str,
        from: &[u8],
    ) -> impl Iterator<Item = S3Result<VersionEntry>> + 'a {
        let prefix = bucket_prefix(bucket);
        let mut start = prefix.clone();
        start.extend_from_slice(from);
        let mut end = prefix.clone();
        if let Some(last) = end.last_mut() {
            *last = 1; // bucket \x01 is just past every key of bucket \0 …
        }
        self.versions.range(start..end).map(move |item| {
            let (k, v) = item?;
            Ok(self.entry(bucket, &k, &v))
        })
    }

    // ---- multipart uploads ----

    /// Key of an upload: `bucket \0 key \0 upload_id`.
    pub fn upload_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
        let mut k = key_prefix(bucket, key);
        k.extend_from_slice(upload_id.as_bytes());
        k
    }

    fn part_key(upload_key: &[u8], part: u32) -> Vec<u8> {
        let mut k = upload_key.to_vec();
        k.push(0);
        k.extend_from_slice(&part.to_be_bytes());
        k
    }

    pub async fn put_upload(&self, rec: &UploadRecord) -> S3Result<()> {
        self.uploads
            .insert(Self::upload_key(&rec.bucket, &rec.key, &rec.upload_id), encode(rec))?;
        self.durable().await
    }

    pub fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> S3Result<Option<UploadRecord>> {
        match self.uploads.get(Self::upload_key(bucket, key, upload_id))? {
            None => Ok(None),
            Some(raw) => decode(&raw)
                .map(Some)
                .ok_or_else(|| S3Error::internal("upload record does not decode")),
        }
    }

    /// All uploads of a bucket in (key, upload id) order.
    pub fn uploads_of(&self, bucket: &str) -> S3Result<Vec<UploadRecord>> {
        let mut out = Vec::new();
        for item in self.uploads.scan_prefix(bucket_prefix(bucket)) {
            let (_, v) = item?;
            if let Some(u) = decode::<UploadRecord>(&v) {
                out.push(u);
            }
        }
        Ok(out)
    }

    /// Record a part; returns the part it replaced (its blob is now unreferenced).
    pub async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: &PartRecord,
    ) -> S3Result<Option<PartRecord>> {
        let uk = Self::upload_key(bucket, key, upload_id);
        let old = self.parts.insert(Self::part_key(&uk, part.part_number), encode(part))?;
        self.durable().await?;
        Ok(old.and_then(|o| decode(&o)))
    }

    /// Parts of an upload, by part number.
    pub fn parts_of(&self, bucket: &str, key: &str, upload_id: &str) -> S3Result<Vec<PartRecord>> {
        let mut prefix = Self::upload_key(bucket, key, upload_id);
        prefix.push(0);
        let mut out = Vec::new();
        for item in self.parts.scan_prefix(prefix) {
            let (_, v) = item?;
            out.push(decode::<PartRecord>(&v).ok_or_else(|| S3Error::internal("part record does not decode"))?);
        }
        Ok(out)
    }

    /// Atomically drop an upload and its part records (abort, or after completion). Returns false if
    /// the upload was already gone.
    fn remove_upload_tx(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        version: Option<&VersionRecord>,
    ) -> S3Result<bool> {
        let uk = Self::upload_key(bucket, key, upload_id);
        let part_keys: Vec<Vec<u8>> = {
            let mut prefix = uk.clone();
            prefix.push(0);
            self.parts
                .scan_prefix(prefix)
                .keys()
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .map(|k| k.to_vec())
                .collect()
        };
        let version_kv = version.map(|v| (version_key(&v.bucket, &v.key, v.seq), encode(v)));
        let res = (&self.uploads, &self.parts, &self.versions).transaction(|(u, p, v)| {
            if u.remove(uk.as_slice())?.is_none() {
                return sled::transaction::abort(());
            }
            for k in &part_keys {
                p.remove(k.as_slice())?;
            }
            if let Some((k, val)) = &version_kv {
                v.insert(k.as_slice(), val.as_slice())?;
            }
            Ok(())
        });
        match res {
            Ok(()) => Ok(true),
            Err(sled::transaction::TransactionError::Abort(())) => Ok(false),
            Err(sled::transaction::TransactionError::Storage(e)) => Err(e.into()),
        }
    }

    /// Abort: the upload and its parts disappear in one step.
    pub async fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> S3Result<bool> {
        let ok = self.remove_upload_tx(bucket, key, upload_id, None)?;
        self.durable().await?;
        Ok(ok)
    }

    /// Complete: the version appears and the upload disappears in one transaction, so its part blobs
    /// are never both a version and reclaimable.
    pub async fn complete_upload(&self, upload_id: &str, version: &VersionRecord) -> S3Result<bool> {
        let ok = self.remove_upload_tx(&version.bucket, &version.key, upload_id, Some(version))?;
        self.durable().await?;
        Ok(ok)
    }

    /// Iterate every version in the catalog (reports, scrub).
    pub fn all_versions(&self) -> impl Iterator<Item = S3Result<(Vec<u8>, Option<VersionRecord>)>> + '_ {
        self.versions.iter().map(|item| {
            let (k, v) = item?;
            Ok((k.to_vec(), decode::<VersionRecord>(&v)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_roundtrip_and_reject_foreign() {
        let id = make_version_id(1_700_000_000_000_000, 42);
        assert_eq!(id.len(), 32);
        assert_eq!(parse_version_id(&id), Some(42));
        assert_eq!(parse_version_id("null"), None);
        assert_eq!(parse_version_id(&id.to_uppercase()), None);
    }

    #[test]
    fn newest_sorts_first() {
        assert!(version_key("b", "k", 10) < version_key("b", "k", 9));
        assert!(version_key("b", "a", 1) < version_key("b", "b", 100));
        assert_eq!(
            split_version_key(1, &version_key("b", "a/b", 7)),
            Some(("a/b".to_string(), 7))
        );
    }
}
