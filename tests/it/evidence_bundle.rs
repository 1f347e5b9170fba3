//! `wormgate evidence bundle|verify` against the real binary: traffic on a gateway with an audit
//! signing key, then bundles through the admin API (running) and offline (stopped), unpacked with the
//! system `tar`; the contents are checked (period and bucket filtering of the audit export, the
//! inventory lists the versions, the verify verdict, checkpoints and key, scrub, retention), `evidence
//! verify` passes with the right key and fails with a wrong key and after one flipped byte.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Unpack with the system tar (the bundle must be an ordinary tar) into a fresh directory.
fn unpack(tar: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let st = std::process::Command::new("tar")
        .arg("-xf")
        .arg(tar)
        .arg("-C")
        .arg(into)
        .status()
        .expect("run tar");
    assert!(st.success(), "tar -xf {}", tar.display());
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn json(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&read(dir, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every file the bundle must hold, whatever the traffic.
const MEMBERS: &[&str] = &[
    "INDEX.md",
    "MANIFEST.json",
    "MANIFEST.sig",
    "inventory/report.csv",
    "inventory/report.json",
    "audit/export.jsonl",
    "audit/export.csv",
    "audit/verify.json",
    "audit/verify.txt",
    "audit/public-key.txt",
    "scrub/last-scrub.json",
    "time/status.json",
    "retention/buckets.json",
];

fn export_records(dir: &Path) -> Vec<serde_json::Value> {
    read(dir, "audit/export.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("export line is JSON"))
        .collect()
}

fn keys_of(records: &[serde_json::Value], op: &str) -> Vec<String> {
    records
        .iter()
        .filter(|r| r["operation"] == op)
        .filter_map(|r| r["key"].as_str().map(str::to_string))
        .collect()
}

/// Flip one byte of `needle`'s first occurrence in the tar file.
fn flip_in_tar(tar: &Path, needle: &[u8]) {
    let mut bytes = std::fs::read(tar).unwrap();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle in the tar");
    bytes[at] ^= 0x01;
    std::fs::write(tar, bytes).unwrap();
}

#[tokio::test]
async fn evidence_bundle_offline_and_via_admin_api_verifies_and_detects_tampering() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let key = w.join("audit.key");
    let (code, pubkey, err) = wormgate(&["audit", "keygen", "--out", p(&key)], &[]);
    assert_eq!(code, 0, "{err}");
    let pubkey = pubkey.trim().to_string();

    let mut s = Server::start_with(Options {
        extra_args: vec!["--audit-signing-key".into(), p(&key).into()],
        ..Default::default()
    });
    let c = s.admin();
    make_bucket(&c, "evb").await;
    make_bucket(&c, "other").await;
    set_default_retention_days(&c, "evb", 3).await;
    let v_a1 = put_version(&c, "evb", "a", b"first").await;
    let v_early = put_version(&c, "evb", "early", b"before the period").await;
    put_version(&c, "other", "x", b"another bucket").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let t1 = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let v_a2 = put_version(&c, "evb", "a", b"second").await;
    let v_late = put_version(&c, "evb", "late", b"inside the period").await;
    put_version(&c, "other", "y", b"another bucket, in the period").await;

    // Through the admin API (running gateway), before any scrub: the audit records up to t1.
    let online = w.join("online.tar");
    let (code, out, err) = wormgate(
        &[
            "evidence",
            "bundle",
            "--endpoint",
            &s.endpoint,
            "--until",
            &t1,
            "--out",
            p(&online),
        ],
        &keys_env(AUDITOR),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("audit trail verification in the bundle: OK"), "{out}");
    // An officer may fetch it too; a writer may not (and the refusal is an error, not a bundle).
    let (code, _, err) = wormgate(
        &[
            "evidence",
            "bundle",
            "--endpoint",
            &s.endpoint,
            "--out",
            p(&w.join("officer.tar")),
        ],
        &keys_env(OFFICER),
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = wormgate(
        &[
            "evidence",
            "bundle",
            "--endpoint",
            &s.endpoint,
            "--out",
            p(&w.join("writer.tar")),
        ],
        &keys_env(WRITER),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("403") || err.contains("may not"), "{err}");
    assert!(!w.join("writer.tar").exists());
    // A bucket that does not exist is refused.
    let (code, _, err) = wormgate(
        &[
            "evidence",
            "bundle",
            "--endpoint",
            &s.endpoint,
            "--bucket",
            "nope",
            "--out",
            p(&w.join("n.tar")),
        ],
        &keys_env(AUDITOR),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no bucket nope"), "{err}");

    let on = w.join("online");
    unpack(&online, &on);
    for m in MEMBERS {
        assert!(on.join(m).is_file(), "online bundle lacks {m}");
    }
    let recs = export_records(&on);
    let puts = keys_of(&recs, "PutObject");
    assert!(
        puts.contains(&"early".to_string()) && puts.contains(&"x".to_string()),
        "{puts:?}"
    );
    assert!(
        !puts.contains(&"late".to_string()) && !puts.contains(&"y".to_string()),
        "{puts:?}"
    );
    assert!(recs.iter().all(|r| r["time"].as_str().unwrap() < t1.as_str()));
    assert_eq!(json(&on, "scrub/last-scrub.json")["on_record"], false);
    assert!(read(&on, "INDEX.md").contains("no scrub on record"));
    let time = json(&on, "time/status.json");
    assert!(time["status"]["watermark"].is_string(), "{time}");
    assert!(
        time["configured_sources"].is_array(),
        "live bundles list the configured sources: {time}"
    );
    let ret = json(&on, "retention/buckets.json");
    assert!(ret["policy"]["min_retention_s"].as_i64().unwrap() > 0, "{ret}");
    let (code, out, _) = wormgate(&["evidence", "verify", p(&online), "--public-key", &pubkey], &[]);
    assert_eq!(code, 0, "{out}");

    // Offline while the gateway runs: the catalog is in use; the tool says to ask the gateway.
    let (code, _, err) = wormgate(
        &[
            "evidence",
            "bundle",
            "--data-dir",
            p(&s.data_dir),
            "--signing-key",
            p(&key),
            "--out",
            p(&w.join("busy.tar")),
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--endpoint"), "{err}");
    assert!(!w.join("busy.tar").exists());

    // A scrub now leaves its result for the next bundle.
    let (code, out, err) = wormgate(&["scrub", "--endpoint", &s.endpoint], &keys_env(ADMIN));
    assert_eq!(code, 0, "{out}{err}");
    s.stop();

    // Every bundle request is audited, the refused one too.
    let (code, all, err) = wormgate(&["audit", "export", "--data-dir", p(&s.data_dir)], &[]);
    assert_eq!(code, 0, "{err}");
    let bundles: Vec<serde_json::Value> = all
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["operation"] == "AdminEvidenceBundle")
        .collect();
    let seen = |who: &str, decision: &str| {
        bundles
            .iter()
            .any(|r| r["principal"] == who && r["decision"] == decision)
    };
    assert!(
        seen("auditor", "allow") && seen("officer", "allow") && seen("writer", "deny"),
        "{bundles:?}"
    );

    // Offline, from the stopped gateway's data directory: bucket evb, records from t1 on.
    let offline = w.join("offline.tar");
    let (code, out, err) = wormgate(
        &[
            "evidence",
            "bundle",
            "--data-dir",
            p(&s.data_dir),
            "--signing-key",
            p(&key),
            "--since",
            &t1,
            "--bucket",
            "evb",
            "--out",
            p(&offline),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    let off = w.join("offline");
    unpack(&offline, &off);
    for m in MEMBERS {
        assert!(off.join(m).is_file(), "offline bundle lacks {m}");
    }
    // Period and bucket filtering of the export.
    let recs = export_records(&off);
    assert!(!recs.is_empty());
    let puts = keys_of(&recs, "PutObject");
    assert!(
        puts.contains(&"late".to_string()) && puts.contains(&"a".to_string()),
        "{puts:?}"
    );
    assert!(!puts.contains(&"early".to_string()), "before the period: {puts:?}");
    assert!(!puts.contains(&"y".to_string()), "another bucket: {puts:?}");
    for r in &recs {
        assert!(r["time"].as_str().unwrap() >= t1.as_str(), "{r}");
        assert_eq!(r["bucket"], "evb", "{r}");
    }
    let csv = read(&off, "audit/export.csv");
    assert_eq!(csv.lines().count(), recs.len() + 1, "CSV = header + the same records");
    // The inventory lists every version of the bucket, and only that bucket.
    let inv = read(&off, "inventory/report.csv");
    for v in [&v_a1, &v_a2, &v_early, &v_late] {
        assert!(
            inv.contains(v.as_str()),
            "version {v} missing from the inventory:\n{inv}"
        );
    }
    assert!(!inv.contains("other,"), "{inv}");
    let inv_json = json(&off, "inventory/report.json");
    assert_eq!(inv_json.as_array().map(Vec::len), Some(4), "{inv_json}");
    // The verify verdict, checkpoints and key.
    let ver = json(&off, "audit/verify.json");
    assert_eq!(ver["ok"], true, "{ver}");
    assert!(read(&off, "audit/public-key.txt").starts_with(&pubkey));
    let cps: Vec<_> = std::fs::read_dir(off.join("audit/checkpoints")).unwrap().collect();
    assert!(!cps.is_empty(), "the shutdown checkpoint is in the bundle");
    // Scrub, retention, index.
    let scrub = json(&off, "scrub/last-scrub.json");
    assert_eq!(scrub["on_record"], true, "{scrub}");
    assert_eq!(scrub["result"]["ok"], true, "{scrub}");
    let ret = json(&off, "retention/buckets.json");
    let buckets = ret["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 1, "{ret}");
    assert_eq!(buckets[0]["bucket"], "evb");
    assert_eq!(buckets[0]["lock_mode"], "COMPLIANCE");
    assert!(buckets[0]["default_retention"].to_string().contains('3'), "{ret}");
    let index = read(&off, "INDEX.md");
    assert!(index.contains("Audit trail verification: **OK**"), "{index}");
    assert!(index.contains(&t1[..19]), "the index names the period: {index}");
    // The manifest lists every other file with its hash.
    let man = json(&off, "MANIFEST.json");
    let listed: Vec<&str> = man["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for m in MEMBERS.iter().filter(|m| !m.starts_with("MANIFEST")) {
        assert!(listed.contains(m), "{m} not in the manifest");
    }
    assert_eq!(man["public_key"], pubkey.as_str());

    // Verify: with the examiner's key (hex or the key file), with a wrong key, after a flipped byte.
    let (code, out, _) = wormgate(&["evidence", "verify", p(&offline), "--public-key", &pubkey], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK:"), "{out}");
    assert!(out.contains("packaged checkpoint(s), every signature valid"), "{out}");
    assert!(!out.contains("\n0 packaged checkpoint"), "{out}");
    let (code, out, _) = wormgate(
        &[
            "evidence",
            "verify",
            p(&offline),
            "--public-key",
            p(&off.join("audit/public-key.txt")),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = wormgate(&["evidence", "verify", p(&offline)], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("key inside the bundle only"), "{out}");
    let (code, out, _) = wormgate(
        &["evidence", "verify", p(&offline), "--public-key", &"ab".repeat(32)],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not by the expected key"), "{out}");

    // A checkpoint forged on the box before bundling: the bundle is intact and signed, but both the
    // packaged verify verdict and `evidence verify` name the forged checkpoint.
    let forged_dir = w.join("forged-data");
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(&s.data_dir)
        .arg(&forged_dir)
        .status()
        .unwrap();
    assert!(st.success());
    let ck = std::fs::read_dir(forged_dir.join("audit/checkpoints"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&ck).unwrap()).unwrap();
    v["seq"] = serde_json::json!(v["seq"].as_u64().unwrap() - 1);
    std::fs::write(&ck, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let forged = w.join("forged.tar");
    let (code, out, err) = wormgate(
        &[
            "evidence",
            "bundle",
            "--data-dir",
            p(&forged_dir),
            "--signing-key",
            p(&key),
            "--out",
            p(&forged),
        ],
        &[],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("audit trail verification in the bundle: FAILED"), "{out}");
    let (code, out, _) = wormgate(&["evidence", "verify", p(&forged), "--public-key", &pubkey], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("audit/checkpoints/") && out.contains("signature"), "{out}");

    let tampered: PathBuf = w.join("tampered.tar");
    std::fs::copy(&offline, &tampered).unwrap();
    flip_in_tar(&tampered, v_late.as_bytes());
    let (code, out, _) = wormgate(&["evidence", "verify", p(&tampered), "--public-key", &pubkey], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("content changed"), "{out}");
    assert!(out.contains("FAILED"), "{out}");
}
