//! Append-only, hash-chained audit log in `audit/NNNNNN.log` segments (JSON lines). Each record holds
//! the hash of the previous one; a writer task batches appends and fsyncs once per batch (group
//! commit), so a request's record is durable before its response.

use crate::s3::error::{S3Error, S3Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use tokio::sync::{mpsc, oneshot};

/// Hash of the (virtual) record before the first one.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Rotate to a new segment past this size.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

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
    /// `allow`, `deny` (policy or auth refused) or `error` (refused for bad input or failure).
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
    /// Free-form detail (e.g. per-key results of DeleteObjects).
    pub detail: Option<String>,
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
        let mut h = Sha256::new();
        h.update(prev.as_bytes());
        h.update(seq.to_be_bytes());
        h.update(serde_json::to_vec(event).unwrap_or_default());
        hex::encode(h.finalize())
    }
}

type Job = (AuditEvent, oneshot::Sender<Result<(), String>>);

/// Handle to the audit writer.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::UnboundedSender<Job>,
    head: std::sync::Arc<std::sync::Mutex<(u64, String)>>,
}

/// Segment files in order.
pub fn segments(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    v.sort();
    Ok(v)
}

/// Read the last record of the chain (to continue it after a restart).
fn last_record(dir: &Path) -> std::io::Result<Option<AuditRecord>> {
    for seg in segments(dir)?.into_iter().rev() {
        let text = std::fs::read_to_string(&seg)?;
        // A crash can leave a torn last line; the last complete, parseable line is the head.
        for line in text.lines().rev() {
            if let Ok(r) = serde_json::from_str::<AuditRecord>(line) {
                return Ok(Some(r));
            }
        }
    }
    Ok(None)
}

struct Writer {
    dir: PathBuf,
    file: std::fs::File,
    size: u64,
    seg_no: u64,
    seq: u64,
    prev: String,
}

impl Writer {
    fn open_segment(dir: &Path, n: u64) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join(format!("{n:06}.log")))
    }

    fn append(&mut self, event: AuditEvent) -> std::io::Result<()> {
        let seq = self.seq + 1;
        let hash = AuditRecord::compute_hash(seq, &self.prev, &event);
        let rec = AuditRecord { seq, prev: self.prev.clone(), event, hash: hash.clone() };
        let mut line = serde_json::to_vec(&rec).map_err(std::io::Error::other)?;
        line.push(b'\n');
        if self.size + line.len() as u64 > SEGMENT_BYTES && self.size > 0 {
            self.file.sync_all()?;
            self.seg_no += 1;
            self.file = Self::open_segment(&self.dir, self.seg_no)?;
            self.size = 0;
        }
        self.file.write_all(&line)?;
        self.size += line.len() as u64;
        self.seq = seq;
        self.prev = hash;
        Ok(())
    }
}

impl AuditLog {
    /// Open the trail in `dir` and start the writer thread.
    pub fn open(dir: &Path) -> S3Result<AuditLog> {
        std::fs::create_dir_all(dir)?;
        let last = last_record(dir)?;
        let segs = segments(dir)?;
        let seg_no = segs
            .last()
            .and_then(|p| p.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()))
            .unwrap_or(1);
        let file = Writer::open_segment(dir, seg_no)?;
        let size = file.metadata()?.len();
        let (seq, prev) = last.map(|r| (r.seq, r.hash)).unwrap_or((0, GENESIS.to_string()));
        let head = std::sync::Arc::new(std::sync::Mutex::new((seq, prev.clone())));
        let mut w = Writer { dir: dir.to_path_buf(), file, size, seg_no, seq, prev };
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let head_w = head.clone();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut batch = vec![first];
                    while let Ok(j) = rx.try_recv() {
                        batch.push(j);
                    }
                    let mut waiters = Vec::with_capacity(batch.len());
                    let mut res: Result<(), String> = Ok(());
                    for (ev, done) in batch {
                        if res.is_ok() {
                            res = w.append(ev).map_err(|e| e.to_string());
                        }
                        waiters.push(done);
                    }
                    if res.is_ok() {
                        res = w.file.sync_data().map_err(|e| e.to_string());
                    }
                    if let Ok(mut h) = head_w.lock() {
                        *h = (w.seq, w.prev.clone());
                    }
                    for d in waiters {
                        let _ = d.send(res.clone());
                    }
                }
            })
            .map_err(|e| S3Error::internal(format!("cannot start audit writer: {e}")))?;
        Ok(AuditLog { tx, head })
    }

    /// Append one record and wait until it is on disk.
    pub async fn append(&self, event: AuditEvent) -> S3Result<()> {
        let (tx, rx) = oneshot::channel();
        self.tx.send((event, tx)).map_err(|_| S3Error::internal("audit writer stopped"))?;
        rx.await
            .map_err(|_| S3Error::internal("audit writer stopped"))?
            .map_err(|e| S3Error::internal(format!("audit append failed: {e}")))
    }

    /// (length, head hash) of the chain.
    pub fn head(&self) -> (u64, String) {
        self.head.lock().map(|h| h.clone()).unwrap_or((0, String::new()))
    }
}
