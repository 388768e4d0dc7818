//! Document ids: UUIDv7 strings, so ids made offline on different devices never collide and
//! sort by creation time.

use uuid::Uuid;

use crate::error::{Error, Result};

/// A new document or list-entry id (UUIDv7, lower-case, hyphenated).
pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// Checks `s` is a UUID and returns it in the canonical lower-case hyphenated form.
pub fn parse_id(s: &str) -> Result<String> {
    let trimmed = s.trim();
    if trimmed.len() != 36 {
        return Err(Error::MalformedId(s.to_string()));
    }
    Uuid::parse_str(trimmed)
        .map(|u| u.to_string())
        .map_err(|_| Error::MalformedId(s.to_string()))
}

/// Whether `s` is a canonical id, as stored in documents.
pub fn is_id(s: &str) -> bool {
    parse_id(s).is_ok_and(|canonical| canonical == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_parse_and_are_canonical() {
        let id = new_id();
        assert!(is_id(&id));
        assert_eq!(parse_id(&id.to_uppercase()).ok(), Some(id));
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "abc",
            "01932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5",
            "zz932c07-7a3e-7b8e-9f1e-3c2a1b0d4e5f",
        ] {
            assert!(matches!(parse_id(bad), Err(Error::MalformedId(_))), "{bad}");
        }
    }
}
