//! Object handlers: `PutObject`, GetObject/HeadObject, `DeleteObject`, `DeleteObjects`.

use super::body::require_length;
use super::capacity::ingest_metered;
use super::util::quoted;
use super::version::Commit;
use super::{Ctx, Done, Gateway, Outcome};
use crate::auth::body::VerifiedBody;
use crate::checksum::{Verify, VerifyHasher};
use crate::lock::{self, VersionAsk, VersionRemoval};
use crate::s3::conditions::{precondition_failed, Verdict};
use crate::s3::docs::DeleteRequest;
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::{delete_permission, Conditions, ObjectAttributes, RangeSpec, ReadObject, VersionSel, WriteHeaders};
use crate::s3::respond::Reply;
use crate::s3::xml::{
    self, ChecksumOut, DeleteEntryOut, DeleteErrorOut, DeleteResult, DeletedOut, GetObjectAttributesResponse,
    ObjectPartOut, ObjectPartsOut,
};
use crate::store::blob::ReadFrom;
use crate::store::{BlobRef, VersionRecord};
use crate::timefmt::{format_iso, http_date};
use bytes::Bytes;
use futures_util::StreamExt;
use http::StatusCode;

/// Largest single PUT (AWS: 5 GiB).
pub const MAX_PUT: u64 = 5 * 1024 * 1024 * 1024;

/// Outcome of deleting one key/version (shared by `DeleteObject` and `DeleteObjects`).
pub(super) struct DeleteOutcome {
    pub version_id: Option<String>,
    pub delete_marker: bool,
    /// What changed in the catalog (none when the version did not exist).
    pub change: Option<crate::audit::Change>,
    /// Blob ids of the removed version the upstream's own lock still refused to delete.
    pub left_upstream: Vec<String>,
}

impl Gateway {
    pub(super) async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        write: &WriteHeaders,
        parts: &http::request::Parts,
        body: &mut VerifiedBody,
        ctx: &Ctx,
    ) -> S3Result<Done> {
        let bucket_rec = self.require_bucket(bucket)?;
        require_length(parts)?;
        let expected = body.expected()?;
        if expected.decoded_length.is_some_and(|n| n > MAX_PUT) {
            return Err(S3Error::new(
                S3Code::EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size of 5 GiB",
            ));
        }
        let ask = VersionAsk {
            headers: write.lock,
            bucket_default: bucket_rec.default_retention,
            has_client_digest: expected.has_client_digest(),
        };
        // Decide before a single body byte is read (Expect: 100-continue is answered only after this).
        let first = lock::decide_new_version(&ask, &self.policy, self.clock.now())?;
        if write.if_none_match_star || write.if_match.is_some() {
            self.check_write_conditions(bucket, key, write)?;
        }
        // Room on the volume and in the bucket's quota, before a body byte is read.
        let mut room = self.admit_write(bucket, expected.decoded_length, 1)?;
        let id = self.new_id(bucket, key, ctx)?;
        let version_id = id.version_id.clone();
        let hints = crate::store::blob::BlobHints::new_version(expected.decoded_length, &first);
        let writer = self.blobs.begin(&version_id, hints).await?;
        let (computed, writer) = ingest_metered(body, writer, &mut room, MAX_PUT, None).await?;
        let tags = write.tagging.clone().unwrap_or_default().into_iter().collect();
        let rec = VersionRecord::single_blob(id, &computed, write.content.clone(), tags);
        let rec = self.finalize_version(rec, &ask, write, writer, Commit::Insert).await?;
        drop(room);
        let outcome = Outcome {
            bytes_in: computed.len,
            ..Outcome::new_version(&rec)
        };
        let mut reply = Reply::empty(StatusCode::OK)
            .header("etag", quoted(&rec.etag))
            .header("x-amz-version-id", version_id);
        if expected.algorithm().is_some() {
            if let (Some(alg), Some(v)) = (rec.checksum_algorithm, rec.checksum.clone()) {
                reply = reply
                    .header(alg.header_name(), v)
                    .header("x-amz-checksum-type", "FULL_OBJECT");
            }
        }
        Ok(Done::new(reply, outcome))
    }

    pub(super) fn get_object(&self, r: &ReadObject, head: bool) -> S3Result<Done> {
        self.require_bucket(&r.bucket)?;
        let rec = self.resolve_readable(&r.bucket, &r.key, &r.version)?;
        let mut outcome = Outcome {
            version_id: Some(rec.version_id.clone()),
            ..Default::default()
        };
        if let Some(status) = evaluate_conditions(&r.conditions, &rec)? {
            let reply = Reply::empty(status)
                .header("etag", quoted(&rec.etag))
                .header("last-modified", http_date(rec.created_ms))
                .header("x-amz-version-id", rec.version_id.clone());
            return Ok(Done::new(reply, outcome));
        }
        let size = rec.size;
        let mut status = StatusCode::OK;
        let (start, len) = match (r.range, r.part_number) {
            // Every range of a zero-byte object is unsatisfiable (RFC 9110 §14.1.1): 416, as AWS.
            (Some(range), _) => {
                let (s, e) = resolve_range(range, size).ok_or_else(|| {
                    S3Error::new(S3Code::InvalidRange, "The requested range is not satisfiable")
                        .with_header("content-range", format!("bytes */{size}"))
                })?;
                status = StatusCode::PARTIAL_CONTENT;
                (s, e - s + 1)
            }
            (_, Some(n)) => Self::part_range(&rec, n)?,
            _ => (0, size),
        };
        let mut reply = Reply::empty(status)
            .header("etag", quoted(&rec.etag))
            .header("last-modified", http_date(rec.created_ms))
            .header("accept-ranges", "bytes")
            .header("content-length", len.to_string())
            .header("x-amz-version-id", rec.version_id.clone());
        if status == StatusCode::PARTIAL_CONTENT || r.part_number.is_some() {
            if size > 0 {
                reply = reply.header("content-range", format!("bytes {}-{}/{}", start, start + len - 1, size));
            }
            if r.part_number.is_some() {
                reply.status = StatusCode::PARTIAL_CONTENT;
                reply = reply.header("x-amz-mp-parts-count", rec.parts_count.unwrap_or(1).to_string());
            }
        }
        let h = &rec.headers;
        let o = &r.overrides;
        reply = reply
            .header(
                "content-type",
                o.content_type
                    .clone()
                    .or(h.content_type.clone())
                    .unwrap_or_else(|| "binary/octet-stream".into()),
            )
            .opt_header(
                "content-encoding",
                o.content_encoding.clone().or(h.content_encoding.clone()),
            )
            .opt_header(
                "content-disposition",
                o.content_disposition.clone().or(h.content_disposition.clone()),
            )
            .opt_header(
                "content-language",
                o.content_language.clone().or(h.content_language.clone()),
            )
            .opt_header("cache-control", o.cache_control.clone().or(h.cache_control.clone()))
            .opt_header("expires", o.expires.clone().or(h.expires.clone()));
        for (k, v) in &h.user_meta {
            reply = reply.header(&format!("x-amz-meta-{k}"), crate::encoding::rfc2047_encode(v));
        }
        if let Some(ret) = rec.retention {
            reply = reply
                .header("x-amz-object-lock-mode", "COMPLIANCE")
                .header("x-amz-object-lock-retain-until-date", format_iso(ret.retain_until()));
        }
        reply = reply.header(
            "x-amz-object-lock-legal-hold",
            if rec.legal_hold { "ON" } else { "OFF" },
        );
        if !rec.tags.is_empty() {
            reply = reply.header("x-amz-tagging-count", rec.tags.len().to_string());
        }
        let whole = start == 0 && len == size;
        if r.checksum_mode && whole {
            if let (Some(alg), Some(v)) = (rec.checksum_algorithm, rec.checksum.clone()) {
                reply = reply
                    .header(alg.header_name(), v)
                    .opt_header("x-amz-checksum-type", rec.checksum_type.clone());
            }
        }
        if head {
            return Ok(Done::new(reply, outcome));
        }
        outcome.bytes_out = len;
        reply.body = self.object_body(&rec, start, len);
        Ok(Done::new(reply, outcome))
    }

    /// (offset, length) of part `n` of a version (`x-amz-mp-parts-count` semantics).
    /// `GetObjectAttributes`: the asked-for attributes of a version, never its bytes. A current delete
    /// marker is 404 with `x-amz-delete-marker`, as for GET.
    pub(super) fn get_object_attributes(
        &self,
        bucket: &str,
        key: &str,
        version: &VersionSel,
        want: ObjectAttributes,
        (max_parts, marker): (usize, u32),
    ) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let rec = self.resolve_readable(bucket, key, version)?;
        // A COMPOSITE value is answered without its `-N` part count here (the count is PartsCount).
        let whole = rec
            .checksum
            .as_deref()
            .map(|c| c.split('-').next().unwrap_or(c).to_string());
        let parts = match &rec.blob {
            Some(BlobRef::Parts { parts } | BlobRef::Multipart { parts, .. }) => Some(parts),
            _ => None,
        };
        let object_parts = parts.filter(|_| want.object_parts).map(|parts| {
            let after: Vec<(u32, &crate::store::records::PartRef)> =
                (1u32..).zip(parts.iter()).filter(|(n, _)| *n > marker).collect();
            let truncated = after.len() > max_parts;
            let page: Vec<ObjectPartOut> = after
                .iter()
                .take(max_parts)
                .map(|(n, p)| ObjectPartOut {
                    part_number: *n,
                    size: p.size,
                    checksum: ChecksumOut::new(rec.checksum_algorithm, p.checksum.clone(), None),
                })
                .collect();
            ObjectPartsOut {
                parts_count: parts.len(),
                part_number_marker: marker,
                next_part_number_marker: page.last().map(|p| p.part_number),
                max_parts,
                is_truncated: truncated,
                parts: page,
            }
        });
        let doc = GetObjectAttributesResponse {
            xmlns: xml::NS,
            etag: want.etag.then(|| rec.etag.clone()),
            checksum: (want.checksum && whole.is_some()).then(|| {
                let ty = rec.checksum_type.clone().unwrap_or_else(|| "FULL_OBJECT".into());
                ChecksumOut::new(rec.checksum_algorithm, whole, Some(ty))
            }),
            object_parts,
            storage_class: want.storage_class.then_some("STANDARD"),
            object_size: want.object_size.then_some(rec.size),
        };
        Ok(Reply::xml(xml::to_xml("GetObjectAttributesResponse", &doc)?)
            .header("last-modified", http_date(rec.created_ms))
            .header("x-amz-version-id", rec.version_id.clone()))
    }

    /// Offset and length of part `n` (1-based) of a version; a single-part version has part 1 only.
    fn part_range(rec: &VersionRecord, n: u32) -> S3Result<(u64, u64)> {
        let unsatisfiable = || S3Error::new(S3Code::InvalidPartNumber, "The requested partnumber is not satisfiable");
        match &rec.blob {
            Some(BlobRef::Parts { parts } | BlobRef::Multipart { parts, .. }) => {
                let idx = usize::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .ok_or_else(unsatisfiable)?;
                let part = parts.get(idx).ok_or_else(unsatisfiable)?;
                let start: u64 = parts.iter().take(idx).map(|p| p.size).sum();
                Ok((start, part.size))
            }
            _ if n == 1 => Ok((0, rec.size)),
            _ => Err(unsatisfiable()),
        }
    }

    /// Stream `len` bytes from `start` of a version. Every blob read whole is hashed on the way out
    /// and the stream aborted (error frame → connection reset, no clean end) if it does not match the
    /// recorded digest (BLAKE3, or SHA-256 for records without one: `checksum::Verify`).
    fn object_body(&self, rec: &VersionRecord, start: u64, len: u64) -> crate::s3::respond::Body {
        use http_body_util::{BodyExt, StreamBody};
        let stream = self.object_stream(rec, start, len);
        BodyExt::boxed_unsync(StreamBody::new(stream.map(|r| r.map(hyper::body::Frame::data))))
    }

    /// The bytes of a version as a stream (see `object_body`).
    pub(super) fn object_stream(
        &self,
        rec: &VersionRecord,
        start: u64,
        len: u64,
    ) -> futures_util::stream::BoxStream<'static, std::io::Result<Bytes>> {
        // (where, offset, length, digest to verify when the whole blob is read)
        let segments: Vec<(ReadFrom, u64, u64, Option<Verify>)> = match &rec.blob {
            None => Vec::new(),
            Some(b @ (BlobRef::Single { .. } | BlobRef::InSegment { .. })) => {
                let whole = start == 0 && len == rec.size;
                let verify = whole.then(|| Verify::of(&rec.blake3, &rec.sha256)).flatten();
                ReadFrom::of(b)
                    .map(|from| (from, start, len, verify))
                    .into_iter()
                    .collect()
            }
            // Part blobs (offsets within each part), or one object holding the parts one after
            // the other (offsets within the object). Each part read whole is verified on its own.
            Some(BlobRef::Parts { parts }) => blob_segments(part_segments(parts, None, start, len)),
            Some(BlobRef::Multipart { id, parts }) => blob_segments(part_segments(parts, Some(id), start, len)),
        };
        let blobs = self.blobs.clone();
        let label = crate::audit::alarm::Target::new(&rec.bucket, &rec.key, &rec.version_id);
        let stream = futures_util::stream::iter(segments)
            .then(move |(from, off, l, sha)| {
                let blobs = blobs.clone();
                let label = label.with_blob(from.id());
                async move {
                    match blobs.read_from(&from, off, l).await {
                        Ok(s) => verify_stream(s, l, sha, label).boxed(),
                        Err(e) => {
                            let e = std::io::Error::other(S3Error::from(e).message);
                            futures_util::stream::once(async move { Err(e) }).boxed()
                        }
                    }
                }
            })
            .flatten();
        stream.boxed()
    }

    pub(super) async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        version: &VersionSel,
        ctx: &Ctx,
    ) -> S3Result<Done> {
        self.require_bucket(bucket)?;
        let out = self.delete_one(bucket, key, version, ctx).await?;
        let mut reply = Reply::empty(StatusCode::NO_CONTENT).opt_header("x-amz-version-id", out.version_id.clone());
        if out.delete_marker {
            reply = reply.header("x-amz-delete-marker", "true");
        }
        let outcome = Outcome {
            version_id: out.version_id,
            changes: out.change.into_iter().collect(),
            ..Default::default()
        };
        Ok(Done::new(reply, outcome))
    }

    /// Delete one key (marker) or version (permanent, if `decide` allows). The decision and the change
    /// happen under the key's lock.
    pub(super) async fn delete_one(
        &self,
        bucket: &str,
        key: &str,
        version: &VersionSel,
        ctx: &Ctx,
    ) -> S3Result<DeleteOutcome> {
        let guard = self.locks.key(bucket, key).await;
        match version {
            VersionSel::Current => self.add_marker_locked(&guard, bucket, key, &ctx.owner()).await,
            VersionSel::Absent(id) => Ok(DeleteOutcome {
                left_upstream: Vec::new(),
                version_id: Some(id.clone()),
                delete_marker: false,
                change: None,
            }),
            VersionSel::Id { id, seq } => self.remove_version_locked(&guard, bucket, key, id, *seq).await,
        }
    }

    /// Put a delete marker on `key` (owned by `owner`), the caller holding the key's guard. Shared by
    /// `DeleteObject` and lifecycle `Expiration`.
    pub(super) async fn add_marker_locked(
        &self,
        guard: &crate::store::locks::KeyGuard<'_>,
        bucket: &str,
        key: &str,
        owner: &str,
    ) -> S3Result<DeleteOutcome> {
        let id = self.new_id_for(bucket, key, owner)?;
        let version_id = id.version_id.clone();
        self.catalog
            .insert_delete_marker(guard, id, lock::decide_add_marker())
            .await?;
        Ok(DeleteOutcome {
            left_upstream: Vec::new(),
            change: Some(crate::audit::Change::DeleteMarkerAdded {
                key: key.to_string(),
                version_id: version_id.clone(),
            }),
            version_id: Some(version_id),
            delete_marker: true,
        })
    }

    /// Remove version `seq` (`id`) of `key` if `decide_delete_version` allows it, the caller holding
    /// the key's guard: a marker with its permit, data with the `Expired` proof (catalog record, then
    /// bytes). The one removal path of `DeleteObject` with a version id, `DeleteObjects` and lifecycle.
    pub(super) async fn remove_version_locked(
        &self,
        guard: &crate::store::locks::KeyGuard<'_>,
        bucket: &str,
        key: &str,
        id: &str,
        seq: u64,
    ) -> S3Result<DeleteOutcome> {
        let Some(entry) = self.catalog.version(bucket, key, seq)? else {
            return Ok(DeleteOutcome {
                left_upstream: Vec::new(),
                version_id: Some(id.to_string()),
                delete_marker: false,
                change: None,
            });
        };
        let removal = lock::decide_delete_version(entry.target_state(), self.clock.now())
            .map_err(|d| S3Error::from(d).about_version(id.to_string()))?;
        match removal {
            VersionRemoval::Marker(permit) => {
                self.catalog
                    .remove_delete_marker(guard, bucket, key, seq, permit)
                    .await?;
                Ok(DeleteOutcome {
                    left_upstream: Vec::new(),
                    version_id: Some(id.to_string()),
                    delete_marker: true,
                    change: Some(crate::audit::Change::DeleteMarkerRemoved {
                        key: key.to_string(),
                        version_id: id.to_string(),
                    }),
                })
            }
            VersionRemoval::Data(proof) => {
                // Catalog first, then bytes: a crash in between leaves an orphan blob, never a
                // version without data.
                let blobs = self
                    .catalog
                    .remove_expired_version(guard, bucket, key, seq, proof)
                    .await?;
                let segment = blobs.segment().map(str::to_string);
                let left_upstream = self.blobs.destroy(blobs).await?;
                if let Some(seg) = segment {
                    self.reclaim_segments(&[seg]);
                }
                Ok(DeleteOutcome {
                    left_upstream,
                    version_id: Some(id.to_string()),
                    delete_marker: false,
                    change: Some(crate::audit::Change::VersionRemoved {
                        key: key.to_string(),
                        version_id: id.to_string(),
                    }),
                })
            }
        }
    }

    pub(super) async fn delete_objects(&self, bucket: &str, request: DeleteRequest, ctx: &Ctx) -> S3Result<Done> {
        self.require_bucket(bucket)?;
        let quiet = request.quiet;
        let role = ctx.principal().map(|p| p.role);
        let mut entries = Vec::new();
        let (total, mut refused) = (request.objects.len(), 0usize);
        let mut changes = Vec::new();
        for obj in request.objects {
            let (key, vid) = (obj.key, obj.version_id);
            let result = match obj.target {
                Err(e) => Err(e),
                // The same permission DeleteObject of this version needs.
                Ok(sel) if !role.is_some_and(|r| r.allows(delete_permission(&sel))) => Err(S3Error::access_denied(
                    "Access Denied: deleting a specific version needs the backup or officer role",
                )),
                Ok(_) if self.tools.sosapi.is_some() && super::sosapi::is_sosapi_path(&key) => {
                    Err(super::sosapi::refused_write(&key))
                }
                Ok(sel) => self.delete_one(bucket, &key, &sel, ctx).await,
            };
            match result {
                Ok(mut out) => {
                    changes.extend(out.change.take());
                    if !quiet {
                        entries.push(DeleteEntryOut::Deleted(DeletedOut {
                            key,
                            version_id: if out.delete_marker && vid.is_none() {
                                None
                            } else {
                                vid.clone()
                            },
                            delete_marker: out.delete_marker.then_some(true),
                            delete_marker_version_id: if out.delete_marker { out.version_id } else { None },
                        }));
                    }
                }
                Err(e) => {
                    refused += 1;
                    entries.push(DeleteEntryOut::Error(DeleteErrorOut {
                        key,
                        version_id: vid,
                        code: e.code.as_str().to_string(),
                        message: e.message,
                    }));
                }
            }
        }
        // Counted from what happened, whatever the response mode (Quiet lists only the errors).
        let outcome = Outcome {
            detail: Some(format!("{total} entries, {refused} refused")),
            changes,
            ..Default::default()
        };
        let reply = Reply::xml(xml::to_xml(
            "DeleteResult",
            &DeleteResult {
                xmlns: xml::NS,
                entries,
            },
        )?);
        Ok(Done::new(reply, outcome))
    }
}

/// Segments longer than this are hashed off the send path, batch by batch on the blocking pool
/// (`Hashing::Offloaded`); shorter ones inline (no thread hop for a small GET).
const HASH_OFFLOAD_MIN: u64 = 2 << 20;
/// Chunks are hashed off the send path in batches of at least this many bytes (small frames, an
/// upstream body's, would otherwise cost a hop each).
const HASH_BATCH: usize = 256 * 1024;

/// Where a verified stream's digest is computed.
enum Hashing {
    Inline(VerifyHasher),
    /// Each full batch (cheap `Bytes` clones of chunks being sent) is hashed by a blocking task
    /// while the stream goes on; the next batch waits for it, so at most one batch is hashed at a
    /// time, in order, and a slow client holds no thread.
    Offloaded {
        idle: Option<VerifyHasher>,
        running: Option<tokio::task::JoinHandle<VerifyHasher>>,
        batch: Vec<Bytes>,
        batched: usize,
    },
}

impl Hashing {
    fn new(expected: &Verify, len: u64) -> Hashing {
        let hasher = expected.hasher();
        if len < HASH_OFFLOAD_MIN {
            return Hashing::Inline(hasher);
        }
        Hashing::Offloaded {
            idle: Some(hasher),
            running: None,
            batch: Vec::new(),
            batched: 0,
        }
    }

    /// The hasher once the batch being hashed is done; `None` if that task failed.
    async fn settle(
        idle: &mut Option<VerifyHasher>,
        running: &mut Option<tokio::task::JoinHandle<VerifyHasher>>,
    ) -> Option<VerifyHasher> {
        match running.take() {
            Some(task) => task.await.ok(),
            None => idle.take(),
        }
    }

    /// Hash `b` (or queue it in the batch). `false` when a hashing task failed.
    async fn update(&mut self, b: &Bytes) -> bool {
        match self {
            Hashing::Inline(h) => {
                h.update(b);
                true
            }
            Hashing::Offloaded {
                idle,
                running,
                batch,
                batched,
            } => {
                batch.push(b.clone());
                *batched += b.len();
                if *batched < HASH_BATCH {
                    return true;
                }
                *batched = 0;
                let Some(mut h) = Self::settle(idle, running).await else {
                    return false;
                };
                let chunks = std::mem::take(batch);
                *running = Some(tokio::task::spawn_blocking(move || {
                    for c in &chunks {
                        h.update(c);
                    }
                    h
                }));
                true
            }
        }
    }

    /// The hex digest of everything hashed; `None` when a hashing task failed.
    async fn finish(self) -> Option<String> {
        match self {
            Hashing::Inline(h) => Some(h.finish_hex()),
            Hashing::Offloaded {
                mut idle,
                mut running,
                batch,
                ..
            } => {
                let mut h = Self::settle(&mut idle, &mut running).await?;
                // The rest is shorter than a batch: hashed here.
                for c in &batch {
                    h.update(c);
                }
                Some(h.finish_hex())
            }
        }
    }
}

/// Wrap a byte stream of `len` bytes so that, when `expected` is given, the bytes are hashed
/// (BLAKE3, or SHA-256 for records without BLAKE3; off the send path for long streams) and a mismatch ends the stream with an error instead of a clean end. The newest chunk
/// is held back until the next one arrives or the hash is verified, so a client never receives the
/// last byte (and with it a complete Content-Length body) of bytes that do not match their record.
fn verify_stream(
    inner: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    len: u64,
    expected: Option<Verify>,
    label: crate::audit::alarm::Target,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let hasher = expected.as_ref().map(|e| Hashing::new(e, len));
    let inner = Box::pin(inner);
    let held: Option<Bytes> = None;
    futures_util::stream::unfold(
        (inner, hasher, expected, label, held, false),
        |(mut inner, mut hasher, expected, label, mut held, done)| async move {
            if done {
                return None;
            }
            loop {
                match inner.next().await {
                    Some(Ok(b)) => {
                        let Some(h) = hasher.as_mut() else {
                            return Some((Ok(b), (inner, hasher, expected, label, None, false)));
                        };
                        if !h.update(&b).await {
                            let e = std::io::Error::other(format!("integrity check of {label} could not run"));
                            return Some((Err(e), (inner, None, None, label, None, true)));
                        }
                        if let Some(prev) = held.replace(b) {
                            return Some((Ok(prev), (inner, hasher, expected, label, held, false)));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), (inner, hasher, expected, label, None, true))),
                    None => {
                        if let (Some(h), Some(exp)) = (hasher.take(), expected.as_ref()) {
                            let Some(got) = h.finish().await else {
                                let e = std::io::Error::other(format!("integrity check of {label} could not run"));
                                return Some((Err(e), (inner, None, None, label, None, true)));
                            };
                            if got != exp.hex() {
                                crate::audit::alarm::integrity_mismatch(&label, exp.name(), exp.hex(), &got);
                                tracing::error!(object = %label, digest = exp.name(), "integrity alarm: stored bytes do not match the recorded digest; response aborted");
                                let e = std::io::Error::other(format!("integrity check failed for {label}"));
                                return Some((Err(e), (inner, None, None, label, None, true)));
                            }
                        }
                        return held.take().map(|b| (Ok(b), (inner, None, expected, label, None, true)));
                    }
                }
            }
        },
    )
}

/// RFC 7232 evaluation: `Some(status)` when the request must be answered without the body.
fn evaluate_conditions(c: &Conditions, rec: &VersionRecord) -> S3Result<Option<StatusCode>> {
    match c.evaluate(&rec.etag, rec.created_ms) {
        Verdict::Proceed => Ok(None),
        Verdict::NotModified => Ok(Some(StatusCode::NOT_MODIFIED)),
        Verdict::PreconditionFailed => Err(precondition_failed()),
    }
}

/// Inclusive (start, end) of a range within `size`; `None` if unsatisfiable.
pub(super) fn resolve_range(r: RangeSpec, size: u64) -> Option<(u64, u64)> {
    if size == 0 {
        return None;
    }
    match r {
        RangeSpec::FromTo(s, e) => {
            if s >= size {
                return None;
            }
            Some((s, e.map_or(size - 1, |e| e.min(size - 1))))
        }
        RangeSpec::Suffix(n) => {
            if n == 0 {
                return None;
            }
            Some((size.saturating_sub(n), size - 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collect a verified stream: the chunks that arrived, and whether it ended with an error.
    async fn drain(chunks: Vec<&'static [u8]>, expected: Option<Verify>) -> (Vec<u8>, bool) {
        drain_as(chunks.iter().map(|c| c.len() as u64).sum(), chunks, expected).await
    }

    /// `drain`, announcing the stream as `len` bytes long (≥ `HASH_OFFLOAD_MIN`: hashed on a thread).
    async fn drain_as(len: u64, chunks: Vec<&'static [u8]>, expected: Option<Verify>) -> (Vec<u8>, bool) {
        let inner = futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c))));
        let label = crate::audit::alarm::Target::new("b", "k", "v");
        let mut s = Box::pin(verify_stream(inner, len, expected, label));
        let mut got = Vec::new();
        while let Some(item) = s.next().await {
            if let Ok(b) = item {
                got.extend_from_slice(&b);
            } else {
                assert!(s.next().await.is_none(), "nothing follows the error");
                return (got, true);
            }
        }
        (got, false)
    }

    fn digests(data: &[u8]) -> (String, String) {
        let mut d = crate::checksum::IngestDigests::new(None);
        d.update(data);
        let c = d.finish();
        (hex::encode(c.blake3), hex::encode(c.sha256))
    }

    #[tokio::test]
    async fn verified_stream_passes_intact_bytes_with_either_digest() {
        let (b3, sha) = digests(b"hello world");
        let chunks = vec![&b"hello"[..], b" ", b"world"];
        // A new record (BLAKE3 present: verified with it) and an old one (SHA-256 only).
        for rec in [(b3.as_str(), sha.as_str()), ("", sha.as_str())] {
            let v = Verify::of(rec.0, rec.1);
            assert_eq!(drain(chunks.clone(), v).await, (b"hello world".to_vec(), false));
        }
        // Not read whole: no digest, passed through.
        assert_eq!(drain(chunks.clone(), None).await, (b"hello world".to_vec(), false));
        // A long stream is hashed off the send path: same verdicts, whether the bytes fill batches
        // (a batch of 256 KiB and a rest) or not.
        let big: &'static [u8] = Box::leak(vec![7u8; HASH_BATCH + 10].into_boxed_slice());
        let (b3, _) = digests(&[big, big].concat());
        let ok = drain_as(HASH_OFFLOAD_MIN, vec![big, big], Some(Verify::Blake3(b3.clone()))).await;
        assert_eq!((ok.0.len(), ok.1), (2 * big.len(), false));
        let (got, failed) = drain_as(
            HASH_OFFLOAD_MIN,
            vec![big, &big[1..], &b"x"[..]],
            Some(Verify::Blake3(b3)),
        )
        .await;
        assert!(
            failed && got.len() < 2 * big.len(),
            "a corrupted batch must fail the body"
        );
        let (b3, sha) = digests(b"hello world");
        for v in [Verify::Blake3(b3), Verify::Sha256(sha)] {
            let ok = drain_as(HASH_OFFLOAD_MIN, chunks.clone(), Some(v.clone())).await;
            assert_eq!(ok, (b"hello world".to_vec(), false));
            let (got, failed) = drain_as(HASH_OFFLOAD_MIN, vec![&b"hello"[..], b" ", b"worle"], Some(v)).await;
            assert!(
                failed && got.len() < 11,
                "corrupted bytes hashed off the send path must not end cleanly"
            );
        }
    }

    #[tokio::test]
    async fn corrupted_bytes_never_end_cleanly_with_either_digest() {
        let (b3, sha) = digests(b"hello world");
        for v in [Verify::Blake3(b3), Verify::Sha256(sha)] {
            // One byte differs (same length): the last chunk is withheld and the body fails.
            let (got, failed) = drain(vec![&b"hello"[..], b" ", b"worle"], Some(v.clone())).await;
            assert!(failed, "{} mismatch must fail the body", v.name());
            assert!(got.len() < 11, "the body must stop short of its full length");
            let (got, failed) = drain(vec![&b"hello worle"[..]], Some(v.clone())).await;
            assert!(failed && got.is_empty(), "a single corrupted chunk is never delivered");
        }
        // An old record's SHA-256 is not mistaken for a BLAKE3 (and vice versa).
        let (b3, sha) = digests(b"hello world");
        assert!(drain(vec![&b"hello world"[..]], Some(Verify::Blake3(sha))).await.1);
        assert!(drain(vec![&b"hello world"[..]], Some(Verify::Sha256(b3))).await.1);
    }

    #[test]
    fn no_range_of_an_empty_object_is_satisfiable() {
        for r in [
            RangeSpec::FromTo(0, None),
            RangeSpec::FromTo(0, Some(0)),
            RangeSpec::FromTo(0, Some(10)),
            RangeSpec::FromTo(5, None),
            RangeSpec::Suffix(1),
            RangeSpec::Suffix(0),
        ] {
            assert_eq!(resolve_range(r, 0), None, "{r:?}");
        }
    }

    #[test]
    fn ranges_resolve() {
        assert_eq!(resolve_range(RangeSpec::FromTo(0, Some(9)), 100), Some((0, 9)));
        assert_eq!(resolve_range(RangeSpec::FromTo(90, Some(200)), 100), Some((90, 99)));
        assert_eq!(resolve_range(RangeSpec::FromTo(100, None), 100), None);
        assert_eq!(resolve_range(RangeSpec::Suffix(10), 100), Some((90, 99)));
        assert_eq!(resolve_range(RangeSpec::Suffix(1000), 100), Some((0, 99)));
        assert_eq!(resolve_range(RangeSpec::Suffix(0), 100), None);
    }
}

/// Ranges of blobs under their ids (see `part_segments`) as `object_stream` reads them.
fn blob_segments(v: Vec<(String, u64, u64, Option<Verify>)>) -> Vec<(ReadFrom, u64, u64, Option<Verify>)> {
    v.into_iter()
        .map(|(id, o, l, s)| (ReadFrom::Blob(id), o, l, s))
        .collect()
}

/// (blob id, offset, length, digest to verify when the part is read whole) of the parts of a
/// multipart version that overlap `len` bytes from `start`: each part in its own blob (`object`
/// `None`), or all parts one after the other in blob `object`.
fn part_segments(
    parts: &[crate::store::PartRef],
    object: Option<&String>,
    start: u64,
    len: u64,
) -> Vec<(String, u64, u64, Option<Verify>)> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    let end = start + len;
    for p in parts {
        let (ps, pe) = (pos, pos + p.size);
        if pe > start && ps < end {
            let s = start.max(ps) - ps;
            let e = end.min(pe) - ps;
            let whole = s == 0 && e == p.size;
            let sha = whole.then(|| Verify::of(&p.blake3, &p.sha256)).flatten();
            match object {
                None => out.push((p.id.clone(), s, e - s, sha)),
                Some(id) => out.push((id.clone(), ps + s, e - s, sha)),
            }
        }
        pos = pe;
    }
    out
}

#[cfg(test)]
mod part_segment_tests {
    use super::part_segments;
    use crate::checksum::Verify;
    use crate::store::PartRef;

    fn part(id: &str, size: u64) -> PartRef {
        PartRef {
            id: id.into(),
            size,
            etag: String::new(),
            checksum: None,
            sha256: format!("sha-{id}"),
            blake3: String::new(),
        }
    }

    #[test]
    fn one_object_is_read_at_object_offsets_and_whole_parts_are_verified() {
        let parts = [part("a", 10), part("b", 5), part("c", 7)];
        let obj = "u".to_string();
        assert_eq!(
            part_segments(&parts, Some(&obj), 8, 9),
            vec![
                ("u".into(), 8, 2, None),
                ("u".into(), 10, 5, Some(Verify::Sha256("sha-b".into()))),
                ("u".into(), 15, 2, None)
            ]
        );
        assert_eq!(
            part_segments(&parts, None, 8, 9),
            vec![
                ("a".into(), 8, 2, None),
                ("b".into(), 0, 5, Some(Verify::Sha256("sha-b".into()))),
                ("c".into(), 0, 2, None)
            ]
        );
        assert_eq!(part_segments(&parts, Some(&obj), 0, 22).len(), 3);
    }
}
