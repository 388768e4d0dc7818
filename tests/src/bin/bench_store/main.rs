//! Store benchmark: fills a fresh store with a generated sales organisation, then times the
//! operations apps run on a device and prints min / p50 / p99 / max of each, next to its target.
//!
//! ```sh
//! cargo run --release -p tests --bin bench_store                 # 10,000 / 50,000
//! cargo run --release -p tests --bin bench_store -- --scale small # 1,000 / 5,000
//! cargo run --release -p tests --bin bench_store -- --customers 50000 --visits 200000
//! ```
//!
//! It prints figures and says whether each p50 meets its target; it never fails because of a
//! slow figure (only if the store itself returns an error).

mod report;

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use chrono::Duration as Days;
use fieldsync_core::Store;
use fieldsync_core::model::customer::{CustomerEdit, Tier};
use fieldsync_core::model::visit::NewVisit;
use fieldsync_core::store::{CustomerQuery, Durability, PlanQuery, StoreOptions};
use fieldsync_tests::workload::{
    REPS, Workload, WorkloadConfig, manager_name, rep_name, territories,
};
use tempfile::TempDir;

use report::{NO_TARGET, Report, fmt_bytes, fmt_count, per_second, store_size, under_ms};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const USAGE: &str = "usage: bench_store [--scale small|default] [--customers N] [--visits N]
                   [--seed N] [--repeat N] [--dir PATH] [--keep]

  --scale small    1,000 customers and 5,000 visits (default: 10,000 and 50,000)
  --customers N    number of customers (overrides --scale)
  --visits N       number of visits (overrides --scale)
  --seed N         workload seed (default 2026)
  --repeat N       timed repetitions of each read and edit (default 300; visit writes: at least 500)
  --dir PATH       create the store's temporary directory under PATH (default: the system's)
  --keep           keep the store file and print its path, e.g. for EXPLAIN QUERY PLAN";

/// Command-line options.
struct Args {
    customers: usize,
    visits: usize,
    seed: u64,
    repeat: usize,
    dir: Option<PathBuf>,
    keep: bool,
}

fn parse_args() -> Result<Args> {
    let mut scale = (10_000, 50_000);
    let (mut customers, mut visits) = (None, None);
    let mut args = Args {
        customers: 0,
        visits: 0,
        seed: WorkloadConfig::default().seed,
        repeat: 300,
        dir: None,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))
        };
        match flag.as_str() {
            "--scale" => {
                scale = match value()?.as_str() {
                    "small" => (1_000, 5_000),
                    "default" => (10_000, 50_000),
                    other => return Err(format!("unknown scale '{other}'\n\n{USAGE}").into()),
                }
            }
            "--customers" => customers = Some(value()?.parse()?),
            "--visits" => visits = Some(value()?.parse()?),
            "--seed" => args.seed = value()?.parse()?,
            "--repeat" => args.repeat = value()?.parse::<usize>()?.max(1),
            "--dir" => args.dir = Some(PathBuf::from(value()?)),
            "--keep" => args.keep = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument '{other}'\n\n{USAGE}").into()),
        }
    }
    args.customers = customers.unwrap_or(scale.0);
    args.visits = visits.unwrap_or(scale.1);
    if args.customers == 0 {
        return Err("the benchmark needs at least one customer".into());
    }
    Ok(args)
}

/// The filled store and what the measurements need to know about its content.
struct Bench {
    config: WorkloadConfig,
    workload: Workload,
    /// Keeps the store's directory alive.
    dir: TempDir,
    path: PathBuf,
    /// `customer_ids[i]` is the id of the workload's customer `i`.
    customer_ids: Vec<String>,
    /// Visits generated for each customer.
    visit_count: Vec<u32>,
    /// Timed repetitions of each read and edit.
    repeat: usize,
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let keep = args.keep;
    let bench = fill(args)?;
    let mut report = Report::default();

    creating_visits(&bench, &mut report)?;
    {
        let store = Store::open(&bench.path)?;
        customer_lists(&bench, &store, &mut report)?;
        search(&bench, &store, &mut report)?;
        visit_lists(&bench, &store, &mut report)?;
        due_followups(&bench, &store, &mut report)?;
        plans_and_claims(&bench, &store, &mut report)?;
    }
    editing_customers(&bench, &mut report)?;

    report.summary();
    if keep {
        let kept = bench.dir.keep();
        println!("\nstore kept at {}", kept.join("device.db").display());
    }
    Ok(())
}

/// Prints what is measured where, then creates the store and fills it, one transaction per
/// document as an app would, and prints how long that took and how big the file is.
fn fill(args: Args) -> Result<Bench> {
    let config = WorkloadConfig {
        seed: args.seed,
        ..WorkloadConfig::sized(args.customers, args.visits)
    };
    let mut dir = tempfile::Builder::new();
    dir.prefix("bench_store");
    let dir = match &args.dir {
        Some(parent) => dir.tempdir_in(parent)?,
        None => dir.tempdir()?,
    };
    let path = dir.path().join("device.db");

    println!("fieldsync store benchmark");
    if cfg!(debug_assertions) {
        println!("  WARNING: debug build; run with --release for figures worth comparing");
    }
    println!(
        "  workload: seed {}, {} customers, {} visits from {} to {}, {} trip plans, {} expense claims",
        config.seed,
        fmt_count(config.customers),
        fmt_count(config.visits),
        config.first_day,
        config.last_day(),
        config.trip_plans,
        config.expense_claims
    );
    println!("  store: {}", path.display());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    // Other work on the machine shows in the tails (p99, max); Linux only, best effort.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .map_or_else(String::new, |l| format!(", load average {l} at start"));
    println!("  machine: {cpus} CPUs{load}");

    let workload = Workload::new(config.clone());
    let store = Store::open_with(
        &path,
        StoreOptions {
            durability: Durability::Normal,
            ..StoreOptions::default()
        },
    )?;
    store.set_author("bench")?;
    let started = Instant::now();
    let mut customer_ids = Vec::with_capacity(config.customers);
    for c in workload.customers() {
        customer_ids.push(store.create_customer(c)?);
    }
    let customers_took = started.elapsed();
    let started = Instant::now();
    let mut visit_count = vec![0u32; config.customers];
    for v in workload.visits() {
        visit_count[v.customer] += 1;
        let id = &customer_ids[v.customer];
        store.create_visit(v.with_customer_id(id))?;
    }
    let visits_took = started.elapsed();
    let started = Instant::now();
    let trip_ids = workload.populate_trip_plans(&store, &customer_ids)?;
    workload.populate_expense_claims(&store, &trip_ids)?;
    let plans_took = started.elapsed();
    drop(store);

    let size = store_size(&path);
    let documents = config.customers + config.visits + config.trip_plans + config.expense_claims;
    println!("\nFill (one transaction per document, Durability::Normal)");
    println!(
        "  {} customers in {:.2} s ({}), {} visits in {:.2} s ({})",
        fmt_count(config.customers),
        customers_took.as_secs_f64(),
        per_second(config.customers, customers_took),
        fmt_count(config.visits),
        visits_took.as_secs_f64(),
        per_second(config.visits, visits_took),
    );
    println!(
        "  {} trip plans and {} expense claims, created and brought to their status, in {:.2} s",
        config.trip_plans,
        config.expense_claims,
        plans_took.as_secs_f64()
    );
    println!(
        "  total {:.2} s; file size {} ({} documents, {:.0} bytes per document)",
        (customers_took + visits_took + plans_took).as_secs_f64(),
        fmt_bytes(size),
        fmt_count(documents),
        size as f64 / documents.max(1) as f64
    );
    Ok(Bench {
        config,
        workload,
        dir,
        path,
        customer_ids,
        visit_count,
        repeat: args.repeat,
    })
}

/// a) Creating a visit, with each durability, and what one flush of this disk costs.
fn creating_visits(b: &Bench, report: &mut Report) -> Result<()> {
    Report::header("a) Creating a visit (document + projections + follow-up refresh + commit)");
    let writes = b.repeat.max(500);
    for (label, durability) in [("Full", Durability::Full), ("Normal", Durability::Normal)] {
        let store = Store::open_with(
            &b.path,
            StoreOptions {
                durability,
                ..StoreOptions::default()
            },
        )?;
        // The visits are generated before the clock starts; only the store call is timed.
        let mut prepared: Vec<Option<NewVisit>> = (0..writes + 10)
            .map(|k| {
                let v = b.workload.visit((k * 7_919) % b.config.visits.max(1));
                let id = &b.customer_ids[v.customer];
                Some(v.with_customer_id(id))
            })
            .collect();
        let mut next = 0;
        report.measure(
            format!("create visit, Durability::{label}"),
            writes,
            under_ms(1),
            |_| {
                let v = prepared[next].take().ok_or("ran out of prepared visits")?;
                next += 1;
                store.create_visit(v)?;
                Ok(1)
            },
        )?;
    }

    // One flush of this disk, to read the Durability::Full figures against: it varies from
    // machine to machine far more than the store's own work does.
    let probe_path = b.dir.path().join("fsync-probe");
    let mut probe = std::fs::File::create(&probe_path)?;
    probe.set_len(64 * 4096)?;
    probe.sync_all()?;
    let block = [0x5au8; 4096];
    report.measure(
        "baseline: 4 KiB write + fdatasync, same disk",
        writes.min(200),
        NO_TARGET,
        |i| {
            use std::io::{Seek, SeekFrom, Write};
            probe.seek(SeekFrom::Start((i % 64) as u64 * 4096))?;
            probe.write_all(&block)?;
            probe.sync_data()?;
            Ok(1)
        },
    )?;
    drop(probe);
    std::fs::remove_file(&probe_path)?;
    Ok(())
}

/// b) One page of the customer list, unfiltered and by each filter an app offers.
fn customer_lists(b: &Bench, store: &Store, report: &mut Report) -> Result<()> {
    Report::header("b) Customer list, one page of 50, ordered by name");
    let n = b.repeat;
    let page = |q: CustomerQuery| -> Result<usize> { Ok(store.list_customers(&q)?.len()) };
    report.measure("unfiltered (pages 1-10)", n, under_ms(10), |i| {
        page(CustomerQuery {
            offset: Some((i % 10) as u32 * 50),
            ..CustomerQuery::default()
        })
    })?;
    report.measure("by territory (10 territories)", n, under_ms(10), |i| {
        page(CustomerQuery {
            territory: Some(territories()[i % territories().len()].to_string()),
            ..CustomerQuery::default()
        })
    })?;
    report.measure("by owner (50 reps)", n, under_ms(10), |i| {
        page(CustomerQuery {
            owner: Some(rep_name(i % REPS)),
            ..CustomerQuery::default()
        })
    })?;
    report.measure("by tier (A-D)", n, under_ms(10), |i| {
        page(CustomerQuery {
            tier: Some(Tier::ALL[i % Tier::ALL.len()]),
            ..CustomerQuery::default()
        })
    })
}

/// c) Search: short terms (substring scan) and longer ones (trigram index).
fn search(b: &Bench, store: &Store, report: &mut Report) -> Result<()> {
    Report::header("c) Search (first page of 50)");
    let n = b.repeat;
    let search = |term: &str| -> Result<usize> {
        Ok(store
            .list_customers(&CustomerQuery {
                search: Some(term.to_string()),
                ..CustomerQuery::default()
            })?
            .len())
    };
    report.measure(
        "\"华东\" (2 chars, CJK bigram index)",
        n,
        under_ms(10),
        |_| search("华东"),
    )?;
    report.measure(
        "\"金立基\" (3 chars, trigram index)",
        n,
        under_ms(10),
        |_| search("金立基"),
    )?;
    let names: Vec<String> = (0..50)
        .filter_map(|k| {
            let c = b.workload.customer((k * 197) % b.config.customers);
            c.contacts.first().map(|p| p.name.clone())
        })
        .collect();
    let examples: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
    report.measure(
        format!("contact name ({}…; 50 names)", examples.join(" ")),
        n,
        under_ms(10),
        |i| search(&names[i % names.len()]),
    )?;
    report.measure(
        "city \"苏州\" (2 chars, CJK bigram index)",
        n,
        under_ms(10),
        |_| search("苏州"),
    )?;
    report.measure(
        "city \"宁波市\" (3 chars, trigram index)",
        n,
        under_ms(10),
        |_| search("宁波市"),
    )?;
    report.measure(
        "two words \"华东 机械\" (2 bigram lookups)",
        n,
        under_ms(10),
        |_| search("华东 机械"),
    )
}

/// d) A customer's visit history and a rep's week.
fn visit_lists(b: &Bench, store: &Store, report: &mut Report) -> Result<()> {
    Report::header("d) Visit lists");
    let n = b.repeat;
    report.measure(
        "visits of a customer, newest first (50)",
        n,
        NO_TARGET,
        |i| {
            let id = &b.customer_ids[(i * 7_919) % b.customer_ids.len()];
            Ok(store.visits_of_customer(id, 50)?.len())
        },
    )?;
    report.measure("visits by a rep in a 7-day range", n, NO_TARGET, |i| {
        let from = b.config.first_day + Days::days(7 * (i % 52) as i64);
        Ok(store
            .visits_by_author(&rep_name(i % REPS), from, from + Days::days(6))?
            .len())
    })
}

/// e) Who is due for a follow-up on a day near the end of the workload's year.
fn due_followups(b: &Bench, store: &Store, report: &mut Report) -> Result<()> {
    Report::header("e) Due follow-ups for a day (one of the last 30 days; every due customer)");
    let n = b.repeat;
    let today = b.config.today();
    report.measure("all customers", n, under_ms(20), |i| {
        let day = today - Days::days((i % 30) as i64);
        Ok(store.due_followups(day, None)?.len())
    })?;
    report.measure("one owner (50 reps)", n, under_ms(20), |i| {
        let day = today - Days::days((i % 30) as i64);
        Ok(store.due_followups(day, Some(&rep_name(i % REPS)))?.len())
    })
}

/// f) A rep's plans and claims by status, and a manager's inbox.
fn plans_and_claims(b: &Bench, store: &Store, report: &mut Report) -> Result<()> {
    Report::header(&format!(
        "f) Trip plans ({}) and expense claims ({})",
        b.config.trip_plans, b.config.expense_claims
    ));
    const TRIP_STATUSES: [&str; 4] = ["draft", "submitted", "approved", "rejected"];
    const CLAIM_STATUSES: [&str; 5] = ["draft", "submitted", "approved", "rejected", "paid"];
    let n = b.repeat;
    let by_owner = |i: usize, statuses: &[&str]| PlanQuery {
        owner: Some(rep_name(i % REPS)),
        status: Some(statuses[i % statuses.len()].to_string()),
        ..PlanQuery::default()
    };
    let inbox = |i: usize| PlanQuery {
        approver: Some(manager_name(i % territories().len())),
        status: Some("submitted".to_string()),
        ..PlanQuery::default()
    };
    report.measure("trip plans by owner and status", n, NO_TARGET, |i| {
        Ok(store.list_trip_plans(&by_owner(i, &TRIP_STATUSES))?.len())
    })?;
    report.measure("trip plans by approver, submitted", n, NO_TARGET, |i| {
        Ok(store.list_trip_plans(&inbox(i))?.len())
    })?;
    report.measure("expense claims by owner and status", n, NO_TARGET, |i| {
        Ok(store
            .list_expense_claims(&by_owner(i, &CLAIM_STATUSES))?
            .len())
    })?;
    report.measure("expense claims by approver, submitted", n, NO_TARGET, |i| {
        Ok(store.list_expense_claims(&inbox(i))?.len())
    })
}

/// g) Editing a customer with some history: its visits, and earlier edits of its file.
///
/// Each durability gets its own customer, prepared the same way, so that the notes appended
/// while measuring one do not slow the other down.
fn editing_customers(b: &Bench, report: &mut Report) -> Result<()> {
    let mut busiest: Vec<usize> = (0..b.customer_ids.len()).collect();
    busiest.sort_by_key(|&i| std::cmp::Reverse(b.visit_count[i]));
    let history = 40;
    Report::header(&format!(
        "g) Editing a customer ({} and {} visits, {history} earlier edits each)",
        b.visit_count[busiest[0]],
        b.visit_count[busiest.get(1).copied().unwrap_or(busiest[0])],
    ));
    let n = b.repeat;
    // With the document cache (the default) and without it (every edit loads the document).
    let setups = [
        ("Full", Durability::Full, 64),
        ("Normal", Durability::Normal, 64),
        ("Normal, no document cache", Durability::Normal, 0),
    ];
    for ((label, durability, doc_cache), &customer) in
        setups.into_iter().zip(busiest.iter().cycle())
    {
        let store = Store::open_with(
            &b.path,
            StoreOptions {
                durability,
                doc_cache,
                ..StoreOptions::default()
            },
        )?;
        let id = &b.customer_ids[customer];
        for k in 0..history {
            let edit = if k % 2 == 0 {
                CustomerEdit::AppendNotes(format!(
                    "第{k}次补充：客户近期询价频繁，关注竞争对手动向。"
                ))
            } else {
                CustomerEdit::Tier(if k % 4 == 1 { Tier::B } else { Tier::A })
            };
            store.update_customer(id, &[edit])?;
        }
        let before = store.customer(id)?.notes.as_str().chars().count();
        report.measure(
            format!("set tier (A <-> B), Durability::{label}"),
            n,
            NO_TARGET,
            |i| {
                let tier = if i % 2 == 0 { Tier::B } else { Tier::A };
                store.update_customer(id, &[CustomerEdit::Tier(tier)])?;
                Ok(1)
            },
        )?;
        report.measure(
            format!("append to the notes, Durability::{label}"),
            n,
            NO_TARGET,
            |i| {
                store.update_customer(
                    id,
                    &[CustomerEdit::AppendNotes(format!(
                        "拜访补记{i}：采购经理反馈下季度用量上调约一成。"
                    ))],
                )?;
                Ok(1)
            },
        )?;
        let after = store.customer(id)?.notes.as_str().chars().count();
        println!("  (the notes grew from {before} to {after} characters while appending)");
    }
    Ok(())
}
