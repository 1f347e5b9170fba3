//! Asking the time sources: SNTP servers (`--time-source ntp://HOST[:PORT]`, through the `rsntp`
//! client) and, in upstream mode, the upstream's `Date` header. Each answer becomes a
//! `lock::quorum::Reading`; the vote itself is pure (`lock::quorum::vote`) and the guarded clock acts
//! on it (`Clock::record_vote`). `daemon` runs a check at start, before the gateway listens, and then
//! every `--time-check-interval`; the last check is shown by `wormgate time status`.

use super::error::SntpError;
use crate::lock::quorum::{vote, NoAnswer, Reading, Sample, Tally};
use crate::lock::Clock;
use crate::store::blob::upstream::UpstreamBlobs;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// How long one SNTP server may take to answer.
const SNTP_TIMEOUT: Duration = Duration::from_secs(3);

/// The configured sources.
pub struct TimeSources {
    /// `(name, host:port)` of each SNTP server.
    ntp: Vec<(String, String)>,
    /// The upstream whose `Date` header is one more source.
    upstream: Option<UpstreamBlobs>,
    tolerance_ms: i64,
    last: Mutex<Option<Check>>,
}

/// One check: every reading, the tally, and when (wall clock, RFC 3339).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub at: String,
    pub tolerance_ms: i64,
    pub tally: Tally,
    pub readings: Vec<Reading>,
}

impl TimeSources {
    /// `ntp`: `(name, host:port)` pairs; `upstream`: ask its `Date` header too.
    pub fn new(ntp: Vec<(String, String)>, upstream: Option<UpstreamBlobs>, tolerance_ms: i64) -> TimeSources {
        TimeSources {
            ntp,
            upstream,
            tolerance_ms,
            last: Mutex::new(None),
        }
    }

    /// Whether any source is configured.
    pub fn is_empty(&self) -> bool {
        self.ntp.is_empty() && self.upstream.is_none()
    }

    /// The configured sources by name (`upstream-date` for the upstream), for the evidence bundle.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.ntp.iter().map(|(name, _)| name.clone()).collect();
        if self.upstream.is_some() {
            v.push("upstream-date".into());
        }
        v
    }

    /// Ask every source at once and read the answers.
    pub async fn read(&self) -> Vec<Reading> {
        let ntp = self.ntp.iter().map(|(name, addr)| async move {
            Reading {
                source: name.clone(),
                answer: sntp(addr).await.map_err(NoAnswer::of),
            }
        });
        let mut out = futures_util::future::join_all(ntp).await;
        if let Some(u) = &self.upstream {
            out.push(Reading {
                source: "upstream-date".into(),
                answer: u
                    .server_date()
                    .await
                    .map(|(t, wall_ms)| Sample {
                        source_ms: t.timestamp_millis(),
                        wall_ms,
                        precision_ms: 1000,
                    })
                    .map_err(NoAnswer::of),
            });
        }
        out
    }

    /// Read the sources, vote, and hand the verdict to the clock. Returns the check (also kept for
    /// [`TimeSources::last`]).
    pub async fn check(&self, clock: &Clock) -> Check {
        let readings = self.read().await;
        let tally = vote(&readings, self.tolerance_ms);
        clock.record_vote(tally.verdict);
        let c = Check {
            at: crate::timefmt::now_iso(),
            tolerance_ms: self.tolerance_ms,
            tally,
            readings,
        };
        *self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(c.clone());
        c
    }

    /// The last check, if any.
    pub fn last(&self) -> Option<Check> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// One SNTP exchange with `addr` (`host:port`). The offset rsntp computes is against our wall clock
/// at the exchange, so the sample is expressed as (wall + offset, wall).
async fn sntp(addr: &str) -> Result<Sample, SntpError> {
    let mut client = rsntp::AsyncSntpClient::new();
    client.set_timeout(SNTP_TIMEOUT);
    let r = client.synchronize(addr).await.map_err(SntpError::Exchange)?;
    let wall_ms = chrono::Utc::now().timestamp_millis();
    let offset_ms = (r.clock_offset().as_secs_f64() * 1000.0).round();
    if !offset_ms.is_finite() || offset_ms.abs() > 1e15 {
        return Err(SntpError::OffsetRange(offset_ms));
    }
    // Finite and within ±1e15 (checked above), so the conversion is exact.
    #[allow(clippy::cast_possible_truncation)]
    let offset_ms = offset_ms as i64;
    Ok(Sample {
        source_ms: wall_ms + offset_ms,
        wall_ms,
        precision_ms: 0,
    })
}

/// The one-line audit detail of a check.
pub fn check_detail(c: &Check) -> String {
    let mut s = format!(
        "time sources: {} (agreeing {}, disagreeing {}, unanswered {} of {}; tolerance {} ms)",
        c.tally.verdict.as_str(),
        c.tally.agreeing,
        c.tally.disagreeing,
        c.tally.unanswered,
        c.tally.configured,
        c.tolerance_ms
    );
    for r in &c.readings {
        match &r.answer {
            Ok(smp) => {
                let _ = write!(s, "; {} offset {} ms", r.source, smp.offset_ms());
            }
            Err(e) => {
                let _ = write!(s, "; {} no answer: {e}", r.source);
            }
        }
    }
    s
}
