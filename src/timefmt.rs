//! Time formats, one definition each: RFC 3339 with milliseconds (S3 XML, retain-until dates, audit
//! records), the strict ISO 8601 parse for retain-until dates, HTTP dates (`Last-Modified`,
//! `If-Modified-Since`), and epoch milliseconds (what records store). Imports nothing of the crate.

use chrono::{DateTime, TimeZone, Utc};

/// A retention period or limit for people: whole days when it is whole days (`7 days`), else seconds
/// (refusal messages and the evidence bundle word limits the same way).
pub fn days_or_seconds(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    if s % 86_400 == 0 {
        format!("{} days", s / 86_400)
    } else {
        format!("{s} seconds")
    }
}

/// RFC 3339 with milliseconds and `Z`, as AWS renders retain-until dates and S3 XML times
/// (`2009-10-12T17:50:30.000Z`).
pub fn format_iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Strict ISO-8601 parse for retain-until dates: `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`. Anything
/// ambiguous (no zone, date only, year ≥ 10000) is refused.
pub fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let [y1, y2, y3, y4, b'-', ..] = s.as_bytes() else {
        return None;
    };
    if s.len() < 20 || ![y1, y2, y3, y4].iter().all(|b| b.is_ascii_digit()) {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc))
}

/// The wall clock now, formatted with [`format_iso`].
pub fn now_iso() -> String {
    format_iso(Utc::now())
}

/// Milliseconds since the Unix epoch as a time (the epoch itself when out of range).
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Milliseconds since the Unix epoch, formatted with [`format_iso`].
pub fn iso_ms(ms: i64) -> String {
    format_iso(from_ms(ms))
}

/// The last millisecond an HTTP date can carry (`Fri, 31 Dec 9999 23:59:59 GMT`).
const LAST_HTTP_DATE_MS: u64 = 253_402_300_799_000;

/// RFC 7231 date for `Last-Modified` (times before the epoch render as the epoch, times after year
/// 9999 as its last second: `httpdate` panics beyond it, and a record's time must not panic a GET).
pub fn http_date(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0).min(LAST_HTTP_DATE_MS);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
}

/// Parse an HTTP date (`If-Modified-Since`, `Date`, …) in every form AWS accepts: RFC 7231's
/// IMF-fixdate, RFC 850 and asctime forms, and RFC 1123/2822 dates with a numeric zone (`+0000`,
/// `-0000`, `+0100`) or without the weekday, which SDKs and `date -R` produce. `None` otherwise.
pub fn parse_http_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    httpdate::parse_http_date(s)
        .ok()
        .map(DateTime::<Utc>::from)
        .or_else(|| DateTime::parse_from_rfc2822(s).ok().map(|d| d.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_parsing_is_strict() {
        assert!(parse_iso("2030-01-01T00:00:00Z").is_some());
        assert!(parse_iso("2030-01-01T00:00:00.123Z").is_some());
        assert!(parse_iso("2030-01-01T00:00:00+14:00").is_some());
        assert!(parse_iso("2030-01-01").is_none());
        assert!(parse_iso("2030-01-01T00:00:00").is_none());
        assert!(parse_iso("10000-01-01T00:00:00Z").is_none());
        assert!(parse_iso("garbage").is_none());
        assert_eq!(
            parse_iso("2030-01-01T14:00:00+14:00").unwrap(),
            Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
        );
    }

    /// Every date form AWS accepts, as a table (HTTP-date headers and ISO 8601 body/header dates).
    #[test]
    fn accepted_date_forms() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 5, 0, 0).unwrap();
        for http in [
            "Tue, 01 Dec 2026 05:00:00 GMT",
            "Tuesday, 01-Dec-26 05:00:00 GMT",
            "Tue Dec  1 05:00:00 2026",
            "Tue, 01 Dec 2026 05:00:00 +0000",
            "Tue, 01 Dec 2026 05:00:00 -0000",
            "Tue, 01 Dec 2026 06:00:00 +0100",
            "Tue, 1 Dec 2026 05:00:00 GMT",
            "01 Dec 2026 05:00:00 +0000",
            "Tue, 01 Dec 2026 05:00:00 UT",
        ] {
            assert_eq!(parse_http_date(http), Some(t), "{http}");
        }
        for bad in ["2026-12-01T05:00:00Z", "Tue, 01 Dec 2026", "yesterday", ""] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
        for iso in [
            "2026-12-01T05:00:00Z",
            "2026-12-01T05:00:00.000Z",
            "2026-12-01T05:00:00.000000Z",
            "2026-12-01T05:00:00+00:00",
            "2026-12-01T07:00:00+02:00",
            "2026-12-01T00:00:00.000-05:00",
        ] {
            assert_eq!(parse_iso(iso), Some(t), "{iso}");
        }
    }

    /// Found by `s3::fuzz_tests::fuzz_conditions`: `httpdate` panics on dates after year 9999.
    #[test]
    fn http_date_after_year_9999_is_clamped_not_a_panic() {
        assert_eq!(http_date(253_402_300_800_000), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(http_date(i64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(http_date(i64::MIN), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn formats_round_trip() {
        let ms = 1_255_369_830_123;
        assert_eq!(iso_ms(ms), "2009-10-12T17:50:30.123Z");
        assert_eq!(parse_iso(&iso_ms(ms)).unwrap().timestamp_millis(), ms);
        assert_eq!(http_date(ms), "Mon, 12 Oct 2009 17:50:30 GMT");
        assert_eq!(parse_http_date(&http_date(ms)).unwrap().timestamp(), ms / 1000);
        assert_eq!(http_date(-5), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert!(parse_http_date("2009-10-12").is_none());
        assert_eq!(from_ms(i64::MAX), DateTime::<Utc>::default());
    }
}
