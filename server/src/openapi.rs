//! The OpenAPI description of the JSON API, served at `/v1/openapi.json`. Each route of the
//! read API and of administration is registered together with its `#[utoipa::path]`
//! description (`utoipa_axum`'s `OpenApiRouter`), so a route cannot exist without its
//! description, nor a description without its route; a test checks the description against the
//! routes the router answers.

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The tag of the read API's operations.
pub const READ_TAG: &str = "read";
/// The tag of the administration operations.
pub const ADMIN_TAG: &str = "admin";

/// The body of every error answer (docs/PROTOCOL.md, "Errors").
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error code: `bad_request`, `unauthenticated`, `forbidden`, `not_found`, `invalid`,
    /// `refused`, ...
    pub error: String,
    /// What to do, for a person.
    pub message: String,
    /// For `refused`: the rule of a sync answer's `rejected` entry.
    pub rule: Option<String>,
}

/// The description's header: title, version, how to authenticate.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "fieldsync JSON API",
        description = "The read API, the browser writes and administration of fieldsync-server (docs/PROTOCOL.md). Sync itself is CBOR, described in docs/PROTOCOL.md."
    ),
    modifiers(&Authentication),
    security(("bearer" = []), ("console_session" = [])),
    tags(
        (name = "read", description = "What browsers and reports read, scoped as sync is; writes go through the checks of a push"),
        (name = "admin", description = "Users, territories, health and the audit log: administrators only")
    )
)]
pub struct ApiDoc;

/// Adds the two ways to authenticate: a bearer access token, or the console's session cookie
/// (with `X-CSRF-Token` on writes).
struct Authentication;

impl Modify for Authentication {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "console_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::console::session::SESSION_COOKIE,
            ))),
        );
    }
}
