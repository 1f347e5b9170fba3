//! Property tests ("fuzzing") of the admin API's inputs: every route, query and body after
//! authentication goes through `route_admin` of a real (temporary) gateway and gets an answer — a
//! 2xx or a 4xx naming the problem, never a panic or a 500; and the parsers it uses (sizes, quotas,
//! durations, time bounds, roles, query parameters) never panic and round-trip where they print.
//!
//! Cases per property: `WORMGATE_FUZZ_CASES` (default small); a long run is
//! `WORMGATE_FUZZ_CASES=100000 cargo test --release fuzz`.

use super::{admin_op_name, query_param, route_admin};
use crate::audit::AuditEvent;
use crate::gateway::Gateway;
use crate::s3::fuzz_tests::{config, tokens};
use crate::units::{format_size, parse_size, Reserve};
use http::Method;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestRunner;
use std::sync::Arc;

fn gateway(dir: &std::path::Path) -> Arc<Gateway> {
    Arc::new(crate::gateway::fault_tests::gateway(dir).0)
}

/// What an admin client can send once authenticated: method, route, query, body.
fn admin_request() -> impl Strategy<Value = (Method, String, String, Vec<u8>)> {
    let method = select(&[Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH][..]);
    let known = select(
        &[
            "audit/verify",
            "audit/export",
            "audit/head",
            "audit/checkpoint",
            "report",
            "scrub",
            "lifecycle/plan",
            "lifecycle/run",
            "time",
            "time/confirm",
            "quota",
            "users",
            "users/alice",
            "users/alice/disable",
            "users/alice/enable",
            "users/alice/rotate",
            "users/%61lice",
            "users/a%2Fb",
            "users/",
        ][..],
    )
    .prop_map(str::to_string);
    let route = prop_oneof![3 => known, 1 => tokens(
        &[
            "audit/verify",
            "audit/export",
            "audit/head",
            "audit/checkpoint",
            "report",
            "scrub",
            "lifecycle/plan",
            "lifecycle/run",
            "time",
            "time/confirm",
            "quota",
            "users",
            "users/",
            "alice",
            "/disable",
            "/enable",
            "/rotate",
            "%2F",
            "%00",
            "..",
            "/",
            "é",
            "%",
        ],
        4,
    )];
    let query = tokens(
        &[
            "&",
            "=",
            "bucket",
            "b",
            "key",
            "since",
            "until",
            "2024-01-31",
            "2024-01-31T12:00:00Z",
            "9999-99-99",
            "format",
            "jsonl",
            "csv",
            "json",
            "capacity",
            "1",
            "rate_mb",
            "99999999999999999999",
            "-1",
            "dry_run",
            "true",
            "bytes",
            "versions",
            "500GiB",
            "1.5P",
            "18446744073709551615",
            "role",
            "writer",
            "admin",
            "x",
            "buckets",
            ",",
            "grace",
            "24h",
            "9223372036854775807d",
            "0",
            "none",
            "trusted_key",
            "%zz",
            "+",
            "%00",
        ],
        12,
    );
    let body = prop_oneof![
        tokens(
            &[
                "{",
                "}",
                "[",
                "]",
                "\"rewind\"",
                ":",
                "true",
                "false",
                ",",
                "\"statement\"",
                "\"x\"",
                "null",
                "\"seq\"",
                "1",
                "\"head\"",
                "\"signature\"",
                "\"key\"",
                "\"access_key\"",
                "\"secret_key\"",
                "é",
            ],
            16,
        )
        .prop_map(String::into_bytes),
        vec(any::<u8>(), 0..64),
    ];
    (method, route, query, body)
}

/// Every admin input reaches an answer that is not a panic and not a server error.
#[test]
fn fuzz_admin_routes_answer_every_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let gw = rt.block_on(async { gateway(dir.path()) });
    let mut runner = TestRunner::new(config());
    let answered = std::cell::Cell::new((0u32, 0u32));
    let result = runner.run(&admin_request(), |(method, route, query, body)| {
        let name = admin_op_name(&method, &route);
        prop_assert!(name.starts_with("Admin"));
        let mut ev = AuditEvent::default();
        let answer = rt.block_on(route_admin(&gw, &method, &route, &query, body, &mut ev));
        prop_assert!(
            answer.status.is_success() || answer.status.is_client_error(),
            "{method} {route}?{query}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        let (ok, refused) = answered.get();
        answered.set(if answer.status.is_success() {
            (ok + 1, refused)
        } else {
            (ok, refused + 1)
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The inputs reach real operations, not only the "no such route" answer.
    let (ok, refused) = answered.get();
    assert!(ok > 0 && refused > 0, "{ok} answered, {refused} refused");
}

proptest! {
    #![proptest_config(config())]

    /// Sizes: a number with any unit parses to number × unit or says it is too large; any text never
    /// panics; what `format_size` prints parses back to within its rounding.
    #[test]
    fn fuzz_sizes(n in any::<u64>(), unit in select(&["", "B", "KiB", "K", "MiB", "GiB", "TiB", "PiB", "kB", "MB", "GB", "TB", "PB"][..]),
                  junk in tokens(&["1", "0", ".", "5", "GiB", "%", " ", "-", "e9", "inf", "NaN", "18446744073709551616", "é"], 8)) {
        let mult: u64 = match unit {
            "" | "B" => 1, "KiB" | "K" => 1 << 10, "MiB" => 1 << 20, "GiB" => 1 << 30, "TiB" => 1 << 40, "PiB" => 1 << 50,
            "kB" => 1000, "MB" => 1_000_000, "GB" => 1_000_000_000, "TB" => 1_000_000_000_000, _ => 1_000_000_000_000_000,
        };
        let written = format!("{n}{unit}");
        match n.checked_mul(mult) {
            Some(v) => prop_assert_eq!(parse_size(&written), Ok(v)),
            None => prop_assert!(parse_size(&written).is_err()),
        }
        let _ = parse_size(&junk);
        if let Ok(Reserve::Percent(p)) = Reserve::parse(&junk) {
            prop_assert!((0.0..=100.0).contains(&p));
            prop_assert!(Reserve::Percent(p).bytes_of(n) <= n);
        }
        let printed = format_size(n).replace(' ', "");
        let back = parse_size(&printed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(back.abs_diff(n) <= n / 100 + 1, "{} -> {}", printed, back);
    }

    /// Durations, quotas, time bounds, roles, query parameters: any text never panics.
    #[test]
    fn fuzz_admin_parsers(s in tokens(&["1", "0", "9223372036854775807", "99999999999", "s", "m", "h", "d", "w", "y",
                                        "-", " ", "none", "GiB", "T", ":", "Z", "2024-01-31", "é", "%", "=", "&"], 8)) {
        let _ = crate::keys::parse_grace(&s);
        let _ = crate::store::capacity::parse_quota(Some(&s), Some(&s));
        let _ = crate::store::capacity::parse_quota(None, Some(&s));
        let _ = crate::audit::export::parse_time_bound(&s);
        let _ = crate::auth::Role::parse(&s);
        let _ = query_param(&s, "bucket");
        let _ = query_param(&format!("bucket={s}"), "bucket");
    }
}
