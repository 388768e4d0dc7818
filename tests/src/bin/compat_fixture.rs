//! Makes the fixture of the previous release's server database and one of its devices, with
//! that release's own binaries: `cargo run -p tests --bin compat_fixture` (at each release,
//! once the release is in RELEASES.md; tests/fixtures/compat/README.md says when and why).
//!
//! It builds `fieldsync-server` and `fieldsync` from the release's commit
//! ([`fieldsync_tests::compat`]), starts that server on 127.0.0.1 with a fresh data directory,
//! adds an organisation, and has three of its devices work and sync: li's laptop (kept as the
//! fixture's device), zhang's and wang's. Li's laptop then works offline and does not sync, so
//! the fixture also holds a device with unsent work. The server is stopped with SIGTERM, and
//! its data directory, li's device home and `facts.json` (what the test checks survived) are
//! written to `tests/fixtures/compat/v<version>/`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fieldsync_tests::cli::{Home, Run, login_args};
use fieldsync_tests::compat::{self, Built};
use fieldsync_tests::server::free_port;
use serde_json::json;

/// Users of the fixture: name, role, territory, manager. Password: `pw-<name>-secret`.
const USERS: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    ("admin", "admin", None, None),
    ("zhang", "manager", Some("east"), None),
    ("li", "rep", Some("east"), Some("zhang")),
    ("wang", "rep", Some("east"), Some("zhang")),
];

fn main() {
    if let Err(e) = make() {
        eprintln!("compat_fixture: {e}");
        std::process::exit(1);
    }
}

fn make() -> Result<(), String> {
    let release = compat::previous_release()?;
    eprintln!(
        "building fieldsync {} ({}) ...",
        release.version, release.commit
    );
    let built = compat::build(&release, &["fieldsync-cli", "fieldsync-server"])?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = work.path().join("server");
    std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
    for (name, role, territory, manager) in USERS {
        let mut cmd = Command::new(&built.server);
        cmd.arg("--data-dir")
            .arg(&data)
            .args(["user", "add", "--username", name, "--role", role]);
        if let Some(t) = territory {
            cmd.args(["--territory", t]);
        }
        if let Some(m) = manager {
            cmd.args(["--manager", m]);
        }
        let out = cmd
            .args(["--password-env", "FIELDSYNC_FIXTURE_PASSWORD"])
            .env("FIELDSYNC_FIXTURE_PASSWORD", password(name))
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "user add {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let mut server = serve(&built, &data, port)?;
    let facts = scenario(&built, &url);
    stop(&mut server)?;
    let facts = facts?;

    let fixture = compat::fixture_dir(&release);
    let _ = std::fs::remove_dir_all(&fixture);
    std::fs::create_dir_all(&fixture).map_err(|e| e.to_string())?;
    copy_dir(&data, &fixture.join("server"))?;
    copy_dir(&facts.device_home, &fixture.join("device"))?;
    let mut facts_json = facts.json;
    facts_json["release"] = json!({"version": release.version, "commit": release.commit});
    std::fs::write(
        fixture.join("facts.json"),
        serde_json::to_string_pretty(&facts_json).map_err(|e| e.to_string())? + "\n",
    )
    .map_err(|e| e.to_string())?;
    eprintln!("wrote {}", fixture.display());
    Ok(())
}

fn password(user: &str) -> String {
    format!("pw-{user}-secret")
}

/// The old server on `port`, its refresh tokens valid for a century, so that the fixture's
/// device session is still one when the test runs years later.
fn serve(built: &Built, data: &Path, port: u16) -> Result<Child, String> {
    let mut child = Command::new(&built.server)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--refresh-ttl-days", "36500"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the old server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("listening on") {
                let _ = tx.send(());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(()) => Ok(child),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err("the old server did not start listening within 30 s".into())
        }
    }
}

/// SIGTERM, as a service manager stops it, so that its database is checkpointed and closed.
fn stop(server: &mut Child) -> Result<(), String> {
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    for _ in 0..600 {
        if server.try_wait().map_err(|e| e.to_string())?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
    Err("the old server did not stop within 30 s of SIGTERM".into())
}

/// What the scenario left, for `facts.json`.
struct Facts {
    device_home: PathBuf,
    json: serde_json::Value,
    _homes: Vec<Home>,
}

fn ok(run: Run) -> Result<String, String> {
    if run.code == Some(0) {
        Ok(run.stdout.trim().to_string())
    } else {
        Err(format!("the old fieldsync failed: {}", run.stderr))
    }
}

fn scenario(built: &Built, url: &str) -> Result<Facts, String> {
    let cli = |home: &Home, args: &[&str]| ok(home.run_binary(&built.cli, args, &[])?);
    let login = |user: &str| -> Result<Home, String> {
        let home = Home::new()?;
        ok(home.run_binary(
            &built.cli,
            &login_args(url, user, "laptop"),
            &[("FIELDSYNC_PASSWORD", &password(user))],
        )?)?;
        Ok(home)
    };
    let li = login("li")?;
    let zhang = login("zhang")?;
    let wang = login("wang")?;

    let precision = cli(
        &li,
        &[
            "customer",
            "add",
            "--name",
            "华东精密机械有限公司",
            "--tier",
            "A",
            "--city",
            "苏州",
        ],
    )?;
    let bearings = cli(&li, &["customer", "add", "--name", "无锡轴承厂"])?;
    cli(&li, &["customer", "note", &precision, "采购经理换人了。"])?;
    let visit = cli(
        &li,
        &[
            "visit",
            "add",
            "--customer",
            &precision,
            "--summary",
            "介绍新款轴承，客户要求样品。",
            "--met",
            "王芳:采购经理",
            "--outcome",
            "progress",
            "--next-followup",
            "2026-12-20",
            "--at",
            "2026-12-01T10:00:00+08:00",
        ],
    )?;
    cli(&li, &["sync"])?;
    cli(&zhang, &["sync"])?;
    cli(&zhang, &["visit", "comment", &visit, "好，尽快送样。"])?;
    cli(&zhang, &["sync"])?;
    let materials = cli(&wang, &["customer", "add", "--name", "苏州新材料科技"])?;
    cli(&wang, &["sync"])?;
    cli(&li, &["sync"])?;
    // Offline work the laptop has not synced when its app is updated.
    cli(&li, &["customer", "set", &bearings, "tier", "C"])?;
    let unsent_visit = cli(
        &li,
        &[
            "visit",
            "add",
            "--customer",
            &bearings,
            "--summary",
            "升级前离线记录的拜访。",
            "--at",
            "2026-12-02T15:00:00+08:00",
        ],
    )?;
    let status: serde_json::Value =
        serde_json::from_str(&cli(&li, &["status", "--json"])?).map_err(|e| e.to_string())?;
    Ok(Facts {
        device_home: li.path().to_path_buf(),
        json: json!({
            "users": USERS.iter().map(|u| u.0).collect::<Vec<_>>(),
            "password": "pw-<user>-secret",
            "device_user": "li",
            "customers": {
                "precision": precision,
                "bearings": bearings,
                "materials": materials,
            },
            "visits": {"synced": visit, "unsent": unsent_visit},
            "device_unsent": status["unsent"],
            "comment": "好，尽快送样。",
        }),
        _homes: vec![li, zhang, wang],
    })
}

/// Copies the files of `from` into `to` (a data directory or a device home: files and
/// subdirectories; SQLite's `-shm` files are left out, they are rebuilt on open).
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(from).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name();
        if name.to_string_lossy().ends_with("-shm") {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name))?;
        } else {
            std::fs::copy(&path, to.join(&name)).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
