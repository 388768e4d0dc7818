//! Which sync protocols a server serves, and what a client outside them is told.
//!
//! Phones update their app weeks after the server is upgraded, so a server serves every sync
//! protocol from [`MIN_SUPPORTED_PROTOCOL`] to [`PROTOCOL_VERSION`], and the policy
//! (docs/PROTOCOL.md, "Compatibility and releases") keeps the previous release's protocol in
//! that range. A request outside it gets a typed answer, decided here once for the server
//! ([`check`]) and read here by the client ([`Unserved::from_answer`]):
//! - an older protocol: `426 Upgrade Required`, code [`CLIENT_TOO_OLD`], naming the oldest app
//!   version the server serves: the person updates the app;
//! - a newer protocol: `400`, code [`SERVER_TOO_OLD`]: the administrator upgrades the server.
//!
//! The server reads the protocol from the request's own `protocol` field
//! ([`peek_protocol`]) before it decodes the rest, so a body shaped by another protocol still
//! gets this answer rather than a `bad_request`. The app version a client names in its
//! `User-Agent` ([`app_version`]) is for logs and counts only: anything can claim any version.

use serde::{Deserialize, Serialize};

use super::PROTOCOL_VERSION;

/// The oldest sync protocol this build serves.
pub const MIN_SUPPORTED_PROTOCOL: u32 = 1;

/// The first app version that speaks each protocol, oldest first: what a client too old is
/// told to update to.
pub const PROTOCOL_RELEASES: &[(u32, &str)] = &[(1, "0.1.0")];

/// The error code of a client whose protocol is older than the server serves.
pub const CLIENT_TOO_OLD: &str = "client_too_old";

/// The error code of a client whose protocol is newer than the server speaks.
pub const SERVER_TOO_OLD: &str = "server_too_old";

/// The HTTP status of [`CLIENT_TOO_OLD`]: 426 Upgrade Required.
pub const CLIENT_TOO_OLD_STATUS: u16 = 426;

/// The HTTP status of [`SERVER_TOO_OLD`]: 400, the request is one this server cannot read.
pub const SERVER_TOO_OLD_STATUS: u16 = 400;

/// Why a request's protocol is not served. The messages say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unserved {
    /// The client speaks an older protocol than the server serves: update the app.
    #[error(
        "this app is too old for the server: update the app to version {min_app_version} or later (the app speaks sync protocol {protocol}; the server serves protocols {min_protocol} to {max_protocol})"
    )]
    ClientTooOld {
        /// The protocol the client spoke.
        protocol: u32,
        /// The oldest protocol served.
        min_protocol: u32,
        /// The newest protocol served.
        max_protocol: u32,
        /// The first app version that speaks `min_protocol`.
        min_app_version: String,
    },
    /// The client speaks a newer protocol than the server: the server must be upgraded.
    #[error(
        "the server is older than this app: ask your administrator to upgrade the server (the app speaks sync protocol {protocol}; the server serves protocols {min_protocol} to {max_protocol})"
    )]
    ServerTooOld {
        /// The protocol the client spoke.
        protocol: u32,
        /// The oldest protocol served.
        min_protocol: u32,
        /// The newest protocol served.
        max_protocol: u32,
    },
}

/// Whether this build serves `protocol`; the answer to give if not.
pub fn check(protocol: u32) -> Result<(), Unserved> {
    check_within(protocol, MIN_SUPPORTED_PROTOCOL, PROTOCOL_VERSION)
}

/// Whether a server serving `min..=max` serves `protocol` (the rule [`check`] applies to
/// this build's range).
pub fn check_within(protocol: u32, min: u32, max: u32) -> Result<(), Unserved> {
    if protocol < min {
        Err(Unserved::ClientTooOld {
            protocol,
            min_protocol: min,
            max_protocol: max,
            min_app_version: first_release_speaking(min).to_string(),
        })
    } else if protocol > max {
        Err(Unserved::ServerTooOld {
            protocol,
            min_protocol: min,
            max_protocol: max,
        })
    } else {
        Ok(())
    }
}

/// The first app version that speaks `protocol` (the newest known release for a protocol
/// newer than every release listed).
fn first_release_speaking(protocol: u32) -> &'static str {
    PROTOCOL_RELEASES
        .iter()
        .find(|(p, _)| *p >= protocol)
        .or(PROTOCOL_RELEASES.last())
        .map_or("", |(_, version)| version)
}

impl Unserved {
    /// The error code of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            Unserved::ClientTooOld { .. } => CLIENT_TOO_OLD,
            Unserved::ServerTooOld { .. } => SERVER_TOO_OLD,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Unserved::ClientTooOld { .. } => CLIENT_TOO_OLD_STATUS,
            Unserved::ServerTooOld { .. } => SERVER_TOO_OLD_STATUS,
        }
    }

    /// The JSON body of the answer.
    pub fn answer(&self) -> Answer {
        let (protocol, min_protocol, max_protocol, min_app_version) = match self {
            Unserved::ClientTooOld {
                protocol,
                min_protocol,
                max_protocol,
                min_app_version,
            } => (
                *protocol,
                *min_protocol,
                *max_protocol,
                Some(min_app_version.clone()),
            ),
            Unserved::ServerTooOld {
                protocol,
                min_protocol,
                max_protocol,
            } => (*protocol, *min_protocol, *max_protocol, None),
        };
        Answer {
            error: self.code().to_string(),
            message: self.to_string(),
            protocol: Some(protocol),
            min_protocol: Some(min_protocol),
            max_protocol: Some(max_protocol),
            min_app_version,
        }
    }

    /// The refusal an error answer carries, if it is one: by its code, or by status 426
    /// alone (an answer without a body, from a proxy in front of the server).
    pub fn from_answer(status: u16, body: &[u8]) -> Option<Unserved> {
        let answer: Answer = serde_json::from_slice(body).unwrap_or_default();
        let protocol = answer.protocol.unwrap_or(0);
        let min_protocol = answer.min_protocol.unwrap_or(0);
        let max_protocol = answer.max_protocol.unwrap_or(0);
        if answer.error == CLIENT_TOO_OLD
            || (status == CLIENT_TOO_OLD_STATUS && answer.error != SERVER_TOO_OLD)
        {
            Some(Unserved::ClientTooOld {
                protocol,
                min_protocol,
                max_protocol,
                min_app_version: answer.min_app_version.unwrap_or_default(),
            })
        } else if answer.error == SERVER_TOO_OLD {
            Some(Unserved::ServerTooOld {
                protocol,
                min_protocol,
                max_protocol,
            })
        } else {
            None
        }
    }
}

/// The JSON body of a `client_too_old` or `server_too_old` answer: the usual `error` and
/// `message`, and the range the server serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// [`CLIENT_TOO_OLD`] or [`SERVER_TOO_OLD`].
    #[serde(default)]
    pub error: String,
    /// What to do, in English.
    #[serde(default)]
    pub message: String,
    /// The protocol the request spoke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<u32>,
    /// The oldest protocol the server serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_protocol: Option<u32>,
    /// The newest protocol the server serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_protocol: Option<u32>,
    /// The oldest app version the server serves (client too old only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_app_version: Option<String>,
}

/// The `protocol` field of a CBOR sync request, read alone; `None` if the body is not a map
/// with an unsigned `protocol` (the full decode then says what is wrong).
pub fn peek_protocol(body: &[u8]) -> Option<u32> {
    /// Only the protocol; every other field is skipped whatever its shape.
    #[derive(Deserialize)]
    struct Peek {
        protocol: u32,
    }
    ciborium::from_reader::<Peek, _>(body)
        .ok()
        .map(|p| p.protocol)
}

/// The app version a `User-Agent` header names (`fieldsync/0.2.0`, possibly among other
/// products), if it names one in a plausible form. For logs and counts only: a client can
/// send anything, so nothing is decided by it.
pub fn app_version(user_agent: &str) -> Option<&str> {
    let version = user_agent
        .split_whitespace()
        .find_map(|product| product.strip_prefix("fieldsync/"))?;
    let plausible = !version.is_empty()
        && version.len() <= 32
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    plausible.then_some(version)
}

/// The `User-Agent` this build's clients send: `fieldsync/<version>`.
pub const USER_AGENT: &str = concat!("fieldsync/", env!("CARGO_PKG_VERSION"));

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::protocol::{SyncRequest, encode};

    #[test]
    fn the_current_protocol_and_every_one_back_to_the_minimum_are_served() {
        for p in MIN_SUPPORTED_PROTOCOL..=PROTOCOL_VERSION {
            assert_eq!(check(p), Ok(()), "protocol {p}");
        }
        assert_eq!(check_within(2, 2, 3), Ok(()));
        assert_eq!(check_within(3, 2, 3), Ok(()));
    }

    #[test]
    fn an_older_protocol_is_a_client_too_old_told_to_update_the_app() {
        let refused = check(MIN_SUPPORTED_PROTOCOL - 1).unwrap_err();
        assert_eq!(refused.code(), "client_too_old");
        assert_eq!(refused.status(), 426);
        let message = refused.to_string();
        assert!(
            message.contains("update the app to version 0.1.0 or later"),
            "{message}"
        );
        let answer = refused.answer();
        assert_eq!(answer.min_app_version.as_deref(), Some("0.1.0"));
        assert_eq!(answer.min_protocol, Some(MIN_SUPPORTED_PROTOCOL));
        assert_eq!(answer.max_protocol, Some(PROTOCOL_VERSION));
    }

    #[test]
    fn a_newer_protocol_is_a_server_too_old() {
        let refused = check(PROTOCOL_VERSION + 1).unwrap_err();
        assert_eq!(refused.code(), "server_too_old");
        assert_eq!(refused.status(), 400);
        assert!(
            refused
                .to_string()
                .contains("ask your administrator to upgrade the server")
        );
        assert_eq!(refused.answer().min_app_version, None);
    }

    #[test]
    fn a_server_serving_two_protocols_names_the_first_release_of_its_oldest() {
        match check_within(0, 1, 2) {
            Err(Unserved::ClientTooOld {
                min_app_version, ..
            }) => assert_eq!(min_app_version, "0.1.0"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_client_reads_the_answer_back_as_the_same_refusal() {
        for refused in [
            check(MIN_SUPPORTED_PROTOCOL - 1).unwrap_err(),
            check(PROTOCOL_VERSION + 1).unwrap_err(),
        ] {
            let body = serde_json::to_vec(&refused.answer()).unwrap();
            assert_eq!(
                Unserved::from_answer(refused.status(), &body),
                Some(refused)
            );
        }
        // A bare 426 (a proxy's) is still "update the app"; other answers are not refusals.
        assert!(matches!(
            Unserved::from_answer(426, b""),
            Some(Unserved::ClientTooOld { .. })
        ));
        let other = br#"{"error":"bad_request","message":"truncated"}"#;
        assert_eq!(Unserved::from_answer(400, other), None);
    }

    #[test]
    fn the_protocol_is_read_alone_whatever_the_rest_of_the_body() {
        let current = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: 7,
            push: Vec::new(),
        };
        assert_eq!(peek_protocol(&encode(&current)), Some(PROTOCOL_VERSION));
        // A future protocol's fields, which the full decode refuses, do not hide it.
        let mut future = Vec::new();
        ciborium::into_writer(
            &serde_json::json!({"protocol": 9, "cursor": "opaque", "batches": [[1, 2]]}),
            &mut future,
        )
        .unwrap();
        assert_eq!(peek_protocol(&future), Some(9));
        assert_eq!(peek_protocol(b"not cbor"), None);
        let mut unversioned = Vec::new();
        ciborium::into_writer(&serde_json::json!({"cursor": 1}), &mut unversioned).unwrap();
        assert_eq!(peek_protocol(&unversioned), None);
    }

    #[test]
    fn an_answer_with_fields_this_build_does_not_know_is_read() {
        // What a newer server may add to an answer without a new protocol: fields at the top
        // and inside its parts, which this build skips.
        let mut newer = Vec::new();
        ciborium::into_writer(
            &serde_json::json!({
                "protocol": PROTOCOL_VERSION, "accepted": [{"id": "a", "heads": [], "origin": 1}],
                "rejected": [], "documents": [], "revoked": [], "cursor": 9, "more": false,
                "settings": {
                    "complaint_hours": {"urgent": 4, "high": 24, "normal": 72, "low": 168},
                    "team": ["li"],
                    "attachments": {"max_bytes": 1, "media_types": [], "max_count": 3},
                    "currency": "CNY"
                },
                "region": "cn-east"
            }),
            &mut newer,
        )
        .unwrap();
        let answer: crate::protocol::SyncResponse = crate::protocol::decode(&newer).unwrap();
        assert_eq!(answer.cursor, 9);
        assert_eq!(answer.settings.unwrap().team, vec!["li".to_string()]);
    }

    #[test]
    fn the_app_version_is_read_from_the_user_agent_when_plausible() {
        assert_eq!(app_version("fieldsync/0.1.0"), Some("0.1.0"));
        assert_eq!(
            app_version("Dalvik/2.1.0 fieldsync/0.2.0-rc.1 (Android 14)"),
            Some("0.2.0-rc.1")
        );
        assert_eq!(app_version(USER_AGENT), Some(env!("CARGO_PKG_VERSION")));
        assert_eq!(app_version("curl/8.5.0"), None);
        assert_eq!(app_version("fieldsync/"), None);
        assert_eq!(app_version("fieldsync/1.0<script>"), None);
        assert_eq!(app_version(&format!("fieldsync/{}", "9".repeat(40))), None);
    }
}
