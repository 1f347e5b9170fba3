//! Keys scoped to buckets: a user may be limited to some buckets, and within a bucket to some keys,
//! so one compromised backup server cannot read or fill another's buckets.
//!
//! Syntax of one entry (config file `buckets = [...]`, `wormgate user add --buckets a,b`):
//!
//! | entry | reaches |
//! |---|---|
//! | `archive` | the bucket `archive` |
//! | `veeam-*` | every bucket whose name starts with `veeam-` |
//! | `*` | every bucket |
//! | `archive/host1/*` | keys starting with `host1/` in `archive` |
//! | `backups-*/db/*` | keys starting with `db/` in every `backups-*` bucket |
//! | `archive/manifest.json` | that one key in `archive` |
//!
//! A `*` may only end a bucket or key pattern. No entries means no restriction. A key-restricted entry
//! allows object operations on matching keys, listings whose `prefix` is inside the allowed keys, and
//! reading the bucket itself (`HeadBucket`, location, …); changing the whole bucket (lock configuration,
//! ACL, deletion) needs a whole-bucket entry. `ListBuckets` shows only buckets some entry matches.

use crate::s3::op::{Op, Reach};
use std::sync::Arc;

/// An exact name or a `prefix*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    text: String,
    prefix: bool,
}

impl Pattern {
    fn parse(s: &str, what: &'static str, entry: &str) -> Result<Pattern, ScopeError> {
        let (text, prefix) = match s.strip_suffix('*') {
            Some(t) => (t, true),
            None => (s, false),
        };
        if text.contains('*') {
            return Err(ScopeError::InnerStar {
                entry: entry.to_string(),
                what,
            });
        }
        if text.is_empty() && !prefix {
            return Err(ScopeError::EmptyPattern {
                entry: entry.to_string(),
                what,
            });
        }
        Ok(Pattern {
            text: text.to_string(),
            prefix,
        })
    }

    fn matches(&self, s: &str) -> bool {
        if self.prefix {
            s.starts_with(&self.text)
        } else {
            s == self.text
        }
    }

    /// Whether every key listed under `prefix` matches (a listing inside the allowed keys).
    fn covers_prefix(&self, prefix: &str) -> bool {
        self.prefix && prefix.starts_with(&self.text)
    }

    fn render(&self) -> String {
        format!("{}{}", self.text, if self.prefix { "*" } else { "" })
    }
}

/// Why a bucket scope entry does not parse (config file, command line, admin API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A `*` that does not end its pattern.
    #[error("bucket scope '{entry}': '*' may only end the {what} pattern")]
    InnerStar {
        /// The entry as given.
        entry: String,
        /// `bucket` or `key`.
        what: &'static str,
    },
    /// An empty bucket or key pattern without `*`.
    #[error("bucket scope '{entry}': empty {what} pattern")]
    EmptyPattern {
        /// The entry as given.
        entry: String,
        /// `bucket` or `key`.
        what: &'static str,
    },
    /// An empty entry.
    #[error("bucket scope: empty entry")]
    EmptyEntry,
    /// `bucket/` with nothing after the slash.
    #[error("bucket scope '{entry}': empty key pattern (use '{bucket}' or '{bucket}/prefix*')")]
    EmptyKeyPattern {
        /// The entry as given.
        entry: String,
        /// Its bucket part.
        bucket: String,
    },
}

/// The first bucket or key an operation reaches outside the caller's scope (refused as
/// `AccessDenied` under the `scope` rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutOfScope {
    /// A bucket the key may not use at all.
    #[error("Access Denied: this key may not use bucket {bucket}")]
    Bucket {
        /// The bucket.
        bucket: String,
    },
    /// A bucket-wide change by a key limited to some keys of it.
    #[error("Access Denied: this key may not change the configuration of bucket {bucket}")]
    BucketConfiguration {
        /// The bucket.
        bucket: String,
    },
    /// A listing beyond the key's prefixes.
    #[error("Access Denied: this key may not list prefix '{prefix}' of bucket {bucket}")]
    Listing {
        /// The bucket.
        bucket: String,
        /// The listed prefix.
        prefix: String,
    },
    /// An object outside the key's patterns.
    #[error("Access Denied: this key may not use {bucket}/{key}")]
    Object {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
}

/// One entry: a bucket pattern and, optionally, a key pattern within it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    bucket: Pattern,
    /// `None`: the whole bucket.
    key: Option<Pattern>,
}

/// What a key may reach. Cheap to clone (it travels with the principal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: unrestricted.
    grants: Option<Arc<[Grant]>>,
}

impl Scope {
    /// Parse entries (see the module doc); an empty list is no restriction.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Scope, ScopeError> {
        let mut grants = Vec::new();
        for e in entries {
            let e = e.as_ref().trim();
            if e.is_empty() {
                return Err(ScopeError::EmptyEntry);
            }
            let (b, k) = match e.split_once('/') {
                Some((b, k)) => (b, Some(k)),
                None => (e, None),
            };
            let bucket = Pattern::parse(b, "bucket", e)?;
            let key = match k {
                None | Some("*") => None,
                Some("") => {
                    return Err(ScopeError::EmptyKeyPattern {
                        entry: e.to_string(),
                        bucket: b.to_string(),
                    })
                }
                Some(k) => Some(Pattern::parse(k, "key", e)?),
            };
            grants.push(Grant { bucket, key });
        }
        Ok(Scope {
            grants: (!grants.is_empty()).then(|| grants.into()),
        })
    }

    /// Parse a comma-separated list (`--buckets 'veeam-*,archive'`).
    pub fn parse_list(s: &str) -> Result<Scope, ScopeError> {
        let parts: Vec<&str> = s.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        Scope::parse(&parts)
    }

    /// The entries as written (empty: unrestricted).
    pub fn entries(&self) -> Vec<String> {
        self.grants
            .iter()
            .flat_map(|g| g.iter())
            .map(|g| match &g.key {
                None => g.bucket.render(),
                Some(k) => format!("{}/{}", g.bucket.render(), k.render()),
            })
            .collect()
    }

    /// Whether the scope restricts anything.
    pub fn is_restricted(&self) -> bool {
        self.grants.is_some()
    }

    /// Whether `bucket` appears to this key (`ListBuckets`).
    pub fn sees_bucket(&self, bucket: &str) -> bool {
        self.allows(Reach::Bucket(bucket))
    }

    /// Whether one reach is inside the scope.
    pub fn allows(&self, r: Reach<'_>) -> bool {
        let Some(grants) = &self.grants else { return true };
        grants.iter().any(|g| match r {
            Reach::Bucket(b) => g.bucket.matches(b),
            Reach::WholeBucket(b) => g.bucket.matches(b) && g.key.is_none(),
            Reach::Listing(b, p) => g.bucket.matches(b) && g.key.as_ref().is_none_or(|k| k.covers_prefix(p)),
            Reach::Object(b, k) => g.bucket.matches(b) && g.key.as_ref().is_none_or(|pat| pat.matches(k)),
        })
    }

    /// Check every bucket and key `op` reaches; the error names the first one outside.
    pub fn check(&self, op: &Op) -> Result<(), OutOfScope> {
        if !self.is_restricted() {
            return Ok(());
        }
        for r in op.reaches() {
            if !self.allows(r) {
                return Err(match r {
                    Reach::Bucket(b) => OutOfScope::Bucket { bucket: b.to_string() },
                    Reach::WholeBucket(b) => OutOfScope::BucketConfiguration { bucket: b.to_string() },
                    Reach::Listing(b, p) => OutOfScope::Listing {
                        bucket: b.to_string(),
                        prefix: p.to_string(),
                    },
                    Reach::Object(b, k) => OutOfScope::Object {
                        bucket: b.to_string(),
                        key: k.to_string(),
                    },
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        let s = Scope::parse(&["veeam-*", "archive", "logs/host1/*", "x/one.txt", "y/*"]).unwrap();
        assert_eq!(s.entries(), ["veeam-*", "archive", "logs/host1/*", "x/one.txt", "y"]);
        assert!(!Scope::parse::<&str>(&[]).unwrap().is_restricted());
        assert!(Scope::parse_list(" a , b* ").unwrap().sees_bucket("bzz"));
        for bad in ["", "a*b", "a/", "a/b*c", "/x"] {
            assert!(Scope::parse(&[bad]).is_err(), "{bad}");
        }
        assert!(Scope::parse(&["*"]).unwrap().sees_bucket("anything"));
    }

    #[test]
    fn reaches_are_judged() {
        let s = Scope::parse(&["veeam-*", "archive/host1/*", "one/k"]).unwrap();
        assert!(s.allows(Reach::Object("veeam-a", "any")));
        assert!(!s.allows(Reach::Object("other", "any")));
        assert!(s.allows(Reach::Object("archive", "host1/x")));
        assert!(!s.allows(Reach::Object("archive", "host2/x")));
        assert!(s.allows(Reach::Object("one", "k")) && !s.allows(Reach::Object("one", "k2")));
        assert!(s.allows(Reach::Bucket("archive")));
        assert!(!s.allows(Reach::WholeBucket("archive")));
        assert!(s.allows(Reach::WholeBucket("veeam-1")));
        assert!(s.allows(Reach::Listing("archive", "host1/")));
        assert!(s.allows(Reach::Listing("archive", "host1/sub")));
        assert!(!s.allows(Reach::Listing("archive", "host")));
        assert!(!s.allows(Reach::Listing("archive", "")));
        assert!(
            !s.allows(Reach::Listing("one", "k")),
            "an exact key does not allow a listing"
        );
        assert!(s.allows(Reach::Listing("veeam-x", "")));
        assert!(Scope::default().allows(Reach::WholeBucket("x")));
    }
}
