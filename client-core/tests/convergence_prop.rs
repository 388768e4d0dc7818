//! Convergence property: 3 to 5 devices, each a real store in its own SQLite file, share one or
//! two customer files and up to two visits of the first customer. They make random offline
//! edits and exchange changes in random order, in random forms (a whole document, every change,
//! the changes the receiver lacks, or every change newest first so that some arrive before what
//! they depend on), sometimes delivering the same bytes twice. After a final all-to-all exchange
//! the property demands:
//!
//! 1. every device reads identical documents, heads and conflict views;
//! 2. every device has identical projection rows (customer list, visits of each customer,
//!    follow-ups due on a fixed day), equal to those of a fresh store that received only the
//!    final documents;
//! 3. no edit is lost: a field that one device set holds the last value that device set; a field
//!    several devices set holds one of the values set, and any conflict on it lists only values
//!    that were set; a field nobody set is unchanged; every appended notes or summary paragraph is
//!    in the text exactly once (each device's own in the order it wrote them), and every added
//!    contact or person met is in the list exactly once.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use fieldsync_core::model::customer::{
    CustomerEdit, CustomerStatus, NewContact, NewCustomer, Tier,
};
use fieldsync_core::model::visit::{NewVisit, Outcome, VisitEdit};
use fieldsync_core::store::CustomerQuery;
use fieldsync_core::{Error, Store};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value as Json, json};

// ---- value pools --------------------------------------------------------------------------
// Small pools, so that devices often set the same field to the same value, or to the value it
// already holds (which writes nothing).

const NAMES: &[&str] = &[
    "华东精密机械有限公司",
    "苏州恒通轴承",
    "Ningbo Marine Parts",
];
const PHONES: &[&str] = &["0512-6666-0000", "0512-6666-0001", "021-5555-1234"];
const ADDRESSES: &[&str] = &["工业园区星湖街 88 号", "高新区珠江路 1 号"];
const CITIES: &[&str] = &["苏州", "无锡", "宁波"];
const WORDS: &[&str] = &[
    "客户计划下季度扩产。",
    "竞品报价偏低。",
    "sample approved",
    "",
];
const PEOPLE: &[&str] = &["王芳", "金立基", "Chen Jie"];
const NEXT_STEPS: &[&str] = &["送样", "报价", "约总经理面谈"];
const FOLLOWUPS: &[&str] = &["2026-03-25", "2026-04-10"];
/// Check-in times (normalised RFC 3339, as the store writes them) and UTC offsets.
const CHECKINS: &[(&str, i64)] = &[
    ("2026-03-02T01:30:00Z", 480),
    ("2026-03-09T02:00:00Z", 480),
    ("2026-03-31T20:00:00Z", 480),
    ("2026-03-31T20:00:00Z", -300),
];
/// The day the follow-up list is asked for.
const DUE_DAY: (i32, u32, u32) = (2026, 4, 1);
/// Rounds of the final all-to-all exchange after which every device must have everything.
const MAX_FINAL_ROUNDS: usize = 3;

// ---- generated scenario -------------------------------------------------------------------

/// A customer edit as generated; paragraphs and names get a unique marker when applied.
#[derive(Debug, Clone)]
enum CustomerOp {
    Set(CustomerEdit),
    AppendNotes(&'static str),
    AddContact(&'static str),
}

/// A visit edit as generated; paragraphs and names get a unique marker when applied.
#[derive(Debug, Clone)]
enum VisitOp {
    Set(VisitEdit),
    AppendSummary(&'static str),
    AddPerson(&'static str),
}

/// How an exchange carries the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carry {
    /// The sender's whole document, as one message.
    WholeDocument,
    /// Every change the sender has, oldest first, one message each.
    AllChanges,
    /// The changes the receiver's heads do not cover, one message each.
    SinceHeads,
    /// Every change, newest first: messages that arrive before their dependencies must be
    /// refused with `MissingDependencies` and change nothing.
    NewestFirst,
}

#[derive(Debug, Clone)]
enum Op {
    EditCustomer {
        device: usize,
        customer: usize,
        edits: Vec<CustomerOp>,
    },
    EditVisit {
        device: usize,
        visit: usize,
        edits: Vec<VisitOp>,
    },
    Exchange {
        from: usize,
        to: usize,
        /// Index into customers followed by visits.
        doc: usize,
        carry: Carry,
        duplicate: bool,
    },
}

#[derive(Debug, Clone)]
struct Scenario {
    devices: usize,
    customers: usize,
    visits: usize,
    /// Per device other than 0: whether it receives the visits before their customer.
    visits_first: Vec<bool>,
    ops: Vec<Op>,
}

fn opt_str(pool: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(select(pool).prop_map(String::from))
}

fn customer_op() -> impl Strategy<Value = CustomerOp> {
    use CustomerEdit as E;
    prop_oneof![
        1 => select(Tier::ALL).prop_map(|t| CustomerOp::Set(E::Tier(t))),
        1 => opt_str(PHONES).prop_map(|v| CustomerOp::Set(E::Phone(v))),
        1 => opt_str(ADDRESSES).prop_map(|v| CustomerOp::Set(E::Address(v))),
        1 => opt_str(CITIES).prop_map(|v| CustomerOp::Set(E::City(v))),
        1 => select(NAMES).prop_map(|v| CustomerOp::Set(E::Name(v.into()))),
        1 => select(CustomerStatus::ALL).prop_map(|s| CustomerOp::Set(E::Status(s))),
        1 => any::<bool>().prop_map(|b| CustomerOp::Set(E::KeyAccount(b))),
        2 => select(WORDS).prop_map(CustomerOp::AppendNotes),
        2 => select(PEOPLE).prop_map(CustomerOp::AddContact),
    ]
}

fn visit_op() -> impl Strategy<Value = VisitOp> {
    use VisitEdit as E;
    prop_oneof![
        1 => opt_str(NEXT_STEPS).prop_map(|v| VisitOp::Set(E::NextStep(v))),
        1 => proptest::option::of(select(Outcome::ALL)).prop_map(|o| VisitOp::Set(E::Outcome(o))),
        1 => opt_str(FOLLOWUPS).prop_map(|v| VisitOp::Set(E::NextFollowup(v))),
        1 => select(CHECKINS).prop_map(|(at, offset)| VisitOp::Set(E::Checkin {
            at: at.into(),
            utc_offset_minutes: offset,
        })),
        2 => select(WORDS).prop_map(VisitOp::AppendSummary),
        2 => select(PEOPLE).prop_map(VisitOp::AddPerson),
    ]
}

fn carry() -> impl Strategy<Value = Carry> {
    select(
        &[
            Carry::WholeDocument,
            Carry::AllChanges,
            Carry::SinceHeads,
            Carry::NewestFirst,
        ][..],
    )
}

fn op(devices: usize, customers: usize, visits: usize) -> BoxedStrategy<Op> {
    let edit_customer = (
        0..devices,
        0..customers,
        proptest::collection::vec(customer_op(), 1..=3),
    )
        .prop_map(|(device, customer, edits)| Op::EditCustomer {
            device,
            customer,
            edits,
        });
    let exchange = (
        0..devices,
        1..devices,
        0..customers + visits,
        carry(),
        any::<bool>(),
    )
        .prop_map(move |(from, offset, doc, carry, duplicate)| Op::Exchange {
            from,
            to: (from + offset) % devices,
            doc,
            carry,
            duplicate,
        });
    if visits == 0 {
        prop_oneof![3 => edit_customer, 2 => exchange].boxed()
    } else {
        let edit_visit = (
            0..devices,
            0..visits,
            proptest::collection::vec(visit_op(), 1..=3),
        )
            .prop_map(|(device, visit, edits)| Op::EditVisit {
                device,
                visit,
                edits,
            });
        prop_oneof![2 => edit_customer, 2 => edit_visit, 3 => exchange].boxed()
    }
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (3usize..=5, 1usize..=2, 0usize..=2).prop_flat_map(|(devices, customers, visits)| {
        (
            proptest::collection::vec(any::<bool>(), devices - 1),
            proptest::collection::vec(op(devices, customers, visits), 5..=40),
        )
            .prop_map(move |(visits_first, ops)| Scenario {
                devices,
                customers,
                visits,
                visits_first,
                ops,
            })
    })
}

// ---- the model of what was edited ---------------------------------------------------------

/// What the devices did to each document, to check nothing was lost.
#[derive(Debug, Default)]
struct Model {
    /// (document index, field) → every value set, with the device that set it, in order.
    sets: BTreeMap<(usize, &'static str), Vec<(usize, Json)>>,
    /// Document index → paragraphs appended to its notes or summary, with their device.
    paragraphs: BTreeMap<usize, Vec<(usize, String)>>,
    /// Document index → names of contacts or people met added.
    names: BTreeMap<usize, Vec<String>>,
    /// Source of unique markers.
    counter: usize,
}

impl Model {
    fn next(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    fn set(&mut self, doc: usize, field: &'static str, device: usize, value: Json) {
        self.sets
            .entry((doc, field))
            .or_default()
            .push((device, value));
    }

    fn paragraph(&mut self, doc: usize, device: usize, word: &str) -> String {
        let text = format!("{word}[p{}]", self.next());
        self.paragraphs
            .entry(doc)
            .or_default()
            .push((device, text.clone()));
        text
    }

    fn name(&mut self, doc: usize, person: &str) -> String {
        let name = format!("{person}#{}", self.next());
        self.names.entry(doc).or_default().push(name.clone());
        name
    }

    /// Turns a generated customer edit into the real one, recording what it does.
    fn customer_edit(&mut self, doc: usize, device: usize, op: &CustomerOp) -> CustomerEdit {
        use CustomerEdit as E;
        match op {
            CustomerOp::Set(edit) => {
                let (field, value) = match edit {
                    E::Tier(t) => ("tier", json!(t.as_str())),
                    E::Phone(v) => ("phone", json!(v)),
                    E::Address(v) => ("address", json!(v)),
                    E::City(v) => ("city", json!(v)),
                    E::Name(v) => ("name", json!(v)),
                    E::Status(s) => ("status", json!(s.as_str())),
                    E::KeyAccount(b) => ("key_account", json!(b)),
                    other => unreachable!("not generated: {other:?}"),
                };
                self.set(doc, field, device, value);
                edit.clone()
            }
            CustomerOp::AppendNotes(word) => E::AppendNotes(self.paragraph(doc, device, word)),
            CustomerOp::AddContact(person) => E::AddContact(NewContact {
                name: self.name(doc, person),
                title: Some("采购".into()),
                ..Default::default()
            }),
        }
    }

    /// Turns a generated visit edit into the real one, recording what it does.
    fn visit_edit(&mut self, doc: usize, device: usize, op: &VisitOp) -> VisitEdit {
        use VisitEdit as E;
        match op {
            VisitOp::Set(edit) => {
                match edit {
                    E::NextStep(v) => self.set(doc, "next_step", device, json!(v)),
                    E::Outcome(o) => self.set(doc, "outcome", device, json!(o.map(|o| o.as_str()))),
                    E::NextFollowup(v) => self.set(doc, "next_followup", device, json!(v)),
                    E::Checkin {
                        at,
                        utc_offset_minutes,
                    } => {
                        self.set(doc, "checkin_at", device, json!(at));
                        self.set(doc, "utc_offset_minutes", device, json!(utc_offset_minutes));
                    }
                    other => unreachable!("not generated: {other:?}"),
                }
                edit.clone()
            }
            VisitOp::AppendSummary(word) => E::AppendSummary(self.paragraph(doc, device, word)),
            VisitOp::AddPerson(person) => E::AddPerson {
                name: self.name(doc, person),
                title: None,
                decision_maker: false,
            },
        }
    }
}

// ---- running a scenario -------------------------------------------------------------------

/// Sends document `id` from one store to another as `carry` says, twice if `duplicate`.
fn exchange(from: &Store, to: &Store, id: &str, carry: Carry, duplicate: bool) {
    let messages = match carry {
        Carry::WholeDocument => vec![from.document_bytes(id).unwrap()],
        Carry::AllChanges => from.changes_since(id, &[]).unwrap(),
        Carry::SinceHeads => from.changes_since(id, &to.heads(id).unwrap()).unwrap(),
        Carry::NewestFirst => {
            let mut changes = from.changes_since(id, &[]).unwrap();
            changes.reverse();
            changes
        }
    };
    for pass in 0..if duplicate { 2 } else { 1 } {
        for message in &messages {
            let heads_before = to.heads(id).unwrap();
            match to.merge_changes(id, message) {
                Ok(outcome) => {
                    // A message delivered again brings nothing (newest-first delivery is the
                    // exception: its second pass completes what the first had to refuse).
                    if pass == 1 && carry != Carry::NewestFirst {
                        assert!(
                            !outcome.changed,
                            "a duplicate {carry:?} message of {id} changed the document"
                        );
                    }
                }
                Err(Error::MissingDependencies { .. }) if carry == Carry::NewestFirst => {
                    eprintln!("STAT refused");
                    assert_eq!(
                        to.heads(id).unwrap(),
                        heads_before,
                        "a refused merge of {id} changed the stored heads"
                    );
                }
                Err(e) => panic!("merging a {carry:?} message of {id} failed: {e}"),
            }
        }
    }
}

/// Exchanges every document between every pair until nothing changes; returns the rounds made.
fn exchange_all(stores: &[Store], ids: &[String]) -> usize {
    for round in 1..=MAX_FINAL_ROUNDS + 1 {
        let mut changed = false;
        for id in ids {
            for (i, from) in stores.iter().enumerate() {
                for (j, to) in stores.iter().enumerate() {
                    if i == j {
                        continue;
                    }
                    for change in from.changes_since(id, &to.heads(id).unwrap()).unwrap() {
                        changed |= to
                            .merge_changes(id, &change)
                            .unwrap_or_else(|e| panic!("final exchange of {id} failed: {e}"))
                            .changed;
                    }
                }
            }
        }
        if !changed {
            return round;
        }
    }
    panic!("devices still exchanged changes after {MAX_FINAL_ROUNDS} all-to-all rounds")
}

fn new_customer(i: usize) -> NewCustomer {
    NewCustomer {
        name: NAMES[i % NAMES.len()].into(),
        territory: "east".into(),
        owner: "li.wei".into(),
        city: Some(CITIES[0].into()),
        phone: Some(PHONES[0].into()),
        tier: Some(Tier::B),
        // The second customer starts with empty notes and no contacts.
        notes: if i == 0 {
            "首次接触于展会。".into()
        } else {
            String::new()
        },
        contacts: if i == 0 {
            vec![NewContact {
                name: "金立基".into(),
                title: Some("采购经理".into()),
                ..Default::default()
            }]
        } else {
            Vec::new()
        },
        created_by: "li.wei".into(),
        ..Default::default()
    }
}

fn new_visit(customer: &str, i: usize) -> NewVisit {
    let (at, offset) = CHECKINS[i];
    NewVisit {
        customer: customer.into(),
        author: "li.wei".into(),
        checkin_at: at.into(),
        utc_offset_minutes: offset,
        summary: if i == 0 {
            "介绍新款轴承。".into()
        } else {
            String::new()
        },
        people_met: vec![("金立基".into(), Some("采购经理".into()))],
        next_followup: (i == 1).then(|| FOLLOWUPS[0].into()),
        ..Default::default()
    }
}

fn document_json(store: &Store, id: &str) -> Json {
    serde_json::to_value(store.document(id).unwrap()).unwrap()
}

/// Every projection row the queries return, as JSON, for comparing stores.
fn projections(store: &Store, customer_ids: &[String]) -> Json {
    let day = NaiveDate::from_ymd_opt(DUE_DAY.0, DUE_DAY.1, DUE_DAY.2).unwrap();
    let customers = store
        .list_customers(&CustomerQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .unwrap();
    let visits: Vec<_> = customer_ids
        .iter()
        .map(|c| store.visits_of_customer(c, 1000).unwrap())
        .collect();
    let due = store.due_followups(day, None).unwrap();
    json!({ "customers": customers, "visits": visits, "due": due })
}

fn run(s: &Scenario) {
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Store> = (0..s.devices)
        .map(|n| {
            let store = Store::open(dir.path().join(format!("device_{n}.db"))).unwrap();
            store.set_author(&format!("rep{n}")).unwrap();
            store
        })
        .collect();

    // Device 0 creates the documents; every other device receives them whole.
    let origin = &stores[0];
    let customer_ids: Vec<String> = (0..s.customers)
        .map(|i| origin.create_customer(new_customer(i)).unwrap())
        .collect();
    let visit_ids: Vec<String> = (0..s.visits)
        .map(|i| origin.create_visit(new_visit(&customer_ids[0], i)).unwrap())
        .collect();
    let ids: Vec<String> = customer_ids.iter().chain(&visit_ids).cloned().collect();
    let initial: Vec<Json> = ids.iter().map(|id| document_json(origin, id)).collect();
    for (store, &visits_first) in stores[1..].iter().zip(&s.visits_first) {
        let mut order: Vec<&String> = ids.iter().collect();
        if visits_first {
            order.reverse();
        }
        for id in order {
            store
                .merge_from(&origin.document_bytes(id).unwrap())
                .unwrap();
        }
    }

    // The random phase.
    let mut model = Model::default();
    for op in &s.ops {
        match op {
            Op::EditCustomer {
                device,
                customer,
                edits,
            } => {
                let edits: Vec<CustomerEdit> = edits
                    .iter()
                    .map(|e| model.customer_edit(*customer, *device, e))
                    .collect();
                stores[*device]
                    .update_customer(&customer_ids[*customer], &edits)
                    .unwrap_or_else(|e| panic!("device {device}: {edits:?} refused: {e}"));
            }
            Op::EditVisit {
                device,
                visit,
                edits,
            } => {
                let doc = s.customers + visit;
                let edits: Vec<VisitEdit> = edits
                    .iter()
                    .map(|e| model.visit_edit(doc, *device, e))
                    .collect();
                stores[*device]
                    .update_visit(&visit_ids[*visit], &edits)
                    .unwrap_or_else(|e| panic!("device {device}: {edits:?} refused: {e}"));
            }
            Op::Exchange {
                from,
                to,
                doc,
                carry,
                duplicate,
            } => exchange(&stores[*from], &stores[*to], &ids[*doc], *carry, *duplicate),
        }
    }

    let rounds = exchange_all(&stores, &ids);
    eprintln!("STAT rounds {rounds}");

    // 1. Identical documents, heads and conflict views.
    for id in &ids {
        let doc = document_json(origin, id);
        let heads = origin.heads(id).unwrap();
        let conflicts = origin.conflicts(id).unwrap();
        for (n, store) in stores.iter().enumerate().skip(1) {
            assert_eq!(
                document_json(store, id),
                doc,
                "device {n} reads another {id}"
            );
            assert_eq!(
                store.heads(id).unwrap(),
                heads,
                "device {n} has other heads of {id}"
            );
            assert_eq!(
                store.conflicts(id).unwrap(),
                conflicts,
                "device {n} sees other conflicts in {id}"
            );
        }
    }

    // 2. Identical projection rows, equal to those of a store that only saw the final documents.
    eprintln!("STAT due {}", projections(origin, &customer_ids)["due"]);
    let expected = {
        let fresh = Store::open(dir.path().join("fresh.db")).unwrap();
        for id in &ids {
            fresh
                .merge_from(&origin.document_bytes(id).unwrap())
                .unwrap();
        }
        projections(&fresh, &customer_ids)
    };
    for (n, store) in stores.iter().enumerate() {
        assert_eq!(
            projections(store, &customer_ids),
            expected,
            "device {n}'s projection rows differ from those of the final documents"
        );
    }
    let rows = store_rows(origin);
    for id in &customer_ids {
        let doc = document_json(origin, id);
        let row = rows.get(id.as_str()).unwrap();
        for field in ["name", "tier", "status", "key_account", "city"] {
            assert_eq!(row[field], doc[field], "customer row {id}: {field}");
        }
        assert_eq!(
            row["contact_count"],
            json!(doc["contacts"].as_array().unwrap().len()),
            "customer row {id}: contact_count"
        );
    }

    // 3. No edit lost.
    for (d, id) in ids.iter().enumerate() {
        let doc = document_json(origin, id);
        let conflicts = origin.conflicts(id).unwrap();
        for c in &conflicts {
            eprintln!("STAT conflict {} {}", c.path, c.values.len());
        }
        let mut edited: BTreeSet<&str> = BTreeSet::new();
        for ((_, field), sets) in model.sets.range((d, "")..(d + 1, "")) {
            edited.insert(field);
            let final_value = &doc[*field];
            let devices: BTreeSet<usize> = sets.iter().map(|(device, _)| *device).collect();
            let values: Vec<&Json> = sets.iter().map(|(_, v)| v).collect();
            let conflict = conflicts.iter().find(|c| c.path == *field);
            eprintln!("STAT devices {}", devices.len());
            if devices.len() == 1 {
                let (device, last) = sets.last().unwrap();
                assert_eq!(
                    final_value, last,
                    "{id}.{field}: only device {device} set it, last to {last}, but it reads {final_value}"
                );
                assert!(
                    conflict.is_none(),
                    "{id}.{field}: only device {device} set it, yet it is in conflict: {conflict:?}"
                );
            } else {
                assert!(
                    values.contains(&final_value),
                    "{id}.{field} reads {final_value}, which no device set (set: {sets:?})"
                );
                if let Some(c) = conflict {
                    for v in &c.values {
                        assert!(
                            values.contains(&&v.value),
                            "{id}.{field}: conflict value {} was never set (set: {sets:?})",
                            v.value
                        );
                    }
                    let winners: Vec<_> = c.values.iter().filter(|v| v.winner).collect();
                    assert_eq!(winners.len(), 1, "{id}.{field}: one winner expected: {c:?}");
                    assert_eq!(&winners[0].value, final_value, "{id}.{field}: winner shown");
                }
            }
        }
        for c in &conflicts {
            assert!(
                edited.contains(c.path.as_str()),
                "{id}: conflict on {}, which no device set",
                c.path
            );
        }

        let (text_field, list_field) = if d < s.customers {
            ("notes", "contacts")
        } else {
            ("summary", "people_met")
        };
        // Fields nobody edited are as they were created.
        let before = initial[d].as_object().unwrap();
        for (key, value) in before {
            if !edited.contains(key.as_str()) && key != text_field && key != list_field {
                assert_eq!(&doc[key], value, "{id}.{key} changed though nobody set it");
            }
        }

        let text = doc[text_field].as_str().unwrap();
        let initial_text = initial[d][text_field].as_str().unwrap();
        assert!(
            text.starts_with(initial_text),
            "{id}.{text_field} lost its first text {initial_text:?}: {text:?}"
        );
        let paragraphs = model.paragraphs.get(&d).map_or(&[][..], Vec::as_slice);
        for (_, p) in paragraphs {
            assert_eq!(
                text.matches(p.as_str()).count(),
                1,
                "{id}.{text_field} should hold {p:?} once: {text:?}"
            );
        }
        for device in 0..s.devices {
            let positions: Vec<usize> = paragraphs
                .iter()
                .filter(|(by, _)| *by == device)
                .map(|(_, p)| text.find(p.as_str()).unwrap())
                .collect();
            assert!(
                positions.is_sorted(),
                "{id}.{text_field}: device {device}'s paragraphs are out of order: {text:?}"
            );
        }

        let list: Vec<&str> = doc[list_field]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["name"].as_str().unwrap())
            .collect();
        let added = model.names.get(&d).map_or(&[][..], Vec::as_slice);
        for name in added {
            assert_eq!(
                list.iter().filter(|n| *n == name).count(),
                1,
                "{id}.{list_field} should hold {name:?} once: {list:?}"
            );
        }
        assert_eq!(
            list.len(),
            initial[d][list_field].as_array().unwrap().len() + added.len(),
            "{id}.{list_field} has entries nobody added: {list:?}"
        );
    }
}

/// The customer rows of `store`, by id, as JSON.
fn store_rows(store: &Store) -> BTreeMap<String, Json> {
    store
        .list_customers(&CustomerQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|row| (row.id.clone(), serde_json::to_value(row).unwrap()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn devices_converge_without_losing_edits(s in scenario()) {
        run(&s);
    }
}
