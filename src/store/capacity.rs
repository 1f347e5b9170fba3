//! Capacity: per-bucket hard quotas (bytes and object versions), the usage they are checked against,
//! and the free space of the data volume.
//!
//! Usage is every data version's bytes and count (retained bytes are bytes; delete markers hold no
//! bytes and are not counted, so a delete always works). It lives in memory, recounted from the
//! catalog when the catalog opens (one pass over the version records, like one `/metrics` stats
//! pass) and changed by the catalog's own insert/remove methods right after sled took the change —
//! so it never disagrees with the records, crash or not. A request that will add bytes first takes a
//! [`Reservation`]: the check against the quota and the claim on the room are one step under one
//! lock, so concurrent writers cannot together overshoot a quota.

use super::error::{StoreError, StoreResult};
use crate::units::{format_size, Reserve};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// A bucket's hard limits; `None` = no limit of that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// Most bytes all data versions of the bucket may hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Most data versions the bucket may hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<u64>,
}

impl Quota {
    /// Whether this quota limits anything.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_none() && self.versions.is_none()
    }
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.bytes.map_or("unlimited bytes".to_string(), |b| {
            format!("{} ({b} bytes)", format_size(b))
        });
        let v = self
            .versions
            .map_or("unlimited versions".to_string(), |v| format!("{v} versions"));
        write!(f, "{b}, {v}")
    }
}

/// Why a quota given on the CLI or the admin API does not parse (shown to the operator as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaParseError {
    /// The size does not parse (the size parser's explanation).
    #[error("bytes: {0}")]
    Bytes(#[source] crate::units::SizeError),
    /// The version count is not a whole number.
    #[error("versions: '{0}' is not a whole number")]
    Versions(String),
    /// Neither limit was given.
    #[error("a quota needs bytes, versions or both")]
    Empty,
}

/// Parse a quota as the CLI and the admin API take it: `bytes` a size (`500GiB`), `versions` a whole
/// number; at least one must be given.
pub fn parse_quota(bytes: Option<&str>, versions: Option<&str>) -> Result<Quota, QuotaParseError> {
    let q = Quota {
        bytes: bytes
            .map(crate::units::parse_size)
            .transpose()
            .map_err(QuotaParseError::Bytes)?,
        versions: versions
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| QuotaParseError::Versions(v.to_string()))
            })
            .transpose()?,
    };
    if q.is_empty() {
        return Err(QuotaParseError::Empty);
    }
    Ok(q)
}

/// Where a bucket's effective quota comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaSource {
    /// Set by an officer (`wormgate quota set`), stored in the catalog.
    Officer,
    /// The `[quotas]` table of the config file (an officer's quota overrides it).
    Config,
}

/// Bytes and data versions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub bytes: u64,
    pub versions: u64,
}

/// A bucket's usage, effective quota and the bytes/versions of writes in flight.
#[derive(Debug, Clone, Serialize)]
pub struct BucketCapacity {
    pub bucket: String,
    pub usage: Usage,
    pub in_flight: Usage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_source: Option<QuotaSource>,
}

#[derive(Default)]
struct Counters {
    used: Usage,
    pending: Usage,
}

#[derive(Default)]
struct Inner {
    buckets: BTreeMap<String, Counters>,
    /// Officer-set quotas (mirrors the catalog's `quotas` tree).
    officer: BTreeMap<String, Quota>,
    /// Quotas from the config file.
    config: BTreeMap<String, Quota>,
}

impl Inner {
    fn quota(&self, bucket: &str) -> Option<(Quota, QuotaSource)> {
        self.officer
            .get(bucket)
            .map(|q| (*q, QuotaSource::Officer))
            .or_else(|| self.config.get(bucket).map(|q| (*q, QuotaSource::Config)))
    }
}

/// The usage counters and quotas of every bucket (one per catalog).
#[derive(Default)]
pub struct Capacity {
    inner: Mutex<Inner>,
}

impl Capacity {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the plain counters half-updated.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replace every bucket's counted usage (at open, from one scan of the records).
    pub(super) fn reset_usage(&self, usage: BTreeMap<String, Usage>) {
        let mut g = self.lock();
        for c in g.buckets.values_mut() {
            c.used = Usage::default();
        }
        for (b, u) in usage {
            g.buckets.entry(b).or_default().used = u;
        }
    }

    /// A data version of `bytes` appeared (`sign` = 1) or went (`sign` = -1).
    pub(super) fn count(&self, bucket: &str, bytes: u64, added: bool) {
        let mut g = self.lock();
        let c = g.buckets.entry(bucket.to_string()).or_default();
        if added {
            c.used.bytes = c.used.bytes.saturating_add(bytes);
            c.used.versions = c.used.versions.saturating_add(1);
        } else {
            c.used.bytes = c.used.bytes.saturating_sub(bytes);
            c.used.versions = c.used.versions.saturating_sub(1);
        }
    }

    /// Load the officer-set quotas (at open).
    pub(super) fn set_officer_quotas(&self, q: BTreeMap<String, Quota>) {
        self.lock().officer = q;
    }

    pub(super) fn set_officer_quota(&self, bucket: &str, q: Option<Quota>) {
        let mut g = self.lock();
        match q {
            Some(q) => g.officer.insert(bucket.to_string(), q),
            None => g.officer.remove(bucket),
        };
    }

    /// The quotas of the config file (replaces any earlier set).
    pub fn set_config_quotas(&self, q: BTreeMap<String, Quota>) {
        self.lock().config = q;
    }

    /// The counted usage of a bucket.
    pub fn usage(&self, bucket: &str) -> Usage {
        self.lock().buckets.get(bucket).map(|c| c.used).unwrap_or_default()
    }

    /// The effective quota of a bucket and where it comes from.
    pub fn quota(&self, bucket: &str) -> Option<(Quota, QuotaSource)> {
        self.lock().quota(bucket)
    }

    /// Usage, in-flight writes and quota of `buckets` (for `/metrics`, `report`, `quota get`).
    pub fn buckets(&self, buckets: &[String]) -> Vec<BucketCapacity> {
        let g = self.lock();
        buckets
            .iter()
            .map(|b| {
                let c = g.buckets.get(b);
                let q = g.quota(b);
                BucketCapacity {
                    bucket: b.clone(),
                    usage: c.map(|c| c.used).unwrap_or_default(),
                    in_flight: c.map(|c| c.pending).unwrap_or_default(),
                    quota: q.map(|q| q.0),
                    quota_source: q.map(|q| q.1),
                }
            })
            .collect()
    }

    /// Claim room for `ask` in `bucket`, or refuse with `QuotaExceeded` if the bucket's usage, the
    /// writes in flight and `ask` together pass its quota.
    pub fn reserve(self: &Arc<Self>, bucket: &str, ask: Usage) -> StoreResult<Reservation> {
        let mut r = Reservation {
            capacity: self.clone(),
            bucket: bucket.to_string(),
            held: Usage::default(),
        };
        r.claim(ask)?;
        Ok(r)
    }

    fn try_claim(&self, bucket: &str, ask: Usage) -> StoreResult<()> {
        let mut g = self.lock();
        let quota = g.quota(bucket).map(|q| q.0);
        let c = g.buckets.entry(bucket.to_string()).or_default();
        if let Some(q) = quota {
            let over_bytes = q
                .bytes
                .is_some_and(|max| c.used.bytes.saturating_add(c.pending.bytes).saturating_add(ask.bytes) > max);
            let over_versions = q.versions.is_some_and(|max| {
                ask.versions > 0
                    && c.used
                        .versions
                        .saturating_add(c.pending.versions)
                        .saturating_add(ask.versions)
                        > max
            });
            if over_bytes || over_versions {
                return Err(StoreError::QuotaExceeded {
                    bucket: bucket.to_string(),
                    quota: q,
                    used: c.used,
                    pending: c.pending,
                    ask,
                });
            }
        }
        c.pending.bytes = c.pending.bytes.saturating_add(ask.bytes);
        c.pending.versions = c.pending.versions.saturating_add(ask.versions);
        Ok(())
    }

    fn release(&self, bucket: &str, held: Usage) {
        let mut g = self.lock();
        if let Some(c) = g.buckets.get_mut(bucket) {
            c.pending.bytes = c.pending.bytes.saturating_sub(held.bytes);
            c.pending.versions = c.pending.versions.saturating_sub(held.versions);
        }
    }
}

/// Room claimed in a bucket for a write in flight; given back when dropped (by then the version is
/// either counted in the usage or was never stored).
#[must_use = "the room is given back when the reservation is dropped"]
pub struct Reservation {
    capacity: Arc<Capacity>,
    bucket: String,
    held: Usage,
}

impl Reservation {
    fn claim(&mut self, ask: Usage) -> StoreResult<()> {
        self.capacity.try_claim(&self.bucket, ask)?;
        self.held.bytes += ask.bytes;
        self.held.versions += ask.versions;
        Ok(())
    }

    /// Make sure at least `total` bytes are claimed (a body of unknown length, as it streams in).
    pub fn grow_to(&mut self, total: u64) -> StoreResult<()> {
        if total <= self.held.bytes {
            return Ok(());
        }
        self.claim(Usage {
            bytes: total - self.held.bytes,
            versions: 0,
        })
    }

    /// What this reservation holds.
    pub fn held(&self) -> Usage {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.capacity.release(&self.bucket, self.held);
    }
}

/// Free space of the volume holding a directory.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FreeSpace {
    /// Bytes an unprivileged writer may still use.
    pub available: u64,
    /// Size of the volume.
    pub total: u64,
    /// The reserve in bytes on this volume.
    pub reserve: u64,
}

impl FreeSpace {
    /// Whether free space is at or below the reserve (new versions are refused).
    pub fn below_reserve(&self) -> bool {
        self.available <= self.reserve
    }
}

/// The gateway-wide free-space reserve of the data directory (catalog, audit trail, and in disk mode
/// the blobs): below it, new versions and uploads are refused so that the audit trail and the catalog
/// never run out of room.
#[derive(Debug, Clone)]
pub struct DiskReserve {
    dir: PathBuf,
    reserve: Reserve,
}

/// Read the free space of the volume holding `dir` (statvfs).
pub fn free_space(dir: &Path, reserve: Reserve) -> std::io::Result<FreeSpace> {
    let st = rustix::fs::statvfs(dir).map_err(std::io::Error::from)?;
    let frsize = if st.f_frsize > 0 { st.f_frsize } else { st.f_bsize };
    let total = st.f_blocks.saturating_mul(frsize);
    Ok(FreeSpace {
        available: st.f_bavail.saturating_mul(frsize),
        total,
        reserve: reserve.bytes_of(total),
    })
}

impl DiskReserve {
    /// The reserve `reserve` on the volume of `dir`.
    pub fn new(dir: &Path, reserve: Reserve) -> DiskReserve {
        DiskReserve {
            dir: dir.to_path_buf(),
            reserve,
        }
    }

    /// The configured reserve.
    pub fn reserve(&self) -> Reserve {
        self.reserve
    }

    /// Current free space of the data volume.
    pub fn status(&self) -> std::io::Result<FreeSpace> {
        free_space(&self.dir, self.reserve)
    }

    /// Refuse (507 `InsufficientStorage`) when free space is at or below the reserve, or would be
    /// after `incoming` more bytes land on this volume.
    pub fn check(&self, incoming: u64) -> StoreResult<()> {
        let s = self.status().map_err(StoreError::FreeSpace)?;
        if s.available.saturating_sub(incoming) <= s.reserve {
            return Err(StoreError::StorageFull {
                available: s.available,
                total: s.total,
                reserve_bytes: s.reserve,
                reserve: self.reserve,
                incoming,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(bytes: Option<u64>, versions: Option<u64>) -> Quota {
        Quota { bytes, versions }
    }

    #[test]
    fn reservations_check_usage_plus_in_flight() {
        let c = Arc::new(Capacity::default());
        c.set_officer_quotas(BTreeMap::from([("b".to_string(), q(Some(100), Some(3)))]));
        c.count("b", 60, true);
        let ask = |bytes| Usage { bytes, versions: 1 };
        let r1 = c.reserve("b", ask(30)).unwrap();
        // 60 used + 30 in flight + 20 > 100
        let e = c.reserve("b", ask(20)).err().unwrap();
        let StoreError::QuotaExceeded {
            bucket,
            quota,
            used,
            pending,
            ask: asked,
        } = e
        else {
            panic!("{e}")
        };
        assert_eq!((bucket.as_str(), quota), ("b", q(Some(100), Some(3))));
        assert_eq!((used.bytes, pending.bytes, asked.bytes), (60, 30, 20));
        drop(r1);
        let mut r2 = c.reserve("b", ask(10)).unwrap();
        assert!(r2.grow_to(40).is_ok());
        assert!(matches!(r2.grow_to(41), Err(StoreError::QuotaExceeded { .. })));
        assert_eq!(r2.held().bytes, 40);
        drop(r2);
        // Versions: 1 used, 3 allowed.
        let a = c.reserve("b", ask(0)).unwrap();
        let b = c.reserve("b", ask(0)).unwrap();
        assert!(matches!(c.reserve("b", ask(0)), Err(StoreError::QuotaExceeded { .. })));
        // A claim of bytes only (a growing body) is not refused for versions.
        drop((a, b));
        c.count("b", 60, false);
        assert_eq!(c.usage("b"), Usage::default());
        // Other buckets are unlimited.
        assert!(c.reserve("other", ask(u64::MAX / 2)).is_ok());
    }

    #[test]
    fn quota_parsing() {
        assert_eq!(
            parse_quota(Some("500GiB"), Some("10")).unwrap(),
            q(Some(500 << 30), Some(10))
        );
        assert_eq!(parse_quota(None, Some("3")).unwrap(), q(None, Some(3)));
        assert!(parse_quota(None, None).is_err());
        assert!(matches!(
            parse_quota(Some("lots"), None),
            Err(QuotaParseError::Bytes(_))
        ));
        assert_eq!(
            parse_quota(None, Some("-1")).unwrap_err().to_string(),
            "versions: '-1' is not a whole number"
        );
    }

    #[test]
    fn officer_quota_overrides_config() {
        let c = Capacity::default();
        c.set_config_quotas(BTreeMap::from([("b".to_string(), q(Some(10), None))]));
        assert_eq!(c.quota("b"), Some((q(Some(10), None), QuotaSource::Config)));
        c.set_officer_quota("b", Some(q(None, Some(5))));
        assert_eq!(c.quota("b"), Some((q(None, Some(5)), QuotaSource::Officer)));
        c.set_officer_quota("b", None);
        assert_eq!(c.quota("b").map(|x| x.1), Some(QuotaSource::Config));
    }

    #[test]
    fn reserve_refuses_below_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let s = free_space(dir.path(), Reserve::Percent(0.0)).unwrap();
        assert!(s.total > 0 && s.available <= s.total);
        assert!(DiskReserve::new(dir.path(), Reserve::Bytes(0)).check(0).is_ok());
        let e = DiskReserve::new(dir.path(), Reserve::Percent(100.0))
            .check(0)
            .unwrap_err();
        assert!(matches!(e, StoreError::StorageFull { .. }), "{e}");
        let e = DiskReserve::new(dir.path(), Reserve::Bytes(0))
            .check(u64::MAX)
            .unwrap_err();
        assert!(matches!(e, StoreError::StorageFull { .. }), "{e}");
    }
}
