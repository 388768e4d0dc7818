//! Where the organisation's server keeps its data and how many processes serve it: the data
//! directory's SQLite file (one process), or a private PostgreSQL cluster this program starts
//! (`fieldsync_tests::postgres::PgCluster`, stopped when the deployment is dropped) served by
//! one or more `fieldsync-server` processes sharing the data directory's signing key.
//!
//! A child module of `org.rs` (which the soak run includes too), so it asks nothing of the
//! bench's other modules.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use fieldsync_tests::postgres::PgCluster;
use fieldsync_tests::server::{ServerProcess, TestUser, add_user_on};

use crate::Result;

/// The server's storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The data directory's SQLite file; one server process.
    Sqlite,
    /// A private PostgreSQL cluster started for the run; one or more server processes.
    Postgres,
}

impl Backend {
    /// Its name in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// What a row was measured on: printed beside the system, and kept in the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// The server's backend.
    pub backend: Backend,
    /// Server processes serving it.
    pub nodes: usize,
}

impl Setup {
    /// The short label of the table, e.g. `pg 2 nodes`.
    pub fn label(self) -> String {
        match self.backend {
            Backend::Sqlite => "sqlite".into(),
            Backend::Postgres if self.nodes == 1 => "pg 1 node".into(),
            Backend::Postgres => format!("pg {} nodes", self.nodes),
        }
    }
}

/// The database name the bench's cluster serves the organisation from.
const DATABASE: &str = "postgres";

/// The cluster's shared buffers, as an operator sizes them (docs/OPERATIONS.md): large
/// enough to hold what a busy day reads (the documents' rows, the log's indexes), a small part
/// of this machine's memory. PostgreSQL's default of 128 MB holds less than the full
/// organisation's documents and their indexes, so a rep's new device read most of its pages
/// from the system's cache, and evicted pages the organisation's import had left unwritten.
const SHARED_BUFFERS: &str = "shared_buffers=1GB";

/// The running servers of one organisation, and the PostgreSQL cluster under them.
pub struct Deployment {
    backend: Backend,
    data: PathBuf,
    serve_args: Vec<String>,
    nodes: Vec<ServerProcess>,
    // Declared after the nodes: they stop before the database does.
    cluster: Option<PgCluster>,
}

impl Deployment {
    /// Prepares a deployment on `backend` with its signing key (and, on SQLite, its database)
    /// in `data`; on PostgreSQL it starts the private cluster. No server runs yet: add the
    /// users first, then [`Deployment::scale_to`].
    pub fn new(backend: Backend, data: &Path, serve_args: &[String]) -> Result<Deployment> {
        let cluster = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                PgCluster::start_with("bench --backend postgres", &[SHARED_BUFFERS]).ok_or(
                    "--backend postgres needs PostgreSQL installed (apt-get install postgresql): \
                     the bench starts a private cluster of its own",
                )?,
            ),
        };
        if let Some(c) = &cluster {
            println!("PostgreSQL cluster started: {}", c.url(DATABASE));
        }
        std::fs::create_dir_all(data)?;
        Ok(Deployment {
            backend,
            data: data.to_path_buf(),
            serve_args: serve_args.to_vec(),
            nodes: Vec::new(),
            cluster,
        })
    }

    /// The PostgreSQL database the servers use, if they use one.
    pub fn database_url(&self) -> Option<String> {
        self.cluster.as_ref().map(|c| c.url(DATABASE))
    }

    /// Creates a user with `fieldsync-server user add`, in the deployment's database.
    pub fn add_user(&self, user: &TestUser<'_>) -> Result<()> {
        add_user_on(&self.data, self.database_url().as_deref(), user).map_err(|e| {
            if e.contains("--database-url") {
                format!(
                    "{e}\nthe fieldsync-server beside the bench predates PostgreSQL: \
                     cargo build --release -p fieldsync-server"
                )
            } else {
                e
            }
            .into()
        })
    }

    /// Starts or stops server processes until `nodes` serve the database (stopping the newest
    /// first, so node 1 keeps running). More than one needs PostgreSQL.
    pub fn scale_to(&mut self, nodes: usize) -> Result<()> {
        if nodes > 1 && self.backend == Backend::Sqlite {
            return Err(NODES_NEED_POSTGRES.into());
        }
        let url = self.database_url();
        let args: Vec<&str> = self.serve_args.iter().map(String::as_str).collect();
        while self.nodes.len() < nodes.max(1) {
            self.nodes
                .push(ServerProcess::start_on(&self.data, url.as_deref(), &args)?);
        }
        self.nodes.truncate(nodes.max(1));
        Ok(())
    }

    /// What rows measured on the deployment as it runs now are labelled with.
    pub fn setup(&self) -> Setup {
        Setup {
            backend: self.backend,
            nodes: self.nodes.len(),
        }
    }

    /// The base URL of node 1, where the organisation was pushed and scenarios 1–3 sync.
    pub fn url(&self) -> String {
        self.nodes
            .first()
            .map(ServerProcess::url)
            .unwrap_or_default()
    }

    /// The base URLs of the running nodes, node 1 first.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(ServerProcess::url).collect()
    }

    /// The process ids of the running nodes.
    pub fn pids(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| n.pid().map(|p| p.to_string()).unwrap_or_default())
            .collect()
    }

    /// The process id of node 1.
    #[allow(dead_code, reason = "the soak run's (it includes this file)")]
    pub fn pid(&self) -> Option<u32> {
        self.nodes.first().and_then(ServerProcess::pid)
    }

    /// Leaves the database as an operator leaves it after a large import, so that what is
    /// timed next is a day's work and not the import's aftermath: on PostgreSQL the tables'
    /// statistics gathered and their dead rows marked (`VACUUM (ANALYZE)`, which autovacuum
    /// would otherwise run, on the same two cores, during the first scenarios), then every
    /// page the import left unwritten written (`CHECKPOINT`). SQLite's server checkpoints its
    /// own log as it goes: nothing to do.
    pub fn settle(&self) -> Result<()> {
        if let Some(cluster) = &self.cluster {
            cluster.psql(DATABASE, &["VACUUM (ANALYZE)", "CHECKPOINT"])?;
        }
        Ok(())
    }

    /// The PostgreSQL postmaster's process id (its backends are its children), if the servers
    /// use PostgreSQL.
    pub fn database_pid(&self) -> Option<u32> {
        self.cluster.as_ref().map(PgCluster::pid)
    }
}

/// Why `--nodes` above 1 is refused on SQLite.
pub const NODES_NEED_POSTGRES: &str = "--nodes above 1 needs --backend postgres: server \
     processes share a PostgreSQL database, while an SQLite file has one server";
