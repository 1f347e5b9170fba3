//! Record segments: the version records of an upstream gateway, grouped. Each version's record (the
//! analogue of the disk sidecar, what `wormgate recover` rebuilds a catalog from) used to be one
//! upstream object `<prefix>/<id>.meta`, a second upstream PUT per version. Records of versions
//! committed at about the same time now go into ONE never-overwritten object
//! `<prefix>/records/<version id of its first record>-<random>` (a version id is in exactly one
//! segment, and the random part separates two gateways that should never both be active: the name is
//! never reused; the PUT carries `If-None-Match: *`).
//!
//! Group commit (`RecordBatcher`): a commit hands its record to the batcher and waits for the
//! segment holding it to be acknowledged by the upstream. One segment PUT is in flight at a time;
//! while it is, the next records gather (at most `MAX_RECORDS` / `MAX_BYTES` per segment). No timer:
//! a lone writer's record goes out at once. A failed segment PUT (after the client's retries) fails
//! every commit of its batch.
//!
//! Format (`encode_segment` / `parse_segment`): the line `wormgate-records 1\n`, then per record
//! `u32 BE length | u32 BE CRC32C of the payload | payload` where the payload is the encoded record
//! (`records::encode`: schema byte, CRC32C, JSON). A reader checks every frame; a bad frame ends
//! the walk (the rest of the object is reported, never guessed at).

use super::client::UpstreamError;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// First bytes of every record segment.
pub const MAGIC: &[u8] = b"wormgate-records 1\n";
/// The folder of record segments under the prefix (`<prefix>/records/<id>`).
pub const DIR: &str = "records/";
/// Most records in one segment.
pub const MAX_RECORDS: usize = 256;
/// Most payload bytes in one segment (a record that alone is larger still goes, alone).
pub const MAX_BYTES: usize = 1 << 20;

/// Whether a listed name (the key without the prefix) is a record segment.
pub fn is_segment(name: &str) -> bool {
    name.starts_with(DIR)
}

/// Encode records (each already `records::encode`d) as one segment body.
pub fn encode_segment<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    for r in records {
        let len = u32::try_from(r.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&crc32c::crc32c(r).to_be_bytes());
        out.extend_from_slice(r);
    }
    out
}

/// What a segment holds: its records in order, and where (byte offset) it stopped making sense, if
/// it did (wrong header, a truncated or corrupt frame).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub records: Vec<Vec<u8>>,
    pub bad_at: Option<usize>,
}

/// Walk a segment body, checking each frame's CRC.
pub fn parse_segment(body: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    let Some(mut rest) = body.strip_prefix(MAGIC) else {
        p.bad_at = Some(0);
        return p;
    };
    while !rest.is_empty() {
        let at = body.len() - rest.len();
        let frame = rest.split_first_chunk::<4>().and_then(|(len, r)| {
            let (crc, r) = r.split_first_chunk::<4>()?;
            let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
            let payload = r.get(..len)?;
            (crc32c::crc32c(payload) == u32::from_be_bytes(*crc)).then(|| (payload, r.get(len..).unwrap_or_default()))
        });
        let Some((payload, r)) = frame else {
            p.bad_at = Some(at);
            break;
        };
        p.records.push(payload.to_vec());
        rest = r;
    }
    p
}

/// One record waiting for its segment.
struct Pending {
    /// The version id (the segment is named by its first record's).
    version_id: String,
    raw: Vec<u8>,
    /// The record's retain-until (the segment is locked until the latest of its records').
    until: Option<DateTime<Utc>>,
    done: oneshot::Sender<Result<(), UpstreamError>>,
}

/// Writes one segment: (segment name under the prefix, body, retain-until of the segment).
pub type SegmentPut = Arc<
    dyn Fn(
            String,
            Vec<u8>,
            Option<DateTime<Utc>>,
        ) -> futures_util::future::BoxFuture<'static, Result<(), UpstreamError>>
        + Send
        + Sync,
>;

/// The group committer of record segments (see module doc). Cheap to share; its task ends when the
/// last handle is dropped.
pub struct RecordBatcher {
    tx: mpsc::UnboundedSender<Pending>,
}

impl RecordBatcher {
    /// Start the batcher task on the current tokio runtime; `put` writes one segment.
    pub fn start(put: SegmentPut) -> RecordBatcher {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(rx, put));
        RecordBatcher { tx }
    }

    /// Add a record and wait until the segment holding it is acknowledged by the upstream.
    pub async fn commit(
        &self,
        version_id: &str,
        raw: Vec<u8>,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), UpstreamError> {
        let (done, wait) = oneshot::channel();
        let p = Pending {
            version_id: version_id.to_string(),
            raw,
            until,
            done,
        };
        if self.tx.send(p).is_err() {
            return Err(UpstreamError::Other("the record batcher has stopped".into()));
        }
        wait.await
            .unwrap_or_else(|_| Err(UpstreamError::Other("the record batcher dropped a record".into())))
    }
}

/// `records/<version id>-<16 random hex digits>`: the version id alone is unique among one
/// gateway's segments, the random part keeps it unique even between two gateways that (fencing
/// failed) hand out the same version ids — so a 412 to a segment PUT can only mean that an earlier
/// attempt of this very PUT landed.
fn segment_name(first_version: &str) -> String {
    let mut r = [0u8; 8];
    if getrandom::getrandom(&mut r).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        r = u64::try_from(nanos % u128::from(u64::MAX)).unwrap_or(0).to_be_bytes();
    }
    format!("{DIR}{first_version}-{}", hex::encode(r))
}

async fn run(mut rx: mpsc::UnboundedReceiver<Pending>, put: SegmentPut) {
    let mut carry: Option<Pending> = None;
    loop {
        let first = match carry.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        let mut bytes = first.raw.len();
        let mut batch = vec![first];
        // Whatever arrived while the previous segment was in flight joins this one.
        while batch.len() < MAX_RECORDS {
            match rx.try_recv() {
                Ok(p) if bytes + p.raw.len() > MAX_BYTES => {
                    carry = Some(p);
                    break;
                }
                Ok(p) => {
                    bytes += p.raw.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        let body = encode_segment(batch.iter().map(|p| p.raw.as_slice()));
        let until = batch.iter().filter_map(|p| p.until).max();
        let name = segment_name(batch.first().map_or("", |p| p.version_id.as_str()));
        let res = put(name, body, until).await;
        for p in batch {
            let _ = p.done.send(res.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_and_stop_at_a_bad_frame() {
        let recs: Vec<Vec<u8>> = vec![b"one".to_vec(), Vec::new(), vec![7u8; 1000]];
        let body = encode_segment(recs.iter().map(Vec::as_slice));
        assert_eq!(
            parse_segment(&body),
            Parsed {
                records: recs.clone(),
                bad_at: None
            }
        );
        // A flipped payload byte in the second-to-last record: the walk stops there.
        let mut bad = body.clone();
        let at = MAGIC.len() + 8 + 3 + 8;
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let p = parse_segment(&bad);
        assert_eq!(p.records, recs[..2].to_vec());
        assert_eq!(p.bad_at, Some(at));
        // Truncated: the same.
        let p = parse_segment(&body[..body.len() - 1]);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.bad_at, Some(at));
        // Not a segment.
        assert_eq!(parse_segment(b"xx").bad_at, Some(0));
        assert_eq!(parse_segment(MAGIC), Parsed::default());
    }

    type Seen = Arc<std::sync::Mutex<Vec<(String, usize, Option<DateTime<Utc>>)>>>;

    #[tokio::test]
    async fn records_gather_while_a_segment_is_in_flight_and_share_its_fate() {
        let seen: Seen = Arc::default();
        let (gate_tx, gate_rx) = tokio::sync::watch::channel(false);
        let s = seen.clone();
        let put: SegmentPut = Arc::new(move |name, body, until| {
            let s = s.clone();
            let mut gate = gate_rx.clone();
            Box::pin(async move {
                let n = parse_segment(&body).records.len();
                s.lock().unwrap().push((name.clone(), n, until));
                // The first segment is held until the test opens the gate.
                if name.starts_with("records/a-") {
                    let _ = gate.wait_for(|open| *open).await;
                }
                if name.starts_with("records/c-") {
                    return Err(UpstreamError::Other("refused".into()));
                }
                Ok(())
            })
        });
        let b = Arc::new(RecordBatcher::start(put));
        let t = |s: i64| DateTime::<Utc>::from_timestamp(s, 0);
        // A lone writer goes at once (the batcher does not wait for company).
        let first = tokio::spawn({
            let b = b.clone();
            async move { b.commit("a", b"A".to_vec(), t(5)).await }
        });
        while seen.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        // While "a" is in flight, b, c and d gather into one segment named by its first record.
        let mut rest = Vec::new();
        for (id, until) in [("c", t(9)), ("b", t(3)), ("d", None)] {
            let b = b.clone();
            rest.push(tokio::spawn(async move {
                b.commit(id, id.as_bytes().to_vec(), until).await
            }));
            tokio::task::yield_now().await;
        }
        gate_tx.send(true).unwrap();
        assert!(first.await.unwrap().is_ok());
        for r in rest {
            assert!(r.await.unwrap().is_err(), "a failed segment fails every commit in it");
        }
        let seen: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(name, n, until)| (name.get(..10).unwrap_or_default().to_string(), name.len(), *n, *until))
            .collect();
        // Named by the first record's version id plus 16 random hex digits.
        assert_eq!(
            seen,
            vec![("records/a-".into(), 26, 1, t(5)), ("records/c-".into(), 26, 3, t(9))]
        );
    }
}
