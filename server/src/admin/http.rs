//! The administration routes under `/v1/admin/` (docs/PROTOCOL.md, "Administration"): JSON
//! bodies mapped onto [`super`]'s functions, each on a blocking thread.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Actor, NewUser, UserPatch};
use crate::app::{AppState, Authed, RawBody, SourceAddress, parse_json};
use crate::error::AppError;

/// The administration routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/users", get(users).post(create_user))
        .route("/v1/admin/users/{username}", patch(update_user))
        .route(
            "/v1/admin/territories",
            get(territories).post(create_territory),
        )
        .route("/v1/admin/territories/{name}", patch(rename_territory))
        .route("/v1/admin/health", get(health))
        .route("/v1/admin/audit", get(audit))
}

fn to_json<T: serde::Serialize>(v: T) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or_default())
}

async fn users(State(state): State<AppState>, auth: Authed) -> Result<Json<Value>, AppError> {
    let core = state.core.clone();
    let users = tokio::task::spawn_blocking(move || super::users(&core, &auth.principal)).await??;
    Ok(to_json(json!({ "users": users })))
}

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

async fn territories(State(state): State<AppState>, auth: Authed) -> Result<Json<Value>, AppError> {
    let core = state.core.clone();
    let list = tokio::task::spawn_blocking(move || super::list_territories(&core, &auth.principal))
        .await??;
    Ok(to_json(json!({ "territories": list })))
}

/// The body naming a territory.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TerritoryBody {
    name: String,
}

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

async fn health(State(state): State<AppState>, auth: Authed) -> Result<Json<Value>, AppError> {
    let core = state.core.clone();
    let health =
        tokio::task::spawn_blocking(move || super::health(&core, &auth.principal)).await??;
    Ok(to_json(health))
}

async fn audit(State(state): State<AppState>, auth: Authed) -> Result<Json<Value>, AppError> {
    let core = state.core.clone();
    let entries =
        tokio::task::spawn_blocking(move || super::audit_log(&core, &auth.principal)).await??;
    Ok(to_json(json!({ "entries": entries })))
}
