//! The evidence subcommands of the `wormgate` binary: `audit verify|export|checkpoint|keygen`,
//! `scrub`, `report`, `recover`, `time status|confirm`. Offline they read a stopped gateway's
//! `--data-dir`; with `--endpoint URL` they ask a running gateway's admin API (signed with
//! `WORMGATE_ACCESS_KEY` / `WORMGATE_SECRET_KEY`, an auditor or admin key).
//!
//! Exit codes: 0 = verified / clean; 1 = a problem was found (broken chain, missing or corrupt
//! version); 2 = the command could not run (bad arguments, unreadable data, gateway unreachable).

use super::client::{query, AdminClient};
use super::error::CliError;
use crate::audit::checkpoint::{generate_signing_key, load_signing_key, public_key_hex, Checkpoint};
use crate::audit::export::{parse_time_bound, ExportFilter, ExportFormat};
use crate::audit::verify::{verify, VerifyOptions, VerifyReport};
use crate::datadir::{audit_dir, open_catalog, read_anchor, OpenError};
use crate::evidence::report::ReportFormat;
use crate::evidence::scrub::{ScrubOptions, ScrubReport};
use crate::gateway::ADMIN_PREFIX;
use crate::store::blob::disk::DiskBlobs;
use crate::store::blob::upstream::UpstreamBlobs;
use crate::store::BlobStore;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Exit code: a problem was found.
pub const EXIT_PROBLEM: i32 = 1;
/// Exit code: the command could not run.
pub const EXIT_ERROR: i32 = 2;

/// Where to find the gateway: a data directory (stopped gateway) or an endpoint (running one).
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Data directory of a stopped gateway.
    #[arg(long, env = "WORMGATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// URL of a running gateway (admin API); keys from `WORMGATE_ACCESS_KEY` / `WORMGATE_SECRET_KEY`.
    #[arg(long)]
    pub endpoint: Option<String>,
}

impl Target {
    pub(super) fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("./wormgate-data"))
    }
    pub(super) fn client(&self) -> Result<Option<AdminClient>, CliError> {
        self.endpoint.as_deref().map(AdminClient::from_env).transpose()
    }
}

/// `wormgate audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Walk the hash chain; print the first broken link; exit 0 (intact) or 1.
    Verify(VerifyArgs),
    /// Export records (JSON lines as stored, or CSV).
    Export(ExportArgs),
    /// Sign a checkpoint of the chain head now (offline with --signing-key, or ask the gateway).
    Checkpoint(CheckpointArgs),
    /// Make a new ed25519 signing key for checkpoints.
    Keygen(KeygenArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub target: Target,
    /// A signed checkpoint the log must still contain (repeatable).
    #[arg(long)]
    pub checkpoint: Vec<PathBuf>,
    /// Checkpoints must be signed by this hex ed25519 public key.
    #[arg(long)]
    pub trusted_key: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Verify the off-box audit archive (`--audit-archive-*` flags or the `[audit_archive]` table of
    /// `--config`) and compare it with the local trail under `--data-dir`.
    #[arg(long)]
    pub from_archive: bool,
    /// The gateway's TOML config file, for its `[audit_archive]` table (flags win).
    #[arg(long, requires = "from_archive")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub archive: crate::config::ArchiveArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub target: Target,
    /// From this time on (inclusive): 2024-01-31 or 2024-01-31T12:00:00Z.
    #[arg(long)]
    pub since: Option<String>,
    /// Up to this time (exclusive).
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    #[arg(long)]
    pub bucket: Option<String>,
    #[arg(long)]
    pub key: Option<String>,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub target: Target,
    /// Key to sign with (offline).
    #[arg(long, env = "WORMGATE_AUDIT_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// Also write the checkpoint here (to carry it off the box).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the private key (64 hex characters); must not exist.
    #[arg(long)]
    pub out: PathBuf,
}

/// Which backend holds the blobs of a stopped gateway: the disk under `--data-dir` unless the same
/// `--upstream-*` flags (or `[upstream]` table of `--config`) as `wormgate serve` name an upstream.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The gateway's TOML config file: its `data_dir` and `[upstream]` table are used (flags win).
    #[arg(long, env = "WORMGATE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub upstream: crate::config::UpstreamArgs,
}

impl StoreArgs {
    /// (data directory from the config file, upstream settings) — `None` upstream: disk mode.
    fn load(&self) -> Result<(Option<PathBuf>, Option<crate::config::UpstreamConfig>), CliError> {
        let file = match &self.config {
            Some(p) => crate::config::FileConfig::read(p)?,
            None => crate::config::FileConfig::default(),
        };
        let up = crate::config::UpstreamConfig::load(&self.upstream, file.upstream.as_ref())?;
        Ok((file.data_dir, up))
    }

    /// Open the blob store of the stopped gateway at `data` (connects to the upstream: needs a runtime).
    async fn open(&self, data: &Path, up: Option<&crate::config::UpstreamConfig>) -> Result<BlobStore, CliError> {
        match up {
            None => DiskBlobs::open(data)
                .map(BlobStore::Disk)
                .map_err(|e| CliError::step("cannot open blob store", e)),
            Some(cfg) => UpstreamBlobs::connect(cfg, data)
                .await
                .map(BlobStore::Upstream)
                .map_err(CliError::failed_text),
        }
    }
}

#[derive(Debug, Args)]
pub struct ScrubArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only this bucket.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Read at most this many MiB/s (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub rate_mb: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long)]
    pub bucket: Option<String>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ReportFormat,
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Instead of the inventory: bytes and versions per bucket, quota use, free space and the
    /// reserve alarm.
    #[arg(long)]
    pub capacity: bool,
    /// Offline `--capacity`: the reserve to judge free space by (the running gateway uses its own).
    #[arg(long, default_value = "2GiB")]
    pub reserve_free: String,
}

#[derive(Debug, Args)]
pub struct RecoverArgs {
    /// Data directory of the stopped gateway whose catalog is lost or corrupt (default: `data_dir`
    /// of --config).
    #[arg(long, env = "WORMGATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// In upstream mode the records are read from the upstream bucket.
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long)]
    pub json: bool,
}

/// `wormgate time …`
#[derive(Debug, Subcommand)]
pub enum TimeCmd {
    /// Show wall time, the persisted watermark and heartbeat, any clock alarm, and the time sources' last vote.
    Status(TimeArgs),
    /// An officer confirms the wall clock is right (clears a forward-jump alarm); with --rewind, brings a
    /// watermark left in the future back to the wall clock.
    Confirm(TimeConfirmArgs),
}

#[derive(Debug, Args)]
pub struct TimeArgs {
    #[command(flatten)]
    pub target: Target,
    /// Offline: the `--max-offline-gap` the gateway runs with, to tell whether its next start will
    /// raise the forward-jump-across-restart alarm (`10m`).
    #[arg(long, env = "WORMGATE_MAX_OFFLINE_GAP")]
    pub max_offline_gap: Option<String>,
}

#[derive(Debug, Args)]
pub struct TimeConfirmArgs {
    #[command(flatten)]
    pub target: Target,
    /// Who confirms (offline; online the signing key's user is recorded).
    #[arg(long)]
    pub by: Option<String>,
    /// Free text kept with the confirmation.
    #[arg(long)]
    pub note: Option<String>,
    /// Bring a watermark that is ahead of the wall clock back to the wall clock (after a clock that
    /// was once ahead). Needs a recent agreeing quorum of the time sources, or --statement.
    #[arg(long)]
    pub rewind: bool,
    /// The officer's explicit statement that real time is the wall clock's (recorded in the audit trail).
    #[arg(long, requires = "rewind")]
    pub statement: Option<String>,
}

/// A runtime whose handle blocking code can use from another thread (upstream scrub and recover).
fn runtime_mt() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::step("cannot start runtime", e))
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::step("cannot start runtime", e))
}

fn fail(e: impl std::fmt::Display) -> i32 {
    eprintln!("wormgate: {e}");
    EXIT_ERROR
}

fn write_out(out: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    if let Some(p) = out {
        std::fs::write(p, bytes).map_err(|e| CliError::step(format!("cannot write {}", p.display()), e))
    } else {
        let mut so = std::io::stdout().lock();
        so.write_all(bytes).and_then(|()| so.flush()).map_err(CliError::failed)
    }
}

/// Run `wormgate audit …`.
pub fn audit(cmd: AuditCmd) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    rt.block_on(async move {
        match cmd {
            AuditCmd::Verify(a) => audit_verify(a).await,
            AuditCmd::Export(a) => audit_export(a).await.map_or_else(fail, |()| 0),
            AuditCmd::Checkpoint(a) => audit_checkpoint(a).await.map_or_else(fail, |()| 0),
            AuditCmd::Keygen(a) => keygen(&a.out).map_or_else(fail, |()| 0),
        }
    })
}

/// Print a tool's report — JSON, or its text rendering — and give the exit code: 0 when the report
/// found nothing wrong, `EXIT_PROBLEM` otherwise.
fn print_report<R: serde::Serialize>(rep: &R, text: impl FnOnce(&R) -> String, ok: bool, json: bool) -> i32 {
    if json {
        println!("{}", serde_json::to_string_pretty(rep).unwrap_or_default());
    } else {
        print!("{}", text(rep));
    }
    if ok {
        0
    } else {
        EXIT_PROBLEM
    }
}

fn print_verify(rep: &VerifyReport, json: bool) -> i32 {
    print_report(rep, VerifyReport::render, rep.ok, json)
}

async fn audit_verify(a: VerifyArgs) -> i32 {
    let mut checkpoints = Vec::new();
    for p in &a.checkpoint {
        match Checkpoint::load(p) {
            Ok(c) => checkpoints.push(c),
            Err(e) => return fail(e),
        }
    }
    if a.from_archive {
        return verify_from_archive(&a, checkpoints).await;
    }
    let client = match a.target.client() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Some(client) = client {
        // Check the signatures here too: do not take the gateway's word for its own checkpoints.
        for c in &checkpoints {
            if let Err(e) = c.verify_signature() {
                println!("FIRST BROKEN LINK: checkpoint seq {}: {e}", c.seq);
                return EXIT_PROBLEM;
            }
        }
        let body = if checkpoints.is_empty() {
            Vec::new()
        } else {
            serde_json::to_vec(&checkpoints).unwrap_or_default()
        };
        let q = query(&[("trusted_key", a.trusted_key.clone())]);
        let (method, path) = if body.is_empty() {
            ("GET", "audit/verify")
        } else {
            ("POST", "audit/verify")
        };
        return match client.call(method, &format!("{ADMIN_PREFIX}{path}{q}"), body).await {
            Ok(out) => match serde_json::from_slice::<VerifyReport>(&out) {
                Ok(rep) => print_verify(&rep, a.json),
                Err(e) => fail(format!("unexpected answer from the gateway: {e}")),
            },
            Err(e) => fail(e),
        };
    }
    let data = a.target.data_dir();
    let dir = audit_dir(&data);
    let mut opts = VerifyOptions {
        checkpoints,
        trusted_key: a.trusted_key.clone(),
        ..Default::default()
    };
    match open_catalog(&data) {
        Ok(cat) => opts.anchor = read_anchor(&cat),
        Err(OpenError::InUse(_)) => {
            eprintln!("note: the gateway is running: verifying the live trail without the catalog anchor");
            opts.live = true;
        }
        Err(OpenError::Missing(_)) => eprintln!("note: no catalog: verifying without the catalog anchor"),
        Err(e) => eprintln!("note: {e}: verifying without the catalog anchor"),
    }
    match tokio::task::spawn_blocking(move || verify(&dir, &opts)).await {
        Ok(Ok(rep)) => print_verify(&rep, a.json),
        Ok(Err(e)) => fail(format!("cannot read the audit trail: {e}")),
        Err(e) => fail(e),
    }
}

/// `audit verify --from-archive`: the archive's chain, and its agreement with the local trail.
async fn verify_from_archive(a: &VerifyArgs, checkpoints: Vec<Checkpoint>) -> i32 {
    if a.target.endpoint.is_some() {
        return fail(
            "--from-archive reads the archive itself; give --data-dir (the local trail to compare), not --endpoint",
        );
    }
    let file = match &a.config {
        Some(p) => match crate::config::FileConfig::read(p) {
            Ok(f) => f,
            Err(e) => return fail(e),
        },
        None => crate::config::FileConfig::default(),
    };
    let cfg = match crate::config::ArchiveConfig::load(&a.archive, file.audit_archive.as_ref()) {
        Ok(Some(c)) => c,
        Ok(None) => return fail("--from-archive needs --audit-archive-endpoint and --audit-archive-bucket"),
        Err(e) => return fail(e.to_string()),
    };
    let archive = match crate::audit::archive::Archive::new(&cfg) {
        Ok(x) => x,
        Err(e) => return fail(e.to_string()),
    };
    let data = a.target.data_dir.clone().or(file.data_dir);
    let local = data.as_deref().map(audit_dir);
    if local.as_ref().is_none_or(|d| !d.exists()) {
        eprintln!("note: no local audit trail (--data-dir): verifying the archive alone");
    }
    let opts = VerifyOptions {
        checkpoints,
        trusted_key: a.trusted_key.clone(),
        ..Default::default()
    };
    match crate::audit::archive::verify_archive(&archive, local.as_deref(), opts).await {
        Ok(rep) => print_report(&rep, crate::audit::archive::ArchiveVerifyReport::render, rep.ok, a.json),
        Err(e) => fail(e.to_string()),
    }
}

async fn audit_export(a: ExportArgs) -> Result<(), CliError> {
    let since = a.since.as_deref().map(parse_time_bound).transpose()?;
    let until = a.until.as_deref().map(parse_time_bound).transpose()?;
    if let Some(client) = a.target.client()? {
        let fmt = match a.format {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
        };
        let q = query(&[
            ("since", since.map(crate::timefmt::format_iso)),
            ("until", until.map(crate::timefmt::format_iso)),
            ("format", Some(fmt.to_string())),
            ("bucket", a.bucket.clone()),
            ("key", a.key.clone()),
        ]);
        let out = client
            .call("GET", &format!("{ADMIN_PREFIX}audit/export{q}"), Vec::new())
            .await?;
        return write_out(a.out.as_deref(), &out);
    }
    let dir = audit_dir(&a.target.data_dir());
    if !dir.exists() {
        return Err(CliError::Usage(format!("no audit trail at {}", dir.display())));
    }
    let filter = ExportFilter {
        since,
        until,
        bucket: a.bucket.clone(),
        key: a.key.clone(),
    };
    let mut buf: Box<dyn Write> = match &a.out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| CliError::step(format!("cannot write {}", p.display()), e))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let n = crate::audit::export::export(&dir, &filter, a.format, &mut buf).map_err(CliError::failed)?;
    drop(buf);
    eprintln!("{n} records exported");
    Ok(())
}

async fn audit_checkpoint(a: CheckpointArgs) -> Result<(), CliError> {
    let c = if let Some(client) = a.target.client()? {
        let out = client
            .call("POST", &format!("{ADMIN_PREFIX}audit/checkpoint"), Vec::new())
            .await?;
        let c: Checkpoint = serde_json::from_slice(&out).map_err(|e| CliError::step("unexpected answer", e))?;
        c.verify_signature()?;
        c
    } else {
        let key_path = a
            .signing_key
            .as_ref()
            .ok_or_else(|| CliError::usage("offline checkpoints need --signing-key FILE"))?;
        let key = load_signing_key(key_path)?;
        let dir = audit_dir(&a.target.data_dir());
        let all = crate::audit::chain::read_all(&dir).map_err(|e| CliError::step("cannot read the audit trail", e))?;
        let (seq, head) = all
            .last()
            .map(|(_, r)| (r.seq, r.hash.clone()))
            .ok_or_else(|| CliError::usage("the audit trail is empty"))?;
        let time = crate::timefmt::now_iso();
        let c = Checkpoint::sign(&key, seq, &head, &time);
        let path = c
            .store(&dir)
            .map_err(|e| CliError::step("cannot store the checkpoint", e))?;
        eprintln!("stored {}", path.display());
        c
    };
    let text = serde_json::to_string_pretty(&c).map_err(CliError::failed)? + "\n";
    if let Some(p) = &a.out {
        std::fs::write(p, &text).map_err(|e| CliError::step(format!("cannot write {}", p.display()), e))?;
        eprintln!("checkpoint seq {} written to {}", c.seq, p.display());
    } else {
        print!("{text}");
    }
    Ok(())
}

fn keygen(out: &Path) -> Result<(), CliError> {
    let key = generate_signing_key().map_err(|e| CliError::step("no randomness", e))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(out)
        .map_err(|e| CliError::step(format!("cannot create {}", out.display()), e))?;
    f.write_all(format!("{}\n", hex::encode(key.to_bytes())).as_bytes())
        .map_err(CliError::failed)?;
    println!("{}", public_key_hex(&key));
    eprintln!(
        "private key written to {}; the line above is its public key (give it to verifiers)",
        out.display()
    );
    Ok(())
}

/// Run `wormgate scrub`.
pub fn scrub(a: &ScrubArgs) -> i32 {
    let rt = match runtime_mt() {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    let res: Result<ScrubReport, CliError> = rt.block_on(async {
        let rate = (a.rate_mb > 0).then_some(a.rate_mb * 1024 * 1024);
        if let Some(client) = a.target.client()? {
            let q = query(&[("bucket", a.bucket.clone()), ("rate_mb", Some(a.rate_mb.to_string()))]);
            let out = client
                .call("POST", &format!("{ADMIN_PREFIX}scrub{q}"), Vec::new())
                .await?;
            return serde_json::from_slice(&out).map_err(|e| CliError::step("unexpected answer", e));
        }
        let (file_data, up) = a.store.load()?;
        let data = a
            .target
            .data_dir
            .clone()
            .or(file_data)
            .unwrap_or_else(|| a.target.data_dir());
        let cat = open_catalog(&data).map_err(CliError::failed)?;
        let store = a.store.open(&data, up.as_ref()).await?;
        let opts = ScrubOptions {
            bucket: a.bucket.clone(),
            rate_bytes_per_s: rate,
            min_age: std::time::Duration::ZERO,
        };
        tokio::task::spawn_blocking(move || crate::evidence::scrub::scrub_store(&cat, &store, &opts))
            .await
            .map_err(|e| CliError::step("scrub failed", e))?
            .map_err(CliError::from)
    });
    match res {
        Err(e) => fail(e),
        Ok(rep) => print_report(&rep, crate::evidence::scrub::ScrubReport::render, rep.ok, a.json),
    }
}

/// Run `wormgate report`.
pub fn report(a: &ReportArgs) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    let res: Result<Vec<u8>, CliError> = rt.block_on(async {
        if let Some(client) = a.target.client()? {
            let fmt = match a.format {
                ReportFormat::Csv => "csv",
                ReportFormat::Json => "json",
            };
            let q = query(&[
                ("bucket", a.bucket.clone()),
                ("format", Some(fmt.into())),
                ("capacity", a.capacity.then(|| "1".to_string())),
            ]);
            return client
                .call("GET", &format!("{ADMIN_PREFIX}report{q}"), Vec::new())
                .await;
        }
        let cat = open_catalog(&a.target.data_dir()).map_err(CliError::failed)?;
        if a.capacity {
            let reserve =
                crate::units::Reserve::parse(&a.reserve_free).map_err(|source| crate::config::ConfigError::Size {
                    setting: "--reserve-free".into(),
                    source,
                })?;
            let free = crate::store::capacity::free_space(&a.target.data_dir(), reserve).ok();
            let r = crate::evidence::report::capacity(&cat, a.bucket.as_deref(), free)?;
            return Ok(crate::evidence::report::render_capacity(&r, a.format).into_bytes());
        }
        let rows = crate::evidence::report::rows(&cat, a.bucket.as_deref())?;
        Ok(crate::evidence::report::render(&rows, a.format).into_bytes())
    });
    match res.and_then(|b| write_out(a.out.as_deref(), &b)) {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

/// Run `wormgate recover`.
pub fn recover(a: &RecoverArgs) -> i32 {
    let res = (|| -> Result<_, CliError> {
        let (file_data, up) = a.store.load()?;
        let data = a
            .data_dir
            .clone()
            .or(file_data)
            .ok_or_else(|| CliError::usage("recover needs --data-dir (or a --config with data_dir)"))?;
        match up {
            None => Ok(crate::evidence::recover::recover(
                &data,
                &crate::evidence::recover::Sidecars::new(&data),
            )?),
            Some(cfg) => {
                let rt = runtime_mt()?;
                let blobs = rt
                    .block_on(UpstreamBlobs::connect(&cfg, &data))
                    .map_err(CliError::failed_text)?;
                let source = crate::evidence::recover::UpstreamRecords::new(blobs, rt.handle().clone());
                Ok(crate::evidence::recover::recover(&data, &source)?)
            }
        }
    })();
    match res {
        Ok(rep) => {
            if a.json {
                println!("{}", serde_json::to_string_pretty(&rep).unwrap_or_default());
            } else {
                print!("{}", rep.render());
            }
            0
        }
        Err(e) => fail(e),
    }
}

/// Run `wormgate time …`.
pub fn time(cmd: TimeCmd) -> i32 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    let res: Result<String, CliError> = rt.block_on(async {
        match cmd {
            TimeCmd::Status(a) => {
                if let Some(client) = a.target.client()? {
                    let out = client.call("GET", &format!("{ADMIN_PREFIX}time"), Vec::new()).await?;
                    return Ok(String::from_utf8_lossy(&out).to_string());
                }
                let cat = open_catalog(&a.target.data_dir()).map_err(CliError::failed)?;
                let gap =
                    crate::config::parse_duration(a.max_offline_gap.as_deref().unwrap_or("10m")).map_err(|source| {
                        crate::config::ConfigError::Duration {
                            setting: "--max-offline-gap".into(),
                            source,
                        }
                    })?;
                let st = crate::evidence::time::offline_status(&cat, gap.num_milliseconds())?;
                Ok(serde_json::to_string_pretty(&st).unwrap_or_default() + "\n")
            }
            TimeCmd::Confirm(a) => {
                if let Some(client) = a.target.client()? {
                    let req = crate::evidence::time::ConfirmRequest {
                        rewind: a.rewind,
                        statement: a.statement.clone(),
                        note: a.note.clone(),
                    };
                    let body = serde_json::to_vec(&req).map_err(CliError::failed)?;
                    let out = client
                        .call("POST", &format!("{ADMIN_PREFIX}time/confirm"), body)
                        .await?;
                    return Ok(String::from_utf8_lossy(&out).to_string());
                }
                let cat = open_catalog(&a.target.data_dir()).map_err(CliError::failed)?;
                let by =
                    a.by.clone()
                        .or_else(|| std::env::var("USER").ok())
                        .unwrap_or_else(|| "unknown".into());
                let c =
                    crate::evidence::time::confirm_offline(&cat, &by, a.note.clone(), a.rewind, a.statement.clone())?;
                Ok(format!(
                    "{} stored for the next start (valid 24 h, for watermark {} ms); it will be audited then\n{}\n",
                    if c.rewind { "rewind" } else { "confirmation" },
                    c.watermark_ms,
                    serde_json::to_string_pretty(&c).unwrap_or_default()
                ))
            }
        }
    });
    match res {
        Ok(s) => {
            print!("{s}");
            0
        }
        Err(e) => fail(e),
    }
}
