//! The machine's limits, measured on the spot: single-core SHA-256 and MD5 (the digests every
//! stored version gets), sequential write + fdatasync throughput of a directory's filesystem, and
//! the rate of small durable writes (new file, 4 KiB, fdatasync).
//!
//! Output: `name=value` lines (MB = 10^6 bytes).

use md5::Md5;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::time::Instant;

#[derive(clap::Args)]
pub struct MeasureArgs {
    /// Bytes hashed by each digest.
    #[arg(long, default_value = "512MiB", value_parser = crate::parse_size)]
    hash_bytes: u64,
    /// Directory whose filesystem is measured (a temporary file is written and removed).
    #[arg(long)]
    disk_dir: Option<std::path::PathBuf>,
    /// Bytes written sequentially before the fdatasync.
    #[arg(long, default_value = "1GiB", value_parser = crate::parse_size)]
    disk_bytes: u64,
    /// Small durable writes (new 4 KiB file + fdatasync each).
    #[arg(long, default_value_t = 200)]
    small_writes: usize,
}

fn mbs(bytes: u64, t: Instant) -> f64 {
    bytes as f64 / 1e6 / t.elapsed().as_secs_f64().max(1e-9)
}

fn block() -> Vec<u8> {
    (0..4u64 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

/// MB/s of one digest over `bytes` bytes fed from `buf`.
fn hash_speed<D: Digest>(buf: &[u8], bytes: u64) -> f64 {
    let mut d = D::new();
    let t = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        d.update(&buf[..n]);
        left -= n as u64;
    }
    std::hint::black_box(d.finalize());
    mbs(bytes, t)
}

pub fn measure(a: MeasureArgs) -> i32 {
    let buf = block();
    let sha = hash_speed::<Sha256>(&buf, a.hash_bytes);
    let md5 = hash_speed::<Md5>(&buf, a.hash_bytes);
    println!("sha256_mb_s={sha:.0}");
    println!("md5_mb_s={md5:.0}");
    let Some(dir) = a.disk_dir else { return 0 };
    let path = dir.join(format!(".wormgate-bench-disk-{}.tmp", std::process::id()));
    let run = || -> std::io::Result<(f64, f64)> {
        let t = Instant::now();
        let mut f = std::fs::File::create_new(&path)?;
        let mut left = a.disk_bytes;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            f.write_all(&buf[..n])?;
            left -= n as u64;
        }
        f.sync_data()?;
        let seq = mbs(a.disk_bytes, t);
        drop(f);
        std::fs::remove_file(&path)?;
        let t = Instant::now();
        for i in 0..a.small_writes {
            let p = dir.join(format!(".wormgate-bench-small-{}-{i}.tmp", std::process::id()));
            let mut f = std::fs::File::create_new(&p)?;
            f.write_all(&buf[..4096])?;
            f.sync_data()?;
            drop(f);
            std::fs::remove_file(&p)?;
        }
        let small = a.small_writes as f64 / t.elapsed().as_secs_f64().max(1e-9);
        Ok((seq, small))
    };
    match run() {
        Ok((seq, small)) => {
            println!("disk_write_fdatasync_mb_s={seq:.0}");
            println!("disk_small_fdatasync_per_s={small:.0}");
            0
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            eprintln!("wormgate-bench measure: {}: {e}", dir.display());
            2
        }
    }
}
