//! End to end: the real `fieldsync-server` binary on 127.0.0.1, devices with real SQLite files
//! syncing over HTTP. Offline edits by reps, a manager and one rep's two devices converge in
//! any sync order; incremental syncs cost what changed; each user receives only their scope.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Device, customer, org_on, visit};
use fieldsync_core::model::customer::{ContactEdit, CustomerEdit, NewContact, Tier};
use fieldsync_core::model::visit::VisitEdit;

/// Every order of three devices.
const ORDERS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

on_every_backend!(
    two_reps_and_their_manager_converge_in_every_sync_order,
    a_reps_phone_and_laptop_converge_through_the_server,
    an_incremental_sync_is_one_round_trip_and_costs_what_changed_not_what_is_stored,
    each_user_receives_only_their_scope_and_forbidden_writes_end_in_quarantine,
    handover_moves_the_customers_and_the_old_reps_last_offline_work_reaches_the_new_owner,
    an_expired_access_token_is_refreshed_and_the_round_sent_again,
    a_first_sync_of_many_pages_asks_for_each_page_once_the_next_while_it_merges,
);

fn two_reps_and_their_manager_converge_in_every_sync_order(backend: Backend) {
    for order in ORDERS {
        let Some(o) = org_on(backend, &[]) else {
            return;
        };
        let url = o.server.url();
        let li = Device::new(&url, "li", "li-phone");
        let wang = Device::new(&url, "wang", "wang-phone");
        let zhang = Device::new(&url, "zhang", "zhang-laptop");
        let c1 = li
            .store
            .create_customer(customer("华东精密机械有限公司", "east", "li"))
            .unwrap();
        let c2 = wang
            .store
            .create_customer(customer("宁波恒达贸易有限公司", "east", "wang"))
            .unwrap();
        li.sync();
        wang.sync();
        zhang.sync();
        assert!(zhang.store.customer(&c1).is_ok() && zhang.store.customer(&c2).is_ok());

        // All offline now.
        let v1 = li
            .store
            .create_visit(visit(&c1, "li", "介绍新款轴承。"))
            .unwrap();
        li.store
            .update_customer(
                &c1,
                &[
                    CustomerEdit::Tier(Tier::A),
                    CustomerEdit::AppendNotes("李：客户要样品。".into()),
                ],
            )
            .unwrap();
        let v2 = wang
            .store
            .create_visit(visit(&c2, "wang", "处理投诉。"))
            .unwrap();
        wang.store
            .update_customer(&c2, &[CustomerEdit::AppendNotes("王：投诉已处理。".into())])
            .unwrap();
        zhang
            .store
            .update_customer(
                &c1,
                &[
                    CustomerEdit::Address(Some("苏州工业园区星湖街 88 号".into())),
                    CustomerEdit::AppendNotes("张：重点跟进。".into()),
                ],
            )
            .unwrap();
        zhang
            .store
            .update_customer(&c2, &[CustomerEdit::Phone(Some("0574-8888-0000".into()))])
            .unwrap();

        let devices = [&li, &wang, &zhang];
        for &i in &order {
            devices[i].sync();
        }
        for &i in &order {
            devices[i].sync();
        }

        // Each customer reads the same on every device that holds it, with every edit.
        for (id, holders) in [(&c1, [&li, &zhang]), (&c2, [&wang, &zhang])] {
            let a = holders[0].store.customer(id).unwrap();
            assert_eq!(a, holders[1].store.customer(id).unwrap(), "order {order:?}");
            assert_eq!(
                holders[0].store.heads(id).unwrap(),
                holders[1].store.heads(id).unwrap()
            );
        }
        let c1v = zhang.store.customer(&c1).unwrap();
        assert_eq!(c1v.tier, Tier::A);
        assert_eq!(c1v.address.as_deref(), Some("苏州工业园区星湖街 88 号"));
        for note in ["初次建档。", "李：客户要样品。", "张：重点跟进。"] {
            assert!(
                c1v.notes.as_str().contains(note),
                "order {order:?}: lost {note}"
            );
        }
        let c2v = li.store.customer(&c2);
        assert!(c2v.is_err(), "li must not hold wang's customer");
        let c2v = zhang.store.customer(&c2).unwrap();
        assert!(c2v.notes.as_str().contains("王：投诉已处理。"));
        assert_eq!(c2v.phone.as_deref(), Some("0574-8888-0000"));
        assert_eq!(wang.store.customer(&c2).unwrap(), c2v);
        // The manager sees every visit of the team.
        assert_eq!(
            zhang.store.visit(&v1).unwrap(),
            li.store.visit(&v1).unwrap()
        );
        assert_eq!(
            zhang.store.visit(&v2).unwrap(),
            wang.store.visit(&v2).unwrap()
        );
        assert!(wang.store.visit(&v1).is_err() && li.store.visit(&v2).is_err());
        assert!(
            devices
                .iter()
                .all(|d| d.store.list_quarantine().unwrap().is_empty())
        );
        assert!(
            devices
                .iter()
                .all(|d| d.store.unsent_documents().unwrap().is_empty())
        );
    }
}

fn a_reps_phone_and_laptop_converge_through_the_server(backend: Backend) {
    let Some(o) = org_on(backend, &[]) else {
        return;
    };
    let url = o.server.url();
    let phone = Device::new(&url, "li", "phone");
    let laptop = Device::new(&url, "li", "laptop");
    let c = phone
        .store
        .create_customer(fieldsync_core::model::customer::NewCustomer {
            contacts: vec![NewContact {
                name: "金立基".into(),
                title: Some("采购经理".into()),
                ..Default::default()
            }],
            ..customer("金华鑫源五金制品厂", "east", "li")
        })
        .unwrap();
    phone.sync();
    laptop.sync();
    let contact = laptop.store.customer(&c).unwrap().contacts[0].id.clone();
    // Offline on both: different fields, the same notes text, the same contact.
    phone
        .store
        .update_customer(
            &c,
            &[
                CustomerEdit::Tier(Tier::B),
                CustomerEdit::AppendNotes("手机：下周再访。".into()),
            ],
        )
        .unwrap();
    let v = phone
        .store
        .create_visit(visit(&c, "li", "手机上记录的拜访"))
        .unwrap();
    laptop
        .store
        .update_customer(
            &c,
            &[
                CustomerEdit::City(Some("金华".into())),
                CustomerEdit::AppendNotes("电脑：报价已发。".into()),
                CustomerEdit::UpdateContact {
                    id: contact,
                    edit: ContactEdit::Phone(Some("139-0000-2222".into())),
                },
            ],
        )
        .unwrap();
    phone.sync();
    laptop.sync();
    phone.sync();
    laptop
        .store
        .update_visit(&v, &[VisitEdit::NextStep(Some("寄样品".into()))])
        .unwrap();
    laptop.sync();
    phone.sync();
    assert_eq!(phone.documents(), laptop.documents());
    let cv = phone.store.customer(&c).unwrap();
    assert_eq!(cv.tier, Tier::B);
    assert_eq!(cv.city.as_deref(), Some("金华"));
    assert_eq!(cv.contacts[0].phone.as_deref(), Some("139-0000-2222"));
    assert!(
        cv.notes.as_str().contains("手机：下周再访。")
            && cv.notes.as_str().contains("电脑：报价已发。")
    );
    assert_eq!(
        phone.store.visit(&v).unwrap().next_step.as_deref(),
        Some("寄样品")
    );
}

/// Sets up `li` with `n` customers on a server on `backend` and a second device that has them
/// all, then measures one incremental sync of `changed` edited customers from the first device;
/// `None` when the test skips.
fn incremental(
    backend: Backend,
    n: usize,
    changed: usize,
) -> Option<(
    fieldsync_core::sync::SyncReport,
    fieldsync_core::sync::SyncReport,
)> {
    let o = org_on(backend, &[])?;
    let url = o.server.url();
    let phone = Device::new(&url, "li", "phone");
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(
            phone
                .store
                .create_customer(customer(&format!("客户{i:05}"), "east", "li"))
                .unwrap(),
        );
    }
    phone.sync();
    let laptop = Device::new(&url, "li", "laptop");
    laptop.sync();
    assert_eq!(laptop.store.document_ids().unwrap().len(), n);
    for id in ids.iter().take(changed) {
        phone
            .store
            .update_customer(id, &[CustomerEdit::AppendNotes("新的拜访记录".into())])
            .unwrap();
    }
    let push = phone.sync();
    let pull = laptop.sync();
    assert_eq!(phone.documents(), laptop.documents());
    Some((push, pull))
}

fn an_incremental_sync_is_one_round_trip_and_costs_what_changed_not_what_is_stored(
    backend: Backend,
) {
    let Some((push_small, pull_small)) = incremental(backend, 10, 3) else {
        return;
    };
    let Some((push_large, pull_large)) = incremental(backend, 5000, 3) else {
        return;
    };
    for r in [&push_small, &pull_small, &push_large, &pull_large] {
        assert_eq!(r.round_trips, 1, "{r:?}");
    }
    assert_eq!((push_large.pushed, pull_large.pulled), (3, 3));
    // Same work, same bytes, whether 10 or 5,000 documents are stored (a few bytes of
    // difference come from larger sequence numbers).
    for (small, large) in [(&push_small, &push_large), (&pull_small, &pull_large)] {
        for (a, b) in [
            (small.bytes_sent, large.bytes_sent),
            (small.bytes_received, large.bytes_received),
        ] {
            assert!(
                b <= a + 64,
                "bytes grew with the number of stored documents: {a} vs {b}"
            );
        }
    }
    assert!(push_large.bytes_sent < 4_000, "{push_large:?}");
    assert!(pull_large.bytes_received < 4_000, "{pull_large:?}");
    // Nothing changed: one round trip, a few bytes.
    let Some(o) = org_on(backend, &[]) else {
        return;
    };
    let d = Device::new(&o.server.url(), "li", "phone");
    d.store
        .create_customer(customer("客户", "east", "li"))
        .unwrap();
    d.sync();
    let idle = d.sync();
    assert_eq!(idle.round_trips, 1);
    // The answer carries the server's settings every time (complaint deadlines, the team, the
    // attachment limits and media types: about 130 bytes of the 225), besides the cursor.
    assert!(idle.bytes_sent + idle.bytes_received < 300, "{idle:?}");
}

fn each_user_receives_only_their_scope_and_forbidden_writes_end_in_quarantine(backend: Backend) {
    let Some(o) = org_on(backend, &[]) else {
        return;
    };
    let url = o.server.url();
    let li = Device::new(&url, "li", "li-phone");
    let wang = Device::new(&url, "wang", "wang-phone");
    let chen = Device::new(&url, "chen", "chen-phone");
    let li_c = li
        .store
        .create_customer(customer("李的客户", "east", "li"))
        .unwrap();
    let li_v = li.store.create_visit(visit(&li_c, "li", "拜访")).unwrap();
    let wang_c = wang
        .store
        .create_customer(customer("王的客户", "east", "wang"))
        .unwrap();
    let chen_c = chen
        .store
        .create_customer(customer("陈的客户", "north", "chen"))
        .unwrap();
    for d in [&li, &wang, &chen] {
        d.sync();
    }
    let ids = |d: &Device| {
        d.store
            .document_ids()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect::<std::collections::BTreeSet<_>>()
    };
    let set = |v: &[&String]| {
        v.iter()
            .map(|s| s.to_string())
            .collect::<std::collections::BTreeSet<_>>()
    };
    for (user, expected) in [
        ("li", set(&[&li_c, &li_v])),
        ("wang", set(&[&wang_c])),
        ("chen", set(&[&chen_c])),
        ("zhang", set(&[&li_c, &li_v, &wang_c])),
        ("zhao", set(&[&chen_c])),
        ("admin", set(&[&li_c, &li_v, &wang_c, &chen_c])),
    ] {
        let fresh = Device::new(&url, user, "new-device");
        fresh.sync();
        assert_eq!(ids(&fresh), expected, "{user} pulled the wrong documents");
    }

    // Forbidden: a customer in another territory, a rep changing the owner of their customer.
    // The logged-in device refuses both at once with the server's reason and writes nothing.
    let before = li.store.document_ids().unwrap();
    let err = li
        .store
        .create_customer(customer("越界客户", "north", "li"))
        .unwrap_err();
    assert!(
        matches!(&err, fieldsync_core::Error::Refused { rule, reason } if rule == "scope" && reason.contains("north")),
        "{err}"
    );
    let err = li
        .store
        .update_customer(&li_c, &[CustomerEdit::Owner("wang".into())])
        .unwrap_err();
    assert!(
        matches!(&err, fieldsync_core::Error::Refused { rule, .. } if rule == "field_rights"),
        "{err}"
    );
    assert_eq!(li.store.document_ids().unwrap(), before);
    assert_eq!(li.store.unsent_documents().unwrap().len(), 0);

    // A device that does not check (an older app) pushes them anyway: each is rejected by the
    // server, quarantined with the reason, and undone.
    li.store.set_acting_user(None).unwrap();
    let north = li
        .store
        .create_customer(customer("越界客户", "north", "li"))
        .unwrap();
    li.store
        .update_customer(&li_c, &[CustomerEdit::Owner("wang".into())])
        .unwrap();
    let r = li.sync();
    assert_eq!(r.rejected, 2, "{r:?}");
    let q = li.store.list_quarantine().unwrap();
    let rules: std::collections::BTreeMap<_, _> = q
        .iter()
        .map(|e| (e.doc_id.clone(), (e.rule.clone(), e.reason.clone())))
        .collect();
    assert_eq!(rules[&north].0, "scope");
    assert!(rules[&north].1.contains("north"), "{:?}", rules[&north]);
    assert_eq!(rules[&li_c].0, "scope");
    assert!(
        li.store.customer(&north).is_err(),
        "the refused new customer is gone locally"
    );
    assert_eq!(
        li.store.customer(&li_c).unwrap().owner,
        "li",
        "the refused edit is undone locally"
    );
    // The server has neither.
    let admin = Device::new(&url, "admin", "check");
    admin.sync();
    assert!(admin.store.customer(&north).is_err());
    assert_eq!(admin.store.customer(&li_c).unwrap().owner, "li");
    // Work goes on: li's next edit of the same customer is accepted.
    li.store
        .update_customer(&li_c, &[CustomerEdit::AppendNotes("继续跟进".into())])
        .unwrap();
    assert_eq!(li.sync().rejected, 0);
    admin.sync();
    assert!(
        admin
            .store
            .customer(&li_c)
            .unwrap()
            .notes
            .as_str()
            .contains("继续跟进")
    );
}

fn handover_moves_the_customers_and_the_old_reps_last_offline_work_reaches_the_new_owner(
    backend: Backend,
) {
    let Some(o) = org_on(backend, &[]) else {
        return;
    };
    let url = o.server.url();
    let li = Device::new(&url, "li", "li-phone");
    let wang = Device::new(&url, "wang", "wang-phone");
    let c1 = li
        .store
        .create_customer(customer("客户甲", "east", "li"))
        .unwrap();
    let c2 = li
        .store
        .create_customer(customer("客户乙", "east", "li"))
        .unwrap();
    let v1 = li.store.create_visit(visit(&c1, "li", "拜访甲")).unwrap();
    li.sync();
    wang.sync();
    // li, offline, keeps working on a customer and records a last visit...
    li.store
        .update_customer(&c1, &[CustomerEdit::AppendNotes("离职前的补记".into())])
        .unwrap();
    let v2 = li
        .store
        .create_visit(visit(&c1, "li", "交接前最后一次拜访"))
        .unwrap();

    // ...while the manager hands all of li's customers to wang, over HTTP.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let login = serde_json::json!({"username": "zhang", "password": "pw-zhang-secret", "device_name": "office"});
    let mut resp = agent
        .post(format!("{url}/v1/auth/login"))
        .send_json(&login)
        .unwrap();
    let token: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    let mut resp = agent
        .post(format!("{url}/v1/handover"))
        .header(
            "authorization",
            &format!("Bearer {}", token["access_token"].as_str().unwrap()),
        )
        .send_json(serde_json::json!({"from": "li", "to": "wang"}))
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let answer: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(answer["customers"], 2);

    // li's next sync: her last work, made before the handover, is taken (the grace period);
    // the customers leave her device, the visits she made stay (her week counts them).
    let r = li.sync();
    assert_eq!(r.rejected, 0, "{r:?}");
    assert!(li.store.list_quarantine().unwrap().is_empty());
    for id in [&c1, &c2] {
        assert!(
            li.store.document(id).is_err(),
            "{id} is still on li's device"
        );
    }
    for id in [&v1, &v2] {
        assert_eq!(li.store.visit(id).unwrap().author, "li");
    }
    // Both visits were checked in on 2026-11-20 (common::visit).
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let that_week = fieldsync_core::report::IsoWeek::containing(day);
    let week = fieldsync_core::report::weekly_report(&li.store, "li", that_week).unwrap();
    assert_eq!(
        week.visit_count, 2,
        "li's week still counts the visits she made"
    );
    assert!(
        li.store
            .list_customers(&Default::default())
            .unwrap()
            .is_empty()
    );
    // wang has them, owned by wang, with li's last note and visit.
    wang.sync();
    let c1w = wang.store.customer(&c1).unwrap();
    assert_eq!(c1w.owner, "wang");
    assert!(c1w.notes.as_str().contains("离职前的补记"));
    assert_eq!(wang.store.customer(&c2).unwrap().owner, "wang");
    assert!(wang.store.visit(&v1).is_ok());
    assert_eq!(
        wang.store.visit(&v2).unwrap().summary.as_str(),
        "交接前最后一次拜访"
    );

    // After the handover li no longer writes to the customer: an edit built on what the
    // handover left (the new owner's copy) is out of her scope.
    let after = li.store.document_ids().unwrap().len();
    let copy = Device::new(&url, "li", "li-laptop");
    copy.store
        .merge_from(&wang.store.document_bytes(&c1).unwrap())
        .unwrap();
    copy.store.set_acting_user(None).unwrap();
    copy.store
        .update_customer(&c1, &[CustomerEdit::AppendNotes("交接后的改动".into())])
        .unwrap();
    assert_eq!(copy.sync().rejected, 1);
    assert_eq!(li.store.document_ids().unwrap().len(), after);
}

fn an_expired_access_token_is_refreshed_and_the_round_sent_again(backend: Backend) {
    use fieldsync_core::sync::http::HttpClient;
    let Some(o) = org_on(backend, &["--access-ttl-secs", "1"]) else {
        return;
    };
    let d = Device::new(&o.server.url(), "li", "phone");
    let c = d
        .store
        .create_customer(customer("过期测试", "east", "li"))
        .unwrap();
    d.sync();
    let tokens = |d: &Device| {
        let client = HttpClient::from_store(&d.store).unwrap();
        let s = client.session().unwrap();
        (s.access_token.clone(), s.refresh_token.clone())
    };
    let before = tokens(&d);
    // Past the token's lifetime and the server's 5 s leeway for clock skew.
    std::thread::sleep(std::time::Duration::from_secs(8));
    d.store
        .update_customer(&c, &[CustomerEdit::AppendNotes("令牌过期后".into())])
        .unwrap();
    let r = d.sync();
    assert_eq!((r.pushed, r.rejected, r.round_trips), (1, 0, 1));
    let after = tokens(&d);
    assert_ne!(
        after.0, before.0,
        "the expired access token was not replaced"
    );
    assert_ne!(after.1, before.1, "the refresh token did not rotate");
    let other = Device::new(&o.server.url(), "li", "laptop");
    other.sync();
    assert!(
        other
            .store
            .customer(&c)
            .unwrap()
            .notes
            .as_str()
            .contains("令牌过期后")
    );
}

/// The real HTTP client, watched: before each round it asks for, whether the server has
/// already answered that round (sent ahead while the device merged the page before).
struct AnsweredAhead<'s> {
    inner: fieldsync_core::sync::http::HttpClient<'s>,
    url: String,
    /// Rounds the server answered before this sync.
    from: f64,
    /// Rounds asked for so far.
    asked: u32,
    /// Rounds sent ahead so far.
    sent_ahead: u32,
    /// Rounds the server had answered before the device asked for them.
    answered_before_asked: u32,
}

fn rounds_answered(url: &str) -> f64 {
    use fieldsync_tests::server::{metric, metrics_page};
    metric(&metrics_page(url).unwrap(), "fieldsync_sync_rounds_total").unwrap()
}

impl fieldsync_core::sync::Transport for AnsweredAhead<'_> {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, fieldsync_core::sync::SyncError> {
        self.asked += 1;
        if self.sent_ahead == self.asked - 1 && self.asked > 1 {
            // The round sent ahead may still be on its way: give it a few seconds.
            let waited = std::time::Instant::now();
            while rounds_answered(&self.url) < self.from + f64::from(self.asked)
                && waited.elapsed() < std::time::Duration::from_secs(5)
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if rounds_answered(&self.url) == self.from + f64::from(self.asked) {
                self.answered_before_asked += 1;
            }
        }
        self.inner.sync_round(body)
    }

    fn send_ahead(&mut self, body: Vec<u8>) {
        self.sent_ahead += 1;
        self.inner.send_ahead(body);
    }
}

fn a_first_sync_of_many_pages_asks_for_each_page_once_the_next_while_it_merges(backend: Backend) {
    let Some(o) = org_on(backend, &["--page-documents", "40"]) else {
        return;
    };
    let url = o.server.url();
    let phone = Device::new(&url, "li", "phone");
    for i in 0..300 {
        phone
            .store
            .create_customer(customer(&format!("客户{i:04}"), "east", "li"))
            .unwrap();
    }
    phone.sync();
    let laptop = Device::new(&url, "li", "laptop");
    let mut watched = AnsweredAhead {
        inner: fieldsync_core::sync::http::HttpClient::from_store(&laptop.store).unwrap(),
        from: rounds_answered(&url),
        url: url.clone(),
        asked: 0,
        sent_ahead: 0,
        answered_before_asked: 0,
    };
    let first = fieldsync_core::sync::run(&laptop.store, &mut watched, |_| {}).unwrap();
    let asked = rounds_answered(&url) - watched.from;
    assert!(first.round_trips >= 8, "{first:?}");
    assert_eq!(first.pulled, 300);
    // Every page after the first was asked for while the one before was merged...
    assert_eq!(watched.sent_ahead, first.round_trips - 1);
    assert_eq!(watched.answered_before_asked, first.round_trips - 1);
    // ... and that answer was the one used: the server answered as many rounds as the device
    // counted.
    assert_eq!(
        asked,
        f64::from(first.round_trips),
        "the server answered {asked} rounds for the device's {}",
        first.round_trips
    );
    assert_eq!(laptop.documents(), phone.documents());
    // Nothing more to pull: one round, nothing sent ahead.
    let before = rounds_answered(&url);
    assert_eq!(laptop.sync().round_trips, 1);
    assert_eq!(rounds_answered(&url) - before, 1.0);
}
