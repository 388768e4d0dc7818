//! Prometheus metrics: requests, sync rounds, changes applied, rejections, sync latency, and
//! how many documents each storage transaction carries.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The server's metrics; cheap to update from any thread.
pub struct Metrics {
    /// HTTP requests served.
    pub requests: Counter,
    /// Sync rounds handled.
    pub sync_rounds: Counter,
    /// Changes accepted and logged.
    pub changes_applied: Counter,
    /// Pushed documents refused.
    pub rejections: Counter,
    /// Seconds per sync round.
    pub sync_seconds: Histogram,
    /// Storage transactions that wrote accepted pushes.
    pub write_transactions: Counter,
    /// Document commits those transactions held.
    pub documents_written: Counter,
    /// Cached documents found stale (another node wrote them) and loaded again.
    pub stale_cache: Counter,
    /// Pushed documents whose merge and validation were computed ahead of their checks, on
    /// several threads.
    pub merged_ahead: Counter,
    /// Customer scopes a push found claimed (and, for a visit, read) ahead of it, together
    /// with the other scopes of its part of the round.
    pub scopes_ahead: Counter,
    /// Documents pulls sent whole from the recent documents kept in memory, instead of
    /// reading them from storage again.
    pub pulled_from_memory: Counter,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Counter::default();
        let sync_rounds = Counter::default();
        let changes_applied = Counter::default();
        let rejections = Counter::default();
        let sync_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let write_transactions = Counter::default();
        let documents_written = Counter::default();
        let stale_cache = Counter::default();
        let merged_ahead = Counter::default();
        let scopes_ahead = Counter::default();
        let pulled_from_memory = Counter::default();
        let mut registry = Registry::default();
        registry.register(
            "fieldsync_http_requests",
            "HTTP requests served",
            requests.clone(),
        );
        registry.register(
            "fieldsync_sync_rounds",
            "Sync rounds handled",
            sync_rounds.clone(),
        );
        registry.register(
            "fieldsync_changes_applied",
            "Automerge changes accepted and logged",
            changes_applied.clone(),
        );
        registry.register(
            "fieldsync_rejections",
            "Pushed documents refused",
            rejections.clone(),
        );
        registry.register(
            "fieldsync_sync_duration_seconds",
            "Time to handle one sync round",
            sync_seconds.clone(),
        );
        registry.register(
            "fieldsync_write_transactions",
            "Storage transactions that wrote accepted pushes (shared by concurrent rounds)",
            write_transactions.clone(),
        );
        registry.register(
            "fieldsync_documents_written",
            "Document commits written by those transactions",
            documents_written.clone(),
        );
        registry.register(
            "fieldsync_stale_cache",
            "Cached documents another server node had written since, loaded again",
            stale_cache.clone(),
        );
        registry.register(
            "fieldsync_merged_ahead",
            "Pushed documents merged and validated ahead of their checks, on several threads",
            merged_ahead.clone(),
        );
        registry.register(
            "fieldsync_scopes_ahead",
            "Customer scopes pushes found claimed and read ahead of them, together",
            scopes_ahead.clone(),
        );
        registry.register(
            "fieldsync_pulled_from_memory",
            "Documents pulls sent whole from those recently read, kept in memory",
            pulled_from_memory.clone(),
        );
        Metrics {
            pulled_from_memory,
            stale_cache,
            merged_ahead,
            scopes_ahead,
            requests,
            sync_rounds,
            changes_applied,
            rejections,
            sync_seconds,
            write_transactions,
            documents_written,
            registry,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
