//! wormgate-bench — the S3 load generator of issue 15.
//!
//! `wormgate-bench run` drives one endpoint through the scenarios and prints (and with `--json`
//! writes) ops/s, MB/s, p50/p99 and errors per operation; `report` merges the JSON of several runs
//! (targets × rounds) into one table with ratios to a baseline target; `measure` prints the
//! machine's single-core SHA-256/MD5 speed and the sequential write+fdatasync throughput of a
//! directory. `s3-compat-suite/bench/run` ties them together.

mod body;
mod client;
mod measure;
mod report;
mod scenarios;
mod sigv4;
mod stats;
mod xml;

use clap::{Args, Parser, Subcommand};
use client::{PayloadMode, S3};
use scenarios::{Ctx, Plan};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "wormgate-bench",
    version,
    about = "S3 load generator for wormgate's benchmark (issue 15)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scenarios against one S3 endpoint.
    Run(Box<RunArgs>),
    /// Merge the JSON files of several runs into one table (median over rounds).
    Report(report::ReportArgs),
    /// Measure the machine: single-core SHA-256 and MD5, sequential write+fdatasync of a directory.
    Measure(measure::MeasureArgs),
}

#[derive(Args)]
struct RunArgs {
    /// S3 endpoint (http://host:port, path-style).
    #[arg(long, env = "BENCH_ENDPOINT")]
    endpoint: String,
    #[arg(long, env = "BENCH_ACCESS_KEY")]
    access_key: String,
    #[arg(long, env = "BENCH_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Bucket to use (created with Object Lock if missing).
    #[arg(long, default_value = "wormgate-bench")]
    bucket: String,
    /// Key prefix of this run (default: a fresh `run-<time>-<pid>/`).
    #[arg(long)]
    prefix: Option<String>,
    /// Comma-separated scenarios: small, medium, large, huge, retention, versions, delete, or all.
    #[arg(long, default_value = "small,medium,large,huge,retention,versions,delete")]
    scenarios: String,
    /// How PUT bodies are authenticated.
    #[arg(long, value_enum, default_value = "signed")]
    payload: PayloadMode,
    /// Same as `--payload unsigned`.
    #[arg(long, conflicts_with = "payload")]
    unsigned_payload: bool,
    /// Chunk size of aws-chunked bodies (≤ 1 MiB; a power of two).
    #[arg(long, default_value = "64KiB", value_parser = parse_size)]
    chunk_size: u64,
    /// Tiny sizes for a quick check (each can still be overridden below).
    #[arg(long)]
    smoke: bool,
    /// Server process whose peak RSS is reported for the `huge` scenario (/proc/PID/status).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Name of the target in the JSON (e.g. wormgate, seaweedfs).
    #[arg(long, default_value = "target")]
    target: String,
    /// Round number recorded in the JSON.
    #[arg(long, default_value_t = 1)]
    round: u32,
    /// Extra KEY=VALUE pairs recorded in the JSON (commit, machine, …).
    #[arg(long = "meta", value_parser = parse_kv)]
    meta: Vec<(String, String)>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// A phase stops after this many failed requests (the rest count as errors, not attempted).
    #[arg(long, default_value_t = 100)]
    max_errors: u64,
    #[command(flatten)]
    sizes: SizeArgs,
}

/// Scenario sizes: full run defaults (issue 15) / `--smoke` defaults.
#[derive(Args)]
struct SizeArgs {
    /// small: object size [4KiB / 4KiB]
    #[arg(long, value_parser = parse_size)]
    small_size: Option<u64>,
    /// small: objects [2000 / 20]
    #[arg(long)]
    small_count: Option<usize>,
    /// small: requests in flight [16 / 4]
    #[arg(long)]
    small_in_flight: Option<usize>,
    /// small: keys per ListObjectsV2 page [100 / 5]
    #[arg(long)]
    list_page: Option<usize>,
    /// small: ListObjectsV2 walks over all small objects [32 / 4]
    #[arg(long)]
    list_walks: Option<usize>,
    /// medium: object size [1MiB / 256KiB]
    #[arg(long, value_parser = parse_size)]
    medium_size: Option<u64>,
    /// medium: objects [500 / 10]
    #[arg(long)]
    medium_count: Option<usize>,
    /// medium: in flight [8 / 4]
    #[arg(long)]
    medium_in_flight: Option<usize>,
    /// large: object size [256MiB / 8MiB]
    #[arg(long, value_parser = parse_size)]
    large_size: Option<u64>,
    /// large: objects, one at a time [2 / 1]
    #[arg(long)]
    large_count: Option<usize>,
    /// huge: object size [1GiB / 16MiB]
    #[arg(long, value_parser = parse_size)]
    huge_size: Option<u64>,
    /// retention/versions/delete: keys of the version population [10000 / 50]
    #[arg(long)]
    population_keys: Option<usize>,
    /// versions per population key [10 / 2]
    #[arg(long)]
    versions_per_key: Option<usize>,
    /// population PUTs in flight [64 / 8]
    #[arg(long)]
    population_in_flight: Option<usize>,
    /// PutObjectRetention requests (distinct versions) [10000 / 50]
    #[arg(long)]
    retention_count: Option<usize>,
    /// PutObjectRetention in flight [64 / 8]
    #[arg(long)]
    retention_in_flight: Option<usize>,
    /// New retention: now + this many seconds [7200]
    #[arg(long, default_value_t = 7200)]
    retain_for_secs: u64,
    /// ListObjectVersions page size [1000 / 20]
    #[arg(long)]
    versions_page: Option<usize>,
    /// ListObjectVersions walks over the population, one at a time [1 / 1]
    #[arg(long)]
    versions_walks: Option<usize>,
    /// DeleteObjects keys per request [1000 / 20]
    #[arg(long)]
    delete_batch: Option<usize>,
    /// DeleteObjects requests in flight [1 / 1]
    #[arg(long)]
    delete_in_flight: Option<usize>,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 4096, 4KiB, 1MiB, 1GiB)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(format!("'{s}': unknown unit (B, KiB, MiB, GiB, KB, MB, GB)")),
    };
    Ok(n * mult)
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or_else(|| format!("'{s}' is not KEY=VALUE"))?;
    Ok((k.to_string(), v.to_string()))
}

fn plan(a: &SizeArgs, smoke: bool) -> Plan {
    let pick = |v: Option<usize>, full: usize, small: usize| v.unwrap_or(if smoke { small } else { full });
    let pick_size = |v: Option<u64>, full: u64, small: u64| v.unwrap_or(if smoke { small } else { full });
    Plan {
        small_size: pick_size(a.small_size, 4 << 10, 4 << 10),
        small_count: pick(a.small_count, 2000, 20),
        small_in_flight: pick(a.small_in_flight, 16, 4),
        list_page: pick(a.list_page, 100, 5),
        list_walks: pick(a.list_walks, 32, 4),
        medium_size: pick_size(a.medium_size, 1 << 20, 256 << 10),
        medium_count: pick(a.medium_count, 500, 10),
        medium_in_flight: pick(a.medium_in_flight, 8, 4),
        large_size: pick_size(a.large_size, 256 << 20, 8 << 20),
        large_count: pick(a.large_count, 2, 1),
        huge_size: pick_size(a.huge_size, 1 << 30, 16 << 20),
        population_keys: pick(a.population_keys, 10_000, 50),
        versions_per_key: pick(a.versions_per_key, 10, 2),
        population_in_flight: pick(a.population_in_flight, 64, 8),
        retention_count: pick(a.retention_count, 10_000, 50),
        retention_in_flight: pick(a.retention_in_flight, 64, 8),
        retain_for: Duration::from_secs(a.retain_for_secs),
        versions_page: pick(a.versions_page, 1000, 20),
        versions_walks: pick(a.versions_walks, 1, 1),
        delete_batch: pick(a.delete_batch, 1000, 20),
        delete_in_flight: pick(a.delete_in_flight, 1, 1),
        medium_distinct: 16,
    }
}

/// The 1-minute load average (other work on the machine shows here).
fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

async fn run(a: RunArgs) -> Result<bool, String> {
    let mut wanted: Vec<&str> = Vec::new();
    for s in a.scenarios.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if s == "all" {
            wanted.extend_from_slice(scenarios::ALL);
        } else if scenarios::ALL.contains(&s) {
            wanted.push(s);
        } else {
            return Err(format!(
                "unknown scenario '{s}' (known: {}, all)",
                scenarios::ALL.join(", ")
            ));
        }
    }
    let payload = if a.unsigned_payload {
        PayloadMode::Unsigned
    } else {
        a.payload
    };
    let chunk = a.chunk_size as usize;
    if payload == PayloadMode::Chunked && (chunk == 0 || chunk > body::MAX_BLOCK || !chunk.is_power_of_two()) {
        return Err("--chunk-size must be a power of two ≤ 1 MiB".into());
    }
    let plan = plan(&a.sizes, a.smoke);
    stats::MAX_ERRORS.store(a.max_errors.max(1), std::sync::atomic::Ordering::Relaxed);
    let load_start = loadavg();
    let s3 = S3::new(
        &a.endpoint,
        &a.access_key,
        &a.secret_key,
        &a.region,
        payload,
        chunk,
        Duration::from_secs(a.timeout),
    )?;
    let prefix = a.prefix.clone().unwrap_or_else(|| {
        format!(
            "run-{}-{}/",
            chrono::Utc::now().format("%Y%m%dT%H%M%S"),
            std::process::id()
        )
    });
    let ctx = Arc::new(Ctx {
        s3,
        bucket: a.bucket.clone(),
        prefix: prefix.clone(),
        cache: Default::default(),
        plan: plan.clone(),
        server_pid: a.server_pid,
    });
    let started = chrono::Utc::now();
    eprintln!(
        "wormgate-bench: {} ({}) bucket {} prefix {prefix} payload {} scenarios {}",
        a.target,
        a.endpoint,
        a.bucket,
        payload.name(),
        wanted.join(",")
    );
    scenarios::ensure_bucket(&ctx).await?;
    let mut phases = Vec::new();
    let mut printed = 0;
    let flush = |phases: &Vec<stats::Phase>, printed: &mut usize| {
        for p in &phases[*printed..] {
            println!("{}", p.line());
            for e in &p.error_samples {
                println!("    error: {e}");
            }
        }
        *printed = phases.len();
    };
    for s in ["small", "medium", "large", "huge"] {
        if wanted.contains(&s) {
            match s {
                "small" => scenarios::small(&ctx, &mut phases).await,
                "medium" => scenarios::medium(&ctx, &mut phases).await,
                "large" => scenarios::large(&ctx, &mut phases).await,
                _ => scenarios::huge(&ctx, &mut phases).await,
            }
            flush(&phases, &mut printed);
        }
    }
    if ["retention", "versions", "delete"].iter().any(|s| wanted.contains(s)) {
        let pop = scenarios::populate(&ctx, &mut phases).await;
        flush(&phases, &mut printed);
        if wanted.contains(&"retention") {
            scenarios::retention(&ctx, &pop, &mut phases).await;
            flush(&phases, &mut printed);
        }
        if wanted.contains(&"versions") {
            scenarios::versions(&ctx, &pop, &mut phases).await;
            flush(&phases, &mut printed);
        }
        if wanted.contains(&"delete") {
            scenarios::delete(&ctx, &pop, &mut phases).await;
            flush(&phases, &mut printed);
        }
    }
    let errors: u64 = phases.iter().map(|p| p.errors).sum();
    if let Some(path) = &a.json {
        let meta: serde_json::Map<String, Value> = a
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let doc = json!({
            "tool": "wormgate-bench",
            "format": 1,
            "target": a.target,
            "endpoint": a.endpoint,
            "bucket": a.bucket,
            "prefix": prefix,
            "payload": payload.name(),
            "round": a.round,
            "smoke": a.smoke,
            "started": started.to_rfc3339(),
            "seconds": (chrono::Utc::now() - started).num_milliseconds() as f64 / 1000.0,
            "loadavg_start": load_start,
            "loadavg_end": loadavg(),
            "meta": meta,
            "plan": format!("{plan:?}"),
            "results": phases.iter().map(stats::Phase::to_json).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(errors == 0)
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let code = match cli.cmd {
        Cmd::Run(a) => match run(*a).await {
            Ok(true) => 0,
            Ok(false) => {
                eprintln!("wormgate-bench: some requests failed (see the errors above)");
                1
            }
            Err(e) => {
                eprintln!("wormgate-bench: {e}");
                2
            }
        },
        Cmd::Report(a) => report::report(a),
        Cmd::Measure(a) => measure::measure(a),
    };
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("17"), Ok(17));
        assert!(parse_size("1XB").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
