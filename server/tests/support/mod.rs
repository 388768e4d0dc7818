//! What the service tests share: a world of six users on a real SQLite file, devices as real
//! client stores, and the documents the tests push.
#![allow(dead_code, clippy::unwrap_used)]

pub mod commits;
pub mod postgres;
pub mod s3;

use std::collections::BTreeSet;
use std::sync::Arc;

use fieldsync_core::Store;
use fieldsync_core::model::customer::NewCustomer;
use fieldsync_core::model::expense_claim::ExpenseClaimEdit;
use fieldsync_core::model::trip_plan::NewTripPlan;
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::protocol::{PushDocument, SyncRequest, SyncResponse};
use fieldsync_server::access::Principal;
use fieldsync_server::service::Core;
use fieldsync_server::storage::sqlite::SqliteStorage;
use fieldsync_server::storage::{Accounts, Role, User};
use serde_bytes::ByteBuf;

pub struct World {
    pub core: Core,
    _dir: tempfile::TempDir,
}

/// The password of `name` in the HTTP tests' team.
pub fn password(name: &str) -> String {
    format!("{name}-secret-密码")
}

/// Adds the HTTP tests' team, with real password hashes ([`password`]): admin; manager zhang
/// (east, east2) with reps li and wang; manager zhao (north) with rep chen.
pub fn add_team(storage: &dyn Accounts) {
    let users: [(&str, Role, &[&str], Option<&str>); 6] = [
        ("admin", Role::Admin, &[], None),
        ("zhang", Role::Manager, &["east", "east2"], None),
        ("zhao", Role::Manager, &["north"], None),
        ("li", Role::Rep, &["east"], Some("zhang")),
        ("wang", Role::Rep, &["east"], Some("zhang")),
        ("chen", Role::Rep, &["north"], Some("zhao")),
    ];
    for (name, role, territories, manager) in users {
        let hash = fieldsync_server::accounts::hash_password(&password(name)).unwrap();
        storage
            .add_user(&User {
                password_hash: hash,
                ..user(name, role, territories, manager)
            })
            .unwrap();
    }
}

pub fn user(name: &str, role: Role, territories: &[&str], manager: Option<&str>) -> User {
    User {
        username: name.into(),
        role,
        territories: territories.iter().map(|t| t.to_string()).collect(),
        manager: manager.map(str::to_string),
        disabled: false,
        password_hash: "unused".into(),
    }
}

/// admin; manager zhang (east) with reps li and wang; manager zhao (north) with rep chen.
pub fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(dir.path()).unwrap();
    for u in [
        user("admin", Role::Admin, &[], None),
        user("zhang", Role::Manager, &["east", "east2"], None),
        user("zhao", Role::Manager, &["north"], None),
        user("li", Role::Rep, &["east"], Some("zhang")),
        user("wang", Role::Rep, &["east"], Some("zhang")),
        user("chen", Role::Rep, &["north"], Some("zhao")),
    ] {
        storage.add_user(&u).unwrap();
    }
    World {
        core: Core::new(Arc::new(storage), 100).unwrap(),
        _dir: dir,
    }
}

impl World {
    pub fn who(&self, name: &str) -> Principal {
        self.core.principal(name).unwrap().unwrap()
    }

    pub fn push_raw(&self, name: &str, id: &str, changes: Vec<Vec<u8>>) -> SyncResponse {
        let req = request(
            0,
            vec![PushDocument {
                id: id.into(),
                changes: changes.into_iter().map(ByteBuf::from).collect(),
            }],
        );
        self.core.sync(&self.who(name), req).unwrap()
    }

    pub fn push(&self, name: &str, store: &Store, id: &str) -> SyncResponse {
        self.push_raw(name, id, store.changes_since(id, &[]).unwrap())
    }

    pub fn accepted(&self, name: &str, store: &Store, id: &str) {
        let r = self.push(name, store, id);
        assert!(
            r.rejected.is_empty(),
            "{name}'s push of {id} was rejected: {:?}",
            r.rejected
        );
        assert_eq!(r.accepted.len(), 1);
    }

    pub fn rejected(&self, name: &str, store: &Store, id: &str, rule: &str) -> String {
        let r = self.push(name, store, id);
        assert_eq!(r.rejected.len(), 1, "{name}'s push of {id} was accepted");
        assert_eq!(r.rejected[0].rule, rule, "{}", r.rejected[0].reason);
        r.rejected[0].reason.clone()
    }

    /// Every document id `name` receives on a first sync.
    pub fn visible(&self, name: &str) -> BTreeSet<String> {
        let r = self.core.sync(&self.who(name), request(0, vec![])).unwrap();
        assert!(!r.more);
        r.documents.into_iter().map(|d| d.id).collect()
    }
}

/// Every change a store has of document `id`, as a push.
pub fn push_of(store: &Store, id: &str) -> PushDocument {
    PushDocument {
        id: id.to_string(),
        changes: store
            .changes_since(id, &[])
            .unwrap()
            .into_iter()
            .map(ByteBuf::from)
            .collect(),
    }
}

/// A sync request of protocol 1.
pub fn request(cursor: u64, push: Vec<PushDocument>) -> SyncRequest {
    SyncRequest {
        protocol: 1,
        cursor,
        push,
    }
}

pub fn device(dir: &tempfile::TempDir, name: &str) -> Store {
    Store::open(dir.path().join(format!("{name}.db"))).unwrap()
}

pub fn customer(name: &str, territory: &str, owner: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        territory: territory.into(),
        owner: owner.into(),
        created_by: owner.into(),
        ..Default::default()
    }
}

/// A trip plan of li's for zhang to approve.
pub fn li_plan(title: &str) -> NewTripPlan {
    NewTripPlan {
        owner: "li".into(),
        approver: "zhang".into(),
        title: title.into(),
        start_date: "2026-11-24".into(),
        end_date: "2026-11-26".into(),
        cities: vec!["宁波".into()],
        ..Default::default()
    }
}

/// A taxi fare of 30 yuan, an item for a claim to be submitted with.
pub fn taxi() -> ExpenseClaimEdit {
    ExpenseClaimEdit::AddItem {
        date: "2026-11-24".into(),
        category: fieldsync_core::model::expense_claim::ExpenseCategory::Transport,
        amount: fieldsync_core::model::fields::Money::cny(3000),
        description: Some("出租车".into()),
        invoice_photo: None,
        receipt: None,
    }
}

pub fn visit(customer: &str, author: &str) -> NewVisit {
    NewVisit {
        customer: customer.into(),
        author: author.into(),
        checkin_at: "2026-11-20T02:30:00Z".into(),
        utc_offset_minutes: 480,
        summary: "拜访".into(),
        ..Default::default()
    }
}
