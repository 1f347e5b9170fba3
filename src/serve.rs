//! `wormgate serve`: open the store, build the gateway, start its background work (`daemon`) and the
//! listeners; at shutdown, persist the clock watermark and flush the catalog.

use crate::config::Config;
use crate::datadir::catalog_dir;
use crate::gateway::Gateway;
use crate::lock::{Clock, Policy, SystemTimeSource};
use crate::s3::parse::Addressing;
use crate::store::blob::disk::DiskBlobs;
use crate::store::blob::upstream::UpstreamBlobs;
use crate::store::{BlobStore, Catalog};
use std::sync::Arc;

/// Human form of a duration for the start banner.
fn human(d: chrono::Duration) -> String {
    let s = d.num_seconds();
    if s % (365 * 86_400) == 0 {
        format!("{}y", s / (365 * 86_400))
    } else if s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else {
        format!("{s}s")
    }
}

/// Run the gateway until SIGINT/SIGTERM.
pub async fn run(cfg: Config) -> Result<(), String> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| format!("cannot create {}: {e}", cfg.data_dir.display()))?;
    // Upstream mode: refuse to start unless the upstream bucket answers to our credentials.
    let (blobs, guarantee) = match &cfg.upstream {
        None => (
            BlobStore::Disk(DiskBlobs::open(&cfg.data_dir).map_err(|e| format!("cannot open blob store: {e}"))?),
            "gateway lock only",
        ),
        Some(up) => {
            let u = UpstreamBlobs::connect(up, &cfg.data_dir).await?;
            println!(
                "upstream: {} (object lock {})",
                u.describe(),
                if u.upstream_lock() {
                    "enabled: retention mirrored"
                } else {
                    "not enabled"
                }
            );
            let g = if u.upstream_lock() {
                "gateway lock + upstream lock"
            } else {
                "gateway lock only"
            };
            (BlobStore::Upstream(u), g)
        }
    };
    let catalog = Catalog::open(&catalog_dir(&cfg.data_dir)).map_err(|e| format!("cannot open catalog: {e}"))?;
    let audit = crate::daemon::open_audit(&cfg, &catalog)?;
    let watermark = catalog.watermark_ms().map_err(|e| e.to_string())?;
    let clock = Arc::new(Clock::new(
        Arc::new(SystemTimeSource::default()),
        watermark,
        chrono::Duration::minutes(5),
    ));
    if let Some(a) = clock.alarm() {
        tracing::error!(alarm = ?a, "clock alarm at start: wall clock is behind the persisted watermark; expiry-based deletions are refused");
    }
    if cfg.users.is_empty() {
        return Err(
            "no users configured: set WORMGATE_ACCESS_KEY and WORMGATE_SECRET_KEY (or [[users]] in the config file)"
                .into(),
        );
    }
    let policy = Policy {
        min_retention: cfg.min_retention,
        max_retention: cfg.max_retention,
        require_client_digest: cfg.require_client_digest,
    };
    let gateway = Arc::new(Gateway::new(
        catalog.clone(),
        blobs,
        clock.clone(),
        policy,
        cfg.users.clone(),
        Addressing {
            domain: cfg.domain.clone(),
        },
        cfg.region.clone(),
        audit,
    ));
    apply_capacity(&cfg, &gateway);
    crate::daemon::start(&cfg, &gateway).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    println!(
        "wormgate {}: retention min {} max {}; data dir {}; COMPLIANCE on every bucket",
        env!("CARGO_PKG_VERSION"),
        human(cfg.min_retention),
        human(cfg.max_retention),
        cfg.data_dir.display()
    );
    println!("guarantee: {guarantee}");
    match gateway.disk_reserve().map(|r| r.status()) {
        Some(Ok(fs)) => println!(
            "free-space reserve {} of the data volume ({} bytes; {} bytes free now{}){}",
            cfg.reserve_free,
            fs.reserve,
            fs.available,
            if fs.below_reserve() {
                ", BELOW the reserve: new versions are refused"
            } else {
                ""
            },
            if cfg.upstream.is_some() {
                "; upstream mode: it guards the local catalog and audit trail only"
            } else {
                ""
            }
        ),
        Some(Err(e)) => tracing::warn!(error = %e, "cannot read the free space of the data directory"),
        None => {}
    }
    if let Some(addr) = cfg.listen {
        let listener = crate::http::bind(addr).await?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on http://{local}");
        tasks.push(tokio::spawn(crate::http::serve(
            listener,
            None,
            gateway.clone(),
            stop_rx.clone(),
        )));
    }
    if let Some(tls) = &cfg.tls {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let acceptor = crate::http::tls_acceptor(&tls.cert, &tls.key)?;
        let listener = crate::http::bind(tls.listen).await?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on https://{local}");
        tasks.push(tokio::spawn(crate::http::serve(
            listener,
            Some(acceptor),
            gateway.clone(),
            stop_rx.clone(),
        )));
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    crate::daemon::stop(&gateway).await;
    catalog
        .store_watermark(clock.watermark_ms())
        .map_err(|e| e.to_string())?;
    catalog.flush_now().map_err(|e| e.to_string())?;
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The free-space reserve and the config file's quotas (an officer's quota overrides them).
fn apply_capacity(cfg: &Config, gateway: &Gateway) {
    let _ = gateway.reserve.set(crate::store::capacity::DiskReserve::new(
        &cfg.data_dir,
        cfg.reserve_free,
    ));
    gateway.catalog.capacity().set_config_quotas(
        cfg.quotas
            .iter()
            .map(|(b, q)| {
                (
                    b.clone(),
                    crate::store::capacity::Quota {
                        bytes: q.bytes,
                        versions: q.versions,
                    },
                )
            })
            .collect(),
    );
}
