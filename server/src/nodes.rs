//! Several server nodes on one database: what one node writes, the others hear of.
//!
//! Each write's news goes out in the transaction that commits it (`NOTIFY` on PostgreSQL, so
//! news is sent if and only if the write is durable), and every node listens
//! ([`crate::storage::NodeLink::listen`]). What a node hears of the others' writes becomes a
//! [`Notice`] on its own live channel, built from the stored scope of the document, so a
//! manager's `/v1/events` stream on node A hears of a rep's push through node B. When a node's
//! link to the database was lost and is back, news committed meanwhile was not heard: its
//! subscribers are told to sync anyway ([`Notice::MayHaveMissed`]).

use std::sync::{Arc, Weak};

use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::service::{Change, Core, Notice};
use crate::storage::Heard;

/// The news of one committed write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct News {
    /// The node that wrote it.
    pub node: String,
    /// The log sequence number of the write.
    pub seq: u64,
    /// The document written.
    pub doc: String,
    /// The device session whose push it was, if a device's.
    pub session: Option<String>,
}

/// Starts hearing what the other nodes sharing `core`'s storage write, if it is shared; the
/// listener stops once `core` is gone.
pub fn listen(core: &Arc<Core>) -> Result<(), AppError> {
    let Some(link) = core.storage.nodes() else {
        return Ok(());
    };
    let weak: Weak<Core> = Arc::downgrade(core);
    link.listen(Box::new(move |heard| {
        let Some(core) = weak.upgrade() else {
            return false;
        };
        match heard {
            Heard::News(message) => hear(&core, &message),
            Heard::Reconnected => {
                let _ = core.notices.send(Notice::MayHaveMissed);
            }
            Heard::Quiet => {}
        }
        true
    }))?;
    Ok(())
}

/// Passes the news of another node's write on to this node's live subscribers.
fn hear(core: &Core, message: &str) {
    let news: News = match serde_json::from_str(message) {
        Ok(news) => news,
        Err(e) => {
            tracing::warn!("news of a write in a form no node of this version writes: {e}");
            return;
        }
    };
    if core
        .storage
        .nodes()
        .is_some_and(|link| link.node() == news.node)
    {
        return;
    }
    let scopes = core.storage.doc_scope(&news.doc).and_then(|scope| {
        let customer = match scope.as_ref().and_then(|s| s.customer.as_deref()) {
            Some(c) => core.storage.doc_scope(c)?,
            None => None,
        };
        Ok((scope, customer))
    });
    match scopes {
        Ok((Some(scope), customer)) => {
            let _ = core.notices.send(Notice::Changed(Box::new(Change {
                seq: news.seq,
                scope,
                customer,
                session: news.session,
            })));
        }
        Ok((None, _)) => {}
        Err(e) => {
            tracing::warn!(doc = %news.doc, "cannot read what another node wrote: {e}");
            // Whoever it concerns must not miss it: everyone syncs.
            let _ = core.notices.send(Notice::MayHaveMissed);
        }
    }
}
