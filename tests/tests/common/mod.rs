//! A sales organisation on a real server process, and devices that sync with it over HTTP.
#![allow(dead_code, clippy::unwrap_used)]

use fieldsync_core::Store;
use fieldsync_core::model::customer::NewCustomer;
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::sync::http::HttpClient;
use fieldsync_core::sync::{SyncReport, sync};
use fieldsync_tests::server::{ServerProcess, TestUser, add_user};
use tempfile::TempDir;

/// The server with: admin; managers zhang (east) and zhao (north); reps li and wang (east,
/// managed by zhang) and chen (north, managed by zhao). Password: "pw-" + name.
pub struct Org {
    pub server: ServerProcess,
    pub data: TempDir,
}

pub fn org() -> Org {
    org_with(&[])
}

/// The same organisation, with extra `serve` options.
pub fn org_with(serve_args: &[&str]) -> Org {
    let data = tempfile::tempdir().unwrap();
    for (name, role, territories, manager) in [
        ("admin", "admin", &[][..], None),
        ("zhang", "manager", &["east"][..], None),
        ("zhao", "manager", &["north"][..], None),
        ("li", "rep", &["east"][..], Some("zhang")),
        ("wang", "rep", &["east"][..], Some("zhang")),
        ("chen", "rep", &["north"][..], Some("zhao")),
    ] {
        let password = format!("pw-{name}-secret");
        add_user(
            data.path(),
            &TestUser {
                username: name,
                role,
                territories,
                manager,
                password: &password,
            },
        )
        .unwrap();
    }
    let server = ServerProcess::start_with(data.path(), serve_args).unwrap();
    Org { server, data }
}

/// One device: its own store file, logged in as a user.
pub struct Device {
    pub store: Store,
    pub user: String,
    _dir: TempDir,
}

impl Device {
    /// A new device of `user`, logged in to `url`.
    pub fn new(url: &str, user: &str, device_name: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("device.db")).unwrap();
        store.set_author(user).unwrap();
        HttpClient::new(url)
            .unwrap()
            .with_store(&store)
            .unwrap()
            .login(user, &format!("pw-{user}-secret"), device_name)
            .unwrap();
        Device {
            store,
            user: user.to_string(),
            _dir: dir,
        }
    }

    /// Syncs until nothing is left to push or pull.
    pub fn sync(&self) -> SyncReport {
        self.try_sync()
            .unwrap_or_else(|e| panic!("{}'s sync failed: {e}", self.user))
    }

    /// Syncs, returning the error.
    pub fn try_sync(&self) -> Result<SyncReport, fieldsync_core::sync::SyncError> {
        let mut client = HttpClient::from_store(&self.store)?;
        sync(&self.store, &mut client, |_| {})
    }

    /// Every document this device holds, as JSON, by id.
    pub fn documents(&self) -> std::collections::BTreeMap<String, serde_json::Value> {
        self.store
            .document_ids()
            .unwrap()
            .into_iter()
            .map(|(id, _)| {
                let doc = serde_json::to_value(self.store.document(&id).unwrap()).unwrap();
                (id, doc)
            })
            .collect()
    }
}

pub fn customer(name: &str, territory: &str, owner: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        territory: territory.into(),
        owner: owner.into(),
        created_by: owner.into(),
        notes: "初次建档。".into(),
        ..Default::default()
    }
}

pub fn visit(customer: &str, author: &str, summary: &str) -> NewVisit {
    NewVisit {
        customer: customer.into(),
        author: author.into(),
        checkin_at: "2026-11-20T02:30:00Z".into(),
        utc_offset_minutes: 480,
        summary: summary.into(),
        ..Default::default()
    }
}
