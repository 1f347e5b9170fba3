//! Upstream blobs: the bytes live in an existing S3 store (`SeaweedFS`, Ceph RGW, `MinIO`, AWS), the
//! catalog stays in sled. See docs/design.md, "Upstream layout".
//!
//! Layout in the upstream bucket:
//! - `<prefix>/<id>`: the bytes of blob `id` (a version, a multipart part, or the empty manifest
//!   blob of a multipart version). Never reused, written with `If-None-Match: *`.
//! - `<prefix>/records/<id>`: record segments (`segments`): at commit the record of a version (the
//!   analogue of the disk sidecar) joins the records of the versions committed at about the same
//!   time in one never-overwritten object; the commit returns once that segment is acknowledged.
//!   `wormgate recover` can rebuild a catalog from these.
//! - `<prefix>/<id>.meta`: versions written before record segments have their record in an object
//!   of their own; still read (recover, scrub) and deleted with their version, never written now.
//!
//! Writes stream: the PUT starts when the first chunk is ready and the writer feeds it through a
//! bounded channel (nothing buffered whole). The last chunk is held back until `commit`, so an
//! upload that fails verification (or is aborted for any reason) never completes upstream. If the
//! length is not known up front (chunked transfer without a decoded length) the bytes are spooled to
//! `<data dir>/tmp/` and sent at commit.
//!
//! Multipart uploads (when the upload record names an upstream `UploadId`): `CreateMultipartUpload`
//! starts an upstream multipart upload on `<prefix>/<upload id>` (never reused: upload ids are
//! catalog sequence ids), each `UploadPart` streams into the upstream `UploadPart` of the same number
//! (`UploadPartCopy` of a single-blob source is an upstream `UploadPartCopy`), completion completes the
//! upstream upload with the chosen parts (`If-None-Match: *`) and commits the version's record, and
//! abort aborts it. The version is then `BlobRef::Multipart`: one object, read by part ranges.
//!
//! Upstream Object Lock (detected at start with GetObjectLockConfiguration): a PUT of a new version
//! carries `x-amz-object-lock-mode: COMPLIANCE` and the retain-until date of the first lock decision,
//! framed as aws-chunked with a CRC32 trailer (the digest AWS requires with lock headers). At commit
//! the final retention and legal hold are mirrored with `PutObjectRetention` / `PutObjectLegalHold` where
//! they differ (always for multipart parts and copies, which are written without lock headers), and
//! the record segment carries COMPLIANCE until the latest retain-until of its records as written.
//! Later extensions are mirrored on the data objects by the gateway (`mirror_retention`,
//! `mirror_legal_hold`) before the catalog changes.

use std::fmt::Write as _;
pub mod body;
pub mod client;
pub mod segments;

use self::body::{framed_len, Msg, UpstreamBody, CHUNK};
pub use self::client::ListedObject;
use self::client::{
    hv, insert_lock, md5_b64, read_limited, status_error, worth_locking, xml_text, Payload, UpstreamClient,
    UpstreamError, UpstreamSetupError,
};
use super::BlobHints;
use crate::config::UpstreamConfig;
use crate::encoding::encode_component;
use crate::store::error::{StoreError, StoreResult};
use crate::store::{BlobRef, VersionRecord};
use crate::timefmt::format_iso;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The upstream backend.
#[derive(Clone)]
pub struct UpstreamBlobs {
    inner: Arc<Inner>,
}

struct Inner {
    client: Arc<UpstreamClient>,
    /// The group committer of record segments, started on the first commit (tools that only read
    /// never start it).
    records: std::sync::OnceLock<segments::RecordBatcher>,
    /// The upstream bucket has Object Lock enabled: mirror retention into it.
    lock: bool,
    spool_dir: PathBuf,
}

/// A read in progress (see `UpstreamBlobs::read`).
struct ReadState {
    store: UpstreamBlobs,
    id: String,
    offset: u64,
    remaining: u64,
    body: Option<BoxStream<'static, Result<Bytes, hyper::Error>>>,
    resumes: u32,
}

/// What an `UpstreamWriter` writes: a blob of its own, or one part of an upstream multipart upload.
#[derive(Clone)]
enum Target {
    Object,
    Part {
        /// The object (blob id) the upload completes into.
        object: String,
        upload_id: String,
        part_number: u32,
    },
}

/// The completion of an upstream multipart upload, as a `BlobWriter`: `commit` completes it (and
/// writes the record), `abort` leaves it open (the gateway's upload still exists).
pub struct UpstreamCompletion {
    store: UpstreamBlobs,
    id: String,
    upload_id: String,
    /// (part number, upstream `ETag`) in order.
    parts: Vec<(u32, String)>,
    /// Bytes of the completed object (the sum of the parts).
    size: u64,
}

/// A blob being written upstream.
pub struct UpstreamWriter {
    store: UpstreamBlobs,
    /// The blob id (for a part: its label, used for the spool file and messages).
    id: String,
    target: Target,
    hints: BlobHints,
    /// Bytes accepted so far.
    written: u64,
    /// Not yet sent (at most one chunk is held back until commit).
    pending: BytesMut,
    sink: Sink,
}

enum Sink {
    /// Known length: a PUT streaming from a channel, started on the first full chunk.
    Stream { len: u64, started: Option<Started> },
    /// Unknown length: spooled to a temporary file, sent at commit.
    Spool {
        path: PathBuf,
        file: Option<tokio::fs::File>,
    },
}

struct Started {
    tx: mpsc::Sender<Msg>,
    /// Ends with the upstream `ETag` of what was written.
    task: JoinHandle<Result<Option<String>, UpstreamError>>,
    /// Lock headers sent with the PUT: (retain-until, legal hold).
    lock_sent: Option<(DateTime<Utc>, bool)>,
}

/// Why the upstream cannot be used at start (the gateway refuses to start; tools stop).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The configuration does not make a client.
    #[error(transparent)]
    Setup(#[from] UpstreamSetupError),
    /// No connection to the upstream.
    #[error("upstream {target} is unreachable")]
    Unreachable {
        target: String,
        #[source]
        source: UpstreamError,
    },
    /// The upstream refused the configured credentials.
    #[error(
        "upstream {target} rejected the credentials (WORMGATE_UPSTREAM_ACCESS_KEY / WORMGATE_UPSTREAM_SECRET_KEY)"
    )]
    Credentials {
        target: String,
        #[source]
        source: UpstreamError,
    },
    /// The upstream bucket does not exist.
    #[error("upstream {target} does not exist")]
    NoBucket {
        target: String,
        #[source]
        source: UpstreamError,
    },
    /// Any other refusal of the bucket check.
    #[error("upstream {target} cannot be used")]
    Unusable {
        target: String,
        #[source]
        source: UpstreamError,
    },
    /// The local spool directory cannot be created.
    #[error("cannot create {}", dir.display())]
    Spool {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Why the upstream's clock could not be read (one time source has no answer).
#[derive(Debug, thiserror::Error)]
pub enum ServerDateError {
    /// The request failed.
    #[error("the request failed")]
    Request(#[source] UpstreamError),
    /// No answer in time.
    #[error("no answer within 5 s")]
    Timeout,
    /// The answer has no `Date` header.
    #[error("the answer has no Date header")]
    NoDate,
    /// The `Date` header does not parse.
    #[error("Date '{date}'")]
    BadDate {
        date: String,
        #[source]
        source: httpdate::Error,
    },
}

impl UpstreamBlobs {
    /// Connect and check: the bucket must be reachable with these credentials. Returns the store;
    /// `upstream_lock()` tells whether the upstream bucket has Object Lock enabled.
    pub async fn connect(cfg: &UpstreamConfig, data_dir: &std::path::Path) -> Result<UpstreamBlobs, ConnectError> {
        let client = UpstreamClient::new(cfg)?;
        let target = format!("{} bucket {}", cfg.endpoint, cfg.bucket);
        match client
            .small(Method::GET, "", "location=", HeaderMap::new(), Bytes::new())
            .await
        {
            Ok(_) => {}
            Err(source @ UpstreamError::Unreachable(_)) => return Err(ConnectError::Unreachable { target, source }),
            Err(source @ UpstreamError::Status { .. })
                if matches!(
                    source.code(),
                    "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied" | "Forbidden"
                ) || source.is_status(StatusCode::FORBIDDEN) =>
            {
                return Err(ConnectError::Credentials { target, source })
            }
            Err(source) if source.code() == "NoSuchBucket" || source.is_status(StatusCode::NOT_FOUND) => {
                return Err(ConnectError::NoBucket { target, source })
            }
            Err(source) => return Err(ConnectError::Unusable { target, source }),
        }
        let lock = match client
            .small(Method::GET, "", "object-lock=", HeaderMap::new(), Bytes::new())
            .await
        {
            Ok((_, _, body)) => {
                let text = String::from_utf8_lossy(&body);
                xml_text(&text, "ObjectLockEnabled").is_some_and(|v| v.trim() == "Enabled")
            }
            Err(source @ UpstreamError::Unreachable(_)) => return Err(ConnectError::Unreachable { target, source }),
            Err(e) => {
                tracing::debug!(error = %e, "upstream GetObjectLockConfiguration: no lock");
                false
            }
        };
        let spool_dir = data_dir.join("tmp");
        if let Err(source) = std::fs::create_dir_all(&spool_dir) {
            return Err(ConnectError::Spool { dir: spool_dir, source });
        }
        Ok(UpstreamBlobs {
            inner: Arc::new(Inner {
                client: Arc::new(client),
                records: std::sync::OnceLock::new(),
                lock,
                spool_dir,
            }),
        })
    }

    /// The upstream's clock, as its `Date` header says (whole seconds), and the local wall clock
    /// (ms) halfway between sending and receiving: a time source for `evidence::timesources`. Any
    /// answer carries a `Date`, so a refusal (say, a signature judged too skewed because our clock is
    /// off) still tells the time. One attempt, no retries.
    pub async fn server_date(&self) -> Result<(DateTime<Utc>, i64), ServerDateError> {
        let client = &self.inner.client;
        let req = client
            .signed(
                &Method::HEAD,
                "",
                "",
                &HeaderMap::new(),
                Payload::Bytes(b""),
                UpstreamBody::full(Bytes::new()),
            )
            .map_err(ServerDateError::Request)?;
        let sent = Utc::now().timestamp_millis();
        let resp = tokio::time::timeout(std::time::Duration::from_secs(5), client.send_once(req))
            .await
            .map_err(|_| ServerDateError::Timeout)?
            .map_err(ServerDateError::Request)?;
        let received = Utc::now().timestamp_millis();
        let date = resp
            .headers()
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .ok_or(ServerDateError::NoDate)?;
        let t = httpdate::parse_http_date(date).map_err(|source| ServerDateError::BadDate {
            date: date.to_string(),
            source,
        })?;
        Ok((DateTime::<Utc>::from(t), sent + (received - sent) / 2))
    }

    /// Whether the upstream bucket enforces Object Lock too.
    pub fn upstream_lock(&self) -> bool {
        self.inner.lock
    }

    /// `endpoint/bucket/prefix` for messages.
    pub fn describe(&self) -> String {
        let c = self.inner.client.config();
        format!("{}/{}/{}", c.endpoint, c.bucket, c.prefix)
    }

    fn client(&self) -> &UpstreamClient {
        &self.inner.client
    }

    /// Lock headers for a PUT (`until` already passed through [`worth_locking`] by the caller).
    fn lock_headers(&self, h: &mut HeaderMap, until: Option<DateTime<Utc>>, legal_hold: bool) {
        if !self.inner.lock {
            return;
        }
        if let Some(u) = until {
            insert_lock(h, u);
        }
        if legal_hold {
            h.insert("x-amz-object-lock-legal-hold", HeaderValue::from_static("ON"));
        }
    }

    pub async fn begin(&self, id: &str, hints: BlobHints) -> StoreResult<UpstreamWriter> {
        if !super::valid_id(id) {
            return Err(StoreError::InvalidBlobId { id: id.to_string() });
        }
        let sink = if let Some(len) = hints.len {
            Sink::Stream { len, started: None }
        } else {
            let path = self.inner.spool_dir.join(format!("upstream-{id}.spool"));
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await?;
            Sink::Spool { path, file: Some(file) }
        };
        Ok(UpstreamWriter {
            store: self.clone(),
            id: id.to_string(),
            target: Target::Object,
            hints,
            written: 0,
            pending: BytesMut::new(),
            sink,
        })
    }

    /// Start a multipart upload upstream for blob `id` (a gateway upload id); returns its upstream
    /// `UploadId`. With upstream Object Lock it carries COMPLIANCE and the first decision's date.
    pub async fn begin_multipart(&self, id: &str, hints: BlobHints) -> StoreResult<String> {
        if !super::valid_id(id) {
            return Err(StoreError::InvalidBlobId { id: id.to_string() });
        }
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        h.insert(HeaderName::from_static("x-amz-meta-wormgate-blob"), hv(id));
        h.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        self.lock_headers(
            &mut h,
            hints.retain_until.filter(|u| worth_locking(*u)),
            hints.legal_hold,
        );
        let key = self.client().key(id);
        let (_, _, body) = self
            .client()
            .small(Method::POST, &key, "uploads=", h, Bytes::new())
            .await?;
        let text = String::from_utf8_lossy(&body);
        xml_text(&text, "UploadId")
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                StoreError::UpstreamAnswer(format!("upstream CreateMultipartUpload for {key} gave no UploadId"))
            })
    }

    /// Write part `part_number` of upstream upload `upload_id` (of blob `object`); `label` names
    /// the part in messages and its spool file. Re-uploading a part number replaces it upstream.
    pub async fn begin_part(
        &self,
        object: &str,
        upload_id: &str,
        part_number: u32,
        label: &str,
        hints: BlobHints,
    ) -> StoreResult<UpstreamWriter> {
        let mut w = self.begin(label, BlobHints::len(hints.len)).await?;
        w.target = Target::Part {
            object: object.to_string(),
            upload_id: upload_id.to_string(),
            part_number,
        };
        Ok(w)
    }

    /// `UploadPartCopy`: part `part_number` of upload `upload_id` (of blob `object`) becomes `len`
    /// bytes from `offset` of blob `src`, copied inside the upstream. Returns the part's `ETag`.
    pub async fn copy_part(
        &self,
        (object, upload_id, part_number): (&str, &str, u32),
        src: &str,
        offset: u64,
        len: u64,
    ) -> StoreResult<String> {
        if len == 0 {
            return Err(StoreError::invariant("an empty part cannot be copied upstream"));
        }
        let c = self.client();
        let src_key: Vec<String> = c.key(src).split('/').map(encode_component).collect();
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-copy-source",
            hv(&format!("/{}/{}", c.config().bucket, src_key.join("/"))),
        );
        h.insert(
            "x-amz-copy-source-range",
            hv(&format!("bytes={}-{}", offset, offset + len - 1)),
        );
        h.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        let q = format!("partNumber={part_number}&uploadId={}", encode_component(upload_id));
        let (_, _, body) = c.small(Method::PUT, &c.key(object), &q, h, Bytes::new()).await?;
        let text = String::from_utf8_lossy(&body);
        if let Some(code) = xml_text(&text, "Code").filter(|_| text.contains("<Error>")) {
            return Err(StoreError::UpstreamAnswer(format!(
                "upstream UploadPartCopy failed: {code}"
            )));
        }
        xml_text(&text, "ETag")
            .map(|e| e.trim().to_string())
            .ok_or_else(|| StoreError::UpstreamAnswer("upstream UploadPartCopy gave no ETag".into()))
    }

    /// The completion of upstream upload `upload_id` into blob `id` from `parts` (part number,
    /// upstream `ETag`), as a writer whose `commit` completes it.
    pub fn completion(&self, id: &str, upload_id: &str, parts: Vec<(u32, String)>, size: u64) -> UpstreamCompletion {
        UpstreamCompletion {
            store: self.clone(),
            id: id.to_string(),
            upload_id: upload_id.to_string(),
            parts,
            size,
        }
    }

    /// `AbortMultipartUpload` upstream (an upload already gone is fine).
    pub async fn abort_multipart(&self, id: &str, upload_id: &str) -> StoreResult<()> {
        let q = format!("uploadId={}", encode_component(upload_id));
        let key = self.client().key(id);
        match self
            .client()
            .small(Method::DELETE, &key, &q, HeaderMap::new(), Bytes::new())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_status(StatusCode::NOT_FOUND) || e.code() == "NoSuchUpload" => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `CompleteMultipartUpload` upstream, with `If-None-Match: *` (retried without it if the upstream
    /// does not implement it). A retry that finds the upload gone checks the object is there, with
    /// the `size` these parts make.
    async fn complete_upload(
        &self,
        id: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        size: u64,
    ) -> Result<(), UpstreamError> {
        let mut doc = String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        for (n, etag) in parts {
            let etag = if etag.starts_with('"') {
                etag.clone()
            } else {
                format!("\"{etag}\"")
            };
            let _ = write!(
                doc,
                "<Part><PartNumber>{n}</PartNumber><ETag>{}</ETag></Part>",
                quick_xml::escape::escape(&etag)
            );
        }
        doc.push_str("</CompleteMultipartUpload>");
        let body = Bytes::from(doc);
        let key = self.client().key(id);
        let q = format!("uploadId={}", encode_component(upload_id));
        let mut conditional = true;
        loop {
            let mut h = HeaderMap::new();
            h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
            h.insert(http::header::CONTENT_LENGTH, hv(&body.len().to_string()));
            if conditional {
                h.insert(http::header::IF_NONE_MATCH, HeaderValue::from_static("*"));
            }
            let res = self.client().small(Method::POST, &key, &q, h, body.clone()).await;
            // S3 may answer 200 and put the error in the body.
            let res = res.and_then(|(st, hd, b)| {
                let text = String::from_utf8_lossy(&b);
                if text.contains("<Error>") {
                    Err(status_error(StatusCode::INTERNAL_SERVER_ERROR, &b))
                } else {
                    Ok((st, hd, b))
                }
            });
            match res {
                Ok(_) => return Ok(()),
                Err(e) if conditional && (e.code() == "NotImplemented" || e.is_status(StatusCode::NOT_IMPLEMENTED)) => {
                    tracing::debug!(error = %e, "upstream CompleteMultipartUpload without If-None-Match");
                    conditional = false;
                }
                Err(e) if e.code() == "NoSuchUpload" || e.is_status(StatusCode::NOT_FOUND) => {
                    // A retried completion whose first attempt landed (with these parts).
                    let head = self
                        .client()
                        .small(Method::HEAD, &key, "", HeaderMap::new(), Bytes::new())
                        .await;
                    let len = head
                        .ok()
                        .and_then(|(_, h, _)| h.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.parse::<u64>().ok());
                    return if len == Some(size) { Ok(()) } else { Err(e) };
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Start the PUT of `<prefix>/<id>` (`len` payload bytes) fed by the returned channel, or of
    /// part `part_number` of an upstream multipart upload.
    fn start_put(&self, id: &str, len: u64, hints: &BlobHints, target: &Target) -> Started {
        let is_part = matches!(target, Target::Part { .. });
        // decided once: the headers sent and what the commit believes was sent must agree
        let hints = &BlobHints {
            retain_until: hints.retain_until.filter(|u| worth_locking(*u)),
            ..*hints
        };
        let lock_sent = (self.inner.lock && hints.retain_until.is_some() && !is_part)
            .then(|| (hints.retain_until.unwrap_or_default(), hints.legal_hold));
        // Lock headers need a digest (AWS), and so do parts of a locked object: then the body goes
        // aws-chunked with a CRC32 trailer.
        let framed = lock_sent.is_some() || (is_part && self.inner.lock);
        let mut h = HeaderMap::new();
        if !is_part {
            h.insert(http::header::IF_NONE_MATCH, HeaderValue::from_static("*"));
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            h.insert(HeaderName::from_static("x-amz-meta-wormgate-blob"), hv(id));
        }
        let wire_len = if framed {
            h.insert(http::header::CONTENT_ENCODING, HeaderValue::from_static("aws-chunked"));
            h.insert("x-amz-decoded-content-length", hv(&len.to_string()));
            h.insert("x-amz-trailer", HeaderValue::from_static("x-amz-checksum-crc32"));
            h.insert("x-amz-sdk-checksum-algorithm", HeaderValue::from_static("CRC32"));
            if !is_part {
                self.lock_headers(&mut h, hints.retain_until, hints.legal_hold);
            }
            framed_len(len)
        } else {
            len
        };
        h.insert(http::header::CONTENT_LENGTH, hv(&wire_len.to_string()));
        let (tx, body) = UpstreamBody::channel(wire_len, framed);
        let store = self.clone();
        let (key, query) = match target {
            Target::Object => (self.client().key(id), String::new()),
            Target::Part {
                object,
                upload_id,
                part_number,
            } => (
                self.client().key(object),
                format!("partNumber={part_number}&uploadId={}", encode_component(upload_id)),
            ),
        };
        let task = tokio::spawn(async move {
            let payload = if framed {
                Payload::StreamingTrailer
            } else {
                Payload::Unsigned
            };
            let req = store.client().signed(&Method::PUT, &key, &query, &h, payload, body)?;
            let resp = store.client().send_once(req).await?;
            let status = resp.status();
            let etag = resp
                .headers()
                .get(http::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = read_limited(resp.into_body(), 1 << 20).await.unwrap_or_default();
            if status.is_success() {
                Ok(etag)
            } else {
                Err(status_error(status, &body))
            }
        });
        Started { tx, task, lock_sent }
    }

    /// Stream `len` bytes from `offset` of blob `id` (a ranged GET). The first request is made
    /// here, so an unreachable upstream is an error before the response starts; a connection lost
    /// mid-body is resumed from the next byte with a new ranged GET (a few times).
    pub async fn read(
        &self,
        id: &str,
        offset: u64,
        len: u64,
    ) -> StoreResult<BoxStream<'static, std::io::Result<Bytes>>> {
        if len == 0 {
            return Ok(futures_util::stream::empty().boxed());
        }
        let first = self.open_range(id, offset, len).await.map_err(|e| {
            if e.is_status(StatusCode::NOT_FOUND) {
                StoreError::MissingUpstream {
                    id: id.to_string(),
                    source: e,
                }
            } else {
                StoreError::from(e)
            }
        })?;
        let st = ReadState {
            store: self.clone(),
            id: id.to_string(),
            offset,
            remaining: len,
            body: Some(first),
            resumes: 0,
        };
        let stream = futures_util::stream::unfold(Some(st), |st| async move {
            let mut st = st?;
            loop {
                if st.remaining == 0 {
                    return None;
                }
                let body = match st.body.as_mut() {
                    Some(b) => b,
                    None => match st.store.open_range(&st.id, st.offset, st.remaining).await {
                        Ok(b) => st.body.insert(b),
                        Err(e) => {
                            return Some((Err(std::io::Error::other(format!("upstream read failed: {e}"))), None))
                        }
                    },
                };
                let failure = match body.next().await {
                    Some(Ok(mut b)) => {
                        // Never hand out more bytes than asked for.
                        if b.len() as u64 > st.remaining {
                            b.truncate(crate::units::take_len(st.remaining, b.len()));
                        }
                        st.offset += b.len() as u64;
                        st.remaining -= b.len() as u64;
                        return Some((Ok(b), Some(st)));
                    }
                    Some(Err(e)) => format!("upstream read failed: {e}"),
                    None => "upstream object is shorter than its record".to_string(),
                };
                if st.resumes >= 3 {
                    let e = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, failure);
                    return Some((Err(e), None));
                }
                st.resumes += 1;
                tracing::warn!(blob = %st.id, offset = st.offset, error = %failure, "upstream read interrupted; resuming");
                st.body = None;
            }
        });
        Ok(stream.boxed())
    }

    /// A ranged GET of `len` bytes from `offset`, as a stream of data chunks.
    async fn open_range(
        &self,
        id: &str,
        offset: u64,
        len: u64,
    ) -> Result<BoxStream<'static, Result<Bytes, hyper::Error>>, UpstreamError> {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::RANGE,
            hv(&format!("bytes={}-{}", offset, offset + len - 1)),
        );
        let resp = self.client().get_stream(&self.client().key(id), h).await?;
        let stream = http_body_util::BodyDataStream::new(resp.into_body());
        Ok(stream.boxed())
    }

    /// Every upstream object under the prefix as (blob id or `<id>.meta`, size) — for scrub and
    /// `wormgate recover` (read a record with `read_record`).
    pub async fn list(&self) -> StoreResult<Vec<(String, u64)>> {
        Ok(self
            .list_detailed()
            .await?
            .into_iter()
            .map(|o| (o.name, o.size))
            .collect())
    }

    /// The encoded version record stored with blob `id` (`<id>.meta`), if any, with the lock the
    /// upstream's own Object Lock holds on that object: retention extensions and legal holds are
    /// mirrored there after the write, so a standby recovering without the first gateway's audit
    /// trail still learns them.
    pub async fn read_record(&self, id: &str) -> StoreResult<Option<(Vec<u8>, UpstreamLock)>> {
        let key = self.client().key(&format!("{id}.meta"));
        match self
            .client()
            .small(Method::GET, &key, "", HeaderMap::new(), Bytes::new())
            .await
        {
            Ok((_, h, b)) => Ok(Some((b.to_vec(), UpstreamLock::of(&h)))),
            Err(e) if e.is_status(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn exists(&self, id: &str) -> StoreResult<bool> {
        Ok(self.object_exists(id).await?)
    }

    /// Destroy an expired version's blob (and its `.meta`).
    /// Delete a blob and its record object. Only `BlobStore::destroy` (`expired`) and
    /// `BlobStore::discard` call this, each with its proof.
    /// Returns whether the upstream's own lock refused to delete any of them (they stay upstream).
    pub(super) async fn delete_all(&self, id: &str, expired: bool) -> StoreResult<bool> {
        let mut refused = false;
        for name in [id.to_string(), format!("{id}.meta")] {
            refused |= self.delete_key(&name, expired).await?;
        }
        Ok(refused)
    }

    /// DELETE one upstream object. With upstream Object Lock the bucket is versioned, so every
    /// version of the key is deleted by id (a plain DELETE would only add a delete marker); the
    /// upstream refusing (its own retention still running, e.g. clock skew) is logged and returned as
    /// `true` (the object stays; the catalog already dropped the version, so the caller may retry it as
    /// an unreferenced blob, as lifecycle does, or leave it for scrub). For an `expired` version the
    /// upstream gets a few seconds first: it may keep retain-until dates at whole seconds and count a
    /// version as retained through its last second.
    async fn delete_key(&self, name: &str, expired: bool) -> StoreResult<bool> {
        let key = self.client().key(name);
        if !self.inner.lock {
            return match self
                .client()
                .small(Method::DELETE, &key, "", HeaderMap::new(), Bytes::new())
                .await
            {
                Ok(_) => Ok(false),
                Err(e) if e.is_status(StatusCode::NOT_FOUND) => Ok(false),
                Err(e) => Err(e.into()),
            };
        }
        let q = format!("prefix={}&versions=", encode_component(&key));
        let (_, _, listing) = self
            .client()
            .small(Method::GET, "", &q, HeaderMap::new(), Bytes::new())
            .await?;
        let text = String::from_utf8_lossy(&listing);
        let mut refused = false;
        for (k, vid) in version_entries(&text) {
            if k != key {
                continue;
            }
            let q = format!("versionId={}", encode_component(&vid));
            let mut waits = if expired { 3 } else { 0 };
            let res = loop {
                let r = self
                    .client()
                    .small(Method::DELETE, &key, &q, HeaderMap::new(), Bytes::new())
                    .await;
                match r {
                    Err(e) if waits > 0 && e.is_status(StatusCode::FORBIDDEN) => {
                        waits -= 1;
                        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
                    }
                    r => break r,
                }
            };
            match res {
                Ok(_) => {}
                Err(e) if e.is_status(StatusCode::NOT_FOUND) => {}
                Err(e) if e.is_status(StatusCode::FORBIDDEN) => {
                    tracing::warn!(key = %key, version = %vid, error = %e, "upstream still retains this object; left for scrub");
                    refused = true;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(refused)
    }

    /// The upstream objects that hold a version's bytes: what retention and legal holds are mirrored
    /// on. Not its record: a record segment is shared by many versions and keeps the lock of the
    /// records as written (and an older `<id>.meta` record object keeps its lock as written too;
    /// recover reads the lock of the data object).
    fn objects_of(rec: &VersionRecord) -> Vec<String> {
        let mut out = Vec::new();
        match &rec.blob {
            // One object (a completed multipart upload too).
            Some(BlobRef::Single { id } | BlobRef::Multipart { id, .. } | BlobRef::InSegment { id, .. }) => {
                out.push(id.clone());
            }
            Some(BlobRef::Parts { parts }) => {
                out.extend(parts.iter().map(|p| p.id.clone()));
                out.push(rec.version_id.clone());
            }
            None => {}
        }
        out
    }

    /// Run `f` on every upstream object of a version, a few at a time: the parts of a version held
    /// as part blobs are mirrored concurrently.
    async fn on_each_object<F, Fut>(&self, rec: &VersionRecord, f: F) -> StoreResult<()>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<(), UpstreamError>>,
    {
        use futures_util::{StreamExt, TryStreamExt};
        futures_util::stream::iter(Self::objects_of(rec))
            .map(f)
            .buffer_unordered(8)
            .try_collect::<()>()
            .await?;
        Ok(())
    }

    /// Mirror a retention (extension) into the upstream's Object Lock. No-op without it.
    pub async fn mirror_retention(&self, rec: &VersionRecord, until: DateTime<Utc>) -> StoreResult<()> {
        if !self.inner.lock {
            return Ok(());
        }
        self.on_each_object(rec, |name| async move { self.put_retention(&name, until).await })
            .await
    }

    /// Mirror a legal hold into the upstream's Object Lock. No-op without it.
    pub async fn mirror_legal_hold(&self, rec: &VersionRecord, on: bool) -> StoreResult<()> {
        if !self.inner.lock {
            return Ok(());
        }
        self.on_each_object(rec, |name| async move { self.put_legal_hold(&name, on).await })
            .await
    }

    /// Mirror a retention on upstream object `name`. A date that has passed (or will have, by the
    /// time the upstream reads it) is not sent: the upstream refuses a retain-until in the past
    /// (`400 InvalidRequest`), and the retention it would have set is over anyway.
    async fn put_retention(&self, name: &str, until: DateTime<Utc>) -> Result<(), UpstreamError> {
        if !worth_locking(until) {
            return Ok(());
        }
        let body = format!(
            "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode><RetainUntilDate>{}</RetainUntilDate></Retention>",
            format_iso(until)
        );
        match self.put_config(name, "retention=", Bytes::from(body)).await {
            // a slow upstream: the date passed while the request was on its way
            Err(e) if e.is_status(StatusCode::BAD_REQUEST) && until <= Utc::now() => {
                tracing::debug!(object = name, error = %e, "retention expired before the upstream set it");
                Ok(())
            }
            other => other,
        }
    }

    async fn put_legal_hold(&self, name: &str, on: bool) -> Result<(), UpstreamError> {
        let body = format!(
            "<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>{}</Status></LegalHold>",
            if on { "ON" } else { "OFF" }
        );
        self.put_config(name, "legal-hold=", Bytes::from(body)).await
    }

    async fn put_config(&self, name: &str, query: &str, body: Bytes) -> Result<(), UpstreamError> {
        let mut h = HeaderMap::new();
        h.insert("content-md5", hv(&md5_b64(&body)));
        h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
        h.insert(http::header::CONTENT_LENGTH, hv(&body.len().to_string()));
        let key = self.client().key(name);
        self.client().small(Method::PUT, &key, query, h, body).await.map(|_| ())
    }

    /// Commit a version: `data` makes its bytes durable upstream (and returns the lock headers its
    /// PUT carried); meanwhile its record joins a record segment. Both must be acknowledged before
    /// this returns, so the version's wait is the longer of the two, not their sum. A record that
    /// lands while its data does not (the commit fails) names an object that is not there: recover
    /// skips such records. With upstream Object Lock the final retention and legal hold are then
    /// mirrored on the data objects where their PUT did not already carry them. An empty `sidecar`
    /// (a multipart part) has no record.
    async fn commit_version<F>(&self, id: &str, sidecar: &[u8], data: F) -> StoreResult<()>
    where
        F: std::future::Future<Output = StoreResult<Option<(DateTime<Utc>, bool)>>>,
    {
        if sidecar.is_empty() {
            return data.await.map(|_| ());
        }
        let Some(rec) = crate::store::records::decode::<VersionRecord>(sidecar) else {
            return Err(StoreError::invariant(format!(
                "the record of blob {id} does not decode"
            )));
        };
        let until = rec.retention.map(|r| r.retain_until());
        let legal_hold = rec.legal_hold;
        // The record goes into a record segment with the records of other versions committed at
        // about the same time (group commit: one upstream PUT for all of them).
        let record = self.batcher().commit(&rec.version_id, sidecar.to_vec(), until);
        let data = async {
            let lock_sent = data.await?;
            if self.inner.lock {
                // Parts and copies carry no lock headers yet, and a single PUT carried the first
                // decision's date, which the commit decision may extend.
                for name in Self::objects_of(&rec) {
                    let sent = if name == id { lock_sent } else { None };
                    if let Some(u) = until {
                        if sent.is_none_or(|(s, _)| u > s) {
                            self.put_retention(&name, u).await?;
                        }
                    }
                    if legal_hold && !sent.is_some_and(|(_, lh)| lh) {
                        self.put_legal_hold(&name, true).await?;
                    }
                }
            }
            Ok::<(), StoreError>(())
        };
        let (data, record) = tokio::join!(data, record);
        data?;
        record.map_err(StoreError::from)
    }

    /// The record batcher, started on first use (on the runtime of the first commit).
    fn batcher(&self) -> &segments::RecordBatcher {
        self.inner.records.get_or_init(|| {
            let client = self.inner.client.clone();
            let lock = self.inner.lock;
            segments::RecordBatcher::start(std::sync::Arc::new(move |name, body, until| {
                let client = client.clone();
                Box::pin(async move { put_segment(&client, lock, &name, body, until).await })
            }))
        })
    }

    // --- Read-only helpers of the offline tools (scrub, recover) ---------------------------------

    /// Where writes of unknown length are spooled (`<data dir>/tmp`): scrub looks there for leftovers.
    pub fn spool_dir(&self) -> &std::path::Path {
        &self.inner.spool_dir
    }

    /// Every object under the prefix with its size and last-modified time (scrub: an object younger
    /// than its `min_age` may belong to a write the catalog has not committed yet).
    pub async fn list_detailed(&self) -> Result<Vec<ListedObject>, UpstreamError> {
        self.client().list_prefix().await
    }

    /// The whole of upstream object `name` (a blob id or `<id>.meta`) as a stream of chunks, for
    /// scrub to re-hash; `Ok(None)` when there is no such object. Not resumed: an interrupted body
    /// is an error of the stream.
    pub async fn read_whole(
        &self,
        name: &str,
    ) -> Result<Option<BoxStream<'static, Result<Bytes, hyper::Error>>>, UpstreamError> {
        match self
            .client()
            .get_stream(&self.client().key(name), HeaderMap::new())
            .await
        {
            Ok(resp) => {
                let stream = http_body_util::BodyDataStream::new(resp.into_body());
                Ok(Some(stream.boxed()))
            }
            Err(e) if e.is_status(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The record segment `name` (`records/<id>`, as listed), parsed; `Ok(None)` when it is gone.
    pub async fn read_segment(&self, name: &str) -> Result<Option<segments::Parsed>, UpstreamError> {
        let key = self.client().key(name);
        match self
            .client()
            .small(Method::GET, &key, "", HeaderMap::new(), Bytes::new())
            .await
        {
            Ok((_, _, b)) => Ok(Some(segments::parse_segment(&b))),
            Err(e) if e.is_status(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The Object Lock the upstream holds on object `name` (a HEAD); `Ok(None)` when it is gone.
    /// Recover asks the data object of a version whose record is in a segment: extensions and
    /// legal holds are mirrored there.
    pub async fn object_lock(&self, name: &str) -> Result<Option<UpstreamLock>, UpstreamError> {
        let key = self.client().key(name);
        match self
            .client()
            .small(Method::HEAD, &key, "", HeaderMap::new(), Bytes::new())
            .await
        {
            Ok((_, h, _)) => Ok(Some(UpstreamLock::of(&h))),
            Err(e) if e.is_status(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The upstream object that stands for a version's bytes: its one object (a completed
    /// multipart upload too), or the manifest `<version id>` of a version held as part blobs.
    /// `None` for a record that names no blob.
    pub fn main_object(rec: &VersionRecord) -> Option<&str> {
        match &rec.blob {
            Some(BlobRef::Single { id } | BlobRef::Multipart { id, .. } | BlobRef::InSegment { id, .. }) => Some(id),
            Some(BlobRef::Parts { .. }) => Some(&rec.version_id),
            None => None,
        }
    }

    /// Whether upstream object `name` (a blob id or `<id>.meta`) exists, telling an unreachable
    /// upstream apart from a missing object.
    pub async fn object_exists(&self, name: &str) -> Result<bool, UpstreamError> {
        let key = self.client().key(name);
        match self
            .client()
            .small(Method::HEAD, &key, "", HeaderMap::new(), Bytes::new())
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_status(StatusCode::NOT_FOUND) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The Object Lock state an upstream object reports in its response headers (none when the
/// upstream bucket has no Object Lock).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpstreamLock {
    pub retain_until: Option<DateTime<Utc>>,
    pub legal_hold: bool,
}

impl UpstreamLock {
    fn of(h: &HeaderMap) -> UpstreamLock {
        let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
        UpstreamLock {
            retain_until: text("x-amz-object-lock-retain-until-date").and_then(crate::timefmt::parse_iso),
            legal_hold: text("x-amz-object-lock-legal-hold").is_some_and(|v| v.eq_ignore_ascii_case("ON")),
        }
    }
}

/// (key, version id) of every `<Version>` and `<DeleteMarker>` in a `ListObjectVersions` answer.
fn version_entries(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for tag in ["Version", "DeleteMarker"] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let mut rest = doc;
        while let Some(s) = rest.find(&open) {
            let after = &rest[s + open.len()..];
            let Some(e) = after.find(&close) else { break };
            let item = &after[..e];
            if let (Some(k), Some(v)) = (xml_text(item, "Key"), xml_text(item, "VersionId")) {
                out.push((k, v));
            }
            rest = &after[e + close.len()..];
        }
    }
    out
}

/// PUT a small never-reused object with a signed payload and Content-MD5 (retried: the body is in
/// memory). A 412 (`If-None-Match: *`) after a retry means an earlier attempt landed.
async fn put_small(client: &UpstreamClient, name: &str, body: Bytes, mut h: HeaderMap) -> Result<(), UpstreamError> {
    h.insert(http::header::IF_NONE_MATCH, HeaderValue::from_static("*"));
    h.insert("content-md5", hv(&md5_b64(&body)));
    h.insert(http::header::CONTENT_LENGTH, hv(&body.len().to_string()));
    let key = client.key(name);
    match client.small(Method::PUT, &key, "", h, body).await {
        Ok(_) => Ok(()),
        // A retried PUT whose first attempt did land: the object is there (never reused key).
        Err(e) if e.is_status(StatusCode::PRECONDITION_FAILED) => {
            tracing::warn!(key = %key, "upstream object already exists (If-None-Match); a retried PUT landed twice");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// PUT one record segment (`segments`). With upstream Object Lock it carries COMPLIANCE until the
/// latest retain-until of its records: the segment is the evidence that those versions were
/// created, and it must outlive each of them as first written. Later extensions and legal holds
/// are mirrored on the data objects (and replayed from the audit trail by `wormgate recover`), not
/// on the segment, which many versions share.
async fn put_segment(
    client: &UpstreamClient,
    lock: bool,
    name: &str,
    body: Vec<u8>,
    until: Option<DateTime<Utc>>,
) -> Result<(), UpstreamError> {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if lock {
        if let Some(u) = until.filter(|u| worth_locking(*u)) {
            insert_lock(&mut h, u);
        }
    }
    put_small(client, name, Bytes::from(body), h).await
}

/// How long the upstream may take to answer a PUT once its whole body is sent.
const PUT_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Wait for the answer to a PUT whose body has ended (the upstream `ETag`, if it gave one).
async fn finish_put(mut st: Started) -> Result<Option<String>, UpstreamError> {
    match tokio::time::timeout(PUT_ANSWER_TIMEOUT, &mut st.task).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(UpstreamError::Other(format!("upstream PUT task failed: {e}"))),
        Err(_) => {
            st.task.abort();
            Err(UpstreamError::Unreachable(format!(
                "no answer to a PUT within {PUT_ANSWER_TIMEOUT:?}"
            )))
        }
    }
}

impl UpstreamWriter {
    pub async fn write(&mut self, data: &[u8]) -> StoreResult<()> {
        self.written += data.len() as u64;
        match &mut self.sink {
            Sink::Spool { file, .. } => {
                let f = file
                    .as_mut()
                    .ok_or_else(|| StoreError::invariant("spool file closed"))?;
                f.write_all(data).await?;
                Ok(())
            }
            Sink::Stream { len, .. } => {
                if self.written > *len {
                    return Err(StoreError::invariant(format!(
                        "blob {} received more bytes than announced ({len})",
                        self.id
                    )));
                }
                self.pending.extend_from_slice(data);
                // Send full chunks, always holding the newest one back until commit.
                while self.pending.len() > CHUNK {
                    let chunk = self.pending.split_to(CHUNK).freeze();
                    self.send(chunk).await?;
                }
                Ok(())
            }
        }
    }

    /// Send one chunk into the PUT (starting it if needed); a failed PUT reports its error here.
    async fn send(&mut self, chunk: Bytes) -> StoreResult<()> {
        let Sink::Stream { len, started } = &mut self.sink else {
            return Err(StoreError::invariant("not a streaming writer"));
        };
        if started.is_none() {
            *started = Some(self.store.start_put(&self.id, *len, &self.hints, &self.target));
        }
        let st = started.as_mut().expect("started");
        if st.tx.send(Msg::Data(chunk)).await.is_err() {
            // The request ended early: its own error says why.
            let st = started.take().expect("started");
            return Err(match st.task.await {
                Ok(Err(e)) => e.into(),
                Ok(Ok(_)) => StoreError::invariant(format!("upstream PUT of blob {} ended before its body", self.id)),
                Err(e) => StoreError::PutTask(e),
            });
        }
        Ok(())
    }

    /// Make the blob durable upstream and commit its record into a record segment (meanwhile), then
    /// mirror the lock state.
    pub async fn commit(self, sidecar: &[u8]) -> StoreResult<()> {
        self.commit_part(sidecar).await.map(|_| ())
    }

    /// `commit`; for a part of an upstream multipart upload, returns its upstream `ETag` (named again
    /// at completion) and writes no record.
    pub async fn commit_part(mut self, sidecar: &[u8]) -> StoreResult<Option<String>> {
        if let Sink::Stream { len, .. } = &self.sink {
            if self.written != *len {
                let msg = format!("blob {}: {} bytes written, {len} announced", self.id, self.written);
                self.abort().await;
                return Err(StoreError::invariant(msg));
            }
        }
        if let Target::Part { .. } = self.target {
            return match self.finish_data().await?.1 {
                Some(e) => Ok(Some(e)),
                None => Err(StoreError::UpstreamAnswer(format!(
                    "upstream UploadPart of {} gave no ETag",
                    self.id
                ))),
            };
        }
        let store = self.store.clone();
        let id = self.id.clone();
        store
            .commit_version(&id, sidecar, async {
                self.finish_data().await.map(|(lock_sent, _)| lock_sent)
            })
            .await?;
        // A blob of its own is named by its id, never by an upstream ETag.
        Ok(None)
    }

    /// Send what is left and wait for the upstream's answer: (the lock headers the PUT carried, the
    /// upstream `ETag`).
    #[allow(clippy::type_complexity)]
    async fn finish_data(&mut self) -> StoreResult<(Option<(DateTime<Utc>, bool)>, Option<String>)> {
        if let Sink::Spool { path, file } = &mut self.sink {
            let path = path.clone();
            if let Some(mut f) = file.take() {
                f.flush().await?;
            }
            let res = self.upload_spool(&path).await;
            let _ = tokio::fs::remove_file(&path).await;
            return res;
        }
        let rest = std::mem::take(&mut self.pending).freeze();
        if !rest.is_empty() {
            self.send(rest).await?;
        }
        let Sink::Stream { len, started } = &mut self.sink else {
            return Err(StoreError::invariant("not a streaming writer"));
        };
        // A zero-length blob starts its PUT only now.
        let st = match started.take() {
            Some(st) => st,
            None => self.store.start_put(&self.id, *len, &self.hints, &self.target),
        };
        let _ = st.tx.send(Msg::End).await;
        let lock_sent = st.lock_sent;
        let etag = finish_put(st).await?;
        Ok((lock_sent, etag))
    }

    /// Send a spooled blob (retried: the file can be read again).
    #[allow(clippy::type_complexity)]
    async fn upload_spool(
        &self,
        path: &std::path::Path,
    ) -> StoreResult<(Option<(DateTime<Utc>, bool)>, Option<String>)> {
        let len = tokio::fs::metadata(path).await?.len();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let st = self.store.start_put(&self.id, len, &self.hints, &self.target);
            let lock_sent = st.lock_sent;
            let mut f = tokio::fs::File::open(path).await?;
            let mut feed_ok = true;
            loop {
                let mut buf = BytesMut::zeroed(CHUNK);
                let mut filled = 0;
                while filled < CHUNK {
                    let n = f.read(&mut buf[filled..]).await?;
                    if n == 0 {
                        break;
                    }
                    filled += n;
                }
                if filled == 0 {
                    break;
                }
                buf.truncate(filled);
                if st.tx.send(Msg::Data(buf.freeze())).await.is_err() {
                    feed_ok = false;
                    break;
                }
            }
            if feed_ok {
                let _ = st.tx.send(Msg::End).await;
            }
            match finish_put(st).await {
                Ok(etag) => return Ok((lock_sent, etag)),
                Err(e) if e.retryable() && attempt < 3 => {
                    tracing::debug!(error = %e, attempt, "upstream PUT of a spooled blob failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
                }
                Err(e) if attempt > 1 && e.is_status(StatusCode::PRECONDITION_FAILED) => return Ok((lock_sent, None)),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Throw the partial blob away: the PUT is made to fail (its last chunk was never sent, so the
    /// upstream cannot have completed it); a completed one is deleted (best effort).
    pub async fn abort(self) {
        match self.sink {
            Sink::Stream { started: Some(st), .. } => {
                let _ = st.tx.send(Msg::Abort).await;
                drop(st.tx);
                // A part that did land stays in the upstream upload until it is completed (without
                // it: the gateway never records it) or aborted.
                if let (Ok(Ok(_)), Target::Object) = (st.task.await, &self.target) {
                    let _ = self.store.delete_key(&self.id, false).await;
                }
            }
            Sink::Stream { started: None, .. } => {}
            Sink::Spool { path, file } => {
                drop(file);
                let _ = tokio::fs::remove_file(&path).await;
            }
        }
    }
}

impl UpstreamCompletion {
    /// Complete the upstream upload and commit the version's record (meanwhile), then mirror the
    /// lock state.
    pub async fn commit(self, sidecar: &[u8]) -> StoreResult<()> {
        let done = async {
            self.store
                .complete_upload(&self.id, &self.upload_id, &self.parts, self.size)
                .await?;
            Ok(None)
        };
        self.store.commit_version(&self.id, sidecar, done).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_listing_is_parsed() {
        let doc = "<ListVersionsResult><Version><Key>p/a</Key><VersionId>1</VersionId></Version>\
                   <DeleteMarker><Key>p/a</Key><VersionId>2</VersionId></DeleteMarker>\
                   <Version><Key>p/a.meta</Key><VersionId>3</VersionId></Version></ListVersionsResult>";
        assert_eq!(
            version_entries(doc),
            vec![
                ("p/a".into(), "1".into()),
                ("p/a.meta".into(), "3".into()),
                ("p/a".into(), "2".into())
            ]
        );
    }
}
