//! The manager's web console, served by the server itself at `/`: its login and logout (a
//! browser session in cookies, [`session`]), and its pages and assets, embedded in the
//! binary. The pages read and write through the JSON API (`/v1/…`) with the session cookie,
//! and follow `/v1/events` to update live.

pub mod pages;
pub mod session;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use crate::app::{AppState, Authed, RawBody, SourceAddress, open_session, parse_json};
use crate::error::AppError;

/// The console's own routes besides its pages.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/console/login", post(login))
        .route("/console/logout", post(logout))
        .merge(pages::routes())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsoleLogin {
    username: String,
    password: String,
}

/// Whether the browser reached the server over HTTPS (directly, or through a reverse proxy
/// that says so): the session cookie is then `Secure`.
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The name a console session's device gets, from the browser's `User-Agent`.
fn device_name(headers: &HeaderMap) -> String {
    let agent: String = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(60)
        .collect();
    if agent.is_empty() {
        crate::service::WEB_DEVICE.to_string()
    } else {
        format!("{} ({agent})", crate::service::WEB_DEVICE)
    }
}

async fn login(
    State(state): State<AppState>,
    SourceAddress(address): SourceAddress,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, AppError> {
    let req: ConsoleLogin = parse_json(&body)?;
    let (user, session) = open_session(
        &state,
        req.username,
        req.password,
        device_name(&headers),
        address,
    )
    .await?;
    let token = state.keys.issue_for(
        &user.username,
        user.role.as_str(),
        &session,
        session::SESSION_TTL,
    )?;
    let csrf = state.keys.csrf_token(&session);
    let mut response = Json(json!({
        "user": {
            "username": user.username,
            "role": user.role,
            "territories": user.territories,
            "manager": user.manager,
        },
        "csrf_token": csrf,
    }))
    .into_response();
    session::set_cookies(
        response.headers_mut(),
        session::open_cookies(&token, &csrf, over_tls(&headers)),
    );
    Ok(response)
}

async fn logout(State(state): State<AppState>, auth: Authed) -> Result<Response, AppError> {
    let core = state.core.clone();
    tokio::task::spawn_blocking(move || core.storage.revoke_session(&auth.claims.sid)).await??;
    let mut response = StatusCode::NO_CONTENT.into_response();
    session::set_cookies(response.headers_mut(), session::close_cookies());
    Ok(response)
}
