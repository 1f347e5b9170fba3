//! The time-source vote: do the configured time sources (SNTP servers, the upstream's `Date` header)
//! say the wall clock is right? Pure — readings and tolerance in, verdict out — so every case (a
//! lying source outvoted, sources that do not answer, a split vote) is a table test. The network side
//! that takes the readings is `evidence::timesources`; the guarded clock (`lock::clock`) acts on the
//! verdict.
//!
//! The rule is a strict majority of the *configured* sources, not of those that answered: a source
//! that does not answer is a vote missing, so two of five answering and agreeing is no quorum. The
//! same majority that can say "the wall clock is right" can say "it is wrong"; anything else
//! (split, silence) is `NoQuorum`, and expiry-based deletions wait.

use serde::{Deserialize, Serialize};

/// What one source said, taken by the caller at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// The source's time, ms since the epoch.
    pub source_ms: i64,
    /// The local wall clock at the moment the source's time applies, ms since the epoch.
    pub wall_ms: i64,
    /// How coarse the source is: an HTTP `Date` header has whole seconds (1000), SNTP ~0.
    pub precision_ms: i64,
}

impl Sample {
    /// Source minus wall: positive when the wall clock is behind the source.
    pub fn offset_ms(&self) -> i64 {
        self.source_ms.saturating_sub(self.wall_ms)
    }
}

/// One configured source and its answer (`Err`: no usable answer, with the reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    /// The source as configured (`ntp://host:port`, `upstream-date`).
    pub source: String,
    /// The sample, or why there is none.
    pub answer: Result<Sample, NoAnswer>,
}

/// Why a source gave no usable answer (timeout, refused, nonsense), as text: it is part of the
/// serialized vote record, so it stays a plain string on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
#[error("{0}")]
pub struct NoAnswer(pub String);

impl NoAnswer {
    /// The reason a source's client gave, as text.
    pub fn of(reason: impl std::fmt::Display) -> NoAnswer {
        NoAnswer(reason.to_string())
    }
}

/// The outcome of one vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No source configured: the sources have nothing to say (local rules only).
    NoSources,
    /// A majority of the configured sources agree with the wall clock within the tolerance.
    Agree,
    /// A majority of the configured sources say the wall clock is off by more than the tolerance.
    Disagree,
    /// Neither: split vote, or too few answers.
    NoQuorum,
}

impl Verdict {
    /// Name in status output and audit details.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NoSources => "no_sources",
            Verdict::Agree => "agree",
            Verdict::Disagree => "disagree",
            Verdict::NoQuorum => "no_quorum",
        }
    }
}

/// The tally behind a verdict (for status output and the audit trail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub verdict: Verdict,
    pub agreeing: usize,
    pub disagreeing: usize,
    pub unanswered: usize,
    pub configured: usize,
}

/// Whether one sample agrees with the wall clock: |offset| within tolerance plus the source's own
/// coarseness.
pub fn agrees(s: &Sample, tolerance_ms: i64) -> bool {
    s.offset_ms().unsigned_abs() <= tolerance_ms.saturating_add(s.precision_ms.max(0)).unsigned_abs()
}

/// The vote (see module doc). `tolerance_ms` is `--time-tolerance`.
pub fn vote(readings: &[Reading], tolerance_ms: i64) -> Tally {
    let configured = readings.len();
    let mut t = Tally {
        verdict: Verdict::NoSources,
        agreeing: 0,
        disagreeing: 0,
        unanswered: 0,
        configured,
    };
    for r in readings {
        match &r.answer {
            Ok(s) if agrees(s, tolerance_ms) => t.agreeing += 1,
            Ok(_) => t.disagreeing += 1,
            Err(_) => t.unanswered += 1,
        }
    }
    t.verdict = if configured == 0 {
        Verdict::NoSources
    } else if 2 * t.agreeing > configured {
        Verdict::Agree
    } else if 2 * t.disagreeing > configured {
        Verdict::Disagree
    } else {
        Verdict::NoQuorum
    };
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: i64 = 1_900_000_000_000;
    const TOL: i64 = 1000;

    fn at(name: &str, offset_ms: i64) -> Reading {
        Reading {
            source: name.into(),
            answer: Ok(Sample {
                source_ms: W + offset_ms,
                wall_ms: W,
                precision_ms: 0,
            }),
        }
    }
    fn silent(name: &str) -> Reading {
        Reading {
            source: name.into(),
            answer: Err(NoAnswer("timed out".into())),
        }
    }
    /// `h` honest (offset 0), `l` lying (an hour off), `s` silent.
    fn sources(pattern: &str) -> Vec<Reading> {
        pattern
            .chars()
            .enumerate()
            .map(|(i, c)| match c {
                'h' => at(&format!("h{i}"), 0),
                'l' => at(&format!("l{i}"), 3_600_000),
                _ => silent(&format!("s{i}")),
            })
            .collect()
    }

    #[test]
    fn every_pattern_of_up_to_five_sources() {
        // Exhaustive over h/l/s patterns of length 0..=5: the verdict is the strict majority.
        fn patterns(n: usize) -> Vec<String> {
            if n == 0 {
                return vec![String::new()];
            }
            patterns(n - 1)
                .into_iter()
                .flat_map(|p| ["h", "l", "s"].map(|c| format!("{p}{c}")))
                .collect()
        }
        for n in 0..=5 {
            for p in patterns(n) {
                let t = vote(&sources(&p), TOL);
                let count = |c| p.chars().filter(|x| *x == c).count();
                let (h, l, s) = (count('h'), count('l'), count('s'));
                assert_eq!(
                    (t.agreeing, t.disagreeing, t.unanswered, t.configured),
                    (h, l, s, n),
                    "{p}"
                );
                let want = if n == 0 {
                    Verdict::NoSources
                } else if 2 * h > n {
                    Verdict::Agree
                } else if 2 * l > n {
                    Verdict::Disagree
                } else {
                    Verdict::NoQuorum
                };
                assert_eq!(t.verdict, want, "pattern {p:?}");
            }
        }
    }

    #[test]
    fn a_lying_single_source_is_outvoted() {
        assert_eq!(vote(&sources("hhl"), TOL).verdict, Verdict::Agree);
        assert_eq!(vote(&sources("lhh"), TOL).verdict, Verdict::Agree);
        // ... and a single honest source cannot vouch for a clock two others call wrong.
        assert_eq!(vote(&sources("llh"), TOL).verdict, Verdict::Disagree);
    }

    #[test]
    fn no_answer_is_no_quorum() {
        assert_eq!(vote(&sources("sss"), TOL).verdict, Verdict::NoQuorum);
        assert_eq!(vote(&sources("s"), TOL).verdict, Verdict::NoQuorum);
        assert_eq!(
            vote(&sources("hss"), TOL).verdict,
            Verdict::NoQuorum,
            "one answering source of three is not a majority"
        );
    }

    #[test]
    fn split_vote_is_no_quorum() {
        assert_eq!(vote(&sources("hl"), TOL).verdict, Verdict::NoQuorum);
        assert_eq!(vote(&sources("hlhl"), TOL).verdict, Verdict::NoQuorum);
        assert_eq!(vote(&sources("hls"), TOL).verdict, Verdict::NoQuorum);
    }

    #[test]
    fn no_sources_is_its_own_verdict() {
        assert_eq!(vote(&[], TOL).verdict, Verdict::NoSources);
    }

    #[test]
    fn tolerance_boundaries_both_directions() {
        assert!(agrees(&at("a", TOL).answer.unwrap(), TOL));
        assert!(agrees(&at("a", -TOL).answer.unwrap(), TOL));
        assert!(!agrees(&at("a", TOL + 1).answer.unwrap(), TOL));
        assert!(!agrees(&at("a", -TOL - 1).answer.unwrap(), TOL));
        // A whole-second Date header gets its coarseness on top of the tolerance.
        let coarse = Sample {
            source_ms: W - 1900,
            wall_ms: W,
            precision_ms: 1000,
        };
        assert!(agrees(&coarse, TOL));
        assert!(!agrees(
            &Sample {
                source_ms: W - 2100,
                ..coarse
            },
            TOL
        ));
        // Extreme values do not overflow.
        assert!(!agrees(
            &Sample {
                source_ms: i64::MIN,
                wall_ms: i64::MAX,
                precision_ms: i64::MAX
            },
            TOL
        ));
    }
}
