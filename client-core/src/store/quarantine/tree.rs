//! A document read as a plain tree of values, the field-by-field difference of two such trees,
//! and writing a tree's value back onto a document.
//!
//! The quarantine reads documents this way rather than through the typed views because a
//! document with refused changes merged in may break the schema (that may be why it was
//! refused), and a diff must still say what was typed. The tree keeps what the typed views lose
//! for the purpose: which strings are shared text (so a diff shows the added text rather than
//! the whole notes) and the exact scalar types (so a value written back is the one read).

use std::collections::BTreeMap;

use automerge::{AutoCommit, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue, Value};
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::Result;
use automerge::legacy::{Key, ObjectId, OpType};
use automerge::transaction::Transactable;

/// A value of a document: a scalar, shared text, a map or a list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A string, number, boolean or null.
    Scalar(ScalarValue),
    /// Shared text (Automerge text object).
    Text(String),
    /// A map, by key.
    Map(BTreeMap<String, Node>),
    /// A list, in order.
    List(Vec<Node>),
}

impl Node {
    /// The value as JSON, as the typed views serialize it.
    pub(crate) fn to_json(&self) -> Json {
        match self {
            Node::Scalar(s) => scalar_json(s),
            Node::Text(t) => Json::String(t.clone()),
            Node::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Node::List(l) => Json::Array(l.iter().map(Node::to_json).collect()),
        }
    }

    /// The root fields of a document tree (empty for anything but a map).
    pub(crate) fn fields(&self) -> BTreeMap<String, Node> {
        match self {
            Node::Map(m) => m.clone(),
            _ => BTreeMap::new(),
        }
    }

    /// The `id` of a list entry, if it is a map with a string `id`.
    fn entry_id(&self) -> Option<&str> {
        match self {
            Node::Map(m) => match m.get("id") {
                Some(Node::Scalar(ScalarValue::Str(s))) => Some(s.as_str()),
                _ => None,
            },
            _ => None,
        }
    }
}

fn scalar_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => Json::from(*i),
        ScalarValue::Uint(u) => Json::from(*u),
        ScalarValue::F64(f) => Json::from(*f),
        ScalarValue::Counter(c) => Json::from(i64::from(c)),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Null => Json::Null,
        ScalarValue::Bytes(b) => Json::Array(b.iter().map(|x| Json::from(*x)).collect()),
        ScalarValue::Unknown { .. } => Json::Null,
    }
}

/// Reads the whole document as a tree (its root map).
pub(crate) fn read(doc: &AutoCommit) -> Result<Node> {
    read_obj(doc, &ROOT, ObjType::Map)
}

fn read_obj(doc: &AutoCommit, obj: &ObjId, ty: ObjType) -> Result<Node> {
    Ok(match ty {
        ObjType::Map | ObjType::Table => {
            let mut m = BTreeMap::new();
            for key in doc.keys(obj) {
                if let Some((value, id)) = doc.get(obj, key.as_str())? {
                    m.insert(key, read_value(doc, value, &id)?);
                }
            }
            Node::Map(m)
        }
        ObjType::List => {
            let mut l = Vec::new();
            for i in 0..doc.length(obj) {
                if let Some((value, id)) = doc.get(obj, i)? {
                    l.push(read_value(doc, value, &id)?);
                }
            }
            Node::List(l)
        }
        ObjType::Text => Node::Text(doc.text(obj)?),
    })
}

fn read_value(doc: &AutoCommit, value: Value<'_>, id: &ObjId) -> Result<Node> {
    match value {
        Value::Scalar(s) => Ok(Node::Scalar(s.into_owned())),
        Value::Object(ty) => read_obj(doc, id, ty),
    }
}

/// What happened to one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A value replaced by another.
    Set,
    /// A value (a field or a list entry) that was not there before.
    Added,
    /// A value (a field or a list entry) that is gone.
    Removed,
    /// Shared text edited: see the added and removed text.
    Text,
}

/// One difference between the document before and after the changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// The root field it belongs to (`name`, `items`, `spin`).
    pub field: String,
    /// Where in the document: `name`, `items[<entry id>].amount`, `spin.problem`, `cities`.
    pub path: String,
    /// What happened.
    pub change: ChangeKind,
    /// The value before (absent for an added value and for text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Json>,
    /// The value after (absent for a removed value and for text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Json>,
    /// For text: the text added.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_added: Option<String>,
    /// For text: the text removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_removed: Option<String>,
}

/// Every difference between two document trees, root field by root field, in field order;
/// list entries are matched by their `id`.
pub(crate) fn diff(before: &Node, after: &Node) -> Vec<FieldChange> {
    let (b, a) = (before.fields(), after.fields());
    let mut out = Vec::new();
    for key in keys_of(&b, &a) {
        diff_at(&key, &key, b.get(&key), a.get(&key), &mut out);
    }
    out
}

fn keys_of(b: &BTreeMap<String, Node>, a: &BTreeMap<String, Node>) -> Vec<String> {
    let mut keys: Vec<String> = b.keys().chain(a.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}

fn change(field: &str, path: &str, kind: ChangeKind) -> FieldChange {
    FieldChange {
        field: field.to_string(),
        path: path.to_string(),
        change: kind,
        old: None,
        new: None,
        text_added: None,
        text_removed: None,
    }
}

fn diff_at(
    field: &str,
    path: &str,
    before: Option<&Node>,
    after: Option<&Node>,
    out: &mut Vec<FieldChange>,
) {
    match (before, after) {
        (None, None) => {}
        (Some(b), Some(a)) if b == a => {}
        (None, Some(a)) => out.push(FieldChange {
            new: Some(a.to_json()),
            ..change(field, path, ChangeKind::Added)
        }),
        (Some(b), None) => out.push(FieldChange {
            old: Some(b.to_json()),
            ..change(field, path, ChangeKind::Removed)
        }),
        (Some(Node::Text(b)), Some(Node::Text(a))) => {
            let (removed, added) = text_delta(b, a);
            out.push(FieldChange {
                text_added: (!added.is_empty()).then_some(added),
                text_removed: (!removed.is_empty()).then_some(removed),
                ..change(field, path, ChangeKind::Text)
            });
        }
        (Some(Node::List(b)), Some(Node::List(a)))
            if crate::model::fields::PARAGRAPH_FIELDS.contains(&path) =>
        {
            let joined = |l: &[Node]| -> String {
                l.iter()
                    .map(|n| match n {
                        Node::Scalar(ScalarValue::Str(s)) => s.to_string(),
                        other => other.to_json().to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let (removed, added) = text_delta(&joined(b), &joined(a));
            out.push(FieldChange {
                text_added: (!added.is_empty()).then_some(added),
                text_removed: (!removed.is_empty()).then_some(removed),
                ..change(field, path, ChangeKind::Text)
            });
        }
        (Some(Node::Map(b)), Some(Node::Map(a))) => {
            for key in keys_of(b, a) {
                diff_at(
                    field,
                    &format!("{path}.{key}"),
                    b.get(&key),
                    a.get(&key),
                    out,
                );
            }
        }
        (Some(Node::List(b)), Some(Node::List(a))) if keyed(b) && keyed(a) => {
            let by_id = |l: &[Node]| -> BTreeMap<String, Node> {
                let mut m = BTreeMap::new();
                for n in l {
                    if let Some(id) = n.entry_id() {
                        m.entry(id.to_string()).or_insert_with(|| n.clone());
                    }
                }
                m
            };
            let (bm, am) = (by_id(b), by_id(a));
            // Entries in the order the document after the changes has them, then removed ones.
            let mut ids: Vec<String> = a
                .iter()
                .filter_map(|n| n.entry_id())
                .map(String::from)
                .collect();
            ids.extend(b.iter().filter_map(|n| n.entry_id()).map(String::from));
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(id.clone()));
            for id in ids {
                diff_at(
                    field,
                    &format!("{path}[{id}]"),
                    bm.get(&id),
                    am.get(&id),
                    out,
                );
            }
        }
        (Some(b), Some(a)) => out.push(FieldChange {
            old: Some(b.to_json()),
            new: Some(a.to_json()),
            ..change(field, path, ChangeKind::Set)
        }),
    }
}

/// What changes do, read from their operations alone, for when the document they build on is
/// not at hand: each root field set (its last value; old values are not known) and the text
/// typed into each text or list object, in the order typed (which field holds that object is
/// not known either: its path is `(text)`).
pub(crate) fn from_operations(bytes: &[u8]) -> Result<Vec<FieldChange>> {
    let mut fields: BTreeMap<String, Option<Json>> = BTreeMap::new();
    // What was inserted into each list or text: characters of a text, or paragraphs.
    let mut typed: Vec<(ObjectId, Vec<String>)> = Vec::new();
    for change in crate::chunks::split_changes(bytes)? {
        for op in change.decode().operations {
            match (&op.obj, &op.key, &op.action) {
                (ObjectId::Root, Key::Map(key), OpType::Put(v)) => {
                    fields.insert(key.to_string(), Some(scalar_json(v)));
                }
                (ObjectId::Root, Key::Map(key), OpType::Make(ty)) => {
                    let empty = match ty {
                        ObjType::Text => Json::String(String::new()),
                        ObjType::List => Json::Array(Vec::new()),
                        ObjType::Map | ObjType::Table => Json::Object(Default::default()),
                    };
                    fields.insert(key.to_string(), Some(empty));
                }
                (ObjectId::Root, Key::Map(key), OpType::Delete) => {
                    fields.insert(key.to_string(), None);
                }
                (obj, Key::Seq(_), OpType::Put(ScalarValue::Str(s))) if op.insert => {
                    match typed.iter_mut().find(|(o, _)| o == obj) {
                        Some((_, pieces)) => pieces.push(s.to_string()),
                        None => typed.push((obj.clone(), vec![s.to_string()])),
                    }
                }
                _ => {}
            }
        }
    }
    let mut out: Vec<FieldChange> = fields
        .into_iter()
        .map(|(field, value)| match value {
            Some(new) => FieldChange {
                new: Some(new),
                ..change(&field, &field, ChangeKind::Set)
            },
            None => change(&field, &field, ChangeKind::Removed),
        })
        .collect();
    out.extend(typed.into_iter().map(|(_, pieces)| FieldChange {
        // A text's insertions are one character each; paragraphs are lines.
        text_added: Some(if pieces.iter().any(|p| p.chars().count() > 1) {
            pieces.join("\n")
        } else {
            pieces.concat()
        }),
        ..change("(text)", "(text)", ChangeKind::Text)
    }));
    Ok(out)
}

/// Whether every entry of a list is a map with a string `id` (an empty list is).
fn keyed(list: &[Node]) -> bool {
    list.iter().all(|n| n.entry_id().is_some())
}

/// What turns text `before` into `after` at one place: (removed, added), found by the common
/// start and end of both. Text appended at the end, inserted in the middle or replaced at one
/// place shows exactly.
pub(crate) fn text_delta(before: &str, after: &str) -> (String, String) {
    let b: Vec<char> = before.chars().collect();
    let a: Vec<char> = after.chars().collect();
    let start = b.iter().zip(&a).take_while(|(x, y)| x == y).count();
    let end = b[start..]
        .iter()
        .rev()
        .zip(a[start..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    (
        b[start..b.len() - end].iter().collect(),
        a[start..a.len() - end].iter().collect(),
    )
}

/// Makes root field `key` of `doc` hold `value` (or deletes it for `None`), writing only what
/// differs: text through a splice, maps key by key, lists of entries with an `id` entry by entry,
/// so whatever else the field holds now (text typed since, entries added since) stays.
pub(crate) fn write_field(doc: &mut AutoCommit, key: &str, value: Option<&Node>) -> Result<()> {
    match value {
        None => {
            if doc.get(&ROOT, key)?.is_some() {
                doc.delete(&ROOT, key)?;
            }
            Ok(())
        }
        Some(v) => put(doc, &ROOT, Prop::Map(key.to_string()), v),
    }
}

fn put(doc: &mut AutoCommit, obj: &ObjId, prop: Prop, node: &Node) -> Result<()> {
    let current = doc.get(obj, prop.clone())?;
    match (node, current) {
        (Node::Scalar(v), Some((Value::Scalar(s), _))) if s.as_ref() == v => {}
        (Node::Scalar(v), _) => doc.put(obj, prop, v.clone())?,
        (Node::Text(t), Some((Value::Object(ObjType::Text), id))) => {
            let now = doc.text(&id)?;
            if now != *t {
                doc.update_text(&id, t)?;
            }
        }
        (Node::Map(m), Some((Value::Object(ObjType::Map), id))) => {
            for (k, v) in m {
                put(doc, &id, Prop::Map(k.clone()), v)?;
            }
            let gone: Vec<String> = doc.keys(&id).filter(|k| !m.contains_key(k)).collect();
            for k in gone {
                doc.delete(&id, k.as_str())?;
            }
        }
        (Node::List(items), Some((Value::Object(ObjType::List), id))) => {
            update_list(doc, &id, items)?
        }
        (Node::Text(_) | Node::Map(_) | Node::List(_), _) => {
            let ty = obj_type(node);
            let id = doc.put_object(obj, prop, ty)?;
            fill(doc, &id, node)?;
        }
    }
    Ok(())
}

fn obj_type(node: &Node) -> ObjType {
    match node {
        Node::Text(_) => ObjType::Text,
        Node::List(_) => ObjType::List,
        Node::Map(_) | Node::Scalar(_) => ObjType::Map,
    }
}

/// Fills a new, empty object with `node`'s content.
fn fill(doc: &mut AutoCommit, id: &ObjId, node: &Node) -> Result<()> {
    match node {
        Node::Text(t) => {
            doc.splice_text(id, 0, 0, t)?;
        }
        Node::Map(m) => {
            for (k, v) in m {
                put(doc, id, Prop::Map(k.clone()), v)?;
            }
        }
        Node::List(items) => {
            for (i, item) in items.iter().enumerate() {
                insert(doc, id, i, item)?;
            }
        }
        Node::Scalar(_) => {}
    }
    Ok(())
}

fn insert(doc: &mut AutoCommit, list: &ObjId, index: usize, node: &Node) -> Result<()> {
    match node {
        Node::Scalar(v) => doc.insert(list, index, v.clone())?,
        _ => {
            let id = doc.insert_object(list, index, obj_type(node))?;
            fill(doc, &id, node)?;
        }
    }
    Ok(())
}

/// Makes `list` hold `items`. Lists of entries with an `id` are updated entry by entry (an
/// entry no longer wanted is removed, a new one inserted after its predecessor, a kept one
/// updated in place); any other list is replaced if it differs.
fn update_list(doc: &mut AutoCommit, list: &ObjId, items: &[Node]) -> Result<()> {
    let Node::List(current) = read_obj(doc, list, ObjType::List)? else {
        return Ok(());
    };
    if !(keyed(&current) && keyed(items)) {
        if current != items {
            for i in (0..current.len()).rev() {
                doc.delete(list, i)?;
            }
            for (i, item) in items.iter().enumerate() {
                insert(doc, list, i, item)?;
            }
        }
        return Ok(());
    }
    let wanted: Vec<&str> = items.iter().filter_map(Node::entry_id).collect();
    let mut ids: Vec<String> = Vec::new();
    for (i, n) in current.iter().enumerate().rev() {
        match n.entry_id() {
            Some(id) if wanted.contains(&id) => ids.insert(0, id.to_string()),
            _ => doc.delete(list, i)?,
        }
    }
    let mut after: Option<usize> = None;
    for item in items {
        let Some(id) = item.entry_id() else { continue };
        match ids.iter().position(|x| x == id) {
            Some(at) => {
                put(doc, list, Prop::Seq(at), item)?;
                after = Some(at);
            }
            None => {
                let at = after.map_or(0, |p| p + 1);
                insert(doc, list, at, item)?;
                ids.insert(at, id.to_string());
                after = Some(at);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_delta_finds_appended_inserted_and_replaced_text() {
        assert_eq!(
            text_delta("首次接触", "首次接触\n报价"),
            ("".into(), "\n报价".into())
        );
        assert_eq!(text_delta("ac", "abc"), ("".into(), "b".into()));
        assert_eq!(text_delta("a旧c", "a新c"), ("旧".into(), "新".into()));
        assert_eq!(text_delta("same", "same"), ("".into(), "".into()));
    }

    #[test]
    fn writing_a_tree_back_reproduces_it() {
        let mut source = AutoCommit::new();
        source.put(&ROOT, "name", "华东").unwrap();
        let notes = source.put_object(&ROOT, "notes", ObjType::Text).unwrap();
        source.splice_text(&notes, 0, 0, "备注").unwrap();
        let items = source.put_object(&ROOT, "items", ObjType::List).unwrap();
        for id in ["a", "b"] {
            let item = source.insert_object(&items, 0, ObjType::Map).unwrap();
            source.put(&item, "id", id).unwrap();
            source.put(&item, "amount", 100_i64).unwrap();
        }
        let cities = source.put_object(&ROOT, "cities", ObjType::List).unwrap();
        source.insert(&cities, 0, "苏州").unwrap();
        let tree = read(&source).unwrap();

        let mut target = AutoCommit::new();
        target.put(&ROOT, "name", "旧").unwrap();
        target.put(&ROOT, "gone", true).unwrap();
        for (key, value) in tree.fields() {
            write_field(&mut target, &key, Some(&value)).unwrap();
        }
        write_field(&mut target, "gone", None).unwrap();
        assert_eq!(read(&target).unwrap(), tree);
        assert!(diff(&read(&target).unwrap(), &tree).is_empty());
    }
}
