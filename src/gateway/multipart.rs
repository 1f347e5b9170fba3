//! Multipart uploads. On disk, parts are blobs of their own; completion writes no object bytes
//! again — the version is a manifest of its part blobs. Upstream, the upload is an upstream multipart
//! upload of the same parts, and completion completes it into one upstream object
//! (`BlobRef::Multipart`). Either way the version is committed atomically with the removal of the
//! upload, and a completion refused by the gateway sends nothing to the backend.

use super::body::require_length;
use super::bucket::owner;
use super::capacity::ingest_metered;
use super::util::quoted;
use super::version::Commit;
use super::{Ctx, Done, Gateway, Outcome};
use crate::auth::body::VerifiedBody;
use crate::checksum::{b64, b64_decode, ChecksumAlgorithm};
use crate::lock::{self, LockHeaders, RequestedMode, VersionAsk};
use crate::s3::docs::CompletePart;
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::{CopyParams, ListParams, WriteConditions, WriteHeaders};
use crate::s3::respond::Reply;
use crate::s3::xml::{
    self, ChecksumOut, CommonPrefixOut, CompleteMultipartUploadResult, InitiateMultipartUploadResult,
    ListMultipartUploadsResult, ListPartsResult, PartOut, UploadOut, NS,
};
use crate::store::blob::BlobHints;
use crate::store::capacity::{Reservation, Usage};
use crate::store::records::{PartRecord, UploadRecord};
use crate::store::{BlobRef, VersionRecord};
use crate::timefmt::iso_ms;
use http::StatusCode;
use md5::Digest as _;

/// Largest part (AWS: 5 GiB) and smallest non-last part (AWS: 5 MiB).
pub const MAX_PART: u64 = 5 * 1024 * 1024 * 1024;
pub const MIN_PART: u64 = 5 * 1024 * 1024;

fn no_such_upload() -> S3Error {
    S3Error::new(
        S3Code::NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

fn lock_headers_of(u: &UploadRecord) -> LockHeaders {
    LockHeaders {
        mode: u.lock_mode_compliance.map(|c| {
            if c {
                RequestedMode::Compliance
            } else {
                RequestedMode::Governance
            }
        }),
        retain_until: u.lock_retain_until_ms.map(crate::timefmt::from_ms),
        legal_hold: u.lock_legal_hold,
    }
}

/// CRC algorithm for `crc_fast::checksum_combine`.
fn crc_kind(alg: ChecksumAlgorithm) -> Option<crc_fast::CrcAlgorithm> {
    match alg {
        ChecksumAlgorithm::Crc32 => Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
        ChecksumAlgorithm::Crc32c => Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
        ChecksumAlgorithm::Crc64Nvme => Some(crc_fast::CrcAlgorithm::Crc64Nvme),
        _ => None,
    }
}

fn raw_to_u64(raw: &[u8]) -> u64 {
    raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// Whole-object checksum of a completed upload, from the part checksums alone.
fn combine_checksums(alg: ChecksumAlgorithm, ty: &str, parts: &[PartRecord]) -> Option<String> {
    let raws: Option<Vec<(Vec<u8>, u64)>> = parts
        .iter()
        .map(|p| p.checksum.as_deref().and_then(b64_decode).map(|r| (r, p.size)))
        .collect();
    let raws = raws?;
    if ty == "FULL_OBJECT" {
        let kind = crc_kind(alg)?;
        let mut acc: Option<u64> = None;
        for (raw, size) in &raws {
            let c = raw_to_u64(raw);
            acc = Some(match acc {
                None => c,
                Some(a) => crc_fast::checksum_combine(kind, a, c, *size),
            });
        }
        let v = acc.unwrap_or(0);
        let bytes = v.to_be_bytes();
        Some(b64(bytes
            .get(8_usize.saturating_sub(alg.digest_len())..)
            .unwrap_or_default()))
    } else {
        let mut h = crate::checksum::Hasher::new(alg);
        for (raw, _) in &raws {
            h.update(raw);
        }
        Some(format!("{}-{}", b64(&h.finish()), parts.len()))
    }
}

impl Gateway {
    pub(super) async fn create_multipart(
        &self,
        bucket: &str,
        key: &str,
        write: &WriteHeaders,
        alg: Option<ChecksumAlgorithm>,
        ty: Option<String>,
        ctx: &Ctx,
    ) -> S3Result<Done> {
        let b = self.require_bucket(bucket)?;
        super::limits::check_open_uploads(self, bucket)?;
        // Refuse bad lock headers now rather than after gigabytes of parts.
        let ask = VersionAsk {
            headers: write.lock,
            bucket_default: b.default_retention,
            has_client_digest: true,
        };
        let permit = lock::decide_new_version(&ask, &self.policy, self.clock.now())?;
        let ty = match (alg, ty) {
            (Some(a), Some(t)) if t == "FULL_OBJECT" && crc_kind(a).is_none() => {
                return Err(S3Error::invalid_request(format!(
                    "The FULL_OBJECT checksum type is not supported for {}; use COMPOSITE",
                    a.as_str()
                )))
            }
            (Some(a), None) => Some(
                if a == ChecksumAlgorithm::Crc64Nvme {
                    "FULL_OBJECT"
                } else {
                    "COMPOSITE"
                }
                .to_string(),
            ),
            (None, Some(_)) => {
                return Err(S3Error::invalid_request(
                    "x-amz-checksum-type requires x-amz-checksum-algorithm",
                ))
            }
            (_, t) => t,
        };
        let id = self.new_id(bucket, key, ctx)?;
        let upload_id = id.version_id.clone();
        // The backend's own multipart upload (upstream: locked with the first decision's date).
        let backend_upload_id = self
            .blobs
            .begin_multipart(&upload_id, BlobHints::new_version(None, &permit))
            .await?;
        let rec = UploadRecord {
            bucket: id.bucket,
            key: id.key,
            upload_id: upload_id.clone(),
            initiated_ms: id.created_ms,
            owner: id.owner,
            headers: write.content.clone(),
            lock_retain_until_ms: write.lock.retain_until.map(|d| d.timestamp_millis()),
            lock_mode_compliance: write.lock.mode.map(|m| m == RequestedMode::Compliance),
            lock_legal_hold: write.lock.legal_hold,
            checksum_algorithm: alg,
            checksum_type: ty.clone(),
            tags: write.tagging.clone().unwrap_or_default().into_iter().collect(),
            backend_upload_id,
        };
        if let Err(e) = self.catalog.put_upload(&rec).await {
            let _ = self.blobs.abort_multipart(&rec).await;
            return Err(e.into());
        }
        let outcome = Outcome {
            detail: Some(format!("upload {upload_id}")),
            ..Default::default()
        };
        let doc = InitiateMultipartUploadResult {
            xmlns: NS,
            bucket: bucket.into(),
            key: key.into(),
            upload_id,
        };
        let mut reply = Reply::xml(xml::to_xml("InitiateMultipartUploadResult", &doc)?);
        if let Some(a) = alg {
            reply = reply
                .header("x-amz-checksum-algorithm", a.as_str())
                .opt_header("x-amz-checksum-type", ty);
        }
        Ok(Done::new(reply, outcome))
    }

    fn require_upload(&self, bucket: &str, key: &str, upload_id: &str) -> S3Result<UploadRecord> {
        self.require_bucket(bucket)?;
        self.catalog.upload(bucket, key, upload_id)?.ok_or_else(no_such_upload)
    }

    /// Record a part; a replaced part's blob is discarded (it never was a version).
    async fn record_part(&self, u: &UploadRecord, part: PartRecord) -> S3Result<()> {
        let guard = self.locks.key(&u.bucket, &u.key).await;
        if self.catalog.upload(&u.bucket, &u.key, &u.upload_id)?.is_none() {
            self.discard_unreferenced(&guard, &u.bucket, &u.key, own_part_blobs(std::slice::from_ref(&part)))
                .await;
            return Err(no_such_upload());
        }
        if let Some(old) = self
            .catalog
            .put_part(&guard, &u.bucket, &u.key, &u.upload_id, &part)
            .await?
        {
            self.discard_unreferenced(&guard, &u.bucket, &u.key, own_part_blobs(std::slice::from_ref(&old)))
                .await;
        }
        Ok(())
    }

    fn part_blob_id(&self, upload_id: &str, part: u32) -> S3Result<String> {
        Ok(format!("{upload_id}-p{part:05}-{:x}", self.catalog.next_seq()?))
    }

    pub(super) async fn upload_part(
        &self,
        (bucket, key, upload_id): (&str, &str, &str),
        part_number: u32,
        parts: &http::request::Parts,
        body: &mut VerifiedBody,
    ) -> S3Result<Done> {
        let u = self.require_upload(bucket, key, upload_id)?;
        require_length(parts)?;
        let expected = body.expected()?;
        if expected.decoded_length.is_some_and(|n| n > MAX_PART) {
            // From the head alone, before a byte of the body is asked for.
            return Err(S3Error::new(S3Code::EntityTooLarge, "A part may be at most 5 GiB"));
        }
        if self.policy.require_client_digest && !expected.has_client_digest() {
            return Err(S3Error::invalid_request(
                "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters",
            ));
        }
        let mut room = self.admit_part(&u, part_number, expected.decoded_length)?;
        let blob_id = self.part_blob_id(upload_id, part_number)?;
        let writer = self
            .blobs
            .begin_part(&u, part_number, &blob_id, BlobHints::len(expected.decoded_length))
            .await?;
        let (computed, writer) = ingest_metered(body, writer, &mut room, MAX_PART, u.checksum_algorithm).await?;
        let upstream_etag = writer.commit_part().await?;
        let outcome = Outcome {
            bytes_in: computed.len,
            sha256: Some(hex::encode(computed.sha256)),
            ..Default::default()
        };
        let mut part = PartRecord::stored(
            part_number,
            blob_id,
            &computed,
            self.clock.now().at().timestamp_millis(),
        );
        part.upstream_etag = upstream_etag;
        let mut reply = Reply::empty(StatusCode::OK).header("etag", quoted(&part.etag));
        if expected.algorithm().is_some() || u.checksum_algorithm.is_some() {
            if let (Some(a), Some(v)) = (part.checksum_algorithm, part.checksum.clone()) {
                reply = reply.header(a.header_name(), v);
            }
        }
        self.record_part(&u, part).await?;
        drop(room);
        Ok(Done::new(reply, outcome))
    }

    /// Admit a part of `len` bytes: the reserve, and the bucket's quota counting the upload's other
    /// parts (they become bytes of one new version on completion) and that version itself.
    fn admit_part(&self, u: &UploadRecord, part_number: u32, len: Option<u64>) -> S3Result<Reservation> {
        self.check_reserve(len.unwrap_or(0))?;
        let others: u64 = if self.catalog.capacity().quota(&u.bucket).is_some() {
            self.catalog
                .parts_of(&u.bucket, &u.key, &u.upload_id)?
                .iter()
                .filter(|p| p.part_number != part_number)
                .map(|p| p.size)
                .sum()
        } else {
            0
        };
        let mut room = self.catalog.capacity().reserve(
            &u.bucket,
            Usage {
                bytes: others,
                versions: 1,
            },
        )?;
        room.grow_to(others + len.unwrap_or(0))?;
        Ok(room)
    }

    pub(super) async fn upload_part_copy(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: u32,
        copy: &CopyParams,
    ) -> S3Result<Done> {
        let u = self.require_upload(bucket, key, upload_id)?;
        let src = self.copy_source_record(copy)?;
        let (start, len) = match copy.range {
            None => (0, src.size),
            Some((a, b)) => {
                if b >= src.size || a > b {
                    return Err(S3Error::new(
                        S3Code::InvalidRange,
                        format!(
                            "The x-amz-copy-source-range bytes={a}-{b} is not within the source object of size {}",
                            src.size
                        ),
                    ));
                }
                (a, b - a + 1)
            }
        };
        if len > MAX_PART {
            return Err(S3Error::new(S3Code::EntityTooLarge, "A part may be at most 5 GiB"));
        }
        let room = self.admit_part(&u, part_number, Some(len))?;
        let blob_id = self.part_blob_id(upload_id, part_number)?;
        let alg = u.checksum_algorithm.unwrap_or(ChecksumAlgorithm::Crc64Nvme);
        let (computed, upstream_etag) = match &src.blob {
            Some(b @ BlobRef::Single { id: src_blob }) if len > 0 && self.blobs.can_copy_part(&u, b) => {
                // Copied inside the backend; the source range is still read once here for the
                // part's digests (and verified against its record when read whole).
                let computed = self.digest_range(&src, start, len, alg).await?;
                let etag = self.blobs.copy_part(&u, part_number, src_blob, start, len).await?;
                (computed, Some(etag))
            }
            _ => {
                let writer = self
                    .blobs
                    .begin_part(&u, part_number, &blob_id, BlobHints::len(Some(len)))
                    .await?;
                let (computed, writer) = self.copy_into(&src, start, len, writer, alg).await?;
                (computed, writer.commit_part().await?)
            }
        };
        let outcome = Outcome {
            bytes_in: computed.len,
            detail: Some(format!(
                "copied from {}/{} version {}",
                src.bucket, src.key, src.version_id
            )),
            ..Default::default()
        };
        let mut part = PartRecord::stored(
            part_number,
            blob_id,
            &computed,
            self.clock.now().at().timestamp_millis(),
        );
        part.upstream_etag = upstream_etag;
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyPartResult xmlns=\"{NS}\"><ETag>{}</ETag><LastModified>{}</LastModified></CopyPartResult>",
            crate::s3::error::xml_escape(&quoted(&part.etag)),
            iso_ms(part.last_modified_ms)
        );
        let reply = Reply::xml(body).header("x-amz-copy-source-version-id", src.version_id.clone());
        self.record_part(&u, part).await?;
        drop(room);
        Ok(Done::new(reply, outcome))
    }

    /// A repeated completion of an upload that already completed: the same answer again (same
    /// version, no second version), as AWS replays it for SDKs that retry a lost answer. `None` when
    /// the upload never completed here or its version is gone.
    fn replay_completion(&self, bucket: &str, key: &str, upload_id: &str) -> S3Result<Option<Done>> {
        let Some(seq) = self.catalog.completed_upload(bucket, key, upload_id)? else {
            return Ok(None);
        };
        let rec = match self.catalog.version(bucket, key, seq)? {
            Some(crate::store::VersionEntry::Ok(r)) if !r.delete_marker => r,
            _ => return Ok(None),
        };
        let mut outcome = Outcome::version(&rec);
        outcome.detail = Some(format!("repeated completion of upload {upload_id}: no new version"));
        Ok(Some(Done::new(completion_reply(bucket, key, &rec)?, outcome)))
    }

    pub(super) async fn complete_multipart(
        &self,
        (bucket, key, upload_id): (&str, &str, &str),
        claim: &CompletionClaim,
        listed: &[CompletePart],
        ctx: &Ctx,
    ) -> S3Result<Done> {
        let u = match self.require_upload(bucket, key, upload_id) {
            Ok(u) => u,
            Err(e) if e.code == S3Code::NoSuchUpload => {
                return self.replay_completion(bucket, key, upload_id)?.ok_or(e);
            }
            Err(e) => return Err(e),
        };
        let stored = self.catalog.parts_of(bucket, key, upload_id)?;
        let mut chosen: Vec<PartRecord> = Vec::with_capacity(listed.len());
        let mut last = 0u32;
        let invalid_part = |n: u32| {
            S3Error::new(
                S3Code::InvalidPart,
                format!(
                    "One or more of the specified parts could not be found, or its entity tag did not match: part {n}"
                ),
            )
        };
        for p in listed {
            let n = p.part_number;
            if n <= last {
                return Err(S3Error::new(
                    S3Code::InvalidPartOrder,
                    "The list of parts was not in ascending order. Parts must be ordered by part number.",
                ));
            }
            last = n;
            let rec = stored
                .iter()
                .find(|s| s.part_number == n)
                .ok_or_else(|| invalid_part(n))?;
            if p.etag != rec.etag {
                return Err(invalid_part(n));
            }
            if p.checksums
                .iter()
                .any(|claimed| Some(claimed.as_str()) != rec.checksum.as_deref())
            {
                return Err(invalid_part(n));
            }
            chosen.push(rec.clone());
        }
        for (i, p) in chosen.iter().enumerate() {
            if i + 1 < chosen.len() && p.size < MIN_PART {
                return Err(S3Error::new(
                    S3Code::EntityTooSmall,
                    format!("Your proposed upload is smaller than the minimum allowed size: part {} is {} bytes (minimum 5 MiB except the last part)", p.part_number, p.size),
                ));
            }
        }
        super::limits::check_object_size(chosen.iter().map(|p| p.size))?;
        let n = chosen.len();
        let mut md5 = md5::Md5::new();
        let mut sha = sha2::Sha256::new();
        for p in &chosen {
            md5.update(hex::decode(&p.etag).unwrap_or_default());
            sha2::Digest::update(&mut sha, hex::decode(&p.sha256).unwrap_or_default());
        }
        let etag = format!("{}-{n}", hex::encode(md5.finalize()));
        let sha256 = format!("{}-{n}", hex::encode(sha2::Digest::finalize(sha)));
        // The algorithm of the whole object: the upload's, else the parts' common default.
        let alg = u.checksum_algorithm.or_else(|| {
            let first = chosen.first()?.checksum_algorithm?;
            chosen
                .iter()
                .all(|p| p.checksum_algorithm == Some(first))
                .then_some(first)
                .filter(|a| crc_kind(*a).is_some())
        });
        let ty = u
            .checksum_type
            .clone()
            .or_else(|| alg.map(|_| "FULL_OBJECT".to_string()));
        let checksum = match (alg, ty.as_deref()) {
            (Some(a), Some(t)) => combine_checksums(a, t, &chosen),
            _ => None,
        };
        check_claimed_checksum(claim, alg, ty.as_deref(), checksum.as_deref())?;
        let b = self.require_bucket(bucket)?;
        let ask = VersionAsk {
            headers: lock_headers_of(&u),
            bucket_default: b.default_retention,
            has_client_digest: true,
        };
        let id = self.new_id(bucket, key, ctx)?;
        let version_id = id.version_id.clone();
        let size: u64 = chosen.iter().map(|p| p.size).sum();
        if let Some(claimed) = claim.object_size.filter(|c| *c != size) {
            return Err(S3Error::invalid_request(format!(
                "The provided 'x-amz-mp-object-size' header value {claimed} does not match what was computed: {size}"
            )));
        }
        let rec = VersionRecord {
            bucket: id.bucket,
            key: id.key,
            version_id: id.version_id,
            seq: id.seq,
            created_ms: id.created_ms,
            delete_marker: false,
            size,
            etag: etag.clone(),
            sha256,
            // Each part carries its own BLAKE3 (PartRef); the whole is verified part by part.
            blake3: String::new(),
            checksum_algorithm: checksum.as_ref().and(alg),
            checksum: checksum.clone(),
            checksum_type: checksum.as_ref().and(ty.clone()),
            headers: u.headers.clone(),
            retention: None,
            legal_hold: false,
            // Set below, once the write conditions held.
            blob: None,
            owner: u.owner.clone(),
            tags: u.tags.clone(),
            parts_count: u32::try_from(n).ok(),
        };
        let write = WriteHeaders {
            if_none_match_star: claim.conditions.if_none_match_star,
            if_match: claim.conditions.if_match.clone(),
            ..Default::default()
        };
        // Checked again at commit; checked now so that a refused completion writes nothing (an
        // upstream with Object Lock would otherwise keep the locked manifest as an orphan).
        self.check_write_conditions(bucket, key, &write)?;
        // The parts' bytes are on the volume already; the new version must fit the bucket's quota.
        self.check_reserve(0)?;
        let room = self.catalog.capacity().reserve(
            bucket,
            Usage {
                bytes: size,
                versions: 1,
            },
        )?;
        // Disk: the manifest blob carries the record's second copy (for `wormgate recover`); it holds
        // no data. Upstream: the writer completes the upstream upload (at commit, after the lock
        // decision) and writes the record next to the one object.
        let (blob, writer) = self.blobs.complete_multipart(&u, &chosen, &version_id).await?;
        let mut rec = rec;
        rec.blob = Some(blob);
        let rec = self
            .finalize_version(rec, &ask, &write, writer, Commit::CompleteUpload(upload_id))
            .await?;
        drop(room);
        // Parts uploaded but not named in the completion were never part of a version.
        let unused: Vec<PartRecord> = stored
            .iter()
            .filter(|s| !chosen.iter().any(|c| c.blob_id == s.blob_id))
            .cloned()
            .collect();
        if !unused.is_empty() {
            let guard = self.locks.key(bucket, key).await;
            self.discard_unreferenced(&guard, bucket, key, own_part_blobs(&unused))
                .await;
        }
        Ok(Done::new(
            completion_reply(bucket, key, &rec)?,
            Outcome::new_version(&rec),
        ))
    }

    pub(super) async fn abort_multipart(&self, bucket: &str, key: &str, upload_id: &str) -> S3Result<Done> {
        let u = self.require_upload(bucket, key, upload_id)?;
        let guard = self.locks.key(bucket, key).await;
        let parts = self.catalog.parts_of(bucket, key, upload_id)?;
        if !self.catalog.abort_upload(bucket, key, upload_id).await? {
            return Err(no_such_upload());
        }
        // The catalog entry is gone: a failure here leaves bytes for scrub, never an upload.
        self.discard_unreferenced(&guard, bucket, key, own_part_blobs(&parts))
            .await;
        if let Err(e) = self.blobs.abort_multipart(&u).await {
            tracing::warn!(upload = %upload_id, error = %crate::store::error::chain(&e), "aborting the backend upload failed");
        }
        let outcome = Outcome {
            detail: Some(format!("aborted upload {upload_id}: {} parts reclaimed", parts.len())),
            ..Default::default()
        };
        Ok(Done::new(Reply::empty(StatusCode::NO_CONTENT), outcome))
    }

    pub(super) fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        marker: u32,
        max: usize,
    ) -> S3Result<Reply> {
        let u = self.require_upload(bucket, key, upload_id)?;
        let all: Vec<PartRecord> = self
            .catalog
            .parts_of(bucket, key, upload_id)?
            .into_iter()
            .filter(|p| p.part_number > marker)
            .collect();
        let truncated = all.len() > max;
        let page: Vec<&PartRecord> = all.iter().take(max).collect();
        let doc = ListPartsResult {
            xmlns: NS,
            bucket: bucket.into(),
            key: key.into(),
            upload_id: upload_id.into(),
            part_number_marker: marker,
            next_part_number_marker: page.last().map(|p| p.part_number),
            max_parts: max,
            is_truncated: truncated,
            initiator: owner(),
            owner: owner(),
            storage_class: "STANDARD",
            checksum_algorithm: u
                .checksum_algorithm
                .map(super::super::checksum::ChecksumAlgorithm::as_str),
            checksum_type: u.checksum_type.clone(),
            parts: page
                .iter()
                .map(|p| PartOut {
                    part_number: p.part_number,
                    last_modified: iso_ms(p.last_modified_ms),
                    etag: quoted(&p.etag),
                    size: p.size,
                    checksum: ChecksumOut::new(
                        u.checksum_algorithm.and(p.checksum_algorithm),
                        p.checksum.clone(),
                        None,
                    ),
                })
                .collect(),
        };
        Ok(Reply::xml(xml::to_xml("ListPartsResult", &doc)?))
    }

    pub(super) fn list_uploads(&self, bucket: &str, p: &ListParams) -> S3Result<Reply> {
        self.require_bucket(bucket)?;
        let key_marker = p.marker.clone().unwrap_or_default();
        let id_marker = p.version_id_marker.clone().unwrap_or_default();
        let mut uploads = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut truncated = false;
        let mut next = (None, None);
        for u in self.catalog.uploads_of(bucket)? {
            if !u.key.starts_with(&p.prefix) {
                continue;
            }
            let after_marker = if id_marker.is_empty() {
                u.key > key_marker
            } else {
                u.key > key_marker || (u.key == key_marker && u.upload_id > id_marker)
            };
            if !key_marker.is_empty() && !after_marker {
                continue;
            }
            if let Some(d) = p.delimiter.as_deref() {
                if let Some(i) = u.key[p.prefix.len()..].find(d) {
                    let cp = format!("{}{}", p.prefix, &u.key[p.prefix.len()..p.prefix.len() + i + d.len()]);
                    if prefixes.last() != Some(&cp) {
                        if uploads.len() + prefixes.len() >= p.max_keys {
                            truncated = true;
                            break;
                        }
                        prefixes.push(cp);
                    }
                    continue;
                }
            }
            if uploads.len() + prefixes.len() >= p.max_keys {
                truncated = true;
                break;
            }
            next = (Some(u.key.clone()), Some(u.upload_id.clone()));
            uploads.push(UploadOut {
                key: u.key,
                upload_id: u.upload_id,
                initiator: owner(),
                owner: owner(),
                storage_class: "STANDARD",
                initiated: iso_ms(u.initiated_ms),
                checksum_algorithm: u
                    .checksum_algorithm
                    .map(super::super::checksum::ChecksumAlgorithm::as_str),
            });
        }
        let doc = ListMultipartUploadsResult {
            xmlns: NS,
            bucket: bucket.into(),
            key_marker,
            upload_id_marker: id_marker,
            next_key_marker: if truncated { next.0 } else { None },
            next_upload_id_marker: if truncated { next.1 } else { None },
            prefix: p.prefix.clone(),
            delimiter: p.delimiter.clone(),
            max_uploads: p.max_keys,
            is_truncated: truncated,
            uploads,
            common_prefixes: prefixes.into_iter().map(|prefix| CommonPrefixOut { prefix }).collect(),
        };
        Ok(Reply::xml(xml::to_xml("ListMultipartUploadsResult", &doc)?))
    }
}

/// What a `CompleteMultipartUpload` asks besides its part list: write conditions and the object-level
/// checksum the client computed.
pub(super) struct CompletionClaim {
    pub conditions: WriteConditions,
    pub checksum: Option<(ChecksumAlgorithm, String)>,
    pub checksum_type: Option<String>,
    pub object_size: Option<u64>,
}

/// The answer to a completion (the first one, and every repeat of it).
fn completion_reply(bucket: &str, key: &str, rec: &VersionRecord) -> S3Result<Reply> {
    let doc = CompleteMultipartUploadResult {
        xmlns: NS,
        location: format!("/{bucket}/{key}"),
        bucket: bucket.into(),
        key: key.into(),
        etag: quoted(&rec.etag),
        checksum: ChecksumOut::new(rec.checksum_algorithm, rec.checksum.clone(), rec.checksum_type.clone()),
    };
    Ok(Reply::xml(xml::to_xml("CompleteMultipartUploadResult", &doc)?)
        .header("x-amz-version-id", rec.version_id.clone()))
}

/// Compare the object-level checksum a completion claims with what the parts produce (`ours`: the
/// `FULL_OBJECT` CRC combined from the part CRCs, or the COMPOSITE `checksum-of-checksums-N`). The
/// claim must name the upload's algorithm and type; a COMPOSITE claim may leave out its `-N`.
fn check_claimed_checksum(
    claim: &CompletionClaim,
    alg: Option<ChecksumAlgorithm>,
    ty: Option<&str>,
    ours: Option<&str>,
) -> S3Result<()> {
    if let Some(t) = claim.checksum_type.as_deref() {
        if Some(t) != ty {
            return Err(S3Error::invalid_request(format!(
                "The upload was created using the {} checksum mode. The complete request must use the same checksum mode.",
                ty.unwrap_or("no")
            )));
        }
    }
    let Some((claimed_alg, claimed)) = &claim.checksum else {
        return Ok(());
    };
    if alg != Some(*claimed_alg) {
        return Err(S3Error::invalid_request(format!(
            "The upload was created using the {} checksum algorithm. The complete request must use the same checksum algorithm, not {}.",
            alg.map_or("no", |a| a.as_str()),
            claimed_alg.as_str()
        )));
    }
    let ours = ours.unwrap_or("");
    let matches = claimed == ours || (ty == Some("COMPOSITE") && Some(claimed.as_str()) == ours.split('-').next());
    if !matches {
        return Err(S3Error::new(
            S3Code::BadDigest,
            format!(
                "The {} you specified did not match the calculated checksum: {claimed} given, {ours} computed from the parts.",
                claimed_alg.header_name()
            ),
        ));
    }
    Ok(())
}

/// Blob ids of parts that are blobs of their own (a part inside the backend's multipart upload has
/// none: a re-upload replaced it, and completion leaves out the parts it does not name).
fn own_part_blobs(parts: &[PartRecord]) -> Vec<String> {
    parts
        .iter()
        .filter(|p| p.upstream_etag.is_none())
        .map(|p| p.blob_id.clone())
        .collect()
}
