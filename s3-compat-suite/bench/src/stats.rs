//! Running N operations with K in flight, and what is measured about them.

use serde_json::{json, Map, Value};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What one unit of work (one request, or one listing walk) produced.
#[derive(Default)]
pub struct Outcome {
    /// Payload bytes moved (request body for writes, answer body for reads).
    pub bytes: u64,
    /// Items handled (keys listed, keys deleted).
    pub items: u64,
    /// Per-request latencies in µs when the unit is several requests (a walk); else the unit's own
    /// latency is recorded as one operation.
    pub lat_us: Vec<u32>,
    /// Errors reported inside a successful answer (DeleteObjects entries), with a sample.
    pub errors: u64,
    pub error_sample: Option<String>,
}

/// The result of one phase (scenario × operation).
pub struct Phase {
    pub scenario: String,
    pub op: String,
    pub object_size: u64,
    pub in_flight: usize,
    pub ops: u64,
    pub errors: u64,
    pub bytes: u64,
    pub items: u64,
    pub seconds: f64,
    pub lat_us: Vec<u32>,
    pub error_samples: Vec<String>,
    pub extra: Map<String, Value>,
}

const MAX_SAMPLES: usize = 5;

/// A phase stops taking new work once this many of its units failed (`run --max-errors`), so a
/// broken target ends the run instead of retrying through 100,000 requests.
pub static MAX_ERRORS: AtomicU64 = AtomicU64::new(100);

fn add_sample(samples: &Mutex<Vec<String>>, s: String) {
    let mut v = samples.lock().unwrap();
    if v.len() < MAX_SAMPLES && !v.contains(&s) {
        v.push(s);
    }
}

/// Run `f(0..n)` with `in_flight` concurrent workers and measure.
pub async fn drive<F, Fut>(scenario: &str, op: &str, object_size: u64, n: usize, in_flight: usize, f: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, String>> + Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(AtomicU64::new(0));
    let aborted = Arc::new(AtomicBool::new(false));
    let max_errors = MAX_ERRORS.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..in_flight.clamp(1, n.max(1)) {
        let (f, next, samples, failed, aborted) = (
            f.clone(),
            next.clone(),
            samples.clone(),
            failed.clone(),
            aborted.clone(),
        );
        workers.push(tokio::spawn(async move {
            let (mut lat, mut ops, mut errors, mut bytes, mut items) = (Vec::new(), 0u64, 0u64, 0u64, 0u64);
            loop {
                if failed.load(Ordering::Relaxed) >= max_errors {
                    aborted.store(true, Ordering::Relaxed);
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t0 = Instant::now();
                match f(i).await {
                    Ok(o) => {
                        if o.lat_us.is_empty() {
                            lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            ops += 1;
                        } else {
                            ops += o.lat_us.len() as u64;
                            lat.extend_from_slice(&o.lat_us);
                        }
                        bytes += o.bytes;
                        items += o.items;
                        errors += o.errors;
                        if o.errors > 0 {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        if let Some(s) = o.error_sample {
                            add_sample(&samples, s);
                        }
                    }
                    Err(e) => {
                        ops += 1;
                        errors += 1;
                        failed.fetch_add(1, Ordering::Relaxed);
                        add_sample(&samples, e);
                    }
                }
            }
            (lat, ops, errors, bytes, items)
        }));
    }
    let mut phase = Phase {
        scenario: scenario.to_string(),
        op: op.to_string(),
        object_size,
        in_flight,
        ops: 0,
        errors: 0,
        bytes: 0,
        items: 0,
        seconds: 0.0,
        lat_us: Vec::new(),
        error_samples: Vec::new(),
        extra: Map::new(),
    };
    for w in workers {
        let (lat, ops, errors, bytes, items) = w.await.expect("worker panicked");
        phase.lat_us.extend(lat);
        phase.ops += ops;
        phase.errors += errors;
        phase.bytes += bytes;
        phase.items += items;
    }
    phase.seconds = start.elapsed().as_secs_f64();
    phase.error_samples = std::mem::take(&mut *samples.lock().unwrap());
    if aborted.load(Ordering::Relaxed) {
        let left = (n - next.load(Ordering::Relaxed).min(n)) as u64;
        phase
            .error_samples
            .push(format!("stopped after {max_errors} failures; {left} not attempted"));
        phase.errors += left;
        phase.extra.insert("aborted".into(), true.into());
    }
    phase
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[idx.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

impl Phase {
    pub fn to_json(&self) -> Value {
        let mut lat = self.lat_us.clone();
        lat.sort_unstable();
        let secs = self.seconds.max(1e-9);
        let mut v = json!({
            "scenario": self.scenario,
            "op": self.op,
            "object_size": self.object_size,
            "in_flight": self.in_flight,
            "ops": self.ops,
            "errors": self.errors,
            "bytes": self.bytes,
            "items": self.items,
            "seconds": self.seconds,
            "ops_per_s": self.ops as f64 / secs,
            "mb_per_s": self.bytes as f64 / 1e6 / secs,
            "items_per_s": self.items as f64 / secs,
            "p50_ms": percentile(&lat, 50.0),
            "p99_ms": percentile(&lat, 99.0),
            "max_ms": lat.last().map_or(0.0, |m| *m as f64 / 1000.0),
            "error_samples": self.error_samples,
        });
        let obj = v.as_object_mut().unwrap();
        for (k, x) in &self.extra {
            obj.insert(k.clone(), x.clone());
        }
        v
    }

    /// One human-readable line.
    pub fn line(&self) -> String {
        let v = self.to_json();
        let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
        let mut s = format!(
            "{:<10} {:<22} {:>6} ops {:>9.1} ops/s {:>8.1} MB/s  p50 {:>8.2} ms  p99 {:>8.2} ms  errors {}",
            self.scenario,
            self.op,
            self.ops,
            f("ops_per_s"),
            f("mb_per_s"),
            f("p50_ms"),
            f("p99_ms"),
            self.errors
        );
        if self.items > 0 {
            s.push_str(&format!("  {:.0} items/s", f("items_per_s")));
        }
        if let Some(r) = self.extra.get("server_peak_rss_kib").and_then(Value::as_u64) {
            s.push_str(&format!("  server peak RSS {} MiB", r / 1024));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[5000], 99.0), 5.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[tokio::test]
    async fn drive_counts_everything() {
        let p = drive("t", "op", 1, 10, 3, |i| async move {
            if i == 3 {
                Err("boom".to_string())
            } else {
                Ok(Outcome {
                    bytes: 2,
                    items: 1,
                    ..Default::default()
                })
            }
        })
        .await;
        assert_eq!((p.ops, p.errors, p.bytes, p.items, p.lat_us.len()), (10, 1, 18, 9, 9));
        assert_eq!(p.error_samples, vec!["boom".to_string()]);
    }

    #[tokio::test]
    async fn drive_stops_after_max_errors() {
        let p = drive("t", "op", 1, 1000, 1, |_| async {
            Err::<Outcome, _>("down".to_string())
        })
        .await;
        assert_eq!(p.errors, 1000);
        assert!(p.ops <= 101, "{}", p.ops);
        assert_eq!(p.extra.get("aborted"), Some(&serde_json::Value::Bool(true)));
    }
}
