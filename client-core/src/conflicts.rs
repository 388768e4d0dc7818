//! The conflict view: fields where devices set different values concurrently.
//!
//! Automerge keeps every concurrent value of a field and picks one winner the same way on every
//! device. fieldsync never drops the losers silently: this module lists each such field with all
//! its values, which device wrote each, who was using it and when, so the app can ask the user.
//! Setting the field again resolves the conflict.

use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue, Value};
use serde::Serialize;
use serde_json::Value as Json;

use automerge::transaction::Transactable;

use crate::error::{Error, Result, ValidationError};

/// A field holding concurrent values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// Path of the field: `tier`, `spin.problem`, `contacts[<entry id>].phone`.
    pub path: String,
    /// Every concurrent value; exactly one has `winner` set.
    pub values: Vec<ConflictValue>,
}

/// One of the concurrent values of a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictValue {
    /// The value, as JSON.
    pub value: Json,
    /// The Automerge actor (device) that wrote it, hex.
    pub actor: String,
    /// Who was using that device, as it recorded itself.
    pub author: Option<String>,
    /// The device's name, given at login, as it recorded itself.
    pub device: Option<String>,
    /// When the change was made (device clock, RFC 3339).
    pub time: Option<String>,
    /// Whether this is the value the document shows.
    pub winner: bool,
}

/// Lists every conflicted field of `doc`.
pub fn find_conflicts(doc: &mut AutoCommit) -> Result<Vec<Conflict>> {
    let mut out = Vec::new();
    walk(doc, &ROOT, String::new(), &mut out)?;
    Ok(out)
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk(doc: &mut AutoCommit, obj: &ObjId, path: String, out: &mut Vec<Conflict>) -> Result<()> {
    match doc.object_type(obj)? {
        ObjType::Map | ObjType::Table => {
            let keys: Vec<String> = doc.keys(obj).collect();
            for key in keys {
                let field = join(&path, &key);
                collect(doc, obj, Prop::Map(key.clone()), &field, true, out)?;
                if let Some((Value::Object(ty), child)) = doc.get(obj, key.as_str())?
                    && ty != ObjType::Text
                {
                    walk(doc, &child, field, out)?;
                }
            }
        }
        ObjType::List => {
            for index in 0..doc.length(obj) {
                // A plain entry (a paragraph, a city) edited on two devices at once.
                let entry = format!("{path}[{index}]");
                collect(doc, obj, Prop::Seq(index), &entry, false, out)?;
                if let Some((Value::Object(ty), child)) = doc.get(obj, index)? {
                    if ty == ObjType::Text {
                        continue;
                    }
                    let label = match doc.get(&child, "id").ok().flatten() {
                        Some((Value::Scalar(s), _)) if s.as_str().is_some() => {
                            s.as_str().unwrap_or_default().to_string()
                        }
                        _ => index.to_string(),
                    };
                    walk(doc, &child, format!("{path}[{label}]"), out)?;
                }
            }
        }
        ObjType::Text => {}
    }
    Ok(())
}

/// Adds the conflict at `prop` of `obj`, if its concurrent values differ. Objects among the
/// values count only where `objects` says so (a list entry that is an object is walked into
/// instead).
fn collect(
    doc: &mut AutoCommit,
    obj: &ObjId,
    prop: Prop,
    path: &str,
    objects: bool,
    out: &mut Vec<Conflict>,
) -> Result<()> {
    let all: Vec<(Value<'static>, ObjId)> = doc
        .get_all(obj, prop.clone())?
        .into_iter()
        .map(|(v, id)| (v.into_owned(), id))
        .collect();
    if all.len() < 2 || !(objects || all.iter().all(|(v, _)| matches!(v, Value::Scalar(_)))) {
        return Ok(());
    }
    let winner = doc.get(obj, prop)?.map(|(_, id)| id);
    let mut values = Vec::with_capacity(all.len());
    for (value, id) in &all {
        values.push(conflict_value(doc, value, id, winner.as_ref() == Some(id))?);
    }
    let first = &values[0].value;
    if values.iter().any(|v| &v.value != first) {
        out.push(Conflict {
            path: path.to_string(),
            values,
        });
    }
    Ok(())
}

fn conflict_value(
    doc: &mut AutoCommit,
    value: &Value<'_>,
    id: &automerge::ObjId,
    winner: bool,
) -> Result<ConflictValue> {
    let actor = match id {
        automerge::ObjId::Id(_, actor, _) => actor.to_hex_string(),
        automerge::ObjId::Root => String::new(),
    };
    let change: Option<ChangeHash> = doc.hash_for_opid(id);
    let (message, time) = match change.and_then(|h| doc.get_change_by_hash(&h)) {
        Some(c) => (
            c.message().map(str::to_string),
            chrono::DateTime::from_timestamp(c.timestamp(), 0)
                .filter(|_| c.timestamp() > 0)
                .map(crate::model::fields::format_time),
        ),
        None => (None, None),
    };
    let (author, device) = crate::authorship::parse(message.as_deref());
    let (author, device) = (author.map(str::to_string), device.map(str::to_string));
    let value = match value {
        Value::Scalar(s) => scalar_json(s),
        Value::Object(_) => object_json(doc, id)?,
    };
    Ok(ConflictValue {
        value,
        actor,
        author,
        device,
        time,
        winner,
    })
}

fn scalar_json(s: &ScalarValue) -> Json {
    match s {
        ScalarValue::Str(s) => Json::String(s.to_string()),
        ScalarValue::Int(i) => Json::from(*i),
        ScalarValue::Uint(u) => Json::from(*u),
        ScalarValue::F64(f) => Json::from(*f),
        ScalarValue::Counter(c) => Json::from(i64::from(c)),
        ScalarValue::Timestamp(t) => Json::from(*t),
        ScalarValue::Boolean(b) => Json::Bool(*b),
        ScalarValue::Null => Json::Null,
        ScalarValue::Bytes(_) | ScalarValue::Unknown { .. } => Json::String("<binary>".to_string()),
    }
}

/// The JSON form of an object (a map, list or text) in the document.
pub fn object_json(doc: &AutoCommit, obj: &ObjId) -> Result<Json> {
    Ok(match doc.object_type(obj)? {
        ObjType::Text => Json::String(doc.text(obj)?),
        ObjType::List => {
            let mut items = Vec::new();
            for index in 0..doc.length(obj) {
                items.push(match doc.get(obj, index)? {
                    Some((Value::Scalar(s), _)) => scalar_json(&s),
                    Some((Value::Object(_), child)) => object_json(doc, &child)?,
                    None => Json::Null,
                });
            }
            Json::Array(items)
        }
        ObjType::Map | ObjType::Table => {
            let mut map = serde_json::Map::new();
            for key in doc.keys(obj) {
                let v = match doc.get(obj, key.as_str())? {
                    Some((Value::Scalar(s), _)) => scalar_json(&s),
                    Some((Value::Object(_), child)) => object_json(doc, &child)?,
                    None => Json::Null,
                };
                map.insert(key, v);
            }
            Json::Object(map)
        }
    })
}

/// Writes `value` to the field at `path` (a path as [`Conflict::path`] gives it: map keys
/// joined by `.`, list entries as `key[<entry id>]`), as new operations that replace every
/// concurrent value. Strings, numbers, booleans and null are written as they are; a map (money,
/// a position) as a new map of them.
pub(crate) fn write_path(doc: &mut AutoCommit, path: &str, value: &Json) -> Result<()> {
    let bad = |why: &str| -> Error { ValidationError::new(path, why.to_string()).into() };
    let segments: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = segments.split_last() else {
        return Err(bad("is not a field"));
    };
    let mut obj = ROOT;
    for segment in parents {
        obj = step(doc, &obj, segment).ok_or_else(|| bad("is not a field of this document"))?;
    }
    if let Some((key, index)) = last.split_once('[') {
        // A plain entry of a list (a paragraph), by its position: `notes[3]`.
        let index: usize = index
            .strip_suffix(']')
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| bad("names a list entry: name one of its fields"))?;
        let list = match doc.get(&obj, key)? {
            Some((Value::Object(ObjType::List), list)) => list,
            _ => return Err(bad("is not a list of this document")),
        };
        if !matches!(doc.get(&list, index)?, Some((Value::Scalar(_), _))) {
            return Err(bad("is not a plain entry of this list"));
        }
        let v = scalar(value).ok_or_else(|| bad("takes a string, number, boolean or null"))?;
        // Automerge skips a put of the value the entry shows already; writing another value
        // first makes the last write a new one that replaces the concurrent ones.
        if let Some((Value::Scalar(shown), _)) = doc.get(&list, index)?
            && shown.as_ref() == &v
        {
            doc.put(&list, index, ScalarValue::Null)?;
        }
        doc.put(&list, index, v)?;
        return Ok(());
    }
    if doc.get(&obj, *last)?.is_none() {
        return Err(bad("is not a field of this document"));
    }
    match value {
        Json::Object(map) => {
            let child = doc.put_object(&obj, *last, ObjType::Map)?;
            for (k, v) in map {
                doc.put(
                    &child,
                    k.as_str(),
                    scalar(v).ok_or_else(|| bad("holds a nested value"))?,
                )?;
            }
        }
        other => {
            let v =
                scalar(other).ok_or_else(|| bad("takes a string, number, boolean, null or map"))?;
            // Automerge skips a put of the value the field shows already; deleting first makes
            // it a new write that replaces the concurrent ones.
            doc.delete(&obj, *last)?;
            doc.put(&obj, *last, v)?;
        }
    }
    Ok(())
}

/// The object a path segment (`key` or `key[<entry id>]`) leads to from `obj`.
fn step(doc: &AutoCommit, obj: &ObjId, segment: &str) -> Option<ObjId> {
    let (key, entry) = match segment.split_once('[') {
        Some((k, rest)) => (k, Some(rest.strip_suffix(']')?)),
        None => (segment, None),
    };
    let (_, child) = doc.get(obj, key).ok()??;
    let Some(entry) = entry else {
        return Some(child);
    };
    (0..doc.length(&child)).find_map(|i| {
        let (_, item) = doc.get(&child, i).ok()??;
        match doc.get(&item, "id").ok()?? {
            (Value::Scalar(s), _) if s.as_str() == Some(entry) => Some(item),
            _ => None,
        }
    })
}

fn scalar(v: &Json) -> Option<ScalarValue> {
    Some(match v {
        Json::String(s) => ScalarValue::Str(s.as_str().into()),
        Json::Bool(b) => ScalarValue::Boolean(*b),
        Json::Null => ScalarValue::Null,
        Json::Number(n) => match n.as_i64() {
            Some(i) => ScalarValue::Int(i),
            None => ScalarValue::F64(n.as_f64()?),
        },
        Json::Array(_) | Json::Object(_) => return None,
    })
}
