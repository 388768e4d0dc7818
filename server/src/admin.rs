//! Administration over HTTP, as plain functions over the core: users (create, disable and
//! enable, reset a password, change role, territories and manager), territories (create,
//! rename), the server's health and the audit log. Only admins call them.
//!
//! A change of a user's role, territories or manager changes what they (and the managers
//! whose team they join or leave) see: the documents that enter or leave each scope are
//! written as scope events in the same transaction as the change, so devices receive the
//! newcomers whole and lose the leavers at their next sync, exactly as after a handover.
//! Every change is written to the audit log (who, when, what, from where).

pub mod http;

use std::collections::BTreeSet;

use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::model::fields::validate_username;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::Principal;
use crate::accounts::hash_password;
use crate::error::AppError;
use crate::service::{Core, Notice};
use crate::storage::{AuditEntry, DocKind, Role, ScopeEvent, StoredFigures, User};

/// Passwords set over HTTP are at least this long.
pub const MIN_PASSWORD: usize = 8;

/// Entries the audit log page shows at most.
pub const AUDIT_PAGE: usize = 500;

/// A user as the administration pages show them (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// Login name.
    pub username: String,
    /// `rep`, `manager` or `admin`.
    pub role: String,
    /// Territories.
    pub territories: Vec<String>,
    /// Manager.
    pub manager: Option<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
}

impl From<&User> for UserInfo {
    fn from(u: &User) -> Self {
        UserInfo {
            username: u.username.clone(),
            role: u.role.as_str().to_string(),
            territories: u.territories.clone(),
            manager: u.manager.clone(),
            disabled: u.disabled,
        }
    }
}

/// A new user.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Initial password.
    pub password: String,
    /// `rep`, `manager` or `admin`.
    pub role: String,
    /// Territories.
    #[serde(default)]
    pub territories: Vec<String>,
    /// Manager (a manager or admin).
    #[serde(default)]
    pub manager: Option<String>,
}

/// Changes to a user; a field left out is untouched.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New role.
    #[serde(default)]
    pub role: Option<String>,
    /// New territories (replacing the old ones).
    #[serde(default)]
    pub territories: Option<Vec<String>>,
    /// New manager; `""` removes it.
    #[serde(default)]
    pub manager: Option<String>,
    /// Disable (`true`) or enable (`false`) the account.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// A new password (a forgotten one).
    #[serde(default)]
    pub password: Option<String>,
}

/// Who makes an administrative change, and from where.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    /// The admin.
    pub who: &'a Principal,
    /// The address the request came from.
    pub source: Option<String>,
}

fn only_admins(who: &Principal) -> Result<(), AppError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "only administrators manage users, territories and the server".into(),
        ))
    }
}

fn audit(
    core: &Core,
    by: &Actor<'_>,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    core.storage.record_audit(&AuditEntry {
        seq: 0,
        at: chrono::Utc::now().timestamp_millis(),
        actor: by.who.username.clone(),
        action: action.to_string(),
        target: target.to_string(),
        detail: detail.to_string(),
        source: by.source.clone(),
    })?;
    tracing::info!(actor = %by.who.username, %action, %target, "administrative change");
    Ok(())
}

fn role(text: &str) -> Result<Role, AppError> {
    Role::parse(text.trim()).ok_or_else(|| {
        AppError::Invalid(format!("unknown role '{text}': use rep, manager or admin"))
    })
}

fn check_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AppError::Invalid(format!(
            "the password must be at least {MIN_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// Territory names: trimmed, 1 to 100 characters, no control characters.
fn territory_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::Invalid(format!(
            "'{name}' is not a territory name: 1 to 100 characters, none of them control characters"
        )));
    }
    Ok(name.to_string())
}

fn territories(list: &[String]) -> Result<Vec<String>, AppError> {
    let set: BTreeSet<String> = list
        .iter()
        .map(|t| territory_name(t))
        .collect::<Result<_, _>>()?;
    Ok(set.into_iter().collect())
}

/// The manager a user may have: an existing manager or admin.
fn check_manager(users: &[User], manager: &str, of: &str) -> Result<(), AppError> {
    if manager == of {
        return Err(AppError::Invalid(format!(
            "{of} cannot be their own manager"
        )));
    }
    match users.iter().find(|u| u.username == manager) {
        Some(u) if u.role != Role::Rep => Ok(()),
        Some(_) => Err(AppError::Invalid(format!(
            "{manager} is a rep: a manager must be a manager or an admin"
        ))),
        None => Err(AppError::Invalid(format!(
            "no user '{manager}' to be the manager: add them first"
        ))),
    }
}

/// Every user.
pub fn users(core: &Core, who: &Principal) -> Result<Vec<UserInfo>, AppError> {
    only_admins(who)?;
    Ok(core.storage.users()?.iter().map(UserInfo::from).collect())
}

/// Adds a user.
pub fn create_user(core: &Core, by: &Actor<'_>, new: NewUser) -> Result<UserInfo, AppError> {
    only_admins(by.who)?;
    validate_username("username", &new.username).map_err(|e| AppError::Invalid(e.to_string()))?;
    let role = role(&new.role)?;
    check_password(&new.password)?;
    let users = core.storage.users()?;
    let manager = new.manager.filter(|m| !m.trim().is_empty());
    if let Some(m) = &manager {
        check_manager(&users, m, &new.username)?;
    }
    let user = User {
        username: new.username.clone(),
        role,
        territories: territories(&new.territories)?,
        manager,
        disabled: false,
        password_hash: hash_password(&new.password)?,
    };
    core.storage.add_user(&user).map_err(|e| match e {
        crate::storage::StorageError::Conflict(m) => AppError::Invalid(m),
        other => other.into(),
    })?;
    audit(
        core,
        by,
        "user.create",
        &user.username,
        json!({"role": user.role.as_str(), "territories": user.territories, "manager": user.manager}),
    )?;
    Ok(UserInfo::from(&user))
}

/// The scope events of replacing `before` with `after` among `users`: for the user and every
/// manager whose team gains or loses them, the documents entering and leaving what they see.
fn scope_events_of(
    core: &Core,
    users: &[User],
    before: &User,
    after: &User,
) -> Result<Vec<ScopeEvent>, AppError> {
    let after_users: Vec<User> = users
        .iter()
        .map(|u| {
            if u.username == after.username {
                after.clone()
            } else {
                u.clone()
            }
        })
        .collect();
    let mut affected = vec![after.username.clone()];
    affected.extend(before.manager.iter().cloned());
    affected.extend(after.manager.iter().cloned());
    affected.sort();
    affected.dedup();
    let mut events = Vec::new();
    for name in affected {
        let (Some(was), Some(is)) = (
            users.iter().find(|u| u.username == name),
            after_users.iter().find(|u| u.username == name),
        ) else {
            continue;
        };
        let seen_before: BTreeSet<String> = core
            .storage
            .docs_seen(&Principal::of(was, users))?
            .into_iter()
            .collect();
        let seen_after: BTreeSet<String> = core
            .storage
            .docs_seen(&Principal::of(is, &after_users))?
            .into_iter()
            .collect();
        for (doc, entered) in seen_after
            .difference(&seen_before)
            .map(|d| (d, true))
            .chain(seen_before.difference(&seen_after).map(|d| (d, false)))
        {
            events.push(ScopeEvent {
                username: name.clone(),
                doc_id: doc.clone(),
                entered,
            });
        }
    }
    Ok(events)
}

/// Changes a user.
pub fn update_user(
    core: &Core,
    by: &Actor<'_>,
    username: &str,
    patch: UserPatch,
) -> Result<UserInfo, AppError> {
    only_admins(by.who)?;
    let users = core.storage.users()?;
    let before = users
        .iter()
        .find(|u| u.username == username)
        .cloned()
        .ok_or_else(|| AppError::NotFound(format!("no user '{username}'")))?;
    if username == by.who.username
        && (patch.disabled == Some(true) || patch.role.as_deref().is_some_and(|r| r != "admin"))
    {
        return Err(AppError::Invalid(
            "you cannot disable yourself or give up your own admin role: ask another admin".into(),
        ));
    }
    let mut after = before.clone();
    let mut detail = serde_json::Map::new();
    if let Some(r) = &patch.role {
        after.role = role(r)?;
        detail.insert("role".into(), json!(after.role.as_str()));
    }
    if let Some(t) = &patch.territories {
        after.territories = territories(t)?;
        detail.insert("territories".into(), json!(after.territories));
    }
    if let Some(m) = &patch.manager {
        let m = m.trim();
        after.manager = if m.is_empty() {
            None
        } else {
            check_manager(&users, m, username)?;
            Some(m.to_string())
        };
        detail.insert("manager".into(), json!(after.manager));
    }
    if let Some(p) = &patch.password {
        check_password(p)?;
    }
    let scope_changed = (&after.role, &after.territories, &after.manager)
        != (&before.role, &before.territories, &before.manager);
    if scope_changed {
        let events = scope_events_of(core, &users, &before, &after)?;
        detail.insert("scope_events".into(), json!(events.len()));
        core.storage.update_user(&after, &events)?;
        // Devices listening live sync now to receive what entered and lose what left.
        let _ = core.notices.send(Notice::MayHaveMissed);
    }
    if let Some(d) = patch.disabled
        && d != before.disabled
    {
        core.storage.set_disabled(username, d)?;
        after.disabled = d;
        detail.insert("disabled".into(), json!(d));
    }
    if let Some(p) = &patch.password {
        core.storage
            .set_password_hash(username, &hash_password(p)?)?;
        detail.insert("password".into(), json!("reset"));
    }
    if !detail.is_empty() {
        audit(core, by, "user.update", username, detail.into())?;
    }
    Ok(UserInfo::from(&after))
}

/// Every territory: recorded by an admin, or named by a user or a customer.
pub fn list_territories(core: &Core, who: &Principal) -> Result<Vec<String>, AppError> {
    only_admins(who)?;
    Ok(core.storage.territories()?)
}

/// Records a new territory.
pub fn create_territory(core: &Core, by: &Actor<'_>, name: &str) -> Result<String, AppError> {
    only_admins(by.who)?;
    let name = territory_name(name)?;
    if core.storage.territories()?.contains(&name) {
        return Err(AppError::Invalid(format!(
            "territory '{name}' exists already"
        )));
    }
    core.storage.add_territory(&name)?;
    audit(core, by, "territory.create", &name, json!({}))?;
    Ok(name)
}

/// Renames a territory: in the record, in every user's territories, and on every customer in
/// it (a change by the admin, with the scope events it causes). Returns how many customers
/// moved.
pub fn rename_territory(
    core: &Core,
    by: &Actor<'_>,
    from: &str,
    to: &str,
) -> Result<usize, AppError> {
    only_admins(by.who)?;
    let to = territory_name(to)?;
    let known = core.storage.territories()?;
    if !known.iter().any(|t| t == from) {
        return Err(AppError::NotFound(format!("no territory '{from}'")));
    }
    if known.contains(&to) {
        return Err(AppError::Invalid(format!(
            "territory '{to}' exists already: choose another name"
        )));
    }
    core.storage.rename_territory(from, &to)?;
    let ids = core
        .storage
        .in_territory(DocKind::Customer.as_str(), from)?;
    let moved = core.edit_customers(
        by.who,
        &ids,
        &CustomerEdit::Territory(to.clone()),
        &format!("territory {from} → {to} by {}", by.who.username),
    )?;
    audit(
        core,
        by,
        "territory.rename",
        from,
        json!({"to": to, "customers": moved}),
    )?;
    Ok(moved)
}

/// The server's health at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// The server's version.
    pub version: &'static str,
    /// Seconds since this server process started.
    pub uptime_secs: u64,
    /// What is stored.
    #[serde(flatten)]
    pub stored: StoredFigures,
    /// The last compaction of the log: when (unix milliseconds) and what it did.
    pub last_compaction: Option<AuditEntry>,
    /// The last backup: when (unix milliseconds), where to, and its log head.
    pub last_backup: Option<AuditEntry>,
    /// Device sessions this server process answered in the last 24 hours.
    pub devices_last_day: usize,
    /// Those sessions by the app version their `User-Agent` named (`unknown` if none): how
    /// many devices still run an old release.
    pub app_versions_last_day: std::collections::BTreeMap<String, usize>,
}

/// The figures of the health page.
pub fn health(core: &Core, who: &Principal) -> Result<Health, AppError> {
    only_admins(who)?;
    Ok(Health {
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: core.started.elapsed().as_secs(),
        stored: core.storage.figures()?,
        last_compaction: core.storage.last_audit(COMPACTION)?,
        last_backup: core.storage.last_audit(BACKUP)?,
        devices_last_day: core.devices_seen(std::time::Duration::from_secs(24 * 3600)),
        app_versions_last_day: core.app_versions_seen(std::time::Duration::from_secs(24 * 3600)),
    })
}

/// Records a compaction of the log in the audit log (what the health page shows as the last
/// one); `by` is `server` for the serving server's own, `command line` for an operator's.
pub fn record_compaction(
    storage: &dyn crate::storage::Storage,
    done: &crate::storage::Compaction,
    by: &str,
) -> Result<(), AppError> {
    record_operation(
        storage,
        by,
        COMPACTION,
        "log".into(),
        json!({
            "floor": done.floor,
            "changes_removed": done.changes_removed,
            "documents_resnapshotted": done.documents_resnapshotted,
        }),
    )
}

/// Records in the audit log an operation on the server itself (not an administrator's change
/// over HTTP), done now by `by`.
fn record_operation(
    storage: &dyn crate::storage::Storage,
    by: &str,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    storage.record_audit(&AuditEntry {
        seq: 0,
        at: chrono::Utc::now().timestamp_millis(),
        actor: by.to_string(),
        action: action.into(),
        target,
        detail: detail.to_string(),
        source: None,
    })?;
    Ok(())
}

/// The audit action of a compaction of the log.
pub const COMPACTION: &str = "log.compact";

/// The audit action of a backup.
pub const BACKUP: &str = "server.backup";

/// Records a backup in the audit log (what the health page shows as the last one); `by` is
/// `server` for the serving server's scheduled ones, `command line` for an operator's.
pub fn record_backup(
    storage: &dyn crate::storage::Storage,
    done: &crate::backup::BackupDone,
    by: &str,
) -> Result<(), AppError> {
    record_operation(
        storage,
        by,
        BACKUP,
        done.path.display().to_string(),
        json!({
            "log_head": done.manifest.log_head,
            "history": done.manifest.history,
            "bytes": done.bytes,
            "entries": done.manifest.entries.len(),
        }),
    )
}

/// The newest entries of the audit log.
pub fn audit_log(core: &Core, who: &Principal) -> Result<Vec<AuditEntry>, AppError> {
    only_admins(who)?;
    Ok(core.storage.audit_log(AUDIT_PAGE)?)
}
