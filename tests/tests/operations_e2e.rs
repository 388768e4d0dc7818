//! Running the server for real: its configuration file and the precedence of environment and
//! flags over it, its own TLS listener (and a certificate renewed by SIGHUP), a graceful
//! shutdown under load, and a log with no secret and no business data in it. Every test runs
//! the real `fieldsync-server` binary on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cli::pw;
use common::{Device, add_org_users, customer};
use fieldsync_tests::cli::{Home, login_args};
use fieldsync_tests::server::{await_listening, free_port, server_binary};
use serde_json::Value;

/// A server started by a test with its own options, environment and log file.
struct Launched {
    child: Child,
    /// Where it said it listens.
    address: String,
    /// Its standard error: the log.
    log: PathBuf,
}

impl Launched {
    /// Starts `fieldsync-server ARGS` with `envs` (RUST_LOG and the FIELDSYNC_ variables of
    /// the test's own environment removed), its log into `log`; waits until it listens.
    fn start(args: &[&str], envs: &[(&str, &str)], log: &Path) -> Result<Launched, String> {
        let mut command = Command::new(server_binary()?);
        for (key, _) in std::env::vars() {
            if key.starts_with("FIELDSYNC_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        let mut child = command
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        match await_listening(&mut child) {
            Ok(address) => Ok(Launched {
                child,
                address,
                log: log.to_path_buf(),
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "{e}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ))
            }
        }
    }

    /// `fieldsync-server --data-dir DATA serve` on a free port of 127.0.0.1, with `envs`.
    fn serving(data: &Path, envs: &[(&str, &str)], log: &Path) -> Launched {
        let port = free_port().unwrap();
        Launched::start(
            &[
                "--data-dir",
                data.to_str().unwrap(),
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ],
            envs,
            log,
        )
        .unwrap()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Sends SIGTERM and waits (at most `limit`) for the process to end; how long it took.
    fn terminate_within(&mut self, limit: Duration) -> (Duration, std::process::ExitStatus) {
        let asked = Instant::now();
        self.signal("TERM");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (asked.elapsed(), status);
            }
            assert!(
                asked.elapsed() < limit,
                "the server did not stop within {limit:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(server_binary().unwrap());
    for (key, _) in std::env::vars() {
        if key.starts_with("FIELDSYNC_") || key == "RUST_LOG" {
            command.env_remove(key);
        }
    }
    let out = command
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[derive(Debug)]
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The line of `config check` for `name`: its value and source.
fn setting<'a>(check: &'a str, name: &str) -> (&'a str, &'a str) {
    let line = check
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no line for {name} in:\n{check}"));
    let mut words = line.split_whitespace();
    words.next();
    let value = words.next().unwrap();
    let source = line.rsplit_once('(').unwrap().1.trim_end_matches(')');
    (value, source)
}

#[test]
fn a_flag_beats_its_variable_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (p1, p2, p3) = (
        free_port().unwrap(),
        free_port().unwrap(),
        free_port().unwrap(),
    );
    let file = dir.path().join("fieldsync.toml");
    std::fs::write(
        &file,
        format!(
            "# the operator's file\n\
             listen = \"127.0.0.1:{p1}\"\n\
             data-dir = \"{}\"\n\
             page-documents = 111\n\
             cache-documents = 222\n\
             handover-grace-days = 5\n\
             database-url = \"postgres://fs:hunter2-secret@db.example:5432/fs\"\n\
             \n\
             [attachment]\n\
             max-mb = 7\n",
            data.display()
        ),
    )
    .unwrap();
    let config = file.to_str().unwrap();

    // `config check` shows each setting with where it came from, the password masked.
    let check = server(
        &[
            "--config",
            config,
            "config",
            "check",
            "--cache-documents",
            "333",
        ],
        &[
            ("FIELDSYNC_PAGE_DOCUMENTS", "444"),
            ("FIELDSYNC_CACHE_DOCUMENTS", "555"),
        ],
    );
    assert_eq!(check.code, Some(0), "{check:?}");
    let out = &check.stdout;
    assert_eq!(setting(out, "cache-documents"), ("333", "flag"), "{out}");
    assert_eq!(
        setting(out, "page-documents"),
        ("444", "environment"),
        "{out}"
    );
    assert_eq!(setting(out, "handover-grace-days"), ("5", "file"), "{out}");
    assert_eq!(setting(out, "attachment-max-mb"), ("7", "file"), "{out}");
    assert_eq!(setting(out, "access-ttl-secs"), ("900", "default"), "{out}");
    assert_eq!(
        setting(out, "database-url"),
        ("postgres://fs:********@db.example:5432/fs", "file"),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "a password was printed:\n{out}");
    assert!(out.contains("ok: serve would start"), "{out}");

    // The running server listens where the file says, unless the variable or a flag says
    // otherwise. (The database URL is dropped from the file for these: there is no such
    // database.)
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("database-url"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&file, text).unwrap();
    let log = dir.path().join("server.log");
    let from_file = Launched::start(&["--config", config, "serve"], &[], &log).unwrap();
    assert_eq!(from_file.address, format!("127.0.0.1:{p1}"));
    drop(from_file);
    let listen2 = format!("127.0.0.1:{p2}");
    let from_env = Launched::start(
        &["--config", config, "serve"],
        &[("FIELDSYNC_LISTEN", &listen2)],
        &log,
    )
    .unwrap();
    assert_eq!(from_env.address, listen2);
    drop(from_env);
    let listen3 = format!("127.0.0.1:{p3}");
    let from_flag = Launched::start(
        &["--config", config, "serve", "--listen", &listen3],
        &[("FIELDSYNC_LISTEN", &listen2)],
        &log,
    )
    .unwrap();
    assert_eq!(from_flag.address, listen3);
    assert!(
        data.join("fieldsync.db").exists(),
        "the data directory of the file is used"
    );
    drop(from_flag);

    // A misspelt setting stops the server before it starts, and says what was meant.
    std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").unwrap();
    let refused = server(&["--config", config, "serve"], &[]);
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains("unknown setting 'lisen'")
            && refused.stderr.contains("did you mean 'listen'"),
        "{refused:?}"
    );
    assert!(!refused.stdout.contains("listening"), "{refused:?}");
    let check = server(&["--config", config, "config", "check"], &[]);
    assert_eq!(check.code, Some(1), "{check:?}");
}

/// A test certificate authority and a server certificate for 127.0.0.1 it signed.
struct TestPki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki(name: &str) -> TestPki {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} test CA"));
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let mut leaf =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        cert_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
    }
}

fn cli(home: &Home, args: &[&str], ca: &Path) -> fieldsync_tests::cli::Run {
    home.run_with(args, &[("FIELDSYNC_CA_CERT", ca.to_str().unwrap())])
        .unwrap()
}

fn cli_login(home: &Home, url: &str, user: &str, ca: &Path) -> fieldsync_tests::cli::Run {
    home.run_with(
        &login_args(url, user, "laptop"),
        &[
            ("FIELDSYNC_PASSWORD", &pw(user)),
            ("FIELDSYNC_CA_CERT", ca.to_str().unwrap()),
        ],
    )
    .unwrap()
}

#[test]
fn devices_sync_over_the_servers_own_tls_listener_and_a_renewed_certificate_needs_no_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_org_users(&data);
    let first = pki("first");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &first.cert_pem).unwrap();
    std::fs::write(&key, &first.key_pem).unwrap();
    let (ca1, ca2) = (dir.path().join("ca1.pem"), dir.path().join("ca2.pem"));
    std::fs::write(&ca1, &first.ca_pem).unwrap();
    let port = free_port().unwrap();
    let server = Launched::start(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
        &dir.path().join("server.log"),
    )
    .unwrap();
    let url = format!("https://127.0.0.1:{port}");

    // A rep's laptop trusting the company's CA works offline, then syncs over HTTPS; the
    // manager's device gets the customer.
    let li = Home::new().unwrap();
    cli_login(&li, &url, "li", &ca1).ok();
    let made = cli(
        &li,
        &[
            "customer",
            "add",
            "--name",
            "上海安全客户",
            "--territory",
            "east",
            "--owner",
            "li",
        ],
        &ca1,
    );
    made.ok();
    cli(&li, &["sync"], &ca1).ok();
    let zhang = Home::new().unwrap();
    cli_login(&zhang, &url, "zhang", &ca1).ok();
    cli(&zhang, &["sync"], &ca1).ok();
    let listed = cli(&zhang, &["customer", "list", "--json"], &ca1);
    assert!(listed.ok().contains("上海安全客户"), "{listed:?}");

    // A device that does not trust the certificate refuses to talk, and says why.
    let stranger = Home::new().unwrap();
    let refused = stranger
        .run_with(
            &login_args(&url, "wang", "phone"),
            &[("FIELDSYNC_PASSWORD", &pw("wang"))],
        )
        .unwrap();
    assert_ne!(refused.code, Some(0), "{refused:?}");
    assert!(
        refused.stderr.to_lowercase().contains("certificate"),
        "{refused:?}"
    );
    // Plain HTTP to the TLS port gets no answer to speak of.
    let plain = ureq::get(&format!("http://127.0.0.1:{port}/healthz")).call();
    assert!(plain.is_err(), "plain HTTP was answered on the TLS port");

    // The certificate is renewed (by another CA, so the change shows) and SIGHUP reloads
    // it: a device trusting only the new CA syncs, without a restart.
    let second = pki("second");
    std::fs::write(&ca2, &second.ca_pem).unwrap();
    std::fs::write(&cert, &second.cert_pem).unwrap();
    std::fs::write(&key, &second.key_pem).unwrap();
    let before = cli(&li, &["sync"], &ca2);
    assert_ne!(before.code, Some(0), "the old certificate is still served");
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let after = cli(&li, &["sync"], &ca2);
        if after.code == Some(0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was not served after SIGHUP: {after:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(server.log_text().contains("TLS certificate reloaded"));
}

#[test]
fn sigterm_under_load_loses_no_acknowledged_round_and_leaves_no_client_hanging() {
    let grace = Duration::from_secs(5);
    let mut org = common::org_with(&["--shutdown-grace-secs", "5"]);
    let url = org.server.url();
    let stop = Arc::new(AtomicBool::new(false));
    // Each round's span, from its start to its answer (or error).
    type Rounds = Arc<Mutex<Vec<(Instant, Instant)>>>;
    let rounds: Rounds = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for (user, territory) in [("li", "east"), ("wang", "east"), ("chen", "north")] {
        let (url, stop, rounds) = (url.clone(), stop.clone(), rounds.clone());
        workers.push(std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            let device = Device::in_dir(&url, user, "busy phone", dir.path());
            let mut acknowledged = Vec::new();
            let mut typed = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let id = device
                    .store
                    .create_customer(customer(&format!("{user} 客户 {n}"), territory, user))
                    .unwrap();
                typed.push(id.clone());
                let started = Instant::now();
                let outcome = device.try_sync();
                rounds.lock().unwrap().push((started, Instant::now()));
                match outcome {
                    // Every customer made before this round is now on the server.
                    Ok(_) => acknowledged = typed.clone(),
                    Err(_) => break,
                }
            }
            (user, acknowledged, typed, dir)
        }));
    }
    // A live device's event stream, which must end when the server stops.
    let token = {
        let body: Value = ureq::post(&format!("{url}/v1/auth/login"))
            .send_json(serde_json::json!({
                "username": "zhang", "password": pw("zhang"), "device_name": "console"
            }))
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        body["access_token"].as_str().unwrap().to_string()
    };
    let events = {
        let url = url.clone();
        std::thread::spawn(move || {
            let mut stream = ureq::get(&format!("{url}/v1/events?heartbeat=1"))
                .header("authorization", format!("Bearer {token}"))
                .call()
                .unwrap()
                .into_body()
                .into_reader();
            let mut buf = [0u8; 4096];
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            Instant::now()
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    let terminated = Instant::now();
    let status = org.server.terminate().unwrap();
    let stopped_after = terminated.elapsed();
    stop.store(true, Ordering::SeqCst);
    assert!(status.success(), "the server's exit: {status:?}");
    assert!(
        stopped_after < grace + Duration::from_secs(10),
        "the server took {stopped_after:?} to stop (grace {grace:?})"
    );
    let stream_ended = events.join().unwrap();
    assert!(
        stream_ended.saturating_duration_since(terminated) < grace + Duration::from_secs(5),
        "the event stream outlived the shutdown"
    );
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    // No round was left waiting on a server that had gone.
    let rounds = rounds.lock().unwrap();
    assert!(
        rounds.len() >= 6,
        "the load was too light: {} rounds",
        rounds.len()
    );
    for (started, ended) in rounds.iter() {
        assert!(
            ended.saturating_duration_since(*started.max(&terminated))
                < grace + Duration::from_secs(10),
            "a round hung for {:?} past the shutdown",
            ended.duration_since(*started)
        );
    }
    drop(rounds);

    // The server comes back: everything acknowledged before it stopped is there, and the
    // devices push what was typed and not acknowledged.
    org.server.restart().unwrap();
    let admin = Device::new(&url, "admin", "office");
    admin.sync();
    let on_server = admin.documents();
    let mut acknowledged_total = 0;
    for (user, acknowledged, _, _) in &results {
        acknowledged_total += acknowledged.len();
        for id in acknowledged {
            assert!(
                on_server.contains_key(id),
                "{user}'s acknowledged customer {id} was lost"
            );
        }
    }
    assert!(
        acknowledged_total > 0,
        "no round was acknowledged before SIGTERM"
    );
    let typed = typed_reach_server(&url, &results);
    assert!(typed >= acknowledged_total);
}

/// After the restart, each device's store pushes what it typed and the server never took,
/// and the admin then sees every customer typed anywhere.
fn typed_reach_server(
    url: &str,
    results: &[(&str, Vec<String>, Vec<String>, tempfile::TempDir)],
) -> usize {
    let mut typed_total = 0;
    for (user, _, typed, dir) in results {
        let store = fieldsync_core::Store::open(dir.path().join("device.db")).unwrap();
        let mut client = fieldsync_core::sync::http::HttpClient::from_store(&store).unwrap();
        fieldsync_core::sync::sync(&store, &mut client, |_| {})
            .unwrap_or_else(|e| panic!("{user}'s device cannot sync after the restart: {e}"));
        typed_total += typed.len();
    }
    let admin = Device::new(url, "admin", "office again");
    admin.sync();
    let on_server = admin.documents();
    for (user, _, typed, _) in results {
        for id in typed {
            assert!(
                on_server.contains_key(id),
                "{user}'s typed customer {id} never reached the server"
            );
        }
    }
    typed_total
}

#[test]
fn the_log_names_requests_but_holds_no_token_password_or_document_content() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_org_users(&data);
    let log = dir.path().join("server.json.log");
    let port = free_port().unwrap();
    let mut server = Launched::start(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--log-format",
            "json",
            "--log",
            "debug",
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ],
        &[],
        &log,
    )
    .unwrap();
    let url = format!("http://{}", server.address);
    let mut secrets: Vec<String> = ["li", "zhang", "admin"].iter().map(|u| pw(u)).collect();

    // A device works: a customer and a visit with business content, synced.
    let li = Device::new(&url, "li", "li phone");
    let mut new = customer("Zeta机密客户-7731", "east", "li");
    new.notes = "竞品报价 secret-note-9911".into();
    let id = li.store.create_customer(new).unwrap();
    li.sync();

    // The manager logs in over the API and the console, searches, refreshes; someone tries
    // a wrong password.
    let login: Value = ureq::post(&format!("{url}/v1/auth/login"))
        .send_json(serde_json::json!({
            "username": "zhang", "password": pw("zhang"), "device_name": "tablet"
        }))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let access = login["access_token"].as_str().unwrap().to_string();
    let refresh = login["refresh_token"].as_str().unwrap().to_string();
    secrets.extend([access.clone(), refresh.clone()]);
    let found: Value = ureq::get(&format!("{url}/v1/customers?search=Zeta机密客户"))
        .header("authorization", format!("Bearer {access}"))
        .header("x-request-id", "trace-me-42")
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert!(found.to_string().contains(&id), "{found}");
    let refreshed: Value = ureq::post(&format!("{url}/v1/auth/refresh"))
        .send_json(serde_json::json!({ "refresh_token": refresh }))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    for key in ["access_token", "refresh_token"] {
        secrets.push(refreshed[key].as_str().unwrap().to_string());
    }
    let console = ureq::post(&format!("{url}/console/login"))
        .send_json(serde_json::json!({ "username": "admin", "password": pw("admin") }))
        .unwrap();
    for cookie in console.headers().get_all("set-cookie") {
        let value = cookie.to_str().unwrap();
        let token = value.split(';').next().unwrap().split_once('=').unwrap().1;
        secrets.push(token.to_string());
    }
    let wrong = ureq::post(&format!("{url}/v1/auth/login"))
        .config()
        .http_status_as_error(false)
        .build()
        .send_json(serde_json::json!({
            "username": "zhang", "password": "WrongPass-4242-x", "device_name": "tablet"
        }))
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    secrets.push("WrongPass-4242-x".into());
    let (_, status) = server.terminate_within(Duration::from_secs(30));
    assert!(status.success());

    let text = server.log_text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    // The log is not empty: each request is a line with its id, route, user and status.
    let answered = |route: &str, user: &str, status: u64| {
        lines.iter().any(|l| {
            l["span"]["route"] == route
                && l["span"]["user"] == user
                && l["fields"]["status"] == status
                && l["span"]["id"].as_str().is_some_and(|id| !id.is_empty())
                && l["fields"]["ms"].is_number()
        })
    };
    assert!(answered("/v1/sync", "li", 200), "no sync line:\n{text}");
    assert!(
        answered("/v1/customers", "zhang", 200),
        "no search line:\n{text}"
    );
    assert!(
        lines.iter().any(|l| l["span"]["id"] == "trace-me-42"),
        "the client's request id is not in the log"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["route"] == "/v1/auth/login" && l["fields"]["status"] == 401),
        "the refused login is not in the log"
    );
    // And none of what must never be there.
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "the log holds a secret: {secret}"
        );
    }
    for content in [
        // Words, not digits alone: a number may stand in a time or an id by chance.
        "Zeta",
        "机密",
        "secret-note-9911",
        "竞品报价",
        "Bearer",
        "eyJ",
    ] {
        assert!(
            !text.contains(content),
            "the log holds {content:?}:\n{text}"
        );
    }
}

#[test]
fn status_tells_the_operator_version_uptime_counts_devices_and_the_last_backup() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_org_users(&data);
    let running = Launched::serving(&data, &[], &dir.path().join("server.log"));
    let url = format!("http://{}", running.address);
    let li = Device::new(&url, "li", "li phone");
    let wang = Device::new(&url, "wang", "wang phone");
    li.store
        .create_customer(customer("状态客户", "east", "li"))
        .unwrap();
    li.sync();
    wang.sync();

    let status = |extra: &[&str]| {
        let mut args = vec!["status", "--url", url.as_str(), "--username", "admin"];
        args.extend_from_slice(extra);
        let out = server(&args, &[("FIELDSYNC_ADMIN_PASSWORD", &pw("admin"))]);
        assert_eq!(out.code, Some(0), "{out:?}");
        out.stdout
    };
    let line = |text: &str, label: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line in:\n{text}"))[label.len()..]
            .trim()
            .to_string()
    };
    let before = status(&[]);
    assert_eq!(
        line(&before, "version"),
        env!("CARGO_PKG_VERSION"),
        "{before}"
    );
    assert!(line(&before, "uptime").ends_with(" s"), "{before}");
    assert_eq!(line(&before, "users"), "6 (0 disabled)", "{before}");
    assert_eq!(line(&before, "documents"), "1", "{before}");
    assert!(line(&before, "log").starts_with("1 entries"), "{before}");
    assert_eq!(line(&before, "last backup"), "never", "{before}");
    // li and wang synced; status's own session is not a device in the field.
    assert_eq!(line(&before, "devices, last day"), "2", "{before}");

    // A backup taken while serving shows as the last one.
    let archive = dir.path().join("nightly.tar.gz");
    let said = server(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "backup",
            "--to",
            archive.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(said.code, Some(0), "{said:?}");
    let after = status(&["--json"]);
    let health: Value = serde_json::from_str(&after).unwrap();
    assert!(health["last_backup"]["at"].as_i64().is_some(), "{after}");
    assert_eq!(health["users"], 6, "{after}");

    // A wrong password is refused with the server's reason, and nothing is printed as figures.
    let refused = server(
        &["status", "--url", &url, "--username", "admin"],
        &[("FIELDSYNC_ADMIN_PASSWORD", "not-the-password")],
    );
    assert_ne!(refused.code, Some(0));
    assert!(refused.stderr.contains("401"), "{refused:?}");
    assert!(refused.stdout.is_empty(), "{refused:?}");
}

/// The server turns transparent huge pages off for itself (its memory is many short-lived
/// buffers, which whole 2 MiB pages would hold), and leaves them to the system when the
/// operator sets `MIMALLOC_ALLOW_THP`.
#[cfg(target_os = "linux")]
#[test]
fn the_server_runs_without_transparent_huge_pages_unless_the_operator_allows_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_org_users(&data);
    let thp_enabled = |envs: &[(&str, &str)], name: &str| -> String {
        let running = Launched::serving(&data, envs, &dir.path().join(name));
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", running.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:"))
            .unwrap_or_else(|| panic!("no THP_enabled line in:\n{status}"))
            .trim()
            .to_string()
    };
    assert_eq!(thp_enabled(&[], "default.log"), "0");
    assert_eq!(
        thp_enabled(&[("MIMALLOC_ALLOW_THP", "1")], "allowed.log"),
        "1",
        "the operator's choice is left alone"
    );
}
