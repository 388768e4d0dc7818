//! Scenario 11: the server's read API at the organisation's size, as a manager's browser uses
//! it: the weekly report of each rep of the territory (the team's week) and the follow-ups due,
//! each asked many times over HTTP on loopback with the manager's token; p50 and p99 of the
//! answer time (the whole request, JSON included).

use std::time::{Duration, Instant};

use chrono::{Datelike, Duration as Days};
use fieldsync_core::sync::http::HttpClient;
use fieldsync_tests::workload::{REPS, manager_name, rep_name, territory_of_rep};

use crate::org::{Org, PASSWORD};
use crate::scenarios::REP;
use crate::stats::{Series, Table, ms, percentile};
use crate::{Result, Scale};

/// Times the manager's team week and due follow-ups; one row each for p50 and p99.
pub fn read_api(org: &Org, scale: &Scale, table: &mut Table) -> Result<()> {
    let url = org.server.url();
    let territory = territory_of_rep(REP);
    let manager = manager_name(territory);
    let session = HttpClient::new(&url)?.login(&manager, PASSWORD, "bench browser")?;
    let bearer = format!("Bearer {}", session.access_token);
    let config = org.workload.config();
    // The last full week with visits, and the day after the last visit.
    let week_day = config.last_day() - Days::days(7);
    let week = week_day.iso_week();
    let week = format!("{}-W{:02}", week.year(), week.week());
    let team: Vec<String> = (0..REPS)
        .filter(|r| territory_of_rep(*r) == territory)
        .map(rep_name)
        .collect();
    let get = |path: &str| -> Result<Duration> {
        let started = Instant::now();
        let body = ureq::get(&format!("{url}{path}"))
            .header("Authorization", &bearer)
            .call()?
            .body_mut()
            .read_to_string()?;
        let took = started.elapsed();
        if body.len() < 2 {
            return Err(format!("{path} answered an empty body").into());
        }
        Ok(took)
    };
    let samples = scale.local_samples;
    let (mut week_times, mut followup_times) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        // The whole team's week: one report a rep, as the console's team page asks them.
        let started = Instant::now();
        for rep in &team {
            get(&format!("/v1/reports/week?rep={rep}&week={week}"))?;
        }
        week_times.push(started.elapsed());
        followup_times.push(get(&format!("/v1/followups?date={}", config.today()))?);
    }
    let name = format!(
        "11 read API: manager, {} reps, {samples} samples",
        team.len()
    );
    for (what, times) in [
        (format!("team week ({week})"), &mut week_times),
        ("due follow-ups".to_string(), &mut followup_times),
    ] {
        for (p, label) in [(0.5, "p50"), (0.99, "p99")] {
            let mut s = Series::default();
            s.push(ms(percentile(times, p)));
            table.add(
                &name,
                "fieldsync",
                &format!("{what} {label}"),
                "ms",
                s,
                None,
            );
        }
    }
    Ok(())
}
