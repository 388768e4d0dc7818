//! The sync round and the handover as plain functions over storage: no HTTP here, so they are
//! tested without sockets.
//!
//! A push is handled document by document, each under a claim on that document (and on the
//! customer whose scope it is in): load the stored document, apply the pushed changes to a copy,
//! validate it with client-core's rules, check the writer's rights on the document before and
//! after and on the operations of the changes, then log the new changes, the document's scope
//! fields and any scope events. Concurrent pushes share storage transactions
//! ([`crate::group_commit`]). A refused document leaves nothing behind. A large round loads,
//! merges and validates the documents it read ahead on several threads first (`merged`), and
//! then checks them one at a time in order as above.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use automerge::{ActorId, AutoCommit};
use fieldsync_core::authorship;
use fieldsync_core::cost::{self, ChangeCost};
use fieldsync_core::ids::parse_id;
use fieldsync_core::model::customer::{Customer, CustomerEdit};
use fieldsync_core::model::{DocKind, Document, DocumentModel, validate_document};
use fieldsync_core::protocol::{
    Accepted, PulledDocument, PushDocument, Rejected, SyncRequest, SyncResponse, hex_heads,
};
use serde_bytes::ByteBuf;
use tokio::sync::broadcast;

use crate::access::{Directory, Principal, Refusal, WriteContext, check_write, scope_of};
use crate::budget::{ApplyBudget, RateLimits, UserRates};
use crate::error::AppError;
use crate::grace;
use crate::group_commit::{Claim, Claims, GroupCommit};
use crate::metrics::Metrics;
use crate::storage::{
    DocCommit, DocScope, LoggedChange, PullLimits, PullPage, ReadAhead, Role, ScopeEvent, Storage,
    StorageError, User,
};
use fieldsync_core::model::fields::parse_time;
use fieldsync_core::rights::check_rights_at;
use merged::{Changed, Merged};

mod merged;

/// The device name changes made on the server for a browser carry.
pub const WEB_DEVICE: &str = "web console";

/// Documents whose read model rows are written per transaction when they are filled in.
const BACKFILL_BATCH: usize = 500;

/// Take a fresh snapshot once this many changes were logged after the last one.
const SNAPSHOT_EVERY: usize = 32;

/// What live subscribers are told.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A document changed.
    Changed(Box<Change>),
    /// Changes may have been missed (this node lost its link to the other nodes for a
    /// moment): every subscriber syncs.
    MayHaveMissed,
}

/// Something changed in the scope of whoever sees `scope`.
#[derive(Debug, Clone)]
pub struct Change {
    /// The log sequence number of the news.
    pub seq: u64,
    /// The changed document's scope fields.
    pub scope: DocScope,
    /// For a visit, its customer's.
    pub customer: Option<DocScope>,
    /// The device session whose push made the news, if a device's: that device has it
    /// already and is not told.
    pub session: Option<String>,
}

/// The server's core: storage, the bounded document cache, the server's own Automerge actor,
/// metrics and the live notification channel.
pub struct Core {
    /// Storage.
    pub storage: Arc<dyn Storage>,
    cache: Mutex<lru::LruCache<String, AutoCommit>>,
    /// The bytes of documents pulls sent whole lately, for the next device that asks.
    recent: crate::pull::RecentDocuments,
    claims: Claims,
    writes: GroupCommit,
    actor: ActorId,
    /// Live notifications.
    pub notices: broadcast::Sender<Notice>,
    /// Metrics.
    pub metrics: Metrics,
    /// Page limits of pulls.
    pub limits: PullLimits,
    /// How long after a customer changes hands its previous owner's last work is still taken
    /// ([`crate::grace`]), in seconds; 0 takes none.
    pub handover_grace_secs: i64,
    /// Hours to the first response of a complaint by priority, sent to every device.
    pub complaint_hours: fieldsync_core::model::complaint::ResponseHours,
    /// The limits on attachments, sent to every device.
    pub attachment_settings: Option<fieldsync_core::protocol::AttachmentSettings>,
    /// Operations being applied at once, over all requests.
    pub apply: ApplyBudget,
    /// How fast each user may sync.
    pub rates: UserRates,
    /// Threads a large push's documents are merged with their stored copies and validated
    /// on, ahead of the checks that take them one at a time; 1 merges each in its turn. The
    /// machine's cores by default.
    pub merge_threads: usize,
    /// The time pushes are judged at instead of the system clock's (for tests and the fuzz
    /// harness, whose documents are dated).
    pub fixed_time: Option<chrono::DateTime<chrono::Utc>>,
    /// When this core was made (the server process started).
    pub started: std::time::Instant,
    /// When each device session last synced with this process, and the app version its
    /// `User-Agent` named (the client's word: counted, never trusted).
    seen: Mutex<HashMap<String, (std::time::Instant, Option<String>)>>,
    /// The history the log belongs to, named in every sync answer ([`crate::history`]).
    pub history: crate::history::History,
    /// Every user as last read, with the directory's version then ([`Core::directory`]).
    directory: Mutex<Option<(i64, Arc<Vec<User>>)>>,
}

fn refusal(rule: &str, reason: impl Into<String>) -> Refusal {
    Refusal {
        rule: rule.to_string(),
        reason: reason.into(),
    }
}

/// What one pushed document's changes cost, from their bytes alone
/// ([`cost::measure_changes`]): a change too large is refused as `too_large`, bytes that are
/// not changes as `corrupt`.
fn measure(doc: &PushDocument) -> Result<ChangeCost, Refusal> {
    let mut total = ChangeCost::default();
    for change in &doc.changes {
        let costs = cost::measure_changes(change).map_err(|e| match e {
            fieldsync_core::Error::TooLarge(why) => refusal("too_large", why),
            other => refusal("corrupt", other.to_string()),
        })?;
        total = total.plus(ChangeCost::sum(costs));
    }
    Ok(total)
}

/// The changes `doc` gained since `before_heads`, in causal order, taken from the `pushed`
/// changes as they were parsed: asking Automerge for them would encode (and compress) each
/// again from the merged operations, which for a long new document costs more than its merge.
fn news_of(
    doc: &mut AutoCommit,
    before_heads: &[automerge::ChangeHash],
    pushed: Vec<automerge::Change>,
) -> Result<Vec<automerge::Change>, PushError> {
    let order: Vec<automerge::ChangeHash> = doc
        .get_changes_meta(before_heads)
        .into_iter()
        .map(|m| m.hash)
        .collect();
    let mut pushed: HashMap<automerge::ChangeHash, automerge::Change> =
        pushed.into_iter().map(|c| (c.hash(), c)).collect();
    order
        .into_iter()
        .map(|hash| {
            pushed
                .remove(&hash)
                .or_else(|| doc.get_change_by_hash(&hash))
                .ok_or_else(|| {
                    PushError::Failed(AppError::Internal(format!(
                        "change {hash} is in the merged document but could not be read back"
                    )))
                })
        })
        .collect()
}

/// The changes an accepted push logs, what they cost, and how many the document logged since
/// its last snapshot.
struct Logged {
    changes: Vec<LoggedChange>,
    cost: ChangeCost,
    since_snapshot: usize,
    /// The heads of the stored document they were checked against (hex, comma-separated;
    /// empty for a new document).
    base_heads: String,
    /// The customer whose scope they were checked against, and its stored heads then.
    base_customer: Option<(String, String)>,
}

/// A push failed: refused (the client is told why), or the server failed.
enum PushError {
    Refused(Refusal),
    Failed(AppError),
}

impl From<Refusal> for PushError {
    fn from(r: Refusal) -> Self {
        PushError::Refused(r)
    }
}

impl From<StorageError> for PushError {
    fn from(e: StorageError) -> Self {
        PushError::Failed(e.into())
    }
}

impl Core {
    /// A core over `storage` keeping at most `cache_documents` documents in memory.
    pub fn new(storage: Arc<dyn Storage>, cache_documents: usize) -> Result<Core, AppError> {
        let history = crate::history::current(&*storage)?;
        let actor = storage.meta_init("actor_id", &ActorId::random().to_hex_string())?;
        let claims = Claims::across_nodes_of(&storage);
        let actor = ActorId::try_from(actor.as_str())
            .map_err(|e| AppError::Internal(format!("stored actor id: {e}")))?;
        let cap = NonZeroUsize::new(cache_documents.max(1)).unwrap_or(NonZeroUsize::MIN);
        let metrics = Metrics::default();
        Ok(Core {
            storage,
            cache: Mutex::new(lru::LruCache::new(cap)),
            recent: crate::pull::RecentDocuments::new(
                crate::pull::recent::RECENT_BYTES,
                metrics.pulled_from_memory.clone(),
            ),
            claims,
            writes: GroupCommit::new(
                metrics.write_transactions.clone(),
                metrics.documents_written.clone(),
            ),
            actor,
            notices: broadcast::channel(1024).0,
            metrics,
            // Every page is a round trip, and a new device merges each in one transaction:
            // 2,000 documents (or 4 MiB) a page keep a 29,000-document territory to 15 pages.
            limits: PullLimits {
                max_documents: 2_000,
                max_bytes: 4 << 20,
            },
            handover_grace_secs: 30 * 24 * 3600,
            complaint_hours: Default::default(),
            attachment_settings: None,
            apply: ApplyBudget::new(crate::budget::APPLY_OPS_AT_ONCE),
            rates: UserRates::new(RateLimits::default()),
            merge_threads: std::thread::available_parallelism().map_or(1, usize::from),
            fixed_time: None,
            started: std::time::Instant::now(),
            seen: Mutex::new(HashMap::new()),
            history,
            directory: Mutex::new(None),
        })
    }

    /// Notes that device session `session` synced now, from the app version its `User-Agent`
    /// named (`fieldsync_core::protocol::compat::app_version`), if any.
    pub fn saw_device(&self, session: &str, app_version: Option<&str>) {
        if let Ok(mut seen) = self.seen.lock() {
            // Sessions silent for a day are forgotten, so the map stays as large as a day's
            // devices.
            if seen.len() >= 4096 && !seen.contains_key(session) {
                let day = std::time::Duration::from_secs(24 * 3600);
                seen.retain(|_, (at, _)| at.elapsed() < day);
            }
            seen.insert(
                session.to_string(),
                (std::time::Instant::now(), app_version.map(str::to_string)),
            );
        }
    }

    /// How many device sessions synced with this process within `window`.
    pub fn devices_seen(&self, window: std::time::Duration) -> usize {
        self.seen
            .lock()
            .map(|seen| {
                seen.values()
                    .filter(|(at, _)| at.elapsed() < window)
                    .count()
            })
            .unwrap_or(0)
    }

    /// How many of the device sessions that synced within `window` ran each app version
    /// (`unknown` for those that named none): what an operator reads before a release stops
    /// serving an old protocol.
    pub fn app_versions_seen(
        &self,
        window: std::time::Duration,
    ) -> std::collections::BTreeMap<String, usize> {
        let mut versions = std::collections::BTreeMap::new();
        if let Ok(seen) = self.seen.lock() {
            for (_, version) in seen.values().filter(|(at, _)| at.elapsed() < window) {
                let version = version.clone().unwrap_or_else(|| "unknown".into());
                *versions.entry(version).or_insert(0) += 1;
            }
        }
        versions
    }

    /// The principal of a user, with their team.
    pub fn principal(&self, username: &str) -> Result<Option<Principal>, AppError> {
        let users = self.directory()?;
        Ok(users
            .iter()
            .find(|u| u.username == username && !u.disabled)
            .map(|u| Principal::of(u, &users)))
    }

    /// Every user, by name: the copy in memory while the stored directory's version is the
    /// one it was read at (one row read), else read again. The version rises with every
    /// change to users or their territories, whichever process or node makes it, so a
    /// disabled user, a new manager or a moved territory counts from the next request on.
    pub fn directory(&self) -> Result<Arc<Vec<User>>, AppError> {
        let version = self.storage.directory_version()?;
        let lock = || {
            self.directory
                .lock()
                .map_err(|_| AppError::Internal("directory lock".into()))
        };
        if let Some((read_at, users)) = &*lock()?
            && *read_at == version
        {
            return Ok(users.clone());
        }
        let (read_at, users) = self.storage.users_versioned()?;
        let users = Arc::new(users);
        let mut kept = lock()?;
        // Keep the newest read: another request may have read a later version meanwhile.
        if kept.as_ref().is_none_or(|(at, _)| *at <= read_at) {
            *kept = Some((read_at, users.clone()));
        }
        Ok(users)
    }

    /// How many documents the cache holds (for tests and metrics).
    pub fn cached_documents(&self) -> usize {
        self.cache.lock().map_or(0, |c| c.len())
    }

    /// A document as stored, from the cache if it holds it. When other nodes write to the same
    /// storage, a cached copy is used only while its heads are the stored ones (the caller
    /// holds the document's claim, so they cannot change meanwhile).
    pub(crate) fn load(&self, id: &str) -> Result<Option<AutoCommit>, AppError> {
        self.load_at(id, || Ok(self.storage.doc_heads(id)?))
    }

    /// [`Core::load`], with `stored_heads` giving the document's stored heads when a cached
    /// copy must be checked (a caller that read them already passes them on).
    fn load_at(
        &self,
        id: &str,
        stored_heads: impl FnOnce() -> Result<Option<String>, AppError>,
    ) -> Result<Option<AutoCommit>, AppError> {
        let cached = self
            .cache
            .lock()
            .map_err(|_| AppError::Internal("cache lock".into()))?
            .get(id)
            .cloned();
        if let Some(mut doc) = cached {
            if self.storage.nodes().is_none()
                || stored_heads()? == Some(self::stored_heads(&hex_heads(&doc.get_heads())))
            {
                return Ok(Some(doc));
            }
            self.metrics.stale_cache.inc();
        }
        let Some(stored) = self.storage.load_doc(id)? else {
            return Ok(None);
        };
        Ok(Some(stored.assemble(id)?))
    }

    /// One sync round for `who`, from no particular device session.
    pub fn sync(&self, who: &Principal, req: SyncRequest) -> Result<SyncResponse, AppError> {
        self.sync_session(who, None, req)
    }

    /// One sync round for `who` from device session `session`: what that device pushed is
    /// not sent back to it.
    pub fn sync_session(
        &self,
        who: &Principal,
        session: Option<&str>,
        req: SyncRequest,
    ) -> Result<SyncResponse, AppError> {
        // A protocol this server does not serve gets the answer that says who must update.
        fieldsync_core::protocol::compat::check(req.protocol)?;
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        let mut writes = RoundWrites::new(self);
        // What each document's changes cost, read from their bytes before anything is built;
        // the round as a whole must fit one push.
        let costs: Vec<Result<ChangeCost, Refusal>> = req.push.iter().map(measure).collect();
        let round = ChangeCost::sum(costs.iter().filter_map(|c| c.as_ref().ok().copied()));
        // Every round counts against its user's rate, refused ones too (at most a full push's
        // operations), so that refusals cannot be asked for without end.
        if who.role != Role::Admin {
            let wire: usize = req
                .push
                .iter()
                .flat_map(|d| &d.changes)
                .map(|c| c.len())
                .sum();
            let ops = round.ops.min(cost::MAX_PUSH_OPS);
            self.rates.round(&who.username, ops, wire as u64)?;
        }
        if !round.fits_a_push() {
            self.metrics.rejections.inc();
            return Err(AppError::TooMuchWork(format!(
                "this round pushes {} operations and {} bytes, more than one round may carry ({} operations, {} bytes): push fewer documents per round",
                round.ops,
                round.bytes,
                cost::MAX_PUSH_OPS,
                cost::MAX_PUSH_BYTES
            )));
        }
        // Wait while other requests apply as much as the server takes on at once.
        let _applying = self.apply.take(round.ops);
        for (docs, costs) in req.push.chunks(READ_AHEAD).zip(costs.chunks(READ_AHEAD)) {
            let ids: Vec<&str> = docs
                .iter()
                .map(|d| d.id.as_str())
                .filter(|id| parse_id(id).is_ok_and(|p| p == *id))
                .collect();
            writes.read_ahead(&ids)?;
            let mut early = writes.premerge(who, docs, costs);
            writes.claim_scopes_ahead(&early)?;
            for (index, (doc, cost)) in docs.iter().zip(costs).enumerate() {
                let pushed = cost.clone().map_err(PushError::Refused).and_then(|cost| {
                    let early = early[index].take();
                    self.push(who, session, doc, cost, early, &mut writes)
                });
                match pushed {
                    Ok(heads) => accepted.push(Accepted {
                        id: doc.id.clone(),
                        heads,
                    }),
                    Err(PushError::Refused(r)) => {
                        self.metrics.rejections.inc();
                        tracing::info!(user = %who.username, doc = %doc.id, rule = %r.rule, reason = %r.reason, "push rejected");
                        rejected.push(Rejected {
                            id: doc.id.clone(),
                            rule: r.rule,
                            reason: r.reason,
                        });
                    }
                    Err(PushError::Failed(e)) => return Err(e),
                }
            }
        }
        // Nothing is acknowledged before it is durable.
        writes.finish()?;
        // A round that wrote nothing, from a device that has everything up to the log's head,
        // has nothing to pull: asked in one read instead of a pull's several.
        let page = if accepted.is_empty() && self.storage.head_seq()? == req.cursor {
            PullPage {
                cursor: req.cursor,
                ..PullPage::default()
            }
        } else {
            self.storage.pull_remembering(
                Some(&self.recent),
                who,
                session,
                req.cursor,
                self.limits,
            )?
        };
        let team = match who.role {
            Role::Admin => self
                .directory()?
                .iter()
                .map(|u| u.username.clone())
                .collect(),
            Role::Manager | Role::Rep => who.team.clone(),
        };
        Ok(SyncResponse {
            // Answered in the protocol asked, which may be an older one this server serves.
            protocol: req.protocol,
            accepted,
            rejected,
            documents: page
                .documents
                .into_iter()
                .map(|(id, snapshot, data)| PulledDocument {
                    id,
                    snapshot,
                    data: ByteBuf::from(data),
                })
                .collect(),
            revoked: page.revoked,
            cursor: page.cursor,
            more: page.more,
            settings: Some(fieldsync_core::protocol::Settings {
                complaint_hours: self.complaint_hours,
                team,
                attachments: self.attachment_settings.clone(),
            }),
            history: Some(self.history.id.clone()),
            forked_from: self.history.forked_from.clone(),
        })
    }

    /// Checks one pushed document and, if it is accepted, adds its commit to the round's
    /// writes. Returns the heads it will have once they are written. `early` is its merge,
    /// if it was computed ahead from what the round read ahead of it ([`merged::premerge`]).
    fn push<'a>(
        &'a self,
        who: &Principal,
        session: Option<&str>,
        doc: &PushDocument,
        cost: ChangeCost,
        early: Option<Result<Merged, PushError>>,
        writes: &mut RoundWrites<'a>,
    ) -> Result<Vec<String>, PushError> {
        let id = parse_id(&doc.id).map_err(|e| refusal("schema", e.to_string()))?;
        if id != doc.id {
            return Err(
                refusal("schema", format!("document ids are lower-case: send {id}")).into(),
            );
        }
        let (doc_claim, ahead) = writes.claim_document(&id).map_err(PushError::Failed)?;
        let (read, early) = match ahead {
            Some(read) => (read, early),
            // Not read ahead (pushed twice in the round, or the read ahead given up): what was
            // computed ahead was computed from another read than this claim's.
            None => {
                let read = ReadAhead {
                    history: self.storage.doc_history(&id)?,
                    stored: None,
                };
                (read, None)
            }
        };
        let merged = match early {
            Some(merged) => {
                self.metrics.merged_ahead.inc();
                merged
            }
            None => self.merge_pushed(who, &id, doc, cost, &read),
        };
        let history = read.history;
        let merged = match merged? {
            Merged::Unchanged(heads) => return Ok(heads),
            Merged::Changed(changed) => *changed,
        };
        let Changed {
            before,
            before_heads,
            mut after,
            mut new_changes,
            decoded,
            before_view,
            after_view,
        } = merged;
        // A customer's own push may change the scope; its visits' pushes only read it.
        let changes_scope = after_view.kind() == DocKind::Customer;
        let scope_claim = match scope_key(&after_view) {
            Some(key) => writes
                .claim_scope(&key, changes_scope)
                .map_err(PushError::Failed)?,
            None => None,
        };
        // The customer's scope is read with its heads; where other nodes share the storage, the
        // write is refused if the customer changed since (see `DocCommit::base_customer`).
        let (customer, customer_heads) = match scope_key(&after_view) {
            Some(key) if !changes_scope => match writes.customers.get(&key) {
                Some(known) => known.clone(),
                None => {
                    let read = self.customer_at(&after_view)?;
                    writes.customers.insert(key, read.clone());
                    read
                }
            },
            _ => self.customer_at(&after_view)?,
        };
        let base_customer = match (after_view.scope().customer, self.storage.nodes()) {
            (Some(c), Some(_)) => Some((c, customer_heads.unwrap_or_default())),
            _ => None,
        };
        let customer_before = match &before_view {
            Some(b) if b.scope().customer == after_view.scope().customer => customer.clone(),
            Some(b) => self.customer_of(b)?,
            None => None,
        };
        // Who may approve whose plans and claims is asked of every user; other kinds never ask.
        let people = if after_view.kind().asks_about_people() {
            self.directory().map_err(PushError::Failed)?
        } else {
            Arc::new(Vec::new())
        };
        let checked = check_write(
            who,
            before_view.as_ref(),
            &after_view,
            &decoded,
            &WriteContext {
                customer: customer.clone(),
                customer_before: customer_before.clone(),
                now: self.fixed_time,
            },
            &*people,
        );
        if let Err(refused) = checked {
            let last_work = LastWork {
                before: before.as_ref(),
                new_changes: &new_changes,
                before_view: before_view.as_ref(),
                after_view: &after_view,
                decoded: &decoded,
            };
            if refused.rule != "scope"
                || !self.grace_allows(who, &mut after, &last_work, &*people)?
            {
                return Err(refused.into());
            }
        }
        let logged = new_changes.iter_mut().map(LoggedChange::of).collect();
        let prepared = self.prepare(
            &who.username,
            session,
            &id,
            before_view.as_ref().map(|b| (b, customer_before)),
            &after_view,
            after,
            Logged {
                changes: logged,
                cost,
                since_snapshot: history.changes_since_snapshot,
                base_heads: stored_heads(&hex_heads(&before_heads)),
                base_customer,
            },
            customer,
        )?;
        let heads = prepared.heads.clone();
        writes
            .add(prepared, [Some(doc_claim), scope_claim])
            .map_err(PushError::Failed)?;
        Ok(heads)
    }

    /// Whether a push refused as out of scope is the previous owner's last work on a customer
    /// that changed hands within the grace period ([`crate::grace`]): judged as if they still
    /// owned it, by the same field rules.
    fn grace_allows(
        &self,
        who: &Principal,
        after: &mut AutoCommit,
        work: &LastWork<'_>,
        people: &dyn Directory,
    ) -> Result<bool, PushError> {
        if who.role != Role::Rep || self.handover_grace_secs <= 0 {
            return Ok(false);
        }
        let now = chrono::Utc::now().timestamp();
        let me = who.username.as_str();
        let allowed = |before: Option<&Document>, after: &Document| {
            let now = self.fixed_time.unwrap_or_else(chrono::Utc::now);
            check_rights_at(who, before, after, work.decoded, people, now).is_ok()
        };
        match (work.before_view, work.after_view) {
            (Some(Document::Customer(b)), Document::Customer(a)) => {
                let Some(mut doc) = work.before.cloned() else {
                    return Ok(false);
                };
                let Some(lost) = grace::lost_by(&mut doc, me) else {
                    return Ok(false);
                };
                let as_mine = |c: &Customer| {
                    let mut c = c.clone();
                    c.owner = me.to_string();
                    Document::Customer(c)
                };
                Ok(grace::within(&lost, self.handover_grace_secs, now)
                    && grace::built_before(after, work.new_changes, &lost.change)
                    && allowed(Some(&as_mine(b)), &as_mine(a)))
            }
            (before_view, Document::Visit(v)) if v.author == me => {
                let Some(mut customer) = self.load(&v.customer).map_err(PushError::Failed)? else {
                    return Ok(false);
                };
                let Some(lost) = grace::lost_by(&mut customer, me) else {
                    return Ok(false);
                };
                // A new visit must have been made before the handover.
                let made_before = before_view.is_some()
                    || parse_time("checkin_at", &v.checkin_at)
                        .is_ok_and(|t| t.timestamp() <= lost.at);
                Ok(grace::within(&lost, self.handover_grace_secs, now)
                    && made_before
                    && allowed(before_view, work.after_view))
            }
            // Plans and claims never change hands, a visit by someone else is not theirs, and
            // orders, complaints and targets are not the last work the grace period keeps.
            (
                _,
                Document::Customer(_)
                | Document::Visit(_)
                | Document::TripPlan(_)
                | Document::ExpenseClaim(_)
                | Document::Order(_)
                | Document::Complaint(_)
                | Document::Target(_),
            ) => Ok(false),
        }
    }

    fn customer_of(&self, doc: &Document) -> Result<Option<DocScope>, PushError> {
        Ok(self.customer_at(doc)?.0)
    }

    /// [`Core::customer_of`], with the stored heads of the document the scope names (whatever
    /// its kind), read together.
    fn customer_at(&self, doc: &Document) -> Result<(Option<DocScope>, Option<String>), PushError> {
        // The customer a document belongs to (its scope names it) must be a customer: any
        // other kind is no customer at all.
        let Some(customer) = doc.scope().customer else {
            return Ok((None, None));
        };
        Ok(as_customer(self.storage.doc_scope_and_heads(&customer)?))
    }

    /// The commit of an accepted change set: its scope fields, scope events and, now and then,
    /// a fresh snapshot. `before` is the document as stored, with (for a visit) the scope
    /// fields of the customer it had.
    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &self,
        writer: &str,
        session: Option<&str>,
        id: &str,
        before: Option<(&Document, Option<DocScope>)>,
        after_view: &Document,
        mut after: AutoCommit,
        logged: Logged,
        customer: Option<DocScope>,
    ) -> Result<Prepared, PushError> {
        let changes = logged.changes;
        let scope = scope_of(after_view);
        let scope_events = match &before {
            Some((b, before_customer)) => self.scope_events(
                (&scope_of(b), before_customer.as_ref()),
                (&scope, customer.as_ref()),
            )?,
            None => Vec::new(),
        };
        let stored_changes = logged.since_snapshot;
        // A new document pushed as one change is stored as that change: it is already as compact
        // as a snapshot, and saving one would encode and compress the same content again.
        let new_in_parts = before.is_none() && changes.len() > 1;
        let snapshot = (new_in_parts || stored_changes + changes.len() >= SNAPSHOT_EVERY)
            .then(|| after.save());
        // But a device new to it loads a save twice as fast as it applies the change: one is
        // kept beside the change for the devices' first syncs, uncompressed (encoding only, a
        // few microseconds; compressing would cost seven times as much on the push's path).
        let first_save = (before.is_none() && changes.len() == 1 && snapshot.is_none())
            .then(|| after.save_nocompress());
        let heads = hex_heads(&after.get_heads());
        let governed_by = scope.governing(customer.as_ref());
        let commit = DocCommit {
            governed_by,
            scope,
            heads: stored_heads(&heads),
            changes,
            writer: writer.to_string(),
            session: session.map(str::to_string),
            snapshot,
            first_save,
            scope_events,
            cost: logged.cost,
            base_heads: Some(logged.base_heads),
            base_customer: logged.base_customer,
            attachments: attachment_uses(id, before.map(|(b, _)| b), after_view),
            view: Some(crate::read::rows::doc_view(after_view)),
        };
        Ok(Prepared {
            id: id.to_string(),
            heads,
            commit,
            doc: after,
            customer,
        })
    }

    /// Who gains or loses a document when its scope fields change: a customer (with its
    /// visits) that changes owner or territory, a visit pointed at another customer, a trip
    /// plan or expense claim that changes owner or approver. Each is a `(scope fields, for a
    /// visit its customer's)` pair, before and after. Without these events the old holders
    /// would keep their copies and a new holder would be sent only the latest changes of a
    /// document it never had.
    fn scope_events(
        &self,
        before: (&DocScope, Option<&DocScope>),
        after: (&DocScope, Option<&DocScope>),
    ) -> Result<Vec<ScopeEvent>, PushError> {
        let (b, a) = (before.0, after.0);
        let unchanged = b.owner == a.owner
            && b.territory == a.territory
            && b.approver == a.approver
            && b.customer == a.customer
            && before.1.map(|c| (&c.owner, &c.territory))
                == after.1.map(|c| (&c.owner, &c.territory));
        if unchanged {
            return Ok(Vec::new());
        }
        let users = self.storage.users()?;
        let visits = self.storage.dependents_of(&a.id)?;
        let mut events = Vec::new();
        for user in &users {
            let p = Principal::of(user, &users);
            let mut note = |doc_id: &str, was: bool, is: bool| {
                if was != is {
                    events.push(ScopeEvent {
                        username: user.username.clone(),
                        doc_id: doc_id.to_string(),
                        entered: is,
                    });
                }
            };
            note(&a.id, p.sees(b, before.1), p.sees(a, after.1));
            // A customer's visits move with it, except to their authors, who keep them.
            for v in &visits {
                note(&v.id, p.sees(v, Some(b)), p.sees(v, Some(a)));
            }
        }
        Ok(events)
    }

    /// Makes an edit of document `id` on the server as `who`, for a browser: `edit` changes a
    /// copy of the document as `who` sees it, and the change it makes (authored by `who`,
    /// from a fresh actor) is then pushed as a device's would be, through the same
    /// validation and rights checks ([`AppError::Refused`] with the same rule and reason).
    /// A document `who` does not see is [`AppError::NotFound`], whether it exists or not.
    /// Returns the document as stored after the edit.
    pub fn write_as(
        &self,
        who: &Principal,
        id: &str,
        edit: impl FnOnce(&mut AutoCommit, &Document) -> Result<(), AppError>,
    ) -> Result<Document, AppError> {
        let not_found = || AppError::NotFound(format!("no document {id} that you can see"));
        let id = parse_id(id).map_err(|_| not_found())?;
        let Some(mut doc) = self.load(&id)? else {
            return Err(not_found());
        };
        let view = validate_document(&doc).map_err(|e| AppError::Internal(e.to_string()))?;
        let customer = self.customer_of(&view).map_err(|e| match e {
            PushError::Failed(e) => e,
            PushError::Refused(r) => AppError::Internal(r.reason),
        })?;
        if !who.sees(&scope_of(&view), customer.as_ref()) {
            return Err(not_found());
        }
        let heads = doc.get_heads();
        doc.set_actor(ActorId::random());
        edit(&mut doc, &view)?;
        doc.commit_with(
            automerge::transaction::CommitOptions::default()
                .with_message(authorship::message(&who.username, Some(WEB_DEVICE)))
                .with_time(chrono::Utc::now().timestamp()),
        );
        let pushed = PushDocument {
            id: id.clone(),
            changes: doc
                .get_changes(&heads)
                .iter_mut()
                .map(|c| ByteBuf::from(c.bytes().into_owned()))
                .collect(),
        };
        if pushed.changes.is_empty() {
            return Ok(view);
        }
        let cost = measure(&pushed).map_err(|r| AppError::Refused {
            rule: r.rule,
            reason: r.reason,
        })?;
        let _applying = self.apply.take(cost.ops);
        let mut writes = RoundWrites::new(self);
        match self.push(who, None, &pushed, cost, None, &mut writes) {
            Ok(_) => {}
            Err(PushError::Refused(r)) => {
                self.metrics.rejections.inc();
                tracing::info!(user = %who.username, doc = %id, rule = %r.rule, reason = %r.reason, "web write refused");
                return Err(AppError::Refused {
                    rule: r.rule,
                    reason: r.reason,
                });
            }
            Err(PushError::Failed(e)) => return Err(e),
        }
        writes.flush()?;
        validate_document(&doc).map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Writes the read model rows of documents stored without one (by a server from before
    /// the read model, or imported from another backend). Returns how many it wrote.
    pub fn backfill_views(&self) -> Result<usize, AppError> {
        let mut written = 0;
        loop {
            let missing = self.storage.missing_views(BACKFILL_BATCH)?;
            if missing.is_empty() {
                return Ok(written);
            }
            let mut views = Vec::with_capacity(missing.len());
            for id in &missing {
                let doc = self
                    .load(id)?
                    .ok_or_else(|| AppError::Internal(format!("document {id} vanished")))?;
                let view = validate_document(&doc).map_err(|e| {
                    AppError::Internal(format!("stored document {id} does not validate: {e}"))
                })?;
                views.push(crate::read::rows::doc_view(&view));
            }
            self.storage.put_views(&views)?;
            written += views.len();
            if missing.len() < BACKFILL_BATCH {
                return Ok(written);
            }
        }
    }

    /// Hands every customer of rep `from` to rep `to`, as one operation of `who`.
    /// Returns how many customers moved.
    pub fn handover(&self, who: &Principal, from: &str, to: &str) -> Result<usize, AppError> {
        // The right first: who exists, and who is disabled, is not for everyone to learn.
        let allowed = match who.role {
            Role::Admin => true,
            Role::Manager => who.team.iter().any(|t| t == from) && who.team.iter().any(|t| t == to),
            Role::Rep => false,
        };
        if !allowed {
            return Err(AppError::Forbidden(format!(
                "only the manager of both {from} and {to}, or an admin, hands customers over"
            )));
        }
        let users = self.storage.users()?;
        let find = |name: &str| users.iter().find(|u| u.username == name);
        let (Some(_), Some(target)) = (find(from), find(to)) else {
            return Err(AppError::NotFound(format!(
                "no user '{}'",
                if find(from).is_none() { from } else { to }
            )));
        };
        if target.disabled {
            return Err(AppError::Invalid(format!(
                "'{to}' is disabled: hand the customers to an active rep"
            )));
        }
        let ids = self.storage.owned_by(DocKind::Customer.as_str(), from)?;
        let moved = self.edit_customers(
            who,
            &ids,
            &CustomerEdit::Owner(to.to_string()),
            &format!("handover {from} → {to} by {}", who.username),
        )?;
        tracing::info!(by = %who.username, %from, %to, moved, "handover");
        Ok(moved)
    }

    /// Makes one edit of scope fields (an owner, a territory) on every customer of `ids`, as
    /// one operation of `who` (an admin or a manager, checked by the caller): each change is
    /// the server's own, with scope events for whoever gains or loses the customer and its
    /// visits, and all are written in one transaction. Returns how many customers changed.
    pub fn edit_customers(
        &self,
        who: &Principal,
        ids: &[String],
        edit: &CustomerEdit,
        message: &str,
    ) -> Result<usize, AppError> {
        // Every customer is claimed and prepared, then all are written in one transaction.
        let mut writes = RoundWrites::new(self);
        let mut moved = 0;
        for id in ids {
            let id = id.clone();
            let doc_claim = writes.claim(&id)?;
            let scope_claim = writes.claim(&customer_scope_key(&id))?;
            let Some(before) = self.load(&id)? else {
                continue;
            };
            let before_view =
                validate_document(&before).map_err(|e| AppError::Internal(e.to_string()))?;
            let mut after = before.clone().with_actor(self.actor.clone());
            let heads = after.get_heads();
            Customer::apply_edit(&mut after, edit)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            after.commit_with(
                automerge::transaction::CommitOptions::default()
                    .with_message(message.to_string())
                    .with_time(chrono::Utc::now().timestamp()),
            );
            let after_view =
                validate_document(&after).map_err(|e| AppError::Internal(e.to_string()))?;
            let changes: Vec<LoggedChange> = after
                .get_changes(&heads)
                .iter_mut()
                .map(LoggedChange::of)
                .collect();
            let mut cost = ChangeCost::default();
            for change in &changes {
                let measured = cost::measure_changes(&change.bytes)
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                cost = cost.plus(ChangeCost::sum(measured));
            }
            let logged = Logged {
                changes,
                cost,
                since_snapshot: self.storage.doc_history(&id)?.changes_since_snapshot,
                base_heads: stored_heads(&hex_heads(&heads)),
                base_customer: None,
            };
            match self.prepare(
                &who.username,
                None,
                &id,
                Some((&before_view, None)),
                &after_view,
                after,
                logged,
                None,
            ) {
                Ok(prepared) => {
                    writes.add(prepared, [Some(doc_claim), Some(scope_claim)])?;
                    moved += 1;
                }
                Err(PushError::Failed(e)) => return Err(e),
                Err(PushError::Refused(r)) => return Err(AppError::Internal(r.reason)),
            }
        }
        writes.flush()?;
        Ok(moved)
    }
}

/// What a push brings, for the grace check of a departing rep's last work.
struct LastWork<'a> {
    before: Option<&'a AutoCommit>,
    new_changes: &'a [automerge::Change],
    before_view: Option<&'a Document>,
    after_view: &'a Document,
    decoded: &'a [automerge::ExpandedChange],
}

/// Heads as storage keeps them (`DocCommit::heads`, `Documents::doc_heads`): hex,
/// comma-separated. What the cache and the heads checks compare, so written in one place.
/// The attachment references of document `id` to index after a change, when they are not the
/// ones it had before (`None`: nothing to write, the common case).
fn attachment_uses(
    id: &str,
    before: Option<&Document>,
    after: &Document,
) -> Option<Vec<crate::storage::AttachmentUse>> {
    let now = after.attachments();
    let was = before.map(Document::attachments).unwrap_or_default();
    (now != was).then(|| {
        now.into_iter()
            .map(|a| crate::storage::AttachmentUse {
                id: a.id.clone(),
                doc_id: id.to_string(),
                added_by: a.added_by.clone(),
                size: a.size.max(0) as u64,
                media_type: a.media_type.clone(),
            })
            .collect()
    })
}

fn stored_heads(hex: &[String]) -> String {
    hex.join(",")
}

/// The claim key of the customer scope a document's rights depend on: a customer's own, a
/// visit's customer's. It is the last claim a push takes, so claims never wait in a cycle.
fn scope_key(doc: &Document) -> Option<String> {
    let scope = doc.scope();
    let customer = match scope.customer {
        Some(c) => Some(c),
        None if scope.kind == DocKind::Customer => Some(scope.id),
        None => None,
    };
    customer.as_deref().map(customer_scope_key)
}

/// A customer's scope and stored heads as [`Core::customer_at`] answers them, from the row read
/// for the id a document names as its customer: a document of another kind is no customer.
fn as_customer(read: Option<(DocScope, String)>) -> (Option<DocScope>, Option<String>) {
    match read {
        Some((scope, heads)) => (
            (scope.kind == DocKind::Customer).then_some(scope),
            Some(heads),
        ),
        None => (None, None),
    }
}

/// The claim key of customer `id`'s scope (its own and its visits').
fn customer_scope_key(id: &str) -> String {
    format!("scope:{id}")
}

/// At most this many accepted documents of one round wait in memory to be written together.
const MAX_PREPARED: usize = 200;

/// A round's documents are claimed and read this many at a time, ahead of their checks.
const READ_AHEAD: usize = 64;

/// An accepted document waiting to be written.
struct Prepared {
    id: String,
    heads: Vec<String>,
    commit: DocCommit,
    doc: AutoCommit,
    customer: Option<DocScope>,
}

/// The accepted documents of one round (or one handover), written together in one shared
/// transaction, each still under the claims it was checked under.
struct RoundWrites<'a> {
    core: &'a Core,
    prepared: Vec<Prepared>,
    claims: Vec<Claim<'a>>,
    /// Documents claimed and read ahead of their checks, by id.
    ahead: HashMap<String, (Claim<'a>, ReadAhead)>,
    /// Customers' scopes (with their stored heads) read under a scope claim the round holds,
    /// by scope key: the round's other visits of the customer read them here.
    customers: HashMap<String, (Option<DocScope>, Option<String>)>,
    /// Scope claims taken ahead of the pushes that ask for them, by key
    /// ([`RoundWrites::claim_scopes_ahead`]).
    scopes_ahead: HashMap<String, Claim<'a>>,
    /// Scope keys claimed by a push that may change the scope (the customer's own).
    scope_changes: HashSet<String>,
}

impl<'a> RoundWrites<'a> {
    fn new(core: &'a Core) -> RoundWrites<'a> {
        RoundWrites {
            core,
            prepared: Vec::new(),
            claims: Vec::new(),
            ahead: HashMap::new(),
            customers: HashMap::new(),
            scopes_ahead: HashMap::new(),
            scope_changes: HashSet::new(),
        }
    }

    /// Whether a document the round prepared holds the claim of `key`.
    fn holds(&self, key: &str) -> bool {
        self.claims.iter().any(|c| c.key() == key)
    }

    /// Claims scope key `key` for a push that reads the scope, or changes it (`changes`). A
    /// push that only reads a scope the round already holds, which nothing prepared in the round
    /// changes, shares the round's claim (`None`): visits of one customer do not each write the
    /// round out. Any other claim is [`RoundWrites::claim`]'s.
    fn claim_scope(&mut self, key: &str, changes: bool) -> Result<Option<Claim<'a>>, AppError> {
        if !changes && !self.scope_changes.contains(key) && self.holds(key) {
            return Ok(None);
        }
        let claim = match self.scopes_ahead.remove(key) {
            // Claimed ahead: what was read under it still holds.
            Some(claim) => {
                self.core.metrics.scopes_ahead.inc();
                claim
            }
            None => {
                let claim = self.claim(key)?;
                // Claimed anew: what was read under an earlier claim of it may be stale.
                self.customers.remove(key);
                claim
            }
        };
        if changes {
            self.scope_changes.insert(key.to_string());
        }
        Ok(Some(claim))
    }

    /// Claims together the customer scopes that documents `early` (merged ahead, by
    /// [`RoundWrites::premerge`]) will ask for, where no one else works on them and the round
    /// does not hold them yet; then reads together the customers their visits are checked by
    /// (each read holds while its claim does). Each push would otherwise claim and read on its
    /// own: a round trip each where other nodes share the storage.
    fn claim_scopes_ahead(
        &mut self,
        early: &[Option<Result<Merged, PushError>>],
    ) -> Result<(), AppError> {
        // Each scope key wanted, with the customer to read for it if a visit (or any kind
        // that names its customer) asks.
        let mut wanted: HashMap<String, Option<String>> = HashMap::new();
        for merged in early.iter().flatten() {
            let Ok(Merged::Changed(changed)) = merged else {
                continue;
            };
            let view = &changed.after_view;
            let Some(key) = scope_key(view) else {
                continue;
            };
            if self.scopes_ahead.contains_key(&key) || self.holds(&key) {
                continue;
            }
            let read = match view.kind() {
                DocKind::Customer => None,
                _ => view.scope().customer,
            };
            let slot = wanted.entry(key).or_default();
            if slot.is_none() {
                *slot = read;
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = wanted.keys().map(String::as_str).collect();
        let claims = self.core.claims.try_claim_all(&keys)?;
        let to_read: Vec<(String, String)> = claims
            .iter()
            .filter_map(|c| {
                let customer = wanted.get(c.key())?.clone()?;
                Some((c.key().to_string(), customer))
            })
            .collect();
        let ids: Vec<&str> = to_read.iter().map(|(_, id)| id.as_str()).collect();
        let read = self.core.storage.doc_scopes_and_heads(&ids);
        for claim in claims {
            // Claimed anew: what was read under an earlier claim of it may be stale.
            self.customers.remove(claim.key());
            self.scopes_ahead.insert(claim.key().to_string(), claim);
        }
        for ((key, _), found) in to_read.into_iter().zip(read?) {
            self.customers.insert(key, as_customer(found));
        }
        Ok(())
    }

    /// Claims those of documents `ids` no one else works on, together, and reads what their
    /// checks need of them, together (each read holds while its claim does: nothing else can
    /// write the document meanwhile). Claims read ahead before and still unused end first.
    fn read_ahead(&mut self, ids: &[&str]) -> Result<(), AppError> {
        self.end_ahead();
        let claims = self.core.claims.try_claim_all(ids)?;
        if claims.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = claims.iter().map(Claim::key).collect();
        // The heads of the copies in the cache: a document whose copy is current is not read.
        let copies: Vec<Option<String>> = {
            let mut cache = self
                .core
                .cache
                .lock()
                .map_err(|_| AppError::Internal("cache lock".into()))?;
            keys.iter()
                .map(|k| {
                    cache
                        .peek_mut(*k)
                        .map(|doc| stored_heads(&hex_heads(&doc.get_heads())))
                })
                .collect()
        };
        let read = self.core.storage.read_ahead(&keys, &copies)?;
        for (claim, read) in claims.into_iter().zip(read) {
            self.ahead.insert(claim.key().to_string(), (claim, read));
        }
        Ok(())
    }

    /// The merges of the round's documents `docs` (costing `costs`) that were read ahead,
    /// computed on several threads ([`merged::premerge`]), by position in `docs`: `None` for
    /// a document not computed ahead.
    fn premerge(
        &self,
        who: &Principal,
        docs: &[PushDocument],
        costs: &[Result<ChangeCost, Refusal>],
    ) -> Vec<Option<Result<Merged, PushError>>> {
        // A document pushed twice is computed ahead once: its second push, which finds the
        // read ahead taken, is computed in its turn.
        let mut seen = HashSet::new();
        let work: Vec<merged::Ahead<'_>> = docs
            .iter()
            .zip(costs)
            .enumerate()
            .filter_map(|(index, (doc, cost))| {
                let (_, read) = self.ahead.get(doc.id.as_str())?;
                if !seen.insert(doc.id.as_str()) {
                    return None;
                }
                Some(merged::Ahead {
                    index,
                    doc,
                    cost: *cost.as_ref().ok()?,
                    read,
                })
            })
            .collect();
        let mut early: Vec<Option<Result<Merged, PushError>>> =
            std::iter::repeat_with(|| None).take(docs.len()).collect();
        for (index, merged) in merged::premerge(self.core, who, &work, self.core.merge_threads) {
            early[index] = Some(merged);
        }
        early
    }

    /// Ends the claims taken ahead and not used, together.
    fn end_ahead(&mut self) {
        if !self.ahead.is_empty() || !self.scopes_ahead.is_empty() {
            let unused = self
                .ahead
                .drain()
                .map(|(_, (claim, _))| claim)
                .chain(self.scopes_ahead.drain().map(|(_, claim)| claim))
                .collect();
            self.core.claims.end(unused);
        }
    }

    /// Claims document `id`, with what was read of it ahead if it was.
    fn claim_document(&mut self, id: &str) -> Result<(Claim<'a>, Option<ReadAhead>), AppError> {
        match self.ahead.remove(id) {
            Some((claim, read)) => Ok((claim, Some(read))),
            None => Ok((self.claim(id)?, None)),
        }
    }

    /// Claims `key`. If an earlier document of this round holds it (the same document twice,
    /// or a visit of a customer pushed before it), what the round prepared is written first,
    /// so the document is checked against stored state. If another push holds it, the round
    /// writes what it prepared before waiting: a round never waits while holding the claims of
    /// documents it is done with, so two rounds never wait for each other.
    fn claim(&mut self, key: &str) -> Result<Claim<'a>, AppError> {
        if let Some((claim, _)) = self.ahead.remove(key) {
            return Ok(claim);
        }
        if self.holds(key) {
            self.flush()?;
        }
        if let Some(claim) = self.core.claims.try_claim(key)? {
            return Ok(claim);
        }
        self.flush()?;
        self.end_ahead();
        self.core.claims.claim(key)
    }

    /// Adds an accepted document with the claims it was checked under. A round that has
    /// prepared [`MAX_PREPARED`] documents writes them before going on, so a large push (an
    /// admin's import) holds a bounded number of documents in memory.
    fn add<const N: usize>(
        &mut self,
        prepared: Prepared,
        claims: [Option<Claim<'a>>; N],
    ) -> Result<(), AppError> {
        self.claims.extend(claims.into_iter().flatten());
        self.prepared.push(prepared);
        if self.prepared.len() >= MAX_PREPARED {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what the round prepared and ends every claim it holds.
    fn finish(&mut self) -> Result<(), AppError> {
        self.end_ahead();
        self.flush()
    }

    /// Writes what the round prepared, durably; then caches the documents, tells live
    /// listeners and ends the claims.
    fn flush(&mut self) -> Result<(), AppError> {
        if self.prepared.is_empty() {
            return Ok(());
        }
        let prepared = std::mem::take(&mut self.prepared);
        let mut commits = Vec::with_capacity(prepared.len());
        let mut rest = Vec::with_capacity(prepared.len());
        for p in prepared {
            let (scope, changes) = (p.commit.scope.clone(), p.commit.changes.len());
            let session = p.commit.session.clone();
            // A new document pushed as one change is, whole, the save stored with it.
            let whole = p.commit.first_save.clone();
            rest.push((p.id, p.doc, p.customer, scope, changes, session, whole));
            commits.push(p.commit);
        }
        let written = self.core.writes.write_all(&*self.core.storage, commits);
        let outcome = written.map(|seqs| {
            let mut news = Vec::new();
            for (seq, (id, doc, customer, scope, changes, session, whole)) in
                seqs.into_iter().zip(rest)
            {
                // Its last logged change is `seq`: the rep's other devices pull it at that.
                if let Some(whole) = whole.filter(|_| seq > 0) {
                    news.push((id.clone(), seq, whole));
                }
                if let Ok(mut cache) = self.core.cache.lock() {
                    cache.put(id, doc);
                }
                self.core.metrics.changes_applied.inc_by(changes as u64);
                let _ = self.core.notices.send(Notice::Changed(Box::new(Change {
                    seq,
                    scope,
                    customer,
                    session,
                })));
            }
            self.core.recent.put(
                news.iter()
                    .map(|(id, seq, whole)| (id.as_str(), *seq, whole.as_slice())),
            );
        });
        self.core.claims.end(std::mem::take(&mut self.claims));
        self.customers.clear();
        self.scope_changes.clear();
        outcome
    }
}
