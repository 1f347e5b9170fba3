//! What `wormgate serve` runs besides answering requests: the audit trail with its head anchored in
//! the catalog, the alarm sink, the time sources asked at start and every `--time-check-interval`,
//! an offline time confirmation (or rewind) taken at start, and the background loops — clock monitor,
//! catalog totals for `/metrics`, periodic scrub, lifecycle passes, signed checkpoints, the audit
//! archive copier, and the clock watermark and heartbeat persisted every second.

use crate::audit::alarm::{self, ClockMonitor};
use crate::audit::checkpoint::{load_signing_key, public_key_hex};
use crate::audit::{AuditError, AuditEvent, AuditLog, AuditOptions};
use crate::config::Config;
use crate::datadir::{audit_dir, audit_ship_dir, write_anchor};
use crate::gateway::{run_scrub, scrub_detail, sign_checkpoint, AdminSettings, Gateway};
use crate::store::Catalog;
use std::sync::Arc;
use std::time::Duration;

/// A cause from the store layer (its error type is the store's), kept for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why the background side of `wormgate serve` could not start; the start stops with it.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The audit trail cannot be opened (in use, unreadable).
    #[error("cannot open audit trail: {0}")]
    OpenAudit(#[source] AuditError),
    /// A start-up record could not be made durable.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// `--audit-signing-key` is unreadable or not a key.
    #[error(transparent)]
    SigningKey(#[from] crate::audit::error::SigningKeyError),
    /// An audit shipping target cannot be used.
    #[error(transparent)]
    Shipping(#[from] crate::audit::ship::ShipError),
    /// The audit archive cannot be set up.
    #[error(transparent)]
    Archive(#[from] crate::audit::archive::ArchiveError),
    /// The catalog cannot be read.
    #[error(transparent)]
    Catalog(Cause),
}

/// State key: when the last background scrub finished (ms), so restarts do not postpone it forever.
const LAST_SCRUB_KEY: &[u8] = b"scrub.last_finished_ms";

/// Open the audit trail of `cfg`, anchoring its head in the catalog `state` tree after every batch.
pub fn open_audit(cfg: &Config, catalog: &Catalog) -> Result<AuditLog, DaemonError> {
    let state = catalog.state().clone();
    let opts = AuditOptions {
        segment_bytes: cfg.evidence.audit_segment_bytes,
        head_log_every: cfg.evidence.audit_head_every,
        anchor: Some(Arc::new(move |seq, hash: &str| write_anchor(&state, seq, hash))),
    };
    AuditLog::open_with(&audit_dir(&cfg.data_dir), opts).map_err(DaemonError::OpenAudit)
}

/// Audit shipping (`--audit-syslog`, `--audit-webhook`): one background task per sink, reading the
/// trail from its cursor. A target that cannot be used stops the start.
fn start_shipping(cfg: &Config, gw: &Gateway) -> Result<(), DaemonError> {
    let a = &cfg.audit_shipping;
    let targets = crate::audit::ship::Targets::parse(
        a.audit_syslog.as_deref(),
        a.audit_syslog_ca.as_deref(),
        a.audit_webhook.as_deref(),
        a.audit_webhook_ca.as_deref(),
    )?;
    if targets.any() {
        crate::audit::ship::start(&gw.audit, targets, &audit_ship_dir(&cfg.data_dir))?;
    }
    Ok(())
}

fn iso_now(gw: &Gateway) -> String {
    crate::timefmt::format_iso(gw.clock.now().at())
}

/// Everything to do once the gateway exists (before it listens).
pub async fn start(cfg: &Config, gw: &Arc<Gateway>) -> Result<(), DaemonError> {
    let ev = &cfg.evidence;
    let signing_key = match &ev.audit_signing_key {
        Some(p) => {
            let k = load_signing_key(p)?;
            println!("audit checkpoints signed with ed25519 key {}", public_key_hex(&k));
            Some(Arc::new(k))
        }
        None => None,
    };
    let sources = time_sources(cfg, gw);
    let _ = gw.admin.set(AdminSettings {
        metrics_anonymous: ev.metrics_anonymous,
        metrics_token: ev.metrics_token.clone(),
        signing_key: signing_key.clone(),
        scrub_rate: ev.scrub_rate,
        time_sources: sources.clone(),
        lifecycle_day: Some(ev.lifecycle_day),
    });
    crate::metrics::mark_started();
    alarm::install(gw.audit.clone(), Some(gw.clock.clone()));
    start_shipping(cfg, gw)?;
    let (seq, head) = gw.audit.head();
    tracing::info!(audit_seq = seq, audit_head = %head, "audit chain head at start");

    // An alarm standing at start (wall clock behind the watermark, or past the last heartbeat by
    // more than --max-offline-gap) is audited before anything can clear it.
    let mut mon = ClockMonitor::default();
    if let Some(mut e) = mon.poll(&gw.clock) {
        if let Some(gap) = gw.clock.alarming_restart_gap_ms() {
            e.detail = Some(format!(
                "{}; {gap} ms past the last heartbeat of the previous run (--max-offline-gap {} s)",
                e.detail.unwrap_or_default(),
                cfg.time.max_offline_gap.num_seconds()
            ));
        }
        gw.audit.append(e).await?;
    }

    // Ask the time sources before listening: an agreeing quorum vouches for the wall clock.
    if let Some(src) = &sources {
        let c = src.check(&gw.clock).await;
        tracing::info!(
            verdict = c.tally.verdict.as_str(),
            "{}",
            crate::evidence::timesources::check_detail(&c)
        );
        let mut e = AuditEvent::internal("TimeSourceCheck", iso_now(gw));
        e.detail = Some(crate::evidence::timesources::check_detail(&c));
        gw.audit.append(e).await?;
    }

    // A confirmation (or rewind) an officer stored with `wormgate time confirm --data-dir` while we
    // were stopped.
    let watermark = gw.catalog.watermark_ms().map_err(|e| DaemonError::Catalog(e.into()))?;
    if let Some((c, res)) = crate::evidence::time::take_pending(&gw.catalog, &gw.clock, watermark) {
        let op = match (&res, c.rewind) {
            (Ok(_), true) => "TimeRewind",
            (Ok(_), false) => "TimeConfirm",
            (Err(_), _) => "TimeConfirmIgnored",
        };
        let mut e = AuditEvent::internal(op, iso_now(gw));
        e.principal = Some(c.by.clone());
        e.detail = Some(format!(
            "offline {} made at wall time {} ms for watermark {} ms: {}{}",
            if c.rewind { "rewind" } else { "confirmation" },
            c.wall_ms,
            c.watermark_ms,
            match &res {
                Ok(d) => d.clone(),
                Err(why) => format!("not applied: {why}"),
            },
            c.note.as_deref().map(|n| format!("; note: {n}")).unwrap_or_default()
        ));
        if let Err(why) = &res {
            tracing::error!("offline time confirmation not applied: {why}");
        }
        gw.audit.append(e).await?;
    }
    if let Some(e) = mon.poll(&gw.clock) {
        gw.audit.append(e).await?;
    }

    // Time sources, every --time-check-interval; a change of verdict is audited.
    if let Some(src) = sources {
        let gw = gw.clone();
        let every = cfg.time.check_interval.to_std().unwrap_or(Duration::from_secs(300));
        tokio::spawn(async move {
            let mut last = src.last().map(|c| c.tally.verdict);
            loop {
                tokio::time::sleep(every).await;
                let c = src.check(&gw.clock).await;
                if Some(c.tally.verdict) != last {
                    last = Some(c.tally.verdict);
                    let detail = crate::evidence::timesources::check_detail(&c);
                    tracing::warn!("time source verdict changed: {detail}");
                    let mut e = AuditEvent::internal("TimeSourceCheck", iso_now(&gw));
                    e.detail = Some(detail);
                    if let Err(err) = gw.audit.append(e).await {
                        tracing::error!(
                            error = &err as &dyn std::error::Error,
                            "cannot audit a time source check"
                        );
                    }
                }
            }
        });
    }

    // Clock monitor: alarm transitions → audit + metrics.
    {
        let gw = gw.clone();
        tokio::spawn(async move {
            loop {
                if let Some(e) = mon.poll(&gw.clock) {
                    if let Err(err) = gw.audit.append(e).await {
                        tracing::error!(error = &err as &dyn std::error::Error, "cannot audit a clock alarm");
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    // Catalog totals for /metrics.
    {
        let gw = gw.clone();
        let every = ev.stats_interval.to_std().unwrap_or(Duration::from_secs(300));
        tokio::spawn(async move {
            loop {
                let (cat, now) = (gw.catalog.clone(), gw.clock.now().at());
                if let Ok(s) = tokio::task::spawn_blocking(move || crate::evidence::stats::compute(&cat, now)).await {
                    crate::metrics::set_retention_stats(s);
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    // Background scrub (either backend: upstream blobs are streamed back and re-hashed).
    if let Some(interval) = ev.scrub_interval {
        let (gw, rate) = (gw.clone(), ev.scrub_rate);
        let interval_ms = interval.num_milliseconds().max(1000);
        tokio::spawn(async move {
            loop {
                let last = gw
                    .catalog
                    .state()
                    .get(LAST_SCRUB_KEY)
                    .ok()
                    .flatten()
                    .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes));
                let now = chrono::Utc::now().timestamp_millis();
                // Never scrubbed: first run five minutes after start (or sooner for short intervals).
                let due = last.map_or(now + interval_ms.min(300_000), |l| l + interval_ms);
                if due > now {
                    tokio::time::sleep(Duration::from_millis(u64::try_from(due - now).unwrap_or(0))).await;
                }
                let opts = crate::evidence::scrub::ScrubOptions {
                    bucket: None,
                    rate_bytes_per_s: rate,
                    min_age: Duration::from_secs(3600),
                };
                let mut e = AuditEvent::internal("BackgroundScrub", iso_now(&gw));
                match run_scrub(gw.catalog.clone(), gw.blobs.clone(), opts).await {
                    Ok(rep) => {
                        if rep.ok {
                            tracing::info!(
                                versions = rep.checked_versions,
                                bytes = rep.checked_bytes,
                                unreferenced = rep.unreferenced,
                                "scrub finished"
                            );
                        } else {
                            tracing::error!(
                                missing = rep.missing,
                                corrupt = rep.corrupt,
                                "scrub found missing or corrupt versions"
                            );
                            e.decision = "alarm".into();
                            e.rule = Some("scrub_integrity".into());
                        }
                        e.detail = Some(scrub_detail(&rep));
                    }
                    Err(err) => {
                        e.decision = "error".into();
                        e.detail = Some(format!("scrub failed: {err}"));
                    }
                }
                e.time = iso_now(&gw);
                if let Err(err) = gw.audit.append(e).await {
                    tracing::error!(error = &err as &dyn std::error::Error, "cannot audit a scrub");
                }
                let _ = gw
                    .catalog
                    .state()
                    .insert(LAST_SCRUB_KEY, &chrono::Utc::now().timestamp_millis().to_be_bytes());
            }
        });
    }

    // Lifecycle: apply the buckets' rules through the lock, one pass per interval; then the segment
    // reclaim pass (a segment that was still the active one when its last version went is reclaimed
    // only once it is sealed, which a removal does not notice).
    if let Some(interval) = ev.lifecycle_interval {
        let (gw, day, data) = (gw.clone(), ev.lifecycle_day, cfg.data_dir.clone());
        let every = interval.to_std().unwrap_or(Duration::from_secs(3600));
        tokio::spawn(async move {
            // The first pass a minute after start (sooner for short intervals): a pass cut short by a
            // crash or restart is finished without waiting a whole interval.
            let mut wait = every.min(Duration::from_secs(60));
            loop {
                tokio::time::sleep(wait).await;
                wait = every;
                match gw.lifecycle_pass(day, false).await {
                    Ok(r) if r.versions_removed + r.markers_removed + r.markers_added + r.uploads_aborted > 0 => {
                        tracing::info!(
                            versions = r.versions_removed,
                            bytes = r.bytes_reclaimed,
                            markers_removed = r.markers_removed,
                            markers_added = r.markers_added,
                            uploads_aborted = r.uploads_aborted,
                            skipped_retained = r.skipped_retained,
                            skipped_held = r.skipped_held,
                            failed = r.failed,
                            "lifecycle pass"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e.message, "lifecycle pass failed"),
                }
                // Directory listing, catalog reads and unlinks: blocking work, off the async workers.
                let (gw, data) = (gw.clone(), data.clone());
                if let Err(e) = tokio::task::spawn_blocking(move || gw.reclaim_all_segments(&data)).await {
                    tracing::error!(error = %e, "the segment reclaim pass failed");
                }
            }
        });
    }

    // The off-box audit archive: sealed segments and checkpoints, copied in the background.
    let archive_nudge = match &cfg.audit_archive {
        Some(ac) => {
            let archiver = crate::audit::archive::Archiver::new(ac, &audit_dir(&cfg.data_dir), &cfg.data_dir)?;
            let nudge = archiver.nudge_handle();
            tokio::spawn(archiver.run());
            Some(nudge)
        }
        None => None,
    };

    // Signed checkpoints (handed to the archiver as soon as they are signed).
    if let (Some(key), Some(interval)) = (signing_key, ev.checkpoint_interval) {
        let gw = gw.clone();
        let every = interval.to_std().unwrap_or(Duration::from_secs(3600));
        tokio::spawn(async move {
            let mut last_seq = 0;
            loop {
                tokio::time::sleep(every).await;
                let (seq, _) = gw.audit.head();
                if seq == last_seq {
                    continue;
                }
                match sign_checkpoint(&gw.audit, &key, &gw.clock).await {
                    Ok(c) => {
                        last_seq = c.seq + 1; // the checkpoint's own record
                        if let Some(n) = &archive_nudge {
                            n.notify_one();
                        }
                    }
                    Err(e) => tracing::error!(error = &e as &dyn std::error::Error, "cannot sign an audit checkpoint"),
                }
            }
        });
    }

    // Persist the clock watermark every second so a wind-back across a restart is noticed, and the
    // heartbeat (while no alarm stands) so a clock set ahead while stopped is.
    {
        let (catalog, clock) = (gw.catalog.clone(), gw.clock.clone());
        tokio::spawn(async move {
            loop {
                let heartbeat = clock.heartbeat_ms();
                let guard = clock.persist_guard();
                if let Err(e) = catalog.store_watermark(clock.watermark_ms()) {
                    tracing::error!(error = %e, "cannot persist clock watermark");
                }
                if let Some(hb) = heartbeat {
                    if let Err(e) = catalog.store_heartbeat(hb) {
                        tracing::error!(error = %e, "cannot persist clock heartbeat");
                    }
                }
                drop(guard);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
    Ok(())
}

/// The configured time sources (`None` when there are none).
fn time_sources(cfg: &Config, gw: &Gateway) -> Option<Arc<crate::evidence::timesources::TimeSources>> {
    if !cfg.time.has_sources() {
        return None;
    }
    let upstream = match (&gw.blobs, cfg.time.upstream_date) {
        (crate::store::BlobStore::Upstream(u), true) => Some(u.clone()),
        _ => None,
    };
    let ntp = cfg.time.ntp.iter().map(|n| (n.name(), n.addr.clone())).collect();
    Some(Arc::new(crate::evidence::timesources::TimeSources::new(
        ntp,
        upstream,
        cfg.time.tolerance.num_milliseconds(),
    )))
}

/// At shutdown, after the last record: a final checkpoint (when a key is configured) and the head in
/// the log.
pub async fn stop(gw: &Arc<Gateway>) {
    if let Some(key) = gw.admin.get().and_then(|s| s.signing_key.clone()) {
        if let Err(e) = sign_checkpoint(&gw.audit, &key, &gw.clock).await {
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "cannot sign the final audit checkpoint"
            );
        }
    }
    let (seq, head) = gw.audit.head();
    tracing::info!(audit_seq = seq, audit_head = %head, "audit chain head at shutdown");
}
