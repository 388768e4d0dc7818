//! The programs the bench runs beside itself (the release `fieldsync-server`, and
//! `samod_server` for the peer), and scenarios 1–3 with samod on the same documents.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use fieldsync_tests::peer_samod::{self, PeerRun};
use fieldsync_tests::server::path_beside_me;

use crate::scenarios::{NewDevices, TripDocuments, saved_documents};
use crate::stats::{Series, Table};
use crate::{Result, Scale};

/// The binaries found (or built) for this run.
pub struct Binaries {
    /// `samod_server`, when the peer is wanted.
    pub samod: Option<PathBuf>,
}

/// Builds `bin` of `package` with this program's profile if it is not beside this program.
fn built(package: &str, bin: &str) -> Result<PathBuf> {
    let path = path_beside_me(bin)?;
    // Built every time, not only when missing: a binary left from before the sources changed
    // would be measured in their place. Cargo does nothing when it is up to date.
    let release = !cfg!(debug_assertions);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-q", "-p", package, "--bin", bin]);
    if release {
        cmd.arg("--release");
    }
    match cmd.status() {
        Ok(status) if status.success() => {}
        // Without cargo (a copied bench), the binary beside it is what there is.
        Err(_) if path.exists() => {
            println!("(cargo is not at hand: measuring the {bin} beside this program as it is)")
        }
        _ => return Err(format!("cannot build {bin}").into()),
    }
    Ok(path)
}

impl Binaries {
    /// Finds the server (and samod's when `samod`), building them beside this
    /// program, where the harness looks for the server.
    pub fn locate(samod: bool) -> Result<Binaries> {
        if std::env::var_os("FIELDSYNC_SERVER_BIN").is_none() {
            built("fieldsync-server", "fieldsync-server")?;
        }
        let samod = if samod {
            Some(match std::env::var_os("SAMOD_SERVER_BIN") {
                Some(p) => PathBuf::from(p),
                None => built("tests", "samod_server")?,
            })
        } else {
            None
        };
        Ok(Binaries { samod })
    }
}

type Docs = Vec<(String, Vec<u8>)>;

/// The first `n` documents of `common` (by id), and the parts of the trip within them.
fn subset(trip: &TripDocuments, n: usize) -> (Docs, Docs, Docs) {
    let mut common = trip.common.clone();
    common.sort_by(|a, b| a.0.cmp(&b.0));
    common.truncate(n);
    let ids: BTreeSet<&str> = common.iter().map(|(id, _)| id.as_str()).collect();
    let all: BTreeSet<&str> = trip.common.iter().map(|(id, _)| id.as_str()).collect();
    // Documents the trip created are in every subset; changed ones only where they belong.
    let keep = |side: &Docs| -> Docs {
        side.iter()
            .filter(|(id, _)| ids.contains(id.as_str()) || !all.contains(id.as_str()))
            .cloned()
            .collect()
    };
    let client = keep(&trip.client);
    let server = keep(&trip.server);
    (common, client, server)
}

/// Adds one samod scenario's rows.
fn rows(table: &mut Table, name: &str, runs: &[PeerRun]) {
    let series = |f: &dyn Fn(&PeerRun) -> f64| {
        let mut s = Series::default();
        for r in runs {
            s.push(f(r));
        }
        s
    };
    table.add(name, "samod", "time", "ms", series(&|r| r.millis), None);
    table.add(
        name,
        "samod",
        "bytes up",
        "KiB",
        series(&|r| r.bytes_up as f64 / 1024.0),
        None,
    );
    table.add(
        name,
        "samod",
        "bytes down",
        "KiB",
        series(&|r| r.bytes_down as f64 / 1024.0),
        None,
    );
    table.add(
        name,
        "samod",
        "messages",
        "",
        series(&|r| (r.messages_up + r.messages_down) as f64),
        None,
    );
    table.add(
        name,
        "samod",
        "server peak RSS",
        "MiB",
        series(&|r| r.server_peak_rss_kib as f64 / 1024.0),
        None,
    );
    if runs.iter().all(|r| r.client_peak_rss_kib.is_some()) {
        table.add(
            name,
            "samod",
            "client peak RSS",
            "MiB",
            series(&|r| r.client_peak_rss_kib.unwrap_or(0) as f64 / 1024.0),
            None,
        );
    }
}

fn repeat(
    runs: usize,
    mut f: impl FnMut() -> std::result::Result<PeerRun, String>,
) -> Result<Vec<PeerRun>> {
    (0..runs).map(|_| f().map_err(Into::into)).collect()
}

/// Scenarios 1–3 with samod, at each of the scale's document counts.
pub fn samod(
    bin: &Path,
    devices: &NewDevices,
    trip: Option<&TripDocuments>,
    scale: &Scale,
    wanted: &dyn Fn(u8) -> bool,
    table: &mut Table,
) -> Result<()> {
    let fallback;
    let trip = match trip {
        Some(t) => t,
        None => {
            fallback = TripDocuments {
                common: saved_documents(&devices.rep.store)?,
                client: Vec::new(),
                server: Vec::new(),
            };
            &fallback
        }
    };
    for &n in &scale.samod_sizes {
        let (common, client, server) = subset(trip, n);
        let n = common.len();
        // samod's cost grows with the square of the documents: one run at thousands.
        let runs = if n >= 2_000 { 1 } else { scale.runs };
        let name = format!("1 new device: samod, {n} docs");
        let got = repeat(runs, || peer_samod::new_device(bin, &common))?;
        rows(table, &name, &got);
        if wanted(2) && !(client.is_empty() && server.is_empty()) {
            let name = format!(
                "2 back from trip: samod, {n} docs, {}+{} changed",
                client.len(),
                server.len()
            );
            let got = repeat(runs, || {
                peer_samod::back_from_trip(bin, &common, &client, &server)
            })?;
            rows(table, &name, &got);
        }
        if wanted(3) {
            let name = format!("3 nothing changed: samod, {n} docs");
            let got = repeat(runs, || peer_samod::nothing_changed(bin, &common))?;
            rows(table, &name, &got);
        }
    }
    Ok(())
}
