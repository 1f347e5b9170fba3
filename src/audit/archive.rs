//! The off-box audit archive: sealed segments (`NNNNNN.log` + `NNNNNN.seal`) and signed checkpoints
//! (`checkpoints/checkpoint-….json`) are copied, under the same names, to a second S3 location, so
//! the trail survives the loss of the machine. The copy is made by a background task ([`Archiver`]),
//! never on the request path.
//!
//! Every copy is a PUT with `If-None-Match: *`: the archive never overwrites anything. A 412 means the
//! name is taken; the archived object is then read back and its SHA-256 compared with the local file —
//! equal counts as archived (a retried PUT that had landed, or a state file lost), different is an
//! alarm (log, `wormgate_audit_archive_conflicts_total`, an `AuditArchiveConflict` audit record) and the
//! file is left alone. When the archive bucket has Object Lock (asked once, with
//! `GetObjectLockConfiguration`, when the archive is first reached) each PUT carries COMPLIANCE
//! retention until upload time + `--audit-archive-retention`, with the Content-MD5 S3 requires for it.
//!
//! What is archived is remembered in `audit-archive.json` in the data directory, so a restart resumes
//! where the last run stopped; losing that file only costs a re-check (412 + compare) of each file.
//! The open segment is not archived until it is sealed: the live tail is covered by audit shipping
//! (syslog / webhook) and by the signed checkpoints, which are archived as soon as they are signed.
//!
//! [`verify_archive`] is `wormgate audit verify --from-archive`: it downloads the archive into a
//! temporary directory, runs the same verifier as for the local trail ([`super::verify::verify`]),
//! and compares the archive with the local trail (same seals and same bytes for the same segments).

use super::chain::{self, AuditEvent, Seal};
use super::checkpoint::Checkpoint;
use super::verify::{verify, VerifyOptions, VerifyReport};
use crate::config::ArchiveConfig;
use crate::store::blob::upstream::client::{
    hv, insert_lock, md5_b64, worth_locking, xml_text, UpstreamClient, UpstreamError,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Notify;

/// Name of the state file (in the data directory) that records what is archived.
pub const STATE_FILE: &str = "audit-archive.json";

/// Folder of the checkpoints, locally (under the audit directory) and in the archive.
const CHECKPOINTS: &str = "checkpoints";

/// What went wrong with the archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The S3 client could not be built (bad endpoint, TLS roots).
    #[error("audit archive client: {0}")]
    Client(String),
    /// A request to the archive failed.
    #[error("audit archive {what}: {err}")]
    Request {
        /// What was being done (`PUT 000001.log`).
        what: String,
        /// The client's error.
        err: UpstreamError,
    },
    /// A local file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// Which file, doing what.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ArchiveError {
    let what = what.into();
    move |source| ArchiveError::Io { what, source }
}

fn req_err(what: impl Into<String>) -> impl FnOnce(UpstreamError) -> ArchiveError {
    let what = what.into();
    move |err| ArchiveError::Request { what, err }
}

/// What a write-once PUT found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// The object is new in the archive.
    Stored,
    /// The name was taken (412) by identical bytes: archived already.
    AlreadyThere,
    /// The name is taken by different bytes (their SHA-256): nothing was written.
    Conflict(String),
}

/// The archive bucket, through the upstream S3 client (`SigV4`, retries).
pub struct Archive {
    client: UpstreamClient,
    /// `endpoint/bucket/prefix`, to tell the state file of another archive apart.
    target: String,
}

/// Whether file name `name` ends in `.ext` (exactly: the writer makes lower-case names).
fn has_ext(name: &str, ext: &str) -> bool {
    Path::new(name).extension().is_some_and(|e| e == ext)
}

impl Archive {
    /// A client for the configured archive (no request is made).
    pub fn new(cfg: &ArchiveConfig) -> Result<Archive, ArchiveError> {
        let t = &cfg.target;
        Ok(Archive {
            client: UpstreamClient::new(t)
                .map_err(|e| ArchiveError::Client(crate::store::error::chain(&e)))?
                .uncounted(),
            target: format!("{}/{}/{}", t.endpoint, t.bucket, t.prefix),
        })
    }

    /// `endpoint/bucket/prefix`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether the archive bucket has Object Lock enabled (`GetObjectLockConfiguration`). An answer
    /// saying there is no configuration is `false`; an unreachable or refusing archive is an error.
    pub async fn object_lock_enabled(&self) -> Result<bool, ArchiveError> {
        match self
            .client
            .small(Method::GET, "", "object-lock=", HeaderMap::new(), Bytes::new())
            .await
        {
            Ok((_, _, body)) => {
                let text = String::from_utf8_lossy(&body);
                Ok(xml_text(&text, "ObjectLockEnabled").is_some_and(|v| v.trim() == "Enabled"))
            }
            Err(e)
                if (e.is_status(StatusCode::NOT_FOUND) && e.code() != "NoSuchBucket")
                    || e.code() == "ObjectLockConfigurationNotFoundError" =>
            {
                Ok(false)
            }
            Err(err) => Err(ArchiveError::Request {
                what: "GetObjectLockConfiguration".into(),
                err,
            }),
        }
    }

    /// PUT `body` as `name` unless the name is taken (`If-None-Match: *`), with COMPLIANCE retention
    /// until `lock_until` when given. A taken name is read back and compared by SHA-256.
    pub async fn put_once(
        &self,
        name: &str,
        body: Bytes,
        lock_until: Option<DateTime<Utc>>,
    ) -> Result<PutOutcome, ArchiveError> {
        let key = self.client.key(name);
        let mut h = HeaderMap::new();
        h.insert(http::header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        h.insert("content-md5", hv(&md5_b64(&body)));
        h.insert(http::header::CONTENT_LENGTH, hv(&body.len().to_string()));
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(if has_ext(name, "log") {
                "application/x-ndjson"
            } else {
                "application/json"
            }),
        );
        // a date that passes before the archive reads it is refused (see `worth_locking`)
        if let Some(until) = lock_until.filter(|u| worth_locking(*u)) {
            insert_lock(&mut h, until);
        }
        let local = hex::encode(Sha256::digest(&body));
        match self.client.small(Method::PUT, &key, "", h, body).await {
            Ok(_) => Ok(PutOutcome::Stored),
            Err(e) if e.is_status(StatusCode::PRECONDITION_FAILED) => {
                let mut hasher = Sha256::new();
                let found = self
                    .fetch(name, |chunk| {
                        hasher.update(chunk);
                        Ok(())
                    })
                    .await?;
                if !found {
                    // Taken a moment ago, gone now (a version deleted in an unlocked archive): the
                    // next pass tries again.
                    return Err(ArchiveError::Request {
                        what: format!("PUT {name}"),
                        err: e,
                    });
                }
                let archived = hex::encode(hasher.finalize());
                if archived == local {
                    Ok(PutOutcome::AlreadyThere)
                } else {
                    Ok(PutOutcome::Conflict(archived))
                }
            }
            Err(err) => Err(ArchiveError::Request {
                what: format!("PUT {name}"),
                err,
            }),
        }
    }

    /// Stream archived object `name` into `sink`; `Ok(false)` when there is no such object.
    pub async fn fetch(
        &self,
        name: &str,
        mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<bool, ArchiveError> {
        let resp = match self.client.get_stream(&self.client.key(name), HeaderMap::new()).await {
            Ok(r) => r,
            Err(e) if e.is_status(StatusCode::NOT_FOUND) => return Ok(false),
            Err(err) => {
                return Err(ArchiveError::Request {
                    what: format!("GET {name}"),
                    err,
                })
            }
        };
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| ArchiveError::Request {
                what: format!("GET {name}"),
                err: UpstreamError::Unreachable(format!("reading the body: {e}")),
            })?;
            if let Some(data) = frame.data_ref() {
                sink(data).map_err(io_err(format!("storing {name}")))?;
            }
        }
        Ok(true)
    }

    /// The names (keys without the prefix) of every archived object.
    pub async fn list(&self) -> Result<Vec<String>, ArchiveError> {
        let listed = self.client.list_prefix().await.map_err(req_err("ListObjectsV2"))?;
        let mut out: Vec<String> = listed.into_iter().map(|o| o.name).collect();
        out.sort();
        Ok(out)
    }
}

/// Sealed segments as (log, seal) names, and checkpoint names.
pub type LocalFiles = (Vec<(String, String)>, Vec<String>);

/// The archive names of the local files that are ready to be archived, in upload order: each sealed
/// segment (log before seal, so an archived seal always has its segment), then the checkpoints.
/// Returns (segments as (log, seal) pairs, checkpoints).
pub fn local_files(audit_dir: &Path) -> std::io::Result<LocalFiles> {
    let mut segs = Vec::new();
    if audit_dir.exists() {
        for seal in chain::seals(audit_dir)? {
            if let Some(n) = chain::file_number(&seal) {
                if audit_dir.join(chain::segment_name(n)).exists() {
                    segs.push((chain::segment_name(n), chain::seal_name(n)));
                }
            }
        }
    }
    let mut cps = Vec::new();
    match std::fs::read_dir(audit_dir.join(CHECKPOINTS)) {
        Ok(rd) => {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with("checkpoint-") && has_ext(&name, "json") {
                    cps.push(format!("{CHECKPOINTS}/{name}"));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    cps.sort();
    Ok((segs, cps))
}

/// The persisted record of what is archived.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// `endpoint/bucket/prefix` the names below are archived at.
    target: String,
    /// Names confirmed in the archive.
    done: BTreeSet<String>,
    /// Names the archive holds with different content (alarmed once each).
    #[serde(default)]
    conflicts: BTreeSet<String>,
}

/// What one archive pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Files written to the archive.
    pub stored: u64,
    /// Files found in the archive with the same SHA-256.
    pub already_there: u64,
    /// Files the archive holds with different content.
    pub conflicts: u64,
    /// Sealed segments still not archived after the pass.
    pub pending_segments: u64,
    /// Checkpoints still not archived after the pass.
    pub pending_checkpoints: u64,
}

/// The background copier of sealed segments and checkpoints.
pub struct Archiver {
    archive: Archive,
    audit_dir: PathBuf,
    state_path: PathBuf,
    state: State,
    retention: chrono::Duration,
    interval: std::time::Duration,
    /// Whether the archive bucket has Object Lock; `None` until the archive was first reached.
    lock: Option<bool>,
    nudge: Arc<Notify>,
}

impl Archiver {
    /// An archiver of `audit_dir` for the data directory `data_dir` (where its state file lives).
    pub fn new(cfg: &ArchiveConfig, audit_dir: &Path, data_dir: &Path) -> Result<Archiver, ArchiveError> {
        let archive = Archive::new(cfg)?;
        let state_path = data_dir.join(STATE_FILE);
        let state = match std::fs::read(&state_path) {
            Ok(b) => match serde_json::from_slice::<State>(&b) {
                Ok(s) if s.target == archive.target => s,
                Ok(_) => {
                    tracing::info!(archive = %archive.target, "audit archive changed: every file is checked again");
                    State::default()
                }
                Err(e) => {
                    tracing::warn!(error = %e, file = %state_path.display(), "unreadable audit archive state: every file is checked again");
                    State::default()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(io_err(format!("reading {}", state_path.display()))(e)),
        };
        let state = State {
            target: archive.target.clone(),
            ..state
        };
        Ok(Archiver {
            archive,
            audit_dir: audit_dir.to_path_buf(),
            state_path,
            state,
            retention: cfg.retention,
            interval: cfg.interval,
            lock: None,
            nudge: Arc::new(Notify::new()),
        })
    }

    /// Wakes the archiver before its interval is up (a checkpoint was just signed).
    pub fn nudge_handle(&self) -> Arc<Notify> {
        self.nudge.clone()
    }

    /// Whether the archive bucket was found to have Object Lock (`None`: not reached yet).
    pub fn object_lock(&self) -> Option<bool> {
        self.lock
    }

    fn save_state(&self) -> Result<(), ArchiveError> {
        let tmp = self.state_path.with_extension("json.tmp");
        let what = || format!("writing {}", self.state_path.display());
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(|e| io_err(what())(std::io::Error::other(e)))?;
        let mut f = std::fs::File::create(&tmp).map_err(io_err(what()))?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_all())
            .map_err(io_err(what()))?;
        std::fs::rename(&tmp, &self.state_path).map_err(io_err(what()))
    }

    /// One pass: reach the archive (the Object Lock check the first time), then copy every local file
    /// not yet archived. Stops at the first failed request (the next pass resumes there).
    pub async fn pass(&mut self) -> Result<PassReport, ArchiveError> {
        let (segs, cps) = local_files(&self.audit_dir).map_err(io_err(format!(
            "listing the audit directory {}",
            self.audit_dir.display()
        )))?;
        let mut rep = PassReport::default();
        let pending = |state: &State, rep: &mut PassReport| {
            let n_segs = segs
                .iter()
                .filter(|(l, s)| !state.done.contains(l) || !state.done.contains(s))
                .count();
            let n_cps = cps.iter().filter(|c| !state.done.contains(*c)).count();
            rep.pending_segments = u64::try_from(n_segs).unwrap_or(u64::MAX);
            rep.pending_checkpoints = u64::try_from(n_cps).unwrap_or(u64::MAX);
            crate::metrics::archive_pending(rep.pending_segments, rep.pending_checkpoints);
        };
        pending(&self.state, &mut rep);
        if rep.pending_segments + rep.pending_checkpoints == 0 {
            return Ok(rep);
        }
        let lock = if let Some(l) = self.lock {
            l
        } else {
            let l = self.archive.object_lock_enabled().await?;
            if l {
                tracing::info!(archive = %self.archive.target, retention_days = self.retention.num_days(), "audit archive has Object Lock: archived files are COMPLIANCE-retained");
            } else {
                tracing::warn!(archive = %self.archive.target, "audit archive bucket has no Object Lock: archived files are write-once (If-None-Match) but not retained by the archive");
            }
            self.lock = Some(l);
            l
        };
        let names: Vec<String> = segs
            .iter()
            .flat_map(|(l, s)| [l.clone(), s.clone()])
            .chain(cps.iter().cloned())
            .filter(|n| !self.state.done.contains(n) && !self.state.conflicts.contains(n))
            .collect();
        let mut result = Ok(());
        for name in names {
            let path = self.audit_dir.join(&name);
            let body = match tokio::fs::read(&path).await {
                Ok(b) => Bytes::from(b),
                Err(e) => {
                    result = Err(io_err(format!("reading {}", path.display()))(e));
                    break;
                }
            };
            let until = lock.then(|| Utc::now() + self.retention);
            match self.archive.put_once(&name, body.clone(), until).await {
                Ok(PutOutcome::Stored) => {
                    rep.stored += 1;
                    tracing::debug!(file = %name, "archived");
                }
                Ok(PutOutcome::AlreadyThere) => {
                    rep.already_there += 1;
                    tracing::info!(file = %name, "already in the audit archive with the same SHA-256");
                }
                Ok(PutOutcome::Conflict(archived)) => {
                    rep.conflicts += 1;
                    self.conflict(&name, &hex::encode(Sha256::digest(&body)), &archived);
                    self.state.conflicts.insert(name);
                    self.save_state()?;
                    continue;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            crate::metrics::archive_file_done();
            self.state.done.insert(name);
            self.save_state()?;
        }
        pending(&self.state, &mut rep);
        result.map(|()| rep)
    }

    /// The archive holds different bytes under a local file's name: log, count, audit.
    fn conflict(&self, name: &str, local: &str, archived: &str) {
        // Log first, then count: whoever sees the counter move finds the line already written.
        tracing::error!(file = %name, local_sha256 = %local, archived_sha256 = %archived, archive = %self.archive.target,
            "AUDIT ARCHIVE CONFLICT: the archive holds different content under this name; nothing was overwritten");
        crate::metrics::archive_conflict();
        super::alarm::record(AuditEvent {
            operation: "AuditArchiveConflict".into(),
            decision: "alarm".into(),
            rule: Some("archive_content_differs".into()),
            sha256: Some(local.to_string()),
            detail: Some(format!(
                "{name}: the audit archive {} holds content with SHA-256 {archived}, the local file hashes to {local}",
                self.archive.target
            )),
            ..Default::default()
        });
    }

    /// Run passes forever: every interval, and when nudged. Failures are logged and counted; the
    /// next pass tries again.
    pub async fn run(mut self) {
        tracing::info!(archive = %self.archive.target, "audit archive: copying sealed segments and checkpoints");
        let mut failing = false;
        loop {
            match self.pass().await {
                Ok(r) => {
                    crate::metrics::archive_pass_ok(Utc::now().timestamp());
                    if failing {
                        tracing::info!(archive = %self.archive.target, "audit archive reachable again");
                        failing = false;
                    }
                    if r.stored + r.already_there > 0 {
                        tracing::info!(
                            stored = r.stored,
                            already_there = r.already_there,
                            pending_segments = r.pending_segments,
                            "audit archive pass"
                        );
                    }
                }
                Err(e) => {
                    crate::metrics::archive_failed();
                    if failing {
                        tracing::debug!(error = %e, "audit archive pass failed again");
                    } else {
                        tracing::error!(error = %e, "audit archive pass failed; retrying every interval");
                        failing = true;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                () = self.nudge.notified() => {}
            }
        }
    }
}

/// How the archive compares with the local trail.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Agreement {
    /// A local trail was there to compare with.
    pub compared: bool,
    /// Archived segments whose seal and bytes equal the local ones.
    pub agreeing_segments: u64,
    /// Differences: a segment, seal or checkpoint whose local and archived copies differ, or an
    /// archived segment missing locally.
    pub disagreements: Vec<String>,
    /// Local sealed segments and checkpoints not (yet) in the archive.
    pub not_archived: Vec<String>,
}

/// The result of `audit verify --from-archive`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveVerifyReport {
    /// `endpoint/bucket/prefix`.
    pub archive: String,
    /// The verifier's report on the downloaded archive.
    pub chain: VerifyReport,
    /// The comparison with the local trail.
    pub agreement: Agreement,
    /// Both the chain and the agreement are sound.
    pub ok: bool,
}

impl ArchiveVerifyReport {
    /// Human-readable summary.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut s = format!("archive {}\n", self.archive);
        s.push_str(&self.chain.render());
        let a = &self.agreement;
        if a.compared {
            for d in &a.disagreements {
                let _ = writeln!(s, "DISAGREEMENT: {d}");
            }
            for n in &a.not_archived {
                let _ = writeln!(s, "not yet archived: {n}");
            }
            let _ = writeln!(
                s,
                "{}: {} archived segments agree with the local trail, {} disagreements",
                if a.disagreements.is_empty() {
                    "AGREE"
                } else {
                    "DISAGREE"
                },
                a.agreeing_segments,
                a.disagreements.len()
            );
        } else {
            s.push_str("no local trail to compare with\n");
        }
        let _ = writeln!(s, "{}", if self.ok { "ARCHIVE OK" } else { "ARCHIVE FAILED" });
        s
    }
}

fn sha256_file(p: &Path) -> std::io::Result<Option<String>> {
    match std::fs::File::open(p) {
        Ok(mut f) => {
            let mut h = Sha256::new();
            std::io::copy(&mut f, &mut h)?;
            Ok(Some(hex::encode(h.finalize())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Download the archive, verify its chain like `audit verify` does, and compare it with the local
/// trail in `local_audit_dir` (when given and present). `opts.checkpoints` are checked too, with
/// every archived checkpoint that falls within the archived segments; newer ones are covered by the
/// live trail, and reported as such.
pub async fn verify_archive(
    archive: &Archive,
    local_audit_dir: Option<&Path>,
    mut opts: VerifyOptions,
) -> Result<ArchiveVerifyReport, ArchiveError> {
    let tmp = tempfile::Builder::new()
        .prefix("wormgate-archive-")
        .tempdir()
        .map_err(io_err("creating a temporary directory"))?;
    let dir = tmp.path().to_path_buf();
    std::fs::create_dir_all(dir.join(CHECKPOINTS)).map_err(io_err("creating a temporary directory"))?;
    let mut unexpected = Vec::new();
    for name in archive.list().await? {
        let segment_file = !name.contains('/')
            && (has_ext(&name, "log") || has_ext(&name, "seal"))
            && chain::file_number(Path::new(&name)).is_some();
        let checkpoint_file =
            name.starts_with("checkpoints/checkpoint-") && has_ext(&name, "json") && name.matches('/').count() == 1;
        let known = segment_file || checkpoint_file;
        if !known {
            unexpected.push(name);
            continue;
        }
        let path = dir.join(&name);
        let mut f = std::fs::File::create(&path).map_err(io_err(format!("creating {}", path.display())))?;
        archive.fetch(&name, |chunk| f.write_all(chunk)).await?;
        f.sync_all().map_err(io_err(format!("writing {}", path.display())))?;
    }
    // The chain position the archived segments reach.
    let mut archived_last_seq = 0;
    for seal in chain::seals(&dir).map_err(io_err("listing the download"))? {
        if let Some(n) = chain::file_number(&seal) {
            if let Ok(Some(s)) = chain::read_seal(&dir, n) {
                archived_last_seq = archived_last_seq.max(s.last_seq);
            }
        }
    }
    let (_, archived_cps) = local_files(&dir).map_err(io_err("listing the download"))?;
    let mut beyond = Vec::new();
    let mut bad_checkpoints = Vec::new();
    for name in &archived_cps {
        match Checkpoint::load(&dir.join(name)) {
            Ok(c) if c.seq <= archived_last_seq => opts.checkpoints.push(c),
            Ok(c) => beyond.push(format!(
                "archived checkpoint {name} (seq {}) is beyond the archived segments (they end at seq {archived_last_seq}): the live trail covers it",
                c.seq
            )),
            Err(e) => bad_checkpoints.push(format!("archived {name}: {e}")),
        }
    }
    opts.sealed_only = true;
    let vdir = dir.clone();
    let mut chain_rep = tokio::task::spawn_blocking(move || verify(&vdir, &opts))
        .await
        .map_err(|e| io_err("verifying")(std::io::Error::other(e)))?
        .map_err(io_err("verifying the download"))?;
    chain_rep.warnings.extend(beyond);
    for u in unexpected {
        chain_rep
            .warnings
            .push(format!("unexpected object in the archive: {u}"));
    }
    for b in bad_checkpoints {
        chain_rep.problems.push(super::verify::Problem {
            segment: None,
            line: None,
            seq: None,
            message: b,
        });
    }
    chain_rep.ok = chain_rep.problems.is_empty();
    let agreement = match local_audit_dir.filter(|d| d.exists()) {
        Some(local) => compare(&dir, local).map_err(io_err(format!("comparing with {}", local.display())))?,
        None => Agreement::default(),
    };
    let ok = chain_rep.ok && agreement.disagreements.is_empty();
    Ok(ArchiveVerifyReport {
        archive: archive.target().to_string(),
        chain: chain_rep,
        agreement,
        ok,
    })
}

/// Compare the downloaded archive `arch` with the local audit directory `local`.
fn compare(arch: &Path, local: &Path) -> std::io::Result<Agreement> {
    let mut a = Agreement {
        compared: true,
        ..Default::default()
    };
    let (arch_segs, arch_cps) = local_files(arch)?;
    let archived_logs: BTreeSet<String> = chain::segments(arch)?
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .collect();
    for log in &archived_logs {
        let Some(n) = chain::file_number(Path::new(log)) else {
            continue;
        };
        let arch_seal = chain::read_seal(arch, n)?;
        let local_seal: Option<Seal> = chain::read_seal(local, n).unwrap_or(None);
        let mut agrees = true;
        match (&arch_seal, &local_seal) {
            (Some(x), Some(y)) if x != y => {
                agrees = false;
                a.disagreements.push(format!(
                    "{}: the local seal differs from the archived one (local SHA-256 {}, archived {})",
                    chain::seal_name(n),
                    y.sha256,
                    x.sha256
                ));
            }
            (Some(_), None) => {
                agrees = false;
                a.disagreements.push(format!(
                    "{}: archived, but the local trail has no such seal",
                    chain::seal_name(n)
                ));
            }
            _ => {}
        }
        match (sha256_file(&arch.join(log))?, sha256_file(&local.join(log))?) {
            (Some(x), Some(y)) if x != y => {
                agrees = false;
                a.disagreements.push(format!(
                    "{log}: the local segment differs from its archived copy (local SHA-256 {y}, archived {x})"
                ));
            }
            (Some(_), None) => {
                agrees = false;
                a.disagreements
                    .push(format!("{log}: archived, but missing from the local trail"));
            }
            _ => {}
        }
        if agrees && arch_seal.is_some() {
            a.agreeing_segments += 1;
        }
    }
    let archived_names: BTreeSet<String> = arch_segs
        .iter()
        .flat_map(|(l, s)| [l.clone(), s.clone()])
        .chain(arch_cps.iter().cloned())
        .collect();
    for cp in &arch_cps {
        if let (Some(x), Some(y)) = (sha256_file(&arch.join(cp))?, sha256_file(&local.join(cp))?) {
            if x != y {
                a.disagreements
                    .push(format!("{cp}: the local checkpoint differs from the archived one"));
            }
        }
    }
    let (local_segs, local_cps) = local_files(local)?;
    for name in local_segs.iter().map(|(l, _)| l).chain(local_cps.iter()) {
        if !archived_names.contains(name) {
            a.not_archived.push(name.clone());
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_files_lists_only_sealed_segments_and_checkpoints() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("000001.log"), "a").unwrap();
        std::fs::write(d.path().join("000001.seal"), "{}").unwrap();
        std::fs::write(d.path().join("000002.log"), "b").unwrap();
        let (segs, cps) = local_files(d.path()).unwrap();
        assert_eq!(segs, vec![("000001.log".to_string(), "000001.seal".to_string())]);
        assert!(cps.is_empty());
        std::fs::create_dir_all(d.path().join("checkpoints")).unwrap();
        std::fs::write(d.path().join("checkpoints/checkpoint-000000000003.json"), "{}").unwrap();
        std::fs::write(d.path().join("checkpoints/other.txt"), "").unwrap();
        let (_, cps) = local_files(d.path()).unwrap();
        assert_eq!(cps, vec!["checkpoints/checkpoint-000000000003.json".to_string()]);
    }

    #[test]
    fn compare_finds_edited_segments_and_seals() {
        let arch = tempfile::tempdir().unwrap();
        let local = tempfile::tempdir().unwrap();
        let seal = |sha: &str| Seal {
            segment: 1,
            first_seq: 1,
            last_seq: 2,
            records: 2,
            last_hash: "h".into(),
            bytes: 3,
            sha256: sha.into(),
            sealed_at: "t".into(),
        };
        for d in [arch.path(), local.path()] {
            std::fs::write(d.join("000001.log"), "abc").unwrap();
            std::fs::write(d.join("000001.seal"), serde_json::to_vec(&seal("s")).unwrap()).unwrap();
        }
        let a = compare(arch.path(), local.path()).unwrap();
        assert_eq!((a.agreeing_segments, a.disagreements.len()), (1, 0));
        std::fs::write(local.path().join("000001.log"), "abd").unwrap();
        let a = compare(arch.path(), local.path()).unwrap();
        assert_eq!(a.agreeing_segments, 0);
        assert!(a.disagreements[0].contains("000001.log"), "{a:?}");
        std::fs::write(local.path().join("000001.log"), "abc").unwrap();
        std::fs::write(
            local.path().join("000001.seal"),
            serde_json::to_vec(&seal("x")).unwrap(),
        )
        .unwrap();
        let a = compare(arch.path(), local.path()).unwrap();
        assert!(a.disagreements[0].contains("000001.seal"), "{a:?}");
        std::fs::remove_file(local.path().join("000001.log")).unwrap();
        let a = compare(arch.path(), local.path()).unwrap();
        assert_eq!(a.disagreements.len(), 2, "{a:?}");
        // A local sealed segment the archive does not have yet is reported, not a disagreement.
        std::fs::write(local.path().join("000001.log"), "abc").unwrap();
        std::fs::write(
            local.path().join("000001.seal"),
            serde_json::to_vec(&seal("s")).unwrap(),
        )
        .unwrap();
        std::fs::write(local.path().join("000002.log"), "x").unwrap();
        std::fs::write(local.path().join("000002.seal"), "{}").unwrap();
        let a = compare(arch.path(), local.path()).unwrap();
        assert!(a.disagreements.is_empty());
        assert_eq!(a.not_archived, vec!["000002.log".to_string()]);
    }
}
