//! Writes through the `fieldsync` CLI, and what each one promises once it is acknowledged (the
//! CLI printed its result and exited 0): checks that every acknowledged write is there.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fieldsync_tests::cli::Home;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use super::files::ids_of_kind;

/// Writes the user has been told about: the CLI printed its result and exited 0.
#[derive(Debug, Default)]
pub struct Acknowledged {
    /// Customer id → (name, a token found only in that name).
    pub customers: BTreeMap<String, (String, String)>,
    /// (customer, text appended to its notes).
    pub notes: Vec<(String, String)>,
    /// (visit, its customer, a token in its summary).
    pub visits: Vec<(String, String, String)>,
    /// (customer, contact name).
    pub contacts: Vec<(String, String)>,
}

/// One write through the CLI.
#[derive(Debug, Clone)]
pub enum Write {
    Customer { name: String, token: String },
    Note { customer: String, text: String },
    Visit { customer: String, token: String },
    Contact { customer: String, name: String },
}

impl Write {
    /// A random write; `n` makes its tokens unique.
    pub fn random(rng: &mut ChaCha8Rng, acked: &Acknowledged, n: usize) -> Write {
        let token = format!("T{n:05}Q");
        let known: Vec<&String> = acked.customers.keys().collect();
        if known.is_empty() || rng.random_ratio(1, 4) {
            return Write::Customer {
                name: format!("华东{n}号精密机械 {token}"),
                token,
            };
        }
        let customer = known[rng.random_range(0..known.len())].clone();
        match rng.random_range(0..3) {
            0 => Write::Note {
                customer,
                text: format!("第{n}次补充 {token}"),
            },
            1 => Write::Visit { customer, token },
            _ => Write::Contact {
                customer,
                name: format!("联系人{n}"),
            },
        }
    }

    pub fn args(&self) -> Vec<String> {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            Write::Customer { name, .. } => {
                v(&["customer", "add", "--name", name, "--city", "苏州"])
            }
            Write::Note { customer, text } => v(&["customer", "note", customer, text]),
            Write::Visit { customer, token } => v(&[
                "visit",
                "add",
                "--customer",
                customer,
                "--summary",
                &format!("介绍新款轴承 {token}"),
                "--met",
                "金立基:采购经理",
            ]),
            Write::Contact { customer, name } => v(&[
                "contact", "add", customer, "--name", name, "--title", "厂长",
            ]),
        }
    }

    pub fn command(&self, home: &Home) -> std::process::Command {
        let args = self.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        home.command(&args).unwrap()
    }

    /// Records the write as acknowledged, given what the CLI printed.
    pub fn acknowledge(self, acked: &mut Acknowledged, stdout: &str) {
        let printed = stdout.trim().to_string();
        match self {
            Write::Customer { name, token } => {
                acked.customers.insert(printed, (name, token));
            }
            Write::Note { customer, text } => acked.notes.push((customer, text)),
            Write::Visit { customer, token } => acked.visits.push((printed, customer, token)),
            Write::Contact { customer, name } => acked.contacts.push((customer, name)),
        }
    }
}

/// Runs `write` to completion; it must succeed.
pub fn write_through_cli(home: &Home, write: Write, acked: &mut Acknowledged) {
    let args = write.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = home.run(&args).unwrap();
    let out = run.ok().to_string();
    write.acknowledge(acked, &out);
}

/// Runs the CLI to completion and parses its `--json` output; it must succeed.
pub fn cli_json(home: &Home, args: &[&str]) -> Value {
    let run = home.run(args).unwrap();
    serde_json::from_str(run.ok())
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", run.stdout))
}

/// The ids of the rows a CLI list command printed as JSON.
fn listed_ids(home: &Home, args: &[&str]) -> BTreeSet<String> {
    let listed = cli_json(home, args);
    // `customer list` pages, with the total beside its rows; `visit list` is the rows alone.
    listed
        .get("customers")
        .unwrap_or(&listed)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The CLI still works after a kill and its lists agree with the documents in the file:
/// `customer list` and `visit list` show exactly the customers and visits the file holds,
/// which include every acknowledged one.
pub fn check_lists_match_documents(home: &Home, db: &Path, acked: &Acknowledged, when: &str) {
    let listed = listed_ids(home, &["customer", "list", "--json", "--limit", "1000000"]);
    assert_eq!(
        listed,
        ids_of_kind(db, "customer"),
        "{when}: the customer list disagrees with the documents"
    );
    for id in acked.customers.keys() {
        assert!(
            listed.contains(id),
            "{when}: acknowledged customer {id} lost"
        );
    }
    let visits = listed_ids(home, &["visit", "list", "--json"]);
    assert_eq!(
        visits,
        ids_of_kind(db, "visit"),
        "{when}: the visit list disagrees with the documents"
    );
    for (id, _, _) in &acked.visits {
        assert!(visits.contains(id), "{when}: acknowledged visit {id} lost");
    }
}

/// Every acknowledged write is in the documents `doc` returns (customers and visits as JSON).
pub fn check_acknowledged_present(
    acked: &Acknowledged,
    where_: &str,
    doc: impl Fn(&str) -> Option<Value>,
) {
    for (id, (name, _)) in &acked.customers {
        let c = doc(id).unwrap_or_else(|| panic!("acknowledged customer {id} is not {where_}"));
        assert_eq!(c["name"].as_str(), Some(name.as_str()), "{id} {where_}");
    }
    for (cid, text) in &acked.notes {
        let c = doc(cid).unwrap_or_else(|| panic!("customer {cid} is not {where_}"));
        assert!(
            c["notes"]
                .as_str()
                .unwrap_or_default()
                .contains(text.as_str()),
            "acknowledged note '{text}' of {cid} is not {where_}"
        );
    }
    for (cid, name) in &acked.contacts {
        let c = doc(cid).unwrap_or_else(|| panic!("customer {cid} is not {where_}"));
        let contacts = c["contacts"].as_array().cloned().unwrap_or_default();
        assert!(
            contacts.iter().any(|p| p["name"].as_str() == Some(name)),
            "acknowledged contact {name} of {cid} is not {where_}"
        );
    }
    for (vid, cid, token) in &acked.visits {
        let v = doc(vid).unwrap_or_else(|| panic!("acknowledged visit {vid} is not {where_}"));
        assert_eq!(v["customer"].as_str(), Some(cid.as_str()), "{vid} {where_}");
        assert!(
            v["summary"]
                .as_str()
                .unwrap_or_default()
                .contains(token.as_str()),
            "acknowledged visit {vid} lost its summary {where_}"
        );
    }
}
