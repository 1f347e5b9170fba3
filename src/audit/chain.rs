//! Append-only, hash-chained audit log in `audit/NNNNNN.log` segments (JSON lines). Each record holds
//! the hash of the previous one; a writer thread batches appends and fsyncs once per batch (group
//! commit), so a request's record is durable before its response.
//!
//! Segments are WORM too: when a segment reaches its size limit it is *sealed* — a `NNNNNN.seal`
//! file records its record range, last hash, length and SHA-256 — and never written again. The first
//! record of the next segment (`AuditSealSegment`) repeats the seal inside the chain. `audit verify`
//! (see [`super::verify`]) detects an edited, deleted, truncated or reordered segment.

use super::error::AuditError;
use crate::lock::DefaultRetention;
use crate::timefmt::now_iso;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// Hash of the (virtual) record before the first one.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Rotate to a new segment past this size (default).
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Operation name of the chain record that opens every segment after the first.
pub const SEAL_OPERATION: &str = "AuditSealSegment";

/// A change to the catalog that a request made, beyond what the other fields say. Recorded so that
/// `wormgate recover` can replay it (delete markers carry no blob, hence no sidecar).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A delete marker was added to `key` (`DeleteObject` / `DeleteObjects` without a version id).
    DeleteMarkerAdded { key: String, version_id: String },
    /// A delete marker was removed.
    DeleteMarkerRemoved { key: String, version_id: String },
    /// An expired data version was destroyed.
    VersionRemoved { key: String, version_id: String },
    /// The bucket's default retention rule became `rule` (`None`: the gateway floor).
    BucketDefaultRetention { rule: Option<DefaultRetention> },
}

/// What a request contributes to its audit record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEvent {
    pub time: String,
    pub request_id: String,
    pub principal: Option<String>,
    pub source: Option<String>,
    pub operation: String,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub version_id: Option<String>,
    /// `allow`, `deny` (policy or auth refused), `error` (refused for bad input or failure) or
    /// `alarm` (integrity or clock alarm raised by the gateway itself).
    pub decision: String,
    /// The lock rule that decided, for denials.
    pub rule: Option<String>,
    pub status: u16,
    pub error_code: Option<String>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Hex SHA-256 of content stored by this request.
    pub sha256: Option<String>,
    /// Retain-until of the version after the request (RFC 3339).
    pub retain_until: Option<String>,
    pub legal_hold: Option<bool>,
    /// Free-form detail (e.g. per-key results of `DeleteObjects`).
    pub detail: Option<String>,
    /// The lock mode the client asked for, when it is not what was stored: `GOVERNANCE` under
    /// `--governance-as-compliance` (stored, and reported, as COMPLIANCE). Omitted otherwise, so
    /// older records keep their form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_mode: Option<String>,
    /// Catalog changes to replay on recovery (omitted when empty, so older records keep their form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

impl<'a> From<&'a AuditEvent> for crate::metrics::RequestSample<'a> {
    /// What the request metrics count of a request's audit record.
    fn from(ev: &'a AuditEvent) -> Self {
        crate::metrics::RequestSample {
            operation: &ev.operation,
            status: ev.status,
            bytes_in: ev.bytes_in,
            bytes_out: ev.bytes_out,
            denied: ev.decision == "deny",
            rule: ev.rule.as_deref(),
        }
    }
}

impl AuditEvent {
    /// An event raised by the gateway itself (not by a request), stamped with `time`.
    pub fn internal(operation: &str, time: String) -> AuditEvent {
        AuditEvent {
            time,
            operation: operation.to_string(),
            decision: "allow".into(),
            ..Default::default()
        }
    }
}

/// A record as stored: the event plus its position in the chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: u64,
    pub prev: String,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub hash: String,
}

impl AuditRecord {
    /// The hash that `hash` must equal: SHA-256 over `prev`, `seq` and the event's canonical JSON.
    pub fn compute_hash(seq: u64, prev: &str, event: &AuditEvent) -> String {
        Self::hash_of_json(seq, prev, &serde_json::to_vec(event).unwrap_or_default())
    }

    /// [`AuditRecord::compute_hash`] over the event's JSON as already serialized.
    fn hash_of_json(seq: u64, prev: &str, event_json: &[u8]) -> String {
        let mut h = Sha256::new();
        h.update(prev.as_bytes());
        h.update(seq.to_be_bytes());
        h.update(event_json);
        hex::encode(h.finalize())
    }

    /// The exact line the writer produces for this record (without the newline).
    pub fn canonical_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The seal of a rotated segment (`NNNNNN.seal`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Seal {
    pub segment: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub records: u64,
    pub last_hash: String,
    pub bytes: u64,
    /// Hex SHA-256 of the whole segment file.
    pub sha256: String,
    pub sealed_at: String,
}

/// Name of segment `n`.
pub fn segment_name(n: u64) -> String {
    format!("{n:06}.log")
}

/// Name of the seal of segment `n`.
pub fn seal_name(n: u64) -> String {
    format!("{n:06}.seal")
}

/// The number of a segment or seal file (`000012.log` → 12).
pub fn file_number(p: &Path) -> Option<u64> {
    p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok())
}

/// Segment files in order.
pub fn segments(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    files_with_ext(dir, "log")
}

/// Seal files in order.
pub fn seals(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    files_with_ext(dir, "seal")
}

fn files_with_ext(dir: &Path, ext: &str) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    Ok(v)
}

/// Read the seal of segment `n`, if any.
pub fn read_seal(dir: &Path, n: u64) -> std::io::Result<Option<Seal>> {
    match std::fs::read(dir.join(seal_name(n))) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(std::io::Error::other),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every record of the trail in order, with its raw line (for export). Unparseable lines are skipped
/// (`audit verify` reports them).
pub fn read_all(dir: &Path) -> std::io::Result<Vec<(String, AuditRecord)>> {
    let mut out = Vec::new();
    for seg in segments(dir)? {
        let text = std::fs::read_to_string(&seg)?;
        for line in text.lines() {
            if let Ok(r) = serde_json::from_str::<AuditRecord>(line) {
                out.push((line.to_string(), r));
            }
        }
    }
    Ok(out)
}

/// Read the last record of the chain (to continue it after a restart).
fn last_record(dir: &Path) -> std::io::Result<Option<AuditRecord>> {
    for seg in segments(dir)?.into_iter().rev() {
        let text = std::fs::read_to_string(&seg)?;
        for line in text.lines().rev() {
            if let Ok(r) = serde_json::from_str::<AuditRecord>(line) {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

/// A crash can leave a torn (newline-less) last line in the open segment. It was never acknowledged,
/// so it is cut off before appending; the cut is itself recorded in the chain. Returns the number of
/// bytes removed and their SHA-256.
fn repair_torn_tail(path: &Path) -> std::io::Result<Option<(u64, String)>> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if data.is_empty() || data.last() == Some(&b'\n') {
        return Ok(None);
    }
    let keep = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let torn = &data[keep..];
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(keep as u64)?;
    f.sync_all()?;
    Ok(Some((torn.len() as u64, hex::encode(Sha256::digest(torn)))))
}

/// A file of [`BALLAST_BYTES`] kept in the audit directory: room held back so that the audit trail can
/// still be written when something else fills the volume. Given up on the first ENOSPC of an append
/// (logged), made again at the next start when there is room.
pub const BALLAST: &str = "audit-reserve.bin";
/// Size of the [`BALLAST`] file.
pub const BALLAST_BYTES: usize = 4 << 20;

/// Make the ballast file if it is missing (best effort: a full volume just has none).
fn ensure_ballast(dir: &Path) {
    let path = dir.join(BALLAST);
    if path.exists() {
        return;
    }
    let tmp = dir.join(format!("{BALLAST}.tmp"));
    let made = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&vec![0u8; BALLAST_BYTES])?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = made {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!(error = %e, "audit: cannot set aside the reserve file for the audit trail");
    }
}

/// Remove the ballast file; true if there was one to give up.
fn release_ballast(dir: &Path) -> bool {
    match std::fs::remove_file(dir.join(BALLAST)) {
        Ok(()) => {
            tracing::error!(
                bytes = BALLAST_BYTES,
                "audit: the volume is full; released the room held back for the audit trail"
            );
            true
        }
        Err(_) => false,
    }
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Called with (length, head hash) after every durable batch (e.g. to anchor the head in the catalog).
pub type HeadSink = Arc<dyn Fn(u64, &str) + Send + Sync>;

/// Tuning of the writer.
#[derive(Clone)]
pub struct AuditOptions {
    /// Seal the segment and start a new one past this size.
    pub segment_bytes: u64,
    /// Log the chain head (tracing, `info`) every this many records; 0 disables.
    pub head_log_every: u64,
    /// Receives the head after each batch.
    pub anchor: Option<HeadSink>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            segment_bytes: SEGMENT_BYTES,
            head_log_every: 1000,
            anchor: None,
        }
    }
}

/// What the writer answers each waiter of a batch: one shared I/O error fails the whole batch.
type Outcome = Result<(), Arc<std::io::Error>>;

type Job = (AuditEvent, oneshot::Sender<Outcome>);

/// Handle to the audit writer.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::UnboundedSender<Job>,
    head: Arc<std::sync::Mutex<(u64, String)>>,
    dir: Arc<PathBuf>,
    /// The seq of the newest durable record, for readers of the segments (audit shipping).
    durable: watch::Receiver<u64>,
}

struct Writer {
    dir: PathBuf,
    file: std::fs::File,
    /// Bytes of the open segment and a running hash of them (for its seal).
    size: u64,
    seg_hash: Sha256,
    seg_first_seq: u64,
    seg_records: u64,
    seg_no: u64,
    seq: u64,
    prev: String,
    opts: AuditOptions,
    /// Lines serialized but not yet written: a batch goes to the file in one write.
    pending: Vec<u8>,
    /// The writer's state before the first pending line, restored when the batch is not written.
    before_pending: Option<Committed>,
}

/// What [`Writer`] knows about the file up to its last written line.
struct Committed {
    size: u64,
    seg_hash: Sha256,
    seg_first_seq: u64,
    seg_records: u64,
    seq: u64,
    prev: String,
}

/// Write the pending lines once they pass this size even within a batch (bounds the buffer).
const PENDING_FLUSH_BYTES: usize = 256 * 1024;

/// The record's line as `serde_json` writes [`AuditRecord`] (its `event` flattened), built around
/// the event's JSON that the hash was computed over, so the event is serialized once, not twice.
/// Falls back to serializing the record when the event is not a non-empty JSON object.
fn record_line(seq: u64, prev: &str, event: &AuditEvent, event_json: &[u8], hash: &str) -> Vec<u8> {
    match event_json.strip_prefix(b"{").and_then(|j| j.strip_suffix(b"}")) {
        Some(fields) if !fields.is_empty() => {
            let mut line = Vec::with_capacity(event_json.len() + prev.len() + hash.len() + 64);
            line.extend_from_slice(b"{\"seq\":");
            line.extend_from_slice(seq.to_string().as_bytes());
            line.extend_from_slice(b",\"prev\":");
            let _ = serde_json::to_writer(&mut line, prev);
            line.push(b',');
            line.extend_from_slice(fields);
            line.extend_from_slice(b",\"hash\":");
            let _ = serde_json::to_writer(&mut line, hash);
            line.push(b'}');
            line
        }
        _ => serde_json::to_vec(&AuditRecord {
            seq,
            prev: prev.to_string(),
            event: event.clone(),
            hash: hash.to_string(),
        })
        .unwrap_or_default(),
    }
}

impl Writer {
    fn open_segment(dir: &Path, n: u64) -> std::io::Result<std::fs::File> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(segment_name(n)))?;
        fsync_dir(dir)?;
        Ok(f)
    }

    /// Serialize the next record into the pending batch (written by [`Writer::flush`]).
    fn write_line(&mut self, event: &AuditEvent) -> std::io::Result<()> {
        let seq = self.seq + 1;
        let event_json = serde_json::to_vec(event).map_err(std::io::Error::other)?;
        let hash = AuditRecord::hash_of_json(seq, &self.prev, &event_json);
        let mut line = record_line(seq, &self.prev, event, &event_json, &hash);
        line.push(b'\n');
        if self.before_pending.is_none() {
            self.before_pending = Some(Committed {
                size: self.size,
                seg_hash: self.seg_hash.clone(),
                seg_first_seq: self.seg_first_seq,
                seg_records: self.seg_records,
                seq: self.seq,
                prev: self.prev.clone(),
            });
        }
        self.pending.extend_from_slice(&line);
        self.seg_hash.update(&line);
        self.size += line.len() as u64;
        if self.seg_records == 0 {
            self.seg_first_seq = seq;
        }
        self.seg_records += 1;
        self.seq = seq;
        self.prev = hash;
        if self.opts.head_log_every > 0 && seq.is_multiple_of(self.opts.head_log_every) {
            tracing::info!(audit_seq = seq, audit_head = %self.prev, "audit chain head");
        }
        Ok(())
    }

    /// Write the pending lines with one write. On failure the file is cut back to its last whole
    /// record (a partial line must not stay: the next record would follow it and break the chain)
    /// and the pending records are dropped (their requests get the error); a full volume gives up
    /// the trail's ballast first and tries once more.
    fn flush(&mut self) -> std::io::Result<()> {
        let Some(before) = self.before_pending.take() else {
            return Ok(());
        };
        let mut res = self.file.write_all(&self.pending);
        if let Err(e) = &res {
            if let Err(t) = self.file.set_len(before.size) {
                res = Err(std::io::Error::new(
                    e.kind(),
                    format!("{e}; cutting the partial record off failed too: {t}"),
                ));
            } else if is_no_space(e) && release_ballast(&self.dir) {
                res = self.file.write_all(&self.pending);
                if res.is_err() {
                    let _ = self.file.set_len(before.size);
                }
            }
        }
        self.pending.clear();
        if res.is_err() {
            self.restore(before);
        }
        res
    }

    /// Forget the pending records (their batch failed before they were written).
    fn discard_pending(&mut self) {
        if let Some(before) = self.before_pending.take() {
            self.restore(before);
        }
        self.pending.clear();
    }

    fn restore(&mut self, c: Committed) {
        self.size = c.size;
        self.seg_hash = c.seg_hash;
        self.seg_first_seq = c.seg_first_seq;
        self.seg_records = c.seg_records;
        self.seq = c.seq;
        self.prev = c.prev;
    }

    /// Seal the open segment and open the next one; the next one starts with the seal record.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.flush()?;
        self.file.sync_all()?;
        let seal = Seal {
            segment: self.seg_no,
            first_seq: self.seg_first_seq,
            last_seq: self.seq,
            records: self.seg_records,
            last_hash: self.prev.clone(),
            bytes: self.size,
            // Cloned, not taken: a rotation that fails (full volume) is retried with the same hash.
            sha256: hex::encode(self.seg_hash.clone().finalize()),
            sealed_at: now_iso(),
        };
        let seal_json = serde_json::to_vec_pretty(&seal).map_err(std::io::Error::other)?;
        let tmp = self.dir.join(format!("{}.tmp", seal_name(self.seg_no)));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&seal_json)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, self.dir.join(seal_name(self.seg_no)))?;
        let next = Self::open_segment(&self.dir, self.seg_no + 1)?;
        self.seg_no += 1;
        self.file = next;
        self.seg_hash = Sha256::new();
        self.size = 0;
        self.seg_records = 0;
        let mut ev = AuditEvent::internal(SEAL_OPERATION, seal.sealed_at.clone());
        ev.detail = Some(serde_json::to_string(&seal).unwrap_or_default());
        self.write_line(&ev)
    }

    fn append_once(&mut self, event: &AuditEvent) -> std::io::Result<()> {
        if self.size >= self.opts.segment_bytes && self.seg_records > 0 {
            self.rotate()?;
        }
        self.write_line(event)?;
        if self.pending.len() >= PENDING_FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Append (into the pending batch; [`Writer::flush`] writes it); when the volume is full, give
    /// up the room held back for the trail ([`BALLAST`]) and try once more, so the record of the
    /// request that met the full disk is still written.
    /// A failed write drops the pending records of the batch, so this retries only when none of the
    /// batch's earlier records were lost (the chain is where it was): the whole batch then fails.
    fn append(&mut self, event: &AuditEvent) -> std::io::Result<()> {
        let seq_at_entry = self.seq;
        match self.append_once(event) {
            Err(e) if self.seq == seq_at_entry && is_no_space(&e) && release_ballast(&self.dir) => {
                self.append_once(event)
            }
            r => r,
        }
    }
}

/// The volume is full (or the quota is spent): the case the ballast is held back for.
fn is_no_space(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl AuditLog {
    /// Open the trail in `dir` with default options and start the writer thread.
    pub fn open(dir: &Path) -> Result<AuditLog, AuditError> {
        Self::open_with(dir, AuditOptions::default())
    }

    /// Open the trail in `dir` and start the writer thread.
    pub fn open_with(dir: &Path, opts: AuditOptions) -> Result<AuditLog, AuditError> {
        std::fs::create_dir_all(dir)?;
        // One writer per trail: a second one would fork the chain.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        // (A writer of this process that was just dropped releases it when its thread ends.)
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while let Err(e) = lock.try_lock() {
            if std::time::Instant::now() > deadline {
                return Err(AuditError::InUse {
                    dir: dir.to_path_buf(),
                    source: e,
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ensure_ballast(dir);
        let segs = segments(dir)?;
        let mut seg_no = segs.last().and_then(|p| file_number(p)).unwrap_or(1);
        let mut startup_events = Vec::new();
        if read_seal(dir, seg_no)?.is_some() {
            // The newest segment is sealed (crash right after sealing): continue in the next one.
            seg_no += 1;
        } else if let Some((n, sha)) = repair_torn_tail(&dir.join(segment_name(seg_no)))? {
            tracing::warn!(
                bytes = n,
                "audit: cut a torn, never-acknowledged last line off the open segment"
            );
            let mut ev = AuditEvent::internal("AuditTornTailRemoved", now_iso());
            ev.detail = Some(format!("{n} bytes of an incomplete last line removed (sha256 {sha})"));
            startup_events.push(ev);
        }
        let last = last_record(dir)?;
        let file = Writer::open_segment(dir, seg_no)?;
        let existing = std::fs::read(dir.join(segment_name(seg_no)))?;
        let mut seg_hash = Sha256::new();
        seg_hash.update(&existing);
        // Once per start over the open segment; not worth a byte-counting crate.
        #[allow(clippy::naive_bytecount)]
        let seg_records = existing.iter().filter(|b| **b == b'\n').count() as u64;
        let seg_first_seq = existing
            .split(|b| *b == b'\n')
            .next()
            .and_then(|l| serde_json::from_slice::<AuditRecord>(l).ok())
            .map_or(0, |r| r.seq);
        let (seq, prev) = last.map_or((0, GENESIS.to_string()), |r| (r.seq, r.hash));
        let head = Arc::new(std::sync::Mutex::new((seq, prev.clone())));
        let mut w = Writer {
            dir: dir.to_path_buf(),
            file,
            size: existing.len() as u64,
            seg_hash,
            seg_first_seq,
            seg_records,
            seg_no,
            seq,
            prev,
            opts,
            pending: Vec::new(),
            before_pending: None,
        };
        for ev in &startup_events {
            w.append(ev)?;
        }
        w.flush()?;
        w.file.sync_data()?;
        if let Ok(mut h) = head.lock() {
            *h = (w.seq, w.prev.clone());
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let (durable_tx, durable) = watch::channel(w.seq);
        let head_w = head.clone();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                let _lock = lock;
                while let Some(first) = rx.blocking_recv() {
                    let mut batch = vec![first];
                    while let Ok(j) = rx.try_recv() {
                        batch.push(j);
                    }
                    let mut waiters = Vec::with_capacity(batch.len());
                    let mut res: Outcome = Ok(());
                    for (ev, done) in batch {
                        if res.is_ok() {
                            res = w.append(&ev).map_err(Arc::new);
                        }
                        waiters.push(done);
                    }
                    // The whole batch in one write, then one fdatasync.
                    if res.is_ok() {
                        res = w.flush().map_err(Arc::new);
                    } else {
                        w.discard_pending();
                    }
                    if res.is_ok() {
                        res = w.file.sync_data().map_err(Arc::new);
                    }
                    if let Ok(mut h) = head_w.lock() {
                        *h = (w.seq, w.prev.clone());
                    }
                    if res.is_ok() {
                        if let Some(a) = &w.opts.anchor {
                            a(w.seq, &w.prev);
                        }
                        durable_tx.send_replace(w.seq);
                    }
                    for d in waiters {
                        let _ = d.send(res.clone());
                    }
                }
            })
            .map_err(AuditError::Spawn)?;
        Ok(AuditLog {
            tx,
            head,
            dir: Arc::new(dir.to_path_buf()),
            durable,
        })
    }

    /// Append one record and wait until it is on disk.
    pub async fn append(&self, event: AuditEvent) -> Result<(), AuditError> {
        let res = match self.submit(event) {
            Ok(rx) => rx
                .await
                .map_err(|_| AuditError::WriterStopped)
                .and_then(|r| r.map_err(AuditError::Append)),
            Err(e) => Err(e),
        };
        if res.is_err() {
            crate::metrics::audit_append_failed();
        }
        res
    }

    /// Append one record from synchronous code (offline tools); blocks until it is on disk.
    pub fn append_blocking(&self, event: AuditEvent) -> Result<(), AuditError> {
        let rx = self.submit(event)?;
        rx.blocking_recv()
            .map_err(|_| AuditError::WriterStopped)?
            .map_err(AuditError::Append)
    }

    fn submit(&self, event: AuditEvent) -> Result<oneshot::Receiver<Outcome>, AuditError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send((event, tx)).map_err(|_| AuditError::WriterStopped)?;
        Ok(rx)
    }

    /// (length, head hash) of the chain.
    pub fn head(&self) -> (u64, String) {
        self.head.lock().map_or((0, String::new()), |h| h.clone())
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Watch the seq of the newest record that is on disk (fsynced): changes after every durable
    /// batch. Readers of the segments (audit shipping) wait on it instead of polling, and never
    /// read past it, so they see only records whose requests were answered.
    pub fn durable_seq(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An allowed record of `op` at a fixed time (also the shipping tests' fixture).
    pub(crate) fn ev(op: &str) -> AuditEvent {
        AuditEvent {
            time: "2030-01-01T00:00:00.000Z".into(),
            operation: op.into(),
            decision: "allow".into(),
            ..Default::default()
        }
    }

    #[test]
    fn request_metrics_count_what_the_record_says() {
        use crate::metrics::RequestSample;
        let mut e = ev("DeleteObject");
        (e.status, e.bytes_in, e.bytes_out) = (403, 5, 7);
        assert_eq!(
            RequestSample::from(&e),
            RequestSample {
                operation: "DeleteObject",
                status: 403,
                bytes_in: 5,
                bytes_out: 7,
                denied: false,
                rule: None,
            }
        );
        e.decision = "deny".into();
        e.rule = Some("RetentionActive".into());
        let s = RequestSample::from(&e);
        assert!(s.denied);
        assert_eq!(s.rule, Some("RetentionActive"));
    }

    #[test]
    fn canonical_form_roundtrips_and_changes_are_optional() {
        let mut e = ev("PutObject");
        let r = AuditRecord {
            seq: 1,
            prev: GENESIS.into(),
            hash: AuditRecord::compute_hash(1, GENESIS, &e),
            event: e.clone(),
        };
        let line = r.canonical_line();
        assert!(
            !line.contains("changes"),
            "empty changes must not change the record form"
        );
        let back: AuditRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back.canonical_line(), line);
        e.changes.push(Change::DeleteMarkerAdded {
            key: "k".into(),
            version_id: "v".into(),
        });
        let r2 = AuditRecord {
            seq: 2,
            prev: r.hash.clone(),
            hash: AuditRecord::compute_hash(2, &r.hash, &e),
            event: e,
        };
        let line2 = r2.canonical_line();
        let back2: AuditRecord = serde_json::from_str(&line2).unwrap();
        assert_eq!(back2, r2);
        assert_eq!(back2.canonical_line(), line2);
    }

    #[test]
    fn the_written_line_is_the_canonical_line() {
        let mut e = ev("PutObject");
        e.principal = Some("AK\"\\x".into());
        e.changes.push(Change::DeleteMarkerAdded {
            key: "k\u{1}é".into(),
            version_id: "v".into(),
        });
        for (seq, prev, event) in [(1, GENESIS, ev("GetObject")), (77, "ab\"c", e)] {
            let json = serde_json::to_vec(&event).unwrap();
            let hash = AuditRecord::hash_of_json(seq, prev, &json);
            assert_eq!(hash, AuditRecord::compute_hash(seq, prev, &event));
            let r = AuditRecord {
                seq,
                prev: prev.into(),
                event: event.clone(),
                hash: hash.clone(),
            };
            let line = record_line(seq, prev, &event, &json, &hash);
            assert_eq!(String::from_utf8(line).unwrap(), r.canonical_line());
        }
        // Not an object with fields: serialized the long way, still the canonical form.
        let r = AuditRecord {
            seq: 3,
            prev: GENESIS.into(),
            event: ev("X"),
            hash: "h".into(),
        };
        let line = record_line(3, GENESIS, &r.event, b"{}", "h");
        assert_eq!(String::from_utf8(line).unwrap(), r.canonical_line());
    }

    #[test]
    fn a_batch_is_one_write_and_restart_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        {
            let log = AuditLog::open(dir.path()).unwrap();
            let receivers: Vec<_> = (0..50).map(|i| log.submit(ev(&format!("Op{i}"))).unwrap()).collect();
            for r in receivers {
                rt.block_on(r).unwrap().unwrap();
            }
            assert_eq!(log.head().0, 50);
        }
        let all = read_all(dir.path()).unwrap();
        assert_eq!(all.len(), 50);
        let mut prev = GENESIS.to_string();
        for (i, (line, r)) in all.iter().enumerate() {
            assert_eq!(r.seq, i as u64 + 1);
            assert_eq!(r.prev, prev);
            assert_eq!(r.hash, AuditRecord::compute_hash(r.seq, &r.prev, &r.event));
            assert_eq!(&r.canonical_line(), line);
            prev = r.hash.clone();
        }
        let log = AuditLog::open(dir.path()).unwrap();
        rt.block_on(log.append(ev("After"))).unwrap();
        assert_eq!(log.head().0, 51);
    }

    #[test]
    fn rotation_seals_segments_and_restart_continues_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let opts = AuditOptions {
            segment_bytes: 600,
            ..Default::default()
        };
        {
            let log = AuditLog::open_with(dir.path(), opts.clone()).unwrap();
            for i in 0..10 {
                rt.block_on(log.append(ev(&format!("Op{i}")))).unwrap();
            }
        }
        let segs = segments(dir.path()).unwrap();
        assert!(segs.len() >= 3, "expected rotation, got {segs:?}");
        for s in &segs[..segs.len() - 1] {
            let seal = read_seal(dir.path(), file_number(s).unwrap()).unwrap().expect("sealed");
            let data = std::fs::read(s).unwrap();
            assert_eq!(seal.bytes, data.len() as u64);
            assert_eq!(seal.sha256, hex::encode(Sha256::digest(&data)));
        }
        // A torn tail is cut on restart, and the chain continues.
        let last = segs.last().unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(last)
            .unwrap()
            .write_all(b"{\"seq\":99")
            .unwrap();
        let log = AuditLog::open_with(dir.path(), opts).unwrap();
        rt.block_on(log.append(ev("After"))).unwrap();
        let all = read_all(dir.path()).unwrap();
        for (i, (line, r)) in all.iter().enumerate() {
            assert_eq!(r.seq, i as u64 + 1);
            assert_eq!(&r.canonical_line(), line);
        }
        assert!(all.iter().any(|(_, r)| r.event.operation == "AuditTornTailRemoved"));
        assert_eq!(log.head().0, all.len() as u64);
    }
}
