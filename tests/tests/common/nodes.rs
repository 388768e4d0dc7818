//! Several `fieldsync-server` nodes on one private PostgreSQL cluster, and what the tests of
//! multi-node mode ask of them: devices that sync through any node (a device's session is good
//! on every node, since the nodes share the signing key and the database), rounds counted per
//! node, the heads a device had when a sync succeeded (acknowledged), what each user should
//! hold by the scope rules, an event stream read raw (to time an event), and a raw sync round
//! (to read an error answer's status, headers and body).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::{AutoCommit, ChangeHash};
use fieldsync_core::model::customer::CustomerEdit;
use fieldsync_core::protocol::{self, PROTOCOL_VERSION, SyncRequest};
use fieldsync_core::rights::{DocScope, Principal, Role, scope_of};
use fieldsync_core::sync::http::HttpClient;
use fieldsync_core::sync::{SyncError, SyncReport, Transport};
use fieldsync_tests::postgres::PgCluster;
use fieldsync_tests::server::ServerProcess;
use tempfile::TempDir;

use super::{Device, add_org_users_on, visit};

/// How many server processes serve the one database.
pub const NODES: usize = 3;

/// Connect and request timeouts of the devices here: a node that is gone fails fast, and a
/// request that hangs fails the test in bounded time instead of after client-core's minute.
const CONNECT: Duration = Duration::from_secs(5);
const REQUEST: Duration = Duration::from_secs(30);

/// The organisation of [`super::add_org_users_on`] on one PostgreSQL cluster, served by
/// [`NODES`] server processes that share the data directory (and so the signing key).
pub struct Cluster {
    /// The nodes; a killed one stays in its place.
    pub nodes: Vec<ServerProcess>,
    /// The database cluster.
    pub pg: PgCluster,
    /// The data directory every node shares (its signing key).
    pub data: TempDir,
}

impl Cluster {
    /// Starts the cluster, the organisation's users and the nodes; `None` when PostgreSQL is
    /// not installed (the test skips).
    pub fn start(test: &str) -> Option<Cluster> {
        let pg = PgCluster::start(test)?;
        let data = tempfile::tempdir().unwrap();
        let url = pg.url("postgres");
        add_org_users_on(data.path(), Some(&url));
        let nodes = (0..NODES)
            .map(|_| ServerProcess::start_on(data.path(), Some(&url), &[]).unwrap())
            .collect();
        Some(Cluster { nodes, pg, data })
    }

    /// The base URL of each node, by index.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(ServerProcess::url).collect()
    }
}

/// A client of the server at `url` with the session `device` keeps: the device syncs through
/// another node without logging in again, its cursor kept (the nodes share one log).
pub fn client_through<'s>(device: &'s Device, url: &str) -> Result<HttpClient<'s>, SyncError> {
    let session = HttpClient::from_store(&device.store)?.session().cloned();
    let mut client = HttpClient::new(url)?.with_timeouts(CONNECT, REQUEST);
    if let Some(session) = session {
        client = client.with_session(session);
    }
    client.with_store(&device.store)
}

/// One sync of `device` through the node at `url`.
pub fn sync_through(device: &Device, url: &str) -> Result<SyncReport, SyncError> {
    let mut client = client_through(device, url)?;
    fieldsync_core::sync::run(&device.store, &mut client, |_| {})
}

/// A transport that counts its rounds in flight (`in_flight`) and notes when the first round
/// (the one carrying the device's push) was sent and answered.
pub struct Timed<'g, T> {
    pub inner: T,
    pub in_flight: Option<&'g AtomicUsize>,
    pub first_sent: Option<Instant>,
    pub first_answered: Option<Instant>,
}

impl<'g, T> Timed<'g, T> {
    pub fn new(inner: T, in_flight: Option<&'g AtomicUsize>) -> Self {
        Timed {
            inner,
            in_flight,
            first_sent: None,
            first_answered: None,
        }
    }
}

impl<T: Transport> Transport for Timed<'_, T> {
    fn sync_round(&mut self, body: Vec<u8>) -> Result<Vec<u8>, SyncError> {
        if let Some(g) = self.in_flight {
            g.fetch_add(1, Ordering::SeqCst);
        }
        let sent = Instant::now();
        let answer = self.inner.sync_round(body);
        if let Some(g) = self.in_flight {
            g.fetch_sub(1, Ordering::SeqCst);
        }
        if self.first_sent.is_none() {
            self.first_sent = Some(sent);
            self.first_answered = answer.is_ok().then(Instant::now);
        }
        answer
    }
}

/// A document id and the heads a device had when a sync of it succeeded: the server had
/// acknowledged (or sent) every change up to them.
pub type Acked = BTreeSet<(String, Vec<ChangeHash>)>;

/// Adds every document's heads on `device` to `acked` (call right after a successful sync).
pub fn record_acked(device: &Device, acked: &mut Acked) {
    for (id, _) in device.store.document_ids().unwrap() {
        let heads = device.store.heads(&id).unwrap();
        acked.insert((id, heads));
    }
}

/// Asserts that every acknowledged change is in `audit`'s copy (an admin's device, which
/// holds every document).
pub fn assert_acked_on(acked: &Acked, audit: &Device) {
    let mut loaded: BTreeMap<&str, AutoCommit> = BTreeMap::new();
    for (id, heads) in acked {
        let doc = loaded.entry(id).or_insert_with(|| {
            let bytes = audit
                .store
                .document_bytes(id)
                .unwrap_or_else(|e| panic!("acknowledged document {id} is lost: {e}"));
            AutoCommit::load(&bytes).unwrap()
        });
        let lost = doc.get_missing_deps(heads);
        assert!(
            lost.is_empty(),
            "acknowledged changes {lost:?} of {id} are lost"
        );
    }
}

/// The user `name` of the organisation as the scope rules see them (its team as the server
/// computes it: a manager's reps and the manager).
pub fn principal(name: &str) -> Principal {
    let (role, territories, manager, team): (Role, &[&str], Option<&str>, &[&str]) = match name {
        "admin" => (Role::Admin, &[], None, &["admin"]),
        "zhang" => (Role::Manager, &["east"], None, &["zhang", "li", "wang"]),
        "zhao" => (Role::Manager, &["north"], None, &["zhao", "chen"]),
        "li" => (Role::Rep, &["east"], Some("zhang"), &["li"]),
        "wang" => (Role::Rep, &["east"], Some("zhang"), &["wang"]),
        "chen" => (Role::Rep, &["north"], Some("zhao"), &["chen"]),
        other => panic!("{other} is not a user of the organisation"),
    };
    Principal {
        username: name.to_string(),
        role,
        territories: territories.iter().map(|t| t.to_string()).collect(),
        manager: manager.map(str::to_string),
        team: team.iter().map(|t| t.to_string()).collect(),
    }
}

/// The ids of the documents of `audit` (an admin's device: every document) that `user` sees.
pub fn scope_of_user(user: &str, audit: &Device) -> BTreeSet<String> {
    let scopes: BTreeMap<String, DocScope> = audit
        .store
        .document_ids()
        .unwrap()
        .into_iter()
        .map(|(id, _)| {
            let scope = scope_of(&audit.store.document(&id).unwrap());
            (id, scope)
        })
        .collect();
    let who = principal(user);
    scopes
        .iter()
        .filter(|(_, s)| who.sees(s, s.customer.as_ref().and_then(|c| scopes.get(c))))
        .map(|(id, _)| id.clone())
        .collect()
}

/// Asserts that `device` holds exactly what its user should see of `audit`'s documents, each
/// as `audit` holds it, with nothing unsent and nothing refused.
pub fn assert_holds_its_scope(device: &Device, name: &str, audit: &Device) {
    let everything = audit.documents();
    let expected = scope_of_user(&device.user, audit);
    let held = device.documents();
    let ids: BTreeSet<String> = held.keys().cloned().collect();
    let missing: Vec<&String> = expected.difference(&ids).collect();
    let extra: Vec<&String> = ids.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{name} ({}) should hold {} documents: {} missing {missing:?}, {} it should not see {extra:?}",
        device.user,
        expected.len(),
        missing.len(),
        extra.len()
    );
    let differ: Vec<&String> = held
        .iter()
        .filter(|(id, doc)| everything.get(*id) != Some(doc))
        .map(|(id, _)| id)
        .collect();
    assert!(
        differ.is_empty(),
        "{name}: {} of {} documents differ from the server's, e.g. {:?}",
        differ.len(),
        held.len(),
        differ.first()
    );
    assert!(
        device.store.unsent_documents().unwrap().is_empty(),
        "{name} has unsent changes"
    );
    let refused = device.store.list_quarantine().unwrap();
    assert!(
        refused.is_empty(),
        "{name} had changes refused: {refused:?}"
    );
}

/// After a run that lost nodes or the database: `devices` (of users `names`, li's phone and
/// laptop first) settle through `urls`, and a fresh admin device on `audit_url` holds every one
/// of the more than 20 acknowledged (document, heads), each device exactly its user's scope,
/// and li's two devices the same documents.
pub fn assert_team_settled(
    devices: &[Device],
    names: &[&str],
    acked: &Acked,
    urls: &[String],
    audit_url: &str,
    audit_name: &str,
) {
    settle(&devices.iter().collect::<Vec<_>>(), urls);
    let admin = Device::new(audit_url, "admin", audit_name);
    admin.sync();
    assert!(
        acked.len() > 20,
        "too few acknowledged syncs: {}",
        acked.len()
    );
    assert_acked_on(acked, &admin);
    for (d, name) in devices.iter().zip(names) {
        assert_holds_its_scope(d, name, &admin);
    }
    assert_eq!(
        devices[0].documents(),
        devices[1].documents(),
        "li's phone and laptop differ"
    );
}

/// A team in the field: one device per `(user, device name)` of `setups`, the `i`th logged in
/// through `urls[node_of(i)]`, with a customer each for li, wang and chen made on their first
/// device and everything synced through `settle_through`. The devices and the customers' ids
/// (li's, wang's, chen's).
pub fn team_in_the_field(
    setups: &[(&str, &str)],
    urls: &[String],
    node_of: impl Fn(usize) -> usize,
    settle_through: &[String],
) -> (Vec<Device>, [String; 3]) {
    let devices: Vec<Device> = setups
        .iter()
        .enumerate()
        .map(|(i, (user, name))| Device::new(&urls[node_of(i)], user, name))
        .collect();
    let made = [
        ("li", "李的客户", "east"),
        ("wang", "王的客户", "east"),
        ("chen", "陈的客户", "north"),
    ]
    .map(|(user, name, territory)| {
        let device = devices
            .iter()
            .find(|d| d.user == user)
            .unwrap_or_else(|| panic!("no device of {user}"));
        device
            .store
            .create_customer(super::customer(name, territory, user))
            .unwrap()
    });
    settle(&devices.iter().collect::<Vec<_>>(), settle_through);
    (devices, made)
}

/// Syncs every device, each through another node than the pass before, until a whole pass
/// moves nothing (at most eight passes).
pub fn settle(devices: &[&Device], urls: &[String]) {
    for pass in 0..8 {
        let mut moved = 0;
        for (i, d) in devices.iter().enumerate() {
            let url = &urls[(i + pass) % urls.len()];
            let report = sync_through(d, url)
                .unwrap_or_else(|e| panic!("{}'s sync through {url} failed: {e}", d.user));
            moved += report.pushed + report.pulled;
        }
        if moved == 0 && pass > 0 {
            return;
        }
    }
    panic!("the devices still move documents after eight passes");
}

/// Polls `check` every 20 ms until it holds; fails with `what` after `limit`. Returns how long
/// it took.
pub fn wait_for(limit: Duration, what: &str, check: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

/// Calls `attempt` every 50 ms until it succeeds; fails with `what` and the last error after
/// `limit`. Returns the success and how long it took.
pub fn retry_for<T, E: std::fmt::Display>(
    limit: Duration,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> (T, Duration) {
    let started = Instant::now();
    loop {
        match attempt() {
            Ok(out) => return (out, started.elapsed()),
            Err(e) if started.elapsed() >= limit => panic!("{what}: not after {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// How a sync failed, as a device saw it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// The server answered with an error status and code.
    Answered { status: u16, code: String },
    /// No answer: the connection was refused, broke or timed out.
    Network(String),
    /// Anything else.
    Other(String),
}

impl Failure {
    fn of(e: &SyncError) -> Failure {
        match e {
            SyncError::Server { status, code, .. } => Failure::Answered {
                status: *status,
                code: code.clone(),
            },
            SyncError::Network(m) => Failure::Network(m.clone()),
            other => Failure::Other(other.to_string()),
        }
    }
}

/// Which node a device syncs through next, after a failed sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Stays on its node and tries again: the node must recover by itself.
    Stay,
    /// Moves on to another node (the next one, or for every other device the one after).
    MoveOn,
}

/// What a device of [`Traffic`] did.
pub struct Worked {
    pub device: Device,
    /// Successful syncs through each node.
    pub ok_by_node: Vec<usize>,
    /// Each failed sync: the node, and how.
    pub failures: Vec<(usize, Failure)>,
}

/// Devices writing and syncing without pause, each on a thread of its own, through the nodes.
pub struct Traffic {
    stop: Arc<AtomicBool>,
    /// Every (document, heads) a device had when a sync succeeded.
    pub acked: Arc<Mutex<Acked>>,
    /// Successful syncs per device (by index).
    pub synced: Vec<Arc<AtomicUsize>>,
    /// Rounds in flight through each node.
    pub in_flight: Arc<Vec<AtomicUsize>>,
    /// Failed syncs of all devices so far.
    pub failed: Arc<AtomicUsize>,
    workers: Vec<std::thread::JoinHandle<Worked>>,
}

impl Traffic {
    /// Starts each device (with the customer it writes to and the node it starts on) writing
    /// and syncing through `urls`. Each loop writes (a visit every third time for a rep, a
    /// line of notes otherwise), then syncs; at most `max_loops` loops.
    pub fn start(
        devices: Vec<(Device, String, usize)>,
        urls: &[String],
        on_failure: OnFailure,
        max_loops: usize,
    ) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let acked: Arc<Mutex<Acked>> = Arc::default();
        let in_flight: Arc<Vec<AtomicUsize>> =
            Arc::new((0..urls.len()).map(|_| AtomicUsize::new(0)).collect());
        let failed = Arc::new(AtomicUsize::new(0));
        let mut synced = Vec::new();
        let mut workers = Vec::new();
        for (n, (device, customer, first_node)) in devices.into_iter().enumerate() {
            let count = Arc::new(AtomicUsize::new(0));
            synced.push(count.clone());
            let (stop, acked, in_flight, failed) = (
                stop.clone(),
                acked.clone(),
                in_flight.clone(),
                failed.clone(),
            );
            let urls = urls.to_vec();
            workers.push(std::thread::spawn(move || {
                let mut node = first_node;
                let mut ok_by_node = vec![0; urls.len()];
                let mut failures = Vec::new();
                let rep = device.user != "zhang" && device.user != "zhao";
                for i in 0..max_loops {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if rep && i % 3 == 0 {
                        device
                            .store
                            .create_visit(visit(
                                &customer,
                                &device.user,
                                &format!("第{n}台第{i}次"),
                            ))
                            .unwrap();
                    } else {
                        device
                            .store
                            .update_customer(
                                &customer,
                                &[CustomerEdit::AppendNotes(format!("设备{n}-{i}"))],
                            )
                            .unwrap();
                    }
                    let synced_now = client_through(&device, &urls[node]).and_then(|c| {
                        let mut t = Timed::new(c, Some(&in_flight[node]));
                        fieldsync_core::sync::run(&device.store, &mut t, |_| {})
                    });
                    match synced_now {
                        Ok(_) => {
                            ok_by_node[node] += 1;
                            record_acked(&device, &mut acked.lock().unwrap());
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            failures.push((node, Failure::of(&e)));
                            // Devices spread over the other nodes: odd ones skip one.
                            if on_failure == OnFailure::MoveOn && urls.len() > 1 {
                                node = (node + 1 + n % (urls.len() - 1)) % urls.len();
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
                Worked {
                    device,
                    ok_by_node,
                    failures,
                }
            }));
        }
        Traffic {
            stop,
            acked,
            synced,
            in_flight,
            failed,
            workers,
        }
    }

    /// Successful syncs of each device so far.
    pub fn synced_now(&self) -> Vec<usize> {
        self.synced
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .collect()
    }

    /// Waits until every device synced successfully `more` times after `since` (counts of
    /// [`Traffic::synced_now`]).
    pub fn wait_for_syncs(&self, since: &[usize], more: usize, limit: Duration, what: &str) {
        wait_for(limit, what, || {
            self.synced_now()
                .iter()
                .zip(since)
                .all(|(now, before)| *now >= before + more)
        });
    }

    /// Waits until a round is in flight through `node` (or `limit` passed: the caller goes on
    /// anyway, the node being busy most of the time).
    pub fn wait_for_round_through(&self, node: usize, limit: Duration) -> bool {
        let started = Instant::now();
        while self.in_flight[node].load(Ordering::SeqCst) == 0 {
            if started.elapsed() > limit {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }

    /// Stops the devices and returns what each did.
    pub fn finish(self) -> Vec<Worked> {
        self.stop.store(true, Ordering::SeqCst);
        self.workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .collect()
    }
}

/// One line of an event stream, as it arrived.
#[derive(Debug, Clone)]
pub enum Heard {
    /// An `event: changed` with its data.
    Changed { at: Instant, data: String },
    /// A heartbeat, or any other line.
    Else,
}

/// Opens `GET /v1/events?heartbeat=1` on `base` with `token`, and reads it on a thread of its
/// own: returns once the server answered (its subscription is in place), with the lines as
/// they arrive. The thread ends with the stream, or at the heartbeat after the receiver is
/// dropped.
pub fn subscribe(base: &str, token: &str) -> Receiver<Heard> {
    try_subscribe(base, token).unwrap_or_else(|e| panic!("{e}"))
}

/// [`subscribe`], or what the server answered instead of a stream.
pub fn try_subscribe(base: &str, token: &str) -> Result<Receiver<Heard>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT))
        .build()
        .into();
    let mut response = agent
        .get(format!("{base}/v1/events?heartbeat=1"))
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "text/event-stream")
        .call()
        .map_err(|e| format!("GET {base}/v1/events failed: {e}"))?;
    let status = response.status().as_u16();
    if status != 200 {
        let body = response.body_mut().read_to_string().unwrap_or_default();
        return Err(format!("GET {base}/v1/events answered {status}: {body}"));
    }
    let (tx, rx) = mpsc::channel();
    let body = response.into_body().into_reader();
    std::thread::spawn(move || {
        let mut event = String::new();
        for line in BufReader::new(body).lines() {
            let Ok(line) = line else { return };
            let heard = if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_string();
                Heard::Else
            } else if let Some(data) = line.strip_prefix("data:")
                && event == "changed"
            {
                Heard::Changed {
                    at: Instant::now(),
                    data: data.trim().to_string(),
                }
            } else {
                if line.is_empty() {
                    event.clear();
                }
                Heard::Else
            };
            if tx.send(heard).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// The next `changed` event of `events` within `limit`: when it arrived and its data.
pub fn next_change(events: &Receiver<Heard>, limit: Duration) -> Option<(Instant, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(Heard::Changed { at, data }) => return Some((at, data)),
            Ok(Heard::Else) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// The next `changed` event of `events` naming a log position past `floor`, within `limit`:
/// when it arrived and its `seq`. Earlier events (of writes before) are passed over.
pub fn next_change_past(
    events: &Receiver<Heard>,
    floor: u64,
    limit: Duration,
) -> Option<(Instant, u64)> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (at, data) = next_change(events, left)?;
        let seq = serde_json::from_str::<serde_json::Value>(&data)
            .ok()
            .and_then(|v| v["seq"].as_u64());
        match seq {
            Some(seq) if seq > floor => return Some((at, seq)),
            Some(_) => {}
            None => panic!("a changed event names its log position: {data}"),
        }
    }
}

/// Forgets what `events` has heard so far.
pub fn drain(events: &Receiver<Heard>) {
    while events.try_recv().is_ok() {}
}

/// The answer to a raw sync round.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: serde_json::Value,
    /// How long the server took to answer.
    pub took: Duration,
}

/// Sends one sync round that pushes nothing (`cursor` 0) to `base` with `token`, as raw HTTP.
pub fn raw_sync(base: &str, token: &str) -> RawAnswer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let body = protocol::encode(&SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursor: 0,
        push: vec![],
    });
    let started = Instant::now();
    let mut response = agent
        .post(format!("{base}/v1/sync"))
        .header("content-type", protocol::CBOR_CONTENT_TYPE)
        .header("authorization", format!("Bearer {token}"))
        .send(&body[..])
        .unwrap_or_else(|e| panic!("POST {base}/v1/sync got no answer: {e}"));
    let took = started.elapsed();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let status = response.status().as_u16();
    let bytes = response.body_mut().read_to_vec().unwrap_or_default();
    RawAnswer {
        status,
        retry_after,
        body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        took,
    }
}

/// [`raw_sync`] again every 50 ms while the node still serves it (200), at most `limit`: the
/// first other answer, and how many rounds were served before it.
pub fn raw_sync_until_refused(base: &str, token: &str, limit: Duration) -> (RawAnswer, usize) {
    let started = Instant::now();
    let mut served = 0;
    loop {
        let answer = raw_sync(base, token);
        if answer.status != 200 || started.elapsed() >= limit {
            return (answer, served);
        }
        served += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
}
