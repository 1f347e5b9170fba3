//! Per-key serialization of check-then-act. A handler reads a version, asks `lock::decide`, and the
//! catalog applies the permit, all while holding the key's guard; catalog mutations of a key take
//! that guard as an argument, so there is no way to change a version without holding it.

use std::hash::{Hash, Hasher};
use tokio::sync::{Mutex, MutexGuard};

const STRIPES: usize = 256;

/// Striped locks: one stripe serializes every key that hashes to it. `DeleteBucket` takes them all.
pub struct KeyLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for KeyLocks {
    fn default() -> Self {
        Self::new()
    }
}

/// Proof that the caller holds the lock of `(bucket, key)`.
pub struct KeyGuard<'a> {
    bucket: String,
    key: String,
    _stripe: MutexGuard<'a, ()>,
}

impl KeyGuard<'_> {
    /// Whether this guard is the lock of `(bucket, key)` (the catalog refuses mutations otherwise).
    pub fn covers(&self, bucket: &str, key: &str) -> bool {
        self.bucket == bucket && self.key == key
    }
}

/// Proof that the caller holds every stripe: no key of any bucket changes meanwhile.
pub struct AllKeysGuard<'a> {
    _stripes: Vec<MutexGuard<'a, ()>>,
}

impl KeyLocks {
    pub fn new() -> Self {
        KeyLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    fn stripe(bucket: &str, key: &str) -> usize {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bucket.hash(&mut h);
        key.hash(&mut h);
        // The remainder is below STRIPES, so it fits any usize.
        usize::try_from(h.finish() % STRIPES as u64).unwrap_or(0)
    }

    /// Lock `(bucket, key)`.
    pub async fn key(&self, bucket: &str, key: &str) -> KeyGuard<'_> {
        let stripe = self.stripes[Self::stripe(bucket, key)].lock().await;
        KeyGuard {
            bucket: bucket.to_string(),
            key: key.to_string(),
            _stripe: stripe,
        }
    }

    /// Lock every stripe (bucket-wide changes), always in the same order.
    pub async fn all(&self) -> AllKeysGuard<'_> {
        let mut out = Vec::with_capacity(STRIPES);
        for s in &self.stripes {
            out.push(s.lock().await);
        }
        AllKeysGuard { _stripes: out }
    }
}
