//! One `Config`, from flags, `WORMGATE_*` environment variables and an optional TOML file, validated
//! once at start. Flags and environment win over the file.

use crate::auth::{Principal, Role, User, Users};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `wormgate serve` flags (each also readable from `WORMGATE_<FLAG>`).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on for plain HTTP.
    #[arg(long, env = "WORMGATE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory holding the catalog, blobs and audit trail.
    #[arg(long, env = "WORMGATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML config file (users, policy, TLS).
    #[arg(long, env = "WORMGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Minimum retention of every new version (`30s`, `1d`, `7y`).
    #[arg(long, env = "WORMGATE_MIN_RETENTION")]
    pub min_retention: Option<String>,
    /// Maximum retention anyone may set (typo guard).
    #[arg(long, env = "WORMGATE_MAX_RETENTION")]
    pub max_retention: Option<String>,
    /// Base domain for virtual-hosted-style addressing (`bucket.DOMAIN`).
    #[arg(long, env = "WORMGATE_DOMAIN")]
    pub domain: Option<String>,
    /// Region reported by GetBucketLocation.
    #[arg(long, env = "WORMGATE_REGION")]
    pub region: Option<String>,
    /// Refuse version-creating writes without any client digest.
    #[arg(long, env = "WORMGATE_REQUIRE_CLIENT_DIGEST")]
    pub require_client_digest: Option<bool>,
    /// Emit logs as JSON lines.
    #[arg(long, env = "WORMGATE_LOG_JSON")]
    pub log_json: Option<bool>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, env = "WORMGATE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, env = "WORMGATE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Address to listen on for HTTPS (default: the HTTP port + 1 when only --listen is given).
    #[arg(long, env = "WORMGATE_TLS_LISTEN")]
    pub tls_listen: Option<SocketAddr>,
    /// Upstream mode (`--upstream-*`).
    #[command(flatten)]
    pub upstream: UpstreamArgs,
    /// Audit checkpoints, scrub, metrics.
    #[command(flatten)]
    pub evidence: EvidenceArgs,
}

/// The `--upstream-*` flags: of `wormgate serve`, and of the offline tools (`scrub`, `recover`) that
/// must reach the same upstream. Each also readable from `WORMGATE_UPSTREAM_*`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UpstreamArgs {
    /// Upstream mode: S3 endpoint that stores the bytes (`http://127.0.0.1:8333`, `https://s3.example`).
    /// Credentials come from WORMGATE_UPSTREAM_ACCESS_KEY / WORMGATE_UPSTREAM_SECRET_KEY.
    #[arg(long, env = "WORMGATE_UPSTREAM_ENDPOINT")]
    pub upstream_endpoint: Option<String>,
    /// Upstream bucket (must exist).
    #[arg(long, env = "WORMGATE_UPSTREAM_BUCKET")]
    pub upstream_bucket: Option<String>,
    /// Region used to sign upstream requests (default us-east-1).
    #[arg(long, env = "WORMGATE_UPSTREAM_REGION")]
    pub upstream_region: Option<String>,
    /// Key prefix of every upstream object (default `wormgate`).
    #[arg(long, env = "WORMGATE_UPSTREAM_PREFIX")]
    pub upstream_prefix: Option<String>,
    /// Path-style upstream URLs (`endpoint/bucket/key`); default true unless the endpoint is AWS.
    #[arg(long, env = "WORMGATE_UPSTREAM_PATH_STYLE", num_args = 0..=1, default_missing_value = "true")]
    pub upstream_path_style: Option<bool>,
}

/// The config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub min_retention: Option<String>,
    pub max_retention: Option<String>,
    pub domain: Option<String>,
    pub region: Option<String>,
    pub require_client_digest: Option<bool>,
    pub log_json: Option<bool>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_listen: Option<SocketAddr>,
    #[serde(default)]
    pub users: Vec<FileUser>,
    /// `[upstream]`: upstream mode (see `ServeArgs::upstream_endpoint`).
    pub upstream: Option<FileUpstream>,
    /// `[evidence]`: audit checkpoints, scrub, metrics (same names as the flags, with `_`).
    pub evidence: Option<EvidenceArgs>,
}

/// The `[upstream]` table of the config file. Environment variables and flags win over it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUpstream {
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub prefix: Option<String>,
    pub path_style: Option<bool>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
}

/// A user in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUser {
    pub name: Option<String>,
    pub access_key: String,
    pub secret_key: String,
    pub role: Role,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub min_retention: chrono::Duration,
    pub max_retention: chrono::Duration,
    pub domain: Option<String>,
    pub region: String,
    pub require_client_digest: bool,
    pub log_json: bool,
    pub tls: Option<TlsConfig>,
    pub users: Users,
    /// Upstream mode; `None` = disk blobs under `data_dir`.
    pub upstream: Option<UpstreamConfig>,
    /// Audit checkpoints, scrub, metrics.
    pub evidence: EvidenceConfig,
}

/// Where upstream mode keeps the bytes.
#[derive(Clone)]
pub struct UpstreamConfig {
    /// `scheme://host[:port]`, no path.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// Key prefix without leading/trailing `/` (may be empty).
    pub prefix: String,
    pub path_style: bool,
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("path_style", &self.path_style)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

impl UpstreamConfig {
    /// Merge flags/env over the `[upstream]` table; `Ok(None)` when upstream mode is not asked for.
    pub fn load(args: &UpstreamArgs, file: Option<&FileUpstream>) -> Result<Option<UpstreamConfig>, String> {
        let f = file.cloned().unwrap_or_default();
        let env = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        let endpoint = args.upstream_endpoint.clone().or(f.endpoint);
        let bucket = args.upstream_bucket.clone().or(f.bucket);
        let access_key = env("WORMGATE_UPSTREAM_ACCESS_KEY").or(f.access_key);
        let secret_key = env("WORMGATE_UPSTREAM_SECRET_KEY").or(f.secret_key);
        let Some(endpoint) = endpoint else {
            if bucket.is_some() {
                return Err("--upstream-bucket needs --upstream-endpoint".into());
            }
            return Ok(None);
        };
        let endpoint = endpoint.trim().trim_end_matches('/').to_string();
        let uri: http::Uri = endpoint
            .parse()
            .map_err(|e| format!("--upstream-endpoint '{endpoint}': {e}"))?;
        match uri.scheme_str() {
            Some("http") | Some("https") => {}
            _ => {
                return Err(format!(
                    "--upstream-endpoint '{endpoint}' must start with http:// or https://"
                ))
            }
        }
        if uri.host().is_none() || uri.path().len() > 1 || uri.query().is_some() {
            return Err(format!(
                "--upstream-endpoint '{endpoint}' must be scheme://host[:port] without a path"
            ));
        }
        let bucket = bucket.ok_or("upstream mode needs --upstream-bucket")?;
        if bucket.is_empty() || bucket.len() > 63 || bucket.contains('/') {
            return Err(format!("--upstream-bucket '{bucket}' is not a bucket name"));
        }
        let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
            return Err("upstream mode needs WORMGATE_UPSTREAM_ACCESS_KEY and WORMGATE_UPSTREAM_SECRET_KEY".into());
        };
        let prefix = args
            .upstream_prefix
            .clone()
            .or(f.prefix)
            .unwrap_or_else(|| "wormgate".into());
        let prefix = prefix.trim_matches('/').to_string();
        let is_aws = uri.host().is_some_and(|h| h.ends_with("amazonaws.com"));
        Ok(Some(UpstreamConfig {
            endpoint,
            bucket,
            region: args
                .upstream_region
                .clone()
                .or(f.region)
                .unwrap_or_else(|| "us-east-1".into()),
            prefix,
            path_style: args.upstream_path_style.or(f.path_style).unwrap_or(!is_aws),
            access_key,
            secret_key,
        }))
    }
}

/// HTTPS settings.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub listen: SocketAddr,
}

/// Parse `30s`, `15m`, `12h`, `1d`, `7y` (a year is 365 days). Must be positive.
pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 30s, 1d or 7y"))?;
    if n <= 0 {
        return Err(format!("'{s}': the duration must be positive"));
    }
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use s, m, h, d, w or y)")),
    };
    n.checked_mul(secs)
        .filter(|v| *v <= 1000 * 365 * 86_400)
        .map(chrono::Duration::seconds)
        .ok_or_else(|| format!("'{s}' is too long"))
}

impl FileConfig {
    /// Read and parse a config file.
    pub fn read(p: &std::path::Path) -> Result<FileConfig, String> {
        let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read config {}: {e}", p.display()))?;
        toml::from_str::<FileConfig>(&text).map_err(|e| format!("config {}: {e}", p.display()))
    }
}

impl Config {
    /// Merge flags/env over the file and validate.
    pub fn load(args: &ServeArgs) -> Result<Config, String> {
        let file = match &args.config {
            Some(p) => FileConfig::read(p)?,
            None => FileConfig::default(),
        };
        let min_retention = parse_duration(
            args.min_retention
                .as_deref()
                .or(file.min_retention.as_deref())
                .unwrap_or("1d"),
        )
        .map_err(|e| format!("--min-retention {e}"))?;
        let max_retention = parse_duration(
            args.max_retention
                .as_deref()
                .or(file.max_retention.as_deref())
                .unwrap_or("100y"),
        )
        .map_err(|e| format!("--max-retention {e}"))?;
        if max_retention < min_retention {
            return Err("--max-retention must not be shorter than --min-retention".into());
        }
        let mut users = Vec::new();
        let admin_key = std::env::var("WORMGATE_ACCESS_KEY").ok().filter(|s| !s.is_empty());
        let admin_secret = std::env::var("WORMGATE_SECRET_KEY").ok().filter(|s| !s.is_empty());
        match (admin_key, admin_secret) {
            (Some(k), Some(s)) => users.push(User {
                principal: Principal {
                    access_key: k,
                    name: "admin".into(),
                    role: Role::Admin,
                },
                secret_key: s,
            }),
            (None, None) => {}
            _ => return Err("set both WORMGATE_ACCESS_KEY and WORMGATE_SECRET_KEY, or neither".into()),
        }
        for u in &file.users {
            if u.access_key.is_empty() || u.secret_key.len() < 8 {
                return Err(format!(
                    "user {}: access_key must be set and secret_key at least 8 characters",
                    u.access_key
                ));
            }
            if users.iter().any(|x: &User| x.principal.access_key == u.access_key) {
                return Err(format!("access key {} is configured twice", u.access_key));
            }
            users.push(User {
                principal: Principal {
                    access_key: u.access_key.clone(),
                    name: u.name.clone().unwrap_or_else(|| u.access_key.clone()),
                    role: u.role,
                },
                secret_key: u.secret_key.clone(),
            });
        }
        let listen = args.listen.or(file.listen);
        let tls_cert = args.tls_cert.clone().or(file.tls_cert.clone());
        let tls_key = args.tls_key.clone().or(file.tls_key.clone());
        let tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => {
                let tls_listen = args.tls_listen.or(file.tls_listen);
                let listen_tls = match (tls_listen, listen) {
                    (Some(a), _) => a,
                    (None, Some(mut a)) => {
                        a.set_port(a.port().wrapping_add(1));
                        a
                    }
                    (None, None) => return Err("--tls-cert/--tls-key need --tls-listen or --listen".into()),
                };
                Some(TlsConfig {
                    cert,
                    key,
                    listen: listen_tls,
                })
            }
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        if listen.is_none() && tls.is_none() {
            return Err("nothing to listen on: give --listen (and/or --tls-cert, --tls-key, --tls-listen)".into());
        }
        let upstream = UpstreamConfig::load(&args.upstream, file.upstream.as_ref())?;
        let evidence = EvidenceConfig::load(&args.evidence, file.evidence.as_ref())?;
        Ok(Config {
            listen,
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./wormgate-data")),
            min_retention,
            max_retention,
            domain: args
                .domain
                .clone()
                .or(file.domain)
                .map(|d| d.trim_matches('.').to_ascii_lowercase()),
            region: args
                .region
                .clone()
                .or(file.region)
                .unwrap_or_else(|| "us-east-1".into()),
            require_client_digest: args
                .require_client_digest
                .or(file.require_client_digest)
                .unwrap_or(false),
            log_json: args.log_json.or(file.log_json).unwrap_or(false),
            tls,
            users: Users::new(users),
            upstream,
            evidence,
        })
    }
}

/// Flags (and `[evidence]` file table) of the evidence features: signed audit checkpoints, the
/// background scrub, `/metrics` access.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceArgs {
    /// ed25519 key (64 hex characters, or PKCS#8 PEM) to sign audit checkpoints with.
    #[arg(long, env = "WORMGATE_AUDIT_SIGNING_KEY")]
    pub audit_signing_key: Option<PathBuf>,
    /// How often to sign a checkpoint of the audit chain (`1h`; `off`). Needs --audit-signing-key.
    #[arg(long, env = "WORMGATE_CHECKPOINT_INTERVAL")]
    pub checkpoint_interval: Option<String>,
    /// Seal an audit segment and start a new one past this many bytes (default 64 MiB).
    #[arg(long, env = "WORMGATE_AUDIT_SEGMENT_BYTES")]
    pub audit_segment_bytes: Option<u64>,
    /// Log the audit chain head every this many records (default 1000; 0 = never).
    #[arg(long, env = "WORMGATE_AUDIT_HEAD_EVERY")]
    pub audit_head_every: Option<u64>,
    /// How often the background scrub re-hashes every version (`24h`; `off`).
    #[arg(long, env = "WORMGATE_SCRUB_INTERVAL")]
    pub scrub_interval: Option<String>,
    /// Read rate limit of the background scrub in MiB/s (default 32; 0 = unlimited).
    #[arg(long, env = "WORMGATE_SCRUB_RATE_MB")]
    pub scrub_rate_mb: Option<u64>,
    /// Serve /metrics without authentication.
    #[arg(long, env = "WORMGATE_METRICS_ANONYMOUS")]
    pub metrics_anonymous: Option<bool>,
    /// Accept `Authorization: Bearer TOKEN` on /metrics (for Prometheus).
    #[arg(long, env = "WORMGATE_METRICS_TOKEN")]
    pub metrics_token: Option<String>,
    /// How often the catalog totals on /metrics (versions and bytes under retention) are recomputed (`5m`).
    #[arg(long, env = "WORMGATE_STATS_INTERVAL")]
    pub stats_interval: Option<String>,
    /// How often the lifecycle executor applies the buckets' lifecycle rules (`1h`; `off`).
    #[arg(long, env = "WORMGATE_LIFECYCLE_INTERVAL")]
    pub lifecycle_interval: Option<String>,
    /// How long a lifecycle "day" lasts (`24h`; shorter only for tests and demonstrations).
    #[arg(long, env = "WORMGATE_LIFECYCLE_DAY")]
    pub lifecycle_day: Option<String>,
}

/// Validated evidence settings.
#[derive(Debug, Clone)]
pub struct EvidenceConfig {
    pub audit_signing_key: Option<PathBuf>,
    /// `None` = no periodic checkpoints.
    pub checkpoint_interval: Option<chrono::Duration>,
    pub audit_segment_bytes: u64,
    pub audit_head_every: u64,
    /// `None` = no background scrub.
    pub scrub_interval: Option<chrono::Duration>,
    /// Bytes per second; `None` = unlimited.
    pub scrub_rate: Option<u64>,
    pub metrics_anonymous: bool,
    pub metrics_token: Option<String>,
    pub stats_interval: chrono::Duration,
    /// `None` = no background lifecycle passes (`wormgate lifecycle run` still works).
    pub lifecycle_interval: Option<chrono::Duration>,
    /// The length of a lifecycle rule's day.
    pub lifecycle_day: chrono::Duration,
}

fn optional_interval(v: Option<&str>, default: &str, flag: &str) -> Result<Option<chrono::Duration>, String> {
    match v.unwrap_or(default).trim() {
        "off" | "never" | "0" => Ok(None),
        s => parse_duration(s).map(Some).map_err(|e| format!("--{flag} {e}")),
    }
}

impl EvidenceConfig {
    /// Flags/env over the `[evidence]` table.
    pub fn load(args: &EvidenceArgs, file: Option<&EvidenceArgs>) -> Result<EvidenceConfig, String> {
        let f = file.cloned().unwrap_or_default();
        let audit_segment_bytes = args
            .audit_segment_bytes
            .or(f.audit_segment_bytes)
            .unwrap_or(64 * 1024 * 1024);
        if audit_segment_bytes < 4096 {
            return Err("--audit-segment-bytes must be at least 4096".into());
        }
        let scrub_rate_mb = args.scrub_rate_mb.or(f.scrub_rate_mb).unwrap_or(32);
        let token = args.metrics_token.clone().or(f.metrics_token).filter(|t| !t.is_empty());
        if token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err("--metrics-token must be at least 16 characters".into());
        }
        Ok(EvidenceConfig {
            audit_signing_key: args.audit_signing_key.clone().or(f.audit_signing_key),
            checkpoint_interval: optional_interval(
                args.checkpoint_interval.as_deref().or(f.checkpoint_interval.as_deref()),
                "1h",
                "checkpoint-interval",
            )?,
            audit_segment_bytes,
            audit_head_every: args.audit_head_every.or(f.audit_head_every).unwrap_or(1000),
            scrub_interval: optional_interval(
                args.scrub_interval.as_deref().or(f.scrub_interval.as_deref()),
                "24h",
                "scrub-interval",
            )?,
            scrub_rate: (scrub_rate_mb > 0).then_some(scrub_rate_mb * 1024 * 1024),
            metrics_anonymous: args.metrics_anonymous.or(f.metrics_anonymous).unwrap_or(false),
            metrics_token: token,
            stats_interval: parse_duration(
                args.stats_interval
                    .as_deref()
                    .or(f.stats_interval.as_deref())
                    .unwrap_or("5m"),
            )
            .map_err(|e| format!("--stats-interval {e}"))?,
            lifecycle_interval: optional_interval(
                args.lifecycle_interval.as_deref().or(f.lifecycle_interval.as_deref()),
                "1h",
                "lifecycle-interval",
            )?,
            lifecycle_day: parse_duration(
                args.lifecycle_day
                    .as_deref()
                    .or(f.lifecycle_day.as_deref())
                    .unwrap_or("24h"),
            )
            .map_err(|e| format!("--lifecycle-day {e}"))
            .and_then(|d| {
                if d > chrono::Duration::zero() {
                    Ok(d)
                } else {
                    Err("--lifecycle-day must be longer than zero".into())
                }
            })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), chrono::Duration::seconds(30));
        assert_eq!(parse_duration("1d").unwrap(), chrono::Duration::days(1));
        assert_eq!(parse_duration("7y").unwrap(), chrono::Duration::days(7 * 365));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-1d").is_err());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999y").is_err());
    }
}
