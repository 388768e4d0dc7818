//! Convergence property: 3 to 5 devices, each a real store in its own SQLite file, share one or
//! two customer files and up to two visits of the first customer. They make random offline
//! edits and exchange changes in random order and in random forms (a whole document, every
//! change, the changes the receiver lacks, or every change newest first so that some arrive
//! before what they depend on), sometimes delivering the same bytes twice. After a final
//! all-to-all exchange the property demands:
//!
//! 1. every device reads identical documents, heads and conflict views;
//! 2. every device has identical projection rows (customer list, visits of each customer,
//!    follow-ups due on a fixed day, full-text search), equal to those of a fresh store that
//!    received only the final documents;
//! 3. no edit is lost: a field that one device set holds the last value that device set; a field
//!    several devices set keeps every value that no device replaced after seeing it: it shows
//!    one of them, and when they differ the conflict view lists exactly them, each with the
//!    device that wrote it; a field nobody set is unchanged; every appended notes or summary
//!    paragraph is in the text exactly once (each device's own in the order it wrote them), and
//!    every added contact or person met is in the list exactly once.
//!
//! The first test edits plain fields (strings, enums, booleans), text and lists; the second adds
//! the edits that set a whole Money or Geo value, which must merge as one value too.
//!
//! The third shares one draft order instead: devices add lines, change the quantities of the
//! lines they hold and set its plain fields, offline and exchanged as above. Besides properties
//! 1 and 3 for its plain fields, every line added on any device is in the order exactly once,
//! each line's quantity keeps every value no device replaced after seeing it (one shown, and
//! when they differ the conflict view lists exactly them), and every device's order list shows
//! the same row, with the total of the merged lines, as a fresh store does.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc};
use chrono::NaiveDate;
use fieldsync_core::ids::new_id;
use fieldsync_core::model::customer::{
    CustomerEdit, CustomerStatus, NewContact, NewCustomer, Tier,
};
use fieldsync_core::model::fields::{Geo, Money, now_string};
use fieldsync_core::model::order::{NewOrder, Order, OrderEdit};
use fieldsync_core::model::visit::{NewVisit, Outcome, VisitEdit};
use fieldsync_core::store::{CustomerQuery, OrderQuery};
use fieldsync_core::{Error, Store};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value as Json, json};

/// Fields the store writes as a pair, both halves at once.
const PAIRS: &[(&str, &str)] = &[
    ("checkin_at", "utc_offset_minutes"),
    ("monthly_demand", "demand_unit"),
];

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
const FOLLOWUPS: &[&str] = &["2026-04-01", "2026-04-10"];
/// Check-in times (normalised RFC 3339, as the store writes them) and UTC offsets.
const CHECKINS: &[(&str, i64)] = &[
    ("2026-03-02T01:30:00Z", 480),
    ("2026-03-09T02:00:00Z", 480),
    ("2026-03-31T20:00:00Z", 480),
    ("2026-03-31T20:00:00Z", -300),
];
/// Amounts (fen) and currencies; each shares a part with another.
const PRICES: &[(i64, &str)] = &[(10_000, "CNY"), (50_000, "CNY"), (10_000, "USD")];
/// Positions; each shares a coordinate with another.
const PLACES: &[(f64, f64)] = &[(31.3, 120.6), (31.3, 121.5), (30.0, 120.6)];
/// The day the follow-up list is asked for.
const DUE_DAY: (i32, u32, u32) = (2026, 4, 1);
/// Rounds of the final all-to-all exchange after which every device must have everything.
const MAX_FINAL_ROUNDS: usize = 3;

fn money(i: usize) -> Money {
    Money::new(PRICES[i].0, PRICES[i].1)
}

fn place(i: usize) -> Geo {
    Geo {
        lat: PLACES[i].0,
        lon: PLACES[i].1,
    }
}

// ---- generated scenario -------------------------------------------------------------------

/// Which edits a scenario draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edits {
    /// Strings, enums and booleans, text paragraphs, list entries.
    Plain,
    /// Those, and edits that set a whole Money or Geo value.
    WithMoneyAndGeo,
}

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

fn opt_money() -> impl Strategy<Value = Option<Money>> {
    proptest::option::weighted(0.8, (0..PRICES.len()).prop_map(money))
}

fn opt_place() -> impl Strategy<Value = Option<Geo>> {
    proptest::option::weighted(0.8, (0..PLACES.len()).prop_map(place))
}

fn customer_op(edits: Edits) -> BoxedStrategy<CustomerOp> {
    use CustomerEdit as E;
    let plain = prop_oneof![
        1 => select(Tier::ALL).prop_map(|t| CustomerOp::Set(E::Tier(t))),
        1 => opt_str(PHONES).prop_map(|v| CustomerOp::Set(E::Phone(v))),
        1 => opt_str(ADDRESSES).prop_map(|v| CustomerOp::Set(E::Address(v))),
        1 => opt_str(CITIES).prop_map(|v| CustomerOp::Set(E::City(v))),
        1 => select(NAMES).prop_map(|v| CustomerOp::Set(E::Name(v.into()))),
        1 => select(CustomerStatus::ALL).prop_map(|s| CustomerOp::Set(E::Status(s))),
        1 => any::<bool>().prop_map(|b| CustomerOp::Set(E::KeyAccount(b))),
        2 => select(WORDS).prop_map(CustomerOp::AppendNotes),
        2 => select(PEOPLE).prop_map(CustomerOp::AddContact),
    ];
    match edits {
        Edits::Plain => plain.boxed(),
        Edits::WithMoneyAndGeo => prop_oneof![
            2 => plain,
            1 => opt_money().prop_map(|m| CustomerOp::Set(E::CurrentPrice(m))),
            1 => opt_place().prop_map(|g| CustomerOp::Set(E::Geo(g))),
        ]
        .boxed(),
    }
}

fn visit_op(edits: Edits) -> BoxedStrategy<VisitOp> {
    use VisitEdit as E;
    let plain = prop_oneof![
        1 => opt_str(NEXT_STEPS).prop_map(|v| VisitOp::Set(E::NextStep(v))),
        1 => proptest::option::of(select(Outcome::ALL)).prop_map(|o| VisitOp::Set(E::Outcome(o))),
        1 => opt_str(FOLLOWUPS).prop_map(|v| VisitOp::Set(E::NextFollowup(v))),
        1 => select(CHECKINS).prop_map(|(at, offset)| VisitOp::Set(E::Checkin {
            at: at.into(),
            utc_offset_minutes: offset,
        })),
        2 => select(WORDS).prop_map(VisitOp::AppendSummary),
        2 => select(PEOPLE).prop_map(VisitOp::AddPerson),
    ];
    match edits {
        Edits::Plain => plain.boxed(),
        Edits::WithMoneyAndGeo => prop_oneof![
            2 => plain,
            1 => opt_money().prop_map(|m| VisitOp::Set(E::QuoteAmount(m))),
            1 => opt_place().prop_map(|g| VisitOp::Set(E::Geo(g))),
        ]
        .boxed(),
    }
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

fn op(edits: Edits, devices: usize, customers: usize, visits: usize) -> BoxedStrategy<Op> {
    let edit_customer = (
        0..devices,
        0..customers,
        proptest::collection::vec(customer_op(edits), 1..=3),
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
            proptest::collection::vec(visit_op(edits), 1..=3),
        )
            .prop_map(|(device, visit, edits)| Op::EditVisit {
                device,
                visit,
                edits,
            });
        prop_oneof![2 => edit_customer, 2 => edit_visit, 3 => exchange].boxed()
    }
}

fn scenario(edits: Edits) -> impl Strategy<Value = Scenario> {
    (3usize..=5, 1usize..=2, 0usize..=2).prop_flat_map(move |(devices, customers, visits)| {
        (
            proptest::collection::vec(any::<bool>(), devices - 1),
            proptest::collection::vec(op(edits, devices, customers, visits), 5..=40),
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

/// A value put into a field: an Automerge operation, which stays visible until an operation
/// made by a device that saw it replaces or deletes it.
#[derive(Debug)]
struct Put {
    /// The operation id, `counter@actor`.
    op: String,
    /// The device that made it (device 0 made the document).
    device: usize,
    value: Json,
    /// Whether an operation made after it (on a device that saw it) replaced or deleted it.
    replaced: bool,
}

/// What the devices did to each document, to check that nothing was lost.
#[derive(Debug, Default)]
struct Model {
    /// (document index, field) → every value set, with its device, in the order they were set.
    sets: BTreeMap<(usize, &'static str), Vec<(usize, Json)>>,
    /// (document index, field) → every value put into the field, starting with the document's.
    puts: BTreeMap<(usize, &'static str), Vec<Put>>,
    /// Document index → paragraphs appended to its notes or summary, with their device.
    paragraphs: BTreeMap<usize, Vec<(usize, String)>>,
    /// Document index → names of contacts or people met added.
    names: BTreeMap<usize, Vec<String>>,
    /// Source of unique markers.
    counter: usize,
}

/// A visible put of a field while an edit call runs: one from before the call, or the call's.
#[derive(Debug, Clone, PartialEq)]
enum Visible {
    Before(String),
    New,
}

impl Model {
    fn next(&mut self) -> usize {
        self.counter += 1;
        self.counter
    }

    /// Records the fields one edit call of `device` set, in order, and predicts what it did to
    /// the puts of each field. `before` and `after` are the device's document before and after
    /// the call, `before_json` the first as JSON.
    fn record_sets(
        &mut self,
        doc: usize,
        device: usize,
        fields: Vec<(&'static str, Json)>,
        before: &Automerge,
        before_json: &Json,
        after: &Automerge,
    ) {
        let mut by_field: Vec<(&'static str, Vec<Json>)> = Vec::new();
        for (field, value) in fields {
            self.sets
                .entry((doc, field))
                .or_default()
                .push((device, value.clone()));
            match by_field.iter_mut().find(|(f, _)| *f == field) {
                Some((_, values)) => values.push(value),
                None => by_field.push((field, vec![value])),
            }
        }
        // Fields written as a pair (a time and its offset) are both written whenever the pair
        // is not already exactly what the edit sets, so concurrent pair edits never mix.
        let mut pair_writes: Vec<(&'static str, bool, Json)> = Vec::new();
        for (a, b) in PAIRS {
            let values_of = |f: &str| {
                by_field
                    .iter()
                    .find(|(g, _)| *g == f)
                    .map(|(_, v)| v.clone())
            };
            let (Some(va), Some(vb)) = (values_of(a), values_of(b)) else {
                continue;
            };
            let mut current = (before_json[*a].clone(), before_json[*b].clone());
            let mut conflicted = before.get_all(ROOT, *a).unwrap().len() > 1
                || before.get_all(ROOT, *b).unwrap().len() > 1;
            let mut written = false;
            for (x, y) in va.into_iter().zip(vb) {
                if !conflicted && current == (x.clone(), y.clone()) {
                    continue;
                }
                written = true;
                conflicted = false;
                current = (x, y);
            }
            pair_writes.push((a, written, current.0));
            pair_writes.push((b, written, current.1));
        }
        for (field, values) in by_field {
            let visible_before: Vec<String> = before
                .get_all(ROOT, field)
                .unwrap()
                .into_iter()
                .map(|(_, op)| op.to_string())
                .collect();
            let puts = self.puts.entry((doc, field)).or_insert_with(|| {
                assert_eq!(visible_before.len(), 1, "{field}: one value when created");
                vec![Put {
                    op: visible_before[0].clone(),
                    device: 0,
                    value: before_json[field].clone(),
                    replaced: false,
                }]
            });
            let mut visible: Vec<Visible> = visible_before
                .iter()
                .cloned()
                .map(Visible::Before)
                .collect();
            let mut winner =
                Visible::Before(before.get(ROOT, field).unwrap().unwrap().1.to_string());
            let mut shown = before_json[field].clone();
            let pair = pair_writes.iter().find(|(f, _, _)| *f == field).cloned();
            let values = match pair {
                Some((_, written, last)) => {
                    if written {
                        visible = vec![Visible::New];
                        shown = last;
                    }
                    Vec::new()
                }
                None => values,
            };
            for value in values {
                if visible.len() == 1 && shown == value {
                    // The store skips a value the field already holds.
                    continue;
                }
                if shown == value && !value.is_object() {
                    // Putting the scalar shown while others are visible: Automerge deletes the
                    // others and keeps the shown one's operation. (A map is a new object.)
                    visible = vec![winner.clone()];
                } else {
                    visible = vec![Visible::New];
                    winner = Visible::New;
                }
                shown = value;
            }
            for put in puts.iter_mut() {
                if visible_before.contains(&put.op)
                    && !visible.contains(&Visible::Before(put.op.clone()))
                {
                    put.replaced = true;
                }
            }
            if visible.contains(&Visible::New) {
                puts.push(Put {
                    op: after.get(ROOT, field).unwrap().unwrap().1.to_string(),
                    device,
                    value: shown,
                    replaced: false,
                });
            }
        }
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

    /// Turns a generated customer edit into the real one, recording what it appends or adds;
    /// the field it sets, with the value, is pushed to `sets`.
    fn customer_edit(
        &mut self,
        doc: usize,
        device: usize,
        op: &CustomerOp,
        sets: &mut Vec<(&'static str, Json)>,
    ) -> CustomerEdit {
        use CustomerEdit as E;
        match op {
            CustomerOp::Set(edit) => {
                sets.push(match edit {
                    E::Tier(t) => ("tier", json!(t)),
                    E::Phone(v) => ("phone", json!(v)),
                    E::Address(v) => ("address", json!(v)),
                    E::City(v) => ("city", json!(v)),
                    E::Name(v) => ("name", json!(v)),
                    E::Status(s) => ("status", json!(s)),
                    E::KeyAccount(b) => ("key_account", json!(b)),
                    E::CurrentPrice(m) => ("current_price", json!(m)),
                    E::Geo(g) => ("geo", json!(g)),
                    other => unreachable!("not generated: {other:?}"),
                });
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

    /// Turns a generated visit edit into the real one, recording what it appends or adds; the
    /// fields it sets, with their values, are pushed to `sets`.
    fn visit_edit(
        &mut self,
        doc: usize,
        device: usize,
        op: &VisitOp,
        sets: &mut Vec<(&'static str, Json)>,
    ) -> VisitEdit {
        use VisitEdit as E;
        match op {
            VisitOp::Set(edit) => {
                match edit {
                    E::NextStep(v) => sets.push(("next_step", json!(v))),
                    E::Outcome(o) => sets.push(("outcome", json!(o))),
                    E::NextFollowup(v) => sets.push(("next_followup", json!(v))),
                    E::Checkin {
                        at,
                        utc_offset_minutes,
                    } => {
                        sets.push(("checkin_at", json!(at)));
                        sets.push(("utc_offset_minutes", json!(utc_offset_minutes)));
                    }
                    E::QuoteAmount(m) => sets.push(("quote_amount", json!(m))),
                    E::Geo(g) => sets.push(("checkin_geo", json!(g))),
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

// ---- devices and exchanges ----------------------------------------------------------------

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

/// Exchanges every document between every pair of stores until a round changes nothing.
fn exchange_all(stores: &[Store], ids: &[String]) {
    for _ in 0..=MAX_FINAL_ROUNDS {
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
            return;
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
        geo: Some(place(0)),
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
        checkin_geo: Some(place(0)),
        summary: if i == 0 {
            "介绍新款轴承。".into()
        } else {
            String::new()
        },
        people_met: vec![("金立基".into(), Some("采购经理".into()))],
        next_followup: (i == 1).then(|| FOLLOWUPS[0].into()),
        quote_amount: Some(money(0)),
        ..Default::default()
    }
}

/// The devices of one run and the documents they share.
struct World {
    /// Holds the SQLite files.
    dir: tempfile::TempDir,
    stores: Vec<Store>,
    customer_ids: Vec<String>,
    visit_ids: Vec<String>,
    /// Customers, then visits: what `doc` indexes in ops and the model.
    ids: Vec<String>,
    /// Each document as device 0 created it, as JSON.
    initial: Vec<Json>,
}

impl World {
    /// Opens the devices; device 0 creates the documents and every other device receives them
    /// whole, customers or visits first.
    fn new(s: &Scenario) -> World {
        let dir = tempfile::tempdir().unwrap();
        let stores: Vec<Store> = (0..s.devices)
            .map(|n| {
                let store = Store::open(dir.path().join(format!("device_{n}.db"))).unwrap();
                store.set_author(&format!("rep{n}")).unwrap();
                store
            })
            .collect();
        let origin = &stores[0];
        let customer_ids: Vec<String> = (0..s.customers)
            .map(|i| origin.create_customer(new_customer(i)).unwrap())
            .collect();
        let visit_ids: Vec<String> = (0..s.visits)
            .map(|i| origin.create_visit(new_visit(&customer_ids[0], i)).unwrap())
            .collect();
        let ids: Vec<String> = customer_ids.iter().chain(&visit_ids).cloned().collect();
        let initial = ids.iter().map(|id| document_json(origin, id)).collect();
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
        World {
            dir,
            stores,
            customer_ids,
            visit_ids,
            ids,
            initial,
        }
    }

    /// Runs the random phase, recording every edit in the returned model.
    fn play(&self, s: &Scenario) -> Model {
        let mut model = Model::default();
        for op in &s.ops {
            match op {
                Op::EditCustomer {
                    device,
                    customer,
                    edits,
                } => {
                    let (store, id) = (&self.stores[*device], &self.customer_ids[*customer]);
                    let (before, before_json) = (load(store, id), document_json(store, id));
                    let mut sets = Vec::new();
                    let edits: Vec<CustomerEdit> = edits
                        .iter()
                        .map(|e| model.customer_edit(*customer, *device, e, &mut sets))
                        .collect();
                    store
                        .update_customer(id, &edits)
                        .unwrap_or_else(|e| panic!("device {device}: {edits:?} refused: {e}"));
                    let after = load(store, id);
                    model.record_sets(*customer, *device, sets, &before, &before_json, &after);
                }
                Op::EditVisit {
                    device,
                    visit,
                    edits,
                } => {
                    let doc = s.customers + visit;
                    let (store, id) = (&self.stores[*device], &self.visit_ids[*visit]);
                    let (before, before_json) = (load(store, id), document_json(store, id));
                    let mut sets = Vec::new();
                    let edits: Vec<VisitEdit> = edits
                        .iter()
                        .map(|e| model.visit_edit(doc, *device, e, &mut sets))
                        .collect();
                    store
                        .update_visit(id, &edits)
                        .unwrap_or_else(|e| panic!("device {device}: {edits:?} refused: {e}"));
                    let after = load(store, id);
                    model.record_sets(doc, *device, sets, &before, &before_json, &after);
                }
                Op::Exchange {
                    from,
                    to,
                    doc,
                    carry,
                    duplicate,
                } => exchange(
                    &self.stores[*from],
                    &self.stores[*to],
                    &self.ids[*doc],
                    *carry,
                    *duplicate,
                ),
            }
        }
        model
    }
}

/// The device's document `id` as plain Automerge, to ask which changes it has.
fn load(store: &Store, id: &str) -> Automerge {
    Automerge::load(&store.document_bytes(id).unwrap()).unwrap()
}

fn document_json(store: &Store, id: &str) -> Json {
    serde_json::to_value(store.document(id).unwrap()).unwrap()
}

/// Ids of the customers a search finds.
fn search(store: &Store, term: &str) -> Vec<String> {
    store
        .list_customers(&CustomerQuery {
            search: Some(term.to_string()),
            limit: Some(1000),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect()
}

/// Every projection row the queries return, and the customers each search finds, as JSON.
fn projections(store: &Store, customer_ids: &[String], searches: &[(usize, String)]) -> Json {
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
    let found: Vec<Vec<String>> = searches
        .iter()
        .map(|(_, term)| search(store, term))
        .collect();
    json!({ "customers": customers, "visits": visits, "due": due, "found": found })
}

// ---- the property -------------------------------------------------------------------------

fn run(s: &Scenario) {
    let world = World::new(s);
    let model = world.play(s);
    exchange_all(&world.stores, &world.ids);
    check_identical_documents(&world);
    check_projections(&world, &model);
    for d in 0..world.ids.len() {
        let (text_field, list_field) = if d < s.customers {
            ("notes", "contacts")
        } else {
            ("summary", "people_met")
        };
        check_fields(&world, &model, d, &[text_field, list_field], &[]);
        check_text(&world, &model, d, text_field, s.devices);
        check_list(&world, &model, d, list_field);
    }
}

/// Property 1: every device reads the same documents, heads and conflicts.
fn check_identical_documents(world: &World) {
    let origin = &world.stores[0];
    for id in &world.ids {
        let doc = document_json(origin, id);
        let heads = origin.heads(id).unwrap();
        let conflicts = origin.conflicts(id).unwrap();
        for (n, store) in world.stores.iter().enumerate().skip(1) {
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
}

/// Property 2: every device's projection rows are those a fresh store computes from the final
/// documents, and the full-text index finds every paragraph and contact added to a customer.
fn check_projections(world: &World, model: &Model) {
    let origin = &world.stores[0];
    let searches: Vec<(usize, String)> = (0..world.customer_ids.len())
        .flat_map(|c| {
            let paragraphs = model.paragraphs.get(&c).into_iter().flatten();
            let markers = paragraphs.map(move |(_, p)| (c, p[p.rfind('[').unwrap()..].to_string()));
            let names = model.names.get(&c).into_iter().flatten();
            markers.chain(names.map(move |n| (c, n.clone())))
        })
        .collect();
    let fresh = Store::open(world.dir.path().join("fresh.db")).unwrap();
    for id in &world.ids {
        fresh
            .merge_from(&origin.document_bytes(id).unwrap())
            .unwrap();
    }
    let expected = projections(&fresh, &world.customer_ids, &searches);
    for (n, store) in world.stores.iter().enumerate() {
        assert_eq!(
            projections(store, &world.customer_ids, &searches),
            expected,
            "device {n}'s projection rows differ from those of the final documents"
        );
    }
    for (c, term) in &searches {
        let id = &world.customer_ids[*c];
        assert!(
            search(origin, term).contains(id),
            "searching {term:?} does not find customer {id}"
        );
    }
    let rows = origin
        .list_customers(&CustomerQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .unwrap();
    for row in rows {
        let doc = document_json(origin, &row.id);
        let row = serde_json::to_value(&row).unwrap();
        for field in ["name", "tier", "status", "key_account", "city"] {
            assert_eq!(
                row[field], doc[field],
                "customer row {}: {field}",
                row["id"]
            );
        }
        assert_eq!(
            row["contact_count"],
            json!(doc["contacts"].as_array().unwrap().len()),
            "customer row {}: contact_count",
            row["id"]
        );
    }
}

/// Property 3, fields: the values visible in each field are exactly those the model predicts (a
/// put stays until a device that saw it puts another value or resolves the conflict); a field
/// one device set shows the last value it set; when the visible values differ, the conflict
/// view lists each with the device that put it; fields nobody set (other than `skip`) are as
/// they were created. Conflicts inside the entries of a list in `entries_checked` (an order's
/// line quantities) are that list's own property's.
fn check_fields(world: &World, model: &Model, d: usize, skip: &[&str], entries_checked: &[&str]) {
    let origin = &world.stores[0];
    let actors: Vec<String> = world.stores.iter().map(Store::actor_id).collect();
    let id = &world.ids[d];
    let doc = document_json(origin, id);
    let automerge = load(origin, id);
    let conflicts = origin.conflicts(id).unwrap();
    let mut edited: BTreeSet<&str> = BTreeSet::new();
    for ((_, field), sets) in model.sets.range((d, "")..(d + 1, "")) {
        edited.insert(field);
        let shown = &doc[*field];
        let conflict = conflicts.iter().find(|c| c.path == *field);
        let devices: BTreeSet<usize> = sets.iter().map(|(device, _)| *device).collect();
        if devices.len() == 1 {
            let (device, last) = sets.last().unwrap();
            assert_eq!(
                shown, last,
                "{id}.{field}: only device {device} set it, last to {last}, but it reads {shown}"
            );
        }
        let puts = &model.puts[&(d, *field)];
        let live: Vec<&Put> = puts.iter().filter(|p| !p.replaced).collect();
        assert!(
            live.iter().any(|p| &p.value == shown),
            "{id}.{field} reads {shown}, which is none of the values still visible (puts: {puts:?}, settings: {sets:?})"
        );
        let visible: Vec<String> = automerge
            .get_all(ROOT, *field)
            .unwrap()
            .into_iter()
            .map(|(_, op)| op.to_string())
            .collect();
        let lost: Vec<String> = live
            .iter()
            .filter(|p| !visible.contains(&p.op))
            .map(|p| format!("device {}'s {}", p.device, p.value))
            .collect();
        let revived: Vec<&String> = visible
            .iter()
            .filter(|op| !live.iter().any(|p| &p.op == *op))
            .collect();
        assert!(
            lost.is_empty() && revived.is_empty(),
            "{id}.{field} reads {shown}; lost without a conflict: {lost:?}; visible though replaced: {revived:?} (puts: {puts:?}, settings: {sets:?})"
        );
        let values: BTreeSet<String> = live.iter().map(|p| p.value.to_string()).collect();
        if values.len() < 2 {
            assert!(
                conflict.is_none(),
                "{id}.{field}: all visible puts hold {values:?}, yet it is in conflict: {conflict:?}"
            );
            continue;
        }
        let c = conflict.unwrap_or_else(|| {
            panic!("{id}.{field}: visible puts hold {values:?}, but it is not in conflict (puts: {puts:?})")
        });
        let mut expected: Vec<(&str, String)> = live
            .iter()
            .map(|p| (actors[p.device].as_str(), p.value.to_string()))
            .collect();
        let mut listed: Vec<(&str, String)> = c
            .values
            .iter()
            .map(|v| (v.actor.as_str(), v.value.to_string()))
            .collect();
        expected.sort();
        listed.sort();
        assert_eq!(
            listed, expected,
            "{id}.{field}: the conflict lists other values than the visible puts (puts: {puts:?})"
        );
        let winners: Vec<&Json> = c
            .values
            .iter()
            .filter(|v| v.winner)
            .map(|v| &v.value)
            .collect();
        assert_eq!(
            winners,
            [shown],
            "{id}.{field}: the winner is the value shown"
        );
    }
    let checked_elsewhere = |path: &str| {
        entries_checked
            .iter()
            .any(|list| path.starts_with(&format!("{list}[")))
    };
    for c in conflicts.iter().filter(|c| !checked_elsewhere(&c.path)) {
        assert!(
            edited.contains(c.path.as_str()),
            "{id}: conflict listed at {}, which is not a field any edit set: {c:?}",
            c.path
        );
    }
    for (key, value) in world.initial[d].as_object().unwrap() {
        if !edited.contains(key.as_str()) && !skip.contains(&key.as_str()) {
            assert_eq!(&doc[key], value, "{id}.{key} changed though nobody set it");
        }
    }
}

/// Property 3, text: the text keeps its first text and holds every appended paragraph exactly
/// once, each device's in the order that device appended them.
fn check_text(world: &World, model: &Model, d: usize, field: &str, devices: usize) {
    let id = &world.ids[d];
    let doc = document_json(&world.stores[0], id);
    let text = doc[field].as_str().unwrap();
    let first = world.initial[d][field].as_str().unwrap();
    assert!(
        text.starts_with(first),
        "{id}.{field} lost its first text {first:?}: {text:?}"
    );
    let paragraphs = model.paragraphs.get(&d).map_or(&[][..], Vec::as_slice);
    for (_, p) in paragraphs {
        assert_eq!(
            text.matches(p.as_str()).count(),
            1,
            "{id}.{field} should hold {p:?} once: {text:?}"
        );
    }
    for device in 0..devices {
        let positions: Vec<usize> = paragraphs
            .iter()
            .filter(|(by, _)| *by == device)
            .map(|(_, p)| text.find(p.as_str()).unwrap())
            .collect();
        assert!(
            positions.is_sorted(),
            "{id}.{field}: device {device}'s paragraphs are out of order: {text:?}"
        );
    }
}

/// Property 3, lists: the list holds its first entries, every added one exactly once, and
/// nothing else.
fn check_list(world: &World, model: &Model, d: usize, field: &str) {
    let id = &world.ids[d];
    let doc = document_json(&world.stores[0], id);
    let names: Vec<&str> = doc[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["name"].as_str().unwrap())
        .collect();
    let first: Vec<&str> = world.initial[d][field]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["name"].as_str().unwrap())
        .collect();
    let added = model.names.get(&d).map_or(&[][..], Vec::as_slice);
    for name in first
        .iter()
        .copied()
        .chain(added.iter().map(String::as_str))
    {
        assert!(
            names.contains(&name),
            "{id}.{field} lost {name:?}: {names:?}"
        );
    }
    for name in added {
        assert_eq!(
            names.iter().filter(|n| *n == name).count(),
            1,
            "{id}.{field} should hold {name:?} once: {names:?}"
        );
    }
    assert_eq!(
        names.len(),
        first.len() + added.len(),
        "{id}.{field} has entries nobody added: {names:?}"
    );
}

// ---- orders -------------------------------------------------------------------------------

/// Quantities and prices the devices pick from; small pools, so devices often set a line to the
/// quantity it already has, or two devices set it to the same one.
const QUANTITIES: &[i64] = &[1, 2, 5, 12];
const UNIT_PRICES: &[i64] = &[800, 1_500, 20_000];
/// The lines device 0 creates the order with: (product, quantity, unit price).
const FIRST_LINES: &[(&str, i64, i64)] = &[("6204", 10, 1_500), ("6300", 1, 800)];

/// An order edit as generated; a new line's product gets a unique marker when applied.
#[derive(Debug, Clone)]
enum OrderOp {
    AddLine {
        quantity: i64,
        unit_price: i64,
    },
    /// The quantity of the line at this index (modulo their number) among the lines the device
    /// holds when the edit call starts.
    Quantity {
        line: usize,
        quantity: i64,
    },
    Set(OrderEdit),
}

#[derive(Debug, Clone)]
enum OrderStep {
    Edit {
        device: usize,
        edits: Vec<OrderOp>,
    },
    Exchange {
        from: usize,
        to: usize,
        carry: Carry,
        duplicate: bool,
    },
}

#[derive(Debug, Clone)]
struct OrderScenario {
    devices: usize,
    steps: Vec<OrderStep>,
}

fn order_op() -> impl Strategy<Value = OrderOp> {
    prop_oneof![
        3 => (select(QUANTITIES), select(UNIT_PRICES))
            .prop_map(|(quantity, unit_price)| OrderOp::AddLine { quantity, unit_price }),
        4 => (0usize..8, select(QUANTITIES))
            .prop_map(|(line, quantity)| OrderOp::Quantity { line, quantity }),
        1 => opt_str(NEXT_STEPS).prop_map(|v| OrderOp::Set(OrderEdit::Note(v))),
        1 => opt_str(FOLLOWUPS).prop_map(|v| OrderOp::Set(OrderEdit::DeliveryDate(v))),
    ]
}

fn order_scenario() -> impl Strategy<Value = OrderScenario> {
    (3usize..=5).prop_flat_map(|devices| {
        let edit = (0..devices, proptest::collection::vec(order_op(), 1..=3))
            .prop_map(|(device, edits)| OrderStep::Edit { device, edits });
        let exchange = (0..devices, 1..devices, carry(), any::<bool>()).prop_map(
            move |(from, offset, carry, duplicate)| OrderStep::Exchange {
                from,
                to: (from + offset) % devices,
                carry,
                duplicate,
            },
        );
        proptest::collection::vec(prop_oneof![3 => edit, 2 => exchange], 5..=40)
            .prop_map(move |steps| OrderScenario { devices, steps })
    })
}

/// What the devices did to the order's lines.
#[derive(Debug, Default)]
struct LineModel {
    /// Line id → every quantity put into the line (its creation's first), as observed on the
    /// device that made it.
    puts: BTreeMap<String, Vec<Put>>,
    /// Line id → every quantity a device set, with the device, in order.
    sets: BTreeMap<String, Vec<(usize, i64)>>,
    /// The products of every line, the first ones and every one added.
    products: Vec<String>,
}

/// The map of the line `id` in the order `doc`.
fn line_obj(doc: &Automerge, id: &str) -> Option<ObjId> {
    let (_, lines) = doc.get(ROOT, "lines").unwrap()?;
    (0..doc.length(&lines)).find_map(|i| {
        let (value, line) = doc.get(&lines, i).unwrap()?;
        let matches = matches!(value, automerge::Value::Object(ObjType::Map))
            && doc
                .get(&line, "id")
                .unwrap()
                .is_some_and(|(v, _)| v.as_str() == Some(id));
        matches.then_some(line)
    })
}

/// The quantity operations visible in line `id` of `doc` (none if it has no such line).
fn quantity_ops(doc: &Automerge, id: &str) -> Vec<String> {
    line_obj(doc, id).map_or(Vec::new(), |line| {
        doc.get_all(&line, "quantity")
            .unwrap()
            .into_iter()
            .map(|(_, op)| op.to_string())
            .collect()
    })
}

fn order_lines(store: &Store, id: &str) -> Vec<fieldsync_core::model::order::OrderLine> {
    store.get::<Order>(id).unwrap().lines
}

impl LineModel {
    /// Records what one edit call on `device` did to the quantities, from the order before and
    /// after it: puts it made visible, and visible puts it replaced.
    fn observe(&mut self, device: usize, before: &Automerge, after: &Automerge, lines: &[String]) {
        for id in lines {
            let was = quantity_ops(before, id);
            let now = quantity_ops(after, id);
            let puts = self.puts.entry(id.clone()).or_default();
            for put in puts.iter_mut() {
                if was.contains(&put.op) && !now.contains(&put.op) {
                    put.replaced = true;
                }
            }
            let line = line_obj(after, id).unwrap();
            for (value, op) in after.get_all(&line, "quantity").unwrap() {
                let op = op.to_string();
                if !was.contains(&op) {
                    let value = match value {
                        automerge::Value::Scalar(v) => json!(v.as_i64().unwrap()),
                        other => panic!("line {id}: quantity is {other:?}"),
                    };
                    puts.push(Put {
                        op,
                        device,
                        value,
                        replaced: false,
                    });
                }
            }
        }
    }
}

/// A draft order of li.wei's with [`FIRST_LINES`].
fn new_order() -> fieldsync_core::model::Order {
    NewOrder {
        customer: new_id(),
        owner: "li.wei".into(),
        date: "2026-03-02".into(),
        payment_terms: Some("30 days net".into()),
        ..Default::default()
    }
    .build(new_id(), now_string())
    .unwrap()
}

fn add_line(product: String, quantity: i64, unit_price: i64) -> OrderEdit {
    OrderEdit::AddLine {
        product,
        name: "深沟球轴承".into(),
        quantity,
        unit: "box".into(),
        unit_price,
        unit_cost: None,
    }
}

impl World {
    /// Opens the devices; device 0 creates the order and every other device receives it whole.
    fn with_order(devices: usize, lines: &mut LineModel) -> World {
        let dir = tempfile::tempdir().unwrap();
        let stores: Vec<Store> = (0..devices)
            .map(|n| {
                let store = Store::open(dir.path().join(format!("device_{n}.db"))).unwrap();
                store.set_author(&format!("rep{n}")).unwrap();
                store
            })
            .collect();
        let origin = &stores[0];
        let id = origin.create(new_order()).unwrap();
        let before = load(origin, &id);
        let first: Vec<OrderEdit> = FIRST_LINES
            .iter()
            .map(|(product, quantity, price)| add_line(product.to_string(), *quantity, *price))
            .collect();
        let made = origin.edit::<Order>(&id, &first).unwrap();
        let ids: Vec<String> = made.lines.iter().map(|l| l.id.clone()).collect();
        lines.observe(0, &before, &load(origin, &id), &ids);
        lines
            .products
            .extend(FIRST_LINES.iter().map(|(p, ..)| p.to_string()));
        for store in &stores[1..] {
            store
                .merge_from(&origin.document_bytes(&id).unwrap())
                .unwrap();
        }
        World {
            initial: vec![document_json(origin, &id)],
            dir,
            stores,
            customer_ids: Vec::new(),
            visit_ids: Vec::new(),
            ids: vec![id],
        }
    }

    /// Runs the order scenario's steps, recording every edit.
    fn play_order(&self, s: &OrderScenario, model: &mut Model, lines: &mut LineModel) {
        let id = &self.ids[0];
        for step in &s.steps {
            match step {
                OrderStep::Edit { device, edits } => {
                    let store = &self.stores[*device];
                    let (before, before_json) = (load(store, id), document_json(store, id));
                    let held: Vec<String> =
                        order_lines(store, id).into_iter().map(|l| l.id).collect();
                    let mut sets = Vec::new();
                    let mut quantities = Vec::new();
                    let edits: Vec<OrderEdit> = edits
                        .iter()
                        .map(|op| match op {
                            OrderOp::AddLine {
                                quantity,
                                unit_price,
                            } => {
                                let product = format!("P{}", model.next());
                                lines.products.push(product.clone());
                                add_line(product, *quantity, *unit_price)
                            }
                            OrderOp::Quantity { line, quantity } => {
                                let line = held[line % held.len()].clone();
                                quantities.push((line.clone(), *quantity));
                                OrderEdit::LineQuantity {
                                    id: line,
                                    quantity: *quantity,
                                }
                            }
                            OrderOp::Set(edit) => {
                                sets.push(match edit {
                                    OrderEdit::Note(v) => ("note", json!(v)),
                                    OrderEdit::DeliveryDate(v) => ("delivery_date", json!(v)),
                                    other => unreachable!("not generated: {other:?}"),
                                });
                                edit.clone()
                            }
                        })
                        .collect();
                    let after_view = store
                        .edit::<Order>(id, &edits)
                        .unwrap_or_else(|e| panic!("device {device}: {edits:?} refused: {e}"));
                    let after = load(store, id);
                    model.record_sets(0, *device, sets, &before, &before_json, &after);
                    let now: Vec<String> = after_view.lines.iter().map(|l| l.id.clone()).collect();
                    lines.observe(*device, &before, &after, &now);
                    // The device shows the last quantity it set in this call.
                    for (line, quantity) in &quantities {
                        lines
                            .sets
                            .entry(line.clone())
                            .or_default()
                            .push((*device, *quantity));
                    }
                    for (line, _) in &quantities {
                        let last = quantities.iter().rev().find(|(l, _)| l == line).unwrap().1;
                        let shown = after_view.lines.iter().find(|l| &l.id == line).unwrap();
                        assert_eq!(
                            shown.quantity, last,
                            "device {device}: line {line} after setting it to {last}"
                        );
                    }
                }
                OrderStep::Exchange {
                    from,
                    to,
                    carry,
                    duplicate,
                } => exchange(
                    &self.stores[*from],
                    &self.stores[*to],
                    id,
                    *carry,
                    *duplicate,
                ),
            }
        }
    }
}

fn run_order(s: &OrderScenario) {
    let mut lines = LineModel::default();
    let world = World::with_order(s.devices, &mut lines);
    let mut model = Model::default();
    world.play_order(s, &mut model, &mut lines);
    exchange_all(&world.stores, &world.ids);
    check_identical_documents(&world);
    check_fields(&world, &model, 0, &["lines"], &["lines"]);
    check_lines(&world, &lines);
    check_order_rows(&world);
}

/// Every line added on any device is in the order exactly once, and each line's quantity keeps
/// every put no device replaced after seeing it: those are exactly the visible ones, one of
/// them shown (the last one set, if only one device set it), and when their values differ the
/// conflict view lists exactly them, each with the device that put it, and only then.
fn check_lines(world: &World, model: &LineModel) {
    let origin = &world.stores[0];
    let id = &world.ids[0];
    let lines = order_lines(origin, id);
    let automerge = load(origin, id);
    let conflicts = origin.conflicts(id).unwrap();
    let actors: Vec<String> = world.stores.iter().map(Store::actor_id).collect();

    let mut products: Vec<&str> = lines.iter().map(|l| l.product.as_str()).collect();
    let mut expected: Vec<&str> = model.products.iter().map(String::as_str).collect();
    products.sort();
    expected.sort();
    assert_eq!(products, expected, "{id}: the lines are not those added");
    let ids: BTreeSet<&str> = lines.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids.len(), lines.len(), "{id}: a line id is repeated");

    for line in &lines {
        let puts = &model.puts[&line.id];
        let live: Vec<&Put> = puts.iter().filter(|p| !p.replaced).collect();
        let mut visible = quantity_ops(&automerge, &line.id);
        let mut kept: Vec<String> = live.iter().map(|p| p.op.clone()).collect();
        visible.sort();
        kept.sort();
        assert_eq!(
            visible, kept,
            "line {} ({}): the visible quantities are not those no device replaced (puts: {puts:?})",
            line.id, line.product
        );
        let shown = json!(line.quantity);
        assert!(
            live.iter().any(|p| p.value == shown),
            "line {}: shows {shown}, which is none of its live puts: {puts:?}",
            line.id
        );
        if let Some(sets) = model.sets.get(&line.id) {
            let devices: BTreeSet<usize> = sets.iter().map(|(d, _)| *d).collect();
            if devices.len() == 1 {
                let (device, last) = sets.last().unwrap();
                assert_eq!(
                    line.quantity, *last,
                    "line {}: only device {device} set it, last to {last}",
                    line.id
                );
            }
        }
        let path = format!("lines[{}].quantity", line.id);
        let conflict = conflicts.iter().find(|c| c.path == path);
        let values: BTreeSet<String> = live.iter().map(|p| p.value.to_string()).collect();
        if values.len() < 2 {
            assert!(
                conflict.is_none(),
                "{path}: every live put holds {values:?}, yet it is in conflict: {conflict:?}"
            );
            continue;
        }
        let c = conflict
            .unwrap_or_else(|| panic!("{path}: live puts hold {values:?}, but no conflict"));
        let mut listed: Vec<(&str, String)> = c
            .values
            .iter()
            .map(|v| (v.actor.as_str(), v.value.to_string()))
            .collect();
        let mut want: Vec<(&str, String)> = live
            .iter()
            .map(|p| (actors[p.device].as_str(), p.value.to_string()))
            .collect();
        listed.sort();
        want.sort();
        assert_eq!(listed, want, "{path}: the conflict lists other values");
        let winners: Vec<&Json> = c
            .values
            .iter()
            .filter(|v| v.winner)
            .map(|v| &v.value)
            .collect();
        assert_eq!(winners, [&shown], "{path}: the winner is the value shown");
    }
    for c in conflicts.iter().filter(|c| c.path.starts_with("lines[")) {
        assert!(
            c.path.ends_with("].quantity"),
            "{id}: conflict in a line at {}, which no edit sets: {c:?}",
            c.path
        );
    }
}

/// Every device's order list shows the row a fresh store computes from the final document,
/// with the lines' count and total.
fn check_order_rows(world: &World) {
    let origin = &world.stores[0];
    let id = &world.ids[0];
    let fresh = Store::open(world.dir.path().join("fresh.db")).unwrap();
    fresh
        .merge_from(&origin.document_bytes(id).unwrap())
        .unwrap();
    let expected = fresh.list_orders(&OrderQuery::default()).unwrap();
    assert_eq!(expected.len(), 1);
    let order = origin.get::<Order>(id).unwrap();
    assert_eq!(expected[0].line_count, order.lines.len() as i64);
    assert_eq!(expected[0].total_amount, order.total().unwrap());
    for (n, store) in world.stores.iter().enumerate() {
        assert_eq!(
            store.list_orders(&OrderQuery::default()).unwrap(),
            expected,
            "device {n}'s order row differs from that of the final document"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Strings, enums, booleans, text paragraphs and list entries.
    #[test]
    fn devices_converge_without_losing_edits(s in scenario(Edits::Plain)) {
        run(&s);
    }

    /// The same, with edits that set a whole Money or Geo value: such a value merges as one
    /// value, so devices never end up with an amount from one edit and a currency from another.
    #[test]
    fn money_and_geo_values_merge_whole(s in scenario(Edits::WithMoneyAndGeo)) {
        run(&s);
    }

    /// An order's lines added and their quantities changed on several devices: every line is
    /// kept once, and no quantity is lost.
    #[test]
    fn order_lines_converge_without_losing_a_line_or_a_quantity(s in order_scenario()) {
        run_order(&s);
    }
}
