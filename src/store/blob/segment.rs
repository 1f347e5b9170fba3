//! Append-only segment files for small blobs: `<data>/segments/<segment-id>.seg`. Many small versions
//! share one file and, above all, one `fdatasync`: writers hand (id, sidecar, data) to ONE committer
//! thread, which appends every pending entry with one write and one `fdatasync`, then answers every
//! writer of the batch. A writer hears success only after the `fdatasync` covering its entry
//! succeeded; when the write or the sync fails, every writer of the batch fails and the segment is
//! abandoned (nothing is ever written after a failed sync into the same file).
//!
//! Bytes once written are never rewritten: segments are created with `create_new` under ids that are
//! never reused (time in nanoseconds + 64 random bits), only appended to, and destroyed only whole
//! (`BlobStore::reclaim`, with the catalog's `EmptySegments` proof, once sealed and unpinned). A
//! segment found at open is sealed as it is (its tail may hold a torn entry after a kill -9); new
//! entries always go to a new segment. Readers and scans stop at the first entry whose CRC fails.
//!
//! Entry format (little endian): `magic "WGSG"`, format byte, 3 zero bytes, id length u32, sidecar
//! length u32, data length u64, CRC32C u32 over the first 24 header bytes + id + sidecar + data;
//! then id, sidecar (the version record's second copy, as a disk `.meta`), data.

use crate::store::error::{StoreError, StoreResult};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// First bytes of every entry.
pub const MAGIC: [u8; 4] = *b"WGSG";
/// The entry format this code writes and reads.
pub const FORMAT: u8 = 1;
/// Bytes of an entry header.
pub const HEADER_LEN: usize = 28;
/// A segment is sealed (the next batch opens a new one) once it holds this many bytes: large enough
/// that segment creation (one directory fsync) is rare, small enough that reclaiming whole segments
/// frees space soon after their versions expire.
pub const SEGMENT_TARGET: u64 = 64 << 20;
/// One group commit takes at most this many bytes of pending entries (the rest wait for the next).
const BATCH_MAX: usize = 16 << 20;
/// The longest sidecar a scan accepts (a record is a few KiB; anything larger is a torn header).
const SIDECAR_MAX: u32 = 16 << 20;
/// File name suffix of segments.
const SUFFIX: &str = ".seg";

/// Directory of the segments under a data root.
pub fn dir_of(root: &Path) -> PathBuf {
    root.join("segments")
}

/// Path of segment `segment` under a data root (ids are checked: letters, digits, `-`, `_`).
pub fn path_of(root: &Path, segment: &str) -> StoreResult<PathBuf> {
    if !super::valid_id(segment) {
        return Err(StoreError::InvalidBlobId {
            id: segment.to_string(),
        });
    }
    Ok(dir_of(root).join(format!("{segment}{SUFFIX}")))
}

/// A fresh segment id: nanoseconds since the epoch (so names sort by creation) and 64 random bits
/// (so a clock that went back never repeats one); `create_new` refuses an existing name anyway.
fn new_segment_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mut r = [0u8; 8];
    // Without randomness the time alone still differs between segments of one process.
    let _ = getrandom::getrandom(&mut r);
    format!("{nanos:016x}-{}", hex::encode(r))
}

/// Append one entry to `out`; returns the offset of its data relative to the entry's start.
pub fn encode_entry(id: &str, sidecar: &[u8], data: &[u8], out: &mut Vec<u8>) -> u64 {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.push(FORMAT);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&u32::try_from(id.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&u32::try_from(sidecar.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    let crc = entry_crc(out.get(start..).unwrap_or_default(), id.as_bytes(), sidecar, data);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(sidecar);
    out.extend_from_slice(data);
    (HEADER_LEN + id.len() + sidecar.len()) as u64
}

fn entry_crc(head: &[u8], id: &[u8], sidecar: &[u8], data: &[u8]) -> u32 {
    let mut c = crc32c::crc32c(head);
    for part in [id, sidecar, data] {
        c = crc32c::crc32c_append(c, part);
    }
    c
}

/// One entry found by a scan (its CRC checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// The blob id (the version id).
    pub id: String,
    /// The version record's second copy, as written.
    pub sidecar: Vec<u8>,
    /// Offset of the entry's data in the segment file.
    pub offset: u64,
    /// Length of the data.
    pub len: u64,
}

/// What a scan of one segment found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every whole entry, in file order.
    pub entries: Vec<Scanned>,
    /// Where the readable entries end and how many bytes follow that do not form an entry whose CRC
    /// holds (a write torn by a crash, or damage): `(offset, bytes)`.
    pub torn: Option<(u64, u64)>,
}

/// Read a segment from the start, entry by entry, checking each CRC; stops at the first entry that
/// does not check (reported as `torn`). Memory: one entry's id + sidecar, data is streamed.
pub fn scan_file(path: &Path) -> std::io::Result<Scan> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut r = std::io::BufReader::with_capacity(256 * 1024, file);
    let mut out = Scan::default();
    let mut pos = 0u64;
    let mut chunk = vec![0u8; 64 * 1024];
    while pos < size {
        let Some((e, next)) = read_entry(&mut r, pos, size, &mut chunk)? else {
            out.torn = Some((pos, size - pos));
            break;
        };
        out.entries.push(e);
        pos = next;
    }
    Ok(out)
}

/// One entry at `pos`, or `None` when what follows is not a whole entry with a good CRC.
fn read_entry(r: &mut impl Read, pos: u64, size: u64, chunk: &mut [u8]) -> std::io::Result<Option<(Scanned, u64)>> {
    let mut head = [0u8; HEADER_LEN];
    if size - pos < HEADER_LEN as u64 || r.read_exact(&mut head).is_err() {
        return Ok(None);
    }
    let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    if head[..4] != MAGIC || head[4] != FORMAT {
        return Ok(None);
    }
    let (id_len, side_len) = (u32_at(8), u32_at(12));
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&head[16..24]);
    let data_len = u64::from_le_bytes(len8);
    let want_crc = u32_at(24);
    let body = u64::from(id_len) + u64::from(side_len) + data_len;
    if id_len > 128 || side_len > SIDECAR_MAX || body > size - pos - HEADER_LEN as u64 {
        return Ok(None);
    }
    let mut id = vec![0u8; id_len as usize];
    let mut sidecar = vec![0u8; side_len as usize];
    r.read_exact(&mut id)?;
    r.read_exact(&mut sidecar)?;
    let mut crc = crc32c::crc32c(&head[..24]);
    crc = crc32c::crc32c_append(crc, &id);
    crc = crc32c::crc32c_append(crc, &sidecar);
    let mut left = data_len;
    while left > 0 {
        let n = crate::units::take_len(left, chunk.len());
        r.read_exact(&mut chunk[..n])?;
        crc = crc32c::crc32c_append(crc, &chunk[..n]);
        left -= n as u64;
    }
    let Ok(id) = String::from_utf8(id) else {
        return Ok(None);
    };
    if crc != want_crc {
        return Ok(None);
    }
    let offset = pos + HEADER_LEN as u64 + u64::from(id_len) + u64::from(side_len);
    Ok(Some((
        Scanned {
            id,
            sidecar,
            offset,
            len: data_len,
        },
        offset + data_len,
    )))
}

/// Every segment id under a data root, sorted (creation order).
pub fn list(root: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let dir = dir_of(root);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for f in rd {
        let name = f?.file_name().to_string_lossy().to_string();
        if let Some(id) = name.strip_suffix(SUFFIX) {
            out.push(id.to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// Where a committed entry landed. Holds a pin on its segment until dropped, so that the segment is
/// not reclaimed between the commit and the catalog insert that makes the entry live.
#[derive(Debug)]
pub struct Landed {
    pub segment: String,
    /// Offset of the data in the segment file.
    pub offset: u64,
    pub len: u64,
    _pin: Pin,
}

/// Counts a writer between its commit and its catalog insert (see [`Landed`]).
#[derive(Debug)]
struct Pin {
    state: Arc<Mutex<State>>,
    segment: String,
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = st.pins.get_mut(&self.segment) {
            *n -= 1;
            if *n == 0 {
                st.pins.remove(&self.segment);
            }
        }
    }
}

/// What the committer and the reclaimer share: the active segment and the pins.
#[derive(Debug, Default)]
struct State {
    active: Option<String>,
    pins: HashMap<String, usize>,
}

/// A failed batch, as every writer of it hears it.
#[derive(Debug, Clone)]
struct Failure {
    os: Option<i32>,
    kind: std::io::ErrorKind,
    message: String,
}

impl Failure {
    fn of(e: &std::io::Error, what: &str) -> Self {
        Failure {
            os: e.raw_os_error(),
            kind: e.kind(),
            message: format!("{what}: {e}"),
        }
    }
    fn into_error(self) -> StoreError {
        let source = match self.os {
            Some(code) => std::io::Error::from_raw_os_error(code),
            None => std::io::Error::new(self.kind, self.message.clone()),
        };
        StoreError::io_at(self.message, source)
    }
}

/// One writer's entry on its way to the committer.
struct Job {
    id: String,
    sidecar: Vec<u8>,
    data: Vec<u8>,
    reply: oneshot::Sender<Result<Landed, Failure>>,
}

/// Test-only fault injection: make the next syncs fail (after the bytes were written).
#[derive(Debug, Default)]
pub struct Faults {
    pub fail_sync: std::sync::atomic::AtomicBool,
}

/// The segment store of one data root: the committer thread's queue, the buffered-bytes budget and
/// the state the reclaimer checks.
#[derive(Clone)]
pub struct Segments {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    jobs: mpsc::Sender<Job>,
    state: Arc<Mutex<State>>,
    budget: Arc<Semaphore>,
    max_object: u64,
    faults: Arc<Faults>,
}

impl Segments {
    /// Start the committer for the segments under `root`. Objects up to `max_object` bytes may go
    /// to segments; at most `budget` bytes of bodies are buffered at once (beyond that, writers use
    /// a file of their own). Every existing segment stays sealed: the first commit creates a new one.
    pub fn start(root: &Path, max_object: u64, budget: usize) -> StoreResult<Self> {
        std::fs::create_dir_all(dir_of(root))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let state = Arc::new(Mutex::new(State::default()));
        let faults = Arc::new(Faults::default());
        let committer = Committer {
            root: root.to_path_buf(),
            state: state.clone(),
            faults: faults.clone(),
            active: None,
        };
        std::thread::Builder::new()
            .name("segment-commit".into())
            .spawn(move || committer.run(&rx))
            .map_err(|e| StoreError::io_at("cannot start the segment committer", e))?;
        Ok(Segments {
            inner: Arc::new(Inner {
                root: root.to_path_buf(),
                jobs: tx,
                state,
                budget: Arc::new(Semaphore::new(budget.min(Semaphore::MAX_PERMITS))),
                max_object,
                faults,
            }),
        })
    }

    /// Fault injection for tests.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// A writer for a version's data blob of exactly `len` bytes, when it fits the threshold and
    /// the buffer budget; `None` sends the caller to a file of its own.
    pub fn writer(&self, id: &str, len: u64) -> Option<SegmentWriter> {
        if len > self.inner.max_object {
            return None;
        }
        let n = u32::try_from(len).ok()?;
        let permit = self.inner.budget.clone().try_acquire_many_owned(n).ok()?;
        Some(SegmentWriter {
            segments: self.clone(),
            id: id.to_string(),
            buf: Vec::with_capacity(usize::try_from(len).ok()?),
            cap: len,
            _permit: permit,
        })
    }

    /// Of `candidates`, the segments that can never get another live entry: not the active one and
    /// no writer between commit and catalog insert. Once true this stays true (only the active
    /// segment gets entries and pins), so the catalog's emptiness check after it is final.
    pub fn quiet(&self, candidates: &[String]) -> Vec<String> {
        let st = self.inner.state.lock().unwrap_or_else(PoisonError::into_inner);
        candidates
            .iter()
            .filter(|s| st.active.as_deref() != Some(s.as_str()) && !st.pins.contains_key(*s))
            .cloned()
            .collect()
    }

    /// Remove whole segments the catalog proved empty (and `quiet` proved sealed).
    pub(crate) fn remove(&self, ids: &[String]) -> StoreResult<()> {
        let quiet = self.quiet(ids);
        for id in &quiet {
            match std::fs::remove_file(path_of(&self.inner.root, id)?) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io_at(format!("segment {id} cannot be removed"), e)),
            }
        }
        Ok(())
    }

    async fn commit(&self, id: String, sidecar: Vec<u8>, data: Vec<u8>) -> StoreResult<Landed> {
        let (reply, rx) = oneshot::channel();
        let sent = self.inner.jobs.send(Job {
            id,
            sidecar,
            data,
            reply,
        });
        if sent.is_err() {
            return Err(StoreError::invariant("the segment committer stopped"));
        }
        match rx.await {
            Ok(Ok(l)) => Ok(l),
            Ok(Err(f)) => Err(f.into_error()),
            Err(_) => Err(StoreError::invariant("the segment committer stopped")),
        }
    }
}

/// A small version's body, buffered until `commit` hands it to the committer.
pub struct SegmentWriter {
    segments: Segments,
    id: String,
    buf: Vec<u8>,
    cap: u64,
    _permit: OwnedSemaphorePermit,
}

impl SegmentWriter {
    /// Buffer more bytes; never more than announced (the buffer budget counts the announced length).
    pub fn write(&mut self, data: &[u8]) -> StoreResult<()> {
        if (self.buf.len() + data.len()) as u64 > self.cap {
            return Err(StoreError::invariant("the body is longer than its announced length"));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Append the entry durably (group commit); `sidecar` is the version record's second copy.
    pub async fn commit(self, sidecar: &[u8]) -> StoreResult<Landed> {
        let SegmentWriter {
            segments,
            id,
            buf,
            _permit,
            ..
        } = self;
        segments.commit(id, sidecar.to_vec(), buf).await
    }

    /// The blob id this writer writes.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The open active segment (only the committer thread touches it).
struct Active {
    id: String,
    file: File,
    len: u64,
}

struct Committer {
    root: PathBuf,
    state: Arc<Mutex<State>>,
    faults: Arc<Faults>,
    active: Option<Active>,
}

impl Committer {
    fn run(mut self, rx: &mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut bytes = first.data.len() + first.sidecar.len();
            let mut batch = vec![first];
            while bytes < BATCH_MAX {
                match rx.try_recv() {
                    Ok(j) => {
                        bytes += j.data.len() + j.sidecar.len();
                        batch.push(j);
                    }
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
        }
    }

    fn set_active(&mut self, a: Option<Active>) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).active = a.as_ref().map(|a| a.id.clone());
        self.active = a;
    }

    /// Create a new segment (`create_new`) and make its name durable.
    fn create(&self) -> std::io::Result<Active> {
        let id = new_segment_id();
        let dir = dir_of(&self.root);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.join(format!("{id}{SUFFIX}")))?;
        File::open(&dir)?.sync_all()?;
        Ok(Active { id, file, len: 0 })
    }

    fn commit_batch(&mut self, batch: Vec<Job>) {
        if self.active.as_ref().is_some_and(|a| a.len >= SEGMENT_TARGET) {
            self.set_active(None); // sealed: dropped, never written again
        }
        if self.active.is_none() {
            match self.create() {
                Ok(a) => self.set_active(Some(a)),
                Err(e) => return fail(batch, &Failure::of(&e, "a new segment cannot be created")),
            }
        }
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let mut buf = Vec::with_capacity(
            batch
                .iter()
                .map(|j| HEADER_LEN + j.id.len() + j.sidecar.len() + j.data.len())
                .sum(),
        );
        let mut offsets = Vec::with_capacity(batch.len());
        for j in &batch {
            let entry_start = active.len + buf.len() as u64;
            offsets.push(entry_start + encode_entry(&j.id, &j.sidecar, &j.data, &mut buf));
        }
        let written = active.file.write_all_at(&buf, active.len).and_then(|()| {
            if self.faults.fail_sync.load(std::sync::atomic::Ordering::SeqCst) {
                Err(std::io::Error::other("injected fdatasync failure"))
            } else {
                active.file.sync_data()
            }
        });
        if let Err(e) = written {
            // Never write after a failed sync into the same file: the next batch opens a new one.
            let f = Failure::of(&e, &format!("appending to segment {} failed", active.id));
            self.set_active(None);
            return fail(batch, &f);
        }
        active.len += buf.len() as u64;
        let segment = active.id.clone();
        let mut landed = Vec::with_capacity(batch.len());
        {
            let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            *st.pins.entry(segment.clone()).or_default() += batch.len();
        }
        for (j, offset) in batch.into_iter().zip(offsets) {
            let l = Landed {
                segment: segment.clone(),
                offset,
                len: j.data.len() as u64,
                _pin: Pin {
                    state: self.state.clone(),
                    segment: segment.clone(),
                },
            };
            landed.push((j.reply, l));
        }
        // Answer outside the lock: a writer that went away drops its pin right here.
        for (reply, l) in landed {
            let _ = reply.send(Ok(l));
        }
    }
}

fn fail(batch: Vec<Job>, f: &Failure) {
    for j in batch {
        let _ = j.reply.send(Err(f.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(root: &Path) -> Segments {
        Segments::start(root, 1 << 20, 64 << 20).unwrap()
    }

    async fn put(s: &Segments, id: &str, data: &[u8]) -> StoreResult<Landed> {
        let mut w = s.writer(id, data.len() as u64).unwrap();
        w.write(data)?;
        w.commit(format!("sidecar of {id}").as_bytes()).await
    }

    fn read_at(root: &Path, l: &Landed) -> Vec<u8> {
        let f = File::open(path_of(root, &l.segment).unwrap()).unwrap();
        let mut buf = vec![0u8; l.len as usize];
        f.read_exact_at(&mut buf, l.offset).unwrap();
        buf
    }

    #[test]
    fn entry_round_trip_and_crc_catches_any_flipped_byte() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        let off = encode_entry("v1", b"side", b"hello", &mut buf);
        assert_eq!(off as usize, HEADER_LEN + 2 + 4);
        std::fs::create_dir_all(dir_of(dir.path())).unwrap();
        let p = path_of(dir.path(), "s").unwrap();
        std::fs::write(&p, &buf).unwrap();
        let scan = scan_file(&p).unwrap();
        assert_eq!(
            scan.entries,
            vec![Scanned {
                id: "v1".into(),
                sidecar: b"side".to_vec(),
                offset: off,
                len: 5
            }]
        );
        assert!(scan.torn.is_none());
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x20;
            std::fs::write(&p, &bad).unwrap();
            let scan = scan_file(&p).unwrap();
            assert!(scan.entries.is_empty(), "flipped byte {i} not caught");
            assert_eq!(scan.torn, Some((0, buf.len() as u64)));
        }
    }

    #[test]
    fn a_torn_tail_stops_the_scan_after_the_whole_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        encode_entry("a", b"sa", b"aaaa", &mut buf);
        let first_end = buf.len();
        encode_entry("b", b"sb", &[7u8; 1000], &mut buf);
        std::fs::create_dir_all(dir_of(dir.path())).unwrap();
        let p = path_of(dir.path(), "s").unwrap();
        for cut in [first_end + 1, first_end + HEADER_LEN, buf.len() - 1] {
            std::fs::write(&p, &buf[..cut]).unwrap();
            let scan = scan_file(&p).unwrap();
            assert_eq!(scan.entries.len(), 1, "cut at {cut}");
            assert_eq!(scan.entries[0].id, "a");
            assert_eq!(scan.torn, Some((first_end as u64, (cut - first_end) as u64)));
        }
        std::fs::write(&p, &buf).unwrap();
        assert_eq!(scan_file(&p).unwrap().entries.len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_are_all_durable_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = segs(dir.path());
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let data = vec![(i % 251) as u8; (i as usize * 37) % 5000];
                let l = put(&s, &format!("v{i}"), &data).await.unwrap();
                (i, data, l)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.unwrap());
        }
        for (_, data, l) in &all {
            assert_eq!(&read_at(dir.path(), l), data);
        }
        // Everything went to one segment (no rotation at this size), and a scan finds every entry.
        let ids = list(dir.path()).unwrap();
        assert_eq!(ids.len(), 1);
        let scan = scan_file(&path_of(dir.path(), &ids[0]).unwrap()).unwrap();
        assert_eq!(scan.entries.len(), 200);
        assert!(scan.torn.is_none());
        for (i, data, l) in &all {
            let e = scan.entries.iter().find(|e| e.id == format!("v{i}")).unwrap();
            assert_eq!((e.offset, e.len), (l.offset, data.len() as u64));
            assert_eq!(e.sidecar, format!("sidecar of v{i}").into_bytes());
        }
    }

    #[tokio::test]
    async fn a_failed_sync_fails_the_batch_and_the_next_entry_goes_to_a_new_segment() {
        let dir = tempfile::tempdir().unwrap();
        let s = segs(dir.path());
        let ok = put(&s, "a", b"first").await.unwrap();
        s.faults().fail_sync.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut tasks = Vec::new();
        for i in 0..20 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { put(&s, &format!("f{i}"), b"doomed").await }));
        }
        for t in tasks {
            assert!(t.await.unwrap().is_err(), "a writer heard success after a failed sync");
        }
        s.faults().fail_sync.store(false, std::sync::atomic::Ordering::SeqCst);
        let after = put(&s, "b", b"second").await.unwrap();
        assert_ne!(
            after.segment, ok.segment,
            "wrote after a failed sync into the same file"
        );
        assert_eq!(read_at(dir.path(), &after), b"second");
        assert_eq!(read_at(dir.path(), &ok), b"first");
        // Each failed batch abandoned its segment (the writers may have come in several batches);
        // the write after them went to a segment created after all of them.
        let segs = list(dir.path()).unwrap();
        assert_eq!(segs.first(), Some(&ok.segment));
        assert_eq!(segs.last(), Some(&after.segment));
        assert!(segs.len() >= 2);
    }

    #[tokio::test]
    async fn a_restart_never_appends_to_an_old_segment_and_ids_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = std::collections::HashSet::new();
        for round in 0..5 {
            let s = segs(dir.path());
            let l = put(&s, &format!("r{round}"), b"x").await.unwrap();
            assert!(seen.insert(l.segment.clone()), "segment id reused");
            // Simulate a torn tail left by a kill: the old segment is sealed as it is.
            let p = path_of(dir.path(), &l.segment).unwrap();
            let mut f = OpenOptions::new().append(true).open(&p).unwrap();
            std::io::Write::write_all(&mut f, b"WGSG\x01torn").unwrap();
        }
        let ids = list(dir.path()).unwrap();
        assert_eq!(ids.len(), 5);
        for id in ids {
            let scan = scan_file(&path_of(dir.path(), &id).unwrap()).unwrap();
            assert_eq!(scan.entries.len(), 1);
            assert_eq!(scan.torn.map(|t| t.1), Some(9));
        }
    }

    #[tokio::test]
    async fn segments_rotate_and_only_sealed_unpinned_ones_are_quiet() {
        let dir = tempfile::tempdir().unwrap();
        let s = Segments::start(dir.path(), 8 << 20, 64 << 20).unwrap();
        let big = vec![1u8; 8 << 20];
        let mut landed = Vec::new();
        for i in 0..9 {
            landed.push(put(&s, &format!("b{i}"), &big).await.unwrap());
        }
        let ids = list(dir.path()).unwrap();
        assert_eq!(ids.len(), 2, "rotated once past {SEGMENT_TARGET} bytes");
        assert_eq!(landed[0].segment, ids[0]);
        assert_eq!(landed[8].segment, ids[1]);
        // Pinned (writers not yet in the catalog): nothing is quiet.
        assert!(s.quiet(&ids).is_empty());
        drop(landed);
        // The active one never is.
        assert_eq!(s.quiet(&ids), vec![ids[0].clone()]);
        s.remove(&ids).unwrap();
        assert_eq!(list(dir.path()).unwrap(), vec![ids[1].clone()]);
    }

    #[test]
    fn the_threshold_and_the_budget_send_writers_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let _g = rt.enter();
        let s = Segments::start(dir.path(), 100, 150).unwrap();
        assert!(s.writer("a", 101).is_none());
        let w = s.writer("a", 100).unwrap();
        assert!(s.writer("b", 100).is_none(), "over the buffer budget");
        drop(w);
        let mut w = s.writer("b", 3).unwrap();
        assert!(w.write(b"abcd").is_err(), "longer than announced");
    }
}
