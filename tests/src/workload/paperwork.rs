//! Trip plans and expense claims of the generated organisation, each with the edits that bring
//! it to its generated status (submitted, approved, paid, …).

use chrono::Duration;
use fieldsync_core::Store;
use fieldsync_core::model::expense_claim::{
    ClaimStatus, ExpenseCategory, ExpenseClaimEdit, NewExpenseClaim,
};
use fieldsync_core::model::fields::Money;
use fieldsync_core::model::trip_plan::{NewTripPlan, TripPlanEdit, TripStatus};
use rand::Rng;

use super::words::{self, CITIES};
use super::{
    FINANCE, REPS, Stream, Workload, manager_name, pick, rep_name, stream, territory_of_rep,
    weighted,
};

/// The first city of a territory (every territory has one).
fn first_city(territory: usize) -> &'static str {
    CITIES
        .iter()
        .find(|c| c.territory == territory)
        .unwrap_or(&CITIES[0])
        .city
}

/// A customer visit planned on a trip; the customer is given by index.
#[derive(Debug, Clone)]
pub struct GeneratedStop {
    /// Index of the customer.
    pub customer: usize,
    /// Planned day, YYYY-MM-DD.
    pub day: String,
    /// Purpose of the visit.
    pub purpose: String,
}

/// A trip plan to store: create `plan`, then apply [`GeneratedTripPlan::edits`].
#[derive(Debug, Clone)]
pub struct GeneratedTripPlan {
    /// The plan as a draft.
    pub plan: NewTripPlan,
    /// The owner's customers to visit on the way.
    pub stops: Vec<GeneratedStop>,
    /// The status the edits bring it to.
    pub status: TripStatus,
}

impl GeneratedTripPlan {
    /// The stops (with the customers' stored ids) and the status changes, in order.
    pub fn edits(&self, customer_ids: &[String]) -> Vec<TripPlanEdit> {
        let mut edits: Vec<TripPlanEdit> = self
            .stops
            .iter()
            .filter_map(|s| {
                Some(TripPlanEdit::AddPlannedVisit {
                    customer: customer_ids.get(s.customer)?.clone(),
                    day: s.day.clone(),
                    purpose: s.purpose.clone(),
                    expected_result: None,
                })
            })
            .collect();
        let by = self.plan.approver.clone();
        match self.status {
            TripStatus::Draft => {}
            TripStatus::Submitted => edits.push(TripPlanEdit::Submit),
            TripStatus::Approved => edits.extend([
                TripPlanEdit::Submit,
                TripPlanEdit::Approve {
                    by,
                    note: Some("同意，注意控制住宿标准".to_string()),
                },
            ]),
            TripStatus::Rejected => edits.extend([
                TripPlanEdit::Submit,
                TripPlanEdit::Reject {
                    by,
                    note: Some("预算偏高，请压缩行程后重新提交".to_string()),
                },
            ]),
        }
        edits
    }
}

/// An expense claim to store: create `claim` (linked to trip plan `trip`, if any), then apply
/// [`GeneratedExpenseClaim::edits`].
#[derive(Debug, Clone)]
pub struct GeneratedExpenseClaim {
    /// The claim as a draft, without its trip link.
    pub claim: NewExpenseClaim,
    /// Index of the trip plan it is for.
    pub trip: Option<usize>,
    /// The items and status changes, in order.
    pub edits: Vec<ExpenseClaimEdit>,
    /// The status the edits bring it to.
    pub status: ClaimStatus,
}

impl Workload {
    /// Trip plan `index`: one to four days in the owner's territory, visiting some of the
    /// owner's customers.
    pub fn trip_plan(&self, index: usize) -> GeneratedTripPlan {
        let rng = &mut stream(self.config.seed, Stream::TripPlan, index);
        // The first draw, as in `trip_owner`.
        let owner = rng.random_range(0..REPS);
        let territory = territory_of_rep(owner);
        let span = i64::from(self.config.days.max(5)) - 4;
        let start = self.config.first_day + Duration::days(rng.random_range(0..span));
        let length = rng.random_range(0..4);
        let end = start + Duration::days(length);
        let own = self.customers_of_rep(owner);
        let mut stops = Vec::new();
        let mut cities: Vec<String> = Vec::new();
        if !own.is_empty() {
            for _ in 0..rng.random_range(1..=4) {
                let customer = *pick(rng, own);
                let city = CITIES[usize::from(self.profiles[customer].city)].city;
                if !cities.iter().any(|c| c == city) {
                    cities.push(city.to_string());
                }
                stops.push(GeneratedStop {
                    customer,
                    day: (start + Duration::days(rng.random_range(0..=length))).to_string(),
                    purpose: format!(
                        "{}，{}",
                        pick(rng, words::NEXT_STEPS),
                        pick(rng, words::PRODUCTS).0
                    ),
                });
            }
        }
        if cities.is_empty() {
            cities.push(first_city(territory).to_string());
        }
        let title = match cities.as_slice() {
            [one] if rng.random_bool(0.2) => {
                format!("参加{}五金机电展", one.trim_end_matches('市'))
            }
            [one] => format!("{}客户拜访", one.trim_end_matches('市')),
            [a, b, ..] => format!(
                "{}、{}出差",
                a.trim_end_matches('市'),
                b.trim_end_matches('市')
            ),
            [] => "客户拜访".to_string(),
        };
        let status = weighted(
            rng,
            &[
                (TripStatus::Draft, 20),
                (TripStatus::Submitted, 30),
                (TripStatus::Approved, 40),
                (TripStatus::Rejected, 10),
            ],
        );
        GeneratedTripPlan {
            plan: NewTripPlan {
                owner: rep_name(owner),
                approver: manager_name(territory),
                title,
                start_date: start.to_string(),
                end_date: end.to_string(),
                cities,
                budget: Money::cny(rng.random_range(8..80) * 10_000),
            },
            stops,
            status,
        }
    }

    /// Expense claim `index`: most are for the trip plan of the same index (when there is one),
    /// with one to six items.
    pub fn expense_claim(&self, index: usize) -> GeneratedExpenseClaim {
        let rng = &mut stream(self.config.seed, Stream::ExpenseClaim, index);
        let trip = (index < self.config.trip_plans && rng.random_bool(0.7)).then_some(index);
        let (owner, start, days, city) = match trip {
            Some(t) => {
                let plan = self.trip_plan(t).plan;
                let start = plan.start_date.parse().unwrap_or(self.config.first_day);
                let end = plan.end_date.parse().unwrap_or(start);
                let city = plan.cities.first().cloned().unwrap_or_default();
                (
                    self.trip_owner(t),
                    start,
                    (end - start).num_days() + 1,
                    city,
                )
            }
            None => {
                let owner = rng.random_range(0..REPS);
                let span = i64::from(self.config.days.max(1));
                let start = self.config.first_day + Duration::days(rng.random_range(0..span));
                (
                    owner,
                    start,
                    1,
                    first_city(territory_of_rep(owner)).to_string(),
                )
            }
        };
        let approver = manager_name(territory_of_rep(owner));
        let mut edits = Vec::new();
        for n in 0..rng.random_range(1..=6) {
            let (category, amount, description) =
                match weighted(rng, &[(0, 35), (1, 25), (2, 25), (3, 10), (4, 5)]) {
                    0 => (
                        ExpenseCategory::Transport,
                        rng.random_range(30..900),
                        format!("高铁/打车 {city}"),
                    ),
                    1 => (
                        ExpenseCategory::Lodging,
                        rng.random_range(280..650),
                        format!("{city}酒店住宿"),
                    ),
                    2 => (ExpenseCategory::Meals, 100, "出差餐补".to_string()),
                    3 => (
                        ExpenseCategory::Entertainment,
                        rng.random_range(300..2_500),
                        "客户招待".to_string(),
                    ),
                    _ => (
                        ExpenseCategory::Samples,
                        rng.random_range(50..800),
                        "样品费".to_string(),
                    ),
                };
            edits.push(ExpenseClaimEdit::AddItem {
                date: (start + Duration::days(rng.random_range(0..days.max(1)))).to_string(),
                category,
                amount: Money::cny(amount * 100),
                description: Some(description),
                invoice_photo: Some(format!("invoice-{index}-{n}.jpg")),
                receipt: None,
            });
        }
        let status = weighted(
            rng,
            &[
                (ClaimStatus::Draft, 20),
                (ClaimStatus::Submitted, 25),
                (ClaimStatus::Approved, 20),
                (ClaimStatus::Rejected, 10),
                (ClaimStatus::Paid, 25),
            ],
        );
        let by = approver.clone();
        match status {
            ClaimStatus::Draft => {}
            ClaimStatus::Submitted => edits.push(ExpenseClaimEdit::Submit),
            ClaimStatus::Approved => edits.extend([
                ExpenseClaimEdit::Submit,
                ExpenseClaimEdit::Approve { by, note: None },
            ]),
            ClaimStatus::Rejected => edits.extend([
                ExpenseClaimEdit::Submit,
                ExpenseClaimEdit::Reject {
                    by,
                    note: Some("缺少住宿发票，请补充".to_string()),
                },
            ]),
            ClaimStatus::Paid => edits.extend([
                ExpenseClaimEdit::Submit,
                ExpenseClaimEdit::Approve { by, note: None },
                ExpenseClaimEdit::MarkPaid {
                    by: FINANCE.to_string(),
                },
            ]),
        }
        let month = start.format("%-m");
        GeneratedExpenseClaim {
            claim: NewExpenseClaim {
                owner: rep_name(owner),
                approver,
                trip: None,
                title: format!("{month}月{}出差报销", city.trim_end_matches('市')),
                currency: None,
            },
            trip,
            edits,
            status,
        }
    }

    /// The owner (rep index) of trip plan `index`, without generating the rest of it.
    fn trip_owner(&self, index: usize) -> usize {
        stream(self.config.seed, Stream::TripPlan, index).random_range(0..REPS)
    }

    /// Creates every trip plan (`config.trip_plans`) and brings it to its status; returns their
    /// ids by index. `customer_ids[i]` is the stored id of customer `i`.
    pub fn populate_trip_plans(
        &self,
        store: &Store,
        customer_ids: &[String],
    ) -> fieldsync_core::Result<Vec<String>> {
        let mut ids = Vec::with_capacity(self.config.trip_plans);
        for k in 0..self.config.trip_plans {
            let generated = self.trip_plan(k);
            let edits = generated.edits(customer_ids);
            let id = store.create_trip_plan(generated.plan)?;
            if !edits.is_empty() {
                store.update_trip_plan(&id, &edits)?;
            }
            ids.push(id);
        }
        Ok(ids)
    }

    /// Creates every expense claim (`config.expense_claims`), linked to its trip plan, and
    /// brings it to its status; returns their ids by index. `trip_ids` is what
    /// [`Workload::populate_trip_plans`] returned.
    pub fn populate_expense_claims(
        &self,
        store: &Store,
        trip_ids: &[String],
    ) -> fieldsync_core::Result<Vec<String>> {
        let mut ids = Vec::with_capacity(self.config.expense_claims);
        for k in 0..self.config.expense_claims {
            let generated = self.expense_claim(k);
            let claim = NewExpenseClaim {
                trip: generated.trip.and_then(|t| trip_ids.get(t).cloned()),
                ..generated.claim
            };
            let id = store.create_expense_claim(claim)?;
            store.update_expense_claim(&id, &generated.edits)?;
            ids.push(id);
        }
        Ok(ids)
    }
}
