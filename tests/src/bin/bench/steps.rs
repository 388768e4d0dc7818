//! Where a timed sync's time goes: the device's own steps ([`SyncTimings`], merging step by
//! step) beside the server's time handling the same rounds (the sum of its
//! `fieldsync_sync_duration_seconds` histogram, read from `/metrics` before and after). The
//! exchange minus the server's time is the network's and the HTTP layers'.

use fieldsync_core::sync::{SyncReport, SyncTimings};
use fieldsync_tests::server::{metric, metrics_page};

use crate::Result;
use crate::stats::{Series, Table};

/// The server's time handling sync rounds so far, in milliseconds, summed over `urls`.
pub fn server_sync_ms(urls: &[String]) -> Result<f64> {
    let mut total = 0.0;
    for url in urls {
        let page = metrics_page(url)?;
        total += metric(&page, "fieldsync_sync_duration_seconds_sum")
            .ok_or("/metrics has no fieldsync_sync_duration_seconds_sum")?;
    }
    Ok(total * 1000.0)
}

/// Milliseconds of `us` microseconds.
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The steps of several runs of one sync, a series each.
#[derive(Default)]
pub struct StepSeries {
    /// Each run's timings, the server's milliseconds and the sync's.
    runs: Vec<(SyncTimings, f64, f64)>,
}

impl StepSeries {
    /// Adds one run: the sync's report and the server's milliseconds.
    pub fn push(&mut self, report: &SyncReport, server_ms: f64) {
        self.runs
            .push((report.timings, server_ms, report.millis as f64));
    }

    /// Adds one row a step to `table`, under scenario `name`.
    pub fn add_to(&self, table: &mut Table, name: &str) {
        let series = |f: &dyn Fn(&SyncTimings, f64) -> f64| {
            let mut s = Series::default();
            for (t, server, _) in &self.runs {
                s.push(f(t, *server));
            }
            s
        };
        type Step<'a> = (&'a str, &'a dyn Fn(&SyncTimings, f64) -> f64);
        let steps: [Step<'_>; 13] = [
            ("step: prepare the request", &|t, _| ms(t.prepare_us)),
            ("step: exchange (server + network)", &|t, _| {
                ms(t.exchange_us)
            }),
            ("  of which the server", &|_, server| server),
            ("step: decode the answer", &|t, _| ms(t.decode_us)),
            ("step: acknowledge the pushes", &|t, _| ms(t.acknowledge_us)),
            ("step: merge: read stored copy", &|t, _| ms(t.merge.read_us)),
            ("step: merge: load (Automerge)", &|t, _| ms(t.merge.load_us)),
            ("step: merge: validate (schema)", &|t, _| {
                ms(t.merge.validate_us)
            }),
            ("step: merge: write document", &|t, _| ms(t.merge.write_us)),
            ("step: merge: project (rows, search)", &|t, _| {
                ms(t.merge.project_us)
            }),
            ("step: merge: commit", &|t, _| ms(t.merge.commit_us)),
            // The merge steps above are work, on whichever thread it ran: a large page is
            // loaded and validated on worker threads while the store's thread writes.
            ("step: merge: elapsed (its steps overlap)", &|t, _| {
                ms(t.merge.elapsed_us)
            }),
            ("step: the rest (cursor, counts)", &|t, _| ms(t.finish_us)),
        ];
        for (measure, f) in steps {
            table.add(name, "fieldsync", measure, "ms", series(f), None);
        }
        let mut outside = Series::default();
        for (t, _, millis) in &self.runs {
            outside.push(millis - ms(t.total_us()));
        }
        table.add(
            name,
            "fieldsync",
            "outside the steps (last sync time)",
            "ms",
            outside,
            None,
        );
    }
}
