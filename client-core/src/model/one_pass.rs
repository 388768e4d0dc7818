//! Reading a document into its typed view with one pass over the whole document.
//!
//! autosurgeon reads a struct field by field, each field one `get` on the document, and a list
//! element by element. In Automerge 0.12 every `get` seeks the key among the object's
//! operations from the start: for a customer file's 24 root fields that is 24 seeks, about
//! five times the cost of walking the whole map once with `map_range` (measured on generated
//! customers and visits: 1.3 µs a `get`, 0.25 µs a key walked). Walking each object with its
//! own `map_range` or `list_range` still sets up Automerge's column iterators once an object:
//! about 1.4 µs each, and a visit has about fifteen objects, most of them empty lists.
//! Automerge's document iterator (`ReadDoc::iter`) walks every object in one pass, moving the
//! same iterators from one object to the next: 15 µs for a generated customer file or visit,
//! against 36 µs for the object-by-object read.
//!
//! [`OnePass`] is autosurgeon's `ReadDoc` that walks the whole document once when it is made
//! and answers `get` on a map or list, a list's length and a text's characters from that walk;
//! every other call goes to the document.
//!
//! It answers exactly what the document would: the walk yields, for each key or index, the
//! value and id `get` returns (the winner among conflicting values), as `map_range` and
//! `list_range` do.

use std::ops::RangeBounds;

use automerge::iter::{DocItem, ListRange, MapRange};
use automerge::{AutoCommit, AutomergeError, ChangeHash, ObjId, ObjType, Prop, Value, ValueRef};
use autosurgeon::ReadDoc;
// foldhash rather than SipHash, which was a tenth of a read: its seed is still random per
// process (a pushed document cannot aim its keys at one bucket without knowing it), and a
// map holds at most the keys of one document, whose operations are bounded (`cost`).
use foldhash::HashMap;

/// One walked object: a map's values by key, a list's in order, or a text's characters.
enum Walked {
    Map(HashMap<String, (Value<'static>, ObjId)>),
    List(Vec<(Value<'static>, ObjId)>),
    /// A text's characters, as `text` gives them (its spans one after another).
    Text(String),
}

/// A document read through one walk of all of it.
pub(crate) struct OnePass<'a> {
    doc: &'a AutoCommit,
    /// Its maps, lists and texts; anything else (no such object, a table) is asked of `doc`.
    walked: HashMap<ObjId, Walked>,
}

impl<'a> OnePass<'a> {
    /// Reads `doc`, which must not change while this reader lives (it borrows it): walks every
    /// object of it once.
    pub(crate) fn new(doc: &'a AutoCommit) -> Self {
        OnePass {
            doc,
            walked: walk(doc),
        }
    }
}

/// An object before its first item (or with none, if it is empty); `None` for a table, which
/// is asked of the document.
fn empty_of(typ: ObjType) -> Option<Walked> {
    match typ {
        ObjType::Map => Some(Walked::Map(HashMap::default())),
        ObjType::List => Some(Walked::List(Vec::new())),
        ObjType::Text => Some(Walked::Text(String::new())),
        ObjType::Table => None,
    }
}

/// Every map, list and text of `doc`, each with its visible values, from one pass of Automerge's
/// document iterator. It visits an object's items one after another, and a parent's items
/// before its children's; an empty object has no items, and is known from its parent's value.
fn walk(doc: &AutoCommit) -> HashMap<ObjId, Walked> {
    let mut objects: HashMap<ObjId, Walked> = HashMap::default();
    objects.insert(automerge::ROOT, Walked::Map(HashMap::default()));
    for item in automerge::ReadDoc::iter(doc) {
        let (value, id, key) = match item.item {
            DocItem::Map(m) => {
                let id = m.id();
                (m.value, id, Some(m.key))
            }
            DocItem::List(l) => {
                let id = l.id();
                (l.value, id, None)
            }
            // A span's text is what `text` gives for it, a block's the placeholder character.
            DocItem::Text(span) => {
                if let Some(Walked::Text(text)) = objects.get_mut(&*item.obj) {
                    text.push_str(span.as_str());
                }
                continue;
            }
        };
        if let ValueRef::Object(typ) = value
            && let Some(empty) = empty_of(typ)
        {
            objects.insert(id.clone(), empty);
        }
        match (objects.get_mut(&*item.obj), key) {
            (Some(Walked::Map(values)), Some(key)) => {
                values.insert(key.into_owned(), (value.into_value(), id));
            }
            (Some(Walked::List(values)), None) => values.push((value.into_value(), id)),
            _ => {}
        }
    }
    objects
}

impl ReadDoc for OnePass<'_> {
    type Parents<'b>
        = automerge::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<ChangeHash> {
        ReadDoc::get_heads(self.doc)
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        let prop = prop.into();
        match (self.walked.get(obj), &prop) {
            (Some(Walked::Map(values)), Prop::Map(key)) => Ok(values.get(key.as_str()).cloned()),
            (Some(Walked::List(values)), Prop::Seq(index)) => Ok(values.get(*index).cloned()),
            _ => ReadDoc::get(self.doc, obj, prop),
        }
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        ReadDoc::object_type(self.doc, obj)
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> MapRange<'b>
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
    ) -> ListRange<'_> {
        ReadDoc::list_range(self.doc, obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        let obj = obj.as_ref();
        match self.walked.get(obj) {
            Some(Walked::List(values)) => values.len(),
            _ => ReadDoc::length(self.doc, obj),
        }
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        let obj = obj.as_ref();
        match self.walked.get(obj) {
            Some(Walked::Text(text)) => Ok(text.clone()),
            _ => ReadDoc::text(self.doc, obj),
        }
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        ReadDoc::parents(self.doc, obj)
    }

    fn is_empty(&self) -> bool {
        ReadDoc::is_empty(self.doc)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use automerge::ROOT;
    use automerge::ReadDoc as Am;
    use automerge::transaction::Transactable;

    use super::*;
    use crate::Store;
    use crate::model::customer::{Customer, CustomerEdit, NewContact, NewCustomer, Tier};

    /// Every map and list of `doc` reachable from its root, the root first.
    fn objects(doc: &AutoCommit) -> Vec<ObjId> {
        let mut found = vec![ROOT];
        let mut i = 0;
        while i < found.len() {
            let obj = found[i].clone();
            let children: Vec<ObjId> = match Am::object_type(doc, &obj).unwrap() {
                ObjType::Map => Am::map_range(doc, &obj, ..)
                    .filter(|item| matches!(item.value.clone().into_value(), Value::Object(_)))
                    .map(|item| item.id())
                    .collect(),
                ObjType::List => Am::list_range(doc, &obj, ..)
                    .filter(|item| matches!(item.value.clone().into_value(), Value::Object(_)))
                    .map(|item| item.id())
                    .collect(),
                _ => Vec::new(),
            };
            found.extend(children);
            i += 1;
        }
        found
    }

    /// Asks `doc` and a one-pass reader of it the same questions about every object.
    fn assert_same_answers(doc: &AutoCommit) {
        let one = OnePass::new(doc);
        for obj in objects(doc) {
            match Am::object_type(doc, &obj).unwrap() {
                ObjType::Map => {
                    let mut keys: Vec<String> = Am::keys(doc, &obj).collect();
                    keys.push("no-such-key".into());
                    for key in keys {
                        assert_eq!(
                            ReadDoc::get(&one, &obj, key.as_str()).unwrap(),
                            ReadDoc::get(doc, &obj, key.as_str()).unwrap(),
                            "key {key}"
                        );
                    }
                }
                ObjType::List => {
                    let len = ReadDoc::length(doc, &obj);
                    assert_eq!(ReadDoc::length(&one, &obj), len);
                    for index in 0..=len {
                        assert_eq!(
                            ReadDoc::get(&one, &obj, index).unwrap(),
                            ReadDoc::get(doc, &obj, index).unwrap(),
                            "index {index}"
                        );
                    }
                }
                _ => {}
            }
        }
    }

    fn customer_doc() -> AutoCommit {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("one-pass.db")).unwrap();
        let id = store
            .create_customer(NewCustomer {
                name: "苏州精密机械有限公司".into(),
                territory: "east-1".into(),
                owner: "wang".into(),
                city: Some("苏州".into()),
                phone: Some("0512-6666".into()),
                notes: "第一段\n第二段\n第三段".into(),
                contacts: vec![
                    NewContact {
                        name: "张经理".into(),
                        title: Some("采购".into()),
                        ..NewContact::default()
                    },
                    NewContact {
                        name: "李工".into(),
                        decision_maker: true,
                        ..NewContact::default()
                    },
                ],
                created_by: "wang".into(),
                ..NewCustomer::default()
            })
            .unwrap();
        store
            .update_customer(&id, &[CustomerEdit::Tier(Tier::A)])
            .unwrap();
        AutoCommit::load(&store.document_bytes(&id).unwrap()).unwrap()
    }

    #[test]
    fn a_one_pass_reader_answers_what_the_document_answers() {
        let doc = customer_doc();
        assert_same_answers(&doc);
        let direct: Customer = autosurgeon::hydrate(&doc).unwrap();
        let one: Customer = autosurgeon::hydrate(&OnePass::new(&doc)).unwrap();
        assert_eq!(one, direct);
        assert_eq!(one.contacts.len(), 2);
    }

    #[test]
    fn the_walk_knows_empty_and_nested_objects_and_texts() {
        let mut doc = AutoCommit::new();
        doc.put_object(ROOT, "empty_list", ObjType::List).unwrap();
        doc.put_object(ROOT, "empty_map", ObjType::Map).unwrap();
        doc.put_object(ROOT, "empty_text", ObjType::Text).unwrap();
        let text = doc.put_object(ROOT, "legacy_note", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, "first line\nsecond 第二")
            .unwrap();
        let bold = automerge::marks::Mark::new("bold".into(), true, 6, 10);
        doc.mark(&text, bold, automerge::marks::ExpandMark::None)
            .unwrap();
        doc.splice_text(&text, 2, 3, "").unwrap();
        let rows = doc.put_object(ROOT, "rows", ObjType::List).unwrap();
        for i in 0..3_i64 {
            let row = doc.insert_object(&rows, 0, ObjType::Map).unwrap();
            doc.put(&row, "n", i).unwrap();
            let inner = doc.put_object(&row, "inner", ObjType::List).unwrap();
            doc.insert(&inner, 0, "x").unwrap();
        }
        doc.delete(&rows, 1).unwrap();
        doc.put(ROOT, "gone", "soon").unwrap();
        doc.delete(ROOT, "gone").unwrap();
        assert_same_answers(&doc);
        let one = OnePass::new(&doc);
        let list = Am::get(&doc, ROOT, "empty_list").unwrap().unwrap().1;
        assert!(matches!(one.walked.get(&list), Some(Walked::List(l)) if l.is_empty()));
        assert!(matches!(one.walked.get(&text), Some(Walked::Text(_))));
        for key in ["legacy_note", "empty_text"] {
            let obj = Am::get(&doc, ROOT, key).unwrap().unwrap().1;
            assert_eq!(
                ReadDoc::text(&one, &obj).unwrap(),
                Am::text(&doc, &obj).unwrap(),
                "{key}"
            );
        }
        assert_eq!(ReadDoc::text(&one, &text).unwrap(), "fi line\nsecond 第二");
        assert_eq!(ReadDoc::length(&one, &rows), 2);
        assert_eq!(ReadDoc::get(&one, &ROOT, "gone").unwrap(), None);
    }

    #[test]
    fn with_conflicting_values_the_one_pass_reader_gives_the_same_winner() {
        let mut a = customer_doc();
        let mut b = a.fork();
        a.put(ROOT, "phone", "0512-1111").unwrap();
        b.put(ROOT, "phone", "0512-2222").unwrap();
        let contacts = match ReadDoc::get(&a, &ROOT, "contacts").unwrap() {
            Some((Value::Object(ObjType::List), id)) => id,
            other => panic!("contacts: {other:?}"),
        };
        b.delete(&contacts, 0).unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(
            Am::get_all(&a, ROOT, "phone").unwrap().len(),
            2,
            "a conflict"
        );
        assert_same_answers(&a);
        let direct: Customer = autosurgeon::hydrate(&a).unwrap();
        let one: Customer = autosurgeon::hydrate(&OnePass::new(&a)).unwrap();
        assert_eq!(one, direct);
        assert_eq!(one.contacts.len(), 1);
    }
}
