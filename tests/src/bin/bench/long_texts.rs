//! Scenario 7: long texts. A rep pushes customer files whose notes are long (a pasted
//! contract, a year of minutes), a manager pulls them, and the same bytes go in one plain HTTP
//! request to a sink on 127.0.0.1: the floor the push is compared with. The round is split
//! into the device's work (reading the unsent changes, encoding), the server's answer and the
//! device's work on the answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use fieldsync_core::model::customer::NewCustomer;
use fieldsync_core::protocol::{self, SyncRequest, SyncResponse};
use fieldsync_core::sync::Transport;
use fieldsync_core::sync::engine;
use fieldsync_core::sync::http::HttpClient;
use fieldsync_tests::server::{ServerProcess, TestUser, add_user};

use crate::org::{Device, PASSWORD};
use crate::stats::{Series, Table, ms};
use crate::{Result, Scale};

const SCENARIO: &str = "S7 long notes";
const REP: &str = "rep-long";
const MANAGER: &str = "manager-long";
const TERRITORY: &str = "long-notes";

/// A note of `chars` characters: Chinese sentences with punctuation and line breaks, as a
/// pasted document would be.
fn long_note(seed: usize, chars: usize) -> String {
    const SENTENCE: &str = "客户对本季度的供货价格提出异议，要求与竞争对手的报价对比后再定。";
    let mut note = String::with_capacity(chars * 3);
    let mut n = 0;
    let mut line = seed;
    while n < chars {
        for c in SENTENCE.chars() {
            if n == chars {
                break;
            }
            note.push(c);
            n += 1;
        }
        line += 1;
        if line.is_multiple_of(4) && n < chars {
            note.push('\n');
            n += 1;
        }
    }
    note
}

/// A one-connection-at-a-time HTTP sink: reads each request's body and answers `204`. What a
/// plain upload of the same bytes costs on this machine.
fn sink() -> Result<(String, std::thread::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/", listener.local_addr()?);
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let mut stream = reader.into_inner();
            let last = body == b"stop";
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
            if last {
                return;
            }
        }
    });
    Ok((url, handle))
}

fn users(data: &Path) -> Result<()> {
    add_user(
        data,
        &TestUser {
            username: MANAGER,
            role: "manager",
            territories: &[TERRITORY],
            manager: None,
            password: PASSWORD,
        },
    )?;
    add_user(
        data,
        &TestUser {
            username: REP,
            role: "rep",
            territories: &[TERRITORY],
            manager: Some(MANAGER),
            password: PASSWORD,
        },
    )?;
    Ok(())
}

/// Runs scenario 7: the scale's customer files with notes of `chars` characters each.
pub fn long_notes(dir: &Path, scale: &Scale, chars: usize, table: &mut Table) -> Result<()> {
    let customers = scale.long_customers;
    let mut series: std::collections::BTreeMap<&'static str, Series> = Default::default();
    let mut add = |what: &'static str, d: Duration| series.entry(what).or_default().push(ms(d));
    let mut megabytes = 0.0;
    for run in 0..scale.runs {
        let base = dir.join(format!("long-notes-{run}"));
        let data = base.join("server");
        users(&data)?;
        let server = ServerProcess::start(&data)?;
        let rep = Device::new(&base.join("rep"), &server.url(), REP)?;
        let started = Instant::now();
        for i in 0..customers {
            rep.store.create_customer(NewCustomer {
                name: format!("长文本客户 {i}"),
                territory: TERRITORY.into(),
                owner: REP.into(),
                created_by: REP.into(),
                notes: long_note(i, chars),
                ..NewCustomer::default()
            })?;
        }
        add("write locally", started.elapsed());

        // The push, round by round, with its parts timed.
        let mut client = HttpClient::from_store(&rep.store)?;
        let push = Instant::now();
        let mut body_bytes = 0usize;
        let mut bodies = Vec::new();
        loop {
            let t = Instant::now();
            let (request, pending) = engine::build_request(&rep.store)?;
            if pending.is_empty() {
                break;
            }
            let body = protocol::encode(&request);
            add("device: build request", t.elapsed());
            body_bytes += body.len();
            let t = Instant::now();
            let answer = client.sync_round(body.clone())?;
            add("server answer", t.elapsed());
            bodies.push(body);
            let t = Instant::now();
            let response: SyncResponse = protocol::decode(&answer)?;
            let outcome = engine::apply_response(&rep.store, &pending, response)?;
            add("device: apply answer", t.elapsed());
            if !outcome.rejected.is_empty() {
                return Err(format!("refused: {:?}", outcome.rejected[0]).into());
            }
        }
        add("push (all rounds)", push.elapsed());
        megabytes = body_bytes as f64 / 1e6;

        // The floors: the same bodies, and the typed text itself, posted to a sink that only
        // reads them; and Automerge alone applying the pushed changes, in this process.
        let (url, sink) = sink()?;
        let agent = ureq::Agent::new_with_defaults();
        let t = Instant::now();
        for body in &bodies {
            agent.post(&url).send(&body[..])?;
        }
        add("floor: POST the bodies", t.elapsed());
        let typed: Vec<u8> = (0..customers)
            .flat_map(|i| long_note(i, chars).into_bytes())
            .collect();
        let t = Instant::now();
        agent.post(&url).send(&typed[..])?;
        add("floor: POST the typed text", t.elapsed());
        let t = Instant::now();
        for body in &bodies {
            let request: SyncRequest = protocol::decode(body)?;
            for doc in request.push {
                let mut merged = automerge::AutoCommit::new();
                for change in doc.changes {
                    merged.load_incremental(&change)?;
                }
            }
        }
        add("floor: Automerge applies", t.elapsed());
        let _ = agent.post(&url).send(&b"stop"[..]);
        let _ = sink.join();

        let manager = Device::new(&base.join("manager"), &server.url(), MANAGER)?;
        let t = Instant::now();
        let report = manager.sync()?;
        add("manager pull", t.elapsed());
        if report.pulled < customers as u64 {
            return Err(format!("the manager pulled {} documents", report.pulled).into());
        }
        drop(server);
    }
    let measure = format!("{customers} × {chars} chars, {megabytes:.1} MB");
    for (what, s) in series {
        table.add(SCENARIO, "fieldsync", what, "ms", s, None);
    }
    table.add_one(SCENARIO, "fieldsync", &measure, "MB", megabytes, None);
    Ok(())
}
