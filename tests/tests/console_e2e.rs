//! The manager's web console in a real browser: the real `fieldsync-server`, real `fieldsync`
//! devices (one temporary `--home` each), and `tests/console/scenario.mjs`, which drives
//! Debian's chromium with playwright-core and asserts what a person sees.
//!
//! The scenario asks this test, over its stdout and stdin, to do what a device does midway
//! (`ASK rep-visit`, …), and this test asserts what the devices then hold: a visit recorded
//! offline reaches the manager's open page without a reload, a plan approved in the browser
//! reads as approved on the rep's device, a customer an admin moves in the browser reaches
//! the new manager's device and leaves the former one's. The scenario also checks the login
//! page without a session, a rep's refusal on the team and admin pages, a write without the
//! CSRF token, and a customer named like markup shown as text; it writes screenshots of every
//! page at tablet and laptop width into `target/console-screenshots/`.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use common::cli::{json, logged_in, pw, run};
use fieldsync_tests::cli::Home;
use fieldsync_tests::say_skipped;
use serde_json::{Value, json};

/// Debian's chromium (`apt-get install chromium`).
const CHROMIUM: &str = "/usr/bin/chromium";
/// A font with Chinese glyphs (`apt-get install fonts-noto-cjk`): without it they are boxes.
const CJK_FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
/// The whole browser scenario's time, setup included, stays under two minutes.
const LIMIT: Duration = Duration::from_secs(110);

const CUSTOMER_NAME: &str = "华东精密机械有限公司";
const XSS_NAME: &str = "<img src=x onerror=alert(1)>";
const PLAN_TITLE: &str = "苏州、无锡客户拜访";
const LIVE_SUMMARY: &str = "现场演示新款轴承，客户同意下周试用。";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Whether node, chromium, the CJK font and the scenario's packages are here; without them
/// `test` is skipped, unless CI demands them (`FIELDSYNC_REQUIRE_TOOLS`).
fn tools_ready(test: &str) -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let packages = workspace().join("tests/console/node_modules/playwright-core");
    let missing: Vec<&str> = [
        (node, "node"),
        (
            Path::new(CHROMIUM).exists(),
            "chromium (apt-get install chromium)",
        ),
        (
            Path::new(CJK_FONT).exists(),
            "fonts-noto-cjk (apt-get install fonts-noto-cjk)",
        ),
        (
            packages.is_dir(),
            "playwright-core (npm ci --prefix tests/console)",
        ),
    ]
    .into_iter()
    .filter(|(ready, _)| !ready)
    .map(|(_, what)| what)
    .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("needs {}", missing.join(", "));
    if std::env::var_os("FIELDSYNC_REQUIRE_TOOLS").is_some() {
        panic!("{test} {why}");
    }
    say_skipped(test, &why);
    false
}

/// The scenario's node process; ended (by its pid) when dropped, if still running.
struct Scenario {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Scenario {
    fn start(envs: &[(&str, String)]) -> Scenario {
        let mut child = Command::new("node")
            .current_dir(workspace())
            .arg("tests/console/scenario.mjs")
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Scenario {
            child,
            stdin,
            lines,
        }
    }

    /// The scenario's next line, waiting until `deadline`.
    fn next_line(&mut self, deadline: Instant) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("the browser scenario ran past {LIMIT:?}"),
        }
    }

    fn answer(&mut self, answer: &Value) {
        writeln!(self.stdin, "{answer}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Waits for the process to exit (it has said DONE or closed its output), at most 15 s.
    fn exit_status(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "the scenario did not exit"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The devices the scenario asks about, and what they made before it started.
struct Devices {
    rep: Home,
    manager: Home,
    next_manager: Home,
    customer: String,
    plan: String,
}

impl Devices {
    /// Does what the scenario asked for and asserts what the devices then hold; the answer.
    fn handle(&self, ask: &str) -> Value {
        match ask {
            "rep-visit" => {
                // Recorded offline, then synced: the manager's open page must show it.
                run(
                    &self.rep,
                    &[
                        "visit",
                        "add",
                        "--customer",
                        &self.customer,
                        "--summary",
                        LIVE_SUMMARY,
                        "--met",
                        "王芳:采购经理",
                        "--outcome",
                        "progress",
                    ],
                )
                .ok();
                run(&self.rep, &["sync"]).ok();
                json!({"ok": true})
            }
            "rep-sees-approval" => {
                run(&self.rep, &["sync"]).ok();
                let plan = json(run(&self.rep, &["trip", "show", &self.plan, "--json"]));
                assert_eq!(plan["status"], "approved", "{plan}");
                assert_eq!(plan["decided_by"], "zhang", "{plan}");
                assert_eq!(plan["decision_note"], "同意，注意控制住宿费用。", "{plan}");
                json!({"ok": true, "status": plan["status"]})
            }
            "devices-follow-move" => {
                run(&self.next_manager, &["sync"]).ok();
                let moved = json(run(
                    &self.next_manager,
                    &["customer", "show", &self.customer, "--json"],
                ));
                assert_eq!(moved["territory"], "north", "{moved}");
                assert_eq!(moved["owner"], "chen", "{moved}");
                assert!(
                    moved["recent_visits"]
                        .as_array()
                        .is_some_and(|v| !v.is_empty()),
                    "its visits came with it: {moved}"
                );
                run(&self.manager, &["sync"]).ok();
                assert!(
                    !customer_ids(&self.manager).contains(&self.customer),
                    "the former manager's device still holds the customer"
                );
                json!({"ok": true})
            }
            other => panic!("the scenario asked for {other}, which this test does not do"),
        }
    }
}

/// The ids of the customers a device holds.
fn customer_ids(home: &Home) -> Vec<String> {
    let list = json(run(home, &["customer", "list", "--json"]));
    list["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// The rep's customers, a visit, a trip plan and an expense claim waiting on the manager,
/// synced; the managers' devices synced too.
fn prepare(url: &str) -> Devices {
    let rep = logged_in(url, "li");
    let customer = run(
        &rep,
        &[
            "customer",
            "add",
            "--name",
            CUSTOMER_NAME,
            "--tier",
            "A",
            "--city",
            "苏州",
        ],
    )
    .ok()
    .to_string();
    run(&rep, &["customer", "add", "--name", XSS_NAME]).ok();
    run(
        &rep,
        &[
            "visit",
            "add",
            "--customer",
            &customer,
            "--summary",
            "介绍新款轴承，客户要求样品。",
            "--met",
            "李强:厂长",
            "--outcome",
            "progress",
        ],
    )
    .ok();
    let today = chrono::Local::now().date_naive();
    let day = |days: i64| (today + chrono::Duration::days(days)).to_string();
    let plan = run(
        &rep,
        &[
            "trip",
            "add",
            "--title",
            PLAN_TITLE,
            "--start",
            &day(7),
            "--end",
            &day(9),
            "--city",
            "苏州",
            "--city",
            "无锡",
            "--budget",
            "3000",
        ],
    )
    .ok()
    .to_string();
    run(&rep, &["trip", "submit", &plan]).ok();
    let claim = run(&rep, &["expense", "add", "--title", "十一月差旅"])
        .ok()
        .to_string();
    run(
        &rep,
        &[
            "expense",
            "item",
            &claim,
            "--date",
            &day(0),
            "--category",
            "lodging",
            "--amount",
            "1234.50",
            "--description",
            "苏州酒店两晚",
        ],
    )
    .ok();
    run(&rep, &["expense", "submit", &claim]).ok();
    run(&rep, &["sync"]).ok();

    let manager = logged_in(url, "zhang");
    run(&manager, &["sync"]).ok();
    assert!(customer_ids(&manager).contains(&customer));
    let next_manager = logged_in(url, "zhao");
    run(&next_manager, &["sync"]).ok();
    assert!(!customer_ids(&next_manager).contains(&customer));
    Devices {
        rep,
        manager,
        next_manager,
        customer,
        plan,
    }
}

/// The screenshots the scenario writes, each at tablet and laptop width.
const PAGES: [&str; 15] = [
    "zh-CN-login",
    "zh-CN-week",
    "zh-CN-followups",
    "zh-CN-approvals",
    "zh-CN-customers",
    "zh-CN-customer",
    "zh-CN-report",
    "zh-CN-rep-refused",
    "en-week",
    "en-approvals",
    "en-customer",
    "en-users",
    "en-territories",
    "en-health",
    "en-audit",
];

#[test]
fn managers_and_admins_work_in_the_console_as_devices_sync_and_a_rep_is_refused() {
    if !tools_ready("console_e2e") {
        return;
    }
    let started = Instant::now();
    let since = SystemTime::now();
    let deadline = started + LIMIT;
    let org = common::org();
    let url = org.server.url();
    let devices = prepare(&url);
    let shots = workspace().join("target/console-screenshots");

    let passwords: serde_json::Map<String, Value> = ["zhang", "admin", "li"]
        .iter()
        .map(|u| (u.to_string(), Value::String(pw(u))))
        .collect();
    let mut scenario = Scenario::start(&[
        ("CONSOLE_URL", url.clone()),
        ("CONSOLE_SCREENSHOTS", shots.display().to_string()),
        ("CONSOLE_CHROMIUM", CHROMIUM.to_string()),
        ("CONSOLE_MANAGER", "zhang".into()),
        ("CONSOLE_ADMIN", "admin".into()),
        ("CONSOLE_REP", "li".into()),
        ("CONSOLE_PASSWORDS", Value::Object(passwords).to_string()),
        ("CONSOLE_CUSTOMER_ID", devices.customer.clone()),
        ("CONSOLE_CUSTOMER_NAME", CUSTOMER_NAME.into()),
        ("CONSOLE_XSS_NAME", XSS_NAME.into()),
        ("CONSOLE_PLAN_ID", devices.plan.clone()),
        ("CONSOLE_PLAN_TITLE", PLAN_TITLE.into()),
        ("CONSOLE_CLAIM_TOTAL", "¥1,234.50".into()),
        ("CONSOLE_LIVE_SUMMARY", LIVE_SUMMARY.into()),
        ("CONSOLE_MOVE_TERRITORY", "north".into()),
        ("CONSOLE_MOVE_OWNER", "chen".into()),
    ]);

    let mut asked = Vec::new();
    let mut done = false;
    while let Some(line) = scenario.next_line(deadline) {
        if line == "DONE" {
            done = true;
            break;
        }
        let Some(ask) = line.strip_prefix("ASK ") else {
            panic!("the scenario printed {line:?}: it speaks only ASK and DONE on stdout");
        };
        let answer = devices.handle(ask);
        asked.push(ask.to_string());
        scenario.answer(&answer);
    }
    let status = scenario.exit_status();
    assert!(
        done && status.success(),
        "the browser scenario failed ({status}); its output is above"
    );
    assert_eq!(
        asked,
        ["rep-visit", "rep-sees-approval", "devices-follow-move"],
        "every device step ran"
    );
    for page in PAGES {
        for width in ["tablet", "laptop"] {
            let file = shots.join(format!("{width}-{page}.png"));
            let meta =
                std::fs::metadata(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(meta.len() > 1000, "{} is a picture", file.display());
            assert!(
                meta.modified().unwrap() >= since,
                "{} was written by this run",
                file.display()
            );
        }
    }
    assert!(
        started.elapsed() < LIMIT,
        "the console test took {:?}",
        started.elapsed()
    );
}
