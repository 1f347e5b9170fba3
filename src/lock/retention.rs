//! Retention values. A COMPLIANCE retention can only move forward: there is no setter, only `extend`.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The retention of one version. Mode is always COMPLIANCE in wormgate; the field exists so the
/// on-disk record states it explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Always `"COMPLIANCE"`.
    mode: ComplianceMode,
    /// Milliseconds since the Unix epoch, UTC. Private: the only way to a later date is `extend`.
    retain_until_ms: i64,
}

/// The only retention mode that exists here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComplianceMode {
    #[serde(rename = "COMPLIANCE")]
    Compliance,
}

/// What a client asked for in a mode header or `<Mode>` element; GOVERNANCE parses so that it can be
/// refused with a message that says why, instead of a generic parse error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedMode {
    Governance,
    Compliance,
}

impl RequestedMode {
    /// Exact, case-sensitive as AWS: `governance` is not a mode.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GOVERNANCE" => Some(RequestedMode::Governance),
            "COMPLIANCE" => Some(RequestedMode::Compliance),
            _ => None,
        }
    }
}

impl Retention {
    /// A new COMPLIANCE retention until `until`.
    pub(crate) fn until(until: DateTime<Utc>) -> Self {
        Retention {
            mode: ComplianceMode::Compliance,
            retain_until_ms: until.timestamp_millis(),
        }
    }

    /// A retention at an exact millisecond (tests of the extreme values only).
    #[cfg(test)]
    pub(crate) fn until_ms(retain_until_ms: i64) -> Self {
        Retention {
            mode: ComplianceMode::Compliance,
            retain_until_ms,
        }
    }

    /// Milliseconds since the Unix epoch (the stored precision).
    pub fn retain_until_ms(&self) -> i64 {
        self.retain_until_ms
    }

    /// The retain-until date.
    pub fn retain_until(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.retain_until_ms)
            .single()
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Whether this retention still protects its version at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now.timestamp_millis() < self.retain_until_ms
    }

    /// The only way to change a retention: forward, never back. Equal is an idempotent success.
    pub fn extend(self, new_until: DateTime<Utc>) -> Result<Retention, Retention> {
        if new_until.timestamp_millis() >= self.retain_until_ms {
            Ok(Retention::until(new_until))
        } else {
            Err(self)
        }
    }
}

/// A bucket's default retention, as `PutObjectLockConfiguration` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DefaultRetention {
    Days(u32),
    Years(u32),
}

impl DefaultRetention {
    /// The period as a duration (a year counts 365 days, as AWS does).
    pub fn duration(self) -> chrono::Duration {
        let days = match self {
            DefaultRetention::Days(d) => i64::from(d),
            DefaultRetention::Years(y) => 365 * i64::from(y),
        };
        chrono::Duration::try_days(days).unwrap_or(chrono::Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_only_forward() {
        let t0 = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let r = Retention::until(t0);
        assert!(r.extend(t0 + chrono::Duration::days(1)).is_ok());
        assert_eq!(r.extend(t0), Ok(r));
        assert!(r.extend(t0 - chrono::Duration::milliseconds(1)).is_err());
    }
}
