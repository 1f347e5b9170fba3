//! Bodies stream in both directions: a large PUT and GET never hold the object in memory.

use crate::common::*;
use aws_sdk_s3::primitives::ByteStream;
use std::io::Write;
use std::time::Duration;

const SIZE: usize = 256 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_put_and_get_stream() {
    let srv = Server::start();
    let c = srv.admin();
    make_bucket(&c, "mem").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    let block = pattern(1 << 20, 3);
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for i in 0..(SIZE >> 20) {
            let mut b = block.clone();
            b[..8].copy_from_slice(&(i as u64).to_le_bytes());
            f.write_all(&b).unwrap();
        }
    }
    let sha = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let mut f = std::fs::File::open(&path).unwrap();
        std::io::copy(&mut f, &mut h).unwrap();
        hex::encode(h.finalize())
    };
    let baseline = srv.rss();
    let limit = baseline + 96 * 1024 * 1024;

    let put_peak = srv
        .peak_rss_during(async {
            ok(
                c.put_object()
                    .bucket("mem")
                    .key("big")
                    .body(ByteStream::from_path(&path).await.unwrap())
                    .send()
                    .await,
                "256 MiB PUT",
            );
        })
        .await;

    let get_peak = srv
        .peak_rss_during(async {
            let out = ok(c.get_object().bucket("mem").key("big").send().await, "256 MiB GET");
            assert_eq!(out.content_length(), Some(SIZE as i64));
            let mut body = out.body;
            let mut h = {
                use sha2::Digest;
                sha2::Sha256::new()
            };
            let mut n = 0usize;
            while let Some(chunk) = body.try_next().await.expect("GET body") {
                use sha2::Digest;
                n += chunk.len();
                h.update(&chunk);
                // A slow reader: the server must not buffer ahead without bound.
                if n % (16 << 20) < chunk.len() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            assert_eq!(n, SIZE);
            assert_eq!(hex::encode(sha2::Digest::finalize(h)), sha);
        })
        .await;
    eprintln!(
        "RSS baseline {} MiB, PUT peak {} MiB, GET peak {} MiB",
        baseline >> 20,
        put_peak >> 20,
        get_peak >> 20
    );
    assert!(
        put_peak < limit,
        "PUT of 256 MiB raised RSS to {} MiB (baseline {} MiB)",
        put_peak >> 20,
        baseline >> 20
    );
    assert!(
        get_peak < limit,
        "GET of 256 MiB raised RSS to {} MiB (baseline {} MiB)",
        get_peak >> 20,
        baseline >> 20
    );
}

/// `wormgate serve` runs with glibc's malloc capped to two arenas (its RSS otherwise grows with the
/// number of threads that ever allocated: 72–96 MiB against 39–43 MiB in `bench/run`): the serving
/// process — the same pid that was started — has the tunable in its environment, and an
/// operator's own `GLIBC_TUNABLES` is left as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_with_capped_malloc_arenas_unless_the_operator_chose() {
    let environ = |pid: u32| {
        let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
        raw.split(|b| *b == 0)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .filter_map(|v| v.strip_prefix("GLIBC_TUNABLES="))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let srv = Server::start();
    assert_eq!(environ(srv.pid()), vec!["glibc.malloc.arena_max=2".to_string()]);
    // still named after its binary for `ps` and `pgrep`
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", srv.pid())).unwrap();
    assert_eq!(comm.trim(), "wormgate");
    // it is the process that answers
    let c = srv.admin();
    make_bucket(&c, "arenas").await;

    let own = Server::start_with(Options::default().env("GLIBC_TUNABLES", "glibc.malloc.arena_max=4"));
    assert_eq!(environ(own.pid()), vec!["glibc.malloc.arena_max=4".to_string()]);
}
