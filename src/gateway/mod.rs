//! The gateway: runs one request through auth → parse → authorize → handler (which asks
//! `lock::decide` before touching the store) → response, and writes its audit record.

mod admin;
mod body;
mod bucket;
mod capacity;
mod copy;
mod errors;
mod evidence;
mod extras;
#[cfg(test)]
pub(crate) mod fault_tests;
mod lifecycle;
mod limits;
mod listing;
mod lockops;
mod multipart;
mod object;
mod outcome;
mod sosapi;
mod util;
mod version;

pub use crate::s3::respond::Body as ResponseBody;
pub use crate::store::locks::KeyLocks;
pub use admin::{
    quota_change_detail, run_scrub, scrub_detail, sign_checkpoint, AdminSettings, AdminTaskError, ADMIN_PREFIX,
};
pub use lifecycle::{LifecycleReport, LIFECYCLE_PRINCIPAL};
pub use limits::Limits;
#[cfg(debug_assertions)]
pub use limits::TEST_PANIC_HEADER;
pub use outcome::{Done, Outcome};
pub use sosapi::{CapacitySource, SosapiSettings};

use crate::audit::{AuditEvent, AuditLog};
use crate::auth::body::VerifiedBody;
use crate::auth::{self, AuthSettings, Authenticated, Keyring, Principal, User};
use crate::headers::expects_100_continue;
use crate::lock::{Clock, Policy};
use crate::s3::error::{S3Code, S3Error, S3Result};
use crate::s3::op::Op;
use crate::s3::parse::{parse_request, Addressing};
use crate::s3::respond::{error_response, Body, Reply};
use crate::store::{BlobStore, Catalog};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Everything a request needs; shared by all connections.
pub struct Gateway {
    pub catalog: Catalog,
    pub blobs: BlobStore,
    pub clock: Arc<Clock>,
    pub policy: Policy,
    /// The key table, swapped whole on SIGHUP and after `wormgate user` changes.
    pub users: Keyring,
    pub auth: AuthSettings,
    pub addressing: Addressing,
    pub region: String,
    pub audit: AuditLog,
    pub locks: KeyLocks,
    /// Admin API, metrics access, checkpoint key (set once by `serve` after construction).
    pub admin: std::sync::OnceLock<AdminSettings>,
    /// What backup software needs beyond S3 (`--governance-as-compliance`, Veeam's SOSAPI); set by
    /// `serve` before the gateway is shared.
    pub tools: ToolSettings,
    /// The free-space reserve of the data volume (set once by `serve`; unset: no reserve).
    pub reserve: std::sync::OnceLock<crate::store::capacity::DiskReserve>,
    /// Resource limits (connections, requests in flight, timeouts, open uploads); set by `serve`
    /// before the gateway is shared.
    pub limits: Limits,
    request_counter: AtomicU64,
}

/// Per-request context: who is asking. Handlers get it read-only; the audit record is built by
/// `Gateway::handle` alone, from the routed operation and the handler's [`Outcome`].
pub struct Ctx {
    pub request_id: String,
    /// The request carried `Expect: 100-continue`.
    pub expect_continue: bool,
    pub auth: Option<Authenticated>,
    /// What the request aimed at, once routed: (operation, bucket, key).
    target: Option<(&'static str, Option<String>, Option<String>)>,
    /// The lock mode the client asked for when `--governance-as-compliance` stored another.
    asked_mode: Option<&'static str>,
}

/// Settings for backup software (Veeam, Kopia, rclone), from `serve`'s config.
#[derive(Debug, Clone, Default)]
pub struct ToolSettings {
    /// `--governance-as-compliance`: GOVERNANCE is accepted and stored as COMPLIANCE instead of
    /// refused (`Op::governance_as_compliance`).
    pub governance_as_compliance: bool,
    /// Veeam's Smart Object Storage API documents; `None` = off (`--veeam-sosapi false`).
    pub sosapi: Option<SosapiSettings>,
}

impl Ctx {
    pub fn principal(&self) -> Option<&Principal> {
        self.auth.as_ref().map(|a| &a.principal)
    }
    /// Name recorded as a version's owner.
    pub fn owner(&self) -> String {
        self.principal().map(|p| p.name.clone()).unwrap_or_default()
    }
}

impl Gateway {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        catalog: Catalog,
        blobs: BlobStore,
        clock: Arc<Clock>,
        policy: Policy,
        users: Vec<User>,
        addressing: Addressing,
        region: String,
        audit: AuditLog,
    ) -> Self {
        Gateway {
            catalog,
            blobs,
            clock,
            policy,
            users: Keyring::new(users),
            auth: AuthSettings::default(),
            addressing,
            region,
            audit,
            locks: KeyLocks::new(),
            admin: std::sync::OnceLock::new(),
            tools: ToolSettings::default(),
            reserve: std::sync::OnceLock::new(),
            limits: Limits::default(),
            request_counter: AtomicU64::new(0),
        }
    }

    fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        let t = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
        format!("{:012X}{:06X}", t & 0xFFFF_FFFF_FFFF, n & 0xFF_FFFF)
    }

    /// Serve one HTTP request.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>, remote: SocketAddr) -> Response<Body> {
        let request_id = self.next_request_id();
        if req.uri().path() == "/health" && matches!(*req.method(), Method::GET | Method::HEAD) {
            return Reply::xml("<Health>ok</Health>".into()).into_response(&request_id);
        }
        if admin::is_admin_path(&self, req.method(), req.uri().path(), req.uri().query()) {
            return admin::handle(self, req, remote, request_id).await;
        }
        // Over the in-flight cap: shed at once, before reading anything more of the request.
        let Some(_in_flight) = self.limits.admit() else {
            return limits::shed(&req, &request_id);
        };
        let started = std::time::Instant::now();
        let now = self.clock.now();
        let span = tracing::info_span!("request", id = %request_id, method = %req.method(), path = %req.uri().path());
        let entered = span.enter();
        let head = req.method() == Method::HEAD;
        let resource = req.uri().path().to_string();
        let mut ctx = Ctx {
            expect_continue: expects_100_continue(req.headers()),
            request_id: request_id.clone(),
            auth: None,
            target: None,
            asked_mode: None,
        };
        let mut audit = AuditEvent {
            time: crate::timefmt::format_iso(now.at()),
            request_id: request_id.clone(),
            source: Some(remote.to_string()),
            operation: format!("{} {}", req.method(), resource),
            ..Default::default()
        };
        // What the request aimed at, from its address alone: the record of a request refused before
        // it was parsed into an operation (signature, a refused header, a malformed document) still
        // names its bucket and key.
        let aimed_at = {
            let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok());
            crate::s3::parse::bucket_and_key(host.or(req.uri().host()), req.uri().path(), &self.addressing)
                .unwrap_or((None, None))
        };
        drop(entered);
        let close_after = expects_continue_without_body(&req);
        // The panic boundary: a panicking handler answers 500 and is audited like any failure.
        let result = {
            use futures_util::FutureExt;
            std::panic::AssertUnwindSafe(self.dispatch(req, &mut ctx))
                .catch_unwind()
                .await
                .unwrap_or_else(|p| Err(limits::panicked(p.as_ref())))
        };
        // The one place the audit record of a request is built.
        audit.principal = ctx.principal().map(|p| p.name.clone());
        if let Some((operation, bucket, key)) = ctx.target.take() {
            audit.operation = operation.to_string();
            audit.bucket = bucket;
            audit.key = key;
        } else {
            (audit.bucket, audit.key) = aimed_at;
        }
        audit.asked_mode = ctx.asked_mode.map(str::to_string);
        let mut response = match result {
            Ok(Done { reply, outcome }) => {
                outcome.record_into(&mut audit);
                audit.status = reply.status.as_u16();
                audit.decision = "allow".into();
                reply.into_response(&request_id)
            }
            Err(e) => {
                audit.status = e.status().as_u16();
                audit.error_code = Some(e.code.as_str().to_string());
                audit.rule = e.rule.map(str::to_string);
                audit.version_id.clone_from(&e.version_id);
                let denied = e.rule.is_some()
                    || matches!(
                        e.code,
                        S3Code::AccessDenied | S3Code::SignatureDoesNotMatch | S3Code::InvalidAccessKeyId
                    );
                audit.decision = if denied { "deny" } else { "error" }.into();
                audit.detail = Some(e.message.clone());
                error_response(&e, &resource, &request_id, head)
            }
        };
        let status = response.status();
        tracing::info!(
            request_id = %request_id,
            op = %audit.operation,
            principal = audit.principal.as_deref().unwrap_or("-"),
            status = status.as_u16(),
            decision = %audit.decision,
            rule = audit.rule.as_deref().unwrap_or("-"),
            "request"
        );
        crate::metrics::record_request(&audit, started.elapsed());
        if let Err(e) = self.audit.append(audit).await {
            tracing::error!(request_id = %request_id, error = &e as &dyn std::error::Error, "audit append failed");
            response = error_response(&S3Error::from(e), &resource, &request_id, head);
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        }
        if close_after || (ctx.expect_continue && !response.status().is_success()) {
            // botocore keeps the status line of a final answer to `Expect: 100-continue` on the pooled
            // connection and mis-reads the next response on it; closing the connection resets it.
            response
                .headers_mut()
                .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        }
        response
    }

    async fn dispatch(&self, req: Request<Incoming>, ctx: &mut Ctx) -> S3Result<Done> {
        let (mut parts, mut incoming) = req.into_parts();
        // Signature freshness is judged by the wall clock: the guarded clock only ever errs late, and a
        // watermark ahead of a correct wall clock must not lock every client out.
        let authn = match auth::authenticate(&parts, &self.users.current(), &self.auth, chrono::Utc::now()) {
            Ok(a) => a,
            Err(e) => {
                auth::body::drain_refused(&parts.headers, &mut incoming).await;
                return Err(e.into());
            }
        };
        hoist_presigned_headers(&mut parts);
        #[cfg(debug_assertions)]
        limits::test_panic_trigger(&parts.headers);
        // From here on the body is only reachable through its verifier.
        let mut body = authn.body(incoming, parts.headers.clone());
        body.set_read_timeout(self.limits.config.body_read_timeout);
        ctx.auth = Some(authn);
        let result = self.route(&parts, &mut body, ctx).await;
        if result.is_err() {
            body.drain_after_refusal().await;
        }
        result
    }

    async fn route(&self, parts: &http::request::Parts, body: &mut VerifiedBody, ctx: &mut Ctx) -> S3Result<Done> {
        let role = ctx
            .principal()
            .map(|p| p.role)
            .ok_or_else(|| S3Error::internal("unauthenticated route"))?;
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or(parts.uri.host());
        let mut op = parse_request(
            &parts.method,
            host,
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
            &parts.headers,
            &self.addressing,
            async |c| body.read_document(c).await.map_err(S3Error::from),
        )
        .await?;
        if self.tools.governance_as_compliance && op.governance_as_compliance() {
            ctx.asked_mode = Some("GOVERNANCE");
        }
        let (b, k) = op.target();
        ctx.target = Some((op.name(), b.map(str::to_string), k.map(str::to_string)));
        if !role.allows(op.permission()) {
            return Err(S3Error::access_denied(format!(
                "Access Denied: the {:?} role may not perform {}",
                role,
                op.name()
            ))
            .with_rule("role"));
        }
        // Bucket-scoped keys: every bucket and key the operation reaches, checked here once.
        if let Some(p) = ctx.principal() {
            p.scope.check(&op)?;
        }
        if let Some(done) = self.sosapi(&op) {
            return done;
        }
        let ctx: &Ctx = ctx;
        match op {
            Op::ListBuckets { params } => self.list_buckets(&params, ctx).map(Done::from),
            Op::CreateBucket { bucket, location } => self
                .create_bucket(&bucket, location.as_deref(), ctx)
                .await
                .map(Done::from),
            Op::HeadBucket { bucket } => self.head_bucket(&bucket).map(Done::from),
            Op::DeleteBucket { bucket } => self.delete_bucket(&bucket).await.map(Done::from),
            Op::GetBucketLocation { bucket } => self.bucket_location(&bucket).map(Done::from),
            Op::GetBucketVersioning { bucket } => self.get_versioning(&bucket).map(Done::from),
            Op::PutBucketVersioning { bucket, enabled } => self.put_versioning(&bucket, enabled).map(Done::from),
            Op::GetObjectLockConfiguration { bucket } => self.get_lock_configuration(&bucket).map(Done::from),
            Op::PutObjectLockConfiguration { bucket, setting } => self.put_lock_configuration(&bucket, setting).await,
            Op::ListObjectsV1 { bucket, params } => self.list_objects(&bucket, &params, false).map(Done::from),
            Op::ListObjectsV2 { bucket, params } => self.list_objects(&bucket, &params, true).map(Done::from),
            Op::ListObjectVersions { bucket, params } => self.list_versions(&bucket, &params).map(Done::from),
            Op::DeleteObjects { bucket, request } => self.delete_objects(&bucket, request, ctx).await,
            Op::PutObject { bucket, key, write } => self.put_object(&bucket, &key, &write, parts, body, ctx).await,
            Op::GetObject(r) => self.get_object(&r, false),
            Op::HeadObject(r) => self.get_object(&r, true),
            Op::DeleteObject { bucket, key, version } => self.delete_object(&bucket, &key, &version, ctx).await,
            Op::GetObjectRetention { bucket, key, version } => {
                self.get_retention(&bucket, &key, &version).map(Done::from)
            }
            Op::PutObjectRetention {
                bucket,
                key,
                version,
                retention,
            } => self.put_retention(&bucket, &key, &version, retention).await,
            Op::GetObjectLegalHold { bucket, key, version } => {
                self.get_legal_hold(&bucket, &key, &version).map(Done::from)
            }
            Op::PutObjectLegalHold {
                bucket,
                key,
                version,
                on,
            } => self.put_legal_hold(&bucket, &key, &version, on).await,
            Op::CreateMultipartUpload {
                bucket,
                key,
                write,
                checksum_algorithm,
                checksum_type,
            } => {
                self.create_multipart(&bucket, &key, &write, checksum_algorithm, checksum_type, ctx)
                    .await
            }
            Op::UploadPart {
                bucket,
                key,
                upload_id,
                part_number,
            } => {
                self.upload_part((&bucket, &key, &upload_id), part_number, parts, body)
                    .await
            }
            Op::UploadPartCopy {
                bucket,
                key,
                upload_id,
                part_number,
                copy,
            } => {
                self.upload_part_copy(&bucket, &key, &upload_id, part_number, &copy)
                    .await
            }
            Op::CompleteMultipartUpload {
                bucket,
                key,
                upload_id,
                conditions,
                checksum,
                checksum_type,
                object_size,
                parts: listed,
            } => {
                let claim = multipart::CompletionClaim {
                    conditions,
                    checksum,
                    checksum_type,
                    object_size,
                };
                self.complete_multipart((&bucket, &key, &upload_id), &claim, &listed, ctx)
                    .await
            }
            Op::AbortMultipartUpload { bucket, key, upload_id } => {
                self.abort_multipart(&bucket, &key, &upload_id).await
            }
            Op::ListParts {
                bucket,
                key,
                upload_id,
                marker,
                max_parts,
            } => self
                .list_parts(&bucket, &key, &upload_id, marker, max_parts)
                .map(Done::from),
            Op::ListMultipartUploads { bucket, params } => self.list_uploads(&bucket, &params).map(Done::from),
            Op::CopyObject {
                bucket,
                key,
                write,
                copy,
            } => self.copy_object(&bucket, &key, &write, &copy, parts, ctx).await,
            Op::GetObjectAttributes {
                bucket,
                key,
                version,
                attributes,
                max_parts,
                part_number_marker,
            } => self
                .get_object_attributes(&bucket, &key, &version, attributes, (max_parts, part_number_marker))
                .map(Done::from),
            Op::GetObjectTagging { bucket, key, version } => self.get_tagging(&bucket, &key, &version).map(Done::from),
            Op::PutObjectTagging {
                bucket,
                key,
                version,
                tags,
            } => self.set_tagging(&bucket, &key, &version, tags, false).await,
            Op::DeleteObjectTagging { bucket, key, version } => {
                self.set_tagging(&bucket, &key, &version, BTreeMap::new(), true).await
            }
            Op::GetObjectAcl { bucket, key, version } => self.get_object_acl(&bucket, &key, &version).map(Done::from),
            Op::PutObjectAcl {
                bucket,
                key,
                version,
                owner_only,
            } => self
                .put_acl(&bucket, Some((&key, &version)), owner_only)
                .map(Done::from),
            Op::GetBucketAcl { bucket } => self.get_bucket_acl(&bucket).map(Done::from),
            Op::PutBucketAcl { bucket, owner_only } => self.put_acl(&bucket, None, owner_only).map(Done::from),
            Op::PutPublicAccessBlock {
                bucket,
                delete,
                all_blocked,
            } => self
                .put_public_access_block(&bucket, delete, all_blocked)
                .map(Done::from),
            Op::PutBucketOwnershipControls {
                bucket,
                delete,
                enforced,
            } => self.put_ownership_controls(&bucket, delete, enforced).map(Done::from),
            Op::GetBucketProbe { bucket, probe } => self.bucket_probe(&bucket, probe).map(Done::from),
            Op::GetBucketLifecycleConfiguration { bucket } => self.get_lifecycle(&bucket).map(Done::from),
            Op::PutBucketLifecycleConfiguration { bucket, configuration } => {
                self.put_lifecycle(&bucket, configuration).await
            }
            Op::DeleteBucketLifecycle { bucket } => self.delete_lifecycle(&bucket).await,
            Op::NotImplemented { what, .. } => Err(S3Error::new(
                S3Code::NotImplemented,
                format!("A header or query you provided implies functionality that is not implemented: {what}"),
            )),
        }
    }
}

/// Query parameters of a presigned URL that stand for request headers (botocore puts e.g.
/// `x-amz-object-lock-mode` in the query, covered by the signature). They are applied as headers so a
/// presigned upload gets the lock settings it was signed with; a real header of the same name wins.
fn hoist_presigned_headers(parts: &mut http::request::Parts) {
    const AUTH_PARAMS: &[&str] = &[
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-signedheaders",
        "x-amz-signature",
        "x-amz-security-token",
        "x-amz-content-sha256",
    ];
    let Some(query) = parts.uri.query() else { return };
    if !query.contains("Signature=") {
        return;
    }
    let Ok(q) = crate::s3::parse::Query::parse(query) else {
        return;
    };
    for (name, value) in q.pairs() {
        let lower = name.to_ascii_lowercase();
        let is_header = lower.starts_with("x-amz-") || lower == "content-md5" || lower == "content-type";
        if !is_header || AUTH_PARAMS.contains(&lower.as_str()) || parts.headers.contains_key(lower.as_str()) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(lower.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            parts.headers.insert(n, v);
        }
    }
}

/// An `Expect: 100-continue` request with an empty body: hyper never sends `100 Continue` for it, so
/// its final answer arrives in place of the `100`.
fn expects_continue_without_body<B>(req: &Request<B>) -> bool {
    let expects = expects_100_continue(req.headers());
    let empty = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0");
    expects && empty
}
