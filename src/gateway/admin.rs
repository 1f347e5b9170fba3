//! The admin API under `/_wormgate/admin/` and the Prometheus endpoint `/metrics`, handled before S3
//! parsing. Requests are signed with `SigV4` like S3 requests (`auth::authenticate`) and need the
//! auditor or admin role (`Permission::Audit`); confirming the time needs the officer or admin role
//! (`Permission::Govern`). Every admin request gets its audit record, allowed or denied.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET  | `audit/verify` | verify the trail (live), JSON report |
//! | POST | `audit/verify` | same, body = checkpoint JSON (one object or an array) to check too |
//! | GET  | `audit/export?since&until&format=jsonl\|csv&bucket&key` | export records |
//! | GET  | `audit/head` | `{seq, head}` |
//! | GET  | `audit/checkpoint` | newest stored checkpoint |
//! | POST | `audit/checkpoint` | sign a checkpoint now (needs `--audit-signing-key`) |
//! | GET  | `report?bucket&format=csv\|json[&capacity=1]` | inventory (or the capacity summary) |
//! | POST | `scrub?bucket&rate_mb` | scrub now, JSON report |
//! | GET  | `evidence?since&until&bucket` | signed evidence bundle (tar) — auditor, officer or admin |
//! | GET  | `lifecycle/plan?bucket&until&format=csv\|json` | what lifecycle rules will remove, when |
//! | POST | `lifecycle/run?dry_run=true` | one lifecycle pass now (officer), JSON report |
//! | GET  | `time` | clock status |
//! | POST | `time/confirm` | officer confirms the time; body `{"rewind": true, "statement": "…"}` brings a future watermark back |
//! | GET  | `users`, `users/NAME` | list / show users (no secrets) — admin role |
//! | POST | `users/NAME?role&buckets` | add a catalog user: `{access_key, secret_key}`, shown once — admin role |
//! | POST | `users/NAME/disable`, `…/enable`, `…/rotate?grace=24h` | change a catalog user — admin role |
//! | DELETE | `users/NAME` | delete a catalog user — admin role |
//! | GET  | `quota?bucket` | usage, writes in flight and quota of one bucket (or every bucket), free space |
//! | PUT  | `quota?bucket&bytes&versions` | officer sets a bucket's quota (`bytes=500GiB`, `versions=N`) |
//! | DELETE | `quota?bucket` | officer clears a bucket's quota |
//!
//! `/metrics` (also `/_wormgate/metrics`): Prometheus text; anonymous only with `--metrics-anonymous`,
//! otherwise `SigV4` (auditor/admin) or `Authorization: Bearer <--metrics-token>`.

use super::Gateway;
use crate::audit::checkpoint::Checkpoint;
use crate::audit::export::{ExportFilter, ExportFormat};
use crate::audit::verify::{verify, VerifyOptions};
use crate::audit::{AuditEvent, AuditLog};
use crate::auth::{self, Permission, Role};
use crate::encoding;
use crate::evidence::report::ReportFormat;
use crate::evidence::scrub::ScrubOptions;
use crate::keys::{self, KeyError, UserCommand};
use crate::s3::error::S3Error;
use crate::s3::respond::{full_body, Body};
use ed25519_dalek::SigningKey;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use sha2::Digest;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Prefix of every admin path (the command line's `--endpoint` client uses it too).
pub const ADMIN_PREFIX: &str = "/_wormgate/admin/";

/// Largest admin request body.
const MAX_ADMIN_BODY: usize = 1 << 20;

/// Settings of the admin API and metrics endpoint.
#[derive(Clone, Default)]
pub struct AdminSettings {
    /// Serve `/metrics` without authentication.
    pub metrics_anonymous: bool,
    /// Accept `Authorization: Bearer <token>` on `/metrics`.
    pub metrics_token: Option<String>,
    /// Key for signed checkpoints.
    pub signing_key: Option<Arc<SigningKey>>,
    /// Default rate of on-demand scrubs (bytes/s); `None` = unlimited.
    pub scrub_rate: Option<u64>,
    /// The configured time sources (their last check is part of the time status).
    pub time_sources: Option<Arc<crate::evidence::timesources::TimeSources>>,
    /// The length of a lifecycle day (`--lifecycle-day`); `None` = 24 h.
    pub lifecycle_day: Option<chrono::Duration>,
}

/// Whether the gateway handles this path itself (not S3).
pub fn is_admin_path(gw: &Gateway, method: &Method, path: &str, query: Option<&str>) -> bool {
    if path.starts_with("/_wormgate/") {
        return true;
    }
    // `/metrics` unless it is a real bucket named `metrics` (path-style S3 listing).
    path == "/metrics"
        && *method == Method::GET
        && query.is_none()
        && !matches!(gw.catalog.bucket("metrics"), Ok(Some(_)))
}

struct Answer {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Answer {
    fn json<T: serde::Serialize>(v: &T) -> Answer {
        let mut body = serde_json::to_vec_pretty(v).unwrap_or_default();
        body.push(b'\n');
        Answer {
            status: StatusCode::OK,
            content_type: "application/json",
            body,
        }
    }
    fn text(ct: &'static str, body: Vec<u8>) -> Answer {
        Answer {
            status: StatusCode::OK,
            content_type: ct,
            body,
        }
    }
    fn error(status: StatusCode, msg: impl std::fmt::Display) -> Answer {
        let mut body = serde_json::to_vec(&serde_json::json!({ "error": msg.to_string() })).unwrap_or_default();
        body.push(b'\n');
        Answer {
            status,
            content_type: "application/json",
            body,
        }
    }
}

/// The first parameter whose raw name is `name`, decoded.
fn query_param(q: &str, name: &str) -> Option<String> {
    let p = encoding::split_query(q).into_iter().find(|p| p.name == name)?;
    let v = encoding::percent_decode(p.value.unwrap_or("").as_bytes(), true);
    Some(String::from_utf8_lossy(&v).into_owned())
}

/// Handle an admin or metrics request (see module doc).
pub async fn handle(
    gw: Arc<Gateway>,
    req: Request<Incoming>,
    remote: SocketAddr,
    request_id: String,
) -> Response<Body> {
    let started = Instant::now();
    let now = gw.clock.now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let q = parts.uri.query().unwrap_or("").to_string();
    let is_metrics = path == "/metrics" || path == "/_wormgate/metrics";
    let route = path.strip_prefix(ADMIN_PREFIX).unwrap_or(&path).to_string();
    let mut ev = AuditEvent {
        time: crate::timefmt::format_iso(now.at()),
        request_id: request_id.clone(),
        source: Some(remote.to_string()),
        operation: if is_metrics {
            "Metrics".into()
        } else {
            admin_op_name(&parts.method, &route)
        },
        ..Default::default()
    };
    let answer = if is_metrics && metrics_open(&gw, &parts) {
        None
    } else {
        match auth::authenticate(&parts, &gw.users.current(), &gw.auth, chrono::Utc::now()) {
            Err(e) => {
                let e = crate::s3::error::S3Error::from(e);
                ev.decision = "deny".into();
                ev.error_code = Some(e.code.as_str().to_string());
                ev.detail = Some(e.message.clone());
                Some(Answer::error(StatusCode::FORBIDDEN, e.message))
            }
            Ok(a) => {
                ev.principal = Some(a.principal.name.clone());
                let need = if route == "time/confirm"
                    || route == "lifecycle/run"
                    || (route == "quota" && parts.method != Method::GET)
                {
                    Permission::Govern
                } else if is_users_route(&route) {
                    Permission::ManageKeys
                } else {
                    Permission::Audit
                };
                if role_may(a.principal.role, need, &route) {
                    match read_body(body, &a.payload).await {
                        Err(msg) => {
                            ev.decision = "error".into();
                            Some(Answer::error(StatusCode::BAD_REQUEST, msg))
                        }
                        Ok(bytes) => {
                            ev.bytes_in = bytes.len() as u64;
                            Some(if is_metrics {
                                metrics_answer(&gw)
                            } else {
                                route_admin(&gw, &parts.method, &route, &q, bytes, &mut ev).await
                            })
                        }
                    }
                } else {
                    ev.decision = "deny".into();
                    ev.rule = Some("role".into());
                    Some(Answer::error(
                        StatusCode::FORBIDDEN,
                        format!("the {:?} role may not use {}", a.principal.role, ev.operation),
                    ))
                }
            }
        }
    };
    let answer = answer.unwrap_or_else(|| metrics_answer(&gw));
    ev.status = answer.status.as_u16();
    ev.bytes_out = answer.body.len() as u64;
    if ev.decision.is_empty() {
        ev.decision = if answer.status.is_success() { "allow" } else { "error" }.into();
    }
    tracing::info!(request_id = %request_id, op = %ev.operation, principal = ev.principal.as_deref().unwrap_or("-"),
        status = ev.status, decision = %ev.decision, "admin request");
    crate::metrics::record_request(&ev, started.elapsed());
    // Successful scrapes are not audited (one every few seconds would drown the trail); everything
    // else, allowed or denied, is.
    let mut answer = answer;
    if !(is_metrics && ev.decision == "allow") {
        if let Err(e) = gw.audit.append(ev).await {
            tracing::error!(request_id = %request_id, error = &e as &dyn std::error::Error, "audit append failed");
            answer = Answer::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("audit append failed: {}", S3Error::from(e).message),
            );
        }
    }
    let mut resp = Response::new(full_body(answer.body));
    *resp.status_mut() = answer.status;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(answer.content_type),
    );
    if let Ok(v) = http::HeaderValue::from_str(&request_id) {
        h.insert("x-amz-request-id", v);
    }
    resp
}

/// Whether `role` may use `route`, which needs `need`. The evidence bundle is what an officer hands an
/// examiner: officers may fetch it too.
fn role_may(role: Role, need: Permission, route: &str) -> bool {
    role.allows(need) || (route == "evidence" && role.allows(Permission::Govern))
}

fn is_users_route(route: &str) -> bool {
    route == "users" || route.starts_with("users/")
}

fn admin_op_name(method: &Method, route: &str) -> String {
    if is_users_route(route) {
        let action = route.split('/').nth(2);
        let name = match (method.as_str(), route == "users", action) {
            ("GET", true, None) => "AdminUserList",
            ("GET", false, None) => "AdminUserShow",
            ("POST", false, None) => "AdminUserAdd",
            ("POST", false, Some("disable")) => "AdminUserDisable",
            ("POST", false, Some("enable")) => "AdminUserEnable",
            ("POST", false, Some("rotate")) => "AdminUserRotate",
            ("DELETE", false, None) => "AdminUserDelete",
            _ => "AdminUnknown",
        };
        return name.to_string();
    }
    let name = match (method.as_str(), route) {
        ("GET" | "POST", "audit/verify") => "AdminAuditVerify",
        ("GET", "audit/export") => "AdminAuditExport",
        ("GET", "audit/head") => "AdminAuditHead",
        ("GET", "audit/checkpoint") => "AdminGetCheckpoint",
        ("POST", "audit/checkpoint") => "AdminSignCheckpoint",
        ("GET", "report") => "AdminReport",
        ("POST", "scrub") => "AdminScrub",
        ("GET", "evidence") => "AdminEvidenceBundle",
        ("GET", "lifecycle/plan") => "AdminLifecyclePlan",
        ("POST", "lifecycle/run") => "AdminLifecycleRun",
        ("GET", "time") => "AdminTimeStatus",
        ("POST", "time/confirm") => "AdminTimeConfirm",
        ("GET", "quota") => "AdminQuotaGet",
        ("PUT", "quota") => "AdminQuotaSet",
        ("DELETE", "quota") => "AdminQuotaClear",
        _ => "AdminUnknown",
    };
    name.to_string()
}

fn settings(gw: &Gateway) -> AdminSettings {
    gw.admin.get().cloned().unwrap_or_default()
}

fn metrics_open(gw: &Gateway, parts: &http::request::Parts) -> bool {
    let s = settings(gw);
    if s.metrics_anonymous {
        return true;
    }
    let Some(token) = &s.metrics_token else {
        return false;
    };
    let Some(h) = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    h.strip_prefix("Bearer ")
        .is_some_and(|t| subtle::ConstantTimeEq::ct_eq(t.trim().as_bytes(), token.as_bytes()).into())
}

fn metrics_answer(gw: &Gateway) -> Answer {
    let snap = crate::metrics::Snapshot {
        audit_head: gw.audit.head(),
        clock_alarm: gw.clock.alarm(),
        watermark_ms: gw.clock.watermark_ms(),
        capacity: gw
            .catalog
            .list_buckets()
            .map(|l| {
                let names: Vec<String> = l.into_iter().map(|b| b.name).collect();
                gw.catalog.capacity().buckets(&names)
            })
            .unwrap_or_default(),
        free_space: gw.disk_reserve().and_then(|r| r.status().ok()),
    };
    Answer::text("text/plain; version=0.0.4", crate::metrics::render(&snap).into_bytes())
}

/// Why an admin request's body was refused (answered 400).
#[derive(Debug, thiserror::Error)]
enum BodyError {
    /// The body broke off or is over [`MAX_ADMIN_BODY`].
    #[error("cannot read the request body: {0}")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The signed payload hash does not match the bytes.
    #[error("the body does not match x-amz-content-sha256")]
    HashMismatch,
    /// aws-chunked bodies are for object uploads only.
    #[error("admin requests take a plain (not aws-chunked) body")]
    Chunked,
}

async fn read_body(body: Incoming, payload: &auth::PayloadMode) -> Result<Vec<u8>, BodyError> {
    let limited = http_body_util::Limited::new(body, MAX_ADMIN_BODY);
    let bytes = limited.collect().await.map_err(BodyError::Read)?.to_bytes();
    match payload {
        auth::PayloadMode::Sha256Hex(h) => {
            if hex::encode(sha2::Sha256::digest(&bytes)) != h.to_ascii_lowercase() {
                return Err(BodyError::HashMismatch);
            }
        }
        auth::PayloadMode::Unsigned => {}
        _ => return Err(BodyError::Chunked),
    }
    Ok(bytes.to_vec())
}

async fn route_admin(
    gw: &Arc<Gateway>,
    method: &Method,
    route: &str,
    q: &str,
    body: Vec<u8>,
    ev: &mut AuditEvent,
) -> Answer {
    if is_users_route(route) {
        return users_admin(gw, method, route, q, ev).await;
    }
    let audit_dir = gw.audit.dir().to_path_buf();
    match (method.as_str(), route) {
        ("GET" | "POST", "audit/verify") => {
            let mut opts = VerifyOptions {
                live: true,
                anchor: Some(gw.audit.head()),
                ..Default::default()
            };
            if !body.is_empty() {
                let parsed: Result<Vec<Checkpoint>, _> = serde_json::from_slice::<Vec<Checkpoint>>(&body)
                    .or_else(|_| serde_json::from_slice::<Checkpoint>(&body).map(|c| vec![c]));
                match parsed {
                    Ok(c) => opts.checkpoints = c,
                    Err(e) => return Answer::error(StatusCode::BAD_REQUEST, format!("body is not a checkpoint: {e}")),
                }
            }
            if let Some(k) = query_param(q, "trusted_key") {
                opts.trusted_key = Some(k);
            }
            match tokio::task::spawn_blocking(move || verify(&audit_dir, &opts)).await {
                Ok(Ok(rep)) => {
                    ev.detail = Some(format!(
                        "ok={} records={} problems={}",
                        rep.ok,
                        rep.records,
                        rep.problems.len()
                    ));
                    Answer::json(&rep)
                }
                Ok(Err(e)) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                Err(e) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
        ("GET", "audit/export") => {
            let mut filter = ExportFilter {
                bucket: query_param(q, "bucket"),
                key: query_param(q, "key"),
                ..Default::default()
            };
            for (name, slot) in [("since", &mut filter.since), ("until", &mut filter.until)] {
                if let Some(v) = query_param(q, name) {
                    match crate::audit::export::parse_time_bound(&v) {
                        Ok(t) => *slot = Some(t),
                        Err(e) => return Answer::error(StatusCode::BAD_REQUEST, e),
                    }
                }
            }
            let format = match query_param(q, "format").as_deref() {
                None | Some("jsonl") => ExportFormat::Jsonl,
                Some("csv") => ExportFormat::Csv,
                Some(f) => return Answer::error(StatusCode::BAD_REQUEST, format!("unknown format {f}")),
            };
            ev.detail = Some(format!("export {q}"));
            let res = tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                crate::audit::export::export(&audit_dir, &filter, format, &mut out).map(|_| out)
            })
            .await;
            match res {
                Ok(Ok(out)) => Answer::text(
                    if format == ExportFormat::Csv {
                        "text/csv"
                    } else {
                        "application/x-ndjson"
                    },
                    out,
                ),
                Ok(Err(e)) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                Err(e) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
        ("GET", "audit/head") => {
            let (seq, head) = gw.audit.head();
            Answer::json(&serde_json::json!({ "seq": seq, "head": head }))
        }
        ("GET", "audit/checkpoint") => match Checkpoint::latest(&audit_dir) {
            Some(c) => Answer::json(&c),
            None => Answer::error(StatusCode::NOT_FOUND, "no checkpoint has been signed yet"),
        },
        ("POST", "audit/checkpoint") => match &settings(gw).signing_key {
            None => Answer::error(StatusCode::CONFLICT, "no --audit-signing-key is configured"),
            Some(k) => match sign_checkpoint(&gw.audit, k, &gw.clock).await {
                Ok(c) => {
                    ev.detail = Some(format!("checkpoint seq {} head {}", c.seq, c.head));
                    Answer::json(&c)
                }
                Err(e) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e),
            },
        },
        ("GET", "report") => {
            let format = match query_param(q, "format").as_deref() {
                None | Some("csv") => ReportFormat::Csv,
                Some("json") => ReportFormat::Json,
                Some(f) => return Answer::error(StatusCode::BAD_REQUEST, format!("unknown format {f}")),
            };
            let bucket = query_param(q, "bucket");
            ev.bucket.clone_from(&bucket);
            if query_param(q, "capacity").is_some_and(|v| v == "1" || v == "true") {
                let free = gw.disk_reserve().and_then(|r| r.status().ok());
                return match crate::evidence::report::capacity(&gw.catalog, bucket.as_deref(), free) {
                    Ok(r) => {
                        ev.detail = Some(format!("capacity of {} buckets", r.buckets.len()));
                        Answer::text(
                            if format == ReportFormat::Csv {
                                "text/csv"
                            } else {
                                "application/json"
                            },
                            crate::evidence::report::render_capacity(&r, format).into_bytes(),
                        )
                    }
                    Err(e) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e),
                };
            }
            let cat = gw.catalog.clone();
            let res = tokio::task::spawn_blocking(move || crate::evidence::report::rows(&cat, bucket.as_deref())).await;
            match res {
                Ok(Ok(rows)) => {
                    ev.detail = Some(format!("{} rows", rows.len()));
                    Answer::text(
                        if format == ReportFormat::Csv {
                            "text/csv"
                        } else {
                            "application/json"
                        },
                        crate::evidence::report::render(&rows, format).into_bytes(),
                    )
                }
                Ok(Err(e)) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e),
                Err(e) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
        ("GET", "evidence") => {
            let bucket = query_param(q, "bucket");
            ev.bucket.clone_from(&bucket);
            match super::evidence::bundle(gw, query_param(q, "since"), query_param(q, "until"), bucket).await {
                Ok((tar, detail)) => {
                    ev.detail = Some(detail);
                    Answer::text("application/x-tar", tar)
                }
                Err((status, msg)) => Answer::error(status, msg),
            }
        }
        ("POST", "scrub") => {
            let rate = match query_param(q, "rate_mb") {
                Some(v) => match v.parse::<u64>() {
                    Ok(0) => None,
                    Ok(n) => Some(n * 1024 * 1024),
                    Err(_) => return Answer::error(StatusCode::BAD_REQUEST, "rate_mb must be a whole number"),
                },
                None => settings(gw).scrub_rate,
            };
            let opts = ScrubOptions {
                bucket: query_param(q, "bucket"),
                rate_bytes_per_s: rate,
                min_age: std::time::Duration::from_secs(3600),
            };
            ev.bucket.clone_from(&opts.bucket);
            match run_scrub(gw.catalog.clone(), gw.blobs.clone(), opts).await {
                Ok(rep) => {
                    ev.detail = Some(scrub_detail(&rep));
                    Answer::json(&rep)
                }
                Err(e) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e),
            }
        }
        ("GET", "lifecycle/plan") => {
            let format = match query_param(q, "format").as_deref() {
                None | Some("csv") => crate::lifecycle::PlanFormat::Csv,
                Some("json") => crate::lifecycle::PlanFormat::Json,
                Some(f) => return Answer::error(StatusCode::BAD_REQUEST, format!("unknown format {f}")),
            };
            let horizon = match query_param(q, "until") {
                None => i64::MAX,
                Some(v) => match crate::audit::export::parse_time_bound(&v) {
                    Ok(t) => t.timestamp_millis(),
                    Err(e) => return Answer::error(StatusCode::BAD_REQUEST, e),
                },
            };
            let bucket = query_param(q, "bucket");
            ev.bucket.clone_from(&bucket);
            let day_ms = settings(gw)
                .lifecycle_day
                .unwrap_or(chrono::Duration::days(1))
                .num_milliseconds()
                .max(1);
            let cat = gw.catalog.clone();
            let res = tokio::task::spawn_blocking(move || {
                crate::lifecycle::plan_all(&cat, bucket.as_deref(), horizon, day_ms)
            })
            .await;
            match res {
                Ok(Ok(actions)) => {
                    ev.detail = Some(format!("{} planned actions", actions.len()));
                    let ct = if format == crate::lifecycle::PlanFormat::Csv {
                        "text/csv"
                    } else {
                        "application/json"
                    };
                    Answer::text(ct, crate::lifecycle::render_plan(&actions, format).into_bytes())
                }
                Ok(Err(e)) => Answer::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    crate::s3::error::S3Error::from(e).message,
                ),
                Err(e) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
        ("POST", "lifecycle/run") => {
            let dry_run = query_param(q, "dry_run").is_some_and(|v| v == "true" || v == "1");
            let day = settings(gw).lifecycle_day.unwrap_or(chrono::Duration::days(1));
            match gw.lifecycle_pass(day, dry_run).await {
                Ok(rep) => {
                    ev.detail = Some(format!(
                        "lifecycle pass{}: versions removed {}, bytes {}, markers removed {}, markers added {}, uploads aborted {}, skipped retained {}, held {}, failed {}",
                        if dry_run { " (dry run)" } else { "" },
                        rep.versions_removed,
                        rep.bytes_reclaimed,
                        rep.markers_removed,
                        rep.markers_added,
                        rep.uploads_aborted,
                        rep.skipped_retained,
                        rep.skipped_held,
                        rep.failed
                    ));
                    Answer::json(&rep)
                }
                Err(e) => Answer::error(StatusCode::INTERNAL_SERVER_ERROR, e.message),
            }
        }
        ("GET", "time") => {
            let sources = settings(gw).time_sources;
            Answer::json(&crate::evidence::time::live_status(
                &gw.clock,
                &gw.catalog,
                sources.as_deref(),
            ))
        }
        ("POST", "time/confirm") => {
            let req: crate::evidence::time::ConfirmRequest = if body.iter().all(u8::is_ascii_whitespace) {
                crate::evidence::time::ConfirmRequest::default()
            } else {
                match serde_json::from_slice(&body) {
                    Ok(r) => r,
                    Err(e) => {
                        ev.detail = Some(format!("bad confirmation request: {e}"));
                        return Answer::error(
                            StatusCode::BAD_REQUEST,
                            format!("the body must be JSON {{\"rewind\": bool, \"statement\": \"…\", \"note\": \"…\"}}: {e}"),
                        );
                    }
                }
            };
            let sources = settings(gw).time_sources;
            match crate::evidence::time::confirm_live(&gw.clock, &gw.catalog, sources.as_deref(), &req) {
                Ok((status, detail)) => {
                    ev.detail = Some(detail);
                    Answer::json(&status)
                }
                Err(e) => {
                    ev.decision = "deny".into();
                    ev.detail = Some(format!("time confirmation refused: {e}"));
                    Answer::error(StatusCode::CONFLICT, e)
                }
            }
        }
        ("GET", "quota") => quota_get(gw, query_param(q, "bucket"), ev),
        ("PUT" | "DELETE", "quota") => {
            let Some(bucket) = query_param(q, "bucket") else {
                return Answer::error(StatusCode::BAD_REQUEST, "quota needs ?bucket=");
            };
            ev.bucket = Some(bucket.clone());
            let quota = if method == Method::PUT {
                match crate::store::capacity::parse_quota(
                    query_param(q, "bytes").as_deref(),
                    query_param(q, "versions").as_deref(),
                ) {
                    Ok(quota) => Some(quota),
                    Err(e) => return Answer::error(StatusCode::BAD_REQUEST, e.to_string()),
                }
            } else {
                None
            };
            match gw.catalog.bucket(&bucket) {
                Ok(Some(_)) => {}
                Ok(None) => return Answer::error(StatusCode::NOT_FOUND, format!("no bucket {bucket}")),
                Err(e) => {
                    return Answer::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        crate::s3::error::S3Error::from(e).message,
                    )
                }
            }
            match gw.catalog.set_quota(&bucket, quota).await {
                Ok(old) => {
                    ev.detail = Some(quota_change_detail(&bucket, quota, old));
                    quota_get(gw, Some(bucket), ev)
                }
                Err(e) => {
                    let e = crate::s3::error::S3Error::from(e);
                    Answer::error(e.status(), e.message)
                }
            }
        }
        _ => Answer::error(StatusCode::NOT_FOUND, format!("no admin operation {method} {route}")),
    }
}

fn key_error(e: &KeyError) -> Answer {
    Answer::error(
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        e.to_string(),
    )
}

/// `users…` routes: the same `keys::apply` as the offline `wormgate user`, then the keyring is
/// refreshed so the change holds from the next request on.
async fn users_admin(gw: &Arc<Gateway>, method: &Method, route: &str, q: &str, ev: &mut AuditEvent) -> Answer {
    let segs: Vec<&str> = route.split('/').collect();
    let config_users = gw.users.config_users();
    let name = segs
        .get(1)
        .map(|n| String::from_utf8_lossy(&encoding::percent_decode(n.as_bytes(), false)).into_owned());
    let cmd = match (method.as_str(), name, segs.get(2).copied(), segs.len()) {
        ("GET", None, None, 1) => {
            return match keys::list(&gw.catalog, &config_users) {
                Ok(v) => Answer::json(&v),
                Err(e) => key_error(&e),
            }
        }
        ("GET", Some(n), None, 2) => {
            return match keys::show(&gw.catalog, &config_users, &n) {
                Ok(v) => Answer::json(&v),
                Err(e) => key_error(&e),
            }
        }
        ("POST", Some(name), None, 2) => {
            let role = match query_param(q, "role").as_deref().map(Role::parse) {
                Some(Ok(r)) => r,
                Some(Err(e)) => return Answer::error(StatusCode::BAD_REQUEST, e.to_string()),
                None => return Answer::error(StatusCode::BAD_REQUEST, "role is required"),
            };
            let buckets = query_param(q, "buckets")
                .map(|b| {
                    b.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            UserCommand::Add { name, role, buckets }
        }
        ("POST", Some(name), Some("disable"), 3) => UserCommand::Disable { name },
        ("POST", Some(name), Some("enable"), 3) => UserCommand::Enable { name },
        ("POST", Some(name), Some("rotate"), 3) => {
            let grace = match keys::parse_grace(&query_param(q, "grace").unwrap_or_default()) {
                Ok(g) => g,
                Err(e) => return Answer::error(StatusCode::BAD_REQUEST, e),
            };
            UserCommand::Rotate { name, grace }
        }
        ("DELETE", Some(name), None, 2) => UserCommand::Delete { name },
        _ => return Answer::error(StatusCode::NOT_FOUND, format!("no admin operation {method} {route}")),
    };
    ev.detail = Some(format!("user {}", cmd.name()));
    let now = gw.clock.now().at();
    let (key, detail) = match keys::apply(&gw.catalog, &cmd, &config_users, now) {
        Ok(r) => r,
        Err(e) => {
            ev.detail = Some(format!("user {}: {e}", cmd.name()));
            return key_error(&e);
        }
    };
    ev.detail = Some(detail);
    if let Err(e) = gw.catalog.durable().await {
        return Answer::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::s3::error::S3Error::from(e).message,
        );
    }
    match keys::users(&gw.catalog) {
        Ok(u) => gw.users.set_catalog(u),
        Err(e) => return key_error(&e),
    }
    match key {
        Some(k) => Answer::json(&k),
        None => Answer::json(&serde_json::json!({ "ok": true })),
    }
}

/// The audit detail of a quota change: what it is now and what it was.
pub fn quota_change_detail(
    bucket: &str,
    new: Option<crate::store::capacity::Quota>,
    old: Option<crate::store::capacity::Quota>,
) -> String {
    let show = |q: Option<crate::store::capacity::Quota>| q.map_or("none".to_string(), |q| q.to_string());
    format!("quota of bucket {bucket}: {} (was {})", show(new), show(old))
}

/// Usage and quota of one bucket (or all), with the free space of the data volume.
fn quota_get(gw: &Gateway, bucket: Option<String>, ev: &mut AuditEvent) -> Answer {
    let names = match &bucket {
        Some(b) => match gw.catalog.bucket(b) {
            Ok(Some(_)) => vec![b.clone()],
            Ok(None) => return Answer::error(StatusCode::NOT_FOUND, format!("no bucket {b}")),
            Err(e) => {
                return Answer::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    crate::s3::error::S3Error::from(e).message,
                )
            }
        },
        None => match gw.catalog.list_buckets() {
            Ok(l) => l.into_iter().map(|b| b.name).collect(),
            Err(e) => {
                return Answer::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    crate::s3::error::S3Error::from(e).message,
                )
            }
        },
    };
    if ev.bucket.is_none() {
        ev.bucket = bucket;
    }
    let free = gw.disk_reserve().and_then(|r| r.status().ok());
    Answer::json(&serde_json::json!({
        "buckets": gw.catalog.capacity().buckets(&names),
        "free_space": free,
        "below_reserve": free.map(|f| f.below_reserve()),
    }))
}

/// One-line summary of a scrub for the audit record.
pub fn scrub_detail(rep: &crate::evidence::scrub::ScrubReport) -> String {
    let mut s = format!(
        "scrub ok={} versions={} bytes={} missing={} corrupt={} unreferenced={}",
        rep.ok, rep.checked_versions, rep.checked_bytes, rep.missing, rep.corrupt, rep.unreferenced
    );
    for f in rep
        .findings
        .iter()
        .filter(|f| f.kind != crate::evidence::scrub::FindingKind::Unreferenced)
        .take(20)
    {
        let _ = write!(s, "; {f}");
    }
    s
}

/// Why a scrub or a checkpoint started from the admin API or the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminTaskError {
    /// The scrub itself failed.
    #[error(transparent)]
    Scrub(#[from] crate::evidence::error::EvidenceError),
    /// The blocking task panicked or was cancelled.
    #[error("{0}")]
    Task(#[from] tokio::task::JoinError),
    /// The checkpoint file could not be written.
    #[error("cannot store checkpoint: {0}")]
    StoreCheckpoint(#[source] std::io::Error),
    /// The checkpoint's audit record could not be made durable.
    #[error("internal error: {0}")]
    Audit(#[source] crate::audit::AuditError),
}

/// Run a scrub (disk or upstream backend) on a blocking thread and publish its result to the metrics.
pub async fn run_scrub(
    catalog: crate::store::Catalog,
    blobs: crate::store::BlobStore,
    opts: ScrubOptions,
) -> Result<crate::evidence::scrub::ScrubReport, AdminTaskError> {
    let started = Instant::now();
    let rep =
        tokio::task::spawn_blocking(move || crate::evidence::scrub::scrub_store(&catalog, &blobs, &opts)).await??;
    crate::metrics::record_scrub(rep.summary(started.elapsed()));
    Ok(rep)
}

/// Sign the current chain head, store the checkpoint beside the trail and record it in the trail.
pub async fn sign_checkpoint(
    log: &AuditLog,
    key: &SigningKey,
    clock: &crate::lock::Clock,
) -> Result<Checkpoint, AdminTaskError> {
    let (seq, head) = log.head();
    let time = crate::timefmt::format_iso(clock.now().at());
    let c = Checkpoint::sign(key, seq, &head, &time);
    let path = c.store(log.dir()).map_err(AdminTaskError::StoreCheckpoint)?;
    crate::metrics::checkpoint_signed(seq);
    tracing::info!(audit_seq = seq, audit_head = %head, file = %path.display(), "signed audit checkpoint");
    let mut ev = AuditEvent::internal("AuditCheckpoint", time);
    ev.detail = Some(serde_json::to_string(&c).unwrap_or_default());
    log.append(ev).await.map_err(AdminTaskError::Audit)?;
    Ok(c)
}

#[cfg(test)]
#[path = "admin_fuzz_tests.rs"]
mod fuzz_tests;
