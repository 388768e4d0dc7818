//! Scenario 8: what a hostile push costs the server. A rep sends hand-made changes: ten
//! megabytes in one paragraph, a million paragraphs in one change (a few kilobytes on the
//! wire), and paragraphs inserted and deleted again to grow a document's history. For each, the server's CPU time and how far its memory
//! peaked, read from `/proc` around the request, beside the largest push it accepts.

use std::path::Path;
use std::time::Instant;

use automerge::AutoCommit;
use automerge::transaction::Transactable;
use fieldsync_core::model::customer::NewCustomer;
use fieldsync_core::protocol::{self, PushDocument, SyncRequest, SyncResponse};
use fieldsync_core::sync::Transport;
use fieldsync_core::sync::http::HttpClient;
use fieldsync_tests::hand_made;
use fieldsync_tests::server::{ServerProcess, TestUser, add_user};
use serde_bytes::ByteBuf;

use crate::org::{Device, PASSWORD};
use crate::stats::{Series, Table, cpu_secs, ms, peak_rss_of};
use crate::{Result, Scale};

const SCENARIO: &str = "S8 hostile push";
const REP: &str = "rep-hostile";

/// One hand-made push: what it is, its changes, and whether the server should take it.
struct Attack {
    what: &'static str,
    changes: Vec<Vec<u8>>,
    accepted: bool,
}

/// The largest change the server takes, on customer `bytes`: 240,000 operations that leave
/// the notes as they were (a new actor each time, so each is new to the server).
fn largest_accepted(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut doc = AutoCommit::load(bytes)?;
    let heads = doc.get_heads();
    let notes = hand_made::notes_of(&doc)?;
    hand_made::churn(&mut doc, &notes, 120_000)?;
    Ok(hand_made::changes_since(&mut doc, &heads))
}

/// The refused attacks on customer `bytes` (as the rep's device holds it).
fn attacks(bytes: &[u8]) -> Result<Vec<Attack>> {
    let mut out = Vec::new();

    let mut doc = AutoCommit::load(bytes)?;
    let heads = doc.get_heads();
    let notes = hand_made::notes_of(&doc)?;
    doc.insert(&notes, 0, "x".repeat(10_000_000))?;
    out.push(Attack {
        what: "10 MB in one paragraph",
        changes: hand_made::changes_since(&mut doc, &heads),
        accepted: false,
    });

    let mut doc = AutoCommit::load(bytes)?;
    let heads = doc.get_heads();
    let notes = hand_made::notes_of(&doc)?;
    hand_made::insert_paragraphs(&mut doc, &notes, 1_000_000, "x")?;
    out.push(Attack {
        what: "1,000,000 paragraphs in one change",
        changes: hand_made::changes_since(&mut doc, &heads),
        accepted: false,
    });

    let mut doc = AutoCommit::load(bytes)?;
    let heads = doc.get_heads();
    let notes = hand_made::notes_of(&doc)?;
    for _ in 0..3 {
        hand_made::churn(&mut doc, &notes, 100_000)?;
    }
    out.push(Attack {
        what: "100,000 paragraphs added and deleted ×3",
        changes: hand_made::changes_since(&mut doc, &heads),
        accepted: false,
    });
    Ok(out)
}

/// Runs scenario 8.
pub fn hostile_push(dir: &Path, scale: &Scale, table: &mut Table) -> Result<()> {
    let data = dir.join("hostile").join("server");
    add_user(
        &data,
        &TestUser {
            username: REP,
            role: "rep",
            territories: &["hostile"],
            manager: None,
            password: PASSWORD,
        },
    )?;
    let server = ServerProcess::start(&data)?;
    let pid = server.pid().map(|p| p.to_string()).unwrap_or_default();
    let rep = Device::new(&dir.join("hostile").join("rep"), &server.url(), REP)?;
    let id = rep.store.create_customer(NewCustomer {
        name: "被攻击的客户".into(),
        territory: "hostile".into(),
        owner: REP.into(),
        created_by: REP.into(),
        ..NewCustomer::default()
    })?;
    rep.sync()?;
    let bytes = rep.store.document_bytes(&id)?;
    let mut attacks = attacks(&bytes)?;
    attacks.push(Attack {
        what: "240,000 operations (accepted)",
        changes: Vec::new(),
        accepted: true,
    });

    for mut attack in attacks {
        let mut wall = Series::default();
        let mut cpu = Series::default();
        let mut memory = Series::default();
        let mut wire = 0;
        for _ in 0..scale.runs {
            if attack.accepted {
                attack.changes = largest_accepted(&bytes)?;
            }
            wire = attack.changes.iter().map(Vec::len).sum::<usize>();
            let body = protocol::encode(&SyncRequest {
                protocol: protocol::PROTOCOL_VERSION,
                cursor: rep.store.sync_cursor()?,
                push: vec![PushDocument {
                    id: id.clone(),
                    changes: attack.changes.iter().cloned().map(ByteBuf::from).collect(),
                }],
            });
            let mut client = HttpClient::from_store(&rep.store)?;
            let cpu_before = cpu_secs(&pid);
            let started = Instant::now();
            let (answer, peak) = peak_rss_of(&pid, || client.sync_round(body));
            wall.push(ms(started.elapsed()));
            let answer: SyncResponse = protocol::decode(&answer?)?;
            if (answer.accepted.len() == 1) != attack.accepted {
                return Err(format!(
                    "{}: the server answered {:?} {:?}",
                    attack.what, answer.accepted, answer.rejected
                )
                .into());
            }
            if let (Some(a), Some(b)) = (cpu_before, cpu_secs(&pid)) {
                cpu.push((b - a) * 1000.0);
            }
            if let Some(p) = peak {
                memory.push(p);
            }
        }
        let system = format!("{:.1} KB sent", wire as f64 / 1000.0);
        let target = (!attack.accepted).then_some("< 1 s CPU, < 50 MB");
        table.add(SCENARIO, &system, attack.what, "ms", wall, None);
        table.add(SCENARIO, &system, "  server CPU", "ms", cpu, target);
        table.add(
            SCENARIO,
            &system,
            "  server peak RSS",
            "MiB",
            memory,
            target,
        );
    }
    Ok(())
}
