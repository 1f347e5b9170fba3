//! A data directory: where the catalog and the audit trail live under it, opening a stopped gateway's
//! catalog (telling a running gateway's lock apart), and the audit-head anchor the server keeps in the
//! catalog `state` tree (written by `daemon` and `recover`, read by `audit verify`).

use crate::store::Catalog;
use std::path::{Path, PathBuf};

/// Key in the catalog `state` tree where the serving gateway anchors the audit chain head.
pub const AUDIT_ANCHOR_KEY: &[u8] = b"audit.head";

/// Where things live under a data directory.
pub fn catalog_dir(data: &Path) -> PathBuf {
    data.join("catalog")
}
pub fn audit_dir(data: &Path) -> PathBuf {
    data.join("audit")
}
/// The audit shipping cursors (one small file per sink).
pub fn audit_ship_dir(data: &Path) -> PathBuf {
    data.join("audit-ship")
}

/// Why the catalog could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process (a running `wormgate serve`) holds sled's lock.
    #[error(
        "the catalog {0} is in use by another process (a running `wormgate serve`?): stop the gateway first, \
         or use --endpoint URL to ask the running gateway"
    )]
    InUse(String),
    /// Missing directory.
    #[error("no catalog at {} (is --data-dir right?)", .0.display())]
    Missing(PathBuf),
    /// The store could not open it (the store's error, as its text).
    #[error("cannot open the catalog: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Open the catalog of `data` (must exist). Needs a tokio runtime (the catalog's flusher task).
pub fn open_catalog(data: &Path) -> Result<Catalog, OpenError> {
    let dir = catalog_dir(data);
    if !dir.exists() {
        return Err(OpenError::Missing(dir));
    }
    open_catalog_at(&dir)
}

/// Open (or create) a catalog at `dir`, telling a lock conflict apart.
pub fn open_catalog_at(dir: &Path) -> Result<Catalog, OpenError> {
    Catalog::open(dir).map_err(|e| {
        let msg = crate::store::error::chain(&e);
        if crate::store::rebuild::is_lock_error(&msg) {
            OpenError::InUse(dir.display().to_string())
        } else {
            OpenError::Other(msg.into())
        }
    })
}

/// The anchored audit head (seq, hash), if the gateway stored one.
pub fn read_anchor(catalog: &Catalog) -> Option<(u64, String)> {
    let raw = catalog.state().get(AUDIT_ANCHOR_KEY).ok()??;
    let v: serde_json::Value = serde_json::from_slice(&raw).ok()?;
    Some((v.get("seq")?.as_u64()?, v.get("hash")?.as_str()?.to_string()))
}

/// Store the audit head anchor (never lowers it).
pub fn write_anchor(state: &sled::Tree, seq: u64, hash: &str) {
    let new = serde_json::json!({ "seq": seq, "hash": hash }).to_string();
    let _ = state.fetch_and_update(AUDIT_ANCHOR_KEY, |old| {
        let old_seq = old
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(o).ok())
            .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64))
            .unwrap_or(0);
        if seq >= old_seq {
            Some(new.clone().into_bytes())
        } else {
            old.map(<[u8]>::to_vec)
        }
    });
}
