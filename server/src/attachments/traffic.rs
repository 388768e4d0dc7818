//! The uploads streaming into the server now, so that work which can wait (a thumbnail made
//! in the background) waits for a quiet moment instead of taking the cores an upload needs.
//!
//! A rep back from a trip sends a hundred photos one after another; decoding each for its
//! thumbnail as it lands took both cores of a small server from the uploads (BENCHMARKS.md,
//! tenth round). Thumbnails are for the manager's lists later: they are made once the uploads
//! pause, or after [`MOST_WAIT`] however busy the server is.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// How long no upload must have streamed for the server to be quiet.
pub const QUIET: Duration = Duration::from_millis(250);

/// The longest background work waits for a quiet moment.
pub const MOST_WAIT: Duration = Duration::from_secs(30);

/// Uploads streaming now, and when the last one ended.
#[derive(Debug)]
pub struct UploadTraffic(Mutex<Counted>);

#[derive(Debug)]
struct Counted {
    streaming: usize,
    last_ended: Instant,
}

impl Default for UploadTraffic {
    fn default() -> Self {
        UploadTraffic(Mutex::new(Counted {
            streaming: 0,
            last_ended: Instant::now() - QUIET,
        }))
    }
}

/// An upload streaming in: counted until dropped.
#[derive(Debug)]
pub struct Streaming<'a>(&'a UploadTraffic);

impl Drop for Streaming<'_> {
    fn drop(&mut self) {
        let mut counted = self.0.counted();
        counted.streaming -= 1;
        counted.last_ended = Instant::now();
    }
}

impl UploadTraffic {
    fn counted(&self) -> MutexGuard<'_, Counted> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts an upload as streaming until the guard is dropped.
    pub fn streaming(&self) -> Streaming<'_> {
        self.counted().streaming += 1;
        Streaming(self)
    }

    /// Whether no upload streams now, nor did for [`QUIET`].
    pub fn is_quiet(&self) -> bool {
        let counted = self.counted();
        counted.streaming == 0 && counted.last_ended.elapsed() >= QUIET
    }

    /// Waits until the server is quiet, or until `deadline`.
    pub async fn until_quiet(&self, deadline: Instant) {
        while !self.is_quiet() && Instant::now() < deadline {
            tokio::time::sleep_until(deadline.min(Instant::now() + QUIET)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn background_work_waits_for_the_uploads_to_pause_but_not_forever() {
        let traffic = UploadTraffic::default();
        assert!(traffic.is_quiet(), "no upload yet");

        let upload = traffic.streaming();
        assert!(!traffic.is_quiet());
        let started = Instant::now();
        let waited = async {
            traffic.until_quiet(started + MOST_WAIT).await;
            started.elapsed()
        };
        let ends = async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(upload);
        };
        let (waited, ()) = tokio::join!(waited, ends);
        assert!(
            waited >= Duration::from_secs(2) + QUIET,
            "it waited for the upload's end and a quiet moment: {waited:?}"
        );
        assert!(waited < Duration::from_secs(3), "{waited:?}");

        // An upload that never ends holds it back only until the deadline.
        let _endless = traffic.streaming();
        let started = Instant::now();
        traffic.until_quiet(started + MOST_WAIT).await;
        assert_eq!(started.elapsed(), MOST_WAIT);
    }
}
