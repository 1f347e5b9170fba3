//! `wormgate serve`: open the store, build the gateway, start its background work (`daemon`) and the
//! listeners. SIGHUP reloads the config file's users and the TLS certificate (a bad file is refused
//! and the running settings stay). SIGTERM/SIGINT: stop accepting, let requests in flight finish
//! within `--shutdown-timeout`, sign the final checkpoint, audit the stop, persist the clock watermark
//! and flush the catalog.

use crate::audit::AuditEvent;
use crate::config::Config;
use crate::datadir::catalog_dir;
use crate::gateway::Gateway;
use crate::lock::{Clock, ClockOptions, ClockStart, Policy, SystemTimeSource};
use crate::s3::parse::Addressing;
use crate::store::blob::disk::DiskBlobs;
use crate::store::blob::upstream::UpstreamBlobs;
use crate::store::{BlobStore, Catalog};
use std::sync::Arc;

/// A cause from the store layer or the OS (the store's error type is its own), kept for the log.
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why `wormgate serve` could not start or stop cleanly. Printed as `wormgate: <error>`.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A start step failed; `what` says which (`cannot open catalog`, `cannot handle SIGTERM`).
    #[error("{what}: {source}")]
    Step {
        /// The step, as the operator reads it.
        what: String,
        /// Why.
        #[source]
        source: Cause,
    },
    /// The upstream bucket refused or did not answer.
    #[error(transparent)]
    Upstream(Cause),
    /// Reading or writing the catalog failed.
    #[error(transparent)]
    Catalog(Cause),
    /// The OS refused something the listeners need (their local address).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Nobody could sign in.
    #[error("no users configured: set WORMGATE_ACCESS_KEY and WORMGATE_SECRET_KEY (or [[users]] in the config file)")]
    NoUsers,
    /// A listener or its certificate.
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    /// The background side (audit trail, shipping, archive, time).
    #[error(transparent)]
    Daemon(#[from] crate::daemon::DaemonError),
}

/// What the gateway asks of glibc's allocator when the operator set nothing (`GLIBC_TUNABLES`).
pub const MALLOC_TUNABLES: &str = "glibc.malloc.arena_max=2";

/// Start this process over once with [`MALLOC_TUNABLES`] in its environment, before any thread
/// exists; the process id stays the same (`exec`). Why: glibc gives each thread that allocates
/// while another holds the lock an arena of its own, up to 8 per core, and every arena keeps
/// freed 1 MiB transfer buffers; after a mix of small and large requests the gateway sat at
/// 72–96 MiB RSS, against 39–43 MiB with two arenas and the same throughput (`bench/run`). The
/// tunable must be in the environment when the process starts, and `mallopt` would need `unsafe`,
/// which the gateway forbids. An operator's own `GLIBC_TUNABLES` is kept as it is. If the `exec`
/// fails, the gateway says so and runs with glibc's defaults.
pub fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("GLIBC_TUNABLES").is_some() {
            return;
        }
        // the binary's own path, not `/proc/self/exe`: the process name (`ps`, `pgrep`) comes from it
        let Ok(exe) = std::env::current_exe() else { return };
        let mut args = std::env::args_os();
        let program = args.next().unwrap_or_default();
        let err = std::process::Command::new(exe)
            .arg0(program)
            .args(args)
            .env("GLIBC_TUNABLES", MALLOC_TUNABLES)
            .exec();
        eprintln!(
            "wormgate: cannot restart with GLIBC_TUNABLES={MALLOC_TUNABLES} ({err}); glibc's malloc defaults stay"
        );
    }
}

/// A failed start step with its cause.
fn step(what: impl Into<String>) -> impl FnOnce(Cause) -> ServeError {
    let what = what.into();
    move |source| ServeError::Step { what, source }
}

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

/// What the gateway offers backup software, from the config.
fn tool_settings(cfg: &Config) -> crate::gateway::ToolSettings {
    use crate::gateway::{CapacitySource, SosapiSettings};
    crate::gateway::ToolSettings {
        governance_as_compliance: cfg.governance_as_compliance,
        sosapi: cfg.sosapi.as_ref().map(|s| SosapiSettings {
            concurrent_task_limit: s.concurrent_tasks,
            multi_object_delete_limit: s.delete_limit,
            kb_block_size: s.block_kb,
            capacity: match (s.capacity, &cfg.upstream) {
                (Some(b), _) => CapacitySource::Configured(b),
                (None, None) => CapacitySource::DataDisk(cfg.data_dir.clone()),
                (None, Some(_)) => CapacitySource::Unknown,
            },
            started_ms: chrono::Utc::now().timestamp_millis(),
        }),
    }
}

/// Bytes of small bodies buffered at once for segment entries; beyond it writers use files of their
/// own (bounds memory under many concurrent small PUTs).
const SEGMENT_BUFFER: usize = 64 << 20;

/// Run the gateway until SIGINT/SIGTERM.
pub async fn run(cfg: Config) -> Result<(), ServeError> {
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| step(format!("cannot create {}", cfg.data_dir.display()))(e.into()))?;
    // Upstream mode: refuse to start unless the upstream bucket answers to our credentials.
    let (blobs, guarantee) = match &cfg.upstream {
        None => (
            BlobStore::Disk(
                DiskBlobs::open(&cfg.data_dir)
                    .and_then(|d| d.with_segments(cfg.segment_max_object, SEGMENT_BUFFER))
                    .map_err(|e| step("cannot open blob store")(e.into()))?,
            ),
            "gateway lock only",
        ),
        Some(up) => {
            let u = UpstreamBlobs::connect(up, &cfg.data_dir)
                .await
                .map_err(|e| ServeError::Upstream(e.into()))?;
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
    let catalog = Catalog::open_with_cache(
        &catalog_dir(&cfg.data_dir),
        cfg.catalog_cache.unwrap_or(crate::store::meta::DEFAULT_CACHE_BYTES),
    )
    .map_err(|e| step("cannot open catalog")(e.into()))?;
    // The catalog holds the secrets of `wormgate user` keys: owner only.
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = catalog_dir(&cfg.data_dir);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| step(format!("cannot restrict {} to its owner", dir.display()))(e.into()))?;
    }
    let audit = crate::daemon::open_audit(&cfg, &catalog)?;
    let watermark = catalog.watermark_ms().map_err(|e| ServeError::Catalog(e.into()))?;
    let heartbeat = catalog.heartbeat_ms().map_err(|e| ServeError::Catalog(e.into()))?;
    let check_every = cfg
        .time
        .check_interval
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(300));
    let clock = Arc::new(Clock::start(
        Arc::new(SystemTimeSource::default()),
        ClockStart {
            watermark_ms: watermark,
            heartbeat_ms: heartbeat,
        },
        ClockOptions {
            forward_bound: chrono::Duration::minutes(5),
            max_offline_gap: cfg.time.max_offline_gap,
            sources_configured: cfg.time.has_sources(),
            // One missed check is tolerated; two are not.
            vote_max_age: check_every * 2 + std::time::Duration::from_secs(60),
        },
    ));
    if let Some(a) = clock.alarm() {
        tracing::error!(alarm = a.as_str(), restart_gap_ms = ?clock.restart_gap_ms(),
            "clock alarm at start: expiry-based deletions are refused until a time source agrees or an officer confirms (see `wormgate time status`)");
    }
    let catalog_users = crate::keys::users(&catalog).map_err(|e| ServeError::Catalog(e.into()))?;
    if cfg.users.is_empty() && catalog_users.is_empty() {
        return Err(ServeError::NoUsers);
    }
    let policy = Policy {
        min_retention: cfg.min_retention,
        max_retention: cfg.max_retention,
        require_client_digest: cfg.require_client_digest,
    };
    let mut gateway = Gateway::new(
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
    );
    gateway.tools = tool_settings(&cfg);
    gateway.limits = crate::gateway::Limits::new(cfg.limits);
    gateway.users.set_catalog(catalog_users);
    apply_capacity(&cfg, &gateway);
    let gateway = Arc::new(gateway);
    // Every segment found at start is sealed: remove the ones whose versions all went while they
    // were still active (a removal reclaims only its own segment, and never the active one).
    gateway.reclaim_all_segments(&cfg.data_dir);
    crate::daemon::start(&cfg, &gateway).await?;
    let signals = Signals::install()?;
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
    println!(
        "backup tools: GOVERNANCE {}; Veeam SOSAPI {}",
        if cfg.governance_as_compliance {
            "stored as COMPLIANCE"
        } else {
            "refused"
        },
        if cfg.sosapi.is_some() { "on" } else { "off" }
    );
    match gateway.disk_reserve().map(super::store::capacity::DiskReserve::status) {
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
        let local = listener.local_addr()?;
        println!("listening on http://{local}");
        tasks.push(tokio::spawn(crate::http::serve(
            listener,
            None,
            gateway.clone(),
            stop_rx.clone(),
            cfg.shutdown_timeout,
        )));
    }
    let mut reloader = None;
    if let Some(tls) = &cfg.tls {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let acceptor = Arc::new(crate::http::TlsReloader::load(&tls.cert, &tls.key)?);
        reloader = Some(acceptor.clone());
        let listener = crate::http::bind(tls.listen).await?;
        let local = listener.local_addr()?;
        println!("listening on https://{local}");
        tasks.push(tokio::spawn(crate::http::serve(
            listener,
            Some(acceptor),
            gateway.clone(),
            stop_rx.clone(),
            cfg.shutdown_timeout,
        )));
    }
    let signal = wait_for_stop(signals, &cfg, &gateway, reloader.as_deref()).await;
    tracing::info!(
        signal,
        timeout_s = cfg.shutdown_timeout.as_secs(),
        "shutting down: no new connections; finishing requests in flight"
    );
    let _ = stop_tx.send(true);
    let mut drained = true;
    for t in tasks {
        drained &= t.await.unwrap_or(false);
    }
    if !drained {
        tracing::warn!("requests still in flight after --shutdown-timeout were cut off");
    }
    let mut e = AuditEvent::internal("GatewayStopped", crate::timefmt::format_iso(clock.now().at()));
    e.detail = Some(format!(
        "gateway stopped on {signal}; {}",
        if drained {
            "every request in flight finished"
        } else {
            "requests still in flight after the shutdown timeout were cut off"
        }
    ));
    if let Err(err) = gateway.audit.append(e).await {
        tracing::error!(error = &err as &dyn std::error::Error, "cannot audit the stop");
    }
    // After the stop's own record, so the final checkpoint and the logged head cover the whole trail.
    crate::daemon::stop(&gateway).await;
    catalog
        .store_watermark(clock.watermark_ms())
        .map_err(|e| ServeError::Catalog(e.into()))?;
    catalog.flush_now().map_err(|e| ServeError::Catalog(e.into()))?;
    Ok(())
}

/// The signal streams, installed before the listeners open so a signal sent as soon as the gateway
/// says it listens is never lost to the default action (which would end the process uncleanly).
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals, ServeError> {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).map_err(|e| step("cannot handle SIGTERM")(e.into()))?;
        let hup = signal(SignalKind::hangup()).map_err(|e| step("cannot handle SIGHUP")(e.into()))?;
        Ok(Signals { term, hup })
    }
}

/// Serve SIGHUP reloads until SIGTERM or SIGINT; returns the name of the stopping signal.
async fn wait_for_stop(
    mut signals: Signals,
    cfg: &Config,
    gw: &Arc<Gateway>,
    tls: Option<&crate::http::TlsReloader>,
) -> &'static str {
    let Signals { term, hup } = &mut signals;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return "SIGINT",
            _ = term.recv() => return "SIGTERM",
            _ = hup.recv() => reload(cfg, gw, tls).await,
        }
    }
}

/// SIGHUP: the config file's users and the TLS certificate/key, each all or nothing.
async fn reload(cfg: &Config, gw: &Arc<Gateway>, tls: Option<&crate::http::TlsReloader>) {
    let mut notes = Vec::new();
    let mut failed = false;
    match crate::config::reload_users(cfg.config_file.as_deref()) {
        Ok(users) => {
            notes.push(format!("{} users from the config file and environment", users.len()));
            gw.users.set_config(users);
            tracing::info!("reloaded the config file's users");
        }
        Err(e) => {
            failed = true;
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "SIGHUP: config file refused; the running users stay"
            );
            notes.push(format!("config file refused ({e}); the running users stay"));
        }
    }
    if let Ok(u) = crate::keys::users(&gw.catalog) {
        gw.users.set_catalog(u);
    }
    if let Some(t) = tls {
        match t.reload() {
            Ok(()) => {
                tracing::info!("reloaded the TLS certificate and key");
                notes.push("TLS certificate reloaded".into());
            }
            Err(e) => {
                failed = true;
                tracing::error!(
                    error = &e as &dyn std::error::Error,
                    "SIGHUP: TLS certificate or key refused; the running certificate stays"
                );
                notes.push(format!("TLS certificate refused ({e}); the running certificate stays"));
            }
        }
    }
    let mut e = AuditEvent::internal("ConfigReload", crate::timefmt::format_iso(gw.clock.now().at()));
    if failed {
        e.decision = "error".into();
    }
    e.detail = Some(notes.join("; "));
    if let Err(err) = gw.audit.append(e).await {
        tracing::error!(error = &err as &dyn std::error::Error, "cannot audit a reload");
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
