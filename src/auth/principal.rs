//! Users and roles. Roles are an authorization question only: no role — not even admin — can make
//! `lock::decide` allow the destruction of a retained version. The table of access keys is a
//! [`Keyring`]: swapped whole (config reload on SIGHUP, `wormgate user …` through the admin API) so a
//! change takes effect on the next request without a restart.

use super::scope::Scope;
/// Defined with the operations that need it (`s3::op`); the roles below grant it.
pub use crate::s3::op::Permission;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What a principal may do. `Backup` and `Officer` include `Writer`; `Officer` includes `Backup`;
/// `Auditor` is read-only over everything; `Admin` is all roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Objects: read, write new versions, add delete markers, create buckets.
    Writer,
    /// Writer plus what backup software that manages its own locks needs (Veeam, Kopia, rclone's lock
    /// flags): retention extension (never shortening: the lock refuses that to everyone) and deletion
    /// of versions whose retention has expired. Not legal hold, bucket lock configuration, versioning
    /// or bucket deletion — a compromised backup server must not be able to change the rules.
    Backup,
    /// Backup plus bucket lock configuration, legal hold, versioning, bucket deletion.
    Officer,
    /// Read-only, everything (including the audit trail and reports).
    Auditor,
    /// All roles.
    Admin,
}

impl Role {
    /// Whether this role carries `p`.
    pub fn allows(self, p: Permission) -> bool {
        match self {
            Role::Admin => true,
            Role::Officer => matches!(
                p,
                Permission::Read
                    | Permission::Write
                    | Permission::ExtendRetention
                    | Permission::DeleteVersion
                    | Permission::Govern
            ),
            Role::Backup => matches!(
                p,
                Permission::Read | Permission::Write | Permission::ExtendRetention | Permission::DeleteVersion
            ),
            Role::Writer => matches!(p, Permission::Read | Permission::Write),
            Role::Auditor => matches!(p, Permission::Read | Permission::Audit),
        }
    }

    /// The role named `s` as the config file spells it (`writer`, `admin`, …): one parser (serde's)
    /// for the file, the command line and the admin API, so a new role needs no change here.
    pub fn parse(s: &str) -> Result<Role, UnknownRole> {
        serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_lowercase()))
            .map_err(|_| UnknownRole { name: s.to_string() })
    }

    /// The name `parse` reads back.
    pub fn as_name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// A role name that names no role (config file, command line, admin API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{name}'")]
pub struct UnknownRole {
    /// The name as given.
    pub name: String,
}

/// An authenticated caller. Cheap to clone; it travels into the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub access_key: String,
    pub name: String,
    pub role: Role,
    /// The buckets (and key prefixes) this caller may reach; unrestricted by default.
    pub scope: Scope,
}

/// A secret access key. Kept out of logs (`Debug`/`Display` print `<redacted>`) and wiped from memory
/// when dropped, so a core dump or a stray `{:?}` does not leak it. Derefs to `&str` for the signers.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(zeroize::Zeroizing<String>);

impl SecretKey {
    /// The secret itself, for deriving signing keys and for showing a new secret once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for SecretKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretKey {
    fn from(s: String) -> Self {
        SecretKey(zeroize::Zeroizing::new(s))
    }
}

impl From<&str> for SecretKey {
    fn from(s: &str) -> Self {
        SecretKey::from(s.to_string())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Display for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl serde::Serialize for SecretKey {
    /// Only the catalog's user records serialize a secret (the file is the key store).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SecretKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretKey::from)
    }
}

/// One configured user: its secret never leaves this module except to derive signing keys.
#[derive(Debug, Clone)]
pub struct User {
    pub principal: Principal,
    pub secret_key: SecretKey,
    /// The key stops working at this instant (the old key of a rotation with a grace period).
    pub not_after: Option<DateTime<Utc>>,
}

impl User {
    /// A user whose key does not expire.
    pub fn new(principal: Principal, secret_key: impl Into<SecretKey>) -> User {
        User {
            principal,
            secret_key: secret_key.into(),
            not_after: None,
        }
    }
}

/// Lookup table of access keys: one immutable snapshot of a [`Keyring`].
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_key: Arc<HashMap<String, User>>,
}

impl Users {
    /// The table of `users`; a later duplicate access key is dropped (the caller validated them).
    pub fn new(users: Vec<User>) -> Self {
        let mut by_key = HashMap::with_capacity(users.len());
        for u in users {
            by_key.entry(u.principal.access_key.clone()).or_insert(u);
        }
        Users {
            by_key: Arc::new(by_key),
        }
    }

    /// The user of `access_key`, unless its key expired (grace period of a rotation over).
    pub fn get(&self, access_key: &str) -> Option<&User> {
        let now = Utc::now();
        self.by_key
            .get(access_key)
            .filter(|u| u.not_after.is_none_or(|t| now < t))
    }

    /// Whether `access_key` is in the table (expired or not).
    pub fn contains(&self, access_key: &str) -> bool {
        self.by_key.contains_key(access_key)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// The live key table: the config file's users (replaced on SIGHUP) plus the catalog's users
/// (replaced after every `wormgate user` change). Requests take a snapshot (`current`), so a swap
/// never disturbs a request in flight and takes effect on the next one.
#[derive(Debug, Default)]
pub struct Keyring {
    sources: RwLock<(Vec<User>, Vec<User>)>,
    current: RwLock<Arc<Users>>,
}

impl Keyring {
    /// A keyring holding the config file's users (and the bootstrap admin) only.
    pub fn new(config: Vec<User>) -> Keyring {
        let k = Keyring::default();
        k.set_config(config);
        k
    }

    /// The table requests authenticate against now.
    pub fn current(&self) -> Arc<Users> {
        self.current.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Replace the config file's users (SIGHUP).
    pub fn set_config(&self, users: Vec<User>) {
        if let Ok(mut s) = self.sources.write() {
            s.0 = users;
            self.rebuild(&s);
        }
    }

    /// Replace the catalog's users (after a `wormgate user` change).
    pub fn set_catalog(&self, users: Vec<User>) {
        if let Ok(mut s) = self.sources.write() {
            s.1 = users;
            self.rebuild(&s);
        }
    }

    /// The config file's users now (for telling catalog users apart from them).
    pub fn config_users(&self) -> Vec<User> {
        self.sources.read().map(|s| s.0.clone()).unwrap_or_default()
    }

    fn rebuild(&self, s: &(Vec<User>, Vec<User>)) {
        let mut all = s.0.clone();
        for u in &s.1 {
            if all.iter().any(|c| c.principal.access_key == u.principal.access_key) {
                tracing::warn!(user = %u.principal.name, "a catalog user's access key is also in the config file; the config file's entry wins");
                continue;
            }
            all.push(u.clone());
        }
        if let Ok(mut c) = self.current.write() {
            *c = Arc::new(Users::new(all));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Permission; 7] = [
        Permission::Read,
        Permission::Write,
        Permission::ExtendRetention,
        Permission::DeleteVersion,
        Permission::Govern,
        Permission::Audit,
        Permission::ManageKeys,
    ];

    fn granted(r: Role) -> Vec<Permission> {
        ALL.into_iter().filter(|p| r.allows(*p)).collect()
    }

    #[test]
    fn what_each_role_grants() {
        use Permission::*;
        assert_eq!(granted(Role::Writer), vec![Read, Write]);
        assert_eq!(granted(Role::Backup), vec![Read, Write, ExtendRetention, DeleteVersion]);
        assert_eq!(
            granted(Role::Officer),
            vec![Read, Write, ExtendRetention, DeleteVersion, Govern]
        );
        assert_eq!(granted(Role::Auditor), vec![Read, Audit]);
        assert_eq!(granted(Role::Admin), ALL.to_vec());
    }

    #[test]
    fn backup_parses_from_the_config_name() {
        #[derive(serde::Deserialize)]
        struct W {
            role: Role,
        }
        let w: W = toml::from_str("role = \"backup\"").unwrap();
        assert_eq!(w.role, Role::Backup);
    }

    fn user(ak: &str, name: &str) -> User {
        User::new(
            Principal {
                access_key: ak.into(),
                name: name.into(),
                role: Role::Writer,
                scope: Scope::default(),
            },
            "secret-secret",
        )
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let u = user("AK1", "one");
        let dbg = format!("{u:?} {} {:?}", u.secret_key, u.secret_key);
        assert!(!dbg.contains("secret-secret"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        assert_eq!(u.secret_key.expose(), "secret-secret");
    }

    #[test]
    fn roles_parse_by_their_config_names() {
        for r in [Role::Writer, Role::Backup, Role::Officer, Role::Auditor, Role::Admin] {
            assert_eq!(Role::parse(&r.as_name()).unwrap(), r);
        }
        assert_eq!(Role::parse("ADMIN").unwrap(), Role::Admin);
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn keyring_swaps_and_config_wins_on_a_duplicate_key() {
        let k = Keyring::new(vec![user("AK1", "cfg")]);
        let before = k.current();
        k.set_catalog(vec![user("AK1", "dup"), user("AK2", "cat")]);
        assert!(before.get("AK2").is_none(), "a snapshot never changes");
        let now = k.current();
        assert_eq!(now.get("AK1").unwrap().principal.name, "cfg");
        assert_eq!(now.get("AK2").unwrap().principal.name, "cat");
        k.set_config(vec![]);
        assert_eq!(k.current().get("AK1").unwrap().principal.name, "dup");
    }

    #[test]
    fn an_expired_key_is_not_found() {
        let mut old = user("OLD", "one");
        old.not_after = Some(Utc::now() - chrono::Duration::seconds(1));
        let mut fresh = user("NEW", "one");
        fresh.not_after = Some(Utc::now() + chrono::Duration::hours(1));
        let t = Users::new(vec![old, fresh]);
        assert!(t.get("OLD").is_none());
        assert!(t.contains("OLD"));
        assert!(t.get("NEW").is_some());
    }
}
