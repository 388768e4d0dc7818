//! The JSON API's routes (docs/PROTOCOL.md, "The read API"): query strings parsed into the
//! filters of [`super::queries`], browser writes made through [`Core::write_as`], each on a
//! blocking thread as every storage call is.

use automerge::AutoCommit;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use fieldsync_core::model::customer::{Customer, CustomerEdit};
use fieldsync_core::model::expense_claim::{ExpenseClaim, ExpenseClaimEdit};
use fieldsync_core::model::trip_plan::{TripPlan, TripPlanEdit};
use fieldsync_core::model::visit::{Visit, VisitEdit};
use fieldsync_core::model::{Document, DocumentModel};
use fieldsync_core::report::IsoWeek;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::queries::{self, CustomerFilter, VisitFilter};
use crate::app::{AppState, Authed, RawBody, parse_json};
use crate::error::AppError;
use crate::openapi::{ErrorBody, READ_TAG};
use crate::service::Core;

/// The read API's routes, each registered with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(customers))
        .routes(routes!(customer, move_customer))
        .routes(routes!(visits))
        .routes(routes!(comment))
        .routes(routes!(followups))
        .routes(routes!(week))
        .routes(routes!(kpi))
        .routes(routes!(approvals))
        .routes(routes!(approve_plan))
        .routes(routes!(reject_plan))
        .routes(routes!(approve_claim))
        .routes(routes!(reject_claim))
}

/// Runs `f` on a blocking thread with the core.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Core) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let core = state.core.clone();
    tokio::task::spawn_blocking(move || f(&core)).await?
}

/// A query string, or a `400 bad_request` saying what the route takes.
pub(crate) fn query<T: DeserializeOwned>(
    q: Result<Query<T>, QueryRejection>,
    takes: &str,
) -> Result<T, AppError> {
    q.map(|Query(q)| q).map_err(|e| {
        AppError::BadRequest(format!(
            "the query is not understood ({}): this route takes {takes}",
            e.body_text()
        ))
    })
}

/// An optional query parameter: absent and empty are the same.
fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn day(field: &str, v: Option<String>) -> Result<Option<NaiveDate>, AppError> {
    given(v)
        .map(|d| {
            NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
                AppError::BadRequest(format!("{field} must be a date, YYYY-MM-DD (not '{d}')"))
            })
        })
        .transpose()
}

fn page(v: Option<String>) -> Result<usize, AppError> {
    match given(v) {
        None => Ok(1),
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| AppError::BadRequest(format!("page must be 1 or more (not '{p}')"))),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CustomersQuery {
    search: Option<String>,
    territory: Option<String>,
    owner: Option<String>,
    tier: Option<String>,
    page: Option<String>,
}

#[utoipa::path(get, path = "/v1/customers", tag = READ_TAG, params(CustomersQuery),
    responses((status = 200, description = "one page of the customers the caller sees, by name", body = Value), (status = 400, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn customers(
    State(state): State<AppState>,
    q: Result<Query<CustomersQuery>, QueryRejection>,
    auth: Authed,
) -> Result<Json<Value>, AppError> {
    let q = query(q, "search, territory, owner, tier and page")?;
    let filter = CustomerFilter {
        search: given(q.search),
        territory: given(q.territory),
        owner: given(q.owner),
        tier: given(q.tier),
        page: page(q.page)?,
    };
    let out = blocking(&state, move |core| {
        queries::customers(core, &auth.principal, &filter)
    })
    .await?;
    Ok(Json(serde_json::to_value(out).unwrap_or_default()))
}

#[utoipa::path(get, path = "/v1/customers/{id}", tag = READ_TAG, params(("id" = String, Path, description = "customer id")),
    responses((status = 200, description = "the customer's file: the customer, its visits, its conflicts", body = Value), (status = 404, description = "no customer the caller sees", body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn customer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Authed,
) -> Result<Json<Value>, AppError> {
    let out = blocking(&state, move |core| {
        queries::customer(core, &auth.principal, &id)
    })
    .await?;
    Ok(Json(serde_json::to_value(out).unwrap_or_default()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct VisitsQuery {
    rep: Option<String>,
    from: Option<String>,
    to: Option<String>,
    customer: Option<String>,
    page: Option<String>,
}

#[utoipa::path(get, path = "/v1/visits", tag = READ_TAG, params(VisitsQuery),
    responses((status = 200, description = "one page of visits, newest first", body = Value), (status = 400, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn visits(
    State(state): State<AppState>,
    q: Result<Query<VisitsQuery>, QueryRejection>,
    auth: Authed,
) -> Result<Json<Value>, AppError> {
    let q = query(q, "rep, from, to (YYYY-MM-DD), customer and page")?;
    let filter = VisitFilter {
        rep: given(q.rep),
        from: day("from", q.from)?,
        to: day("to", q.to)?,
        customer: given(q.customer),
        page: page(q.page)?,
    };
    let out = blocking(&state, move |core| {
        queries::visits(core, &auth.principal, &filter)
    })
    .await?;
    Ok(Json(serde_json::to_value(out).unwrap_or_default()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct FollowupsQuery {
    date: Option<String>,
}

#[utoipa::path(get, path = "/v1/followups", tag = READ_TAG, params(FollowupsQuery),
    responses((status = 200, description = "customers due or overdue for a follow-up", body = Value), (status = 400, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn followups(
    State(state): State<AppState>,
    q: Result<Query<FollowupsQuery>, QueryRejection>,
    auth: Authed,
) -> Result<Json<Value>, AppError> {
    let q = query(q, "date (YYYY-MM-DD; today by default)")?;
    let date = day("date", q.date)?.unwrap_or_else(|| chrono::Local::now().date_naive());
    let out = blocking(&state, move |core| {
        queries::due_followups(core, &auth.principal, date)
    })
    .await?;
    Ok(Json(serde_json::to_value(out).unwrap_or_default()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct WeekQuery {
    rep: Option<String>,
    week: Option<String>,
}

#[utoipa::path(get, path = "/v1/reports/week", tag = READ_TAG, params(WeekQuery),
    responses((status = 200, description = "a rep's weekly report", body = Value), (status = 400, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn week(
    State(state): State<AppState>,
    q: Result<Query<WeekQuery>, QueryRejection>,
    auth: Authed,
) -> Result<Json<Value>, AppError> {
    let q = query(q, "rep and week (YYYY-Www; this week by default)")?;
    let week = match given(q.week) {
        Some(w) => w.parse::<IsoWeek>().map_err(|_| {
            AppError::BadRequest(format!("week must be YYYY-Www, e.g. 2026-W49 (not '{w}')"))
        })?,
        None => IsoWeek::containing(chrono::Local::now().date_naive()),
    };
    let rep = given(q.rep).unwrap_or_else(|| auth.principal.username.clone());
    let out = blocking(&state, move |core| {
        queries::weekly_report(core, &auth.principal, &rep, week)
    })
    .await?;
    Ok(Json(serde_json::to_value(out).unwrap_or_default()))
}

/// The query of `GET /v1/reports/kpi`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct KpiParams {
    /// One rep's figures (the caller, or one of a manager's team).
    rep: Option<String>,
    /// `true`: the caller's team together, with each rep's own figures.
    team: Option<bool>,
    /// `YYYY-MM` or `YYYY-Qn`; this month by default.
    period: Option<String>,
}

#[utoipa::path(get, path = "/v1/reports/kpi", tag = READ_TAG, params(KpiParams),
    responses((status = 200, description = "the KPIs (docs/KPI.md) of a rep or of the caller's team", body = Value), (status = 400, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn kpi(
    State(state): State<AppState>,
    q: Result<Query<KpiParams>, QueryRejection>,
    auth: Authed,
) -> Result<Json<Value>, AppError> {
    let q = query(q, "rep, team (true/false) and period (YYYY-MM or YYYY-Qn)")?;
    let (rep, team, period) = (given(q.rep), q.team.unwrap_or(false), given(q.period));
    let out = blocking(&state, move |core| {
        queries::kpi(core, &auth.principal, rep, team, period)
    })
    .await?;
    Ok(Json(serde_json::to_value(out).unwrap_or_default()))
}

#[utoipa::path(get, path = "/v1/approvals", tag = READ_TAG,
    responses((status = 200, description = "trip plans and expense claims waiting on the caller", body = Value), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn approvals(State(state): State<AppState>, auth: Authed) -> Result<Json<Value>, AppError> {
    let out = blocking(&state, move |core| {
        queries::approvals(core, &auth.principal)
    })
    .await?;
    Ok(Json(serde_json::to_value(out).unwrap_or_default()))
}

/// The body of an approval or a rejection.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
struct Decision {
    #[serde(default)]
    note: Option<String>,
}

fn decision(body: &[u8]) -> Result<Option<String>, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let d: Decision = parse_json(body)?;
    Ok(given(d.note))
}

/// An approver's decision (approve or reject, with the body's optional note) on document `id`
/// of kind `M`, made by `edit` from the caller's name and the note.
async fn decide<M: DocumentModel>(
    state: &AppState,
    auth: Authed,
    id: String,
    body: &[u8],
    what: &'static str,
    edit: fn(String, Option<String>) -> M::Edit,
) -> Result<Json<Value>, AppError>
where
    M::Edit: Send + 'static,
{
    let note = decision(body)?;
    edit_as::<M>(state, auth, id, what, move |me| edit(me.to_string(), note)).await
}

/// Applies `edit` to document `id` of kind `M` as the caller, through [`Core::write_as`];
/// a document of another kind is not found, as one the caller does not see.
async fn edit_as<M: DocumentModel>(
    state: &AppState,
    auth: Authed,
    id: String,
    what: &'static str,
    edit: impl FnOnce(&str) -> M::Edit + Send + 'static,
) -> Result<Json<Value>, AppError>
where
    M::Edit: Send,
{
    let doc = blocking(state, move |core| {
        let who = auth.principal;
        core.write_as(&who, &id, |doc: &mut AutoCommit, view: &Document| {
            if view.kind() != M::KIND {
                return Err(AppError::NotFound(format!(
                    "no {what} {id} that you can see"
                )));
            }
            M::apply_edit(doc, &edit(&who.username)).map_err(|e| AppError::Invalid(e.to_string()))
        })
    })
    .await?;
    Ok(Json(serde_json::to_value(&doc).unwrap_or_default()))
}

#[utoipa::path(post, path = "/v1/trip-plans/{id}/approve", tag = READ_TAG, params(("id" = String, Path, description = "document id")),
    request_body(content = Option<Decision>, description = "an optional note"),
    responses((status = 200, description = "approves a submitted trip plan: the document after it", body = Value), (status = 404, body = ErrorBody), (status = 422, description = "refused by the rule a device's push would be", body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn approve_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<Json<Value>, AppError> {
    decide::<TripPlan>(&state, auth, id, &body, "trip plan", |by, note| {
        TripPlanEdit::Approve { by, note }
    })
    .await
}

#[utoipa::path(post, path = "/v1/trip-plans/{id}/reject", tag = READ_TAG, params(("id" = String, Path, description = "document id")),
    request_body(content = Option<Decision>, description = "an optional note"),
    responses((status = 200, description = "sends a trip plan back: the document after it", body = Value), (status = 404, body = ErrorBody), (status = 422, description = "refused by the rule a device's push would be", body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn reject_plan(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<Json<Value>, AppError> {
    decide::<TripPlan>(&state, auth, id, &body, "trip plan", |by, note| {
        TripPlanEdit::Reject { by, note }
    })
    .await
}

#[utoipa::path(post, path = "/v1/expense-claims/{id}/approve", tag = READ_TAG, params(("id" = String, Path, description = "document id")),
    request_body(content = Option<Decision>, description = "an optional note"),
    responses((status = 200, description = "approves a submitted expense claim: the document after it", body = Value), (status = 404, body = ErrorBody), (status = 422, description = "refused by the rule a device's push would be", body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn approve_claim(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<Json<Value>, AppError> {
    decide::<ExpenseClaim>(&state, auth, id, &body, "expense claim", |by, note| {
        ExpenseClaimEdit::Approve { by, note }
    })
    .await
}

#[utoipa::path(post, path = "/v1/expense-claims/{id}/reject", tag = READ_TAG, params(("id" = String, Path, description = "document id")),
    request_body(content = Option<Decision>, description = "an optional note"),
    responses((status = 200, description = "sends an expense claim back: the document after it", body = Value), (status = 404, body = ErrorBody), (status = 422, description = "refused by the rule a device's push would be", body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn reject_claim(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<Json<Value>, AppError> {
    decide::<ExpenseClaim>(&state, auth, id, &body, "expense claim", |by, note| {
        ExpenseClaimEdit::Reject { by, note }
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CommentBody {
    text: String,
}

#[utoipa::path(post, path = "/v1/visits/{id}/comments", tag = READ_TAG, params(("id" = String, Path, description = "visit id")),
    request_body = CommentBody,
    responses((status = 200, description = "the visit with the comment", body = Value), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<Json<Value>, AppError> {
    let c: CommentBody = parse_json(&body)?;
    let text = c.text.trim().to_string();
    if text.is_empty() {
        return Err(AppError::Invalid(
            "text must not be empty: write the comment".into(),
        ));
    }
    edit_as::<Visit>(&state, auth, id, "visit", move |me| VisitEdit::AddComment {
        author: me.to_string(),
        text,
    })
    .await
}

/// What a manager or admin changes of a customer's scope in the console.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomerScopeBody {
    #[serde(default)]
    territory: Option<String>,
    #[serde(default)]
    owner: Option<String>,
}

/// Moves a customer to another territory or owner: one change by the caller, checked as a
/// device's would be (only managers and admins change these fields), with the scope events
/// it causes.
#[utoipa::path(patch, path = "/v1/customers/{id}", tag = READ_TAG, params(("id" = String, Path, description = "customer id")),
    request_body = CustomerScopeBody,
    responses((status = 200, description = "the customer after the move", body = Value), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not allowed", body = ErrorBody)))]
async fn move_customer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<Json<Value>, AppError> {
    let b: CustomerScopeBody = parse_json(&body)?;
    let mut edits = Vec::new();
    if let Some(t) = given(b.territory) {
        edits.push(CustomerEdit::Territory(t));
    }
    if let Some(o) = given(b.owner) {
        edits.push(CustomerEdit::Owner(o));
    }
    if edits.is_empty() {
        return Err(AppError::Invalid(
            "give territory or owner (or both) to change".into(),
        ));
    }
    let doc = blocking(&state, move |core| {
        core.write_as(
            &auth.principal,
            &id,
            |doc: &mut AutoCommit, view: &Document| {
                if view.kind() != Customer::KIND {
                    return Err(AppError::NotFound(format!(
                        "no customer {id} that you can see"
                    )));
                }
                for edit in &edits {
                    Customer::apply_edit(doc, edit)
                        .map_err(|e| AppError::Invalid(e.to_string()))?;
                }
                Ok(())
            },
        )
    })
    .await?;
    Ok(Json(serde_json::to_value(&doc).unwrap_or_default()))
}
