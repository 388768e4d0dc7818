//! The conflict view: fields where devices set different values concurrently.
//!
//! Automerge keeps every concurrent value of a field and picks one winner the same way on every
//! device. fieldsync never drops the losers silently: this module lists each such field with all
//! its values, which device wrote each, who was using it and when, so the app can ask the user.
//! Setting the field again resolves the conflict.

use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::Result;

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
                let all: Vec<(Value<'static>, ObjId)> = doc
                    .get_all(obj, key.as_str())?
                    .into_iter()
                    .map(|(v, id)| (v.into_owned(), id))
                    .collect();
                if all.len() > 1 {
                    let winner = doc.get(obj, key.as_str())?.map(|(_, id)| id);
                    let mut values = Vec::with_capacity(all.len());
                    for (value, id) in &all {
                        values.push(conflict_value(doc, value, id, winner.as_ref() == Some(id))?);
                    }
                    let first = &values[0].value;
                    if values.iter().any(|v| &v.value != first) {
                        out.push(Conflict {
                            path: field.clone(),
                            values,
                        });
                    }
                }
                if let Some((Value::Object(ty), child)) = doc.get(obj, key.as_str())?
                    && ty != ObjType::Text
                {
                    walk(doc, &child, field, out)?;
                }
            }
        }
        ObjType::List => {
            for index in 0..doc.length(obj) {
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
    let (author, time) = match change.and_then(|h| doc.get_change_by_hash(&h)) {
        Some(c) => (
            c.message().map(str::to_string),
            chrono::DateTime::from_timestamp(c.timestamp(), 0)
                .filter(|_| c.timestamp() > 0)
                .map(crate::model::fields::format_time),
        ),
        None => (None, None),
    };
    let value = match value {
        Value::Scalar(s) => scalar_json(s),
        Value::Object(_) => object_json(doc, id)?,
    };
    Ok(ConflictValue {
        value,
        actor,
        author,
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
