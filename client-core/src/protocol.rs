//! Wire types of the sync protocol (v1), shared by the server and every client.
//!
//! One sync round is one `POST /v1/sync` whose body is a CBOR [`SyncRequest`]; the answer is a
//! CBOR [`SyncResponse`]. The device sends the highest log sequence number it has received (its
//! cursor) and, per document, the Automerge changes the server has not acknowledged. The server
//! answers per pushed document (accepted with its new heads, or rejected with the rule and a
//! reason), and with everything logged after the cursor in the device's scope: changes, whole
//! documents for documents that entered the scope, and revocations for those that left it.
//! Large answers come in pages (`more`). Which protocols a server serves, and what a client
//! outside them is told, is [`compat`].

pub mod compat;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Heads as the protocol and both stores write them: hex, sorted, so equal heads compare equal.
pub fn hex_heads(heads: &[ChangeHash]) -> Vec<String> {
    let mut hex: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
    hex.sort();
    hex
}

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The content type of sync bodies.
pub const CBOR_CONTENT_TYPE: &str = "application/cbor";

/// One sync round, from the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The highest log sequence number the device has received (0 on a new device).
    pub cursor: u64,
    /// Unsent changes, per document.
    #[serde(default)]
    pub push: Vec<PushDocument>,
}

/// The changes of one document the server has not acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushDocument {
    /// Document id.
    pub id: String,
    /// Automerge changes, each as its own byte string.
    pub changes: Vec<ByteBuf>,
}

/// The server's answer to one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncResponse {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// Pushed documents the server took, with the heads it now has for each.
    pub accepted: Vec<Accepted>,
    /// Pushed documents the server refused; nothing of them was stored.
    pub rejected: Vec<Rejected>,
    /// Documents with news for the device: changes, or the whole document.
    pub documents: Vec<PulledDocument>,
    /// Documents that left the device's scope: the device deletes its copy.
    pub revoked: Vec<String>,
    /// The cursor to send next round.
    pub cursor: u64,
    /// Whether more is waiting: run another round.
    pub more: bool,
    /// The company's settings every device applies (complaint deadlines); absent from servers
    /// older than this field, when the device keeps what it had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// The history the server's log belongs to: a random id made with its database and
    /// replaced when the database is restored from a backup (docs/PROTOCOL.md, "After a
    /// restore"). A device that sees another history than the one it synced with re-sends its
    /// work. Absent from servers older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<String>,
    /// Where the server's history forked from the one before it, when it was restored from
    /// a backup: a device of that earlier history keeps its cursor up to the fork.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<HistoryFork>,
}

/// The point a restored server's history forked from the history before it: the log up to
/// `seq` is the earlier history's, numbered alike; everything after it is new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryFork {
    /// The earlier history's id.
    pub history: String,
    /// The log head of the backup the server was restored from.
    pub seq: u64,
}

/// What the server tells every device with each sync answer, so every device computes the
/// same due lists and KPIs: the company's settings, and the user's team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Hours to the first response of a complaint, by priority.
    pub complaint_hours: crate::model::complaint::ResponseHours,
    /// The users whose figures the user's team KPIs add up: a manager's reps and themselves,
    /// every user for an admin, the user alone for a rep.
    #[serde(default)]
    pub team: Vec<String>,
    /// The server's limits on attachments, so that a device refuses at once a file the server
    /// would refuse (absent from older servers: the device keeps its defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<AttachmentSettings>,
}

/// What a server takes as attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentSettings {
    /// The largest attachment, in bytes.
    pub max_bytes: u64,
    /// The media types taken, as read from the content (`image/jpeg`, …).
    pub media_types: Vec<String>,
}

/// A pushed document the server stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    /// Document id.
    pub id: String,
    /// The server's heads of the document after the push, hex.
    pub heads: Vec<String>,
}

/// A pushed document the server refused, whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    /// Document id.
    pub id: String,
    /// Which rule it broke: `schema`, `scope`, `field_rights`, `approval`, `corrupt`,
    /// `missing_dependencies`, `kind`.
    pub rule: String,
    /// What was wrong, for the user.
    pub reason: String,
}

/// News about one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulledDocument {
    /// Document id.
    pub id: String,
    /// Whether `data` is the whole document (Automerge `save`) rather than changes.
    pub snapshot: bool,
    /// Automerge data: a saved document or concatenated changes.
    pub data: ByteBuf,
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Encodes a protocol message as CBOR.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and these types always serialize.
    if let Err(e) = ciborium::into_writer(value, &mut out) {
        unreachable!("CBOR encoding into memory failed: {e}");
    }
    out
}

/// Decodes a protocol message from CBOR, with a message that says what was wrong.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, DecodeError> {
    ciborium::from_reader(bytes).map_err(|e| {
        DecodeError(match e {
            ciborium::de::Error::Io(_) => {
                "the body is truncated: send the whole CBOR message".to_string()
            }
            ciborium::de::Error::Syntax(at) => format!("the body is not valid CBOR (at byte {at})"),
            ciborium::de::Error::Semantic(_, msg) => {
                format!("the body does not match the protocol: {msg}")
            }
            ciborium::de::Error::RecursionLimitExceeded => {
                "the body is nested too deeply".to_string()
            }
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_bodies_say_why() {
        let req = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: 42,
            push: vec![PushDocument {
                id: "x".into(),
                changes: vec![ByteBuf::from(vec![1, 2, 3])],
            }],
        };
        let bytes = encode(&req);
        assert_eq!(decode::<SyncRequest>(&bytes).unwrap(), req);
        assert!(
            decode::<SyncRequest>(&bytes[..bytes.len() - 2])
                .unwrap_err()
                .0
                .contains("truncated")
        );
        assert!(decode::<SyncRequest>(b"\xff\xff").is_err());
        let wrong = encode(&serde_json::json!({"protocol": "one", "cursor": 1}));
        assert!(
            decode::<SyncRequest>(&wrong)
                .unwrap_err()
                .0
                .contains("does not match")
        );
    }

    /// What other clients' CBOR libraries send for bytes: a plain byte string, or (Automerge
    /// JS's `Uint8Array` through cbor-x) a byte string tagged 64, a typed array of octets.
    #[test]
    fn changes_are_byte_strings_tagged_64_or_not_or_arrays_of_octets() {
        use ciborium::Value;
        let request = |change: Value| {
            let body = Value::Map(vec![
                (Value::Text("protocol".into()), Value::Integer(1.into())),
                (Value::Text("cursor".into()), Value::Integer(0.into())),
                (
                    Value::Text("push".into()),
                    Value::Array(vec![Value::Map(vec![
                        (Value::Text("id".into()), Value::Text("x".into())),
                        (Value::Text("changes".into()), Value::Array(vec![change])),
                    ])]),
                ),
            ]);
            let mut out = Vec::new();
            ciborium::into_writer(&body, &mut out).unwrap();
            decode::<SyncRequest>(&out)
        };
        let plain = request(Value::Bytes(vec![1, 2, 3])).unwrap();
        assert_eq!(plain.push[0].changes[0].as_slice(), [1, 2, 3]);
        let tagged = request(Value::Tag(64, Box::new(Value::Bytes(vec![1, 2, 3])))).unwrap();
        assert_eq!(tagged, plain);
        // An array of octets is read as the same bytes (larger on the wire); anything else in
        // it is refused.
        let octets =
            |v: Vec<i64>| Value::Array(v.into_iter().map(|n| Value::Integer(n.into())).collect());
        assert_eq!(request(octets(vec![1, 2, 3])).unwrap(), plain);
        assert!(request(octets(vec![1, 256])).is_err());
        // Without `push`, a round only pulls.
        let mut out = Vec::new();
        ciborium::into_writer(&serde_json::json!({"protocol": 1, "cursor": 7}), &mut out).unwrap();
        assert!(decode::<SyncRequest>(&out).unwrap().push.is_empty());
    }
}
