//! The real `fieldsync` binary speaks the language of its environment: Chinese under
//! `LANG=zh_CN.UTF-8`, English under `LANG=C` (or nothing, or `en_US.UTF-8`), `LC_ALL` first,
//! and `--json` the same in every language. Commands that need no server, each on a fresh
//! `--home`.

#![allow(clippy::unwrap_used)]

use std::process::Command;

/// What one run printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `fieldsync --home <fresh dir> <args>` with only the locale variables `locale`.
fn fieldsync(locale: &[(&str, &str)], args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldsync"));
    cmd.arg("--home").arg(home.path()).args(args);
    for var in [
        "LC_ALL",
        "LC_MESSAGES",
        "LANG",
        "LANGUAGE",
        "FIELDSYNC_HOME",
        "FIELDSYNC_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(locale.iter().copied());
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const ZH: &[(&str, &str)] = &[("LANG", "zh_CN.UTF-8")];
const C: &[(&str, &str)] = &[("LANG", "C")];

#[test]
fn an_empty_listing_speaks_the_language_of_lang() {
    let zh = fieldsync(ZH, &["customer", "list"]);
    assert_eq!(zh.code, Some(0), "{}", zh.stderr);
    assert_eq!(zh.stdout, "没有符合条件的客户\n");
    let en = fieldsync(C, &["customer", "list"]);
    assert_eq!(en.code, Some(0), "{}", en.stderr);
    assert_eq!(en.stdout, "no customers match\n");
}

#[test]
fn field_labels_and_values_are_translated() {
    let zh = fieldsync(ZH, &["status"]);
    assert_eq!(zh.code, Some(0), "{}", zh.stderr);
    let first: Vec<&str> = zh.stdout.lines().take(2).collect();
    assert_eq!(first, ["用户：        未登录", "服务器：      -"]);
    assert!(zh.stdout.contains("上次同步：    从未"), "{}", zh.stdout);
    let en = fieldsync(C, &["status"]);
    let first: Vec<&str> = en.stdout.lines().take(2).collect();
    assert_eq!(
        first,
        [
            "user:                   not logged in",
            "server:                 -"
        ]
    );
    assert!(en.stdout.contains("last sync:              never"));
}

#[test]
fn headings_of_the_due_lists_are_translated() {
    let zh = fieldsync(ZH, &["due"]);
    assert_eq!(
        zh.stdout,
        "截至今天到期的跟进（0）\n无\n\n超过首次响应期限的投诉（0）\n无\n\n提交超过 3 天仍未确认的订单（0）\n无\n"
    );
    let en = fieldsync(C, &["due"]);
    assert!(en.stdout.starts_with("Follow-ups due by today (0)\nnone\n"));
}

#[test]
fn errors_of_the_command_line_and_of_client_core_are_translated() {
    let zh = fieldsync(ZH, &["sync"]);
    assert_eq!(zh.code, Some(1));
    assert_eq!(
        zh.stderr,
        "fieldsync: 请先登录：fieldsync login --server 地址 --username 用户名\n"
    );
    let en = fieldsync(C, &["sync"]);
    assert_eq!(
        en.stderr,
        "fieldsync: log in first: fieldsync login --server URL --username NAME\n"
    );

    let zh = fieldsync(ZH, &["customer", "show", "12x"]);
    assert_eq!(zh.code, Some(1));
    assert_eq!(
        zh.stderr,
        "fieldsync: “12x”不是文档编号：编号是 UUID，例如 01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f\n"
    );
    let en = fieldsync(C, &["customer", "show", "12x"]);
    assert_eq!(
        en.stderr,
        "fieldsync: '12x' is not a document id: ids are UUIDs such as 01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f\n"
    );

    let id = "01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f";
    let zh = fieldsync(ZH, &["trip", "show", id]);
    assert!(
        zh.stderr
            .starts_with(&format!("fieldsync: 未知的出差计划 {id}：")),
        "{}",
        zh.stderr
    );
}

#[test]
fn an_english_only_detail_is_kept_beside_its_translation() {
    let zh = fieldsync(ZH, &["followups", "--date", "2026-13-40"]);
    assert_eq!(zh.code, Some(1));
    assert_eq!(
        zh.stderr,
        "fieldsync: date 无效：'2026-13-40' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-23\n"
    );
    let en = fieldsync(C, &["followups", "--date", "2026-13-40"]);
    assert_eq!(
        en.stderr,
        "fieldsync: invalid date: '2026-13-40' is not a date: write it as YYYY-MM-DD, e.g. 2026-11-23\n"
    );
}

#[test]
fn english_is_the_language_of_c_of_english_and_of_nothing() {
    for locale in [
        &[][..],
        &[("LANG", "C")],
        &[("LANG", "C.UTF-8")],
        &[("LANG", "POSIX")],
        &[("LANG", "en_US.UTF-8")],
        &[("LANG", "fr_FR.UTF-8")],
        &[("LC_ALL", "C"), ("LANG", "zh_CN.UTF-8")],
        &[("LC_MESSAGES", "en_GB.UTF-8"), ("LANG", "zh_CN.UTF-8")],
    ] {
        let run = fieldsync(locale, &["quarantine"]);
        assert_eq!(
            run.stdout, "the quarantine is empty: the server accepted every change\n",
            "{locale:?}"
        );
    }
    for locale in [
        &[("LC_ALL", "zh_CN.UTF-8"), ("LANG", "C")][..],
        &[("LC_MESSAGES", "zh_CN"), ("LANG", "en_US.UTF-8")],
        &[("LANG", "zh")],
    ] {
        let run = fieldsync(locale, &["quarantine"]);
        assert_eq!(
            run.stdout, "隔离区是空的：服务器接受了所有修改\n",
            "{locale:?}"
        );
    }
}

#[test]
fn json_is_the_same_in_every_language() {
    let zh = fieldsync(ZH, &["status", "--json"]);
    let en = fieldsync(C, &["status", "--json"]);
    assert_eq!(zh.code, Some(0));
    assert_eq!(zh.stdout, en.stdout);
    assert!(zh.stdout.contains("\"unsent\": 0"));
    let zh = fieldsync(ZH, &["customer", "list", "--json"]);
    let en = fieldsync(C, &["customer", "list", "--json"]);
    assert_eq!(zh.stdout, en.stdout);
}
