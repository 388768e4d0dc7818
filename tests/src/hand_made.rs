//! Hand-made Automerge changes, as a hostile device writes them behind the client library's
//! back: the hostile tests and the benchmark's hostile pushes build theirs from these.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value};

/// The changes of `doc` since `heads`, as pushed, committing what is pending first.
pub fn changes_since(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<Vec<u8>> {
    doc.commit();
    doc.get_changes(heads)
        .into_iter()
        .map(|mut c| c.bytes().into_owned())
        .collect()
}

/// The notes of a customer document: its list of paragraphs.
pub fn notes_of(doc: &AutoCommit) -> Result<ObjId, String> {
    match doc.get(ROOT, "notes") {
        Ok(Some((Value::Object(ObjType::List), id))) => Ok(id),
        other => Err(format!(
            "the customer's notes are not paragraphs: {other:?}"
        )),
    }
}

/// Inserts `n` paragraphs `s` at the start of the list `notes`: `n` operations.
pub fn insert_paragraphs(
    doc: &mut AutoCommit,
    notes: &ObjId,
    n: usize,
    s: &str,
) -> Result<(), automerge::AutomergeError> {
    doc.splice(notes, 0, 0, std::iter::repeat_n(s, n))
}

/// Inserts `n` one-character paragraphs at the start of `notes` and deletes them again: `2n`
/// operations that leave the notes as they were.
pub fn churn(
    doc: &mut AutoCommit,
    notes: &ObjId,
    n: usize,
) -> Result<(), automerge::AutomergeError> {
    insert_paragraphs(doc, notes, n, "x")?;
    doc.splice(notes, 0, n as isize, Vec::<&str>::new())
}
