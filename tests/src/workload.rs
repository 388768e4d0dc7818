//! A deterministic sales organisation, generated from a seed, for tests and benchmarks.
//!
//! The organisation has ten territories (`east-1` … `central-1`), fifty reps (`rep01` …
//! `rep50`, five per territory) with one manager per territory (`mgr01` … `mgr10`), customer
//! files of Chinese manufacturers and traders with their contacts, and a year of visits.
//! Optionally it also has trip plans and expense claims in every approval state.
//!
//! Guarantees:
//! - The same [`WorkloadConfig`] gives the same organisation, on every machine: each item is
//!   drawn from its own ChaCha8 stream (seed, kind, index), so customer `i` does not depend on
//!   how many visits are asked for, and any item can be generated alone ([`Workload::customer`],
//!   [`Workload::visit`]).
//! - Every generated value passes client-core's validation, so [`Workload::populate`] (or the
//!   caller's own loop over [`Store::create_customer`] / [`Store::create_visit`]) succeeds.
//! - Nothing is held per item but a few bytes of profile, so the generator itself scales to
//!   hundreds of thousands of customers and visits.

mod paperwork;
mod words;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use fieldsync_core::Store;
use fieldsync_core::model::customer::{CustomerStatus, CustomerType, NewCustomer, Tier};
use fieldsync_core::model::fields::{Geo, Money, format_time};
use fieldsync_core::model::visit::{NewVisit, Outcome, VisitType};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use paperwork::{GeneratedExpenseClaim, GeneratedStop, GeneratedTripPlan};
use words::{CITIES, Kind, TERRITORIES, company_name, contact, notes, summary};

/// Number of reps in the organisation.
pub const REPS: usize = 50;

/// The device's offset from UTC at every generated check-in (China Standard Time).
pub const UTC_OFFSET_MINUTES: i64 = 480;

/// The default first day with visits.
const FIRST_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2025, 11, 1) {
    Some(d) => d,
    None => panic!("not a date"),
};

/// When the working day starts; check-ins are from then to 18:00 local time.
const WORK_START: NaiveTime = match NaiveTime::from_hms_opt(8, 30, 0) {
    Some(t) => t,
    None => panic!("not a time"),
};

/// How big an organisation to generate, and over which days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of customer files.
    pub customers: usize,
    /// Number of visits, spread evenly over the days.
    pub visits: usize,
    /// Number of trip plans.
    pub trip_plans: usize,
    /// Number of expense claims.
    pub expense_claims: usize,
    /// The first day with visits (local date).
    pub first_day: NaiveDate,
    /// Number of days with visits, from `first_day`.
    pub days: u32,
}

impl Default for WorkloadConfig {
    /// 10,000 customers and 50,000 visits over a year, 300 trip plans and 300 expense claims.
    fn default() -> Self {
        WorkloadConfig {
            seed: 2026,
            customers: 10_000,
            visits: 50_000,
            trip_plans: 300,
            expense_claims: 300,
            first_day: FIRST_DAY,
            days: 365,
        }
    }
}

impl WorkloadConfig {
    /// The default organisation with `customers` customers and `visits` visits.
    pub fn sized(customers: usize, visits: usize) -> Self {
        WorkloadConfig {
            customers,
            visits,
            ..WorkloadConfig::default()
        }
    }

    /// The last day with visits.
    pub fn last_day(&self) -> NaiveDate {
        self.first_day + Duration::days(i64::from(self.days.max(1)) - 1)
    }

    /// The day after the last visit: "today" for queries such as due follow-ups.
    pub fn today(&self) -> NaiveDate {
        self.last_day() + Duration::days(1)
    }
}

/// The territory names, `east-1` … `central-1`.
pub fn territories() -> &'static [&'static str] {
    &TERRITORIES
}

/// The user name of rep `index` (0-based): `rep01` … `rep50`.
pub fn rep_name(index: usize) -> String {
    format!("rep{:02}", index + 1)
}

/// The territory (index into [`territories`]) rep `index` works in.
pub fn territory_of_rep(index: usize) -> usize {
    index % TERRITORIES.len()
}

/// The user name of the manager of territory `index`: `mgr01` … `mgr10`.
pub fn manager_name(territory: usize) -> String {
    format!("mgr{:02}", territory + 1)
}

/// The user name that records payments of expense claims.
pub const FINANCE: &str = "finance01";

/// What selects and shapes a customer's visits; drawn first from the customer's stream.
#[derive(Debug, Clone, Copy)]
struct Profile {
    city: u8,
    owner: u8,
    tier: Tier,
    status: CustomerStatus,
}

/// A visit to record: the customer is given by index, since ids exist only once the customers
/// are in a store.
#[derive(Debug, Clone)]
pub struct GeneratedVisit {
    /// Index of the visited customer (as in [`Workload::customer`]).
    pub customer: usize,
    /// The visit, with an empty `customer` field.
    pub visit: NewVisit,
}

impl GeneratedVisit {
    /// The visit, for the customer stored under `customer_id`.
    pub fn with_customer_id(self, customer_id: &str) -> NewVisit {
        NewVisit {
            customer: customer_id.to_string(),
            ..self.visit
        }
    }
}

/// The ids of everything [`Workload::populate`] stored, by index.
#[derive(Debug, Clone, Default)]
pub struct Populated {
    /// Customer ids; `customers[i]` is customer `i`.
    pub customers: Vec<String>,
    /// Visit ids; `visits[j]` is visit `j`.
    pub visits: Vec<String>,
    /// Trip plan ids.
    pub trip_plans: Vec<String>,
    /// Expense claim ids.
    pub expense_claims: Vec<String>,
}

/// A generated organisation. Cheap to hold: items are generated when asked for.
#[derive(Debug, Clone)]
pub struct Workload {
    config: WorkloadConfig,
    profiles: Vec<Profile>,
    by_owner: Vec<Vec<usize>>,
    /// Chooses the customer of each visit: A-tier and active customers are visited most.
    visit_weights: Option<WeightedIndex<u32>>,
}

/// The kinds of item, each with its own random streams.
#[derive(Clone, Copy)]
enum Stream {
    Customer = 1,
    Visit = 2,
    TripPlan = 3,
    ExpenseClaim = 4,
}

impl Workload {
    /// Generates the profiles of the organisation described by `config`.
    pub fn new(config: WorkloadConfig) -> Self {
        let mut profiles = Vec::with_capacity(config.customers);
        let mut by_owner = vec![Vec::new(); REPS];
        for i in 0..config.customers {
            let p = draw_profile(&mut stream(config.seed, Stream::Customer, i));
            by_owner[usize::from(p.owner)].push(i);
            profiles.push(p);
        }
        let visit_weights = WeightedIndex::new(profiles.iter().map(visit_weight)).ok();
        Workload {
            config,
            profiles,
            by_owner,
            visit_weights,
        }
    }

    /// What this organisation was generated from.
    pub fn config(&self) -> &WorkloadConfig {
        &self.config
    }

    /// Indices of the customers rep `rep` owns.
    pub fn customers_of_rep(&self, rep: usize) -> &[usize] {
        self.by_owner.get(rep).map_or(&[], Vec::as_slice)
    }

    /// Customer `index` (0 ≤ index < `config.customers`).
    pub fn customer(&self, index: usize) -> NewCustomer {
        let rng = &mut stream(self.config.seed, Stream::Customer, index);
        let p = draw_profile(rng);
        let city = &CITIES[usize::from(p.city)];
        let owner = rep_name(usize::from(p.owner));
        let (name, kind) = company_name(rng, city);
        let customer_type = match kind {
            Kind::End => CustomerType::EndCustomer,
            Kind::Distributor => CustomerType::Distributor,
            Kind::Store => CustomerType::DirectStore,
        };
        let contacts = (0..weighted(rng, &[(1, 35), (2, 35), (3, 20), (4, 10)]))
            .map(|_| contact(rng))
            .collect();
        let address = format!(
            "{}{}{}号",
            pick(rng, city.districts),
            pick(rng, words::ROADS),
            rng.random_range(1..=999)
        );
        NewCustomer {
            name,
            customer_type: Some(customer_type),
            industry: Some(pick(rng, words::INDUSTRIES).to_string()),
            territory: TERRITORIES[city.territory].to_string(),
            owner: owner.clone(),
            province: Some(city.province.to_string()),
            city: Some(city.city.to_string()),
            address: Some(address),
            phone: Some(format!(
                "{}-{}",
                city.area_code,
                rng.random_range(51_000_000..89_999_999)
            )),
            geo: Some(Geo {
                lat: city.lat + rng.random_range(-0.15..0.15),
                lon: city.lon + rng.random_range(-0.15..0.15),
            }),
            tier: Some(p.tier),
            status: Some(p.status),
            key_account: p.tier == Tier::A && rng.random_bool(0.5),
            notes: notes(rng),
            contacts,
            created_by: owner,
        }
    }

    /// Every customer, in index order.
    pub fn customers(&self) -> impl Iterator<Item = NewCustomer> + '_ {
        (0..self.config.customers).map(|i| self.customer(i))
    }

    /// Visit `index` (0 ≤ index < `config.visits`). Visits are in check-in order, about
    /// `visits / days` a day, fewer at weekends; A-tier and active customers get most of them.
    ///
    /// # Panics
    /// If the organisation has no customers.
    pub fn visit(&self, index: usize) -> GeneratedVisit {
        let rng = &mut stream(self.config.seed, Stream::Visit, index);
        let Some(weights) = &self.visit_weights else {
            panic!("an organisation without customers has no visits");
        };
        let customer_index = weights.sample(rng);
        let profile = self.profiles[customer_index];
        let customer = self.customer(customer_index);

        let day = self.visit_day(rng, index);
        let local =
            day.and_time(WORK_START) + Duration::seconds(rng.random_range(0..9 * 3600 + 1800));
        let checkin = (local - Duration::minutes(UTC_OFFSET_MINUTES)).and_utc();

        let owner = usize::from(profile.owner);
        let author = if rng.random_bool(0.9) {
            owner
        } else {
            (owner + TERRITORIES.len() * rng.random_range(1..REPS / TERRITORIES.len())) % REPS
        };
        let visit_type = if profile.status == CustomerStatus::Prospect && rng.random_bool(0.4) {
            VisitType::ColdVisit
        } else {
            weighted(
                rng,
                &[
                    (VisitType::FollowUp, 50),
                    (VisitType::ColdVisit, 5),
                    (VisitType::Sample, 10),
                    (VisitType::Quote, 12),
                    (VisitType::Complaint, 5),
                    (VisitType::AfterSales, 15),
                ],
            )
        };
        let outcome = rng.random_bool(0.7).then(|| {
            weighted(
                rng,
                &[
                    (Outcome::Order, 15),
                    (Outcome::Progress, 40),
                    (Outcome::NoChange, 35),
                    (Outcome::Setback, 10),
                ],
            )
        });
        let met = rng.random_range(1..=customer.contacts.len().clamp(1, 2));
        let people_met: Vec<(String, Option<String>)> = customer
            .contacts
            .iter()
            .take(met)
            .map(|c| (c.name.clone(), c.title.clone()))
            .collect();
        let contact = people_met
            .first()
            .map_or_else(|| "对方".to_string(), |(name, _)| name.clone());
        let next_step = rng
            .random_bool(0.6)
            .then(|| pick(rng, words::NEXT_STEPS).to_string());
        let mut summary = summary(rng, visit_type, &contact);
        if let Some(step) = &next_step {
            summary.push_str("\n下一步：");
            summary.push_str(step);
        }
        let next_followup = rng
            .random_bool(0.4)
            .then(|| (day + Duration::days(rng.random_range(3..=21))).to_string());
        let quote_amount = (visit_type == VisitType::Quote)
            .then(|| Money::cny(rng.random_range(5_000..500_000) * 100));
        let order_amount = (outcome == Some(Outcome::Order))
            .then(|| Money::cny(rng.random_range(2_000..300_000) * 100));
        let checkin_geo = customer
            .geo
            .as_ref()
            .filter(|_| rng.random_bool(0.8))
            .map(|g| Geo {
                lat: g.lat + rng.random_range(-0.002..0.002),
                lon: g.lon + rng.random_range(-0.002..0.002),
            });
        GeneratedVisit {
            customer: customer_index,
            visit: NewVisit {
                customer: String::new(),
                author: rep_name(author),
                checkin_at: format_time(checkin),
                utc_offset_minutes: UTC_OFFSET_MINUTES,
                checkin_geo,
                visit_type: Some(visit_type),
                people_met,
                summary,
                outcome,
                next_step,
                next_followup,
                quote_amount,
                order_amount,
            },
        }
    }

    /// Every visit, in index (check-in) order.
    pub fn visits(&self) -> impl Iterator<Item = GeneratedVisit> + '_ {
        let n = if self.config.customers == 0 {
            0
        } else {
            self.config.visits
        };
        (0..n).map(|j| self.visit(j))
    }

    /// The local day of visit `index`: evenly spread, most weekend visits moved to a weekday.
    fn visit_day(&self, rng: &mut ChaCha8Rng, index: usize) -> NaiveDate {
        let days = u64::from(self.config.days.max(1));
        let visits = self.config.visits.max(1) as u64;
        let offset = (index as u64 * days / visits).min(days - 1);
        let mut day = self.config.first_day + Duration::days(offset as i64);
        let shift = match day.weekday() {
            Weekday::Sat => -1,
            Weekday::Sun => 1,
            _ => 0,
        };
        if shift != 0 && rng.random_bool(0.8) {
            let moved = day + Duration::days(shift);
            if moved >= self.config.first_day && moved <= self.config.last_day() {
                day = moved;
            }
        }
        day
    }

    /// Stores the whole organisation in `store`: customers, visits, then trip plans and expense
    /// claims (each brought to its generated status).
    pub fn populate(&self, store: &Store) -> fieldsync_core::Result<Populated> {
        let mut out = Populated {
            customers: Vec::with_capacity(self.config.customers),
            visits: Vec::with_capacity(self.config.visits),
            ..Populated::default()
        };
        for customer in self.customers() {
            out.customers.push(store.create_customer(customer)?);
        }
        for v in self.visits() {
            let id = &out.customers[v.customer];
            out.visits.push(store.create_visit(v.with_customer_id(id))?);
        }
        out.trip_plans = self.populate_trip_plans(store, &out.customers)?;
        out.expense_claims = self.populate_expense_claims(store, &out.trip_plans)?;
        Ok(out)
    }
}

/// The random stream of item `index` of `kind`.
fn stream(seed: u64, kind: Stream, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((kind as u64) << 48) | index as u64);
    rng
}

/// A uniformly chosen element of a non-empty list.
fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A choice from `(value, weight)` pairs, with probability proportional to the weight.
fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut n = rng.random_range(0..total.max(1));
    for (value, w) in items {
        if n < *w {
            return *value;
        }
        n -= w;
    }
    items[items.len() - 1].0
}

fn draw_profile(rng: &mut ChaCha8Rng) -> Profile {
    let city = rng.random_range(0..CITIES.len());
    let territory = CITIES[city].territory;
    let owner = territory + TERRITORIES.len() * rng.random_range(0..REPS / TERRITORIES.len());
    let tier = weighted(
        rng,
        &[(Tier::A, 10), (Tier::B, 25), (Tier::C, 40), (Tier::D, 25)],
    );
    let status = weighted(
        rng,
        &[
            (CustomerStatus::Active, 55),
            (CustomerStatus::Prospect, 25),
            (CustomerStatus::Dormant, 15),
            (CustomerStatus::Lost, 5),
        ],
    );
    Profile {
        city: city as u8,
        owner: owner as u8,
        tier,
        status,
    }
}

/// How often a customer is visited, relative to others.
fn visit_weight(p: &Profile) -> u32 {
    let tier = match p.tier {
        Tier::A => 16,
        Tier::B => 8,
        Tier::C => 4,
        Tier::D => 2,
    };
    let status = match p.status {
        CustomerStatus::Active => 10,
        CustomerStatus::Prospect => 8,
        CustomerStatus::Dormant => 4,
        CustomerStatus::Lost => 1,
    };
    tier * status
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::error::Error;

    use fieldsync_core::store::{CustomerQuery, PlanQuery};

    use super::*;

    type TestResult = Result<(), Box<dyn Error>>;

    fn small(seed: u64) -> WorkloadConfig {
        WorkloadConfig {
            seed,
            customers: 200,
            visits: 1_000,
            trip_plans: 20,
            expense_claims: 20,
            ..WorkloadConfig::default()
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_organisation() {
        let a = Workload::new(small(7));
        let b = Workload::new(small(7));
        let names = |w: &Workload| w.customers().map(|c| c.name).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        for i in [0, 1, 99, 199] {
            assert_eq!(
                format!("{:?}", a.customer(i)),
                format!("{:?}", b.customer(i))
            );
        }
        for j in [0, 500, 999] {
            assert_eq!(format!("{:?}", a.visit(j)), format!("{:?}", b.visit(j)));
        }
        assert_eq!(
            format!("{:?}", a.trip_plan(3)),
            format!("{:?}", b.trip_plan(3))
        );
        assert_eq!(
            format!("{:?}", a.expense_claim(3)),
            format!("{:?}", b.expense_claim(3))
        );
    }

    #[test]
    fn another_seed_gives_another_organisation() {
        let a: Vec<String> = Workload::new(small(1))
            .customers()
            .map(|c| c.name)
            .collect();
        let b: Vec<String> = Workload::new(small(2))
            .customers()
            .map(|c| c.name)
            .collect();
        assert_ne!(a, b);
    }

    #[test]
    fn customers_do_not_depend_on_the_number_of_visits() {
        let few = Workload::new(WorkloadConfig {
            visits: 10,
            ..small(3)
        });
        let many = Workload::new(small(3));
        assert_eq!(
            format!("{:?}", few.customer(42)),
            format!("{:?}", many.customer(42))
        );
    }

    #[test]
    fn customers_look_like_a_chinese_sales_territory() {
        let w = Workload::new(small(11));
        let mut names = HashSet::new();
        for c in w.customers() {
            assert!(
                ["公司", "厂", "商行", "经营部"]
                    .iter()
                    .any(|s| c.name.ends_with(s)),
                "{}",
                c.name
            );
            assert!((1..=4).contains(&c.contacts.len()), "{:?}", c.contacts);
            assert!(territories().contains(&c.territory.as_str()));
            assert!(
                c.owner.starts_with("rep") && c.owner.len() == 5,
                "{}",
                c.owner
            );
            names.insert(c.name);
        }
        // Names repeat rarely: the parts give tens of thousands of combinations.
        assert!(names.len() >= 190, "{} distinct names of 200", names.len());
    }

    #[test]
    fn visits_are_spread_over_the_year_in_china_time() -> TestResult {
        let config = small(5);
        let w = Workload::new(config.clone());
        let mut latest = config.first_day;
        let mut weekend = 0;
        for v in w.visits() {
            let v = v.visit;
            assert_eq!(v.utc_offset_minutes, 480);
            let local = (chrono::DateTime::parse_from_rfc3339(&v.checkin_at)?
                + Duration::minutes(480))
            .date_naive();
            assert!(
                local >= config.first_day && local <= config.last_day(),
                "{local}"
            );
            // Visits come in check-in order, but for weekend visits moved by a day.
            assert!(
                local + Duration::days(2) >= latest,
                "{local} after {latest}"
            );
            latest = latest.max(local);
            if matches!(local.weekday(), Weekday::Sat | Weekday::Sun) {
                weekend += 1;
            }
            if let Some(d) = &v.next_followup {
                assert!(NaiveDate::parse_from_str(d, "%Y-%m-%d")? > local);
            }
        }
        assert!(latest >= config.last_day() - Duration::days(2));
        assert!(weekend < 1_000 / 7, "{weekend} of 1000 visits at weekends");
        Ok(())
    }

    #[test]
    fn the_organisation_builds_into_a_store() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path().join("org.db"))?;
        let config = small(9);
        let w = Workload::new(config.clone());
        let stored = w.populate(&store)?;
        assert_eq!(stored.customers.len(), 200);
        assert_eq!(stored.visits.len(), 1_000);
        assert_eq!(stored.trip_plans.len(), 20);
        assert_eq!(stored.expense_claims.len(), 20);
        assert_eq!(store.document_ids()?.len(), 1_240);

        let all = store.list_customers(&CustomerQuery {
            limit: Some(1_000),
            ..CustomerQuery::default()
        })?;
        assert_eq!(all.len(), 200);
        assert!(all.iter().filter(|c| c.last_visit_date.is_some()).count() > 100);

        let first = w.customer(0);
        let found = store.list_customers(&CustomerQuery {
            search: Some(first.contacts[0].name.clone()),
            limit: Some(1_000),
            ..CustomerQuery::default()
        })?;
        assert!(found.iter().any(|c| c.id == stored.customers[0]));

        let plans = store.list_trip_plans(&PlanQuery::default())?;
        assert_eq!(plans.len(), 20);
        assert!(plans.iter().any(|p| p.status != "draft"));
        let claims = store.list_expense_claims(&PlanQuery::default())?;
        assert!(claims.iter().any(|c| c.total_amount > 0));
        assert!(store.integrity_check().is_ok());
        Ok(())
    }
}
