//! End-to-end tests of the quarantine commands: the real `fieldsync-server` on 127.0.0.1 refuses
//! a rep's changes, and the real `fieldsync` binary shows them field by field, exports them to a
//! file and resends what is allowed, which another device then sees.
#![allow(clippy::unwrap_used)]

mod common;

use common::cli::{json, logged_in, run};

use base64::Engine;
use fieldsync_tests::cli::Home;
use serde_json::Value;

/// Makes `home` a device of an app that writes without asking the rules first (an earlier
/// version): its edits reach the server, which refuses them into the quarantine. A logged-in
/// device of this version refuses them itself, before writing.
fn without_device_checks(home: &Home) {
    let db = rusqlite::Connection::open(home.path().join("device.db")).unwrap();
    db.execute("DELETE FROM meta WHERE key = 'acting_user'", [])
        .unwrap();
}

/// The one change of `path` in a `quarantine show --json` answer.
fn change<'a>(shown: &'a Value, path: &str) -> &'a Value {
    let found: Vec<&Value> = shown["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["path"] == path)
        .collect();
    assert_eq!(found.len(), 1, "{path} in {shown:#}");
    found[0]
}

#[test]
fn a_refused_edit_is_shown_exported_and_what_is_allowed_is_resent_to_the_manager() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    without_device_checks(&rep);
    let manager = logged_in(&url, "zhang");
    let customer = run(&rep, &["customer", "add", "--name", "华东精密机械有限公司"])
        .ok()
        .to_string();
    run(&rep, &["sync"]).ok();

    // Offline, the rep renames the customer, adds a note, and moves it to another territory,
    // which only a manager may do: the server refuses the whole push.
    run(
        &rep,
        &["customer", "set", &customer, "name", "西北重工集团"],
    )
    .ok();
    run(&rep, &["customer", "note", &customer, "客户要求下周送样。"]).ok();
    run(&rep, &["customer", "set", &customer, "territory", "north"]).ok();
    let report = json(run(&rep, &["sync", "--json"]));
    assert_eq!(report["rejected"], 1, "{report}");
    let listed = json(run(&rep, &["quarantine", "list", "--json"]));
    assert_eq!(listed, json(run(&rep, &["quarantine", "--json"])));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["rule"], "field_rights", "{listed}");
    let entry = listed[0]["id"].to_string();

    // Show: each field old → new, and the note as the text added.
    let shown = json(run(&rep, &["quarantine", "show", &entry, "--json"]));
    assert_eq!(shown["doc_id"], customer.as_str());
    assert_eq!(shown["reason"], listed[0]["reason"]);
    let name = change(&shown, "name");
    assert_eq!(name["old"], "华东精密机械有限公司");
    assert_eq!(name["new"], "西北重工集团");
    let territory = change(&shown, "territory");
    assert_eq!(territory["old"], "east");
    assert_eq!(territory["new"], "north");
    let notes = change(&shown, "notes");
    assert_eq!(notes["change"], "text");
    assert_eq!(
        notes["text_added"].as_str().unwrap().trim(),
        "客户要求下周送样。"
    );
    let text = run(&rep, &["quarantine", "show", &entry]).ok().to_string();
    assert!(
        text.contains("name: 华东精密机械有限公司 → 西北重工集团"),
        "{text}"
    );
    assert!(text.contains("territory: east → north"), "{text}");
    assert!(text.contains("text added \"客户要求下周送样。\""), "{text}");

    // Export: the file holds the entry, its diff and the raw changes.
    let file = rep.path().join("refused.json");
    run(
        &rep,
        &["quarantine", "export", &entry, file.to_str().unwrap()],
    )
    .ok();
    let exported: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(exported["doc_id"], customer.as_str());
    assert_eq!(exported["kind"], "customer");
    assert_eq!(exported["rule"], "field_rights");
    assert_eq!(exported["quarantined_at"], listed[0]["quarantined_at"]);
    assert_eq!(exported["changes"], shown["changes"]);
    let raw = base64::engine::general_purpose::STANDARD
        .decode(exported["raw_changes_base64"].as_str().unwrap())
        .unwrap();
    assert!(!raw.is_empty());

    // Retry: the rename and the note go again, the territory (which the server named) does not.
    let retried = json(run(&rep, &["quarantine", "retry", &entry, "--json"]));
    let outcome = |field: &str| {
        retried["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .cloned()
            .unwrap_or_else(|| panic!("{field} in {retried:#}"))
    };
    assert_eq!(outcome("name")["retried"], true);
    assert_eq!(outcome("notes")["retried"], true);
    assert_eq!(outcome("territory")["retried"], false);
    assert!(
        outcome("territory")["why"]
            .as_str()
            .unwrap()
            .contains("customer.territory"),
        "{retried:#}"
    );
    assert_eq!(retried["kept"], true);
    let report = json(run(&rep, &["sync", "--json"]));
    assert_eq!(report["rejected"], 0, "{report}");
    assert_eq!(report["pushed"], 1, "{report}");

    // The manager's device sees what was resent; the territory did not change.
    run(&manager, &["sync"]).ok();
    let seen = json(run(&manager, &["customer", "show", &customer, "--json"]));
    assert_eq!(seen["name"], "西北重工集团");
    assert_eq!(seen["territory"], "east");
    assert!(
        seen["notes"]
            .as_str()
            .unwrap()
            .contains("客户要求下周送样。"),
        "{seen}"
    );
    // Only the territory is left in quarantine.
    let left = json(run(&rep, &["quarantine", "show", &entry, "--json"]));
    assert_eq!(left["changes"].as_array().unwrap().len(), 1, "{left:#}");
    assert_eq!(change(&left, "territory")["new"], "north");
    run(&rep, &["quarantine", "discard", &entry]).ok();
    assert_eq!(
        json(run(&rep, &["quarantine", "--json"])),
        Value::Array(vec![])
    );
}

#[test]
fn a_plan_the_server_never_accepted_is_recreated_as_a_draft_and_reaches_the_manager() {
    let org = common::org();
    let url = org.server.url();
    let rep = logged_in(&url, "li");
    without_device_checks(&rep);
    let manager = logged_in(&url, "zhang");
    // A new plan, approved by its own owner before it ever reached the server: refused whole,
    // and gone from the device.
    let plan = run(
        &rep,
        &[
            "trip",
            "add",
            "--title",
            "自批",
            "--start",
            "2026-12-01",
            "--end",
            "2026-12-02",
            "--city",
            "苏州",
        ],
    )
    .ok()
    .to_string();
    run(&rep, &["trip", "submit", &plan]).ok();
    run(&rep, &["trip", "approve", &plan]).ok();
    let report = json(run(&rep, &["sync", "--json"]));
    assert_eq!(report["rejected"], 1, "{report}");
    assert_eq!(
        json(run(&rep, &["trip", "list", "--json"])),
        Value::Array(vec![])
    );
    let entry = json(run(&rep, &["quarantine", "--json"]))[0]["id"].to_string();
    let shown = json(run(&rep, &["quarantine", "show", &entry, "--json"]));
    assert_eq!(shown["in_store"], false);
    assert_eq!(change(&shown, "title")["new"], "自批");
    assert_eq!(change(&shown, "status")["new"], "approved");

    let out = run(&rep, &["quarantine", "retry", &entry]).ok().to_string();
    assert!(out.contains("title: retried"), "{out}");
    assert!(out.contains("status: skipped"), "{out}");
    assert!(out.contains("created again as a draft"), "{out}");
    let report = json(run(&rep, &["sync", "--json"]));
    assert_eq!(report["rejected"], 0, "{report}");

    run(&manager, &["sync"]).ok();
    let plans = json(run(&manager, &["trip", "list", "--json"]));
    assert_eq!(plans.as_array().unwrap().len(), 1, "{plans}");
    assert_eq!(plans[0]["id"], plan.as_str());
    assert_eq!(plans[0]["status"], "draft");
    assert_eq!(plans[0]["title"], "自批");
}

#[test]
fn an_unknown_entry_says_how_to_list_the_entries() {
    let home = Home::new().unwrap();
    for args in [
        &["quarantine", "show", "7"][..],
        &["quarantine", "retry", "7"],
        &["quarantine", "export", "7", "out.json"],
        &["quarantine", "discard", "7"],
    ] {
        let out = run(&home, args);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        let line = out.stderr.trim();
        assert!(line.contains("no quarantine entry 7"), "{args:?}: {line}");
        assert!(
            line.contains("fieldsync quarantine list"),
            "{args:?}: {line}"
        );
    }
}
