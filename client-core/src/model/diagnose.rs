//! Schema errors that name the field and say what it should hold.
//!
//! autosurgeon reports a value of the wrong type as "unexpected f64", without saying where or
//! what was expected: fine for a bug in this library, useless to someone writing documents
//! from another language. When a document does not hydrate, it is read again through
//! [`Tracing`], which notes the path of every value hydration looks at; the last one is where
//! it failed. The expected type is then found by trying each kind of value at that place, in
//! a fork of the document: the kinds with which hydration gets past it are what the field
//! holds. All of this runs only for a document that already failed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::RangeBounds;

use automerge::{AutoCommit, ObjId, ObjType, Prop, ScalarValue, Value, transaction::Transactable};
use autosurgeon::hydrate::Unexpected;
use autosurgeon::{Hydrate, HydrateError, ReadDoc};

use crate::error::ValidationError;

/// The place hydration looked at last: the object, the key or index in it, and the path.
#[derive(Debug, Clone)]
struct Place {
    obj: ObjId,
    prop: Prop,
    path: String,
    /// Whether a value was there.
    present: bool,
}

/// A document read for hydration, noting where each value read sits.
struct Tracing<'a> {
    doc: &'a AutoCommit,
    paths: RefCell<HashMap<ObjId, String>>,
    last: RefCell<Option<Place>>,
}

impl<'a> Tracing<'a> {
    fn new(doc: &'a AutoCommit, root: &str) -> Self {
        let mut paths = HashMap::new();
        paths.insert(automerge::ROOT, root.to_string());
        Tracing {
            doc,
            paths: RefCell::new(paths),
            last: RefCell::new(None),
        }
    }

    fn path_of(&self, obj: &ObjId, prop: &Prop) -> String {
        let parent = self.paths.borrow().get(obj).cloned().unwrap_or_default();
        match prop {
            Prop::Map(key) => format!("{parent}.{key}"),
            Prop::Seq(i) => format!("{parent}[{i}]"),
        }
    }

    fn note(&self, obj: &ObjId, prop: Prop, child: Option<&ObjId>, present: bool) {
        let path = self.path_of(obj, &prop);
        if let Some(child) = child {
            self.paths.borrow_mut().insert(child.clone(), path.clone());
        }
        *self.last.borrow_mut() = Some(Place {
            obj: obj.clone(),
            prop,
            path,
            present,
        });
    }
}

impl ReadDoc for Tracing<'_> {
    type Parents<'b>
        = automerge::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<automerge::ChangeHash> {
        ReadDoc::get_heads(self.doc)
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, automerge::AutomergeError> {
        let prop = prop.into();
        let got = ReadDoc::get(self.doc, obj, prop.clone())?;
        let child = match &got {
            Some((Value::Object(_), id)) => Some(id),
            _ => None,
        };
        self.note(obj, prop, child, got.is_some());
        Ok(got)
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        ReadDoc::object_type(self.doc, obj)
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> automerge::iter::MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
        R: RangeBounds<String>,
    {
        ReadDoc::map_range(self.doc, obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> automerge::iter::ListRange<'_> {
        ReadDoc::list_range(self.doc, obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        ReadDoc::length(self.doc, obj)
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, automerge::AutomergeError> {
        ReadDoc::text(self.doc, obj)
    }

    fn parents<O: AsRef<ObjId>>(
        &self,
        obj: O,
    ) -> Result<Self::Parents<'_>, automerge::AutomergeError> {
        ReadDoc::parents(self.doc, obj)
    }

    fn is_empty(&self) -> bool {
        ReadDoc::is_empty(self.doc)
    }
}

/// The kinds of value tried in place of a wrong one, with how they are named.
const CANDIDATES: [&str; 8] = [
    "a string",
    "an int",
    "a float",
    "a boolean",
    "null",
    "a map",
    "a list",
    "text",
];

/// Puts candidate `n` of [`CANDIDATES`] at `place` in `doc`.
fn put_candidate(
    doc: &mut AutoCommit,
    place: &Place,
    n: usize,
) -> Result<(), automerge::AutomergeError> {
    let scalar = |v: ScalarValue| (Some(v), None);
    let (value, object) = match n {
        0 => scalar(ScalarValue::Str("x".into())),
        1 => scalar(ScalarValue::Int(0)),
        2 => scalar(ScalarValue::F64(0.0)),
        3 => scalar(ScalarValue::Boolean(false)),
        4 => scalar(ScalarValue::Null),
        5 => (None, Some(ObjType::Map)),
        6 => (None, Some(ObjType::List)),
        _ => (None, Some(ObjType::Text)),
    };
    match (value, object) {
        (Some(v), _) => doc.put(&place.obj, place.prop.clone(), v),
        (None, Some(t)) => doc.put_object(&place.obj, place.prop.clone(), t).map(drop),
        (None, None) => Ok(()),
    }
}

/// What an unexpected value is, in words.
fn found(u: &Unexpected) -> String {
    match u {
        Unexpected::Map => "a map".into(),
        Unexpected::Seq => "a list".into(),
        Unexpected::Text => "text".into(),
        Unexpected::Boolean => "a boolean".into(),
        Unexpected::Bytes => "bytes".into(),
        Unexpected::Counter => "a counter".into(),
        Unexpected::F64 => "a float".into(),
        Unexpected::Int => "an int".into(),
        Unexpected::Uint => "an unsigned int".into(),
        Unexpected::String => "a string".into(),
        Unexpected::Timestamp => "a timestamp".into(),
        Unexpected::Unknown => "a value of an unknown type".into(),
        Unexpected::None => "nothing".into(),
        Unexpected::Other { found, .. } => found.clone(),
    }
}

/// Hydrates `H` from `doc` through a tracer: the error, and where hydration last looked.
fn traced<H: Hydrate>(doc: &AutoCommit, root: &str) -> (Result<H, HydrateError>, Option<Place>) {
    let tracing = Tracing::new(doc, root);
    let out = autosurgeon::hydrate::<_, H>(&tracing);
    let last = tracing.last.borrow().clone();
    (out, last)
}

/// The schema error of `doc`, which failed to hydrate as `H` with `error`: the field's path
/// (`visit.checkin_geo.lat`), what it should hold and what it holds.
pub(crate) fn schema_error<H: Hydrate>(
    doc: &AutoCommit,
    root: &str,
    error: &HydrateError,
) -> ValidationError {
    // The document came from elsewhere: whatever happens while probing it, the answer is an
    // error message, never a panic.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        probe::<H>(doc, root, error)
    }))
    .unwrap_or_else(|_| {
        ValidationError::new(root, format!("document does not match the schema: {error}"))
    })
}

fn probe<H: Hydrate>(doc: &AutoCommit, root: &str, error: &HydrateError) -> ValidationError {
    let general =
        || ValidationError::new(root, format!("document does not match the schema: {error}"));
    let (out, last) = traced::<H>(doc, root);
    let (Err(HydrateError::Unexpected(unexpected)), Some(place)) = (out, last) else {
        return general();
    };
    if let Unexpected::Other { expected, found } = &unexpected
        && place.present
    {
        return ValidationError::new(place.path, format!("expected {expected}, found {found}"));
    }
    // The kinds of value with which hydration gets past this place.
    let mut fits = Vec::new();
    for (n, name) in CANDIDATES.iter().enumerate() {
        let mut fork = doc.clone();
        if put_candidate(&mut fork, &place, n).is_err() {
            continue;
        }
        let (out, last) = traced::<H>(&fork, root);
        let past = match (out, last) {
            (Ok(_), _) => true,
            // The right type with a value it refuses (an unknown tier): the type fits.
            (Err(HydrateError::Unexpected(Unexpected::Other { .. })), _) => true,
            (Err(_), Some(l)) => l.path != place.path,
            (Err(_), None) => false,
        };
        if past {
            fits.push(*name);
        }
    }
    let expected = match fits.as_slice() {
        [] => return general(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    };
    let problem = match unexpected {
        _ if !place.present => format!(
            "the key is missing: it must be present and hold {expected} (an optional field holds null)"
        ),
        other => format!("expected {expected}, found {}", found(&other)),
    };
    ValidationError::new(place.path, problem)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::visit::{NewVisit, Visit};

    fn visit_doc() -> AutoCommit {
        let visit = NewVisit {
            customer: crate::ids::new_id(),
            author: "li".into(),
            checkin_at: "2026-11-23T01:30:00Z".into(),
            utc_offset_minutes: 480,
            checkin_geo: Some(crate::model::fields::Geo {
                lat: 31.3,
                lon: 120.6,
            }),
            summary: "谈了价格".into(),
            ..Default::default()
        }
        .build(crate::ids::new_id(), "2026-11-23T01:30:00Z".into())
        .unwrap();
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &visit).unwrap();
        doc
    }

    fn error_of(doc: &AutoCommit) -> ValidationError {
        let e = autosurgeon::hydrate::<_, Visit>(doc).unwrap_err();
        schema_error::<Visit>(doc, "visit", &e)
    }

    #[test]
    fn a_wrong_type_names_the_field_what_it_holds_and_what_it_should() {
        let mut doc = visit_doc();
        let geo = match ReadDoc::get(&doc, &automerge::ROOT, "checkin_geo").unwrap() {
            Some((Value::Object(_), id)) => id,
            other => panic!("{other:?}"),
        };
        doc.put(&geo, "lat", ScalarValue::Int(30)).unwrap();
        let e = error_of(&doc);
        assert_eq!(e.field, "visit.checkin_geo.lat");
        assert_eq!(e.problem, "expected a float, found an int");
    }

    #[test]
    fn a_missing_key_is_named() {
        let mut doc = visit_doc();
        doc.delete(&automerge::ROOT, "next_step").unwrap();
        let e = error_of(&doc);
        assert_eq!(e.field, "visit.next_step");
        assert!(e.problem.starts_with("the key is missing"), "{e}");
        assert!(e.problem.contains("a string or null"), "{e}");
    }

    #[test]
    fn text_where_a_string_belongs_says_so() {
        let mut doc = visit_doc();
        doc.put_object(&automerge::ROOT, "author", ObjType::Text)
            .unwrap();
        let e = error_of(&doc);
        assert_eq!(e.field, "visit.author");
        assert_eq!(e.problem, "expected a string, found text");
    }
}
