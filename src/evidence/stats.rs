//! Catalog totals for `/metrics` (versions and bytes under retention, legal holds), computed by a
//! periodic scan rather than per scrape.

use crate::metrics::RetentionStats;
use crate::store::Catalog;

/// Scan the catalog once. `now` is guarded time.
pub fn compute(catalog: &Catalog, now: chrono::DateTime<chrono::Utc>) -> RetentionStats {
    let mut s = RetentionStats {
        computed_unix: chrono::Utc::now().timestamp(),
        ..Default::default()
    };
    s.buckets = catalog.list_buckets().map_or(0, |b| b.len() as u64);
    for item in catalog.all_versions() {
        match item {
            Ok((_, Some(r))) => {
                if r.delete_marker {
                    s.delete_markers += 1;
                    continue;
                }
                s.versions += 1;
                s.bytes += r.size;
                let retained = r.retention.is_some_and(|x| x.is_active(now));
                if retained || r.legal_hold {
                    s.versions_under_retention += u64::from(retained);
                    s.bytes_under_retention += if retained { r.size } else { 0 };
                }
                s.legal_holds += u64::from(r.legal_hold);
            }
            Ok((_, None)) | Err(_) => s.corrupt_records += 1,
        }
    }
    s
}
