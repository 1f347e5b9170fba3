//! The `--audit-archive-*` flags and the `[audit_archive]` table: where sealed audit segments and
//! signed checkpoints are copied off the box (a second S3 location with its own keys), for how long
//! the archive is asked to retain them, and how often the archiver looks for new files. Credentials
//! come the way upstream mode takes its own: `WORMGATE_AUDIT_ARCHIVE_ACCESS_KEY` /
//! `WORMGATE_AUDIT_ARCHIVE_SECRET_KEY`, or `access_key` / `secret_key` in the table (never a flag, so
//! they do not show in `ps`).

use super::{parse_duration, UpstreamConfig};
use serde::Deserialize;

/// The `--audit-archive-*` flags, of `wormgate serve` and of `wormgate audit verify --from-archive`
/// (each also readable from `WORMGATE_AUDIT_ARCHIVE_*`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ArchiveArgs {
    /// S3 endpoint of the audit archive (`https://s3.example`): sealed audit segments and signed
    /// checkpoints are copied there. Keys from `WORMGATE_AUDIT_ARCHIVE_ACCESS_KEY` / `_SECRET_KEY`.
    #[arg(long, env = "WORMGATE_AUDIT_ARCHIVE_ENDPOINT")]
    pub audit_archive_endpoint: Option<String>,
    /// Bucket of the audit archive (must exist; Object Lock enabled makes the copies COMPLIANCE-retained).
    #[arg(long, env = "WORMGATE_AUDIT_ARCHIVE_BUCKET")]
    pub audit_archive_bucket: Option<String>,
    /// Key prefix of the archived files (default `wormgate-audit`).
    #[arg(long, env = "WORMGATE_AUDIT_ARCHIVE_PREFIX")]
    pub audit_archive_prefix: Option<String>,
    /// Region used to sign archive requests (default us-east-1).
    #[arg(long, env = "WORMGATE_AUDIT_ARCHIVE_REGION")]
    pub audit_archive_region: Option<String>,
    /// Path-style archive URLs; default true unless the endpoint is AWS.
    #[arg(long, env = "WORMGATE_AUDIT_ARCHIVE_PATH_STYLE", num_args = 0..=1, default_missing_value = "true")]
    pub audit_archive_path_style: Option<bool>,
    /// COMPLIANCE retention of each archived file when the archive bucket has Object Lock (`7y`).
    #[arg(long, env = "WORMGATE_AUDIT_ARCHIVE_RETENTION")]
    pub audit_archive_retention: Option<String>,
    /// How often the archiver looks for newly sealed segments and checkpoints (`1m`).
    #[arg(long, env = "WORMGATE_AUDIT_ARCHIVE_INTERVAL")]
    pub audit_archive_interval: Option<String>,
}

/// The `[audit_archive]` table of the config file. Environment variables and flags win over it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileArchive {
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub region: Option<String>,
    pub path_style: Option<bool>,
    pub retention: Option<String>,
    pub interval: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
}

/// Validated archive settings.
#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    /// Endpoint, bucket, prefix and keys, in the form the upstream S3 client takes.
    pub target: UpstreamConfig,
    /// Retain-until = upload time + this (when the archive bucket has Object Lock).
    pub retention: chrono::Duration,
    /// Pause between two archive passes.
    pub interval: std::time::Duration,
}

/// Why the archive settings are not usable.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveConfigError {
    /// A setting is missing or malformed; the message names the flag.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(m: impl Into<String>) -> ArchiveConfigError {
    ArchiveConfigError::Invalid(m.into())
}

impl ArchiveConfig {
    /// Merge flags/env over the `[audit_archive]` table; `Ok(None)` when no archive is asked for.
    pub fn load(args: &ArchiveArgs, file: Option<&FileArchive>) -> Result<Option<ArchiveConfig>, ArchiveConfigError> {
        let f = file.cloned().unwrap_or_default();
        let env = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        let bucket = args.audit_archive_bucket.clone().or(f.bucket);
        let Some(endpoint) = args.audit_archive_endpoint.clone().or(f.endpoint) else {
            if bucket.is_some() {
                return Err(invalid("--audit-archive-bucket needs --audit-archive-endpoint"));
            }
            return Ok(None);
        };
        let endpoint = endpoint.trim().trim_end_matches('/').to_string();
        let uri: http::Uri = endpoint
            .parse()
            .map_err(|e| invalid(format!("--audit-archive-endpoint '{endpoint}': {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https"))
            || uri.host().is_none()
            || uri.path().len() > 1
            || uri.query().is_some()
        {
            return Err(invalid(format!(
                "--audit-archive-endpoint '{endpoint}' must be http(s)://host[:port] without a path"
            )));
        }
        let bucket = bucket.ok_or_else(|| invalid("the audit archive needs --audit-archive-bucket"))?;
        if bucket.is_empty() || bucket.len() > 63 || bucket.contains('/') {
            return Err(invalid(format!(
                "--audit-archive-bucket '{bucket}' is not a bucket name"
            )));
        }
        let (Some(access_key), Some(secret_key)) = (
            env("WORMGATE_AUDIT_ARCHIVE_ACCESS_KEY").or(f.access_key),
            env("WORMGATE_AUDIT_ARCHIVE_SECRET_KEY").or(f.secret_key),
        ) else {
            return Err(invalid(
                "the audit archive needs WORMGATE_AUDIT_ARCHIVE_ACCESS_KEY and WORMGATE_AUDIT_ARCHIVE_SECRET_KEY \
                 (or access_key / secret_key in [audit_archive])",
            ));
        };
        let prefix = args
            .audit_archive_prefix
            .clone()
            .or(f.prefix)
            .unwrap_or_else(|| "wormgate-audit".into())
            .trim_matches('/')
            .to_string();
        let is_aws = uri.host().is_some_and(|h| h.ends_with("amazonaws.com"));
        let retention = parse_duration(
            args.audit_archive_retention
                .as_deref()
                .or(f.retention.as_deref())
                .unwrap_or("7y"),
        )
        .map_err(|e| invalid(format!("--audit-archive-retention {e}")))?;
        let interval = parse_duration(
            args.audit_archive_interval
                .as_deref()
                .or(f.interval.as_deref())
                .unwrap_or("1m"),
        )
        .map_err(|e| invalid(format!("--audit-archive-interval {e}")))?
        .to_std()
        .map_err(|e| invalid(format!("--audit-archive-interval: {e}")))?;
        Ok(Some(ArchiveConfig {
            target: UpstreamConfig {
                endpoint,
                bucket,
                region: args
                    .audit_archive_region
                    .clone()
                    .or(f.region)
                    .unwrap_or_else(|| "us-east-1".into()),
                prefix,
                path_style: args.audit_archive_path_style.or(f.path_style).unwrap_or(!is_aws),
                access_key,
                secret_key,
            },
            retention,
            interval,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_table_and_validation() {
        assert!(ArchiveConfig::load(&ArchiveArgs::default(), None).unwrap().is_none());
        let only_bucket = ArchiveArgs {
            audit_archive_bucket: Some("b".into()),
            ..Default::default()
        };
        assert!(ArchiveConfig::load(&only_bucket, None).is_err());
        let f = FileArchive {
            endpoint: Some("http://127.0.0.1:8333/".into()),
            bucket: Some("arch".into()),
            access_key: Some("ak".into()),
            secret_key: Some("sk".into()),
            retention: Some("10y".into()),
            ..Default::default()
        };
        let c = ArchiveConfig::load(&ArchiveArgs::default(), Some(&f)).unwrap().unwrap();
        assert_eq!(c.target.endpoint, "http://127.0.0.1:8333");
        assert_eq!(c.target.prefix, "wormgate-audit");
        assert!(c.target.path_style);
        assert_eq!(c.retention, chrono::Duration::days(3650));
        assert_eq!(c.interval, std::time::Duration::from_secs(60));
        let flags = ArchiveArgs {
            audit_archive_prefix: Some("/site-a/".into()),
            audit_archive_retention: Some("1d".into()),
            ..Default::default()
        };
        let c = ArchiveConfig::load(&flags, Some(&f)).unwrap().unwrap();
        assert_eq!(c.target.prefix, "site-a");
        assert_eq!(c.retention, chrono::Duration::days(1));
        let bad = FileArchive {
            endpoint: Some("ftp://x".into()),
            ..f.clone()
        };
        assert!(ArchiveConfig::load(&ArchiveArgs::default(), Some(&bad)).is_err());
        let no_keys = FileArchive { secret_key: None, ..f };
        // Only when the environment does not supply the key either.
        if std::env::var("WORMGATE_AUDIT_ARCHIVE_SECRET_KEY").is_err() {
            assert!(ArchiveConfig::load(&ArchiveArgs::default(), Some(&no_keys)).is_err());
        }
    }

    #[test]
    fn the_config_file_table_is_read() {
        let f: super::super::FileConfig = toml::from_str(
            "[audit_archive]\nendpoint = \"https://s3.example\"\nbucket = \"worm-audit\"\nprefix = \"site-a\"\n\
             access_key = \"ak\"\nsecret_key = \"sk\"\ninterval = \"5m\"\n",
        )
        .unwrap();
        let c = ArchiveConfig::load(&ArchiveArgs::default(), f.audit_archive.as_ref())
            .unwrap()
            .unwrap();
        assert_eq!(c.target.bucket, "worm-audit");
        assert_eq!(c.target.prefix, "site-a");
        assert_eq!(c.interval, std::time::Duration::from_secs(300));
        assert!(toml::from_str::<super::super::FileConfig>("[audit_archive]\nbogus = 1\n").is_err());
    }
}
