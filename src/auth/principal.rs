//! Users and roles. Roles are an authorization question only: no role — not even admin — can make
//! `lock::decide` allow the destruction of a retained version.

/// Defined with the operations that need it (`s3::op`); the roles below grant it.
pub use crate::s3::op::Permission;
use std::collections::HashMap;
use std::sync::Arc;

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
}

/// An authenticated caller. Cheap to clone; it travels into the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub access_key: String,
    pub name: String,
    pub role: Role,
}

/// One configured user: its secret never leaves this module except to derive signing keys.
#[derive(Clone)]
pub struct User {
    pub principal: Principal,
    pub secret_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Permission; 6] = [
        Permission::Read,
        Permission::Write,
        Permission::ExtendRetention,
        Permission::DeleteVersion,
        Permission::Govern,
        Permission::Audit,
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
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("principal", &self.principal)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// Lookup table of access keys, built once from the config.
#[derive(Debug, Clone, Default)]
pub struct Users {
    by_key: Arc<HashMap<String, User>>,
}

impl Users {
    pub fn new(users: Vec<User>) -> Self {
        let by_key = users.into_iter().map(|u| (u.principal.access_key.clone(), u)).collect();
        Users {
            by_key: Arc::new(by_key),
        }
    }

    pub fn get(&self, access_key: &str) -> Option<&User> {
        self.by_key.get(access_key)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}
