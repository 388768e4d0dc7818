//! Documents and the commits that store them, for the storage tests: real Automerge changes,
//! committed as the service commits an accepted push.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ROOT};
use fieldsync_core::model::DocKind;
use fieldsync_server::storage::{DocCommit, DocScope, LoggedChange};

/// A customer document of `owner` in `territory`, with its changes since `since`.
pub fn customer_commit(
    doc: &mut AutoCommit,
    since: &[ChangeHash],
    id: &str,
    owner: &str,
    territory: &str,
) -> DocCommit {
    let scope = DocScope {
        owner: Some(owner.into()),
        territory: Some(territory.into()),
        ..DocScope::of(DocKind::Customer, id)
    };
    commit(doc, since, scope)
}

/// A commit of `doc`'s changes since `since`, with `scope`.
pub fn commit(doc: &mut AutoCommit, since: &[ChangeHash], scope: DocScope) -> DocCommit {
    let changes = doc
        .get_changes(since)
        .into_iter()
        .map(|c| LoggedChange::of(&mut c.clone()))
        .collect();
    let governed_by = (scope.owner.clone(), scope.territory.clone());
    DocCommit {
        scope,
        heads: doc
            .get_heads()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
        changes,
        writer: "admin".into(),
        session: None,
        snapshot: None,
        first_save: None,
        scope_events: Vec::new(),
        cost: Default::default(),
        base_heads: None,
        base_customer: None,
        attachments: None,
        view: None,
        governed_by,
    }
}

/// A new document with one change (its name).
pub fn new_doc(name: &str) -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "name", name).unwrap();
    doc.commit();
    doc
}
