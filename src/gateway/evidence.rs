//! `GET /_wormgate/admin/evidence?since&until&bucket`: the evidence bundle of the running gateway
//! (`evidence::bundle`), signed with its `--audit-signing-key`. The admin module routes, checks the
//! role and audits the request; this builds the tar on a blocking thread from the live catalog,
//! trail, clock and time sources.

use super::Gateway;
use crate::audit::verify::VerifyOptions;
use crate::evidence::bundle::{build_tar, BundleError, BundleRequest, Inputs};
use http::StatusCode;
use std::sync::Arc;

/// Build the bundle; `Ok((tar, audit detail))` or the status and message to answer with.
pub async fn bundle(
    gw: &Arc<Gateway>,
    since: Option<String>,
    until: Option<String>,
    bucket: Option<String>,
) -> Result<(Vec<u8>, String), (StatusCode, String)> {
    let bound = |v: Option<String>| {
        v.map(|s| crate::audit::export::parse_time_bound(&s))
            .transpose()
            .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
    };
    let req = BundleRequest {
        since: bound(since)?,
        until: bound(until)?,
        bucket,
    };
    let settings = gw.admin.get().cloned().unwrap_or_default();
    let Some(key) = settings.signing_key.clone() else {
        return Err((
            StatusCode::CONFLICT,
            "no --audit-signing-key is configured: the bundle's manifest is signed with the audit checkpoint key"
                .into(),
        ));
    };
    let gw = gw.clone();
    let res = tokio::task::spawn_blocking(move || {
        let sources = settings.time_sources.as_deref();
        let inputs = Inputs {
            catalog: &gw.catalog,
            audit_dir: gw.audit.dir(),
            verify: VerifyOptions {
                live: true,
                anchor: Some(gw.audit.head()),
                ..Default::default()
            },
            time: crate::evidence::time::live_status(&gw.clock, &gw.catalog, sources),
            time_sources: Some(
                sources
                    .map(crate::evidence::timesources::TimeSources::names)
                    .unwrap_or_default(),
            ),
            policy: Some(gw.policy.clone()),
            source: "the running gateway (admin API)".into(),
            now: gw.clock.now().at(),
        };
        build_tar(&inputs, &req, &key)
    })
    .await
    .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match res {
        Ok((tar, s)) => Ok((
            tar,
            format!(
                "evidence bundle: {} audit records, {} inventory rows, {} checkpoints, audit verify ok={}",
                s.audit_records, s.inventory_rows, s.checkpoints, s.verify_ok
            ),
        )),
        Err(e @ BundleError::NoSuchBucket(_)) => Err((StatusCode::NOT_FOUND, e.to_string())),
        Err(e @ BundleError::EmptyPeriod { .. }) => Err((StatusCode::BAD_REQUEST, e.to_string())),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}
