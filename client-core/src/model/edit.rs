//! Small Automerge operations the edit functions of every document kind are made of.
//!
//! Each touches one field, list entry or text span, never the whole document, so edits of
//! different fields on two devices merge without either one overwriting the other.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value};
use autosurgeon::{Hydrate, Reconcile, hydrate_prop, reconcile_insert, reconcile_prop};

use crate::error::{Error, Result, ValidationError};

/// Writes `value` under `key` unless it already holds exactly that value.
///
/// A field that holds concurrent values (a conflict) is always written, so setting a field is
/// also how a user resolves its conflict.
pub(crate) fn set_field<V>(doc: &mut AutoCommit, obj: &ObjId, key: &str, value: &V) -> Result<()>
where
    V: Reconcile + Hydrate + PartialEq,
{
    let conflicted = doc.get_all(obj, key)?.len() > 1;
    let unchanged =
        !conflicted && hydrate_prop::<_, V, _, _>(doc, obj, key).ok().as_ref() == Some(value);
    if !unchanged {
        reconcile_prop(doc, obj, key, value)?;
    }
    Ok(())
}

/// Writes the fields of a pair that belong together (an amount and its unit, a time and its
/// offset) always both, even one that is unchanged.
///
/// Skipping the unchanged half would let two concurrent pair edits mix into a pair nobody
/// entered (one device's amount with the other's unit); writing both makes them two values of
/// each field, shown as conflicts, with the same device's pair winning both.
pub(crate) fn set_pair<A, B>(
    doc: &mut AutoCommit,
    obj: &ObjId,
    first: (&str, &A),
    second: (&str, &B),
) -> Result<()>
where
    A: Reconcile + Hydrate + PartialEq,
    B: Reconcile + Hydrate + PartialEq,
{
    let unchanged = |doc: &AutoCommit, key: &str, same: bool| -> Result<bool> {
        Ok(same && doc.get_all(obj, key)?.len() <= 1)
    };
    let a_same = hydrate_prop::<_, A, _, _>(doc, obj, first.0).ok().as_ref() == Some(first.1);
    let b_same = hydrate_prop::<_, B, _, _>(doc, obj, second.0).ok().as_ref() == Some(second.1);
    if unchanged(doc, first.0, a_same)? && unchanged(doc, second.0, b_same)? {
        return Ok(());
    }
    // Automerge skips a put of the value a field already holds; deleting first makes the
    // unchanged half a new write too.
    for key in [first.0, second.0] {
        if doc.get(obj, key)?.is_some() {
            doc.delete(obj, key)?;
        }
    }
    reconcile_prop(doc, obj, first.0, first.1)?;
    reconcile_prop(doc, obj, second.0, second.1)?;
    Ok(())
}

/// Writes a small map value (money, a position) under `key` as a new object, replacing the old
/// one whole, unless it already holds exactly that value.
///
/// Writing into the existing map instead would merge two concurrent sets field by field into a
/// value nobody entered (one device's latitude with another's longitude); as a new object, two
/// concurrent sets are two values of the field, kept and shown as a conflict.
pub(crate) fn set_whole<V>(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    value: Option<&V>,
) -> Result<()>
where
    V: Reconcile + Hydrate + PartialEq,
{
    let conflicted = doc.get_all(obj, key)?.len() > 1;
    let current = hydrate_prop::<_, Option<V>, _, _>(doc, obj, key).ok();
    if !conflicted && current.as_ref().map(Option::as_ref) == Some(value) {
        return Ok(());
    }
    match value {
        None => {
            doc.put(obj, key, ScalarValue::Null)?;
        }
        Some(v) => {
            doc.put_object(obj, key, ObjType::Map)?;
            reconcile_prop(doc, obj, key, v)?;
        }
    }
    Ok(())
}

/// The id of the object (text, list, map) stored under `key`, or a validation error naming
/// `field` if it is missing or of another type.
pub(crate) fn object(
    doc: &AutoCommit,
    obj: &ObjId,
    key: &str,
    ty: ObjType,
    field: &str,
) -> Result<ObjId> {
    match doc.get(obj, key)? {
        Some((Value::Object(found), id)) if found == ty => Ok(id),
        _ => Err(ValidationError::new(field, format!("is not a {ty:?} in this document")).into()),
    }
}

/// A shared text field as stored: paragraphs (a list of strings), or an Automerge text object
/// in documents written before paragraphs ([`super::fields::Paragraphs`]).
enum SharedText {
    Paragraphs(ObjId),
    Text(ObjId),
}

fn shared_text(doc: &AutoCommit, obj: &ObjId, key: &str, field: &str) -> Result<SharedText> {
    match doc.get(obj, key)? {
        Some((Value::Object(ObjType::List), id)) => Ok(SharedText::Paragraphs(id)),
        Some((Value::Object(ObjType::Text), id)) => Ok(SharedText::Text(id)),
        _ => Err(ValidationError::new(field, "is not a text in this document").into()),
    }
}

/// The paragraphs of a list, as strings (an entry that is not a string reads as empty; the
/// schema check refuses such a document).
fn paragraphs(doc: &AutoCommit, list: &ObjId) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(doc.length(list));
    for i in 0..doc.length(list) {
        out.push(match doc.get(list, i)? {
            Some((Value::Scalar(s), _)) => s.as_str().unwrap_or_default().to_string(),
            _ => String::new(),
        });
    }
    Ok(out)
}

/// Replaces `delete` characters at character `pos` of the text under `key` with `text`.
///
/// In paragraphs only the paragraphs the edit touches change: a paragraph edited in place is
/// written again (the same entry, so a concurrent edit of another paragraph survives), and
/// paragraphs added or removed are inserted or deleted.
pub(crate) fn splice_text(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    field: &str,
    pos: usize,
    delete: usize,
    text: &str,
) -> Result<()> {
    let outside = |len: usize| -> Error {
        ValidationError::new(
            field,
            format!(
                "edit at {pos}..{} is outside the text, which has {len} characters",
                pos + delete
            ),
        )
        .into()
    };
    match shared_text(doc, obj, key, field)? {
        SharedText::Text(text_obj) => {
            let len = doc.length(&text_obj);
            if pos > len || pos + delete > len {
                return Err(outside(len));
            }
            doc.splice_text(&text_obj, pos, delete as isize, text)?;
        }
        SharedText::Paragraphs(list) => {
            let old = paragraphs(doc, &list)?;
            let joined = old.join("\n");
            let chars: Vec<char> = joined.chars().collect();
            if pos > chars.len() || pos + delete > chars.len() {
                return Err(outside(chars.len()));
            }
            let mut new: String = chars[..pos].iter().collect();
            new.push_str(text);
            new.extend(&chars[pos + delete..]);
            write_paragraphs(doc, &list, &old, &super::fields::Paragraphs::lines_of(&new))?;
        }
    }
    Ok(())
}

/// Makes the paragraphs of `list` (now `old`) read `new`, touching only those that differ.
fn write_paragraphs(
    doc: &mut AutoCommit,
    list: &ObjId,
    old: &[String],
    new: &[String],
) -> Result<()> {
    let prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    // Paragraphs edited in place keep their entries; the rest are deleted or inserted.
    let kept = old_mid.len().min(new_mid.len());
    for (i, line) in new_mid[..kept].iter().enumerate() {
        doc.put(list, prefix + i, line.as_str())?;
    }
    for _ in kept..old_mid.len() {
        doc.delete(list, prefix + kept)?;
    }
    for (i, line) in new_mid[kept..].iter().enumerate() {
        doc.insert(list, prefix + kept + i, line.as_str())?;
    }
    Ok(())
}

/// Replaces the whole text under `key` with `text`.
pub(crate) fn replace_text(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    field: &str,
    text: &str,
) -> Result<()> {
    match shared_text(doc, obj, key, field)? {
        SharedText::Text(t) => {
            let len = doc.length(&t);
            doc.splice_text(&t, 0, len as isize, text)?;
        }
        SharedText::Paragraphs(list) => {
            let old = paragraphs(doc, &list)?;
            write_paragraphs(doc, &list, &old, &super::fields::Paragraphs::lines_of(text))?;
        }
    }
    Ok(())
}

/// Appends a paragraph to the text under `key`.
///
/// In paragraphs each line of `text` is a new entry at the end, so paragraphs appended
/// concurrently on two devices stay separate lines. In an older text object the paragraph
/// carries its own line break, for the same reason (Automerge keeps each insertion in one
/// piece): after text that ends mid-line the break comes first; at the start of a line (an
/// empty text, or one ending with a break) the paragraph ends with one, which readers do not
/// see ([`super::fields::Paragraphs`]).
pub(crate) fn append_text(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    field: &str,
    text: &str,
) -> Result<()> {
    match shared_text(doc, obj, key, field)? {
        SharedText::Paragraphs(list) => {
            for line in text.split('\n') {
                let end = doc.length(&list);
                doc.insert(&list, end, line)?;
            }
        }
        SharedText::Text(text_obj) => {
            let current = doc.text(&text_obj)?;
            let paragraph = if current.is_empty() || current.ends_with('\n') {
                format!("{text}\n")
            } else {
                format!("\n{text}")
            };
            let len = doc.length(&text_obj);
            doc.splice_text(&text_obj, len, 0, &paragraph)?;
        }
    }
    Ok(())
}

/// Appends `value` to the list under `key`. Entries appended on several devices all survive.
pub(crate) fn list_push<V: Reconcile>(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    field: &str,
    value: &V,
) -> Result<()> {
    let list = object(doc, obj, key, ObjType::List, field)?;
    let len = doc.length(&list);
    reconcile_insert(doc, list, len, value)?;
    Ok(())
}

/// Finds the entry with `id` in the list under `key`: its index and its map object.
pub(crate) fn list_find(
    doc: &AutoCommit,
    obj: &ObjId,
    key: &str,
    field: &str,
    id: &str,
) -> Result<(ObjId, usize, ObjId)> {
    let list = object(doc, obj, key, ObjType::List, field)?;
    for index in 0..doc.length(&list) {
        if let Some((Value::Object(ObjType::Map), entry)) = doc.get(&list, index)?
            && let Some((Value::Scalar(v), _)) = doc.get(&entry, "id")?
            && v.as_str() == Some(id)
        {
            return Ok((list, index, entry));
        }
    }
    Err(Error::NotFound(format!("{field} entry {id}")))
}

/// Removes the entry with `id` from the list under `key`.
pub(crate) fn list_remove(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    field: &str,
    id: &str,
) -> Result<()> {
    let (list, index, _) = list_find(doc, obj, key, field, id)?;
    doc.delete(&list, index)?;
    Ok(())
}
