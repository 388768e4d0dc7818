//! A departing rep's last work after a handover, in-process over a real SQLite file: what she
//! typed before the handover arrives for the grace period, judged by a rep's field rules;
//! nothing after it, and nothing once the period is over.
#![allow(clippy::unwrap_used)]

use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::model::visit::NewVisit;

mod support;
use support::*;

/// li's customer, on the server and on her device, then handed to wang while she is offline
/// with `edit` made on her device; returns the world, her device and the customer id.
fn handed_over_with(
    dir: &tempfile::TempDir,
    grace_secs: i64,
    edit: &[CustomerEdit],
) -> (World, fieldsync_core::Store, String) {
    let mut w = world();
    w.core.handover_grace_secs = grace_secs;
    let li = device(dir, "li");
    let c = li
        .create_customer(customer("华东机电", "east", "li"))
        .unwrap();
    w.accepted("li", &li, &c);
    li.set_acked_heads(&c, &li.heads(&c).unwrap()).unwrap();
    li.update_customer(&c, edit).unwrap();
    assert_eq!(w.core.handover(&w.who("zhang"), "li", "wang").unwrap(), 1);
    (w, li, c)
}

#[test]
fn the_last_note_before_a_handover_is_taken_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let note = [CustomerEdit::AppendNotes("离职前的补记".into())];
    let (w, li, c) = handed_over_with(&dir, 30 * 24 * 3600, &note);
    let r = w.push_raw("li", &c, li.changes_since(&c, &[]).unwrap());
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(w.visible("wang").contains(&c));
    assert!(!w.visible("li").contains(&c));
}

#[test]
fn with_no_grace_period_the_last_note_is_refused_as_out_of_scope() {
    let dir = tempfile::tempdir().unwrap();
    let note = [CustomerEdit::AppendNotes("离职前的补记".into())];
    let (w, li, c) = handed_over_with(&dir, 0, &note);
    let r = w.push_raw("li", &c, li.changes_since(&c, &[]).unwrap());
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].rule, "scope");
}

#[test]
fn the_last_work_still_follows_a_reps_field_rules() {
    let dir = tempfile::tempdir().unwrap();
    let moved = [CustomerEdit::Territory("east2".into())];
    let (w, li, c) = handed_over_with(&dir, 30 * 24 * 3600, &moved);
    let r = w.push_raw("li", &c, li.changes_since(&c, &[]).unwrap());
    assert_eq!(r.rejected.len(), 1, "{:?}", r.accepted);
}

#[test]
fn a_visit_checked_in_after_the_handover_is_refused_one_before_it_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let (w, li, c) = handed_over_with(&dir, 30 * 24 * 3600, &[]);
    let at = |t: &str| NewVisit {
        checkin_at: t.into(),
        ..visit(&c, "li")
    };
    let before = li.create_visit(at("2026-01-05T02:00:00Z")).unwrap();
    let r = w.push("li", &li, &before);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert!(
        w.visible("li").contains(&before),
        "li keeps the visit she made"
    );
    assert!(w.visible("wang").contains(&before));

    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let after = li
        .create_visit(at(&later.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap();
    let r = w.push("li", &li, &after);
    assert_eq!(r.rejected.len(), 1, "{:?}", r.accepted);
    assert_eq!(r.rejected[0].rule, "scope");
}
