//! `--max-connections`, `--header-read-timeout` and the other resource limits of `serve` (issue 13):
//! flags, `WORMGATE_*` variables and the config file's `[limits]` table, validated once. Why a table of
//! its own: every limit has a safe default, so a hostile client meets a bound even when nobody
//! configured one, and an operator can widen any of them without a rebuild.

use super::parse_duration;
use super::ConfigError;
use crate::units::parse_size;
use serde::Deserialize;
use std::time::Duration;

/// The resource-limit flags (and the `[limits]` table, same names with `_`).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsArgs {
    /// Open connections at most (default 2048). A new connection over it closes the connection
    /// that has been idle (or sending an unfinished request head) the longest; when every connection
    /// has a request in progress, the new one is answered 503 `SlowDown` and closed.
    #[arg(long, env = "WORMGATE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// S3 requests in progress at most (default 256); over it a request is answered 503 `SlowDown`
    /// at once. `/health`, `/metrics` and the admin API are not counted.
    #[arg(long, env = "WORMGATE_MAX_REQUESTS_IN_FLIGHT")]
    pub max_requests_in_flight: Option<usize>,
    /// Time a client has to send a complete request head (`30s`), counted from the connection or
    /// from the end of the previous response (HTTP/1.1).
    #[arg(long, env = "WORMGATE_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<String>,
    /// A connection with no request in progress for this long is closed (`20s`).
    #[arg(long, env = "WORMGATE_IDLE_TIMEOUT")]
    pub idle_timeout: Option<String>,
    /// A request body that sends nothing for this long is abandoned (`60s`): 400 `RequestTimeout`,
    /// the partial upload discarded.
    #[arg(long, env = "WORMGATE_BODY_READ_TIMEOUT")]
    pub body_read_timeout: Option<String>,
    /// Largest request head, request line and headers (`16KiB`, at least `8KiB`; AWS allows 8 KiB):
    /// over it, 431. Also hyper's largest read: connections × this bounds the read buffers.
    #[arg(long, env = "WORMGATE_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<String>,
    /// Most header fields in a request head (default 100): over it, 431.
    #[arg(long, env = "WORMGATE_MAX_HEADERS")]
    pub max_headers: Option<usize>,
    /// Open multipart uploads per bucket at most (default 10000): over it, 403 `QuotaExceeded`.
    #[arg(long, env = "WORMGATE_MAX_OPEN_UPLOADS")]
    pub max_open_uploads: Option<u64>,
}

/// The validated resource limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    pub max_connections: usize,
    pub max_requests_in_flight: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_open_uploads: u64,
}

/// hyper's smallest read buffer: a head limit below it cannot be enforced.
const MIN_HEADER_BYTES: usize = 8 * 1024;

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 2048,
            max_requests_in_flight: 256,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(20),
            body_read_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_open_uploads: 10_000,
        }
    }
}

impl LimitsConfig {
    /// Flags/env over the `[limits]` table over the defaults.
    pub fn load(args: &LimitsArgs, file: Option<&LimitsArgs>) -> Result<LimitsConfig, ConfigError> {
        let f = file.cloned().unwrap_or_default();
        let d = LimitsConfig::default();
        let dur = |v: Option<&String>, default: Duration, flag: &str| -> Result<Duration, ConfigError> {
            match v {
                None => Ok(default),
                Some(s) => parse_duration(s)
                    .map_err(|e| ConfigError::Invalid(format!("--{flag} {e}")))?
                    .to_std()
                    .map_err(|e| ConfigError::Invalid(format!("--{flag}: {e}"))),
            }
        };
        let positive = |v: Option<usize>, default: usize, flag: &str| match v.unwrap_or(default) {
            0 => Err(ConfigError::Invalid(format!("--{flag} must be at least 1"))),
            n => Ok(n),
        };
        let max_header_bytes = match args.max_header_bytes.as_ref().or(f.max_header_bytes.as_ref()) {
            None => d.max_header_bytes,
            Some(s) => {
                let n = parse_size(s).map_err(|e| ConfigError::Invalid(format!("--max-header-bytes {e}")))?;
                usize::try_from(n).map_err(|_| ConfigError::Invalid(format!("--max-header-bytes {s} is too large")))?
            }
        };
        if max_header_bytes < MIN_HEADER_BYTES {
            return Err(ConfigError::Invalid("--max-header-bytes must be at least 8KiB".into()));
        }
        let max_open_uploads = args
            .max_open_uploads
            .or(f.max_open_uploads)
            .unwrap_or(d.max_open_uploads);
        if max_open_uploads == 0 {
            return Err(ConfigError::Invalid("--max-open-uploads must be at least 1".into()));
        }
        Ok(LimitsConfig {
            max_connections: positive(
                args.max_connections.or(f.max_connections),
                d.max_connections,
                "max-connections",
            )?,
            max_requests_in_flight: positive(
                args.max_requests_in_flight.or(f.max_requests_in_flight),
                d.max_requests_in_flight,
                "max-requests-in-flight",
            )?,
            header_read_timeout: dur(
                args.header_read_timeout.as_ref().or(f.header_read_timeout.as_ref()),
                d.header_read_timeout,
                "header-read-timeout",
            )?,
            idle_timeout: dur(
                args.idle_timeout.as_ref().or(f.idle_timeout.as_ref()),
                d.idle_timeout,
                "idle-timeout",
            )?,
            body_read_timeout: dur(
                args.body_read_timeout.as_ref().or(f.body_read_timeout.as_ref()),
                d.body_read_timeout,
                "body-read-timeout",
            )?,
            max_header_bytes,
            max_headers: positive(args.max_headers.or(f.max_headers), d.max_headers, "max-headers")?,
            max_open_uploads,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_flags_and_file() {
        assert_eq!(
            LimitsConfig::load(&LimitsArgs::default(), None).unwrap(),
            LimitsConfig::default()
        );
        let file: LimitsArgs = toml::from_str(
            "max_connections = 10\nidle_timeout = \"5s\"\nmax_header_bytes = \"16KiB\"\nmax_open_uploads = 3\n",
        )
        .unwrap();
        let flags = LimitsArgs {
            max_connections: Some(20),
            ..Default::default()
        };
        let c = LimitsConfig::load(&flags, Some(&file)).unwrap();
        assert_eq!(c.max_connections, 20, "the flag wins over the file");
        assert_eq!(c.idle_timeout, Duration::from_secs(5));
        assert_eq!(c.max_header_bytes, 16 * 1024);
        assert_eq!(c.max_open_uploads, 3);
        assert_eq!(c.max_requests_in_flight, 256);
    }

    #[test]
    fn refusals() {
        let bad = |a: LimitsArgs, needle: &str| {
            let e = LimitsConfig::load(&a, None).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        };
        bad(
            LimitsArgs {
                max_header_bytes: Some("4KiB".into()),
                ..Default::default()
            },
            "at least 8KiB",
        );
        bad(
            LimitsArgs {
                max_connections: Some(0),
                ..Default::default()
            },
            "--max-connections",
        );
        bad(
            LimitsArgs {
                body_read_timeout: Some("soon".into()),
                ..Default::default()
            },
            "--body-read-timeout",
        );
        bad(
            LimitsArgs {
                max_open_uploads: Some(0),
                ..Default::default()
            },
            "--max-open-uploads",
        );
        assert!(toml::from_str::<LimitsArgs>("max_conections = 1\n").is_err());
    }
}
