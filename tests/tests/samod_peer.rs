//! The samod peer of the sync benchmark really syncs: each scenario, run on ~20 small Automerge
//! documents against the real `samod_server` binary, ends with both sides holding every
//! document with the expected heads (the peer checks the client and asks the server, and
//! returns an error otherwise), and counts traffic both ways.
//!
//! `print_figures_at_scale` (ignored) runs the three scenarios at 1,000 and 5,000 documents
//! and prints the figures; it asserts nothing about speed. Run it on a release build:
//! `cargo test --release -p tests --test samod_peer -- --ignored --nocapture`
//! (`SAMOD_BENCH_DOCS=1000,5000` to choose the sizes).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};
use fieldsync_tests::peer_samod::{self, PeerRun};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn server_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_samod_server"))
}

/// Saved documents keyed by our id.
type Docs = Vec<(String, Vec<u8>)>;

/// The documents of scenario 2: what both sides held, and what each side holds now (its
/// changed and new documents only).
struct Trip {
    common: Docs,
    client: Docs,
    server: Docs,
}

fn doc_id(rng: &mut ChaCha8Rng) -> String {
    let b: [u8; 16] = rng.random();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff | 0x7000,
        u16::from_be_bytes([b[8], b[9]]) & 0x3fff | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]]),
    )
}

/// A small customer-like document: a few fields and ~200 characters of notes.
fn new_doc(rng: &mut ChaCha8Rng, actor: &ActorId) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(actor.clone());
    let n: u32 = rng.random_range(0..1_000_000);
    doc.put(ROOT, "name", format!("Customer {n}")).unwrap();
    doc.put(
        ROOT,
        "region",
        ["east", "west", "north", "south"][n as usize % 4],
    )
    .unwrap();
    doc.put(ROOT, "tier", i64::from(n % 3)).unwrap();
    doc.put(ROOT, "visits", 0_i64).unwrap();
    let notes = doc.put_object(ROOT, "notes", ObjType::Text).unwrap();
    let text: String = (0..20)
        .map(|i| format!("note {:04} ", (n + i) % 10_000))
        .collect();
    doc.splice_text(&notes, 0, 0, &text).unwrap();
    doc.commit();
    doc
}

/// One change by `actor`: a field set and a few characters typed into the notes.
fn edit(doc: &mut AutoCommit, rng: &mut ChaCha8Rng, actor: &ActorId) {
    doc.set_actor(actor.clone());
    let visits = rng.random_range(1..100_i64);
    doc.put(ROOT, "visits", visits).unwrap();
    let (_, notes) = doc.get(ROOT, "notes").unwrap().unwrap();
    let len = doc.length(&notes);
    let at = rng.random_range(0..=len);
    doc.splice_text(&notes, at, 0, &format!("[{visits}]"))
        .unwrap();
    doc.commit();
}

fn save_all(docs: &mut BTreeMap<String, AutoCommit>) -> Docs {
    docs.iter_mut()
        .map(|(id, d)| (id.clone(), d.save()))
        .collect()
}

/// `n` common documents; then the client makes `client_changes` changes over them and adds
/// `n / 100 + 1` documents, the server (other users) `server_changes` changes and
/// `n / 50 + 1` documents.
fn trip(n: usize, client_changes: usize, server_changes: usize, seed: u64) -> Trip {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let author = ActorId::from(b"author".to_vec());
    let me = ActorId::from(b"client".to_vec());
    let others: Vec<ActorId> = (0..20)
        .map(|i| ActorId::from(format!("user{i}").into_bytes()))
        .collect();
    let mut base: BTreeMap<String, AutoCommit> = BTreeMap::new();
    for _ in 0..n {
        let id = doc_id(&mut rng);
        let doc = new_doc(&mut rng, &author);
        base.insert(id, doc);
    }
    let common = save_all(&mut base);
    let ids: Vec<String> = base.keys().cloned().collect();

    let mut client: BTreeMap<String, AutoCommit> = BTreeMap::new();
    for _ in 0..client_changes {
        let id = &ids[rng.random_range(0..ids.len())];
        let doc = client.entry(id.clone()).or_insert_with(|| base[id].clone());
        edit(doc, &mut rng, &me);
    }
    for _ in 0..n / 100 + 1 {
        let id = doc_id(&mut rng);
        let doc = new_doc(&mut rng, &me);
        client.insert(id, doc);
    }

    let mut server: BTreeMap<String, AutoCommit> = BTreeMap::new();
    for _ in 0..server_changes {
        let id = &ids[rng.random_range(0..ids.len())];
        let actor = &others[rng.random_range(0..others.len())];
        let doc = server.entry(id.clone()).or_insert_with(|| base[id].clone());
        edit(doc, &mut rng, actor);
    }
    for _ in 0..n / 50 + 1 {
        let id = doc_id(&mut rng);
        let actor = &others[rng.random_range(0..others.len())];
        let doc = new_doc(&mut rng, actor);
        server.insert(id, doc);
    }
    Trip {
        common,
        client: save_all(&mut client),
        server: save_all(&mut server),
    }
}

fn assert_traffic(run: &PeerRun) {
    assert!(run.messages_up > 0 && run.messages_down > 0, "{run:?}");
    assert!(run.bytes_up > 0 && run.bytes_down > 0, "{run:?}");
    assert!(run.server_peak_rss_kib > 0, "{run:?}");
}

#[test]
fn a_new_device_fetches_every_document_of_the_server() {
    let t = trip(20, 0, 0, 1);
    assert_eq!(peer_samod::server_binary().unwrap(), server_bin());
    let run = peer_samod::new_device(server_bin(), &t.common).unwrap();
    assert_traffic(&run);
    // At least one message down per document: every one had to come from the server.
    assert!(run.messages_down >= 20, "{run:?}");
}

#[test]
fn back_from_a_trip_both_sides_end_with_the_merge_of_every_document() {
    let t = trip(20, 10, 30, 2);
    assert!(!t.client.is_empty() && !t.server.is_empty());
    let run = peer_samod::back_from_trip(server_bin(), &t.common, &t.client, &t.server).unwrap();
    assert_traffic(&run);
}

#[test]
fn when_nothing_changed_every_document_is_checked() {
    let t = trip(20, 0, 0, 3);
    let run = peer_samod::nothing_changed(server_bin(), &t.common).unwrap();
    assert_traffic(&run);
    assert!(run.messages_up >= 20, "{run:?}");
}

fn print(label: &str, n: usize, run: &PeerRun) {
    println!(
        "{label:<16} {n:>5} docs  {:>10.1} ms  up {:>10} B {:>6} msgs  down {:>10} B {:>6} msgs  server peak {:>7} KiB  client peak {:>7} KiB",
        run.millis,
        run.bytes_up,
        run.messages_up,
        run.bytes_down,
        run.messages_down,
        run.server_peak_rss_kib,
        run.client_peak_rss_kib
            .map_or_else(|| "?".to_owned(), |k| k.to_string()),
    );
}

#[test]
#[ignore = "measures at scale; run on a release build with --ignored --nocapture"]
fn print_figures_at_scale() {
    let sizes = std::env::var("SAMOD_BENCH_DOCS").unwrap_or_else(|_| "1000,5000".to_owned());
    for n in sizes.split(',').map(|s| s.trim().parse::<usize>().unwrap()) {
        let t = trip(n, 250, 2_000, 42);
        println!(
            "{n} docs: client changed {} and added {}; server changed {} and added {}",
            t.client.len() - (n / 100 + 1),
            n / 100 + 1,
            t.server.len() - (n / 50 + 1),
            n / 50 + 1
        );
        let run = peer_samod::new_device(server_bin(), &t.common).unwrap();
        print("new device", n, &run);
        let run =
            peer_samod::back_from_trip(server_bin(), &t.common, &t.client, &t.server).unwrap();
        print("back from trip", n, &run);
        let run = peer_samod::nothing_changed(server_bin(), &t.common).unwrap();
        print("nothing changed", n, &run);
    }
}
