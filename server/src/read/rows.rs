//! A document's read model row, from client-core's typed view: the same fields the device's
//! projections read (its local day, its follow-up, its search text), so the console lists
//! what a device lists.

use fieldsync_core::model::Document;
use fieldsync_core::model::fields::{format_time, parse_time};

use crate::storage::DocView;

/// The first line of a text, at most 120 characters: what a list shows of a summary.
fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(120)
        .collect()
}

/// A time as the read model keeps it: UTC, RFC 3339 to the second, so times compare as text
/// (a time that does not parse is kept as written).
fn utc(at: &str) -> String {
    parse_time("at", at).map_or_else(|_| at.to_string(), format_time)
}

/// The day part of a time, `YYYY-MM-DD`.
fn day_of(at: &str) -> Option<String> {
    parse_time("at", at)
        .ok()
        .map(|t| t.date_naive().to_string())
}

/// The read model row of a validated document.
pub fn doc_view(doc: &Document) -> DocView {
    let mut v = DocView {
        id: doc.id().to_string(),
        title: String::new(),
        day: None,
        at: None,
        status: None,
        tier: None,
        followup: None,
        amount: None,
        currency: None,
        search: String::new(),
        view: serde_json::to_string(doc).unwrap_or_else(|_| "{}".into()),
    };
    match doc {
        Document::Customer(c) => {
            let [contacts, place, notes] = c.searchable_text();
            v.title = c.name.clone();
            v.at = Some(utc(&c.created_at));
            v.status = Some(c.status.as_str().into());
            v.tier = Some(c.tier.as_str().into());
            v.search = [c.name.as_str(), &contacts, &place, &notes]
                .join("\n")
                .to_lowercase();
        }
        Document::Visit(visit) => {
            v.title = first_line(visit.summary.as_str());
            v.day = visit.local_date().map(|d| d.to_string());
            v.at = Some(utc(&visit.checkin_at));
            v.status = visit.outcome.map(|o| o.as_str().into());
            v.followup = visit.next_followup.clone();
            v.search = visit
                .people_met
                .iter()
                .map(|p| p.name.as_str())
                .chain([visit.summary.as_str()])
                .collect::<Vec<_>>()
                .join("\n")
                .to_lowercase();
        }
        Document::TripPlan(p) => {
            v.title = p.title.clone();
            v.day = Some(p.start_date.clone());
            v.at = Some(utc(&p.created_at));
            v.status = Some(p.status.as_str().into());
            v.amount = Some(p.budget.amount);
            v.currency = Some(p.budget.currency.clone());
            v.search = p.title.to_lowercase();
        }
        Document::ExpenseClaim(e) => {
            v.title = e.title.clone();
            v.day = day_of(&e.created_at);
            v.at = Some(utc(&e.created_at));
            v.status = Some(e.status.as_str().into());
            let total = e.total().ok();
            v.amount = total.as_ref().map(|t| t.amount);
            v.currency = Some(total.map_or_else(|| e.currency.clone(), |t| t.currency));
            v.search = e.title.to_lowercase();
        }
        Document::Order(o) => {
            v.title = o.number.clone();
            v.day = Some(o.date.clone());
            v.at = Some(utc(&o.created_at));
            v.status = Some(o.status.as_str().into());
            v.amount = o.total().ok();
            v.currency = Some(o.currency.clone());
            v.search = o.number.to_lowercase();
        }
        Document::Complaint(c) => {
            v.title = first_line(c.summary.as_str());
            v.day = day_of(&c.received_at);
            v.at = Some(utc(&c.received_at));
            v.status = Some(c.status.as_str().into());
            v.search = c.summary.as_str().to_lowercase();
        }
        Document::Target(t) => {
            v.title = t.month.clone();
            v.day = Some(t.month.clone());
            v.at = Some(utc(&t.created_at));
            v.amount = Some(t.sales);
            v.currency = Some(t.currency.clone());
        }
    }
    v
}
