//! The organisation on a real server: the release `fieldsync-server` on 127.0.0.1 (on SQLite,
//! or on a private PostgreSQL cluster with one or more server processes) with the workload's
//! users, every customer file and visit pushed by an admin's device through the sync protocol
//! (the same on every backend), and devices (a store in a directory of their own) logged in as
//! any of the users.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Instant;

use fieldsync_core::Store;
use fieldsync_core::store::{Durability, StoreOptions};
use fieldsync_core::sync::{self, SyncReport, http::HttpClient};
use fieldsync_tests::server::TestUser;
use fieldsync_tests::workload::{
    Populated, Workload, WorkloadConfig, manager_name, rep_name, territories, territory_of_rep,
};

use crate::Result;

#[path = "deploy.rs"]
pub mod deploy;

use deploy::{Backend, Deployment};

/// Every user's password in the bench.
pub const PASSWORD: &str = "bench-password-1";
/// The admin who loads the organisation.
pub const ADMIN: &str = "admin";

/// The server with the organisation stored.
pub struct Org {
    /// The server: its running processes and their database.
    pub server: Deployment,
    /// The generator the organisation came from.
    pub workload: Workload,
    /// Ids of what was stored, by workload index.
    pub ids: Populated,
    /// The admin's device, which holds every document.
    pub admin: Device,
    /// Where devices live.
    pub dir: PathBuf,
    /// Seconds the admin's push of everything took.
    pub push_secs: f64,
    /// Monday batches prepared so far (each makes visits of its own).
    monday_batches: Cell<usize>,
}

/// A device: its store and the user it is logged in as.
pub struct Device {
    /// The device's store.
    pub store: Store,
    /// Logged-in user.
    pub user: String,
}

impl Device {
    /// Opens a new device in `dir`, logged in as `user` at `url`, with the default (full)
    /// durability.
    pub fn new(dir: &Path, url: &str, user: &str) -> Result<Device> {
        Device::with_options(dir, url, user, StoreOptions::default())
    }

    /// Opens a new device with store options of its own.
    pub fn with_options(
        dir: &Path,
        url: &str,
        user: &str,
        options: StoreOptions,
    ) -> Result<Device> {
        std::fs::create_dir_all(dir)?;
        let store = Store::open_with(dir.join("device.db"), options)?;
        let mut client = HttpClient::new(url)?.with_store(&store)?;
        client.login(user, PASSWORD, "bench device")?;
        store.set_author(user)?;
        Ok(Device {
            store,
            user: user.to_string(),
        })
    }

    /// Syncs until both sides are up to date.
    pub fn sync(&self) -> Result<SyncReport> {
        let mut client = HttpClient::from_store(&self.store)?;
        Ok(sync::run(&self.store, &mut client, |_| {})?)
    }

    /// Syncs as [`Device::sync`] does, but asks for each page only once the one before is
    /// merged (no round sent ahead): what scenario 1 compares its time with.
    pub fn sync_page_after_page(&self) -> Result<SyncReport> {
        /// The client, without [`sync::Transport::send_ahead`].
        struct InTurn<'c, 's>(&'c mut HttpClient<'s>);
        impl sync::Transport for InTurn<'_, '_> {
            fn sync_round(
                &mut self,
                body: Vec<u8>,
            ) -> std::result::Result<Vec<u8>, sync::SyncError> {
                self.0.sync_round(body)
            }
        }
        let mut client = HttpClient::from_store(&self.store)?;
        Ok(sync::run(&self.store, &mut InTurn(&mut client), |_| {})?)
    }
}

/// Creates the users: an admin, a manager per territory, and the reps.
fn add_users(server: &Deployment) -> Result<()> {
    server.add_user(&TestUser {
        username: ADMIN,
        role: "admin",
        territories: &[],
        manager: None,
        password: PASSWORD,
    })?;
    for (t, territory) in territories().iter().enumerate() {
        server.add_user(&TestUser {
            username: &manager_name(t),
            role: "manager",
            territories: &[territory],
            manager: None,
            password: PASSWORD,
        })?;
    }
    for r in 0..50 {
        let t = territory_of_rep(r);
        let manager = manager_name(t);
        server.add_user(&TestUser {
            username: &rep_name(r),
            role: "rep",
            territories: &[territories()[t]],
            manager: Some(&manager),
            password: PASSWORD,
        })?;
    }
    Ok(())
}

impl Org {
    /// Starts a server in `dir` (with extra `serve` options) on its SQLite file and stores the
    /// organisation of `config` on it.
    #[allow(
        dead_code,
        reason = "the soak run's way in (it includes this file); the bench says which backend"
    )]
    pub fn build(dir: &Path, config: WorkloadConfig, serve_args: &[String]) -> Result<Org> {
        Org::build_on(dir, config, Backend::Sqlite, serve_args)
    }

    /// Starts a server on `backend` in `dir` (with extra `serve` options) and stores the
    /// organisation of `config` on it; one server process runs (see [`Deployment::scale_to`]).
    pub fn build_on(
        dir: &Path,
        config: WorkloadConfig,
        backend: Backend,
        serve_args: &[String],
    ) -> Result<Org> {
        let mut server = Deployment::new(backend, &dir.join("server"), serve_args)?;
        add_users(&server)?;
        server.scale_to(1)?;
        let workload = Workload::new(config);

        // The admin's device only loads the organisation: commits need not survive a power cut.
        let admin = Device::with_options(
            &dir.join("admin"),
            &server.url(),
            ADMIN,
            StoreOptions {
                durability: Durability::Normal,
                ..StoreOptions::default()
            },
        )?;
        // The import writes a year of history, decisions made by the managers among it: the
        // server takes it as an admin's import of new documents, which the device's own check
        // (judging each step as the admin's) would refuse.
        admin.store.set_acting_user(None)?;
        let ids = workload.populate(&admin.store)?;
        let pushed = Instant::now();
        let report = admin.sync()?;
        if report.rejected > 0 {
            return Err(format!("the server refused {} documents", report.rejected).into());
        }
        Ok(Org {
            server,
            workload,
            ids,
            admin,
            dir: dir.to_path_buf(),
            push_secs: pushed.elapsed().as_secs_f64(),
            monday_batches: Cell::new(0),
        })
    }

    /// The number of the next Monday batch (0, 1, …), so that each makes new visits.
    pub fn next_monday_batch(&self) -> usize {
        let n = self.monday_batches.get();
        self.monday_batches.set(n + 1);
        n
    }

    /// A new device of `user`, in a directory named `name`.
    pub fn device(&self, name: &str, user: &str) -> Result<Device> {
        let dir = self.dir.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        Device::new(&dir, &self.server.url(), user)
    }
}
