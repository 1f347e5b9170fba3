//! The benchmark scenarios of issue 15. Each writes under `<prefix><scenario>/` in one bucket, so
//! rounds and targets never see each other's objects.

use crate::body::PayloadCache;
use crate::client::{Body, Req, Response, S3};
use crate::stats::{drive, Outcome, Phase};
use crate::xml;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Sizes and concurrency of every scenario (already resolved from the flags and `--smoke`).
#[derive(Clone, Debug)]
pub struct Plan {
    pub small_size: u64,
    pub small_count: usize,
    pub small_in_flight: usize,
    pub list_page: usize,
    pub list_walks: usize,
    pub medium_size: u64,
    pub medium_count: usize,
    pub medium_in_flight: usize,
    pub large_size: u64,
    pub large_count: usize,
    pub huge_size: u64,
    pub population_keys: usize,
    pub versions_per_key: usize,
    pub population_in_flight: usize,
    pub retention_count: usize,
    pub retention_in_flight: usize,
    pub retain_for: Duration,
    pub versions_page: usize,
    pub versions_walks: usize,
    pub delete_batch: usize,
    pub delete_in_flight: usize,
    /// Distinct bodies among the medium objects (each hashed once).
    pub medium_distinct: usize,
}

pub const ALL: &[&str] = &["small", "medium", "large", "huge", "retention", "versions", "delete"];

pub struct Ctx {
    pub s3: S3,
    pub bucket: String,
    pub prefix: String,
    pub cache: PayloadCache,
    pub plan: Plan,
    pub server_pid: Option<u32>,
}

fn check(r: Result<Response, String>) -> Result<Response, String> {
    let r = r?;
    if r.ok() {
        Ok(r)
    } else {
        Err(r.describe())
    }
}

fn micros(t: Instant) -> u32 {
    t.elapsed().as_micros().min(u32::MAX as u128) as u32
}

/// Create the bucket with Object Lock (wormgate locks every bucket anyway; SeaweedFS needs the
/// header). An existing bucket of ours is fine.
pub async fn ensure_bucket(ctx: &Ctx) -> Result<(), String> {
    let mut req = Req::new("PUT", &ctx.bucket, "");
    req.headers
        .push(("x-amz-bucket-object-lock-enabled".into(), "true".into()));
    let r = ctx.s3.send(req).await?;
    if r.ok() || (r.status == 409 && r.describe().contains("BucketAlreadyOwnedByYou")) {
        return Ok(());
    }
    if r.status == 409 {
        eprintln!(
            "wormgate-bench: bucket {} exists already ({}); using it",
            ctx.bucket,
            r.describe()
        );
        return Ok(());
    }
    Err(format!("creating bucket {}: {}", ctx.bucket, r.describe()))
}

async fn put(ctx: &Ctx, key: &str, seed: u64, size: u64) -> Result<Response, String> {
    let payload = ctx.cache.get(seed, size);
    let mut req = Req::new("PUT", &ctx.bucket, key);
    req.body = Body::Object(payload);
    check(ctx.s3.send(req).await)
}

async fn get(ctx: &Ctx, key: &str, size: u64) -> Result<Outcome, String> {
    let r = check(ctx.s3.send(Req::new("GET", &ctx.bucket, key)).await)?;
    if r.body_len != size {
        return Err(format!("GET {key}: {} bytes, expected {size}", r.body_len));
    }
    Ok(Outcome {
        bytes: size,
        ..Default::default()
    })
}

fn key(ctx: &Ctx, scenario: &str, i: usize) -> String {
    format!("{}{scenario}/{i:07}", ctx.prefix)
}

/// PUT `count` objects of `size` (seed of object i: `seed_of(i)`), then GET them back.
async fn put_get(
    ctx: &Arc<Ctx>,
    scenario: &'static str,
    size: u64,
    count: usize,
    in_flight: usize,
    seed_of: fn(usize, &Plan) -> u64,
    out: &mut Vec<Phase>,
) {
    // Hash every distinct body before the clock starts.
    for i in 0..count {
        ctx.cache.get(seed_of(i, &ctx.plan), size);
    }
    let c = ctx.clone();
    out.push(
        drive(scenario, "PUT", size, count, in_flight, move |i| {
            let c = c.clone();
            async move {
                put(&c, &key(&c, scenario, i), seed_of(i, &c.plan), size).await?;
                Ok(Outcome {
                    bytes: size,
                    ..Default::default()
                })
            }
        })
        .await,
    );
    let c = ctx.clone();
    out.push(
        drive(scenario, "GET", size, count, in_flight, move |i| {
            let c = c.clone();
            async move { get(&c, &key(&c, scenario, i), size).await }
        })
        .await,
    );
}

pub async fn small(ctx: &Arc<Ctx>, out: &mut Vec<Phase>) {
    let p = ctx.plan.clone();
    put_get(
        ctx,
        "small",
        p.small_size,
        p.small_count,
        p.small_in_flight,
        |i, _| 1_000_000 + i as u64,
        out,
    )
    .await;
    let c = ctx.clone();
    out.push(
        drive(
            "small",
            "HEAD",
            p.small_size,
            p.small_count,
            p.small_in_flight,
            move |i| {
                let c = c.clone();
                async move {
                    check(c.s3.send(Req::new("HEAD", &c.bucket, &key(&c, "small", i))).await)?;
                    Ok(Outcome::default())
                }
            },
        )
        .await,
    );
    // ListObjectsV2: `list_walks` walks of the whole prefix, `list_page` keys a page; one op = one page.
    let c = ctx.clone();
    let op = format!("LIST v2 ({} keys/page)", p.list_page);
    let prefix = format!("{}small/", ctx.prefix);
    let mut phase = drive("small", &op, 0, p.list_walks, p.small_in_flight, move |_| {
        let c = c.clone();
        let prefix = prefix.clone();
        async move {
            let mut o = Outcome::default();
            let mut token: Option<String> = None;
            loop {
                let mut req = Req::new("GET", &c.bucket, "");
                req.query = vec![
                    ("list-type", "2".into()),
                    ("prefix", prefix.clone()),
                    ("max-keys", c.plan.list_page.to_string()),
                ];
                if let Some(t) = token.take() {
                    req.query.push(("continuation-token", t));
                }
                req.keep_body = true;
                let t0 = Instant::now();
                let r = check(c.s3.send(req).await)?;
                o.lat_us.push(micros(t0));
                o.bytes += r.body_len;
                let text = String::from_utf8_lossy(&r.body);
                o.items += xml::count(&text, "Contents") as u64;
                if xml::tag(&text, "IsTruncated").as_deref() != Some("true") {
                    break;
                }
                token = Some(
                    xml::tag(&text, "NextContinuationToken").ok_or("truncated page without NextContinuationToken")?,
                );
            }
            if o.items != c.plan.small_count as u64 {
                o.errors += 1;
                o.error_sample = Some(format!(
                    "a walk listed {} keys, expected {}",
                    o.items, c.plan.small_count
                ));
            }
            Ok(o)
        }
    })
    .await;
    phase.extra.insert("walks".into(), p.list_walks.into());
    out.push(phase);
}

pub async fn medium(ctx: &Arc<Ctx>, out: &mut Vec<Phase>) {
    let p = ctx.plan.clone();
    let seed = |i: usize, p: &Plan| 2_000_000 + (i % p.medium_distinct.max(1)) as u64;
    put_get(
        ctx,
        "medium",
        p.medium_size,
        p.medium_count,
        p.medium_in_flight,
        seed,
        out,
    )
    .await;
}

pub async fn large(ctx: &Arc<Ctx>, out: &mut Vec<Phase>) {
    let p = ctx.plan.clone();
    put_get(ctx, "large", p.large_size, p.large_count, 1, |_, _| 3_000_000, out).await;
}

// --- server memory -------------------------------------------------------------------------------

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples the server's RSS while a phase runs. The peak is VmHWM after resetting it (writing 5 to
/// /proc/PID/clear_refs), or the highest VmRSS sampled every 20 ms when the reset is not allowed.
struct RssWatch {
    pid: u32,
    reset: bool,
    before: u64,
    max: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
        let before = status_kib(pid, "VmRSS:").unwrap_or(0);
        let max = Arc::new(AtomicU64::new(before));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (max.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Some(v) = status_kib(pid, "VmRSS:") {
                    m.fetch_max(v, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        RssWatch {
            pid,
            reset,
            before,
            max,
            stop,
            task,
        }
    }

    async fn finish(self, phase: &mut Phase) {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        let sampled = self.max.load(Ordering::Relaxed);
        let hwm = if self.reset {
            status_kib(self.pid, "VmHWM:")
        } else {
            None
        };
        let peak = hwm.unwrap_or(0).max(sampled);
        phase.extra.insert("server_pid".into(), self.pid.into());
        phase.extra.insert("server_rss_before_kib".into(), self.before.into());
        phase.extra.insert("server_peak_rss_kib".into(), peak.into());
        phase.extra.insert(
            "server_rss_method".into(),
            (if hwm.is_some() { "VmHWM" } else { "sampled VmRSS" }).into(),
        );
    }
}

pub async fn huge(ctx: &Arc<Ctx>, out: &mut Vec<Phase>) {
    let size = ctx.plan.huge_size;
    ctx.cache.get(4_000_000, size);
    for op in ["PUT", "GET"] {
        let watch = ctx.server_pid.map(RssWatch::start);
        let c = ctx.clone();
        let mut phase = drive("huge", op, size, 1, 1, move |i| {
            let c = c.clone();
            async move {
                let k = key(&c, "huge", i);
                if op == "PUT" {
                    put(&c, &k, 4_000_000, size).await?;
                    Ok(Outcome {
                        bytes: size,
                        ..Default::default()
                    })
                } else {
                    get(&c, &k, size).await
                }
            }
        })
        .await;
        if let Some(w) = watch {
            w.finish(&mut phase).await;
        }
        out.push(phase);
    }
}

// --- retention, versions, delete: one population of versions ------------------------------------

pub struct Population {
    keys: usize,
    /// Version ids in PUT order: version i is of key i % keys.
    ids: Arc<Vec<OnceLock<String>>>,
}

fn pop_key(ctx: &Ctx, k: usize) -> String {
    key(ctx, "pop", k)
}

/// `population_keys` keys × `versions_per_key` empty versions, 64 in flight (reported, as the
/// cost of a tiny locked PUT).
pub async fn populate(ctx: &Arc<Ctx>, out: &mut Vec<Phase>) -> Population {
    let p = &ctx.plan;
    let total = p.population_keys * p.versions_per_key;
    let ids: Arc<Vec<OnceLock<String>>> = Arc::new((0..total).map(|_| OnceLock::new()).collect());
    let (c, ids2, keys) = (ctx.clone(), ids.clone(), p.population_keys);
    ctx.cache.get(5_000_000, 0);
    let phase = drive("populate", "PUT 0 B", 0, total, p.population_in_flight, move |i| {
        let (c, ids) = (c.clone(), ids2.clone());
        async move {
            let r = put(&c, &pop_key(&c, i % keys), 5_000_000, 0).await?;
            if let Some(v) = r.header("x-amz-version-id") {
                let _ = ids[i].set(v.to_string());
            }
            Ok(Outcome::default())
        }
    })
    .await;
    out.push(phase);
    Population { keys, ids }
}

/// PutObjectRetention on `retention_count` distinct versions: COMPLIANCE until now + retain_for
/// (an extension of the floor every version got at its PUT).
pub async fn retention(ctx: &Arc<Ctx>, pop: &Population, out: &mut Vec<Phase>) {
    let p = &ctx.plan;
    let n = p.retention_count.min(pop.ids.len());
    let until = chrono::Utc::now() + chrono::Duration::from_std(p.retain_for).unwrap_or(chrono::Duration::hours(2));
    let until = until.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let body = bytes::Bytes::from(format!(
        "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>COMPLIANCE</Mode>\
         <RetainUntilDate>{until}</RetainUntilDate></Retention>"
    ));
    let (c, ids, keys) = (ctx.clone(), pop.ids.clone(), pop.keys);
    let phase = drive(
        "retention",
        "PutObjectRetention",
        0,
        n,
        p.retention_in_flight,
        move |i| {
            let (c, ids, body) = (c.clone(), ids.clone(), body.clone());
            async move {
                let k = pop_key(&c, i % keys);
                let mut req = Req::new("PUT", &c.bucket, &k);
                req.query.push(("retention", String::new()));
                if let Some(v) = ids[i].get() {
                    req.query.push(("versionId", v.clone()));
                }
                req.body = Body::Xml(body);
                check(c.s3.send(req).await)?;
                Ok(Outcome {
                    items: 1,
                    ..Default::default()
                })
            }
        },
    )
    .await;
    out.push(phase);
}

/// Walk ListObjectVersions over the population, `versions_page` a page; one op = one page.
pub async fn versions(ctx: &Arc<Ctx>, pop: &Population, out: &mut Vec<Phase>) {
    let p = &ctx.plan;
    let expected = pop.ids.len() as u64;
    let c = ctx.clone();
    let op = format!("ListObjectVersions ({}/page)", p.versions_page);
    let mut phase = drive("versions", &op, 0, p.versions_walks, 1, move |_| {
        let c = c.clone();
        async move {
            let mut o = Outcome::default();
            let mut marker: Option<(String, String)> = None;
            loop {
                let mut req = Req::new("GET", &c.bucket, "");
                req.query = vec![
                    ("versions", String::new()),
                    ("prefix", format!("{}pop/", c.prefix)),
                    ("max-keys", c.plan.versions_page.to_string()),
                ];
                if let Some((k, v)) = marker.take() {
                    req.query.push(("key-marker", k));
                    if !v.is_empty() {
                        req.query.push(("version-id-marker", v));
                    }
                }
                req.keep_body = true;
                let t0 = Instant::now();
                let r = check(c.s3.send(req).await)?;
                o.lat_us.push(micros(t0));
                o.bytes += r.body_len;
                let text = String::from_utf8_lossy(&r.body);
                o.items += (xml::count(&text, "Version") + xml::count(&text, "DeleteMarker")) as u64;
                if xml::tag(&text, "IsTruncated").as_deref() != Some("true") {
                    break;
                }
                let k = xml::tag(&text, "NextKeyMarker").ok_or("truncated page without NextKeyMarker")?;
                marker = Some((k, xml::tag(&text, "NextVersionIdMarker").unwrap_or_default()));
            }
            if o.items != expected {
                o.errors += 1;
                o.error_sample = Some(format!("a walk listed {} versions, expected {expected}", o.items));
            }
            Ok(o)
        }
    })
    .await;
    phase.extra.insert("walks".into(), p.versions_walks.into());
    out.push(phase);
}

/// DeleteObjects over every population key (no version ids: each entry adds a delete marker),
/// `delete_batch` keys a request.
pub async fn delete(ctx: &Arc<Ctx>, pop: &Population, out: &mut Vec<Phase>) {
    let p = &ctx.plan;
    let batch = p.delete_batch.max(1);
    let batches = pop.keys.div_ceil(batch);
    let (c, keys) = (ctx.clone(), pop.keys);
    let op = format!("DeleteObjects ({batch}/request)");
    let phase = drive("delete", &op, 0, batches, p.delete_in_flight, move |b| {
        let c = c.clone();
        async move {
            let range = b * batch..((b + 1) * batch).min(keys);
            let expected = range.len() as u64;
            let mut x = String::from("<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>false</Quiet>");
            for k in range {
                x.push_str(&format!("<Object><Key>{}</Key></Object>", xml::escape(&pop_key(&c, k))));
            }
            x.push_str("</Delete>");
            let mut req = Req::new("POST", &c.bucket, "");
            req.query.push(("delete", String::new()));
            req.body = Body::Xml(x.into());
            req.keep_body = true;
            let r = check(c.s3.send(req).await)?;
            let text = String::from_utf8_lossy(&r.body);
            let deleted = xml::count(&text, "Deleted") as u64;
            let failed = xml::count(&text, "Error") as u64;
            let mut o = Outcome {
                items: deleted,
                ..Default::default()
            };
            if deleted != expected {
                o.errors = failed.max(expected.saturating_sub(deleted));
                let first = xml::tag(&text, "Error").unwrap_or_default();
                o.error_sample = Some(format!("{deleted} of {expected} keys deleted; first error: {first}"));
            }
            Ok(o)
        }
    })
    .await;
    out.push(phase);
}
