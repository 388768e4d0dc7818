//! Writing a batch of accepted commits in a few statements, whatever its size.
//!
//! Each statement to PostgreSQL is a round trip; written one document at a time, a batch of
//! 200 pushed documents cost well over a thousand of them (its base heads checked, one log
//! insert per change, its row, its dependents' scope, its read-model row). Here the commits are
//! taken in runs, and each run is written with one statement per table, its rows passed as
//! arrays and unpacked by `unnest`: the base heads of every document in one query, the changes
//! the log already holds in one, then the log rows, the document rows, the dependents' scope
//! and the read-model rows in one statement each.
//!
//! A run is the longest stretch of commits none of which names a document an earlier one of
//! the run writes (as itself, its customer or the customer its scope was checked against): in
//! such a run, writing table by table gives exactly the rows writing commit by commit gives,
//! and every base check sees the stored state that commit was checked against. A batch is
//! almost always one run (claims keep a document and its customer's scope to one push until
//! its write is durable).

use std::collections::{HashMap, HashSet};

use super::{Tx, attachments, read_model};
use crate::storage::{CHANGE_SESSIONS, DocCommit, DocKind, StorageError, StorageResult};

/// Writes `commits` inside the caller's transaction, numbering their log rows from `next`;
/// returns each one's last seq (0: nothing new).
pub(super) fn write_commits(
    tx: &mut Tx<'_>,
    commits: &[DocCommit],
    received: i64,
    next: &mut i64,
) -> StorageResult<Vec<u64>> {
    let mut seqs = Vec::with_capacity(commits.len());
    let mut rest = commits;
    while !rest.is_empty() {
        let (run, after) = rest.split_at(run_len(rest));
        seqs.extend(write_run(tx, run, received, next)?);
        rest = after;
    }
    Ok(seqs)
}

/// How many commits from the first can be written together: up to the first that names a
/// document an earlier one writes.
fn run_len(commits: &[DocCommit]) -> usize {
    let mut written = HashSet::new();
    for (i, c) in commits.iter().enumerate() {
        let mut named = std::iter::once(&c.scope.id)
            .chain(&c.scope.customer)
            .chain(c.base_customer.as_ref().map(|(id, _)| id));
        if named.any(|id| written.contains(id.as_str())) {
            return i;
        }
        written.insert(c.scope.id.as_str());
    }
    commits.len()
}

fn write_run(
    tx: &mut Tx<'_>,
    run: &[DocCommit],
    received: i64,
    next: &mut i64,
) -> StorageResult<Vec<u64>> {
    check_bases(tx, run)?;
    let logged = already_logged(tx, run)?;
    let mut log = LogRows::default();
    let mut docs = DocRows::default();
    let mut seqs = Vec::with_capacity(run.len());
    let mut saves = FirstSaves::default();
    for c in run {
        let mut first: Option<i64> = None;
        let mut last: i64 = 0;
        let mut last_change: i64 = 0;
        for change in &c.changes {
            if logged.contains(&(c.scope.id.as_str(), change.hash.as_str())) {
                continue;
            }
            *next += 1;
            log.change(*next, c, change);
            last = *next;
            last_change = *next;
            first.get_or_insert(*next);
        }
        for e in &c.scope_events {
            *next += 1;
            log.scope_event(*next, e);
            last = *next;
        }
        if let Some(first) = first {
            docs.push(c, first, last, last_change);
            // The save holds what this commit logged (a new document's one change).
            if let Some(save) = &c.first_save {
                saves.push(&c.scope.id, first, save);
            }
        }
        seqs.push(last.max(0) as u64);
    }
    log.insert(tx, received)?;
    docs.upsert(tx)?;
    saves.insert(tx)?;
    for c in run {
        if let Some(uses) = &c.attachments {
            attachments::write_uses(tx, &c.scope.id, uses, received / 1000)?;
        }
        if let Some(snapshot) = &c.snapshot {
            tx.execute(
                "UPDATE docs SET snapshot = $2, snapshot_seq = (
                     SELECT coalesce(max(seq), 0) FROM log WHERE doc_id = $1 AND event = 'change')
                 WHERE id = $1",
                &[&c.scope.id, &snapshot],
            )?;
        }
    }
    let views: Vec<_> = run.iter().filter_map(|c| c.view.as_ref()).collect();
    read_model::write_views(tx, &views)?;
    Ok(seqs)
}

/// What each change was checked against must still be what is stored (see
/// `DocCommit::base_heads`): the document itself, and the customer whose scope it takes.
fn check_bases(tx: &mut Tx<'_>, run: &[DocCommit]) -> StorageResult<()> {
    let checked: Vec<(&DocCommit, &String, &String)> = run
        .iter()
        .flat_map(|c| {
            let own = c.base_heads.as_ref().map(|heads| (c, &c.scope.id, heads));
            let customer = c.base_customer.as_ref().map(|(id, heads)| (c, id, heads));
            own.into_iter().chain(customer)
        })
        .collect();
    if checked.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = checked.iter().map(|(_, id, _)| id.as_str()).collect();
    let stored: HashMap<String, String> = tx
        .query(
            "SELECT u.id, d.heads FROM unnest($1::text[]) AS u(id)
             CROSS JOIN LATERAL (SELECT heads FROM docs WHERE docs.id = u.id OFFSET 0) AS d",
            &[&ids],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<StorageResult<_>>()?;
    for (c, id, base) in checked {
        if stored.get(id.as_str()).map_or("", String::as_str) != base.as_str() {
            return Err(StorageError::Unavailable {
                why: "another server node wrote the same document at the same moment",
                detail: format!(
                    "document {id} is no longer at the heads {} was checked against",
                    c.scope.id
                ),
            });
        }
    }
    Ok(())
}

/// The changes of `run` the log already holds, as (document, hash): each is logged once.
fn already_logged<'r>(
    tx: &mut Tx<'_>,
    run: &'r [DocCommit],
) -> StorageResult<HashSet<(&'r str, &'r str)>> {
    let (docs, hashes): (Vec<&str>, Vec<&str>) = run
        .iter()
        .flat_map(|c| {
            c.changes
                .iter()
                .map(|ch| (c.scope.id.as_str(), ch.hash.as_str()))
        })
        .unzip();
    if docs.is_empty() {
        return Ok(HashSet::new());
    }
    let found: HashSet<(String, String)> = tx
        .query(
            "SELECT u.doc_id, u.hash FROM unnest($1::text[], $2::text[]) AS u(doc_id, hash)
             CROSS JOIN LATERAL (
                 SELECT 1 FROM log
                 WHERE log.doc_id = u.doc_id AND log.hash = u.hash AND log.event = 'change'
                 OFFSET 0) AS l",
            &[&docs, &hashes],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<StorageResult<_>>()?;
    // Two commits of one run never hold the same change (a run writes each document once).
    Ok(docs
        .into_iter()
        .zip(hashes)
        .filter(|(d, h)| found.contains(&(d.to_string(), h.to_string())))
        .collect())
}

/// The log rows of a run, column by column.
#[derive(Default)]
struct LogRows<'r> {
    seq: Vec<i64>,
    doc_id: Vec<&'r str>,
    event: Vec<&'static str>,
    username: Vec<Option<&'r str>>,
    hash: Vec<Option<&'r str>>,
    bytes: Vec<Option<&'r [u8]>>,
    device_time: Vec<Option<i64>>,
    writer: Vec<Option<&'r str>>,
    session: Vec<Option<&'r str>>,
}

impl<'r> LogRows<'r> {
    fn change(&mut self, seq: i64, c: &'r DocCommit, change: &'r crate::storage::LoggedChange) {
        self.seq.push(seq);
        self.doc_id.push(&c.scope.id);
        self.event.push("change");
        self.username.push(None);
        self.hash.push(Some(&change.hash));
        self.bytes.push(Some(&change.bytes));
        self.device_time.push(Some(change.device_time));
        self.writer.push(Some(&c.writer));
        self.session.push(c.session.as_deref());
    }

    fn scope_event(&mut self, seq: i64, e: &'r crate::storage::ScopeEvent) {
        self.seq.push(seq);
        self.doc_id.push(&e.doc_id);
        self.event.push(if e.entered { "enter" } else { "leave" });
        self.username.push(Some(&e.username));
        self.hash.push(None);
        self.bytes.push(None);
        self.device_time.push(None);
        self.writer.push(None);
        self.session.push(None);
    }

    fn insert(&self, tx: &mut Tx<'_>, received: i64) -> StorageResult<()> {
        if self.seq.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO log(seq, doc_id, event, username, hash, bytes, device_time, received_at, writer, session)
             SELECT r.seq, r.doc_id, r.event, r.username, r.hash, r.bytes, r.device_time, $10, r.writer, r.session
             FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[],
                         $7::int8[], $8::text[], $9::text[])
                  AS r(seq, doc_id, event, username, hash, bytes, device_time, writer, session)",
            &[
                &self.seq, &self.doc_id, &self.event, &self.username, &self.hash, &self.bytes,
                &self.device_time, &self.writer, &self.session, &received,
            ],
        )?;
        Ok(())
    }
}

/// The saves of the new documents of a run ([`DocCommit::first_save`]), column by column.
#[derive(Default)]
struct FirstSaves<'r> {
    doc_id: Vec<&'r str>,
    seq: Vec<i64>,
    bytes: Vec<&'r [u8]>,
}

impl<'r> FirstSaves<'r> {
    fn push(&mut self, doc_id: &'r str, seq: i64, bytes: &'r [u8]) {
        self.doc_id.push(doc_id);
        self.seq.push(seq);
        self.bytes.push(bytes);
    }

    fn insert(&self, tx: &mut Tx<'_>) -> StorageResult<()> {
        if self.doc_id.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO doc_saves(doc_id, seq, bytes)
             SELECT * FROM unnest($1::text[], $2::int8[], $3::bytea[])
             ON CONFLICT (doc_id) DO NOTHING",
            &[&self.doc_id, &self.seq, &self.bytes],
        )?;
        Ok(())
    }
}

/// The statement [`DocRows::upsert`] writes the rows with, one array a column.
static UPSERT_DOCS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO docs(id, kind, territory, owner, customer, author, approver, first_seq, last_seq, heads,
                          scope_owner, scope_territory, history_ops, history_bytes, change_seq, change_session)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::int8[], $9::int8[], $10::text[], $11::text[], $12::text[],
                              $13::int8[], $14::int8[], $15::int8[], $16::text[])
         ON CONFLICT (id) DO UPDATE SET territory = excluded.territory, owner = excluded.owner,
            customer = excluded.customer, author = excluded.author, approver = excluded.approver,
            last_seq = excluded.last_seq, heads = excluded.heads,
            scope_owner = excluded.scope_owner, scope_territory = excluded.scope_territory,
            history_ops = docs.history_ops + excluded.history_ops,
            history_bytes = docs.history_bytes + excluded.history_bytes, {CHANGE_SESSIONS}"
    )
});

/// The document rows of a run's commits that logged something, column by column.
#[derive(Default)]
struct DocRows<'r> {
    id: Vec<&'r str>,
    kind: Vec<&'static str>,
    territory: Vec<Option<&'r str>>,
    owner: Vec<Option<&'r str>>,
    customer: Vec<Option<&'r str>>,
    author: Vec<Option<&'r str>>,
    approver: Vec<Option<&'r str>>,
    first_seq: Vec<i64>,
    last_seq: Vec<i64>,
    heads: Vec<&'r str>,
    scope_owner: Vec<Option<&'r str>>,
    scope_territory: Vec<Option<&'r str>>,
    ops: Vec<i64>,
    bytes: Vec<i64>,
    change_seq: Vec<i64>,
    change_session: Vec<&'r str>,
}

impl<'r> DocRows<'r> {
    fn push(&mut self, c: &'r DocCommit, first: i64, last: i64, last_change: i64) {
        let s = &c.scope;
        self.id.push(&s.id);
        self.kind.push(s.kind.as_str());
        self.territory.push(s.territory.as_deref());
        self.owner.push(s.owner.as_deref());
        self.customer.push(s.customer.as_deref());
        self.author.push(s.author.as_deref());
        self.approver.push(s.approver.as_deref());
        self.first_seq.push(first);
        self.last_seq.push(last);
        self.heads.push(&c.heads);
        self.scope_owner.push(c.governed_by.0.as_deref());
        self.scope_territory.push(c.governed_by.1.as_deref());
        self.ops.push(c.cost.ops as i64);
        self.bytes.push(c.cost.bytes as i64);
        self.change_seq.push(last_change);
        self.change_session
            .push(c.session.as_deref().unwrap_or_default());
    }

    /// Inserts or updates the rows; then the documents that belong to them (a customer's
    /// visits) take their scope. The scope columns come computed (`DocCommit::governed_by`).
    fn upsert(&self, tx: &mut Tx<'_>) -> StorageResult<()> {
        if self.id.is_empty() {
            return Ok(());
        }
        tx.execute(
            &UPSERT_DOCS,
            &[
                &self.id,
                &self.kind,
                &self.territory,
                &self.owner,
                &self.customer,
                &self.author,
                &self.approver,
                &self.first_seq,
                &self.last_seq,
                &self.heads,
                &self.scope_owner,
                &self.scope_territory,
                &self.ops,
                &self.bytes,
                &self.change_seq,
                &self.change_session,
            ],
        )?;
        // Only customers have documents that belong to them.
        let customers: Vec<usize> = (0..self.id.len())
            .filter(|&i| self.kind[i] == DocKind::Customer.as_str())
            .collect();
        if customers.is_empty() {
            return Ok(());
        }
        let column = |c: &[Option<&'r str>]| customers.iter().map(|&i| c[i]).collect::<Vec<_>>();
        let ids: Vec<&str> = customers.iter().map(|&i| self.id[i]).collect();
        tx.execute(
            "UPDATE docs d SET scope_owner = m.scope_owner, scope_territory = m.scope_territory
             FROM (SELECT x.id, u.scope_owner, u.scope_territory
                   FROM unnest($1::text[], $2::text[], $3::text[])
                        AS u(customer, scope_owner, scope_territory)
                   CROSS JOIN LATERAL (
                       SELECT id FROM docs
                       WHERE docs.customer = u.customer
                         AND (docs.scope_owner IS DISTINCT FROM u.scope_owner
                              OR docs.scope_territory IS DISTINCT FROM u.scope_territory)
                       OFFSET 0) AS x) AS m
             WHERE d.id = m.id",
            &[
                &ids,
                &column(&self.scope_owner),
                &column(&self.scope_territory),
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ChangeCost, DocScope};

    fn commit(id: &str, customer: Option<&str>) -> DocCommit {
        let mut scope = DocScope::of(
            if customer.is_some() {
                DocKind::Visit
            } else {
                DocKind::Customer
            },
            id,
        );
        scope.customer = customer.map(str::to_string);
        DocCommit {
            scope,
            heads: String::new(),
            changes: Vec::new(),
            writer: "rep".into(),
            session: None,
            snapshot: None,
            first_save: None,
            scope_events: Vec::new(),
            cost: ChangeCost::default(),
            governed_by: (None, None),
            base_heads: None,
            base_customer: customer.map(|c| (c.to_string(), String::new())),
            attachments: None,
            view: None,
        }
    }

    #[test]
    fn a_run_ends_before_a_commit_naming_a_document_the_run_writes() {
        // Visits of one customer, and other customers: one run.
        let together = [
            commit("v1", Some("c1")),
            commit("v2", Some("c1")),
            commit("c2", None),
        ];
        assert_eq!(run_len(&together), 3);
        // The customer itself after one of its visits: its dependents' scope is set after
        // the visit's row either way, so still one run.
        let customer_after = [commit("v1", Some("c1")), commit("c1", None)];
        assert_eq!(run_len(&customer_after), 2);
        // A visit after its customer was written: it was checked against the customer before,
        // so it starts a run of its own.
        let visit_after = [commit("c1", None), commit("v1", Some("c1"))];
        assert_eq!(run_len(&visit_after), 1);
        // The same document twice.
        let twice = [commit("c1", None), commit("c2", None), commit("c1", None)];
        assert_eq!(run_len(&twice), 2);
    }
}
