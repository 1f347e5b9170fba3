//! One `Config`, from flags, `WORMGATE_*` environment variables and an optional TOML file, validated
//! once at start. Flags and environment win over the file.

mod archive;

pub use archive::{ArchiveArgs, ArchiveConfig, ArchiveConfigError, FileArchive};

use crate::auth::{Principal, Role, Scope, User};
use crate::units::{parse_size, Reserve, SizeError};
pub use limits::{LimitsArgs, LimitsConfig};

mod limits;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the configuration was not accepted. Every message names the flag (or file table) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A setting is missing, out of range or combined with one it excludes; the message names the
    /// flag and what is allowed.
    #[error("{0}")]
    Invalid(String),
    /// A byte size setting does not parse.
    #[error("{setting} {source}")]
    Size {
        /// The flag or table entry (`--reserve-free`, `[quotas.b] bytes`).
        setting: String,
        /// What is wrong with the value.
        #[source]
        source: SizeError,
    },
    /// A duration setting does not parse.
    #[error("{setting} {source}")]
    Duration {
        /// The flag (`--min-retention`).
        setting: String,
        /// What is wrong with the value.
        #[source]
        source: DurationError,
    },
    /// A duration too long for a timer.
    #[error("{setting}: {source}")]
    DurationRange {
        /// The flag.
        setting: String,
        /// The conversion error.
        #[source]
        source: chrono::OutOfRangeError,
    },
    /// An endpoint that is not a URI.
    #[error("{setting} '{endpoint}': {source}")]
    Endpoint {
        /// The flag.
        setting: &'static str,
        /// The value as given.
        endpoint: String,
        /// The parse error.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// The config file could not be read.
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this version.
    #[error("config {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error.
        #[source]
        source: toml::de::Error,
    },
    /// The `[audit_archive]` settings.
    #[error(transparent)]
    Archive(#[from] ArchiveConfigError),
}

/// The smallest `--catalog-cache`: below it sled would re-read the tree's index nodes on every lookup.
const MIN_CATALOG_CACHE: u64 = 1024 * 1024;

/// `--catalog-cache` (flag over file) in bytes; `None` when neither sets it.
fn catalog_cache(setting: Option<&str>) -> Result<Option<u64>, ConfigError> {
    setting
        .map(|s| match parse_size(s) {
            Ok(n) if n < MIN_CATALOG_CACHE => Err(invalid(format!(
                "--catalog-cache must be at least {}",
                crate::units::format_size(MIN_CATALOG_CACHE)
            ))),
            Ok(n) => Ok(n),
            Err(source) => Err(ConfigError::Size {
                setting: "--catalog-cache".into(),
                source,
            }),
        })
        .transpose()
}

/// A setting rule broken; `m` names the flag.
fn invalid(m: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(m.into())
}

/// A duration as given that [`parse_duration`] does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// No leading whole number.
    #[error("'{0}' is not a duration like 30s, 1d or 7y")]
    NotADuration(String),
    /// Zero or negative.
    #[error("'{0}': the duration must be positive")]
    NotPositive(String),
    /// The unit after the number is unknown.
    #[error("'{given}': unknown unit '{unit}' (use s, m, h, d, w or y)")]
    UnknownUnit {
        /// The text as given.
        given: String,
        /// Its unit part.
        unit: String,
    },
    /// Longer than a thousand years.
    #[error("'{0}' is too long")]
    TooLong(String),
}

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
    /// Region reported by `GetBucketLocation`.
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
    /// How long a stopping gateway (SIGTERM) lets requests in flight finish (`30s`).
    #[arg(long, env = "WORMGATE_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<String>,
    /// Accept GOVERNANCE (lock-mode headers, `PutObjectRetention`, bucket default rules) and store it as
    /// COMPLIANCE, for tools that cannot be told otherwise; off: GOVERNANCE is refused (400).
    #[arg(long, env = "WORMGATE_GOVERNANCE_AS_COMPLIANCE", num_args = 0..=1, default_missing_value = "true")]
    pub governance_as_compliance: Option<bool>,
    /// Veeam's Smart Object Storage API documents (`.system-d26a…/system.xml`, `capacity.xml`); default on.
    #[arg(long, env = "WORMGATE_VEEAM_SOSAPI", num_args = 0..=1, default_missing_value = "true")]
    pub veeam_sosapi: Option<bool>,
    /// Capacity SOSAPI reports, in bytes (`500G`, `20T` binary units); default: the data disk's size
    /// in disk mode, nothing (`CapacityInfo` false) in upstream mode.
    #[arg(long, env = "WORMGATE_SOSAPI_CAPACITY")]
    pub sosapi_capacity: Option<String>,
    /// SOSAPI recommendation `S3ConcurrentTaskLimit` (default 64).
    #[arg(long, env = "WORMGATE_SOSAPI_CONCURRENT_TASKS")]
    pub sosapi_concurrent_tasks: Option<u32>,
    /// SOSAPI recommendation `S3MultiObjectDeleteLimit` (default 1000, at most 1000).
    #[arg(long, env = "WORMGATE_SOSAPI_DELETE_LIMIT")]
    pub sosapi_delete_limit: Option<u32>,
    /// SOSAPI recommendation `KbBlockSize`: 256, 512, 1024, 4096 (default) or 8192.
    #[arg(long, env = "WORMGATE_SOSAPI_BLOCK_KB")]
    pub sosapi_block_kb: Option<u32>,
    /// Upstream mode (`--upstream-*`).
    #[command(flatten)]
    pub upstream: UpstreamArgs,
    /// Audit checkpoints, scrub, metrics.
    #[command(flatten)]
    pub evidence: EvidenceArgs,
    /// Trusted time: sources, tolerance, offline gap.
    #[command(flatten)]
    pub time: TimeArgs,
    /// The off-box archive of sealed audit segments and checkpoints (`--audit-archive-*`).
    #[command(flatten)]
    pub audit_archive: ArchiveArgs,
    /// Audit shipping: syslog and webhook receivers.
    #[command(flatten)]
    pub audit_shipping: AuditShipArgs,
    /// Keep at least this much of the data volume free (`2GiB`, `5%`; default 2GiB): below it new
    /// versions and uploads are refused with 507, so the audit trail and catalog never run out of room.
    #[arg(long, env = "WORMGATE_RESERVE_FREE")]
    pub reserve_free: Option<String>,
    /// Bound of the catalog's page cache (`16MiB`, `256MiB`; default 16 MiB), sled's `cache_capacity`
    /// (its own default, 1 GiB, let the process grow with the catalog). Approximate: sled counts pages
    /// at their on-disk size and evicts lazily.
    #[arg(long, env = "WORMGATE_CATALOG_CACHE")]
    pub catalog_cache: Option<String>,
    /// Disk mode: versions (`PutObject`, `CopyObject`) of at most this size (`1MiB` default, `0`
    /// off) are appended to shared segment files whose fdatasync many writers share (group commit),
    /// instead of three fsyncs of files of their own each.
    #[arg(long, env = "WORMGATE_SEGMENT_MAX_OBJECT")]
    pub segment_max_object: Option<String>,
    /// Resource limits against hostile clients (`--max-connections`, timeouts, …).
    #[command(flatten)]
    pub limits: LimitsArgs,
}

/// The `--upstream-*` flags: of `wormgate serve`, and of the offline tools (`scrub`, `recover`) that
/// must reach the same upstream. Each also readable from `WORMGATE_UPSTREAM_*`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UpstreamArgs {
    /// Upstream mode: S3 endpoint that stores the bytes (`http://127.0.0.1:8333`, `https://s3.example`).
    /// Credentials come from `WORMGATE_UPSTREAM_ACCESS_KEY` / `WORMGATE_UPSTREAM_SECRET_KEY`.
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
    pub shutdown_timeout: Option<String>,
    pub governance_as_compliance: Option<bool>,
    pub veeam_sosapi: Option<bool>,
    pub sosapi_capacity: Option<String>,
    pub sosapi_concurrent_tasks: Option<u32>,
    pub sosapi_delete_limit: Option<u32>,
    pub sosapi_block_kb: Option<u32>,
    #[serde(default)]
    pub users: Vec<FileUser>,
    /// `[upstream]`: upstream mode (see `ServeArgs::upstream_endpoint`).
    pub upstream: Option<FileUpstream>,
    /// `[evidence]`: audit checkpoints, scrub, metrics (same names as the flags, with `_`).
    pub evidence: Option<EvidenceArgs>,
    /// `[time]`: trusted time (same names as the flags, with `_`; `time_source` is a list).
    pub time: Option<TimeArgs>,
    /// `[audit_archive]`: the off-box audit archive (see `ArchiveArgs`; also `access_key`, `secret_key`).
    pub audit_archive: Option<FileArchive>,
    /// `[audit_shipping]`: audit shipping (same names as the flags, with `_`).
    pub audit_shipping: Option<AuditShipArgs>,
    /// See `ServeArgs::reserve_free`.
    pub reserve_free: Option<String>,
    /// See `ServeArgs::catalog_cache`.
    pub catalog_cache: Option<String>,
    /// See `ServeArgs::segment_max_object`.
    pub segment_max_object: Option<String>,
    /// `[quotas.BUCKET]`: per-bucket hard quotas (an officer's `wormgate quota set` overrides them).
    #[serde(default)]
    pub quotas: BTreeMap<String, FileQuota>,
    /// `[limits]`: resource limits (same names as the flags, with `_`).
    pub limits: Option<LimitsArgs>,
}

/// A `[quotas.BUCKET]` table: `bytes = "500GiB"`, `versions = 100000` (either may be left out).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileQuota {
    pub bytes: Option<String>,
    pub versions: Option<u64>,
}

/// A bucket quota from the config file, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaConfig {
    pub bytes: Option<u64>,
    pub versions: Option<u64>,
}

/// Parse the `[quotas]` table.
fn load_quotas(file: &BTreeMap<String, FileQuota>) -> Result<BTreeMap<String, QuotaConfig>, ConfigError> {
    let mut out = BTreeMap::new();
    for (bucket, q) in file {
        let bytes = q
            .bytes
            .as_deref()
            .map(parse_size)
            .transpose()
            .map_err(|source| ConfigError::Size {
                setting: format!("[quotas.{bucket}] bytes"),
                source,
            })?;
        if bytes.is_none() && q.versions.is_none() {
            return Err(invalid(format!("[quotas.{bucket}] sets neither bytes nor versions")));
        }
        out.insert(
            bucket.clone(),
            QuotaConfig {
                bytes,
                versions: q.versions,
            },
        );
    }
    Ok(out)
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
    /// Buckets (and key prefixes) this key may reach (`auth::scope` syntax); empty: all.
    #[serde(default)]
    pub buckets: Vec<String>,
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
    /// The bootstrap admin (environment) and the config file's `[[users]]`.
    pub users: Vec<User>,
    /// The config file, re-read on SIGHUP for its users.
    pub config_file: Option<PathBuf>,
    /// How long in-flight requests may take to finish at shutdown.
    pub shutdown_timeout: std::time::Duration,
    /// Upstream mode; `None` = disk blobs under `data_dir`.
    pub upstream: Option<UpstreamConfig>,
    /// Audit checkpoints, scrub, metrics.
    pub evidence: EvidenceConfig,
    /// `--governance-as-compliance`.
    pub governance_as_compliance: bool,
    /// Veeam SOSAPI; `None` when `--veeam-sosapi false`.
    pub sosapi: Option<SosapiConfig>,
    /// Trusted time.
    pub time: TimeConfig,
    /// The off-box audit archive; `None` when not configured.
    pub audit_archive: Option<ArchiveConfig>,
    /// Free-space reserve of the data volume.
    pub reserve_free: Reserve,
    /// `--catalog-cache` in bytes; `None` = the catalog's default (`store::meta::DEFAULT_CACHE_BYTES`).
    pub catalog_cache: Option<u64>,
    /// Largest version whose data goes to a segment file (disk mode; 0: none).
    pub segment_max_object: u64,
    /// Per-bucket quotas from the config file.
    pub quotas: BTreeMap<String, QuotaConfig>,
    /// Audit shipping targets, flags over the file (checked by `audit::ship` when shipping starts).
    pub audit_shipping: AuditShipArgs,
    /// Resource limits (connections, requests in flight, timeouts, head size, open uploads).
    pub limits: LimitsConfig,
}

/// Veeam SOSAPI settings (`--sosapi-*`), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SosapiConfig {
    /// `--sosapi-capacity` in bytes.
    pub capacity: Option<u64>,
    pub concurrent_tasks: u32,
    pub delete_limit: u32,
    pub block_kb: u32,
}

impl SosapiConfig {
    /// Merge flags over the file; `Ok(None)` when SOSAPI is turned off.
    fn load(args: &ServeArgs, file: &FileConfig) -> Result<Option<SosapiConfig>, ConfigError> {
        if !args.veeam_sosapi.or(file.veeam_sosapi).unwrap_or(true) {
            return Ok(None);
        }
        let capacity = args
            .sosapi_capacity
            .as_deref()
            .or(file.sosapi_capacity.as_deref())
            .map(|s| match parse_size(s) {
                Ok(0) => Err(invalid("--sosapi-capacity must be positive")),
                Ok(n) => Ok(n),
                Err(source) => Err(ConfigError::Size {
                    setting: "--sosapi-capacity".into(),
                    source,
                }),
            })
            .transpose()?;
        let concurrent_tasks = args
            .sosapi_concurrent_tasks
            .or(file.sosapi_concurrent_tasks)
            .unwrap_or(64);
        if concurrent_tasks == 0 {
            return Err(invalid("--sosapi-concurrent-tasks must be at least 1"));
        }
        let delete_limit = args.sosapi_delete_limit.or(file.sosapi_delete_limit).unwrap_or(1000);
        if !(1..=1000).contains(&delete_limit) {
            return Err(invalid(
                "--sosapi-delete-limit must be 1 to 1000 (what DeleteObjects accepts)",
            ));
        }
        let block_kb = args.sosapi_block_kb.or(file.sosapi_block_kb).unwrap_or(4096);
        if ![256, 512, 1024, 4096, 8192].contains(&block_kb) {
            return Err(invalid(
                "--sosapi-block-kb must be 256, 512, 1024, 4096 or 8192 (Veeam's block sizes)",
            ));
        }
        Ok(Some(SosapiConfig {
            capacity,
            concurrent_tasks,
            delete_limit,
            block_kb,
        }))
    }
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
    pub fn load(args: &UpstreamArgs, file: Option<&FileUpstream>) -> Result<Option<UpstreamConfig>, ConfigError> {
        let f = file.cloned().unwrap_or_default();
        let env = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        let endpoint = args.upstream_endpoint.clone().or(f.endpoint);
        let bucket = args.upstream_bucket.clone().or(f.bucket);
        let access_key = env("WORMGATE_UPSTREAM_ACCESS_KEY").or(f.access_key);
        let secret_key = env("WORMGATE_UPSTREAM_SECRET_KEY").or(f.secret_key);
        let Some(endpoint) = endpoint else {
            if bucket.is_some() {
                return Err(invalid("--upstream-bucket needs --upstream-endpoint"));
            }
            return Ok(None);
        };
        let endpoint = endpoint.trim().trim_end_matches('/').to_string();
        let uri: http::Uri = endpoint.parse().map_err(|source| ConfigError::Endpoint {
            setting: "--upstream-endpoint",
            endpoint: endpoint.clone(),
            source,
        })?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(invalid(format!(
                    "--upstream-endpoint '{endpoint}' must start with http:// or https://"
                )))
            }
        }
        if uri.host().is_none() || uri.path().len() > 1 || uri.query().is_some() {
            return Err(invalid(format!(
                "--upstream-endpoint '{endpoint}' must be scheme://host[:port] without a path"
            )));
        }
        let bucket = bucket.ok_or_else(|| invalid("upstream mode needs --upstream-bucket"))?;
        if bucket.is_empty() || bucket.len() > 63 || bucket.contains('/') {
            return Err(invalid(format!("--upstream-bucket '{bucket}' is not a bucket name")));
        }
        let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
            return Err(invalid(
                "upstream mode needs WORMGATE_UPSTREAM_ACCESS_KEY and WORMGATE_UPSTREAM_SECRET_KEY",
            ));
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
pub fn parse_duration(s: &str) -> Result<chrono::Duration, DurationError> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().map_err(|_| DurationError::NotADuration(s.to_string()))?;
    if n <= 0 {
        return Err(DurationError::NotPositive(s.to_string()));
    }
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => {
            return Err(DurationError::UnknownUnit {
                given: s.to_string(),
                unit: unit.to_string(),
            })
        }
    };
    n.checked_mul(secs)
        .filter(|v| *v <= 1000 * 365 * 86_400)
        .map(chrono::Duration::seconds)
        .ok_or_else(|| DurationError::TooLong(s.to_string()))
}

/// The users a config file gives: the bootstrap admin from `WORMGATE_ACCESS_KEY`/`WORMGATE_SECRET_KEY`
/// and the file's `[[users]]`. Used at start and again on SIGHUP.
pub fn users_of(file: &FileConfig) -> Result<Vec<User>, ConfigError> {
    let mut users = Vec::new();
    let admin_key = std::env::var("WORMGATE_ACCESS_KEY").ok().filter(|s| !s.is_empty());
    let admin_secret = std::env::var("WORMGATE_SECRET_KEY").ok().filter(|s| !s.is_empty());
    match (admin_key, admin_secret) {
        (Some(k), Some(s)) => users.push(User::new(
            Principal {
                access_key: k,
                name: "admin".into(),
                role: Role::Admin,
                scope: Scope::default(),
            },
            s,
        )),
        (None, None) => {}
        _ => {
            return Err(invalid(
                "set both WORMGATE_ACCESS_KEY and WORMGATE_SECRET_KEY, or neither",
            ))
        }
    }
    for u in &file.users {
        if u.access_key.is_empty() || u.secret_key.len() < 8 {
            return Err(invalid(format!(
                "user {}: access_key must be set and secret_key at least 8 characters",
                u.access_key
            )));
        }
        if users.iter().any(|x: &User| x.principal.access_key == u.access_key) {
            return Err(invalid(format!("access key {} is configured twice", u.access_key)));
        }
        let name = u.name.clone().unwrap_or_else(|| u.access_key.clone());
        let scope = Scope::parse(&u.buckets).map_err(|e| invalid(format!("user {name}: {e}")))?;
        users.push(User::new(
            Principal {
                access_key: u.access_key.clone(),
                name,
                role: u.role,
                scope,
            },
            u.secret_key.clone(),
        ));
    }
    Ok(users)
}

/// Re-read `path` for its users (SIGHUP): an unreadable or invalid file is an error and changes nothing.
pub fn reload_users(path: Option<&std::path::Path>) -> Result<Vec<User>, ConfigError> {
    let file = match path {
        Some(p) => FileConfig::read(p)?,
        None => FileConfig::default(),
    };
    users_of(&file)
}

impl FileConfig {
    /// Read and parse a config file.
    pub fn read(p: &std::path::Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
            path: p.to_path_buf(),
            source,
        })?;
        toml::from_str::<FileConfig>(&text).map_err(|source| ConfigError::Parse {
            path: p.to_path_buf(),
            source,
        })
    }
}

impl Config {
    /// Merge flags/env over the file and validate.
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
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
        .map_err(|source| ConfigError::Duration {
            setting: "--min-retention".into(),
            source,
        })?;
        let max_retention = parse_duration(
            args.max_retention
                .as_deref()
                .or(file.max_retention.as_deref())
                .unwrap_or("100y"),
        )
        .map_err(|source| ConfigError::Duration {
            setting: "--max-retention".into(),
            source,
        })?;
        if max_retention < min_retention {
            return Err(invalid("--max-retention must not be shorter than --min-retention"));
        }
        let users = users_of(&file)?;
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
                    (None, None) => return Err(invalid("--tls-cert/--tls-key need --tls-listen or --listen")),
                };
                Some(TlsConfig {
                    cert,
                    key,
                    listen: listen_tls,
                })
            }
            (None, None) => None,
            _ => return Err(invalid("--tls-cert and --tls-key go together")),
        };
        if listen.is_none() && tls.is_none() {
            return Err(invalid(
                "nothing to listen on: give --listen (and/or --tls-cert, --tls-key, --tls-listen)",
            ));
        }
        let upstream = UpstreamConfig::load(&args.upstream, file.upstream.as_ref())?;
        let evidence = EvidenceConfig::load(&args.evidence, file.evidence.as_ref())?;
        let sosapi = SosapiConfig::load(args, &file)?;
        let governance_as_compliance = args
            .governance_as_compliance
            .or(file.governance_as_compliance)
            .unwrap_or(false);
        let time = TimeConfig::load(&args.time, file.time.as_ref(), upstream.is_some())?;
        let reserve_free = Reserve::parse(
            args.reserve_free
                .as_deref()
                .or(file.reserve_free.as_deref())
                .unwrap_or("2GiB"),
        )
        .map_err(|source| ConfigError::Size {
            setting: "--reserve-free".into(),
            source,
        })?;
        let catalog_cache = catalog_cache(args.catalog_cache.as_deref().or(file.catalog_cache.as_deref()))?;
        let segment_max_object =
            load_segment_max_object(args.segment_max_object.as_deref(), file.segment_max_object.as_deref())?;
        let quotas = load_quotas(&file.quotas)?;
        let audit_archive = ArchiveConfig::load(&args.audit_archive, file.audit_archive.as_ref())?;
        let audit_shipping = args.audit_shipping.over(file.audit_shipping.as_ref());
        let limits = LimitsConfig::load(&args.limits, file.limits.as_ref())?;
        Ok(Config {
            audit_archive,
            audit_shipping,
            limits,
            governance_as_compliance,
            sosapi,
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
            users,
            config_file: args.config.clone(),
            shutdown_timeout: parse_duration(
                args.shutdown_timeout
                    .as_deref()
                    .or(file.shutdown_timeout.as_deref())
                    .unwrap_or("30s"),
            )
            .map_err(|source| ConfigError::Duration {
                setting: "--shutdown-timeout".into(),
                source,
            })?
            .to_std()
            .map_err(|source| ConfigError::DurationRange {
                setting: "--shutdown-timeout".into(),
                source,
            })?,
            upstream,
            evidence,
            time,
            reserve_free,
            catalog_cache,
            segment_max_object,
            quotas,
        })
    }
}

/// Default of `--segment-max-object`: 1 MiB, where a version's own three fsyncs cost more than its
/// bytes' share of a group commit.
pub const DEFAULT_SEGMENT_MAX_OBJECT: &str = "1MiB";

/// `--segment-max-object` (flag over the file's `segment_max_object`, else the default).
fn load_segment_max_object(flag: Option<&str>, file: Option<&str>) -> Result<u64, ConfigError> {
    parse_size(flag.or(file).unwrap_or(DEFAULT_SEGMENT_MAX_OBJECT)).map_err(|source| ConfigError::Size {
        setting: "--segment-max-object".into(),
        source,
    })
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

fn optional_interval(v: Option<&str>, default: &str, flag: &str) -> Result<Option<chrono::Duration>, ConfigError> {
    match v.unwrap_or(default).trim() {
        "off" | "never" | "0" => Ok(None),
        s => parse_duration(s).map(Some).map_err(|source| ConfigError::Duration {
            setting: format!("--{flag}"),
            source,
        }),
    }
}

impl EvidenceConfig {
    /// Flags/env over the `[evidence]` table.
    pub fn load(args: &EvidenceArgs, file: Option<&EvidenceArgs>) -> Result<EvidenceConfig, ConfigError> {
        let f = file.cloned().unwrap_or_default();
        let audit_segment_bytes = args
            .audit_segment_bytes
            .or(f.audit_segment_bytes)
            .unwrap_or(64 * 1024 * 1024);
        if audit_segment_bytes < 4096 {
            return Err(invalid("--audit-segment-bytes must be at least 4096"));
        }
        let scrub_rate_mb = args.scrub_rate_mb.or(f.scrub_rate_mb).unwrap_or(32);
        let token = args.metrics_token.clone().or(f.metrics_token).filter(|t| !t.is_empty());
        if token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(invalid("--metrics-token must be at least 16 characters"));
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
            .map_err(|source| ConfigError::Duration {
                setting: "--stats-interval".into(),
                source,
            })?,
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
            .map_err(|source| ConfigError::Duration {
                setting: "--lifecycle-day".into(),
                source,
            })
            .and_then(|d| {
                if d > chrono::Duration::zero() {
                    Ok(d)
                } else {
                    Err(invalid("--lifecycle-day must be longer than zero"))
                }
            })?,
        })
    }
}

/// Flags (and `[time]` file table) of trusted time: the sources that vouch for the wall clock, how
/// far they may disagree, how often they are asked, and how long the gateway may have been stopped
/// before a restart needs them (or an officer).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeArgs {
    /// A time source, `ntp://HOST[:PORT]` (SNTP, port 123 by default); repeat for a quorum (a majority
    /// of the configured sources must agree with the wall clock before expired versions may be deleted).
    #[arg(long = "time-source", env = "WORMGATE_TIME_SOURCE", value_delimiter = ',')]
    #[serde(default)]
    pub time_source: Vec<String>,
    /// How far a source may differ from the wall clock and still agree (`1s`).
    #[arg(long, env = "WORMGATE_TIME_TOLERANCE")]
    pub time_tolerance: Option<String>,
    /// How often the sources are asked (`5m`); also at start.
    #[arg(long, env = "WORMGATE_TIME_CHECK_INTERVAL")]
    pub time_check_interval: Option<String>,
    /// Largest forward gap between the last heartbeat of the previous run and the wall clock at start
    /// accepted without an agreeing source or an officer's confirmation (`10m`).
    #[arg(long, env = "WORMGATE_MAX_OFFLINE_GAP")]
    pub max_offline_gap: Option<String>,
    /// In upstream mode with time sources configured, count the upstream's `Date` header as one more
    /// source (default true).
    #[arg(long, env = "WORMGATE_TIME_UPSTREAM_DATE")]
    pub time_upstream_date: Option<bool>,
}

/// One configured SNTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtpSource {
    /// `host:port`, as given (resolved at every check).
    pub addr: String,
}

impl NtpSource {
    /// Parse `ntp://HOST[:PORT]`.
    pub fn parse(s: &str) -> Result<NtpSource, ConfigError> {
        let rest = s
            .trim()
            .strip_prefix("ntp://")
            .ok_or_else(|| invalid(format!("--time-source '{s}' must look like ntp://HOST[:PORT]")))?
            .trim_end_matches('/');
        if rest.is_empty() || rest.contains('/') || rest.contains('@') {
            return Err(invalid(format!("--time-source '{s}' must look like ntp://HOST[:PORT]")));
        }
        let has_port = match rest.rsplit_once(':') {
            // `[v6]:port` or `host:port`; a bare IPv6 address has several colons and no port.
            Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| invalid(format!("--time-source '{s}': '{p}' is not a port")))?;
                true
            }
            _ => false,
        };
        Ok(NtpSource {
            addr: if has_port {
                rest.to_string()
            } else {
                format!("{rest}:123")
            },
        })
    }

    /// The source's name in status output and the audit trail.
    pub fn name(&self) -> String {
        format!("ntp://{}", self.addr)
    }
}

/// Validated trusted-time settings.
#[derive(Debug, Clone)]
pub struct TimeConfig {
    pub ntp: Vec<NtpSource>,
    /// Ask the upstream's `Date` header too (upstream mode with at least one NTP source).
    pub upstream_date: bool,
    pub tolerance: chrono::Duration,
    pub check_interval: chrono::Duration,
    pub max_offline_gap: chrono::Duration,
}

impl TimeConfig {
    /// Flags/env over the `[time]` table.
    pub fn load(args: &TimeArgs, file: Option<&TimeArgs>, upstream: bool) -> Result<TimeConfig, ConfigError> {
        let f = file.cloned().unwrap_or_default();
        let list = if args.time_source.is_empty() {
            f.time_source
        } else {
            args.time_source.clone()
        };
        let ntp = list
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| NtpSource::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let dur = |v: Option<&str>, default: &str, flag: &str| {
            parse_duration(v.unwrap_or(default)).map_err(|source| ConfigError::Duration {
                setting: format!("--{flag}"),
                source,
            })
        };
        Ok(TimeConfig {
            upstream_date: upstream
                && !ntp.is_empty()
                && args.time_upstream_date.or(f.time_upstream_date).unwrap_or(true),
            ntp,
            tolerance: dur(
                args.time_tolerance.as_deref().or(f.time_tolerance.as_deref()),
                "1s",
                "time-tolerance",
            )?,
            check_interval: dur(
                args.time_check_interval.as_deref().or(f.time_check_interval.as_deref()),
                "5m",
                "time-check-interval",
            )?,
            max_offline_gap: dur(
                args.max_offline_gap.as_deref().or(f.max_offline_gap.as_deref()),
                "10m",
                "max-offline-gap",
            )?,
        })
    }

    /// Whether any time source is configured.
    pub fn has_sources(&self) -> bool {
        !self.ntp.is_empty()
    }
}

/// Flags (and `[audit_shipping]` file table) of audit shipping: every audit record is also sent to a
/// syslog receiver and/or an HTTP webhook, so the trail leaves the machine as it is written.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditShipArgs {
    /// Ship every audit record to a syslog receiver as RFC 5424 over TCP (octet counting, RFC 6587):
    /// `tcp://HOST:PORT`, or `tls://HOST:PORT` for TLS.
    #[arg(long, env = "WORMGATE_AUDIT_SYSLOG")]
    pub audit_syslog: Option<String>,
    /// PEM CA certificate(s) that the `tls://` syslog receiver's certificate must chain to (default: the
    /// system's CA store).
    #[arg(long, env = "WORMGATE_AUDIT_SYSLOG_CA")]
    pub audit_syslog_ca: Option<PathBuf>,
    /// POST every audit record, as JSON lines in batches, to this `http://` or `https://` URL (a 2xx
    /// answer acknowledges a batch).
    #[arg(long, env = "WORMGATE_AUDIT_WEBHOOK")]
    pub audit_webhook: Option<String>,
    /// PEM CA certificate(s) that the `https://` webhook's certificate must chain to (default: the
    /// system's CA store).
    #[arg(long, env = "WORMGATE_AUDIT_WEBHOOK_CA")]
    pub audit_webhook_ca: Option<PathBuf>,
}

impl AuditShipArgs {
    /// These flags/env over the `[audit_shipping]` table, field by field.
    #[must_use]
    pub fn over(&self, file: Option<&AuditShipArgs>) -> AuditShipArgs {
        let f = file.cloned().unwrap_or_default();
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        AuditShipArgs {
            audit_syslog: nonempty(self.audit_syslog.clone()).or(nonempty(f.audit_syslog)),
            audit_syslog_ca: self.audit_syslog_ca.clone().or(f.audit_syslog_ca),
            audit_webhook: nonempty(self.audit_webhook.clone()).or(nonempty(f.audit_webhook)),
            audit_webhook_ca: self.audit_webhook_ca.clone().or(f.audit_webhook_ca),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_shipping_flags_win_over_the_table() {
        let f: FileConfig = toml::from_str(
            "[audit_shipping]\naudit_syslog = \"tcp://siem:6514\"\naudit_webhook = \"https://siem/in\"\n",
        )
        .unwrap();
        let args = AuditShipArgs {
            audit_webhook: Some("http://127.0.0.1:9/x".into()),
            ..Default::default()
        };
        let m = args.over(f.audit_shipping.as_ref());
        assert_eq!(m.audit_syslog.as_deref(), Some("tcp://siem:6514"));
        assert_eq!(m.audit_webhook.as_deref(), Some("http://127.0.0.1:9/x"));
        assert!(toml::from_str::<FileConfig>("[audit_shipping]\nsyslog = \"x\"\n").is_err());
    }

    #[test]
    fn user_bucket_scopes_are_read_and_checked() {
        let ok: FileConfig = toml::from_str(
            "[[users]]\naccess_key = \"AK1\"\nsecret_key = \"secret-123\"\nrole = \"writer\"\nbuckets = [\"veeam-*\", \"archive/h1/*\"]\n",
        )
        .unwrap();
        let users = users_of(&ok).unwrap();
        let u = users.iter().find(|u| u.principal.access_key == "AK1").unwrap();
        assert_eq!(u.principal.scope.entries(), ["veeam-*", "archive/h1/*"]);
        let bad: FileConfig = toml::from_str(
            "[[users]]\nname = \"x\"\naccess_key = \"AK1\"\nsecret_key = \"secret-123\"\nrole = \"writer\"\nbuckets = [\"a*b\"]\n",
        )
        .unwrap();
        let e = users_of(&bad).unwrap_err().to_string();
        assert!(e.contains("user x") && e.contains("'*' may only end"), "{e}");
    }

    #[test]
    fn ntp_sources() {
        assert_eq!(NtpSource::parse("ntp://pool.example").unwrap().addr, "pool.example:123");
        assert_eq!(NtpSource::parse("ntp://127.0.0.1:1234").unwrap().addr, "127.0.0.1:1234");
        assert_eq!(NtpSource::parse("ntp://[::1]:1234").unwrap().addr, "[::1]:1234");
        assert_eq!(NtpSource::parse("ntp://[::1]").unwrap().addr, "[::1]:123");
        for bad in [
            "pool.example",
            "http://x",
            "ntp://",
            "ntp://h:0",
            "ntp://h:x",
            "ntp://h/p",
            "ntp://u@h",
        ] {
            assert!(NtpSource::parse(bad).is_err(), "{bad}");
        }
        let c = TimeConfig::load(&TimeArgs::default(), None, true).unwrap();
        assert!(!c.has_sources() && !c.upstream_date);
        assert_eq!(c.max_offline_gap, chrono::Duration::minutes(10));
        let a = TimeArgs {
            time_source: vec!["ntp://a".into()],
            ..Default::default()
        };
        assert!(TimeConfig::load(&a, None, true).unwrap().upstream_date);
        assert!(!TimeConfig::load(&a, None, false).unwrap().upstream_date);
    }

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

    #[test]
    fn setting_errors_name_the_flag_and_keep_the_cause() {
        use std::error::Error as _;
        assert_eq!(
            parse_duration("0s").unwrap_err(),
            DurationError::NotPositive("0s".into())
        );
        assert_eq!(
            parse_duration("1x").unwrap_err().to_string(),
            "'1x': unknown unit 'x' (use s, m, h, d, w or y)"
        );
        let e = optional_interval(Some("soon"), "1h", "lifecycle-interval").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--lifecycle-interval 'soon' is not a duration like 30s, 1d or 7y"
        );
        assert!(
            e.source().is_some_and(|c| c.to_string().contains("'soon'")),
            "the parse error stays the cause"
        );
        let bad: FileConfig = toml::from_str("[quotas.b]\nbytes = \"lots\"\n").unwrap();
        assert_eq!(
            load_quotas(&bad.quotas).unwrap_err().to_string(),
            "[quotas.b] bytes 'lots': unknown size unit 'lots' (use B, KiB, MiB, GiB, TiB, PiB or kB, MB, GB, TB, PB)"
        );
    }

    #[test]
    fn catalog_cache_is_a_size_with_a_floor() {
        assert_eq!(catalog_cache(None).unwrap(), None);
        assert_eq!(catalog_cache(Some("64MiB")).unwrap(), Some(64 << 20));
        let f: FileConfig = toml::from_str("catalog_cache = \"8MiB\"\n").unwrap();
        assert_eq!(catalog_cache(f.catalog_cache.as_deref()).unwrap(), Some(8 << 20));
        assert_eq!(
            catalog_cache(Some("100KiB")).unwrap_err().to_string(),
            format!(
                "--catalog-cache must be at least {}",
                crate::units::format_size(MIN_CATALOG_CACHE)
            )
        );
        assert!(catalog_cache(Some("lots"))
            .unwrap_err()
            .to_string()
            .starts_with("--catalog-cache 'lots'"));
    }

    #[test]
    fn segment_max_object_from_flag_file_or_default() {
        assert_eq!(load_segment_max_object(None, None).unwrap(), 1 << 20);
        let f: FileConfig = toml::from_str("segment_max_object = \"256KiB\"\n").unwrap();
        assert_eq!(
            load_segment_max_object(None, f.segment_max_object.as_deref()).unwrap(),
            256 << 10
        );
        assert_eq!(load_segment_max_object(Some("0"), Some("256KiB")).unwrap(), 0);
        let e = load_segment_max_object(Some("big"), None).unwrap_err().to_string();
        assert!(e.contains("--segment-max-object"), "{e}");
    }

    #[test]
    fn quotas_table() {
        let f: FileConfig = toml::from_str(
            "reserve_free = \"5%\"\n[quotas.backups]\nbytes = \"500GiB\"\nversions = 1000\n[quotas.logs]\nversions = 5\n",
        )
        .unwrap();
        assert_eq!(f.reserve_free.as_deref(), Some("5%"));
        let q = load_quotas(&f.quotas).unwrap();
        assert_eq!(
            q["backups"],
            QuotaConfig {
                bytes: Some(500 << 30),
                versions: Some(1000)
            }
        );
        assert_eq!(q["logs"].bytes, None);
        let bad: FileConfig = toml::from_str("[quotas.b]\nbytes = \"lots\"\n").unwrap();
        assert!(load_quotas(&bad.quotas).unwrap_err().to_string().contains("[quotas.b]"));
        let empty: FileConfig = toml::from_str("[quotas.b]\n").unwrap();
        assert!(load_quotas(&empty.quotas).is_err());
        assert!(toml::from_str::<FileConfig>("[quotas.b]\nbites = 1\n").is_err());
    }
}
