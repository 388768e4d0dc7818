//! Several server nodes on one PostgreSQL database, end to end: three real `fieldsync-server
//! serve` processes on one private cluster, and devices syncing over HTTP through any of them.
//!
//! - Devices that switch node every round converge after a trip (offline work, concurrent
//!   edits of one customer, a manager's approval), each holding exactly its user's scope, with
//!   nothing typed lost.
//! - An event stream on one node hears of a push through another within a second.
//! - A node SIGKILLed during syncs: the devices move to the other nodes and converge; nothing
//!   acknowledged is lost.
//! - PostgreSQL stopped and killed during syncs: every node answers 503 `unavailable` with a
//!   `Retry-After` while it is down, recovers by itself once it is back, and nothing
//!   acknowledged is lost.
//! - Right after PostgreSQL restarts, a push through one node still reaches an event stream on
//!   another, though that node may not be listening to the others yet.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::nodes::{
    Cluster, Failure, NODES, OnFailure, Timed, Traffic, assert_acked_on, assert_holds_its_scope,
    assert_team_settled, client_through, next_change, next_change_past, raw_sync_until_refused,
    retry_for, scope_of_user, settle, subscribe, sync_through, team_in_the_field, try_subscribe,
};
use common::{Device, customer, login, visit};
use fieldsync_core::model::customer::{CustomerEdit, NewContact, Tier};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::trip_plan::{NewTripPlan, TripPlanEdit};
use fieldsync_core::sync::SyncReport;

/// Milliseconds from `from` to `to`, negative when `to` came first.
fn signed_ms(from: Instant, to: Instant) -> i128 {
    if to >= from {
        (to - from).as_millis() as i128
    } else {
        -((from - to).as_millis() as i128)
    }
}

// ---- 1. a trip, through three nodes ----------------------------------------------------------

const LI_PHONE: usize = 0;
const LI_LAPTOP: usize = 1;
const WANG: usize = 2;
const CHEN: usize = 3;
const ZHANG: usize = 4;
const ZHAO: usize = 5;

/// Trip rounds: offline work on every device, then every device syncs through another node
/// than the round before.
const ROUNDS: usize = 4;

#[test]
fn devices_switching_between_three_nodes_converge_after_a_trip_each_holding_its_scope() {
    let started = Instant::now();
    let Some(cluster) =
        Cluster::start("devices_switching_between_three_nodes_converge_after_a_trip")
    else {
        return;
    };
    let urls = cluster.urls();
    let setups = [
        ("li", "li-phone"),
        ("li", "li-laptop"),
        ("wang", "wang-phone"),
        ("chen", "chen-phone"),
        ("zhang", "zhang-tablet"),
        ("zhao", "zhao-tablet"),
    ];
    // Each device logs in through a node of its own, round-robin.
    let mut devices: Vec<Device> = setups
        .iter()
        .enumerate()
        .map(|(i, (user, name))| Device::new(&urls[i % NODES], user, name))
        .collect();
    let names: Vec<&str> = setups.iter().map(|(_, n)| *n).collect();

    // Before the trip: each rep's customers, known to every device that sees them.
    let l1 = devices[LI_PHONE]
        .store
        .create_customer(customer("华东精密机械", "east", "li"))
        .unwrap();
    let l2 = devices[LI_PHONE]
        .store
        .create_customer(customer("苏州恒达贸易", "east", "li"))
        .unwrap();
    let w1 = devices[WANG]
        .store
        .create_customer(customer("杭州永信电子", "east", "wang"))
        .unwrap();
    let c1 = devices[CHEN]
        .store
        .create_customer(customer("北方重工", "north", "chen"))
        .unwrap();
    settle(&devices.iter().collect::<Vec<_>>(), &urls);

    // What people typed, to find again at the end: (customer, line of notes), and new
    // documents.
    let mut notes: Vec<(String, String)> = Vec::new();
    let mut created: Vec<String> = vec![l1.clone(), l2.clone(), w1.clone(), c1.clone()];
    let mut note = |d: &Device, c: &str, text: String| {
        d.store
            .update_customer(c, &[CustomerEdit::AppendNotes(text.clone())])
            .unwrap();
        notes.push((c.to_string(), text));
    };
    let mut plan = None;
    let mut c2 = None;
    let mut contact = String::new();
    let mut nodes_used: BTreeMap<&str, Vec<usize>> = BTreeMap::new();

    for round in 1..=ROUNDS {
        // Offline: every device works on its own, several on the same customer at once.
        let d = &devices;
        note(&d[LI_PHONE], &l1, format!("李在手机上第{round}轮记录"));
        note(&d[LI_LAPTOP], &l1, format!("李在电脑上第{round}轮记录"));
        note(&d[ZHANG], &l1, format!("张经理第{round}轮批注"));
        note(&d[WANG], &w1, format!("王第{round}轮跟进"));
        note(&d[CHEN], &c1, format!("陈第{round}轮跟进"));
        note(&d[ZHAO], &c1, format!("赵经理第{round}轮批注"));
        for (i, c) in [(LI_PHONE, &l1), (LI_LAPTOP, &l2), (WANG, &w1), (CHEN, &c1)] {
            let v = d[i]
                .store
                .create_visit(visit(
                    c,
                    &d[i].user,
                    &format!("{}第{round}轮拜访", names[i]),
                ))
                .unwrap();
            created.push(v);
        }
        match round {
            1 => {
                // The same field of one customer on both of li's devices.
                d[LI_PHONE]
                    .store
                    .update_customer(&l1, &[CustomerEdit::Tier(Tier::A)])
                    .unwrap();
                d[LI_LAPTOP]
                    .store
                    .update_customer(&l1, &[CustomerEdit::Tier(Tier::B)])
                    .unwrap();
                contact = "周采购".to_string();
                d[LI_LAPTOP]
                    .store
                    .update_customer(
                        &l1,
                        &[CustomerEdit::AddContact(NewContact {
                            name: contact.clone(),
                            title: Some("采购经理".into()),
                            phone: Some("0512-66881234".into()),
                            ..NewContact::default()
                        })],
                    )
                    .unwrap();
                // Li plans the next trip and sends it to zhang.
                let p = d[LI_PHONE]
                    .store
                    .create_trip_plan(NewTripPlan {
                        owner: "li".into(),
                        approver: "zhang".into(),
                        title: "苏州客户回访".into(),
                        start_date: "2026-12-14".into(),
                        end_date: "2026-12-16".into(),
                        cities: vec!["苏州".into()],
                        budget: Money::cny(300_000),
                    })
                    .unwrap();
                d[LI_PHONE]
                    .store
                    .update_trip_plan(
                        &p,
                        &[
                            TripPlanEdit::AddPlannedVisit {
                                customer: l1.clone(),
                                day: "2026-12-15".into(),
                                purpose: "年度合同续签".into(),
                                expected_result: Some("签回年度框架协议".into()),
                            },
                            TripPlanEdit::Submit,
                        ],
                    )
                    .unwrap();
                created.push(p.clone());
                plan = Some(p);
                let c = d[CHEN]
                    .store
                    .create_customer(customer("沈阳北辰机床", "north", "chen"))
                    .unwrap();
                created.push(c.clone());
                c2 = Some(c);
            }
            2 => {
                d[ZHANG]
                    .store
                    .update_customer(&l2, &[CustomerEdit::KeyAccount(true)])
                    .unwrap();
            }
            3 => {
                // Chen's new customer reached zhao last round.
                let c = c2.as_deref().unwrap();
                note(&d[ZHAO], c, "赵经理：重点跟进".to_string());
                // Zhang pulled the submitted plan last round (through another node than li
                // pushed it through) and approves it offline.
                let p = plan.as_deref().unwrap();
                let seen = d[ZHANG].store.trip_plan(p).unwrap();
                assert_eq!(
                    serde_json::to_value(seen.status).unwrap(),
                    "submitted",
                    "zhang has li's submitted plan"
                );
                d[ZHANG]
                    .store
                    .update_trip_plan(
                        p,
                        &[TripPlanEdit::Approve {
                            by: "zhang".into(),
                            note: Some("同意，注意控制住宿标准".into()),
                        }],
                    )
                    .unwrap();
            }
            _ => {}
        }

        // Back online: all at once, each through the next node.
        let reports: Vec<SyncReport> = std::thread::scope(|s| {
            let handles: Vec<_> = devices
                .iter_mut()
                .enumerate()
                .map(|(i, d)| {
                    let url = &urls[(i + round) % NODES];
                    s.spawn(move || {
                        sync_through(d, url)
                            .unwrap_or_else(|e| panic!("{}'s sync through {url}: {e}", d.user))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, r) in reports.iter().enumerate() {
            assert_eq!(
                r.rejected, 0,
                "round {round}: {} had a push refused",
                names[i]
            );
            nodes_used
                .entry(names[i])
                .or_default()
                .push((i + round) % NODES);
        }
    }

    // Home: everyone syncs until nothing moves; an administrator's device sees everything.
    settle(&devices.iter().collect::<Vec<_>>(), &urls);
    let admin = Device::new(&urls[2], "admin", "audit");
    admin.sync();
    println!("nodes each device synced through, round by round: {nodes_used:?}");

    // Every device holds exactly its user's scope, as the server holds it.
    for (i, d) in devices.iter().enumerate() {
        assert_holds_its_scope(d, names[i], &admin);
    }
    assert_eq!(
        devices[LI_PHONE].documents(),
        devices[LI_LAPTOP].documents(),
        "li's phone and laptop differ"
    );
    // The scopes are the ones the organisation means, not all alike.
    let holds = |i: usize, id: &str| devices[i].documents().contains_key(id);
    for id in [&l1, &l2, &w1, plan.as_ref().unwrap()] {
        assert!(holds(ZHANG, id), "zhang sees {id} of his team");
        assert!(!holds(ZHAO, id), "zhao does not see {id} of the east");
        assert!(!holds(CHEN, id), "chen does not see {id} of the east");
    }
    assert!(
        !holds(WANG, &l1) && !holds(LI_PHONE, &w1),
        "reps see their own"
    );
    assert!(holds(ZHAO, &c1) && holds(ZHAO, c2.as_ref().unwrap()));
    assert_eq!(
        scope_of_user("admin", &admin).len(),
        admin.documents().len(),
        "the administrator sees everything"
    );

    // Nothing typed is lost.
    let everything = admin.documents();
    for id in &created {
        assert!(everything.contains_key(id), "{id} is lost");
    }
    for (c, text) in &notes {
        let kept = everything[c]["notes"].as_str().unwrap();
        assert!(
            kept.contains(text.as_str()),
            "the note {text} of {c} is lost"
        );
    }
    let l1_doc = &everything[&l1];
    assert!(
        ["A", "B"].contains(&l1_doc["tier"].as_str().unwrap()),
        "{l1_doc}"
    );
    assert!(
        l1_doc.to_string().contains(&contact),
        "the contact added on the laptop is lost: {l1_doc}"
    );
    assert_eq!(everything[&l2]["key_account"], true);
    let approved = devices[LI_LAPTOP]
        .store
        .trip_plan(plan.as_ref().unwrap())
        .unwrap();
    assert_eq!(serde_json::to_value(approved.status).unwrap(), "approved");
    assert_eq!(approved.decided_by.as_deref(), Some("zhang"));
    println!(
        "{} devices, {ROUNDS} rounds through {NODES} nodes: {} documents, {} notes checked, in {:.1} s",
        devices.len(),
        everything.len(),
        notes.len(),
        started.elapsed().as_secs_f64()
    );
}

// ---- 2. live events across nodes -------------------------------------------------------------

#[test]
fn an_event_stream_on_one_node_hears_of_a_push_through_another_within_a_second() {
    let Some(cluster) =
        Cluster::start("an_event_stream_on_one_node_hears_of_a_push_through_another")
    else {
        return;
    };
    let urls = cluster.urls();
    // The manager listens on every node.
    let token = login(&urls[0], "zhang")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let streams: Vec<_> = urls.iter().map(|u| subscribe(u, &token)).collect();
    let li = Device::new(&urls[1], "li", "li-phone");
    let shop = li
        .store
        .create_customer(customer("无锡宏达", "east", "li"))
        .unwrap();
    sync_through(&li, &urls[1]).unwrap();
    // The highest log position heard so far: each push's event names a later one.
    let mut floor = 0;
    for (n, s) in streams.iter().enumerate() {
        let (_, seq) = next_change_past(s, 0, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("the stream on node {n} never heard of the new customer"));
        floor = floor.max(seq);
    }

    // (listening node, pushing node, ms after the push's answer, ms after it was sent)
    let mut heard: Vec<(usize, usize, i128, i128)> = Vec::new();
    for (k, pusher) in [1, 2, 0, 2, 0, 1].into_iter().enumerate() {
        li.store
            .create_visit(visit(&shop, "li", &format!("第{k}次拜访")))
            .unwrap();
        let mut timed = Timed::new(client_through(&li, &urls[pusher]).unwrap(), None);
        let report = fieldsync_core::sync::run(&li.store, &mut timed, |_| {}).unwrap();
        assert_eq!(report.pushed, 1);
        let (sent, answered) = (timed.first_sent.unwrap(), timed.first_answered.unwrap());
        let mut pushed_at = floor;
        for (listener, s) in streams.iter().enumerate() {
            if listener == pusher {
                continue;
            }
            let (at, seq) = next_change_past(s, floor, Duration::from_secs(10)).unwrap_or_else(|| {
                panic!("the stream on node {listener} never heard of the push through node {pusher}")
            });
            pushed_at = pushed_at.max(seq);
            heard.push((
                listener,
                pusher,
                signed_ms(answered, at),
                signed_ms(sent, at),
            ));
        }
        floor = pushed_at;
    }
    for (listener, pusher, after_answer, after_sent) in &heard {
        println!(
            "stream on node {listener} heard the push through node {pusher}: {after_answer} ms after its answer ({after_sent} ms after it was sent)"
        );
    }
    let worst = heard.iter().map(|h| h.2).max().unwrap();
    println!("slowest across nodes: {worst} ms after the push's answer");
    for (listener, pusher, after_answer, _) in &heard {
        assert!(
            *after_answer < 1000,
            "the stream on node {listener} heard of the push through node {pusher} {after_answer} ms after its answer"
        );
    }
}

// ---- 3. a node killed ------------------------------------------------------------------------

#[test]
fn a_node_killed_during_syncs_loses_nothing_acknowledged_and_its_devices_move_on() {
    let started = Instant::now();
    let Some(mut cluster) = Cluster::start("a_node_killed_during_syncs_loses_nothing_acknowledged")
    else {
        return;
    };
    let urls = cluster.urls();
    const X: usize = 0;
    let setups = [
        ("li", "li-phone"),
        ("li", "li-laptop"),
        ("wang", "wang-phone"),
        ("zhang", "zhang-tablet"),
        ("chen", "chen-phone"),
    ];
    let names: Vec<&str> = setups.iter().map(|(_, n)| *n).collect();
    let (devices, [l1, w1, c1]) = team_in_the_field(&setups, &urls, |_| X, &[urls[X].clone()]);

    // Everyone syncs through node X; the manager writes to li's customer with li's devices.
    let customers = [&l1, &l1, &w1, &l1, &c1];
    let traffic = Traffic::start(
        devices
            .into_iter()
            .zip(customers)
            .map(|(d, c)| (d, c.clone(), X))
            .collect(),
        &urls,
        OnFailure::MoveOn,
        5_000,
    );
    traffic.wait_for_syncs(
        &[0; 5],
        4,
        Duration::from_secs(30),
        "every device synced through node X",
    );
    let aimed = traffic.wait_for_round_through(X, Duration::from_secs(5));
    let pid = cluster.nodes[X].pid();
    cluster.nodes[X].kill();
    let killed_at = Instant::now();
    let at_kill = traffic.synced_now();
    println!(
        "node {X} (pid {pid:?}) SIGKILLed {} a round in flight, after {at_kill:?} syncs",
        if aimed { "with" } else { "without" }
    );
    traffic.wait_for_syncs(
        &at_kill,
        5,
        Duration::from_secs(40),
        "every device synced again through another node",
    );
    println!(
        "every device synced 5 more times within {:.1} s of the kill",
        killed_at.elapsed().as_secs_f64()
    );
    let acked = traffic.acked.clone();
    let worked = traffic.finish();

    let mut devices = Vec::new();
    for (w, name) in worked.into_iter().zip(&names) {
        println!(
            "{name}: syncs through each node {:?}, {} failed",
            w.ok_by_node,
            w.failures.len()
        );
        assert!(w.ok_by_node[X] > 0, "{name} never synced through node X");
        assert!(
            w.ok_by_node.iter().skip(1).sum::<usize>() > 0,
            "{name} never synced through another node"
        );
        devices.push(w.device);
    }

    // The survivors serve everyone; everything converges and nothing acknowledged is lost.
    let alive = urls[1..].to_vec();
    settle(&devices.iter().collect::<Vec<_>>(), &alive);
    let admin = Device::new(&urls[2], "admin", "audit");
    admin.sync();
    assert_acked_on(&acked.lock().unwrap(), &admin);
    // The killed node, started again, serves its share of the same data.
    cluster.nodes[X].restart().unwrap();
    let acked = acked.lock().unwrap();
    assert_team_settled(&devices, &names, &acked, &urls, &urls[X], "audit-again");
    println!(
        "{} acknowledged (document, heads) checked, in {:.1} s",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}

// ---- 4. PostgreSQL restarted -----------------------------------------------------------------

#[test]
fn postgresql_stopped_during_syncs_gets_503_and_every_node_recovers_by_itself() {
    let started = Instant::now();
    let Some(mut cluster) = Cluster::start("postgresql_stopped_during_syncs_gets_503") else {
        return;
    };
    let urls = cluster.urls();
    let setups = [
        ("li", "li-phone"),
        ("li", "li-laptop"),
        ("wang", "wang-phone"),
        ("zhang", "zhang-tablet"),
        ("chen", "chen-phone"),
        ("zhao", "zhao-tablet"),
    ];
    let names: Vec<&str> = setups.iter().map(|(_, n)| *n).collect();
    // Each device stays on its node whatever happens: every node must recover on its own.
    let (devices, [l1, w1, c1]) = team_in_the_field(&setups, &urls, |i| i % NODES, &urls);
    // A token taken while the database is up, sent while it is down.
    let token = login(&urls[0], "li")["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let customers = [&l1, &l1, &w1, &l1, &c1, &c1];
    let traffic = Traffic::start(
        devices
            .into_iter()
            .zip(customers)
            .enumerate()
            .map(|(i, (d, c))| (d, c.clone(), i % NODES))
            .collect(),
        &urls,
        OnFailure::Stay,
        5_000,
    );
    traffic.wait_for_syncs(&[0; 6], 2, Duration::from_secs(30), "every device synced");

    // Once a fast shutdown (as an operator restarts it), once a crash (SIGKILL).
    for how in ["stopped", "killed"] {
        let aimed = traffic.wait_for_round_through(0, Duration::from_secs(5));
        match how {
            "stopped" => cluster.pg.stop(),
            _ => cluster.pg.kill(),
        }
        let down = Instant::now();
        println!(
            "PostgreSQL {how} {} a round in flight",
            if aimed { "with" } else { "without" }
        );
        // Every node says so: 503 `unavailable`, with when to retry. (The sessions of a killed
        // PostgreSQL live on for a moment: until they end, a node may still be answered.)
        let answers: Vec<_> = std::thread::scope(|s| {
            let asked: Vec<_> = urls
                .iter()
                .map(|u| s.spawn(|| raw_sync_until_refused(u, &token, Duration::from_secs(15))))
                .collect();
            asked.into_iter().map(|a| a.join().unwrap()).collect()
        });
        for (n, (a, served)) in answers.iter().enumerate() {
            println!(
                "PostgreSQL {how}: node {n} answered {} in {} ms (after {served} rounds still served): {}",
                a.status,
                a.took.as_millis(),
                a.body
            );
            assert_eq!(a.status, 503, "node {n} with PostgreSQL {how}: {a:?}");
            let retry: Option<u64> = a.retry_after.as_deref().and_then(|r| r.parse().ok());
            assert!(
                retry.is_some_and(|s| s > 0),
                "node {n}: Retry-After in seconds: {a:?}"
            );
            assert_eq!(a.body["error"], "unavailable", "node {n}: {a:?}");
            assert!(
                a.body["message"].as_str().is_some_and(|m| !m.is_empty()),
                "node {n}: {a:?}"
            );
        }
        // Back: the same server processes serve again, each device through its own node.
        cluster.pg.start_again();
        let since = traffic.synced_now();
        traffic.wait_for_syncs(
            &since,
            2,
            Duration::from_secs(40),
            &format!("every device synced through its node after PostgreSQL was {how}"),
        );
        println!(
            "PostgreSQL {how}: every device synced twice more {:.1} s after it went down",
            down.elapsed().as_secs_f64()
        );
    }
    let acked = traffic.acked.clone();
    let worked = traffic.finish();

    // While it was down, the devices were told 503 `unavailable`, nothing else.
    let mut devices = Vec::new();
    let mut told: BTreeMap<Failure, usize> = BTreeMap::new();
    for (w, name) in worked.into_iter().zip(&names) {
        println!("{name}: syncs through each node {:?}", w.ok_by_node);
        for (_, f) in &w.failures {
            *told.entry(f.clone()).or_default() += 1;
        }
        devices.push(w.device);
    }
    println!("failed syncs, by what the devices were told: {told:?}");
    let unavailable = Failure::Answered {
        status: 503,
        code: "unavailable".into(),
    };
    assert!(
        told.keys().all(|f| *f == unavailable),
        "a sync failed otherwise than 503 unavailable: {told:?}"
    );

    // Everything converges and nothing acknowledged is lost.
    let acked = acked.lock().unwrap();
    assert_team_settled(&devices, &names, &acked, &urls, &urls[1], "audit");
    println!(
        "{} acknowledged (document, heads) checked; whole test {:.1} s",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}

// ---- 5. live events across nodes after a PostgreSQL restart ---------------------------------

#[test]
fn a_push_right_after_postgresql_restarts_reaches_an_event_stream_on_another_node() {
    let Some(mut cluster) = Cluster::start("a_push_right_after_postgresql_restarts_reaches") else {
        return;
    };
    let urls = cluster.urls();
    let chen = Device::new(&urls[2], "chen", "chen-phone");
    let c1 = chen
        .store
        .create_customer(customer("陈的客户", "north", "chen"))
        .unwrap();
    sync_through(&chen, &urls[2]).unwrap();
    let token = login(&urls[0], "zhao")["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    // PostgreSQL restarts, as an operator does it.
    cluster.pg.stop();
    cluster.pg.start_again();
    let up = Instant::now();

    // As soon as it is back, zhao's stream on node 0 opens and chen pushes a visit through
    // node 2: node 0 may not be listening to the others yet when it is pushed, but its
    // subscribers must learn of it (or be told to sync) all the same.
    let (stream, opened) = retry_for(
        Duration::from_secs(15),
        "zhao's stream on node 0 opens again",
        || try_subscribe(&urls[0], &token),
    );
    let push = |what: &str| {
        chen.store.create_visit(visit(&c1, "chen", what)).unwrap();
        let (answered, _) = retry_for(
            Duration::from_secs(15),
            "chen's visit is pushed through node 2",
            || {
                let mut timed = Timed::new(client_through(&chen, &urls[2])?, None);
                fieldsync_core::sync::run(&chen.store, &mut timed, |_| {})?;
                Ok::<_, fieldsync_core::sync::SyncError>(timed.first_answered)
            },
        );
        let answered = answered.unwrap_or_else(Instant::now);
        let heard = next_change(&stream, Duration::from_secs(5));
        println!(
            "{what}: pushed {} ms after PostgreSQL was back; node 0's stream heard {}",
            signed_ms(up, answered),
            match &heard {
                Some((at, data)) => {
                    format!("{data} {} ms after the answer", signed_ms(answered, *at))
                }
                None => "nothing within 5 s".into(),
            }
        );
        heard.is_some()
    };
    println!(
        "node 0's stream opened {} ms after PostgreSQL was back",
        opened.as_millis()
    );
    let first = push("the first visit");
    // A second push, once the nodes had time to listen again: tells a lost notification from
    // a relay that is gone for good.
    std::thread::sleep(Duration::from_secs(3));
    let later = push("a visit 3 s later");
    assert!(
        later,
        "after a PostgreSQL restart node 0 never hears of pushes through node 2 again"
    );
    assert!(
        first,
        "a push acknowledged right after PostgreSQL came back never reached the stream on node 0 \
         (node 0 was not listening yet, and nothing told its subscribers to sync)"
    );
}

// ---- 6. a node asked to stop ----------------------------------------------------------------

#[test]
fn a_node_on_postgresql_asked_to_stop_finishes_cleanly() {
    let Some(mut o) = common::org_on(common::Backend::Postgres, &[]) else {
        return;
    };
    let li = Device::new(&o.server.url(), "li", "li-phone");
    li.store
        .create_customer(customer("华东精密", "east", "li"))
        .unwrap();
    li.sync();
    let status = o.server.terminate().unwrap();
    assert!(
        status.success(),
        "a node stopped by SIGTERM (as a service manager stops it) exited with {status}"
    );
}
