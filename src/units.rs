//! Byte sizes and shares of a disk as people write them (`500GiB`, `2GiB`, `10MB`, `5%`): one parser
//! for the quota and free-space reserve settings, so the flag, the config file, the CLI and the admin
//! API read them the same way.

/// Why a size or a reserve was not accepted. Each variant keeps the text as given, so the message
/// quotes what the user wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// The unit after the number is not one of the known ones.
    #[error("'{given}': unknown size unit '{unit}' (use B, KiB, MiB, GiB, TiB, PiB or kB, MB, GB, TB, PB)")]
    UnknownUnit {
        /// The text as given.
        given: String,
        /// The unit part of it.
        unit: String,
    },
    /// No number, or not a number.
    #[error("'{0}' is not a size like 500GiB, 2GiB or 10MB")]
    NotASize(String),
    /// More bytes than a `u64` holds.
    #[error("'{0}' is too large")]
    TooLarge(String),
    /// A `%` reserve whose number does not parse.
    #[error("'{0}' is not a percentage like 5%")]
    NotAPercentage(String),
    /// A `%` reserve outside 0–100.
    #[error("'{0}': the percentage must be between 0% and 100%")]
    PercentageRange(String),
}

/// Parse a byte size: a whole number with an optional unit. `B`, decimal `kB`/`KB`/`MB`/`GB`/`TB`/`PB`
/// (powers of 1000) and binary `KiB`/`MiB`/`GiB`/`TiB`/`PiB` (powers of 1024); the letter alone
/// (`K`, `M`, `G`, `T`, `P`) is binary, as in `df -h`. A decimal point is allowed (`1.5GiB`).
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit = unit.trim();
    let mult: u64 = match unit {
        "" | "B" | "b" => 1,
        "k" | "kB" | "KB" => 1000,
        "MB" => 1000_u64.pow(2),
        "GB" => 1000_u64.pow(3),
        "TB" => 1000_u64.pow(4),
        "PB" => 1000_u64.pow(5),
        "K" | "Ki" | "KiB" => 1 << 10,
        "M" | "Mi" | "MiB" => 1 << 20,
        "G" | "Gi" | "GiB" => 1 << 30,
        "T" | "Ti" | "TiB" => 1 << 40,
        "P" | "Pi" | "PiB" => 1 << 50,
        _ => {
            return Err(SizeError::UnknownUnit {
                given: s.to_string(),
                unit: unit.to_string(),
            })
        }
    };
    let bad = || SizeError::NotASize(s.to_string());
    if num.is_empty() {
        return Err(bad());
    }
    match num.split_once('.') {
        None => num
            .parse::<u64>()
            .map_err(|_| bad())?
            .checked_mul(mult)
            .ok_or_else(|| SizeError::TooLarge(s.to_string())),
        Some((whole, frac)) => {
            if whole.is_empty() || frac.is_empty() || frac.contains('.') {
                return Err(bad());
            }
            let v: f64 = num.parse().map_err(|_| bad())?;
            let bytes = v * approx_f64(mult);
            if !bytes.is_finite() || bytes < 0.0 || bytes >= approx_f64(u64::MAX) {
                return Err(SizeError::TooLarge(s.to_string()));
            }
            Ok(whole_bytes(bytes))
        }
    }
}

/// A count as `f64`, for ratios and display only: exact below 2^53, which every byte or version
/// count here is, so the precision lint has nothing to find.
#[allow(clippy::cast_precision_loss)]
pub fn approx_f64(n: u64) -> f64 {
    n as f64
}

/// How many bytes to take now: the smaller of what remains (a 64-bit length) and what fits in memory.
/// Checked, so a remaining length beyond `usize` (32-bit targets) cannot truncate.
pub fn take_len(remaining: u64, cap: usize) -> usize {
    usize::try_from(remaining).map_or(cap, |r| r.min(cap))
}

/// Whole bytes of a value the caller has checked is finite and in `0..u64::MAX` (`as` saturates anyway).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole_bytes(v: f64) -> u64 {
    v.round() as u64
}

/// Render a byte count for people: the largest binary unit that keeps at least one whole unit,
/// with up to two decimals (`1.50 GiB`), or plain bytes below 1 KiB.
pub fn format_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = approx_f64(n) / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {}", UNITS[i])
}

/// How much of the data volume must stay free: a fixed number of bytes or a share of its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reserve {
    /// Keep at least this many bytes free.
    Bytes(u64),
    /// Keep at least this percentage (0–100) of the volume's size free.
    Percent(f64),
}

impl Reserve {
    /// Parse `2GiB` (any [`parse_size`] form) or `5%` (0–100, decimals allowed).
    pub fn parse(s: &str) -> Result<Reserve, SizeError> {
        let t = s.trim();
        match t.strip_suffix('%') {
            Some(p) => {
                let v: f64 = p.trim().parse().map_err(|_| SizeError::NotAPercentage(s.to_string()))?;
                if !(0.0..=100.0).contains(&v) {
                    return Err(SizeError::PercentageRange(s.to_string()));
                }
                Ok(Reserve::Percent(v))
            }
            None => parse_size(t).map(Reserve::Bytes),
        }
    }

    /// The reserve in bytes on a volume of `total` bytes.
    pub fn bytes_of(&self, total: u64) -> u64 {
        match *self {
            Reserve::Bytes(b) => b,
            // Rounding up must not reserve more than the volume holds (100% of a large volume did).
            Reserve::Percent(p) => whole_bytes((approx_f64(total) * p / 100.0).ceil()).min(total),
        }
    }
}

impl std::fmt::Display for Reserve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reserve::Bytes(b) => f.write_str(&format_size(*b)),
            Reserve::Percent(p) => write!(f, "{p}%"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `gateway::admin::fuzz_tests::fuzz_sizes`: f64 rounding made 100% of a large volume
    /// more than the volume.
    #[test]
    fn percent_reserve_never_exceeds_the_volume() {
        let total = 15_102_351_313_474_063;
        assert_eq!(Reserve::Percent(100.0).bytes_of(total), total);
        assert_eq!(Reserve::Percent(100.0).bytes_of(u64::MAX), u64::MAX);
        assert_eq!(Reserve::Percent(50.0).bytes_of(10), 5);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("500GiB").unwrap(), 500 * (1 << 30));
        assert_eq!(parse_size("2GiB").unwrap(), 2 * (1 << 30));
        assert_eq!(parse_size("2G").unwrap(), 2 * (1 << 30));
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        assert_eq!(parse_size("1kB").unwrap(), 1000);
        assert_eq!(parse_size("1KiB").unwrap(), 1024);
        assert_eq!(parse_size("123").unwrap(), 123);
        assert_eq!(parse_size("123B").unwrap(), 123);
        assert_eq!(parse_size(" 1 TiB ").unwrap(), 1 << 40);
        assert_eq!(parse_size("1.5GiB").unwrap(), 3 * (1 << 29));
        assert_eq!(parse_size("0").unwrap(), 0);
        for bad in [
            "",
            "GiB",
            "-1GiB",
            "1XB",
            "1..5G",
            "1.G",
            ".5G",
            "5%",
            "99999999999PiB",
            "1e3",
        ] {
            assert!(parse_size(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn reserves() {
        assert_eq!(Reserve::parse("2GiB").unwrap(), Reserve::Bytes(2 << 30));
        assert_eq!(Reserve::parse("5%").unwrap(), Reserve::Percent(5.0));
        assert_eq!(Reserve::parse("99.5%").unwrap(), Reserve::Percent(99.5));
        assert_eq!(Reserve::parse("0%").unwrap(), Reserve::Percent(0.0));
        for bad in ["101%", "-1%", "%", "x%", "2XiB"] {
            assert!(Reserve::parse(bad).is_err(), "{bad} must be refused");
        }
        assert_eq!(Reserve::Percent(5.0).bytes_of(1000), 50);
        assert_eq!(Reserve::Percent(5.0).bytes_of(1001), 51);
        assert_eq!(Reserve::Bytes(7).bytes_of(1000), 7);
    }

    #[test]
    fn formatting() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1024), "1 KiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert_eq!(format_size(500 << 30), "500 GiB");
        assert_eq!(Reserve::Bytes(2 << 30).to_string(), "2 GiB");
        assert_eq!(Reserve::Percent(5.0).to_string(), "5%");
    }
}
