//! Users and roles. Roles are an authorization question only: no role — not even admin — can make
//! `lock::decide` allow the destruction of a retained version.

/// Defined with the operations that need it (`s3::op`); the roles below grant it.
pub use crate::s3::op::Permission;
use std::collections::HashMap;
use std::sync::Arc;

/// What a principal may do. Each role includes the ones listed before it, except `Auditor`, which is
/// read-only over everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Objects: read, write new versions, add delete markers, create buckets.
    Writer,
    /// Writer plus bucket lock configuration, retention extension, legal hold, deletion of expired versions.
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
            Role::Officer => matches!(p, Permission::Read | Permission::Write | Permission::Govern),
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
