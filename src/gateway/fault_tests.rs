//! Fault injection on the new-version path: a catalog insert that reached sled but whose flush
//! failed must never cost the version its bytes (the record may still become durable); a failed
//! segment fdatasync fails the write with no record.

use super::version::Commit;
use super::Gateway;
use crate::audit::AuditLog;
use crate::lock::{Clock, LockHeaders, Policy, SystemTimeSource, VersionAsk};
use crate::s3::op::{ContentHeaders, WriteHeaders};
use crate::s3::parse::Addressing;
use crate::store::blob::disk::DiskBlobs;
use crate::store::blob::BlobHints;
use crate::store::records::NewVersionId;
use crate::store::{BlobStore, BlobWriter, Catalog, VersionEntry, VersionRecord};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A disk-mode gateway in `dir` (min retention 1 day, max 10 years), and a handle on its blob store.
/// Also the admin fuzz tests' gateway.
pub(crate) fn gateway(dir: &std::path::Path) -> (Gateway, DiskBlobs) {
    let catalog = Catalog::open(&dir.join("catalog")).unwrap();
    let disk = DiskBlobs::open(dir).unwrap();
    let clock = Arc::new(Clock::new(
        Arc::new(SystemTimeSource::default()),
        0,
        chrono::Duration::minutes(5),
    ));
    let policy = Policy {
        min_retention: chrono::Duration::days(1),
        max_retention: chrono::Duration::days(3650),
        require_client_digest: false,
    };
    let audit = AuditLog::open(&dir.join("audit")).unwrap();
    let gw = Gateway::new(
        catalog,
        BlobStore::Disk(disk.clone()),
        clock,
        policy,
        Vec::new(),
        Addressing::default(),
        "us-east-1".into(),
        audit,
    );
    (gw, disk)
}

fn digests_of(data: &[u8]) -> crate::checksum::ComputedDigests {
    let mut d = crate::checksum::IngestDigests::new(None);
    d.update(data);
    d.finish()
}

/// The record of a new version of `bucket/k` holding `data` (the next seq; nothing written yet).
fn version_record(gw: &Gateway, bucket: &str, data: &[u8]) -> VersionRecord {
    let seq = gw.catalog.next_seq().unwrap();
    VersionRecord::single_blob(
        NewVersionId {
            bucket: bucket.into(),
            key: "k".into(),
            version_id: crate::ids::make_version_id(1_700_000_000_000_000, seq),
            seq,
            created_ms: 1,
            owner: "o".into(),
        },
        &digests_of(data),
        ContentHeaders::default(),
        Default::default(),
    )
}

/// A new version of `bucket/k` holding `data`, written but not yet committed.
async fn written_version(gw: &Gateway, bucket: &str, data: &[u8]) -> (VersionRecord, BlobWriter) {
    let rec = version_record(gw, bucket, data);
    let len = u64::try_from(data.len()).unwrap();
    let mut writer = gw
        .blobs
        .begin(&rec.version_id, BlobHints::len(Some(len)))
        .await
        .unwrap();
    writer.write(data).await.unwrap();
    (rec, writer)
}

/// Create bucket `b` (no default retention).
async fn create_bucket_b(gw: &Gateway) {
    let bucket = crate::store::BucketRecord {
        name: "b".into(),
        created_ms: 1,
        owner: "o".into(),
        default_retention: None,
        lifecycle: None,
    };
    assert!(gw.catalog.create_bucket(&bucket).await.unwrap());
}

const ASK: VersionAsk = VersionAsk {
    headers: LockHeaders {
        mode: None,
        retain_until: None,
        legal_hold: None,
    },
    bucket_default: None,
    has_client_digest: true,
};

#[tokio::test]
async fn failed_flush_after_insert_keeps_the_blob() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, disk) = gateway(dir.path());
    create_bucket_b(&gw).await;
    let (rec, writer) = written_version(&gw, "b", b"hello").await;
    let (seq, version_id) = (rec.seq, rec.version_id.clone());
    gw.catalog.faults().fail_flush.store(true, Ordering::SeqCst);
    let err = gw
        .finalize_version(rec, &ASK, &WriteHeaders::default(), writer, Commit::Insert)
        .await
        .unwrap_err();
    assert!(err.message.contains("injected"), "{}", err.message);
    // The record reached sled (its flush failed), so its blob must still be there ...
    assert!(
        disk.path(&version_id).exists(),
        "the blob of a record in the catalog was deleted"
    );
    gw.catalog.faults().fail_flush.store(false, Ordering::SeqCst);
    gw.catalog.durable().await.unwrap();
    // ... and once the record is durable, it reads back complete.
    let Some(VersionEntry::Ok(stored)) = gw.catalog.version("b", "k", seq).unwrap() else {
        panic!("the version record is missing");
    };
    assert_eq!(stored.size, 5);
    let bytes = std::fs::read(disk.path(&version_id)).unwrap();
    assert_eq!(bytes, b"hello");
}

#[tokio::test]
async fn refused_commit_discards_the_unreferenced_blob() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, disk) = gateway(dir.path());
    // No bucket: the commit is refused, nothing refers to the blob, so it goes.
    let (rec, writer) = written_version(&gw, "gone", b"hi").await;
    let version_id = rec.version_id.clone();
    let err = gw
        .finalize_version(rec, &ASK, &WriteHeaders::default(), writer, Commit::Insert)
        .await
        .unwrap_err();
    assert_eq!(err.code, crate::s3::error::S3Code::NoSuchBucket);
    assert!(!disk.path(&version_id).exists(), "an unreferenced blob was left behind");
}

/// A small version in a segment: a failed fdatasync fails the PUT with nothing in the catalog, the
/// next PUT lands in a new segment; a failed catalog flush keeps the record pointing at the entry,
/// and that segment is not reclaimable while the record is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segment_faults_never_leave_a_record_without_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut gw, disk) = gateway(dir.path());
    let disk = disk.with_segments(1 << 20, 1 << 20).unwrap();
    gw.blobs = BlobStore::Disk(disk.clone());
    let segs = disk.segments().unwrap().clone();
    create_bucket_b(&gw).await;
    let begin = |gw: &Gateway, rec: &VersionRecord, data: &[u8]| {
        let blobs = gw.blobs.clone();
        let id = rec.version_id.clone();
        let len = u64::try_from(data.len()).unwrap();
        let data = data.to_vec();
        async move {
            let mut w = blobs.begin(&id, BlobHints::version_copy(len)).await.unwrap();
            assert!(matches!(w, BlobWriter::Segment(_)), "a small version goes to a segment");
            w.write(&data).await.unwrap();
            w
        }
    };
    // The sync fails: the PUT fails and no record appears.
    let data = b"doomed";
    let rec = version_record(&gw, "b", data);
    let seq = rec.seq;
    let w = begin(&gw, &rec, data).await;
    segs.faults().fail_sync.store(true, Ordering::SeqCst);
    let err = gw
        .finalize_version(rec, &ASK, &WriteHeaders::default(), w, Commit::Insert)
        .await
        .unwrap_err();
    assert!(err.message.contains("segment"), "{}", err.message);
    assert!(gw.catalog.version("b", "k", seq).unwrap().is_none());
    segs.faults().fail_sync.store(false, Ordering::SeqCst);
    // The catalog flush fails after the insert: the record stays, pointing at a synced entry.
    let data = b"kept";
    let rec = version_record(&gw, "b", data);
    let seq = rec.seq;
    let w = begin(&gw, &rec, data).await;
    gw.catalog.faults().fail_flush.store(true, Ordering::SeqCst);
    assert!(gw
        .finalize_version(rec, &ASK, &WriteHeaders::default(), w, Commit::Insert)
        .await
        .is_err());
    gw.catalog.faults().fail_flush.store(false, Ordering::SeqCst);
    gw.catalog.durable().await.unwrap();
    let Some(VersionEntry::Ok(stored)) = gw.catalog.version("b", "k", seq).unwrap() else {
        panic!("the version record is missing");
    };
    let Some(crate::store::BlobRef::InSegment {
        segment, offset, len, ..
    }) = stored.blob.clone()
    else {
        panic!("not in a segment: {:?}", stored.blob);
    };
    let path = crate::store::blob::segment::path_of(dir.path(), &segment).unwrap();
    let bytes = std::fs::read(path).unwrap();
    let (o, l) = (usize::try_from(offset).unwrap(), usize::try_from(len).unwrap());
    assert_eq!(&bytes[o..o + l], b"kept");
    // Not the segment the failed sync abandoned; that one holds only an entry that never became a
    // version. A reclaim pass leaves both: the active one holds the record, and the abandoned one was
    // never proven empty by a removal (its space is reported by scrub, never reclaimed blindly).
    let all = crate::store::blob::segment::list(dir.path()).unwrap();
    assert_eq!(all.len(), 2, "a failed sync abandons its segment: {all:?}");
    assert!(all.contains(&segment));
    gw.reclaim_segments(&all);
    assert_eq!(crate::store::blob::segment::list(dir.path()).unwrap(), all);
}
