//! Table-driven unit tests for [`decide`], the single policy enforcement point.
//!
//! Every case asserts the exact [`Permit`], or the exact `Denial { rule, code }` plus: a non-empty
//! message that mentions the relevant fact (the floor, the cap, the current retain-until date, …),
//! the HTTP status the code maps to (docs/s3-object-lock.md §1.11), and that the denial converts into an
//! `S3Error` unchanged. Every case is also run twice to check `decide` is pure.
//!
//! Labels `#n` refer to the attack catalogue, docs/s3-object-lock.md §5. Reference predicates
//! are from §8 of the same document; the floor/cap/COMPLIANCE-only rules from docs/design.md "Decisions
//! already taken".
//!
//! Two attacks have no input in `decide` at all, and that is the defence:
//!
//! * **#6 (shorten with `x-amz-bypass-governance-retention: true`)**: [`Request::PutRetention`] and
//!   [`Request::DeleteVersion`] carry no bypass flag, so a request with the header is described by the
//!   very same `Request` as one without, and gets the same answer. [`request_fields_are_exactly`]
//!   destructures every variant without `..`, so adding such a field fails to compile here.
//! * **#17 (root/admin keys treated differently)**: `decide` takes no principal: its signature is
//!   `fn(&Request, &Policy, TrustedNow)` (asserted at compile time in
//!   [`decide_takes_no_principal_17`]). Root and ordinary users cannot get different decisions.

use super::*;
use crate::s3::error::{S3Code, S3Error};
use crate::timefmt::format_iso;
use chrono::{Duration, TimeZone};
use http::StatusCode;

// ------------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------------

const MIN_DAYS: i64 = 7;
const MAX_DAYS: i64 = 3650;
/// How `below_floor` renders `MIN_DAYS`.
const FLOOR_TEXT: &str = "7 days";
/// How `above_cap` renders `MAX_DAYS`.
const CAP_TEXT: &str = "3650 days";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// min 7 days, max 3650 days, client digest optional (the default in docs/design.md).
fn policy() -> Policy {
    Policy {
        min_retention: days(MIN_DAYS),
        max_retention: days(MAX_DAYS),
        require_client_digest: false,
    }
}

/// As [`policy`], with `require_client_digest = true`.
fn strict() -> Policy {
    Policy {
        require_client_digest: true,
        ..policy()
    }
}

fn trusted(at: DateTime<Utc>) -> TrustedNow {
    TrustedNow::for_test(at, true)
}

/// A clock alarm stands (wound back / jumped forward, §5 #22).
fn untrusted(at: DateTime<Utc>) -> TrustedNow {
    TrustedNow::for_test(at, false)
}

fn ret(until: DateTime<Utc>) -> Retention {
    Retention::until(until)
}

fn data(retain_until: Option<DateTime<Utc>>, legal_hold: bool) -> TargetState {
    TargetState::Data {
        retention: retain_until.map(ret),
        legal_hold,
    }
}

fn set_retention_permit(retention: Retention) -> Permit {
    Permit::SetRetention(SetRetention { retention })
}

fn set_hold_permit(on: bool) -> Permit {
    Permit::SetLegalHold(SetLegalHold { on })
}

fn set_lock_cfg_permit(rule: Option<DefaultRetention>) -> Permit {
    Permit::SetLockConfiguration(SetLockConfiguration { rule })
}

fn proof() -> Expired {
    Expired { at: t0() }
}

const C: Option<RequestedMode> = Some(RequestedMode::Compliance);
const G: Option<RequestedMode> = Some(RequestedMode::Governance);

fn del(target: TargetState) -> Request {
    Request::DeleteVersion { target }
}

fn put_ret(target: TargetState, mode: Option<RequestedMode>, retain_until: Option<DateTime<Utc>>) -> Request {
    Request::PutRetention {
        target,
        mode,
        retain_until,
    }
}

fn hold(target: TargetState, on: bool) -> Request {
    Request::PutLegalHold { target, on }
}

fn create(
    mode: Option<RequestedMode>,
    retain_until: Option<DateTime<Utc>>,
    legal_hold: Option<bool>,
    bucket_default: Option<DefaultRetention>,
    has_client_digest: bool,
) -> Request {
    Request::CreateVersion {
        headers: LockHeaders {
            mode,
            retain_until,
            legal_hold,
        },
        bucket_default,
        has_client_digest,
    }
}

fn lock_cfg(mode: Option<RequestedMode>, period: Option<DefaultRetention>) -> Request {
    Request::PutLockConfiguration { mode, period }
}

fn new_version(until: DateTime<Utc>, legal_hold: bool) -> Want {
    Want::Permit(Permit::NewVersion(NewVersion {
        retention: ret(until),
        legal_hold,
    }))
}

// ------------------------------------------------------------------------------------------------
// Expected outcomes
// ------------------------------------------------------------------------------------------------

#[derive(Debug)]
enum Want {
    Permit(Permit),
    Deny {
        rule: Rule,
        code: S3Code,
        mentions: Vec<String>,
    },
}

fn deny(rule: Rule, code: S3Code, mentions: &[&str]) -> Want {
    Want::Deny {
        rule,
        code,
        mentions: mentions.iter().map(std::string::ToString::to_string).collect(),
    }
}

fn want_retention_active(until: DateTime<Utc>) -> Want {
    Want::Deny {
        rule: Rule::RetentionActive,
        code: S3Code::AccessDenied,
        mentions: vec![format_iso(until), "COMPLIANCE".into(), "object lock".into()],
    }
}

fn want_legal_hold() -> Want {
    deny(Rule::LegalHoldOn, S3Code::AccessDenied, &["legal hold"])
}

fn want_clock_untrusted() -> Want {
    deny(Rule::ClockUntrusted, S3Code::AccessDenied, &["clock"])
}

fn want_corrupt() -> Want {
    deny(
        Rule::CorruptRecord,
        S3Code::AccessDenied,
        &["does not decode", "locked"],
    )
}

fn want_marker_has_no_lock() -> Want {
    deny(
        Rule::DeleteMarkerHasNoLock,
        S3Code::MethodNotAllowed,
        &["delete marker"],
    )
}

fn want_governance(code: S3Code) -> Want {
    deny(Rule::GovernanceRefused, code, &["GOVERNANCE", "COMPLIANCE"])
}

fn want_shorten(current: DateTime<Utc>) -> Want {
    Want::Deny {
        rule: Rule::ShortenRetention,
        code: S3Code::AccessDenied,
        mentions: vec![format_iso(current), "extended".into(), "not shortened".into()],
    }
}

fn want_removal_refused() -> Want {
    deny(Rule::ShortenRetention, S3Code::AccessDenied, &["cannot be removed"])
}

fn want_missing_date() -> Want {
    deny(
        Rule::MissingRetentionDate,
        S3Code::MalformedXML,
        &["Mode", "RetainUntilDate"],
    )
}

fn want_in_past() -> Want {
    deny(Rule::RetainUntilInPast, S3Code::InvalidArgument, &["future"])
}

fn want_above_cap() -> Want {
    deny(
        Rule::AboveMaximumRetention,
        S3Code::InvalidRetentionPeriod,
        &["maximum", CAP_TEXT],
    )
}

fn want_below_floor() -> Want {
    deny(
        Rule::BelowMinimumRetention,
        S3Code::InvalidRequest,
        &["minimum", FLOOR_TEXT],
    )
}

fn want_mode_and_date(code: S3Code) -> Want {
    deny(Rule::ModeAndDateTogether, code, &["both"])
}

fn want_missing_digest() -> Want {
    deny(
        Rule::MissingClientDigest,
        S3Code::InvalidRequest,
        &["Content-MD5", "x-amz-checksum-"],
    )
}

// ------------------------------------------------------------------------------------------------
// Table runner
// ------------------------------------------------------------------------------------------------

struct Case {
    name: String,
    req: Request,
    now: TrustedNow,
    want: Want,
}

fn case(name: impl Into<String>, req: Request, now: TrustedNow, want: Want) -> Case {
    Case {
        name: name.into(),
        req,
        now,
        want,
    }
}

/// HTTP status per docs/s3-object-lock.md §1.11.
fn expected_status(code: S3Code) -> StatusCode {
    match code {
        S3Code::AccessDenied => StatusCode::FORBIDDEN,
        S3Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        S3Code::InvalidBucketState | S3Code::BucketNotEmpty => StatusCode::CONFLICT,
        S3Code::InvalidRequest | S3Code::InvalidArgument | S3Code::InvalidRetentionPeriod | S3Code::MalformedXML => {
            StatusCode::BAD_REQUEST
        }
        other => panic!("decide is not expected to emit {other:?}"),
    }
}

fn mismatch(got: &Result<Permit, Denial>, want: &Want) -> Option<String> {
    match (got, want) {
        (Ok(p), Want::Permit(w)) => (p != w).then(|| format!("expected permit {w:?}, got permit {p:?}")),
        (Err(d), Want::Permit(w)) => Some(format!("expected permit {w:?}, got denial {d:?}")),
        (Ok(p), Want::Deny { rule, code, .. }) => Some(format!("expected denial {rule:?}/{code:?}, got permit {p:?}")),
        (Err(d), Want::Deny { rule, code, mentions }) => {
            let mut errs = Vec::new();
            if d.rule != *rule {
                errs.push(format!("rule {:?} != expected {rule:?}", d.rule));
            }
            // What the client is told comes from the one wire mapping (`s3::denial`), fed only the
            // rule and the facts the decision produced.
            let s3 = S3Error::from(*d);
            if s3.code != *code {
                errs.push(format!("code {:?} != expected {code:?}", s3.code));
            }
            if s3.message.trim().is_empty() {
                errs.push("empty message".to_string());
            }
            for m in mentions {
                if !s3.message.contains(m.as_str()) {
                    errs.push(format!("message {:?} does not mention {m:?}", s3.message));
                }
            }
            if s3.code.status() != expected_status(*code) {
                errs.push(format!(
                    "{:?} maps to HTTP {}, expected {}",
                    s3.code,
                    s3.code.status(),
                    expected_status(*code)
                ));
            }
            if s3.rule != Some(d.rule.as_str()) {
                errs.push(format!("S3Error lost the rule: {s3:?}"));
            }
            (!errs.is_empty()).then(|| format!("{} (denial: {d:?})", errs.join("; ")))
        }
    }
}

/// Runs every case, collects every failure, and reports them all at once.
fn run(policy: &Policy, cases: Vec<Case>) {
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for c in &cases {
        let got = decide(&c.req, policy, c.now);
        if let Some(f) = mismatch(&got, &c.want) {
            failures.push(format!(
                "[{}] {f}\n    request: {:?}\n    now: {:?}",
                c.name, c.req, c.now
            ));
        }
        let again = decide(&c.req, policy, c.now);
        if again != got {
            failures.push(format!("[{}] not pure: {got:?} then {again:?}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// ------------------------------------------------------------------------------------------------
// Structural guarantees (#6, #17)
// ------------------------------------------------------------------------------------------------

/// #6 / #17: names every field of every `Request` variant, without `..`. If someone adds a bypass
/// flag or a principal to a request, this stops compiling and the new input must be reviewed here.
fn request_fields_are_exactly(req: &Request) -> &'static str {
    match *req {
        Request::CreateVersion {
            headers:
                LockHeaders {
                    mode: _,
                    retain_until: _,
                    legal_hold: _,
                },
            bucket_default: _,
            has_client_digest: _,
        } => "CreateVersion",
        Request::AddDeleteMarker => "AddDeleteMarker",
        Request::DeleteVersion { target: _ } => "DeleteVersion",
        Request::PutRetention {
            target: _,
            mode: _,
            retain_until: _,
        } => "PutRetention",
        Request::PutLegalHold { target: _, on: _ } => "PutLegalHold",
        Request::PutLockConfiguration { mode: _, period: _ } => "PutLockConfiguration",
        Request::SetVersioning { enabled: _ } => "SetVersioning",
        Request::DeleteBucket { has_versions: _ } => "DeleteBucket",
    }
}

/// #17 privileged users get identical decisions: `decide` has no principal parameter, so by
/// construction there is nothing a root or admin key could change. The coercion below fails to
/// compile if the signature ever grows an extra (e.g. principal or bypass) argument.
#[test]
fn decide_takes_no_principal_17() {
    let f: fn(&Request, &Policy, TrustedNow) -> Result<Permit, Denial> = decide;
    // The same request from "root" and from "an ordinary user" is literally the same call.
    let req = del(data(Some(t0() + days(1)), false));
    let as_root = f(&req, &policy(), trusted(t0()));
    let as_user = f(&req, &policy(), trusted(t0()));
    assert_eq!(as_root, as_user);
    assert_eq!(as_root.unwrap_err().rule, Rule::RetentionActive);
}

/// #6: a shorter COMPLIANCE date is refused; there is no bypass input that could change that (see the
/// module doc and [`request_fields_are_exactly`]), so "with the bypass header, as root" is this case.
#[test]
fn shorten_with_bypass_header_is_the_same_request_6() {
    let now = t0();
    let current = now + days(30);
    let req = put_ret(data(Some(current), false), C, Some(current - days(1)));
    assert_eq!(request_fields_are_exactly(&req), "PutRetention");
    run(
        &policy(),
        vec![case(
            "#6 shorten (bypass header has no input)",
            req,
            trusted(now),
            want_shorten(current),
        )],
    );
    // And the version-delete that would follow a shorten attempt: refused as well.
    let req = del(data(Some(current), false));
    assert_eq!(request_fields_are_exactly(&req), "DeleteVersion");
    run(
        &policy(),
        vec![case(
            "#6 delete with bypass header",
            req,
            trusted(now),
            want_retention_active(current),
        )],
    );
}

// ------------------------------------------------------------------------------------------------
// DeleteVersion (#8, #16, #22) and AddDeleteMarker
// ------------------------------------------------------------------------------------------------

/// §8: `DELETE key?versionId=v` → marker: allow; protected(v, now): 403 `AccessDenied`; else allow, and
/// only with a trusted clock (#22). Corrupt records are locked (fail closed).
#[test]
fn delete_version_table() {
    let now = t0();
    let active = now + days(30);
    let expired = now - days(1);
    let far = Retention::until_ms(i64::MAX);
    let removed = || Want::Permit(Permit::RemoveVersion(proof()));
    let cases = vec![
        // Delete markers are never locked.
        case(
            "marker, trusted clock",
            del(TargetState::DeleteMarker),
            trusted(now),
            Want::Permit(Permit::RemoveDeleteMarker(RemoveMarker { _sealed: () })),
        ),
        case(
            "#22 marker, clock untrusted",
            del(TargetState::DeleteMarker),
            untrusted(now),
            Want::Permit(Permit::RemoveDeleteMarker(RemoveMarker { _sealed: () })),
        ),
        // Retention.
        case(
            "#8 active retention",
            del(data(Some(active), false)),
            trusted(now),
            want_retention_active(active),
        ),
        case(
            "#8 active retention, far future (i64::MAX ms)",
            del(TargetState::Data {
                retention: Some(far),
                legal_hold: false,
            }),
            trusted(now),
            want_retention_active(far.retain_until()),
        ),
        case(
            "#8 #21 active, 1 ms left",
            del(data(Some(now + ms(1)), false)),
            trusted(now),
            want_retention_active(now + ms(1)),
        ),
        case(
            "#21 exactly at retain-until (protected while now < until)",
            del(data(Some(now), false)),
            trusted(now),
            removed(),
        ),
        case(
            "#21 1 ms after retain-until",
            del(data(Some(now - ms(1)), false)),
            trusted(now),
            removed(),
        ),
        case(
            "expired a day ago",
            del(data(Some(expired), false)),
            trusted(now),
            removed(),
        ),
        case("no retention, no hold", del(data(None, false)), trusted(now), removed()),
        // Legal hold (#16).
        case(
            "#16 legal hold alone blocks",
            del(data(None, true)),
            trusted(now),
            want_legal_hold(),
        ),
        case(
            "#16 legal hold + expired retention",
            del(data(Some(expired), true)),
            trusted(now),
            want_legal_hold(),
        ),
        case(
            "#16 legal hold + retention exactly expired",
            del(data(Some(now), true)),
            trusted(now),
            want_legal_hold(),
        ),
        case(
            "#16 both: hold is reported first",
            del(data(Some(active), true)),
            trusted(now),
            want_legal_hold(),
        ),
        case(
            "#16 hold OFF + active retention still blocks",
            del(data(Some(active), false)),
            trusted(now),
            want_retention_active(active),
        ),
        // Clock alarm (#22): nothing is treated as expired.
        case(
            "#22 expired but clock untrusted",
            del(data(Some(expired), false)),
            untrusted(now),
            want_clock_untrusted(),
        ),
        case(
            "#22 exactly expired, clock untrusted",
            del(data(Some(now), false)),
            untrusted(now),
            want_clock_untrusted(),
        ),
        case(
            "#22 no retention, clock untrusted",
            del(data(None, false)),
            untrusted(now),
            want_clock_untrusted(),
        ),
        case(
            "#22 active, clock untrusted",
            del(data(Some(active), false)),
            untrusted(now),
            want_retention_active(active),
        ),
        case(
            "#22 hold, clock untrusted",
            del(data(Some(expired), true)),
            untrusted(now),
            want_legal_hold(),
        ),
        // Corrupt record: fail closed.
        case(
            "corrupt record, trusted",
            del(TargetState::Corrupt),
            trusted(now),
            want_corrupt(),
        ),
        case(
            "corrupt record, untrusted",
            del(TargetState::Corrupt),
            untrusted(now),
            want_corrupt(),
        ),
    ];
    run(&policy(), cases);
    // The policy plays no part in deletes.
    run(
        &strict(),
        vec![
            case(
                "strict policy, active",
                del(data(Some(active), false)),
                trusted(now),
                want_retention_active(active),
            ),
            case(
                "strict policy, expired",
                del(data(Some(expired), false)),
                trusted(now),
                removed(),
            ),
        ],
    );
}

/// §1.7: a lock never blocks a delete marker — not under a clock alarm (#22), not under any policy.
#[test]
fn add_delete_marker_table() {
    let now = t0();
    run(
        &policy(),
        vec![
            case(
                "trusted",
                Request::AddDeleteMarker,
                trusted(now),
                Want::Permit(Permit::AddDeleteMarker(AddMarker { _sealed: () })),
            ),
            case(
                "#22 clock untrusted",
                Request::AddDeleteMarker,
                untrusted(now),
                Want::Permit(Permit::AddDeleteMarker(AddMarker { _sealed: () })),
            ),
        ],
    );
    run(
        &strict(),
        vec![case(
            "strict policy",
            Request::AddDeleteMarker,
            trusted(now),
            Want::Permit(Permit::AddDeleteMarker(AddMarker { _sealed: () })),
        )],
    );
}

/// §8 `protected(v, now)`, written independently of `decide`.
fn reference_protected(target: TargetState, now: DateTime<Utc>) -> bool {
    match target {
        TargetState::DeleteMarker => false,
        TargetState::Corrupt => true,
        TargetState::Data { retention, legal_hold } => {
            legal_hold || retention.is_some_and(|r| now.timestamp_millis() < r.retain_until_ms())
        }
    }
}

/// #9: `DeleteObjects` entries with a `VersionId` are described as the very same
/// `Request::DeleteVersion` as a single DELETE ?versionId (decide has no batch variant, so there is no
/// second predicate to get wrong). A 1000-entry mixed batch with duplicates errors on exactly the
/// protected entries, always with `AccessDenied`, in any order.
#[test]
fn batch_delete_uses_the_single_delete_predicate_9() {
    let now = t0();
    let kinds = [
        TargetState::DeleteMarker,
        data(Some(now + days(30)), false),
        data(None, true),
        data(Some(now + days(30)), true),
        data(Some(now - days(1)), false),
        data(Some(now), false),
        data(None, false),
        TargetState::Corrupt,
        data(Some(now + ms(1)), false),
    ];
    let batch: Vec<TargetState> = (0..1000).map(|i| kinds[(i * 7 + i / 3) % kinds.len()]).collect();
    for clock in [trusted(now), untrusted(now)] {
        let forward: Vec<_> = batch.iter().map(|t| decide(&del(*t), &policy(), clock)).collect();
        let mut backward: Vec<_> = batch.iter().rev().map(|t| decide(&del(*t), &policy(), clock)).collect();
        backward.reverse();
        assert_eq!(forward, backward, "entry order must not matter");
        for (t, got) in batch.iter().zip(&forward) {
            let should_refuse =
                reference_protected(*t, now) || (!clock.expiry_trusted() && matches!(t, TargetState::Data { .. }));
            match got {
                Ok(p) => {
                    assert!(!should_refuse, "{t:?} permitted ({p:?}) but is protected");
                    let expected = if *t == TargetState::DeleteMarker {
                        Permit::RemoveDeleteMarker(RemoveMarker { _sealed: () })
                    } else {
                        Permit::RemoveVersion(proof())
                    };
                    assert_eq!(*p, expected);
                }
                Err(d) => {
                    assert!(should_refuse, "{t:?} refused ({d:?}) but is not protected");
                    assert_eq!(S3Error::from(*d).code, S3Code::AccessDenied, "{t:?}");
                }
            }
            // Same answer as a single DELETE ?versionId of the same version.
            assert_eq!(*got, decide(&del(*t), &policy(), clock));
        }
        let refused = forward.iter().filter(|r| r.is_err()).count();
        assert!(
            refused > 0 && refused < batch.len(),
            "batch must be mixed, {refused} refused"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// PutRetention (#4, #5, #6, #21, #22)
// ------------------------------------------------------------------------------------------------

/// §8 `PutObjectRetention` on a version with an active COMPLIANCE retention: allow iff mode' ==
/// COMPLIANCE && d' >= current (and d' within the cap).
#[test]
fn put_retention_on_active_retention_table() {
    let now = t0();
    let current = now + days(30);
    let v = data(Some(current), false);
    let cap = now + days(MAX_DAYS);
    let set = |d: DateTime<Utc>| Want::Permit(set_retention_permit(ret(d)));
    let cases = vec![
        case(
            "extend by 30 days",
            put_ret(v, C, Some(current + days(30))),
            trusted(now),
            set(current + days(30)),
        ),
        case(
            "#21 extend by 1 ms",
            put_ret(v, C, Some(current + ms(1))),
            trusted(now),
            set(current + ms(1)),
        ),
        case(
            "equal date is an idempotent success",
            put_ret(v, C, Some(current)),
            trusted(now),
            set(current),
        ),
        case(
            "#21 extend to exactly the cap",
            put_ret(v, C, Some(cap)),
            trusted(now),
            set(cap),
        ),
        case(
            "#21 extend to cap + 1 ms",
            put_ret(v, C, Some(cap + ms(1))),
            trusted(now),
            want_above_cap(),
        ),
        case(
            "extend far beyond the cap",
            put_ret(v, C, Some(now + days(100 * 365))),
            trusted(now),
            want_above_cap(),
        ),
        // Shorten (#6: the bypass header is not an input, see module doc).
        case(
            "#6 shorten by 1 ms",
            put_ret(v, C, Some(current - ms(1))),
            trusted(now),
            want_shorten(current),
        ),
        case(
            "#6 shorten by 29 days (still in the future, above the floor)",
            put_ret(v, C, Some(now + days(1))),
            trusted(now),
            want_shorten(current),
        ),
        case(
            "#6 #21 shorten to now + 1 ms",
            put_ret(v, C, Some(now + ms(1))),
            trusted(now),
            want_shorten(current),
        ),
        case(
            "#21 shorten to exactly now",
            put_ret(v, C, Some(now)),
            trusted(now),
            want_in_past(),
        ),
        case(
            "shorten to the past",
            put_ret(v, C, Some(now - days(1))),
            trusted(now),
            want_in_past(),
        ),
        // Removal (#5): never clears.
        case(
            "#5 remove: no mode, no date",
            put_ret(v, None, None),
            trusted(now),
            want_removal_refused(),
        ),
        case(
            "#5 mode without date",
            put_ret(v, C, None),
            trusted(now),
            want_missing_date(),
        ),
        case(
            "#5 date without mode (later)",
            put_ret(v, None, Some(current + days(1))),
            trusted(now),
            want_missing_date(),
        ),
        case(
            "#5 date without mode (shorter)",
            put_ret(v, None, Some(now + days(1))),
            trusted(now),
            want_missing_date(),
        ),
        // Downgrade to GOVERNANCE (#4), with any date.
        case(
            "#4 GOVERNANCE, same date",
            put_ret(v, G, Some(current)),
            trusted(now),
            want_governance(S3Code::AccessDenied),
        ),
        case(
            "#4 GOVERNANCE, later date",
            put_ret(v, G, Some(current + days(365))),
            trusted(now),
            want_governance(S3Code::AccessDenied),
        ),
        case(
            "#4 GOVERNANCE, shorter date",
            put_ret(v, G, Some(now + days(1))),
            trusted(now),
            want_governance(S3Code::AccessDenied),
        ),
        case(
            "#4 GOVERNANCE, no date",
            put_ret(v, G, None),
            trusted(now),
            want_governance(S3Code::AccessDenied),
        ),
        case(
            "#4 GOVERNANCE, past date",
            put_ret(v, G, Some(now - days(1))),
            trusted(now),
            want_governance(S3Code::AccessDenied),
        ),
        // A legal hold does not change what may happen to the retention.
        case(
            "hold on: extend",
            put_ret(data(Some(current), true), C, Some(current + days(1))),
            trusted(now),
            set(current + days(1)),
        ),
        case(
            "hold on: shorten",
            put_ret(data(Some(current), true), C, Some(current - days(1))),
            trusted(now),
            want_shorten(current),
        ),
        case(
            "hold on: remove",
            put_ret(data(Some(current), true), None, None),
            trusted(now),
            want_removal_refused(),
        ),
        // #22: the clock alarm does not matter to forward-only changes.
        case(
            "#22 untrusted: extend",
            put_ret(v, C, Some(current + days(1))),
            untrusted(now),
            set(current + days(1)),
        ),
        case(
            "#22 untrusted: shorten",
            put_ret(v, C, Some(current - days(1))),
            untrusted(now),
            want_shorten(current),
        ),
        case(
            "#22 untrusted: remove",
            put_ret(v, None, None),
            untrusted(now),
            want_removal_refused(),
        ),
        // Active by 1 ms.
        case(
            "#21 1 ms left: equal",
            put_ret(data(Some(now + ms(1)), false), C, Some(now + ms(1))),
            trusted(now),
            set(now + ms(1)),
        ),
        case(
            "#21 1 ms left: remove",
            put_ret(data(Some(now + ms(1)), false), None, None),
            trusted(now),
            want_removal_refused(),
        ),
    ];
    run(&policy(), cases);
}

/// After expiry (or with no retention at all) the version is unprotected: any future date up to the
/// cap may be set (§1.3 "After expiry"; the floor applies to new versions only), but a request must
/// still be well-formed and COMPLIANCE.
#[test]
fn put_retention_on_unprotected_version_table() {
    let now = t0();
    let old = now - days(1);
    let set = |d: DateTime<Utc>| Want::Permit(set_retention_permit(ret(d)));
    let mut cases = Vec::new();
    for (label, v) in [
        ("expired", data(Some(old), false)),
        ("expired exactly now", data(Some(now), false)),
        ("no retention", data(None, false)),
        ("expired + hold on", data(Some(old), true)),
    ] {
        let l = |s: &str| format!("{label}: {s}");
        cases.extend([
            case(
                l("#21 now + 1 ms (below the floor, allowed)"),
                put_ret(v, C, Some(now + ms(1))),
                trusted(now),
                set(now + ms(1)),
            ),
            case(
                l("one day"),
                put_ret(v, C, Some(now + days(1))),
                trusted(now),
                set(now + days(1)),
            ),
            case(
                l("a year"),
                put_ret(v, C, Some(now + days(365))),
                trusted(now),
                set(now + days(365)),
            ),
            case(
                l("#21 exactly the cap"),
                put_ret(v, C, Some(now + days(MAX_DAYS))),
                trusted(now),
                set(now + days(MAX_DAYS)),
            ),
            case(
                l("#21 cap + 1 ms"),
                put_ret(v, C, Some(now + days(MAX_DAYS) + ms(1))),
                trusted(now),
                want_above_cap(),
            ),
            case(
                l("#21 exactly now"),
                put_ret(v, C, Some(now)),
                trusted(now),
                want_in_past(),
            ),
            case(
                l("past"),
                put_ret(v, C, Some(now - days(2))),
                trusted(now),
                want_in_past(),
            ),
            case(
                l("remove: nothing to remove, malformed"),
                put_ret(v, None, None),
                trusted(now),
                want_missing_date(),
            ),
            case(
                l("mode without date"),
                put_ret(v, C, None),
                trusted(now),
                want_missing_date(),
            ),
            case(
                l("date without mode"),
                put_ret(v, None, Some(now + days(1))),
                trusted(now),
                want_missing_date(),
            ),
            case(
                l("GOVERNANCE"),
                put_ret(v, G, Some(now + days(1))),
                trusted(now),
                want_governance(S3Code::InvalidRequest),
            ),
            case(
                l("GOVERNANCE without date"),
                put_ret(v, G, None),
                trusted(now),
                want_governance(S3Code::InvalidRequest),
            ),
            // #22: a forward-jumped clock makes a retention look expired, but any permitted date is
            // still later than `now`, hence later than the old date: never a shortening.
            case(
                l("#22 untrusted clock"),
                put_ret(v, C, Some(now + days(1))),
                untrusted(now),
                set(now + days(1)),
            ),
        ]);
    }
    run(&policy(), cases);
}

/// Retention changes on a delete marker (405 `MethodNotAllowed`) or a corrupt record (fail closed):
/// the target is judged before the request body, so every body gets the same answer.
#[test]
fn put_retention_on_marker_and_corrupt_table() {
    let now = t0();
    let bodies = [
        ("COMPLIANCE future", C, Some(now + days(30))),
        ("COMPLIANCE past", C, Some(now - days(1))),
        ("COMPLIANCE beyond cap", C, Some(now + days(MAX_DAYS + 1))),
        ("GOVERNANCE", G, Some(now + days(30))),
        ("empty", None, None),
        ("mode only", C, None),
    ];
    let mut cases = Vec::new();
    for (label, mode, date) in bodies {
        for clock in [trusted(now), untrusted(now)] {
            cases.push(case(
                format!("marker, {label}"),
                put_ret(TargetState::DeleteMarker, mode, date),
                clock,
                want_marker_has_no_lock(),
            ));
            cases.push(case(
                format!("corrupt, {label}"),
                put_ret(TargetState::Corrupt, mode, date),
                clock,
                want_corrupt(),
            ));
        }
    }
    run(&policy(), cases);
}

// ------------------------------------------------------------------------------------------------
// PutLegalHold (#16)
// ------------------------------------------------------------------------------------------------

/// §1.4 / §8: legal hold may be set or cleared on any data version (authorisation is elsewhere); a
/// marker has no lock (405); a corrupt record is locked.
#[test]
fn put_legal_hold_table() {
    let now = t0();
    let mut cases = Vec::new();
    for on in [true, false] {
        for (label, v) in [
            ("no retention, no hold", data(None, false)),
            ("no retention, hold on", data(None, true)),
            ("active retention", data(Some(now + days(30)), false)),
            ("active retention, hold on", data(Some(now + days(30)), true)),
            ("expired retention", data(Some(now - days(1)), false)),
        ] {
            for clock in [trusted(now), untrusted(now)] {
                cases.push(case(
                    format!("{label} -> {on}"),
                    hold(v, on),
                    clock,
                    Want::Permit(set_hold_permit(on)),
                ));
            }
        }
        cases.push(case(
            format!("marker -> {on}"),
            hold(TargetState::DeleteMarker, on),
            trusted(now),
            want_marker_has_no_lock(),
        ));
        cases.push(case(
            format!("corrupt -> {on}"),
            hold(TargetState::Corrupt, on),
            trusted(now),
            want_corrupt(),
        ));
        cases.push(case(
            format!("corrupt, untrusted -> {on}"),
            hold(TargetState::Corrupt, on),
            untrusted(now),
            want_corrupt(),
        ));
    }
    run(&policy(), cases);
}

/// #16 end to end through `decide`: set a hold on an unretained version, and the delete is refused;
/// clear it, and the delete goes through.
#[test]
fn legal_hold_alone_blocks_delete_16() {
    let now = trusted(t0());
    let on = decide(&hold(data(None, false), true), &policy(), now).unwrap();
    assert_eq!(on, set_hold_permit(true));
    assert_eq!(
        decide(&del(data(None, true)), &policy(), now).unwrap_err().rule,
        Rule::LegalHoldOn
    );
    let off = decide(&hold(data(None, true), false), &policy(), now).unwrap();
    assert_eq!(off, set_hold_permit(false));
    assert_eq!(
        decide(&del(data(None, false)), &policy(), now),
        Ok(Permit::RemoveVersion(proof()))
    );
}

// ------------------------------------------------------------------------------------------------
// CreateVersion (#13, #20, #21, #22)
// ------------------------------------------------------------------------------------------------

/// Explicit headers (§1.5) against the floor and cap (docs/design.md "Retention floor").
#[test]
fn create_version_explicit_headers_table() {
    let now = t0();
    let floor = now + days(MIN_DAYS);
    let cap = now + days(MAX_DAYS);
    let cases = vec![
        case(
            "COMPLIANCE, 30 days (above floor)",
            create(C, Some(now + days(30)), None, None, false),
            trusted(now),
            new_version(now + days(30), false),
        ),
        case(
            "#21 exactly the floor",
            create(C, Some(floor), None, None, false),
            trusted(now),
            new_version(floor, false),
        ),
        case(
            "#21 floor + 1 ms",
            create(C, Some(floor + ms(1)), None, None, false),
            trusted(now),
            new_version(floor + ms(1), false),
        ),
        case(
            "#21 floor - 1 ms",
            create(C, Some(floor - ms(1)), None, None, false),
            trusted(now),
            want_below_floor(),
        ),
        case(
            "below floor: one day",
            create(C, Some(now + days(1)), None, None, false),
            trusted(now),
            want_below_floor(),
        ),
        case(
            "#21 now + 1 ms (future, below floor)",
            create(C, Some(now + ms(1)), None, None, false),
            trusted(now),
            want_below_floor(),
        ),
        case(
            "#21 exactly now",
            create(C, Some(now), None, None, false),
            trusted(now),
            want_in_past(),
        ),
        case(
            "#21 far in the past",
            create(
                C,
                Some(Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap()),
                None,
                None,
                false,
            ),
            trusted(now),
            want_in_past(),
        ),
        case(
            "past by 1 ms",
            create(C, Some(now - ms(1)), None, None, false),
            trusted(now),
            want_in_past(),
        ),
        case(
            "#21 exactly the cap",
            create(C, Some(cap), None, None, false),
            trusted(now),
            new_version(cap, false),
        ),
        case(
            "#21 cap + 1 ms",
            create(C, Some(cap + ms(1)), None, None, false),
            trusted(now),
            want_above_cap(),
        ),
        case(
            "100 years (typo guard)",
            create(C, Some(now + days(36_500)), None, None, false),
            trusted(now),
            want_above_cap(),
        ),
        case(
            "GOVERNANCE with a date",
            create(G, Some(now + days(30)), None, None, false),
            trusted(now),
            want_governance(S3Code::InvalidRequest),
        ),
        case(
            "GOVERNANCE without a date",
            create(G, None, None, None, false),
            trusted(now),
            want_governance(S3Code::InvalidRequest),
        ),
        case(
            "GOVERNANCE below floor",
            create(G, Some(now + days(1)), None, None, false),
            trusted(now),
            want_governance(S3Code::InvalidRequest),
        ),
        case(
            "mode only",
            create(C, None, None, None, false),
            trusted(now),
            want_mode_and_date(S3Code::InvalidRequest),
        ),
        case(
            "date only",
            create(None, Some(now + days(30)), None, None, false),
            trusted(now),
            want_mode_and_date(S3Code::InvalidRequest),
        ),
        case(
            "mode only, bucket default present",
            create(C, None, None, Some(DefaultRetention::Days(30)), false),
            trusted(now),
            want_mode_and_date(S3Code::InvalidRequest),
        ),
        case(
            "date only, bucket default present",
            create(
                None,
                Some(now + days(30)),
                None,
                Some(DefaultRetention::Days(30)),
                false,
            ),
            trusted(now),
            want_mode_and_date(S3Code::InvalidRequest),
        ),
        // Explicit headers take precedence over the bucket default (§1.5), but never over the floor.
        case(
            "explicit shorter than bucket default wins",
            create(C, Some(now + days(30)), None, Some(DefaultRetention::Years(1)), false),
            trusted(now),
            new_version(now + days(30), false),
        ),
        case(
            "explicit longer than bucket default wins",
            create(C, Some(now + days(400)), None, Some(DefaultRetention::Days(30)), false),
            trusted(now),
            new_version(now + days(400), false),
        ),
        case(
            "explicit below floor: default does not rescue",
            create(C, Some(now + days(1)), None, Some(DefaultRetention::Years(1)), false),
            trusted(now),
            want_below_floor(),
        ),
        // Legal hold header.
        case(
            "legal hold ON, no retention headers -> floor",
            create(None, None, Some(true), None, false),
            trusted(now),
            new_version(floor, true),
        ),
        case(
            "legal hold OFF",
            create(None, None, Some(false), None, false),
            trusted(now),
            new_version(floor, false),
        ),
        case(
            "legal hold ON + explicit",
            create(C, Some(now + days(30)), Some(true), None, false),
            trusted(now),
            new_version(now + days(30), true),
        ),
        case(
            "legal hold ON + bucket default",
            create(None, None, Some(true), Some(DefaultRetention::Days(30)), false),
            trusted(now),
            new_version(now + days(30), true),
        ),
        case(
            "legal hold ON + GOVERNANCE",
            create(G, Some(now + days(30)), Some(true), None, false),
            trusted(now),
            want_governance(S3Code::InvalidRequest),
        ),
        case(
            "legal hold ON + below floor",
            create(C, Some(now + days(1)), Some(true), None, false),
            trusted(now),
            want_below_floor(),
        ),
        // #22: new versions are allowed under a clock alarm (the floor then counts from guarded time).
        case(
            "#22 untrusted, no headers",
            create(None, None, None, None, false),
            untrusted(now),
            new_version(floor, false),
        ),
        case(
            "#22 untrusted, explicit",
            create(C, Some(now + days(30)), None, None, false),
            untrusted(now),
            new_version(now + days(30), false),
        ),
    ];
    run(&policy(), cases);
}

/// #13: the bucket default and the floor on the no-header path. Floor wins over a shorter default,
/// a longer default wins over the floor, no default → floor.
#[test]
fn create_version_default_retention_table() {
    let now = t0();
    let floor = now + days(MIN_DAYS);
    let cases = vec![
        case(
            "#13 no headers, no default -> floor",
            create(None, None, None, None, false),
            trusted(now),
            new_version(floor, false),
        ),
        case(
            "#13 default 1 day < floor -> floor",
            create(None, None, None, Some(DefaultRetention::Days(1)), false),
            trusted(now),
            new_version(floor, false),
        ),
        case(
            "#13 default 6 days < floor -> floor",
            create(None, None, None, Some(DefaultRetention::Days(6)), false),
            trusted(now),
            new_version(floor, false),
        ),
        case(
            "#13 default exactly the floor",
            create(None, None, None, Some(DefaultRetention::Days(7)), false),
            trusted(now),
            new_version(floor, false),
        ),
        case(
            "#13 default 8 days > floor",
            create(None, None, None, Some(DefaultRetention::Days(8)), false),
            trusted(now),
            new_version(now + days(8), false),
        ),
        case(
            "#13 default 30 days",
            create(None, None, None, Some(DefaultRetention::Days(30)), false),
            trusted(now),
            new_version(now + days(30), false),
        ),
        case(
            "#13 default 1 year = 365 days",
            create(None, None, None, Some(DefaultRetention::Years(1)), false),
            trusted(now),
            new_version(now + days(365), false),
        ),
        case(
            "#13 default 10 years = cap",
            create(None, None, None, Some(DefaultRetention::Years(10)), false),
            trusted(now),
            new_version(now + days(3650), false),
        ),
    ];
    run(&policy(), cases);

    // #13 on "every write path": PutObject, POST upload, CopyObject and CompleteMultipartUpload are all
    // described as `Request::CreateVersion`, so sweeping its inputs covers them all. Every permitted
    // new version carries a retention of at least the floor, and exactly max(default, floor).
    let defaults = [
        None,
        Some(DefaultRetention::Days(1)),
        Some(DefaultRetention::Days(7)),
        Some(DefaultRetention::Days(9)),
        Some(DefaultRetention::Years(3)),
    ];
    let mut n = 0;
    for d in defaults {
        for lh in [None, Some(false), Some(true)] {
            for digest in [false, true] {
                for clock in [trusted(now), untrusted(now)] {
                    let got = decide(&create(None, None, lh, d, digest), &policy(), clock).unwrap();
                    let want_until = d.map_or(floor, |d| (now + d.duration()).max(floor));
                    assert_eq!(
                        got,
                        Permit::NewVersion(NewVersion {
                            retention: ret(want_until),
                            legal_hold: lh == Some(true)
                        }),
                        "{d:?} {lh:?} {digest}"
                    );
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, 60);
}

/// docs/design.md "Integrity": a client digest is optional by default; `require_client_digest` refuses
/// version-creating writes without one (§1.9: 400 `InvalidRequest`), checked before anything else.
#[test]
fn create_version_client_digest_table() {
    let now = t0();
    let floor = now + days(MIN_DAYS);
    let strict_cases = vec![
        case(
            "no digest, no headers",
            create(None, None, None, None, false),
            trusted(now),
            want_missing_digest(),
        ),
        case(
            "no digest, explicit COMPLIANCE",
            create(C, Some(now + days(30)), None, None, false),
            trusted(now),
            want_missing_digest(),
        ),
        case(
            "no digest, legal hold only",
            create(None, None, Some(true), None, false),
            trusted(now),
            want_missing_digest(),
        ),
        case(
            "no digest, bucket default",
            create(None, None, None, Some(DefaultRetention::Days(30)), false),
            trusted(now),
            want_missing_digest(),
        ),
        case(
            "no digest, GOVERNANCE: digest reported first",
            create(G, Some(now + days(30)), None, None, false),
            trusted(now),
            want_missing_digest(),
        ),
        case(
            "no digest, untrusted clock",
            create(None, None, None, None, false),
            untrusted(now),
            want_missing_digest(),
        ),
        case(
            "digest, no headers",
            create(None, None, None, None, true),
            trusted(now),
            new_version(floor, false),
        ),
        case(
            "digest, explicit COMPLIANCE",
            create(C, Some(now + days(30)), None, None, true),
            trusted(now),
            new_version(now + days(30), false),
        ),
        case(
            "digest, legal hold",
            create(None, None, Some(true), None, true),
            trusted(now),
            new_version(floor, true),
        ),
        case(
            "digest, GOVERNANCE still refused",
            create(G, Some(now + days(30)), None, None, true),
            trusted(now),
            want_governance(S3Code::InvalidRequest),
        ),
        case(
            "digest, below floor still refused",
            create(C, Some(now + days(1)), None, None, true),
            trusted(now),
            want_below_floor(),
        ),
    ];
    run(&strict(), strict_cases);
    let lenient_cases = vec![
        case(
            "lenient: no digest, no headers",
            create(None, None, None, None, false),
            trusted(now),
            new_version(floor, false),
        ),
        case(
            "lenient: no digest, explicit",
            create(C, Some(now + days(30)), Some(true), None, false),
            trusted(now),
            new_version(now + days(30), true),
        ),
    ];
    run(&policy(), lenient_cases);
}

/// The floor and cap are rendered from the policy, whatever it is.
#[test]
fn floor_and_cap_messages_follow_the_policy() {
    let now = t0();
    let p = Policy {
        min_retention: Duration::seconds(30),
        max_retention: Duration::seconds(90_000),
        require_client_digest: false,
    };
    run(
        &p,
        vec![
            case(
                "30 s floor",
                create(C, Some(now + Duration::seconds(29)), None, None, false),
                trusted(now),
                deny(Rule::BelowMinimumRetention, S3Code::InvalidRequest, &["30 seconds"]),
            ),
            case(
                "exactly 30 s",
                create(C, Some(now + Duration::seconds(30)), None, None, false),
                trusted(now),
                new_version(now + Duration::seconds(30), false),
            ),
            case(
                "90000 s cap",
                create(C, Some(now + Duration::seconds(90_001)), None, None, false),
                trusted(now),
                deny(
                    Rule::AboveMaximumRetention,
                    S3Code::InvalidRetentionPeriod,
                    &["90000 seconds"],
                ),
            ),
            case(
                "bucket default below a 30 s floor? impossible: 1 day > 30 s",
                create(None, None, None, Some(DefaultRetention::Days(1)), false),
                trusted(now),
                new_version(now + days(1), false),
            ),
        ],
    );
    let p7y = Policy {
        min_retention: days(7 * 365),
        max_retention: days(100 * 365),
        require_client_digest: false,
    };
    run(
        &p7y,
        vec![
            case(
                "7y floor",
                create(C, Some(now + days(365)), None, None, false),
                trusted(now),
                deny(Rule::BelowMinimumRetention, S3Code::InvalidRequest, &["2555 days"]),
            ),
            case(
                "7y default config exactly the floor",
                lock_cfg(C, Some(DefaultRetention::Years(7))),
                trusted(now),
                Want::Permit(set_lock_cfg_permit(Some(DefaultRetention::Years(7)))),
            ),
            case(
                "6y default config below the floor",
                lock_cfg(C, Some(DefaultRetention::Years(6))),
                trusted(now),
                deny(Rule::BelowMinimumRetention, S3Code::InvalidRequest, &["2555 days"]),
            ),
        ],
    );
}

// ------------------------------------------------------------------------------------------------
// PutLockConfiguration (#18), SetVersioning (#18), DeleteBucket (#19)
// ------------------------------------------------------------------------------------------------

#[test]
fn put_lock_configuration_table() {
    let now = t0();
    let set = |p: Option<DefaultRetention>| Want::Permit(set_lock_cfg_permit(p));
    let mut cases = Vec::new();
    for clock in [trusted(now), untrusted(now)] {
        cases.extend([
            case(
                "COMPLIANCE 30 days",
                lock_cfg(C, Some(DefaultRetention::Days(30))),
                clock,
                set(Some(DefaultRetention::Days(30))),
            ),
            case(
                "COMPLIANCE 1 year",
                lock_cfg(C, Some(DefaultRetention::Years(1))),
                clock,
                set(Some(DefaultRetention::Years(1))),
            ),
            case(
                "#21 exactly the floor (7 days)",
                lock_cfg(C, Some(DefaultRetention::Days(7))),
                clock,
                set(Some(DefaultRetention::Days(7))),
            ),
            case(
                "#21 below the floor (6 days)",
                lock_cfg(C, Some(DefaultRetention::Days(6))),
                clock,
                want_below_floor(),
            ),
            case(
                "below the floor (1 day)",
                lock_cfg(C, Some(DefaultRetention::Days(1))),
                clock,
                want_below_floor(),
            ),
            case(
                "0 days (parser refuses it first)",
                lock_cfg(C, Some(DefaultRetention::Days(0))),
                clock,
                want_below_floor(),
            ),
            case(
                "#21 exactly the cap (3650 days)",
                lock_cfg(C, Some(DefaultRetention::Days(3650))),
                clock,
                set(Some(DefaultRetention::Days(3650))),
            ),
            case(
                "#21 exactly the cap (10 years)",
                lock_cfg(C, Some(DefaultRetention::Years(10))),
                clock,
                set(Some(DefaultRetention::Years(10))),
            ),
            case(
                "#21 cap + 1 day",
                lock_cfg(C, Some(DefaultRetention::Days(3651))),
                clock,
                want_above_cap(),
            ),
            case(
                "11 years",
                lock_cfg(C, Some(DefaultRetention::Years(11))),
                clock,
                want_above_cap(),
            ),
            case(
                "parser maximum, 36500 years",
                lock_cfg(C, Some(DefaultRetention::Years(36_500))),
                clock,
                want_above_cap(),
            ),
            case(
                "GOVERNANCE 30 days",
                lock_cfg(G, Some(DefaultRetention::Days(30))),
                clock,
                want_governance(S3Code::InvalidRequest),
            ),
            case(
                "GOVERNANCE below floor",
                lock_cfg(G, Some(DefaultRetention::Days(1))),
                clock,
                want_governance(S3Code::InvalidRequest),
            ),
            case(
                "GOVERNANCE without period",
                lock_cfg(G, None),
                clock,
                want_governance(S3Code::InvalidRequest),
            ),
            case(
                "mode without period",
                lock_cfg(C, None),
                clock,
                want_mode_and_date(S3Code::MalformedXML),
            ),
            case(
                "period without mode",
                lock_cfg(None, Some(DefaultRetention::Days(30))),
                clock,
                want_mode_and_date(S3Code::MalformedXML),
            ),
            case(
                "period without mode, below floor",
                lock_cfg(None, Some(DefaultRetention::Days(1))),
                clock,
                want_mode_and_date(S3Code::MalformedXML),
            ),
            case("no rule: reset to the floor", lock_cfg(None, None), clock, set(None)),
        ]);
    }
    run(&policy(), cases);
}

#[test]
fn set_versioning_table_18() {
    let now = t0();
    let cases = vec![
        case(
            "enabled",
            Request::SetVersioning { enabled: true },
            trusted(now),
            Want::Permit(Permit::KeepVersioningEnabled),
        ),
        case(
            "#22 enabled, untrusted",
            Request::SetVersioning { enabled: true },
            untrusted(now),
            Want::Permit(Permit::KeepVersioningEnabled),
        ),
        case(
            "#18 suspended",
            Request::SetVersioning { enabled: false },
            trusted(now),
            deny(
                Rule::SuspendVersioning,
                S3Code::InvalidBucketState,
                &["versioning", "Object Lock"],
            ),
        ),
        case(
            "#18 suspended, untrusted",
            Request::SetVersioning { enabled: false },
            untrusted(now),
            deny(Rule::SuspendVersioning, S3Code::InvalidBucketState, &["versioning"]),
        ),
    ];
    run(&policy(), cases);
    run(
        &strict(),
        vec![case(
            "#18 suspended, strict",
            Request::SetVersioning { enabled: false },
            trusted(now),
            deny(Rule::SuspendVersioning, S3Code::InvalidBucketState, &["versioning"]),
        )],
    );
}

#[test]
fn delete_bucket_table_19() {
    let now = t0();
    let not_empty = || deny(Rule::BucketNotEmpty, S3Code::BucketNotEmpty, &["not empty", "versions"]);
    let cases = vec![
        case(
            "empty",
            Request::DeleteBucket { has_versions: false },
            trusted(now),
            Want::Permit(Permit::DeleteBucket(DeleteBucket { _sealed: () })),
        ),
        case(
            "empty, untrusted",
            Request::DeleteBucket { has_versions: false },
            untrusted(now),
            Want::Permit(Permit::DeleteBucket(DeleteBucket { _sealed: () })),
        ),
        case(
            "#19 non-empty",
            Request::DeleteBucket { has_versions: true },
            trusted(now),
            not_empty(),
        ),
        case(
            "#19 non-empty, untrusted",
            Request::DeleteBucket { has_versions: true },
            untrusted(now),
            not_empty(),
        ),
    ];
    run(&policy(), cases);
}

// ------------------------------------------------------------------------------------------------
// Completeness: every Rule, Permit and Request variant is exercised
// ------------------------------------------------------------------------------------------------

const ALL_RULES: [Rule; 15] = [
    Rule::RetentionActive,
    Rule::LegalHoldOn,
    Rule::ShortenRetention,
    Rule::GovernanceRefused,
    Rule::ModeAndDateTogether,
    Rule::RetainUntilInPast,
    Rule::BelowMinimumRetention,
    Rule::AboveMaximumRetention,
    Rule::MissingClientDigest,
    Rule::SuspendVersioning,
    Rule::BucketNotEmpty,
    Rule::CorruptRecord,
    Rule::ClockUntrusted,
    Rule::DeleteMarkerHasNoLock,
    Rule::MissingRetentionDate,
];

/// One request that triggers `rule`. The match is exhaustive: a new `Rule` fails to compile here
/// until it gets a case.
fn sample_for(rule: Rule, now: DateTime<Utc>) -> (Request, Policy) {
    let p = policy();
    let req = match rule {
        Rule::RetentionActive => del(data(Some(now + days(1)), false)),
        Rule::LegalHoldOn => del(data(None, true)),
        Rule::ShortenRetention => put_ret(data(Some(now + days(30)), false), C, Some(now + days(29))),
        Rule::GovernanceRefused => create(G, Some(now + days(30)), None, None, true),
        Rule::ModeAndDateTogether => create(C, None, None, None, true),
        Rule::RetainUntilInPast => create(C, Some(now - ms(1)), None, None, true),
        Rule::BelowMinimumRetention => create(C, Some(now + days(1)), None, None, true),
        Rule::AboveMaximumRetention => create(C, Some(now + days(MAX_DAYS + 1)), None, None, true),
        Rule::MissingClientDigest => return (create(None, None, None, None, false), strict()),
        Rule::SuspendVersioning => Request::SetVersioning { enabled: false },
        Rule::BucketNotEmpty => Request::DeleteBucket { has_versions: true },
        Rule::CorruptRecord => del(TargetState::Corrupt),
        Rule::ClockUntrusted => del(data(Some(now - days(1)), false)),
        Rule::DeleteMarkerHasNoLock => hold(TargetState::DeleteMarker, true),
        Rule::MissingRetentionDate => put_ret(data(None, false), None, None),
    };
    (req, p)
}

#[test]
fn every_rule_is_reachable_and_serialises_snake_case() {
    let now = t0();
    for rule in ALL_RULES {
        let clock = if rule == Rule::ClockUntrusted {
            untrusted(now)
        } else {
            trusted(now)
        };
        let (req, p) = sample_for(rule, now);
        let d = decide(&req, &p, clock).expect_err("sample must be denied");
        assert_eq!(d.rule, rule, "{req:?}");
        assert!(!S3Error::from(d).message.trim().is_empty());
        // The audit trail records rules in snake_case.
        let json = serde_json::to_string(&rule).unwrap();
        let name = json.trim_matches('"');
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{rule:?} -> {json}"
        );
        // One spelling: the audit record, the metrics label and the serde form agree.
        assert_eq!(rule.as_str(), name, "{rule:?}");
        assert_eq!(S3Error::from(d).rule, Some(name).map(|_| rule.as_str()));
    }
    assert_eq!(
        serde_json::to_string(&Rule::RetentionActive).unwrap(),
        "\"retention_active\""
    );
    assert_eq!(
        serde_json::to_string(&Rule::DeleteMarkerHasNoLock).unwrap(),
        "\"delete_marker_has_no_lock\""
    );
    // All distinct.
    for (i, a) in ALL_RULES.iter().enumerate() {
        assert!(!ALL_RULES[i + 1..].contains(a), "{a:?} listed twice");
    }
}

/// Every `Permit` and every `Request` variant is produced / accepted by some input.
#[test]
fn every_permit_and_request_variant_is_exercised() {
    let now = t0();
    let clock = trusted(now);
    let samples = [
        (
            create(None, None, None, None, false),
            Permit::NewVersion(NewVersion {
                retention: ret(now + days(MIN_DAYS)),
                legal_hold: false,
            }),
        ),
        (
            Request::AddDeleteMarker,
            Permit::AddDeleteMarker(AddMarker { _sealed: () }),
        ),
        (
            del(TargetState::DeleteMarker),
            Permit::RemoveDeleteMarker(RemoveMarker { _sealed: () }),
        ),
        (del(data(Some(now - days(1)), false)), Permit::RemoveVersion(proof())),
        (
            put_ret(data(None, false), C, Some(now + days(1))),
            set_retention_permit(ret(now + days(1))),
        ),
        (hold(data(None, false), true), set_hold_permit(true)),
        (lock_cfg(None, None), set_lock_cfg_permit(None)),
        (Request::SetVersioning { enabled: true }, Permit::KeepVersioningEnabled),
        (
            Request::DeleteBucket { has_versions: false },
            Permit::DeleteBucket(DeleteBucket { _sealed: () }),
        ),
    ];
    let mut permits_seen = std::collections::BTreeSet::new();
    let mut requests_seen = std::collections::BTreeSet::new();
    for (req, want) in samples {
        assert_eq!(decide(&req, &policy(), clock), Ok(want), "{req:?}");
        let permit_name = match decide(&req, &policy(), clock).unwrap() {
            Permit::NewVersion(_) => "NewVersion",
            Permit::AddDeleteMarker(_) => "AddDeleteMarker",
            Permit::RemoveDeleteMarker(_) => "RemoveDeleteMarker",
            Permit::RemoveVersion(_) => "RemoveVersion",
            Permit::SetRetention(_) => "SetRetention",
            Permit::SetLegalHold(_) => "SetLegalHold",
            Permit::SetLockConfiguration(_) => "SetLockConfiguration",
            Permit::KeepVersioningEnabled => "KeepVersioningEnabled",
            Permit::DeleteBucket(_) => "DeleteBucket",
        };
        permits_seen.insert(permit_name);
        requests_seen.insert(request_fields_are_exactly(&req));
    }
    assert_eq!(permits_seen.len(), 9, "{permits_seen:?}");
    assert_eq!(requests_seen.len(), 8, "{requests_seen:?}");
}

// ------------------------------------------------------------------------------------------------
// Property-style checks with a deterministic xorshift (no extra crates)
// ------------------------------------------------------------------------------------------------

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform-ish in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo) as u64 + 1)) as i64
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const DAY_MS: i64 = 86_400_000;

/// An offset from `now` in ms: mostly uniform over [-3y, +12y], often exactly on a boundary.
fn offset_ms(rng: &mut XorShift) -> i64 {
    let boundaries = [
        0,
        1,
        -1,
        MIN_DAYS * DAY_MS,
        MIN_DAYS * DAY_MS - 1,
        MAX_DAYS * DAY_MS,
        MAX_DAYS * DAY_MS + 1,
        DAY_MS,
        -DAY_MS,
    ];
    if rng.one_in(3) {
        rng.pick(&boundaries)
    } else {
        rng.range(-3 * 365 * DAY_MS, 12 * 365 * DAY_MS)
    }
}

/// For random (retention, now, requested date) triples:
/// * a `PutRetention` permit never yields a retain-until earlier than the current one (active or not),
///   is always COMPLIANCE at exactly the requested date, in the future and within the cap, and is
///   issued exactly when §8's predicate says so;
/// * a `DeleteVersion` permit is issued exactly when the version is a marker, or a data version with
///   no legal hold, `now >= retain_until` and a trusted clock (#8, #16, #22);
/// * a `CreateVersion` permit always carries at least the floor (#13).
#[test]
fn property_retention_never_moves_back_and_deletes_need_expiry() {
    let p = policy();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut set_ok, mut set_denied, mut del_ok, mut del_denied, mut create_ok) = (0, 0, 0, 0, 0);
    for i in 0..40_000 {
        let now = t0() + ms(rng.range(-5 * 365 * DAY_MS, 5 * 365 * DAY_MS));
        let clock = TrustedNow::for_test(now, !rng.one_in(4));
        let current = (!rng.one_in(5)).then(|| ret(now + ms(offset_ms(&mut rng))));
        let legal_hold = rng.one_in(3);
        let target = match rng.range(0, 19) {
            0 => TargetState::DeleteMarker,
            1 => TargetState::Corrupt,
            _ => TargetState::Data {
                retention: current,
                legal_hold,
            },
        };
        let mode = rng.pick(&[C, C, C, C, G, None]);
        let date = (!rng.one_in(6)).then(|| now + ms(offset_ms(&mut rng)));
        let ctx = format!(
            "iteration {i}: now={now:?} trusted={} target={target:?} mode={mode:?} date={date:?}",
            clock.expiry_trusted()
        );

        // PutRetention.
        let got = decide(&put_ret(target, mode, date), &p, clock);
        let active = |r: Option<Retention>| r.is_some_and(|r| now.timestamp_millis() < r.retain_until_ms());
        let reference_ok = match (target, mode, date) {
            (TargetState::Data { retention, .. }, C, Some(d)) => {
                let same = active(retention) && retention.is_some_and(|r| r.retain_until_ms() == d.timestamp_millis());
                same || (d > now
                    && d <= now + p.max_retention
                    && (!active(retention) || d >= retention.unwrap().retain_until()))
            }
            _ => false,
        };
        match &got {
            Ok(Permit::SetRetention(SetRetention { retention: r })) => {
                set_ok += 1;
                assert!(reference_ok, "permitted against §8: {ctx}");
                assert_eq!(Some(*r), date.map(ret), "{ctx}");
                assert_eq!(mode, C, "{ctx}");
                assert!(r.is_active(now), "new retention must be in the future: {ctx}");
                let idempotent = matches!(target, TargetState::Data { retention: Some(c), .. } if c == *r);
                assert!(idempotent || r.retain_until() <= now + p.max_retention, "{ctx}");
                if let TargetState::Data { retention: Some(c), .. } = target {
                    assert!(
                        r.retain_until_ms() >= c.retain_until_ms(),
                        "retention moved back: {ctx}"
                    );
                } else {
                    assert!(matches!(target, TargetState::Data { retention: None, .. }), "{ctx}");
                }
            }
            Ok(other) => panic!("unexpected permit {other:?}: {ctx}"),
            Err(d) => {
                set_denied += 1;
                assert!(!reference_ok, "refused ({d:?}) but §8 allows it: {ctx}");
                assert!(!S3Error::from(*d).message.is_empty());
            }
        }

        // DeleteVersion.
        let got = decide(&del(target), &p, clock);
        let reference_ok = match target {
            TargetState::DeleteMarker => true,
            TargetState::Corrupt => false,
            TargetState::Data { retention, legal_hold } => {
                !legal_hold && clock.expiry_trusted() && retention.is_none_or(|r| now >= r.retain_until())
            }
        };
        match &got {
            Ok(Permit::RemoveDeleteMarker(_)) => {
                del_ok += 1;
                assert_eq!(target, TargetState::DeleteMarker, "{ctx}");
            }
            Ok(Permit::RemoveVersion(_)) => {
                del_ok += 1;
                assert!(reference_ok, "{ctx}");
                let TargetState::Data { retention, legal_hold } = target else {
                    panic!("{ctx}")
                };
                assert!(!legal_hold && clock.expiry_trusted(), "{ctx}");
                assert!(
                    retention.is_none_or(|r| now.timestamp_millis() >= r.retain_until_ms()),
                    "{ctx}"
                );
            }
            Ok(other) => panic!("unexpected permit {other:?}: {ctx}"),
            Err(d) => {
                del_denied += 1;
                assert!(!reference_ok, "refused ({d:?}) but deletable: {ctx}");
                assert_eq!(S3Error::from(*d).code, S3Code::AccessDenied, "{ctx}");
            }
        }

        // CreateVersion with the same headers (and a random bucket default).
        let default = rng.pick(&[
            None,
            Some(DefaultRetention::Days(1)),
            Some(DefaultRetention::Days(30)),
            Some(DefaultRetention::Years(2)),
        ]);
        let headers = LockHeaders {
            mode,
            retain_until: date,
            legal_hold: rng.one_in(2).then_some(legal_hold),
        };
        let req = Request::CreateVersion {
            headers,
            bucket_default: default,
            has_client_digest: rng.one_in(2),
        };
        match decide(&req, &p, clock) {
            Ok(Permit::NewVersion(NewVersion {
                retention,
                legal_hold: lh,
            })) => {
                create_ok += 1;
                assert!(retention.retain_until() >= now + p.min_retention, "below floor: {ctx}");
                assert_eq!(lh, headers.legal_hold == Some(true), "{ctx}");
                if let Some(d) = headers.retain_until {
                    assert_eq!(retention, ret(d), "{ctx}");
                    assert!(d <= now + p.max_retention, "{ctx}");
                }
            }
            Ok(other) => panic!("unexpected permit {other:?}: {ctx}"),
            Err(d) => assert!(!S3Error::from(d).message.is_empty()),
        }
    }
    // The generator must actually exercise both sides of every predicate.
    for (name, n) in [
        ("set_ok", set_ok),
        ("set_denied", set_denied),
        ("del_ok", del_ok),
        ("del_denied", del_denied),
        ("create_ok", create_ok),
    ] {
        assert!(n > 1_000, "{name} only {n}");
    }
}

/// Regression (found while writing these tests): `DefaultRetention::duration` used
/// `chrono::Duration::days(365 * years)`, which panics above ~292 million years, so `decide` panicked
/// on `Years(u32::MAX)` instead of refusing it. Not reachable through the gateway (the XML parser caps
/// periods at 36 500), but `decide` must be total: refuse on `PutLockConfiguration`, and on
/// `CreateVersion` (a stored default is trusted, not re-capped) still permit at least the floor.
#[test]
fn decide_never_panics_on_extreme_default_retention() {
    let now = t0();
    for period in [DefaultRetention::Days(u32::MAX), DefaultRetention::Years(u32::MAX)] {
        let got = std::panic::catch_unwind(|| decide(&lock_cfg(C, Some(period)), &policy(), trusted(now)));
        match got {
            Ok(Err(d)) => assert_eq!(
                (d.rule, S3Error::from(d).code),
                (Rule::AboveMaximumRetention, S3Code::InvalidRetentionPeriod)
            ),
            Ok(Ok(p)) => panic!("{period:?}: permitted {p:?}"),
            Err(_) => panic!("{period:?}: decide panicked on PutLockConfiguration"),
        }
        let req = create(None, None, None, Some(period), true);
        let got = std::panic::catch_unwind(|| decide(&req, &policy(), trusted(now)));
        match got {
            Ok(Ok(Permit::NewVersion(NewVersion {
                retention,
                legal_hold: false,
            }))) => {
                assert!(
                    retention.retain_until() >= now + days(MIN_DAYS),
                    "{period:?}: {retention:?}"
                );
            }
            Ok(other) => panic!("{period:?}: {other:?}"),
            Err(_) => panic!("{period:?}: decide panicked on CreateVersion"),
        }
    }
}
