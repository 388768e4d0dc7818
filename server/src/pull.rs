//! What a pull sends, decided once for every storage backend: which documents in the caller's
//! scope have news after its cursor, whether each goes whole or as its changes after the
//! cursor, which left the scope, and where a page stops.
//!
//! The backend answers plain questions ([`PullRead`]) inside one consistent snapshot; the
//! rules are here:
//! - a first sync (cursor 0) gets every document in scope whole, except those only this
//!   device ever wrote (as far as the log still tells: one with compacted changes is sent);
//! - a cursor below the log's floor (changes after it may be compacted away) gets every
//!   document in scope that changed after it whole, keyed by its last change, so a page's
//!   cursor stays below every document not yet sent;
//! - otherwise each document with news from another device goes as its changes after the
//!   cursor, or whole if it is news as a whole (its first change came after the cursor);
//! - a document that entered the scope after the cursor goes whole; one that left it is
//!   revoked;
//! - a page holds at most `max_documents`, and stops adding once past `max_bytes`; its cursor
//!   is then just below the first document it left out.

use std::collections::HashMap;

use crate::access::Principal;
use crate::storage::{PullLimits, PullPage, StorageResult};

pub mod recent;

pub use recent::RecentDocuments;

/// What a backend knows of a document in the caller's scope that changed after the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocNews {
    /// Document id.
    pub id: String,
    /// The sequence of its first logged change.
    pub first_seq: u64,
    /// The sequence of its last logged change.
    pub last_seq: u64,
    /// The first change logged after the cursor, if the log still holds one.
    pub first_change_after: Option<u64>,
    /// Whether a change logged after the cursor came from another session than the caller's.
    pub news_from_others: bool,
}

/// A scope event of the caller after the cursor: the last one per document counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeNews {
    /// Document id.
    pub id: String,
    /// The sequence of the document's first event after the cursor.
    pub seq: u64,
    /// Whether its last event entered the scope (or left it).
    pub entered: bool,
}

impl ScopeNews {
    /// The caller's scope events in log order, `(document, seq, entered)`, as one item per
    /// document: keyed by its first event after the cursor, entered or not as its last says.
    pub fn collapse(
        events: impl IntoIterator<Item = StorageResult<(String, u64, bool)>>,
    ) -> StorageResult<Vec<ScopeNews>> {
        let mut out: Vec<ScopeNews> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for event in events {
            let (id, seq, entered) = event?;
            match at.get(&id) {
                Some(&i) => out[i].entered = entered,
                None => {
                    at.insert(id.clone(), out.len());
                    out.push(ScopeNews { id, seq, entered });
                }
            }
        }
        Ok(out)
    }
}

/// The questions a pull asks a backend, all answered from one consistent snapshot.
pub trait PullRead {
    /// The highest sequence logged.
    fn head(&self) -> StorageResult<u64>;
    /// The log's floor: changes at or below it may have been compacted away.
    fn floor(&self) -> StorageResult<u64>;
    /// The documents in `p`'s scope whose last change came after `cursor`.
    fn changed_in_scope(
        &self,
        p: &Principal,
        session: Option<&str>,
        cursor: u64,
    ) -> StorageResult<Vec<DocNews>>;
    /// `p`'s scope events after `cursor`, one per document.
    fn scope_news(&self, p: &Principal, cursor: u64) -> StorageResult<Vec<ScopeNews>>;
    /// Whether document `id` is in `p`'s scope now.
    fn in_scope(&self, p: &Principal, id: &str) -> StorageResult<bool>;
    /// The whole document as bytes a client merges: its snapshot and later changes, or its
    /// changes alone.
    fn whole_document(&self, id: &str) -> StorageResult<Vec<u8>>;
    /// The document's changes logged after `cursor`, concatenated.
    fn changes_after(&self, id: &str, cursor: u64) -> StorageResult<Vec<u8>>;
    /// The bytes of the documents of `wanted` in order (each whole, or as its changes after
    /// `cursor`), as long as the bytes before each stay under `budget`: the first is always
    /// read, and the one that reaches the budget is the last. A backend where each question
    /// is a round trip answers several documents at once.
    fn documents(
        &self,
        wanted: &[(&str, bool)],
        cursor: u64,
        budget: usize,
    ) -> StorageResult<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        let mut bytes = 0;
        for &(id, whole) in wanted {
            if !has_room(out.len(), bytes, budget) {
                break;
            }
            let data = if whole {
                self.whole_document(id)?
            } else {
                self.changes_after(id, cursor)?
            };
            bytes += data.len();
            out.push(data);
        }
        Ok(out)
    }
}

/// How many documents a page asks [`PullRead::documents`] for at once. A backend that reads
/// them one at a time (SQLite, in process) stops at the byte budget whatever the number; one
/// that answers them in one statement (PostgreSQL) pays a round trip and a plan each time, and
/// sizes every document asked before it reads those within the budget. A rep's first page of
/// 2,000 documents took 32 statements and about 55 ms at 64 a time, 4 and about 45 ms at 512.
const READ_AT_ONCE: usize = 512;

/// Whether another document goes after `sent` documents of `bytes` in all, within `budget`:
/// the first always goes, the next while the bytes before it are under the budget (so the one
/// that reaches it is the last).
pub(crate) fn has_room(sent: usize, bytes: usize, budget: usize) -> bool {
    sent == 0 || bytes < budget
}

/// A document a page may send.
struct Candidate {
    id: String,
    /// The sequence it is keyed by: the page's cursor stops just below the first not sent.
    seq: u64,
    /// Whether it goes whole, or as its changes after the cursor.
    whole: bool,
    /// The sequence of its last logged change, for one that goes whole after a first sync:
    /// its bytes may come from, and go to, the recent documents ([`RecentDocuments`]).
    recent: Option<u64>,
}

/// One page of what `p` has not seen after `cursor`. Documents sent whole after a first sync
/// are taken from `recent` when it holds them at their last change, and kept there once read.
pub fn page(
    read: &dyn PullRead,
    recent: Option<&RecentDocuments>,
    p: &Principal,
    session: Option<&str>,
    cursor: u64,
    limits: PullLimits,
) -> StorageResult<PullPage> {
    let head = read.head()?;
    let floor = read.floor()?;
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut revoked = Vec::new();
    let changed = read.changed_in_scope(p, session, cursor)?;
    if cursor == 0 {
        candidates.extend(
            changed
                .into_iter()
                .filter(|d| d.first_seq <= floor || d.news_from_others)
                .map(|d| Candidate {
                    id: d.id,
                    seq: d.first_seq,
                    whole: true,
                    recent: None,
                }),
        );
    } else {
        // Each news item: (the sequence it is keyed by, whole?, its last change if whole).
        let mut news: HashMap<String, (u64, bool, Option<u64>)> = if cursor < floor {
            changed
                .into_iter()
                .map(|d| (d.id, (d.last_seq, true, Some(d.last_seq))))
                .collect()
        } else {
            changed
                .into_iter()
                .filter(|d| d.news_from_others)
                .filter_map(|d| {
                    let seq = d.first_change_after?;
                    let whole = d.first_seq > cursor;
                    Some((d.id, (seq, whole, whole.then_some(d.last_seq))))
                })
                .collect()
        };
        for event in read.scope_news(p, cursor)? {
            let visible = read.in_scope(p, &event.id)?;
            if event.entered && visible {
                news.remove(&event.id);
                candidates.push(Candidate {
                    id: event.id,
                    seq: event.seq,
                    whole: true,
                    recent: None,
                });
            } else if !visible {
                news.remove(&event.id);
                revoked.push(event.id);
            }
        }
        candidates.extend(
            news.into_iter()
                .map(|(id, (seq, whole, recent))| Candidate {
                    id,
                    seq,
                    whole,
                    recent,
                }),
        );
    }
    candidates.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.id.cmp(&b.id)));
    revoked.sort();

    let mut page = PullPage {
        cursor: head,
        revoked,
        ..Default::default()
    };
    let mut bytes = 0usize;
    let most = candidates.len().min(limits.max_documents);
    let mut sent = 0;
    // A document is sent while the page has room for it: fewer than `max_documents` before
    // it, and the bytes before it under `max_bytes` (the first always goes).
    while sent < most && has_room(sent, bytes, limits.max_bytes) {
        let asked = &candidates[sent..most.min(sent + READ_AT_ONCE)];
        let budget = (limits.max_bytes - bytes).max(1);
        let read = match recent {
            Some(recent) => documents_remembered(read, recent, asked, cursor, budget)?,
            None => read.documents(&wanted(asked), cursor, budget)?,
        };
        if read.is_empty() {
            break;
        }
        for (c, data) in asked.iter().zip(read) {
            bytes += data.len();
            sent += 1;
            page.documents.push((c.id.clone(), c.whole, data));
        }
    }
    if let Some(c) = candidates.get(sent) {
        // Everything before this document's first news has been sent.
        page.cursor = c.seq.saturating_sub(1).max(cursor);
        page.more = true;
    }
    Ok(page)
}

/// What [`PullRead::documents`] is asked for `candidates`.
fn wanted<'a>(candidates: impl IntoIterator<Item = &'a Candidate>) -> Vec<(&'a str, bool)> {
    candidates
        .into_iter()
        .map(|c| (c.id.as_str(), c.whole))
        .collect()
}

/// The bytes [`PullRead::documents`] gives for `asked` within `budget`, those `recent` holds
/// taken from it and the others asked of `read` in one question, so a page costs a backend
/// where each question is a round trip one of them whatever the cache holds. What `read`
/// gives whole is kept.
///
/// `read` is given the budget left after the documents from memory before the first it is
/// asked for, and counts only its own bytes: it gives at least every document the page sends
/// (it may give a few more, dropped here), and the page is cut here by the bytes of both, so
/// it stops where it would without the cache.
fn documents_remembered(
    read: &dyn PullRead,
    recent: &RecentDocuments,
    asked: &[Candidate],
    cursor: u64,
    budget: usize,
) -> StorageResult<Vec<Vec<u8>>> {
    let held = recent.get(asked.iter().map(|c| Some((c.id.as_str(), c.recent?))));
    let mut from_storage = Vec::new().into_iter();
    if let Some(first) = held.iter().position(Option::is_none) {
        let before: usize = held[..first].iter().flatten().map(Vec::len).sum();
        if has_room(first, before, budget) {
            let misses: Vec<&Candidate> = asked
                .iter()
                .zip(&held)
                .filter(|(_, data)| data.is_none())
                .map(|(c, _)| c)
                .collect();
            let read = read.documents(&wanted(misses.iter().copied()), cursor, budget - before)?;
            recent.put(
                misses
                    .iter()
                    .zip(&read)
                    .filter_map(|(c, data)| Some((c.id.as_str(), c.recent?, data.as_slice()))),
            );
            from_storage = read.into_iter();
        }
    }
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(asked.len());
    let mut bytes = 0usize;
    let mut served = 0;
    for data in held {
        if !has_room(out.len(), bytes, budget) {
            break;
        }
        let data = match data {
            Some(data) => {
                served += 1;
                data
            }
            // Storage stopped before this one: so does the page.
            None => match from_storage.next() {
                Some(data) => data,
                None => break,
            },
        };
        bytes += data.len();
        out.push(data);
    }
    recent.served(served);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::storage::Role;

    /// The answers of a backend, written out: what the rules decide from them is the test.
    struct Answers {
        head: u64,
        floor: u64,
        changed: Vec<DocNews>,
        events: Vec<ScopeNews>,
        visible: Vec<&'static str>,
        /// The documents whose bytes were asked for, in order.
        asked: std::cell::RefCell<Vec<String>>,
    }

    impl PullRead for Answers {
        fn head(&self) -> StorageResult<u64> {
            Ok(self.head)
        }
        fn floor(&self) -> StorageResult<u64> {
            Ok(self.floor)
        }
        fn changed_in_scope(
            &self,
            _: &Principal,
            _: Option<&str>,
            _: u64,
        ) -> StorageResult<Vec<DocNews>> {
            Ok(self.changed.clone())
        }
        fn scope_news(&self, _: &Principal, _: u64) -> StorageResult<Vec<ScopeNews>> {
            Ok(self.events.clone())
        }
        fn in_scope(&self, _: &Principal, id: &str) -> StorageResult<bool> {
            Ok(self.visible.contains(&id))
        }
        fn whole_document(&self, id: &str) -> StorageResult<Vec<u8>> {
            self.asked.borrow_mut().push(id.to_string());
            Ok(format!("whole {id}").into_bytes())
        }
        fn changes_after(&self, id: &str, cursor: u64) -> StorageResult<Vec<u8>> {
            self.asked.borrow_mut().push(id.to_string());
            Ok(format!("{id} after {cursor}").into_bytes())
        }
    }

    fn news(id: &str, first: u64, last: u64, after: Option<u64>, others: bool) -> DocNews {
        DocNews {
            id: id.into(),
            first_seq: first,
            last_seq: last,
            first_change_after: after,
            news_from_others: others,
        }
    }

    fn li() -> Principal {
        Principal {
            username: "li".into(),
            role: Role::Rep,
            territories: vec![],
            manager: None,
            team: vec!["li".into()],
        }
    }

    fn sent(page: &PullPage) -> Vec<(String, bool, String)> {
        page.documents
            .iter()
            .map(|(id, whole, data)| (id.clone(), *whole, String::from_utf8_lossy(data).into()))
            .collect()
    }

    const ALL: PullLimits = PullLimits {
        max_documents: 100,
        max_bytes: 1 << 20,
    };

    #[test]
    fn news_goes_as_changes_unless_the_document_is_new_or_only_this_device_wrote_it() {
        let answers = Answers {
            head: 20,
            floor: 0,
            changed: vec![
                news("old", 1, 15, Some(12), true),
                news("new", 11, 14, Some(11), true),
                news("mine", 2, 18, Some(18), false),
            ],
            events: vec![],
            visible: vec![],
            asked: Default::default(),
        };
        let page = page(&answers, None, &li(), Some("s"), 10, ALL).unwrap();
        assert_eq!(
            sent(&page),
            vec![
                ("new".into(), true, "whole new".into()),
                ("old".into(), false, "old after 10".into()),
            ]
        );
        assert_eq!((page.cursor, page.more), (20, false));
    }

    #[test]
    fn below_the_floor_everything_changed_goes_whole_keyed_by_its_last_change_and_pages_stop_below_the_next()
     {
        let answers = Answers {
            head: 30,
            floor: 25,
            changed: vec![news("a", 1, 28, None, true), news("b", 2, 22, None, false)],
            events: vec![],
            visible: vec![],
            asked: Default::default(),
        };
        let one = PullLimits {
            max_documents: 1,
            max_bytes: 1 << 20,
        };
        let page = page(&answers, None, &li(), None, 5, one).unwrap();
        assert_eq!(sent(&page), vec![("b".into(), true, "whole b".into())]);
        assert_eq!((page.cursor, page.more), (27, true));
    }

    #[test]
    fn a_document_that_entered_goes_whole_and_one_that_left_is_revoked() {
        let answers = Answers {
            head: 40,
            floor: 0,
            changed: vec![
                news("in", 3, 35, Some(35), true),
                news("out", 4, 36, Some(36), true),
            ],
            events: vec![
                ScopeNews {
                    id: "in".into(),
                    seq: 33,
                    entered: true,
                },
                ScopeNews {
                    id: "out".into(),
                    seq: 34,
                    entered: false,
                },
            ],
            visible: vec!["in"],
            asked: Default::default(),
        };
        let page = page(&answers, None, &li(), None, 30, ALL).unwrap();
        assert_eq!(sent(&page), vec![("in".into(), true, "whole in".into())]);
        assert_eq!(page.revoked, vec!["out".to_string()]);
    }

    #[test]
    fn a_first_sync_leaves_out_what_only_this_device_wrote_unless_compacted() {
        let answers = Answers {
            head: 9,
            floor: 3,
            changed: vec![
                news("theirs", 5, 9, None, true),
                news("mine", 6, 8, None, false),
                news("mine-compacted", 2, 7, None, false),
            ],
            events: vec![],
            visible: vec![],
            asked: Default::default(),
        };
        let page = page(&answers, None, &li(), Some("s"), 0, ALL).unwrap();
        let ids: Vec<String> = sent(&page).into_iter().map(|(id, _, _)| id).collect();
        assert_eq!(ids, vec!["mine-compacted", "theirs"]);
    }

    fn recent() -> RecentDocuments {
        RecentDocuments::new(
            1 << 20,
            prometheus_client::metrics::counter::Counter::default(),
        )
    }

    #[test]
    fn documents_sent_whole_after_a_first_sync_are_read_once_for_every_device_at_their_last_change()
    {
        let mut answers = Answers {
            head: 20,
            floor: 0,
            changed: vec![
                news("new", 11, 14, Some(11), true),
                news("newer", 12, 12, Some(12), true),
                news("old", 1, 15, Some(13), true),
            ],
            events: vec![],
            visible: vec![],
            asked: Default::default(),
        };
        let served = prometheus_client::metrics::counter::Counter::default();
        let recent = RecentDocuments::new(1 << 20, served.clone());
        let first = page(&answers, Some(&recent), &li(), Some("a"), 10, ALL).unwrap();
        assert_eq!(answers.asked.take(), vec!["new", "newer", "old"]);
        // Another device, the same news: only the document sent as its changes is read.
        let second = page(&answers, Some(&recent), &li(), Some("b"), 10, ALL).unwrap();
        assert_eq!(answers.asked.take(), vec!["old"]);
        assert_eq!(sent(&second), sent(&first));
        assert_eq!(served.get(), 2);
        // A document changed since is read again.
        answers.changed[0] = news("new", 11, 17, Some(11), true);
        page(&answers, Some(&recent), &li(), Some("c"), 10, ALL).unwrap();
        assert_eq!(answers.asked.take(), vec!["new", "old"]);
    }

    /// Six documents `a` to `f`, each new since cursor 10 and sent whole at its one change
    /// (11 to 16).
    fn six_new_documents() -> ([&'static str; 6], Answers) {
        let ids = ["a", "b", "c", "d", "e", "f"];
        let answers = Answers {
            head: 30,
            floor: 0,
            changed: ids
                .iter()
                .enumerate()
                .map(|(i, id)| news(id, 11 + i as u64, 11 + i as u64, Some(11 + i as u64), true))
                .collect(),
            events: vec![],
            visible: vec![],
            asked: Default::default(),
        };
        (ids, answers)
    }

    #[test]
    fn a_page_with_documents_from_memory_stops_where_it_stops_without_them() {
        let (ids, answers) = six_new_documents();
        for budget in 1..=50 {
            let limits = PullLimits {
                max_documents: 100,
                max_bytes: budget,
            };
            let without = page(&answers, None, &li(), None, 10, limits).unwrap();
            // Every other document (and then the first) already in memory.
            for held in [&["b", "d", "f"][..], &["a", "c", "e"][..]] {
                let recent = recent();
                let bytes: Vec<(&str, u64, Vec<u8>)> = held
                    .iter()
                    .map(|id| {
                        let at = 11 + ids.iter().position(|i| i == id).unwrap() as u64;
                        (*id, at, format!("whole {id}").into_bytes())
                    })
                    .collect();
                recent.put(bytes.iter().map(|(id, at, b)| (*id, *at, b.as_slice())));
                let with = page(&answers, Some(&recent), &li(), None, 10, limits).unwrap();
                assert_eq!(
                    sent(&with),
                    sent(&without),
                    "budget {budget}, held {held:?}"
                );
                assert_eq!((with.cursor, with.more), (without.cursor, without.more));
            }
        }
    }

    /// A backend's answers with its questions for documents counted: each is a round trip
    /// on PostgreSQL.
    struct Counted<'a> {
        answers: &'a Answers,
        questions: std::cell::Cell<usize>,
    }

    impl PullRead for Counted<'_> {
        fn head(&self) -> StorageResult<u64> {
            self.answers.head()
        }
        fn floor(&self) -> StorageResult<u64> {
            self.answers.floor()
        }
        fn changed_in_scope(
            &self,
            p: &Principal,
            session: Option<&str>,
            cursor: u64,
        ) -> StorageResult<Vec<DocNews>> {
            self.answers.changed_in_scope(p, session, cursor)
        }
        fn scope_news(&self, p: &Principal, cursor: u64) -> StorageResult<Vec<ScopeNews>> {
            self.answers.scope_news(p, cursor)
        }
        fn in_scope(&self, p: &Principal, id: &str) -> StorageResult<bool> {
            self.answers.in_scope(p, id)
        }
        fn whole_document(&self, id: &str) -> StorageResult<Vec<u8>> {
            self.answers.whole_document(id)
        }
        fn changes_after(&self, id: &str, cursor: u64) -> StorageResult<Vec<u8>> {
            self.answers.changes_after(id, cursor)
        }
        fn documents(
            &self,
            wanted: &[(&str, bool)],
            cursor: u64,
            budget: usize,
        ) -> StorageResult<Vec<Vec<u8>>> {
            self.questions.set(self.questions.get() + 1);
            self.answers.documents(wanted, cursor, budget)
        }
    }

    #[test]
    fn a_page_asks_storage_once_for_the_documents_memory_does_not_hold() {
        let (ids, answers) = six_new_documents();
        let counted = Counted {
            answers: &answers,
            questions: Default::default(),
        };
        let recent = recent();
        recent.put([("b", 12, &b"whole b"[..]), ("e", 15, &b"whole e"[..])]);
        let page = page(&counted, Some(&recent), &li(), None, 10, ALL).unwrap();
        let sent: Vec<String> = sent(&page).into_iter().map(|(id, _, _)| id).collect();
        assert_eq!(sent, ids);
        assert_eq!(counted.questions.get(), 1, "one question for a, c, d and f");
        assert_eq!(*answers.asked.borrow(), ["a", "c", "d", "f"]);
    }

    #[test]
    fn a_first_sync_neither_takes_from_nor_fills_the_recent_documents() {
        let answers = Answers {
            head: 9,
            floor: 0,
            changed: vec![news("theirs", 5, 9, None, true)],
            events: vec![],
            visible: vec![],
            asked: Default::default(),
        };
        let recent = recent();
        recent.put([("theirs", 9, &b"stale"[..])]);
        let page = page(&answers, Some(&recent), &li(), None, 0, ALL).unwrap();
        assert_eq!(
            sent(&page),
            vec![("theirs".into(), true, "whole theirs".into())]
        );
        assert_eq!(recent.bytes(), b"stale".len());
    }
}
