//! The last scrub's result, kept in the catalog `state` tree so an evidence bundle can show it later
//! (`wormgate evidence bundle`): scrubs run offline (`wormgate scrub`), on demand through the admin
//! API and in the background, and each leaves only an audit record otherwise. The findings are cut
//! to [`MAX_FINDINGS`] so the record stays small; the counts are always whole.

use crate::evidence::scrub::ScrubReport;
use crate::store::Catalog;

/// State key of the last scrub's result (JSON of a [`ScrubReport`]).
pub const LAST_SCRUB_RESULT_KEY: &[u8] = b"scrub.last_result";

/// Most findings kept with the record.
pub const MAX_FINDINGS: usize = 100;

/// Why the last scrub result could not be kept or read.
#[derive(Debug, thiserror::Error)]
pub enum ScrubRecordError {
    /// The catalog refused the write or read.
    #[error("catalog state: {0}")]
    State(#[source] sled::Error),
    /// The stored record is not a scrub report.
    #[error("the stored scrub result does not decode: {0}")]
    Decode(#[source] serde_json::Error),
}

/// Keep `rep` as the last scrub result (replaces the one before).
pub fn record(catalog: &Catalog, rep: &ScrubReport) -> Result<(), ScrubRecordError> {
    let mut kept = rep.clone();
    kept.findings.truncate(MAX_FINDINGS);
    let bytes = serde_json::to_vec(&kept).map_err(ScrubRecordError::Decode)?;
    catalog
        .state()
        .insert(LAST_SCRUB_RESULT_KEY, bytes)
        .map_err(ScrubRecordError::State)?;
    Ok(())
}

/// The last scrub result on record, if any.
pub fn last(catalog: &Catalog) -> Result<Option<ScrubReport>, ScrubRecordError> {
    let Some(raw) = catalog
        .state()
        .get(LAST_SCRUB_RESULT_KEY)
        .map_err(ScrubRecordError::State)?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&raw).map(Some).map_err(ScrubRecordError::Decode)
}
