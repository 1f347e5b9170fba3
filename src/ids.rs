//! The version-id format, one definition: 16 hex digits of creation microseconds + 16 hex digits of a
//! catalog sequence number that sled never hands out twice. Unique, time-ordered, never reused, and
//! the seq (the catalog key) and creation time can be read back. Imports nothing of the crate.

/// A version id for a version, marker or upload created at `created_us` (µs since the epoch) with
/// catalog sequence number `seq`.
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

/// Milliseconds since the epoch encoded in one of our version ids. `None` when it is not one of ours.
pub fn version_created_ms(id: &str) -> Option<i64> {
    parse_version_id(id)?;
    i64::from_str_radix(&id[..16], 16).ok().map(|us| us / 1000)
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
    fn creation_time_reads_back() {
        let id = make_version_id(1_700_000_000_123_456, 9);
        assert_eq!(version_created_ms(&id), Some(1_700_000_000_123));
        assert_eq!(version_created_ms("null"), None);
    }
}
