//! The server's event stream (`GET /v1/events`) as a device reads it: one event each time
//! something changed in the device's scope, and a heartbeat while nothing does.
//!
//! The stream carries no data to merge: an event only says "sync now". The heartbeat, whose
//! interval the device asks for, lets a reader blocked on the stream wake up regularly (to
//! stop when asked) and notice a connection that died without closing.

use std::io::{BufRead, BufReader, Read};
use std::time::Duration;

use super::SyncError;

/// The longest line of the stream read; a longer one ends the stream as broken.
const MAX_LINE: u64 = 64 * 1024;

/// What the stream said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEvent {
    /// Something in the device's scope changed: sync.
    Changed,
    /// Nothing happened for a heartbeat's interval (or an event this version does not know
    /// arrived): the connection is alive.
    Heartbeat,
}

/// An open event stream.
pub struct EventStream {
    lines: BufReader<Box<dyn Read + Send>>,
    heartbeat: Duration,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("heartbeat", &self.heartbeat)
            .finish()
    }
}

impl EventStream {
    /// A stream reading `body`, whose server was asked for a heartbeat every `heartbeat`.
    pub fn new(body: Box<dyn Read + Send>, heartbeat: Duration) -> EventStream {
        EventStream {
            lines: BufReader::new(body),
            heartbeat,
        }
    }

    /// The heartbeat interval the server was asked for.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// Blocks until the next event or heartbeat; `None` when the server ended the stream (its
    /// token expired, its session closed, the server is stopping): connect again.
    pub fn next_event(&mut self) -> Result<Option<ServerEvent>, SyncError> {
        let mut kind = String::new();
        let mut has_data = false;
        loop {
            let mut line = String::new();
            let read = (&mut self.lines)
                .take(MAX_LINE)
                .read_line(&mut line)
                .map_err(|e| SyncError::Network(format!("the event stream broke: {e}")))?;
            if read == 0 {
                return Ok(None);
            }
            if !line.ends_with('\n') {
                if read as u64 == MAX_LINE {
                    return Err(SyncError::Protocol(
                        "the event stream sent a line longer than 64 KiB".into(),
                    ));
                }
                // The last line, cut off: the stream has ended.
                return Ok(None);
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                // The end of an event.
                if kind.is_empty() && !has_data {
                    continue;
                }
                return Ok(Some(match kind.as_str() {
                    "changed" | "" => ServerEvent::Changed,
                    _ => ServerEvent::Heartbeat,
                }));
            }
            if line.starts_with(':') {
                // A comment: the server's heartbeat.
                return Ok(Some(ServerEvent::Heartbeat));
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => kind = value.to_string(),
                "data" => has_data = true,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn stream(text: &str) -> EventStream {
        EventStream::new(
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn events_heartbeats_and_the_end_are_told_apart() {
        let mut s = stream(
            "event: changed\ndata: {\"seq\":4}\n\n:\n\nevent: renamed\ndata: x\n\ndata: {}\n\nevent: changed\ndata: {}",
        );
        assert_eq!(s.next_event().unwrap(), Some(ServerEvent::Changed));
        assert_eq!(s.next_event().unwrap(), Some(ServerEvent::Heartbeat));
        // An event this version does not know only says the connection is alive.
        assert_eq!(s.next_event().unwrap(), Some(ServerEvent::Heartbeat));
        // A plain message counts as a change.
        assert_eq!(s.next_event().unwrap(), Some(ServerEvent::Changed));
        // An event cut off by the end of the stream is not delivered.
        assert_eq!(s.next_event().unwrap(), None);
    }

    #[test]
    fn a_line_without_end_is_refused() {
        let long = "data: ".to_string() + &"x".repeat(70 * 1024) + "\n\n";
        assert!(matches!(
            stream(&long).next_event(),
            Err(SyncError::Protocol(_))
        ));
    }
}
