//! The history the server's log belongs to (docs/PROTOCOL.md, "After a restore").
//!
//! A database restored from a backup has forgotten what it took after the backup, while
//! devices still hold it as acknowledged and their cursors may point past its log head. So
//! that they notice and re-send instead of diverging, the database carries a random history id
//! (`server_meta` key `history`, made with it), every sync answer names it, and a restore
//! replaces it with a new one that records the history it forked from and the log head it
//! forked at. Devices of the old history keep their cursor up to the fork and push everything
//! again.
//!
//! A restore also gives the server a new Automerge actor id: the changes the server made after
//! the backup with its old actor are still on devices, and new changes must not reuse their
//! sequence numbers.

use automerge::ActorId;
use fieldsync_core::protocol::HistoryFork;
use serde::Serialize;

use crate::storage::{Storage, StorageResult};

const HISTORY: &str = "history";
const FORKED_FROM: &str = "history_forked_from";
const FORK_SEQ: &str = "history_fork_seq";
const ACTOR: &str = "actor_id";

/// The history of a database, as every sync answer names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    /// The random id of this history.
    pub id: String,
    /// The history this one forked from by a restore, and where.
    pub forked_from: Option<HistoryFork>,
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The database's history, made on first use (with the database, or at the first start of a
/// server that predates histories).
pub fn current(storage: &dyn Storage) -> StorageResult<History> {
    let id = storage.meta_init(HISTORY, &new_id())?;
    let forked_from = match (storage.meta(FORKED_FROM)?, storage.meta(FORK_SEQ)?) {
        (Some(history), Some(seq)) => seq.parse().ok().map(|seq| HistoryFork { history, seq }),
        _ => None,
    };
    Ok(History { id, forked_from })
}

/// Starts a new history on a database restored from a backup: a new id, forked from the
/// database's history at its log head, and a new actor id for the server's own changes. Run
/// it once per restore, with no server serving the database.
pub fn start_new(storage: &dyn Storage) -> StorageResult<History> {
    let old = current(storage)?;
    let fork = HistoryFork {
        history: old.id,
        seq: storage.head_seq()?,
    };
    let id = new_id();
    let seq = fork.seq.to_string();
    let actor = ActorId::random().to_hex_string();
    storage.meta_replace(&[
        (HISTORY, Some(&id)),
        (FORKED_FROM, Some(&fork.history)),
        (FORK_SEQ, Some(&seq)),
        (ACTOR, Some(&actor)),
    ])?;
    Ok(History {
        id,
        forked_from: Some(fork),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{Accounts, Log};

    #[test]
    fn a_history_is_made_once_and_a_new_one_forks_from_it_at_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path()).unwrap();
        let first = current(&storage).unwrap();
        assert_eq!(current(&storage).unwrap(), first, "the history is kept");
        assert_eq!(first.forked_from, None);
        let actor = storage.meta(ACTOR).unwrap();
        let next = start_new(&storage).unwrap();
        assert_ne!(next.id, first.id);
        assert_eq!(
            next.forked_from,
            Some(HistoryFork {
                history: first.id,
                seq: storage.head_seq().unwrap()
            })
        );
        assert_eq!(current(&storage).unwrap(), next, "the new history is kept");
        assert_ne!(storage.meta(ACTOR).unwrap(), actor, "a new actor id");
    }
}
