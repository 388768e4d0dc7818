//! Projection rows: the fields queries filter and sort on, one row per document, rewritten in
//! the same transaction as the document's bytes.
//!
//! Follow-up dates live on the customer row and are recomputed whenever the customer or one of
//! its visits is written, whichever arrives first on this device.

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;
use crate::model::Document;
use crate::model::complaint::Complaint;
use crate::model::customer::{Customer, FollowupBasis, Tier, next_followup};
use crate::model::expense_claim::ExpenseClaim;
use crate::model::fields::{format_time, parse_time};
use crate::model::order::Order;
use crate::model::target::Target;
use crate::model::trip_plan::TripPlan;
use crate::model::visit::Visit;

/// Customers whose follow-up must be computed again after projections were written: at once,
/// or once for a whole batch of documents (a pulled page, where a customer's many visits would
/// each compute it again).
pub(crate) enum Followups {
    /// Each is computed as soon as it is due.
    Now,
    /// Each is computed once, by [`Followups::finish`], after the batch's rows are written.
    Later(BTreeSet<String>),
}

impl Followups {
    /// A batch's follow-ups, computed by [`Followups::finish`].
    pub(crate) fn later() -> Self {
        Followups::Later(BTreeSet::new())
    }

    fn due(&mut self, conn: &Connection, customer: &str) -> Result<()> {
        match self {
            Followups::Now => refresh_followup(conn, customer),
            Followups::Later(due) => {
                due.insert(customer.to_string());
                Ok(())
            }
        }
    }

    /// Computes every follow-up left for later. The result is the one computing each at once
    /// gives: a follow-up depends only on the customer's row and its newest visit's, as they
    /// are once the batch is written.
    pub(crate) fn finish(self, conn: &Connection) -> Result<()> {
        if let Followups::Later(due) = self {
            for customer in due {
                refresh_followup(conn, &customer)?;
            }
        }
        Ok(())
    }
}

/// Whether the document being projected had rows before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// It may have: what it had is read (to skip rewriting unchanged search text) and
    /// replaced.
    Maybe,
    /// It has none: it is new to the store, written in this transaction. Its projection rows
    /// and attachment references go with its `documents` row (foreign keys, `ON DELETE
    /// CASCADE`), and its search rows with their projection row ([`unproject`]), so there is
    /// nothing to read or remove first (most of a first sync).
    None,
}

/// Writes the projection rows of `doc`, its customer's follow-up included.
pub(crate) fn project(conn: &Connection, doc: &Document) -> Result<()> {
    project_with(conn, doc, Rows::Maybe, &mut Followups::Now)
}

/// Writes the projection rows of `doc`, which had the `rows` said before; the follow-ups it
/// changes are computed as `followups` says.
pub(crate) fn project_with(
    conn: &Connection,
    doc: &Document,
    rows: Rows,
    followups: &mut Followups,
) -> Result<()> {
    match doc {
        Document::Customer(c) => customer(conn, c, rows, followups),
        Document::Visit(v) => visit(conn, v, rows, followups),
        Document::TripPlan(p) => trip_plan(conn, p),
        Document::ExpenseClaim(e) => expense_claim(conn, e),
        Document::Order(o) => order(conn, o),
        Document::Complaint(c) => complaint(conn, c),
        Document::Target(t) => target(conn, t),
    }?;
    attachment_refs(conn, doc, rows)
}

/// The attachments `doc` references, one row each: what keeps their bytes on the device, and
/// what says which document an attachment belongs to.
fn attachment_refs(conn: &Connection, doc: &Document, rows: Rows) -> Result<()> {
    if rows == Rows::Maybe {
        conn.prepare_cached("DELETE FROM attachment_refs WHERE doc_id = ?1")?
            .execute([doc.id()])?;
    }
    let attachments = doc.attachments();
    if attachments.is_empty() {
        return Ok(());
    }
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO attachment_refs(attachment_id, doc_id, kind, media_type, size, name, added_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for a in attachments {
        insert.execute(params![
            a.id,
            doc.id(),
            doc.kind().as_str(),
            a.media_type,
            a.size,
            a.name,
            a.added_by
        ])?;
    }
    Ok(())
}

/// A stored time in the projections' form: UTC, RFC 3339 to the second, so times compare as
/// text (a time that does not parse is kept as written).
fn utc(at: &str) -> String {
    parse_time("at", at).map_or_else(|_| at.to_string(), format_time)
}

fn order(conn: &Connection, o: &Order) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO orders(id, customer_id, owner, number, order_date, status, total_amount, gross_profit,
                            currency, line_count, submitted_at, confirmed_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET
            customer_id = excluded.customer_id, owner = excluded.owner, number = excluded.number,
            order_date = excluded.order_date, status = excluded.status,
            total_amount = excluded.total_amount, gross_profit = excluded.gross_profit,
            currency = excluded.currency, line_count = excluded.line_count,
            submitted_at = excluded.submitted_at, confirmed_at = excluded.confirmed_at",
    )?
    .execute(params![
        o.id,
        o.customer,
        o.owner,
        o.number,
        o.date,
        o.status.as_str(),
        o.total()?,
        o.gross_profit(),
        o.currency,
        o.lines.len() as i64,
        o.submitted_at().map(utc),
        o.confirmed_at().map(utc),
        utc(&o.created_at),
    ])?;
    Ok(())
}

fn complaint(conn: &Connection, c: &Complaint) -> Result<()> {
    let first_line = c.summary.as_str().lines().next().unwrap_or("").to_string();
    conn.prepare_cached(
        "INSERT INTO complaints(id, customer_id, recorded_by, assignee, channel, category, priority, status,
                                received_at, responded_at, handled_at, closed_at, followup_visit, summary)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT(id) DO UPDATE SET
            customer_id = excluded.customer_id, recorded_by = excluded.recorded_by,
            assignee = excluded.assignee, channel = excluded.channel, category = excluded.category,
            priority = excluded.priority, status = excluded.status, received_at = excluded.received_at,
            responded_at = excluded.responded_at, handled_at = excluded.handled_at,
            closed_at = excluded.closed_at, followup_visit = excluded.followup_visit,
            summary = excluded.summary",
    )?
    .execute(params![
        c.id,
        c.customer,
        c.recorded_by,
        c.assignee,
        c.channel.as_str(),
        c.category.as_str(),
        c.priority.as_str(),
        c.status.as_str(),
        utc(&c.received_at),
        c.responded_at().map(utc),
        c.handled_at().map(utc),
        c.closed_at().map(utc),
        c.followup_visit,
        first_line,
    ])?;
    Ok(())
}

fn target(conn: &Connection, t: &Target) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO targets(id, owner, month, sales_amount, currency, visits, new_customers, set_by, set_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET
            owner = excluded.owner, month = excluded.month, sales_amount = excluded.sales_amount,
            currency = excluded.currency, visits = excluded.visits,
            new_customers = excluded.new_customers, set_by = excluded.set_by, set_at = excluded.set_at",
    )?
    .execute(params![
        t.id,
        t.owner,
        t.month,
        t.sales,
        t.currency,
        t.visits,
        t.new_customers,
        t.set_by,
        utc(&t.set_at),
    ])?;
    Ok(())
}

/// Removes what [`project`] wrote for document `id`, whatever its kind, before the document
/// itself is deleted: the search rows (which no foreign key removes) and, for a visit, the
/// follow-up it set on its customer. The projection rows themselves go with the document
/// (`ON DELETE CASCADE`). Returns the customer whose follow-up must be computed again once
/// the visit row is gone.
pub(crate) fn unproject(conn: &Connection, id: &str) -> Result<Option<String>> {
    let customer_rowid: Option<i64> = conn
        .prepare_cached("SELECT rowid FROM customers WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if let Some(rowid) = customer_rowid {
        unindex(conn, rowid, "customers_fts", "customers_grams")?;
    }
    let visit: Option<(i64, String)> = conn
        .prepare_cached("SELECT rowid, customer_id FROM visits WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((rowid, customer)) = visit else {
        return Ok(None);
    };
    unindex(conn, rowid, "visits_people_fts", "visits_people_grams")?;
    Ok(Some(customer))
}

fn customer(conn: &Connection, c: &Customer, rows: Rows, followups: &mut Followups) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO customers(id, name, customer_type, industry, territory, owner, tier, status,
                               key_account, city, phone, contact_count, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT(id) DO UPDATE SET
            name = excluded.name, customer_type = excluded.customer_type, industry = excluded.industry,
            territory = excluded.territory, owner = excluded.owner, tier = excluded.tier,
            status = excluded.status, key_account = excluded.key_account, city = excluded.city,
            phone = excluded.phone, contact_count = excluded.contact_count,
            created_at = excluded.created_at, created_by = excluded.created_by",
    )?
    .execute(params![
        c.id,
        c.name,
        c.customer_type.as_str(),
        c.industry,
        c.territory,
        c.owner,
        c.tier.as_str(),
        c.status.as_str(),
        c.key_account,
        c.city,
        c.phone,
        c.contacts.len() as i64,
        utc(&c.created_at),
        c.created_by,
    ])?;
    let rowid = inserted_rowid(
        conn,
        rows,
        "SELECT rowid FROM customers WHERE id = ?1",
        &c.id,
    )?;
    let [contacts, city, notes] = c.searchable_text();
    let indexed: Option<(String, String, String, String)> = match rows {
        Rows::None => None,
        Rows::Maybe => conn
            .prepare_cached(
                "SELECT name, contacts, city, notes FROM customers_fts WHERE rowid = ?1",
            )?
            .query_row([rowid], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()?,
    };
    // Most edits (tier, status, phone) leave the searchable text as it was.
    let unchanged = indexed
        .as_ref()
        .is_some_and(|(n, ct, ci, no)| (n, ct, ci, no) == (&c.name, &contacts, &city, &notes));
    if !unchanged {
        if rows == Rows::Maybe {
            unindex(conn, rowid, "customers_fts", "customers_grams")?;
        }
        conn.prepare_cached("INSERT INTO customers_fts(rowid, name, contacts, city, notes) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![rowid, c.name, contacts, city, notes])?;
        let grams = super::search::grams(&[&c.name, &contacts, &city, &notes]);
        conn.prepare_cached("INSERT INTO customers_grams(rowid, grams) VALUES (?1, ?2)")?
            .execute(params![rowid, grams])?;
    }
    followups.due(conn, &c.id)
}

fn visit(conn: &Connection, v: &Visit, rows: Rows, followups: &mut Followups) -> Result<()> {
    // What the visit's row held: the customer it was on and the people it indexed.
    let before: Option<(String, String)> = match rows {
        Rows::None => None,
        Rows::Maybe => conn
            .prepare_cached("SELECT customer_id, people_met FROM visits WHERE id = ?1")?
            .query_row([&v.id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?,
    };
    let (previous_customer, indexed) = before.unzip();
    let local_date = v.local_date().map(|d| d.to_string()).unwrap_or_default();
    let first_line: String = v
        .summary
        .as_str()
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(120)
        .collect();
    let people: String = v
        .people_met
        .iter()
        .map(|p| match &p.title {
            Some(t) => format!("{} {t}", p.name),
            None => p.name.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    conn.prepare_cached(
        "INSERT INTO visits(id, customer_id, author, checkin_at, local_date, visit_type, outcome, next_followup, summary, people_met)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(id) DO UPDATE SET
            customer_id = excluded.customer_id, author = excluded.author, checkin_at = excluded.checkin_at,
            local_date = excluded.local_date, visit_type = excluded.visit_type, outcome = excluded.outcome,
            next_followup = excluded.next_followup, summary = excluded.summary, people_met = excluded.people_met",
    )?
    .execute(params![
        v.id,
        v.customer,
        v.author,
        v.checkin_at,
        local_date,
        v.visit_type.as_str(),
        v.outcome.map(|o| o.as_str()),
        v.next_followup,
        first_line,
        people,
    ])?;
    // Most edits (summary, outcome) leave the people met as they were.
    if indexed.as_deref() != Some(people.as_str()) {
        let rowid = inserted_rowid(conn, rows, "SELECT rowid FROM visits WHERE id = ?1", &v.id)?;
        if rows == Rows::Maybe {
            unindex(conn, rowid, "visits_people_fts", "visits_people_grams")?;
        }
        if !people.is_empty() {
            conn.prepare_cached("INSERT INTO visits_people_fts(rowid, people) VALUES (?1, ?2)")?
                .execute(params![rowid, people])?;
            conn.prepare_cached("INSERT INTO visits_people_grams(rowid, grams) VALUES (?1, ?2)")?
                .execute(params![rowid, super::search::grams(&[&people])])?;
        }
    }
    if let Some(previous) = previous_customer.filter(|p| *p != v.customer) {
        followups.due(conn, &previous)?;
    }
    followups.due(conn, &v.customer)
}

/// The rowid of the projection row just written by an upsert: the one it inserted for a
/// document without rows, else read with `select` (an upsert that updates does not give it).
fn inserted_rowid(conn: &Connection, rows: Rows, select: &str, id: &str) -> Result<i64> {
    Ok(match rows {
        Rows::None => conn.last_insert_rowid(),
        Rows::Maybe => conn.prepare_cached(select)?.query_row([id], |r| r.get(0))?,
    })
}

/// Removes the search rows `rowid` has in a full-text table and its trigram twin.
fn unindex(conn: &Connection, rowid: i64, fts: &str, grams: &str) -> Result<()> {
    for table in [fts, grams] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE rowid = ?1"))?
            .execute([rowid])?;
    }
    Ok(())
}

/// Recomputes the customer's last visit and next follow-up from its newest visit: the explicit
/// date that visit set, or else its local day plus the tier's cadence.
pub(crate) fn refresh_followup(conn: &Connection, customer_id: &str) -> Result<()> {
    let tier: Option<String> = conn
        .prepare_cached("SELECT tier FROM customers WHERE id = ?1")?
        .query_row([customer_id], |r| r.get(0))
        .optional()?;
    let Some(tier) = tier else {
        // The visit arrived before its customer; the customer's projection computes this.
        return Ok(());
    };
    let last: Option<(String, String, Option<String>)> = conn
        .prepare_cached(
            "SELECT checkin_at, local_date, next_followup FROM visits
             WHERE customer_id = ?1 ORDER BY checkin_at DESC, id DESC LIMIT 1",
        )?
        .query_row([customer_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let (last_at, last_date, next, reason) = match last {
        None => (None, None, None, None),
        Some((at, date, explicit)) => {
            let due = match tier.parse::<Tier>() {
                Ok(tier) => next_followup(tier, &date, explicit.as_deref()),
                // A tier this version does not know keeps an explicit date, nothing else.
                Err(_) => explicit.map(|d| (d, FollowupBasis::Explicit)),
            };
            let (next, reason) = due.map(|(d, b)| (d, b.as_str())).unzip();
            (Some(at), Some(date), next, reason)
        }
    };
    conn.prepare_cached(
        "UPDATE customers SET last_visit_at = ?2, last_visit_date = ?3, next_followup = ?4, followup_reason = ?5
         WHERE id = ?1",
    )?
    .execute(params![customer_id, last_at, last_date, next, reason])?;
    Ok(())
}

fn trip_plan(conn: &Connection, p: &TripPlan) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO trip_plans(id, owner, approver, title, status, start_date, end_date, budget_amount, currency)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(id) DO UPDATE SET
            owner = excluded.owner, approver = excluded.approver, title = excluded.title,
            status = excluded.status, start_date = excluded.start_date, end_date = excluded.end_date,
            budget_amount = excluded.budget_amount, currency = excluded.currency",
    )?
    .execute(params![
        p.id,
        p.owner,
        p.approver,
        p.title,
        p.status.as_str(),
        p.start_date,
        p.end_date,
        p.budget.amount,
        p.budget.currency,
    ])?;
    Ok(())
}

fn expense_claim(conn: &Connection, e: &ExpenseClaim) -> Result<()> {
    let total = e.total()?;
    let created = parse_time("created_at", &e.created_at)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    conn.prepare_cached(
        "INSERT INTO expense_claims(id, owner, approver, title, status, trip_id, total_amount, currency, item_count, created_at, decided_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET
            owner = excluded.owner, approver = excluded.approver, title = excluded.title,
            status = excluded.status, trip_id = excluded.trip_id, total_amount = excluded.total_amount,
            currency = excluded.currency, item_count = excluded.item_count, decided_at = excluded.decided_at",
    )?
    .execute(params![
        e.id,
        e.owner,
        e.approver,
        e.title,
        e.status.as_str(),
        e.trip,
        total.amount,
        total.currency,
        e.items.len() as i64,
        created,
        e.decided_at.as_deref().map(utc),
    ])?;
    Ok(())
}
