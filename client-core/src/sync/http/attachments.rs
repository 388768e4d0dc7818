//! The attachment endpoints over HTTP ([`AttachmentTransport`] for [`HttpClient`]): the upload
//! offset, the parts of an upload streamed from the blob file, downloads with a range, and
//! thumbnails.
//!
//! It lives beside the sync rounds so the session is one: the same bearer token, and the same
//! refresh on `401 token_expired` ([`HttpClient::refresh`]), once per request. A `GET` is sent
//! again with the fresh token; a `PUT`, whose body is a stream already partly read, is not:
//! its token is renewed and it ends as a cut connection, which the upload resumes from the
//! server's offset. A `PUT` asks `Expect: 100-continue`, so a refusal the server decides before
//! reading the body (too large, a type it does not take) arrives as its answer. Transfers use
//! their own agent, whose timeouts bound each stalled read or write rather than the whole
//! transfer.

use std::io::Read;

use serde::Deserialize;
use ureq::http::Response;
use ureq::{Agent, Body, SendBody};

use super::{HttpClient, answer_error, error_code, is_success, read_answer};
use crate::attachments::{AttachmentTransport, Download, UploadAnswer, UploadStatus};
use crate::sync::SyncError;

/// The largest thumbnail read (the server's are at most 320 pixels a side).
const MAX_THUMBNAIL_BYTES: u64 = 2 << 20;

/// `{"id", "size", "received", "complete"}`, and the `received` of other answers.
#[derive(Deserialize)]
struct Held {
    #[serde(default)]
    size: u64,
    #[serde(default)]
    received: u64,
    #[serde(default)]
    complete: bool,
}

fn held(body: &[u8], what: &str) -> Result<Held, SyncError> {
    serde_json::from_slice(body)
        .map_err(|e| SyncError::Protocol(format!("the answer to {what} is not understood: {e}")))
}

/// A header's value as text.
fn header<'r>(response: &'r Response<Body>, name: &str) -> Option<&'r str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `bytes START-END/TOTAL` → (START, TOTAL).
fn content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, _) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()?))
}

impl HttpClient<'_> {
    /// A `GET` of `path` with the access token (and `range`), sent again once with a refreshed
    /// token after `401 token_expired`. The answer whatever its status.
    fn transfer_get(
        &mut self,
        path: &str,
        range: Option<&str>,
    ) -> Result<Response<Body>, SyncError> {
        let url = format!("{}{path}", self.base);
        let send = |agent: &Agent, token: &str| {
            let mut request = agent
                .get(&url)
                .header("authorization", format!("Bearer {token}"));
            if let Some(range) = range {
                request = request.header("range", range);
            }
            request.call()
        };
        let token = self.current()?.access_token.clone();
        let mut response = send(&self.transfer, &token).map_err(|e| self.network(e))?;
        if response.status().as_u16() == 401 {
            let answer = read_answer(&mut response).map_err(|e| self.network(e))?;
            if error_code(&answer).as_deref() != Some("token_expired") {
                return Err(answer_error(401, &answer));
            }
            let token = self.refresh()?.access_token;
            response = send(&self.transfer, &token).map_err(|e| self.network(e))?;
        }
        Ok(response)
    }

    /// The error of a non-2xx answer, its body read.
    fn failed_answer(&self, mut response: Response<Body>) -> SyncError {
        let status = response.status().as_u16();
        match read_answer(&mut response) {
            Ok(answer) => answer_error(status, &answer),
            Err(e) => self.network(e),
        }
    }
}

impl AttachmentTransport for HttpClient<'_> {
    fn upload_status(&mut self, id: &str) -> Result<UploadStatus, SyncError> {
        let mut response = self.transfer_get(&format!("/v1/attachments/{id}/upload"), None)?;
        if !is_success(response.status().as_u16()) {
            return Err(self.failed_answer(response));
        }
        let answer = read_answer(&mut response).map_err(|e| self.network(e))?;
        let held = held(&answer, "an upload's offset")?;
        Ok(UploadStatus {
            size: held.size,
            received: held.received,
            complete: held.complete,
        })
    }

    fn upload(
        &mut self,
        id: &str,
        media_type: &str,
        start: u64,
        total: u64,
        body: &mut dyn Read,
    ) -> Result<UploadAnswer, SyncError> {
        let token = self.current()?.access_token.clone();
        let url = format!("{}/v1/attachments/{id}", self.base);
        let mut response = self
            .transfer
            .put(&url)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", media_type)
            .header(
                "content-range",
                format!("bytes {start}-{}/{total}", total.saturating_sub(1)),
            )
            .header("content-length", total.saturating_sub(start).to_string())
            // A refusal decided before the body is read (too large, a type the server does not
            // take) then arrives as an answer, not as a connection the server closed under a
            // body it will not read.
            .header("expect", "100-continue")
            .send(SendBody::from_reader(body))
            .map_err(|e| self.network(e))?;
        let status = response.status().as_u16();
        let answer = read_answer(&mut response).map_err(|e| self.network(e))?;
        let code = error_code(&answer);
        match status {
            200 => Ok(UploadAnswer::Kept {
                received: held(&answer, "a part of an upload")?.received,
            }),
            201 => Ok(UploadAnswer::Complete),
            409 if code.as_deref() == Some("upload_offset") => Ok(UploadAnswer::WrongOffset {
                received: held(&answer, "a part of an upload")?.received,
            }),
            401 if code.as_deref() == Some("token_expired") => {
                self.refresh()?;
                Err(SyncError::Network(
                    "the access token expired during an upload; it was renewed and the upload resumes"
                        .into(),
                ))
            }
            _ => Err(answer_error(status, &answer)),
        }
    }

    fn download(&mut self, id: &str, from: u64) -> Result<Download<'_>, SyncError> {
        let range = (from > 0).then(|| format!("bytes={from}-"));
        let response = self.transfer_get(&format!("/v1/attachments/{id}"), range.as_deref())?;
        let status = response.status().as_u16();
        let (start, total) = match status {
            200 => {
                let length = header(&response, "content-length").and_then(|v| v.parse().ok());
                (0, length)
            }
            206 => match header(&response, "content-range").and_then(content_range) {
                Some((start, total)) => (start, Some(total)),
                None => (0, None),
            },
            _ => return Err(self.failed_answer(response)),
        };
        let total = total.ok_or_else(|| {
            SyncError::Protocol(format!(
                "the server sent attachment {id} without saying its size"
            ))
        })?;
        let body = response.into_body().into_with_config().reader();
        Ok(Download {
            start,
            total,
            body: Box::new(body),
        })
    }

    fn thumbnail(&mut self, id: &str) -> Result<Vec<u8>, SyncError> {
        let mut response = self.transfer_get(&format!("/v1/attachments/{id}/thumbnail"), None)?;
        if !is_success(response.status().as_u16()) {
            return Err(self.failed_answer(response));
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_THUMBNAIL_BYTES)
            .read_to_vec()
            .map_err(|e| self.network(e))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    use super::*;
    use crate::Store;
    use crate::sync::http::{User, pretend_logged_in};

    #[test]
    fn a_content_range_gives_its_start_and_total() {
        assert_eq!(content_range("bytes 100-199/200"), Some((100, 200)));
        assert_eq!(content_range("bytes 0-0/1"), Some((0, 1)));
        assert_eq!(content_range("bytes */200"), None);
        assert_eq!(content_range("items 1-2/3"), None);
    }

    /// A request the loopback server received: method, path, headers (lower-case names), body.
    struct Seen {
        line: String,
        headers: HashMap<String, String>,
        body: Vec<u8>,
    }

    /// An answer: status, extra headers, body.
    type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

    fn json(status: u16, body: serde_json::Value) -> Answer {
        (
            status,
            vec![("content-type", "application/json".into())],
            body.to_string().into_bytes(),
        )
    }

    /// A socket on 127.0.0.1 answering one connection per answer, in order.
    fn serve(answers: Vec<Answer>) -> (String, JoinHandle<Vec<Seen>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, headers, body) in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut got = HashMap::new();
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    let (name, value) = header.split_once(':').unwrap();
                    got.insert(name.to_ascii_lowercase(), value.trim().to_string());
                }
                if got.get("expect").is_some_and(|e| e == "100-continue") {
                    reader
                        .get_mut()
                        .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                        .unwrap();
                }
                let length = got.get("content-length").map_or(0, |l| l.parse().unwrap());
                let mut sent = vec![0; length];
                reader.read_exact(&mut sent).unwrap();
                seen.push(Seen {
                    line: line.trim_end().to_string(),
                    headers: got,
                    body: sent,
                });
                let mut stream = reader.into_inner();
                let mut head = format!(
                    "HTTP/1.1 {status} Canned\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
            }
            seen
        });
        (url, handle)
    }

    #[test]
    fn attachments_travel_with_the_sessions_token_and_the_protocols_headers() {
        let id = "ab".repeat(32);
        let bytes = b"0123456789".to_vec();
        let token = |n: u32| {
            json(
                200,
                serde_json::json!({
                    "access_token": format!("access-{n}"),
                    "refresh_token": format!("refresh-{n}"),
                    "expires_in": 900,
                    "user": {"username": "li.wei", "role": "rep"},
                }),
            )
        };
        let (url, server) = serve(vec![
            json(
                401,
                serde_json::json!({"error": "token_expired", "message": "expired"}),
            ),
            token(2),
            json(
                200,
                serde_json::json!({"id": id, "size": 10, "received": 4, "complete": false}),
            ),
            json(
                409,
                serde_json::json!({"error": "upload_offset", "message": "from 6", "received": 6}),
            ),
            json(
                201,
                serde_json::json!({"id": id, "received": 10, "complete": true}),
            ),
            (
                206,
                vec![("content-range", "bytes 3-9/10".into())],
                bytes[3..].to_vec(),
            ),
            json(
                404,
                serde_json::json!({"error": "no_thumbnail", "message": "none"}),
            ),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.db")).unwrap();
        pretend_logged_in(
            &store,
            &url,
            User {
                username: "li.wei".into(),
                role: "rep".into(),
                territories: vec![],
                manager: None,
            },
        );
        let mut http = HttpClient::from_store(&store).unwrap();

        let status = http.upload_status(&id).unwrap();
        assert_eq!(
            status,
            UploadStatus {
                size: 10,
                received: 4,
                complete: false
            }
        );
        let moved = http
            .upload(&id, "image/jpeg", 4, 10, &mut &bytes[4..])
            .unwrap();
        assert_eq!(moved, UploadAnswer::WrongOffset { received: 6 });
        let done = http
            .upload(&id, "image/jpeg", 6, 10, &mut &bytes[6..])
            .unwrap();
        assert_eq!(done, UploadAnswer::Complete);
        let mut download = http.download(&id, 3).unwrap();
        assert_eq!((download.start, download.total), (3, 10));
        let mut got = Vec::new();
        download.body.read_to_end(&mut got).unwrap();
        drop(download);
        assert_eq!(got, bytes[3..]);
        let none = http.thumbnail(&id).unwrap_err();
        assert!(
            matches!(&none, SyncError::Server { status: 404, code, .. } if code == "no_thumbnail"),
            "{none:?}"
        );

        let seen = server.join().unwrap();
        let lines: Vec<&str> = seen.iter().map(|s| s.line.as_str()).collect();
        let at = |what: &str| format!("{what} HTTP/1.1");
        assert_eq!(
            lines,
            [
                at(&format!("GET /v1/attachments/{id}/upload")),
                at("POST /v1/auth/refresh"),
                at(&format!("GET /v1/attachments/{id}/upload")),
                at(&format!("PUT /v1/attachments/{id}")),
                at(&format!("PUT /v1/attachments/{id}")),
                at(&format!("GET /v1/attachments/{id}")),
                at(&format!("GET /v1/attachments/{id}/thumbnail")),
            ]
        );
        // The refreshed token from then on.
        assert_eq!(seen[0].headers["authorization"], "Bearer access");
        for s in &seen[2..] {
            assert_eq!(s.headers["authorization"], "Bearer access-2");
        }
        let put = &seen[3];
        assert_eq!(put.headers["content-type"], "image/jpeg");
        assert_eq!(put.headers["content-range"], "bytes 4-9/10");
        assert_eq!(put.headers["expect"], "100-continue");
        assert_eq!(put.body, b"456789");
        assert_eq!(seen[4].headers["content-range"], "bytes 6-9/10");
        assert_eq!(seen[4].body, b"6789");
        assert_eq!(seen[5].headers["range"], "bytes=3-");
        assert!(!seen[2].headers.contains_key("range"));
    }

    #[test]
    fn a_sync_uploads_the_pending_attachments_of_the_documents_it_pushed_telling_progress() {
        use crate::attachments::tests::jpeg;
        use crate::client::{Client, CustomerInput, VisitInput};
        use crate::protocol::{Accepted, PROTOCOL_VERSION, SyncResponse, encode};

        let dir = tempfile::tempdir().unwrap();
        let client = Client::open_in(dir.path(), "phone").unwrap();
        // Logged in first (to write), and to the server that answers once it runs.
        let url = "http://127.0.0.1:9";
        client
            .read(|store| {
                pretend_logged_in(
                    store,
                    url,
                    User {
                        username: "li.wei".into(),
                        role: "rep".into(),
                        territories: vec!["east".into()],
                        manager: None,
                    },
                );
                Ok(())
            })
            .unwrap();
        let customer = client
            .create_customer(CustomerInput {
                name: "华东精密".into(),
                ..Default::default()
            })
            .unwrap();
        let visit = client
            .record_visit(VisitInput {
                customer: customer.clone(),
                summary: "看了货架".into(),
                ..Default::default()
            })
            .unwrap();
        let bytes = jpeg(300_000, 9);
        let file = dir.path().join("shelf.jpg");
        std::fs::write(&file, &bytes).unwrap();
        let photo = client.attach_to_visit(&visit, &file, true).unwrap();

        let accepted = SyncResponse {
            protocol: PROTOCOL_VERSION,
            accepted: [&customer, &visit]
                .iter()
                .map(|id| Accepted {
                    id: id.to_string(),
                    heads: vec![],
                })
                .collect(),
            rejected: vec![],
            documents: vec![],
            revoked: vec![],
            cursor: 1,
            more: false,
            settings: None,
            history: None,
            forked_from: None,
        };
        let (url2, server) = serve(vec![
            (
                200,
                vec![("content-type", crate::protocol::CBOR_CONTENT_TYPE.into())],
                encode(&accepted),
            ),
            json(
                201,
                serde_json::json!({"id": photo.id, "received": bytes.len(), "complete": true}),
            ),
        ]);
        client
            .read(|store| {
                pretend_logged_in(
                    store,
                    &url2,
                    User {
                        username: "li.wei".into(),
                        role: "rep".into(),
                        territories: vec!["east".into()],
                        manager: None,
                    },
                );
                Ok(())
            })
            .unwrap();
        let mut told = Vec::new();
        let report = client.sync(|p| told.push(p)).unwrap();
        let seen = server.join().unwrap();

        assert_eq!(report.pushed, 2);
        assert_eq!(report.attachments.uploaded, 1);
        assert_eq!(report.attachments.bytes_sent, bytes.len() as u64);
        assert_eq!(report.attachments.pending, 0);
        // The upload went without asking first: a whole file sent once.
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[1].body, bytes);
        assert_eq!(
            seen[1].headers["content-range"],
            format!("bytes 0-{}/{}", bytes.len() - 1, bytes.len())
        );
        assert!(told[0].attachment.is_none(), "a round first");
        let last = told.last().unwrap().attachment.clone().unwrap();
        assert_eq!(
            (last.done, last.size),
            (bytes.len() as u64, bytes.len() as u64)
        );
        assert_eq!(client.status().unwrap().attachments_pending, 0);
        let listed = client.attachments(false).unwrap();
        assert_eq!(
            listed[0].state,
            crate::attachments::AttachmentState::Uploaded
        );
    }
}
