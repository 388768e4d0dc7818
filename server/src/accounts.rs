//! Passwords, access tokens and refresh tokens.
//!
//! Passwords are hashed with argon2 (PHC strings). Access tokens are short-lived HS256 JWTs
//! whose issuer, audience, expiry and algorithm are all checked. Refresh tokens are random,
//! stored only as SHA-256 hashes, and rotate: each is good once; presenting a used one again is
//! taken as theft and revokes the whole device session. The one exception is the same refresh
//! request arriving again (its answer was lost on the way, or the network repeated it): the
//! client names the successor it proposed, which only it knows, and gets the same answer while
//! that successor is unused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Issuer of access tokens.
pub const ISSUER: &str = "fieldsync";
/// Audience of access tokens.
pub const AUDIENCE: &str = "fieldsync-sync";

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], AppError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(buf)
}

/// Hashes a password for storage.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt_bytes: [u8; 16] = random_bytes()?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| AppError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))
}

/// Checks a password for a user who may not exist. For an unknown user a dummy hash is checked
/// all the same, so the answer takes as long and does not tell which names exist.
pub fn verify_login(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    match stored {
        Some(hash) => verify_password(password, hash),
        None => {
            let dummy =
                DUMMY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default());
            verify_password(password, dummy);
            false
        }
    }
}

/// Checks a password against its stored hash.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User name.
    pub sub: String,
    /// Role at issue time (informational: the server reloads the user on every request).
    pub role: String,
    /// Device session id.
    pub sid: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
}

/// Signs and checks access tokens with the server's key.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Access token lifetime.
    pub access_ttl: Duration,
    /// Refresh token lifetime.
    pub refresh_ttl: Duration,
}

impl TokenKeys {
    /// Keys from a secret of at least 32 bytes.
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> TokenKeys {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            access_ttl,
            refresh_ttl,
        }
    }

    /// A new access token for a user's device session.
    pub fn issue(&self, username: &str, role: &str, session: &str) -> Result<String, AppError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: username.to_string(),
            role: role.to_string(),
            sid: session.to_string(),
            iss: ISSUER.to_string(),
            aud: AUDIENCE.to_string(),
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing failed: {e}")))
    }

    /// Checks an access token: signature, algorithm (HS256 only), issuer, audience, expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map(|d| d.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => AppError::TokenExpired,
                ErrorKind::InvalidAudience => AppError::Unauthenticated("the token is for another service: log in again".into()),
                ErrorKind::InvalidIssuer => AppError::Unauthenticated("the token was issued by someone else: log in again".into()),
                ErrorKind::InvalidAlgorithm => AppError::Unauthenticated("the token is signed with an algorithm this server does not accept: log in again".into()),
                ErrorKind::InvalidSignature => AppError::Unauthenticated("the token's signature is not this server's: log in again".into()),
                _ => AppError::Unauthenticated("the token is malformed: log in again".into()),
            }
        })
    }
}

/// A new refresh token and the hash to store for it.
pub fn new_refresh_token() -> Result<(String, String), AppError> {
    let bytes: [u8; 32] = random_bytes()?;
    let token = hex::encode(bytes);
    let hash = hash_refresh(&token);
    Ok((token, hash))
}

/// The stored form of a refresh token.
pub fn hash_refresh(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Limits failed logins per user: at most `max` failures within `window`.
///
/// An attempt counts as failed from the moment it starts until [`LoginLimiter::succeeded`]
/// clears the record, so concurrent guesses cannot slip past the limit while their passwords
/// are still being checked.
///
/// It also bounds how many passwords are checked at once: each Argon2 check takes 19 MiB and
/// a core for a moment, so a burst of logins (a whole sales force on Monday morning, or a
/// flood of guesses) waits for a turn ([`LoginLimiter::check_turn`]) instead of growing the
/// server's memory by 19 MiB a login.
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    max: usize,
    window: Duration,
    checks: Arc<tokio::sync::Semaphore>,
}

impl LoginLimiter {
    /// A limiter allowing `max` failures per `window`.
    pub fn new(max: usize, window: Duration) -> LoginLimiter {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        LoginLimiter {
            failures: Mutex::new(HashMap::new()),
            max,
            window,
            checks: Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }

    /// Waits for a turn to check a password: one at a time per core.
    pub async fn check_turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit, AppError> {
        self.checks
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal("the password check queue is closed".into()))
    }

    /// Starts an attempt: refused if the user has failed too often lately, otherwise counted
    /// as a failure until it succeeds.
    pub fn attempt(&self, username: &str) -> Result<(), AppError> {
        let mut map = self
            .failures
            .lock()
            .map_err(|_| AppError::Internal("limiter lock poisoned".into()))?;
        let now = Instant::now();
        // Names tried once and never again would pile up: forget stale entries now and then.
        if map.len() > 10_000 {
            map.retain(|_, list| {
                list.last()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let list = map.entry(username.to_string()).or_default();
        list.retain(|t| now.duration_since(*t) < self.window);
        if list.len() >= self.max {
            let wait = list.first().map_or(self.window, |t| {
                self.window.saturating_sub(now.duration_since(*t))
            });
            return Err(AppError::RateLimited(wait.as_secs().max(1)));
        }
        list.push(now);
        Ok(())
    }

    /// Forgets the failures of a user who logged in.
    pub fn succeeded(&self, username: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(username);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("s3cret-密码").unwrap();
        assert!(verify_password("s3cret-密码", &h));
        assert!(!verify_password("s3cret", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_check_key_audience_and_expiry() {
        let keys = TokenKeys::new(&[7u8; 32], Duration::from_secs(60), Duration::from_secs(60));
        let t = keys.issue("li", "rep", "s1").unwrap();
        assert_eq!(keys.verify(&t).unwrap().sub, "li");
        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(60), Duration::from_secs(60));
        assert!(matches!(
            other.verify(&t),
            Err(AppError::Unauthenticated(_))
        ));
        let expired = TokenKeys::new(&[7u8; 32], Duration::from_secs(0), Duration::from_secs(0));
        let old = {
            let now = chrono::Utc::now().timestamp();
            let claims = Claims {
                sub: "li".into(),
                role: "rep".into(),
                sid: "s".into(),
                iss: ISSUER.into(),
                aud: AUDIENCE.into(),
                iat: now - 100,
                exp: now - 60,
            };
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(&[7u8; 32]),
            )
            .unwrap()
        };
        assert!(matches!(expired.verify(&old), Err(AppError::TokenExpired)));
    }

    #[test]
    fn the_limiter_refuses_after_repeated_failures() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            l.attempt("li").unwrap();
        }
        assert!(matches!(l.attempt("li"), Err(AppError::RateLimited(_))));
        assert!(l.attempt("wang").is_ok());
        l.succeeded("wang");
        assert!(l.attempt("wang").is_ok());
    }
}
