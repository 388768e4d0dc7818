//! The administration routes under `/v1/admin/` (docs/PROTOCOL.md, "Administration"): JSON
//! bodies mapped onto [`super`]'s functions, each on a blocking thread.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Actor, NewUser, UserInfo, UserPatch};
use crate::app::{AppState, Authed, RawBody, SourceAddress, parse_json};
use crate::error::AppError;
use crate::openapi::{ADMIN_TAG, ErrorBody};

/// The administration routes, each registered with its OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users, create_user))
        .routes(routes!(update_user))
        .routes(routes!(territories, create_territory))
        .routes(routes!(rename_territory))
        .routes(routes!(health))
        .routes(routes!(audit))
}

fn to_json<T: serde::Serialize>(v: T) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or_default())
}

#[utoipa::path(get, path = "/v1/admin/users", tag = ADMIN_TAG,
    responses((status = 200, description = "every user", body = Value), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not an administrator", body = ErrorBody)))]
async fn users(State(state): State<AppState>, auth: Authed) -> Result<Json<Value>, AppError> {
    let core = state.core.clone();
    let users = tokio::task::spawn_blocking(move || super::users(&core, &auth.principal)).await??;
    Ok(to_json(json!({ "users": users })))
}

#[utoipa::path(post, path = "/v1/admin/users", tag = ADMIN_TAG, request_body = NewUser,
    responses((status = 201, description = "the new user", body = UserInfo), (status = 422, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not an administrator", body = ErrorBody)))]
async fn create_user(
    State(state): State<AppState>,
    SourceAddress(source): SourceAddress,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let new: NewUser = parse_json(&body)?;
    let core = state.core.clone();
    let user = tokio::task::spawn_blocking(move || {
        let by = Actor {
            who: &auth.principal,
            source: source.map(|s| s.to_string()),
        };
        super::create_user(&core, &by, new)
    })
    .await??;
    Ok((StatusCode::CREATED, to_json(user)))
}

#[utoipa::path(patch, path = "/v1/admin/users/{username}", tag = ADMIN_TAG, params(("username" = String, Path, description = "login name")), request_body = UserPatch,
    responses((status = 200, description = "the user after the change", body = UserInfo), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not an administrator", body = ErrorBody)))]
async fn update_user(
    State(state): State<AppState>,
    Path(username): Path<String>,
    SourceAddress(source): SourceAddress,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<Json<Value>, AppError> {
    let patch: UserPatch = parse_json(&body)?;
    let core = state.core.clone();
    let user = tokio::task::spawn_blocking(move || {
        let by = Actor {
            who: &auth.principal,
            source: source.map(|s| s.to_string()),
        };
        super::update_user(&core, &by, &username, patch)
    })
    .await??;
    Ok(to_json(user))
}

#[utoipa::path(get, path = "/v1/admin/territories", tag = ADMIN_TAG,
    responses((status = 200, description = "every territory", body = Value), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not an administrator", body = ErrorBody)))]
async fn territories(State(state): State<AppState>, auth: Authed) -> Result<Json<Value>, AppError> {
    let core = state.core.clone();
    let list = tokio::task::spawn_blocking(move || super::list_territories(&core, &auth.principal))
        .await??;
    Ok(to_json(json!({ "territories": list })))
}

/// The body naming a territory.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TerritoryBody {
    /// The territory's name.
    name: String,
}

#[utoipa::path(post, path = "/v1/admin/territories", tag = ADMIN_TAG, request_body = TerritoryBody,
    responses((status = 201, description = "the territory", body = Value), (status = 422, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not an administrator", body = ErrorBody)))]
async fn create_territory(
    State(state): State<AppState>,
    SourceAddress(source): SourceAddress,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let t: TerritoryBody = parse_json(&body)?;
    let core = state.core.clone();
    let name = tokio::task::spawn_blocking(move || {
        let by = Actor {
            who: &auth.principal,
            source: source.map(|s| s.to_string()),
        };
        super::create_territory(&core, &by, &t.name)
    })
    .await??;
    Ok((StatusCode::CREATED, to_json(json!({ "name": name }))))
}

#[utoipa::path(patch, path = "/v1/admin/territories/{name}", tag = ADMIN_TAG, params(("name" = String, Path, description = "the territory's name now")), request_body = TerritoryBody,
    responses((status = 200, description = "the new name and how many customers moved", body = Value), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not an administrator", body = ErrorBody)))]
async fn rename_territory(
    State(state): State<AppState>,
    Path(from): Path<String>,
    SourceAddress(source): SourceAddress,
    auth: Authed,
    RawBody(body): RawBody,
) -> Result<Json<Value>, AppError> {
    let t: TerritoryBody = parse_json(&body)?;
    let core = state.core.clone();
    let moved = tokio::task::spawn_blocking(move || {
        let by = Actor {
            who: &auth.principal,
            source: source.map(|s| s.to_string()),
        };
        super::rename_territory(&core, &by, &from, &t.name).map(|moved| (t.name, moved))
    })
    .await??;
    Ok(to_json(json!({ "name": moved.0, "customers": moved.1 })))
}

#[utoipa::path(get, path = "/v1/admin/health", tag = ADMIN_TAG,
    responses((status = 200, description = "the server's health at a glance", body = Value), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not an administrator", body = ErrorBody)))]
async fn health(State(state): State<AppState>, auth: Authed) -> Result<Json<Value>, AppError> {
    let core = state.core.clone();
    let health =
        tokio::task::spawn_blocking(move || super::health(&core, &auth.principal)).await??;
    Ok(to_json(health))
}

#[utoipa::path(get, path = "/v1/admin/audit", tag = ADMIN_TAG,
    responses((status = 200, description = "the newest entries of the audit log", body = Value), (status = 401, description = "not logged in", body = ErrorBody), (status = 403, description = "not an administrator", body = ErrorBody)))]
async fn audit(State(state): State<AppState>, auth: Authed) -> Result<Json<Value>, AppError> {
    let core = state.core.clone();
    let entries =
        tokio::task::spawn_blocking(move || super::audit_log(&core, &auth.principal)).await??;
    Ok(to_json(json!({ "entries": entries })))
}
