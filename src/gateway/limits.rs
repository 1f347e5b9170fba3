//! The per-gateway resource limits (issue 13) and the two request-level guards built on them: the
//! cap on S3 requests in progress (over it: 503 `SlowDown` at once instead of an unbounded queue) and
//! the panic boundary (a panic in a handler becomes a 500 `InternalError` for that request, with its
//! audit record and a log line; the server keeps serving).

use crate::config::LimitsConfig;
use crate::s3::error::{S3Code, S3Error};
use crate::s3::respond::{error_response, Body};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Limits of the HTTP front and the request path, set by `serve` from the config before the gateway
/// is shared; the defaults are the config defaults (so tests that build a gateway get safe ones).
#[derive(Debug, Clone)]
pub struct Limits {
    /// The configured bounds (flags, the `[limits]` table, defaults): one copy of each value.
    pub config: LimitsConfig,
    /// S3 requests in progress.
    in_flight: Arc<Semaphore>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(LimitsConfig::default())
    }
}

impl Limits {
    /// The limits of a configuration, with the in-flight cap ready to admit requests.
    pub fn new(config: LimitsConfig) -> Self {
        let permits = config.max_requests_in_flight.min(Semaphore::MAX_PERMITS);
        Limits {
            config,
            in_flight: Arc::new(Semaphore::new(permits)),
        }
    }

    /// A place among the S3 requests in progress, held until the response head is ready; `None`
    /// when all are taken (the caller answers [`slow_down`] without reading the request).
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        self.in_flight.clone().try_acquire_owned().ok()
    }
}

/// The answer to a request over the in-flight cap: what AWS answers when it sheds load, so SDKs
/// back off and retry.
pub fn slow_down() -> S3Error {
    S3Error::new(
        S3Code::SlowDown,
        "Please reduce your request rate: the gateway has as many requests in progress as it is configured to serve (--max-requests-in-flight)",
    )
}

/// The response to a request shed by the in-flight cap: 503 `SlowDown`, and the connection closed
/// when the request has a body we will not read. Not audited one by one: under a flood the audit
/// append would become the queue the cap exists to avoid (the log line and the client's retry remain).
pub fn shed(req: &http::Request<hyper::body::Incoming>, request_id: &str) -> http::Response<Body> {
    use http_body::Body as _;
    tracing::debug!(request_id, method = %req.method(), path = %req.uri().path(), "shed: too many requests in flight");
    let head = req.method() == http::Method::HEAD;
    let mut resp = error_response(&slow_down(), req.uri().path(), request_id, head);
    if !req.body().is_end_stream() {
        resp.headers_mut()
            .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    resp
}

/// The error a panicking handler turns into; the panic message goes to the log and the audit record.
pub fn panicked(payload: &(dyn std::any::Any + Send)) -> S3Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    tracing::error!(panic = %what, "request handler panicked; answered 500 InternalError");
    S3Error::new(
        S3Code::InternalError,
        format!("We encountered an internal error. Please try again. (handler panicked: {what})"),
    )
}

/// Header that makes a debug build panic inside the request handler, so the integration tests can
/// prove the panic boundary. Compiled out of release builds (`debug_assertions`).
#[cfg(debug_assertions)]
pub const TEST_PANIC_HEADER: &str = "x-wormgate-test-panic";

/// Panic when a signed request carries [`TEST_PANIC_HEADER`] (debug builds only).
#[cfg(debug_assertions)]
pub fn test_panic_trigger(headers: &http::HeaderMap) {
    assert!(
        !headers.contains_key(TEST_PANIC_HEADER),
        "test panic requested by {TEST_PANIC_HEADER}"
    );
}

/// Largest object (AWS: 5 TiB), which a completed multipart upload may not exceed.
pub const MAX_OBJECT: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// Refuse a completion whose parts add up to more than [`MAX_OBJECT`] (`EntityTooLarge`, as AWS).
pub fn check_object_size(parts: impl Iterator<Item = u64>) -> Result<(), S3Error> {
    let total = parts.fold(0u64, u64::saturating_add);
    if total > MAX_OBJECT {
        return Err(S3Error::new(
            S3Code::EntityTooLarge,
            format!("Your proposed upload exceeds the maximum allowed object size: the parts add up to {total} bytes (at most 5 TiB)"),
        ));
    }
    Ok(())
}

/// Refuse a new multipart upload in a bucket that already has `--max-open-uploads` of them: each
/// open upload holds catalog records and part blobs until it is completed or aborted. AWS has no such
/// limit and so no code for it; 403 `QuotaExceeded` is what S3 servers with bucket quotas answer
/// (Ceph RGW), and it tells the client that retrying will not help until uploads are finished.
pub fn check_open_uploads(gw: &super::Gateway, bucket: &str) -> Result<(), S3Error> {
    let max = gw.limits.config.max_open_uploads;
    if gw.catalog.count_uploads(bucket, max)? >= max {
        return Err(S3Error::new(
            S3Code::QuotaExceeded,
            format!("Bucket {bucket} has {max} open multipart uploads, the most allowed (--max-open-uploads): complete or abort some first"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_in_flight_cap_refuses_rather_than_queues() {
        let l = Limits::new(LimitsConfig {
            max_requests_in_flight: 2,
            ..LimitsConfig::default()
        });
        let a = l.admit().expect("first");
        let _b = l.admit().expect("second");
        assert!(l.admit().is_none(), "a third request over a cap of 2 must be refused");
        drop(a);
        assert!(l.admit().is_some(), "a finished request frees its place");
        assert_eq!(slow_down().status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(slow_down().code.as_str(), "SlowDown");
    }

    #[test]
    fn objects_over_5_tib_are_refused() {
        let gib = 1024 * 1024 * 1024u64;
        assert!(
            check_object_size(std::iter::repeat_n(5 * gib, 1024)).is_ok(),
            "exactly 5 TiB"
        );
        let e = check_object_size(std::iter::repeat_n(5 * gib, 1024).chain([1])).unwrap_err();
        assert_eq!(e.code, S3Code::EntityTooLarge);
        assert!(
            check_object_size([u64::MAX, u64::MAX].into_iter()).is_err(),
            "no overflow"
        );
    }

    #[test]
    fn a_panic_payload_becomes_an_internal_error() {
        let e = panicked(&"boom");
        assert_eq!(e.code, S3Code::InternalError);
        assert!(e.message.contains("boom"));
        let e = panicked(&String::from("kaput"));
        assert!(e.message.contains("kaput"));
    }
}
